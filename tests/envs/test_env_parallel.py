"""The PettingZoo multi-agent environment: one agent per household."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.test import parallel_api_test, parallel_seed_test  # noqa: E402

import thermogrid_env  # noqa: E402
from thermogrid_env.envs.parallel_env import AGENT_LOCAL_OBS, AGENT_TERMS  # noqa: E402
from thermogrid_env.errors import ConfigError  # noqa: E402


@pytest.fixture()
def env():
    env = thermogrid_env.parallel_env("winter-high-der")
    env.reset(seed=4)
    return env


def test_pettingzoo_parallel_api_test() -> None:
    parallel_api_test(thermogrid_env.parallel_env("winter-low-der"), num_cycles=100)


def test_pettingzoo_seed_test() -> None:
    parallel_seed_test(lambda: thermogrid_env.parallel_env("summer-high-pv"), num_cycles=20)


def test_agents_and_homogeneous_spaces(env) -> None:
    base = env.env
    assert len(env.agents) == int(base.episode.community.feeder.load_is_household.sum()) == 32
    obs, infos = env.reset(seed=5)
    assert set(obs) == set(env.agents) == set(infos)
    spaces = [env.observation_space(a) for a in env.agents]
    assert all(s is spaces[0] for s in spaces)  # homogeneous: one policy can be shared
    assert all(spaces[0].contains(o) for o in obs.values())


def test_action_round_trip(env) -> None:
    central = np.random.default_rng(0).uniform(-1, 1, env.env.action_space.shape).astype(np.float32)
    per_agent = env.agent_actions(central)
    assert all(env.action_space(a).contains(act) for a, act in per_agent.items())
    np.testing.assert_array_equal(env.central_action(per_agent), central)
    # absent devices' entries are ignored
    noisy = {a: np.where(act == 0, 0.9, act).astype(np.float32) for a, act in per_agent.items()}
    np.testing.assert_array_equal(env.central_action(noisy), central)


def test_local_observations_match_the_central_one(env) -> None:
    base = env.env
    obs, rewards, terms, truncs, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
    assert len(set(rewards.values())) == 1  # the shared team reward
    central = env.state()
    spec, community = base.observation_spec, base.episode.community
    hp_house = f"house_{community.houses.load[3]}"
    local = obs[hp_house][-len(AGENT_LOCAL_OBS):]
    assert local[AGENT_LOCAL_OBS.index("has_hp")] == 1.0
    assert local[AGENT_LOCAL_OBS.index("t_indoor_c")] == central[spec.index("t_indoor_c", "hp:3")]
    bus = community.houses.bus[3]
    assert local[AGENT_LOCAL_OBS.index("v_pu")] == central[spec.index("v_pu", f"bus:{bus}")]
    no_ev = [f"house_{i}" for i in env.household_load if i not in set(community.ev_load.tolist())]
    for agent in no_ev:
        loc = obs[agent][-len(AGENT_LOCAL_OBS):]
        assert loc[AGENT_LOCAL_OBS.index("has_ev")] == 0.0 and loc[AGENT_LOCAL_OBS.index("ev_soc")] == 0.0


def test_households_own_terms_add_up_to_the_team_terms(env) -> None:
    """Each agent's info holds its own bill, discomfort, EV shortfall and curtailment."""
    rng = np.random.default_rng(1)
    totals = np.zeros(len(AGENT_TERMS))
    team = dict.fromkeys(("cost", "discomfort", "ev_unmet", "curtailment"), 0.0)
    households_bill = 0.0
    while env.agents:
        obs, rewards, terms, truncs, infos = env.step({a: rng.uniform(-1, 1, 4).astype(np.float32) for a in env.agents})
        totals += np.array([[infos[a][t] for t in AGENT_TERMS] for a in infos]).sum(axis=0)
        raw = env.env.last_result.terms
        for name in team:
            team[name] += raw[name]
        res = env.env.last_result
        households_bill += float(np.sum(  # the households' meters only (businesses pay their own)
            (res.price_eur_per_kwh * np.maximum(res.meter_p_kw[env.household_load], 0)
             - res.feed_in_eur_per_kwh * np.maximum(-res.meter_p_kw[env.household_load], 0)) * 0.25))
    assert totals[0] == pytest.approx(households_bill)
    assert totals[1] == pytest.approx(team["discomfort"])
    assert totals[2] == pytest.approx(team["ev_unmet"], abs=1e-9)
    assert totals[3] == pytest.approx(team["curtailment"])
    assert env.agents == [] and all(truncs.values())
    with pytest.raises(ConfigError, match="reset"):
        env.step({})


def test_step_applies_agent_actions(env) -> None:
    base = env.env
    env.step({a: np.array([1.0, -1.0, -1.0, 0.0], np.float32) for a in env.agents})
    np.testing.assert_allclose(base.last_result.hp_p_kw, base.action_spec.hp_p_rated_kw)
    assert np.all(base.last_result.ev_p_kw == 0.0)
    with pytest.raises(ConfigError, match="Missing action"):
        env.step({})
    with pytest.raises(ConfigError, match="shape"):
        env.step({a: np.zeros(3) for a in env.agents})


def test_unobserved_household_bus_raises() -> None:
    with pytest.raises(ConfigError, match="observed_buses"):
        thermogrid_env.parallel_env(observed_buses=[1])
