"""The learned controller: its weights loader, registration, safety projection, the set-point action
mode it acts through, and a short training run."""

from __future__ import annotations

import numpy as np
import pytest

from baselines.learned import (KINDS, LearnedController, Policy, actions_to_setpoints, features, load_policies,
                               save_policies)
from baselines.registry import available_controllers, make_controller
from thermogrid_env.envs.actions import action_of_setpoint
from thermogrid_env.envs.thermogrid_env import ThermoGridEnv
from thermogrid_env.errors import ConfigError, DataError


def _random_policies(env: ThermoGridEnv, seed: int = 0) -> dict[str, Policy]:
    env.reset(seed=0)
    feats = features(env.controller_view())
    rng = np.random.default_rng(seed)
    out = {}
    for kind, n_out in KINDS.items():
        n_in = feats[kind].shape[1]
        out[kind] = Policy(weights=(rng.normal(size=(n_in, 8)) * 0.1, rng.normal(size=(8, n_out)) * 0.1),
                           biases=(np.zeros(8), np.zeros(n_out)), x_mean=np.zeros(n_in), x_std=np.ones(n_in))
    return out


def test_weights_round_trip_without_pickle(tmp_path) -> None:
    env = ThermoGridEnv("winter-high-der")
    policies = _random_policies(env)
    path = save_policies(tmp_path / "p.npz", policies, note=np.array("test"))
    loaded = load_policies(path)
    x = features(env.controller_view())["hp"]
    np.testing.assert_array_equal(loaded["hp"](x), policies["hp"](x))
    with np.load(path, allow_pickle=False) as f:  # every array is plain numeric/string data
        assert all(f[k].dtype != object for k in f.files)
    bad = tmp_path / "bad.npz"
    np.savez(bad, something=np.zeros(3))
    with pytest.raises(DataError, match="policy"):
        load_policies(bad)
    obj = tmp_path / "obj.npz"
    np.savez(obj, **{"hp/x_mean": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ValueError):  # object arrays would need unpickling: refused
        load_policies(obj)
    with pytest.raises(DataError, match="No policy weights"):
        load_policies(tmp_path / "missing.npz")


def test_shipped_policy_is_registered_and_acts_safely() -> None:
    assert "learned" in available_controllers()
    ctrl = make_controller("learned")
    assert isinstance(ctrl, LearnedController)
    for preset in ("winter-high-der", "summer-high-pv", "winter-low-der"):  # one policy for every preset
        env = ThermoGridEnv(preset)
        obs, _ = env.reset(seed=10_000)  # a held-out day
        ctrl.reset(env)
        unmet = discomfort = 0.0
        for _ in range(env.scenario.n_steps):
            action, _ = ctrl.predict(obs)
            assert np.isfinite(action).all()
            obs, _, _, _, info = env.step(action)
            unmet += info["kpi"]["ev_unmet_kwh"]
            discomfort += info["kpi"]["discomfort_kh"]
        assert unmet < 1e-6  # urgencies never charge less than the requirement needs
        if env.scenario.season == "winter":  # a cloned oracle keeps winter houses in the band
            assert discomfort < 0.5


def test_comfort_floor_and_voltage_safety_projection() -> None:
    env = ThermoGridEnv("winter-high-der")
    env.reset(seed=0)
    view = env.controller_view()
    n, n_pv = view.community.houses.n, view.community.pvs.n
    low = {"hp": np.full((n, 1), -1.0), "ev": np.zeros((view.evs.n, 1)), "pv": np.ones((n_pv, 2)) * [1.0, -1.0]}
    floored = actions_to_setpoints(view, low, comfort_floor_k=0.5)
    raw = actions_to_setpoints(view, low)
    assert np.all(floored.hp_p_kw >= raw.hp_p_kw)  # aiming higher needs at least as much heat
    nxt, _ = env.simulator.step(env.sim_state, floored)
    reachable = (floored.hp_p_kw > 1e-9) & (floored.hp_p_kw < view.community.houses.p_max_kw - 1e-9)
    np.testing.assert_allclose(nxt.t_indoor_c[reachable], env.scenario.comfort.t_min_c + 0.5, atol=1e-9)
    with pytest.raises(ConfigError, match="comfort_floor_k"):
        LearnedController(comfort_floor_k=-1.0)
    # a bus near the top of the band gets no more reactive-power injection
    env.step(env.action_spec.from_setpoints(raw, dtype=np.float64))
    view = env.controller_view()
    high = np.array(view.last.v_pu)
    high[view.community.pvs.bus[0]] = env.scenario.v_max_pu - 0.01
    object.__setattr__(view.last, "v_pu", high)
    safe = actions_to_setpoints(view, low)
    unsafe = actions_to_setpoints(view, low, safety=False)
    assert unsafe.pv_q_kvar[0] > 0 and safe.pv_q_kvar[0] == 0.0


def test_the_controllers_mapping_is_the_environments_set_point_mode() -> None:
    """One mapping: the controller's targets/urgencies equal the env's set-point action mode."""
    power = ThermoGridEnv("winter-high-der")
    sp_env = ThermoGridEnv("winter-high-der", action_mode="setpoint")
    power.reset(seed=3)
    sp_env.reset(seed=3)
    rng = np.random.default_rng(0)
    spec = power.action_spec
    sl = spec.slices()
    for _ in range(40):
        a = rng.uniform(-1, 1, power.action_space.shape)
        acts = {"hp": a[sl["hp"], None], "ev": a[sl["ev"], None],
                "pv": np.column_stack([a[sl["pv_q"]], a[sl["pv_curtailment"]]])}
        sp = actions_to_setpoints(power.controller_view(), acts, safety=False)
        r1 = power.step(spec.from_setpoints(sp, dtype=np.float64))[1]
        r2 = sp_env.step(a)[1]
        assert r1 == pytest.approx(r2, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(power.sim_state.t_indoor_c, sp_env.sim_state.t_indoor_c, atol=1e-9)


def test_set_point_mode_keeps_comfort_and_ev_needs_and_rejects_v2g() -> None:
    env = ThermoGridEnv("winter-high-der", action_mode="setpoint")
    env.reset(seed=1)
    total = {"discomfort_kh": 0.0, "ev_unmet_kwh": 0.0}
    a = np.full(env.action_space.shape, -1.0, np.float32)  # EVs at the least urgency, PV as is
    a[env.action_spec.slices()["hp"]] = action_of_setpoint(env.scenario.comfort.t_min_c + 0.03, 20.0, 23.0)
    for _ in range(96):
        _, _, _, _, info = env.step(a)
        for k in total:
            total[k] += info["kpi"][k]
    assert total["discomfort_kh"] < 1e-6 and total["ev_unmet_kwh"] < 1e-6
    from thermogrid_env.config import get_scenario  # noqa: PLC0415

    with pytest.raises(ConfigError, match="V2G"):
        ThermoGridEnv(get_scenario("winter-high-der", ev_v2g=True), action_mode="setpoint")
    with pytest.raises(ConfigError, match="action_mode"):
        ThermoGridEnv(action_mode="torque")


def test_short_training_run(tmp_path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("cvxpy")
    from baselines import learned_training as lt  # noqa: PLC0415

    data = lt.collect(("winter-low-der",), n_days=2, progress=False)
    assert data["hp/x"].shape[0] == 2 * 96 * 10 and np.all(np.abs(data["hp/y"]) <= 1.0)
    policies, curves = lt.train(data, seed=0, epochs=2, progress=False)
    assert set(curves) == set(KINDS) and all(len(c) == 2 and np.isfinite(c).all() for c in curves.values())
    path = save_policies(tmp_path / "w.npz", policies)
    env = ThermoGridEnv("winter-low-der")
    obs, _ = env.reset(seed=10_001)
    ctrl = LearnedController(weights=path)
    ctrl.reset(env)
    for _ in range(8):
        obs, *_ = env.step(ctrl.predict(obs)[0])
