"""The per-household multi-agent view over the central environment."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import thermogrid_env  # noqa: F401 - registers the ids
from thermogrid_env.envs import MultiAgentView, ThermoGridEnv
from thermogrid_env.envs.wrappers import AGENT_LOCAL_OBS
from thermogrid_env.errors import ConfigError


@pytest.fixture()
def view() -> MultiAgentView:
    env = MultiAgentView(gym.make("ThermoGrid-v0"))
    env.reset(seed=4)
    return env


def test_agents_and_spaces(view: MultiAgentView) -> None:
    base = view.unwrapped
    assert len(view.agents) == int(base.episode.community.feeder.load_is_household.sum()) == 32
    obs, _ = view.reset(seed=5)
    assert set(obs) == set(view.agents)
    assert view.observation_space.contains(obs)
    sizes = {o.shape for o in obs.values()}
    assert len(sizes) == 1  # homogeneous agents (parameter sharing)


def test_action_round_trip(view: MultiAgentView) -> None:
    base = view.unwrapped
    central = np.random.default_rng(0).uniform(-1, 1, base.action_space.shape).astype(np.float32)
    per_agent = view.agent_actions(central)
    assert view.action_space.contains(per_agent)
    np.testing.assert_array_equal(view.central_action(per_agent), central)
    # absent devices' entries are ignored
    noisy = {a: np.where(act == 0, 0.9, act).astype(np.float32) for a, act in per_agent.items()}
    np.testing.assert_array_equal(view.central_action(noisy), central)


def test_local_observations_match_the_central_one(view: MultiAgentView) -> None:
    base = view.unwrapped
    obs, reward, terminated, truncated, info = view.step(view.action_space.sample())
    assert info["agent_rewards"][view.agents[0]] == reward
    central = base._observation()
    spec, community = base.observation_spec, base.episode.community
    hp_house = f"house_{community.houses.load[3]}"
    local = obs[hp_house][-len(AGENT_LOCAL_OBS):]
    assert local[AGENT_LOCAL_OBS.index("has_hp")] == 1.0
    assert local[AGENT_LOCAL_OBS.index("t_indoor_c")] == central[spec.index("t_indoor_c", "hp:3")]
    bus = community.houses.bus[3]
    assert local[AGENT_LOCAL_OBS.index("v_pu")] == central[spec.index("v_pu", f"bus:{bus}")]
    no_ev = [f"house_{i}" for i in view.household_load if i not in set(community.ev_load.tolist())]
    for agent in no_ev:
        loc = obs[agent][-len(AGENT_LOCAL_OBS):]
        assert loc[AGENT_LOCAL_OBS.index("has_ev")] == 0.0 and loc[AGENT_LOCAL_OBS.index("ev_soc")] == 0.0
    ev_house = f"house_{community.ev_load[0]}"
    loc = obs[ev_house][-len(AGENT_LOCAL_OBS):]
    assert loc[AGENT_LOCAL_OBS.index("ev_plugged")] == central[spec.index("ev_plugged", "ev:0")]


def test_step_applies_agent_actions(view: MultiAgentView) -> None:
    base = view.unwrapped
    actions = {a: np.array([1.0, -1.0, -1.0, 0.0], np.float32) for a in view.agents}
    view.step(actions)
    np.testing.assert_allclose(base.last_result.hp_p_kw, base.action_spec.hp_p_rated_kw)
    assert np.all(base.last_result.ev_p_kw == 0.0)
    with pytest.raises(ConfigError, match="Missing action"):
        view.step({})
    with pytest.raises(ConfigError, match="shape"):
        view.step({a: np.zeros(3) for a in view.agents})


def test_gymnasium_checker_on_the_view() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checker notes that the env is wrapped
        check_env(MultiAgentView(ThermoGridEnv()), skip_render_check=True)


def test_unobserved_household_bus_raises() -> None:
    with pytest.raises(ConfigError, match="observed_buses"):
        MultiAgentView(ThermoGridEnv(observed_buses=[1]))
    with pytest.raises(ConfigError):
        MultiAgentView(gym.make("CartPole-v1"))
