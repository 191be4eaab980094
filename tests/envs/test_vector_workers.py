"""The batched environment over worker processes: the same episodes as in one process, errors,
closing (its ``DISABLED`` autoreset is tested with the one-process environment's, test_vector_env.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import thermogrid_env  # noqa: F401 - registers the ids
from thermogrid_env.envs import ThermoGridVectorEnv, ThermoGridWorkerVectorEnv, make_vector_env
from thermogrid_env.envs.vector_workers import merge_infos
from thermogrid_env.errors import ConfigError


def _assert_same(a, b, path: str = "info") -> None:
    if isinstance(a, dict):
        assert list(a) == list(b), path  # the same keys in the same order
        for key in a:
            _assert_same(a[key], b[key], f"{path}/{key}")
    else:
        assert np.asarray(a).dtype == np.asarray(b).dtype, path
        assert np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind == "f"), path


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_workers_play_the_episodes_of_one_process(mode) -> None:
    """5 sub-environments over 3 processes (blocks of 2, 1 and 2) across two autoresets: observations,
    rewards, end flags and every info entry equal the one-process environment's."""
    n, steps = 5, 200
    one = gym.make_vec("ThermoGrid-winter-low-der-v0", num_envs=n, autoreset_mode=mode)
    many = gym.make_vec("ThermoGrid-winter-low-der-v0", num_envs=n, num_workers=3, autoreset_mode=mode)
    try:
        assert isinstance(one, ThermoGridVectorEnv) and isinstance(many, ThermoGridWorkerVectorEnv)
        assert many._blocks == [(0, 2), (2, 3), (3, 5)] and many.metadata["autoreset_mode"] == mode
        assert many.observation_space == one.observation_space and many.action_space == one.action_space
        actions = np.random.default_rng(0).uniform(-1.2, 1.2, (steps, n) + one.single_action_space.shape)
        for a, b in zip(one.reset(seed=3), many.reset(seed=3)):
            _assert_same(a, b)
        ends = 0
        for act in actions:
            ref, got = one.step(act), many.step(act)
            for a, b in zip(ref, got):
                _assert_same(a, b)
            ends += int(ref[3].sum())
        assert ends == 2 * n  # every sub-environment ended twice
    finally:
        many.close()


def test_errors_and_close() -> None:
    with pytest.raises(ConfigError, match="num_workers"):
        make_vector_env(2, num_workers=3)
    with pytest.raises(ConfigError, match="num_workers"):
        ThermoGridWorkerVectorEnv(2, num_workers=0)
    with pytest.raises(ConfigError, match="mp_context"):
        make_vector_env(2, num_workers=2, mp_context="teleport")
    with pytest.raises(ConfigError, match="action_mode"):  # checked before a process starts
        make_vector_env(2, num_workers=2, action_mode="bogus")
    venv = make_vector_env(3, "winter-low-der", num_workers=2)
    try:
        venv.reset(seed=1)
        bad = np.zeros((3,) + venv.single_action_space.shape)
        bad[2, 0] = np.inf
        with pytest.raises(ConfigError, match=r"\[2\]"):
            venv.step(bad)
        with pytest.raises(ConfigError, match="shape"):
            venv.step(bad[:2])
        with pytest.raises(ConfigError, match="seeds"):
            venv.reset(seed=[1, 2])
        venv.step(np.zeros_like(bad))
    finally:
        venv.close()
    venv = make_vector_env(3, "winter-low-der", num_workers=2)
    try:
        venv.reset(seed=1)
        bad = np.zeros((3,) + venv.single_action_space.shape)
        venv._send([("step", None)])  # a step whose answers are never read (as if Ctrl-C hit it)
        with pytest.raises(ConfigError, match="interrupted"):
            venv.step(bad)
    finally:
        venv.close()
    venv = make_vector_env(3, "winter-low-der", num_workers=2)
    try:
        venv.reset(seed=1)
        venv._procs[0].kill()  # a worker that dies is reported, not waited for
        venv._procs[0].join()
        with pytest.raises(RuntimeError, match="died"):
            venv.step(np.zeros((3,) + venv.single_action_space.shape))
    finally:
        venv.close()
    assert all(not p.is_alive() for p in venv._procs)
    venv.close()  # twice is fine


def test_merge_infos_fills_blocks_without_the_key() -> None:
    parts = [{"a": np.array([1.0, 2.0]), "d": {"x": np.array([True, False])}}, {"a": np.array([3.0])}]
    out = merge_infos(parts, [(0, 2), (2, 3)], 3)
    np.testing.assert_array_equal(out["a"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(out["d"]["x"], [True, False, False])


def test_sb3_adapter_over_workers() -> None:
    pytest.importorskip("stable_baselines3")
    from baselines.rl_vec import SB3VectorEnv

    ref, env = SB3VectorEnv("winter-low-der", 4, seed=0), SB3VectorEnv("winter-low-der", 4, seed=0, num_workers=2)
    try:
        assert isinstance(env.venv, ThermoGridWorkerVectorEnv)
        np.testing.assert_array_equal(env.reset(), ref.reset())
        actions = np.random.default_rng(1).uniform(-1, 1, (100, 4) + env.action_space.shape).astype(np.float32)
        for a in actions:  # across the episodes' end (96 steps): SB3's same-step reset
            ref.step_async(a)
            env.step_async(a)
            for x, y in zip(ref.step_wait()[:3], env.step_wait()[:3]):
                np.testing.assert_array_equal(x, y)
        assert env.episode_returns == ref.episode_returns and len(env.episode_returns) == 4
    finally:
        env.close()


def test_spawned_workers_with_a_forecaster() -> None:
    """``spawn`` workers (what macOS and Windows use) get their arguments pickled, a forecaster too."""
    from thermogrid_env.forecast import NoisyForecaster

    kwargs = {"forecaster": NoisyForecaster()}
    one = make_vector_env(2, "winter-low-der", **kwargs)
    many = make_vector_env(2, "winter-low-der", num_workers=2, mp_context="spawn", **kwargs)
    try:
        np.testing.assert_array_equal(one.reset(seed=4)[0], many.reset(seed=4)[0])
        a = np.full((2,) + one.single_action_space.shape, 0.3)
        for _ in range(3):
            for x, y in zip(one.step(a)[:4], many.step(a)[:4]):
                np.testing.assert_array_equal(x, y)
    finally:
        many.close()
