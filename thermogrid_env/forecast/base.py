"""The forecaster interface: quantile forecasts of the exogenous inputs a controller cannot know.

A forecaster is reset once per episode with the episode's exogenous data (the truth, which it may
or may not use) and a random generator, and then answers :meth:`Forecaster.forecast` for any step:
quantiles of the ambient temperature, the PV output per kWp and the energy price over the next
``horizon_steps`` steps. The environment (:mod:`thermogrid_env.envs`) puts them into observations;
an MPC controller can use the same objects. Base loads have their own probabilistic forecasters
(:mod:`thermogrid_env.forecast.load`), used by the MPC controller; they are not in the observations
yet (that would be a new field here and an observation entry, without touching the simulator).

Conventions: a forecast issued at step ``k`` covers steps ``k + 1 .. k + horizon_steps`` (the values
at step ``k`` itself are observed, not forecast). Steps past the end of the episode's data repeat
its last value. Every random draw comes from the generator handed to :meth:`Forecaster.reset`, so a
seeded environment gives the same forecasts bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from thermogrid_env.errors import ConfigError
from thermogrid_env.sim.exogenous import Exogenous

#: Default quantile levels of a forecast [-].
DEFAULT_QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)


@dataclass(frozen=True, kw_only=True, eq=False)
class Forecast:
    """Quantile forecast of the exogenous inputs for the steps after the issue step.

    All arrays are ``(n_quantiles, horizon_steps)``; row ``i`` holds quantile ``quantiles[i]``,
    column ``j`` the step ``issue_step + 1 + j``. Quantiles are non-decreasing along axis 0.

    Attributes:
        issue_step: Step at which the forecast is issued.
        quantiles: ``(n_quantiles,)`` increasing quantile levels in (0, 1).
        t_ambient_c: Ambient temperature [°C].
        pv_per_kwp: PV output per installed kWp [kW/kWp], >= 0.
        price_eur_per_kwh: Retail energy price [EUR/kWh].
    """

    issue_step: int
    quantiles: np.ndarray
    t_ambient_c: np.ndarray
    pv_per_kwp: np.ndarray
    price_eur_per_kwh: np.ndarray

    @property
    def horizon_steps(self) -> int:
        """Number of steps covered."""
        return int(self.t_ambient_c.shape[1])


@runtime_checkable
class Forecaster(Protocol):
    """Anything that issues quantile forecasts of an episode's exogenous data.

    Implementations: :class:`~thermogrid_env.forecast.simple.PerfectForecaster`,
    :class:`~thermogrid_env.forecast.simple.NoisyForecaster`,
    :class:`~thermogrid_env.forecast.simple.PersistenceForecaster`.
    """

    @property
    def quantiles(self) -> tuple[float, ...]:
        """Quantile levels of every forecast (fixed, so observation spaces are fixed)."""
        ...

    def reset(self, exogenous: Exogenous, rng: np.random.Generator) -> None:
        """Start a new episode.

        Args:
            exogenous: The episode's true exogenous data.
            rng: The only source of randomness (e.g. ``env.np_random``).
        """
        ...

    def forecast(self, step: int, horizon_steps: int) -> Forecast:
        """Forecast issued at ``step`` for steps ``step + 1 .. step + horizon_steps``.

        A function of what :meth:`reset` received and of its arguments only (draw any noise at
        reset): the environments ask for every step's observed forecasts right after the reset
        (:meth:`~thermogrid_env.envs.observations.ObservationSpec.forecast_tables`), controllers
        ask again during the episode, and both must get the same numbers.

        Args:
            step: Issue step, ``0 <= step <= n_steps``.
            horizon_steps: Number of steps ahead, >= 1.
        """
        ...


def check_quantiles(quantiles: tuple[float, ...] | list[float]) -> tuple[float, ...]:
    """Validate quantile levels: non-empty, strictly increasing, inside (0, 1).

    Raises:
        ConfigError: Invalid levels.
    """
    q = tuple(float(x) for x in quantiles)
    if not q or any(not 0.0 < x < 1.0 for x in q) or any(b <= a for a, b in zip(q, q[1:])):
        raise ConfigError(f"Forecast quantiles must be strictly increasing levels in (0, 1), got {quantiles!r}.")
    return q


def truth_window(series: np.ndarray, step: int, horizon_steps: int) -> np.ndarray:
    """``series[step + 1 : step + 1 + horizon_steps]``, padded with the last value past the end.

    Raises:
        ConfigError: ``step`` outside ``[0, len(series)]`` or ``horizon_steps < 1``.
    """
    n = series.shape[0]
    if not 0 <= step <= n or horizon_steps < 1:
        raise ConfigError(
            f"forecast(step={step}, horizon_steps={horizon_steps}): need 0 <= step <= {n} and horizon_steps >= 1."
        )
    idx = np.minimum(np.arange(step + 1, step + 1 + horizon_steps), n - 1)
    return series[idx]
