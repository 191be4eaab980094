"""The ``thermogrid`` command line.

Commands::

    thermogrid compare --scenario winter-high-der --episodes 3 --controllers uncontrolled,rule_based --out results
    thermogrid list controllers|feeders|scenarios      (``thermogrid scenarios``: same as ``list scenarios``)
    thermogrid powerflow --feeder simbench-semiurb4 --day 2016-01-15
    thermogrid sweep --scenarios winter-high-der --controllers uncontrolled,rule_based,oracle \
        --days 2016-01-01:2016-12-31 --workers 2 --out year        (Ray; extra [scale]; docs/sweeps.md)
    thermogrid report year                              annual totals and a monthly plot of a sweep

Controllers are found through the entry-point group ``thermogrid.controllers`` (``thermogrid_env``
never imports ``baselines``). ``compare`` checks its arguments and ``--out`` before any work, shows
progress on stderr (``--quiet``: none) and replaces ``--out`` atomically by a complete result set
with a ``manifest.json`` (:mod:`thermogrid_env.results`). Exit codes: 0 success, 1 a ThermoGrid
error (the message says what to do), 2 a usage error (e.g. an unknown controller; the message lists
the available ones), 130 interrupted (Ctrl-C; one line says what was kept).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from thermogrid_env import results
from thermogrid_env.config import PRESETS, Scenario, get_scenario
from thermogrid_env.errors import ConfigError, MissingExtraError, ThermoGridError
from thermogrid_env.results import format_kpi_table

__all__ = ["CONTROLLER_GROUP", "build_parser", "format_kpi_table", "main"]

#: Entry-point group of controller factories (same as ``baselines.registry.ENTRY_POINT_GROUP``).
CONTROLLER_GROUP = "thermogrid.controllers"
_EXIT_ERROR = 1
_EXIT_USAGE = 2
_EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention


class _UsageError(Exception):
    """A command-line usage error (exit code 2)."""


def _check_min(option: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise _UsageError(f"{option} must be >= {minimum}, got {value}")


def _fresh_line() -> str:
    """A newline after the terminal's ``^C`` echo (nothing when stderr is not a terminal)."""
    return "\n" if getattr(sys.stderr, "isatty", lambda: False)() else ""


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


# ---------------------------------------------------------------------------------------- compare
def _controller_entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=CONTROLLER_GROUP)}


def _check_controllers(names: Sequence[str]) -> None:
    available = _controller_entry_points()
    unknown = [n for n in names if n not in available]
    if unknown:
        raise _UsageError(
            f"unknown controller(s) {', '.join(map(repr, unknown))}; available: "
            f"{', '.join(sorted(available)) or '(none installed)'}"
        )


def _load_controllers(names: Sequence[str]) -> dict[str, Any]:
    _check_controllers(names)
    available = _controller_entry_points()
    return {name: available[name].load() for name in names}


def _parse_plot_episodes(text: str, episodes: int) -> Literal["all"] | list[int]:
    """``--plot-episodes``: ``all``, ``I``, ``I,J,...`` or ``I-J`` (inclusive), within ``[0, episodes)``."""
    text = text.strip().lower()
    if text == "all":
        return "all"
    chosen: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            first, _, last = part.partition("-")
            chosen += list(range(int(first), int(last or first) + 1))
    except ValueError:
        raise _UsageError(
            f"--plot-episodes must be 'all', an index, a list (0,2) or a range (0-2), got {text!r}") from None
    if not chosen:
        raise _UsageError(f"--plot-episodes selects no episode: {text!r}")
    bad = sorted({i for i in chosen if not 0 <= i < episodes})
    if bad:
        raise _UsageError(
            f"--plot-episodes {text}: episode(s) {bad} not run (--episodes {episodes}: 0..{episodes - 1})")
    return sorted(set(chosen))


class _PlotProgress:
    """``plots: i/total`` on one updating stderr line; :meth:`close` ends the line if it is open."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done, self._open = total, enabled, 0, False

    def __call__(self, path: Path) -> None:
        self.done += 1
        if self.enabled:
            print(f"\rplots: {self.done}/{self.total} ({path.name})".ljust(60), end="", file=sys.stderr, flush=True)
            self._open = True

    def close(self) -> None:
        if self._open:
            print(file=sys.stderr, flush=True)
            self._open = False


def _kept(out: str, had_previous: bool, published: bool) -> str:
    """What an interruption left in ``--out``."""
    if published:
        return f"{out} holds this run's complete results"
    if had_previous:
        return f"{out} unchanged (previous run kept)"
    return f"nothing written to {out}"


def _cmd_compare(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.controllers.split(",") if n.strip()]
    if not names:
        raise _UsageError("--controllers needs at least one name")
    if len(set(names)) != len(names):
        raise _UsageError(f"--controllers lists a name twice: {args.controllers}")
    _check_min("--episodes", args.episodes, 1)
    _check_min("--seed", args.seed, 0)
    _check_min("--jobs", args.jobs, 1)
    plot_episodes = _parse_plot_episodes(args.plot_episodes, args.episodes)
    _check_controllers(names)
    try:
        out = results.check_output_dir(args.out)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from exc
    had_previous = out.is_dir() and any(out.iterdir())
    state = {"published": False}
    try:
        return _compare(args, names, out, plot_episodes, state)
    except KeyboardInterrupt:
        print(f"{_fresh_line()}thermogrid compare: interrupted: {_kept(args.out, had_previous, state['published'])}",
              file=sys.stderr)
        return _EXIT_INTERRUPTED


def _compare(args: argparse.Namespace, names: list[str], out: Path, plot_episodes: Literal["all"] | list[int],
             state: dict[str, bool]) -> int:
    """The work of ``compare`` once its arguments are checked; sets ``state["published"]``."""
    from thermogrid_env.evaluation import evaluate  # noqa: PLC0415

    t_start, started_utc = time.perf_counter(), results.utc_now()
    scenario = get_scenario(args.scenario)
    factories = _load_controllers(names)
    eps = _controller_entry_points()
    targets = {name: eps[name].value for name in names}
    t0 = time.perf_counter()
    table, traces = evaluate(factories, scenario=scenario, episodes=args.episodes, seed=args.seed,
                             progress=not args.quiet, record=True, jobs=args.jobs)
    wall_s = time.perf_counter() - t0
    start_days = [str(d) for d in table.loc[table["episode"].astype(str) != "mean", "start_day"].drop_duplicates()]
    print(f"scenario {scenario.name}: {args.episodes} episode(s) of {scenario.episode_days} day(s), "
          f"seeds {args.seed}..{args.seed + args.episodes - 1}, start days {', '.join(start_days)}")
    print(f"mean over episodes; relative change vs {names[0]}\n")
    print(format_kpi_table(table))
    episodes = list(range(args.episodes)) if plot_episodes == "all" else plot_episodes

    def write(directory: Path) -> list[Path]:
        files = [results.write_kpis(table, directory), results.write_timeseries(traces, directory)]
        if not args.no_plots:
            from thermogrid_env.plotting import plot_traces  # noqa: PLC0415

            progress = _PlotProgress((len(names) + 1) * len(episodes), not args.quiet)
            try:
                files += plot_traces(traces, directory, episodes=episodes, on_written=progress)
            except MissingExtraError as exc:
                print(f"warning: no plots: {exc}", file=sys.stderr)
            finally:
                progress.close()
        return files

    manifest = {
        "command": shlex.join(["thermogrid", *args.argv]),
        "argv": list(args.argv),
        "thermogrid_env_version": results.package_version(),
        "versions": results.environment_info(),
        "scenario": {"name": scenario.name, "settings": dataclasses.asdict(scenario)},
        "controllers": targets,
        "reference_controller": names[0],
        "episodes": args.episodes,
        "seeds": list(range(args.seed, args.seed + args.episodes)),
        "start_days": start_days,
        "plot_episodes": [] if args.no_plots else episodes,
        "jobs": args.jobs,
        "started_utc": started_utc,
    }
    written = results.publish(out, write, manifest)
    state["published"] = True
    pngs = sum(p.suffix == ".png" for p in written)
    listed = [p.name for p in written if p.suffix != ".png"] + ([f"{pngs} PNG figure(s)"] if pngs else [])
    print(f"\nwrote {args.out}: {', '.join(listed)}")
    print(f"wall time: evaluation {wall_s:.1f} s, total {time.perf_counter() - t_start:.1f} s")
    return 0


# ------------------------------------------------------------------------------------------- list
def _list_scenarios() -> None:
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
    _print_table(header, rows)


def _list_controllers() -> None:
    eps = sorted(_controller_entry_points().values(), key=lambda ep: ep.name)
    rows = [[ep.name, ep.value, getattr(ep.dist, "name", "") or ""] for ep in eps]
    if not rows:
        print(f"no controllers installed (entry-point group {CONTROLLER_GROUP!r})")
        return
    _print_table(["name", "loads", "package"], rows)


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return str(value)


def _list_feeders() -> None:
    from thermogrid_env.network import library  # noqa: PLC0415

    if hasattr(library, "feeder_table"):
        frame = library.feeder_table()
        if not isinstance(frame.index, pd.RangeIndex):
            frame = frame.reset_index()
    else:
        rows = []
        for name, (source, _) in library.FEEDERS.items():
            feeder = library.load_feeder(name)
            rows.append({"name": name, "buses": feeder.n_bus, "loads": len(feeder.load_bus),
                         "households": int(np.sum(feeder.load_is_household)),
                         "transformer [kVA]": feeder.transformer_rating_kva, "source": source})
        frame = pd.DataFrame(rows)
    _print_table([str(c) for c in frame.columns], [[_cell(v) for v in row] for row in frame.itertuples(index=False)])


_LISTS: dict[str, Callable[[], None]] = {
    "controllers": _list_controllers, "feeders": _list_feeders, "scenarios": _list_scenarios,
}


def _cmd_list(args: argparse.Namespace) -> int:
    _LISTS[args.what]()
    return 0


# -------------------------------------------------------------------------------------- powerflow
def _cmd_powerflow(args: argparse.Namespace) -> int:
    from thermogrid_env.network.library import load_feeder  # noqa: PLC0415
    from thermogrid_env.physics.powerflow import PowerFlowSolver  # noqa: PLC0415
    from thermogrid_env.sim.exogenous import build_exogenous  # noqa: PLC0415

    _check_min("--dt-s", args.dt_s, 1)
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


# ---------------------------------------------------------------------------------- sweep, report
def _names(option: str, text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise _UsageError(f"{option} needs at least one name")
    if len(set(names)) != len(names):
        raise _UsageError(f"{option} lists a name twice: {text}")
    return names


def _cmd_sweep(args: argparse.Namespace) -> int:
    from thermogrid_env.errors import import_optional  # noqa: PLC0415
    from thermogrid_env.sweep import grid, store  # noqa: PLC0415
    from thermogrid_env.sweep.runner import run_sweep  # noqa: PLC0415

    scenarios = _names("--scenarios", args.scenarios)
    unknown = [n for n in scenarios if n not in PRESETS]
    if unknown:
        raise _UsageError(f"unknown scenario(s) {', '.join(map(repr, unknown))}; available: {', '.join(PRESETS)}")
    controllers = _names("--controllers", args.controllers)
    _check_controllers(controllers)
    _check_min("--episodes", args.episodes, 1)
    _check_min("--seed", args.seed, 0)
    if args.workers is not None:
        _check_min("--workers", args.workers, 1)
    try:
        days = grid.parse_days(args.days) if args.days is not None else None
        store.check_sweep_dir(args.out)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from exc
    for module in ("ray", "pyarrow", *(() if args.quiet else ("tqdm",))):
        import_optional(module, "scale")
    try:
        summary = run_sweep(args.out, scenarios, controllers, episodes=args.episodes, seed=args.seed, days=days,
                            workers=args.workers, address=args.address, progress=not args.quiet,
                            command=shlex.join(["thermogrid", *args.argv]))
    except KeyboardInterrupt:
        print(f"{_fresh_line()}thermogrid sweep: interrupted: the finished cells are kept in {args.out}; run the "
              "same command to resume", file=sys.stderr)
        return _EXIT_INTERRUPTED
    print(summary.line())
    if summary.failed:
        for line in summary.failures[:5]:
            print(f"  failed: {line}", file=sys.stderr)
        print(f"thermogrid sweep: {summary.failed} cell(s) failed (recorded with their error); run the same "
              "command again to retry them", file=sys.stderr)
        return _EXIT_ERROR
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from thermogrid_env.sweep import store  # noqa: PLC0415
    from thermogrid_env.sweep.report import (  # noqa: PLC0415
        annual_totals,
        format_report,
        monthly_totals,
        plot_monthly,
        read_sweep,
    )

    out = Path(args.dir)
    if not (out / store.MANIFEST).is_file():
        raise _UsageError(f"{args.dir}: not a sweep directory (no {store.MANIFEST}); give the --out of a sweep")
    cells = read_sweep(out)
    print(format_report(cells, args.dir))
    folder = out / "_report"
    folder.mkdir(exist_ok=True)
    annual_totals(cells).to_csv(folder / "annual.csv", index=False)
    monthly_totals(cells).to_csv(folder / "monthly.csv", index=False)
    written = [folder / "annual.csv", folder / "monthly.csv"]
    if not args.no_plot:
        try:
            written.append(plot_monthly(cells, Path(args.plot) if args.plot else folder / "monthly.png"))
        except MissingExtraError as exc:
            print(f"warning: no plot: {exc}", file=sys.stderr)
    print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0


def _cmd_demos(args: argparse.Namespace) -> int:
    from thermogrid_env.demos import write_demos  # noqa: PLC0415

    if args.scenario not in PRESETS:
        raise _UsageError(f"unknown scenario {args.scenario!r}; available: {', '.join(PRESETS)}")
    _check_min("--episodes", args.episodes, 1)
    _check_min("--seed", args.seed, 0)
    _check_min("--jobs", args.jobs, 1)
    dataset_id = args.dataset_id or f"thermogrid/{args.scenario}/oracle-v0"
    try:
        dataset = write_demos(args.scenario, args.episodes, args.seed, dataset_id, jobs=args.jobs,
                              overwrite=args.overwrite, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"{_fresh_line()}thermogrid demos: interrupted: the solved episodes are cached; run the same "
              "command to resume", file=sys.stderr)
        return _EXIT_INTERRUPTED
    print(f"wrote Minari dataset {dataset_id!r}: {dataset.total_episodes} episodes, {dataset.total_steps} steps "
          f"(load it with minari.load_dataset({dataset_id!r}))")
    return 0


def _add_sweep_parsers(sub: Any) -> None:
    swp = sub.add_parser("sweep", help="run a scenario x day (or seed) x controller grid on Ray, resumable",
                         description="Run every cell (one controller on one episode of one scenario) of the grid "
                                     "that --out does not hold yet on Ray (local with --workers, or a cluster "
                                     "with --address) and append one row per cell to the Parquet dataset in "
                                     "--out. Re-running computes only missing and failed cells. Needs the "
                                     "[scale] extra. Exit code 1 if a cell failed (it is recorded and retried "
                                     "by the next run). See docs/sweeps.md.")
    swp.add_argument("--scenarios", default="winter-high-der", help=f"comma-separated presets ({', '.join(PRESETS)})")
    swp.add_argument("--controllers", default="uncontrolled,rule_based,oracle",
                     help="comma-separated controller names (default %(default)s); scores need uncontrolled "
                          "and oracle")
    swp.add_argument("--episodes", type=int, default=1,
                     help="episodes per scenario, or per day with --days, >= 1 (default 1)")
    swp.add_argument("--seed", type=int, default=0,
                     help="seed of the first episode, >= 0 (default 0); with --days also the community seed")
    swp.add_argument("--days", metavar="START:END", default=None,
                     help="every calendar day of a range of 2016, e.g. 2016-01-01:2016-12-31, played midnight "
                          "to midnight local time (default: days sampled from each scenario's season by seed)")
    swp.add_argument("--workers", type=int, default=None,
                     help="CPUs of the local Ray (default: all cores); with --address, at most 2 x W cells in "
                          "flight")
    swp.add_argument("--address", default=None,
                     help="join this running Ray cluster (e.g. auto, ray://head:10001) instead of a local Ray")
    swp.add_argument("--out", required=True, help="dataset directory (created, or resumed if it holds a sweep)")
    swp.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true",
                     help="no progress bar on stderr")
    swp.set_defaults(func=_cmd_sweep)

    rep = sub.add_parser("report", help="annual totals per controller and scenario of a sweep, and a monthly plot",
                         description="Print the totals of a sweep per scenario and controller (transformer loss "
                                     "of life, losses, voltage violations, discomfort, EV energy missing, cost, "
                                     "mean score) and write DIR/_report/{annual,monthly}.csv and a PNG of the "
                                     "monthly totals.")
    rep.add_argument("dir", help="the --out directory of a sweep")
    rep.add_argument("--plot", default=None, help="PNG path (default DIR/_report/monthly.png)")
    rep.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    rep.set_defaults(func=_cmd_report)


# ----------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``thermogrid`` (subcommands compare, list, scenarios, powerflow, sweep, report, demos)."""
    parser = argparse.ArgumentParser(
        prog="thermogrid",
        description="ThermoGrid: LV feeder co-simulation with heat pumps, EVs and PV.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cmp = sub.add_parser("compare", help="run controllers on identical episodes and compare their KPIs",
                         description="Run controllers on identical episodes (episode i uses seed + i for every "
                                     "controller), print the KPI table, and replace --out with kpis.csv, "
                                     "timeseries.csv, plots and manifest.json (a complete new set, or the old "
                                     "one kept if interrupted).")
    cmp.add_argument("--scenario", default="winter-high-der", help=f"preset ({', '.join(PRESETS)})")
    cmp.add_argument("--episodes", type=int, default=1, help="episodes per controller, >= 1 (default 1)")
    cmp.add_argument("--controllers", default="uncontrolled,rule_based",
                     help="comma-separated controller names; the first is the reference (default %(default)s)")
    cmp.add_argument("--seed", type=int, default=0, help="seed of the first episode, >= 0 (default 0)")
    cmp.add_argument("--out", default="thermogrid-results",
                     help="output directory, replaced as a whole by the new results (default %(default)s)")
    cmp.add_argument("--jobs", type=int, default=1,
                     help="worker processes running the episodes in parallel, >= 1 (default 1)")
    cmp.add_argument("--no-plots", action="store_true", help="do not write PNG figures")
    cmp.add_argument("--plot-episodes", default="0", metavar="SEL",
                     help="episodes to plot: all, an index, a list (0,2) or a range (0-2) (default %(default)s)")
    cmp.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true",
                     help="no progress on stderr (default: progress of the episodes and plots)")
    cmp.set_defaults(func=_cmd_compare)

    lst = sub.add_parser("list", help="list the installed controllers, shipped feeders or scenario presets",
                         description="List the controllers (entry-point group thermogrid.controllers, not "
                                     "imported), the shipped feeders or the scenario presets.")
    lst.add_argument("what", choices=sorted(_LISTS), help="what to list")
    lst.set_defaults(func=_cmd_list)

    scn = sub.add_parser("scenarios", help="list the scenario presets (same as: list scenarios)",
                         description="List the scenario presets with their key settings.")
    scn.set_defaults(func=_cmd_list, what="scenarios")

    pf = sub.add_parser("powerflow", help="power flow of a feeder's base load over a real day",
                        description="Solve the AC power flow of the feeder's own loads (SimBench profiles, "
                                    "no heat pumps, EVs or PV) for every step of a day of 2016.")
    pf.add_argument("--feeder", default="simbench-semiurb4", help="shipped feeder name (default %(default)s)")
    pf.add_argument("--day", default="2016-01-15", help="local date in 2016 (default %(default)s)")
    pf.add_argument("--dt-s", type=int, default=900, help="step [s], dividing 900 (default 900)")
    pf.set_defaults(func=_cmd_powerflow)
    _add_sweep_parsers(sub)

    dem = sub.add_parser("demos", help="oracle demonstrations on training days as a Minari dataset ([offline])",
                         description="Solve the oracle on the episodes reset(seed=SEED + i), i < EPISODES "
                                     "(training seeds only), play its actions through the environment and "
                                     "store them as a Minari dataset (observations, actions, rewards, step "
                                     "KPIs in the infos; reference scores uncontrolled/oracle). Solved "
                                     "episodes are cached, so an interrupted run resumes.")
    dem.add_argument("--scenario", default="winter-high-der", help=f"preset ({', '.join(PRESETS)})")
    dem.add_argument("--episodes", type=int, default=10, help="episodes, >= 1 (default %(default)s)")
    dem.add_argument("--seed", type=int, default=0, help="seed of the first episode, a training seed (default 0)")
    dem.add_argument("--dataset-id", default=None,
                     help="Minari dataset id (default thermogrid/<scenario>/oracle-v0)")
    dem.add_argument("--jobs", type=int, default=1, help="processes solving the oracle, >= 1 (default 1)")
    dem.add_argument("--overwrite", action="store_true", help="replace an existing dataset of that id")
    dem.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true", help="no progress bar")
    dem.set_defaults(func=_cmd_demos)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Args:
        argv: Arguments without the program name (default ``sys.argv[1:]``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        return int(args.func(args))
    except _UsageError as exc:
        print(f"thermogrid {args.command}: error: {exc}", file=sys.stderr)
        return _EXIT_USAGE
    except ThermoGridError as exc:
        print(f"thermogrid {args.command}: error: {exc}", file=sys.stderr)
        return _EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{_fresh_line()}thermogrid {args.command}: interrupted", file=sys.stderr)
        return _EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `thermogrid list feeders | head -3`: the reader went away
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return _EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
