"""The ``thermogrid`` command line.

Commands::

    thermogrid compare --scenario winter-high-der --episodes 3 --controllers uncontrolled,rule_based --out results
    thermogrid scenarios
    thermogrid powerflow --feeder simbench-semiurb4 --day 2016-01-15

Controllers are found through the entry-point group ``thermogrid.controllers`` (``thermogrid_env``
never imports ``baselines``). Exit codes: 0 success, 1 a ThermoGrid error (the message says what to
do), 2 a usage error (e.g. an unknown controller; the message lists the available ones).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thermogrid_env.config import PRESETS, Scenario, get_scenario
from thermogrid_env.errors import MissingExtraError, ThermoGridError

#: Entry-point group of controller factories (same as ``baselines.registry.ENTRY_POINT_GROUP``).
CONTROLLER_GROUP = "thermogrid.controllers"
_EXIT_USAGE = 2


class _UsageError(Exception):
    """A command-line usage error (exit code 2)."""


# ---------------------------------------------------------------------------------------- compare
def _controller_entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=CONTROLLER_GROUP)}


def _load_controllers(names: Sequence[str]) -> dict[str, Any]:
    available = _controller_entry_points()
    unknown = [n for n in names if n not in available]
    if unknown:
        raise _UsageError(
            f"unknown controller(s) {', '.join(map(repr, unknown))}; available: "
            f"{', '.join(sorted(available)) or '(none installed)'}"
        )
    return {name: available[name].load() for name in names}


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    mag = abs(value)
    if mag >= 100:
        return f"{value:.1f}"
    if mag >= 1:
        return f"{value:.3f}"
    return "0" if value == 0 else f"{value:.4g}"


#: Below this magnitude a KPI is zero up to solver tolerance (e.g. 1e-9 kWh of curtailment).
_NUMERICAL_ZERO = 1e-6


def _rel(value: float, base: float) -> str:
    if abs(base) <= _NUMERICAL_ZERO:
        return "±0 %" if abs(value) <= _NUMERICAL_ZERO else "n/a"
    return f"{100.0 * (value - base) / abs(base):+.1f} %"


def format_kpi_table(table: pd.DataFrame) -> str:
    """A markdown table of the mean KPIs per controller, with units and the relative change of
    every controller against the first one.

    Args:
        table: The result of :func:`thermogrid_env.evaluate`.
    """
    means = table[table["episode"] == "mean"].set_index("controller")
    units: dict[str, str] = {"return": "-", **table.attrs.get("units", {})}
    names = list(means.index)
    header = ["KPI", "unit", names[0], *(f"{n} (Δ vs {names[0]})" for n in names[1:])]
    rows = []
    for kpi, unit in units.items():
        base = float(means.at[names[0], kpi])
        cells = [kpi, unit, _fmt(base)]
        cells += [f"{_fmt(float(means.at[n, kpi]))} ({_rel(float(means.at[n, kpi]), base)})" for n in names[1:]]
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if i >= 2 else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _cmd_compare(args: argparse.Namespace) -> int:
    from thermogrid_env.evaluation import evaluate  # noqa: PLC0415

    names = [n.strip() for n in args.controllers.split(",") if n.strip()]
    if not names:
        raise _UsageError("--controllers needs at least one name")
    if len(set(names)) != len(names):
        raise _UsageError(f"--controllers lists a name twice: {args.controllers}")
    if args.episodes < 1:
        raise _UsageError("--episodes must be >= 1")
    if args.jobs < 1:
        raise _UsageError("--jobs must be >= 1")
    t_start = time.perf_counter()
    factories = _load_controllers(names)
    scenario = get_scenario(args.scenario)
    out = Path(args.out)
    t0 = time.perf_counter()
    table, traces = evaluate(
        factories, scenario=scenario, episodes=args.episodes, seed=args.seed,
        progress=args.progress, record=True, jobs=args.jobs,
    )
    wall_s = time.perf_counter() - t0
    days = ", ".join(table.loc[table["episode"] != "mean", "start_day"].drop_duplicates())
    print(f"scenario {scenario.name}: {args.episodes} episode(s) of {scenario.episode_days} day(s), "
          f"seeds {args.seed}..{args.seed + args.episodes - 1}, start days {days}")
    print(f"mean over episodes; relative change vs {names[0]}\n")
    print(format_kpi_table(table))
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "kpis.csv", index=False)
    pd.concat([t.to_frame() for runs in traces.values() for t in runs]).to_csv(out / "timeseries.csv")
    written = [out / "kpis.csv", out / "timeseries.csv"]
    if not args.no_plots:
        try:
            from thermogrid_env.plotting import plot_traces  # noqa: PLC0415

            written += plot_traces(traces, out, episode=0)
        except MissingExtraError as exc:
            print(f"warning: no plots: {exc}", file=sys.stderr)
    print(f"\nwrote {', '.join(str(p) for p in written)}")
    print(f"wall time: evaluation {wall_s:.1f} s, total {time.perf_counter() - t_start:.1f} s")
    return 0


# -------------------------------------------------------------------------------------- scenarios
def _cmd_scenarios(args: argparse.Namespace) -> int:
    from thermogrid_env.sim.community import device_counts  # noqa: PLC0415

    header = ["name", "feeder", "season", "days", "dt [s]", "HP/EV/PV share", "HP/EV/PV count",
              "comfort [°C]", "voltage band [pu]"]
    rows = []
    for name, s in PRESETS.items():
        n_hp, n_ev, n_pv = device_counts(s)
        rows.append([
            name, s.feeder, s.start_date or s.season, str(s.episode_days), str(s.dt_s),
            f"{s.hp_share:g}/{s.ev_share:g}/{s.pv_share:g}", f"{n_hp}/{n_ev}/{n_pv}",
            f"{s.comfort.t_min_c:g}-{s.comfort.t_max_c:g} (set {s.comfort.t_setpoint_c:g})",
            f"{s.v_min_pu:g}-{s.v_max_pu:g}",
        ])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


# -------------------------------------------------------------------------------------- powerflow
def _cmd_powerflow(args: argparse.Namespace) -> int:
    from thermogrid_env.network.library import load_feeder  # noqa: PLC0415
    from thermogrid_env.physics.powerflow import PowerFlowSolver  # noqa: PLC0415
    from thermogrid_env.sim.exogenous import build_exogenous  # noqa: PLC0415

    scenario = Scenario(name="powerflow", feeder=args.feeder, start_date=args.day, dt_s=args.dt_s,
                        hp_share=0.0, ev_share=0.0, pv_share=0.0)
    feeder = load_feeder(args.feeder)
    exo = build_exogenous(feeder, scenario, pd.Timestamp(args.day))
    solver = PowerFlowSolver(feeder)
    solver.solve(exo.base_p_kw[:1], exo.base_q_kvar[:1])  # warm-up (numba compilation, caches)
    t0 = time.perf_counter()
    res = solver.solve(exo.base_p_kw, exo.base_q_kvar)
    solve_s = time.perf_counter() - t0
    dt_h = scenario.dt_h
    v = res.v_pu[:, 1:]
    k_v, b_v = np.unravel_index(np.argmin(v), v.shape)
    lines = ~feeder.is_transformer
    line_loading = res.loading[:, lines]
    k_l, j_l = np.unravel_index(np.argmax(line_loading), line_loading.shape)
    local = exo.time_utc.tz_convert("Europe/Berlin")
    p_loss = np.asarray(res.p_loss_kw)
    p_slack = np.asarray(res.p_slack_kw)
    print(f"feeder {args.feeder}: {feeder.n_bus} buses, {feeder.n_branch} branches, {feeder.n_load} loads; "
          f"base load of {args.day}, {len(exo.time_utc)} steps of {args.dt_s} s")
    print(f"  min voltage        {v.min():.4f} pu  at bus {b_v + 1} (index), {local[k_v]:%H:%M} local")
    print(f"  max voltage        {v.max():.4f} pu")
    print(f"  max line loading   {line_loading.max():.3f}  on branch {np.flatnonzero(lines)[j_l]}, "
          f"{local[k_l]:%H:%M} local")
    print(f"  max trafo loading  {np.max(res.transformer_loading):.3f}")
    print(f"  losses             {p_loss.sum() * dt_h:.2f} kWh  (peak {p_loss.max():.2f} kW, "
          f"{100 * p_loss.sum() / max(p_slack.clip(min=0).sum(), 1e-9):.2f} % of import)")
    print(f"  MV import          {p_slack.clip(min=0).sum() * dt_h:.1f} kWh  (peak {p_slack.max():.1f} kW)")
    print(f"  solve time         {1e3 * solve_s:.1f} ms for {len(exo.time_utc)} snapshots ({solver.backend})")
    return 0


# ----------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``thermogrid`` (subcommands compare, scenarios, powerflow)."""
    parser = argparse.ArgumentParser(
        prog="thermogrid",
        description="ThermoGrid: LV feeder co-simulation with heat pumps, EVs and PV.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cmp = sub.add_parser("compare", help="run controllers on identical episodes and compare their KPIs",
                         description="Run controllers on identical episodes (episode i uses seed + i for every "
                                     "controller), print the KPI table, write kpis.csv, timeseries.csv and plots.")
    cmp.add_argument("--scenario", default="winter-high-der", help=f"preset ({', '.join(PRESETS)})")
    cmp.add_argument("--episodes", type=int, default=1, help="episodes per controller (default 1)")
    cmp.add_argument("--controllers", default="uncontrolled,rule_based",
                     help="comma-separated controller names; the first is the reference (default %(default)s)")
    cmp.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    cmp.add_argument("--out", default="thermogrid-results", help="output directory (default %(default)s)")
    cmp.add_argument("--jobs", type=int, default=1,
                     help="worker processes running the episodes in parallel (default 1)")
    cmp.add_argument("--no-plots", action="store_true", help="do not write PNG figures")
    cmp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar on stderr (default: on a terminal for long runs)")
    cmp.set_defaults(func=_cmd_compare)

    scn = sub.add_parser("scenarios", help="list the scenario presets",
                         description="List the scenario presets with their key settings.")
    scn.set_defaults(func=_cmd_scenarios)

    pf = sub.add_parser("powerflow", help="power flow of a feeder's base load over a real day",
                        description="Solve the AC power flow of the feeder's own loads (SimBench profiles, "
                                    "no heat pumps, EVs or PV) for every step of a day of 2016.")
    pf.add_argument("--feeder", default="simbench-semiurb4", help="shipped feeder name (default %(default)s)")
    pf.add_argument("--day", default="2016-01-15", help="local date in 2016 (default %(default)s)")
    pf.add_argument("--dt-s", type=int, default=900, help="step [s], dividing 900 (default 900)")
    pf.set_defaults(func=_cmd_powerflow)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Args:
        argv: Arguments without the program name (default ``sys.argv[1:]``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except _UsageError as exc:
        print(f"thermogrid {args.command}: error: {exc}", file=sys.stderr)
        return _EXIT_USAGE
    except ThermoGridError as exc:
        print(f"thermogrid {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
