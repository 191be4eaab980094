"""The OPF of a simulator episode: :class:`OPFData` built from the simulator's own device groups.

One model for simulator and optimiser: the houses' ZOH matrices, the heat pumps' COP regression,
the EVs' sessions and availability rule, the PV systems' capability and the transformer's thermal
model are the groups' (:mod:`thermogrid_env.sim.devices`), the internal gains and irradiance the
same series (:class:`~thermogrid_env.sim.exogenous.Exogenous`), the initial state the simulator's.

* :func:`opf_data_from_episode`: the oracle's perfect-foresight view of the whole episode (or of
  its rest, from any simulator state).
* :func:`opf_data_for_window`: what a *causal* planner (the MPC) can build from a
  :class:`~thermogrid_env.sim.view.ControllerView`: the measured state, the values of the current
  step, forecasts (medians) for the later steps of the window, the tariff, the plugged EVs'
  declared sessions and, optionally, expected sessions of EVs that have not arrived yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermogrid_env.config import RewardWeights
from thermogrid_env.errors import ConfigError
from thermogrid_env.forecast.base import Forecast
from thermogrid_env.forecast.load import LoadForecast
from thermogrid_env.opf.data import EVInputs, HouseInputs, OPFData, PVInputs, TransformerInputs
from thermogrid_env.physics.ev import EVSessions
from thermogrid_env.sim.devices import STC_IRRADIANCE_W_PER_M2, EVFleet
from thermogrid_env.sim.episode import Episode
from thermogrid_env.sim.simulator import SimState
from thermogrid_env.sim.view import ControllerView


def _houses(view_or_episode_houses, x0: np.ndarray, q_int: np.ndarray, pv_per_kwp: np.ndarray,
            t_min_c: float, t_max_c: float) -> HouseInputs:
    g = view_or_episode_houses
    t = q_int.shape[0]
    return HouseInputs(group=g, x0_c=x0, q_int_kw=q_int,
                       g_sol_w_per_m2=np.broadcast_to((pv_per_kwp * STC_IRRADIANCE_W_PER_M2)[:, None], (t, g.n)),
                       t_min_c=np.full((t, g.n), t_min_c), t_max_c=np.full((t, g.n), t_max_c))


def opf_data_from_episode(
    episode: Episode,
    *,
    state: SimState | None = None,
    weights: RewardWeights | None = None,
    aging_form: str = "dynamic",
    network_limits: str = "penalty",
) -> OPFData:
    """The oracle's :class:`OPFData`: the rest of the episode from ``state``, with perfect foresight.

    Args:
        episode: The episode (community, exogenous data, EV fleet).
        state: Simulator state to start from (default: the episode's initial state).
        weights: Objective weights (default: the scenario's reward weights, so the oracle maximises
            the return it is scored with).
        aging_form: Transformer aging term, ``"dynamic"`` or ``"steady-state"``.
        network_limits: ``"penalty"`` (the reward's voltage and overload terms) or ``"hard"``.

    Returns:
        The OPF data over ``scenario.n_steps - state.step`` periods.
    """
    sc, c, exo = episode.scenario, episode.community, episode.exogenous
    if state is None:
        from thermogrid_env.sim.simulator import Simulator  # noqa: PLC0415

        state = Simulator(episode).initial_state()
    k, n_total = int(state.step), exo.n_steps
    if not 0 <= k < n_total:
        raise ConfigError(f"opf_data_from_episode: the state is at step {k}; the episode has {n_total} steps.")
    w = slice(k, n_total)
    fleet = episode.evs
    evs = EVInputs(fleet=fleet, start_step=k, n_periods=n_total - k,
                   e_init_kwh=np.asarray(state.ev_soc, dtype=float) * fleet.sessions.capacity_kwh,
                   e_target_kwh=fleet.target_kwh, deadline_step=fleet.deadline_step(n_total))
    return OPFData(
        feeder=c.feeder, dt_s=float(sc.dt_s), base_p_kw=exo.base_p_kw[w], base_q_kvar=exo.base_q_kvar[w],
        t_ambient_c=exo.t_ambient_c[w], price_import_eur_per_kwh=exo.price_eur_per_kwh[w],
        price_export_eur_per_kwh=exo.feed_in_eur_per_kwh, meter_p_kw=exo.household_p_kw[w],
        houses=_houses(c.houses, np.column_stack([state.t_indoor_c, state.t_envelope_c]),
                       exo.household_p_kw[w][:, c.houses.load], exo.pv_per_kwp[w], sc.comfort.t_min_c,
                       sc.comfort.t_max_c),
        evs=evs, pvs=PVInputs.from_profile(c.pvs, exo.pv_per_kwp[w]),
        transformer=TransformerInputs(group=c.transformer, form=aging_form,
                                      theta_oil0_c=float(state.trafo.theta_oil_c),
                                      d_theta_h1_0_k=float(state.trafo.d_theta_h1_k)),
        weights=weights if weights is not None else sc.reward_weights, network_limits=network_limits,
    )


@dataclass(frozen=True)
class PlannedEVs:
    """Which of the community's EVs a window's OPF plans for (plugged ones, then expected ones).

    Attributes:
        index: ``(m,)`` index of each planned EV among the community's EVs.
        expected: ``(m,)`` whether the session is expected (forecast), not declared.
    """

    index: np.ndarray
    expected: np.ndarray


def opf_data_for_window(
    view: ControllerView,
    n_periods: int,
    *,
    forecast: Forecast | None = None,
    load_forecast: LoadForecast | None = None,
    expected_sessions: EVSessions | None = None,
    expected_index: np.ndarray | None = None,
    weights: RewardWeights | None = None,
    aging_form: str = "dynamic",
    network_limits: str = "penalty",
    perfect_foresight: bool = False,
) -> tuple[OPFData, PlannedEVs]:
    """:class:`OPFData` for the ``n_periods`` steps from ``view.step``, from what a controller may know.

    Step ``k = view.step`` uses the values measured now; later steps the forecasts' medians. An EV
    whose deadline lies after the window must only have, by the window's end, what full-power
    charging after it could not still deliver.

    Args:
        view: The controller view at the window's first step.
        n_periods: Window length, ``1 <= n_periods <= n_steps - k``.
        forecast: Weather forecast issued at ``k`` for at least ``n_periods - 1`` steps (default:
            ``view.forecast(n_periods - 1)``, the environment's forecaster).
        load_forecast: Load forecast issued at ``k``
            (:meth:`~thermogrid_env.forecast.load.LoadForecaster.forecast`); its median replaces the
            base loads and the heat-pump households' internal gains of steps ``k + 1 ..``. ``None``:
            the loads measured now, held (persistence).
        expected_sessions: Sessions of EVs that have not arrived yet, as forecast (e.g.
            :class:`~thermogrid_env.forecast.ev.EVSessionForecaster`); ``expected_index`` their
            indices among the community's EVs. ``None``: plan for the plugged EVs only.
        weights: Objective weights (default: the scenario's reward weights).
        aging_form: Transformer aging term.
        network_limits: ``"penalty"`` or ``"hard"``.
        perfect_foresight: Plan with the episode's true weather, loads and EV sessions (every EV,
            also those still to come) instead of forecasts; needs ``view.episode`` (a view for a
            controller declaring perfect foresight). With a window to the episode's end this is
            the oracle.

    Returns:
        ``(data, planned)``: the OPF data and which EVs it plans for (its EV columns).

    Raises:
        ConfigError: A window outside the episode, or a forecast too short or issued at another step.
    """
    sc, c = view.scenario, view.community
    k, n_total = view.step, view.n_steps
    if not (isinstance(n_periods, (int, np.integer)) and 1 <= n_periods <= n_total - k):
        raise ConfigError(f"Window of {n_periods!r} periods from step {k}: need 1 <= n_periods <= {n_total - k}.")
    n = int(n_periods)
    if perfect_foresight:
        return _perfect_window(view, n, weights, aging_form, network_limits)
    t_amb, pv_per_kwp = np.full(n, view.t_ambient_c), np.full(n, view.pv_per_kwp)
    if n > 1:
        fc = forecast if forecast is not None else view.forecast(n - 1)
        if fc.issue_step != k or fc.horizon_steps < n - 1:
            raise ConfigError(f"The forecast is issued at step {fc.issue_step} for {fc.horizon_steps} steps; "
                              f"the window needs one issued at step {k} for at least {n - 1} steps.")
        mid = fc.t_ambient_c.shape[0] // 2
        t_amb[1:] = fc.t_ambient_c[mid, : n - 1]
        pv_per_kwp[1:] = np.maximum(fc.pv_per_kwp[mid, : n - 1], 0.0)
    load_p = np.repeat(np.asarray(view.load_p_kw)[None, :], n, axis=0)
    load_q = np.repeat(np.asarray(view.load_q_kvar)[None, :], n, axis=0)
    if load_forecast is not None and n > 1:
        if load_forecast.issue_step != k or load_forecast.horizon_steps < n - 1:
            raise ConfigError(f"The load forecast is issued at step {load_forecast.issue_step} for "
                              f"{load_forecast.horizon_steps} steps; the window needs one issued at step {k} "
                              f"for at least {n - 1} steps.")
        p_med, q_med = load_forecast.median()
        load_p[1:], load_q[1:] = p_med[: n - 1], q_med[: n - 1]
    inj = c.feeder.load_injection_matrix()
    evs, planned = _window_evs(view, n, expected_sessions, expected_index)
    data = OPFData(
        feeder=c.feeder, dt_s=float(sc.dt_s), base_p_kw=load_p @ inj, base_q_kvar=load_q @ inj, t_ambient_c=t_amb,
        price_import_eur_per_kwh=view.price_eur_per_kwh[k:k + n], price_export_eur_per_kwh=view.feed_in_eur_per_kwh,
        meter_p_kw=load_p,
        houses=_houses(c.houses, np.column_stack([view.t_indoor_c, view.t_envelope_c]), load_p[:, c.houses.load],
                       pv_per_kwp, sc.comfort.t_min_c, sc.comfort.t_max_c),
        evs=evs, pvs=PVInputs.from_profile(c.pvs, pv_per_kwp),
        transformer=TransformerInputs(group=c.transformer, form=aging_form,
                                      theta_oil0_c=float(view.trafo.theta_oil_c),
                                      d_theta_h1_0_k=float(view.trafo.d_theta_h1_k)),
        weights=weights if weights is not None else sc.reward_weights, network_limits=network_limits,
    )
    return data, planned


def _perfect_window(view: ControllerView, n: int, weights: RewardWeights | None, aging_form: str,
                    network_limits: str) -> tuple[OPFData, PlannedEVs]:
    """The window with the episode's truth (for perfect-foresight planners)."""
    episode = view.episode
    if episode is None:
        raise ConfigError("perfect_foresight=True needs the episode in the view (a controller declaring "
                          "perfect_foresight gets it).")
    from thermogrid_env.sim.simulator import SimState  # noqa: PLC0415

    fleet = episode.evs
    soc = np.where(view.evs.plugged, view.evs.soc, fleet.sessions.soc_arrival)
    state = SimState(step=view.step, t_indoor_c=np.asarray(view.t_indoor_c), t_envelope_c=np.asarray(view.t_envelope_c),
                     ev_soc=np.nan_to_num(soc), trafo=view.trafo)
    full = opf_data_from_episode(episode, state=state, weights=weights, aging_form=aging_form,
                                 network_limits=network_limits)
    k, end = view.step, view.step + n
    w = slice(0, n)
    s = fleet.sessions
    deadline = fleet.deadline_step(view.n_steps)
    steps_after = np.clip(deadline - np.maximum(end, s.arrival_step), 0, None)
    reachable_after = s.efficiency * s.p_max_kw * steps_after * view.dt_h
    target = np.where(deadline > end, np.maximum(fleet.target_kwh - reachable_after, 0.0), fleet.target_kwh)
    h = full.houses
    data = OPFData(
        feeder=full.feeder, dt_s=full.dt_s, base_p_kw=full.base_p_kw[w], base_q_kvar=full.base_q_kvar[w],
        t_ambient_c=full.t_ambient_c[w], price_import_eur_per_kwh=full.price_import_eur_per_kwh[w],
        price_export_eur_per_kwh=full.price_export_eur_per_kwh[w], meter_p_kw=full.meter_p_kw[w],
        houses=HouseInputs(group=h.group, x0_c=h.x0_c, q_int_kw=h.q_int_kw[w], g_sol_w_per_m2=h.g_sol_w_per_m2[w],
                           t_min_c=h.t_min_c[w], t_max_c=h.t_max_c[w]),
        evs=EVInputs(fleet=fleet, start_step=k, n_periods=n, e_init_kwh=full.evs.e_init_kwh, e_target_kwh=target,
                     deadline_step=np.minimum(deadline, end)),
        pvs=PVInputs(group=full.pvs.group, p_avail_kw=full.pvs.p_avail_kw[w]), transformer=full.transformer,
        weights=full.weights, network_limits=network_limits,
    )
    return data, PlannedEVs(index=np.arange(fleet.n), expected=np.zeros(fleet.n, dtype=bool))


def _window_evs(view: ControllerView, n: int, expected: EVSessions | None,
                expected_index: np.ndarray | None) -> tuple[EVInputs, PlannedEVs]:
    """The EV sessions a causal planner knows: the plugged EVs' declarations, then expected ones."""
    c, d, k = view.community, view.evs, view.step
    plugged = np.flatnonzero(d.plugged)
    idx = [plugged]
    fields = {
        "arrival_step": [np.full(plugged.size, k, dtype=np.int64)],
        "departure_step": [d.departure_step[plugged]],
        "capacity_kwh": [d.capacity_kwh[plugged]],
        "soc_arrival": [d.soc[plugged]],
        "soc_target": [d.target_kwh[plugged] / d.capacity_kwh[plugged]],
        "p_max_kw": [d.p_max_kw[plugged]],
        "efficiency": [d.efficiency[plugged]],
        "v2g": [d.p_dis_max_kw[plugged] > 0],
        "soc_min": [np.nan_to_num(d.soc_min[plugged])],
    }
    if expected is not None and expected.n_evs:
        if expected_index is None or len(expected_index) != expected.n_evs:
            raise ConfigError("opf_data_for_window: expected_index must give the EV index of every expected session.")
        idx.append(np.asarray(expected_index, dtype=np.int64))
        for name, parts in fields.items():
            parts.append(np.asarray(getattr(expected, name)))
    index = np.concatenate(idx)
    if not index.size:
        return EVInputs.empty(n), PlannedEVs(index=index, expected=np.zeros(0, dtype=bool))
    arrays = {name: np.concatenate(parts) for name, parts in fields.items()}
    sessions = EVSessions(**arrays)
    fleet = EVFleet(load=c.ev_load[index], bus=c.ev_bus[index], sessions=sessions)
    deadline = np.minimum(sessions.departure_step, view.n_steps)
    target = sessions.soc_target * sessions.capacity_kwh
    end = k + n
    later = deadline > end
    # Charging still possible after the window: plugged steps from max(end, arrival) to the deadline.
    steps_after = np.clip(deadline - np.maximum(end, sessions.arrival_step), 0, None)
    reachable_after = sessions.efficiency * sessions.p_max_kw * steps_after * view.dt_h
    target = np.where(later, np.maximum(target - reachable_after, 0.0), target)
    e_init = sessions.soc_arrival * sessions.capacity_kwh
    evs = EVInputs(fleet=fleet, start_step=k, n_periods=n, e_init_kwh=e_init, e_target_kwh=target,
                   deadline_step=np.minimum(deadline, end))
    return evs, PlannedEVs(index=index, expected=np.arange(index.size) >= plugged.size)


__all__ = ["PlannedEVs", "opf_data_for_window", "opf_data_from_episode"]
