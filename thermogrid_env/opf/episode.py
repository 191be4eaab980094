"""The oracle's view of a simulator episode: :class:`OPFData` built from the same objects.

One model for simulator and optimizer: the houses use the simulator's ZOH matrices
(:class:`~thermogrid_env.physics.building.BuildingModel`), the heat pumps its COP regression, the
EVs its sessions, the PV its capability and profile, the internal gains and irradiance the same
series (:class:`~thermogrid_env.sim.exogenous.Exogenous`), and the initial state (houses, EV
batteries, transformer temperatures) is the simulator's. :func:`opf_data_from_episode` is the
oracle's perfect-foresight view of the whole episode; :func:`opf_data_for_window` a window of it
from any simulator state, optionally with forecast weather and prices (model-predictive control).
"""

from __future__ import annotations

import numpy as np

from thermogrid_env.config import RewardWeights
from thermogrid_env.errors import ConfigError
from thermogrid_env.forecast.base import Forecast
from thermogrid_env.forecast.load import LoadForecast
from thermogrid_env.opf.data import ObjectiveWeights, OPFData, from_devices
from thermogrid_env.sim.episode import Episode
from thermogrid_env.sim.exogenous import STC_IRRADIANCE_W_PER_M2
from thermogrid_env.sim.simulator import HP_POWER_FACTOR, SimState, Simulator


def weights_from_reward(reward: RewardWeights) -> ObjectiveWeights:
    """Objective weights equal to the environment's reward weights.

    The reward's cost [EUR], losses [kWh], discomfort [K·h], EV shortfall [kWh], curtailment [kWh]
    and aging [h] terms map one to one; its voltage and overload terms are hard constraints of the
    OPF (voltage band, ampacity, transformer rating) instead of penalties.
    """
    return ObjectiveWeights(
        energy=reward.cost,
        losses_eur_per_kwh=reward.losses,
        comfort_eur_per_kh=reward.discomfort,
        ev_shortfall_eur_per_kwh=reward.ev_unmet,
        curtailment_eur_per_kwh=reward.curtailment,
        aging_eur_per_h=reward.aging,
    )


def opf_data_from_episode(
    episode: Episode,
    *,
    simulator: Simulator | None = None,
    state: SimState | None = None,
    weights: ObjectiveWeights | None = None,
    aging_form: str = "dynamic",
) -> OPFData:
    """Build the oracle's :class:`OPFData` for a whole episode.

    Args:
        episode: The episode (community, exogenous data, EV sessions).
        simulator: Its simulator (default: a new one); supplies the discretised houses.
        state: Initial state (default: ``simulator.initial_state()``).
        weights: Objective weights (default: :func:`weights_from_reward`, the environment's own
            reward weights, so the oracle maximises the reward it is scored with).
        aging_form: Transformer aging term, ``"dynamic"`` or ``"steady-state"``.

    Returns:
        The OPF data over ``scenario.n_steps`` periods.
    """
    sim = simulator if simulator is not None else episode.simulator()
    state = state if state is not None else sim.initial_state()
    return opf_data_for_window(episode, state, episode.scenario.n_steps - state.step, simulator=sim,
                               weights=weights, aging_form=aging_form)


def opf_data_for_window(
    episode: Episode,
    state: SimState,
    n_periods: int,
    *,
    forecast: Forecast | None = None,
    load_forecast: LoadForecast | None = None,
    simulator: Simulator | None = None,
    weights: ObjectiveWeights | None = None,
    aging_form: str = "dynamic",
) -> OPFData:
    """:class:`OPFData` for the ``n_periods`` steps from ``state.step``, started from ``state``.

    The window starts in the simulator's state (house temperatures, EV batteries, transformer
    temperatures). An EV leaving after the window (and before the episode's end, where the
    simulator books what is missing) must only have the energy by the window's end that still lets
    it reach its target charging at full power from then on; the target itself applies at
    departures inside the window.

    Args:
        episode: The episode.
        state: Simulator state at the window's first step ``k = state.step``.
        n_periods: Window length, ``1 <= n_periods <= n_steps - k``.
        forecast: A forecast issued at step ``k`` (:meth:`~thermogrid_env.forecast.Forecaster.forecast`
            with at least ``n_periods - 1`` steps): its median (the middle quantile) replaces the
            ambient temperature, PV output (and irradiance) and price of steps ``k + 1 ..``; step
            ``k`` itself is observed. ``None``: the episode's data (perfect foresight).
        load_forecast: A load forecast issued at step ``k``
            (:meth:`~thermogrid_env.forecast.load.LoadForecaster.forecast`, at least
            ``n_periods - 1`` steps): its median replaces the base loads of steps ``k + 1 ..`` and
            the heat-pump households' internal gains (their own consumption). ``None``: the
            episode's loads.
        simulator: The episode's simulator (default: a new one).
        weights: Objective weights (default: the environment's reward weights).
        aging_form: Transformer aging term, ``"dynamic"`` or ``"steady-state"``.

    Raises:
        ConfigError: A window outside the episode, or a forecast that is too short or issued at
            another step.
    """
    sim = simulator if simulator is not None else episode.simulator()
    sc, c, exo = episode.scenario, episode.community, episode.exogenous
    k, n_total = int(state.step), sc.n_steps
    if not (isinstance(n_periods, (int, np.integer)) and 1 <= n_periods <= n_total - k):
        raise ConfigError(f"Window of {n_periods!r} periods from step {k}: need 1 <= n_periods <= {n_total - k}.")
    window = slice(k, k + n_periods)
    t_amb, pv_per_kwp, price = (np.array(x[window], dtype=float)
                                for x in (exo.t_ambient_c, exo.pv_per_kwp, exo.price_eur_per_kwh))
    if forecast is not None and n_periods > 1:
        if forecast.issue_step != k or forecast.horizon_steps < n_periods - 1:
            raise ConfigError(f"The forecast is issued at step {forecast.issue_step} for {forecast.horizon_steps} steps; "
                              f"the window needs one issued at step {k} for at least {n_periods - 1} steps.")
        mid = forecast.t_ambient_c.shape[0] // 2
        t_amb[1:] = forecast.t_ambient_c[mid, : n_periods - 1]
        pv_per_kwp[1:] = np.maximum(forecast.pv_per_kwp[mid, : n_periods - 1], 0.0)
        price[1:] = forecast.price_eur_per_kwh[mid, : n_periods - 1]
    base_p, base_q = np.array(exo.base_p_kw[window]), np.array(exo.base_q_kvar[window])
    household_p = np.array(exo.household_p_kw[window])
    if load_forecast is not None and n_periods > 1:
        if load_forecast.issue_step != k or load_forecast.horizon_steps < n_periods - 1:
            raise ConfigError(f"The load forecast is issued at step {load_forecast.issue_step} for "
                              f"{load_forecast.horizon_steps} steps; the window needs one issued at step {k} "
                              f"for at least {n_periods - 1} steps.")
        p_med, q_med = (x[: n_periods - 1] for x in load_forecast.median())
        inj = c.feeder.load_injection_matrix()
        base_p[1:], base_q[1:], household_p[1:] = p_med @ inj, q_med @ inj, p_med
    hp_kwargs = {}
    if c.n_hp:
        hp_kwargs = dict(
            house_bus=c.hp_bus,
            building=sim.building_model,
            heat_pump=c.heat_pumps,
            x0_c=np.column_stack([state.t_indoor_c, state.t_envelope_c]),
            q_int_kw=household_p[:, c.hp_load],
            g_sol_w_per_m2=pv_per_kwp * STC_IRRADIANCE_W_PER_M2,
            comfort_c=(sc.comfort.t_min_c, sc.comfort.t_max_c),
            hp_q_per_p=float(np.tan(np.arccos(HP_POWER_FACTOR))),
        )
    ev_kwargs = {}
    if c.n_ev:
        s = episode.ev_sessions
        e_now = np.asarray(state.ev_soc, dtype=float) * s.capacity_kwh
        target = s.soc_target * s.capacity_kwh
        end = k + n_periods
        deadline = np.minimum(s.departure_step, n_total)  # where the simulator books what is missing
        later = (deadline > end) & (s.arrival_step < deadline)
        # Charging still possible after the window: plugged steps from max(end, arrival) to the deadline.
        steps_after = np.clip(deadline - np.maximum(end, s.arrival_step), 0, None)
        reachable_after = s.efficiency * s.p_max_kw * steps_after * (sc.dt_s / 3600.0)
        target = np.where(later, np.minimum(target, np.maximum(target - reachable_after, 0.0)), target)
        ev_kwargs = dict(ev_bus=c.ev_bus, ev_sessions=s, start_step=k, ev_e_init_kwh=e_now,
                         ev_e_target_kwh=target)
    pv_kwargs = (
        dict(pv_bus=c.pv_bus, pv=c.pv_systems, pv_profile_kw_per_kwp=pv_per_kwp, pv_q_control=True)
        if c.n_pv else {}
    )
    return from_devices(
        c.feeder,
        dt_s=float(sc.dt_s),
        base_p_kw=base_p,
        base_q_kvar=base_q,
        t_ambient_c=t_amb,
        price_import_eur_per_kwh=price,
        price_export_eur_per_kwh=exo.feed_in_eur_per_kwh,
        transformer=c.transformer_params,
        aging_form=aging_form,
        transformer_state=state.trafo,
        weights=weights if weights is not None else weights_from_reward(sc.reward_weights),
        **hp_kwargs,
        **ev_kwargs,
        **pv_kwargs,
    )
