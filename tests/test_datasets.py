"""Tests of the shipped data and its loaders (``thermogrid_env.datasets``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thermogrid_env import datasets
from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.network import load_feeder

QUARTER_H = pd.Timedelta("15min")
KIND_QUANTITIES = [(k, q) for k, qs in datasets.PROFILE_QUANTITIES.items() for q in qs]
FEEDER_FACTS = {  # name: (buses, loads, households, transformer kVA)
    "simbench-semiurb4": (44, 41, 32, 400.0),
    "simbench-rural2": (97, 99, 92, 250.0),
    "simbench-rural1": (15, 13, 3, 160.0),
    "simbench-rural3": (129, 118, 113, 400.0),
    "simbench-semiurb5": (111, 104, 92, 630.0),
    "simbench-urban6": (59, 111, 102, 630.0),
}


def _build_script():
    """Import ``scripts/build_data.py`` as a module (it is not part of the package)."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "build_data.py"
    spec = importlib.util.spec_from_file_location("build_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mean_day(series: pd.Series) -> np.ndarray:
    """Mean value per UTC quarter-hour of the day (96 values)."""
    slot = series.index.hour * 4 + series.index.minute // 15
    return series.groupby(slot).mean().to_numpy()


def _centroid_h(series: pd.Series) -> float:
    """Energy-weighted mean time of day [h UTC] (quarter-hour midpoints)."""
    hours = series.index.hour + series.index.minute / 60 + 7.5 / 60
    return float((series * hours).sum() / series.sum())


def _best_lag_min(before: np.ndarray, after: np.ndarray) -> int:
    """Shift [min] of ``after`` relative to ``before`` that correlates best (positive: later)."""
    a, b = (before - before.mean()) / before.std(), (after - after.mean()) / after.std()
    lags = np.arange(-8, 9)
    corr = [np.mean(a * np.roll(b, -lag)) for lag in lags]
    return int(lags[int(np.argmax(corr))]) * 15


# ---------------------------------------------------------------------------------- time index
def test_year_index_is_2016_berlin_year_in_utc() -> None:
    index = datasets.load_year_index()
    assert len(index) == 35136 == 366 * 96
    assert str(index.tz) == "UTC"
    assert index[0] == pd.Timestamp("2015-12-31 23:00", tz="UTC")
    assert index[-1] == pd.Timestamp("2016-12-31 22:45", tz="UTC")
    assert index.is_monotonic_increasing and index.is_unique
    assert (np.diff(index.asi8) == QUARTER_H.value).all()


def test_dst_days_in_berlin_time() -> None:
    local = datasets.load_year_index().tz_convert("Europe/Berlin")
    spring = local[local.normalize() == pd.Timestamp("2016-03-27", tz="Europe/Berlin")]
    autumn = local[local.normalize() == pd.Timestamp("2016-10-30", tz="Europe/Berlin")]
    assert len(spring) == 92 and not (spring.hour == 2).any()
    assert len(autumn) == 100 and (autumn.hour == 2).sum() == 8


def test_build_script_converts_berlin_labels_across_dst() -> None:
    to_utc = _build_script().berlin_labels_to_utc
    spring = [f"27.03.2016 {h:02d}:{m:02d}" for h in range(24) if h != 2 for m in (0, 15, 30, 45)]
    autumn = [f"30.10.2016 {h:02d}:{m:02d}" for h in range(24) for m in (0, 15, 30, 45)]
    autumn = autumn[:12] + autumn[8:]  # 02:00-02:45 listed twice, as in SimBench
    for labels, first, last in (
        (spring, "2016-03-26 23:00", "2016-03-27 21:45"),
        (autumn, "2016-10-29 22:00", "2016-10-30 22:45"),
    ):
        utc = to_utc(labels)
        assert utc[0] == pd.Timestamp(first, tz="UTC") and utc[-1] == pd.Timestamp(last, tz="UTC")
        assert (np.diff(utc.asi8) == QUARTER_H.value).all()
    with pytest.raises(ValueError, match="Berlin"):
        to_utc(["27.03.2016 01:45", "27.03.2016 02:00"])  # non-existent local time
    with pytest.raises(ValueError, match="gap-free"):
        to_utc(["27.03.2016 01:45", "27.03.2016 03:15"])  # a missing quarter-hour


def test_dst_evidence_pv_follows_sun_commercial_follows_clock() -> None:
    """The labels are DST wall-clock time: in UTC the sun does not jump, office hours do."""
    pv = datasets.load_profiles("pv").sum(axis=1)
    office = datasets.load_profile("G4-A")
    for switch, clock_shift_min in (("2016-03-27", -60), ("2016-10-30", 60)):
        t = pd.Timestamp(switch, tz="UTC")
        before = slice(t - pd.Timedelta("14D"), t)
        after = slice(t + pd.Timedelta("1D"), t + pd.Timedelta("15D"))
        assert abs(_centroid_h(pv[after]) - _centroid_h(pv[before])) < 0.3
        weekday = [office[s][office[s].index.dayofweek < 5] for s in (before, after)]
        assert _best_lag_min(_mean_day(weekday[0]), _mean_day(weekday[1])) == clock_shift_min


def test_repeated_autumn_hour_is_a_copy_in_simbench() -> None:
    """SimBench fills the repeated 02:xx of 30 Oct with a copy of the first one (documented).

    True of the H0 profiles except H0-H, of PV, charging and heat-pump profiles, not of G/L.
    """
    household = datasets.load_profiles("household").drop(columns="H0-H")
    first = household.loc["2016-10-30 00:00":"2016-10-30 00:45"].to_numpy()
    second = household.loc["2016-10-30 01:00":"2016-10-30 01:45"].to_numpy()
    np.testing.assert_array_equal(first, second)


# ---------------------------------------------------------------------------------- profiles
@pytest.mark.parametrize(("kind", "quantity"), KIND_QUANTITIES)
def test_profiles_on_year_index(kind: str, quantity: str) -> None:
    profiles = datasets.load_profiles(kind, quantity)
    assert profiles.index.equals(datasets.load_year_index())
    assert profiles.shape[0] == 35136 and profiles.shape[1] > 0
    assert np.isfinite(profiles.to_numpy()).all()
    assert all(profiles.dtypes == float)


def test_profile_columns() -> None:
    assert list(datasets.load_profiles("household").columns) == [
        "H0-A", "H0-B", "H0-C", "H0-G", "H0-H", "H0-L"
    ]
    assert list(datasets.load_profiles("pv").columns) == [f"PV{i}" for i in range(1, 9)]
    assert set(datasets.load_profiles("ev_home_charging").columns) == {
        "HLS_A_3.7", "HLS_B_3.7", "HLS_C_3.7", "HLS_A_11.0", "HLS_B_11.0", "HLS_A_22.0"
    }
    heat_pumps = datasets.load_profiles("heat_pump").columns
    assert len(heat_pumps) == 8 and all(c.startswith(("Air_", "Soil_")) for c in heat_pumps)
    assert list(datasets.load_profiles("commercial", "q").columns) == list(
        datasets.load_profiles("commercial", "p").columns
    )


@pytest.mark.parametrize("name", sorted(FEEDER_FACTS))
def test_every_feeder_load_has_p_and_q_profiles(name: str) -> None:
    feeder = load_feeder(name)
    for profile in set(feeder.load_profile):
        for quantity in ("p", "q"):
            assert len(datasets.load_profile(profile, quantity)) == 35136


def test_loaders_return_copies() -> None:
    profiles = datasets.load_profiles("household")
    profiles.iloc[:, :] = -1.0
    series = datasets.load_profile("PV5")
    series[:] = -1.0
    temperature = datasets.load_ambient_temperature()
    temperature[:] = 99.0
    assert datasets.load_profiles("household").min().min() >= 0.0
    assert datasets.load_profile("PV5").min() >= 0.0
    assert datasets.load_ambient_temperature().max() < 40.0


def test_load_profile_matches_kind_table() -> None:
    pd.testing.assert_series_equal(
        datasets.load_profile("H0-B", "q"), datasets.load_profiles("household", "q")["H0-B"]
    )
    pd.testing.assert_series_equal(
        datasets.load_profile("HLS_A_3.7"), datasets.load_profiles("ev_home_charging")["HLS_A_3.7"]
    )


def test_load_profiles_normalised_to_annual_peak() -> None:
    """SimBench scales load p profiles to a peak of 1 (p_kw is the annual peak)."""
    for kind in ("household", "commercial", "heat_pump"):
        profiles = datasets.load_profiles(kind)
        np.testing.assert_allclose(profiles.max(), 1.0)
        assert profiles.min().min() >= 0.0


def test_household_annual_energy_plausible() -> None:
    # Full-load hours of the H0 profiles (H0-H is an almost flat profile).
    full_load_h = datasets.load_profiles("household").sum() * 0.25
    assert full_load_h.drop("H0-H").between(400, 1300).all()
    assert 5000 < full_load_h["H0-H"] < 6500
    # Annual energy of the semiurb4 households: a few MWh each.
    feeder = load_feeder("simbench-semiurb4")
    households = feeder.load_is_household
    names = np.array(feeder.load_profile)[households]
    energy_kwh = feeder.load_p_kw[households] * full_load_h[names].to_numpy()
    assert 2000 < energy_kwh.mean() < 4000
    assert energy_kwh.min() > 1000 and energy_kwh.max() < 8000


def test_pv_zero_at_night_and_peaks_before_noon_utc() -> None:
    pv = datasets.load_profiles("pv")
    assert pv.min().min() >= 0.0 and pv.max().max() < 1.0
    night = pv[(pv.index.hour >= 21) | (pv.index.hour < 2)]
    assert (night.to_numpy() == 0.0).all()
    hours = pv.index.hour + pv.index.minute / 60 + 7.5 / 60
    mean_day = pv.groupby(pv.index.hour).mean()
    assert mean_day.idxmax().between(8, 12).all()
    for months in ([12, 1, 2], [6, 7, 8]):
        sel = pv.index.month.isin(months)
        centroid = (pv[sel].mul(hours[sel], axis=0)).sum() / pv[sel].sum()
        # SimBench's PV profiles are centred at 9.4-12.0 UTC (orientations differ), on average
        # at ~10.4 UTC, i.e. before solar noon in Germany (~11:20 UTC).
        assert centroid.between(9.0, 12.5).all()
        assert 10.0 < centroid.mean() < 11.5
    summer = pv.index.month.isin([6, 7])
    winter = pv.index.month.isin([12, 1])
    total = pv.sum(axis=1)
    assert abs(_centroid_h(total[summer]) - _centroid_h(total[winter])) < 0.5  # no DST artefact


def test_heat_pump_profiles_are_seasonal_and_temperature_driven() -> None:
    hp = datasets.load_profiles("heat_pump")
    monthly = hp.groupby(hp.index.month).mean()
    assert (monthly.loc[1] > 5 * monthly.loc[7]).all()
    daily = hp.resample("1D").mean()
    t_daily = datasets.load_ambient_temperature("15min").resample("1D").mean()
    assert (daily.corrwith(t_daily) < -0.5).all()


def test_ev_home_charging_profiles_range() -> None:
    ev = datasets.load_profiles("ev_home_charging")
    assert ev.min().min() > -1e-4  # SimBench has a few -1.2e-5 in HLS_C_3.7
    assert ev.max().max() <= 1.0


# ---------------------------------------------------------------------------------- errors
def test_unknown_kind_or_quantity_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="household"):
        datasets.load_profiles("wind")
    with pytest.raises(ConfigError, match=r"\['p'\]"):
        datasets.load_profiles("pv", "q")
    with pytest.raises(ConfigError, match="H0-A"):
        datasets.load_profile("H0-Z")
    with pytest.raises(ConfigError, match="only a p profile"):
        datasets.load_profile("Air_Parallel_2", "q")
    with pytest.raises(ConfigError):
        datasets.load_profile("H0-A", "s")
    with pytest.raises(ConfigError):
        datasets.load_ambient_temperature("30min")


def test_missing_file_raises_data_error() -> None:
    with pytest.raises(DataError, match="build_data.py"):
        datasets.data_path("no_such_file.csv.gz")


# ---------------------------------------------------------------------------------- weather
def test_ambient_temperature_hourly() -> None:
    t = datasets.load_ambient_temperature()
    assert t.name == "t_ambient_c" and len(t) == 8784
    assert t.index[0] == pd.Timestamp("2015-12-31 23:00", tz="UTC")
    assert t.index[-1] == pd.Timestamp("2016-12-31 22:00", tz="UTC")
    assert (np.diff(t.index.asi8) == pd.Timedelta("1h").value).all()
    assert 9.0 < t.mean() < 10.5  # Germany 2016
    monthly = t.groupby(t.index.month).mean()
    assert monthly[1] < 5.0 and monthly[7] > 15.0
    assert -25.0 < t.min() and t.max() < 40.0


def test_ambient_temperature_15min_interpolates_hourly() -> None:
    hourly = datasets.load_ambient_temperature("1h")
    fine = datasets.load_ambient_temperature("15min")
    assert fine.index.equals(datasets.load_year_index()) and fine.name == "t_ambient_c"
    pd.testing.assert_series_equal(fine.loc[hourly.index], hourly, check_freq=False)
    midpoint = 0.5 * (hourly.iloc[0] + hourly.iloc[1])
    assert fine.iloc[2] == pytest.approx(midpoint)
    assert np.isfinite(fine.iloc[-1])


# ---------------------------------------------------------------------------------- feeders
@pytest.mark.parametrize("name", sorted(FEEDER_FACTS))
def test_shipped_feeders(name: str) -> None:
    n_bus, n_load, n_household, trafo_kva = FEEDER_FACTS[name]
    feeder = load_feeder(name)
    assert feeder.n_bus == n_bus
    assert feeder.n_load == n_load
    assert int(feeder.load_is_household.sum()) == n_household
    assert feeder.transformer_rating_kva == trafo_kva
