"""Tests of the KPI harness :func:`thermogrid_env.evaluate` and the plots of its traces."""

from __future__ import annotations

import dataclasses
import io
import sys
import time

import numpy as np
import pandas as pd
import pytest

from baselines import RuleBasedController, UncontrolledController
from thermogrid_env import evaluate
from thermogrid_env.config import get_scenario
from thermogrid_env.errors import ConfigError
from thermogrid_env.envs.thermogrid_env import ThermoGridEnv
from thermogrid_env.evaluation import ID_COLUMNS, EpisodeTrace
from thermogrid_env.physics.powerflow import PowerFlowSolver
from thermogrid_env.sim.kpi import KPI_UNITS

SCENARIO = "winter-high-der"
CONTROLLERS = {"uncontrolled": UncontrolledController, "rule_based": RuleBasedController}


@pytest.fixture(scope="module")
def recorded():
    return evaluate(CONTROLLERS, scenario=SCENARIO, episodes=2, seed=5, record=True)


def test_table_layout_and_mean_rows(recorded) -> None:
    table, _ = recorded
    assert list(table.columns) == [*ID_COLUMNS, *KPI_UNITS, "n_steps", "wall_s"]
    assert table.attrs["units"] == KPI_UNITS
    assert list(table["controller"]) == ["uncontrolled"] * 3 + ["rule_based"] * 3
    assert list(table["episode"]) == [0, 1, "mean"] * 2
    assert list(table["seed"].iloc[:2]) == [5, 6] and pd.isna(table["seed"].iloc[2])
    for name in CONTROLLERS:
        own = table[table["controller"] == name]
        episodes, mean = own[own["episode"] != "mean"], own[own["episode"] == "mean"].iloc[0]
        for col in ["return", *KPI_UNITS]:
            assert mean[col] == pytest.approx(episodes[col].astype(float).mean())
    assert (table["n_steps"] == 96).all()


def test_every_controller_plays_identical_episodes(recorded) -> None:
    table, traces = recorded
    rows = table[table["episode"] != "mean"]
    days = rows.pivot(index="episode", columns="controller", values="start_day")
    assert (days["uncontrolled"] == days["rule_based"]).all()
    assert days["uncontrolled"].nunique() == 2  # two different days
    for i in range(2):
        a, b = traces["uncontrolled"][i], traces["rule_based"][i]
        assert isinstance(a, EpisodeTrace) and a.start_day == b.start_day
        np.testing.assert_array_equal(a.base_p_kw, b.base_p_kw)
        np.testing.assert_array_equal(a.t_ambient_c, b.t_ambient_c)
        assert a.t_indoor_c.shape == (96, 32) and a.ev_soc.shape == (96, 29)
        assert not np.array_equal(a.hp_p_kw, b.hp_p_kw)  # ...but the controllers differ


def test_same_seed_gives_identical_results(recorded) -> None:
    table, _ = recorded
    again = evaluate(CONTROLLERS, scenario=SCENARIO, episodes=2, seed=5)
    cols = [c for c in table.columns if c != "wall_s"]
    pd.testing.assert_frame_equal(table[cols], again[cols])


def test_parallel_jobs_give_the_serial_table_and_traces(recorded) -> None:
    table, traces = recorded
    par_table, par_traces = evaluate(CONTROLLERS, scenario=SCENARIO, episodes=2, seed=5, record=True, jobs=2)
    cols = [c for c in table.columns if c != "wall_s"]
    pd.testing.assert_frame_equal(table[cols], par_table[cols])
    for name in CONTROLLERS:
        for serial, parallel in zip(traces[name], par_traces[name], strict=True):
            assert parallel.episode == serial.episode and parallel.seed == serial.seed
            np.testing.assert_array_equal(parallel.t_indoor_c, serial.t_indoor_c)
            np.testing.assert_array_equal(parallel.reward, serial.reward)


def test_parallel_jobs_refuse_what_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="pickling"):
        evaluate({"local": lambda: UncontrolledController()}, scenario=SCENARIO, episodes=2, jobs=2)
    with pytest.raises(ValueError, match="jobs"):
        evaluate(CONTROLLERS, scenario=SCENARIO, jobs=0)


def test_kpis_match_the_environments_episode_kpis() -> None:
    env = ThermoGridEnv(SCENARIO)
    obs, _ = env.reset(seed=11)
    ctrl = RuleBasedController()
    ctrl.reset(env)
    total = 0.0
    while True:
        obs, reward, _, truncated, info = env.step(ctrl.predict(obs)[0])
        total += reward
        if truncated:
            break
    row = evaluate({"rule_based": RuleBasedController}, scenario=SCENARIO, seed=11).iloc[0]
    for name, value in info["episode_kpi"].items():
        assert row[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name
    assert row["return"] == pytest.approx(total, rel=1e-12)


def test_hand_computable_kpis_without_devices() -> None:
    """No devices: the KPIs are the base load's power flow, summed by hand."""
    scenario = dataclasses.replace(get_scenario(SCENARIO), name="empty", hp_share=0.0, ev_share=0.0, pv_share=0.0)
    row = evaluate({"uncontrolled": UncontrolledController}, scenario=scenario, seed=2).iloc[0]
    env = ThermoGridEnv(scenario)
    env.reset(seed=2)
    exo, dt_h = env.episode.exogenous, scenario.dt_h
    res = PowerFlowSolver(env.episode.community.feeder, backend="numpy").solve(exo.base_p_kw, exo.base_q_kvar)
    losses_kwh = float(np.sum(res.p_loss_kw) * dt_h)
    p_slack = np.asarray(res.p_slack_kw)
    cost = float(np.sum(exo.price_eur_per_kwh * np.maximum(exo.base_p_kw, 0).sum(axis=1)) * dt_h)
    assert row["discomfort_kh"] == 0 and row["ev_unmet_kwh"] == 0 and row["curtailment_kwh"] == 0
    assert row["voltage_violations"] == 0 and row["line_loading_max"] < 1
    assert row["losses_kwh"] == pytest.approx(losses_kwh, rel=1e-6)
    assert row["import_kwh"] == pytest.approx(np.maximum(p_slack, 0).sum() * dt_h, rel=1e-6)
    assert row["peak_import_kw"] == pytest.approx(p_slack.max(), rel=1e-6)
    assert row["trafo_loading_max"] == pytest.approx(np.max(res.transformer_loading), rel=1e-6)
    assert row["cost_eur"] == pytest.approx(cost, rel=1e-9)
    w = scenario.reward_weights  # no voltage deviation, no overload, no devices
    expected_return = -(w.cost * cost + w.losses * losses_kwh + w.aging * row["aging_h"])
    assert row["return"] == pytest.approx(expected_return, rel=1e-6)


def test_controller_specs_are_checked() -> None:
    with pytest.raises(TypeError):
        evaluate({"bad": 42}, scenario=SCENARIO)
    with pytest.raises(ValueError):
        evaluate({}, scenario=SCENARIO)


def test_controllers_by_installed_name() -> None:
    table = evaluate({"rule_based": "rule_based"}, scenario=SCENARIO, episodes=1, score=False)
    assert table.loc[0, "return"] == evaluate({"rule_based": RuleBasedController}, scenario=SCENARIO,
                                              episodes=1, score=False).loc[0, "return"]
    with pytest.raises(ConfigError, match="no controller named 'nope'.*rule_based"):
        evaluate({"x": "nope"}, scenario=SCENARIO, score=False)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_by_default_on_a_terminal_with_the_running_step(monkeypatch) -> None:
    import thermogrid_env.evaluation as evaluation

    class Slow(RuleBasedController):
        def predict(self, *args, **kwargs):
            time.sleep(0.02)  # a long step (an MPC re-plan) must show the step it is at
            return super().predict(*args, **kwargs)

    monkeypatch.setattr(evaluation, "PROGRESS_DELAY_S", 0.0)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    evaluate({"slow": Slow}, scenario=SCENARIO, episodes=1, score=False)  # progress=None: the default
    shown = sys.stderr.getvalue()
    assert "slow 1/1, step " in shown and "/96" in shown
    monkeypatch.setattr(evaluation, "PROGRESS_DELAY_S", 60.0)  # a run shorter than the delay stays quiet
    monkeypatch.setattr(sys, "stderr", _Terminal())
    evaluate({"slow": Slow}, scenario=SCENARIO, episodes=1, score=False)
    assert sys.stderr.getvalue() == ""
    monkeypatch.setattr(evaluation, "PROGRESS_DELAY_S", 0.0)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: silent by default
    evaluate({"slow": Slow}, scenario=SCENARIO, episodes=1, score=False)
    assert sys.stderr.getvalue() == ""


def test_progress_line_and_trace_frame(recorded, capsys) -> None:
    evaluate({"rule_based": RuleBasedController}, scenario=SCENARIO, episodes=1, progress=True)
    assert "evaluate" in capsys.readouterr().err
    frame = recorded[1]["rule_based"][0].to_frame()
    assert len(frame) == 96 and {"v_min_pu", "t_indoor_mean_c", "ev_soc_mean"} <= set(frame.columns)


def test_plots_are_written(recorded, tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from thermogrid_env.plotting import plot_traces

    paths = plot_traces(recorded[1], tmp_path, episode=1)
    assert [p.name for p in paths] == ["uncontrolled_episode1.png", "rule_based_episode1.png",
                                       "comparison_episode1.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_learning_curve_plot_and_its_input_checks(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from thermogrid_env.errors import ConfigError
    from thermogrid_env.plotting import plot_learning_curve

    returns = -1000.0 + 10.0 * np.arange(30)
    path = plot_learning_curve(returns, tmp_path / "curve.png", {"oracle": -700.0, "uncontrolled": -1100.0}, window=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for bad in (np.array([]), np.array([1.0, np.nan]), np.ones((2, 2))):
        with pytest.raises(ConfigError, match="finite training returns"):
            plot_learning_curve(bad, tmp_path / "bad.png")
    with pytest.raises(ConfigError, match="window"):
        plot_learning_curve(returns, tmp_path / "bad.png", window=0)
