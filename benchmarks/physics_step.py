"""Cost of one physics step of many devices: 3R2C houses with heat pumps, EVs, PV, transformer.

Prints a markdown table of median wall time per call (over repeated timing runs) for N houses
(3R2C + heat pump: COP, power limit, ZOH step), N EVs (availability, charger and battery limits)
and N PV systems (curtailment, inverter circle), and their sum, with ``scipy.integrate.solve_ivp``
of the same N houses over the same step as the reference measured in the same run.

Usage::

    python benchmarks/physics_step.py            # N = 1000
    python benchmarks/physics_step.py --n 100 10000 --repeat 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit

import numpy as np
from scipy.integrate import solve_ivp

from thermogrid_env.physics import building, ev, heat_pump, pv, transformer

DT_S = 900.0


def _median_us(fn, number: int, repeat: int) -> float:
    times = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e6


def bench(n: int, repeat: int) -> list[tuple[str, float]]:
    """Median µs per call of each part for ``n`` devices."""
    rng = np.random.default_rng(0)
    params, _ = building.sample_house_params(rng, n)
    model = building.discretize(params, DT_S)
    hp = heat_pump.HeatPumpParams(p_rated_el_kw=heat_pump.size_heat_pump(params.design_heat_load_kw()))
    sessions = ev.sample_sessions(rng, n, 96, DT_S, start_hour=12.0)
    soc = ev.initial_soc(sessions)
    pvp = pv.sample_pv(rng, n)
    trafo = transformer.TransformerThermalParams.onan_distribution(400.0)
    trafo_state = transformer.initial_state(trafo, 0.0, 0.5)
    t_i, t_e = np.full(n, 21.0), np.full(n, 18.0)
    p_set = rng.uniform(0, 1, n) * hp.p_rated_el_kw
    ev_set = rng.uniform(0, 11, n)
    curtail, q_set = np.zeros(n), np.zeros(n)
    t_a, q_int, g = 2.0, rng.uniform(0.2, 0.8, n), 150.0
    step = 30  # evening: most EVs plugged in

    def houses() -> None:
        p = heat_pump.clip_power(hp, p_set)
        q_hp = heat_pump.heat_output_kw(hp, p, t_a)
        model.step(t_i, t_e, t_a, q_hp, q_int, g)

    def evs() -> None:
        ev.ev_step(sessions, soc, ev_set, step, DT_S)

    def pvs() -> None:
        pv.dispatch(pvp, pv.available_power_kw(pvp, 0.4), curtail, q_set)

    def trafo_step() -> None:
        transformer.step(trafo, trafo_state, 0.8, t_a, DT_S)

    def houses_and_evs() -> None:
        houses()
        evs()

    def all_devices() -> None:
        houses()
        evs()
        pvs()
        trafo_step()

    number = max(1, 20000 // max(n, 1))
    rows = [(f"{n} houses (3R2C + HP)", _median_us(houses, number, repeat)),
            (f"{n} EVs", _median_us(evs, number, repeat)),
            (f"{n} PV systems", _median_us(pvs, number, repeat)),
            ("1 transformer (IEC 60076-7, 900 s)", _median_us(trafo_step, number, repeat)),
            (f"{n} houses + {n} EVs (issue target for 1000: <= 50 µs)", _median_us(houses_and_evs, number, repeat)),
            ("all of the above", _median_us(all_devices, number, repeat))]

    a_c, b_c = building.continuous_matrices(params)  # per hour
    u = np.stack([np.full(n, t_a), heat_pump.heat_output_kw(hp, p_set, t_a), q_int, np.full(n, g)], axis=1)

    def rhs(_t: float, x: np.ndarray) -> np.ndarray:
        xs = x.reshape(n, 2)
        return (np.einsum("nij,nj->ni", a_c, xs) + np.einsum("nij,nj->ni", b_c, u)).ravel()

    def ivp() -> None:
        solve_ivp(rhs, (0.0, DT_S / 3600.0), np.column_stack([t_i, t_e]).ravel(), rtol=1e-8, atol=1e-8)

    rows.append((f"reference: solve_ivp of the {n} houses, one step", _median_us(ivp, 1, max(3, repeat // 2))))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    print("| part | median µs per step | vs solve_ivp |")
    print("|---|---:|---:|")
    for n in args.n:
        rows = bench(n, args.repeat)
        ref = rows[-1][1]
        for name, us in rows:
            print(f"| {name} | {us:,.1f} | {ref / us:,.0f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
