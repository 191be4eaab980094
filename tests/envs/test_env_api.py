"""Gymnasium and stable-baselines3 API conformance of the registered ThermoGrid environments."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import thermogrid_env  # noqa: F401 - registers the ids
from thermogrid_env.config import PRESETS, get_scenario
from thermogrid_env.envs import ThermoGridEnv, env_ids, register_envs
from thermogrid_env.errors import ConfigError

IDS = sorted(env_ids())


def test_every_preset_has_an_id() -> None:
    assert "ThermoGrid-v0" in gym.registry
    for name in PRESETS:
        spec = gym.spec(f"ThermoGrid-{name}-v0")
        assert spec.kwargs == {"scenario": name}
        assert spec.max_episode_steps is None  # the env truncates itself at its scenario's end
    assert gym.spec("ThermoGrid-v0").kwargs == {"scenario": "winter-high-der"}
    assert register_envs() == list(env_ids())  # a second registration is a no-op, no warning


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning fails the test
        check_env(env, skip_render_check=True)
    env.close()


def test_gymnasium_check_env_render() -> None:
    env = gym.make("ThermoGrid-v0", render_mode="rgb_array").unwrapped
    check_env(env)


def test_sb3_check_env() -> None:
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = gym.make("ThermoGrid-v0").unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_checker.check_env(env, warn=True)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec(mode: str) -> None:
    envs = gym.make_vec("ThermoGrid-v0", num_envs=2, vectorization_mode=mode)
    try:
        obs, _ = envs.reset(seed=[1, 2])
        assert obs.shape == (2, *envs.single_observation_space.shape)
        assert not np.array_equal(obs[0], obs[1])
        for _ in range(3):
            obs, rew, term, trunc, info = envs.step(envs.action_space.sample())
        assert rew.shape == (2,) and not term.any() and not trunc.any()
        assert envs.single_observation_space.contains(obs[0])
        assert "reward_terms" in info and "kpi" in info
    finally:
        envs.close()


def test_bad_config_raises_at_construction() -> None:
    with pytest.raises(ConfigError, match="Unknown scenario"):
        gym.make("ThermoGrid-v0", scenario="nope")
    with pytest.raises(ConfigError):
        ThermoGridEnv(forecast_horizon_h=-1)
    with pytest.raises(ConfigError):
        ThermoGridEnv(observed_buses=[0, 999])
    with pytest.raises(ConfigError):
        ThermoGridEnv(render_mode="human")
    with pytest.raises(ConfigError):
        ThermoGridEnv(forecaster=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        ThermoGridEnv(scenario=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="powerflow_backend"):
        ThermoGridEnv(powerflow_backend="gpu")
    with pytest.raises(ConfigError, match="forecast_horizon_h"):
        ThermoGridEnv(forecast_horizon_h=True)  # type: ignore[arg-type]


def test_step_before_reset_and_bad_options() -> None:
    env = ThermoGridEnv()
    with pytest.raises(ConfigError, match="reset"):
        env.step(env.action_space.sample())
    with pytest.raises(ConfigError, match="Unknown reset options"):
        env.reset(seed=0, options={"start": 1})
    with pytest.raises(ConfigError, match="Episode"):
        env.reset(seed=0, options={"episode": "x"})


def test_render_rgb_array() -> None:
    env = ThermoGridEnv(render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    env.step(env.action_space.sample())
    img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.shape == first.shape and img.min() < 255  # something is drawn
    with pytest.warns(UserWarning, match="render_mode"):
        assert ThermoGridEnv().render() is None  # no render mode: warn and return None


def test_custom_scenario_and_observed_buses() -> None:
    sc = get_scenario("winter-low-der", episode_days=2, dt_s=450, ev_v2g=True)
    env = ThermoGridEnv(sc, observed_buses=[3, 7, 9], forecast_horizon_h=0)
    obs, _ = env.reset(seed=0)
    spec = env.observation_spec
    assert obs.shape == env.observation_space.shape == (spec.size,)
    assert [e.component for e in spec.entries if e.quantity == "v_pu"] == ["bus:3", "bus:7", "bus:9"]
    assert not any(e.lead_h for e in spec.entries)
    n = 0
    truncated = False
    while not truncated:
        obs, _, _, truncated, _ = env.step(env.action_space.sample())
        n += 1
    assert n == sc.n_steps == 384
