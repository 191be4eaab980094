"""Exact AC power flow of a radial feeder: backward/forward sweep of the DistFlow equations.

For a radial network the branch-flow (DistFlow) model

    P_ij = p_j + sum_k P_jk + r_ij l_ij,   Q_ij = q_j + sum_k Q_jk + x_ij l_ij,
    v_j = v_i - 2 (r_ij P_ij + x_ij Q_ij) + (r_ij^2 + x_ij^2) l_ij,   l_ij v_i = P_ij^2 + Q_ij^2

is equivalent to the full AC power-flow equations. It is solved here in its complex-current form:
each iteration draws the constant-PQ load currents ``conj(S / V)`` plus the shunt currents, sums
them towards the slack (backward sweep, through every transformer's complex ratio) and recomputes the
voltages from the slack outwards (forward sweep, ``V_k = V_parent / t_k - z_k I_k``). The iteration
starts from the no-load voltages (so its first sweep is the linearised, LinDistFlow-like estimate)
and stops when no voltage moves by more than ``tol_pu``; it contracts by about the relative voltage
drop per sweep, so 8-12 sweeps reach ``1e-10`` pu on LV feeders. See
:mod:`thermogrid_env.network.feeder` for the branch model and the sign convention (consumption
positive).

Two interchangeable kernels compute the voltages:

* ``"numba"``: the O(n_bus) tree sweep compiled with numba (if installed), written without complex
  divisions or square roots in the inner loops; with ``parallel=True``, batches of at least
  :data:`PARALLEL_MIN_BATCH` snapshots are split over numba's threads. Each snapshot is solved
  independently, so results do not depend on the batch or the threads, bit for bit;
* ``"numpy"``: a vectorised fixed point ``V = w V0 - H conj(S / V)`` with a dense ``H`` that folds
  the shunts in exactly; batched over snapshots with one matrix product per iteration. It needs
  nothing but numpy and agrees with the numba kernel to about ``tol_pu``.

Everything else (branch flows, currents, loading, losses) is derived from the converged voltages in
:class:`PowerFlowResult`, lazily, with numpy.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import numpy as np

from thermogrid_env.errors import ConfigError, PowerFlowDiverged
from thermogrid_env.network.feeder import Feeder
from thermogrid_env.physics.powerflow_result import PowerFlowResult, result_constants

try:  # numba is optional (extra [fast]); the numpy kernel is always available.
    import numba as _numba
except ImportError:  # pragma: no cover - depends on the environment
    _numba = None

HAS_NUMBA = _numba is not None
DEFAULT_TOL_PU = 1e-10
DEFAULT_MAX_ITER = 100
#: With ``parallel=True``, batches of at least this many snapshots use numba's threads.
PARALLEL_MIN_BATCH = 64
_V_COLLAPSE_PU = 0.2  # below this the sweep has left the physical branch of solutions
_NOT_CONVERGED, _NOT_FINITE = -1, -2  # codes in the kernels' iteration counts
_prange = _numba.prange if HAS_NUMBA else range


def _sweep_rows_py(
    p_kw: np.ndarray, q_kvar: np.ndarray, v_out: np.ndarray, iters_out: np.ndarray, lo: int,
    hi: int, parent: np.ndarray, coef: np.ndarray, v_slack: float, inv_base: float, tol: float,
    max_iter: int,
) -> int:
    """Backward/forward sweep for rows ``lo:hi`` of the ``(B, n)`` loads ``p_kw + j q_kvar``.

    ``coef`` stacks, indexed by the child bus (entry 0 unused): ``1/t`` and ``1/conj(t)`` of the
    branch feeding each bus, its series impedance ``z``, and each bus's shunt including the
    from-side branch shunts folded onto the parent (divided by ``|t|^2``). ``inv_base`` is
    ``1 / s_base_kva``. Writes the voltages into ``v_out`` and the number of sweeps into
    ``iters_out`` (``-1``: not converged, ``-2``: non-finite input); returns the number of failed
    rows.
    """
    n = p_kw.shape[1]
    inv_tap, inv_ctap, z, y_shunt = coef[0], coef[1], coef[2], coef[3]
    n_failed = 0
    acc = np.zeros(n, dtype=np.complex128)  # current drawn by the children, seen from each bus
    cur = np.zeros(n, dtype=np.complex128)  # series current of the branch feeding each bus
    tol2 = tol * tol
    v_min2 = _V_COLLAPSE_PU * _V_COLLAPSE_PU
    for b in range(lo, hi):
        v, p, q = v_out[b], p_kw[b], q_kvar[b]
        finite = True
        for k in range(n):
            if not (np.isfinite(p[k]) and np.isfinite(q[k])):
                finite = False
        if not finite:
            v[:] = np.nan
            iters_out[b] = _NOT_FINITE
            n_failed += 1
            continue
        v[0] = v_slack
        for k in range(1, n):
            v[k] = v[parent[k]] * inv_tap[k]
        iters_out[b] = _NOT_CONVERGED
        for it in range(1, max_iter + 1):
            # Backward sweep: conj(S / V) = (p - jq) V / |V|^2 (no complex division).
            for k in range(n - 1, 0, -1):
                vk = v[k]
                inv_m2 = inv_base / (vk.real * vk.real + vk.imag * vk.imag)
                i_load = complex(p[k], -q[k]) * vk * inv_m2
                ik = i_load + y_shunt[k] * vk + acc[k]
                acc[k] = 0.0
                cur[k] = ik
                acc[parent[k]] += ik * inv_ctap[k]
            acc[0] = 0.0
            # Forward sweep with the squared step and magnitude (no square roots).
            max_dv2 = 0.0
            min_v2 = np.inf
            for k in range(1, n):
                v_new = v[parent[k]] * inv_tap[k] - z[k] * cur[k]
                d = v_new - v[k]
                dv2 = d.real * d.real + d.imag * d.imag
                if dv2 > max_dv2:
                    max_dv2 = dv2
                m2 = v_new.real * v_new.real + v_new.imag * v_new.imag
                if m2 < min_v2:
                    min_v2 = m2
                v[k] = v_new
            if not (min_v2 > v_min2):  # collapse; also catches NaN
                break
            if max_dv2 < tol2:
                iters_out[b] = it
                break
        if iters_out[b] < 0:
            n_failed += 1
    return n_failed


def _sweep_parallel_py(
    p_kw: np.ndarray, q_kvar: np.ndarray, v_out: np.ndarray, iters_out: np.ndarray,
    parent: np.ndarray, coef: np.ndarray, v_slack: float, inv_base: float, tol: float,
    max_iter: int, n_chunks: int,
) -> int:
    """:func:`_sweep_rows_py` on ``n_chunks`` contiguous slices of the batch, in parallel."""
    n_batch = p_kw.shape[0]
    n_failed = 0
    for c in _prange(n_chunks):
        n_failed += _sweep_rows(
            p_kw, q_kvar, v_out, iters_out, c * n_batch // n_chunks,
            (c + 1) * n_batch // n_chunks, parent, coef, v_slack, inv_base, tol, max_iter,
        )
    return n_failed


if HAS_NUMBA:
    _sweep_rows = _numba.njit(cache=True, nogil=True)(_sweep_rows_py)
    _sweep_parallel = _numba.njit(cache=True, nogil=True, parallel=True)(_sweep_parallel_py)
else:  # pragma: no cover - depends on the environment
    _sweep_rows = _sweep_parallel = None
# numba's default (workqueue) threading layer must not be entered from two threads at once:
# a second concurrent caller falls back to the serial kernel.
_PARALLEL_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class _Precomputed:
    """Feeder arrays in the form the kernels use (built once per feeder)."""

    parent: np.ndarray
    tap: np.ndarray  # (n,) complex ratio of the branch feeding each bus; tap[0] = 1
    z: np.ndarray  # (n,) series impedance of the branch feeding each bus; z[0] = 0
    y_from: np.ndarray  # (n,) from-side shunt of the branch feeding each bus
    y_shunt: np.ndarray  # (n,) bus shunt with from-side shunts folded onto parents
    v_slack: float
    coef: np.ndarray  # (4, n) [1/tap, 1/conj(tap), z, y_shunt] for the numba kernel
    dense_h: np.ndarray | None = field(default=None)  # (n-1, n-1) for the numpy kernel
    dense_w: np.ndarray | None = field(default=None)  # (n-1,)


def _precompute(feeder: Feeder) -> _Precomputed:
    n = feeder.n_bus
    parent = np.ascontiguousarray(feeder.parent, dtype=np.int64)
    tap = np.ones(n, dtype=np.complex128)
    tap[1:] = feeder.tap_ratio * np.exp(1j * np.deg2rad(feeder.shift_deg))
    z = np.zeros(n, dtype=np.complex128)
    z[1:] = feeder.r_pu + 1j * feeder.x_pu
    y_from = np.zeros(n, dtype=np.complex128)
    y_from[1:] = feeder.g_from_pu + 1j * feeder.b_from_pu
    y_shunt = (feeder.g_bus_pu + 1j * feeder.b_bus_pu).astype(np.complex128)
    np.add.at(y_shunt, parent[1:], y_from[1:] / np.abs(tap[1:]) ** 2)
    coef = np.ascontiguousarray(np.stack([1.0 / tap, 1.0 / np.conj(tap), z, y_shunt]))
    return _Precomputed(parent, tap, z, y_from, y_shunt, float(feeder.v_slack_pu), coef)


def _dense_matrices(pre: _Precomputed) -> tuple[np.ndarray, np.ndarray]:
    """``H`` and ``w`` of the fixed point ``V = w V0 - H conj(S/V)`` over buses 1..n-1.

    ``G[k, m]`` is the voltage drop at bus k per unit current drawn at bus m and ``a[k]`` the
    no-load voltage ratio; with the shunts folded in, ``(I + G Y) V = a V0 - G conj(S/V)``.
    """
    n = pre.parent.shape[0]
    parent = pre.parent
    # Backward: series current of every branch for a unit current drawn at each bus (columns).
    i_series = np.zeros((n, n), dtype=np.complex128)
    acc = np.zeros((n, n), dtype=np.complex128)
    eye = np.eye(n, dtype=np.complex128)
    for k in range(n - 1, 0, -1):
        i_series[k] = eye[k] + acc[k]
        acc[parent[k]] += i_series[k] / np.conj(pre.tap[k])
    # Forward: voltage drops (V0 = 0) and the no-load ratio (V0 = 1, no current).
    drop = np.zeros((n, n), dtype=np.complex128)
    ratio = np.ones(n, dtype=np.complex128)
    for k in range(1, n):
        drop[k] = drop[parent[k]] / pre.tap[k] + pre.z[k] * i_series[k]
        ratio[k] = ratio[parent[k]] / pre.tap[k]
    g = drop[1:, 1:]
    lhs = np.eye(n - 1, dtype=np.complex128) + g * pre.y_shunt[1:][None, :]
    return np.linalg.solve(lhs, g), np.linalg.solve(lhs, ratio[1:])


_CACHE: "weakref.WeakKeyDictionary[Feeder, _Precomputed]" = weakref.WeakKeyDictionary()


def _precomputed(feeder: Feeder, need_dense: bool) -> _Precomputed:
    pre = _CACHE.get(feeder)
    if pre is None:
        pre = _precompute(feeder)
        _CACHE[feeder] = pre
    if need_dense and pre.dense_h is None:
        h, w = _dense_matrices(pre)
        object.__setattr__(pre, "dense_h", h)
        object.__setattr__(pre, "dense_w", w)
    return pre


def _numpy_kernel(
    pre: _Precomputed, s_pu: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """Dense fixed point on the ``(B, n)`` complex loads; returns voltages and iteration counts."""
    h_t = pre.dense_h.T  # type: ignore[union-attr]
    w_v0 = pre.dense_w * pre.v_slack  # type: ignore[operator]
    s_conj = np.conj(s_pu[:, 1:])
    n_batch, n = s_pu.shape
    v = np.broadcast_to(w_v0, (n_batch, n - 1)).copy()
    iters = np.full(n_batch, _NOT_CONVERGED, dtype=np.int64)
    active = np.arange(n_batch)
    tol2 = tol * tol
    for it in range(1, max_iter + 1):
        every = active.size == n_batch  # skip the fancy indexing while all rows iterate
        v_act, s_act = (v, s_conj) if every else (v[active], s_conj[active])
        v_new = w_v0 - (s_act / np.conj(v_act)) @ h_t
        d = v_new - v_act
        dv2 = np.max(d.real**2 + d.imag**2, axis=1)
        if every:
            v = v_new
        else:
            v[active] = v_new
        bad = ~(np.min(v_new.real**2 + v_new.imag**2, axis=1) > _V_COLLAPSE_PU**2)
        done = (dv2 < tol2) & ~bad
        iters[active[done]] = it
        if (done | bad).any():
            active = active[~done & ~bad]
            if active.size == 0:
                break
    v_full = np.empty((n_batch, n), dtype=np.complex128)
    v_full[:, 0] = pre.v_slack
    v_full[:, 1:] = v
    return v_full, iters


class PowerFlowSolver:
    """Power-flow solver bound to one feeder (precomputes once; use on hot paths).

    Args:
        feeder: The radial feeder.
        backend: ``"auto"`` (numba when installed, else numpy), ``"numba"`` or ``"numpy"``.
        tol_pu: Convergence tolerance on the largest voltage change between sweeps [pu].
        max_iter: Iteration limit; a snapshot still moving after it raises ``PowerFlowDiverged``.
        parallel: Spread batches of at least :data:`PARALLEL_MIN_BATCH` snapshots over numba's
            threads (``numba.set_num_threads``); identical results. About 1.9x faster on two idle
            cores, but several times slower when other processes keep the cores busy (every call
            then waits for the OS to schedule the worker threads), hence off by default.
    """

    def __init__(
        self,
        feeder: Feeder,
        backend: str = "auto",
        tol_pu: float = DEFAULT_TOL_PU,
        max_iter: int = DEFAULT_MAX_ITER,
        *,
        parallel: bool = False,
    ) -> None:
        if backend not in ("auto", "numba", "numpy"):
            raise ConfigError(f"backend must be 'auto', 'numba' or 'numpy', got {backend!r}.")
        if backend == "numba" and not HAS_NUMBA:
            raise ConfigError("backend='numba' needs numba: pip install 'thermogrid-env[fast]'.")
        if not (np.isfinite(tol_pu) and tol_pu > 0):
            raise ConfigError(f"tol_pu must be a positive number, got {tol_pu}.")
        if int(max_iter) < 1:
            raise ConfigError(f"max_iter must be >= 1, got {max_iter}.")
        self.feeder = feeder
        self.backend = ("numba" if HAS_NUMBA else "numpy") if backend == "auto" else backend
        self.tol_pu = float(tol_pu)
        self.max_iter = int(max_iter)
        self.parallel = bool(parallel)
        self._pre = _precomputed(feeder, need_dense=self.backend == "numpy")
        self._const = result_constants(feeder)

    def solve(self, p_kw: np.ndarray, q_kvar: np.ndarray | None = None) -> PowerFlowResult:
        """Solve the power flow for bus loads of shape ``(..., n_bus)`` (consumption positive).

        Args:
            p_kw: Active power drawn at each bus [kW]; generation negative.
            q_kvar: Reactive power drawn at each bus [kvar]; default zero.

        Returns:
            The result, batched like the inputs.

        Raises:
            ConfigError: Wrong shape, or NaN/inf in the inputs (the message names the snapshots).
            PowerFlowDiverged: Some snapshots did not converge (``batch_indices`` names them,
                as flat indices into the batch).
        """
        n = self.feeder.n_bus
        p = np.asarray(p_kw, dtype=np.float64)
        q = np.zeros_like(p) if q_kvar is None else np.asarray(q_kvar, dtype=np.float64)
        if p.ndim == 0 or p.shape[-1] != n:
            raise ConfigError(
                f"p_kw must have shape (..., {n}) for feeder {self.feeder.name!r} "
                f"(one entry per bus, slack included), got {p.shape}."
            )
        if q.shape != p.shape:
            raise ConfigError(f"q_kvar must have the same shape as p_kw {p.shape}, got {q.shape}.")
        batch_shape = p.shape[:-1]
        if self.backend == "numba":
            v, iters, n_failed = self._solve_numba(p.reshape(-1, n), q.reshape(-1, n))
        else:
            finite = (np.isfinite(p).all(axis=-1) & np.isfinite(q).all(axis=-1)).reshape(-1)
            if finite.all():
                s_pu = (p + 1j * q).reshape(-1, n) / self.feeder.s_base_kva
                v, iters = _numpy_kernel(self._pre, s_pu, self.tol_pu, self.max_iter)
            else:
                v = np.full((finite.size, n), np.nan, dtype=np.complex128)
                iters = np.where(finite, 0, _NOT_FINITE)
            n_failed = np.count_nonzero(iters < 0)
        if n_failed:
            self._raise_failed(iters)
        return PowerFlowResult(
            feeder=self.feeder,
            v_complex_pu=v.reshape(batch_shape + (n,)),
            iterations=iters.reshape(batch_shape),
            p_load_kw=p,
            q_load_kvar=q,
            _const=self._const,
        )

    def _solve_numba(self, p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        pre = self._pre
        n_batch = p.shape[0]
        v = np.empty(p.shape, dtype=np.complex128)
        iters = np.empty(n_batch, dtype=np.int64)
        args = (pre.parent, pre.coef, pre.v_slack, 1.0 / self.feeder.s_base_kva, self.tol_pu,
                self.max_iter)
        if self.parallel and n_batch >= PARALLEL_MIN_BATCH:
            n_threads = _numba.get_num_threads()
            if n_threads > 1 and _PARALLEL_LOCK.acquire(blocking=False):
                try:
                    return v, iters, _sweep_parallel(p, q, v, iters, *args, n_threads)
                finally:
                    _PARALLEL_LOCK.release()
        return v, iters, _sweep_rows(p, q, v, iters, 0, n_batch, *args)

    def _raise_failed(self, iters: np.ndarray) -> None:
        bad_input, bad = np.flatnonzero(iters == _NOT_FINITE), np.flatnonzero(iters < 0)
        which = bad_input if bad_input.size else bad
        msg = (f"{which.size} of {iters.size} snapshots (flat batch indices "
               f"{which[:10].tolist()}{'...' if which.size > 10 else ''})")
        if bad_input.size:
            raise ConfigError(f"p_kw and q_kvar must be finite (no NaN or inf); {msg} are not.")
        raise PowerFlowDiverged(
            f"Power flow on feeder {self.feeder.name!r} did not converge for {msg}: the load is "
            f"beyond the feeder's voltage collapse point or max_iter={self.max_iter} is too small.",
            batch_indices=bad,
        )


def solve(
    feeder: Feeder,
    p_kw: np.ndarray,
    q_kvar: np.ndarray | None = None,
    *,
    backend: str = "auto",
    tol_pu: float = DEFAULT_TOL_PU,
    max_iter: int = DEFAULT_MAX_ITER,
    parallel: bool = False,
) -> PowerFlowResult:
    """Solve the exact AC (DistFlow) power flow of a radial feeder.

    ``PowerFlowSolver(feeder, backend, tol_pu, max_iter, parallel=parallel).solve(p_kw, q_kvar)``
    (see there; the feeder's precomputed arrays are cached): ``p_kw``/``q_kvar`` are
    ``(..., n_bus)`` bus loads [kW, kvar], consumption positive.

    Raises:
        ConfigError: Wrong input shape or non-finite inputs.
        PowerFlowDiverged: Some snapshots did not converge.
    """
    return PowerFlowSolver(feeder, backend, tol_pu, max_iter, parallel=parallel).solve(
        p_kw, q_kvar
    )
