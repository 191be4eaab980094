"""The natively batched vector environment: identical to N single environments, Gymnasium's vector
semantics, and the SB3 adapter."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import thermogrid_env  # noqa: F401 - registers the ids
from thermogrid_env.envs import ThermoGridEnv, ThermoGridVectorEnv, make_vector_env
from thermogrid_env.envs.registration import env_ids
from thermogrid_env.errors import ConfigError
from thermogrid_env.forecast import NoisyForecaster, PerfectForecaster
from thermogrid_env.sim.episode import sample_episode
from thermogrid_env.sim.simulator import Simulator
from thermogrid_env.config import get_scenario


def _play_single(envs: list[ThermoGridEnv], actions: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """N single envs with Gymnasium's next-step autoreset: observations and rewards."""
    obs = [e.reset(seed=seed + i)[0] for i, e in enumerate(envs)]
    done = [False] * len(envs)
    out_obs, out_rew = [np.stack(obs)], []
    for a in actions:
        rows, rews = [], []
        for i, e in enumerate(envs):
            if done[i]:
                o, r = e.reset()[0], 0.0
                done[i] = False
            else:
                o, r, term, trunc, _ = e.step(a[i])
                done[i] = term or trunc
            rows.append(o)
            rews.append(r)
        out_obs.append(np.stack(rows))
        out_rew.append(rews)
    return np.stack(out_obs), np.array(out_rew)


@pytest.mark.parametrize("forecaster", [None, PerfectForecaster, NoisyForecaster])
def test_identical_to_single_envs_across_autoresets(forecaster) -> None:
    n, steps, seed = 3, 200, 11  # two episode ends per sub-environment
    kwargs = {} if forecaster is None else {"forecaster": forecaster()}
    venv = gym.make_vec("ThermoGrid-winter-low-der-v0", num_envs=n, **kwargs)
    assert isinstance(venv, ThermoGridVectorEnv) and venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1.2, 1.2, (steps, n) + venv.single_action_space.shape).astype(np.float32)
    obs0, info = venv.reset(seed=seed)
    vec_obs, vec_rew = [obs0], []
    for a in actions:
        o, r, term, trunc, info = venv.step(a)
        vec_obs.append(o)
        vec_rew.append(r)
        assert venv.observation_space.contains(o)
    single_obs, single_rew = _play_single([ThermoGridEnv("winter-low-der", **kwargs) for _ in range(n)], actions, seed)
    np.testing.assert_allclose(np.stack(vec_obs), single_obs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.array(vec_rew), single_rew, rtol=1e-12, atol=1e-9)


def test_parallel_powerflow_gives_the_same_numbers() -> None:
    pytest.importorskip("numba")
    n = 64  # PARALLEL_MIN_BATCH: the threaded sweep is used
    envs = [ThermoGridVectorEnv(n, "winter-low-der", parallel_powerflow=p) for p in (False, True)]
    assert envs[1].parallel_powerflow and envs[1].reset(seed=3)[0] is not None
    envs[0].reset(seed=3)
    assert envs[1].simulator.powerflow.parallel and not envs[0].simulator.powerflow.parallel
    a = np.random.default_rng(1).uniform(-1, 1, (12, n) + envs[0].single_action_space.shape).astype(np.float32)
    for x in a:
        (o0, r0, *_), (o1, r1, *_) = envs[0].step(x), envs[1].step(x)
        np.testing.assert_array_equal(o0, o1)
        np.testing.assert_array_equal(r0, r1)
    with pytest.raises(ConfigError, match="parallel_powerflow"):
        ThermoGridVectorEnv(2, parallel_powerflow="yes")


def test_same_step_autoreset_and_infos() -> None:
    n = 2
    venv = ThermoGridVectorEnv(n, "winter-low-der", autoreset_mode="SameStep")
    single = [ThermoGridEnv("winter-low-der") for _ in range(n)]
    venv.reset(seed=[5, 9])
    for i, e in enumerate(single):
        e.reset(seed=[5, 9][i])
    a = np.zeros((n,) + venv.single_action_space.shape, np.float32)
    for k in range(96):
        obs, rew, term, trunc, info = venv.step(a)
        ref = [e.step(a[i]) for i, e in enumerate(single)]
        assert set(info["kpi"]) == set(ref[0][4]["kpi"]) and info["kpi"]["cost_eur"].shape == (n,)
        np.testing.assert_allclose(info["reward_terms_raw"]["cost"], [r[4]["reward_terms_raw"]["cost"] for r in ref])
    assert trunc.all() and not term.any() and info["_final_obs"].all()
    np.testing.assert_array_equal(info["final_obs"], np.stack([r[0] for r in ref]))  # the episodes' last obs
    for i in range(n):
        np.testing.assert_allclose(info["episode_kpi"]["cost_eur"][i], ref[i][4]["episode_kpi"]["cost_eur"])
    np.testing.assert_array_equal(obs, np.stack([e.reset()[0] for e in single]))  # already the next episodes


@pytest.mark.parametrize("num_workers", [1, 2])
def test_disabled_autoreset_needs_a_reset_mask(num_workers) -> None:
    venv = make_vector_env(2, "winter-low-der", num_workers=num_workers, autoreset_mode=AutoresetMode.DISABLED)
    try:
        venv.reset(seed=0)
        a = np.zeros((2,) + venv.single_action_space.shape, np.float32)
        for _ in range(96):
            venv.step(a)
        with pytest.raises(ConfigError, match="reset_mask"):
            venv.step(a)
        obs, info = venv.reset(options={"reset_mask": np.array([False, True])})
        assert info["_start_day_local"].tolist() == [False, True]
        with pytest.raises(ConfigError, match=r"\[0\]"):  # the first still has to be reset
            venv.step(a)
        venv.reset(options={"reset_mask": np.array([True, False])})
        venv.step(a)
        venv.reset(options={"reset_mask": np.zeros(2, dtype=bool)})  # resets nothing
    finally:
        venv.close()


def test_seeds_and_errors() -> None:
    venv = ThermoGridVectorEnv(3)
    a, _ = venv.reset(seed=7)
    b, _ = venv.reset(seed=[7, 8, 9])
    np.testing.assert_array_equal(a, b)
    single = ThermoGridEnv().reset(seed=8)[0]
    np.testing.assert_array_equal(a[1], single)
    bad = np.zeros((3,) + venv.single_action_space.shape)
    bad[1, 0] = np.nan
    with pytest.raises(ConfigError, match=r"\[1\]"):
        venv.step(bad)
    with pytest.raises(ConfigError, match="shape"):
        venv.step(np.zeros((2,) + venv.single_action_space.shape))
    with pytest.raises(ConfigError, match="seeds"):
        venv.reset(seed=[1, 2])
    with pytest.raises(ConfigError, match="num_envs"):
        ThermoGridVectorEnv(0)


def test_episodes_of_different_scenarios_cannot_share_a_batch() -> None:
    rng = np.random.default_rng(0)
    a = sample_episode(get_scenario("winter-high-der"), rng)
    b = sample_episode(get_scenario("summer-high-pv"), rng)
    c = sample_episode(get_scenario("winter-high-der-rural"), rng)
    for other in (b, c):
        with pytest.raises(ConfigError, match="batch"):
            Simulator([a, other])


def test_a_collapse_ends_only_its_sub_environment() -> None:
    """All heat pumps and EVs at full power with PV absorbing on the rural feeder: no solution within
    the day; that sub-environment terminates with the collapse penalty, the other one goes on."""
    venv = ThermoGridVectorEnv(2, "winter-high-der-rural")
    venv.reset(seed=0)
    n_pv = venv.template.action_spec.n_pv if venv.template.action_spec else None
    a = np.zeros((2,) + venv.single_action_space.shape, np.float32)
    a[0] = 1.0
    if n_pv:
        a[0, -n_pv:] = -1.0
    else:
        a[0, -venv.simulator.n_pv:] = -1.0
    for _ in range(96):
        obs, rew, term, trunc, info = venv.step(a)
        assert np.isfinite(obs).all() and np.isfinite(rew).all()
        if term[0]:
            assert not term[1] and info["collapse"][0] and rew[0] < -1e4
            assert info["_episode_kpi"][0] and not info["_episode_kpi"][1]
            return
    pytest.fail("expected a voltage collapse on the rural feeder at full power")


def test_every_registered_id_has_a_vector_entry_point() -> None:
    for env_id in env_ids():
        spec = gym.spec(env_id)
        assert spec.vector_entry_point is not None
    venv = gym.make_vec("ThermoGrid-summer-high-pv-v0", num_envs=2, vectorization_mode="sync")
    assert not isinstance(venv, ThermoGridVectorEnv)  # Gymnasium's own on request


def test_sb3_vec_env_adapter_trains_and_reports_episodes() -> None:
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from baselines.rl_vec import SB3VectorEnv, episode_returns

    env = SB3VectorEnv("winter-low-der", num_envs=4, seed=0)
    obs = env.reset()
    assert obs.shape == (4,) + env.observation_space.shape
    actions = np.zeros((4,) + env.action_space.shape, np.float32)
    single = ThermoGridEnv("winter-low-der")
    single.reset(seed=2)
    total = 0.0
    for _ in range(96):
        obs, rew, done, infos = env.step(actions)
        total += single.step(actions[2])[1]
    assert done.all() and all("terminal_observation" in i and i["TimeLimit.truncated"] for i in infos)
    assert infos[2]["episode"]["r"] == pytest.approx(total, rel=1e-6)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    assert len(episode_returns(env)) == 4
