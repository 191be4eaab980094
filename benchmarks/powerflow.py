"""Power-flow speed: ThermoGrid's DistFlow sweep (numba and numpy kernels) vs ``pandapower.runpp``.

Feeders (all radial LV nets, converted with :func:`thermogrid_env.network.from_pandapower`):

* ``semiurb4``: the default feeder, SimBench ``1-LV-semiurb4--0-sw`` (44 buses);
* ``kerber-vorstadt``: pandapower's Kerber Vorstadtnetz Kabel 1 (294 buses);
* ``ieee-eu-lv``: the IEEE European LV test feeder
  (``pandapower.networks.ieee_european_lv_asymmetric("on_peak_566")``, 907 buses) as a *balanced
  equivalent*: every asymmetric (single-phase) load becomes a symmetric three-phase load of the
  same total P and Q at its bus (the asymmetric loads are removed); lines and the transformer keep
  their positive-sequence data (the zero-sequence data is unused).

Snapshots: the feeder's nominal loads times a random factor in [0.5, 1.5] per bus and snapshot
(seeded). Modes: ``single`` (one snapshot per call, the environment's step) and ``batched``
(``--batch`` snapshots in one call, e.g. a day-ahead evaluation); times are per snapshot, medians
over the repeats. pandapower has no batch mode: its column is the median ``runpp`` time of one
snapshot (its default ``trafo_model="t"``, as ``from_pandapower``'s default; angles with the DC
initial guess, default tolerance), measured in the same run. "numba" is the default (serial)
kernel, "numba parallel" the same with ``parallel=True`` over numba's threads (helps only when
cores are idle). Speed-up = pandapower
time / numba time. The last column checks that both solvers agree.
BLAS is limited to one thread unless ``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` are set.

A second table times the robustness paths on pandapower's Kerber overhead-line Landnetz
(``create_kerber_landnetz_freileitung_1``, 15 buses) with every load scaled: 5.28x (near the nose
point of the PV curve: the sweep stops after ``max_iter`` sweeps and the Newton-Raphson fallback
finishes) and 20x (no solution: the time until ``PowerFlowDiverged`` is raised), one snapshot per
call.

Usage::

    python benchmarks/powerflow.py            # full run (about 20-40 s)
    python benchmarks/powerflow.py --quick    # smoke run: default feeder, tiny repeat counts
"""

from __future__ import annotations

import os

# One BLAS thread (unless the caller chose): the numpy kernel's matrix products are too small to
# gain from BLAS threads, and OpenBLAS's spin-waiting idle workers steal the cores that numba's
# threads need for the batched sweep (measured: 8 instead of 1.1 µs per snapshot on 2 cores).
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

from thermogrid_env.network import Feeder, from_pandapower  # noqa: E402
from thermogrid_env.physics import powerflow  # noqa: E402
from thermogrid_env.physics.powerflow import PowerFlowSolver  # noqa: E402

FEEDERS = ("semiurb4", "kerber-vorstadt", "ieee-eu-lv")
STRESS_FACTORS = {"near the nose (5.28x load)": 5.28, "no solution (20x load)": 20.0}


def load_net(name: str) -> Any:
    """The pandapower net of a benchmark feeder (see the module docstring)."""
    import pandapower as pp  # noqa: PLC0415
    import pandapower.networks as pn  # noqa: PLC0415

    if name == "semiurb4":
        import simbench  # noqa: PLC0415

        net = simbench.get_simbench_net("1-LV-semiurb4--0-sw")
        net.sgen["in_service"] = False
        return net
    if name == "kerber-vorstadt":
        import random  # noqa: PLC0415

        random.seed(2016)  # its branch-out cable types are drawn from the global `random`
        return pn.create_kerber_vorstadtnetz_kabel_1()
    if name == "ieee-eu-lv":
        net = pn.ieee_european_lv_asymmetric("on_peak_566")
        asym = net.asymmetric_load[net.asymmetric_load.in_service]
        for _, row in asym.iterrows():
            pp.create_load(
                net, row.bus,
                p_mw=(row.p_a_mw + row.p_b_mw + row.p_c_mw) * row.scaling,
                q_mvar=(row.q_a_mvar + row.q_b_mvar + row.q_c_mvar) * row.scaling,
            )
        net.asymmetric_load = net.asymmetric_load.iloc[0:0]
        return net
    raise ValueError(f"unknown feeder {name!r}; choose from {FEEDERS}")


def snapshots(net: Any, feeder: Feeder, n: int, seed: int = 0):
    """``(n, n_bus)`` bus loads [kW, kvar] (nominal loads times U(0.5, 1.5) per bus and
    snapshot) and the ``(n, n_bus)`` factors."""
    p0, q0 = np.zeros(feeder.n_bus), np.zeros(feeder.n_bus)
    on = net.load[net.load.in_service]
    idx = np.array([feeder.bus_index(b) for b in on.bus])
    np.add.at(p0, idx, on.p_mw.to_numpy(float) * on.scaling.to_numpy(float) * 1e3)
    np.add.at(q0, idx, on.q_mvar.to_numpy(float) * on.scaling.to_numpy(float) * 1e3)
    factor = np.random.default_rng(seed).uniform(0.5, 1.5, (n, feeder.n_bus))
    return p0 * factor, q0 * factor, factor


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls [s] (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_pandapower(net: Any, feeder: Feeder, factor: np.ndarray, v_pu: np.ndarray, repeat: int):
    """Median ``runpp`` time per snapshot [s] over snapshots ``1..repeat`` (snapshot 0 warms
    up), and the max |dv| against our voltages ``v_pu`` of the same snapshots [pu]."""
    import pandapower as pp  # noqa: PLC0415

    on = net.load.index[net.load.in_service]
    base_p = net.load.loc[on, "p_mw"].to_numpy(float).copy()
    base_q = net.load.loc[on, "q_mvar"].to_numpy(float).copy()
    load_bus = np.array([feeder.bus_index(b) for b in net.load.loc[on, "bus"]])
    times, max_dv = [], 0.0
    for k in range(repeat + 1):
        net.load.loc[on, "p_mw"] = base_p * factor[k, load_bus]
        net.load.loc[on, "q_mvar"] = base_q * factor[k, load_bus]
        t0 = time.perf_counter()
        pp.runpp(net, calculate_voltage_angles=True, init="dc")
        if k > 0:
            times.append(time.perf_counter() - t0)
        res = net.res_bus.dropna()
        idx = np.array([feeder.bus_index(b) for b in res.index])
        max_dv = max(max_dv, float(np.abs(res.vm_pu.to_numpy() - v_pu[k, idx]).max()))
    net.load.loc[on, "p_mw"], net.load.loc[on, "q_mvar"] = base_p, base_q
    return statistics.median(times), max_dv


def bench_feeder(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = load_net(name)
        feeder = from_pandapower(net, name)
        p, q, factor = snapshots(net, feeder, max(args.batch, args.repeat_pp + 1))
        v_pu = PowerFlowSolver(feeder).solve(p[: args.repeat_pp + 1], q[: args.repeat_pp + 1]).v_pu
        t_pp, max_dv = run_pandapower(net, feeder, factor, v_pu, args.repeat_pp)
    solvers = {"numpy": PowerFlowSolver(feeder, backend="numpy")}
    if powerflow.HAS_NUMBA:
        solvers["numba"] = PowerFlowSolver(feeder, backend="numba")
        solvers["numba-parallel"] = PowerFlowSolver(feeder, backend="numba", parallel=True)
    rows = []
    for mode in ("single", f"batched {args.batch}"):
        row: dict[str, Any] = {"feeder": name, "n_bus": feeder.n_bus, "mode": mode}
        for key, solver in solvers.items():
            if mode == "single":
                if key == "numba-parallel":
                    continue  # one snapshot never runs in parallel
                repeat = args.repeat if key == "numba" else max(3, args.repeat // 50)
                t = median_time(lambda s=solver: s.solve(p[0], q[0]), repeat)
            else:
                pb, qb = p[: args.batch], q[: args.batch]
                repeat = args.repeat_batch if key != "numpy" else max(1, args.repeat_batch // 5)
                t = median_time(lambda s=solver: s.solve(pb, qb), repeat) / args.batch
            row[key] = t
        row["pandapower"] = t_pp
        row["max_dv"] = max_dv
        rows.append(row)
    return rows


def bench_stress(repeat: int) -> list[dict[str, Any]]:
    """Median time per call [s] of the fallback paths (see the module docstring)."""
    import random  # noqa: PLC0415

    import pandapower.networks as pn  # noqa: PLC0415

    from thermogrid_env.errors import PowerFlowDiverged  # noqa: PLC0415

    random.seed(2016)  # its branch-out cable types are drawn from the global `random`
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = pn.create_kerber_landnetz_freileitung_1()
        feeder = from_pandapower(net, "kerber-landnetz-freileitung")
    on = net.load[net.load.in_service]
    idx = np.array([feeder.bus_index(b) for b in on.bus])
    p0, q0 = np.zeros(feeder.n_bus), np.zeros(feeder.n_bus)
    np.add.at(p0, idx, on.p_mw.to_numpy(float) * on.scaling.to_numpy(float) * 1e3)
    np.add.at(q0, idx, on.q_mvar.to_numpy(float) * on.scaling.to_numpy(float) * 1e3)
    backends = ["numba", "numpy"] if powerflow.HAS_NUMBA else ["numpy"]
    rows = []
    for case, factor in STRESS_FACTORS.items():
        row: dict[str, Any] = {"feeder": feeder.name, "n_bus": feeder.n_bus, "case": case}
        for key in backends:
            solver = PowerFlowSolver(feeder, backend=key)

            def call(s: PowerFlowSolver = solver, x: float = factor) -> str:
                try:
                    return f"{int(s.solve(x * p0, x * q0).iterations)} iterations"
                except PowerFlowDiverged:
                    return "PowerFlowDiverged"

            row["outcome"] = call()
            row[key] = median_time(call, repeat)
        rows.append(row)
    return rows


def print_stress_table(rows: list[dict[str, Any]]) -> None:
    print("\n| feeder | n_bus | case | outcome | numba [µs/snapshot] | numpy [µs/snapshot] |")
    print("|---|---:|---|---|---:|---:|")
    for r in rows:
        numba = f"{r['numba'] * 1e6:,.0f}" if "numba" in r else "–"
        print(f"| {r['feeder']} | {r['n_bus']} | {r['case']} | {r['outcome']} | {numba} | "
              f"{r['numpy'] * 1e6:,.0f} |")


def print_table(rows: list[dict[str, Any]]) -> None:
    def us(v: float | None) -> str:
        return "–" if v is None else f"{v * 1e6:,.1f}"

    print("| feeder | n_bus | mode | numba [µs/snapshot] | numba parallel [µs/snapshot] | "
          "numpy [µs/snapshot] | pandapower runpp [ms/snapshot] | speed-up (pandapower / numba) "
          "| max abs dv vs pandapower [pu] |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ours = r.get("numba") or r["numpy"]
        print(
            f"| {r['feeder']} | {r['n_bus']} | {r['mode']} | {us(r.get('numba'))} | "
            f"{us(r.get('numba-parallel'))} | {us(r['numpy'])} | {r['pandapower'] * 1e3:.2f} | "
            f"{r['pandapower'] / ours:,.0f}x | {r['max_dv']:.1e} |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeders", nargs="+", choices=FEEDERS, default=None,
                        help="feeders to run (default: all; --quick: semiurb4)")
    parser.add_argument("--batch", type=int, default=1000, help="snapshots per batched call")
    parser.add_argument("--repeat", type=int, default=2000, help="single-snapshot repeats")
    parser.add_argument("--repeat-batch", type=int, default=15, help="batched-call repeats")
    parser.add_argument("--repeat-pp", type=int, default=20, help="pandapower runpp repeats")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: default feeder, batch 20, a few repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.feeders = args.feeders or ["semiurb4"]
        args.batch, args.repeat, args.repeat_batch, args.repeat_pp = 20, 5, 2, 2
    feeders = args.feeders or list(FEEDERS)
    import pandapower  # noqa: PLC0415

    threads = powerflow._numba.get_num_threads() if powerflow.HAS_NUMBA else 0
    print(
        f"# Power flow benchmark (Python {platform.python_version()}, numpy {np.__version__}, "
        f"numba {getattr(powerflow._numba, '__version__', 'n/a')} with {threads} threads, "
        f"pandapower {pandapower.__version__}, {platform.machine()})\n"
    )
    rows = []
    for name in feeders:
        rows += bench_feeder(name, args)
        print(f"  done: {name}", file=sys.stderr, flush=True)
    print_table(rows)
    print_stress_table(bench_stress(repeat=5 if args.quick else 50))


if __name__ == "__main__":
    main()
