"""A causal weather forecaster: analogue ensembles of the days known at the issue time.

:class:`SeasonalEmpiricalForecaster` is the environment's default forecaster. It uses only data
that is known when the forecast is issued, so a controller acting on it (or on an observation
holding it) cannot see the future:

* ambient temperature: the values at the target's time of day on the ``history_days`` most recent
  days known at the issue time, each shifted by how much warmer it is now than on that day at the
  same lead before (so each member starts from today's temperature and follows its day's course),
  a shift that decays with the lead as ``exp(-lead / tau)``;
* PV output per kWp: the values at the target's time of day on those days (the ensemble's spread
  is the day-to-day variability of sunshine at that time of year);
* price: the time-of-use tariff, published in advance (every quantile the tariff's price).

Quantiles use Weibull plotting positions (the same as
:class:`~thermogrid_env.forecast.load.SeasonalEmpiricalLoadForecaster`). History before 1 January
2016 (the shipped year) comes from the same calendar days of late December 2016 (the year wraps
around), an approximation for the first weeks of January.

The forecasts of every issue step of an episode are computed at :meth:`reset` for leads up to
``max_horizon_h`` (one vectorised pass), so :meth:`SeasonalEmpiricalForecaster.forecast` is a slice.
"""

from __future__ import annotations

import math

import numpy as np

from thermogrid_env.errors import ConfigError
from thermogrid_env.forecast.base import DEFAULT_QUANTILES, Forecast, check_quantiles, truth_window
from thermogrid_env.sim.exogenous import Exogenous, weather_year

#: Steps of the shipped 15-min data per day.
_QUARTERS_PER_DAY = 96
#: Forecast tables of recent episode clocks (they depend on nothing else), oldest first.
_TABLES: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
_TABLE_CACHE_SIZE = 256  # about 0.2 MB each at the default 12 h: a season of days


def weibull_quantiles(members: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Empirical quantiles along the last axis with Weibull plotting positions (rank ``i`` of ``n``
    at level ``i / (n + 1)``, linear in between, clamped to the extreme members).

    Returns:
        ``(n_levels, ...)`` quantiles.
    """
    x = np.sort(members, axis=-1)
    n = x.shape[-1]
    h = np.clip(levels * (n + 1) - 1.0, 0.0, n - 1.0)  # 0-based fractional rank
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = (h - lo).reshape((-1,) + (1,) * (x.ndim - 1))
    x_lo = np.moveaxis(np.take(x, lo, axis=-1), -1, 0)
    x_hi = np.moveaxis(np.take(x, hi, axis=-1), -1, 0)
    return x_lo + (x_hi - x_lo) * frac


class SeasonalEmpiricalForecaster:
    """Causal quantile forecasts of temperature, PV and price (module docstring).

    Args:
        history_days: Days in each ensemble, >= 2.
        anomaly_decay_h: e-folding time of today's temperature anomaly with the lead [h], > 0. Over 30
            seeded days, 18 h ahead from noon and 17:00: 48 h gave a 10-90 % coverage of 0.78 (winter)
            and 0.82 (summer) and a median error 22 % (winter) and 78 % (summer) below persistence;
            24 h and 96 h were worse in one season each.
        max_horizon_h: Longest lead computed at reset [h]; longer ones are computed on demand.
        quantiles: Quantile levels.

    Raises:
        ConfigError: Invalid settings.
    """

    #: Forecasts use only data known at the issue time.
    causal = True

    def __init__(self, history_days: int = 14, anomaly_decay_h: float = 48.0, max_horizon_h: float = 12.0,
                 quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> None:
        if not (isinstance(history_days, (int, np.integer)) and not isinstance(history_days, bool)
                and history_days >= 2):
            raise ConfigError(f"history_days must be an integer >= 2, got {history_days!r}.")
        for name, value in (("anomaly_decay_h", anomaly_decay_h), ("max_horizon_h", max_horizon_h)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"SeasonalEmpiricalForecaster.{name} must be a positive number of hours, "
                                  f"got {value!r}.")
        self.history_days = int(history_days)
        self.anomaly_decay_h = float(anomaly_decay_h)
        self.max_horizon_h = float(max_horizon_h)
        self._quantiles = check_quantiles(quantiles)
        self._levels = np.asarray(self._quantiles)
        self._pos: np.ndarray | None = None
        self._price: np.ndarray | None = None
        self._table: tuple[np.ndarray, np.ndarray] | None = None  # (n_q, T + 1, H) temperature, PV
        self._dt_h = 0.25

    @property
    def quantiles(self) -> tuple[float, ...]:
        """Quantile levels of every forecast."""
        return self._quantiles

    def reset(self, exogenous: Exogenous, rng: np.random.Generator) -> None:  # noqa: ARG002 - deterministic
        """Read the episode's clock and tariff, and compute the forecasts of every issue step.

        Only ``exogenous.time_utc`` (the clock) and ``exogenous.price_eur_per_kwh`` (the published
        tariff) are read; the weather comes from the shipped year, before each issue time.
        """
        index, _, _ = weather_year()
        pos = exogenous.grid_pos
        if pos is None:  # exogenous data built by hand
            pos = index.get_indexer(exogenous.time_utc.floor("15min"))
        if np.any(pos < 0):
            raise ConfigError("SeasonalEmpiricalForecaster: the episode leaves the shipped year 2016.")
        t = exogenous.time_utc
        if len(t) > 1:  # the step [h], from the index's integers (no Timestamp objects: every reset)
            self._dt_h = float(np.timedelta64(int(t.asi8[1] - t.asi8[0]), t.unit) / np.timedelta64(3600, "s"))
        else:
            self._dt_h = 0.25
        self._pos = pos
        self._price = np.asarray(exogenous.price_eur_per_kwh, dtype=float)
        n_lead = max(1, int(math.ceil(self.max_horizon_h / self._dt_h - 1e-9)))
        key = (pos.tobytes(), self._dt_h, n_lead, self.history_days, self.anomaly_decay_h, self._quantiles)
        table = _TABLES.get(key)
        if table is None:  # the forecasts depend only on the clock: cached per episode day
            table = self._compute(np.arange(pos.size + 1), n_lead)
            for arr in table:
                arr.setflags(write=False)
            if len(_TABLES) >= _TABLE_CACHE_SIZE:
                _TABLES.pop(next(iter(_TABLES)))
            _TABLES[key] = table
        self._table = table

    def _compute(self, issue_steps: np.ndarray, n_lead: int) -> tuple[np.ndarray, np.ndarray]:
        """``(n_q, n_issue, n_lead)`` temperature and PV quantiles for the given issue steps."""
        _, t_year, pv_year = weather_year()
        n_year = t_year.shape[0]
        pos = self._pos
        n = pos.size
        issue = pos[np.minimum(issue_steps, n - 1)] + (issue_steps >= n)  # quarter of the issue time
        target = pos[np.minimum(issue_steps[:, None] + 1 + np.arange(n_lead)[None, :], n - 1)]  # (I, L)
        # the most recent whole-day lags whose value is known at the issue time
        first_lag = np.maximum(np.ceil((target - issue[:, None]) / _QUARTERS_PER_DAY), 1).astype(int)
        lags = first_lag[..., None] + np.arange(self.history_days)  # (I, L, D)
        rows = (target[..., None] - lags * _QUARTERS_PER_DAY) % n_year
        # each member's day at the issue's time of day, and how much warmer it is now than then
        then = (rows - (target - issue[:, None])[..., None]) % n_year
        anomaly = t_year[np.minimum(issue, n_year - 1)][:, None, None] - t_year[then]  # (I, L, D)
        lead_h = (1 + np.arange(n_lead)) * self._dt_h
        t_members = t_year[rows] + anomaly * np.exp(-lead_h / self.anomaly_decay_h)[None, :, None]
        return (weibull_quantiles(t_members, self._levels),
                np.maximum(weibull_quantiles(pv_year[rows], self._levels), 0.0))

    def forecast(self, step: int, horizon_steps: int) -> Forecast:
        """Quantiles for steps ``step + 1 .. step + horizon_steps``.

        Raises:
            ConfigError: Before :meth:`reset`, or ``step``/``horizon_steps`` out of range.
        """
        if self._table is None:
            raise ConfigError("SeasonalEmpiricalForecaster.forecast called before reset(exogenous, rng).")
        price = truth_window(self._price, step, horizon_steps)  # validates step and horizon
        if horizon_steps <= self._table[0].shape[2]:
            t_q, pv_q = (x[:, step, :horizon_steps] for x in self._table)
        else:
            t_q, pv_q = (x[:, 0, :] for x in self._compute(np.array([step]), horizon_steps))
        return Forecast(issue_step=step, quantiles=self._levels, t_ambient_c=t_q, pv_per_kwp=pv_q,
                        price_eur_per_kwh=np.repeat(price[None, :], len(self._quantiles), axis=0))


__all__ = ["SeasonalEmpiricalForecaster", "weibull_quantiles"]
