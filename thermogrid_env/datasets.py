"""Loaders of the data shipped in ``thermogrid_env/data`` (pandas), in one place.

Every time series comes back with a timezone-aware UTC ``DatetimeIndex`` named ``time_utc``.
Sources and licences are listed in ``thermogrid_env/data/ATTRIBUTION.md``; all files except the
3R2C table are written by ``scripts/build_data.py``.

Time base. SimBench labels its 2016 profiles in Berlin wall-clock time with daylight saving time:
27 March 2016 has 92 quarter-hours (02:00-02:45 is missing) and 30 October 2016 has 100 (02:00-02:45
appears twice, first CEST then CET). The build script localises the labels to ``Europe/Berlin``
(the repeated hour resolved by order) and converts them to UTC, so the shipped profiles lie on one
strictly increasing, gap-free 15-min UTC grid: the Berlin calendar year 2016, from
2015-12-31 23:00 UTC to 2016-12-31 22:45 UTC, 35136 steps (:func:`load_year_index`).

Results are cached internally; every loader returns a fresh copy that callers may modify.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from thermogrid_env.errors import ConfigError, DataError

#: Year of the shipped profiles (Berlin calendar year).
PROFILE_YEAR = 2016
#: Number of 15-min steps in the profile year (366 days x 96).
N_STEPS_YEAR = 35136
#: First step of the profile year: 2016-01-01 00:00 Berlin (CET) in UTC.
YEAR_START_UTC = pd.Timestamp("2015-12-31 23:00", tz="UTC")
#: Step of the profiles.
PROFILE_FREQ = "15min"

#: Profile kinds and the quantities shipped for each: ``"p"`` active, ``"q"`` reactive power,
#: both normalised as SimBench gives them (multiply by the load's rated ``p_kw``/``q_kvar``, or
#: by the generator's rated power for PV). SimBench's q profile of a heat pump equals its p
#: profile and that of a charging station is zero, so only p is shipped for those kinds.
PROFILE_QUANTITIES: dict[str, tuple[str, ...]] = {
    "household": ("p", "q"),
    "commercial": ("p", "q"),
    "pv": ("p",),
    "ev_home_charging": ("p",),
    "heat_pump": ("p",),
}

TIME_COLUMN = "time_utc"
#: Format of the time column in the shipped CSV files.
TIME_FORMAT = "%Y-%m-%dT%H:%MZ"
#: Shipped ERA5 2-m temperature file (hourly, UTC, a day of margin around the profile year).
TEMPERATURE_FILE = "era5_t2m_germany_2016.csv.gz"
TEMPERATURE_COLUMN = "t_ambient_c"


def data_path(name: str) -> Path:
    """Path of a shipped data file, with a clear error when it is missing.

    Args:
        name: File name relative to ``thermogrid_env/data``.

    Returns:
        The absolute path of the file.

    Raises:
        DataError: The file is not shipped (regenerate with ``scripts/build_data.py``).
    """
    path = Path(str(resources.files("thermogrid_env") / "data" / name))
    if not path.is_file():
        raise DataError(
            f"Shipped data file {path} is missing; regenerate it with "
            "`python scripts/build_data.py`."
        )
    return path


def profile_file_name(kind: str, quantity: str) -> str:
    """File name (in ``thermogrid_env/data``) of one kind and quantity of SimBench profiles.

    Args:
        kind: One of :data:`PROFILE_QUANTITIES`.
        quantity: ``"p"`` or ``"q"`` (as listed for the kind).

    Returns:
        E.g. ``"simbench_household_p_2016.csv.gz"``.

    Raises:
        ConfigError: Unknown kind, or a quantity not shipped for that kind.
    """
    _check_kind_quantity(kind, quantity)
    return f"simbench_{kind}_{quantity}_{PROFILE_YEAR}.csv.gz"


# ---------------------------------------------------------------------------------- house types
@lru_cache(maxsize=None)
def _house_types() -> pd.DataFrame:
    return pd.read_csv(data_path("house_3r2c_sperber2020.csv"))


def load_house_types() -> pd.DataFrame:
    """3R2C parameters of 9 German single-family house types x 3 renovation levels.

    Source: Sperber, Frey & Bertsch (2020), Energy and Buildings 223, 110144.

    Returns:
        One row per house type and renovation level with columns ``year_of_construction``,
        ``floor_area_m2``, ``renovation_level`` (1 existing, 2 usual, 3 advanced refurbishment),
        ``a_i_m2``, ``c_e_kwh_per_k``, ``c_i_kwh_per_k``, ``r_ea_k_per_kw``, ``r_ia_k_per_kw``,
        ``r_ie_k_per_kw``. A copy: callers may modify it.
    """
    return _house_types().copy()


# ---------------------------------------------------------------------------------- time index
def load_year_index() -> pd.DatetimeIndex:
    """The common 15-min UTC index of the shipped profiles.

    Returns:
        35136 tz-aware UTC timestamps from 2015-12-31 23:00 to 2016-12-31 22:45 (the Berlin
        calendar year 2016), strictly increasing, 15 min apart, named ``time_utc``. Each stamp
        marks the start of its quarter-hour.
    """
    return pd.date_range(
        YEAR_START_UTC, periods=N_STEPS_YEAR, freq=PROFILE_FREQ, name=TIME_COLUMN
    )


# ---------------------------------------------------------------------------------- profiles
def _check_kind_quantity(kind: str, quantity: str) -> None:
    if kind not in PROFILE_QUANTITIES:
        raise ConfigError(
            f"Unknown profile kind {kind!r}; choose one of {sorted(PROFILE_QUANTITIES)}."
        )
    valid = PROFILE_QUANTITIES[kind]
    if quantity not in valid:
        raise ConfigError(
            f"Quantity {quantity!r} is not shipped for profile kind {kind!r}; choose one of "
            f"{list(valid)} ('p' active, 'q' reactive power)."
        )


def _read_time_table(name: str) -> pd.DataFrame:
    """Read a shipped CSV whose first column is the UTC time in :data:`TIME_FORMAT`."""
    path = data_path(name)
    try:
        table = pd.read_csv(path, index_col=TIME_COLUMN)
        table.index = pd.to_datetime(table.index, format=TIME_FORMAT, utc=True)
    except (ValueError, KeyError) as exc:
        raise DataError(
            f"Shipped data file {path} is malformed ({exc}); regenerate it with "
            "`python scripts/build_data.py`."
        ) from exc
    table.index = table.index.as_unit("ns").rename(TIME_COLUMN)
    return table.astype(float)


@lru_cache(maxsize=None)
def _profiles(kind: str, quantity: str) -> pd.DataFrame:
    name = profile_file_name(kind, quantity)
    table = _read_time_table(name)
    if not table.index.equals(load_year_index()):
        raise DataError(
            f"Shipped profile file {name} is not on the 15-min UTC grid of {PROFILE_YEAR}; "
            "regenerate it with `python scripts/build_data.py`."
        )
    if table.isna().any().any():
        raise DataError(f"Shipped profile file {name} contains missing values.")
    return table


def load_profiles(kind: str, quantity: str = "p") -> pd.DataFrame:
    """SimBench 15-min profiles of one kind for 2016, normalised as SimBench gives them.

    Kinds and their columns (SimBench profile names):

    * ``"household"``: ``H0-A``, ``H0-B``, ``H0-C``, ``H0-G``, ``H0-H``, ``H0-L`` (p, q).
    * ``"commercial"``: the ``G*``/``L*`` profiles referenced by the shipped feeders' loads
      (p, q).
    * ``"pv"``: ``PV1`` ... ``PV8`` (p; generation is positive here).
    * ``"ev_home_charging"``: home charging stations ``HLS_<variant>_<rated kW>``, e.g.
      ``HLS_A_3.7`` (p).
    * ``"heat_pump"``: ``Air_*`` (air-source) and ``Soil_*`` (ground-source) heat pumps in
      bivalent alternative / parallel / semi-parallel operation (p).

    Args:
        kind: One of :data:`PROFILE_QUANTITIES`.
        quantity: ``"p"`` (active power, default) or ``"q"`` (reactive power).

    Returns:
        ``(35136, n_profiles)`` dimensionless values on :func:`load_year_index`; multiply by the
        rated power of the element (``p_kw``/``q_kvar`` of a load, rated kW of a PV plant) to get
        kW/kvar. Household, commercial and heat-pump p profiles peak at exactly 1.0 over the
        year (charging stations just below 1, PV at about 0.6); q profiles are scaled to the
        load's rated q and may exceed 1 or be negative. A copy: callers may modify it.

    Raises:
        ConfigError: Unknown kind or quantity (the message lists the valid ones).
        DataError: The shipped file is missing or malformed.
    """
    _check_kind_quantity(kind, quantity)
    return _profiles(kind, quantity).copy()


@lru_cache(maxsize=None)
def _profile_kinds(quantity: str) -> dict[str, str]:
    """Profile name -> kind, over all kinds that ship ``quantity``."""
    return {
        name: kind
        for kind, quantities in PROFILE_QUANTITIES.items()
        if quantity in quantities
        for name in _profiles(kind, quantity).columns
    }


def load_profile(name: str, quantity: str = "p") -> pd.Series:
    """One SimBench profile by name, whatever its kind (e.g. to attach a feeder's loads).

    Args:
        name: SimBench profile name as in ``Feeder.load_profile``, e.g. ``"H0-B"``, ``"G1-A"``,
            ``"PV5"``, ``"HLS_A_3.7"``, ``"Air_Parallel_2"``.
        quantity: ``"p"`` (active power, default) or ``"q"`` (reactive power).

    Returns:
        Dimensionless values on :func:`load_year_index`, named ``name`` (see
        :func:`load_profiles` for the normalisation). A copy.

    Raises:
        ConfigError: Unknown quantity, or no shipped profile of that name for that quantity
            (the message lists the available names).
        DataError: A shipped file is missing or malformed.
    """
    if quantity not in {q for qs in PROFILE_QUANTITIES.values() for q in qs}:
        raise ConfigError(f"Unknown quantity {quantity!r}; choose 'p' (active) or 'q' (reactive).")
    kinds = _profile_kinds(quantity)
    if name not in kinds:
        hint = ""
        if quantity == "q" and name in _profile_kinds("p"):
            hint = f" {name!r} ships only a p profile (its kind has no distinct q profile)."
        raise ConfigError(
            f"No shipped {quantity!r} profile named {name!r}.{hint} Available: {sorted(kinds)}."
        )
    return _profiles(kinds[name], quantity)[name].copy()


# ---------------------------------------------------------------------------------- weather
@lru_cache(maxsize=None)
def _temperature_hourly() -> pd.Series:
    table = _read_time_table(TEMPERATURE_FILE)
    series = table[TEMPERATURE_COLUMN]
    index = series.index
    step_ok = bool(np.all(np.diff(index.asi8) == pd.Timedelta("1h").value))
    year = load_year_index()
    if not step_ok or index[0] > year[0] or index[-1] < year[-1] + pd.Timedelta("15min"):
        raise DataError(
            f"Shipped file {TEMPERATURE_FILE} is not an hourly series covering {PROFILE_YEAR}; "
            "regenerate it with `python scripts/build_data.py`."
        )
    return series


def load_ambient_temperature(freq: str = "1h") -> pd.Series:
    """Hourly ERA5 2-m air temperature for Germany in 2016 (Copernicus C3S, via emobpy).

    ERA5 values are instantaneous at the full hour; the 15-min series interpolates them
    linearly in time.

    Args:
        freq: ``"1h"`` (default): the 8784 hours of the profile year, 2015-12-31 23:00 to
            2016-12-31 22:00 UTC. ``"15min"``: linearly interpolated onto
            :func:`load_year_index` (35136 values).

    Returns:
        Ambient temperature [degC] named ``t_ambient_c`` with a UTC index. A copy.

    Raises:
        ConfigError: ``freq`` is neither one hour nor 15 minutes.
        DataError: The shipped file is missing or malformed.
    """
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError as exc:
        raise ConfigError(f"freq must be '1h' or '15min', got {freq!r}.") from exc
    hourly = _temperature_hourly()
    if offset == pd.tseries.frequencies.to_offset("1h"):
        index = pd.date_range(
            YEAR_START_UTC, periods=N_STEPS_YEAR // 4, freq="1h", name=TIME_COLUMN
        )
        return hourly.reindex(index).rename(TEMPERATURE_COLUMN).copy()
    if offset == pd.tseries.frequencies.to_offset(PROFILE_FREQ):
        index = load_year_index()
        values = np.interp(
            index.as_unit("ns").asi8, hourly.index.as_unit("ns").asi8, hourly.to_numpy()
        )
        return pd.Series(values, index=index, name=TEMPERATURE_COLUMN)
    raise ConfigError(f"freq must be '1h' or '15min', got {freq!r}.")
