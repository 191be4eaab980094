"""Sweeps on Ray: throughput and parallel efficiency, Ray's overhead per cell, seconds per cell of
each controller on each preset, and a projection of a year study on a cluster.

1. **Seconds per cell** (in-process, :func:`thermogrid_env.sweep.grid.run_cell`, what one Ray task
   does; environment creation included): uncontrolled, rule_based, oracle and mpc on every preset,
   on ``--days`` calendar days (midnight to midnight), after an untimed warm-up of each controller;
   the median over the days.
2. **Ray's overhead per cell**: Ray start and stop; ``--trivial`` no-op tasks on one warm worker
   (round trip per task); the same ``--same-work`` rule_based cells in-process and as Ray tasks on
   one warm worker (``(T_ray - T_in-process) / n``).
3. **Throughput and parallel efficiency**: ``--oracle-cells`` oracle cells of the default feeder
   (winter-high-der, consecutive days from 2016-01-04) run by :func:`thermogrid_env.sweep.run_sweep`
   into a fresh directory on a local Ray of 1 and of 2 warm workers (imports and a small oracle
   solve done before timing): cells/s and efficiency ``rate(2) / (2 rate(1))``.
4. **Projection** (on paper) of the study "every day of 2016 x presets x {uncontrolled, rule_based,
   oracle}" on K = 16, 64, 256 workers: ``wall = cell-seconds / (K * efficiency) + Ray start +
   longest cell``, from the measured medians plus Ray's overhead per cell.

Timings depend on the machine's load: run it on an idle machine (``uptime`` is printed).

Usage::

    python benchmarks/sweep.py                 # all presets, 2 days each, 8 oracle cells (~6-10 min on 2 cores)
    python benchmarks/sweep.py --quick         # smoke test (~1 min)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tables import to_markdown  # noqa: E402

from thermogrid_env.config import PRESETS  # noqa: E402
from thermogrid_env.sweep import grid  # noqa: E402
from thermogrid_env.sweep.grid import Cell, controller_targets, run_cell  # noqa: E402
from thermogrid_env.sweep.runner import ray_session, run_sweep  # noqa: E402

CONTROLLERS = ("uncontrolled", "rule_based", "oracle", "mpc")
#: The study projected: controllers and presets (the 6 SimBench LV feeders; all 8 presets).
STUDY_CONTROLLERS = ("uncontrolled", "rule_based", "oracle")
FEEDER_PRESETS = ("winter-high-der", "winter-high-der-rural", "winter-high-der-rural1", "winter-high-der-rural3",
                  "winter-high-der-semiurb5", "winter-high-der-urban6")
CLUSTER_SIZES = (16, 64, 256)
DAYS_IN_YEAR = 366
WARM_CELL = Cell("winter-high-der-rural1", "2016-01-04", 0, "oracle")  # a 0.3 s oracle solve


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "uptime: n/a"


# ------------------------------------------------------------------------------ 1. per cell
def per_cell_seconds(presets: list[str], controllers: list[str], days: list[str]) -> pd.DataFrame:
    targets = controller_targets(controllers)
    for name in controllers:  # untimed: imports, caches, first solve
        run_cell(Cell("winter-high-der-rural1", days[0], 0, name), "winter-high-der-rural1", targets[name])
    rows = []
    for preset in presets:
        for name in controllers:
            secs, failed = [], 0
            for day in days:
                row = run_cell(Cell(preset, day, 0, name), preset, targets[name])
                secs.append(row["wall_s"])
                failed += row["status"] != "ok"
            rows.append({"preset": preset, "feeder": PRESETS[preset].feeder, "controller": name,
                         "median [s]": statistics.median(secs), "max [s]": max(secs), "days": len(days),
                         "failed": failed})
            print(f"  {preset} {name}: {statistics.median(secs):.2f} s", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ 2. overhead
def _warm(ray, workers: int, targets: dict) -> None:
    @ray.remote(num_cpus=1)
    def warm(hold_s: float) -> int:
        grid.warm_up(list(targets.values()))
        run_cell(WARM_CELL, WARM_CELL.scenario, targets.get("oracle", "baselines.oracle:OracleController"))
        time.sleep(hold_s)
        return os.getpid()

    pids = ray.get([warm.remote(2.0) for _ in range(workers)])
    if len(set(pids)) != workers:
        print(f"warning: warm-up reached {len(set(pids))} of {workers} workers", file=sys.stderr)


def ray_overhead(n_trivial: int, n_same: int) -> dict[str, float]:
    targets = controller_targets(["rule_based", "oracle"])
    t0 = time.perf_counter()
    with ray_session(1, None) as (ray, _):
        start_s = time.perf_counter() - t0
        _warm(ray, 1, targets)
        noop = ray.remote(num_cpus=1)(grid.noop_cell)
        cells = [Cell("winter-high-der", None, i, "noop") for i in range(n_trivial)]
        ray.get(noop.remote(cells[0]))
        t0 = time.perf_counter()
        for cell in cells:  # one at a time: the round trip of a task
            ray.get(noop.remote(cell))
        trivial_seq_ms = 1e3 * (time.perf_counter() - t0) / n_trivial
        t0 = time.perf_counter()
        ray.get([noop.remote(c) for c in cells])  # pipelined: what a sweep's window does
        trivial_pipe_ms = 1e3 * (time.perf_counter() - t0) / n_trivial
        same = [Cell("winter-high-der", f"2016-01-{d + 1:02d}", 0, "rule_based") for d in range(n_same)]
        task = ray.remote(num_cpus=1)(run_cell)
        first = Cell("winter-high-der", "2016-02-01", 0, "rule_based")  # untimed: the feeder's data loaded
        ray.get(task.remote(first, first.scenario, targets["rule_based"]))
        run_cell(first, first.scenario, targets["rule_based"])
        t0 = time.perf_counter()
        ray.get([task.remote(c, c.scenario, targets["rule_based"]) for c in same])
        ray_s = time.perf_counter() - t0
        stop_at = time.perf_counter()
    stop_s = time.perf_counter() - stop_at
    t0 = time.perf_counter()
    for c in same:
        run_cell(c, c.scenario, targets["rule_based"])
    local_s = time.perf_counter() - t0
    return {"ray start [s]": start_s, "ray stop [s]": stop_s, "trivial task, one at a time [ms]": trivial_seq_ms,
            "trivial task, pipelined [ms]": trivial_pipe_ms,
            "rule_based cell in-process [ms]": 1e3 * local_s / n_same,
            "rule_based cell as Ray task [ms]": 1e3 * ray_s / n_same,
            "overhead per cell [ms]": 1e3 * (ray_s - local_s) / n_same}


# ---------------------------------------------------------------------------- 3. efficiency
def efficiency(n_cells: int, worker_counts: tuple[int, ...] = (1, 2)) -> pd.DataFrame:
    targets = controller_targets(["oracle"])
    days = [d.strftime("%Y-%m-%d") for d in pd.date_range("2016-01-04", periods=n_cells)]
    rows = []
    for workers in worker_counts:
        with ray_session(workers, None) as (ray, _), tempfile.TemporaryDirectory() as tmp:
            _warm(ray, workers, targets)
            summary = run_sweep(Path(tmp) / "s", ["winter-high-der"], ["oracle"], days=days, workers=workers)
            cells = pd.read_parquet(Path(tmp) / "s")
            rows.append({"workers": workers, "cells": summary.ran, "failed": summary.failed,
                         "wall [s]": summary.run_s, "cells/s": summary.ran / summary.run_s,
                         "median cell [s]": float(cells["wall_s"].median()),
                         "busy": float(cells["wall_s"].sum()) / (workers * summary.run_s),
                         "load": _uptime().split("load")[-1]})
    frame = pd.DataFrame(rows)
    base = frame["cells/s"].iloc[0] / frame["workers"].iloc[0]
    frame.insert(5, "efficiency", frame["cells/s"] / (frame["workers"] * base))
    return frame


# ---------------------------------------------------------------------------- 4. projection
def projection(per_cell: pd.DataFrame, overhead_s: float, ray_start_s: float, eff: float) -> pd.DataFrame:
    med = per_cell.set_index(["preset", "controller"])["median [s]"]
    longest = per_cell.set_index(["preset", "controller"])["max [s]"]
    rows = []
    studies = {"6 SimBench LV feeders (winter-high-der-*)": FEEDER_PRESETS, "all 8 presets": tuple(PRESETS)}
    for label, presets in studies.items():
        present = [p for p in presets if all((p, c) in med.index for c in STUDY_CONTROLLERS)]
        if len(present) < len(presets):
            continue
        cell_s = DAYS_IN_YEAR * sum(med[(p, c)] + overhead_s for p in presets for c in STUDY_CONTROLLERS)
        n_cells = DAYS_IN_YEAR * len(presets) * len(STUDY_CONTROLLERS)
        tail = max(longest[(p, c)] for p in presets for c in STUDY_CONTROLLERS)
        for k in CLUSTER_SIZES:
            wall = cell_s / (k * eff) + ray_start_s + tail
            rows.append({"study": label, "cells": n_cells, "CPU-hours": cell_s / 3600, "workers K": k,
                         "wall [min]": wall / 60, "cells/s at the driver": n_cells / wall})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: one preset, one day, 2+2 oracle cells")
    parser.add_argument("--presets", default=None, help="comma-separated presets (default: all)")
    parser.add_argument("--controllers", default=",".join(CONTROLLERS))
    parser.add_argument("--days", default="2016-01-15,2016-07-15", help="comma-separated days of the per-cell table")
    parser.add_argument("--oracle-cells", type=int, default=16, help="oracle cells per efficiency run")
    parser.add_argument("--sections", default="cells,overhead,efficiency",
                        help="what to measure (comma-separated; the projection needs all three)")
    parser.add_argument("--trivial", type=int, default=200, help="no-op Ray tasks")
    parser.add_argument("--same-work", type=int, default=20, help="rule_based cells in-process vs on Ray")
    args = parser.parse_args(argv)
    presets = args.presets.split(",") if args.presets else list(PRESETS)
    days = args.days.split(",")
    controllers = args.controllers.split(",")
    if args.quick:
        presets, days, args.oracle_cells, args.trivial, args.same_work = ["winter-low-der"], days[:1], 2, 50, 5
    print(f"machine: {os.cpu_count()} cores; {_uptime()}\n")

    t0 = time.perf_counter()
    sections = set(args.sections.split(","))
    if "cells" in sections:
        per_cell = per_cell_seconds(presets, controllers, days)
        _print_per_cell(per_cell, days, controllers)
    if "overhead" in sections:
        over = ray_overhead(args.trivial, args.same_work)
        print("\n## Ray's overhead per cell (local Ray, 1 warm worker)\n")
        print(to_markdown(pd.DataFrame([{"quantity": k, "value": v} for k, v in over.items()])))
    if "efficiency" in sections:
        eff = efficiency(args.oracle_cells)
        print(f"\n## Throughput of oracle cells (winter-high-der, {args.oracle_cells} days, warm workers; busy: "
              "sum of cell seconds / (workers x wall))\n")
        print(to_markdown(eff))
    if {"cells", "overhead", "efficiency"} <= sections:
        _print_projection(per_cell, over, float(eff["efficiency"].iloc[-1]))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; {_uptime()}")
    return 0


def _print_per_cell(per_cell: pd.DataFrame, days: list[str], controllers: list[str]) -> None:
    print(f"## Seconds per cell (in-process, one worker's work; median over {len(days)} day(s): "
          f"{', '.join(days)}; midnight to midnight)\n")
    print(to_markdown(per_cell))
    wide = per_cell.pivot(index="preset", columns="controller", values="median [s]")
    print("\n" + to_markdown(wide[[c for c in controllers if c in wide.columns]].reset_index()))


def _print_projection(per_cell: pd.DataFrame, over: dict[str, float], efficiency_2: float) -> None:
    eff = min(efficiency_2, 1.0)
    overhead_ms = max(over["overhead per cell [ms]"], 0.0)
    proj = projection(per_cell, overhead_ms / 1e3, over["ray start [s]"], eff)
    if not len(proj):
        print("\n(no projection: needs the per-cell times of every preset for uncontrolled, rule_based and oracle)")
        return
    print(f"\n## Projection: every day of 2016 x presets x {{{', '.join(STUDY_CONTROLLERS)}}} on K workers "
          f"(parallel efficiency {eff:.2f} as measured from 1 to 2 workers, +{overhead_ms:.1f} ms Ray overhead "
          "per cell, + Ray start + the longest cell)\n")
    print(to_markdown(proj))


if __name__ == "__main__":
    sys.exit(main())
