"""The observation layout: declared entries, scaling and the values they carry."""

from __future__ import annotations

import numpy as np
import pytest

from thermogrid_env.envs import ThermoGridEnv
from thermogrid_env.errors import ConfigError


@pytest.fixture(scope="module")
def played() -> tuple[ThermoGridEnv, np.ndarray]:
    env = ThermoGridEnv()
    env.reset(seed=8)
    rng = np.random.default_rng(1)
    for _ in range(75):  # evening: EVs plugged in
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
    return env, obs


def test_layout_is_declared(played) -> None:
    env, obs = played
    spec = env.observation_spec
    assert len(spec.entries) == spec.size == obs.shape[0] == 237
    assert len(set(spec.names)) == spec.size
    assert spec.table().count("\n") == spec.size + 1
    sl = spec.slices()
    assert sl["t_indoor"].stop - sl["t_indoor"].start == env.episode.community.n_hp
    with pytest.raises(ConfigError):
        spec.index("nope", "feeder")


def test_values_match_the_state(played) -> None:
    env, obs = played
    spec, state, res = env.observation_spec, env.sim_state, env.last_result
    exo, sessions, k = env.episode.exogenous, env.episode.evs.sessions, env.step_index
    sl = spec.slices()
    np.testing.assert_allclose(obs[sl["t_indoor"]], (state.t_indoor_c - 21.0) / 5.0, atol=1e-6)
    plugged = (sessions.arrival_step <= k) & (k < sessions.departure_step)
    assert plugged.any() and not plugged.all()
    np.testing.assert_array_equal(obs[sl["ev_plugged"]], plugged.astype(np.float32))
    np.testing.assert_allclose(obs[sl["ev_soc"]], np.where(plugged, state.ev_soc, 0.0), atol=1e-6)
    to_dep = np.where(plugged, (sessions.departure_step - k) * 0.25, 0.0) / 24.0
    np.testing.assert_allclose(obs[sl["ev_time_to_departure_h"]], np.minimum(to_dep, 2.0), atol=1e-6)
    need_h = np.maximum(sessions.soc_target - state.ev_soc, 0) * sessions.capacity_kwh / (
        sessions.efficiency * sessions.p_max_kw)
    np.testing.assert_allclose(obs[sl["ev_charge_time_needed_h"]], np.where(plugged, need_h, 0) / 24, atol=1e-6)
    np.testing.assert_allclose(obs[sl["v"]], (res.v_pu[1:] - 1.0) / 0.1, atol=1e-5)
    assert obs[spec.index("hot_spot_c", "transformer")] == pytest.approx((res.hot_spot_c - 60) / 40, abs=1e-6)
    assert obs[spec.index("loading", "transformer")] == pytest.approx(res.trafo_loading, abs=1e-6)
    assert obs[spec.index("price_eur_per_kwh", "tariff")] == pytest.approx(exo.price_eur_per_kwh[k] / 0.5)
    hour = exo.hour_local[k]
    assert obs[spec.index("hour_sin", "clock")] == pytest.approx(np.sin(2 * np.pi * hour / 24), abs=1e-6)
    base = exo.base_p_kw[k].sum() / env.episode.community.feeder.transformer_rating_kva
    assert obs[spec.index("base_p_kw", "feeder")] == pytest.approx(base, rel=1e-6)


def test_returned_observation_is_a_new_array() -> None:
    env = ThermoGridEnv()
    o1, _ = env.reset(seed=0)
    keep = o1.copy()
    o2, *_ = env.step(env.action_space.sample())
    assert o1 is not o2 and np.array_equal(o1, keep)


def test_final_observation_repeats_last_exogenous_values() -> None:
    env = ThermoGridEnv(forecast_horizon_h=1)
    env.reset(seed=0)
    truncated = False
    while not truncated:
        obs, _, _, truncated, _ = env.step(np.zeros(env.action_space.shape, np.float32))
    spec, exo = env.observation_spec, env.episode.exogenous
    assert obs[spec.index("t_ambient_c", "weather")] == pytest.approx(exo.t_ambient_c[-1] / 20, abs=1e-6)
    assert env.observation_space.contains(obs)


def test_exogenous_tables_are_cached_per_exogenous_data() -> None:
    """Episodes of one day share their exogenous data and its table; other data get their own."""
    import dataclasses

    from thermogrid_env.sim.episode import sample_episode

    env = ThermoGridEnv("winter-high-der")
    spec = env.observation_spec
    a = sample_episode(env.scenario, np.random.default_rng(1))
    b = sample_episode(env.scenario, np.random.default_rng(1))
    assert a.exogenous is b.exogenous  # the same day and heat-pump households: one shared object
    changed = dataclasses.replace(a, exogenous=dataclasses.replace(a.exogenous, t_ambient_c=a.exogenous.t_ambient_c + 3))
    tables = spec.exo_tables([a, changed, b])
    fresh = spec._compute_exo_tables([a.exogenous, changed.exogenous])
    np.testing.assert_array_equal(tables, fresh[[0, 1, 0]])
    np.testing.assert_allclose(tables[1, :-1, 6] - tables[0, :-1, 6], 3.0)  # t_ambient_c column
    assert not a.exogenous.base_p_kw.flags.writeable
    import gc
    import weakref

    gone = weakref.ref(changed.exogenous)
    del changed
    gc.collect()
    assert gone() is None  # the cache does not keep exogenous data alive
