"""Exactness diagnostics of a dispatch and the recovery of an AC-feasible one.

:func:`diagnose` returns, for every solve:

* the relaxation gap ``l - (p² + q²) / w_int`` per period and branch, absolute [pu²] and relative
  (to ``l``, floored at 1 % of the branch limit), and per period as the fictitious share of the
  losses ``Σ r |gap| / Σ r l``;
* an AC re-check: the dispatch (bus loads from the device set-points) run through the exact power
  flow :func:`~thermogrid_env.physics.powerflow.solve`, with the largest voltage, loss and loading
  differences to what the optimizer believed and the limit violations of the AC state;
* where the usual sufficient conditions for exactness fail: the objective not increasing in losses
  (a non-positive marginal price of losses), or the upper voltage limit binding (these conditions
  after Gan, Li, Topcu & Low 2015), with reverse flow flagged too — and whether the relaxation was
  exact nevertheless;
* the transformer aging of the optimizer against the simulator's IEC 60076-7 model driven by the
  AC loading (the surrogate's quality).

:func:`recover` turns an inexact relaxation into an AC-feasible dispatch. Known failure: with
strong PV, a binding upper voltage limit and curtailment dearer than energy, the relaxed optimum
"burns" surplus PV as fictitious losses (``l`` far above ``(p² + q²)/w``) — the optimizer claims
1.10 pu where the AC flow of its dispatch gives more. Remedies, in the order ``"auto"`` tries them:

1. ``"loss-penalty"``: re-solve with an extra loss price in the offending periods (doubling up to
   three times). A price above the value of burning energy makes fictitious losses unprofitable,
   so the cone becomes tight; the dispatch then curtails or shifts load instead.
2. ``"ac-nlp-polish"``: solve the exact AC NLP (IPOPT) warm-started from the last dispatch (its AC
   power-flow state), which is AC-feasible by construction.

The first relaxation's objective stays a valid lower bound on the AC optimum
(``OPFSolution.lower_bound_eur``), so the recovered dispatch comes with an optimality-gap bound.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from thermogrid_env.errors import OptimizationFailed, PowerFlowDiverged
from thermogrid_env.network.limits import l_max_pu
from thermogrid_env.physics.powerflow import solve as pf_solve
from thermogrid_env.sim import costs

if TYPE_CHECKING:  # pragma: no cover
    from thermogrid_env.opf.problem import OPFProblem
    from thermogrid_env.opf.solution import OPFSolution

_L_FLOOR_SHARE = 1e-4  # element-wise relative gap: currents below 1 % of the limit count as 1 %
_ELEMENT_GAP_TOL = 1e-2  # ... and no branch may carry more than 1 % fictitious current² on top
# Both tolerances sit an order of magnitude above the solver's noise: Clarabel's duality-gap tolerance
# (1e-9 relative) leaves each cone a slack of about mu / (price of losses); with losses priced at the
# reward's 0.3 EUR/kWh that was up to ~2.5e-6 of a period's losses and 1.5e-3 of the current² of
# near-idle branches on the 96-period default-feeder days (the AC re-check then agrees to ~1e-7 kW).
DEFAULT_GAP_REL_TOL = 1e-5
_AC_LOSS_TOL = 1e-3  # formulations whose l is noise: optimizer losses within 0.1 % of the AC losses
_BIND_TOL_PU = 1e-5


@dataclass
class ACCheck:
    """The dispatch run through the exact AC power flow.

    Attributes:
        v_pu: ``(T, n_bus)`` AC voltages.
        v_complex_pu: ``(T, n_bus)`` complex AC voltages.
        p_loss_kw: ``(T,)`` AC losses (series and shunt).
        loading: ``(T, n_branch)`` AC loading (as the simulator computes it).
        s_transformer_kva: ``(T,)`` transformer apparent power.
        p_slack_kw: ``(T,)`` AC draw from the upstream grid.
        v_error_pu: ``max |v_opt - v_ac|``.
        loss_error_kw: ``max_t |loss_opt - loss_ac|``.
        loading_error: ``max |loading_opt - loading_ac|`` over limited branches.
        v_over_pu, v_under_pu: Largest AC voltage above ``v_max`` / below ``v_min`` (``<= 0``: none).
        overload: Largest AC loading above 1 (``<= 0``: none).
        objective_eur: The objective with the grid terms (losses, voltage, overload) measured on
            the AC state by the cost model.
        feasible: No hard AC limit violated by more than the tolerance (always true when the
            limits are priced, ``network_limits="penalty"``: violations are costs then).
    """

    v_pu: np.ndarray
    v_complex_pu: np.ndarray
    p_loss_kw: np.ndarray
    loading: np.ndarray
    s_transformer_kva: np.ndarray
    p_slack_kw: np.ndarray
    v_error_pu: float
    loss_error_kw: float
    loading_error: float
    v_over_pu: float
    v_under_pu: float
    overload: float
    objective_eur: float
    feasible: bool


@dataclass
class AgingCheck:
    """Optimizer's transformer aging against the simulator's model on the AC loading.

    Attributes:
        loss_of_life_opt_h: From the OPF's epigraph [h].
        loss_of_life_sim_h: IEC 60076-7 difference equations (the simulator) [h].
        hot_spot_opt_c, hot_spot_sim_c: ``(T,)`` hot spot at the end of each period [°C].
        max_hot_spot_error_k: ``max |opt - sim|`` [K].
        rel_error: ``loss_of_life_opt / loss_of_life_sim - 1``.
    """

    loss_of_life_opt_h: float
    loss_of_life_sim_h: float
    hot_spot_opt_c: np.ndarray
    hot_spot_sim_c: np.ndarray
    max_hot_spot_error_k: float
    rel_error: float


@dataclass
class ExactnessReport:
    """Exactness of one solve (see the module docstring).

    Attributes:
        formulation: Formulation key.
        relaxation: Whether the formulation is a relaxation.
        gap_abs_pu: ``(T, n_branch)`` relaxation gap ``|l - (p² + q²)/w_int|`` [pu² on the OPF base].
        gap_rel: ``(T, n_branch)`` gap relative to ``l``, with currents below 1 % of the branch
            limit counted as 1 % (a relative error of a near-zero current means nothing).
        max_gap_abs_pu, max_gap_rel: Their maxima.
        loss_gap_rel: ``(T,)`` fictitious share of the losses, ``Σ r |gap| / Σ r l`` per period:
            the relative relaxation gap that matters physically (energy burnt by the relaxation).
        exact: ``loss_gap_rel <= gap_rel_tol`` in every period and ``gap_rel <= 1e-3`` everywhere
            (always true for non-relaxations).
        reverse_flow: ``(T,)`` some branch carries power towards the slack.
        upper_voltage_binding: ``(T,)`` some voltage at its upper limit.
        loss_price_positive: ``(T,)`` the objective increases with losses in that period.
        condition_holds: ``(T,)`` the sufficient condition holds (loss price positive and no upper
            voltage limit binding).
        ac: :class:`ACCheck`.
        aging: :class:`AgingCheck` or ``None`` (no transformer data).
        gap_rel_tol, v_tol_pu: Tolerances used.
    """

    formulation: str
    relaxation: bool
    gap_abs_pu: np.ndarray
    gap_rel: np.ndarray
    max_gap_abs_pu: float
    max_gap_rel: float
    exact: bool
    reverse_flow: np.ndarray
    upper_voltage_binding: np.ndarray
    loss_price_positive: np.ndarray
    condition_holds: np.ndarray
    ac: ACCheck
    aging: AgingCheck | None
    gap_rel_tol: float
    v_tol_pu: float
    loss_gap_rel: np.ndarray | None = None

    @property
    def inexact_periods(self) -> np.ndarray:
        """Indices of periods whose relative gap exceeds the tolerance."""
        return np.flatnonzero(self._period_inexact())

    def _period_inexact(self) -> np.ndarray:
        share = np.zeros(self.gap_rel.shape[0]) if self.loss_gap_rel is None else self.loss_gap_rel
        return (share > self.gap_rel_tol) | (self.gap_rel.max(axis=1, initial=0.0) > _ELEMENT_GAP_TOL)

    @property
    def ac_consistent(self) -> bool:
        """The optimizer's voltages and losses match the AC power flow of its dispatch
        (``|dv| <= v_tol_pu``, losses within 0.1 % of the largest period's AC losses)."""
        scale = max(float(np.max(np.abs(self.ac.p_loss_kw))), 1e-6)
        return bool(self.ac.v_error_pu <= self.v_tol_pu and self.ac.loss_error_kw <= _AC_LOSS_TOL * scale)

    @property
    def ac_ok(self) -> bool:
        """The dispatch can be handed over: AC-feasible and AC-consistent (see :attr:`ac_consistent`).

        Deliberately not tied to :attr:`exact`, whose tolerance is stricter than the physics needs:
        a relaxation with 1e-5 of its losses fictitious still predicts the AC state to ~1e-8 pu.
        """
        return bool(self.ac.feasible and self.ac_consistent)

    @property
    def exact_despite_condition_violated(self) -> bool:
        """The sufficient condition failed somewhere, yet the relaxation was exact."""
        return bool(self.exact and not self.condition_holds.all())

    def summary(self) -> str:
        """One paragraph."""
        n_bad = int((~self.condition_holds).sum())
        a = self.ac
        share = 0.0 if self.loss_gap_rel is None else float(self.loss_gap_rel.max(initial=0.0))
        s = (f"relaxation gap max {self.max_gap_abs_pu:.2e} pu² (rel {self.max_gap_rel:.2e}, loss share "
             f"{share:.2e}) -> "
             f"{'exact' if self.exact else 'NOT exact in %d periods' % self.inexact_periods.size}; "
             f"sufficient condition violated in {n_bad} periods "
             f"(upper-V binding {int(self.upper_voltage_binding.sum())}, "
             f"reverse flow {int(self.reverse_flow.sum())}); AC re-check: |dv| {a.v_error_pu:.2e} pu, "
             f"|dloss| {a.loss_error_kw:.2e} kW, |dloading| {a.loading_error:.2e}, v over {a.v_over_pu:+.2e} pu, "
             f"under {a.v_under_pu:+.2e} pu, overload {a.overload:+.2e} -> "
             f"{'feasible' if a.feasible else 'INFEASIBLE'}")
        if self.aging is not None:
            g = self.aging
            s += (f"; aging opt {g.loss_of_life_opt_h:.4f} h vs simulator {g.loss_of_life_sim_h:.4f} h "
                  f"({100 * g.rel_error:+.1f} %), hot spot max err {g.max_hot_spot_error_k:.2f} K")
        return s


def cost_context(prob: "OPFProblem") -> costs.CostContext:
    """The cost model's context of an OPF (its bands and limits, on the feeder's own base)."""
    d = prob.data
    return costs.CostContext(dt_h=d.dt_h, v_min_pu=d.v_min_pu[1:], v_max_pu=d.v_max_pu[1:],
                             t_min_c=d.houses.t_min_c, t_max_c=d.houses.t_max_c,
                             lv_buses=np.arange(1, d.feeder.n_bus), l_max_pu=l_max_pu(d.feeder), weights=d.weights)


def measured_terms(sol: "OPFSolution", prob: "OPFProblem", pf: Any, loss_of_life_h: float | None) -> dict[str, float]:
    """The cost model's terms of a dispatch as the simulator measures them, summed over the window.

    The device set-points and states are the solution's; the grid quantities (losses, voltages,
    currents) come from the exact AC power flow ``pf`` of its dispatch, the transformer's loss of
    life from the simulator's model on that power flow (``loss_of_life_h``; ``None``: the OPF's).
    """
    d = prob.data
    lol = sol.transformer_loss_of_life_h if loss_of_life_h is None else loss_of_life_h
    step = SimpleNamespace(
        meter_p_kw=sol.meter_p_kw, price_eur_per_kwh=d.price_import_eur_per_kwh,
        feed_in_eur_per_kwh=d.price_export_eur_per_kwh, p_loss_kw=pf.p_loss_kw, t_indoor_c=sol.t_indoor_c[1:],
        ev_unmet_kwh=float(np.sum(sol.ev_shortfall_kwh)), pv_available_kw=sol.pv_p_kw + sol.pv_curtailment_kw,
        pv_p_kw=sol.pv_p_kw, loss_of_life_h=0.0 if lol is None else lol, v_pu=pf.v_pu, l_pu=pf.l_pu,
    )
    ctx = cost_context(prob)
    return {t.name: float(np.sum(t.measure(step, ctx))) for t in costs.TERMS}


def ac_check(sol: "OPFSolution", prob: "OPFProblem", v_tol_pu: float = 1e-4) -> ACCheck:
    """Run the dispatch of ``sol`` through the exact AC power flow and compare."""
    data, net = prob.data, prob.net
    f = data.feeder
    try:
        pf = pf_solve(f, sol.bus_p_kw, sol.bus_q_kvar)
    except PowerFlowDiverged as exc:
        raise OptimizationFailed(f"AC re-check: the dispatch of {sol.formulation} makes the power flow diverge "
                                 f"(periods {list(exc.batch_indices)[:10]}).") from exc
    v = pf.v_pu
    limited = np.isfinite(net.l_max)
    both = limited & np.isfinite(sol.loading).all(axis=0)
    load_err = np.abs(sol.loading[:, both] - pf.loading[:, both])
    over = float(np.max(v[:, 1:] - data.v_max_pu[None, 1:]))
    under = float(np.max(data.v_min_pu[None, 1:] - v[:, 1:]))
    overload = float(np.max(pf.loading[:, limited] - 1.0)) if limited.any() else -1.0
    # the objective with the grid terms measured on the AC state (the others are the dispatch's own)
    ac_raw = measured_terms(sol, prob, pf, None)
    obj = sol.objective_eur + sum(prob.term_weights[n] * (ac_raw[n] - sol.terms_raw[n])
                                  for n in ("losses", "voltage", "overload") if n in sol.terms_raw)
    feasible = (not data.hard_limits) or bool(over <= v_tol_pu and under <= v_tol_pu and overload <= 1e-3)
    return ACCheck(
        v_pu=v, v_complex_pu=pf.v_complex_pu, p_loss_kw=pf.p_loss_kw, loading=pf.loading,
        s_transformer_kva=pf.s_transformer_kva if f.is_transformer.any() else np.zeros(len(v)),
        p_slack_kw=pf.p_slack_kw, v_error_pu=float(np.max(np.abs(sol.v_pu - v))),
        loss_error_kw=float(np.max(np.abs(sol.p_loss_kw - pf.p_loss_kw))),
        loading_error=float(load_err.max(initial=0.0)),
        v_over_pu=over, v_under_pu=under, overload=overload, objective_eur=float(obj), feasible=feasible,
    )


def aging_check(sol: "OPFSolution", prob: "OPFProblem", ac: ACCheck) -> AgingCheck | None:
    """Simulator aging (IEC 60076-7 difference equations) on the AC loading vs the optimizer's."""
    from thermogrid_env.opf.devices import _initial_thermal_state  # noqa: PLC0415
    from thermogrid_env.physics import transformer as tm  # noqa: PLC0415

    data = prob.data
    if data.transformer is None or sol.transformer_hot_spot_c is None:
        return None
    prm = data.transformer.params
    k = ac.loading[:, data.feeder.transformer_branch]  # the simulator's load factor (rated current)
    o0, h0 = _initial_thermal_state(data, tm.initial_state)
    tr = data.transformer
    state0 = tm.TransformerThermalState(
        np.asarray(o0 if tr.theta_oil0_c is None else tr.theta_oil0_c, float),
        np.asarray(h0 if tr.d_theta_h1_0_k is None else tr.d_theta_h1_0_k, float), np.asarray(0.0))
    sim = tm.simulate(prm, k, data.t_ambient_c, data.dt_s, state0)
    lol_sim = float(sim.loss_of_life_h[-1])
    lol_opt = float(sol.transformer_loss_of_life_h)
    return AgingCheck(lol_opt, lol_sim, sol.transformer_hot_spot_c, sim.hot_spot_c,
                      float(np.max(np.abs(sol.transformer_hot_spot_c - sim.hot_spot_c))),
                      lol_opt / lol_sim - 1.0 if lol_sim > 0 else float("nan"))


def diagnose(sol: "OPFSolution", prob: "OPFProblem", *, gap_rel_tol: float = DEFAULT_GAP_REL_TOL,
             v_tol_pu: float = 1e-4) -> ExactnessReport:
    """Relaxation gap, sufficient conditions, AC re-check and aging check of a solved problem."""
    data, net = prob.data, prob.net
    s = net.s_base_kva
    p, q = sol.p_series_kw / s, sol.q_series_kvar / s
    w = sol.v_pu**2
    w_int = w @ net.w_to_int.toarray()
    if prob.state.l is not None:
        gap = sol.l_pu - (p**2 + q**2) / w_int
        l_ref = np.where(np.isfinite(net.l_max), net.l_max, net.s_rated_pu**2 if net.trafo >= 0 else 1.0)
        gap_rel = np.abs(gap) / np.maximum(sol.l_pu, _L_FLOOR_SHARE * l_ref[None, :])
        loss_share = (np.abs(gap) * net.r[None, :]).sum(axis=1) / np.maximum(
            (np.maximum(sol.l_pu, 0.0) * net.r[None, :]).sum(axis=1), 1e-12)
    else:
        gap = np.zeros_like(p)
        gap_rel = np.zeros_like(p)
        loss_share = np.zeros(p.shape[0])
    gap_abs = np.abs(gap)
    relax = prob.formulation.relaxation
    ac = ac_check(sol, prob, v_tol_pu)
    if relax and not prob.formulation.gap_measurable:
        # Judge by the losses: an exact relaxation's losses are the AC losses of its dispatch.
        floor = max(0.1 * float(np.max(np.abs(ac.p_loss_kw))), 1e-6)
        loss_share = np.abs(sol.p_loss_kw - ac.p_loss_kw) / np.maximum(np.abs(ac.p_loss_kw), floor)
        gap_rel = np.zeros_like(gap_rel)
        exact = bool(loss_share.max(initial=0.0) <= _AC_LOSS_TOL)
    else:
        exact = (not relax) or bool(loss_share.max(initial=0.0) <= gap_rel_tol
                                     and gap_rel.max(initial=0.0) <= _ELEMENT_GAP_TOL)
    reverse = (p < -_BIND_TOL_PU).any(axis=1)
    upper = (w[:, 1:] >= net.w_max[None, 1:] - 2 * _BIND_TOL_PU).any(axis=1)
    # losses are priced by the ``losses`` term (meters pay for their own energy, not the feeder's losses)
    extra = 0.0 if prob.extra_loss_eur_per_kwh is None else prob.extra_loss_eur_per_kwh
    loss_price = np.broadcast_to(data.weights.losses + extra, (data.n_periods,))
    return ExactnessReport(
        formulation=sol.formulation, relaxation=relax, gap_abs_pu=gap_abs, gap_rel=gap_rel,
        max_gap_abs_pu=float(gap_abs.max(initial=0.0)), max_gap_rel=float(gap_rel.max(initial=0.0)), exact=exact,
        reverse_flow=reverse, upper_voltage_binding=upper, loss_price_positive=loss_price > 0,
        condition_holds=(loss_price > 0) & ~upper, ac=ac, aging=aging_check(sol, prob, ac),
        gap_rel_tol=gap_rel_tol, v_tol_pu=v_tol_pu, loss_gap_rel=loss_share,
    )


def recover(sol: "OPFSolution", prob: "OPFProblem", *, policy: str, build_kw: dict[str, Any],
            gap_rel_tol: float, v_tol_pu: float, solver_options: dict[str, Any] | None = None,
            verbose: bool = False, max_rounds: int = 3, polish_gap_rel: float = 0.01) -> "OPFSolution":
    """Turn an inexact/AC-infeasible dispatch into an AC-feasible one (module docstring).

    ``"auto"``: loss-penalty rounds until the dispatch is AC-feasible and AC-consistent; then, if
    the certified optimality gap (AC objective vs the first relaxation's lower bound) exceeds
    ``polish_gap_rel``, an ``"ac-nlp"`` polish from the best AC-feasible dispatch, kept if it is
    AC-feasible and cheaper.

    Returns:
        The recovered solution (``recovery`` says how; ``lower_bound_eur`` is the first
        relaxation's objective); if every remedy fails, the best attempt with
        ``recovery="failed"`` and a warning.
    """
    from thermogrid_env.opf.problem import build_problem, solve_problem  # noqa: PLC0415

    t0 = time.perf_counter()
    data = prob.data
    first = sol
    lower = sol.objective_eur if prob.formulation.relaxation else None
    notes = [f"first solve ({sol.formulation}): {sol.diagnostics.summary()}"]
    best: "OPFSolution | None" = None  # best AC-feasible and AC-consistent dispatch so far
    last = sol
    if policy in ("auto", "loss-penalty") and prob.formulation.relaxation:
        w = data.weights
        lam = 2.0 * (w.curtailment + w.cost * float(np.max(np.abs(data.price_import_eur_per_kwh))) + w.losses) + 0.1
        extra = np.zeros(data.n_periods)
        bad = _periods_to_tighten(sol.diagnostics, data)
        for rnd in range(max_rounds):
            extra[bad] = np.maximum(extra[bad], lam * 2.0**rnd)
            p2 = build_problem(data, prob.formulation, extra_loss_eur_per_kwh=extra, **build_kw)
            s2 = solve_problem(p2, solver_options=solver_options, verbose=verbose)
            s2.diagnostics = diagnose(s2, p2, gap_rel_tol=gap_rel_tol, v_tol_pu=v_tol_pu)
            notes.append(f"loss-penalty round {rnd + 1}: extra loss price up to {extra.max():.3g} EUR/kWh in "
                         f"{int((extra > 0).sum())} periods -> {s2.diagnostics.summary()}")
            last = s2
            if s2.diagnostics.ac_ok:
                best = s2
                best.recovery = "loss-penalty"
                break
            bad = bad | _periods_to_tighten(s2.diagnostics, data)
    polish = policy == "ac-nlp-polish" or (policy == "auto" and (
        best is None or (lower is not None and _gap(best, lower) > polish_gap_rel)))
    if polish:
        start_from = best if best is not None else last
        p3 = build_problem(data, "ac-nlp", **build_kw)
        start = dict(start_from.variables)
        start.update(p3.formulation.guess_from_powerflow(p3.net, start_from.diagnostics.ac.v_complex_pu))
        try:
            s3 = solve_problem(p3, warm_start=start, verbose=verbose)
            s3.diagnostics = diagnose(s3, p3, gap_rel_tol=gap_rel_tol, v_tol_pu=v_tol_pu)
            notes.append(f"ac-nlp polish from the {start_from.recovery if start_from is best else 'last'} dispatch: "
                         f"{s3.status}, objective {s3.objective_eur:.4f} EUR -> {s3.diagnostics.summary()}")
            if s3.diagnostics.ac_ok and (best is None or s3.diagnostics.ac.objective_eur
                                         <= best.diagnostics.ac.objective_eur + 1e-9):
                best = s3
                best.recovery = "ac-nlp-polish"
            last = s3
        except OptimizationFailed as exc:
            notes.append(f"ac-nlp polish failed: {exc}")
    if best is None:
        best = last
        best.recovery = "failed"
        warnings.warn("OPF: could not obtain an AC-feasible dispatch; the returned dispatch violates the AC limits "
                      "reported in solution.diagnostics (see solution.notes).", RuntimeWarning, stacklevel=3)
    best.lower_bound_eur = lower
    if lower is not None:
        ub = best.diagnostics.ac.objective_eur
        notes.append(f"optimality gap bound: AC objective {ub:.4f} EUR vs relaxation lower bound {lower:.4f} EUR "
                     f"({100 * _gap(best, lower):.3f} %)")
    best.notes = notes + best.notes
    for name in ("build_s", "compile_s", "solver_s", "extract_s", "check_s"):
        setattr(best.timings, name, getattr(first.timings, name))
    best.timings.recovery_s = time.perf_counter() - t0
    return best


def _gap(sol: "OPFSolution", lower: float) -> float:
    ub = sol.diagnostics.ac.objective_eur
    return (ub - lower) / max(abs(ub), 1e-9)


def _periods_to_tighten(d: ExactnessReport, data: Any) -> np.ndarray:
    """Periods with a relaxation gap above tolerance or an AC limit violation."""
    v = d.ac.v_pu[:, 1:]
    viol = ((v > data.v_max_pu[None, 1:] + d.v_tol_pu) | (v < data.v_min_pu[None, 1:] - d.v_tol_pu)).any(axis=1)
    viol |= (d.ac.loading > 1.0 + 1e-3).any(axis=1)
    viol &= data.hard_limits  # priced limits may be exceeded: a cost, not a defect of the dispatch
    return viol | (d._period_inexact() if d.relaxation else np.zeros_like(viol))


__all__ = ["ACCheck", "AgingCheck", "ExactnessReport", "ac_check", "aging_check", "diagnose", "recover"]
