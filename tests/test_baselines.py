"""Tests of the baseline controllers, the controller protocol, the registry and the SB3 wrapper."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from baselines import RuleBasedController, UncontrolledController
from baselines.protocol import Controller, EnvController, PredictAdapter, as_controller
from baselines.registry import available_controllers, make_controller
from baselines.rule_based import (
    RuleBasedConfig,
    hp_target_c,
    plan_ev_power_kw,
    volt_var_q_kvar,
    volt_watt_curtailment,
)
from thermogrid_env import evaluate
from thermogrid_env.config import ComfortBand, Tariff
from thermogrid_env.envs.thermogrid_env import ThermoGridEnv
from thermogrid_env.errors import ConfigError
from thermogrid_env.physics import ev

SCENARIO = "winter-high-der"


@pytest.fixture(scope="module")
def winter_kpis():
    """Uncontrolled vs rule-based on two winter days (shared by the comparison tests)."""
    return evaluate({"uncontrolled": UncontrolledController, "rule_based": RuleBasedController},
                    scenario=SCENARIO, episodes=2, seed=0)


# ------------------------------------------------------------------------------ uncontrolled
def test_uncontrolled_full_power_charging_thermostat_and_unity_pv() -> None:
    env = ThermoGridEnv(SCENARIO)
    obs, _ = env.reset(seed=3)
    ctrl = UncontrolledController()
    ctrl.reset(env)
    comfort, sessions = env.scenario.comfort, env.episode.evs.sessions
    t_on, t_off = comfort.t_setpoint_c - comfort.hysteresis_k / 2, comfort.t_setpoint_c + comfort.hysteresis_k / 2
    rated = env.episode.community.houses.p_max_kw
    dt_h = env.scenario.dt_h
    heating = env.sim_state.t_indoor_c < t_on
    charged_any = switched = False
    for _ in range(env.scenario.n_steps):
        t_in, soc = env.sim_state.t_indoor_c.copy(), env.sim_state.ev_soc.copy()
        action, _ = ctrl.predict(obs)
        obs, _, _, truncated, _ = env.step(action)
        res = env.last_result
        # EVs: full charger power while plugged in, limited only by the battery being full.
        headroom_kw = (1.0 - soc) * sessions.capacity_kwh / (sessions.efficiency * dt_h)
        expected = np.where(res.ev_plugged, np.minimum(sessions.p_max_kw, headroom_kw), 0.0)
        np.testing.assert_allclose(res.ev_p_kw, expected, rtol=1e-9, atol=1e-9)
        charged_any |= bool((res.ev_p_kw > 0).any())
        # Heat pumps: on/off at rated power with hysteresis around the set-point.
        heating = np.where(t_in < t_on, True, np.where(t_in > t_off, False, heating))
        np.testing.assert_allclose(res.hp_p_kw, np.where(heating, rated, 0.0), rtol=1e-9)
        switched |= bool(heating.any() and (~heating).any())
        # PV: everything injected at unity power factor.
        np.testing.assert_allclose(res.pv_p_kw, res.pv_available_kw, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(res.pv_q_kvar, 0.0)
        if truncated:
            break
    assert charged_any and switched
    # Charging from arrival at full power meets every (feasible by construction) target.
    assert np.all(ev.unmet_energy_kwh(sessions, env.sim_state.ev_soc) < 1e-6)


def test_env_controller_needs_reset() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        UncontrolledController().predict(np.zeros(3))


# ------------------------------------------------------------------------------ rule-based
def test_rule_based_meets_ev_energy_comfort_and_beats_uncontrolled_on_grid(winter_kpis) -> None:
    rows = winter_kpis[winter_kpis["episode"] != "mean"]
    unc = rows[rows["controller"] == "uncontrolled"].reset_index(drop=True)
    rb = rows[rows["controller"] == "rule_based"].reset_index(drop=True)
    assert (rb["ev_unmet_kwh"] < 1e-6).all()
    assert (rb["discomfort_kh"] <= unc["discomfort_kh"] + 1e-9).all()
    assert (rb["discomfort_kh"] < 0.5).all()  # K·h over 32 houses and a day: essentially none
    assert (rb["voltage_violations"] <= unc["voltage_violations"]).all()
    assert (rb["voltage_dev_max_pu"] <= unc["voltage_dev_max_pu"] + 1e-12).all()
    assert (rb["peak_import_kw"] <= unc["peak_import_kw"]).all()
    assert (rb["trafo_loading_max"] <= unc["trafo_loading_max"]).all()
    assert (rb["hot_spot_max_c"] <= unc["hot_spot_max_c"]).all()


def test_rule_based_charges_at_full_power_when_the_deadline_is_tight() -> None:
    """Sessions whose need is 99 % of what full power can deliver: the safety rule must kick in."""
    env = ThermoGridEnv(SCENARIO)
    env.reset(seed=1)
    episode, n_steps, dt_s = env.episode, env.scenario.n_steps, float(env.scenario.dt_s)
    s = episode.evs.sessions
    deliverable = ev.max_deliverable_kwh(s, dt_s, n_steps)
    need = 0.99 * np.minimum(deliverable, (s.soc_target - 0.05) * s.capacity_kwh)
    tight = dataclasses.replace(s, soc_arrival=s.soc_target - need / s.capacity_kwh)
    replay = dataclasses.replace(episode, evs=dataclasses.replace(episode.evs, sessions=tight))
    env2 = ThermoGridEnv(SCENARIO)
    obs, _ = env2.reset(seed=1, options={"episode": replay})
    ctrl = RuleBasedController()
    ctrl.reset(env2)
    unmet = 0.0
    for _ in range(n_steps):
        obs, _, _, truncated, info = env2.step(ctrl.predict(obs)[0])
        unmet += info["kpi"]["ev_unmet_kwh"]
        if truncated:
            break
    assert unmet < 1e-6


def test_plan_ev_power_fills_cheapest_tiers_first_and_flat() -> None:
    prices = np.array([0.3, 0.3, 0.2, 0.2])  # this step costs 0.3
    dt_h, p_max = 0.25, 4.0  # 1 kWh per step at full power
    assert plan_ev_power_kw(prices, 2.0, p_max, dt_h) == 0.0  # fits in the 0.2 tier: wait
    assert plan_ev_power_kw(prices, 3.0, p_max, dt_h) == pytest.approx(2.0)  # 1 kWh over two 0.3 steps
    assert plan_ev_power_kw(prices, 9.0, p_max, dt_h) == p_max  # infeasible: full power
    assert plan_ev_power_kw(prices[::-1], 1.0, p_max, dt_h) == pytest.approx(2.0)  # flat over the tier
    assert plan_ev_power_kw(prices, 0.0, p_max, dt_h) == 0.0


def test_hp_target_preheats_coasts_and_recovers() -> None:
    comfort, tariff, cfg = ComfortBand(), Tariff(peak_hours=(17, 21)), RuleBasedConfig()
    assert hp_target_c(10.0, comfort, tariff, cfg) == comfort.t_setpoint_c
    assert hp_target_c(17.0, comfort, tariff, cfg) == comfort.t_min_c + cfg.coast_above_min_k
    assert hp_target_c(16.99, comfort, tariff, cfg) > comfort.t_setpoint_c + 1.0  # pre-heated
    assert comfort.t_min_c < hp_target_c(22.0, comfort, tariff, cfg) < comfort.t_setpoint_c  # ramp back
    targets = [hp_target_c(h / 4, comfort, tariff, cfg) for h in range(96)]
    assert min(targets) >= comfort.t_min_c + cfg.comfort_margin_k
    assert max(targets) <= comfort.t_max_c - cfg.comfort_margin_k


def test_volt_var_absorbs_at_high_and_injects_at_low_voltage() -> None:
    cfg = RuleBasedConfig()
    v = np.array([0.90, 0.96, 1.00, 1.04, 1.10])
    q = volt_var_q_kvar(v, np.full(5, 10.0), cfg)
    np.testing.assert_allclose(q, [4.4, 2.2, 0.0, -2.2, -4.4])
    np.testing.assert_allclose(volt_watt_curtailment(np.array([1.0, 1.0925, 1.11]), 1.1, cfg), [0.0, 0.5, 1.0])


# ------------------------------------------------------------------------------ protocol and registry
class _ConstantModel:
    """Predict-only, like an SB3 model: always the zero action."""

    def __init__(self, size: int) -> None:
        self.size, self.calls = size, 0

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        self.calls += 1
        return np.zeros(self.size, dtype=np.float32), state


def test_predict_only_models_work_unchanged_and_adapted() -> None:
    size = ThermoGridEnv(SCENARIO).action_space.shape[0]
    model = _ConstantModel(size)
    assert isinstance(model, Controller) and as_controller(model) is model
    adapted = PredictAdapter(model)
    df = evaluate({"raw": model, "adapted": adapted}, scenario=SCENARIO, episodes=1)
    means = df[df["episode"] == "mean"].set_index("controller")
    assert means.loc["raw", "return"] == means.loc["adapted", "return"]
    assert model.calls == 2 * 96
    with pytest.raises(TypeError):
        PredictAdapter(object())


def test_registry_lists_and_makes_controllers() -> None:
    names = available_controllers()
    assert {"uncontrolled", "rule_based"} <= set(names)
    assert isinstance(make_controller("uncontrolled"), UncontrolledController)
    custom = make_controller("rule_based", config=RuleBasedConfig(preheat_h=1.0))
    assert isinstance(custom, RuleBasedController) and custom.config.preheat_h == 1.0
    assert isinstance(custom, EnvController)
    with pytest.raises(ConfigError, match="available: .*rule_based"):
        make_controller("does-not-exist")


# ------------------------------------------------------------------------------ stable-baselines3
def test_ppo_smoke(tmp_path, capsys) -> None:
    pytest.importorskip("stable_baselines3")
    from baselines.rl import SB3Controller, load, train_ppo

    model = train_ppo(SCENARIO, total_timesteps=128, seed=0, n_steps=64, batch_size=32, n_epochs=1, progress=True)
    shown = capsys.readouterr().err
    assert "ppo" in shown and "128" in shown  # progress on stderr (the default on a terminal)
    model.save(tmp_path / "ppo.zip")
    controller = SB3Controller(load(tmp_path / "ppo.zip"))
    df = evaluate({"ppo": controller}, scenario=SCENARIO, episodes=1)
    assert np.isfinite(df["return"]).all() and int(df.loc[0, "n_steps"]) == 96


def test_ppo_training_returns_are_the_environments_rewards() -> None:
    """With reward normalisation the recorded training returns stay the raw ones.

    One rollout is one episode here, so the first episode is played by the same initial policy in
    both runs (same seed) and must have the same undiscounted return; the normalised run must also
    act on unnormalised observations (its saved policy needs no statistics).
    """
    pytest.importorskip("stable_baselines3")
    from baselines.rl import train_ppo, training_returns

    small = {"n_steps": 96, "batch_size": 32, "n_epochs": 1}
    raw = train_ppo(SCENARIO, total_timesteps=192, seed=3, normalize_reward=False, **small)
    normalised = train_ppo(SCENARIO, total_timesteps=192, seed=3, **small)  # the default
    r_raw, r_norm = training_returns(raw), training_returns(normalised)
    assert r_raw.shape == r_norm.shape == (2,)
    assert r_norm[0] == pytest.approx(r_raw[0], rel=1e-9)
    assert type(normalised.get_env()).__name__ == "VecNormalize" and not normalised.get_env().norm_obs
