"""Newton-Raphson fallback of the radial power flow (polar form, sparse, numpy/scipy).

:mod:`thermogrid_env.physics.powerflow` sends here the snapshots its backward/forward sweep does not
finish (near or beyond the nose point of the PV curve). Newton runs with a backtracking line search on
the power mismatch and accepts a solution only on the physical, high-voltage branch: the sign of the
Jacobian's determinant must be that at no load (it changes sign at the nose point).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

_MIN_STEP = 1.0 / 1024.0  # line search: a smaller step means no solution nearby


@dataclass(frozen=True, eq=False)
class NewtonData:
    """A feeder's sparse bus admittance matrix and no-load state, for the Newton fallback.

    Attributes:
        ybus: ``(n, n)`` scipy CSR bus admittance matrix of the branch model [pu].
        row, col, y: Its entries among the non-slack buses (full bus numbering).
        jac_slot, jac_indices, jac_indptr: The Jacobian's CSC structure: the CSC entry that each
            term built by :func:`_jacobian` adds into, and the row indices and column pointers.
        v_noload: ``(n,)`` no-load voltages (the sweep's start) [pu].
        det_sign_noload: Sign of the polar Jacobian's determinant at no load; the high-voltage
            branch keeps it up to the nose point, where the determinant crosses zero.
    """

    ybus: Any
    row: np.ndarray
    col: np.ndarray
    y: np.ndarray
    jac_slot: np.ndarray
    jac_indices: np.ndarray
    jac_indptr: np.ndarray
    v_noload: np.ndarray
    det_sign_noload: float = 0.0


def newton_data(pre: Any) -> NewtonData:
    """The :class:`NewtonData` of a feeder (built on first use, then kept in ``pre.newton``).

    Args:
        pre: The power flow's precomputed feeder arrays (``parent``, ``tap``, ``z``, ``y_shunt``,
            ``v_slack``, ``newton``).
    """
    from scipy import sparse  # noqa: PLC0415 - only the fallback needs scipy
    from scipy.sparse.linalg import splu  # noqa: PLC0415

    if pre.newton is not None:
        return pre.newton
    n = pre.parent.shape[0]
    par, child, bus = pre.parent[1:], np.arange(1, n), np.arange(n)
    tap, y_series = pre.tap[1:], 1.0 / pre.z[1:]
    diag = pre.y_shunt.copy()  # from-side shunts already folded onto the parents
    np.add.at(diag, par, y_series / np.abs(tap) ** 2)
    diag[1:] += y_series
    ybus = sparse.csr_matrix(
        (np.concatenate([diag, -y_series / np.conj(tap), -y_series / tap]),
         (np.concatenate([bus, par, child]), np.concatenate([bus, child, par]))),
        shape=(n, n),
    )
    coo = ybus.tocoo()
    keep = (coo.row > 0) & (coo.col > 0)
    row, col = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
    # Jacobian terms in _jacobian's order: [dS/dVa, dS/dVm] x [real, imag] rows, then CSC slots.
    m = n - 1
    r, c = np.concatenate([row, bus[1:]]) - 1, np.concatenate([col, bus[1:]]) - 1
    rows = np.concatenate([r, r, r + m, r + m])
    cols = np.concatenate([c, c + m, c, c + m])
    keys, slot = np.unique(cols * (2 * m) + rows, return_inverse=True)
    indptr = np.searchsorted(keys // (2 * m), np.arange(2 * m + 1))
    v_noload = np.empty(n, dtype=np.complex128)
    v_noload[0] = pre.v_slack
    for k in range(1, n):
        v_noload[k] = v_noload[pre.parent[k]] / pre.tap[k]
    data = NewtonData(ybus, row, col, coo.data[keep], slot.ravel(), keys % (2 * m), indptr,
                       v_noload)
    sign = _det_sign(splu(_jacobian(data, v_noload)))  # regular at no load
    data = dataclasses.replace(data, det_sign_noload=sign)
    object.__setattr__(pre, "newton", data)
    return data


def _mismatch(nd: NewtonData, v: np.ndarray, s_pu: np.ndarray) -> np.ndarray:
    """``(2 (n-1),)`` real and imaginary power mismatch ``V conj(Y V) + S_load`` of the non-slack
    buses [pu] (zero at a solution: injection = -load)."""
    f = v * np.conj(nd.ybus @ v) + s_pu
    return np.concatenate([f.real[1:], f.imag[1:]])


def _jacobian(nd: NewtonData, v: np.ndarray) -> Any:
    """Sparse (CSC) Jacobian of :func:`_mismatch` w.r.t. ``[angles, magnitudes]`` of the non-slack
    buses (PYPOWER's ``dSbus_dV`` in polar form)."""
    from scipy import sparse  # noqa: PLC0415

    n = v.shape[0]
    m = n - 1
    bus = np.arange(1, n)
    i_bus = nd.ybus @ v
    v_row, yv_conj = v[nd.row], np.conj(nd.y * v[nd.col])
    i_conj = np.conj(i_bus[bus])
    d_va = np.concatenate([-1j * v_row * yv_conj, 1j * v[bus] * i_conj])
    d_vm = np.concatenate([v_row * yv_conj / np.abs(v[nd.col]), i_conj * v[bus] / np.abs(v[bus])])
    terms = np.concatenate([d_va.real, d_vm.real, d_va.imag, d_vm.imag])
    data = np.bincount(nd.jac_slot, weights=terms, minlength=nd.jac_indices.size)
    return sparse.csc_matrix((data, nd.jac_indices, nd.jac_indptr), shape=(2 * m, 2 * m))


def _det_sign(lu: Any) -> float:
    """Sign of a matrix's determinant from its SuperLU factors ``Pr A Pc = L U`` (unit ``L``)."""
    return float(np.prod(np.sign(lu.U.diagonal()))) * _perm_sign(lu.perm_r) * _perm_sign(lu.perm_c)


def _perm_sign(perm: np.ndarray) -> float:
    """Sign of a permutation: ``(-1) ** (size - number of cycles)``."""
    seen = np.zeros(perm.size, dtype=bool)
    cycles = 0
    for i in range(perm.size):
        if not seen[i]:
            cycles += 1
            j = i
            while not seen[j]:
                seen[j] = True
                j = perm[j]
    return -1.0 if (perm.size - cycles) % 2 else 1.0


def newton(
    nd: NewtonData, s_pu: np.ndarray, v_start: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray | None, int]:
    """Newton-Raphson (polar, backtracking line search) for one snapshot.

    Args:
        nd: The feeder's :class:`NewtonData`.
        s_pu: ``(n,)`` complex bus loads [pu], consumption positive.
        v_start: ``(n,)`` finite initial voltages [pu].
        tol: Converged when a full Newton step moves no angle [rad] or magnitude [pu] by more.
        max_iter: Iteration limit.

    Returns:
        ``(voltages, iterations)``; voltages ``None`` when it did not converge (the line search
        found no step that reduces the mismatch: no solution nearby) or converged to a solution off
        the high-voltage branch (Jacobian determinant of the wrong sign).
    """
    from scipy.sparse.linalg import splu  # noqa: PLC0415

    m = v_start.shape[0] - 1
    v = v_start.copy()
    va, vm = np.angle(v[1:]), np.abs(v[1:])
    f = _mismatch(nd, v, s_pu)
    f2 = float(f @ f)
    for it in range(1, max_iter + 1):
        try:
            lu = splu(_jacobian(nd, v))
        except RuntimeError:  # exactly singular: at the nose point or worse
            return None, it
        dx = -lu.solve(f)
        step = float(np.max(np.abs(dx), initial=0.0))
        if not np.isfinite(step):
            return None, it
        alpha = 1.0
        while True:
            va_try, vm_try = va + alpha * dx[:m], vm + alpha * dx[m:]
            v_try = np.concatenate([v[:1], vm_try * np.exp(1j * va_try)])
            f_try = _mismatch(nd, v_try, s_pu)
            f2_try = float(f_try @ f_try)
            if alpha * step < tol or f2_try < f2:  # (NaN compares false)
                break
            alpha *= 0.5
            if alpha < _MIN_STEP:
                return None, it
        va, vm, v, f, f2 = va_try, vm_try, v_try, f_try, f2_try
        if step < tol:
            upper = np.all(vm > 0) and _det_sign(lu) == nd.det_sign_noload
            return (v if upper and np.all(np.isfinite(v)) else None), it
    return None, max_iter
