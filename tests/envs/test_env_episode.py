"""Episodes of ThermoGridEnv: determinism, pickling, rewards, KPIs, truncation, observation bounds."""

from __future__ import annotations

import math
import pickle

import gymnasium as gym
import numpy as np
import pytest

import thermogrid_env  # noqa: F401 - registers the ids
from thermogrid_env.network.limits import l_max_pu
from thermogrid_env.config import get_scenario
from thermogrid_env.envs import ThermoGridEnv
from thermogrid_env.envs.thermogrid_env import REWARD_TERMS
from thermogrid_env.errors import ConfigError
from thermogrid_env.sim.kpi import KPI_UNITS


def _rollout(env: gym.Env, seed: int, n: int | None = None, action_seed: int = 0):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(action_seed)
    out = [(obs, None, None, None)]
    shape = env.action_space.shape
    k, truncated = 0, False
    while not truncated and (n is None or k < n):
        obs, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, shape).astype(np.float32))
        assert not terminated
        out.append((obs, reward, info["kpi"], info["reward_terms_raw"]))
        k += 1
    return out


def test_same_seed_same_episode_bit_for_bit() -> None:
    a = _rollout(ThermoGridEnv(), seed=7, n=40)
    b = _rollout(ThermoGridEnv(), seed=7, n=40)
    for (o1, r1, k1, t1), (o2, r2, k2, t2) in zip(a, b):
        assert o1.tobytes() == o2.tobytes()
        assert r1 == r2 and k1 == k2 and t1 == t2  # exact float equality


def test_different_seeds_differ() -> None:
    env = ThermoGridEnv()
    o1, _ = env.reset(seed=1)
    o2, _ = env.reset(seed=2)
    assert not np.array_equal(o1, o2)


def test_reset_without_seed_continues_the_generator() -> None:
    env = ThermoGridEnv()
    env.reset(seed=3)
    first = env.episode
    env.reset()
    assert env.episode is not first and env.episode.exogenous is not first.exogenous


def test_community_seed_keeps_the_community() -> None:
    env = ThermoGridEnv(get_scenario("winter-high-der", community_seed=11))
    env.reset(seed=1)
    c1 = env.episode.community
    env.reset(seed=2)
    assert env.episode.community is c1
    other = ThermoGridEnv(get_scenario("winter-high-der", community_seed=11))
    other.reset(seed=5)
    np.testing.assert_array_equal(other.episode.community.ev_load, c1.ev_load)
    np.testing.assert_array_equal(other.episode.community.houses.p_max_kw, c1.houses.p_max_kw)


def test_pickle_round_trip_mid_episode() -> None:
    env = ThermoGridEnv()
    _rollout(env, seed=4, n=30)
    clone = pickle.loads(pickle.dumps(env))
    rng = np.random.default_rng(9)
    for _ in range(20):
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        o1, r1, _, t1, i1 = env.step(action)
        o2, r2, _, t2, i2 = clone.step(action)
        assert o1.tobytes() == o2.tobytes() and r1 == r2 and t1 == t2 and i1["kpi"] == i2["kpi"]
    assert env.np_random.random() == clone.np_random.random()  # generator state travelled too


def test_episode_rewards_kpis_truncation_and_bounds() -> None:
    env = gym.make("ThermoGrid-v0")  # TimeLimit from the registration
    base = env.unwrapped
    obs, _ = env.reset(seed=5)
    n_steps = base.scenario.n_steps
    weights = base.scenario.reward_weights.as_dict()
    space = env.observation_space
    assert space.contains(obs)
    rng = np.random.default_rng(0)
    totals = dict.fromkeys(KPI_UNITS, 0.0)
    for k in range(1, n_steps + 1):
        action = rng.uniform(-1.5, 1.5, env.action_space.shape).astype(np.float32)  # also out of the box
        obs, reward, terminated, truncated, info = env.step(action)
        assert space.contains(obs), space.low[~((obs >= space.low) & (obs <= space.high))]
        assert not terminated and truncated == (k == n_steps)
        assert base.step_index == k
        terms, raw = info["reward_terms"], info["reward_terms_raw"]
        assert list(terms) == [name for name, _ in REWARD_TERMS] == list(weights)
        for name in terms:
            assert terms[name] == pytest.approx(weights[name] * raw[name], rel=1e-12, abs=0.0)
        assert reward == pytest.approx(-sum(terms.values()), rel=1e-12, abs=1e-12)
        kpi = info["kpi"]
        assert set(kpi) == set(KPI_UNITS)
        for name, key in REWARD_TERMS:  # every term is booked in its KPI
            assert raw[name] == kpi[key]
        assert kpi == base.last_result.kpis  # the step's increments as booked by the simulator
        v = base.last_result.v_pu[1:]
        assert raw["voltage"] == pytest.approx(float(np.sum(np.maximum(0.81 - v**2, 0) / 1.8
                                                            + np.maximum(v**2 - 1.21, 0) / 2.2)), abs=1e-12)
        l_ratio = base.last_result.l_pu / l_max_pu(base.simulator.feeder)
        assert raw["overload"] == pytest.approx(float(np.maximum(l_ratio - 1, 0).sum()) / 2, abs=1e-12)
        for name in ("aging_h", "losses_kwh", "discomfort_kh", "ev_unmet_kwh", "cost_eur", "curtailment_kwh"):
            totals[name] += kpi[name]
    # the last step books the EV energy missing for EVs that leave after the episode (their deadline)
    s, end = base.episode.evs.sessions, base.simulator.n_steps
    staying = s.departure_step >= end
    missing = np.maximum(s.soc_target - base.sim_state.ev_soc, 0.0) * s.capacity_kwh
    assert info["kpi"]["ev_unmet_kwh"] >= float(missing[staying].sum()) - 1e-12
    for name in ("aging_h", "losses_kwh", "discomfort_kh", "ev_unmet_kwh", "cost_eur"):
        assert info["episode_kpi"][name] == pytest.approx(totals[name], rel=1e-9)
    with pytest.raises(Exception):  # noqa: B017 - stepping past the end is refused
        base.step(env.action_space.sample())


def test_env_truncates_without_time_limit() -> None:
    env = gym.make("ThermoGrid-v0", max_episode_steps=-1)  # no TimeLimit wrapper
    out = _rollout(env, seed=0)
    assert len(out) - 1 == get_scenario("winter-high-der").n_steps


def test_make_with_a_longer_custom_scenario_plays_it_to_its_end() -> None:
    scenario = get_scenario("winter-low-der", episode_days=2)
    env = gym.make("ThermoGrid-v0", scenario=scenario)
    out = _rollout(env, seed=0)
    assert len(out) - 1 == scenario.n_steps == 2 * get_scenario("winter-low-der").n_steps
    short = _rollout(gym.make("ThermoGrid-v0", scenario=scenario, max_episode_steps=10), seed=0)
    assert len(short) - 1 == 10  # an explicit TimeLimit still stops earlier


def test_replay_episode_via_options() -> None:
    env = ThermoGridEnv()
    a = _rollout(env, seed=12, n=10)
    episode = env.episode
    b = _rollout(env, seed=99, n=10)
    env.reset(seed=99, options={"episode": episode})
    assert env.episode is episode
    obs = env.reset(options={"episode": episode})[0]
    assert obs.tobytes() == a[0][0].tobytes()
    assert not np.array_equal(a[0][0], b[0][0])
    other = ThermoGridEnv("summer-high-pv")
    with pytest.raises(Exception, match="scenario"):
        other.reset(options={"episode": episode})


def test_reward_is_finite_and_zero_action_is_sane() -> None:
    env = ThermoGridEnv()
    env.reset(seed=0)
    spec = env.action_spec
    obs, reward, *_ , info = env.step(np.zeros(env.action_space.shape, np.float32))
    assert math.isfinite(reward)
    assert np.allclose(env.last_result.hp_p_kw, 0.5 * spec.hp_p_rated_kw)


def test_violation_terms_under_full_load() -> None:
    env = ThermoGridEnv("winter-high-der-rural")
    env.reset(seed=0)
    sc = env.scenario
    seen_v = seen_o = False
    for _ in range(env.scenario.n_steps):
        _, reward, _, _, info = env.step(np.ones(env.action_space.shape, np.float32))
        res, raw = env.last_result, info["reward_terms_raw"]
        v = res.v_pu[1:]
        v_dev = float(np.sum(np.maximum(sc.v_min_pu**2 - v**2, 0) / (2 * sc.v_min_pu)
                             + np.maximum(v**2 - sc.v_max_pu**2, 0) / (2 * sc.v_max_pu)))
        assert raw["voltage"] == pytest.approx(v_dev, rel=1e-12, abs=1e-15)
        over = float(np.maximum(res.l_pu / l_max_pu(env.simulator.feeder) - 1, 0).sum()) / 2
        assert raw["overload"] == pytest.approx(over, rel=1e-12, abs=1e-15)
        seen_v |= raw["voltage"] > 0
        seen_o |= raw["overload"] > 0
        assert reward == pytest.approx(-sum(info["reward_terms"].values()), rel=1e-12)
    assert seen_v and seen_o


@pytest.mark.parametrize("seed", [0, 1])
def test_adversarial_legal_actions_on_the_rural_feeder_never_raise(seed) -> None:
    """Every device at full power, PV absorbing reactive power (the issue's case that crashed
    ``step()``): every step returns; a step without a power-flow solution terminates the episode
    with its reason and the collapse penalty, and ending early never pays."""
    env = ThermoGridEnv("winter-high-der-rural")
    env.reset(seed=seed)
    action = np.ones(env.action_space.shape, np.float32)
    action[env.action_spec.slices()["pv_q"]] = -1.0
    total, steps = 0.0, 0
    while True:
        _, reward, terminated, truncated, info = env.step(action)
        total, steps = total + reward, steps + 1
        assert math.isfinite(reward)
        if terminated:
            assert "voltage collapse" in info["termination_reason"]
            ctx_lv = env.simulator.feeder.n_bus - 1
            penalty = ctx_lv * 0.5 * env.scenario.v_min_pu * (env.scenario.n_steps - steps + 1)
            assert info["reward_terms_raw"]["voltage"] >= penalty - 1e-9
            break
        if truncated:
            break
    assert terminated and steps < env.scenario.n_steps  # this adversarial day does collapse the feeder
    with pytest.raises(ConfigError, match="reset"):  # an ended episode must be reset
        env.step(action)
