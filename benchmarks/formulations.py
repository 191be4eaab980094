"""OPF formulations compared: time, objective, optimality gap vs the exact AC NLP, exactness.

For each feeder (default ``semiurb4``, 44 buses; ``rural2``, 97 buses) and DER penetration (share of
the households with heat pump, EV and rooftop PV: 0, 25, 50, 75, 100 %), one day at 15 min is
optimised with every formulation (``distflow-socp``, ``bim-socp``, ``lindistflow``, ``ac-nlp``) and
with ``distflow-socp`` without the feeder's shunts. Inputs come from
:func:`thermogrid_env.opf.synthetic.example_data` (spring day, the simulator's device samplers,
synthetic-but-realistic profiles), seeded.

Columns: wall times [s] (build = Python model construction, compile = cvxpy canonicalisation or
casadi set-up, solver, total = end to end incl. diagnostics; medians over ``--repeat`` for the
convex formulations), solver iterations and status, the objective [EUR], the optimality gap
``(objective - ac-nlp objective) / |ac-nlp objective|`` (negative for a relaxation: a lower
bound), the relaxation gap (max fictitious share of the losses per period), and the AC re-check
(largest |v_opt - v_ac| [pu], largest |loss_opt - loss_ac| [kW], largest AC over-voltage [pu]).
``ac-nlp`` is started from the ``distflow-socp`` solution (its time excludes that solve).
Formulations are solved with ``exactness="report"`` (diagnostics only, no recovery), so each
row shows the formulation itself.

Usage::

    python benchmarks/formulations.py             # full: 2 feeders x 5 penetrations (~15-30 min)
    python benchmarks/formulations.py --quick     # smoke: default feeder, 0 and 50 %, 24 hourly periods

Writes ``results/formulations.csv`` and ``results/formulations.png`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import csv
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from thermogrid_env.network import load_feeder
from thermogrid_env.opf import solve_opf
from thermogrid_env.opf.synthetic import example_data

FEEDERS = {"semiurb4": "simbench-semiurb4", "rural2": "simbench-rural2"}
VARIANTS = ("distflow-socp", "bim-socp", "lindistflow", "distflow-socp/no-shunts", "ac-nlp")
COLUMNS = ("feeder", "n_bus", "der_pct", "formulation", "status", "iters", "build_s", "compile_s", "solver_s",
           "total_s", "objective_eur", "opt_gap_pct", "loss_gap_rel", "exact", "dv_ac_pu", "dloss_ac_kw",
           "v_over_ac_pu")


def run_case(feeder_key: str, der_pct: int, n_periods: int, dt_s: float, repeat: int, seed: int,
             variants: tuple[str, ...]) -> list[dict[str, Any]]:
    """All variants on one feeder and penetration; returns one row per variant."""
    feeder = load_feeder(FEEDERS[feeder_key])
    data = example_data(feeder, rng=seed, n_periods=n_periods, dt_s=dt_s, season="spring",
                        penetration=der_pct / 100.0)
    rows: dict[str, dict[str, Any]] = {}
    socp = None
    for variant in variants:
        form, _, opt = variant.partition("/")
        kwargs = {"include_shunts": opt != "no-shunts"}
        if form == "ac-nlp":
            kwargs["warm_start"] = socp
        n_rep = 1 if form == "ac-nlp" else repeat
        sols = []
        for _ in range(n_rep):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    sols.append(solve_opf(data, form, exactness="report", **kwargs))
                except Exception as exc:  # noqa: BLE001 - a failed formulation is a result, not a crash
                    print(f"  {feeder_key} {der_pct}% {variant}: FAILED ({type(exc).__name__}: {exc})",
                          file=sys.stderr)
                    break
        if not sols:
            rows[variant] = {"feeder": feeder_key, "n_bus": feeder.n_bus, "der_pct": der_pct,
                             "formulation": variant, "status": "failed"}
            continue
        sol = sols[-1]
        if variant == "distflow-socp":
            socp = sol
        times = {name: statistics.median(getattr(s.timings, name) for s in sols)
                 for name in ("build_s", "compile_s", "solver_s", "total_s")}
        d = sol.diagnostics
        rows[variant] = {
            "feeder": feeder_key, "n_bus": feeder.n_bus, "der_pct": der_pct, "formulation": variant,
            "status": sol.status, "iters": sol.iterations, **times, "objective_eur": sol.objective_eur,
            "loss_gap_rel": float(d.loss_gap_rel.max(initial=0.0)), "exact": d.exact,
            "dv_ac_pu": d.ac.v_error_pu, "dloss_ac_kw": d.ac.loss_error_kw, "v_over_ac_pu": max(d.ac.v_over_pu, 0.0),
        }
    ref = rows.get("ac-nlp", {}).get("objective_eur")
    for row in rows.values():
        obj = row.get("objective_eur")
        row["opt_gap_pct"] = 100.0 * (obj - ref) / abs(ref) if ref and obj is not None else float("nan")
    return list(rows.values())


def _fmt(value: Any, col: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if col in ("build_s", "compile_s", "solver_s", "total_s"):
        return f"{value:.3f}"
    if col == "objective_eur":
        return f"{value:.4f}"
    if col == "opt_gap_pct":
        return f"{value:+.2e}"
    if col in ("loss_gap_rel", "dv_ac_pu", "dloss_ac_kw", "v_over_ac_pu"):
        return f"{value:.1e}"
    return str(value)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c), c) for c in COLUMNS) + " |")
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Solver time and optimality gap vs penetration, one line per formulation and feeder."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for feeder in sorted({r["feeder"] for r in rows}):
        for variant in VARIANTS:
            sel = [r for r in rows if r["feeder"] == feeder and r["formulation"] == variant and "total_s" in r]
            if not sel:
                continue
            x = [r["der_pct"] for r in sel]
            style = "-" if feeder == "semiurb4" else "--"
            axes[0].plot(x, [r["build_s"] + r["compile_s"] + r["solver_s"] for r in sel], style, marker="o",
                         label=f"{variant} ({feeder})")
            if variant != "ac-nlp":  # the reference itself
                axes[1].plot(x, [abs(r["opt_gap_pct"]) for r in sel], style, marker="o",
                             color=axes[0].lines[-1].get_color())
    axes[0].set(xlabel="DER penetration [%]", ylabel="build + compile + solve [s]", yscale="log",
                title="time per day-ahead solve (96 x 15 min)")
    axes[1].set(xlabel="DER penetration [%]", ylabel="|objective - ac-nlp| / ac-nlp [%]", yscale="log",
                title="optimality gap vs ac-nlp")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="default feeder, 0 and 50 %%, 24 hourly periods")
    parser.add_argument("--feeders", nargs="+", default=list(FEEDERS), choices=list(FEEDERS))
    parser.add_argument("--penetrations", nargs="+", type=int, default=[0, 25, 50, 75, 100])
    parser.add_argument("--formulations", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the convex solves (median time)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    n_periods, dt_s = 96, 900.0
    if args.quick:
        args.feeders, args.penetrations, args.repeat, n_periods, dt_s = ["semiurb4"], [0, 50], 1, 24, 3600.0
    variants = tuple(v for v in VARIANTS if v in args.formulations)
    # warm-up: imports, numba cache, first cvxpy/casadi calls (not part of any timing)
    warm = example_data(load_feeder(FEEDERS["semiurb4"]), rng=0, n_periods=4, penetration=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for form in {v.partition("/")[0] for v in variants}:
            try:
                solve_opf(warm, form, exactness="report")
            except Exception:  # noqa: BLE001
                pass
    print(f"# OPF formulations ({platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{n_periods} periods x {dt_s / 60:.0f} min)\n")
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for feeder in args.feeders:
        for pct in args.penetrations:
            rows.extend(run_case(feeder, pct, n_periods, dt_s, args.repeat, args.seed, variants))
            print(f"  done {feeder} {pct}% ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    print(markdown(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "formulations.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    try:
        plot(rows, args.out / "formulations.png")
    except ImportError:
        print("(matplotlib not installed: no plot)", file=sys.stderr)
    print(f"\nwrote {args.out / 'formulations.csv'} and {args.out / 'formulations.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
