"""Exact AC power flow of a radial feeder: backward/forward sweep of the DistFlow equations.

For a radial network the branch-flow (DistFlow) model

    P_ij = p_j + sum_k P_jk + r_ij l_ij,   Q_ij = q_j + sum_k Q_jk + x_ij l_ij,
    v_j = v_i - 2 (r_ij P_ij + x_ij Q_ij) + (r_ij^2 + x_ij^2) l_ij,   l_ij v_i = P_ij^2 + Q_ij^2

is equivalent to the full AC power-flow equations. It is solved here in its complex-current form:
each iteration draws the constant-PQ load currents ``conj(S / V)`` plus the shunt currents, sums
them towards the slack (backward sweep, through every transformer's complex ratio) and recomputes the
voltages from the slack outwards (forward sweep, ``V_k = V_parent / t_k - z_k I_k``). The iteration
starts from the no-load voltages (so its first sweep is the linearised, LinDistFlow-like estimate).
It contracts by a rate ``rho`` of about the relative voltage drop per sweep, so 8-12 sweeps reach
``1e-10`` pu on LV feeders; it stops when the estimated remaining error ``dv * rho / (1 - rho)``
(``dv``: the largest voltage change of the last sweep) is below ``tol_pu`` -- for ``rho <= 0.5``
simply ``dv < tol_pu``, near the nose point of the PV curve (``rho -> 1``) correspondingly tighter.
See :mod:`thermogrid_env.network.feeder` for the branch model and the sign convention (consumption
positive).

Near the nose point the sweep slows down without bound (hundreds of sweeps at 5.3x the load of a
Kerber overhead-line feeder). A snapshot that is not finished after ``max_iter`` sweeps, or whose
sweep collapses (a voltage below :data:`_V_COLLAPSE_PU`, NaN or inf), goes to a Newton-Raphson
fallback (polar form, sparse, numpy/scipy): started from the sweep's last iterate, then from the
no-load voltages, with a backtracking line search on the mismatch. A Newton solution is accepted
only on the physical, high-voltage branch: the sign of its Jacobian determinant must be that at
no load (the determinant changes sign at the nose, so a low-voltage solution has the opposite
sign). A snapshot without such a solution raises :class:`PowerFlowDiverged` (beyond the nose
point: voltage collapse); no non-finite voltage is ever returned. Snapshots that the sweep
finishes never touch the fallback: it costs nothing on the hot path.

Two interchangeable kernels compute the sweep:

* ``"numba"``: the O(n_bus) tree sweep compiled with numba (if installed), written without complex
  divisions or square roots in the inner loops; with ``parallel=True``, batches of at least
  :data:`PARALLEL_MIN_BATCH` snapshots are split over numba's threads. Each snapshot is solved
  independently, so results do not depend on the batch or the threads, bit for bit;
* ``"numpy"``: a vectorised fixed point ``V = w V0 - H conj(S / V)`` with a dense ``H`` that folds
  the shunts in exactly; batched over snapshots with one matrix product per iteration. It needs
  nothing but numpy and agrees with the numba kernel to about ``tol_pu``.

Both use the same stopping rule and the same Newton fallback. Everything else (branch flows,
currents, loading, losses) is derived from the converged voltages in :class:`PowerFlowResult`,
lazily, with numpy.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import numpy as np

from thermogrid_env.errors import ConfigError, PowerFlowDiverged
from thermogrid_env.network.feeder import Feeder
from thermogrid_env.physics.powerflow_newton import NewtonData, newton, newton_data
from thermogrid_env.physics.powerflow_result import PowerFlowResult, result_constants

try:  # numba is optional (extra [fast]); the numpy kernel is always available.
    import numba as _numba
except ImportError:  # pragma: no cover - depends on the environment
    _numba = None

HAS_NUMBA = _numba is not None
DEFAULT_TOL_PU = 1e-10
#: Sweeps before a snapshot goes to the Newton-Raphson fallback.
DEFAULT_MAX_ITER = 100
#: Newton-Raphson iterations of the fallback, per start (0 disables the fallback).
DEFAULT_NEWTON_MAX_ITER = 30
#: With ``parallel=True``, batches of at least this many snapshots use numba's threads.
PARALLEL_MIN_BATCH = 64
_V_COLLAPSE_PU = 0.2  # below this the sweep has left the physical branch of solutions
_NOT_CONVERGED, _NOT_FINITE, _COLLAPSED = -1, -2, -3  # codes in the kernels' iteration counts
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
    ``1 / s_base_kva``. A row has converged when :func:`_error_below_tol_py` says so. Writes the
    voltages (the last iterate where not converged) into ``v_out`` and the number of sweeps into
    ``iters_out`` (``-1``: not converged within ``max_iter``, ``-2``: non-finite input, ``-3``:
    collapsed, i.e. a voltage below ``_V_COLLAPSE_PU``, NaN or inf); returns the number of failed
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
        prev_dv2 = np.inf
        for it in range(1, max_iter + 1):
            # Backward sweep: conj(S / V) = (p - jq) V / |V|^2 (no complex division).
            acc[0] = 0.0
            for k in range(n - 1, 0, -1):
                vk = v[k]
                inv_m2 = inv_base / (vk.real * vk.real + vk.imag * vk.imag)
                i_load = complex(p[k], -q[k]) * vk * inv_m2
                ik = i_load + y_shunt[k] * vk + acc[k]
                acc[k] = 0.0
                cur[k] = ik
                acc[parent[k]] += ik * inv_ctap[k]
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
            if not (min_v2 > v_min2):
                iters_out[b] = _COLLAPSED
                break
            if max_dv2 < tol2:
                # The comparisons above skip NaN; every branch current adds into the slack's
                # (acc[0]), so it is NaN or inf if any current or voltage is (a non-finite
                # voltage makes the next currents NaN).
                i0 = acc[0]
                if not (i0.real * i0.real + i0.imag * i0.imag < np.inf):
                    iters_out[b] = _COLLAPSED
                    break
                if _error_below_tol(max_dv2, prev_dv2, tol):
                    iters_out[b] = it
                    break
            prev_dv2 = max_dv2
        if iters_out[b] < 0:
            n_failed += 1
    return n_failed


def _error_below_tol_py(dv2: float, prev_dv2: float, tol: float) -> bool:
    """Whether a contracting iteration whose last two squared steps are ``prev_dv2``, ``dv2``
    (``dv2 < tol**2``) is within ``tol`` of its fixed point: ``dv rho / (1 - rho) < tol``."""
    if dv2 <= 0.25 * prev_dv2:  # rho <= 0.5: the remaining error is below the step
        return True
    rho = np.sqrt(dv2 / prev_dv2)
    return rho < 1.0 and np.sqrt(dv2) * rho < tol * (1.0 - rho)


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
    _error_below_tol = _numba.njit(cache=True, nogil=True, inline="always")(_error_below_tol_py)
    _sweep_rows = _numba.njit(cache=True, nogil=True)(_sweep_rows_py)
    _sweep_parallel = _numba.njit(cache=True, nogil=True, parallel=True)(_sweep_parallel_py)
else:  # pragma: no cover - depends on the environment
    _error_below_tol = _error_below_tol_py
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
    newton: "NewtonData | None" = field(default=None)  # for the fallback, built on first use


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
    """Dense fixed point on the ``(B, n)`` complex loads; returns voltages (the last iterate where
    not converged) and iteration counts (codes as :func:`_sweep_rows_py`)."""
    h_t = pre.dense_h.T  # type: ignore[union-attr]
    w_v0 = pre.dense_w * pre.v_slack  # type: ignore[operator]
    s_conj = np.conj(s_pu[:, 1:])
    n_batch, n = s_pu.shape
    v = np.broadcast_to(w_v0, (n_batch, n - 1)).copy()
    iters = np.full(n_batch, _NOT_CONVERGED, dtype=np.int64)
    prev_dv2 = np.full(n_batch, np.inf)  # last step of each active row
    active = np.arange(n_batch)
    tol2 = tol * tol
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # overflow -> collapse
        for it in range(1, max_iter + 1):
            every = active.size == n_batch  # skip the fancy indexing while all rows iterate
            v_act, s_act = (v, s_conj) if every else (v[active], s_conj[active])
            v_new = w_v0 - (s_act / np.conj(v_act)) @ h_t
            d = v_new - v_act
            dv2 = np.max(d.real**2 + d.imag**2, axis=1)  # NaN if any step is
            bad = ~(np.min(v_new.real**2 + v_new.imag**2, axis=1) > _V_COLLAPSE_PU**2)  # or NaN
            if every:
                v = v_new
            else:
                v[active] = v_new
            done = dv2 < tol2  # implies finite voltages (the previous iterate is finite)
            stop = done | bad
            if stop.any():
                done &= ~bad
                slow = done & (dv2 > 0.25 * prev_dv2)  # rho > 0.5: see _error_below_tol_py
                if slow.any():
                    rho = np.sqrt(dv2[slow] / prev_dv2[slow])
                    done[slow] = (rho < 1.0) & (np.sqrt(dv2[slow]) * rho < tol * (1.0 - rho))
                iters[active[done]] = it
                iters[active[bad]] = _COLLAPSED
                keep = ~(done | bad)
                active, dv2 = active[keep], dv2[keep]
                if active.size == 0:
                    break
            prev_dv2 = dv2
    v_full = np.empty((n_batch, n), dtype=np.complex128)
    v_full[:, 0] = pre.v_slack
    v_full[:, 1:] = v
    return v_full, iters


class PowerFlowSolver:
    """Power-flow solver bound to one feeder (precomputes once; use on hot paths).

    Args:
        feeder: The radial feeder.
        backend: ``"auto"`` (numba when installed, else numpy), ``"numba"`` or ``"numpy"``.
        tol_pu: Convergence tolerance [pu]: bound on the remaining voltage error estimated from
            the last sweep's step and contraction rate (and on the last Newton step).
        max_iter: Sweeps before a snapshot goes to the Newton-Raphson fallback.
        newton_max_iter: Newton-Raphson iterations of the fallback per start (it tries the
            sweep's last iterate, then the no-load voltages); ``0`` disables the fallback, so a
            snapshot still moving after ``max_iter`` sweeps raises ``PowerFlowDiverged``.
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
        newton_max_iter: int = DEFAULT_NEWTON_MAX_ITER,
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
        if int(newton_max_iter) < 0:
            raise ConfigError(
                f"newton_max_iter must be >= 0 (0: no fallback), got {newton_max_iter}."
            )
        self.feeder = feeder
        self.backend = ("numba" if HAS_NUMBA else "numpy") if backend == "auto" else backend
        self.tol_pu = float(tol_pu)
        self.max_iter = int(max_iter)
        self.newton_max_iter = int(newton_max_iter)
        self.parallel = bool(parallel)
        self._pre = _precomputed(feeder, need_dense=self.backend == "numpy")
        self._const = result_constants(feeder)

    def solve(self, p_kw: np.ndarray, q_kvar: np.ndarray | None = None) -> PowerFlowResult:
        """Solve the power flow for bus loads of shape ``(..., n_bus)`` (consumption positive).

        Args:
            p_kw: Active power drawn at each bus [kW]; generation negative.
            q_kvar: Reactive power drawn at each bus [kvar]; default zero.

        Returns:
            The result, batched like the inputs; its voltages are finite.

        Raises:
            ConfigError: Wrong shape, or NaN/inf in the inputs (the message names the snapshots).
            PowerFlowDiverged: Some snapshots have no solution on the high-voltage branch (load
                beyond the nose point of the PV curve: voltage collapse), or did not converge with
                the fallback disabled (``batch_indices`` names them, as flat indices into the
                batch).
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
        p2, q2 = p.reshape(-1, n), q.reshape(-1, n)
        if self.backend == "numba":
            v, iters, n_failed = self._solve_numba(p2, q2)
        else:
            finite = np.isfinite(p2).all(axis=-1) & np.isfinite(q2).all(axis=-1)
            if finite.all():
                v, iters = _numpy_kernel(
                    self._pre, (p2 + 1j * q2) / self.feeder.s_base_kva, self.tol_pu, self.max_iter
                )
            else:
                v = np.full((finite.size, n), np.nan, dtype=np.complex128)
                iters = np.where(finite, 0, _NOT_FINITE)
            n_failed = np.count_nonzero(iters < 0)
        if n_failed:
            self._fallback(v, iters, p2, q2)
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

    def _fallback(self, v: np.ndarray, iters: np.ndarray, p: np.ndarray, q: np.ndarray) -> None:
        """Newton-Raphson for the snapshots the sweep did not finish (in place: ``v``, ``iters``
        become the solution and ``max_iter`` + Newton iterations); raise for the rest."""
        if np.any(iters == _NOT_FINITE) or self.newton_max_iter == 0:
            self._raise_failed(iters)
        nd = newton_data(self._pre)
        s_pu = (p + 1j * q) / self.feeder.s_base_kva
        with np.errstate(all="ignore"):  # absurd loads overflow: no solution
            for b in np.flatnonzero(iters < 0):
                last = v[b] if iters[b] == _NOT_CONVERGED and np.isfinite(v[b]).all() else None
                starts = [nd.v_noload] if last is None else [last, nd.v_noload]
                for start in starts:
                    v_b, n_newton = newton(nd, s_pu[b], start, self.tol_pu, self.newton_max_iter)
                    if v_b is not None:
                        v[b], iters[b] = v_b, self.max_iter + n_newton
                        break
                else:
                    v[b] = np.nan
        if np.any(iters < 0):
            self._raise_failed(iters)

    def _raise_failed(self, iters: np.ndarray) -> None:
        bad_input, bad = np.flatnonzero(iters == _NOT_FINITE), np.flatnonzero(iters < 0)
        which = bad_input if bad_input.size else bad
        msg = (f"{which.size} of {iters.size} snapshots (flat batch indices "
               f"{which[:10].tolist()}{'...' if which.size > 10 else ''})")
        if bad_input.size:
            raise ConfigError(f"p_kw and q_kvar must be finite (no NaN or inf); {msg} are not.")
        if self.newton_max_iter == 0:
            raise PowerFlowDiverged(
                f"Power flow on feeder {self.feeder.name!r} did not converge for {msg} within "
                f"max_iter={self.max_iter} sweeps and the Newton-Raphson fallback is off "
                "(newton_max_iter=0): raise max_iter or enable the fallback; if the sweep "
                "collapsed, the load is beyond the feeder's voltage collapse point.",
                batch_indices=bad,
            )
        raise PowerFlowDiverged(
            f"Power flow on feeder {self.feeder.name!r} has no solution for {msg}: the load is "
            "beyond the nose point of the PV curve (voltage collapse); neither the sweep "
            f"(max_iter={self.max_iter}) nor Newton-Raphson (newton_max_iter="
            f"{self.newton_max_iter}, from the sweep's last iterate and from no load) found an "
            "operating point on the high-voltage branch. Reduce the load of those snapshots (and "
            "check that the loads are in kW and kvar).",
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
    newton_max_iter: int = DEFAULT_NEWTON_MAX_ITER,
    parallel: bool = False,
) -> PowerFlowResult:
    """Solve the exact AC (DistFlow) power flow of a radial feeder.

    ``PowerFlowSolver(feeder, backend, tol_pu, max_iter, newton_max_iter=newton_max_iter,
    parallel=parallel).solve(p_kw, q_kvar)`` (see there; the feeder's precomputed arrays are
    cached): ``p_kw``/``q_kvar`` are ``(..., n_bus)`` bus loads [kW, kvar], consumption positive.

    Raises:
        ConfigError: Wrong input shape or non-finite inputs.
        PowerFlowDiverged: Some snapshots have no solution (voltage collapse).
    """
    return PowerFlowSolver(
        feeder, backend, tol_pu, max_iter, newton_max_iter=newton_max_iter, parallel=parallel
    ).solve(p_kw, q_kvar)
