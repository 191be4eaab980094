"""Probabilistic forecasts of the feeder's base loads (households and businesses, no HP/EV/PV).

A load forecaster is reset once per episode with the episode (its feeder, which households have a
simulated heat pump, its time axis) and then answers :meth:`LoadForecaster.forecast` for any step:
quantiles of every feeder load's active and reactive power over the next ``horizon_steps`` steps,
with the same conventions as the weather forecasts of :mod:`thermogrid_env.forecast.base` (issued
at step ``k`` for steps ``k + 1 .. k + horizon_steps``; steps past the episode repeat its last one).
The MPC controller (``baselines/mpc.py``) plans with their median; they are not (yet) part of the
environment's observations.

:class:`SeasonalEmpiricalLoadForecaster` is an analogue-ensemble forecaster: the forecast of a load
at a target time is the empirical distribution (Weibull plotting positions) of that load at the
same time of day on the ``history_days`` most recent days of the same day type (working day, or
rest day: weekend or public holiday of the profiles' calendar, :mod:`thermogrid_env.sim.calendar`)
that are already known at the issue time (for longer leads, days further back). It uses
only data before the issue time, needs no training and is calibrated by construction on
stationary stretches of data. History before 1 January 2016 (the shipped year) is taken from the same calendar days of
late December 2016 (the year wraps around), an approximation for episodes in the first weeks.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from thermogrid_env.errors import ConfigError
from thermogrid_env.forecast.base import DEFAULT_QUANTILES, check_quantiles
from thermogrid_env.sim.calendar import is_rest_day
from thermogrid_env.sim.exogenous import LOCAL_TZ, heating_free_profiles, year_profiles

if TYPE_CHECKING:
    from thermogrid_env.sim.episode import Episode

#: Steps of the shipped 15-min profiles per day.
_QUARTERS_PER_DAY = 96


@dataclass(frozen=True, kw_only=True, eq=False)
class LoadForecast:
    """Quantile forecast of every feeder load for the steps after the issue step.

    Attributes:
        issue_step: Step at which the forecast is issued.
        quantiles: ``(n_quantiles,)`` increasing quantile levels in (0, 1).
        p_kw: ``(n_quantiles, horizon_steps, n_load)`` active power of each load [kW] (consumption
            positive), non-decreasing along axis 0.
        q_kvar: ``(n_quantiles, horizon_steps, n_load)`` reactive power of each load [kvar].
    """

    issue_step: int
    quantiles: np.ndarray
    p_kw: np.ndarray
    q_kvar: np.ndarray

    @property
    def horizon_steps(self) -> int:
        """Number of steps covered."""
        return int(self.p_kw.shape[1])

    def median(self) -> tuple[np.ndarray, np.ndarray]:
        """``(p_kw, q_kvar)`` of the middle quantile, each ``(horizon_steps, n_load)``."""
        mid = self.p_kw.shape[0] // 2
        return self.p_kw[mid], self.q_kvar[mid]


@runtime_checkable
class LoadForecaster(Protocol):
    """Anything that issues quantile forecasts of an episode's base loads."""

    @property
    def quantiles(self) -> tuple[float, ...]:
        """Quantile levels of every forecast."""
        ...

    def reset(self, episode: Episode) -> None:
        """Start a new episode (the forecaster may read the loads only up to each issue time).

        Args:
            episode: Anything with the episode's ``community`` and clock ``time_utc``: an
                :class:`~thermogrid_env.sim.episode.Episode` or a
                :class:`~thermogrid_env.sim.view.ControllerView`.
        """
        ...

    def forecast(self, step: int, horizon_steps: int) -> LoadForecast:
        """Forecast issued at ``step`` for steps ``step + 1 .. step + horizon_steps``."""
        ...


def is_load_forecaster(obj: object) -> bool:
    """Whether ``obj`` implements :class:`LoadForecaster` (not the weather :class:`Forecaster`).

    Both protocols have ``quantiles``, ``reset`` and ``forecast``; a load forecaster's ``reset``
    takes the episode alone, a weather forecaster's the exogenous data and a generator.
    """
    if not isinstance(obj, LoadForecaster):
        return False
    try:
        params = inspect.signature(obj.reset).parameters.values()
    except (TypeError, ValueError):  # no signature to read: trust the protocol check
        return True
    required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) == 1


class SeasonalEmpiricalLoadForecaster:
    """Empirical quantiles of each load at the same time of day on recent known days (module docstring).

    Causal: a forecast issued at a step uses only loads known before it.

    Args:
        history_days: Number of past days per forecast (the ensemble size), >= 2. On
            ``benchmarks/load_forecasts.py`` the default 16 had a pinball loss within 2 % of the best
            of 8, 16 and 28 days (winter and summer) and a 10-90 % coverage of 0.81-0.82 (8 days:
            0.78).
        same_day_type: Draw the days from the target's day type only (working day, or rest day:
            Saturday, Sunday or public holiday, in Berlin local time), going further back.
        holidays: Count public holidays (:func:`~thermogrid_env.sim.calendar.public_holidays`) as
            rest days (default); ``False`` treats them by their weekday. Measured by
            ``benchmarks/load_forecasts.py --holidays`` (forecasts issued on the 9 weekday holidays
            of 2016): see the README.
        quantiles: Quantile levels.

    Raises:
        ConfigError: Invalid settings.
    """

    causal = True

    def __init__(self, history_days: int = 16, same_day_type: bool = True,
                 quantiles: tuple[float, ...] = DEFAULT_QUANTILES, holidays: bool = True) -> None:
        if not (isinstance(history_days, (int, np.integer)) and history_days >= 2):
            raise ConfigError(f"history_days must be an integer >= 2, got {history_days!r}.")
        self.history_days = int(history_days)
        self.same_day_type = bool(same_day_type)
        self.holidays = bool(holidays)
        self._day_type: np.ndarray | None = None
        self._quantiles = check_quantiles(quantiles)
        self._q_levels = np.asarray(self._quantiles)
        self._tables: tuple[np.ndarray, np.ndarray] | None = None
        self._rating: tuple[np.ndarray, np.ndarray] | None = None
        self._pos: np.ndarray | None = None

    @property
    def quantiles(self) -> tuple[float, ...]:
        """Quantile levels of every forecast."""
        return self._quantiles

    def reset(self, episode: Episode) -> None:
        """Read the shipped load profiles (with the heat-pump households' own) and the episode's clock.

        Args:
            episode: Anything with ``community`` and ``time_utc`` (an episode or a controller view):
                only the assets and the clock are read, the loads come from the profiles before
                each issue time.
        """
        feeder = episode.community.feeder
        names, scale = heating_free_profiles(feeder, episode.community.houses.load)
        index, p_norm, q_norm = year_profiles(names)
        pos = index.get_indexer(episode.time_utc.floor("15min"))
        if np.any(pos < 0):
            raise ConfigError("SeasonalEmpiricalLoadForecaster: the episode leaves the shipped year 2016.")
        self._tables = (p_norm, q_norm)
        self._rating = (feeder.load_p_kw * scale, feeder.load_q_kvar * scale)
        self._pos = pos
        local = index.tz_convert(LOCAL_TZ)
        rest = is_rest_day(local) if self.holidays else local.weekday.to_numpy() >= 5
        self._day_type = rest.astype(int) if self.same_day_type else np.zeros(len(index), dtype=int)

    def sample_positions(self, step: int, horizon_steps: int) -> np.ndarray:
        """``(horizon_steps, history_days)`` rows of the year tables forming each lead's ensemble.

        Every row lies before the issue step's quarter hour (modulo the year's wrap-around), the
        most recent ``history_days`` whole-day lags that are known at issue time.

        Raises:
            ConfigError: Before :meth:`reset`, ``step`` outside the episode or ``horizon_steps < 1``.
        """
        if self._pos is None:
            raise ConfigError("SeasonalEmpiricalLoadForecaster.forecast called before reset(episode).")
        n = self._pos.shape[0]
        if not 0 <= step <= n or horizon_steps < 1:
            raise ConfigError(f"forecast(step={step}, horizon_steps={horizon_steps}): "
                              f"need 0 <= step <= {n} and horizon_steps >= 1.")
        issue = self._pos[min(step, n - 1)] + (1 if step == n else 0)
        target = self._pos[np.minimum(np.arange(step + 1, step + 1 + horizon_steps), n - 1)]
        first_lag = np.maximum(np.ceil((target - issue + 1) / _QUARTERS_PER_DAY), 1).astype(int)
        n_year = self._tables[0].shape[0]
        # Candidate days going back; a week holds at least one day of every type.
        lags = first_lag[:, None] + np.arange(7 * self.history_days)[None, :]
        rows = (target[:, None] - lags * _QUARTERS_PER_DAY) % n_year
        same = self._day_type[rows] == self._day_type[target][:, None]
        pick = np.argsort(~same, axis=1, kind="stable")[:, : self.history_days]  # the nearest matching days
        return np.take_along_axis(rows, pick, axis=1)

    def forecast(self, step: int, horizon_steps: int) -> LoadForecast:
        """Quantiles over the ensemble of known past days, for every load.

        Raises:
            ConfigError: See :meth:`sample_positions`.
        """
        rows = self.sample_positions(step, horizon_steps)
        p_norm, q_norm = self._tables
        p_rated, q_rated = self._rating
        # Weibull plotting positions (rank i of n at level i / (n + 1)): the interpolated empirical
        # quantiles of 16 days put only 72 % of outcomes inside the 10-90 % band, these 81-82 %.
        p = np.quantile(p_norm[rows], self._q_levels, axis=1, method="weibull") * p_rated  # (n_q, H, n_load)
        q = np.quantile(q_norm[rows], self._q_levels, axis=1, method="weibull") * q_rated
        return LoadForecast(issue_step=step, quantiles=self._q_levels, p_kw=p, q_kvar=q)


__all__ = ["LoadForecast", "LoadForecaster", "SeasonalEmpiricalLoadForecaster", "is_load_forecaster"]
