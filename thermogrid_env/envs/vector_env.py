"""A natively batched vector environment: N episodes of one scenario stepped in one vectorised call.

``gymnasium.make_vec("ThermoGrid-v0", num_envs=N)`` (the registered ids' ``vector_entry_point``,
Gymnasium's default mode when an id has one) returns a :class:`ThermoGridVectorEnv`: the houses,
EVs, PV, the AC power flows (one batched sweep), the transformers, the cost terms, KPIs,
observations and rewards of all N episodes are computed by the same code as the single environment
(:class:`~thermogrid_env.sim.simulator.Simulator` with a leading batch axis, the same observation
arithmetic), so its observations and rewards equal those of N single environments with the same
seeds and actions (tested to 1e-9; in practice bit for bit). The batched arithmetic is elementwise,
with sums along each episode's own contiguous rows (no matrix products across the batch), so an
episode's numbers do not depend on the batch it is in (the worker-process version,
:mod:`thermogrid_env.envs.vector_workers`, relies on it: tested equal).

Semantics (Gymnasium 1.x vector API):

* ``reset(seed=s)`` seeds sub-environment ``i`` with ``s + i`` (a list gives one seed per
  sub-environment); ``options={"reset_mask": mask}`` resets only those (for
  ``autoreset_mode=DISABLED``).
* Autoreset: ``NEXT_STEP`` (default, as Gymnasium's ``SyncVectorEnv``): the step after a
  sub-environment ends resets it, returns its first observation with reward 0 and ignores its
  action. ``SAME_STEP``: a sub-environment that ends is reset in the same step; the returned
  observation is the new episode's first, the last one is in ``info["final_obs"]`` (and its info in
  ``info["final_info"]``), masked by ``info["_final_obs"]``. ``DISABLED``: reset by hand.
* ``info``: ``"reward_terms_raw"`` and ``"kpi"`` (dicts of ``(N,)`` arrays), ``"collapse"`` (a step
  whose power flow has no solution, which terminates that sub-environment), and ``"episode_kpi"``
  (dict of ``(N,)`` arrays) with its mask ``"_episode_kpi"`` for the sub-environments whose episode
  ended in this step.

All sub-environments play the same scenario (so the same feeder and device counts); their
communities, days and EV sessions differ. Episodes of different scenarios cannot share one batch
(different feeders or device counts cannot be stacked): make one vector environment per scenario.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from thermogrid_env.config import Scenario
from thermogrid_env.envs.actions import action_affine, setpoint_targets
from thermogrid_env.envs.observations import ev_hours_per_soc, ev_schedule
from thermogrid_env.envs.thermogrid_env import ThermoGridEnv
from thermogrid_env.errors import ConfigError
from thermogrid_env.sim import costs
from thermogrid_env.sim.episode import Episode, sample_episode
from thermogrid_env.sim.kpi import KPI_UNITS
from thermogrid_env.sim.simulator import Setpoints, SimState, Simulator
from thermogrid_env.physics.transformer import TransformerThermalState

_MAXED = ("hot_spot_max_c", "voltage_dev_max_pu", "line_loading_max", "trafo_loading_max", "peak_import_kw")


class ThermoGridVectorEnv(VectorEnv):
    """``num_envs`` ThermoGrid episodes of one scenario, stepped together (module docstring).

    Args:
        num_envs: Number of sub-environments, >= 1.
        scenario: Preset name or :class:`~thermogrid_env.config.Scenario` (shared by all).
        forecaster, forecast_horizon_h, observed_buses, powerflow_backend, action_mode: As
            :class:`~thermogrid_env.envs.thermogrid_env.ThermoGridEnv` (each sub-environment keeps
            its own copy of the forecaster).
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` (default), ``SAME_STEP`` or ``DISABLED`` (or
            their string values).
        parallel_powerflow: Solve the power flows of a batch of at least
            :data:`~thermogrid_env.physics.powerflow.PARALLEL_MIN_BATCH` sub-environments on all of
            numba's threads (``numba.set_num_threads``; the numpy kernel ignores it). Identical results; 1.0-1.2x
            the env-steps/s at N = 256-1024 on two idle cores. Leave it off when other processes keep the
            cores busy, e.g. with ``num_workers > 1`` (every call then waits for its threads).

    Raises:
        ConfigError: Invalid arguments.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, scenario: str | Scenario = "winter-high-der", *, forecaster: Any = None,
                 forecast_horizon_h: int = 4, observed_buses: Any = None, powerflow_backend: str = "auto",
                 action_mode: str = "power", autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 render_mode: str | None = None, parallel_powerflow: bool = False) -> None:
        if not (isinstance(num_envs, (int, np.integer)) and not isinstance(num_envs, bool) and num_envs >= 1):
            raise ConfigError(f"num_envs must be an integer >= 1, got {num_envs!r}.")
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ConfigError(f"autoreset_mode must be one of {[m.value for m in AutoresetMode]}, "
                              f"got {autoreset_mode!r}.") from None
        if not isinstance(parallel_powerflow, (bool, np.bool_)):
            raise ConfigError(f"parallel_powerflow must be True or False, got {parallel_powerflow!r}.")
        if render_mode is not None:
            raise ConfigError("ThermoGridVectorEnv does not render; render a single ThermoGridEnv instead.")
        self.template = ThermoGridEnv(scenario, forecaster=forecaster, forecast_horizon_h=forecast_horizon_h,
                                      observed_buses=observed_buses, powerflow_backend=powerflow_backend,
                                      action_mode=action_mode)
        self.action_mode = action_mode
        t = self.template
        self.scenario: Scenario = t.scenario
        self.num_envs = int(num_envs)
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.autoreset_mode = mode
        self.render_mode = None
        self.single_observation_space: spaces.Box = t.observation_space
        self.single_action_space: spaces.Box = t.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_spec = t.observation_spec
        self._forecasters = [copy.deepcopy(t.forecaster) for _ in range(self.num_envs)]
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self.simulator: Simulator | None = None
        self.sim_state: SimState | None = None
        self.episodes: list[Episode | None] = [None] * self.num_envs
        n = self.num_envs
        self._autoreset = np.zeros(n, dtype=bool)
        self._done = np.zeros(n, dtype=bool)
        self._weights = costs.weight_vector(self.scenario.reward_weights)
        self._obs = np.zeros((n, self.observation_spec.size), dtype=np.float32)
        self._kpi = {name: np.zeros(n) for name in KPI_UNITS}
        self._kpi_steps = np.zeros(n)
        self._community = None
        self.parallel_powerflow = bool(parallel_powerflow)

    # ------------------------------------------------------------------ reset
    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every sub-environment (or those of ``options["reset_mask"]``); see the module docstring.

        Raises:
            ConfigError: Unknown options, or a seed list of the wrong length.
        """
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if options:
            raise ConfigError(f"Unknown reset options {sorted(options)}; the only option is 'reset_mask'.")
        n = self.num_envs
        if seed is None or isinstance(seed, (int, np.integer)):
            seeds = [None if seed is None else int(seed) + i for i in range(n)]
        else:
            seeds = list(seed)
            if len(seeds) != n:
                raise ConfigError(f"reset(seed=list) needs {n} seeds (one per sub-environment), got {len(seeds)}.")
        mask = np.ones(n, dtype=bool) if mask is None or self.simulator is None else np.asarray(mask, dtype=bool)
        if mask.shape != (n,):
            raise ConfigError(f"options['reset_mask'] must be a bool array of shape ({n},).")
        for i in np.flatnonzero(mask):
            if seeds[i] is not None or self._rngs[i] is None:
                self._rngs[i] = seeding.np_random(seeds[i])[0]
        self._reset_rows(np.flatnonzero(mask))
        self._autoreset[:] = False
        return self._observe(), {"start_day_local": np.array([e.start_day_local.isoformat() for e in self.episodes]),
                                 "_start_day_local": mask.copy()}

    def _reset_rows(self, rows: np.ndarray) -> None:
        """Draw new episodes for the given sub-environments and put them at their first step.

        Each sub-environment draws its episode from its own generator (as a single environment
        would); everything after the draw is done for all the rows at once.
        """
        sc = self.scenario
        if sc.community_seed is not None and self._community is None:
            from thermogrid_env.sim.community import sample_community  # noqa: PLC0415

            self._community = sample_community(sc, np.random.default_rng(sc.community_seed))
        rows = np.asarray(rows, dtype=np.intp)
        if not rows.size:  # e.g. an all-false reset mask
            return
        episodes = []
        for i in rows:
            episode = sample_episode(sc, self._rngs[i], community=self._community)
            self._forecasters[i].reset(episode.exogenous, self._rngs[i])
            self.episodes[i] = episode
            episodes.append(episode)
        if self.simulator is None:
            self.simulator = Simulator(list(self.episodes), powerflow_backend=self.template.powerflow_backend,
                                       parallel_powerflow=self.parallel_powerflow)
            self._allocate_tables()
        else:
            self.simulator.replace_episodes(rows, episodes)
        self._set_tables(rows, episodes)
        state, v_pu, loading = self.simulator.initial_rows(rows)
        if self.sim_state is None:
            self.sim_state = state
            self._grid = [v_pu, np.array(state.trafo.hot_spot_c, dtype=float), loading]
        else:
            st = self.sim_state
            for field, value in zip(("step", "t_indoor_c", "t_envelope_c", "ev_soc"),
                                    (state.step, state.t_indoor_c, state.t_envelope_c, state.ev_soc)):
                getattr(st, field)[rows] = value
            for field, value in zip(st.trafo, state.trafo):
                field[rows] = value
            self._grid[0][rows], self._grid[1][rows], self._grid[2][rows] = v_pu, state.trafo.hot_spot_c, loading
        for name in self._kpi:
            self._kpi[name][rows] = 0.0
        self._kpi_steps[rows] = 0
        self._done[rows] = False

    def _allocate_tables(self) -> None:
        """The stacked per-episode tables (actions, observations, forecasts), filled by :meth:`_set_tables`."""
        n, spec = self.num_envs, self.observation_spec
        t1 = self.episodes[0].exogenous.n_steps + 1
        self._act_scale = np.zeros((n, self.single_action_space.shape[0]))
        self._act_offset = np.zeros_like(self._act_scale)
        self._exo_tables = np.zeros((n, t1, 8))
        self._ev_h_per_soc = np.zeros((n, spec.n_ev))
        # per forecast block (sub-env, issue step, quantile x lead): a step gathers contiguous rows
        self._fc_tables = [np.zeros((n, t1, len(spec.quantiles) * spec.forecast_horizon_h))
                           for _ in spec._fc_blocks]
        self._ar = np.arange(n)

    def _set_tables(self, rows: np.ndarray, episodes: list[Episode]) -> None:
        """Fill the tables of the given rows from their (new) episodes."""
        a, spec = self.simulator._arrays, self.observation_spec
        self._act_scale[rows], self._act_offset[rows] = action_affine(
            a["hp_pmax"][rows], a["ev_pmax"][rows], a["pv_s"][rows], bool(self.scenario.ev_v2g))
        self._exo_tables[rows] = spec.exo_tables(episodes)
        self._ev_h_per_soc[rows] = ev_hours_per_soc(a["ev_cap"][rows], a["ev_eff"][rows], a["ev_pmax"][rows])
        for i, episode in zip(rows, episodes):
            for out, table in zip(self._fc_tables, spec.forecast_tables(self._forecasters[i], episode.exogenous.n_steps)):
                out[i] = np.moveaxis(table, 1, 0).reshape(out.shape[1:])

    # ------------------------------------------------------------------ step
    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every sub-environment (module docstring for the autoreset and info conventions).

        Raises:
            ConfigError: Before ``reset()``, actions of the wrong shape or with NaN/inf.
        """
        if self.simulator is None:
            raise ConfigError("Call reset() before step().")
        n = self.num_envs
        a = np.asarray(actions, dtype=np.float64)
        if a.shape != (n,) + self.single_action_space.shape:
            raise ConfigError(f"actions must have shape {(n,) + self.single_action_space.shape}, got {a.shape}.")
        bad = ~np.isfinite(a).all(axis=1)
        if bad.any():
            raise ConfigError(f"The actions of sub-environments {np.flatnonzero(bad)[:10].tolist()} contain NaN or "
                              "inf; fix the controller.")
        resetting = self._autoreset.copy() if self.autoreset_mode == AutoresetMode.NEXT_STEP else np.zeros(n, bool)
        if resetting.any():
            self._reset_rows(np.flatnonzero(resetting))
        if self.autoreset_mode == AutoresetMode.DISABLED and self._done.any():
            raise ConfigError(f"Sub-environments {np.flatnonzero(self._done)[:10].tolist()} have ended; reset them "
                              "(options={'reset_mask': ...}) before stepping (autoreset_mode=DISABLED).")
        sim = self.simulator
        b = np.cumsum([sim.n_hp, sim.n_ev, sim.n_pv, sim.n_pv])
        clipped = np.clip(a, -1.0, 1.0)
        old = self.sim_state
        if self.action_mode == "power":
            sp = clipped * self._act_scale + self._act_offset
            setpoints = Setpoints(hp_p_kw=sp[:, :b[0]], ev_p_kw=sp[:, b[0]:b[1]], pv_curtailment=sp[:, b[1]:b[2]],
                                  pv_q_kvar=sp[:, b[2]:])
        else:
            comfort = self.scenario.comfort
            s_inv = self._act_scale[:, b[2]:]  # the PV q block's scale is the inverter rating
            setpoints = sim.targets_to_setpoints(old, *setpoint_targets(clipped, tuple(b), comfort.t_min_c,
                                                                        comfort.t_max_c, s_inv))
        state, res = sim.step(old, setpoints, checked=True)  # from validated actions
        if resetting.any():  # those keep their reset state: their action is ignored
            keep = resetting
            state = SimState(step=np.where(keep, old.step, state.step),
                             t_indoor_c=np.where(keep[:, None], old.t_indoor_c, state.t_indoor_c),
                             t_envelope_c=np.where(keep[:, None], old.t_envelope_c, state.t_envelope_c),
                             ev_soc=np.where(keep[:, None], old.ev_soc, state.ev_soc),
                             trafo=TransformerThermalState(*(np.where(keep, o, s) for o, s in zip(old.trafo, state.trafo))))
        else:
            state = SimState(step=state.step, t_indoor_c=state.t_indoor_c, t_envelope_c=state.t_envelope_c,
                             ev_soc=state.ev_soc, trafo=TransformerThermalState(*(np.array(x) for x in state.trafo)))
        self.sim_state = state
        converged = np.asarray(res.converged, dtype=bool)
        terminated = ~converged & ~resetting
        truncated = (state.step >= sim.n_steps) & ~terminated & ~resetting
        reward = np.where(resetting, 0.0, res.reward)
        # the grid the next observation reads (as the single environment's)
        v = np.where(converged[:, None], res.v_pu, 0.0)
        keep = resetting[:, None]
        self._grid[0] = np.where(keep, self._grid[0], v)
        self._grid[1] = np.where(resetting, self._grid[1], res.hot_spot_c)
        self._grid[2] = np.where(resetting, self._grid[2], np.nan_to_num(res.trafo_loading))
        live = ~resetting
        any_reset = bool(resetting.any())
        terms = {name: np.where(resetting, 0.0, v_) if any_reset else v_ for name, v_ in res.terms.items()}
        kpis = {name: np.where(resetting, 0.0, v_) if any_reset else v_ for name, v_ in res.kpis.items()}
        for name, value in kpis.items():
            if name in _MAXED:
                self._kpi[name] = np.maximum(self._kpi[name], value)
            else:
                self._kpi[name] = self._kpi[name] + value
        self._kpi_steps += live
        ended = terminated | truncated
        info: dict[str, Any] = {"reward_terms_raw": terms, "kpi": kpis,
                                "collapse": terminated.copy(), "_collapse": np.ones(n, dtype=bool)}
        if ended.any():
            info["episode_kpi"] = self._episode_kpi()
            info["_episode_kpi"] = ended.copy()
        self._done = ended.copy()
        obs = self._observe()
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._autoreset = ended
        elif self.autoreset_mode == AutoresetMode.SAME_STEP and ended.any():
            final_obs = obs.copy()
            self._reset_rows(np.flatnonzero(ended))
            obs = self._observe()
            info["final_obs"] = final_obs
            info["_final_obs"] = ended.copy()
            info["final_info"] = {"episode_kpi": info["episode_kpi"], "collapse": terminated.copy()}
            info["_final_info"] = ended.copy()
        return obs, reward, terminated, truncated, info

    def _episode_kpi(self) -> dict[str, np.ndarray]:
        out = {name: value.copy() for name, value in self._kpi.items()}
        out["line_loading_mean"] = out["line_loading_mean"] / np.maximum(self._kpi_steps, 1)
        return out

    def _observe(self) -> np.ndarray:
        st, ar = self.sim_state, self._ar
        k = np.minimum(st.step, self._exo_tables.shape[1] - 1)
        forecasts = tuple(tab[ar, k] for tab in self._fc_tables)
        a = self.simulator._arrays
        ev_rows = ev_schedule(a["ev_arrival"], a["ev_departure"], self._ev_h_per_soc, k[:, None], self.scenario.dt_h)
        self.observation_spec.observe_batch(
            self._exo_tables[ar, k], ev_rows, a["ev_soc_target"], st.t_indoor_c, st.ev_soc,
            self._grid[0], self._grid[1], self._grid[2], forecasts, self._obs)
        return self._obs.copy()

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release (no processes, files or windows)."""


__all__ = ["ThermoGridVectorEnv"]
