"""The cost model: every term of the reward, the KPIs and the oracle's objective, defined once.

Each :class:`CostTerm` has a name (the field of :class:`~thermogrid_env.config.RewardWeights` that
weighs it), the KPI column it is booked in, a unit, and two faces side by side (after cvxportfolio's
costs, whose simulator cost is computed from the optimiser's own definition):

* ``measure(step, ctx)``: the amount of the term in one simulated step, from the simulator's
  measurements (:class:`~thermogrid_env.sim.simulator.StepResult`); the arrays may carry leading
  batch (or period) axes, the result has those axes;
* ``expression(m, opf)``: the same amount summed over the OPF's periods, as an expression of the
  optimiser's variables (written against the back-end interface of :mod:`thermogrid_env.opf.backend`,
  so this module imports no solver).

The reward of a step is ``-Σ_k w_k · measure_k`` and the oracle minimises ``Σ_k w_k · expression_k``
with the same weights, so the oracle maximises exactly the return it is scored with. Every term
is convex in the optimiser's variables and equals its measurement at an exact DistFlow point, except
the transformer aging, whose optimisation expression is a documented under-estimate (see
:class:`Aging`). Hence the oracle's return is an upper bound of every controller's return up to that
bound and the solver's tolerance (README, "The cost model").

=================  ===================  ============  =================================================
term (weight)      KPI                  unit          definition per step
=================  ===================  ============  =================================================
``cost``           ``cost_eur``         EUR           ``Σ_meters (price · max(p, 0) − feed_in · max(−p, 0)) dt``
                                                      with ``p`` the net load of each household meter
``losses``         ``losses_kwh``       kWh           feeder losses, ``(p_slack − Σ_bus p_bus) dt``
``discomfort``     ``discomfort_kh``    K·h           ``Σ_houses`` distance of the indoor temperature
                                                      (end of step) outside the comfort band ``× dt``
``ev_unmet``       ``ev_unmet_kwh``     kWh           energy missing to each EV's target at its departure
                                                      (or the episode end for EVs leaving later)
``curtailment``    ``curtailment_kwh``  kWh           PV energy available but not produced
``aging``          ``aging_h``          h             transformer loss of life, ``∫ V dt`` (IEC 60076-7)
``voltage``        ``voltage_excess``   pu            ``Σ_LV buses max(v² − v_max², 0)/(2 v_max)
                                                      + max(v_min² − v², 0)/(2 v_min)``
``overload``       ``overload_excess``  -             ``Σ_branches max(I²/I_max² − 1, 0) / 2`` (series current)
=================  ===================  ============  =================================================

**Billing per meter.** Energy is billed per household meter (each feeder load), as users' bills
are: import at the retail price, export at the feed-in tariff, a household's export is not netted
against its neighbour's import. The feeder's losses are not anybody's bill; they are the
``losses`` term. (Billing at the feeder head, as the OPF did before, netted one household's export
against another's import at the retail price and billed the losses at the retail price, so it
optimised another objective than the reward.)

**Voltage and overload in squared units.** The band violation of the voltage is measured on the
squared magnitude ``v²`` and the overload on the squared series current ``I²`` (the DistFlow
variables ``w`` and ``l``), divided so that each equals the plain deviation to first order near the
limit (``(v² − v_max²)/(2 v_max) = (v − v_max)(1 + (v − v_max)/(2 v_max))``: 0.45 % more than
``v − v_max`` at 0.01 pu; ``(I²/I_max² − 1)/2 = (K − 1)(1 + (K − 1)/2)`` with the loading ``K``).
In these units both are convex in the optimiser's variables (in ``|v|`` and ``|I|`` they are not:
the square root is concave), so the oracle can price them exactly as soft constraints instead of
imposing hard limits that the reward does not impose.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from thermogrid_env.config import RewardWeights

if TYPE_CHECKING:  # pragma: no cover
    from thermogrid_env.sim.simulator import StepResult


@dataclass(frozen=True, eq=False)
class CostContext:
    """What the measurements are judged against (static for an episode).

    Attributes:
        dt_h: Step length [h].
        v_min_pu, v_max_pu: Voltage band [pu].
        t_min_c, t_max_c: Comfort band [°C].
        lv_buses: ``(n_lv,)`` buses whose voltage is priced (all but the slack bus 0).
        l_max_pu: ``(n_branch,)`` squared series-current limit of each branch on the feeder's base
            (``inf``: unlimited), :meth:`~thermogrid_env.network.feeder.Feeder.l_max_pu`.
        weights: The reward weights.
    """

    dt_h: float
    v_min_pu: float
    v_max_pu: float
    t_min_c: float
    t_max_c: float
    lv_buses: np.ndarray
    l_max_pu: np.ndarray
    weights: RewardWeights

    @cached_property
    def lv_select(self) -> slice | np.ndarray:
        """:attr:`lv_buses` as a slice where they are contiguous (a view instead of a gather)."""
        b = np.asarray(self.lv_buses)
        if b.size and np.array_equal(b, np.arange(b[0], b[0] + b.size)):
            return slice(int(b[0]), int(b[0]) + b.size)
        return b

    @cached_property
    def inv_l_max(self) -> np.ndarray:
        """``(n_branch,)`` ``1 / l_max`` (0 for unlimited branches)."""
        with np.errstate(divide="ignore"):
            return np.where(np.isfinite(self.l_max_pu), 1.0 / self.l_max_pu, 0.0)


_sum_last = partial(np.add.reduce, axis=-1)  # ``x.sum(axis=-1)`` without its Python wrapper (hot path)


def voltage_excess(v_pu: np.ndarray, v_min_pu: float, v_max_pu: float) -> np.ndarray:
    """``Σ`` over the last axis of the squared-voltage excess outside the band [pu] (see module)."""
    w = np.square(v_pu)
    up = np.maximum(w - v_max_pu * v_max_pu, 0.0) * (0.5 / v_max_pu)
    lo = np.maximum(v_min_pu * v_min_pu - w, 0.0) * (0.5 / v_min_pu)
    return _sum_last(up + lo)


def overload_excess(l_pu: np.ndarray, inv_l_max: np.ndarray) -> np.ndarray:
    """``Σ`` over the last axis of ``max(l / l_max − 1, 0) / 2`` [-] (see module)."""
    return 0.5 * _sum_last(np.maximum(l_pu * inv_l_max - 1.0, 0.0))


def comfort_deviation_k(t_indoor_c: np.ndarray, t_min_c: Any, t_max_c: Any) -> np.ndarray:
    """Distance of each indoor temperature outside the comfort band [K] (0 inside)."""
    return np.maximum(t_min_c - t_indoor_c, 0.0) + np.maximum(t_indoor_c - t_max_c, 0.0)


def meter_energy_cost_eur(meter_p_kw: np.ndarray, price: Any, feed_in: Any, dt_h: float) -> np.ndarray:
    """Energy bill of the meters over one step [EUR], summed over the last axis.

    Args:
        meter_p_kw: ``(..., n_meter)`` net load of each meter [kW] (import positive).
        price, feed_in: Retail price and feed-in tariff [EUR/kWh], broadcast against ``(...)``.
        dt_h: Step length [h].
    """
    imp = _sum_last(np.maximum(meter_p_kw, 0.0))
    exp = imp - _sum_last(meter_p_kw)
    return (price * imp - feed_in * exp) * dt_h


class CostTerm:
    """A term of the cost model (see the module docstring).

    Class attributes:
        name: Term name, the :class:`~thermogrid_env.config.RewardWeights` field that weighs it.
        kpi: KPI column the measured term is booked in.
        unit: Unit of the raw term.
        definition: One line for tables and docs.
    """

    name: ClassVar[str] = ""
    kpi: ClassVar[str] = ""
    unit: ClassVar[str] = ""
    definition: ClassVar[str] = ""

    def measure(self, step: StepResult, ctx: CostContext) -> np.ndarray:
        """The raw amount of the term over one simulated step (leading axes kept)."""
        raise NotImplementedError

    def expression(self, m: Any, opf: Any) -> Any:
        """The raw amount over the OPF's periods as a back-end expression (``None``: absent).

        Args:
            m: The back-end model (:class:`thermogrid_env.opf.backend.Model`).
            opf: The OPF's term context (:class:`thermogrid_env.opf.objective.TermContext`).
        """
        raise NotImplementedError


class EnergyCost(CostTerm):
    """Energy bill of all household meters (import at the price, export at the feed-in tariff)."""

    name, kpi, unit = "cost", "cost_eur", "EUR"
    definition = "Σ_meters (price · import − feed-in · export) dt, per household meter"

    def measure(self, step: StepResult, ctx: CostContext) -> np.ndarray:
        return meter_energy_cost_eur(step.meter_p_kw, step.price_eur_per_kwh, step.feed_in_eur_per_kwh, ctx.dt_h)

    def expression(self, m: Any, opf: Any) -> Any:
        d = opf.data
        t = d.n_periods
        pi, pe = d.price_import_eur_per_kwh, d.price_export_eur_per_kwh
        # meters without devices: their bill is a constant, measured by the same function
        cost: Any = float(meter_energy_cost_eur(opf.fixed_meter_p_kw, pi, pe, d.dt_h).sum())
        net = opf.meter_p_kw  # (T, n_meter) expression [kW] of the meters with devices
        if net is None:
            return cost
        n = opf.n_meter
        cost = cost + m.total(m.mul(np.broadcast_to((pe * d.dt_h)[:, None], (t, n)), net))
        extra = ((pi - pe) * d.dt_h)[:, None]  # import costs this much more than export earns
        for can_export in (True, False):
            cols = np.flatnonzero(opf.meter_can_export == can_export)
            if not cols.size or not np.any(extra > 0):
                continue
            sel = np.zeros((n, cols.size))
            sel[cols, np.arange(cols.size)] = 1.0
            part = m.matmul(net, sel)
            if can_export:  # max(p, 0) as an epigraph variable
                imp = m.var("meter_import_kw", (t, cols.size), lb=0.0)
                m.le("meter_import_def", part, imp)
                part = imp
            # meters that never export: max(p, 0) = p
            cost = cost + m.total(m.mul(np.broadcast_to(extra, (t, cols.size)), part))
        return cost


class Losses(CostTerm):
    """Feeder losses (lines and transformer, series and shunt)."""

    name, kpi, unit = "losses", "losses_kwh", "kWh"
    definition = "feeder losses (p_slack − Σ bus loads) dt"

    def measure(self, step: StepResult, ctx: CostContext) -> np.ndarray:
        return step.p_loss_kw * ctx.dt_h

    def expression(self, m: Any, opf: Any) -> Any:
        d, net = opf.data, opf.net
        loss_pu = opf.state.p_slack - m.matmul(opf.p_inj, np.ones((net.n_bus, 1)))
        return m.total(loss_pu) * (net.s_base_kva * d.dt_h)


class Discomfort(CostTerm):
    """Indoor temperature outside the comfort band, summed over the houses."""

    name, kpi, unit = "discomfort", "discomfort_kh", "K·h"
    definition = "Σ_houses distance outside the comfort band (end of step) × dt"

    def measure(self, step: StepResult, ctx: CostContext) -> np.ndarray:
        return _sum_last(comfort_deviation_k(step.t_indoor_c, ctx.t_min_c, ctx.t_max_c)) * ctx.dt_h

    def expression(self, m: Any, opf: Any) -> Any:
        hp = opf.blocks.get("hp")
        return None if hp is None else m.total(hp.outputs["comfort_violation_k"]) * opf.data.dt_h


class EVUnmet(CostTerm):
    """EV energy missing at departure (or at the episode end for EVs leaving later)."""

    name, kpi, unit = "ev_unmet", "ev_unmet_kwh", "kWh"
    definition = "energy missing to each EV's target at its departure"

    def measure(self, step: StepResult, ctx: CostContext) -> np.ndarray:
        return step.ev_unmet_kwh

    def expression(self, m: Any, opf: Any) -> Any:
        ev = opf.blocks.get("ev")
        return None if ev is None else m.total(ev.outputs["ev_shortfall_kwh"])


class Curtailment(CostTerm):
    """PV energy available but not produced."""

    name, kpi, unit = "curtailment", "curtailment_kwh", "kWh"
    definition = "PV energy available but not produced"

    def measure(self, step: StepResult, ctx: CostContext) -> np.ndarray:
        return _sum_last(step.pv_available_kw - step.pv_p_kw) * ctx.dt_h

    def expression(self, m: Any, opf: Any) -> Any:
        pv = opf.blocks.get("pv")
        if pv is None:
            return None
        avail = float(opf.data.pvs.p_avail_kw.sum())
        return (avail - m.total(pv.outputs["pv_p_kw"])) * opf.data.dt_h


class Aging(CostTerm):
    """Transformer loss of life (IEC 60076-7).

    The simulator integrates ``V(θh)`` over each step along the sub-step trajectory of the
    difference equations; the OPF uses the same difference equations at the period ends, the
    hot-spot rises as convex powers of the load factor ``|S| / S_rated`` and the exponential by
    tangents (:data:`thermogrid_env.opf.devices.TANGENT_SPACING_K`: at most 0.37 % below up to
    120 °C; above it the last tangent continues linearly, further below). Measured on the preset
    oracle days the OPF's loss of life was within a few per cent of the simulator's
    (``tests/test_yardstick.py`` checks 5 %), a few milli-EUR per day at the default weight: the
    documented bound of the oracle's upper-bound property.
    """

    name, kpi, unit = "aging", "aging_h", "h"
    definition = "transformer loss of life ∫ V dt (IEC 60076-7)"

    def measure(self, step: StepResult, ctx: CostContext) -> np.ndarray:
        return step.loss_of_life_h

    def expression(self, m: Any, opf: Any) -> Any:
        return None if opf.aging is None else opf.aging["loss_of_life_h"]


class Voltage(CostTerm):
    """LV bus voltages outside the band, in squared units (module docstring)."""

    name, kpi, unit = "voltage", "voltage_excess", "pu"
    definition = "Σ_LV buses (max(v² − v_max², 0)/(2 v_max) + max(v_min² − v², 0)/(2 v_min))"

    def measure(self, step: StepResult, ctx: CostContext) -> np.ndarray:
        return voltage_excess(step.v_pu[..., ctx.lv_select], ctx.v_min_pu, ctx.v_max_pu)

    def expression(self, m: Any, opf: Any) -> Any:
        if opf.hard_limits:
            return None
        d, net = opf.data, opf.net
        t, n_lv = d.n_periods, net.n_bus - 1
        w = opf.state.w[:, 1:]
        v_lo, v_hi = d.v_min_pu[None, 1:], d.v_max_pu[None, 1:]
        s = m.var("voltage_excess", (t, n_lv), lb=0.0)
        # constants broadcast to the expression's shape here (casadi does not broadcast)
        m.le("voltage_excess_up", m.mul(0.5 / v_hi, w) - np.broadcast_to(0.5 * v_hi, (t, n_lv)), s)
        m.le("voltage_excess_low", np.broadcast_to(0.5 * v_lo, (t, n_lv)) - m.mul(0.5 / v_lo, w), s)
        return m.total(s)


class Overload(CostTerm):
    """Branch currents above their limit, in squared units (module docstring)."""

    name, kpi, unit = "overload", "overload_excess", "-"
    definition = "Σ_branches max(I²/I_max² − 1, 0)/2 of the series current"

    def measure(self, step: StepResult, ctx: CostContext) -> np.ndarray:
        return overload_excess(step.l_pu, ctx.inv_l_max)

    def expression(self, m: Any, opf: Any) -> Any:
        net, st = opf.net, opf.state
        cols = np.flatnonzero(np.isfinite(net.l_max))
        if opf.hard_limits or st.l is None or not cols.size:
            return None
        t = opf.data.n_periods
        sel = np.zeros((net.n_branch, cols.size))
        sel[cols, np.arange(cols.size)] = 1.0 / net.l_max[cols]
        o = m.var("overload_excess", (t, cols.size), lb=0.0)
        m.le("overload_excess_def", 0.5 * m.matmul(st.l, sel) - 0.5, o)
        return m.total(o)


#: The terms in reward order.
TERMS: tuple[CostTerm, ...] = (
    EnergyCost(), Discomfort(), EVUnmet(), Voltage(), Losses(), Aging(), Curtailment(), Overload(),
)
#: Term names in reward order.
TERM_NAMES: tuple[str, ...] = tuple(t.name for t in TERMS)
#: KPI column of each term.
TERM_KPIS: dict[str, str] = {t.name: t.kpi for t in TERMS}


def measure(step: StepResult, ctx: CostContext) -> dict[str, np.ndarray]:
    """Every raw term of one step by name (leading axes kept)."""
    return {t.name: t.measure(step, ctx) for t in TERMS}


def weight_vector(weights: RewardWeights) -> np.ndarray:
    """``(n_terms,)`` weights in :data:`TERM_NAMES` order."""
    return np.array([float(getattr(weights, name)) for name in TERM_NAMES])


def reward(raw: dict[str, Any], weights: RewardWeights) -> Any:
    """``-Σ_k w_k · raw_k`` (leading axes kept)."""
    total = 0.0
    for name in TERM_NAMES:
        total = total + float(getattr(weights, name)) * raw[name]
    return -total


def collapse_penalty(ctx: CostContext, steps_left: Any) -> Any:
    """Raw ``voltage`` term booked when a step's power flow has no solution (voltage collapse).

    It counts every LV bus at 0 V for the rest of the episode (``steps_left`` steps including this
    one): ``n_lv · v_min / 2`` per step, far above any solvable step's cost, so that ending an
    episode early by collapsing the feeder never pays.
    """
    return len(ctx.lv_buses) * 0.5 * ctx.v_min_pu * np.asarray(steps_left, dtype=float)


__all__ = [
    "TERMS", "TERM_KPIS", "TERM_NAMES", "Aging", "CostContext", "CostTerm", "Curtailment", "Discomfort", "EVUnmet",
    "EnergyCost", "Losses", "Overload", "Voltage", "collapse_penalty", "comfort_deviation_k", "measure",
    "meter_energy_cost_eur", "overload_excess", "reward", "voltage_excess", "weight_vector",
]  # fmt: skip
