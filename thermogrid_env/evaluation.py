"""The KPI harness: run controllers on identical episodes and tabulate every KPI.

Every controller is scored on the same simulator through the same Gymnasium environment: episode
``i`` is played with ``env.reset(seed=seed + i)`` for every controller, so all see the same
community, start day, loads, weather and EV sessions. KPIs are the definitions of
:mod:`thermogrid_env.sim.kpi`, accumulated from ``info["kpi"]``.

A controller is anything with stable-baselines3's ``predict`` (:class:`Controller`); the optional
``reset(env)`` hook is called after each ``env.reset``. This module never imports ``baselines``
(the controllers live above it); :mod:`baselines.protocol` re-exports :class:`Controller`.

Example::

    from thermogrid_env import evaluate
    from baselines import RuleBasedController, UncontrolledController

    kpis = evaluate({"uncontrolled": UncontrolledController, "rule_based": RuleBasedController},
                    scenario="winter-high-der", episodes=3)
    kpis, traces = evaluate({...}, record=True)   # plus per-step time series for plots
    kpis = evaluate({...}, episodes=8, jobs=2)     # episodes spread over 2 worker processes
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Union, overload, runtime_checkable

import numpy as np
import pandas as pd

from thermogrid_env.config import Scenario, get_scenario
from thermogrid_env.errors import ConfigError, import_optional
from thermogrid_env.sim.kpi import KPI_UNITS, KPIAccumulator

__all__ = ["Controller", "ControllerSpec", "EpisodeTrace", "Traces", "evaluate", "resolve_controller"]

#: Identification columns of the KPI table, before the KPI columns.
ID_COLUMNS: tuple[str, ...] = ("controller", "episode", "seed", "start_day", "return", "score")
#: The references of the normalised score (entry-point names and their in-tree targets).
SCORE_REFERENCES: dict[str, str] = {"uncontrolled": "baselines.uncontrolled:UncontrolledController",
                                    "oracle": "baselines.oracle:OracleController"}
_REF_PREFIX = "__reference__"
#: Returns of the references by (scenario, seed, reference), computed once per process.
_REFERENCE_RETURNS: dict[tuple[Any, int, str], float] = {}
#: With ``progress=None`` the bar appears on a terminal once the evaluation has run this long [s].
PROGRESS_DELAY_S = 1.0
#: Least time between two step updates of the bar [s].
_STEP_UPDATE_S = 0.25


@runtime_checkable
class Controller(Protocol):
    """Anything that maps an observation to an action, with stable-baselines3's signature.

    An SB3 model (``PPO``, ``SAC``, a recurrent sb3-contrib model) satisfies it unchanged. A
    controller may also define ``reset(env)``, called by :func:`evaluate` after every
    ``env.reset`` with the environment, so hand-written controllers can read the physical state on
    ``env.unwrapped`` instead of the observation.
    """

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """The action for an observation, and the next recurrent state (``None`` if stateless)."""
        ...


#: A controller, a zero-argument factory (e.g. a class) making one, or an installed controller's name.
ControllerSpec = Union[Controller, Callable[[], Controller], str]


def resolve_controller(spec: Any) -> Controller:
    """A controller from a controller, a zero-argument factory of one, or an installed controller's
    name (entry-point group ``thermogrid.controllers``, e.g. ``"mpc"``; ``thermogrid list controllers``).

    Raises:
        TypeError: Neither an object with ``predict`` nor a callable returning one.
        ConfigError: A name that no installed controller has.
    """
    if isinstance(spec, str):
        spec = _registered(spec)
    if not isinstance(spec, type) and callable(getattr(spec, "predict", None)):
        return spec
    if callable(spec):
        made = spec()
        if callable(getattr(made, "predict", None)):
            return made
        raise TypeError(f"The factory {spec!r} returned {type(made).__name__}, which has no predict().")
    raise TypeError(f"{spec!r} is not a controller (no predict()) nor a factory of one.")


@dataclass(frozen=True, kw_only=True, eq=False)
class EpisodeTrace:
    """Per-step time series of one controller on one episode (values over or at the end of a step).

    Attributes:
        controller, episode, seed, start_day: Which run.
        time_utc: ``(T,)`` start of each step (UTC); ``hour_local``: ``(T,)`` local hour of day.
        v_min_pu, v_max_pu: ``(T,)`` lowest and highest LV bus voltage [pu].
        hot_spot_c: ``(T,)`` transformer hot spot at the end of the step [°C].
        trafo_loading: ``(T,)`` transformer loading [-].
        line_loading_max: ``(T,)`` highest line loading [-].
        t_indoor_c: ``(T, n_hp)`` indoor temperatures at the end of the step [°C].
        ev_soc: ``(T, n_ev)`` EV state of charge at the end of the step [-].
        ev_plugged: ``(T, n_ev)`` EV plugged in during the step.
        hp_p_kw, ev_p_kw, pv_p_kw: ``(T,)`` feeder totals of the device powers [kW].
        base_p_kw: ``(T,)`` feeder total of the base load (no HP/EV/PV) [kW].
        p_import_kw: ``(T,)`` power drawn from the MV grid [kW]; ``p_loss_kw``: feeder losses [kW].
        t_ambient_c: ``(T,)`` ambient temperature [°C]; ``price_eur_per_kwh``: ``(T,)`` price.
        reward: ``(T,)`` reward of each step.
        v_band_pu: Voltage band ``(v_min, v_max)`` [pu]; ``comfort_band_c``: ``(t_min, t_max)`` [°C].
    """

    controller: str
    episode: int
    seed: int
    start_day: str
    time_utc: pd.DatetimeIndex
    hour_local: np.ndarray
    v_min_pu: np.ndarray
    v_max_pu: np.ndarray
    hot_spot_c: np.ndarray
    trafo_loading: np.ndarray
    line_loading_max: np.ndarray
    t_indoor_c: np.ndarray
    ev_soc: np.ndarray
    ev_plugged: np.ndarray
    hp_p_kw: np.ndarray
    ev_p_kw: np.ndarray
    pv_p_kw: np.ndarray
    base_p_kw: np.ndarray
    p_import_kw: np.ndarray
    p_loss_kw: np.ndarray
    t_ambient_c: np.ndarray
    price_eur_per_kwh: np.ndarray
    reward: np.ndarray
    v_band_pu: tuple[float, float]
    comfort_band_c: tuple[float, float]

    def to_frame(self) -> pd.DataFrame:
        """One row per step: the scalar series plus mean/min/max indoor temperature and mean SoC."""
        cols = ("hour_local", "v_min_pu", "v_max_pu", "hot_spot_c", "trafo_loading", "line_loading_max",
                "hp_p_kw", "ev_p_kw", "pv_p_kw", "base_p_kw", "p_import_kw", "p_loss_kw", "t_ambient_c",
                "price_eur_per_kwh", "reward")
        frame = pd.DataFrame({c: getattr(self, c) for c in cols}, index=pd.Index(self.time_utc, name="time_utc"))
        t_in, soc = self.t_indoor_c, self.ev_soc
        frame["t_indoor_mean_c"] = t_in.mean(axis=1) if t_in.shape[1] else np.nan
        frame["t_indoor_min_c"] = t_in.min(axis=1) if t_in.shape[1] else np.nan
        frame["t_indoor_max_c"] = t_in.max(axis=1) if t_in.shape[1] else np.nan
        frame["ev_soc_mean"] = soc.mean(axis=1) if soc.shape[1] else np.nan
        frame.insert(0, "controller", self.controller)
        frame.insert(1, "episode", self.episode)
        return frame


#: Traces by controller name, one per episode in episode order.
Traces = dict[str, list[EpisodeTrace]]


class _Recorder:
    """Collects the per-step series of one episode from ``env.unwrapped``."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {}

    def add(self, env: Any, reward: float) -> None:
        res, state = env.last_result, env.sim_state
        community = env.episode.community
        k = state.step - 1
        values = {
            "v_min_pu": float(res.v_pu[1:].min()),
            "v_max_pu": float(res.v_pu[1:].max()),
            "hot_spot_c": res.hot_spot_c,
            "trafo_loading": res.trafo_loading,
            "line_loading_max": float(res.loading[~community.feeder.is_transformer].max(initial=0.0)),
            "t_indoor_c": np.array(state.t_indoor_c, dtype=float),
            "ev_soc": np.array(state.ev_soc, dtype=float),
            "ev_plugged": np.array(res.ev_plugged, dtype=bool),
            "hp_p_kw": float(np.sum(res.hp_p_kw)),
            "ev_p_kw": float(np.sum(res.ev_p_kw)),
            "pv_p_kw": float(np.sum(res.pv_p_kw)),
            "base_p_kw": float(env.episode.exogenous.base_p_kw[k].sum()),
            "p_import_kw": res.p_slack_kw,
            "p_loss_kw": res.p_loss_kw,
            "reward": float(reward),
        }
        for name, value in values.items():
            self.rows.setdefault(name, []).append(value)

    def trace(self, env: Any, controller: str, episode: int, seed: int) -> EpisodeTrace:
        exo, scenario = env.episode.exogenous, env.scenario
        n = len(self.rows["reward"])
        arrays = {name: np.array(values) for name, values in self.rows.items()}
        for name, width in (("t_indoor_c", env.episode.community.n_hp), ("ev_soc", env.episode.community.n_ev),
                            ("ev_plugged", env.episode.community.n_ev)):
            arrays[name] = arrays[name].reshape(n, width)
        return EpisodeTrace(
            controller=controller, episode=episode, seed=seed, start_day=_day(env),
            time_utc=exo.time_utc[:n], hour_local=np.asarray(exo.hour_local[:n]),
            t_ambient_c=np.asarray(exo.t_ambient_c[:n]), price_eur_per_kwh=np.asarray(exo.price_eur_per_kwh[:n]),
            v_band_pu=(scenario.v_min_pu, scenario.v_max_pu),
            comfort_band_c=(scenario.comfort.t_min_c, scenario.comfort.t_max_c),
            **arrays,
        )


def _day(env: Any) -> str:
    return pd.Timestamp(env.episode.start_day_local).strftime("%Y-%m-%d")


def _run_episode(
    env: Any, controller: Controller, seed: int, record: bool, on_step: Any = None
) -> tuple[dict[str, float], float, _Recorder | None]:
    """Play one episode; returns (episode KPIs, return, recorder). ``on_step(k, n)`` after step k of n."""
    obs, _ = env.reset(seed=seed)
    hook = getattr(controller, "reset", None)
    if callable(hook):
        hook(env)
    unwrapped = env.unwrapped
    acc = KPIAccumulator()
    recorder = _Recorder() if record else None
    state, episode_start = None, np.ones(1, dtype=bool)
    total = 0.0
    while True:
        action, state = controller.predict(obs, state=state, episode_start=episode_start, deterministic=True)
        episode_start = np.zeros(1, dtype=bool)
        obs, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        acc.add(info["kpi"])
        if recorder is not None:
            recorder.add(unwrapped, float(reward))
        if on_step is not None:
            on_step(unwrapped.step_index, unwrapped.simulator.n_steps)
        if terminated or truncated:
            break
    return acc.result(), total, recorder


class _Progress:
    """A tqdm bar if tqdm is installed, else one updating line on stderr; silent if disabled.

    Args:
        total: Episodes to run.
        enabled: Show anything at all.
        delay_s: Show nothing before this much time has passed (quick runs stay quiet).
    """

    def __init__(self, total: int, enabled: bool, delay_s: float = 0.0) -> None:
        self.total, self.enabled, self.done = total, enabled, 0
        self.delay_s, self._t0, self._last_step = delay_s, time.perf_counter(), 0.0
        self._bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm  # noqa: PLC0415 - optional

                self._bar = tqdm(total=total, desc="evaluate", unit="episode", file=sys.stderr, leave=False,
                                 delay=delay_s)
            except ImportError:
                self._bar = None

    def update(self, label: str) -> None:
        """One episode finished."""
        self.done += 1
        self._show(label, final=self.done == self.total)
        if self.enabled and self._bar is not None:
            self._bar.update(1)

    def step(self, label: str, k: int, n: int) -> None:
        """Step ``k`` of ``n`` of a running episode (throttled), so long episodes show movement."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._t0 >= self.delay_s and now - self._last_step >= _STEP_UPDATE_S:  # (refresh ignores delay)
            self._last_step = now
            self._show(f"{label}, step {k}/{n}", final=False)
            if self._bar is not None:
                self._bar.refresh()

    def _show(self, label: str, final: bool) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(label, refresh=False)
        elif time.perf_counter() - self._t0 >= self.delay_s:
            print(f"\revaluate: {self.done}/{self.total} episodes ({label})", end="\n" if final else "",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _shown(name: str) -> str:
    """A run's name in the progress bar (the score's hidden references as such)."""
    return f"score reference {name[len(_REF_PREFIX):]}" if name.startswith(_REF_PREFIX) else name


def _make_env(scenario: Scenario, env_kwargs: Mapping[str, Any]) -> Any:
    from thermogrid_env.envs.thermogrid_env import ThermoGridEnv  # noqa: PLC0415 - gymnasium only in envs

    return ThermoGridEnv(scenario=scenario, **env_kwargs)


@overload
def evaluate(
    controllers: Mapping[str, ControllerSpec], scenario: str | Scenario = ..., episodes: int = ..., seed: int = ...,
    progress: bool | None = ..., record: Literal[False] = ..., env_kwargs: Mapping[str, Any] | None = ...,
    jobs: int = ..., score: bool = ...,
) -> pd.DataFrame: ...


@overload
def evaluate(
    controllers: Mapping[str, ControllerSpec], scenario: str | Scenario = ..., episodes: int = ..., seed: int = ...,
    progress: bool | None = ..., *, record: Literal[True], env_kwargs: Mapping[str, Any] | None = ...,
    jobs: int = ..., score: bool = ...,
) -> tuple[pd.DataFrame, Traces]: ...


def evaluate(
    controllers: Mapping[str, ControllerSpec],
    scenario: str | Scenario = "winter-high-der",
    episodes: int = 1,
    seed: int = 0,
    progress: bool | None = None,
    record: bool = False,
    env_kwargs: Mapping[str, Any] | None = None,
    jobs: int = 1,
    score: bool = True,
) -> pd.DataFrame | tuple[pd.DataFrame, Traces]:
    """Run every controller on the same episodes and return one KPI row per controller x episode.

    Args:
        controllers: Name -> controller, or a zero-argument factory (e.g. a class). A factory is
            called once per evaluation; the controller's optional ``reset(env)`` hook runs after
            every ``env.reset``.
        scenario: Preset name or :class:`~thermogrid_env.config.Scenario`.
        episodes: Episodes per controller; episode ``i`` uses ``reset(seed=seed + i)``.
        seed: Seed of the first episode.
        progress: Show progress on stderr (tqdm if installed, else a plain line): episodes done and
            the step of the running episode (serial runs). ``None`` (default): on a terminal, once
            the evaluation has taken :data:`PROGRESS_DELAY_S` (quick runs stay quiet).
        record: Also return the per-step time series (:class:`EpisodeTrace`) of every run.
        env_kwargs: Further keyword arguments of the environment (e.g. ``forecaster``).
        jobs: Worker processes. With ``jobs > 1`` every (controller, episode) run is played in its
            own fresh environment by a pool of ``jobs`` processes, on a copy of the controller (or
            of its factory) sent there by pickling, so controllers, factories and ``env_kwargs``
            must be picklable (module-level classes and functions are). The table is the same as
            with ``jobs=1`` (except ``wall_s``) for controllers that keep no state from one episode
            to the next. Pays off when episodes take seconds (e.g. the oracle); each worker first
            spends ~1-2 s importing the package. Workers are started with ``spawn`` (a fresh
            interpreter), which imports the calling script again: call ``evaluate`` under
            ``if __name__ == "__main__":`` in scripts.
        score: Add the normalised score ``100 · (R − R_uncontrolled) / (R_oracle − R_uncontrolled)``
            of every run, against the registered ``uncontrolled`` and ``oracle`` controllers on the
            same episodes (uncontrolled 0, oracle 100). Their returns are taken from this table when
            it runs them under those names with their defaults, else computed (and kept for the
            process); the oracle needs the ``[opf]`` extra (without it the score is NaN, with a
            warning). The oracle maximises the scored return, so a score above 100 is possible only
            within the documented tolerance of its aging surrogate and the solver's (about 1e-3
            points on the presets); more would be a bug. The mean row holds the mean of the
            episodes' scores.

    Returns:
        The KPI table: columns ``controller, episode, seed, start_day, return, score``, every KPI of
        :data:`~thermogrid_env.sim.kpi.KPI_UNITS` (units in ``df.attrs["units"]``), ``n_steps``
        and ``wall_s``; after each controller's episodes a row with ``episode == "mean"`` holding
        the means over its episodes. With ``record=True``: ``(table, traces)`` where ``traces``
        maps each controller name to its :class:`EpisodeTrace` list (episode order).

    Raises:
        ConfigError: Unknown scenario.
        TypeError: A controller is neither a controller nor a factory of one; with ``jobs > 1``,
            a controller, factory or ``env_kwargs`` that cannot be pickled.
        ValueError: ``episodes < 1``, no controllers or ``jobs < 1``.
        RuntimeError: With ``jobs > 1``, a worker process died (e.g. a script without the main guard).
    """
    if episodes < 1 or not controllers:
        raise ValueError(
            f"evaluate needs at least one controller and one episode (got {len(controllers)}, {episodes})."
        )
    if not (isinstance(jobs, (int, np.integer)) and jobs >= 1):
        raise ValueError(f"evaluate: jobs must be an integer >= 1, got {jobs!r}.")
    scen = get_scenario(scenario)
    on_terminal = bool(getattr(sys.stderr, "isatty", lambda: False)())
    show = progress if progress is not None else on_terminal
    seeds = [seed + i for i in range(episodes)]
    hidden = _reference_runs(controllers, scen, seeds) if score else {}
    # the references act in physical power set-points: their runs drop a set-point action mode
    # (observation options do not change their returns)
    ref_kwargs = {k: v for k, v in dict(env_kwargs or {}).items() if k != "action_mode"}
    groups = [(dict(controllers), dict(env_kwargs or {}))] + ([(hidden, ref_kwargs)] if hidden else [])
    bar = _Progress((len(controllers) + len(hidden)) * episodes, bool(show),
                    delay_s=PROGRESS_DELAY_S if progress is None else 0.0)
    rows: list[dict[str, Any]] = []
    traces: Traces = {}
    try:
        for runs_of, kwargs in groups:
            if jobs > 1 and len(runs_of) * episodes > 1:
                _evaluate_parallel(runs_of, scen, episodes, seed, record, kwargs, jobs, bar, rows, traces)
            else:
                _evaluate_serial(runs_of, scen, episodes, seed, record, kwargs, bar, rows, traces)
    finally:
        bar.close()
    if score:
        _add_scores(rows, controllers, scen, seeds)
    rows = [r for r in rows if not str(r["controller"]).startswith(_REF_PREFIX)]
    for name in hidden:
        traces.pop(name, None)
    table = pd.DataFrame(rows, columns=[*ID_COLUMNS, *KPI_UNITS, "n_steps", "wall_s"])
    table["seed"] = table["seed"].astype("Int64")
    table.attrs["units"] = dict(KPI_UNITS)
    table.attrs["scenario"] = scen.name
    return (table, traces) if record else table


def _play(env: Any, controller: Controller, name: str, episode: int, seed: int,
          record: bool, on_step: Any = None) -> tuple[dict[str, Any], EpisodeTrace | None]:
    """One episode of one controller: its KPI row and, if recorded, its trace."""
    t0 = time.perf_counter()
    kpis, ret, recorder = _run_episode(env, controller, seed, record, on_step)
    row = {"controller": name, "episode": episode, "seed": seed, "start_day": _day(env.unwrapped),
           "return": ret, **kpis, "n_steps": env.unwrapped.step_index, "wall_s": time.perf_counter() - t0}
    return row, (recorder.trace(env.unwrapped, name, episode, seed) if recorder is not None else None)


def _evaluate_serial(controllers: Mapping[str, ControllerSpec], scenario: Scenario, episodes: int, seed: int,
                     record: bool, env_kwargs: dict[str, Any], bar: _Progress, rows: list[dict[str, Any]],
                     traces: Traces) -> None:
    """Each controller (one instance, one environment) on its episodes in turn."""
    for name, spec in controllers.items():
        controller = resolve_controller(spec)
        env = _make_env(scenario, env_kwargs)
        own_rows = []
        try:
            for i in range(episodes):
                label = f"{_shown(name)} {i + 1}/{episodes}"
                on_step = (lambda k, n, label=label: bar.step(label, k, n)) if bar.enabled else None
                row, trace = _play(env, controller, name, i, seed + i, record, on_step=on_step)
                own_rows.append(row)
                if trace is not None:
                    traces.setdefault(name, []).append(trace)
                bar.update(label)
        finally:
            env.close()
        rows.extend(own_rows)
        rows.append(_mean_row(name, own_rows))


def _play_one(name: str, spec: Any, scenario: Scenario, env_kwargs: dict[str, Any], episode: int, seed: int,
              record: bool) -> tuple[dict[str, Any], EpisodeTrace | None]:
    """One controller on one episode in a fresh environment (the unit of work of ``jobs > 1``)."""
    env = _make_env(scenario, env_kwargs)
    try:
        return _play(env, resolve_controller(spec), name, episode, seed, record)
    finally:
        env.close()


def _evaluate_parallel(controllers: Mapping[str, ControllerSpec], scenario: Scenario, episodes: int, seed: int,
                       record: bool, env_kwargs: dict[str, Any], jobs: int, bar: _Progress,
                       rows: list[dict[str, Any]], traces: Traces) -> None:
    """Every (controller, episode) run on a process pool; rows and traces in the serial order."""
    for name, spec in controllers.items():
        for what, obj in ((f"controller {name!r}", spec), ("env_kwargs", env_kwargs)):
            try:
                pickle.dumps(obj)
            except Exception as exc:  # noqa: BLE001 - any pickling failure means the same to the user
                raise TypeError(
                    f"evaluate(jobs={jobs}) sends {what} to worker processes by pickling, which failed "
                    f"({type(exc).__name__}: {exc}). Pass a module-level class or function, or use jobs=1."
                ) from exc
    tasks = [(name, spec, i) for name, spec in controllers.items() for i in range(episodes)]
    results: dict[tuple[str, int], tuple[dict[str, Any], EpisodeTrace | None]] = {}
    # "spawn": workers start from a clean interpreter (no forked solver or BLAS threads); they ignore
    # Ctrl-C, which the parent handles: on any exception the queued runs are cancelled at once.
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN))
    try:
        futures = {pool.submit(_play_one, name, spec, scenario, env_kwargs, i, seed + i, record): (name, i)
                   for name, spec, i in tasks}
        for future in as_completed(futures):
            name, i = futures[future]
            results[(name, i)] = future.result()
            bar.update(f"{_shown(name)} {i + 1}/{episodes}")
    except BrokenProcessPool as exc:
        pool.shutdown(wait=False, cancel_futures=True)
        raise RuntimeError(
            f"evaluate(jobs={jobs}): a worker process died before finishing (its error is printed above). "
            "Workers start a fresh interpreter ('spawn') that imports the main module again, so a script "
            "must call evaluate under `if __name__ == \"__main__\":`; or use jobs=1."
        ) from exc
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    for name in controllers:
        own_rows = [results[(name, i)][0] for i in range(episodes)]
        rows.extend(own_rows)
        rows.append(_mean_row(name, own_rows))
        if record:
            traces[name] = [results[(name, i)][1] for i in range(episodes)]


def _registered(name: str) -> Any:
    """The factory registered under a controller name (entry point, else a reference's in-tree target)."""
    from importlib import import_module  # noqa: PLC0415
    from importlib.metadata import entry_points  # noqa: PLC0415

    points = {ep.name: ep.value for ep in entry_points(group="thermogrid.controllers")}
    target = points.get(name, SCORE_REFERENCES.get(name))
    if target is None:
        raise ConfigError(f"no controller named {name!r} is installed; installed: {', '.join(sorted(points))} "
                          "(thermogrid list controllers).")
    module, _, attr = target.partition(":")
    obj: Any = import_module(module.strip())
    for part in attr.strip().split("."):
        obj = getattr(obj, part)
    return obj


def _is_default_reference(name: str, spec: Any) -> bool:
    """Whether ``spec`` run under ``name`` is the registered reference with its defaults."""
    if name not in SCORE_REFERENCES:
        return False
    if isinstance(spec, str):
        return spec == name
    try:
        return spec is _registered(name)
    except Exception:  # noqa: BLE001 - an extra missing: not the reference
        return False


def _reference_runs(controllers: Mapping[str, Any], scenario: Scenario, seeds: list[int]) -> dict[str, Any]:
    """The reference controllers to run for the score (not already in the table or known)."""
    import warnings  # noqa: PLC0415

    out: dict[str, Any] = {}
    for ref in SCORE_REFERENCES:
        if ref in controllers and _is_default_reference(ref, controllers[ref]):
            continue
        if all((scenario, s, ref) in _REFERENCE_RETURNS for s in seeds):
            continue
        try:
            factory = _registered(ref)
            if ref == "oracle":
                import_optional("cvxpy", "opf")
        except ImportError as exc:
            warnings.warn(f"evaluate: no score (the reference {ref!r} cannot run: {exc}). Install the [opf] "
                          "extra or pass score=False.", RuntimeWarning, stacklevel=3)
            continue
        out[_REF_PREFIX + ref] = factory
    return out


def _add_scores(rows: list[dict[str, Any]], controllers: Mapping[str, Any], scenario: Scenario,
                seeds: list[int]) -> None:
    """Fill ``score`` of every row from the references' returns on the same seeds."""
    for r in rows:  # remember every reference return seen in this run
        name = str(r["controller"])
        ref = name[len(_REF_PREFIX):] if name.startswith(_REF_PREFIX) else name
        if r["episode"] != "mean" and ref in SCORE_REFERENCES and (
                name.startswith(_REF_PREFIX) or _is_default_reference(name, controllers.get(name))):
            _REFERENCE_RETURNS[(scenario, int(r["seed"]), ref)] = float(r["return"])
    by_name: dict[str, list[float]] = {}
    for r in rows:
        if r["episode"] == "mean":
            scores = by_name.get(str(r["controller"]), [])
            r["score"] = float(np.mean(scores)) if scores else float("nan")
            continue
        ru = _REFERENCE_RETURNS.get((scenario, int(r["seed"]), "uncontrolled"))
        ro = _REFERENCE_RETURNS.get((scenario, int(r["seed"]), "oracle"))
        value = float("nan")
        if ru is not None and ro is not None and abs(ro - ru) > 1e-9:
            value = 100.0 * (float(r["return"]) - ru) / (ro - ru)
        r["score"] = value
        by_name.setdefault(str(r["controller"]), []).append(value)


def _mean_row(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    numeric = ["return", *KPI_UNITS, "n_steps", "wall_s"]
    mean = {col: float(np.mean([r[col] for r in rows])) for col in numeric}
    return {"controller": name, "episode": "mean", "seed": None, "start_day": None, **mean}
