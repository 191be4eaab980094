"""A multi-agent view of the central environment: one agent per household.

:class:`MultiAgentView` wraps :class:`~thermogrid_env.envs.thermogrid_env.ThermoGridEnv` into a
Gymnasium env with ``Dict`` spaces keyed by agent (``"house_<load index>"``, every household of the
feeder). All agents are **homogeneous**, so one policy can be shared among them (parameter
sharing), and the spaces do not change when a new community is drawn at reset:

* action of an agent: ``Box(-1, 1, (4,), float32)`` = ``[hp, ev, pv curtailment, pv q]`` with the
  central mapping (:mod:`thermogrid_env.envs.actions`); entries of devices the household does not
  own are ignored;
* observation of an agent: the global entries of the central observation (clock, weather, tariff,
  forecasts, feeder base load, transformer), then the household's own entries, each preceded by
  an ownership flag (0/1) and 0 where the device is absent:
  ``[has_hp, t_indoor | has_ev, ev_soc, ev_plugged, ev_time_to_departure, ev_charge_time_needed |
  has_pv | v_pu of its bus]``.

The reward is the central (team) reward; ``info["agent_rewards"]`` repeats it per agent. A
household may own several devices of a kind only if the community says so; this view supports one
of each (the community samples at most one per household), else it raises ``ConfigError``.
The household's bus must be among the environment's ``observed_buses``.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from thermogrid_env.errors import ConfigError

#: Per-agent action layout.
AGENT_ACTIONS: tuple[str, ...] = ("hp", "ev", "pv_curtailment", "pv_q")
#: Per-agent local observation layout (after the global entries).
AGENT_LOCAL_OBS: tuple[str, ...] = (
    "has_hp", "t_indoor_c", "has_ev", "ev_soc", "ev_plugged", "ev_time_to_departure_h",
    "ev_charge_time_needed_h", "has_pv", "v_pu",
)
_GLOBAL_COMPONENTS = ("clock", "weather", "tariff", "feeder", "transformer")
_LOCAL_BLOCKS = {  # local obs name -> central observation block
    "t_indoor_c": "t_indoor", "ev_soc": "ev_soc", "ev_plugged": "ev_plugged",
    "ev_time_to_departure_h": "ev_time_to_departure_h", "ev_charge_time_needed_h": "ev_charge_time_needed_h",
}


class MultiAgentView(gym.Wrapper):
    """Per-household observation and action dicts over the central ThermoGrid environment.

    Args:
        env: A ThermoGrid environment (possibly wrapped, e.g. by ``gymnasium.make``).

    Raises:
        ConfigError: The wrapped env is not a ThermoGrid env, or a household bus is not observed.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        base = env.unwrapped
        if not hasattr(base, "observation_spec") or not hasattr(base, "scenario"):
            raise ConfigError("MultiAgentView wraps a ThermoGridEnv.")
        spec = base.observation_spec
        from thermogrid_env.network.library import load_feeder  # noqa: PLC0415

        feeder = load_feeder(base.scenario.feeder)
        self.household_load = np.flatnonzero(feeder.load_is_household)
        self.agents: tuple[str, ...] = tuple(f"house_{i}" for i in self.household_load)
        bus_pos = {int(b): i for i, b in enumerate(spec.observed_buses)}
        household_bus = feeder.load_bus[self.household_load]
        missing = sorted({int(b) for b in household_bus} - set(bus_pos))
        if missing:
            raise ConfigError(f"MultiAgentView needs the households' buses in observed_buses; missing {missing}.")
        self._global_idx = np.array([i for i, e in enumerate(spec.entries) if e.component in _GLOBAL_COMPONENTS])
        self._v_idx = np.array([spec.slices()["v"].start + bus_pos[int(b)] for b in household_bus])
        n_global, n_local = len(self._global_idx), len(AGENT_LOCAL_OBS)
        low, high = spec.space().low, spec.space().high
        agent_low = np.concatenate([low[self._global_idx], np.full(n_local, -5.0, np.float32)])
        agent_high = np.concatenate([high[self._global_idx], np.full(n_local, 5.0, np.float32)])
        box = spaces.Box(agent_low, agent_high, dtype=np.float32)
        self.observation_space = spaces.Dict({a: box for a in self.agents})
        self.action_space = spaces.Dict(
            {a: spaces.Box(-1.0, 1.0, (len(AGENT_ACTIONS),), np.float32) for a in self.agents}
        )
        self._n_global = n_global
        self._gather: np.ndarray | None = None  # (n_agents, n_obs_agent) indices into padded obs
        self._scatter: tuple[np.ndarray, np.ndarray] | None = None  # (agent-action flat idx, central idx)
        self._central_size = base.action_space.shape[0]

    # ------------------------------------------------------------------ mapping
    def _bind(self) -> None:
        """Build the index maps of the current community (after every reset)."""
        base = self.env.unwrapped
        community, spec = base.episode.community, base.observation_spec
        n_agents, n_obs = len(self.agents), spec.size
        zero, one = n_obs, n_obs + 1  # positions of the constants 0 and 1 in the padded observation
        slices = spec.slices()
        row_of_load = {int(load): r for r, load in enumerate(self.household_load)}
        local = np.full((n_agents, len(AGENT_LOCAL_OBS)), zero, dtype=np.int64)
        local[:, AGENT_LOCAL_OBS.index("v_pu")] = self._v_idx
        act_sl = base.action_spec.slices()
        agent_pos, central_pos = [], []
        for kind, loads in (("hp", community.houses.load), ("ev", community.ev_load), ("pv", community.pvs.load)):
            rows = np.array([row_of_load[int(x)] for x in loads], dtype=np.int64)
            if len(set(rows.tolist())) != len(rows):
                raise ConfigError(f"MultiAgentView supports at most one {kind} per household.")
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
        self._scatter = (
            np.concatenate(agent_pos) if agent_pos else np.zeros(0, np.int64),
            np.concatenate(central_pos) if central_pos else np.zeros(0, np.int64),
        )

    def agent_observations(self, central_obs: np.ndarray) -> dict[str, np.ndarray]:
        """Split a central observation into the agents' observations."""
        padded = np.concatenate([central_obs, np.array([0.0, 1.0], dtype=np.float32)])
        rows = padded[self._gather]
        return dict(zip(self.agents, rows))

    def central_action(self, actions: dict[str, np.ndarray]) -> np.ndarray:
        """Assemble the central action from the agents' actions (absent devices are ignored).

        Raises:
            ConfigError: An agent is missing or an action has the wrong shape.
        """
        try:
            stacked = np.stack([np.asarray(actions[a], dtype=np.float64) for a in self.agents])
        except KeyError as exc:
            raise ConfigError(f"Missing action of agent {exc.args[0]!r}; every agent in .agents must act.") from exc
        except ValueError as exc:
            raise ConfigError(f"Every agent action must have shape ({len(AGENT_ACTIONS)},).") from exc
        if stacked.shape != (len(self.agents), len(AGENT_ACTIONS)):
            raise ConfigError(f"Every agent action must have shape ({len(AGENT_ACTIONS)},), got {stacked.shape[1:]}.")
        central = np.zeros(self._central_size, dtype=np.float64)
        agent_pos, central_pos = self._scatter
        central[central_pos] = stacked.ravel()[agent_pos]
        return central

    def agent_actions(self, central: np.ndarray) -> dict[str, np.ndarray]:
        """The agents' actions that :meth:`central_action` maps to ``central`` (absent devices: 0)."""
        flat = np.zeros(len(self.agents) * len(AGENT_ACTIONS), dtype=np.float32)
        agent_pos, central_pos = self._scatter
        flat[agent_pos] = np.asarray(central, dtype=np.float32)[central_pos]
        return dict(zip(self.agents, flat.reshape(len(self.agents), len(AGENT_ACTIONS))))

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the central env and return the agents' observations."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._bind()
        return self.agent_observations(obs), info

    def step(
        self, action: dict[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], SupportsFloat, bool, bool, dict[str, Any]]:
        """Step with the agents' actions; the reward is the team reward."""
        if self._gather is None:
            raise ConfigError("Call reset() before step().")
        obs, reward, terminated, truncated, info = self.env.step(self.central_action(action))
        info["agent_rewards"] = dict.fromkeys(self.agents, float(reward))
        return self.agent_observations(obs), reward, terminated, truncated, info
