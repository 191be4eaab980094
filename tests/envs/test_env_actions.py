"""The action mapping of ThermoGridEnv: scaling, clipping, errors and the inverse for controllers."""

from __future__ import annotations

import numpy as np
import pytest

from thermogrid_env.config import get_scenario
from thermogrid_env.envs import ActionSpec, ThermoGridEnv
from thermogrid_env.errors import ConfigError
from thermogrid_env.sim.simulator import Setpoints


@pytest.fixture(scope="module")
def env() -> ThermoGridEnv:
    env = ThermoGridEnv()
    env.reset(seed=0)
    return env


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_actions_raise(env: ThermoGridEnv, bad: float) -> None:
    env.reset(seed=0)
    action = np.zeros(env.action_space.shape, np.float32)
    action[5] = bad
    with pytest.raises(ConfigError, match=r"NaN or inf at indices \[5\]"):
        env.step(action)
    assert env.step_index == 0  # nothing happened


@pytest.mark.parametrize("shape", [(3,), (1, 99), (100,), ()])
def test_wrong_shape_raises(env: ThermoGridEnv, shape: tuple[int, ...]) -> None:
    env.reset(seed=0)
    with pytest.raises(ConfigError, match="shape"):
        env.step(np.zeros(shape, np.float32))
    with pytest.raises(ConfigError):
        env.step("not an action")


def test_mapping_and_clipping(env: ThermoGridEnv) -> None:
    spec = env.action_spec
    sl = spec.slices()
    a = np.zeros(spec.size)
    a[sl["hp"]] = 1.0
    a[sl["ev"]] = -1.0
    a[sl["pv_curtailment"]] = 0.0
    a[sl["pv_q"]] = -0.5
    sp = spec.to_setpoints(a)
    np.testing.assert_allclose(sp.hp_p_kw, spec.hp_p_rated_kw)
    np.testing.assert_allclose(sp.ev_p_kw, 0.0)
    np.testing.assert_allclose(sp.pv_curtailment, 0.5)
    np.testing.assert_allclose(sp.pv_q_kvar, -0.5 * spec.pv_s_inverter_kva)
    # out of the box: clipped (documented), not an error
    big = spec.to_setpoints(np.full(spec.size, 7.0))
    np.testing.assert_allclose(big.hp_p_kw, spec.hp_p_rated_kw)
    np.testing.assert_allclose(big.ev_p_kw, spec.ev_p_max_kw)
    np.testing.assert_allclose(big.pv_curtailment, 1.0)
    np.testing.assert_allclose(big.pv_q_kvar, spec.pv_s_inverter_kva)
    assert env.action_space == spec.space()


def test_from_setpoints_round_trip(env: ThermoGridEnv) -> None:
    spec = env.action_spec
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, spec.size)
    exact = spec.from_setpoints(spec.to_setpoints(a), dtype=np.float64)
    np.testing.assert_allclose(exact, a, rtol=0, atol=1e-12)
    a32 = spec.from_setpoints(spec.to_setpoints(a))
    assert a32.dtype == np.float32 and env.action_space.contains(a32)
    sp = Setpoints(hp_p_kw=np.full(spec.n_hp, 1e3), ev_p_kw=np.full(spec.n_ev, -5.0),
                   pv_curtailment=np.full(spec.n_pv, 0.25), pv_q_kvar=np.zeros(spec.n_pv))
    a = spec.from_setpoints(sp, dtype=np.float64)
    sl = spec.slices()
    assert np.all(a[sl["hp"]] == 1.0) and np.all(a[sl["ev"]] == -1.0)  # clipped to the box
    np.testing.assert_allclose(a[sl["pv_curtailment"]], -0.5)
    with pytest.raises(ConfigError, match="shape"):
        spec.from_setpoints(Setpoints(hp_p_kw=np.zeros(1), ev_p_kw=sp.ev_p_kw,
                                      pv_curtailment=sp.pv_curtailment, pv_q_kvar=sp.pv_q_kvar))


def test_controller_through_from_setpoints_applies_the_setpoints(env: ThermoGridEnv) -> None:
    env.reset(seed=2)
    spec = env.action_spec
    target = 0.3 * spec.hp_p_rated_kw
    sp = Setpoints(hp_p_kw=target, ev_p_kw=np.zeros(spec.n_ev), pv_curtailment=np.zeros(spec.n_pv),
                   pv_q_kvar=np.zeros(spec.n_pv))
    env.step(spec.from_setpoints(sp, dtype=np.float64))
    np.testing.assert_allclose(env.last_result.hp_p_kw, target, rtol=1e-12)


def test_unplugged_ev_draws_nothing(env: ThermoGridEnv) -> None:
    env.reset(seed=3)
    env.step(np.ones(env.action_space.shape, np.float32))
    plugged = env.last_result.ev_plugged
    assert np.all(env.last_result.ev_p_kw[~plugged] == 0.0)


def test_v2g_mapping() -> None:
    env = ThermoGridEnv(get_scenario("winter-high-der", ev_v2g=True))
    env.reset(seed=0)
    spec = env.action_spec
    assert spec.v2g
    a = np.zeros(spec.size)
    a[spec.slices()["ev"]] = -0.5
    np.testing.assert_allclose(spec.to_setpoints(a).ev_p_kw, -0.5 * spec.ev_p_max_kw)
    np.testing.assert_allclose(spec.from_setpoints(spec.to_setpoints(a), dtype=np.float64), a, atol=1e-12)


def test_spec_without_devices() -> None:
    spec = ActionSpec(hp_p_rated_kw=np.zeros(0), ev_p_max_kw=np.zeros(0), pv_s_inverter_kva=np.zeros(0))
    assert spec.size == 0 and spec.space().shape == (0,)
    sp = spec.to_setpoints(np.zeros(0))
    assert sp.hp_p_kw.shape == (0,)
    with pytest.raises(ConfigError):
        ActionSpec(hp_p_rated_kw=np.array([np.nan]), ev_p_max_kw=np.zeros(0), pv_s_inverter_kva=np.zeros(0))
