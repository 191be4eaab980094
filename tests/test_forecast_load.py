"""Probabilistic base-load forecasts: no look-ahead, shapes and order, calibration, skill."""

import datetime as dt
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thermogrid_env.config import get_scenario
from thermogrid_env.errors import ConfigError
from thermogrid_env.forecast import LoadForecaster, SeasonalEmpiricalLoadForecaster
from thermogrid_env.sim.calendar import is_rest_day
from thermogrid_env.sim.episode import sample_episode
from thermogrid_env.sim.exogenous import LOCAL_TZ, year_profiles

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def episode():
    scenario = get_scenario("winter-high-der", start_date="2016-02-10", episode_days=2)  # a Wednesday
    return sample_episode(scenario, np.random.default_rng(0))


def test_ensemble_days_are_known_at_issue_time_and_of_the_same_day_type(episode) -> None:
    fc = SeasonalEmpiricalLoadForecaster(history_days=16)
    fc.reset(episode)
    index, _, _ = year_profiles(tuple(episode.community.feeder.load_profile))
    pos = index.get_indexer(episode.exogenous.time_utc.floor("15min"))
    local = index.tz_convert(LOCAL_TZ)
    for step, horizon in ((0, 96), (37, 96), (95, 150)):
        rows = fc.sample_positions(step, horizon)
        assert rows.shape == (horizon, 16)
        assert rows.max() < pos[step]  # strictly before the issue quarter hour: no look-ahead
        targets = pos[np.minimum(np.arange(step + 1, step + 1 + horizon), len(pos) - 1)]
        day_type = is_rest_day(local)  # working day, or weekend / public holiday
        assert (day_type[rows] == day_type[targets][:, None]).all()
        assert (local.hour.to_numpy()[rows] == local.hour.to_numpy()[targets][:, None]).mean() > 0.95  # same time


@pytest.mark.parametrize("holidays", [True, False])
def test_public_holidays_draw_rest_days(holidays: bool) -> None:
    """Ascension Day (Thursday 5 May 2016) is forecast from weekends and holidays, and the Friday
    after from working days only; with ``holidays=False`` the holiday counts as a Thursday."""
    ep = sample_episode(get_scenario("winter-high-der", start_date="2016-05-04", episode_days=3),
                        np.random.default_rng(0))
    fc = SeasonalEmpiricalLoadForecaster(history_days=16, holidays=holidays)
    fc.reset(ep)
    index, _, _ = year_profiles(tuple(ep.community.feeder.load_profile))
    local = index.tz_convert(LOCAL_TZ)
    pos = index.get_indexer(ep.exogenous.time_utc.floor("15min"))
    rows = fc.sample_positions(0, 2 * 96)  # issued at the start of 4 May, covering 5 and 6 May
    target_day = local[pos[1:2 * 96 + 1]].date
    on_holiday = target_day == pd.Timestamp("2016-05-05").date()
    after = target_day == pd.Timestamp("2016-05-06").date()
    weekday = local.weekday.to_numpy()
    rest = is_rest_day(local)
    assert on_holiday.sum() == 96 and after.sum() >= 40  # the episode starts at midday
    if holidays:
        assert rest[rows[on_holiday]].all()
        assert pd.Timestamp("2016-03-28").date() in set(local[rows[on_holiday].ravel()].date)  # Easter Monday
    else:
        assert (weekday[rows[on_holiday]] < 5).all()
    assert not rest[rows[after]].any()  # never a holiday or weekend for a working day


def test_forecast_shapes_order_and_scale(episode) -> None:
    fc = SeasonalEmpiricalLoadForecaster()
    assert isinstance(fc, LoadForecaster)
    fc.reset(episode)
    out = fc.forecast(10, 24)
    n_load = episode.community.feeder.n_load
    assert out.p_kw.shape == out.q_kvar.shape == (3, 24, n_load) and out.issue_step == 10
    assert (np.diff(out.p_kw, axis=0) >= 0).all()
    p_med, _ = out.median()
    truth = episode.exogenous.household_p_kw[11:35]
    assert 0.5 < p_med.sum() / truth.sum() < 2.0  # the right magnitude per load and period
    again = SeasonalEmpiricalLoadForecaster()
    again.reset(episode)
    np.testing.assert_array_equal(again.forecast(10, 24).p_kw, out.p_kw)  # deterministic


def test_invalid_use_is_a_config_error(episode) -> None:
    with pytest.raises(ConfigError, match="history_days"):
        SeasonalEmpiricalLoadForecaster(history_days=1)
    fc = SeasonalEmpiricalLoadForecaster()
    with pytest.raises(ConfigError, match="before reset"):
        fc.forecast(0, 4)
    fc.reset(episode)
    with pytest.raises(ConfigError, match="horizon_steps"):
        fc.forecast(0, 0)


def test_calibrated_and_more_skilful_than_naive_forecasts() -> None:
    spec = importlib.util.spec_from_file_location("load_forecasts", ROOT / "benchmarks" / "load_forecasts.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    methods = {"ours": SeasonalEmpiricalLoadForecaster, "same time yesterday": lambda: None, "persistence": lambda: None}
    pooled: dict[str, dict[str, float]] = {}
    for seed in range(4):
        ep = sample_episode(get_scenario("winter-high-der", episode_days=2), np.random.default_rng(seed))
        for name, sums in bench.score_episode(ep, methods).items():
            acc = pooled.setdefault(name, dict.fromkeys(sums, 0.0))
            for key, value in sums.items():
                acc[key] += value
    score = {name: s["pinball"] / s["load"] for name, s in pooled.items()}
    coverage = pooled["ours"]["inside"] / pooled["ours"]["n"]
    assert 0.6 < coverage < 0.9  # nominal 0.8 for the 10-90 % band
    assert score["ours"] < 0.8 * score["same time yesterday"] < 0.8 * score["persistence"]


def test_history_before_the_shipped_year_wraps_around() -> None:
    scenario = get_scenario("winter-high-der", start_date="2016-01-01")
    fc = SeasonalEmpiricalLoadForecaster()
    fc.reset(sample_episode(scenario, np.random.default_rng(0)))
    index, _, _ = year_profiles(("H0-B",))
    days = pd.DatetimeIndex(index[fc.sample_positions(0, 8).ravel()]).tz_convert(LOCAL_TZ)
    # Friday 1 January (New Year, a rest day), afternoon: the weekends and holidays before it are
    # taken from the end of 2016, Christmas included.
    assert (days.month >= 11).all() and is_rest_day(days).all()
    assert {dt.date(2016, 12, 25), dt.date(2016, 12, 26)} <= set(days.date)


def test_weather_and_load_forecasters_are_told_apart() -> None:
    from thermogrid_env.forecast import NoisyForecaster
    from thermogrid_env.forecast.load import is_load_forecaster

    assert is_load_forecaster(SeasonalEmpiricalLoadForecaster())
    assert not is_load_forecaster(NoisyForecaster())
    assert not is_load_forecaster(object())
