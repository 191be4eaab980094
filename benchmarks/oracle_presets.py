"""The oracle on every preset: solve time, exactness of the relaxation and the AC re-check.

For each preset and seed, one episode is drawn exactly as the environment does and its day-ahead
OPF (``distflow-socp``, ``exactness="auto"``) is solved from the simulator's own objects, after one
small untimed warm-up solve. Prints a markdown table: status, wall and solver time, the recovery
taken (if any), the fictitious share of the losses (the exactness criterion), the largest
per-branch relative relaxation gap, and the largest voltage error against the exact power flow of
the dispatch; then the median wall time, solver time and their ratio (the overhead) per preset.

Usage::

    python benchmarks/oracle_presets.py                       # 3 presets on the default feeder, seeds 0-2
    python benchmarks/oracle_presets.py --presets winter-high-der-rural --seeds 0
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from thermogrid_env.config import get_scenario
from thermogrid_env.opf import solve_opf
from thermogrid_env.opf.episode import opf_data_from_episode
from thermogrid_env.sim.episode import sample_episode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["winter-low-der", "winter-high-der", "summer-high-pv"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args(argv)
    _warm_up()
    print("| preset | seed | status | wall [s] | solver [s] | recovery | loss-share gap | max branch rel. gap "
          "| AC v error [pu] |")
    print("|---|---:|---|---:|---:|---|---:|---:|---:|")
    times: dict[str, list[tuple[float, float]]] = {}
    for name in args.presets:
        for seed in args.seeds:
            episode = sample_episode(get_scenario(name), np.random.default_rng(seed))
            t0 = time.perf_counter()
            sol = solve_opf(opf_data_from_episode(episode))
            wall = time.perf_counter() - t0
            times.setdefault(name, []).append((wall, sol.timings.solver_s))
            d = sol.diagnostics
            print(f"| {name} | {seed} | {sol.status} | {wall:.2f} | {sol.timings.solver_s:.2f} | {sol.recovery} "
                  f"| {d.loss_gap_rel.max():.1e} | {d.max_gap_rel:.1e} | {d.ac.v_error_pu:.1e} |")
    print("\n| preset | median wall [s] | median solver [s] | median wall / solver |")
    print("|---|---:|---:|---:|")
    for name, rows in times.items():
        wall_s, solver_s = np.array(rows).T
        print(f"| {name} | {np.median(wall_s):.2f} | {np.median(solver_s):.2f} | {np.median(wall_s / solver_s):.2f} |")
    return 0


def _warm_up() -> None:
    """One small untimed solve, so that the first row does not carry imports and first-call set-up."""
    from thermogrid_env.network.library import load_feeder  # noqa: PLC0415
    from thermogrid_env.opf.synthetic import example_data  # noqa: PLC0415

    solve_opf(example_data(load_feeder("simbench-semiurb4"), rng=0, n_periods=4, penetration=0.5))


if __name__ == "__main__":
    sys.exit(main())
