"""The calendar of the shipped load profiles: which days are working days and which are rest days.

The SimBench commercial profiles (G1-G6) run at their Sunday level on the public holidays of North
Rhine-Westphalia (DE-NW), the German federal holidays plus Corpus Christi and All Saints' Day, and
at their working-day level on holidays of other states only (Epiphany, Assumption, Reformation Day,
Repentance Day). Measured on 2016 (daytime mean of G1-A on the day, as a fraction of the way from
the month's working-day median to its Sunday median): 0.99-1.01 on every DE-NW holiday falling on
a weekday, -0.01 to 0.13 on the others. Carnival Monday (8 February 2016) sits half-way (0.51) and
is not a public holiday, so it counts as a working day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from thermogrid_env.errors import ConfigError

#: Holidays relative to Easter Sunday [days]: Good Friday, Easter Monday, Ascension Day, Whit Monday,
#: Corpus Christi.
_EASTER_OFFSETS_DAYS = (-2, 1, 39, 50, 60)
#: Fixed-date holidays (month, day): New Year, Labour Day, German Unity, All Saints, Christmas.
_FIXED_HOLIDAYS = ((1, 1), (5, 1), (10, 3), (11, 1), (12, 25), (12, 26))


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm, Meeus/Jones/Butcher).

    Raises:
        ConfigError: ``year`` is not an integer in 1583..9999.
    """
    if not isinstance(year, (int, np.integer)) or not 1583 <= year <= 9999:
        raise ConfigError(f"year must be an integer in 1583..9999 (Gregorian calendar), got {year!r}.")
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * l_) // 433
    month = (h + l_ - 7 * m + 90) // 25
    day = (h + l_ - 7 * m + 33 * month + 19) % 32
    return dt.date(int(year), int(month), int(day))


def public_holidays(year: int) -> frozenset[dt.date]:
    """Public holidays of North Rhine-Westphalia in ``year`` (the shipped profiles' calendar).

    Raises:
        ConfigError: See :func:`easter_sunday`.
    """
    easter = easter_sunday(year)
    moving = {easter + dt.timedelta(days=d) for d in _EASTER_OFFSETS_DAYS}
    return frozenset(moving | {dt.date(int(year), m, d) for m, d in _FIXED_HOLIDAYS})


def is_rest_day(time_local: pd.DatetimeIndex) -> np.ndarray:
    """Whether each time falls on a Saturday, Sunday or public holiday (:func:`public_holidays`).

    Args:
        time_local: Times in local time (e.g. ``index.tz_convert(LOCAL_TZ)``); the calendar date
            of each is used.

    Returns:
        ``(n,)`` bool array.
    """
    dates = pd.DatetimeIndex(time_local).normalize()
    holidays = set()
    for year in np.unique(dates.year):
        holidays |= public_holidays(int(year))
    holiday = np.asarray(dates.tz_localize(None).isin(pd.to_datetime(sorted(holidays))), dtype=bool)
    return (dates.weekday.to_numpy() >= 5) | holiday


__all__ = ["easter_sunday", "is_rest_day", "public_holidays"]
