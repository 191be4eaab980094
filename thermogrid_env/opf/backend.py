"""Two modelling back ends behind one small interface: cvxpy (conic) and casadi (NLP, IPOPT).

Device blocks, objective terms and formulations are written once against :class:`Model`; the
convex formulations run on :class:`CvxpyModel` (solved by Clarabel), the exact AC formulation on
:class:`CasadiModel` (solved by IPOPT). Every expression is two-dimensional (``(T, n)``: periods
by components; time series are ``(T, 1)``), so both back ends see the same shapes. Constants
are numpy arrays broadcast to the expression's shape by the model, never by the caller.

The nonlinear cone-like constraints are written in their natural smooth form for IPOPT
(``x^2 + y^2 <= t^2``, ``exp(x) <= z``) and as cones for cvxpy, so one device model serves both.
cvxpy and casadi are imported lazily (extras ``[opf]`` and ``[nlp]``); the casadi back end lives
in :mod:`thermogrid_env.opf.backend_casadi`.
"""

from __future__ import annotations

import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from thermogrid_env.errors import ConfigError, import_optional

Expr = Any
"""A back-end expression (cvxpy ``Expression`` or casadi ``SX``), always 2-D."""

CLARABEL_DEFAULTS: dict[str, Any] = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9,
                                     "iterative_refinement_reltol": 1e-10, "iterative_refinement_abstol": 1e-10}
"""Clarabel settings we change. The duality-gap tolerance bounds how tight an exact relaxation's
cones end up (the cone slack is about ``mu / price of losses``). On the 96-period default-feeder
day: at Clarabel's default 1e-8 the fictitious current on lightly loaded branches reached 0.2 % of
``l`` (loss share ~1e-6); at 1e-9 the loss share stayed near 1e-7 and the element-wise gap below
2e-4 for 1-2 more iterations; 1e-10 gained another factor 10 for 1-2 more. QDLDL is the
factorisation: Clarabel's faer path was as fast up to 48 periods but 4x slower at 96 (3x slower
with one or two threads, Clarabel 0.11.1). Iterative refinement of each KKT solve stops at 1e-10
instead of Clarabel's 1e-13/1e-12: the triangular solves were ~1/3 of the solver time, the
refinement to 1e-10 cut the time per iteration by 5-15 % with the same iteration count (±1) and the
same objective to 1e-9 relative; switching refinement off saved 20 % per iteration but took up to
6 more iterations on the spring example day."""

INACCURATE_ACCEPT_TOL = 1e-6
"""What an ``optimal_inaccurate`` (Clarabel ``AlmostSolved``) solve must still reach to be accepted:
relative duality gap and primal and dual residuals each at most this. Clarabel stops there when
the tightened gap tolerance (:data:`CLARABEL_DEFAULTS`) is out of reach in double precision (seen on
the summer day without shunts: relative gap 2.0e-9 for the 1e-9 asked, residuals 2e-10 and 2e-9).
Beyond it the solve is retried once at Clarabel's own tolerances, then refused."""

OBJECTIVE_SCALE = 100.0
"""Factor on the objective (EUR) handed to Clarabel. Measured on the 96-period default-feeder day
with heat pumps, EVs, PV and the dynamic transformer-aging term: scale 1 took 100 iterations,
scale 10 took 50, scales 100 and 1000 took 31-32 at every power base tried (50, 100, 200 kVA);
without the aging term scale 1 took 37 and scale 10 24-25."""


@dataclass
class SolveInfo:
    """What a back end reports after a solve.

    Attributes:
        status: ``"optimal"``, ``"optimal_inaccurate"``, ``"infeasible"``, ``"unbounded"`` or
            ``"error"`` (normalised across back ends).
        raw_status: The solver's own status string.
        objective: Objective value as the solver saw it.
        compile_s: Time to turn the model into solver data (cvxpy compilation, casadi NLP set-up) [s].
        solver_s: Time inside the solver [s].
        iterations: Solver iterations.
        solver: Solver name.
        accuracy: What the solver reached, where it says (Clarabel): ``gap_rel`` (relative
            duality gap), ``res_primal`` and ``res_dual`` (scaled residuals).
        notes: What the back end did beyond one plain solve (e.g. a retry).
    """

    status: str
    raw_status: str
    objective: float
    compile_s: float
    solver_s: float
    iterations: int
    solver: str
    accuracy: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def accuracy_ok(self) -> bool:
        """``True`` if every reported accuracy figure is within :data:`INACCURATE_ACCEPT_TOL`."""
        return bool(self.accuracy) and all(v <= INACCURATE_ACCEPT_TOL for v in self.accuracy.values())

    def accuracy_text(self) -> str:
        """The reached accuracy as text (empty if the solver does not report it)."""
        if not self.accuracy:
            return ""
        a = self.accuracy
        return f"relative gap {a['gap_rel']:.1e}, primal residual {a['res_primal']:.1e}, dual residual {a['res_dual']:.1e}"


@dataclass
class _VarRecord:
    name: str
    shape: tuple[int, int]
    expr: Expr
    offset: int = 0  # casadi: position in the flat decision vector


class Model(ABC):
    """Interface used by device blocks, objective terms and formulations.

    Attributes:
        kind: ``"cvxpy"`` or ``"casadi"``.
    """

    kind: str = ""

    def __init__(self) -> None:
        self.vars: dict[str, _VarRecord] = {}
        self.constraint_counts: dict[str, int] = {}

    # -------------------------------------------------------------- variables and constraints
    @abstractmethod
    def var(self, name: str, shape: tuple[int, int], lb: Any = None, ub: Any = None) -> Expr:
        """A new ``shape`` variable with optional element-wise bounds (``±inf`` entries are free)."""

    def masked_var(self, name: str, mask: np.ndarray, lb: Any = None, ub: Any = None) -> Expr:
        """A ``mask.shape`` expression that is a variable where ``mask`` is true and 0 elsewhere.

        Only the ``k = mask.sum()`` free entries become solver variables (a ``(k, 1)`` variable
        named ``name``), so structurally-zero entries add neither columns nor degenerate
        ``0 <= x <= 0`` bound rows (which interior-point methods handle badly).

        Args:
            name: Variable name.
            mask: ``(T, n)`` bool.
            lb, ub: Bounds broadcastable to ``mask.shape`` (only the masked entries are used).
        """
        mask = np.asarray(mask, dtype=bool)
        shape = (int(mask.shape[0]), int(mask.shape[1]))
        idx = np.flatnonzero(mask.ravel(order="F"))
        k = int(idx.size)
        if k == 0:
            return np.zeros(shape)

        def pick(bound: Any) -> np.ndarray | None:
            if bound is None:
                return None
            return np.broadcast_to(np.asarray(bound, float), shape).ravel(order="F")[idx][:, None]

        v = self.var(name, (k, 1), lb=pick(lb), ub=pick(ub))
        scatter = sp.csc_matrix((np.ones(k), (idx, np.arange(k))), shape=(shape[0] * shape[1], k))
        return self._unflatten(scatter, v, shape)

    @abstractmethod
    def _unflatten(self, scatter: sp.csc_matrix, v: Expr, shape: tuple[int, int]) -> Expr:
        """``reshape(scatter @ v, shape)`` in column-major order."""

    @abstractmethod
    def eq(self, name: str, lhs: Expr, rhs: Any) -> None:
        """Element-wise ``lhs == rhs``."""

    @abstractmethod
    def le(self, name: str, lhs: Expr, rhs: Any) -> None:
        """Element-wise ``lhs <= rhs``."""

    @abstractmethod
    def soc(self, name: str, t: Any, xs: Sequence[Expr]) -> None:
        """Element-wise ``sqrt(sum_i xs[i]^2) <= t`` (all of one shape; ``t`` may be a constant)."""

    @abstractmethod
    def rsoc(self, name: str, a: Expr, b: Expr, xs: Sequence[Expr]) -> None:
        """Element-wise ``sum_i xs[i]^2 <= a * b`` with ``a, b >= 0`` (rotated cone)."""

    @abstractmethod
    def exp_le(self, name: str, x: Expr, z: Expr) -> None:
        """Element-wise ``exp(x) <= z``."""

    @abstractmethod
    def pow_le(self, name: str, x: Expr, p: float, z: Expr) -> None:
        """Element-wise ``x^p <= z`` for ``x >= 0`` and ``p >= 1``."""

    def bilinear_eq(self, name: str, a: Expr, b: Expr, xs: Sequence[Expr]) -> None:
        """Element-wise ``a * b == sum_i xs[i]^2`` (nonconvex; only the NLP back end has it)."""
        raise ConfigError(f"{type(self).__name__} cannot hold the nonconvex constraint {name!r}; use ac-nlp.")

    # -------------------------------------------------------------- algebra
    @abstractmethod
    def mul(self, c: Any, x: Expr) -> Expr:
        """Element-wise product of a constant (broadcast to ``x``'s shape) and an expression."""

    @abstractmethod
    def matmul(self, x: Expr, a: np.ndarray | sp.spmatrix) -> Expr:
        """``x @ a`` with a constant (dense or sparse) matrix."""

    @abstractmethod
    def total(self, x: Expr) -> Expr:
        """Sum of all entries (a scalar expression)."""

    @abstractmethod
    def hstack(self, xs: Sequence[Expr]) -> Expr:
        """Horizontal concatenation."""

    @abstractmethod
    def vstack(self, xs: Sequence[Expr]) -> Expr:
        """Vertical concatenation."""

    def row_sum(self, x: Expr, n_cols: int) -> Expr:
        """``(T, n) -> (T, 1)`` sum over components."""
        return self.matmul(x, np.ones((n_cols, 1)))

    # -------------------------------------------------------------- solve and read back
    @abstractmethod
    def minimize(self, objective: Expr) -> None:
        """Set the objective."""

    @abstractmethod
    def solve(self, **options: Any) -> SolveInfo:
        """Solve; never raises for solver failure (the status says it)."""

    @abstractmethod
    def value(self, x: Expr) -> np.ndarray:
        """Value of an expression at the solution (2-D array, or float for scalars)."""

    def set_initial(self, values: dict[str, np.ndarray]) -> int:
        """Initial guess by variable name (ignored where the back end has no use for it).

        Returns:
            Number of variables that received a value.
        """
        return 0

    def variable_values(self) -> dict[str, np.ndarray]:
        """Values of all variables by name (for warm starts)."""
        return {name: np.asarray(self.value(rec.expr)) for name, rec in self.vars.items()}

    def _count(self, name: str, n: int) -> None:
        self.constraint_counts[name] = self.constraint_counts.get(name, 0) + int(n)


def _constant_ok(name: str, lhs: Any, rhs: Any, kind: str) -> bool:
    """True if both sides are constants: the constraint is then checked here instead of modelled.

    Raises:
        ConfigError: A constant constraint that does not hold.
    """
    if not (isinstance(lhs, (int, float, np.ndarray)) and isinstance(rhs, (int, float, np.ndarray))):
        return False
    diff = np.asarray(lhs, dtype=float) - np.asarray(rhs, dtype=float)
    ok = np.all(np.abs(diff) <= 1e-9) if kind == "eq" else np.all(diff <= 1e-9)
    if not ok:
        raise ConfigError(f"Constraint {name!r} involves no decision variable and does not hold.")
    return True


def _finite_mask(bound: Any, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    if bound is None:
        return None
    arr = np.broadcast_to(np.asarray(bound, dtype=np.float64), shape)
    mask = np.isfinite(arr)
    if not mask.any():
        return None
    return arr, mask


# ================================================================================= cvxpy


class CvxpyModel(Model):
    """cvxpy back end: vectorised constraints, solved with Clarabel (fallback SCS)."""

    kind = "cvxpy"

    def __init__(self) -> None:
        super().__init__()
        self.cp = import_optional("cvxpy", "opf")
        self.constraints: list[Any] = []
        self.names: list[str] = []
        self.problem: Any = None
        self._objective: Any = None

    def _add(self, name: str, con: Any, n: int) -> None:
        self.constraints.append(con)
        self.names.append(name)
        self._count(name, n)

    def var(self, name: str, shape: tuple[int, int], lb: Any = None, ub: Any = None) -> Expr:
        cp = self.cp
        x = cp.Variable(shape, name=name)
        self.vars[name] = _VarRecord(name, shape, x)
        for bound, is_lb in ((lb, True), (ub, False)):
            fm = _finite_mask(bound, shape)
            if fm is None:
                continue
            arr, mask = fm
            if mask.all():
                self._add(f"{name}_bound", x >= arr if is_lb else x <= arr, arr.size)
            else:
                idx = np.flatnonzero(mask.ravel(order="F"))
                xv, av = cp.vec(x, order="F")[idx], arr.ravel(order="F")[idx]
                self._add(f"{name}_bound", xv >= av if is_lb else xv <= av, idx.size)
        return x

    def _unflatten(self, scatter: sp.csc_matrix, v: Expr, shape: tuple[int, int]) -> Expr:
        return self.cp.reshape(scatter @ self.cp.vec(v, order="F"), shape, order="F")

    def eq(self, name: str, lhs: Expr, rhs: Any) -> None:
        if not _constant_ok(name, lhs, rhs, "eq"):
            self._add(name, lhs == rhs, int(np.prod(lhs.shape)))

    def le(self, name: str, lhs: Expr, rhs: Any) -> None:
        if not _constant_ok(name, lhs, rhs, "le"):
            self._add(name, lhs <= rhs, int(np.prod(lhs.shape)))

    def _vec(self, x: Any) -> Any:
        if isinstance(x, np.ndarray):
            return x.ravel(order="F")
        return self.cp.vec(x, order="F")

    def soc(self, name: str, t: Any, xs: Sequence[Expr]) -> None:
        cp = self.cp
        shape = xs[0].shape
        t_vec = self._vec(np.broadcast_to(t, shape).astype(float) if not isinstance(t, cp.Expression) else t)
        stack = cp.vstack([self._vec(x) for x in xs])
        self._add(name, cp.SOC(t_vec, stack, axis=0), int(np.prod(shape)))

    def rsoc(self, name: str, a: Expr, b: Expr, xs: Sequence[Expr]) -> None:
        cp = self.cp
        a_v, b_v = self._vec(a), self._vec(b)
        stack = cp.vstack([2.0 * self._vec(x) for x in xs] + [a_v - b_v])
        self._add(name, cp.SOC(a_v + b_v, stack, axis=0), int(np.prod(a.shape)))

    def exp_le(self, name: str, x: Expr, z: Expr) -> None:
        self._add(name, self.cp.exp(x) <= z, int(np.prod(x.shape)))

    def pow_le(self, name: str, x: Expr, p: float, z: Expr) -> None:
        if p == 1.0:
            self.le(name, x, z)
            return
        self._add(name, self.cp.power(x, p) <= z, int(np.prod(x.shape)))

    def mul(self, c: Any, x: Expr) -> Expr:
        c = np.asarray(c, dtype=np.float64)
        if c.ndim == 0:
            return float(c) * x
        return self.cp.multiply(np.broadcast_to(c, x.shape), x)

    def matmul(self, x: Expr, a: np.ndarray | sp.spmatrix) -> Expr:
        return x @ (sp.csc_matrix(a) if sp.issparse(a) else np.asarray(a))

    def total(self, x: Expr) -> Expr:
        return float(np.sum(x)) if isinstance(x, np.ndarray) else self.cp.sum(x)

    def hstack(self, xs: Sequence[Expr]) -> Expr:
        return self.cp.hstack(list(xs))

    def vstack(self, xs: Sequence[Expr]) -> Expr:
        return self.cp.vstack(list(xs))

    def minimize(self, objective: Expr) -> None:
        self._objective = objective

    def solve(self, solver: str = "CLARABEL", fallback: tuple[str, ...] = ("CLARABEL-FAER", "SCS"),
              verbose: bool = False, objective_scale: float = OBJECTIVE_SCALE, **options: Any) -> SolveInfo:
        """Compile and solve, treating an inaccurate end explicitly.

        Clarabel's ``AlmostSolved`` (cvxpy's ``optimal_inaccurate``) is kept, with the reached
        accuracy in :attr:`SolveInfo.accuracy`, when the relative gap and both residuals are within
        :data:`INACCURATE_ACCEPT_TOL`; otherwise the problem is solved once more at Clarabel's default
        tolerances, and if that is no better the solve counts as failed and the fallbacks run. Every
        such step is recorded in :attr:`SolveInfo.notes`.

        Args:
            solver: cvxpy solver name (default Clarabel with its QDLDL factorisation).
            fallback: Tried in order when a solve errors out: ``"CLARABEL-FAER"`` (Clarabel with
                its other factorisation) and ``"SCS"`` (first order, low accuracy).
            verbose: Solver log.
            objective_scale: The solver minimises ``objective_scale * objective`` (see
                :data:`OBJECTIVE_SCALE`); reported values are unscaled.
            **options: Passed to the first solver (e.g. Clarabel tolerances).
        """
        cp = self.cp
        self.problem = cp.Problem(cp.Minimize(objective_scale * self._objective), self.constraints)
        self._objective_scale = objective_scale
        info = self._solve_with(solver, verbose, options)
        if info.status == "optimal_inaccurate" and info.accuracy and not info.accuracy_ok:
            # Too far from the tolerances to accept: once more at Clarabel's own (looser) ones.
            first = info
            info = self._solve_with(solver, verbose, {**options, "tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8,
                                                      "iterative_refinement_reltol": 1e-13,
                                                      "iterative_refinement_abstol": 1e-12})
            info.compile_s += first.compile_s
            info.solver_s += first.solver_s
            info.notes.append(f"{first.solver} ended {first.raw_status!r} at {first.accuracy_text()} (more than "
                              f"{INACCURATE_ACCEPT_TOL:g}); re-solved at Clarabel's default tolerances.")
            if info.status == "optimal_inaccurate" and not info.accuracy_ok:
                info.status = "error"
                info.raw_status = f"inaccurate beyond {INACCURATE_ACCEPT_TOL:g} twice ({info.accuracy_text()})"
        notes = list(info.notes)
        for alt in fallback:
            if info.status != "error":
                break
            notes.append(f"{info.solver} ended {info.raw_status!r}; fell back to {alt} (solver options not passed on).")
            info = self._solve_with(alt, verbose, {})
            notes.extend(info.notes)
        info.notes = notes
        return info

    def _solve_with(self, solver: str, verbose: bool, options: dict[str, Any]) -> SolveInfo:
        cp = self.cp
        prob = self.problem
        opts = dict(options)
        if solver.startswith("CLARABEL"):
            opts.setdefault("direct_solve_method", "faer" if solver == "CLARABEL-FAER" else "qdldl")
            for key, value in CLARABEL_DEFAULTS.items():
                opts.setdefault(key, value)
            solver = "CLARABEL"
        t0 = time.perf_counter()
        accuracy: dict[str, float] = {}
        self._compile_s = float("nan")
        try:
            with warnings.catch_warnings():  # 'may be inaccurate': the status says it, the caller decides
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                if solver == "CLARABEL":
                    accuracy = self._solve_clarabel(verbose, opts)
                else:
                    prob.solve(solver=solver, verbose=verbose, **opts)
            raw = str(prob.status)
        except cp.error.SolverError as exc:  # numerical failure inside the solver
            raw = f"solver_error: {exc}"
        wall = time.perf_counter() - t0
        stats = prob.solver_stats
        solver_s = float(stats.solve_time) if stats is not None and stats.solve_time is not None else float("nan")
        compile_s = self._compile_s if solver == "CLARABEL" else float(getattr(prob, "compilation_time", None)
                                                                        or float("nan"))
        if not np.isfinite(solver_s):
            solver_s = wall - (compile_s if np.isfinite(compile_s) else 0.0)
        status = {
            cp.OPTIMAL: "optimal",
            cp.OPTIMAL_INACCURATE: "optimal_inaccurate",
            cp.INFEASIBLE: "infeasible",
            cp.INFEASIBLE_INACCURATE: "infeasible",
            cp.UNBOUNDED: "unbounded",
            cp.UNBOUNDED_INACCURATE: "unbounded",
        }.get(raw, "error")
        iters = int(stats.num_iters) if stats is not None and stats.num_iters is not None else -1
        obj = float(prob.value) / self._objective_scale if status.startswith("optimal") else float("nan")
        name = solver if solver != "CLARABEL" else f"CLARABEL/{opts.get('direct_solve_method')}"
        return SolveInfo(status, raw, obj, compile_s, solver_s, iters, name, accuracy)

    def _solve_clarabel(self, verbose: bool, opts: dict[str, Any]) -> dict[str, float]:
        """Compile, call Clarabel and unpack, keeping what cvxpy drops: the reached accuracy.

        Same steps as ``Problem.solve`` (``get_problem_data`` → the chain's solver →
        ``unpack_results``), so the status mapping and the solution are cvxpy's own.

        Returns:
            ``gap_rel``, ``res_primal`` and ``res_dual`` as Clarabel computes them.
        """
        prob = self.problem
        t0 = time.perf_counter()
        data, chain, inverse = prob.get_problem_data(self.cp.CLARABEL, verbose=verbose)
        self._compile_s = time.perf_counter() - t0
        inverse[-1].solver_options = dict(opts)  # cvxpy's Clarabel inversion reads the options
        raw = chain.solver.solve_via_data(data, False, verbose, dict(opts))
        prob.unpack_results(raw, chain, inverse)
        p, d = float(raw.obj_val), float(raw.obj_val_dual)
        gap = abs(p - d) / max(1.0, min(abs(p), abs(d))) if np.isfinite(p) and np.isfinite(d) else float("inf")
        return {"gap_rel": gap, "res_primal": float(raw.r_prim), "res_dual": float(raw.r_dual)}

    def value(self, x: Expr) -> np.ndarray:
        if isinstance(x, (int, float, np.ndarray)):
            return np.asarray(x, dtype=float)
        val = x.value
        if val is None:
            raise ConfigError("No solution value available (the problem was not solved to optimality).")
        return np.asarray(val, dtype=float)


def make_model(kind: str) -> Model:
    """A new empty model of back end ``kind`` (``"cvxpy"`` or ``"casadi"``)."""
    if kind == "cvxpy":
        return CvxpyModel()
    if kind == "casadi":
        from thermogrid_env.opf.backend_casadi import CasadiModel  # noqa: PLC0415

        return CasadiModel()
    raise ConfigError(f"Unknown modelling back end {kind!r}; use 'cvxpy' or 'casadi'.")


__all__ = ["CLARABEL_DEFAULTS", "CvxpyModel", "Expr", "INACCURATE_ACCEPT_TOL", "Model", "OBJECTIVE_SCALE", "SolveInfo",
           "make_model"]
