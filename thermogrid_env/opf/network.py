"""The feeder as the OPF sees it: per-unit arrays on the OPF's own power base, incidence matrices.

The OPF re-bases the feeder (stored on ``feeder.s_base_kva``) to ``s_base_kva`` chosen for the
solver's numerics (see :data:`DEFAULT_S_BASE_KVA`). Impedances scale with the base
(``z_pu ∝ s_base``), admittances and powers inversely, squared currents with ``1 / s_base²``.
This module is the only place of that conversion.

Branch ``k`` feeds bus ``k + 1`` from ``from_bus[k]`` through an ideal transformer of ratio
``tap[k]`` (magnitude only matters: angles are relaxed), a shunt at the internal node and the
series impedance; see :mod:`thermogrid_env.network.feeder`. With ``w = |V|²`` the internal node
sees ``w_int = w[from] / tap²`` (the DistFlow transformer equation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from thermogrid_env.errors import ConfigError
from thermogrid_env.network.feeder import Feeder
from thermogrid_env.network.limits import l_max_pu

DEFAULT_S_BASE_KVA = 100.0
"""Power base of the OPF [kVA]. Measured with Clarabel on the 44-bus default feeder, 96 periods,
every household with heat pump, EV and PV: with the feeder's own 1 MVA base (flows of ~0.1 pu,
LV resistances of ~1e-4..1e-3 pu) the solves ended ``optimal_inaccurate`` (and one with the
exponential cone failed outright); 50, 100 and 200 kVA all ended ``optimal`` in 31-32 iterations.
100 kVA puts flows and LV resistances near 1 and 1e-3..1e-2 pu."""


V_RANGE_PU = (0.2, 2.0)
"""Voltage range of the OPF's variables when the band is priced, not imposed [pu]: the power flow
gives up below 0.2 pu (voltage collapse); no dispatch near either end can be optimal."""


@dataclass(frozen=True, eq=False)
class NetworkData:
    """Per-unit feeder arrays on the OPF base.

    Attributes:
        feeder: The source feeder.
        s_base_kva: OPF power base [kVA].
        n_bus, n_branch: Sizes.
        from_bus: ``(n_branch,)`` parent bus of each branch (child bus ``k + 1``).
        r, x: ``(n_branch,)`` series resistance/reactance [pu].
        g_from, b_from: ``(n_branch,)`` shunt at the internal from-side node [pu].
        g_bus, b_bus: ``(n_bus,)`` bus shunts [pu].
        include_shunts: Whether the shunts enter the model (else they are set to 0).
        inv_tap_sq: ``(n_branch,)`` ``1 / tap_ratio²``.
        w_slack: Squared slack voltage [pu²].
        w_min, w_max: ``(n_bus,)`` squared voltage band [pu²] (hard limits, or where the voltage
            penalty starts).
        w_lb, w_ub: ``(n_bus,)`` bounds of the squared-voltage variables [pu²]: the band with hard
            limits, else the power flow's own range (:data:`V_RANGE_PU`).
        l_max: ``(n_branch,)`` squared current limit [pu²] (``inf``: none). Lines: ampacity; the
            transformer: rated current (``(S_rated / S_base)²`` at 1 pu).
        s_max: ``(n_branch,)`` apparent-power limit at the sending end [pu] (``inf``: none).
        w_to_int: ``(n_bus, n_branch)`` sparse, ``w @ w_to_int = w_int`` (``1/tap²`` at ``from``).
        children: ``(n_branch, n_branch)`` sparse, ``children[k, m] = 1`` if branch ``m`` leaves
            the child bus of branch ``k`` (``P_send @ children.T`` sums the downstream flows).
        from_slack: ``(n_branch, 1)`` 0/1 column of the branches leaving the slack bus.
        trafo: Index of the substation transformer branch, or ``-1``.
        s_rated_pu: Transformer rating [pu] (``nan`` without transformer).
    """

    feeder: Feeder
    s_base_kva: float
    n_bus: int
    n_branch: int
    from_bus: np.ndarray
    r: np.ndarray
    x: np.ndarray
    g_from: np.ndarray
    b_from: np.ndarray
    g_bus: np.ndarray
    b_bus: np.ndarray
    include_shunts: bool
    inv_tap_sq: np.ndarray
    w_slack: float
    w_min: np.ndarray
    w_max: np.ndarray
    w_lb: np.ndarray
    w_ub: np.ndarray
    l_max: np.ndarray
    s_max: np.ndarray
    w_to_int: sp.csc_matrix
    children: sp.csc_matrix
    from_slack: np.ndarray
    trafo: int
    s_rated_pu: float

    @property
    def z_sq(self) -> np.ndarray:
        """``(n_branch,)`` ``r² + x²`` [pu²]."""
        return self.r**2 + self.x**2


def network_data(
    feeder: Feeder,
    s_base_kva: float = DEFAULT_S_BASE_KVA,
    *,
    v_min_pu: np.ndarray | None = None,
    v_max_pu: np.ndarray | None = None,
    include_shunts: bool = True,
    hard_limits: bool = True,
) -> NetworkData:
    """Re-base the feeder for the OPF.

    Args:
        feeder: The feeder.
        s_base_kva: OPF power base [kVA].
        v_min_pu, v_max_pu: ``(n_bus,)`` voltage limits (default: the feeder's).
        include_shunts: Keep line charging and transformer magnetising shunts (linear in ``w``,
            so they cost nothing in the convex models); ``False`` drops them (the AC re-check then
            shows the error this causes).
        hard_limits: Bound the voltages by the band (``True``); ``False``: by :data:`V_RANGE_PU`
            only (the band is then priced by the cost model's ``voltage`` term).

    Returns:
        :class:`NetworkData`.
    """
    if not (np.isfinite(s_base_kva) and s_base_kva > 0):
        raise ConfigError(f"s_base_kva must be > 0, got {s_base_kva!r}.")
    scale = s_base_kva / feeder.s_base_kva  # z_pu(new) = z_pu(old) * scale; y_pu(new) = y / scale
    n, nb = feeder.n_bus, feeder.n_branch
    from_bus = feeder.parent[1:].astype(np.int64)
    keep = 1.0 if include_shunts else 0.0
    vmin = feeder.v_min_pu if v_min_pu is None else np.asarray(v_min_pu, float)
    vmax = feeder.v_max_pu if v_max_pu is None else np.asarray(v_max_pu, float)
    l_max = l_max_pu(feeder, s_base_kva)
    s_max = np.where(feeder.is_transformer, feeder.s_max_kva / s_base_kva, np.inf)
    w_to_int = sp.csc_matrix((1.0 / feeder.tap_ratio**2, (from_bus, np.arange(nb))), shape=(n, nb))
    # Branch m leaves bus from_bus[m]; that bus is the child of branch from_bus[m] - 1.
    non_root = np.flatnonzero(from_bus > 0)
    children = sp.csc_matrix((np.ones(non_root.size), (from_bus[non_root] - 1, non_root)), shape=(nb, nb))
    trafo = int(np.flatnonzero(feeder.is_transformer)[0]) if feeder.is_transformer.any() else -1
    return NetworkData(
        feeder=feeder,
        s_base_kva=float(s_base_kva),
        n_bus=n,
        n_branch=nb,
        from_bus=from_bus,
        r=feeder.r_pu * scale,
        x=feeder.x_pu * scale,
        g_from=keep * feeder.g_from_pu / scale,
        b_from=keep * feeder.b_from_pu / scale,
        g_bus=keep * feeder.g_bus_pu / scale,
        b_bus=keep * feeder.b_bus_pu / scale,
        include_shunts=include_shunts,
        inv_tap_sq=1.0 / feeder.tap_ratio**2,
        w_slack=float(feeder.v_slack_pu) ** 2,
        w_min=vmin**2,
        w_max=vmax**2,
        w_lb=vmin**2 if hard_limits else np.full(n, V_RANGE_PU[0] ** 2),
        w_ub=vmax**2 if hard_limits else np.full(n, V_RANGE_PU[1] ** 2),
        l_max=l_max,
        s_max=s_max,
        w_to_int=w_to_int,
        children=children,
        from_slack=(from_bus == 0).astype(float)[:, None],
        trafo=trafo,
        s_rated_pu=float(feeder.s_max_kva[trafo] / s_base_kva) if trafo >= 0 else float("nan"),
    )


__all__ = ["DEFAULT_S_BASE_KVA", "NetworkData", "V_RANGE_PU", "network_data"]
