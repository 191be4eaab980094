"""One episode: a community, a start day, its exogenous data and EV sessions, drawn from a scenario."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from thermogrid_env.config import Scenario
from thermogrid_env.physics import ev
from thermogrid_env.sim.community import Community, sample_community
from thermogrid_env.sim.exogenous import Exogenous, build_exogenous, sample_start_day
from thermogrid_env.sim.simulator import Simulator


@dataclass(frozen=True, kw_only=True, eq=False)
class Episode:
    """Everything exogenous to the controllers for one episode (perfect-foresight information).

    Attributes:
        scenario: The scenario.
        community: The assets.
        start_day_local: First day (Europe/Berlin).
        exogenous: Loads, weather, prices.
        ev_sessions: EV sessions (``None`` without EVs).
    """

    scenario: Scenario
    community: Community
    start_day_local: pd.Timestamp
    exogenous: Exogenous
    ev_sessions: ev.EVSessions | None

    def simulator(self, powerflow_backend: str = "auto") -> Simulator:
        """A simulator of this episode."""
        return Simulator(self.scenario, self.community, self.exogenous, self.ev_sessions, powerflow_backend)


def sample_episode(scenario: Scenario, rng: np.random.Generator, community: Community | None = None) -> Episode:
    """Draw an episode (all randomness from ``rng``).

    Args:
        scenario: The scenario.
        rng: The generator (e.g. ``env.np_random``).
        community: Keep this community instead of drawing one (e.g. ``scenario.community_seed``).
    """
    community = community if community is not None else sample_community(scenario, rng)
    start = sample_start_day(scenario, rng)
    exogenous = build_exogenous(community.feeder, scenario, start, heat_pump_loads=community.hp_load)
    sessions = (
        ev.sample_sessions(rng, community.n_ev, scenario.n_steps, float(scenario.dt_s),
                           start_hour=float(scenario.start_hour_local),
                           stats=ev.HomeChargingStats(v2g_share=1.0 if scenario.ev_v2g else 0.0))
        if community.n_ev else None
    )
    return Episode(scenario=scenario, community=community, start_day_local=start, exogenous=exogenous,
                   ev_sessions=sessions)
