"""Simple forecasters: perfect foresight, truth plus growing Gaussian error, and persistence.

All three implement :class:`~thermogrid_env.forecast.base.Forecaster`. :class:`PerfectForecaster`
is the environment's default (every quantile equals the truth), :class:`NoisyForecaster` gives
calibrated Gaussian quantiles whose spread grows with the lead time, and
:class:`PersistenceForecaster` repeats the value observed at the issue step (the classic naive
baseline).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from thermogrid_env.errors import ConfigError
from thermogrid_env.forecast.base import DEFAULT_QUANTILES, Forecast, check_quantiles, truth_window
from thermogrid_env.sim.exogenous import Exogenous


def _step_hours(exogenous: Exogenous) -> float:
    """Step length of the episode data [h] (1 if there is a single step)."""
    t = exogenous.time_utc
    return (t[1] - t[0]).total_seconds() / 3600.0 if len(t) > 1 else 1.0


class _TruthForecaster:
    """Shared state: the episode's truth series and the quantile levels."""

    def __init__(self, quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> None:
        self._quantiles = check_quantiles(quantiles)
        self._q_levels = np.asarray(self._quantiles)
        self._q_levels.setflags(write=False)
        self._series: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def quantiles(self) -> tuple[float, ...]:
        """Quantile levels of every forecast."""
        return self._quantiles

    def _truth(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._series is None:
            raise ConfigError(f"{type(self).__name__}.forecast called before reset(exogenous, rng).")
        return self._series

    def _set_truth(self, exogenous: Exogenous) -> None:
        self._series = (
            np.asarray(exogenous.t_ambient_c, dtype=np.float64),
            np.asarray(exogenous.pv_per_kwp, dtype=np.float64),
            np.asarray(exogenous.price_eur_per_kwh, dtype=np.float64),
        )

    def _make(self, step: int, t_amb: np.ndarray, pv: np.ndarray, price: np.ndarray) -> Forecast:
        return Forecast(
            issue_step=step, quantiles=self._q_levels, t_ambient_c=t_amb, pv_per_kwp=pv,
            price_eur_per_kwh=price,
        )


class PerfectForecaster(_TruthForecaster):
    """Perfect foresight: every quantile equals the true future value (not causal).

    Args:
        quantiles: Quantile levels (all equal to the truth; kept so that the observation layout
            matches that of probabilistic forecasters).
    """

    #: Forecasts are the future itself: a controller using them is not causal.
    causal = False
    #: Steps of padding kept after the episode's data (longer horizons take a slower path).
    PAD_STEPS = 256

    def __init__(self, quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> None:
        super().__init__(quantiles)
        self._stacked: tuple[np.ndarray, ...] = ()

    def reset(self, exogenous: Exogenous, rng: np.random.Generator) -> None:  # noqa: ARG002 - no randomness
        """Keep the episode's truth (``rng`` is not used)."""
        self._set_truth(exogenous)
        n_q, n = len(self._quantiles), exogenous.n_steps
        idx = np.minimum(np.arange(n + 1 + self.PAD_STEPS), n - 1)  # padded with the last value
        self._stacked = tuple(np.repeat(s[idx][None, :], n_q, axis=0) for s in self._truth())
        for arr in self._stacked:
            arr.setflags(write=False)

    def forecast(self, step: int, horizon_steps: int) -> Forecast:
        """The truth for steps ``step + 1 .. step + horizon_steps``, repeated for every quantile.

        The arrays are read-only views (no copy); copy them before modifying.
        """
        t_amb = self._truth()[0]
        if not 0 <= step <= t_amb.shape[0] or not 1 <= horizon_steps <= self.PAD_STEPS:
            n_q = len(self._quantiles)
            t, pv, price = (
                np.repeat(truth_window(s, step, horizon_steps)[None, :], n_q, axis=0) for s in self._truth()
            )
            return self._make(step, t, pv, price)
        window = slice(step + 1, step + 1 + horizon_steps)
        t, pv, price = (s[:, window] for s in self._stacked)
        return self._make(step, t, pv, price)


class NoisyForecaster(_TruthForecaster):
    """Truth plus a Gaussian error whose standard deviation grows with the square root of the lead.

    For lead ``j`` steps (``lead_h = j · dt_h``) the error is a random walk with
    ``std = sigma · sqrt(lead_h)``; the forecast's median is ``truth + error`` and its quantiles are
    ``median + z_q · std`` (``z_q`` the standard-normal quantile), so the forecast is calibrated:
    the truth is distributed as the forecast says. The PV error is relative to the true value (no
    error at night) and PV quantiles are clipped at 0. The time-of-use price is published in
    advance, so its default ``sigma`` is 0.

    The error paths of every issue step are drawn at :meth:`reset` from the generator passed there
    (``(n_steps + 1) × max_horizon_steps`` normals per quantity): a forecast depends only on the
    generator's state at reset and the issue step, not on how often or in which order
    :meth:`forecast` is called.

    Args:
        sigma_t_ambient_k: Ambient-temperature error std at a 1-h lead [K].
        sigma_pv_rel: Relative PV error std at a 1-h lead [-].
        sigma_price_eur_per_kwh: Price error std at a 1-h lead [EUR/kWh].
        max_horizon_h: Longest lead that can be asked for [h].
        quantiles: Quantile levels.
    """

    #: Errors are drawn around the true future: informative like a weather service's forecast, but
    #: a controller using it is not causal in the strict sense (its forecast depends on the future).
    causal = False

    def __init__(
        self,
        sigma_t_ambient_k: float = 0.7,
        sigma_pv_rel: float = 0.15,
        sigma_price_eur_per_kwh: float = 0.0,
        max_horizon_h: float = 24.0,
        quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    ) -> None:
        super().__init__(quantiles)
        sigmas = (sigma_t_ambient_k, sigma_pv_rel, sigma_price_eur_per_kwh)
        if not all(math.isfinite(s) and s >= 0.0 for s in sigmas):
            raise ConfigError(f"NoisyForecaster: the sigmas must be finite and >= 0, got {sigmas}.")
        if not (math.isfinite(max_horizon_h) and max_horizon_h > 0.0):
            raise ConfigError(f"NoisyForecaster.max_horizon_h must be > 0 [h], got {max_horizon_h}.")
        self.sigmas = np.asarray(sigmas, dtype=np.float64)
        self.max_horizon_h = float(max_horizon_h)
        self._z = ndtri(np.asarray(self._quantiles))[:, None]  # (n_q, 1)
        self._paths: np.ndarray | None = None  # (3, n_steps + 1, n_max) standardised error paths
        self._std: np.ndarray | None = None  # (3, n_max) std per lead, at unit relative size

    def reset(self, exogenous: Exogenous, rng: np.random.Generator) -> None:
        """Keep the truth and draw all error paths from ``rng``."""
        self._set_truth(exogenous)
        dt_h = _step_hours(exogenous)
        n_max = max(1, int(math.ceil(self.max_horizon_h / dt_h - 1e-9)))
        steps = rng.standard_normal((3, exogenous.n_steps + 1, n_max))
        # random walk with increments of variance dt_h: Var(lead j) = (j + 1) dt_h = lead_h
        self._paths = np.cumsum(steps, axis=2) * (self.sigmas[:, None, None] * math.sqrt(dt_h))
        self._std = self.sigmas[:, None] * np.sqrt(dt_h * np.arange(1, n_max + 1))[None, :]

    def forecast(self, step: int, horizon_steps: int) -> Forecast:
        """Quantiles of truth plus error for steps ``step + 1 .. step + horizon_steps``.

        Raises:
            ConfigError: Before :meth:`reset`, or ``horizon_steps`` beyond ``max_horizon_h``.
        """
        truth = self._truth()
        assert self._paths is not None and self._std is not None
        if horizon_steps > self._paths.shape[2]:
            raise ConfigError(
                f"NoisyForecaster: horizon of {horizon_steps} steps exceeds max_horizon_h="
                f"{self.max_horizon_h} h; construct it with a larger max_horizon_h."
            )
        out = []
        for i, series in enumerate(truth):
            true = truth_window(series, step, horizon_steps)
            err = self._paths[i, step, :horizon_steps]
            std = self._std[i, :horizon_steps]
            if i == 1:  # PV: relative error, no error at night, clipped at 0
                median = true * (1.0 + err)
                q = np.maximum(median + self._z * (std * true), 0.0)
            else:
                q = (true + err) + self._z * std
            out.append(q)
        return self._make(step, *out)


class PersistenceForecaster(_TruthForecaster):
    """Naive persistence: every future value equals the value at the issue step (all quantiles).

    Args:
        known_price: Take the price from the published tariff (the truth) instead of persisting
            it (default ``True``: time-of-use prices are known in advance).
        quantiles: Quantile levels (all equal).
    """

    #: Only the value at the issue step (and the published tariff) is used.
    causal = True

    def __init__(self, known_price: bool = True, quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> None:
        super().__init__(quantiles)
        self.known_price = bool(known_price)

    def reset(self, exogenous: Exogenous, rng: np.random.Generator) -> None:  # noqa: ARG002 - no randomness
        """Keep the episode's data (``rng`` is not used)."""
        self._set_truth(exogenous)

    def forecast(self, step: int, horizon_steps: int) -> Forecast:
        """The value at ``step`` repeated over the horizon (price: the tariff if ``known_price``)."""
        t_amb, pv, price = self._truth()
        truth_window(t_amb, step, horizon_steps)  # validates step and horizon
        now = min(step, t_amb.shape[0] - 1)
        shape = (len(self._quantiles), horizon_steps)
        price_q = (
            np.repeat(truth_window(price, step, horizon_steps)[None, :], shape[0], axis=0)
            if self.known_price else np.full(shape, price[now])
        )
        return self._make(step, np.full(shape, t_amb[now]), np.full(shape, pv[now]), price_q)
