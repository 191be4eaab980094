"""The problem builder and the public entry :func:`solve_opf`.

The problem spec below never names a formulation (PowerModels style): device blocks, bus
injections, the formulation's network variables and constraints in a fixed order, the optional
transformer aging epigraph, the objective terms. A plain (non-DPP) cvxpy problem is rebuilt for
every solve: measured with cvxpy 1.9 on 96-period feeder OPFs, the rebuild compiles in tens of
milliseconds while a parametrised (DPP) compile took seconds to minutes (DESIGN.md), so there is
nothing to gain from Parameters for a one-shot oracle solve.

Where the time goes (``Timings``; 96 x 15 min on the 44-bus default feeder with all 32 households
equipped with heat pump, EV and PV, on the 2-core development machine): model construction
0.01 s, cvxpy compilation 0.13-0.16 s, Clarabel 2.7-2.8 s, read-back and diagnostics (relaxation
gap, AC re-check, aging check) 0.005 s. The solver time is ~30-36 interior-point iterations of
~75-90 ms, each one LDLᵀ factorisation of the 121k-133k KKT system (0.85-1.0 M nonzeros in L,
0.07-0.12 GFlop in QDLDL) plus its refined triangular solves. Its cost is structural: every
period's network couples the heat pumps of all houses, and each house's two thermal states couple
consecutive periods, so every elimination front holds about two variables per house (with the
heat pumps' grid coupling removed, the same KKT system factorises in 1.7 MFlop instead of 117). It
grows with the number of equipped houses and not with the network formulation (lindistflow,
without cones, is no faster). Rows that span many periods join every front they cross: the EV
energy limits are therefore one row per EV (:func:`~thermogrid_env.opf.devices.ev_chargers`),
which cut the winter-high-der oracle's factorisation from 0.19 to 0.12 GFlop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from thermogrid_env.errors import ConfigError, OptimizationFailed
from thermogrid_env.opf.backend import INACCURATE_ACCEPT_TOL, Expr, Model, make_model
from thermogrid_env.opf.data import OPFData
from thermogrid_env.opf.devices import DeviceBlock, bus_injections, device_blocks, meter_loads, transformer_aging
from thermogrid_env.opf.formulations import Formulation, NetworkState, get_formulation
from thermogrid_env.opf.network import DEFAULT_S_BASE_KVA, NetworkData, network_data
from thermogrid_env.opf.objective import TERMS, TermContext, build_objective, weighted_sum
from thermogrid_env.opf.solution import OPFSolution, Timings, extract_solution

EXACTNESS_POLICIES = ("auto", "loss-penalty", "ac-nlp-polish", "report", "off")
"""What :func:`solve_opf` does about an inexact relaxation (see :mod:`thermogrid_env.opf.exactness`)."""


@dataclass
class OPFProblem:
    """A built (not yet solved) OPF.

    Attributes:
        data: Input data.
        net: Per-unit network on the OPF base.
        formulation: The formulation instance.
        model: The back-end model holding variables and constraints.
        state: Network expressions.
        blocks: Device blocks by kind.
        aging: Transformer aging expressions, or ``None``.
        terms: Raw objective terms by name (the cost model's units).
        term_weights: Weight of each term (the reward's; 1 for ``loss_tightening``).
        build_s: Construction time [s].
        extra_loss_eur_per_kwh: ``(T,)`` extra loss price of the recovery, or ``None``.
    """

    data: OPFData
    net: NetworkData
    formulation: Formulation
    model: Model
    state: NetworkState
    blocks: dict[str, DeviceBlock]
    aging: dict[str, Expr] | None
    terms: dict[str, Expr]
    term_weights: dict[str, float]
    build_s: float
    extra_loss_eur_per_kwh: np.ndarray | None = None


def build_problem(
    data: OPFData,
    formulation: str | Formulation = "distflow-socp",
    *,
    s_base_kva: float = DEFAULT_S_BASE_KVA,
    include_shunts: bool = True,
    terms: tuple[str, ...] | None = None,
    extra_loss_eur_per_kwh: np.ndarray | None = None,
) -> OPFProblem:
    """Build the multi-period OPF for one formulation.

    Args:
        data: Input data.
        formulation: Registered key or a :class:`Formulation` instance.
        s_base_kva: OPF power base [kVA] (numerics only; results are in engineering units).
        include_shunts: Model the feeder's shunts (see :func:`~thermogrid_env.opf.network.network_data`).
        terms: Cost terms to include (default: all of the cost model, :data:`~thermogrid_env.sim.costs.TERM_NAMES`).
        extra_loss_eur_per_kwh: ``(T,)`` extra loss price per period (used by the recovery).

    Returns:
        The built :class:`OPFProblem`.

    Raises:
        ConfigError: Unknown formulation or term.
    """
    t0 = time.perf_counter()
    form = get_formulation(formulation)
    if terms is not None:
        unknown = sorted(set(terms) - set(TERMS))
        if unknown:
            raise ConfigError(f"Unknown objective term(s) {unknown}; choose from {sorted(TERMS)}.")
    net = network_data(data.feeder, s_base_kva, v_min_pu=data.v_min_pu, v_max_pu=data.v_max_pu,
                       include_shunts=include_shunts, hard_limits=data.hard_limits)
    m = make_model(form.backend)
    blocks = {b.kind: b for b in device_blocks(m, data)}
    p_inj, q_inj = bus_injections(m, data, net, list(blocks.values()))
    st = form.variable_bus_voltage(m, net, data.n_periods)
    form.variable_branch_flow(m, net, st)
    form.variable_branch_current(m, net, st)
    form.constraint_power_balance(m, net, st, p_inj, q_inj)
    form.constraint_voltage_drop(m, net, st)
    form.constraint_branch_current(m, net, st)
    if data.hard_limits:
        form.constraint_thermal_limits(m, net, st)
    aging = None
    wants_aging = terms is None or "aging" in terms
    if data.transformer is not None and data.weights.aging > 0 and wants_aging:
        k = net.trafo
        aging = transformer_aging(m, data, net, st.p_send[:, k:k + 1], st.q_send[:, k:k + 1])
    extra = None if extra_loss_eur_per_kwh is None else np.asarray(extra_loss_eur_per_kwh, dtype=float)
    meter_p, can_export, fixed = meter_loads(m, data, list(blocks.values()))
    ctx = TermContext(data, net, st, blocks, aging, p_inj, meter_p, can_export, fixed, extra)
    raw, weights = build_objective(m, ctx, terms)
    m.minimize(weighted_sum(raw, weights) if raw else 0.0 * m.total(st.w[:, 1:]))
    return OPFProblem(data, net, form, m, st, blocks, aging, raw, weights, time.perf_counter() - t0, extra)


def _initial_guess(prob: OPFProblem) -> dict[str, np.ndarray]:
    """Network variables from an AC power flow of the base load (NLP start without warm start)."""
    from thermogrid_env.physics.powerflow import solve as pf_solve  # noqa: PLC0415

    d = prob.data
    pf = pf_solve(d.feeder, d.base_p_kw, d.base_q_kvar)
    return prob.formulation.guess_from_powerflow(prob.net, pf.v_complex_pu)


def solve_problem(prob: OPFProblem, *, warm_start: OPFSolution | dict[str, np.ndarray] | None = None,
                  solver_options: dict[str, Any] | None = None, verbose: bool = False) -> OPFSolution:
    """Solve a built problem and read the solution back (no diagnostics).

    Raises:
        OptimizationFailed: Infeasible, unbounded or solver failure (the message says which and
            suggests a cause).
    """
    opts = {**prob.formulation.solver_defaults, **(solver_options or {})}
    if prob.model.kind == "casadi":
        start = warm_start.variables if isinstance(warm_start, OPFSolution) else warm_start
        prob.model.set_initial(start if start else _initial_guess(prob))
    info = prob.model.solve(verbose=verbose, **opts)
    if not info.status.startswith("optimal"):
        raise OptimizationFailed(_failure_message(prob, info.status, info.raw_status))
    t0 = time.perf_counter()
    sol = extract_solution(prob, info)
    sol.timings = Timings(build_s=prob.build_s, compile_s=info.compile_s, solver_s=info.solver_s,
                          extract_s=time.perf_counter() - t0)
    sol.notes.extend(info.notes)
    if info.status == "optimal_inaccurate":
        reached = f" at {info.accuracy_text()}" if info.accuracy else ""
        accepted = (f"; accepted, all within {INACCURATE_ACCEPT_TOL:g}" if info.accuracy_ok else "")
        sol.notes.append(f"{info.solver} ended 'optimal_inaccurate'{reached}: tolerances not fully met{accepted}; "
                         "the exactness diagnostics say whether the dispatch is usable.")
    return sol


def _failure_message(prob: OPFProblem, status: str, raw: str) -> str:
    from thermogrid_env.physics.powerflow import solve as pf_solve  # noqa: PLC0415

    d = prob.data
    msg = f"OPF ({prob.formulation.key}) failed: solver status {raw!r}."
    if status == "infeasible":
        hints = []
        try:
            pf = pf_solve(d.feeder, d.base_p_kw, d.base_q_kvar)
            if np.any(pf.v_pu[:, 1:] > d.v_max_pu[None, 1:]) or np.any(pf.v_pu[:, 1:] < d.v_min_pu[None, 1:]):
                hints.append("the base load alone violates the voltage limits")
            if np.any(pf.loading > 1.0):
                hints.append("the base load alone overloads a branch")
        except Exception:  # noqa: BLE001 - only for the hint
            hints.append("the base load alone makes the power flow diverge")
        msg += (" The hard network limits (voltage band, ampacity, transformer rating) cannot be met"
                + (f": {'; '.join(hints)}" if hints else "; relax v_min_pu/v_max_pu or check the limits") + ". "
                "Comfort and EV requirements are soft and cannot cause infeasibility.")
    elif status == "unbounded":
        msg += " Check that prices and weights are finite and the export price does not exceed the import price."
    else:
        msg += " Try another formulation or solver_options (e.g. tighter scaling via s_base_kva)."
    return msg


def solve_opf(
    data: OPFData,
    formulation: str | Formulation = "distflow-socp",
    *,
    exactness: str = "auto",
    s_base_kva: float = DEFAULT_S_BASE_KVA,
    include_shunts: bool = True,
    terms: tuple[str, ...] | None = None,
    warm_start: OPFSolution | None = None,
    solver_options: dict[str, Any] | None = None,
    gap_rel_tol: float = 1e-5,
    v_tol_pu: float = 1e-4,
    nlp_start: str = "socp",
    verbose: bool = False,
) -> OPFSolution:
    """Solve the multi-period OPF, check it against the exact AC power flow and repair it if needed.

    Args:
        data: Input data (:class:`~thermogrid_env.opf.data.OPFData`).
        formulation: ``"distflow-socp"`` (default), ``"bim-socp"``, ``"lindistflow"``, ``"ac-nlp"``
            or any registered key.
        exactness: ``"auto"`` (diagnose; if the AC re-check of the dispatch violates limits or,
            for a relaxation, disagrees with the optimizer, first re-solve with a loss price in the
            offending periods, then polish with ``"ac-nlp"`` warm-started from the best dispatch
            when the certified optimality gap exceeds 1 %), ``"loss-penalty"`` or
            ``"ac-nlp-polish"`` (only that remedy), ``"report"`` (diagnose only) or ``"off"``
            (no diagnostics: fastest).
        s_base_kva: OPF power base [kVA].
        include_shunts: Model the feeder's shunts.
        terms: Objective terms (default all).
        warm_start: A previous solution (used by ``"ac-nlp"``).
        nlp_start: Start of ``"ac-nlp"`` without ``warm_start``: ``"socp"`` (default: solve
            ``"distflow-socp"`` first; its time is ``timings.warm_start_s``) or ``"powerflow"`` (an AC
            power flow of the base load; IPOPT needed ~8x more iterations from there).
        solver_options: Passed to the solver (Clarabel via cvxpy, or IPOPT).
        gap_rel_tol: Relative relaxation gap below which a relaxation counts as exact.
        v_tol_pu: Largest tolerated AC voltage error / limit violation [pu].
        verbose: Solver logs.

    Returns:
        :class:`~thermogrid_env.opf.solution.OPFSolution` with ``diagnostics`` and ``timings``.

    Raises:
        ConfigError: Unknown formulation, term or policy.
        OptimizationFailed: The problem is infeasible or the solver failed.
    """
    from thermogrid_env.opf import exactness as ex  # noqa: PLC0415

    if nlp_start not in ("socp", "powerflow"):
        raise ConfigError(f"nlp_start must be 'socp' or 'powerflow', got {nlp_start!r}.")
    if exactness not in EXACTNESS_POLICIES:
        raise ConfigError(f"exactness must be one of {EXACTNESS_POLICIES}, got {exactness!r}.")
    t0 = time.perf_counter()
    build_kw = dict(s_base_kva=s_base_kva, include_shunts=include_shunts, terms=terms)
    form = get_formulation(formulation)
    warm_s = 0.0
    if form.backend == "casadi" and warm_start is None and nlp_start == "socp":
        warm = solve_opf(data, "distflow-socp", exactness="off", **build_kw)
        warm_start, warm_s = warm, warm.timings.total_s
    prob = build_problem(data, form, **build_kw)
    sol = solve_problem(prob, warm_start=warm_start, solver_options=solver_options, verbose=verbose)
    sol.timings.warm_start_s = warm_s
    if exactness != "off":
        t1 = time.perf_counter()
        sol.diagnostics = ex.diagnose(sol, prob, gap_rel_tol=gap_rel_tol, v_tol_pu=v_tol_pu)
        sol.timings.check_s = time.perf_counter() - t1
        if form.relaxation:
            sol.lower_bound_eur = sol.objective_eur  # a relaxation's optimum bounds the AC optimum
        # An approximation (lindistflow) is expected to mispredict the AC state a little: repair
        # it only when its dispatch violates AC limits; relaxations also when they are inconsistent.
        needs_repair = not (sol.diagnostics.ac_ok if form.relaxation or form.exact else sol.diagnostics.ac.feasible)
        if exactness != "report" and needs_repair:
            sol = ex.recover(sol, prob, policy=exactness, build_kw=build_kw, gap_rel_tol=gap_rel_tol,
                             v_tol_pu=v_tol_pu, solver_options=solver_options, verbose=verbose)
    sol.timings.total_s = time.perf_counter() - t0
    return sol


__all__ = ["EXACTNESS_POLICIES", "OPFProblem", "build_problem", "solve_opf", "solve_problem"]
