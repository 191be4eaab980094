"""The result of an OPF solve: set-points per device and period, predicted states, network values,
objective terms, timings and the exactness diagnostics. Plain numpy, no solver objects.

Shapes: ``T`` periods; per-device arrays ``(T, n)``; state trajectories ``(T + 1, n)`` starting
with the initial state; bus arrays ``(T, n_bus)``; branch arrays ``(T, n_branch)``. Signs as in
:mod:`thermogrid_env.opf.data` (devices consumption positive, PV generation/injection positive;
``bus_p_kw``/``bus_q_kvar`` are the total bus loads, load positive, ready for the AC power flow).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from thermogrid_env.opf.backend import SolveInfo
from thermogrid_env.opf.objective import USER_TERMS

if TYPE_CHECKING:  # pragma: no cover
    from thermogrid_env.opf.exactness import ExactnessReport
    from thermogrid_env.opf.problem import OPFProblem


@dataclass
class Timings:
    """Wall-clock times of one solve [s].

    Attributes:
        build_s: Python model construction (variables, constraints, objective).
        compile_s: Turning the model into solver data (cvxpy canonicalisation / casadi set-up).
        solver_s: Inside the solver.
        extract_s: Reading the solution back.
        check_s: Diagnostics (relaxation gap, AC re-check, aging check).
        recovery_s: Extra solves of the exactness recovery (0 if none).
        warm_start_s: The SOCP solve that started ``"ac-nlp"`` (0 if none).
        total_s: Everything, end to end.
    """

    build_s: float = 0.0
    compile_s: float = 0.0
    solver_s: float = 0.0
    extract_s: float = 0.0
    check_s: float = 0.0
    recovery_s: float = 0.0
    warm_start_s: float = 0.0
    total_s: float = 0.0

    @property
    def build_and_solve_s(self) -> float:
        """Build + compile + solve + extract (the oracle's cost without diagnostics) [s]."""
        return self.build_s + self.compile_s + self.solver_s + self.extract_s


@dataclass
class OPFSolution:
    """Set-points, predictions and diagnostics of one multi-period OPF.

    Attributes:
        formulation: Formulation key that produced the dispatch.
        status: ``"optimal"`` or ``"optimal_inaccurate"`` (failures raise ``OptimizationFailed``).
        solver: Solver name; ``iterations``: its iteration count.
        objective_eur: User objective: ``Σ w · term`` over the cost model's terms, the negative of
            the return the environment would pay for the plan (EUR-equivalent).
        terms_eur: Weighted value ``w · term`` of every term present, by name (EUR-equivalent;
            ``loss_tightening`` of the recovery included, not part of the objective).
        terms_raw: Raw value of every cost term present, in its own unit
            (:data:`~thermogrid_env.sim.costs.TERMS`), comparable with the simulator's KPIs.
        dt_s: Period length [s].
        hp_p_kw, hp_heat_kw: ``(T, n_house)`` heat-pump electrical power and heat [kW].
        t_indoor_c, t_envelope_c: ``(T + 1, n_house)`` predicted building states [°C].
        comfort_violation_k: ``(T, n_house)`` distance outside the comfort band at period end [K].
        ev_p_kw: ``(T, n_ev)`` net grid power of each charger [kW] (charging positive).
        ev_energy_kwh: ``(T + 1, n_ev)`` predicted battery energy [kWh].
        ev_shortfall_kwh: ``(n_ev,)`` energy missing at departure [kWh].
        pv_p_kw, pv_q_kvar, pv_curtailment_kw: ``(T, n_pv)`` PV set-points [kW, kvar].
        bus_p_kw, bus_q_kvar: ``(T, n_bus)`` total bus loads (the dispatch for the power flow).
        meter_p_kw: ``(T, n_meter)`` net load of every billing meter [kW] (feeder loads, or buses).
        v_pu: ``(T, n_bus)`` voltage magnitudes the optimizer believes.
        p_branch_kw, q_branch_kvar: ``(T, n_branch)`` flows at the sending end.
        p_series_kw, q_series_kvar: ``(T, n_branch)`` DistFlow ``P_ij``, ``Q_ij``.
        l_pu: ``(T, n_branch)`` squared series current on the OPF base (``nan``: lossless model).
        loading: ``(T, n_branch)`` current over its limit as the optimizer sees it.
        p_loss_kw: ``(T,)`` total losses (series and shunt) the optimizer believes [kW].
        p_slack_kw, q_slack_kvar: ``(T,)`` draw from the upstream grid.
        transformer_load_factor, transformer_hot_spot_c, transformer_aging_rate: ``(T,)`` from the
            aging epigraph (``None`` without aging term).
        transformer_loss_of_life_h: Loss of life over the horizon [h] (``None`` likewise).
        lower_bound_eur: A valid lower bound on the AC optimum (the relaxation's objective), if known.
        recovery: How an AC-feasible dispatch was obtained: ``"none"`` (the first solve was exact
            or no recovery asked), ``"loss-penalty"``, ``"ac-nlp-polish"`` or ``"failed"``.
        diagnostics: :class:`~thermogrid_env.opf.exactness.ExactnessReport` (``None`` if skipped).
        timings: :class:`Timings`.
        notes: Human-readable remarks (recovery steps, inaccurate solves).
        solver_accuracy: What the solver reached, where it reports it (Clarabel): ``gap_rel``
            (relative duality gap), ``res_primal`` and ``res_dual`` (scaled residuals).
        variables: Raw variable values by name (for warm starts).
    """

    formulation: str
    status: str
    solver: str
    iterations: int
    objective_eur: float
    terms_eur: dict[str, float]
    terms_raw: dict[str, float]
    dt_s: float
    hp_p_kw: np.ndarray
    hp_heat_kw: np.ndarray
    t_indoor_c: np.ndarray
    t_envelope_c: np.ndarray
    comfort_violation_k: np.ndarray
    ev_p_kw: np.ndarray
    ev_energy_kwh: np.ndarray
    ev_shortfall_kwh: np.ndarray
    pv_p_kw: np.ndarray
    pv_q_kvar: np.ndarray
    pv_curtailment_kw: np.ndarray
    bus_p_kw: np.ndarray
    bus_q_kvar: np.ndarray
    meter_p_kw: np.ndarray
    v_pu: np.ndarray
    p_branch_kw: np.ndarray
    q_branch_kvar: np.ndarray
    p_series_kw: np.ndarray
    q_series_kvar: np.ndarray
    l_pu: np.ndarray
    loading: np.ndarray
    p_loss_kw: np.ndarray
    p_slack_kw: np.ndarray
    q_slack_kvar: np.ndarray
    transformer_load_factor: np.ndarray | None = None
    transformer_hot_spot_c: np.ndarray | None = None
    transformer_aging_rate: np.ndarray | None = None
    transformer_loss_of_life_h: float | None = None
    lower_bound_eur: float | None = None
    recovery: str = "none"
    diagnostics: "ExactnessReport | None" = None
    timings: Timings = field(default_factory=Timings)
    notes: list[str] = field(default_factory=list)
    solver_accuracy: dict[str, float] = field(default_factory=dict)
    variables: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_periods(self) -> int:
        """Number of periods ``T``."""
        return int(self.bus_p_kw.shape[0])

    def setpoints(self, period: int) -> dict[str, np.ndarray]:
        """Device set-points of one period (what a controller applies), by name."""
        return {
            "hp_p_kw": self.hp_p_kw[period],
            "ev_p_kw": self.ev_p_kw[period],
            "pv_p_kw": self.pv_p_kw[period],
            "pv_q_kvar": self.pv_q_kvar[period],
            "pv_curtailment_kw": self.pv_curtailment_kw[period],
        }

    def sim_setpoints(self, period: int, n_ev: int | None = None, ev_index: np.ndarray | None = None) -> Any:
        """The simulator's :class:`~thermogrid_env.sim.simulator.Setpoints` of one period of the plan.

        PV curtailment becomes the curtailed share of the available power (the simulator's input).

        Args:
            period: Period of the plan.
            n_ev, ev_index: When the plan covers only some EVs (a causal planner's plugged EVs), the
                community's EV count and the plan's EV columns' indices; the others get 0 kW.
        """
        from thermogrid_env.sim.simulator import Setpoints  # noqa: PLC0415

        avail = self.pv_p_kw[period] + self.pv_curtailment_kw[period]
        with np.errstate(invalid="ignore", divide="ignore"):
            curtail = np.where(avail > 1e-9, self.pv_curtailment_kw[period] / avail, 0.0)
        ev_p = self.ev_p_kw[period]
        if ev_index is not None:
            full = np.zeros(int(n_ev))
            full[ev_index] = ev_p
            ev_p = full
        return Setpoints(hp_p_kw=self.hp_p_kw[period], ev_p_kw=ev_p, pv_curtailment=curtail,
                         pv_q_kvar=self.pv_q_kvar[period])

    def summary(self) -> str:
        """A few lines: objective by term, timings, exactness."""
        terms = ", ".join(f"{k} {v:.3f}" for k, v in self.terms_eur.items())
        t = self.timings
        lines = [
            f"{self.formulation}: {self.status}, objective {self.objective_eur:.4f} EUR ({terms})",
            f"time: build {t.build_s:.3f} s, compile {t.compile_s:.3f} s, solver {t.solver_s:.3f} s, "
            f"extract {t.extract_s:.3f} s, checks {t.check_s:.3f} s, recovery {t.recovery_s:.3f} s, "
            f"total {t.total_s:.3f} s",
        ]
        if self.diagnostics is not None:
            lines.append(self.diagnostics.summary())
        lines.append(f"recovery: {self.recovery}")
        lines.extend(self.notes)
        return "\n".join(lines)


def _val(prob: "OPFProblem", expr: Any, shape: tuple[int, int]) -> np.ndarray:
    if expr is None:
        return np.zeros(shape)
    return np.asarray(prob.model.value(expr), dtype=float).reshape(shape)


def extract_solution(prob: "OPFProblem", info: SolveInfo) -> OPFSolution:
    """Read a solved :class:`~thermogrid_env.opf.problem.OPFProblem` back into numpy arrays."""
    data, net, st = prob.data, prob.net, prob.state
    t, nb, n_bus = data.n_periods, net.n_branch, net.n_bus
    s = net.s_base_kva
    out = lambda kind, name, n: _val(prob, prob.blocks[kind].outputs.get(name), (t, n))  # noqa: E731

    h = data.houses
    n_h = h.n
    if "hp" in prob.blocks:
        hp_p, heat = out("hp", "hp_p_kw", n_h), out("hp", "hp_heat_kw", n_h)
        ti = np.vstack([h.x0_c[None, :, 0], out("hp", "t_indoor_c", n_h)])
        te = np.vstack([h.x0_c[None, :, 1], out("hp", "t_envelope_c", n_h)])
        viol = np.maximum(h.t_min_c - ti[1:], 0.0) + np.maximum(ti[1:] - h.t_max_c, 0.0)
    else:
        hp_p = heat = viol = np.zeros((t, n_h))
        ti = te = np.zeros((t + 1, n_h))
    ev = data.evs
    n_ev = ev.n
    if "ev" in prob.blocks:
        ch = out("ev", "ev_charge_kw", n_ev)
        dis = out("ev", "ev_discharge_kw", n_ev)
        ev_p = ch - dis
        gain = data.dt_h * (ev.efficiency[None, :] * ch - dis / ev.efficiency[None, :])
        e = ev.e_init_kwh[None, :] + np.vstack([np.zeros((1, n_ev)), np.cumsum(gain, axis=0)])
        dep = ev.departure_index
        has = dep >= 1
        short = np.zeros(n_ev)
        short[has] = np.maximum(ev.e_target_kwh[has] - e[dep[has], np.flatnonzero(has)], 0.0)
    else:
        ev_p, e, short = np.zeros((t, n_ev)), np.zeros((t + 1, n_ev)), np.zeros(n_ev)
    n_pv = data.pvs.n
    if "pv" in prob.blocks:
        pv_p = out("pv", "pv_p_kw", n_pv)
        pv_q = out("pv", "pv_q_kvar", n_pv)
        curt = data.pvs.p_avail_kw - pv_p
    else:
        pv_p = pv_q = curt = np.zeros((t, n_pv))

    bus_p = data.base_p_kw.copy()
    bus_q = data.base_q_kvar.copy()
    np.add.at(bus_p.T, h.bus, hp_p.T)
    np.add.at(bus_q.T, h.bus, (hp_p * h.group.q_per_p).T)
    np.add.at(bus_p.T, ev.bus, ev_p.T)
    np.add.at(bus_p.T, data.pvs.bus, -pv_p.T)
    np.add.at(bus_q.T, data.pvs.bus, -pv_q.T)
    if data.meter_p_kw is not None:
        meter_p = data.meter_p_kw.copy()
        np.add.at(meter_p.T, h.group.load, hp_p.T)
        np.add.at(meter_p.T, ev.fleet.load, ev_p.T)
        np.add.at(meter_p.T, data.pvs.group.load, -pv_p.T)
    else:
        meter_p = bus_p.copy()

    w = _val(prob, st.w, (t, n_bus))
    l_pu = _val(prob, st.l, (t, nb)) if st.l is not None else np.full((t, nb), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        loading = np.sqrt(np.maximum(l_pu, 0.0) / net.l_max[None, :])
    p_slack = _val(prob, st.p_slack, (t, 1))[:, 0] * s
    raw = {name: float(np.asarray(prob.model.value(expr)).reshape(-1)[0]) for name, expr in prob.terms.items()}
    terms = {name: prob.term_weights[name] * value for name, value in raw.items()}
    objective = sum(v for k, v in terms.items() if k in USER_TERMS)
    sol = OPFSolution(
        formulation=prob.formulation.key, status=info.status, solver=info.solver, iterations=info.iterations,
        objective_eur=float(objective), terms_eur=terms,
        terms_raw={k: v for k, v in raw.items() if k in USER_TERMS}, dt_s=data.dt_s,
        hp_p_kw=hp_p, hp_heat_kw=heat, t_indoor_c=ti, t_envelope_c=te, comfort_violation_k=viol,
        ev_p_kw=ev_p, ev_energy_kwh=e, ev_shortfall_kwh=short,
        pv_p_kw=pv_p, pv_q_kvar=pv_q, pv_curtailment_kw=curt,
        bus_p_kw=bus_p, bus_q_kvar=bus_q, meter_p_kw=meter_p, v_pu=np.sqrt(np.maximum(w, 0.0)),
        p_branch_kw=_val(prob, st.p_send, (t, nb)) * s, q_branch_kvar=_val(prob, st.q_send, (t, nb)) * s,
        p_series_kw=_val(prob, st.p, (t, nb)) * s, q_series_kvar=_val(prob, st.q, (t, nb)) * s,
        l_pu=l_pu, loading=loading, p_loss_kw=p_slack - bus_p.sum(axis=1),
        p_slack_kw=p_slack, q_slack_kvar=_val(prob, st.q_slack, (t, 1))[:, 0] * s,
        solver_accuracy=dict(info.accuracy),
    )
    if prob.aging is not None:
        sol.transformer_load_factor = _val(prob, prob.aging["load_factor"], (t, 1))[:, 0]
        sol.transformer_hot_spot_c = _val(prob, prob.aging["hot_spot_c"], (t, 1))[:, 0]
        sol.transformer_aging_rate = _val(prob, prob.aging["aging_rate"], (t, 1))[:, 0]
        sol.transformer_loss_of_life_h = float(np.sum(sol.transformer_aging_rate) * data.dt_h)
    sol.variables = prob.model.variable_values()
    return sol


__all__ = ["OPFSolution", "Timings", "extract_solution"]
