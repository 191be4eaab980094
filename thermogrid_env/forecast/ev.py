"""Expected EV sessions of EVs that have not arrived yet, learnt from training days.

A causal planner (the MPC) knows the sessions of plugged EVs from their charging apps, but not when
the others will arrive, how long they stay and what they will need. :class:`EVSessionForecaster`
learns the typical session from episodes of the training seeds
(:data:`~thermogrid_env.splits.TRAIN_SEEDS`) of a scenario: the median arrival and departure step
(relative to the episode start, which is at the same local hour every day), the median energy
need, and the median battery and charger. At a step it proposes, for every EV that is neither
plugged in nor gone, that median session (arriving no earlier than the next step).
"""

from __future__ import annotations

import numpy as np

from thermogrid_env.config import Scenario
from thermogrid_env.errors import ConfigError
from thermogrid_env.physics.ev import EVSessions
from thermogrid_env.splits import check_training_seed


class EVSessionForecaster:
    """Median sessions of the EVs still to come (module docstring).

    Args:
        n_training_episodes: Training episodes (seeds ``0 .. n - 1``) the medians come from.
    """

    #: Fitted on training seeds only; at a step it reads only which EVs are plugged or gone.
    causal = True

    def __init__(self, n_training_episodes: int = 50) -> None:
        if not (isinstance(n_training_episodes, int) and n_training_episodes >= 1):
            raise ConfigError(f"n_training_episodes must be an integer >= 1, got {n_training_episodes!r}.")
        self.n_training_episodes = n_training_episodes
        self.median: dict[str, float] | None = None
        self._scenario: Scenario | None = None

    def fit(self, scenario: Scenario) -> EVSessionForecaster:
        """Learn the median session from the scenario's training episodes.

        Raises:
            ConfigError: The scenario has no EVs.
        """
        from thermogrid_env.sim.community import sample_community  # noqa: PLC0415
        from thermogrid_env.sim.episode import sample_ev_fleet  # noqa: PLC0415
        from thermogrid_env.sim.exogenous import sample_start_day  # noqa: PLC0415

        cols: dict[str, list[np.ndarray]] = {k: [] for k in ("arrival_step", "departure_step", "need_kwh",
                                                             "capacity_kwh", "p_max_kw", "efficiency", "soc_target")}
        for seed in range(self.n_training_episodes):
            rng = np.random.default_rng(check_training_seed(seed))
            community = sample_community(scenario, rng)  # the same draws as sample_episode
            sample_start_day(scenario, rng)
            s = sample_ev_fleet(scenario, community, rng).sessions
            if not s.n_evs:
                raise ConfigError(f"Scenario {scenario.name!r} has no EVs: nothing to forecast.")
            cols["arrival_step"].append(s.arrival_step)
            cols["departure_step"].append(s.departure_step)
            cols["need_kwh"].append(s.energy_needed_kwh)
            cols["capacity_kwh"].append(s.capacity_kwh)
            cols["p_max_kw"].append(s.p_max_kw)
            cols["efficiency"].append(s.efficiency)
            cols["soc_target"].append(s.soc_target)
        self.median = {k: float(np.median(np.concatenate(v))) for k, v in cols.items()}
        self._scenario = scenario
        return self

    def expected(self, view) -> tuple[EVSessions, np.ndarray]:  # noqa: ANN001 - ControllerView
        """Expected sessions of the EVs that are neither plugged in nor gone, and their EV indices.

        Raises:
            ConfigError: Not fitted, or fitted on another scenario.
        """
        if self.median is None:
            raise ConfigError("EVSessionForecaster: call fit(scenario) first.")
        if self._scenario != view.scenario:
            raise ConfigError("EVSessionForecaster was fitted on another scenario; fit it on this one.")
        d, k, med = view.evs, view.step, self.median
        index = np.flatnonzero(~d.plugged & ~d.departed)
        n = index.size
        arrival = np.full(n, max(int(round(med["arrival_step"])), k + 1), dtype=np.int64)
        departure = np.maximum(np.full(n, int(round(med["departure_step"])), dtype=np.int64), arrival + 1)
        cap = med["capacity_kwh"]
        target = med["soc_target"]
        soc_arrival = max(target - med["need_kwh"] / cap, 0.0)
        sessions = EVSessions(arrival_step=arrival, departure_step=departure, capacity_kwh=np.full(n, cap),
                              soc_arrival=np.full(n, soc_arrival), soc_target=np.full(n, target),
                              p_max_kw=np.full(n, med["p_max_kw"]), efficiency=np.full(n, med["efficiency"]))
        return sessions, index


__all__ = ["EVSessionForecaster"]
