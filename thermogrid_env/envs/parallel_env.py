"""The multi-agent environment: one PettingZoo agent per household (``ParallelEnv``).

``thermogrid_env.parallel_env(scenario="winter-high-der", **env_kwargs)`` returns a
:class:`ThermoGridParallelEnv` over the central :class:`~thermogrid_env.envs.thermogrid_env.ThermoGridEnv`:
every household of the feeder is an agent (``"house_<load index>"``), also the ones that own no
device in the current episode, so the agent set and the spaces never change when a new community is
drawn. All agents are **homogeneous**, so one policy can be shared among them (parameter sharing):

* action of an agent: ``Box(-1, 1, (4,), float32)`` = ``[hp, ev, pv curtailment, pv q]`` with the
  central mapping (:mod:`thermogrid_env.envs.actions`); entries of devices the household does not
  own are ignored;
* observation of an agent: the global entries of the central observation (clock, weather, tariff,
  forecasts, feeder base load, transformer), then the household's own entries, each preceded by
  an ownership flag (0/1) and 0 where the device is absent:
  ``[has_hp, t_indoor | has_ev, ev_soc, ev_plugged, ev_time_to_departure, ev_charge_time_needed |
  has_pv | v_pu of its bus]``.

Rewards: every agent gets the shared team reward (the central reward). ``infos[agent]`` holds the
household's own terms of the step: ``cost_eur`` (its meter's bill), ``discomfort_kh``,
``ev_unmet_kwh`` and ``curtailment_kwh`` of its devices, and ``team_reward``. When the episode ends
(truncation after a day, or termination by a voltage collapse) every agent is done and
``agents`` becomes empty, as PettingZoo's parallel API asks. The household's bus must be among the
environment's ``observed_buses`` (the default: all). Needs the ``[marl]`` extra (pettingzoo).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
from gymnasium import spaces

from thermogrid_env.errors import ConfigError, import_optional
from thermogrid_env.sim import costs

_pz = import_optional("pettingzoo", "marl")
ParallelEnv = _pz.ParallelEnv

#: Per-agent action layout.
AGENT_ACTIONS: tuple[str, ...] = ("hp", "ev", "pv_curtailment", "pv_q")
#: Per-agent local observation layout (after the global entries).
AGENT_LOCAL_OBS: tuple[str, ...] = (
    "has_hp", "t_indoor_c", "has_ev", "ev_soc", "ev_plugged", "ev_time_to_departure_h",
    "ev_charge_time_needed_h", "has_pv", "v_pu",
)
#: The household's own terms in each agent's info.
AGENT_TERMS: tuple[str, ...] = ("cost_eur", "discomfort_kh", "ev_unmet_kwh", "curtailment_kwh")
_GLOBAL_COMPONENTS = ("clock", "weather", "tariff", "feeder", "transformer")
_LOCAL_BLOCKS = {  # local obs name -> central observation block
    "t_indoor_c": "t_indoor", "ev_soc": "ev_soc", "ev_plugged": "ev_plugged",
    "ev_time_to_departure_h": "ev_time_to_departure_h", "ev_charge_time_needed_h": "ev_charge_time_needed_h",
}


class ThermoGridParallelEnv(ParallelEnv):
    """Per-household agents over the central ThermoGrid environment (module docstring).

    Args:
        scenario: Preset name or :class:`~thermogrid_env.config.Scenario`.
        **env_kwargs: Further arguments of :class:`~thermogrid_env.envs.thermogrid_env.ThermoGridEnv`.

    Raises:
        ConfigError: A household bus is not observed.
    """

    metadata = {"name": "thermogrid_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, scenario: Any = "winter-high-der", **env_kwargs: Any) -> None:
        from thermogrid_env.envs.thermogrid_env import ThermoGridEnv  # noqa: PLC0415

        self.env = ThermoGridEnv(scenario, **env_kwargs)
        base = self.env
        spec = base.observation_spec
        feeder = base.simulator.feeder if base.simulator is not None else None
        from thermogrid_env.network.library import load_feeder  # noqa: PLC0415

        feeder = feeder or load_feeder(base.scenario.feeder)
        self.household_load = np.flatnonzero(feeder.load_is_household)
        self.possible_agents: list[str] = [f"house_{i}" for i in self.household_load]
        self.agents: list[str] = []
        self.render_mode = None
        bus_pos = {int(b): i for i, b in enumerate(spec.observed_buses)}
        household_bus = feeder.load_bus[self.household_load]
        missing = sorted({int(b) for b in household_bus} - set(bus_pos))
        if missing:
            raise ConfigError(f"The multi-agent env needs the households' buses in observed_buses; missing {missing}.")
        self._global_idx = np.array([i for i, e in enumerate(spec.entries) if e.component in _GLOBAL_COMPONENTS])
        self._v_idx = np.array([spec.slices()["v"].start + bus_pos[int(b)] for b in household_bus])
        n_local = len(AGENT_LOCAL_OBS)
        low, high = spec.space().low, spec.space().high
        self._obs_space = spaces.Box(np.concatenate([low[self._global_idx], np.full(n_local, -5.0, np.float32)]),
                                     np.concatenate([high[self._global_idx], np.full(n_local, 5.0, np.float32)]),
                                     dtype=np.float32)
        self._act_space = spaces.Box(-1.0, 1.0, (len(AGENT_ACTIONS),), np.float32)
        self._n_global = len(self._global_idx)
        self._central_size = base.action_space.shape[0]
        self._gather: np.ndarray | None = None
        self._scatter: tuple[np.ndarray, np.ndarray] | None = None
        self._rows: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ spaces
    @functools.lru_cache(maxsize=None)  # noqa: B019 - one space object per agent, as PettingZoo asks
    def observation_space(self, agent: str) -> spaces.Box:
        """The observation space of an agent (the same for every agent)."""
        return self._obs_space

    @functools.lru_cache(maxsize=None)  # noqa: B019
    def action_space(self, agent: str) -> spaces.Box:
        """The action space of an agent (the same for every agent)."""
        return self._act_space

    # ------------------------------------------------------------------ mapping
    def _bind(self) -> None:
        """Build the index maps of the current community (after every reset)."""
        base = self.env
        community, spec = base.episode.community, base.observation_spec
        n_agents = len(self.possible_agents)
        zero, one = spec.size, spec.size + 1  # positions of the constants 0 and 1 in the padded observation
        slices = spec.slices()
        row_of_load = {int(load): r for r, load in enumerate(self.household_load)}
        local = np.full((n_agents, len(AGENT_LOCAL_OBS)), zero, dtype=np.int64)
        local[:, AGENT_LOCAL_OBS.index("v_pu")] = self._v_idx
        act_sl = base.action_spec.slices()
        agent_pos, central_pos = [], []
        for kind, loads in (("hp", community.houses.load), ("ev", community.ev_load), ("pv", community.pvs.load)):
            rows = np.array([row_of_load[int(x)] for x in loads], dtype=np.int64)
            if len(set(rows.tolist())) != len(rows):
                raise ConfigError(f"The multi-agent env supports at most one {kind} per household.")
            self._rows[kind] = rows
            if not len(rows):
                continue
            local[rows, AGENT_LOCAL_OBS.index(f"has_{kind}")] = one
            devices = np.arange(len(rows))
            for name, block in _LOCAL_BLOCKS.items():
                if block.startswith(kind) or (kind == "hp" and block == "t_indoor"):
                    local[rows, AGENT_LOCAL_OBS.index(name)] = slices[block].start + devices
            blocks = {"hp": (("hp", 0),), "ev": (("ev", 1),), "pv": (("pv_curtailment", 2), ("pv_q", 3))}[kind]
            for block, col in blocks:
                agent_pos.append(rows * len(AGENT_ACTIONS) + col)
                central_pos.append(act_sl[block].start + devices)
        glob = np.broadcast_to(self._global_idx, (n_agents, self._n_global))
        self._gather = np.concatenate([glob, local], axis=1)
        self._scatter = (np.concatenate(agent_pos) if agent_pos else np.zeros(0, np.int64),
                         np.concatenate(central_pos) if central_pos else np.zeros(0, np.int64))

    def agent_observations(self, central_obs: np.ndarray) -> dict[str, np.ndarray]:
        """Split a central observation into the agents' observations."""
        padded = np.concatenate([central_obs, np.array([0.0, 1.0], dtype=np.float32)])
        return dict(zip(self.possible_agents, padded[self._gather]))

    def central_action(self, actions: dict[str, np.ndarray]) -> np.ndarray:
        """Assemble the central action from the agents' actions (absent devices are ignored).

        Raises:
            ConfigError: An agent is missing or an action has the wrong shape.
        """
        try:
            stacked = np.stack([np.asarray(actions[a], dtype=np.float64) for a in self.possible_agents])
        except KeyError as exc:
            raise ConfigError(f"Missing action of agent {exc.args[0]!r}; every agent in .agents must act.") from exc
        except ValueError as exc:
            raise ConfigError(f"Every agent action must have shape ({len(AGENT_ACTIONS)},).") from exc
        if stacked.shape != (len(self.possible_agents), len(AGENT_ACTIONS)):
            raise ConfigError(f"Every agent action must have shape ({len(AGENT_ACTIONS)},), got {stacked.shape[1:]}.")
        central = np.zeros(self._central_size, dtype=np.float64)
        agent_pos, central_pos = self._scatter
        central[central_pos] = stacked.ravel()[agent_pos]
        return central

    def agent_actions(self, central: np.ndarray) -> dict[str, np.ndarray]:
        """The agents' actions that :meth:`central_action` maps to ``central`` (absent devices: 0)."""
        flat = np.zeros(len(self.possible_agents) * len(AGENT_ACTIONS), dtype=np.float32)
        agent_pos, central_pos = self._scatter
        flat[agent_pos] = np.asarray(central, dtype=np.float32)[central_pos]
        return dict(zip(self.possible_agents, flat.reshape(len(self.possible_agents), len(AGENT_ACTIONS))))

    def _agent_terms(self) -> np.ndarray:
        """``(n_agents, 4)`` the households' own terms of the last step (:data:`AGENT_TERMS`)."""
        base, res = self.env, self.env.last_result
        sc, exo = base.scenario, base.episode.exogenous
        dt_h, k = sc.dt_h, base.step_index - 1
        out = np.zeros((len(self.possible_agents), len(AGENT_TERMS)))
        meter = res.meter_p_kw[self.household_load]  # each household's own meter
        out[:, 0] = (res.price_eur_per_kwh * np.maximum(meter, 0.0)
                     - exo.feed_in_eur_per_kwh * np.maximum(-meter, 0.0)) * dt_h
        if len(self._rows["hp"]):
            dev = costs.comfort_deviation_k(res.t_indoor_c, sc.comfort.t_min_c, sc.comfort.t_max_c)
            out[self._rows["hp"], 1] = dev * dt_h
        if len(self._rows["ev"]):
            s = base.episode.evs.sessions
            due = base.episode.evs.deadline_step(base.simulator.n_steps) == k + 1
            missing = np.maximum(s.soc_target - base.sim_state.ev_soc, 0.0) * s.capacity_kwh
            out[self._rows["ev"], 2] = np.where(due, missing, 0.0)
        if len(self._rows["pv"]):
            out[self._rows["pv"], 3] = (res.pv_available_kw - res.pv_p_kw) * dt_h
        return out

    # ------------------------------------------------------------------ PettingZoo API
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        """Reset the central env; every household is an agent again.

        ``options={"episode": Episode}`` replays an episode; other keys are ignored with a warning
        (PettingZoo's API test passes arbitrary options).
        """
        options = dict(options or {})
        unknown = sorted(set(options) - {"episode"})
        if unknown:
            warnings.warn(f"parallel_env.reset ignores the options {unknown} (the only option is 'episode').",
                          UserWarning, stacklevel=2)
        obs, info = self.env.reset(seed=seed, options={k: v for k, v in options.items() if k == "episode"} or None)
        self._bind()
        self.agents = list(self.possible_agents)
        return self.agent_observations(obs), {a: dict(info) for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]) -> tuple[dict, dict, dict, dict, dict]:
        """Step with the agents' actions; every agent gets the team reward (module docstring).

        Raises:
            ConfigError: Before ``reset()``, after the episode's end, or a missing/malformed action.
        """
        if self._gather is None or not self.agents:
            raise ConfigError("Call reset() before step() (the episode has ended, or never started).")
        obs, reward, terminated, truncated, info = self.env.step(self.central_action(actions))
        own = self._agent_terms()
        agents = list(self.agents)
        observations = self.agent_observations(obs)
        rewards = dict.fromkeys(agents, float(reward))
        terminations = dict.fromkeys(agents, bool(terminated))
        truncations = dict.fromkeys(agents, bool(truncated))
        infos = {a: {"team_reward": float(reward), **dict(zip(AGENT_TERMS, map(float, own[i])))}
                 for i, a in enumerate(agents)}
        if terminated and "termination_reason" in info:
            for a in agents:
                infos[a]["termination_reason"] = info["termination_reason"]
        if terminated or truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """The central observation (the global state a centralised critic may use)."""
        return self.env._observation()

    def close(self) -> None:
        """Nothing to release."""


def parallel_env(scenario: Any = "winter-high-der", **env_kwargs: Any) -> ThermoGridParallelEnv:
    """A PettingZoo ``ParallelEnv`` with one agent per household (module docstring)."""
    return ThermoGridParallelEnv(scenario, **env_kwargs)


__all__ = ["AGENT_ACTIONS", "AGENT_LOCAL_OBS", "AGENT_TERMS", "ThermoGridParallelEnv", "parallel_env"]
