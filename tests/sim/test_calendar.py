"""The load profiles' calendar: Easter dates, DE-NW public holidays, and what the shipped data show."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from thermogrid_env.errors import ConfigError
from thermogrid_env.sim.calendar import easter_sunday, is_rest_day, public_holidays
from thermogrid_env.sim.exogenous import LOCAL_TZ, year_profiles

# Published Easter Sundays (Gregorian), incl. the earliest (22 March) and latest (25 April) possible.
EASTER = {1818: (3, 22), 1943: (4, 25), 2000: (4, 23), 2008: (3, 23), 2011: (4, 24), 2016: (3, 27),
          2019: (4, 21), 2024: (3, 31), 2025: (4, 20), 2038: (4, 25), 2285: (3, 22)}


@pytest.mark.parametrize(("year", "month_day"), EASTER.items())
def test_easter_sunday_matches_published_dates(year: int, month_day: tuple[int, int]) -> None:
    assert easter_sunday(year) == dt.date(year, *month_day)


def test_public_holidays_2016_and_bad_years() -> None:
    expected = {(1, 1), (3, 25), (3, 28), (5, 1), (5, 5), (5, 16), (5, 26), (10, 3), (11, 1), (12, 25), (12, 26)}
    assert public_holidays(2016) == {dt.date(2016, m, d) for m, d in expected}
    for bad in (1500, 2016.0, "2016"):
        with pytest.raises(ConfigError, match="year"):
            public_holidays(bad)


def test_rest_days_weekends_and_holidays_in_any_time_zone() -> None:
    days = pd.date_range("2016-03-24", periods=6, freq="D")  # Thu .. Tue around Easter
    expected = [False, True, True, True, True, False]  # Good Friday, Sat, Easter Sunday, Easter Monday
    assert is_rest_day(days).tolist() == expected
    assert is_rest_day(days.tz_localize(LOCAL_TZ) + pd.Timedelta(hours=23)).tolist() == expected


def test_shipped_commercial_profiles_rest_on_these_holidays_only() -> None:
    """Independent check of the calendar against the data: on each weekday holiday of DE-NW the
    commercial profile G1-A runs at its Sunday level, on other states' holidays at its working-day level."""
    index, p, _ = year_profiles(("G1-A",))
    local = index.tz_convert(LOCAL_TZ)
    hour = local.hour.to_numpy()
    day = pd.Series(p[(hour >= 8) & (hour < 18), 0], index=local[(hour >= 8) & (hour < 18)].normalize()).groupby(
        level=0).mean()
    day.index = day.index.tz_localize(None)

    def sunday_likeness(date: dt.date) -> float:
        month = day[day.index.month == date.month]
        working = month[(month.index.weekday < 5) & ~is_rest_day(month.index)].median()
        sunday = month[month.index.weekday == 6].median()
        return float((day[pd.Timestamp(date)] - working) / (sunday - working))

    for holiday in sorted(public_holidays(2016)):
        if holiday.weekday() < 5:
            assert sunday_likeness(holiday) > 0.9, holiday
    for other_state in ("2016-01-06", "2016-08-15", "2016-10-31", "2016-11-16"):
        assert abs(sunday_likeness(pd.Timestamp(other_state).date())) < 0.3, other_state
    assert np.isfinite(day.to_numpy()).all()
