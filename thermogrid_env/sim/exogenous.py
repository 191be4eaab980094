"""Exogenous data of one episode: base loads, ambient temperature, irradiance, PV and prices.

Episodes start at ``scenario.start_hour_local`` (Europe/Berlin; default noon) on a day of the
shipped year 2016 and run on a UTC time grid of ``scenario.dt_s``. The 15-min SimBench profiles are held constant within their
quarter hour when ``dt_s < 900`` s; the hourly ERA5 temperature is interpolated linearly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from thermogrid_env import datasets
from thermogrid_env.config import SEASONS, Scenario
from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.network.feeder import Feeder

LOCAL_TZ = "Europe/Berlin"
#: Irradiance at which a PV profile value of 1 (output = installed kWp) is reached [W/m²] (STC).
STC_IRRADIANCE_W_PER_M2 = 1000.0
#: The PV profile used as the feeder-wide irradiance proxy and for every rooftop system.
DEFAULT_PV_PROFILE = "PV5"
#: Household profiles that contain electric space heating, with the profile that replaces them in
#: households whose heating is simulated (a heat pump), so that heating is not counted twice.
#: SimBench H0-A draws 4.9x more in December-February than in June-August (H0-B 1.3x, H0-L 1.2x),
#: and a regression of its daily energy on heating degree days (base 15 °C, ERA5 2016) explains 56 %
#: of its annual energy (H0-B 13 %, H0-C 18 %, H0-G 24 %, H0-L 7 %; H0-H 0 %): it is a household with
#: electric (storage) heating. The replacement is scaled to the same June-August energy, the
#: season without heating (:func:`heating_free_profiles`).
ELECTRIC_HEATING_PROFILES: dict[str, str] = {"H0-A": "H0-B"}
#: Months without space heating, used to scale a replacement profile.
_NON_HEATING_MONTHS = (6, 7, 8)


@dataclass(frozen=True, kw_only=True, eq=False)
class Exogenous:
    """Time series of one episode (``T = scenario.n_steps`` rows).

    Attributes:
        time_utc: ``(T,)`` start of each step (UTC).
        hour_local: ``(T,)`` local hour of day (Europe/Berlin) as a float in [0, 24).
        day_of_year: ``(T,)`` day of year (1-366).
        base_p_kw: ``(T, n_bus)`` active power of the feeder's own loads (households' and
            commercial base consumption, no HP/EV/PV; heat-pump households without electric
            space heating, see :data:`ELECTRIC_HEATING_PROFILES`) at each bus [kW].
        base_q_kvar: ``(T, n_bus)`` reactive power of those loads [kvar].
        household_p_kw: ``(T, n_load)`` active power of each feeder load (each meter) [kW].
        household_q_kvar: ``(T, n_load)`` reactive power of each feeder load [kvar].
        t_ambient_c: ``(T,)`` ambient temperature [°C] (ERA5 Germany).
        irradiance_w_per_m2: ``(T,)`` global irradiance proxy [W/m²] (PV profile × 1000).
        pv_per_kwp: ``(T,)`` PV output per installed kWp [kW/kWp].
        price_eur_per_kwh: ``(T,)`` retail energy price [EUR/kWh].
        feed_in_eur_per_kwh: Feed-in remuneration [EUR/kWh].
        grid_pos: ``(T,)`` row of each step on the shipped year's 15-min UTC grid (the clock, for
            forecasters that read the year's history).
    """

    time_utc: pd.DatetimeIndex
    hour_local: np.ndarray
    day_of_year: np.ndarray
    base_p_kw: np.ndarray
    base_q_kvar: np.ndarray
    household_p_kw: np.ndarray
    household_q_kvar: np.ndarray
    t_ambient_c: np.ndarray
    irradiance_w_per_m2: np.ndarray
    pv_per_kwp: np.ndarray
    price_eur_per_kwh: np.ndarray
    feed_in_eur_per_kwh: float
    grid_pos: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        """Number of steps ``T``."""
        return int(self.t_ambient_c.shape[0])


@lru_cache(maxsize=4)
def year_profiles(profile_names: tuple[str, ...]) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Normalised p and q profiles of the given names on the 15-min UTC grid of 2016.

    Returns:
        ``(index, p, q)``: the ``(35136,)`` UTC grid and ``(35136, n)`` read-only arrays, one column
        per name (multiply by the load's rated power).

    Raises:
        DataError: A profile has gaps on the grid.
    """
    index = datasets.load_year_index()
    p = np.column_stack([datasets.load_profile(n, "p").reindex(index).to_numpy() for n in profile_names])
    q = np.column_stack([_q_profile(n).reindex(index).to_numpy() for n in profile_names])
    if not (np.isfinite(p).all() and np.isfinite(q).all()):
        raise DataError(f"Profiles {profile_names} have gaps on the 2016 grid; rebuild the data.")
    p.setflags(write=False)
    q.setflags(write=False)
    return index, p, q


def heating_free_profiles(feeder: Feeder, heat_pump_loads: np.ndarray | tuple = ()) -> tuple[tuple[str, ...], np.ndarray]:
    """Base-load profile of every feeder load, without electric heating where a heat pump heats.

    Loads in ``heat_pump_loads`` whose profile is a key of :data:`ELECTRIC_HEATING_PROFILES` get the
    replacement profile, scaled so that their June-August (heating-free) energy is unchanged.

    Args:
        feeder: The feeder.
        heat_pump_loads: Load indices of the households with a simulated heat pump.

    Returns:
        ``(profile names, scale)``: one name per load and a ``(n_load,)`` factor on the
        replacement's normalised values (1 where the profile is kept).
    """
    names = list(feeder.load_profile)
    scale = np.ones(len(names))
    for i in np.asarray(heat_pump_loads, dtype=int).reshape(-1):
        original = names[i]
        if original in ELECTRIC_HEATING_PROFILES:
            names[i] = ELECTRIC_HEATING_PROFILES[original]
            scale[i] = _summer_mean(original) / _summer_mean(names[i])
    return tuple(names), scale


@lru_cache(maxsize=16)
def _summer_mean(name: str) -> float:
    p = datasets.load_profile(name, "p")
    return float(p[p.index.month.isin(_NON_HEATING_MONTHS)].mean())


def _q_profile(name: str) -> pd.Series:
    try:
        return datasets.load_profile(name, "q")
    except ConfigError:  # only p is shipped for this kind (heat pumps, charging): no reactive power
        return datasets.load_profile(name, "p") * 0.0


@lru_cache(maxsize=2)
def weather_year() -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """The shipped year's weather on the 15-min UTC grid: ``(index, t_ambient_c, pv_per_kwp)``
    (ERA5 temperature interpolated, the default PV profile clipped at 0)."""
    index = datasets.load_year_index()
    t_amb = datasets.load_ambient_temperature("15min").reindex(index).interpolate(limit_direction="both")
    pv = datasets.load_profiles("pv")[DEFAULT_PV_PROFILE].reindex(index).to_numpy()
    return index, t_amb.to_numpy(), np.clip(pv, 0.0, None)


def candidate_days(scenario: Scenario) -> list[pd.Timestamp]:
    """Local (Europe/Berlin) start days an episode of this scenario may start on."""
    return list(
        _candidate_days(scenario.start_date, scenario.season, scenario.episode_days, scenario.start_hour_local)
    )


@lru_cache(maxsize=32)
def _candidate_days(
    start_date: str | None, season: str, episode_days: int, start_hour_local: int
) -> tuple[pd.Timestamp, ...]:
    if start_date is not None:
        return (pd.Timestamp(start_date).tz_localize(LOCAL_TZ),)
    months = SEASONS[season]
    days = pd.date_range("2016-01-01", "2016-12-31", freq="D", tz=LOCAL_TZ)
    last_start = pd.Timestamp("2017-01-01", tz=LOCAL_TZ) - pd.Timedelta(days=episode_days, hours=start_hour_local)
    return tuple(d for d in days if d.month in months and d <= last_start)


def sample_start_day(scenario: Scenario, rng: np.random.Generator) -> pd.Timestamp:
    """Draw the local start day of an episode from the scenario's season."""
    days = _candidate_days(scenario.start_date, scenario.season, scenario.episode_days, scenario.start_hour_local)
    return days[int(rng.integers(len(days)))]


def build_exogenous(feeder: Feeder, scenario: Scenario, start_day_local: pd.Timestamp, *,
                    heat_pump_loads: np.ndarray | tuple = ()) -> Exogenous:
    """Assemble the exogenous series of an episode starting on a day at ``scenario.start_hour_local``.

    Args:
        feeder: The feeder whose loads (``load_profile``, ``load_p_kw``) are attached.
        scenario: Step length, episode length and tariff.
        start_day_local: The first day (tz-aware Europe/Berlin, or naive local date).
        heat_pump_loads: Load indices of households with a simulated heat pump: their base load
            leaves out electric space heating (:func:`heating_free_profiles`).

    Returns:
        :class:`Exogenous` with ``scenario.n_steps`` rows.
    """
    tables = _day_tables(feeder, int(scenario.dt_s), scenario.n_steps, int(scenario.start_hour_local),
                         _local_date(pd.Timestamp(start_day_local)), scenario.tariff)
    hp = np.zeros(feeder.n_load, dtype=bool)
    hp[np.asarray(heat_pump_loads, dtype=int).reshape(-1)] = True
    return _exogenous(feeder, tables, hp.tobytes(), scenario.tariff.feed_in_eur_per_kwh)


@lru_cache(maxsize=128)
def _exogenous(feeder: Feeder, tables: _DayTables, hp_mask: bytes, feed_in_eur_per_kwh: float) -> Exogenous:
    """The exogenous series of a day for the households with a simulated heat pump (``hp_mask``: the
    bytes of an ``(n_load,)`` bool mask); those use their heating-free profile where it differs.
    Every array is read-only, so episodes share the object: cached, since with every household
    heated (most presets) each day has one set of heat-pump households."""
    hp = np.frombuffer(hp_mask, dtype=bool)
    load_p = np.where(hp, tables.load_p_hp, tables.load_p)
    load_q = np.where(hp, tables.load_q_hp, tables.load_q)
    inj = feeder.load_injection_matrix()
    base_p, base_q = load_p @ inj, load_q @ inj
    for arr in (load_p, load_q, base_p, base_q):
        arr.setflags(write=False)
    return Exogenous(
        time_utc=tables.time_utc,
        hour_local=tables.hour_local,
        day_of_year=tables.day_of_year,
        base_p_kw=base_p,
        base_q_kvar=base_q,
        household_p_kw=load_p,
        household_q_kvar=load_q,
        t_ambient_c=tables.t_ambient_c,
        irradiance_w_per_m2=tables.irradiance_w_per_m2,
        pv_per_kwp=tables.pv_per_kwp,
        price_eur_per_kwh=tables.price_eur_per_kwh,
        feed_in_eur_per_kwh=feed_in_eur_per_kwh,
        grid_pos=tables.grid_pos,
    )


@lru_cache(maxsize=1024)
def _local_date(day: pd.Timestamp) -> pd.Timestamp:
    """The naive local midnight of a (tz-aware or naive local) day (cached: a reset calls it every episode)."""
    day = day.tz_convert(LOCAL_TZ).tz_localize(None) if day.tzinfo is not None else day
    return day.normalize()


@dataclass(frozen=True, eq=False)
class _DayTables:
    """The series of one episode that do not depend on the community (cached per day)."""

    time_utc: pd.DatetimeIndex
    hour_local: np.ndarray
    day_of_year: np.ndarray
    load_p: np.ndarray
    load_q: np.ndarray
    load_p_hp: np.ndarray
    load_q_hp: np.ndarray
    t_ambient_c: np.ndarray
    pv_per_kwp: np.ndarray
    irradiance_w_per_m2: np.ndarray
    price_eur_per_kwh: np.ndarray
    grid_pos: np.ndarray


@lru_cache(maxsize=128)
def _day_tables(feeder: Feeder, dt_s: int, n_steps: int, start_hour_local: int, day: pd.Timestamp,
                tariff: Any) -> _DayTables:
    """Every community-independent series of an episode (both profile variants of every load); cached
    per feeder object (hashed by identity) and day."""
    start = (day + pd.Timedelta(hours=start_hour_local)).tz_localize(LOCAL_TZ)
    time_utc = pd.date_range(start.tz_convert("UTC"), periods=n_steps, freq=pd.Timedelta(seconds=dt_s))
    quarter = time_utc.floor("15min")
    index, _, _ = year_profiles(tuple(feeder.load_profile))
    pos = index.get_indexer(quarter)
    if np.any(pos < 0):
        raise DataError(f"Episode {time_utc[0]}..{time_utc[-1]} leaves the shipped year 2016.")
    out = {}
    for key, loads in (("", ()), ("_hp", np.arange(feeder.n_load))):
        names, scale = heating_free_profiles(feeder, loads)
        _, p_norm, q_norm = year_profiles(names)
        out["load_p" + key] = p_norm[pos] * (feeder.load_p_kw * scale)
        out["load_q" + key] = q_norm[pos] * (feeder.load_q_kvar * scale)
    _, t_amb_year, pv_year = weather_year()
    # Temperature: linear interpolation between 15-min points (already hourly-interpolated).
    frac = ((time_utc - quarter) / pd.Timedelta(minutes=15)).to_numpy(dtype=float)
    nxt = np.minimum(pos + 1, len(index) - 1)
    local = time_utc.tz_convert(LOCAL_TZ)
    hour_local = (local.hour + local.minute / 60.0).to_numpy(dtype=float)
    tables = _DayTables(
        time_utc=time_utc, hour_local=hour_local, day_of_year=local.dayofyear.to_numpy(),
        t_ambient_c=t_amb_year[pos] * (1 - frac) + t_amb_year[nxt] * frac, pv_per_kwp=pv_year[pos],
        irradiance_w_per_m2=pv_year[pos] * STC_IRRADIANCE_W_PER_M2,
        price_eur_per_kwh=np.array([tariff.price_at_hour(h) for h in hour_local]), grid_pos=pos, **out,
    )
    for name in ("grid_pos", "hour_local", "day_of_year", "load_p", "load_q", "load_p_hp", "load_q_hp", "t_ambient_c",
                 "pv_per_kwp", "irradiance_w_per_m2", "price_eur_per_kwh"):
        getattr(tables, name).setflags(write=False)
    return tables


