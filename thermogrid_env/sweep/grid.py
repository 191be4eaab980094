"""The cells of a sweep: which (scenario, day or seed, controller) runs, and how one cell is played.

A *cell* is one controller on one episode of one scenario. Its identity (:attr:`Cell.key`) is
``(scenario, day, seed, controller)``:

* **seed mode** (no ``days``): ``day`` is ``None`` and episode ``k`` uses ``seed = S + k`` and
  ``env.reset(seed=seed)`` on the scenario as it is, so the start day is drawn from its season
  (noon to noon by default), exactly as :func:`thermogrid_env.evaluate` does;
* **day mode** (``days``): every calendar day of the range is played *midnight to midnight*
  local time (``start_hour_local=0``: an episode must end inside 2016, and a noon-to-noon
  episode starting on 31 December would not), with ``start_date=day``. Episode ``k`` of a day has
  ``seed = S + k``; the community (houses, devices) is drawn once from ``community_seed = seed``
  and is the same on every day, the EV sessions of the day come from
  ``env.reset(seed=1000 * seed + day_of_year)`` (day of year 0..365), so they differ from day to
  day. Every day starts from the scenario's initial state (houses at ``t_initial_c``, transformer
  in steady state): the year is 366 independent days.

:func:`run_cell` is the unit of work of a Ray task: it plays one cell in a fresh environment with
:func:`thermogrid_env.evaluate` (``score=False``) and returns the cell's row; an exception is
caught and returned as a row with ``status="failed"`` and the error text. Nothing here imports
ray or pyarrow.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Union

import pandas as pd

from thermogrid_env.config import PRESETS, Scenario, get_scenario
from thermogrid_env.errors import ConfigError
from thermogrid_env.sim.kpi import KPI_UNITS

__all__ = ["CONTROLLER_GROUP", "Cell", "ControllerRef", "THREAD_ENV", "YEAR", "cell_scenario", "check_scenarios",
           "controller_targets", "failed_row", "load_target", "parse_days", "plan_cells", "noop_cell", "run_cell", "warm_up"]

#: The shipped year: every day of a day-mode sweep lies in it.
YEAR = 2016
#: Entry-point group of controller factories (as the CLI and ``baselines.registry``).
CONTROLLER_GROUP = "thermogrid.controllers"
#: Local start hour of day-mode episodes (midnight to midnight, so 31 December ends inside 2016).
DAY_START_HOUR_LOCAL = 0
#: ``reset`` seed of a day-mode cell: ``DAY_SEED_STRIDE * seed + day_of_year``.
DAY_SEED_STRIDE = 1000
#: Thread caps of a worker process: one cell uses one core (BLAS, OpenMP, Rayon for Clarabel's
#: faer path, numba), so W workers use W cores.
THREAD_ENV: dict[str, str] = {name: "1" for name in (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS", "RAYON_NUM_THREADS", "NUMBA_NUM_THREADS")}

#: A controller as a sweep takes it: an entry-point target ``"module:attr"`` (imported in the
#: worker) or a zero-argument factory (sent to the worker by cloudpickle).
ControllerRef = Union[str, Callable[[], Any]]


@dataclass(frozen=True)
class Cell:
    """One controller on one episode of one scenario.

    Attributes:
        scenario: Scenario name (a preset key, or the ``name`` of a :class:`Scenario` given).
        day: Local calendar day ``YYYY-MM-DD`` (day mode), or ``None`` (seed mode).
        seed: The episode's seed (``S + k``); in day mode also the community seed.
        controller: Controller name.
    """

    scenario: str
    day: str | None
    seed: int
    controller: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        """Identity in the dataset: ``(scenario, day or "", seed, controller)``."""
        return (self.scenario, self.day or "", int(self.seed), self.controller)

    @property
    def reset_seed(self) -> int:
        """The seed of ``env.reset``: ``seed`` (seed mode) or ``1000 * seed + day_of_year`` (day mode)."""
        if self.day is None:
            return int(self.seed)
        return DAY_SEED_STRIDE * int(self.seed) + int(pd.Timestamp(self.day).dayofyear) - 1


def parse_days(text: str) -> list[str]:
    """Every day of ``START:END`` (inclusive; ``START`` alone is one day), within 2016.

    Raises:
        ConfigError: Not ``YYYY-MM-DD[:YYYY-MM-DD]``, outside 2016, or ``END`` before ``START``.
    """
    parts = [p.strip() for p in str(text).split(":")]
    if len(parts) not in (1, 2) or not all(parts):
        raise ConfigError(f"--days must be START:END or a single day, e.g. 2016-01-01:2016-12-31, got {text!r}")
    try:
        first, last = (pd.Timestamp(p) for p in (parts[0], parts[-1]))
    except (ValueError, TypeError):
        raise ConfigError(f"--days {text!r}: not a date range; use YYYY-MM-DD:YYYY-MM-DD") from None
    if first != first.normalize() or last != last.normalize():
        raise ConfigError(f"--days {text!r}: give whole days (YYYY-MM-DD), without a time of day")
    if first.year != YEAR or last.year != YEAR:
        raise ConfigError(f"--days {text!r}: days must lie in {YEAR} (the shipped year), "
                          f"e.g. {YEAR}-01-01:{YEAR}-12-31")
    if last < first:
        raise ConfigError(f"--days {text!r}: the end is before the start")
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(first, last, freq="D")]


def _scenario_name(scenario: str | Scenario) -> str:
    return scenario.name if isinstance(scenario, Scenario) else str(scenario)


def check_scenarios(scenarios: Sequence[str | Scenario]) -> dict[str, str | Scenario]:
    """Scenarios by name; preset names must exist.

    Raises:
        ConfigError: None given, an unknown preset or a name given twice.
    """
    if not scenarios:
        raise ConfigError("a sweep needs at least one scenario")
    out: dict[str, str | Scenario] = {}
    for scenario in scenarios:
        name = _scenario_name(scenario)
        if not isinstance(scenario, Scenario) and name not in PRESETS:
            raise ConfigError(f"unknown scenario {name!r}; choose from {', '.join(PRESETS)}")
        if name in out:
            raise ConfigError(f"scenario {name!r} is given twice")
        out[name] = scenario
    return out


def controller_targets(controllers: Sequence[str] | Mapping[str, ControllerRef]) -> dict[str, ControllerRef]:
    """What each worker loads per controller name.

    Names are looked up in the entry-point group ``thermogrid.controllers`` and kept as their
    ``"module:attr"`` target, imported in the worker (the driver stays light and nothing here
    imports ``baselines``). A mapping may also give factories (e.g. ``baselines.registry.get_factory(
    name)`` for a controller registered in this process): Ray sends them by cloudpickle.

    Raises:
        ConfigError: None given, or an unknown name (the message lists the installed ones).
    """
    if not controllers:
        raise ConfigError("a sweep needs at least one controller")
    given: dict[str, Any] = dict(controllers) if isinstance(controllers, Mapping) else {n: None for n in controllers}
    if not isinstance(controllers, Mapping) and len(given) != len(controllers):
        raise ConfigError(f"a controller is listed twice: {', '.join(controllers)}")
    installed = {ep.name: ep.value for ep in entry_points(group=CONTROLLER_GROUP)}
    out: dict[str, ControllerRef] = {}
    for name, ref in given.items():
        if ref is None or (isinstance(ref, str) and ref == name):
            if name not in installed:
                raise ConfigError(f"unknown controller {name!r}; available: {', '.join(sorted(installed)) or '(none)'}")
            ref = installed[name]
        elif not (isinstance(ref, str) or callable(ref)):
            raise ConfigError(f"controller {name!r}: give an entry-point target 'module:attr' or a factory, "
                              f"got {type(ref).__name__}")
        out[str(name)] = ref
    return out


def plan_cells(scenarios: Sequence[str], controllers: Sequence[str], *, episodes: int = 1, seed: int = 0,
               days: Sequence[str] | None = None) -> list[Cell]:
    """Every cell of the grid, day (or seed) major: all controllers of a day are adjacent.

    Args:
        scenarios: Scenario names.
        controllers: Controller names.
        episodes: Episodes per scenario (seed mode) or per day (day mode), >= 1.
        seed: Seed of the first episode, >= 0.
        days: Calendar days (day mode, :func:`parse_days`) or ``None`` (seed mode).

    Raises:
        ConfigError: ``episodes < 1`` or ``seed < 0``.
    """
    if episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {episodes}")
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    seeds = range(seed, seed + episodes)
    episodes_of = [(d, s) for d in days for s in seeds] if days is not None else [(None, s) for s in seeds]
    return [Cell(sc, d, s, c) for sc in scenarios for d, s in episodes_of for c in controllers]


def cell_scenario(cell: Cell, scenario: str | Scenario) -> Scenario:
    """The scenario a cell plays: as given (seed mode) or on its day, midnight to midnight (day mode)."""
    if cell.day is None:
        return get_scenario(scenario)
    return get_scenario(scenario, start_date=cell.day, start_hour_local=DAY_START_HOUR_LOCAL,
                        community_seed=int(cell.seed))


def load_target(ref: ControllerRef) -> Callable[[], Any]:
    """The factory of a :data:`ControllerRef` (imports ``module:attr`` targets)."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    obj: Any = import_module(module.strip())
    for part in filter(None, attr.strip().split(".")):
        obj = getattr(obj, part)
    return obj


def _error_text(exc: BaseException) -> str:
    """``Type: message`` and where it was raised (last frame), on one or a few lines."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {os.path.basename(where[0].filename)}:{where[0].lineno} in {where[0].name})" if where else ""
    return f"{type(exc).__name__}: {exc}{at}"


def _identity(cell: Cell, scenario: str | Scenario) -> dict[str, Any]:
    row: dict[str, Any] = {"scenario": cell.scenario, "day": cell.day, "seed": int(cell.seed),
                           "controller": cell.controller, "reset_seed": cell.reset_seed}
    if cell.day is not None:
        row.update(community_seed=int(cell.seed), start_hour_local=DAY_START_HOUR_LOCAL)
    elif isinstance(scenario, Scenario) or scenario in PRESETS:
        base = get_scenario(scenario)
        row.update(community_seed=base.community_seed, start_hour_local=base.start_hour_local)
    return row


def failed_row(cell: Cell, scenario: str | Scenario, error: str, wall_s: float = float("nan"),
               worker: str = "") -> dict[str, Any]:
    """The row of a cell that did not finish (status ``failed``)."""
    return {**_identity(cell, scenario), "status": "failed", "error": error, "wall_s": wall_s, "worker": worker,
            "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def run_cell(cell: Cell, scenario: str | Scenario, controller: ControllerRef) -> dict[str, Any]:
    """Play one cell in a fresh environment and return its row (never raises for a cell's error).

    Args:
        cell: The cell.
        scenario: Its scenario: a preset name or a :class:`Scenario`.
        controller: Its controller (:data:`ControllerRef`).

    Returns:
        ``scenario, day, seed, controller, reset_seed, community_seed, start_hour_local, status``
        (``"ok"``/``"failed"``), ``error`` (``""`` if ok), ``start_day`` (the local day played),
        ``return``, every KPI of :data:`~thermogrid_env.sim.kpi.KPI_UNITS`, ``n_steps``, ``wall_s``
        (this cell in the worker, environment creation included), ``worker`` (host:pid) and
        ``finished_utc``.
    """
    from thermogrid_env.evaluation import evaluate  # noqa: PLC0415 - the worker's import is cached

    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        row = _identity(cell, scenario)
        table = evaluate({cell.controller: load_target(controller)}, cell_scenario(cell, scenario), episodes=1,
                         seed=cell.reset_seed, progress=False, score=False)
        first = table.iloc[0]
        row.update(status="ok", error="", start_day=str(first["start_day"]), **{"return": float(first["return"])})
        row.update({kpi: float(first[kpi]) for kpi in KPI_UNITS if kpi in table.columns})
        row["n_steps"] = int(first["n_steps"])
    except Exception as exc:  # noqa: BLE001 - a cell's failure is data, not a crash of the sweep
        return failed_row(cell, scenario, _error_text(exc), time.perf_counter() - t0, worker)
    row.update(wall_s=time.perf_counter() - t0, worker=worker,
               finished_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return row


def warm_up(targets: Sequence[ControllerRef] = (), hold_s: float = 0.0) -> int:
    """Import the package and the controllers' modules in a worker, then wait ``hold_s`` seconds (so
    that tasks submitted together land on different workers); returns the pid (benchmarks)."""
    import thermogrid_env.envs.thermogrid_env  # noqa: F401, PLC0415
    import thermogrid_env.evaluation  # noqa: F401, PLC0415

    for ref in targets:
        load_target(ref)
    time.sleep(hold_s)
    return os.getpid()


def noop_cell(cell: Cell) -> dict[str, Any]:
    """A trivial cell: its row's identity only (benchmarks: Ray's overhead per cell)."""
    return {"scenario": cell.scenario, "day": cell.day, "seed": cell.seed, "controller": cell.controller}

