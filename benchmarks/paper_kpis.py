"""The study's headline comparison: uncontrolled vs rule-based, learned, MPC and oracle on ``winter-high-der``.

Runs every controller on the same held-out days (seeds from 10,000, :mod:`thermogrid_env.splits`:
the learned controller never trained on them) (``thermogrid_env.evaluate``), prints the mean KPIs
with the relative reduction against the uncontrolled reference next to the figures the study
reports (41 % less transformer aging, 54 % less losses, no voltage violations), and writes the
per-episode table as CSV.

Usage::

    python benchmarks/paper_kpis.py                  # 5 winter days, default feeder
    python benchmarks/paper_kpis.py --episodes 10 --scenario winter-high-der-rural
    python benchmarks/paper_kpis.py --quick          # 1 day, smoke run
    python benchmarks/paper_kpis.py --jobs 2         # the runs spread over 2 processes
    python benchmarks/paper_kpis.py --controllers uncontrolled,oracle,mpc --forecaster noisy

The table starts with the normalised score (uncontrolled 0, oracle 100) and the return.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import pandas as pd

from thermogrid_env import evaluate
from thermogrid_env.forecast import (NoisyForecaster, PerfectForecaster, PersistenceForecaster,
                                     SeasonalEmpiricalForecaster)
from thermogrid_env.sim.kpi import KPI_UNITS
from thermogrid_env.splits import HELD_OUT_SEEDS

from tables import to_markdown  # benchmarks/tables.py, beside this script

#: What the study reports for coordinated vs uncoordinated scheduling (relative change).
STUDY = {"aging_h": -0.41, "losses_kwh": -0.54, "load_losses_kwh": -0.54, "voltage_violations": "0"}
#: KPIs in the headline table.
HEADLINE = ("aging_h", "hot_spot_max_c", "losses_kwh", "load_losses_kwh", "voltage_violations", "voltage_dev_max_pu",
            "line_loading_max", "trafo_loading_max", "peak_import_kw", "discomfort_kh", "ev_unmet_kwh",
            "cost_eur", "curtailment_kwh")


FORECASTERS = {"empirical": SeasonalEmpiricalForecaster, "perfect": PerfectForecaster, "noisy": NoisyForecaster,
               "persistence": PersistenceForecaster}


def _controllers(names: list[str]) -> dict[str, object]:
    from baselines.registry import make_controller  # noqa: PLC0415

    return {name: functools.partial(make_controller, name) for name in names}  # picklable for --jobs


def headline_table(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Mean KPIs per controller with the relative change against ``reference``."""
    means = table[table["episode"] == "mean"].set_index("controller")
    rows = [{"KPI": "score (uncontrolled 0, oracle 100)", "unit": "-",
             **{name: f"{float(means.loc[name, 'score']):.1f}" for name in means.index}},
            {"KPI": "return", "unit": "-", **{name: f"{float(means.loc[name, 'return']):.1f}" for name in means.index}}]
    for kpi in HEADLINE:
        row: dict[str, object] = {"KPI": kpi, "unit": KPI_UNITS[kpi]}
        base = float(means.loc[reference, kpi])
        for name in means.index:
            value = float(means.loc[name, kpi])
            row[name] = f"{value:.4g}"
            if name != reference:
                row[f"{name} vs {reference}"] = _relative(value, base)
        study = STUDY.get(kpi)
        row["study (coordinated vs uncoordinated)"] = (
            f"{100 * study:+.0f} %" if isinstance(study, float) else (study or "")
        )
        rows.append(row)
    return pd.DataFrame(rows).fillna("")  # no relative change for the score and return rows


def _relative(value: float, base: float, tiny: float = 1e-6) -> str:
    """Relative change as text; "n/a" when the reference is (numerically) zero."""
    if abs(base) <= tiny:
        return "±0 %" if abs(value) <= tiny else "n/a (reference 0)"
    return f"{100 * (value - base) / abs(base):+.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="winter-high-der")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEEDS.start, help="first seed (default: held-out)")
    parser.add_argument("--controllers", default="uncontrolled,rule_based,learned,mpc,oracle")
    parser.add_argument("--out", default="results/paper_kpis")
    parser.add_argument("--quick", action="store_true", help="one episode (smoke run)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--forecaster", choices=sorted(FORECASTERS), default="empirical",
                        help="the environments' forecaster (what the mpc controller plans with; default: the "
                             "causal SeasonalEmpiricalForecaster)")
    args = parser.parse_args(argv)
    episodes = 1 if args.quick else args.episodes
    names = [n.strip() for n in args.controllers.split(",") if n.strip()]
    t0 = time.perf_counter()
    table = evaluate(_controllers(names), args.scenario, episodes=episodes, seed=args.seed, progress=False,
                     jobs=args.jobs, env_kwargs={"forecaster": FORECASTERS[args.forecaster]()})
    wall = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "episodes.csv", index=False)
    head = headline_table(table, names[0])
    head.to_csv(out / "headline.csv", index=False)
    days = ", ".join(str(d) for d in table[table["episode"] != "mean"]["start_day"].unique())
    print(f"scenario {args.scenario}: {episodes} day(s) ({days}), seeds {args.seed}..{args.seed + episodes - 1}")
    print(to_markdown(head))
    print(f"\nwrote {out / 'episodes.csv'} and {out / 'headline.csv'}; wall time {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
