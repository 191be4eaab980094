"""The sweep's driver: plan the cells, skip the finished ones, run the rest on Ray, append the rows.

The driver only plans, submits and writes: each cell is a Ray task (:func:`~.grid.run_cell`, one
CPU) that plays it in a fresh environment in a worker process; workers are reused, so a worker
imports the package and the controllers once. At most ``2 x workers`` cells are in flight, so an
interruption loses at most the running cells and the driver holds little. Finished rows are
written as soon as they arrive, at most one file per ``flush_s`` seconds (default 1 s), each a
complete Parquet file (:mod:`.store`). Ctrl-C or SIGTERM writes what has finished, stops Ray (the
running cells are lost) and raises :class:`KeyboardInterrupt`; a SIGKILL loses the running cells
and at most the last ``flush_s`` seconds of finished ones.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from thermogrid_env.config import Scenario
from thermogrid_env.errors import ConfigError, import_optional
from thermogrid_env.sweep import store
from thermogrid_env.sweep.grid import (
    THREAD_ENV,
    Cell,
    ControllerRef,
    check_scenarios,
    controller_targets,
    failed_row,
    parse_days,
    plan_cells,
    run_cell,
)

__all__ = ["SweepSummary", "ray_session", "run_sweep"]

#: Environment of a local Ray's processes besides :data:`~.grid.THREAD_ENV`: workers at the
#: driver's priority (Ray's default niceness 15 lets any other job on the machine go first; a
#: sweep is the job you asked for, like ``thermogrid compare --jobs``). A cluster is left as it is.
LOCAL_RAY_ENV: dict[str, str] = {"RAY_worker_niceness": "0"}
#: Cells in flight per worker (bounds the driver's queue and what an interruption loses).
IN_FLIGHT_PER_WORKER = 2


@dataclass
class SweepSummary:
    """What a run did.

    Attributes:
        out: The dataset directory.
        planned: Cells of the grid.
        already_done: Cells found with status ``ok`` (not run again).
        ran: Cells run now; ``failed``: of which failed.
        wall_s: Wall time of the run [s] (Ray start included); ``run_s``: from the first
            submission to the last result [s].
        workers: Ray CPUs used.
        run_id: Identifier of the run (in the rows' ``run_id`` and in ``_sweep.json``).
    """

    out: Path
    planned: int
    already_done: int
    ran: int = 0
    failed: int = 0
    wall_s: float = 0.0
    run_s: float = 0.0
    workers: int = 0
    run_id: str = ""
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for the terminal."""
        rate = f", {self.ran / self.run_s:.2f} cells/s" if self.ran and self.run_s > 0 else ""
        if not self.ran:
            return (f"sweep {self.out}: {self.planned} cells planned, all {self.already_done} already done; "
                    "nothing to run")
        return (f"sweep {self.out}: {self.planned} cells planned, {self.already_done} already done, ran {self.ran} "
                f"({self.ran - self.failed} ok, {self.failed} failed) in {self.wall_s:.1f} s on {self.workers} "
                f"worker(s){rate}")


class _Bar:
    """A tqdm bar on stderr (or nothing)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar = None
        if enabled and total:
            tqdm = import_optional("tqdm", "scale").tqdm
            self._bar = tqdm(total=total, desc="sweep", unit="cell", file=sys.stderr, dynamic_ncols=True)

    def update(self, n: int, failed: int) -> None:
        if self._bar is not None:
            if failed:
                self._bar.set_postfix_str(f"{failed} failed", refresh=False)
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the main thread (so ``kill`` keeps the finished cells)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def ray_session(workers: int | None, address: str | None) -> Iterator[tuple[Any, int]]:
    """Ray, started locally with ``workers`` CPUs, joined at ``address``, or the one running already.

    Yields ``(ray, cpus)``; stops Ray at the end if it started or joined it here.
    """
    ray = import_optional("ray", "scale")
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR,
                                  "log_to_driver": False, "configure_logging": True}
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if address:  # a cluster as it is; only this job's workers get the thread caps
            ray.init(address=address, runtime_env={"env_vars": dict(THREAD_ENV)}, **kwargs)
        else:  # a local Ray: its processes inherit the caps from the environment at start
            local_env = {**THREAD_ENV, **LOCAL_RAY_ENV}
            saved = {k: os.environ.get(k) for k in local_env}
            os.environ.update(local_env)
            try:
                ray.init(num_cpus=workers or os.cpu_count() or 1, **kwargs)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        started = True
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        if workers and (address or not started):  # a cluster: --workers bounds the cells in flight
            cpus = min(cpus, workers)
        yield ray, cpus
    finally:
        if started:
            ray.shutdown()


def _run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{os.getpid()}"


def run_sweep(
    out: str | Path,
    scenarios: Sequence[str | Scenario],
    controllers: Sequence[str] | Mapping[str, ControllerRef],
    *,
    episodes: int = 1,
    seed: int = 0,
    days: str | Sequence[str] | None = None,
    workers: int | None = None,
    address: str | None = None,
    progress: bool = False,
    flush_s: float = 1.0,
    command: str = "",
) -> SweepSummary:
    """Run the cells of a scenario x day (or seed) x controller grid not yet in ``out`` on Ray.

    Args:
        out: Dataset directory (created; an existing sweep directory is resumed).
        scenarios: Preset names, or :class:`Scenario` objects (keyed by their ``name``).
        controllers: Names (entry points of ``thermogrid.controllers``), or name -> entry-point
            target ``"module:attr"`` or zero-argument factory (sent to the workers by cloudpickle).
        episodes: Episodes per scenario (seed mode) or per day (day mode).
        seed: Seed of the first episode (see :mod:`thermogrid_env.sweep.grid`).
        days: ``"START:END"`` or a list of ``YYYY-MM-DD`` days of 2016 (day mode; midnight to
            midnight), or ``None`` (seed mode).
        workers: CPUs of the local Ray (default: all cores); with ``address`` or a Ray already
            initialised, the most cells run at once (default: the cluster's CPUs).
        address: Address of a running Ray cluster to join (e.g. ``"ray://head:10001"`` or ``"auto"``).
        progress: A tqdm bar on stderr.
        flush_s: Least seconds between two written batches.
        command: The command line, for ``_sweep.json``.

    Returns:
        A :class:`SweepSummary`.

    Raises:
        ConfigError: Invalid arguments or ``out``.
        MissingExtraError: ray, pyarrow (or tqdm with ``progress``) are missing (extra ``[scale]``).
        ThermoGridError: Another run holds ``out``.
        KeyboardInterrupt: Ctrl-C or SIGTERM, after the finished cells were written.
    """
    t_start = time.perf_counter()
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    day_list = parse_days(days) if isinstance(days, str) else (list(days) if days is not None else None)
    by_name = check_scenarios(scenarios)
    targets = controller_targets(controllers)
    cells = plan_cells(list(by_name), list(targets), episodes=episodes, seed=seed, days=day_list)
    import_optional("pyarrow", "scale")
    path = store.check_sweep_dir(out)
    run_id = _run_id()
    with store.locked(path):
        store.compact(path, run_id + "-start")
        done = store.done_keys(store.read_cells(path))
        todo = [c for c in cells if c.key not in done]
        summary = SweepSummary(out=path, planned=len(cells), already_done=len(cells) - len(todo), run_id=run_id)
        run = {"run_id": run_id, "command": command, "started_utc": _utc(), "planned": len(cells),
               "already_done": summary.already_done, "to_run": len(todo), "address": address, "workers": workers}
        store.record_run(path, run)
        if todo:
            try:
                _execute(path, todo, by_name, targets, summary, workers, address, progress, flush_s)
            finally:
                store.compact(path, run_id)
                summary.wall_s = time.perf_counter() - t_start
                store.record_run(path, {**run, "finished_utc": _utc(), "ran": summary.ran, "failed": summary.failed,
                                        "workers": summary.workers, "wall_s": round(summary.wall_s, 3)})
    summary.wall_s = time.perf_counter() - t_start
    return summary


def _utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _execute(path: Path, todo: list[Cell], scenarios: Mapping[str, str | Scenario],
             targets: Mapping[str, ControllerRef], summary: SweepSummary, workers: int | None,
             address: str | None, progress: bool, flush_s: float) -> None:
    """Submit ``todo`` to Ray with a bounded window and write rows in batches as they finish."""
    bar = _Bar(len(todo), progress)
    buffer: list[dict[str, Any]] = []
    batch = 0
    last_write = time.monotonic()

    def flush() -> None:
        nonlocal batch, last_write
        if buffer:
            store.write_batch(path, buffer, summary.run_id, batch)
            batch += 1
            buffer.clear()
        last_write = time.monotonic()

    try:
        # SIGTERM handler after ray.init, which installs its own
        with ray_session(workers, address) as (ray, cpus), _sigterm_as_interrupt():
            summary.workers = cpus
            task = ray.remote(num_cpus=1, max_retries=1)(run_cell)
            pending: dict[Any, Cell] = {}
            queue = iter(todo)
            window = IN_FLIGHT_PER_WORKER * cpus
            t_first = time.perf_counter()
            try:
                while True:
                    for cell in queue:
                        pending[task.remote(cell, scenarios[cell.scenario], targets[cell.controller])] = cell
                        if len(pending) >= window:
                            break
                    if not pending:
                        break
                    # a short timeout: signals (Ctrl-C, SIGTERM) are handled between waits
                    timeout = max(0.05, flush_s - (time.monotonic() - last_write)) if buffer else 1.0
                    ready, _ = ray.wait(list(pending), num_returns=1, timeout=min(timeout, 1.0))
                    if ready:  # everything finished by now, not just the first
                        ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
                    for ref in ready:
                        buffer.append(_result(ray, ref, pending.pop(ref), scenarios, summary))
                    summary.ran += len(ready)
                    bar.update(len(ready), summary.failed)
                    if buffer and time.monotonic() - last_write >= flush_s:
                        flush()
                summary.run_s = time.perf_counter() - t_first
            finally:
                flush()  # also what finished before an interruption or error, before Ray stops
    finally:
        bar.close()


def _result(ray: Any, ref: Any, cell: Cell, scenarios: Mapping[str, str | Scenario],
            summary: SweepSummary) -> dict[str, Any]:
    """The row of a finished task (a task whose worker died, twice, is a failed cell)."""
    try:
        row = ray.get(ref)
    except Exception as exc:  # noqa: BLE001 - e.g. WorkerCrashedError, OutOfMemoryError
        lines = str(exc).strip().splitlines()
        row = failed_row(cell, scenarios[cell.scenario], f"{type(exc).__name__}: {lines[-1] if lines else ''}")
    if row.get("status") != "ok":
        summary.failed += 1
        summary.failures.append(f"{'/'.join(map(str, cell.key))}: {row.get('error')}")
    return row
