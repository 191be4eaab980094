"""The simulator core: the only place where a step of the feeder happens.

Pure and gymnasium-free: :meth:`Simulator.step` takes a state and physical set-points and returns
the next state and the step's measurements; it never mutates its inputs. The Gymnasium environment
and the oracle's evaluation both go through it, so every controller is scored on the same physics.

A step of length ``dt`` from ``t_k`` (inputs held constant over the step):

1. heat pumps: electrical power clipped to ``[0, p_rated]``, heat ``= COP(t_ambient) * p``;
2. houses: exact zero-order-hold 3R2C step with HP heat, internal gains (the household's own
   electricity use, which ends up as heat) and solar gains;
3. EVs: state of charge under availability, charger and battery limits;
4. PV: available power, curtailment and reactive power inside the inverter circle;
5. exact AC power flow of the feeder with all bus loads (consumption positive);
6. transformer: IEC 60076-7 thermal model driven by the transformer loading, loss of life;
7. KPI increments (:mod:`thermogrid_env.sim.kpi`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from thermogrid_env.config import Scenario
from thermogrid_env.errors import ConfigError
from thermogrid_env.physics import building, ev, heat_pump, pv, transformer
from thermogrid_env.physics.powerflow import PowerFlowSolver
from thermogrid_env.sim import kpi
from thermogrid_env.sim.community import Community
from thermogrid_env.sim.exogenous import Exogenous

#: Power factor of heat-pump compressors (inverter drives) [-].
HP_POWER_FACTOR = 0.98


@dataclass(frozen=True, kw_only=True, eq=False)
class Setpoints:
    """Physical set-points of one step (the simulator enforces every device limit).

    Attributes:
        hp_p_kw: ``(n_hp,)`` heat-pump electrical power [kW].
        ev_p_kw: ``(n_ev,)`` EV charging power at the grid side [kW] (negative: V2G discharge).
        pv_curtailment: ``(n_pv,)`` share of the available PV power to shed [0, 1].
        pv_q_kvar: ``(n_pv,)`` PV inverter reactive power [kvar], positive = injection
            (capacitive, raises the voltage), negative = absorption.
    """

    hp_p_kw: np.ndarray
    ev_p_kw: np.ndarray
    pv_curtailment: np.ndarray
    pv_q_kvar: np.ndarray

    def __post_init__(self) -> None:
        for name in ("hp_p_kw", "ev_p_kw", "pv_curtailment", "pv_q_kvar"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))


@dataclass(frozen=True, kw_only=True, eq=False)
class SimState:
    """State of the simulated feeder at the start of a step.

    Attributes:
        step: Index of the next step (0 at reset).
        t_indoor_c, t_envelope_c: ``(n_hp,)`` house temperatures [°C].
        ev_soc: ``(n_ev,)`` EV state of charge [-].
        trafo: Transformer thermal state.
    """

    step: int
    t_indoor_c: np.ndarray
    t_envelope_c: np.ndarray
    ev_soc: np.ndarray
    trafo: transformer.TransformerThermalState


@dataclass(frozen=True, kw_only=True, eq=False)
class StepResult:
    """Measurements of one step (device powers over the step, states and hot spot at its end).

    Attributes:
        hp_p_kw, hp_heat_kw: ``(n_hp,)`` HP electrical power and heat [kW].
        ev_p_kw: ``(n_ev,)`` EV charging power [kW]; ``ev_plugged``: ``(n_ev,)`` availability.
        pv_p_kw, pv_q_kvar: ``(n_pv,)`` PV generation [kW] and injected reactive power [kvar];
        pv_available_kw: ``(n_pv,)`` available PV power [kW].
        bus_p_kw, bus_q_kvar: ``(n_bus,)`` net load of each bus [kW], [kvar].
        v_pu: ``(n_bus,)`` voltage magnitudes [pu]; ``loading``: ``(n_branch,)`` branch loading.
        p_loss_kw, p_slack_kw: Feeder losses and MV import [kW].
        trafo_loading: Transformer loading [-]; ``hot_spot_c``: its hot spot [°C];
        loss_of_life_h: Its loss of life over the step [h].
        kpis: KPI increments of the step (:func:`thermogrid_env.sim.kpi.step_kpis`).
    """

    hp_p_kw: np.ndarray
    hp_heat_kw: np.ndarray
    ev_p_kw: np.ndarray
    ev_plugged: np.ndarray
    pv_p_kw: np.ndarray
    pv_q_kvar: np.ndarray
    pv_available_kw: np.ndarray
    bus_p_kw: np.ndarray
    bus_q_kvar: np.ndarray
    v_pu: np.ndarray
    loading: np.ndarray
    p_loss_kw: float
    p_slack_kw: float
    trafo_loading: float
    hot_spot_c: float
    loss_of_life_h: float
    kpis: dict[str, float]


class Simulator:
    """Steps a community through one episode's exogenous data.

    Args:
        scenario: Step length, limits and comfort band.
        community: The assets.
        exogenous: The episode's time series.
        ev_sessions: The episode's EV sessions (``None`` if the community has no EVs).
        powerflow_backend: ``"auto"``, ``"numba"`` or ``"numpy"``.
    """

    def __init__(
        self,
        scenario: Scenario,
        community: Community,
        exogenous: Exogenous,
        ev_sessions: ev.EVSessions | None,
        powerflow_backend: str = "auto",
    ) -> None:
        if (ev_sessions is None) != (community.n_ev == 0) or (
            ev_sessions is not None and ev_sessions.n_evs != community.n_ev
        ):
            raise ConfigError("ev_sessions must hold one session per community EV (None without EVs).")
        self.scenario = scenario
        self.community = community
        self.exogenous = exogenous
        self.ev_sessions = ev_sessions
        self.feeder = community.feeder
        self.dt_s = float(scenario.dt_s)
        self.dt_h = scenario.dt_h
        self.n_steps = exogenous.n_steps
        self.powerflow = PowerFlowSolver(self.feeder, backend=powerflow_backend)
        self.building_model = (
            building.discretize(community.buildings, self.dt_s) if community.buildings is not None else None
        )
        self.limits = kpi.KPILimits(
            v_min_pu=scenario.v_min_pu, v_max_pu=scenario.v_max_pu,
            t_min_c=scenario.comfort.t_min_c, t_max_c=scenario.comfort.t_max_c,
        )
        self._is_line = ~self.feeder.is_transformer
        n_bus = self.feeder.n_bus
        # Internal gains of HP houses: their own household electricity [kW] per step.
        self._q_int_kw = exogenous.household_p_kw[:, community.hp_load] if community.n_hp else None
        self._pv_available_kw = (
            exogenous.pv_per_kwp[:, None] * community.pv_systems.p_peak_kwp[None, :]
            if community.pv_systems is not None else np.zeros((self.n_steps, 0))
        )
        self._hp_cop = (
            np.broadcast_to(
                heat_pump.device_cop(community.heat_pumps, exogenous.t_ambient_c[:, None]),
                (self.n_steps, community.n_hp),
            )
            if community.heat_pumps is not None else np.zeros((self.n_steps, 0))
        )
        self._hp_p_max = (
            community.heat_pumps.p_rated_el_kw if community.heat_pumps is not None else np.zeros(0)
        )
        self._hp_q_per_p = np.tan(np.arccos(HP_POWER_FACTOR))
        self._n_bus = n_bus

    # ------------------------------------------------------------------ state
    def initial_state(self) -> SimState:
        """State at the start of the episode: houses at the comfort band's initial temperature with
        the envelope at its steady state, EVs at their arrival state of charge, transformer at its
        steady state for the first step's base load."""
        c = self.community
        t_in = np.full(c.n_hp, self.scenario.comfort.t_initial_c)
        t_env = np.zeros(c.n_hp)
        if c.n_hp:
            b = c.buildings
            t_a = self.exogenous.t_ambient_c[0]
            # Envelope node in steady state with the interior held at t_in.
            t_env = (t_in / b.r_ie_k_per_kw + t_a / b.r_ea_k_per_kw) / (1 / b.r_ie_k_per_kw + 1 / b.r_ea_k_per_kw)
        soc = ev.initial_soc(self.ev_sessions) if self.ev_sessions is not None else np.zeros(0)
        res0 = self.powerflow.solve(self.exogenous.base_p_kw[0], self.exogenous.base_q_kvar[0])
        trafo0 = transformer.initial_state(
            c.transformer_params, self.exogenous.t_ambient_c[0], float(res0.transformer_loading)
        )
        return SimState(step=0, t_indoor_c=t_in, t_envelope_c=t_env, ev_soc=soc, trafo=trafo0)

    # ------------------------------------------------------------------ step
    def step(self, state: SimState, setpoints: Setpoints) -> tuple[SimState, StepResult]:
        """Advance one step.

        Args:
            state: State at the start of the step (not modified).
            setpoints: Physical set-points; device limits are enforced here.

        Returns:
            ``(next_state, measurements)``.

        Raises:
            ConfigError: The episode is over, or set-points have the wrong shape or are NaN.
            PowerFlowDiverged: The feeder cannot carry the resulting load.
        """
        k = state.step
        if k >= self.n_steps:
            raise ConfigError(f"The episode has {self.n_steps} steps; reset before stepping again.")
        c, exo = self.community, self.exogenous
        self._check_setpoints(setpoints)
        t_a = exo.t_ambient_c[k]

        # 1-2. heat pumps and houses
        hp_p = np.clip(setpoints.hp_p_kw, 0.0, self._hp_p_max)
        hp_heat = self._hp_cop[k] * hp_p
        if self.building_model is not None:
            t_in, t_env = self.building_model.step(
                state.t_indoor_c, state.t_envelope_c, t_a, hp_heat, self._q_int_kw[k], exo.irradiance_w_per_m2[k]
            )
        else:
            t_in, t_env = state.t_indoor_c, state.t_envelope_c

        # 3. EVs
        if self.ev_sessions is not None:
            plugged = ev.available(self.ev_sessions, k)
            soc, ev_p = ev.ev_step(self.ev_sessions, state.ev_soc, setpoints.ev_p_kw, k, self.dt_s)
            departing = ev.departing(self.ev_sessions, k)
            unmet = float(ev.unmet_energy_kwh(self.ev_sessions, soc)[departing].sum()) if departing.any() else 0.0
        else:
            plugged, soc, ev_p, unmet = np.zeros(0, bool), state.ev_soc, np.zeros(0), 0.0

        # 4. PV
        pv_avail = self._pv_available_kw[k]
        if c.pv_systems is not None:
            pv_p, pv_q = pv.dispatch(c.pv_systems, pv_avail, setpoints.pv_curtailment, setpoints.pv_q_kvar)
        else:
            pv_p, pv_q = np.zeros(0), np.zeros(0)

        # 5. power flow (load positive)
        n_bus = self._n_bus
        bus_p = (exo.base_p_kw[k]
                 + np.bincount(c.hp_bus, hp_p, n_bus)
                 + np.bincount(c.ev_bus, ev_p, n_bus)
                 - np.bincount(c.pv_bus, pv_p, n_bus))
        bus_q = (exo.base_q_kvar[k]
                 + np.bincount(c.hp_bus, hp_p * self._hp_q_per_p, n_bus)
                 - np.bincount(c.pv_bus, pv_q, n_bus))
        res = self.powerflow.solve(bus_p, bus_q)
        loading = res.loading
        trafo_loading = float(res.transformer_loading)

        # 6. transformer
        trafo_state, hot_spot, lol = transformer.step(
            c.transformer_params, state.trafo, trafo_loading, t_a, self.dt_s
        )
        hot_spot, lol = float(hot_spot), float(lol)

        # 7. KPIs
        v = res.v_pu
        p_slack = float(res.p_slack_kw)
        increments = kpi.step_kpis(
            limits=self.limits, dt_h=self.dt_h, v_pu=v[1:], line_loading=loading[self._is_line],
            trafo_loading=trafo_loading, p_loss_kw=float(res.p_loss_kw), p_slack_kw=p_slack,
            p_loss_series_kw=float(res.p_loss_series_kw),
            hot_spot_c=hot_spot, loss_of_life_h=lol, t_indoor_c=t_in, ev_unmet_kwh=unmet,
            bus_net_p_kw=bus_p, price_eur_per_kwh=float(exo.price_eur_per_kwh[k]),
            feed_in_eur_per_kwh=exo.feed_in_eur_per_kwh,
            pv_curtailed_kw=float((pv_avail - pv_p).sum()),
        )
        next_state = SimState(step=k + 1, t_indoor_c=t_in, t_envelope_c=t_env, ev_soc=soc, trafo=trafo_state)
        result = StepResult(
            hp_p_kw=hp_p, hp_heat_kw=hp_heat, ev_p_kw=ev_p, ev_plugged=plugged, pv_p_kw=pv_p, pv_q_kvar=pv_q,
            pv_available_kw=pv_avail, bus_p_kw=bus_p, bus_q_kvar=bus_q, v_pu=v, loading=loading,
            p_loss_kw=float(res.p_loss_kw), p_slack_kw=p_slack, trafo_loading=trafo_loading,
            hot_spot_c=hot_spot, loss_of_life_h=lol, kpis=increments,
        )
        return next_state, result

    def final_unmet_ev_kwh(self, state: SimState) -> float:
        """Energy still missing at the episode end for EVs that leave after it [kWh].

        Their requirement is capped by :func:`~thermogrid_env.physics.ev.sample_sessions` to what
        the charger can deliver within the episode, so the episode end is their deadline.
        """
        if self.ev_sessions is None:
            return 0.0
        staying = self.ev_sessions.departure_step > self.n_steps
        if not staying.any():
            return 0.0
        return float(ev.unmet_energy_kwh(self.ev_sessions, state.ev_soc)[staying].sum())

    def _check_setpoints(self, sp: Setpoints) -> None:
        c = self.community
        for name, n in (("hp_p_kw", c.n_hp), ("ev_p_kw", c.n_ev), ("pv_curtailment", c.n_pv), ("pv_q_kvar", c.n_pv)):
            arr = getattr(sp, name)
            if arr.shape != (n,):
                raise ConfigError(f"Setpoints.{name} must have shape ({n},), got {arr.shape}.")
            # The sum is NaN or inf exactly when an element is (cheaper than isfinite().all()).
            if not math.isfinite(arr.sum()) and not np.isfinite(arr).all():
                raise ConfigError(f"Setpoints.{name} contains NaN or inf.")
