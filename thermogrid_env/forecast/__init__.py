"""Forecasts (quantiles) of exogenous inputs for observations and model-predictive control.

Weather and price: :mod:`thermogrid_env.forecast.base`, :mod:`thermogrid_env.forecast.empirical`
(the causal default) and :mod:`thermogrid_env.forecast.simple`;
base loads: :mod:`thermogrid_env.forecast.load`.
"""

from thermogrid_env.forecast.base import DEFAULT_QUANTILES, Forecast, Forecaster
from thermogrid_env.forecast.empirical import SeasonalEmpiricalForecaster
from thermogrid_env.forecast.load import LoadForecast, LoadForecaster, SeasonalEmpiricalLoadForecaster
from thermogrid_env.forecast.simple import NoisyForecaster, PerfectForecaster, PersistenceForecaster

__all__ = [
    "DEFAULT_QUANTILES",
    "Forecast",
    "Forecaster",
    "LoadForecast",
    "LoadForecaster",
    "NoisyForecaster",
    "PerfectForecaster",
    "PersistenceForecaster",
    "SeasonalEmpiricalForecaster",
    "SeasonalEmpiricalLoadForecaster",
]
