"""What a controller may know at a step: a typed, read-only view built by the environment.

The information rule: a causal controller knows

* the static assets (:class:`~thermogrid_env.sim.community.Community`: feeder, houses and their heat
  pumps, PV systems, which households own an EV, the transformer) and the scenario;
* the clock of the episode and the tariff (a time-of-use tariff is known in advance);
* the measured state now: indoor temperatures (and the houses' envelope temperatures, which a
  deployed controller would estimate from the indoor ones with the same model), the transformer's
  thermal state, the state of charge of the EVs that are plugged in;
* the values of the current step measured at its start: ambient temperature, PV output per kWp,
  each meter's base load;
* what the EVs' charging apps report once an EV is plugged in: its declared departure and the
  energy it needs by then (nothing about EVs that have not arrived);
* the previous step's measurements (:class:`~thermogrid_env.sim.simulator.StepResult`);
* forecasts of the weather and prices from the environment's forecaster (causal by default,
  :class:`~thermogrid_env.forecast.empirical.SeasonalEmpiricalForecaster`).

It knows no future EV arrivals, no true future loads or weather. Only a controller that declares
perfect foresight (``perfect_foresight = True``, the oracle) gets the episode itself in
:attr:`ControllerView.episode`. Arrays are read-only copies: a controller cannot change the
simulation through its view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from thermogrid_env.config import Scenario
from thermogrid_env.physics.transformer import TransformerThermalState
from thermogrid_env.sim.community import Community

if TYPE_CHECKING:  # pragma: no cover
    from thermogrid_env.forecast.base import Forecast
    from thermogrid_env.sim.episode import Episode
    from thermogrid_env.sim.simulator import StepResult


def _ro(x: Any, dtype: Any = float) -> np.ndarray:
    arr = np.array(x, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, kw_only=True, eq=False)
class EVDeclarations:
    """The EVs as their charging apps report them at a step (``n_ev`` entries; NaN or -1 where unknown).

    Attributes:
        plugged: Plugged in during this step.
        departed: Was plugged in earlier in the episode and has left (it does not come back).
        soc: State of charge of plugged EVs [-].
        departure_step: Declared departure (first step the EV is gone) of plugged EVs, else -1.
        deadline_step: Step at whose start the need is due: the departure, or the episode end.
        target_kwh: Declared battery energy needed at the deadline [kWh] of plugged EVs.
        capacity_kwh, efficiency, p_max_kw, p_dis_max_kw, soc_min: Battery and charger of plugged
            EVs (``p_dis_max_kw`` > 0 only for V2G).
    """

    plugged: np.ndarray
    departed: np.ndarray
    soc: np.ndarray
    departure_step: np.ndarray
    deadline_step: np.ndarray
    target_kwh: np.ndarray
    capacity_kwh: np.ndarray
    efficiency: np.ndarray
    p_max_kw: np.ndarray
    p_dis_max_kw: np.ndarray
    soc_min: np.ndarray

    @property
    def n(self) -> int:
        """Number of EVs."""
        return int(self.plugged.shape[0])

    @property
    def energy_kwh(self) -> np.ndarray:
        """Battery energy of plugged EVs [kWh] (NaN otherwise)."""
        return self.soc * self.capacity_kwh


@dataclass(frozen=True, kw_only=True, eq=False)
class ControllerView:
    """Everything a controller may know at the start of a step (module docstring).

    Attributes:
        scenario: The scenario (tariff, comfort band, limits, step).
        community: The static assets.
        step: Index of the step about to be played; ``n_steps``: episode length.
        time_utc: ``(T,)`` start of every step of the episode (the clock).
        hour_local: ``(T,)`` local hour of day of every step.
        price_eur_per_kwh: ``(T,)`` the tariff's price of every step; ``feed_in_eur_per_kwh``.
        t_ambient_c: Ambient temperature now [°C]; ``pv_per_kwp``: PV output per kWp now [kW/kWp].
        pv_available_kw: ``(n_pv,)`` available PV power now [kW].
        load_p_kw, load_q_kvar: ``(n_load,)`` base load of each meter now [kW], [kvar].
        t_indoor_c, t_envelope_c: ``(n_hp,)`` house temperatures [°C].
        trafo: Transformer thermal state.
        evs: The EVs' declarations.
        last: Measurements of the previous step (``None`` at the first step).
        episode: The episode, only for perfect-foresight controllers (else ``None``).
    """

    scenario: Scenario
    community: Community
    step: int
    n_steps: int
    time_utc: pd.DatetimeIndex
    hour_local: np.ndarray
    price_eur_per_kwh: np.ndarray
    feed_in_eur_per_kwh: float
    t_ambient_c: float
    pv_per_kwp: float
    pv_available_kw: np.ndarray
    load_p_kw: np.ndarray
    load_q_kvar: np.ndarray
    t_indoor_c: np.ndarray
    t_envelope_c: np.ndarray
    trafo: TransformerThermalState
    evs: EVDeclarations
    last: StepResult | None
    episode: Episode | None
    _forecast: Callable[[int, int], Forecast]

    @property
    def dt_h(self) -> float:
        """Step length [h]."""
        return self.scenario.dt_h

    def forecast(self, horizon_steps: int) -> Forecast:
        """The environment forecaster's forecast issued now for the next ``horizon_steps`` steps."""
        return self._forecast(self.step, horizon_steps)


def build_view(episode: Episode, state: Any, last: StepResult | None, forecast: Callable[[int, int], Forecast],
               *, perfect_foresight: bool = False) -> ControllerView:
    """The view of an episode at a simulator state (what the environment hands to controllers).

    Args:
        episode: The episode being played.
        state: The simulator state at the start of the step (:class:`~thermogrid_env.sim.simulator.SimState`).
        last: The previous step's measurements, or ``None``.
        forecast: ``(issue_step, horizon_steps) -> Forecast`` of the environment's forecaster.
        perfect_foresight: Include the episode (only for controllers that declare perfect foresight).
    """
    k = int(state.step)
    sc, exo, c = episode.scenario, episode.exogenous, episode.community
    n_steps = exo.n_steps
    kk = min(k, n_steps - 1)
    s = episode.evs.sessions
    plugged = (s.arrival_step <= k) & (k < s.departure_step)
    nan = np.where(plugged, 1.0, np.nan)
    deadline = np.minimum(s.departure_step, n_steps)
    evs = EVDeclarations(
        plugged=_ro(plugged, bool), departed=_ro(s.departure_step <= k, bool),
        soc=_ro(np.asarray(state.ev_soc) * nan), departure_step=_ro(np.where(plugged, s.departure_step, -1), np.int64),
        deadline_step=_ro(np.where(plugged, deadline, -1), np.int64),
        target_kwh=_ro(s.soc_target * s.capacity_kwh * nan), capacity_kwh=_ro(s.capacity_kwh * nan),
        efficiency=_ro(s.efficiency * nan), p_max_kw=_ro(s.p_max_kw * nan),
        p_dis_max_kw=_ro(np.where(s.v2g, s.p_max_kw, 0.0) * nan), soc_min=_ro(s.soc_min * nan),
    )
    return ControllerView(
        scenario=sc, community=c, step=k, n_steps=n_steps, time_utc=exo.time_utc, hour_local=_ro(exo.hour_local),
        price_eur_per_kwh=_ro(exo.price_eur_per_kwh), feed_in_eur_per_kwh=float(exo.feed_in_eur_per_kwh),
        t_ambient_c=float(exo.t_ambient_c[kk]), pv_per_kwp=float(exo.pv_per_kwp[kk]),
        pv_available_kw=_ro(c.pvs.available_kw(exo.pv_per_kwp[kk:kk + 1])[0]),
        load_p_kw=_ro(exo.household_p_kw[kk]), load_q_kvar=_ro(exo.household_q_kvar[kk]),
        t_indoor_c=_ro(state.t_indoor_c), t_envelope_c=_ro(state.t_envelope_c), trafo=state.trafo,
        evs=evs, last=last, episode=episode if perfect_foresight else None, _forecast=forecast,
    )


__all__ = ["ControllerView", "EVDeclarations", "build_view"]
