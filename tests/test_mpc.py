"""Model-predictive control: the OPF window from a mid-episode state, and the receding-horizon controller."""

import functools

import numpy as np
import pytest

pytest.importorskip("cvxpy")

from baselines.mpc import MPCController  # noqa: E402
from baselines.oracle import OracleController  # noqa: E402
from baselines.uncontrolled import UncontrolledController  # noqa: E402
from thermogrid_env import evaluate  # noqa: E402
from thermogrid_env.config import get_scenario  # noqa: E402
from thermogrid_env.envs.thermogrid_env import ThermoGridEnv  # noqa: E402
from thermogrid_env.errors import ConfigError  # noqa: E402
from thermogrid_env.forecast import NoisyForecaster, SeasonalEmpiricalLoadForecaster  # noqa: E402
from baselines.oracle import plan_setpoints  # noqa: E402
from thermogrid_env.forecast.ev import EVSessionForecaster  # noqa: E402
from thermogrid_env.opf import solve_opf  # noqa: E402
from thermogrid_env.opf.episode import opf_data_for_window  # noqa: E402
from thermogrid_env.sim.simulator import Setpoints  # noqa: E402

SCENARIO = get_scenario("winter-low-der")


@pytest.fixture(scope="module")
def mid_episode():
    """An episode played with random set-points for 40 steps: (env, view at step 40)."""
    env = ThermoGridEnv(SCENARIO)
    env.reset(seed=3)
    c = env.episode.community
    rng = np.random.default_rng(0)
    for _ in range(40):
        sp = Setpoints(hp_p_kw=rng.uniform(0, 1, c.n_hp) * c.houses.p_max_kw,
                       ev_p_kw=np.full(c.n_ev, 3.0), pv_curtailment=np.zeros(c.n_pv), pv_q_kvar=np.zeros(c.n_pv))
        env.step(env.action_spec.from_setpoints(sp, dtype=np.float64))
    return env, env.controller_view()


def test_window_starts_in_the_measured_state_and_predicts_the_next_state(mid_episode) -> None:
    """One model mid-episode: playing the window's first set-points gives the OPF's predicted states."""
    env, view = mid_episode
    data, planned = opf_data_for_window(view, 8)
    state, episode = env.sim_state, env.episode
    assert data.n_periods == 8 and view.episode is None
    np.testing.assert_array_equal(data.houses.x0_c[:, 0], state.t_indoor_c)
    plugged = np.flatnonzero(view.evs.plugged)
    np.testing.assert_array_equal(planned.index, plugged)  # only the plugged EVs: the others are unknown
    np.testing.assert_allclose(data.evs.e_init_kwh, state.ev_soc[plugged] * episode.evs.sessions.capacity_kwh[plugged])
    assert data.transformer.theta_oil0_c == pytest.approx(float(state.trafo.theta_oil_c))
    np.testing.assert_allclose(data.base_p_kw[0], episode.exogenous.base_p_kw[40])  # measured now
    sol = solve_opf(data)
    sp = plan_setpoints(sol, 0, n_ev=view.evs.n, ev_index=planned.index)
    nxt, res = env.simulator.step(state, sp)
    np.testing.assert_allclose(nxt.t_indoor_c, sol.t_indoor_c[1], atol=1e-6)
    np.testing.assert_allclose(nxt.ev_soc[plugged] * episode.evs.sessions.capacity_kwh[plugged],
                               sol.ev_energy_kwh[1], atol=1e-6)
    assert res.hot_spot_c == pytest.approx(sol.transformer_hot_spot_c[0], abs=0.05)


def test_ev_target_of_a_window_is_what_full_power_afterwards_cannot_deliver(mid_episode) -> None:
    _, view = mid_episode
    data, planned = opf_data_for_window(view, 8)
    d, end, dt_h = view.evs, view.step + 8, SCENARIO.dt_h
    for col, i in enumerate(planned.index):
        deadline = int(d.deadline_step[i])
        if deadline > end:
            expected = max(d.target_kwh[i] - d.efficiency[i] * d.p_max_kw[i] * (deadline - end) * dt_h, 0.0)
        else:
            expected = d.target_kwh[i]
        assert data.evs.e_target_kwh[col] == pytest.approx(expected)


def test_forecast_replaces_the_future_but_not_the_present(mid_episode) -> None:
    env, view = mid_episode
    data, _ = opf_data_for_window(view, 8)  # the environment's (causal) forecaster
    fc = view.forecast(7)
    truth = env.episode.exogenous
    assert data.t_ambient_c[0] == truth.t_ambient_c[40]
    np.testing.assert_array_equal(data.t_ambient_c[1:], fc.t_ambient_c[1])  # the median row
    np.testing.assert_array_equal(data.price_import_eur_per_kwh, truth.price_eur_per_kwh[40:48])  # the tariff
    assert not np.allclose(data.t_ambient_c[1:], truth.t_ambient_c[41:48])
    other = NoisyForecaster(max_horizon_h=6)
    other.reset(truth, np.random.default_rng(1))
    with pytest.raises(ConfigError, match="issued at step"):
        opf_data_for_window(view, 8, forecast=other.forecast(view.step - 1, 7))
    with pytest.raises(ConfigError, match="n_periods"):
        opf_data_for_window(view, SCENARIO.n_steps)


def test_load_forecast_replaces_future_base_loads_and_gains(mid_episode) -> None:
    env, view = mid_episode
    forecaster = SeasonalEmpiricalLoadForecaster()
    forecaster.reset(view)
    lf = forecaster.forecast(view.step, 7)
    data, _ = opf_data_for_window(view, 8, load_forecast=lf)
    p_med, q_med = lf.median()
    inj = view.community.feeder.load_injection_matrix()
    np.testing.assert_allclose(data.base_p_kw[0], env.episode.exogenous.base_p_kw[40])  # observed
    np.testing.assert_allclose(data.base_p_kw[1:], p_med @ inj)
    np.testing.assert_allclose(data.base_q_kvar[1:], q_med @ inj)
    np.testing.assert_allclose(data.meter_p_kw[1:], p_med)
    np.testing.assert_allclose(data.houses.q_int_kw[1:], p_med[:, view.community.houses.load])
    with pytest.raises(ConfigError, match="load forecast"):
        opf_data_for_window(view, 8, load_forecast=forecaster.forecast(view.step, 3))


def test_expected_ev_sessions_join_the_window(mid_episode) -> None:
    env, view = mid_episode
    fc = EVSessionForecaster(n_training_episodes=8).fit(SCENARIO)
    sessions, index = fc.expected(view)
    assert set(index).isdisjoint(np.flatnonzero(view.evs.plugged | view.evs.departed))
    assert np.all(sessions.arrival_step > view.step)
    data, planned = opf_data_for_window(view, 40, expected_sessions=sessions, expected_index=index)
    assert planned.expected.sum() == len(index) and data.evs.n == len(planned.index)


def test_one_window_to_the_end_with_perfect_foresight_is_the_oracle() -> None:
    table = evaluate({"oracle": OracleController,
                      "mpc": functools.partial(MPCController, horizon_h=24, replan_every=96, perfect_foresight=True,
                                               comfort_margin_k=0.0)},
                     SCENARIO, episodes=1, seed=0, score=False)
    rows = table[table["episode"] != "mean"].set_index("controller")
    cols = ["return", "cost_eur", "aging_h", "losses_kwh", "discomfort_kh", "ev_unmet_kwh"]
    np.testing.assert_allclose(rows.loc["mpc", cols].astype(float), rows.loc["oracle", cols].astype(float),
                               rtol=1e-9, atol=1e-9)


def test_receding_horizon_meets_comfort_and_ev_needs_near_the_oracle() -> None:
    table = evaluate({"uncontrolled": UncontrolledController, "oracle": OracleController,
                      "mpc": MPCController}, SCENARIO, episodes=1, seed=0)
    rows = table[table["episode"] != "mean"].set_index("controller")
    mpc, orc, ref = rows.loc["mpc"], rows.loc["oracle"], rows.loc["uncontrolled"]
    # causal: forecast errors leave a little discomfort (the comfort back-off keeps it small)
    assert mpc["discomfort_kh"] < 0.5 and mpc["ev_unmet_kwh"] < 1e-3 and mpc["voltage_violations"] == 0
    assert orc["return"] >= mpc["return"] - 1e-6  # the oracle sees everything
    assert mpc["return"] > ref["return"] and mpc["cost_eur"] < ref["cost_eur"]
    assert 0.0 < mpc["score"] <= 100.0 + 1e-6


def test_mpc_plans_with_the_environments_forecaster() -> None:
    env = ThermoGridEnv(SCENARIO, forecaster=NoisyForecaster(max_horizon_h=6))
    env.reset(seed=0)
    mpc = MPCController(horizon_h=3, replan_every=12, comfort_margin_k=0.5)
    mpc.reset(env)
    for _ in range(13):
        env.step(mpc.predict(None)[0])
    assert [start for start, *_ in mpc.plans] == [0, 12]
    first = mpc.plans[0][1]
    assert first.n_periods == 12
    assert first.t_indoor_c[1:].min() >= SCENARIO.comfort.t_min_c + 0.5 - 1e-6  # planned inside the margin


def test_mpc_with_a_load_forecaster_plans_with_its_median() -> None:
    env = ThermoGridEnv(SCENARIO)
    env.reset(seed=0)
    known, forecast = MPCController(horizon_h=3, replan_every=12, load_forecaster=None), \
        MPCController(horizon_h=3, replan_every=12, load_forecaster=SeasonalEmpiricalLoadForecaster())
    for mpc in (known, forecast):
        mpc.reset(env)
        mpc.predict(None)
    a, b = known.plans[0][1], forecast.plans[0][1]
    assert not np.allclose(a.bus_p_kw[1:], b.bus_p_kw[1:])  # other loads ahead ...
    table = evaluate({"mpc": functools.partial(MPCController, horizon_h=3, replan_every=12,
                                               load_forecaster=SeasonalEmpiricalLoadForecaster())},
                     SCENARIO, episodes=1, seed=0, score=False)
    row = table[table["episode"] == 0].iloc[0]
    assert row["ev_unmet_kwh"] < 1e-3 and row["voltage_violations"] == 0  # ... and a working day


def test_invalid_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="horizon_h"):
        MPCController(horizon_h=0)
    with pytest.raises(ConfigError, match="replan_every"):
        MPCController(replan_every=0)
    with pytest.raises(ConfigError, match="comfort_margin_k"):
        MPCController(comfort_margin_k=-1)
    with pytest.raises(ConfigError, match="LoadForecaster"):
        MPCController(load_forecaster=NoisyForecaster())
    env = ThermoGridEnv(SCENARIO)
    env.reset(seed=0)
    with pytest.raises(ConfigError, match="fewer than replan_every"):
        MPCController(horizon_h=1, replan_every=8).reset(env)
    band = SCENARIO.comfort.t_max_c - SCENARIO.comfort.t_min_c
    with pytest.raises(ConfigError, match="comfort band"):
        MPCController(comfort_margin_k=band).reset(env)
