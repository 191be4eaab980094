"""One episode: a community, a start day, its exogenous data and EV sessions, drawn from a scenario."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from thermogrid_env.config import Scenario
from thermogrid_env.physics import ev
from thermogrid_env.sim.community import Community, sample_community
from thermogrid_env.sim.devices import EVFleet
from thermogrid_env.sim.exogenous import Exogenous, build_exogenous, sample_start_day


@dataclass(frozen=True, kw_only=True, eq=False)
class Episode:
    """Everything exogenous to the controllers for one episode (perfect-foresight information).

    Only a controller that declares perfect foresight (the oracle) may read it; causal controllers
    get a :class:`~thermogrid_env.sim.view.ControllerView` instead.

    Attributes:
        scenario: The scenario.
        community: The assets.
        start_day_local: First day (Europe/Berlin).
        exogenous: Loads, weather, prices.
        evs: The EV fleet with this episode's sessions (empty without EVs).
    """

    scenario: Scenario
    community: Community
    start_day_local: pd.Timestamp
    exogenous: Exogenous
    evs: EVFleet

    @property
    def time_utc(self) -> pd.DatetimeIndex:
        """``(T,)`` start of each step (UTC)."""
        return self.exogenous.time_utc

    def simulator(self, powerflow_backend: str = "auto"):  # noqa: ANN201 - avoids an import cycle
        """A simulator of this episode (:class:`~thermogrid_env.sim.simulator.Simulator`)."""
        from thermogrid_env.sim.simulator import Simulator  # noqa: PLC0415

        return Simulator(self, powerflow_backend=powerflow_backend)


@lru_cache(maxsize=2)
def _charging_stats(v2g: bool) -> ev.HomeChargingStats:
    """The home-charging statistics of a scenario (built once: a reset draws sessions every episode)."""
    return ev.HomeChargingStats(v2g_share=1.0 if v2g else 0.0)


def sample_ev_fleet(scenario: Scenario, community: Community, rng: np.random.Generator) -> EVFleet:
    """Draw the EV sessions of one episode for the community's EV owners (all randomness from ``rng``)."""
    if not community.n_ev:
        return EVFleet.empty()
    sessions = ev.sample_sessions(rng, community.n_ev, scenario.n_steps, float(scenario.dt_s),
                                  start_hour=float(scenario.start_hour_local),
                                  stats=_charging_stats(bool(scenario.ev_v2g)))
    return EVFleet(load=community.ev_load, bus=community.ev_bus, sessions=sessions)


def sample_episode(scenario: Scenario, rng: np.random.Generator, community: Community | None = None) -> Episode:
    """Draw an episode (all randomness from ``rng``).

    Args:
        scenario: The scenario.
        rng: The generator (e.g. ``env.np_random``).
        community: Keep this community instead of drawing one (e.g. ``scenario.community_seed``).
    """
    community = community if community is not None else sample_community(scenario, rng)
    start = sample_start_day(scenario, rng)
    exogenous = build_exogenous(community.feeder, scenario, start, heat_pump_loads=community.houses.load)
    return Episode(scenario=scenario, community=community, start_day_local=start, exogenous=exogenous,
                   evs=sample_ev_fleet(scenario, community, rng))
