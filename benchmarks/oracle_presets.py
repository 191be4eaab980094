"""The oracle on every preset: solve time, exactness of the relaxation and the AC re-check.

For each preset and seed, one episode is drawn exactly as the environment does and its day-ahead
OPF (``distflow-socp``, ``exactness="auto"``) is solved from the simulator's own objects, after one
small untimed warm-up solve. Prints a markdown table: status, wall and solver time, the recovery
taken (if any), the fictitious share of the losses (the exactness criterion), the largest
per-branch relative relaxation gap, and the largest voltage error against the exact power flow of
the dispatch; then the median wall time, solver time and their ratio (the overhead) per preset.

``--settings`` compares Clarabel settings on the same days (rows per setting, and a summary of
the median solver time, iterations and the worst exactness figures and objective change per setting):
``default`` (:data:`thermogrid_env.opf.backend.CLARABEL_DEFAULTS`), ``no-refinement``
(``iterative_refinement_enable=False``), ``loose`` (that and gap tolerances 1e-7 with
``max_step_fraction=0.995``) and ``mkl`` (MKL Pardiso as the direct solver, where this Clarabel
build finds it).

Usage::

    python benchmarks/oracle_presets.py                       # 3 presets on the default feeder, seeds 0-2
    python benchmarks/oracle_presets.py --presets winter-high-der-rural --seeds 0
    python benchmarks/oracle_presets.py --settings default no-refinement loose
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


#: Clarabel settings compared by ``--settings`` (on top of the package's defaults).
SETTINGS: dict[str, dict] = {
    "default": {},
    "no-refinement": {"iterative_refinement_enable": False},
    "loose": {"iterative_refinement_enable": False, "tol_gap_abs": 1e-7, "tol_gap_rel": 1e-7,
              "max_step_fraction": 0.995},
    "mkl": {"direct_solve_method": "mkl"},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["winter-low-der", "winter-high-der", "summer-high-pv"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--settings", nargs="+", default=["default"], choices=sorted(SETTINGS))
    args = parser.parse_args(argv)
    _warm_up()
    print("| preset | seed | setting | status | wall [s] | solver [s] | iterations | recovery | loss-share gap "
          "| max branch rel. gap | AC v error [pu] | objective [EUR] |")
    print("|---|---:|---|---|---:|---:|---:|---|---:|---:|---:|---:|")
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    summary: dict[str, list[tuple[float, int, float, float, float, float]]] = {}
    for name in args.presets:
        for seed in args.seeds:
            episode = sample_episode(get_scenario(name), np.random.default_rng(seed))
            data = opf_data_from_episode(episode)
            reference = None
            for setting in args.settings:
                t0 = time.perf_counter()
                try:
                    sol = solve_opf(data, solver_options=SETTINGS[setting] or None)
                except Exception as exc:  # noqa: BLE001 - a setting this build cannot run is a finding
                    print(f"| {name} | {seed} | {setting} | failed: {type(exc).__name__}: {str(exc)[:80]} "
                          "| | | | | | | | |")
                    continue
                wall = time.perf_counter() - t0
                times.setdefault((name, setting), []).append((wall, sol.timings.solver_s))
                d = sol.diagnostics
                reference = sol.objective_eur if reference is None else reference
                summary.setdefault(setting, []).append(
                    (sol.timings.solver_s, sol.iterations, float(d.loss_gap_rel.max()), d.max_gap_rel, d.ac.v_error_pu,
                     abs(sol.objective_eur / reference - 1.0)))
                print(f"| {name} | {seed} | {setting} | {sol.status} | {wall:.2f} | {sol.timings.solver_s:.2f} "
                      f"| {sol.iterations} | {sol.recovery} | {d.loss_gap_rel.max():.1e} | {d.max_gap_rel:.1e} "
                      f"| {d.ac.v_error_pu:.1e} | {sol.objective_eur:.6f} |")
    print("\n| preset | setting | median wall [s] | median solver [s] | median wall / solver |")
    print("|---|---|---:|---:|---:|")
    for (name, setting), rows in times.items():
        wall_s, solver_s = np.array(rows).T
        print(f"| {name} | {setting} | {np.median(wall_s):.2f} | {np.median(solver_s):.2f} "
              f"| {np.median(wall_s / solver_s):.2f} |")
    if len(args.settings) > 1:
        print("\n| setting | median solver [s] | median iterations | worst loss share | worst branch rel. gap "
              "| worst AC v error [pu] | largest objective change vs first setting |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for setting, rows in summary.items():
            a = np.array(rows)
            print(f"| {setting} | {np.median(a[:, 0]):.2f} | {np.median(a[:, 1]):.0f} | {a[:, 2].max():.1e} "
                  f"| {a[:, 3].max():.1e} | {a[:, 4].max():.1e} | {a[:, 5].max():.1e} |")
    return 0


def _warm_up() -> None:
    """One small untimed solve, so that the first row does not carry imports and first-call set-up."""
    from thermogrid_env.network.library import load_feeder  # noqa: PLC0415
    from thermogrid_env.opf.synthetic import example_data  # noqa: PLC0415

    solve_opf(example_data(load_feeder("simbench-semiurb4"), rng=0, n_periods=4, penetration=0.5))


if __name__ == "__main__":
    sys.exit(main())
