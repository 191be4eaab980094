"""ThermoGrid-v0: a low-voltage feeder with heat pumps, EVs and PV as a Gymnasium environment."""

from __future__ import annotations

import copy
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from thermogrid_env.config import Scenario, get_scenario
from thermogrid_env.envs.actions import ACTION_MODES, ActionSpec, action_space, setpoint_targets
from thermogrid_env.envs.observations import ObservationSpec
from thermogrid_env.envs.rendering import render_feeder
from thermogrid_env.errors import ConfigError
from thermogrid_env.forecast.base import Forecaster
from thermogrid_env.forecast.empirical import SeasonalEmpiricalForecaster
from thermogrid_env.network.library import load_feeder
from thermogrid_env.sim import costs
from thermogrid_env.sim.community import Community, device_counts, sample_community
from thermogrid_env.sim.episode import Episode, sample_episode
from thermogrid_env.sim.kpi import KPIAccumulator
from thermogrid_env.sim.simulator import SimState, Simulator, StepResult
from thermogrid_env.sim.view import ControllerView, build_view

#: Reward terms in order, with the KPI each is booked in (:mod:`thermogrid_env.sim.costs`).
REWARD_TERMS: tuple[tuple[str, str], ...] = tuple((t.name, t.kpi) for t in costs.TERMS)
#: Longest forecast horizon [h].
MAX_FORECAST_HORIZON_H = 24


def _check_buses(observed_buses: list[int] | np.ndarray | None, n_bus: int) -> np.ndarray:
    """The observed bus indices (default: all but the slack bus 0) as an int array."""
    if observed_buses is None:
        return np.arange(1, n_bus)
    buses = np.asarray(observed_buses)
    if buses.size == 0:
        return np.zeros(0, dtype=np.int64)
    if buses.ndim != 1 or buses.dtype.kind not in "iu" or np.any((buses < 0) | (buses >= n_bus)):
        raise ConfigError(f"observed_buses must be integer bus indices in [0, {n_bus}), got {observed_buses!r}.")
    return buses.astype(np.int64)


class ThermoGridEnv(gym.Env[np.ndarray, np.ndarray]):
    """A low-voltage feeder with heat pumps, EVs and rooftop PV, controlled centrally.

    ## Description

    Every step (15 min by default) the agent sets the electrical power of every heat pump, the
    charging power of every EV and the curtailment and reactive power of every PV inverter of the
    households on a real SimBench LV feeder. The simulator advances the houses (3R2C grey-box
    thermal models), the EVs and the PV, solves the exact AC power flow (DistFlow sweep) and the
    IEC 60076-7 transformer thermal model, and books KPIs. The agent trades energy cost against
    comfort, EV energy, voltage limits, losses, transformer aging, curtailment and overloads. The
    environment is a thin adapter over :class:`~thermogrid_env.sim.simulator.Simulator`; see the
    module docstrings of :mod:`thermogrid_env.envs.actions` and
    :mod:`thermogrid_env.envs.observations` for the full layouts.

    ## Action Space

    ``Box(-1, 1, (n_hp + n_ev + 2 n_pv,), float32)``; device counts are fixed by the scenario
    (``round(share × households)``; winter-high-der: 32 HP, 29 EV, 19 PV → 99 actions).

    | index range                  | meaning                          | unit | mapping of ``a``         |
    |------------------------------|----------------------------------|------|--------------------------|
    | 0 … n_hp−1                   | heat-pump electrical power       | kW   | (a+1)/2 · p_rated        |
    | n_hp … n_hp+n_ev−1           | EV charging power (grid side)    | kW   | (a+1)/2 · p_max; a · p_max with V2G |
    | … + n_pv                     | PV curtailment (share shed)      | -    | (a+1)/2                  |
    | … + n_pv                     | PV reactive power (+ = inject)   | kvar | a · s_inverter           |

    Out-of-box actions are clipped into ``[-1, 1]``; NaN/inf or wrongly shaped actions raise
    :class:`~thermogrid_env.errors.ConfigError`. An EV that is not plugged in draws nothing; SoC
    and inverter limits are enforced by the simulator.

    ## Observation Space

    ``Box(low, high, float32)`` of size ``8 + 3·Q·H + n_hp + 4·n_ev + n_buses_observed + 2``
    (winter-high-der, Q = 3 quantiles, H = 4 h: 237), each element ``(raw − offset) / scale``
    clipped into its bounds (``env.unwrapped.observation_spec.table()`` prints every row):

    | index                 | meaning                                   | unit    | scaling       |
    |-----------------------|-------------------------------------------|---------|---------------|
    | 0–3                   | sin/cos of local hour, of day of year     | -       | as is         |
    | 4                     | PV output per kWp now                     | kW/kWp  | as is         |
    | 5                     | feeder base load now                      | kW      | / rated kVA   |
    | 6                     | ambient temperature now                   | °C      | / 20          |
    | 7                     | energy price now                          | EUR/kWh | / 0.5         |
    | 8 … 8+3QH−1           | forecasts +1 … +H h, quantiles Q: ambient, PV, price | as above | as above |
    | next n_hp             | indoor temperature per HP house           | °C      | (t − 21) / 5  |
    | next n_ev × 4         | EV SoC; plugged; time to departure; full-power hours to target | -; -; h; h | -; -; /24; /24 |
    | next n_buses_observed | bus voltages (default: all but the slack) | pu      | (v − 1) / 0.1 |
    | last 2                | transformer hot spot, loading             | °C, -   | (θ − 60) / 40, as is |

    ## Rewards

    ``reward = −Σ_k w_k · term_k`` over the eight terms of the cost model
    (:mod:`thermogrid_env.sim.costs`, the one definition shared with the KPIs and the oracle's
    objective), per step: ``cost`` [EUR, each household billed on its own meter: import at the
    price, export at the feed-in tariff], ``discomfort`` [K·h], ``ev_unmet`` [kWh missing at an EV's
    departure, or at the episode end for EVs leaving later], ``voltage`` [Σ over LV buses of the
    squared-voltage excess outside ``[v_min_pu, v_max_pu]`` divided by twice the limit, pu],
    ``losses`` [kWh], ``aging`` [h of transformer loss of life], ``curtailment`` [kWh],
    ``overload`` [Σ over branches of ``max(I²/I_max² − 1, 0)/2``], with the weights
    ``scenario.reward_weights``. ``info["reward_terms"]`` holds the **weighted** terms
    ``w_k · term_k`` (so ``reward == −sum(info["reward_terms"].values())``),
    ``info["reward_terms_raw"]`` the raw terms and ``info["kpi"]`` the step's KPI increments
    (:mod:`thermogrid_env.sim.kpi`); the last step adds ``info["episode_kpi"]``.

    ## Starting State

    ``reset(seed)`` draws from ``self.np_random``: the community (which households own which
    devices, house types, device sizes; unless ``scenario.community_seed`` is set, in which case
    it is drawn once from that seed and kept), the start day within the scenario's season, and the
    EV sessions. Houses start at ``comfort.t_initial_c``, EVs at their arrival SoC, the
    transformer in thermal steady state. ``options={"episode": Episode}`` replays a given episode
    (same scenario) instead, e.g. to score controllers on identical days.

    ## Episode End

    Truncated by the environment itself after ``scenario.n_steps`` steps (96 for one day of 15-min
    steps), whatever the scenario passed to ``gymnasium.make``; the registered ids add no
    ``TimeLimit`` (``make(..., max_episode_steps=k)`` stops earlier if wanted). **Terminated** when
    a step's AC power flow has no solution (voltage collapse: the load exceeds what the feeder can
    carry): ``info["termination_reason"]`` says so, and the step's ``voltage`` term carries the
    collapse penalty (every LV bus counted at 0 V for the rest of the episode,
    :func:`~thermogrid_env.sim.costs.collapse_penalty`), so ending early never pays. A legal
    action never raises inside ``step()``.

    ## Arguments

    ```python
    env = gymnasium.make("ThermoGrid-v0", scenario="winter-high-der", forecaster=None,
                         forecast_horizon_h=4, observed_buses=None, render_mode=None)
    ```

    * ``scenario``: preset name (``thermogrid_env.config.PRESETS``) or a ``Scenario``.
    * ``forecaster``: a :class:`~thermogrid_env.forecast.base.Forecaster` (default: the causal
      :class:`~thermogrid_env.forecast.empirical.SeasonalEmpiricalForecaster`, built from data known
      at the issue time; ``PerfectForecaster()`` for perfect foresight). The env keeps its own deep
      copy.
    * ``forecast_horizon_h``: hourly forecast leads in the observation (0 … 24, default 4).
    * ``observed_buses``: feeder bus indices whose voltage is observed (default all but bus 0).
    * ``render_mode``: ``None`` or ``"rgb_array"``.
    * ``powerflow_backend``: ``"auto"``, ``"numba"`` or ``"numpy"``.
    * ``action_mode``: ``"power"`` (default: the table above) or ``"setpoint"``: the heat-pump
      actions are indoor temperatures within the comfort band tracked by each house's thermostat,
      the EV actions charging urgencies against the declared deadline
      (:mod:`thermogrid_env.envs.actions`).

    ## Controller interface

    Hand-written controllers read :meth:`controller_view` (a read-only
    :class:`~thermogrid_env.sim.view.ControllerView` of what is knowable at the step: measured
    state, forecasts, tariff, feeder, plugged EVs' declared departure and need); only a controller
    declaring perfect foresight (the oracle) asks for ``controller_view(perfect_foresight=True)``,
    which adds the episode. The environment's public attributes (valid after ``reset``):
    ``scenario``; ``episode`` (perfect-foresight data); ``simulator``; ``sim_state`` (state at the
    start of the next step); ``last_result`` (``StepResult`` of the last step, ``None`` after
    reset); ``action_spec`` (``to_setpoints``/``from_setpoints`` between actions and physical
    set-points); ``observation_spec``; ``forecaster``; ``step_index`` (steps played).

    ## Version History

    * v0: initial version. Changed within v0 before any release (spaces unchanged): the registered
      ids dropped their ``TimeLimit``, which cut custom scenarios longer than a day at the
      preset's length; heat-pump households stopped counting SimBench ``H0-A``'s electric space
      heating in their base load, so episodes with such households have lower base loads.
      The cost model (before release): energy is billed per household meter, the voltage and
      overload terms are measured in squared units (equal to the previous ones to first order),
      EV energy missing at the episode end is booked in that step's ``ev_unmet`` term; a step
      whose power flow has no solution terminates the episode instead of raising; the default
      forecaster is the causal :class:`~thermogrid_env.forecast.empirical.SeasonalEmpiricalForecaster`
      (perfect foresight was the default before).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(
        self,
        scenario: str | Scenario = "winter-high-der",
        *,
        forecaster: Forecaster | None = None,
        forecast_horizon_h: int = 4,
        observed_buses: list[int] | np.ndarray | None = None,
        render_mode: str | None = None,
        powerflow_backend: str = "auto",
        action_mode: str = "power",
    ) -> None:
        if not isinstance(scenario, (str, Scenario)):
            raise ConfigError(f"scenario must be a preset name or a Scenario, got {type(scenario).__name__}.")
        self.scenario: Scenario = get_scenario(scenario)
        feeder = load_feeder(self.scenario.feeder)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            modes = self.metadata["render_modes"]
            raise ConfigError(f"render_mode must be None or one of {modes}, got {render_mode!r}.")
        self.render_mode = render_mode
        # each env owns its forecaster (the same instance may be passed to several envs, e.g. make_vec)
        self.forecaster: Forecaster = (copy.deepcopy(forecaster) if forecaster is not None
                                       else SeasonalEmpiricalForecaster())
        if not isinstance(self.forecaster, Forecaster):
            raise ConfigError("forecaster must implement thermogrid_env.forecast.Forecaster "
                              "(quantiles, reset, forecast).")
        horizon_ok = isinstance(forecast_horizon_h, (int, np.integer)) and not isinstance(forecast_horizon_h, bool)
        if not horizon_ok or not 0 <= forecast_horizon_h <= MAX_FORECAST_HORIZON_H:
            raise ConfigError(f"forecast_horizon_h must be an integer in [0, {MAX_FORECAST_HORIZON_H}], "
                              f"got {forecast_horizon_h!r}.")
        buses = _check_buses(observed_buses, feeder.n_bus)
        if powerflow_backend not in ("auto", "numba", "numpy"):
            raise ConfigError(f"powerflow_backend must be 'auto', 'numba' or 'numpy', got {powerflow_backend!r}.")
        self.powerflow_backend = powerflow_backend
        if action_mode not in ACTION_MODES:
            raise ConfigError(f"action_mode must be one of {ACTION_MODES}, got {action_mode!r}.")
        if action_mode == "setpoint" and self.scenario.ev_v2g:
            raise ConfigError("action_mode='setpoint' has no V2G discharge (urgency charges only); use 'power'.")
        self.action_mode = action_mode
        self.forecast_horizon_h = int(forecast_horizon_h)
        steps_per_hour = max(1, 3600 // self.scenario.dt_s)
        n_hp, n_ev, n_pv = device_counts(self.scenario, feeder)
        self.observation_spec = ObservationSpec(
            n_hp=n_hp, n_ev=n_ev, observed_buses=buses, base_load_scale_kw=feeder.transformer_rating_kva,
            quantiles=self.forecaster.quantiles, forecast_horizon_h=self.forecast_horizon_h,
            steps_per_hour=steps_per_hour,
        )
        self.action_space = action_space(n_hp, n_ev, n_pv)
        self.observation_space = self.observation_spec.space()
        self._term_names = costs.TERM_NAMES
        self._weights = tuple(float(w) for w in costs.weight_vector(self.scenario.reward_weights))
        self._obs = np.zeros(self.observation_spec.size, dtype=np.float32)
        self._community: Community | None = None  # cached when scenario.community_seed is set
        # public controller interface (set by reset)
        self.episode: Episode | None = None
        self.simulator: Simulator | None = None
        self.sim_state: SimState | None = None
        self.last_result: StepResult | None = None
        self.action_spec: ActionSpec | None = None
        self.step_index = 0
        self._kpi = KPIAccumulator()
        self._terminated = False
        self._grid: tuple[np.ndarray, np.ndarray, float, float] | None = None  # v, loading, hot spot, trafo

    def step(self, action: np.ndarray) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Apply a normalised action for one step (see the class docstring)."""
        if self.sim_state is None:
            raise ConfigError("Call reset() before step().")
        n_steps = self.simulator.n_steps
        if self.step_index >= n_steps or self._terminated:
            raise ConfigError(f"The episode ended after {self.step_index} steps; call reset().")
        if self.action_mode == "power":
            setpoints = self.action_spec.to_setpoints(action)
        else:
            spec, comfort = self.action_spec, self.scenario.comfort
            targets = setpoint_targets(spec.validate(action), spec._bounds, comfort.t_min_c, comfort.t_max_c,
                                       spec.pv_s_inverter_kva)
            setpoints = self.simulator.targets_to_setpoints(self.sim_state, *targets)
        state, res = self.simulator.step(self.sim_state, setpoints, checked=True)  # from a validated action
        self.sim_state, self.last_result = state, res
        self.step_index = k = state.step
        terminated = not res.converged
        truncated = k >= n_steps and not terminated
        self._terminated = terminated
        raw = res.terms
        self._kpi.add(res.kpis)
        info: dict[str, Any] = {
            "kpi": res.kpis,
            "reward_terms": {n: w * raw[n] for n, w in zip(self._term_names, self._weights)},
            "reward_terms_raw": dict(raw),
        }
        if terminated:
            info["termination_reason"] = (
                f"voltage collapse at step {k - 1}: the AC power flow of this step has no solution (the load "
                "exceeds what the feeder can carry); the voltage term carries the collapse penalty")
        if terminated or truncated:
            info["episode_kpi"] = self._kpi.result()
        if res.converged:  # (the grid is finite: no NaN to clean)
            self._grid = (res.v_pu, res.loading, float(res.hot_spot_c), float(res.trafo_loading))
        else:
            self._grid = (np.zeros_like(res.v_pu), np.nan_to_num(res.loading), float(res.hot_spot_c), 0.0)
        return self._observation(), float(res.reward), terminated, truncated, info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode (see Starting State in the class docstring).

        Args:
            seed: Seed of ``self.np_random`` (``None``: keep the generator, or seed it from entropy).
            options: ``None`` or ``{"episode": Episode}`` to replay a given episode.

        Raises:
            ConfigError: Unknown option, or an episode of another scenario.
        """
        super().reset(seed=seed)
        options = options or {}
        unknown = sorted(set(options) - {"episode"})
        if unknown:
            raise ConfigError(f"Unknown reset options {unknown}; the only option is 'episode'.")
        episode = options.get("episode")
        if episode is None:
            episode = sample_episode(self.scenario, self.np_random, community=self._fixed_community())
        elif not isinstance(episode, Episode) or episode.scenario != self.scenario:
            raise ConfigError("options['episode'] must be an Episode of this environment's scenario.")
        self.episode = episode
        self.simulator = Simulator(episode, powerflow_backend=self.powerflow_backend)
        self.sim_state = self.simulator.initial_state()
        self.last_result = None
        self.step_index = 0
        self._terminated = False
        self.action_spec = ActionSpec.from_episode(episode)
        self.forecaster.reset(episode.exogenous, self.np_random)
        self.observation_spec.reset(episode, self.forecaster)
        self._kpi = KPIAccumulator()
        g = self.simulator.initial_grid()
        self._grid = (g.v_pu, g.loading, float(self.sim_state.trafo.hot_spot_c), float(g.trafo_loading))
        return self._observation(), {"start_day_local": episode.start_day_local.isoformat()}

    def _fixed_community(self) -> Community | None:
        """The community kept across resets (``scenario.community_seed``), else ``None``."""
        sc = self.scenario
        if sc.community_seed is not None and self._community is None:
            self._community = sample_community(sc, np.random.default_rng(sc.community_seed))
        return self._community

    def controller_view(self, perfect_foresight: bool = False) -> ControllerView:
        """What a controller may know at the start of the next step (:mod:`thermogrid_env.sim.view`).

        Args:
            perfect_foresight: Include the episode (for controllers that declare perfect foresight,
                such as the oracle; causal controllers must not ask for it).

        Raises:
            ConfigError: Before ``reset()``.
        """
        if self.sim_state is None:
            raise ConfigError("Call reset() before controller_view().")
        return build_view(self.episode, self.sim_state, self.last_result, self.forecaster.forecast,
                          perfect_foresight=perfect_foresight)

    def _observation(self) -> np.ndarray:
        """The observation at the start of step ``step_index`` (a new array)."""
        state, k = self.sim_state, self.step_index
        v, _, hot_spot, trafo_loading = self._grid
        self.observation_spec.observe(
            k, state.t_indoor_c, state.ev_soc, v, hot_spot, trafo_loading, self._obs
        )
        return self._obs.copy()

    def render(self) -> np.ndarray | None:
        """An ``(H, W, 3)`` uint8 picture of the feeder (``render_mode="rgb_array"``), else ``None``.

        See :mod:`thermogrid_env.envs.rendering` for the panels.
        """
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; make the env with render_mode='rgb_array'.")
            return None
        if self._grid is None:
            raise ConfigError("Call reset() before render().")
        v, loading, hot_spot, trafo_loading = self._grid
        sc = self.scenario
        return render_feeder(
            v_pu=v, v_min_pu=sc.v_min_pu, v_max_pu=sc.v_max_pu, branch_loading=loading,
            t_indoor_c=self.sim_state.t_indoor_c, t_min_c=sc.comfort.t_min_c, t_max_c=sc.comfort.t_max_c,
            hot_spot_c=hot_spot, trafo_loading=trafo_loading, progress=self.step_index / self.simulator.n_steps,
        )

    def close(self) -> None:
        """Nothing to release (no windows, files or processes)."""
