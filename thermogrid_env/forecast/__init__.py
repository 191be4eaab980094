"""Forecasts of exogenous inputs (quantiles) for observations and model-predictive control."""

from thermogrid_env.forecast.base import DEFAULT_QUANTILES, Forecast, Forecaster
from thermogrid_env.forecast.simple import NoisyForecaster, PerfectForecaster, PersistenceForecaster

__all__ = [
    "DEFAULT_QUANTILES",
    "Forecast",
    "Forecaster",
    "NoisyForecaster",
    "PerfectForecaster",
    "PersistenceForecaster",
]
