"""Results of the power flow: branch currents, flows, loading and losses derived from voltages.

:class:`PowerFlowResult` holds the converged complex bus voltages; everything else is computed on
first access from them and per-feeder constants (:func:`result_constants`, built once), so a
simulator step pays only for the quantities it reads.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from thermogrid_env.network.feeder import Feeder


class _lazy:
    """Compute-once attribute (like ``functools.cached_property`` without its per-access lock)."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.name = fn.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.name] = value  # the instance dict now shadows this descriptor
        return value


@dataclass(frozen=True, eq=False)
class ResultConstants:
    """Per-branch constants of a feeder for deriving results (indexed by branch ``k`` -> bus k+1).

    Attributes:
        parent_br: Parent (from) bus of each branch.
        inv_tap: ``1 / t`` of each branch's ideal transformer (1 for lines).
        inv_abs_tap: ``1 / |t|`` (refers internal-node currents to the from bus).
        inv_z: Series admittance ``1 / z`` [pu].
        r_pu: Series resistance [pu].
        y_from: Shunt at each branch's from end, behind the ideal transformer [pu].
        y_to: Shunt at each branch's to (child) end [pu].
        load_from, load_to: Factors from end-current magnitude [pu] to loading [fraction].
        amp_from, amp_to: Factors from end-current magnitude [pu] to reported current [A]
            (``amp_from = 0`` for transformers: their current is reported on the child side).
        from_slack: Branches leaving the slack bus.
        y_slack_conj: Conjugate of the slack bus's own shunt [pu].
        s_base_kva: Power base [kVA].
        trafo_branch: Index of the substation transformer (-1 if none).
    """

    parent_br: np.ndarray
    inv_tap: np.ndarray
    inv_abs_tap: np.ndarray
    inv_z: np.ndarray
    r_pu: np.ndarray
    y_from: np.ndarray
    y_to: np.ndarray
    load_from: np.ndarray
    load_to: np.ndarray
    amp_from: np.ndarray
    amp_to: np.ndarray
    from_slack: np.ndarray
    y_slack_conj: complex
    s_base_kva: float
    trafo_branch: int
    step_cplx: np.ndarray = field(init=False, repr=False)
    step_real: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:  # the stacked per-branch arrays of the compiled step pass
        object.__setattr__(self, "parent_br", np.ascontiguousarray(self.parent_br, dtype=np.int64))
        object.__setattr__(self, "from_slack", np.ascontiguousarray(self.from_slack, dtype=np.int64))
        object.__setattr__(self, "step_cplx", np.ascontiguousarray(
            np.stack([self.inv_tap, self.inv_z, self.y_from, self.y_to]).astype(np.complex128)))
        object.__setattr__(self, "step_real", np.ascontiguousarray(
            np.stack([self.inv_abs_tap, self.r_pu, self.load_from, self.load_to]).astype(np.float64)))


_CONSTANTS: "weakref.WeakKeyDictionary[Feeder, ResultConstants]" = weakref.WeakKeyDictionary()


def result_constants(feeder: Feeder) -> ResultConstants:
    """The :class:`ResultConstants` of a feeder (built once, cached per feeder object)."""
    const = _CONSTANTS.get(feeder)
    if const is not None:
        return const
    parent_br = feeder.parent[1:]
    tap = feeder.tap_ratio * np.exp(1j * np.deg2rad(feeder.shift_deg))
    trafo = feeder.is_transformer
    i_base = feeder.i_base_a
    amp_from = np.where(trafo, 0.0, i_base[parent_br])
    amp_to = i_base[1:].copy()
    rated = np.where(trafo, feeder.s_base_kva / feeder.s_max_kva, 0.0)  # pu current -> loading
    load_from = np.where(trafo, rated, i_base[parent_br] / feeder.i_max_a)
    load_to = np.where(trafo, rated, i_base[1:] / feeder.i_max_a)
    trafo_idx = np.flatnonzero(trafo)
    const = ResultConstants(
        parent_br=parent_br,
        inv_tap=1.0 / tap,
        inv_abs_tap=1.0 / np.abs(tap),
        inv_z=1.0 / (feeder.r_pu + 1j * feeder.x_pu),
        r_pu=np.array(feeder.r_pu),
        y_from=feeder.g_from_pu + 1j * feeder.b_from_pu,
        y_to=feeder.g_to_pu + 1j * feeder.b_to_pu,
        load_from=load_from,
        load_to=load_to,
        amp_from=amp_from,
        amp_to=amp_to,
        from_slack=np.flatnonzero(parent_br == 0),
        y_slack_conj=complex(np.conj(feeder.g_bus_pu[0] + 1j * feeder.b_bus_pu[0])),
        s_base_kva=float(feeder.s_base_kva),
        trafo_branch=int(trafo_idx[0]) if trafo_idx.size else -1,
    )
    _CONSTANTS[feeder] = const
    return const


def _step_quantities_py(
    v: np.ndarray, p_load: np.ndarray, q_load: np.ndarray, parent_br: np.ndarray, c_cplx: np.ndarray,
    c_real: np.ndarray, from_slack: np.ndarray, y_slack_conj: complex, s_base: float, v_pu: np.ndarray,
    l_pu: np.ndarray, loading: np.ndarray, scalars: np.ndarray,
) -> None:
    """The quantities a simulator step reads, for ``(B, n_bus)`` voltages, in one pass per snapshot.

    The same formulas as the lazy attributes of :class:`PowerFlowResult` (which stay the reference:
    tested equal to rounding; magnitudes as ``sqrt(re² + im²)``, not ``hypot``), compiled with numba, because a step reads all of them and numpy's
    ~20 complex array operations cost more than the sweep itself. ``c_cplx`` stacks ``inv_tap,
    inv_z, y_from, y_to`` and ``c_real`` ``inv_abs_tap, r_pu, load_from, load_to`` (per branch);
    writes ``v_pu``, ``l_pu``, ``loading`` and ``scalars[:, :] = p_slack_kw, p_loss_kw,
    p_loss_series_kw``.
    """
    n_batch, n_bus = v.shape
    for b in range(n_batch):
        vb = v[b]
        for j in range(n_bus):
            v_pu[b, j] = math.sqrt(vb[j].real * vb[j].real + vb[j].imag * vb[j].imag)
        s_slack = 0j
        loss_series = 0.0
        for k in range(n_bus - 1):
            v_int = vb[parent_br[k]] * c_cplx[0, k]
            v_to = vb[k + 1]
            i_ser = (v_int - v_to) * c_cplx[1, k]
            l_k = i_ser.real * i_ser.real + i_ser.imag * i_ser.imag
            l_pu[b, k] = l_k
            loss_series += l_k * c_real[1, k]
            i_f = i_ser + c_cplx[2, k] * v_int
            i_t = i_ser - c_cplx[3, k] * v_to
            i_from = math.sqrt(i_f.real * i_f.real + i_f.imag * i_f.imag) * c_real[0, k]
            i_to = math.sqrt(i_t.real * i_t.real + i_t.imag * i_t.imag)
            loading[b, k] = max(i_from * c_real[2, k], i_to * c_real[3, k])
        for m in range(from_slack.shape[0]):
            k = from_slack[m]
            v_int = vb[parent_br[k]] * c_cplx[0, k]
            i_ser = (v_int - vb[k + 1]) * c_cplx[1, k]
            s_slack += v_int * (i_ser + c_cplx[2, k] * v_int).conjugate()
        v0 = vb[0]
        s_slack += (v0.real * v0.real + v0.imag * v0.imag) * y_slack_conj
        s_slack += complex(p_load[b, 0], q_load[b, 0]) / s_base
        p_slack = s_slack.real * s_base
        total = 0.0
        for j in range(n_bus):
            total += p_load[b, j]
        scalars[b, 0] = p_slack
        scalars[b, 1] = p_slack - total
        scalars[b, 2] = loss_series * s_base


try:  # numba is optional (extra [fast]); without it the lazy numpy attributes are used
    import numba as _numba

    _step_quantities = _numba.njit(cache=True, nogil=True)(_step_quantities_py)
except ImportError:  # pragma: no cover - depends on the environment
    _step_quantities = None


@dataclass(frozen=True, eq=False)
class PowerFlowResult:
    """Converged AC power flow of a batch of snapshots; derived quantities are computed on access.

    Shapes: ``batch`` is the leading shape of the inputs (``()`` for one snapshot); bus arrays are
    ``batch + (n_bus,)``, branch arrays ``batch + (n_branch,)`` with branch ``k`` feeding bus
    ``k + 1``. Branch flows are positive from parent to child.

    Attributes:
        feeder: The feeder solved.
        v_complex_pu: Complex bus voltages [pu].
        iterations: Iterations per snapshot: the sweeps, or, where the Newton-Raphson fallback
            finished the snapshot, the solver's ``max_iter`` plus its Newton iterations (so a
            count above ``max_iter`` means the fallback was used).
        p_load_kw, q_load_kvar: The bus loads that were solved (consumption positive).
    """

    feeder: Feeder
    v_complex_pu: np.ndarray
    iterations: np.ndarray
    p_load_kw: np.ndarray
    q_load_kvar: np.ndarray
    _const: ResultConstants = field(repr=False)

    @property
    def converged(self) -> np.ndarray:
        """Whether each snapshot converged (always true for a returned result)."""
        return self.iterations > 0

    def compute_step_quantities(self) -> PowerFlowResult:
        """Compute what a simulator step reads (:attr:`v_pu`, :attr:`l_pu`, :attr:`loading`,
        :attr:`p_slack_kw`, :attr:`p_loss_kw`, :attr:`p_loss_series_kw`, :attr:`transformer_loading`)
        in one compiled pass (numba; equal to the attributes' numpy definitions to rounding) and return
        ``self``. Without numba they stay lazy numpy attributes.
        """
        if _step_quantities is None:
            return self
        c, n = self._const, self.feeder.n_bus
        batch = self.v_complex_pu.shape[:-1]
        v = self.v_complex_pu.reshape(-1, n)
        n_batch = v.shape[0]
        v_pu, l_pu = np.empty((n_batch, n)), np.empty((n_batch, n - 1))
        loading, scalars = np.empty((n_batch, n - 1)), np.empty((n_batch, 3))
        _step_quantities(v, np.ascontiguousarray(self.p_load_kw, dtype=np.float64).reshape(-1, n),
                         np.ascontiguousarray(self.q_load_kvar, dtype=np.float64).reshape(-1, n), c.parent_br,
                         c.step_cplx, c.step_real, c.from_slack, c.y_slack_conj, c.s_base_kva, v_pu, l_pu,
                         loading, scalars)
        d = self.__dict__  # the lazy attributes read their instance-dict entry first
        d["v_pu"], d["l_pu"] = v_pu.reshape(batch + (n,)), l_pu.reshape(batch + (n - 1,))
        d["loading"] = loading.reshape(batch + (n - 1,))
        for i, name in enumerate(("p_slack_kw", "p_loss_kw", "p_loss_series_kw")):
            d[name] = scalars[:, i].reshape(batch)[()]
        if c.trafo_branch >= 0:
            d["transformer_loading"] = d["loading"][..., c.trafo_branch]
        return self

    @_lazy
    def v_pu(self) -> np.ndarray:
        """Bus voltage magnitudes [pu]."""
        return np.abs(self.v_complex_pu)

    @_lazy
    def v_angle_deg(self) -> np.ndarray:
        """Bus voltage angles [degree], slack at 0 (transformer phase shifts included)."""
        return np.rad2deg(np.angle(self.v_complex_pu))

    @_lazy
    def _v_internal(self) -> np.ndarray:
        """Voltage at each branch's internal node behind its ideal transformer [pu]."""
        return self.v_complex_pu[..., self._const.parent_br] * self._const.inv_tap

    @_lazy
    def i_series_pu(self) -> np.ndarray:
        """Complex current through each branch's series impedance [pu], parent to child."""
        return (self._v_internal - self.v_complex_pu[..., 1:]) * self._const.inv_z

    @_lazy
    def l_pu(self) -> np.ndarray:
        """Squared series-current magnitude ``l = |I|^2`` of each branch [pu] (DistFlow's ``l``)."""
        i = self.i_series_pu
        return i.real**2 + i.imag**2

    @_lazy
    def _s_from_pu(self) -> np.ndarray:
        v_int = self._v_internal
        return v_int * np.conj(self.i_series_pu + self._const.y_from * v_int)

    @_lazy
    def p_kw(self) -> np.ndarray:
        """Active power entering each branch at its parent (sending) end [kW]."""
        return self._s_from_pu.real * self._const.s_base_kva

    @_lazy
    def q_kvar(self) -> np.ndarray:
        """Reactive power entering each branch at its parent (sending) end [kvar]."""
        return self._s_from_pu.imag * self._const.s_base_kva

    @_lazy
    def _s_series_pu(self) -> np.ndarray:
        return self._v_internal * np.conj(self.i_series_pu)

    @_lazy
    def p_series_kw(self) -> np.ndarray:
        """DistFlow ``P_ij``: active power into the series impedance at the sending end [kW]."""
        return self._s_series_pu.real * self._const.s_base_kva

    @_lazy
    def q_series_kvar(self) -> np.ndarray:
        """DistFlow ``Q_ij``: reactive power into the series impedance at the sending end [kvar]."""
        return self._s_series_pu.imag * self._const.s_base_kva

    @_lazy
    def _i_ends_pu(self) -> tuple[np.ndarray, np.ndarray]:
        """Current magnitudes at the from end (referred to the from bus) and the to end [pu]."""
        c = self._const
        i_ser = self.i_series_pu
        i_from = np.abs(i_ser + c.y_from * self._v_internal) * c.inv_abs_tap
        i_to = np.abs(i_ser - c.y_to * self.v_complex_pu[..., 1:])
        return i_from, i_to

    @_lazy
    def i_a(self) -> np.ndarray:
        """Branch current [A]: the larger of both ends for lines, the child (LV) side for
        transformers."""
        i_from, i_to = self._i_ends_pu
        return np.maximum(i_from * self._const.amp_from, i_to * self._const.amp_to)

    @_lazy
    def loading(self) -> np.ndarray:
        """Branch loading [fraction]: current over ampacity for lines; for transformers the larger
        of both sides' current over rated current (as pandapower's ``trafo_loading="current"``)."""
        i_from, i_to = self._i_ends_pu
        return np.maximum(i_from * self._const.load_from, i_to * self._const.load_to)

    @_lazy
    def _slack_power_pu(self) -> np.ndarray:
        c = self._const
        v0 = self.v_complex_pu[..., 0]
        s_shunt0 = (v0.real**2 + v0.imag**2) * c.y_slack_conj
        s_load0 = (self.p_load_kw[..., 0] + 1j * self.q_load_kvar[..., 0]) / c.s_base_kva
        return self._s_from_pu[..., c.from_slack].sum(axis=-1) + s_shunt0 + s_load0

    @_lazy
    def p_slack_kw(self) -> np.ndarray:
        """Active power drawn from the slack (external grid) [kW]."""
        return self._slack_power_pu.real * self._const.s_base_kva

    @_lazy
    def q_slack_kvar(self) -> np.ndarray:
        """Reactive power drawn from the slack [kvar]."""
        return self._slack_power_pu.imag * self._const.s_base_kva

    @_lazy
    def p_loss_kw(self) -> np.ndarray:
        """Total active losses of the feeder (series and shunt) [kW]."""
        return self.p_slack_kw - self.p_load_kw.sum(axis=-1)

    @_lazy
    def p_loss_series_kw(self) -> np.ndarray:
        """Load-dependent (series, ``Σ r l``) losses of lines and transformers [kW]; the rest of
        :attr:`p_loss_kw` is shunt loss, mostly the transformer's no-load (iron) loss."""
        return (self.l_pu * self._const.r_pu).sum(axis=-1) * self._const.s_base_kva

    @_lazy
    def s_transformer_kva(self) -> np.ndarray:
        """Apparent power through the substation transformer at its upstream terminal [kVA]."""
        return np.abs(self._s_from_pu[..., self.feeder.transformer_branch]) * self._const.s_base_kva

    @_lazy
    def transformer_loading(self) -> np.ndarray:
        """Loading of the substation transformer [fraction of rated current]."""
        return self.loading[..., self.feeder.transformer_branch]
