"""What the devices add to the feeder's buses and household meters in a step (consumption positive).

Every device sits at one bus and behind one household meter: heat pumps draw ``p`` and
``p tan(phi)``, EVs ``p`` (negative when discharging), PV systems inject ``p`` and ``q``. The bus
and meter totals of a step are the base loads at the step plus the devices' powers summed per bus
and per meter, in the device order heat pumps, EVs, PV (of each episode in turn): the order
``np.bincount`` adds them in, so both kernels below give the same numbers bit for bit.

* :func:`injections_numpy`: ``np.bincount`` on the concatenated device powers (needs only numpy);
* ``numba``: one compiled pass over the devices (if numba is installed): the three totals without
  temporary arrays, what a batched step of many episodes wants.

:func:`device_injections` picks the compiled one when numba is installed.
"""

from __future__ import annotations

import numpy as np

try:  # numba is optional (extra [fast])
    import numba as _numba
except ImportError:  # pragma: no cover - depends on the environment
    _numba = None


def injections_numpy(k: np.ndarray, base_p: np.ndarray, base_q: np.ndarray, meter_base: np.ndarray,
                     hp_p: np.ndarray, ev_p: np.ndarray, pv_p: np.ndarray, pv_q: np.ndarray, q_per_p: float,
                     p_bus_idx: np.ndarray, q_bus_idx: np.ndarray,
                     meter_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bus loads and meter powers of ``B`` episodes at their steps ``k`` (numpy).

    Args:
        k: ``(B,)`` step of each episode.
        base_p, base_q: ``(B, T, n_bus)`` base loads [kW], [kvar].
        meter_base: ``(B, T, n_load)`` household base consumption [kW].
        hp_p, ev_p, pv_p, pv_q: ``(B, n_hp)``, ``(B, n_ev)``, ``(B, n_pv)``, ``(B, n_pv)`` device
            powers [kW], [kvar] (PV as generated, positive).
        q_per_p: Heat pumps' reactive power per active power [-].
        p_bus_idx: ``(B * (n_hp + n_ev + n_pv),)`` flat bus index (``row * n_bus + bus``) of every
            device, heat pumps, EVs, PV of each row in turn.
        q_bus_idx: ``(B * (n_hp + n_pv),)`` the same for the heat pumps and PV.
        meter_idx: ``(B * (n_hp + n_ev + n_pv),)`` flat meter index (``row * n_load + load``).

    Returns:
        ``(bus_p_kw, bus_q_kvar, meter_p_kw)`` of shapes ``(B, n_bus)``, ``(B, n_bus)``, ``(B, n_load)``.
    """
    rows = np.arange(k.shape[0])
    n_bus, n_load = base_p.shape[2], meter_base.shape[2]
    dev_p = np.concatenate([hp_p, ev_p, -pv_p], axis=-1).ravel()
    q_dev = np.concatenate([hp_p * q_per_p, -pv_q], axis=-1).ravel()
    bus_p = base_p[rows, k] + np.bincount(p_bus_idx, dev_p, base_p.shape[0] * n_bus).reshape(-1, n_bus)
    bus_q = base_q[rows, k] + np.bincount(q_bus_idx, q_dev, base_p.shape[0] * n_bus).reshape(-1, n_bus)
    meter_p = meter_base[rows, k] + np.bincount(meter_idx, dev_p, base_p.shape[0] * n_load).reshape(-1, n_load)
    return bus_p, bus_q, meter_p


def _injections_py(k: np.ndarray, base_p: np.ndarray, base_q: np.ndarray, meter_base: np.ndarray,
                   hp_p: np.ndarray, ev_p: np.ndarray, pv_p: np.ndarray, pv_q: np.ndarray, q_per_p: float,
                   p_bus_idx: np.ndarray, q_bus_idx: np.ndarray,
                   meter_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`injections_numpy` as one pass (compiled with numba): the device sums in the same
    order, then the base loads added (``base + sum``, as numpy)."""
    n_batch, n_bus, n_load = base_p.shape[0], base_p.shape[2], meter_base.shape[2]
    n_hp, n_ev, n_pv = hp_p.shape[1], ev_p.shape[1], pv_p.shape[1]
    bus_p = np.zeros((n_batch, n_bus))
    bus_q = np.zeros((n_batch, n_bus))
    meter_p = np.zeros((n_batch, n_load))
    sp, sq, sm = bus_p.reshape(-1), bus_q.reshape(-1), meter_p.reshape(-1)  # flat views
    i = 0  # position in p_bus_idx / meter_idx
    j = 0  # position in q_bus_idx
    for r in range(n_batch):
        for d in range(n_hp):
            sp[p_bus_idx[i]] += hp_p[r, d]
            sm[meter_idx[i]] += hp_p[r, d]
            sq[q_bus_idx[j]] += hp_p[r, d] * q_per_p
            i += 1
            j += 1
        for d in range(n_ev):
            sp[p_bus_idx[i]] += ev_p[r, d]
            sm[meter_idx[i]] += ev_p[r, d]
            i += 1
        for d in range(n_pv):
            sp[p_bus_idx[i]] += -pv_p[r, d]
            sm[meter_idx[i]] += -pv_p[r, d]
            sq[q_bus_idx[j]] += -pv_q[r, d]
            i += 1
            j += 1
    for r in range(n_batch):
        kr = k[r]
        for b in range(n_bus):
            bus_p[r, b] = base_p[r, kr, b] + bus_p[r, b]
            bus_q[r, b] = base_q[r, kr, b] + bus_q[r, b]
        for m in range(n_load):
            meter_p[r, m] = meter_base[r, kr, m] + meter_p[r, m]
    return bus_p, bus_q, meter_p


if _numba is not None:
    device_injections = _numba.njit(cache=True, nogil=True)(_injections_py)
else:  # pragma: no cover - depends on the environment
    device_injections = injections_numpy
