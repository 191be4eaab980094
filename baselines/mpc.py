"""Model-predictive control: the oracle's OPF over a receding window, re-planned from measured states.

Every ``replan_every`` steps the controller reads the simulator's state (house temperatures, EV
batteries, transformer temperatures), builds the OPF of the next ``horizon_h`` hours
(:func:`thermogrid_env.opf.episode.opf_data_for_window`) with the environment's own forecaster for
ambient temperature, PV and price, and optionally a load forecaster for the base loads
(:class:`thermogrid_env.forecast.load.SeasonalEmpiricalLoadForecaster`; without one the base loads
are taken as known), solves it (``distflow-socp`` by default, with the exactness check and repair
of :func:`thermogrid_env.opf.solve_opf`) and plays the plan's set-points until the next re-plan.
Near the episode's end the window shrinks to what is left. With the default perfect forecaster, no
load forecaster and a window reaching the episode's end this is the oracle.

Cost: one OPF per re-plan, rebuilt each time. Measured on ``winter-high-der`` (seed 0, the
defaults ``horizon_h=6, replan_every=4``: 24 re-plans of 24 periods): per re-plan (medians) build
0.01 s, cvxpy compile 0.055 s, Clarabel 0.31 s (24-25 iterations), total 0.39 s; 8.4 s per day. The
compile is 14 % of a re-plan, and the windows differ in structure (which EVs are plugged in, which
periods have daylight, a shorter window at the end), so a parametrised (DPP) problem compiled once
would not fit them and could save at most that 14 %: plain rebuilds it is. Needs the ``[opf]`` extra.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

import numpy as np

from baselines.oracle import plan_setpoints
from baselines.protocol import EnvController
from thermogrid_env.errors import ConfigError, import_optional
from thermogrid_env.forecast.load import is_load_forecaster
from thermogrid_env.sim.simulator import Setpoints


class MPCController(EnvController):
    """Receding-horizon OPF controller using the environment's forecasts.

    Args:
        horizon_h: Length of each planning window [h] (shortened at the episode's end).
        replan_every: Steps between re-plans (1: re-plan every step).
        use_forecasts: Plan with the environment's forecaster (its median) for ambient
            temperature, PV and price; ``False``: with the episode's true data.
        comfort_margin_k: Plan to a comfort band narrowed by this much on both sides [K], a
            back-off against forecast errors (the KPIs still use the scenario's band).
        load_forecaster: A :class:`~thermogrid_env.forecast.load.LoadForecaster` whose median
            replaces the future base loads (the controller keeps its own copy); ``None``: known loads.
        formulation: OPF formulation key.
        exactness: Exactness policy of :func:`thermogrid_env.opf.solve_opf`.
        weights: Objective weights (default: the environment's reward weights).
        **solve_kwargs: Further arguments of :func:`thermogrid_env.opf.solve_opf`.

    Attributes:
        plans: ``(start step, OPFSolution)`` of every re-plan of the current episode.

    Raises:
        ConfigError: A non-positive horizon or re-plan interval.
    """

    def __init__(self, horizon_h: float = 6.0, replan_every: int = 4, use_forecasts: bool = True,
                 comfort_margin_k: float = 0.0, load_forecaster: Any = None, formulation: str = "distflow-socp",
                 exactness: str = "auto", weights: Any = None, **solve_kwargs: Any) -> None:
        super().__init__()
        import_optional("cvxpy", "opf")
        if not (math.isfinite(horizon_h) and horizon_h > 0):
            raise ConfigError(f"MPCController: horizon_h must be a positive number of hours, got {horizon_h!r}.")
        if not (isinstance(replan_every, (int, np.integer)) and replan_every >= 1):
            raise ConfigError(f"MPCController: replan_every must be an integer >= 1, got {replan_every!r}.")
        if not (math.isfinite(comfort_margin_k) and comfort_margin_k >= 0):
            raise ConfigError(f"MPCController: comfort_margin_k must be >= 0 K, got {comfort_margin_k!r}.")
        self.comfort_margin_k = float(comfort_margin_k)
        if load_forecaster is not None and not is_load_forecaster(load_forecaster):
            raise ConfigError("MPCController: load_forecaster must implement thermogrid_env.forecast.load."
                              "LoadForecaster (reset(episode), forecast(step, horizon_steps) -> LoadForecast), e.g. "
                              "SeasonalEmpiricalLoadForecaster(); weather forecasters go to the environment.")
        self.load_forecaster = copy.deepcopy(load_forecaster)
        self.horizon_h = float(horizon_h)
        self.replan_every = int(replan_every)
        self.use_forecasts = use_forecasts
        self.formulation = formulation
        self.exactness = exactness
        self.weights = weights
        self.solve_kwargs = solve_kwargs
        self.plans: list[tuple[int, Any]] = []
        self._horizon_steps = 0

    def on_reset(self, env: Any) -> None:
        """Forget the previous episode's plans; check that the window covers a re-plan interval."""
        self.plans = []
        band = env.scenario.comfort.t_max_c - env.scenario.comfort.t_min_c
        if 2.0 * self.comfort_margin_k >= band:
            raise ConfigError(f"MPCController: comfort_margin_k={self.comfort_margin_k} K leaves nothing of the "
                              f"{band:g} K comfort band; use less than {band / 2:g} K.")
        self._horizon_steps = max(1, int(round(self.horizon_h * 3600.0 / env.scenario.dt_s)))
        if self.load_forecaster is not None:
            self.load_forecaster.reset(env.episode)
        if self._horizon_steps < self.replan_every:
            raise ConfigError(f"MPCController: a {self.horizon_h} h window holds {self._horizon_steps} steps, fewer "
                              f"than replan_every={self.replan_every}; lengthen the horizon or re-plan more often.")

    def setpoints(self, env: Any) -> Setpoints:
        """Re-plan if due, then the current plan's set-points for this step."""
        k = env.step_index
        if not self.plans or k - self.plans[-1][0] >= self.replan_every:
            self.plans.append((k, self._plan(env)))
        start, sol = self.plans[-1]
        return plan_setpoints(sol, k - start)

    def _plan(self, env: Any) -> Any:
        from thermogrid_env.opf import solve_opf  # noqa: PLC0415
        from thermogrid_env.opf.episode import opf_data_for_window  # noqa: PLC0415

        state = env.sim_state
        n = min(self._horizon_steps, env.scenario.n_steps - state.step)
        forecast = env.forecaster.forecast(state.step, n - 1) if self.use_forecasts and n > 1 else None
        loads = (self.load_forecaster.forecast(state.step, n - 1)
                 if self.load_forecaster is not None and n > 1 else None)
        data = opf_data_for_window(env.episode, state, n, forecast=forecast, load_forecast=loads,
                                   simulator=env.simulator, weights=self.weights)
        if self.comfort_margin_k > 0 and data.houses is not None:
            h, m = data.houses, self.comfort_margin_k
            data = dataclasses.replace(data, houses=dataclasses.replace(h, t_min_c=h.t_min_c + m, t_max_c=h.t_max_c - m))
        return solve_opf(data, self.formulation, exactness=self.exactness, **self.solve_kwargs)
