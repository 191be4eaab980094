"""Model-predictive control: the oracle's OPF over a receding window, planned from what is knowable.

Every ``replan_every`` steps the controller reads its :class:`~thermogrid_env.sim.view.ControllerView`
(measured house temperatures, EV batteries of plugged EVs, transformer temperatures), builds the
OPF of the next ``horizon_h`` hours (:func:`thermogrid_env.opf.episode.opf_data_for_window`) and plays
the plan's set-points until the next re-plan. It is causal: it plans with

* the values measured now for the current step,
* the environment's forecaster (its median) for ambient temperature and PV (causal by default:
  :class:`~thermogrid_env.forecast.empirical.SeasonalEmpiricalForecaster`), the published tariff,
* a load forecaster for the base loads (default
  :class:`~thermogrid_env.forecast.load.SeasonalEmpiricalLoadForecaster`),
* the plugged EVs' declared departures and needs, and optionally expected sessions of the EVs still
  to come (:class:`~thermogrid_env.forecast.ev.EVSessionForecaster`, learnt from training days).

Near the episode's end the window shrinks to what is left. ``perfect_foresight=True`` plans with
the episode's truth instead (every EV session, true loads and weather): with a window to the
episode's end that is the oracle (tested to 1e-9); it is a benchmark reference, not a causal
controller.

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
from thermogrid_env.forecast.load import SeasonalEmpiricalLoadForecaster, is_load_forecaster
from thermogrid_env.sim.simulator import Setpoints
from thermogrid_env.sim.view import ControllerView

#: ``load_forecaster="default"``: a fresh :class:`SeasonalEmpiricalLoadForecaster`.
DEFAULT = "default"


class MPCController(EnvController):
    """Receding-horizon OPF controller planning from the controller view (module docstring).

    Args:
        horizon_h: Length of each planning window [h] (shortened at the episode's end).
        replan_every: Steps between re-plans (1: re-plan every step).
        comfort_margin_k: Plan to a comfort band narrowed by this much on both sides [K], a
            back-off against forecast errors (the KPIs still use the scenario's band). Default 0.25 K:
            on training days 0-2 of ``winter-high-der`` the causal MPC left 3.6 K·h/day of discomfort
            without it and none with 0.25 K or 0.5 K, with the best return at 0.25 K.
        load_forecaster: A :class:`~thermogrid_env.forecast.load.LoadForecaster` whose median
            replaces the future base loads (the controller keeps its own copy); ``"default"``: a
            :class:`~thermogrid_env.forecast.load.SeasonalEmpiricalLoadForecaster`; ``None``: the
            loads measured now, held over the window.
        ev_forecaster: An :class:`~thermogrid_env.forecast.ev.EVSessionForecaster` (fitted, or it is
            fitted on the scenario's training days at the first reset) for the EVs still to come;
            ``None``: plan for the plugged EVs only.
        perfect_foresight: Plan with the episode's truth (a reference, not a causal controller).
        formulation: OPF formulation key.
        exactness: Exactness policy of :func:`thermogrid_env.opf.solve_opf`.
        weights: Objective weights (default: the scenario's reward weights).
        network_limits: ``"penalty"`` (default) or ``"hard"``.
        progress: Print one line per re-plan on stderr (long episodes: the MPC takes seconds per day).
        **solve_kwargs: Further arguments of :func:`thermogrid_env.opf.solve_opf`.

    Attributes:
        plans: ``(start step, OPFSolution, planned EVs)`` of every re-plan of the current episode.

    Raises:
        ConfigError: A non-positive horizon or re-plan interval, or a wrong forecaster.
    """

    def __init__(self, horizon_h: float = 6.0, replan_every: int = 4, comfort_margin_k: float = 0.25,
                 load_forecaster: Any = DEFAULT, ev_forecaster: Any = None, perfect_foresight: bool = False,
                 formulation: str = "distflow-socp", exactness: str = "auto", weights: Any = None,
                 network_limits: str = "penalty", progress: bool = False, **solve_kwargs: Any) -> None:
        super().__init__()
        import_optional("cvxpy", "opf")
        if not (isinstance(horizon_h, (int, float)) and math.isfinite(horizon_h) and horizon_h > 0):
            raise ConfigError(f"MPCController: horizon_h must be a positive number of hours, got {horizon_h!r}.")
        if not (isinstance(replan_every, (int, np.integer)) and replan_every >= 1):
            raise ConfigError(f"MPCController: replan_every must be an integer >= 1, got {replan_every!r}.")
        if not (isinstance(comfort_margin_k, (int, float)) and math.isfinite(comfort_margin_k)
                and comfort_margin_k >= 0):
            raise ConfigError(f"MPCController: comfort_margin_k must be >= 0 K, got {comfort_margin_k!r}.")
        if isinstance(load_forecaster, str) and load_forecaster == DEFAULT:
            load_forecaster = SeasonalEmpiricalLoadForecaster()
        if load_forecaster is not None and not is_load_forecaster(load_forecaster):
            raise ConfigError("MPCController: load_forecaster must implement thermogrid_env.forecast.load."
                              "LoadForecaster (reset(episode), forecast(step, horizon_steps) -> LoadForecast), e.g. "
                              "SeasonalEmpiricalLoadForecaster(); weather forecasters go to the environment.")
        if ev_forecaster is not None and not callable(getattr(ev_forecaster, "expected", None)):
            raise ConfigError("MPCController: ev_forecaster must be an EVSessionForecaster (fit(), expected()).")
        self.comfort_margin_k = float(comfort_margin_k)
        self.load_forecaster = copy.deepcopy(load_forecaster)
        self.ev_forecaster = ev_forecaster
        self.perfect_foresight = bool(perfect_foresight)
        self.horizon_h = float(horizon_h)
        self.replan_every = int(replan_every)
        self.formulation = formulation
        self.exactness = exactness
        self.weights = weights
        self.network_limits = network_limits
        self.progress = bool(progress)
        self.solve_kwargs = solve_kwargs
        self.plans: list[tuple[int, Any, Any]] = []
        self._horizon_steps = 0

    def on_reset(self, view: ControllerView) -> None:
        """Forget the previous episode's plans; check the window; reset the forecasters."""
        self.plans = []
        band = view.scenario.comfort.t_max_c - view.scenario.comfort.t_min_c
        if 2.0 * self.comfort_margin_k >= band:
            raise ConfigError(f"MPCController: comfort_margin_k={self.comfort_margin_k} K leaves nothing of the "
                              f"{band:g} K comfort band; use less than {band / 2:g} K.")
        self._horizon_steps = max(1, int(round(self.horizon_h * 3600.0 / view.scenario.dt_s)))
        if self._horizon_steps < self.replan_every:
            raise ConfigError(f"MPCController: a {self.horizon_h} h window holds {self._horizon_steps} steps, fewer "
                              f"than replan_every={self.replan_every}; lengthen the horizon or re-plan more often.")
        if self.load_forecaster is not None and not self.perfect_foresight:
            self.load_forecaster.reset(view)
        ev_f = self.ev_forecaster
        if ev_f is not None and not self.perfect_foresight and view.evs.n and (
                ev_f.median is None or ev_f._scenario != view.scenario):
            ev_f.fit(view.scenario)

    def setpoints(self, view: ControllerView) -> Setpoints:
        """Re-plan if due, then the current plan's set-points for this step."""
        k = view.step
        if not self.plans or k - self.plans[-1][0] >= self.replan_every:
            self.plans.append((k, *self._plan(view)))
        start, sol, planned = self.plans[-1]
        return plan_setpoints(sol, k - start, n_ev=view.evs.n, ev_index=planned.index)

    def _plan(self, view: ControllerView) -> tuple[Any, Any]:
        from thermogrid_env.opf import solve_opf  # noqa: PLC0415
        from thermogrid_env.opf.episode import opf_data_for_window  # noqa: PLC0415

        k = view.step
        n = min(self._horizon_steps, view.n_steps - k)
        loads = expected = index = None
        if not self.perfect_foresight:
            if self.load_forecaster is not None and n > 1:
                loads = self.load_forecaster.forecast(k, n - 1)
            if self.ev_forecaster is not None and view.evs.n:
                expected, index = self.ev_forecaster.expected(view)
        data, planned = opf_data_for_window(view, n, load_forecast=loads, expected_sessions=expected,
                                            expected_index=index, weights=self.weights,
                                            network_limits=self.network_limits,
                                            perfect_foresight=self.perfect_foresight)
        if self.comfort_margin_k > 0 and data.houses.n:
            h, m = data.houses, self.comfort_margin_k
            data = dataclasses.replace(data, houses=dataclasses.replace(h, t_min_c=h.t_min_c + m, t_max_c=h.t_max_c - m))
        sol = solve_opf(data, self.formulation, exactness=self.exactness, **self.solve_kwargs)
        if self.progress:
            import sys  # noqa: PLC0415

            print(f"\rmpc: planned step {k}/{view.n_steps} ({n} periods, {sol.timings.total_s:.2f} s)",
                  end="\n" if k + self.replan_every >= view.n_steps else "", file=sys.stderr, flush=True)
        return sol, planned
