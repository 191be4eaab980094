"""Write ``powerflow_reference.npz``: pandapower power-flow results that ThermoGrid must reproduce.

Independent reference for :mod:`thermogrid_env.physics.powerflow`: five radial LV nets (two
SimBench grids, two Kerber and one Dickert network from ``pandapower.networks``), each in three
cases and with both transformer models of ``runpp`` (``"pi"`` and pandapower's default ``"t"``),
solved with ``pandapower.runpp`` at a tight tolerance. The test
``tests/test_powerflow_pandapower.py`` imports this module for the same nets and cases, converts
them with :func:`thermogrid_env.network.from_pandapower` (same ``trafo_model``) and compares.

Cases (applied to a fresh copy of each net):

* ``normal``: the net's own loads (``p_mw * scaling``), its static generators out of service;
* ``doubled``: every load doubled, static generators out of service;
* ``reverse``: loads at 20 %, plus a rooftop PV static generator of :data:`PV_KW_PER_LOAD` kW
  (unity power factor) at the bus of every load: strong reverse flow through the transformer.

Stress cases near the nose point of the PV curve (where the sweep alone needs hundreds of
sweeps; tests/test_powerflow_robust.py):

* ``kerber-landnetz-freileitung-1`` (pandapower's Kerber overhead-line Landnetz) with its loads
  scaled by :data:`STRESS_SCALES` (``x5.26`` ...; the nose is at about 5.31x);
* ``rural-winter-high-der``: the bus loads of the shipped ``simbench-rural2`` feeder in scenario
  ``winter-high-der-rural`` (environment ``ThermoGrid-winter-high-der-rural-v0``, seed 0, every
  heat pump and EV at full power, every PV inverter at full reactive absorption) at the first step
  of the day whose power flow has no solution (:func:`rural_stress_snapshot`); stored as
  ``rural-winter-high-der__{bus_ids,p_kw,q_kvar}`` (feeder bus order), with the ``runpp``
  solution (``"pi"``, as the shipped feeder) of that snapshot scaled by
  :data:`RURAL_SNAPSHOT_SCALE` (just below the nose) as case ``x0.995``.

Stored per ``<net>__<case>__<trafo model>__<quantity>``: ``bus_ids`` (pandapower bus index),
``vm_pu``, ``va_degree`` (slack angle 0, transformer phase shift included), ``p_loss_kw``
(ext_grid active power minus the net bus injections), ``p_slack_kw``; plus the package versions
used.

Run from the repository root (needs pandapower and simbench, i.e. the ``[dev]`` extra; the rural
snapshot also needs the environment, i.e. gymnasium and the shipped data)::

    python tests/data/make_powerflow_reference.py
"""

from __future__ import annotations

import argparse
import copy
import random
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

OUT_FILE = Path(__file__).with_name("powerflow_reference.npz")
PV_KW_PER_LOAD = 8.0
NET_SEED = 2016  # for pandapower's randomised Kerber nets (see _pandapower_network)
CASES = ("normal", "doubled", "reverse")
#: Transformer models of runpp (and of from_pandapower): pandapower's default "t" and "pi".
TRAFO_MODELS = ("pi", "t")
#: runpp options besides trafo_model: angles with phase shifts, a DC initial guess (a flat start
#: fails with the 150 degree shift) and a tight tolerance (near the nose point the voltages are
#: only as accurate as the mismatch tolerance times the large inverse Jacobian).
RUNPP_KWARGS = dict(
    calculate_voltage_angles=True, init="dc", tolerance_mva=1e-12, max_iteration=50,
)
#: Load factors of the Kerber overhead-line stress cases (case names "x<factor>").
STRESS_SCALES = (5.26, 5.28, 5.30)
STRESS_NET = "kerber-landnetz-freileitung-1"
RURAL = "rural-winter-high-der"
RURAL_SNAPSHOT_SCALE = 0.995


def _simbench(code: str) -> Callable[[], Any]:
    def make() -> Any:
        import simbench  # noqa: PLC0415

        return simbench.get_simbench_net(code)

    return make


def _pandapower_network(function: str, **kwargs: Any) -> Callable[[], Any]:
    def make() -> Any:
        import pandapower.networks as pn  # noqa: PLC0415

        # The Kerber generators draw branch-out cable types from Python's global `random`:
        # seed it for a reproducible net, and leave the caller's random state as it was.
        state = random.getstate()
        random.seed(NET_SEED)
        try:
            return getattr(pn, function)(**kwargs)
        finally:
            random.setstate(state)

    return make


#: Short name -> factory of a fresh pandapower net.
NETWORKS: dict[str, Callable[[], Any]] = {
    "simbench-semiurb4": _simbench("1-LV-semiurb4--0-sw"),  # the default feeder
    "simbench-rural2": _simbench("1-LV-rural2--0-sw"),
    "kerber-landnetz-kabel-1": _pandapower_network("create_kerber_landnetz_kabel_1"),
    "kerber-vorstadtnetz-kabel-1": _pandapower_network("create_kerber_vorstadtnetz_kabel_1"),
    "dickert-middle-cohl-multiple": _pandapower_network(
        "create_dickert_lv_network", feeders_range="middle", linetype="C&OHL",
        customer="multiple", case="average",
    ),
}
#: Nets used only in the stress cases.
STRESS_NETWORKS: dict[str, Callable[[], Any]] = {
    STRESS_NET: _pandapower_network("create_kerber_landnetz_freileitung_1"),
}


def stress_case(factor: float) -> str:
    """Name of the case with every load scaled by ``factor`` (``"x5.28"``)."""
    return f"x{factor:g}"


def make_case(net: Any, case: str) -> Any:
    """Apply a case to the net in place (and return it); ``"x<factor>"`` scales every load."""
    import pandapower as pp  # noqa: PLC0415

    if case not in CASES and not case.startswith("x"):
        raise ValueError(f"unknown case {case!r}; choose one of {CASES} or 'x<factor>'")
    net.sgen["in_service"] = False
    if case.startswith("x"):
        net.load["scaling"] = net.load["scaling"] * float(case[1:])
    elif case == "doubled":
        net.load["scaling"] = net.load["scaling"] * 2.0
    elif case == "reverse":
        net.load["scaling"] = net.load["scaling"] * 0.2
        for bus in net.load.bus[net.load.in_service]:
            pp.create_sgen(net, bus, p_mw=PV_KW_PER_LOAD / 1e3, q_mvar=0.0, name="pv")
    return net


def load_case(name: str, case: str, base: Any = None) -> Any:
    """A fresh copy of network ``name`` (or of ``base``, the same net built earlier) with ``case``
    applied."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        factory = NETWORKS.get(name) or STRESS_NETWORKS[name]
        net = factory() if base is None else copy.deepcopy(base)
        return make_case(net, case)


def rural_stress_snapshot() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bus loads [kW, kvar] (and pandapower bus ids) of the shipped rural feeder at the first step
    of ``ThermoGrid-winter-high-der-rural-v0`` (seed 0; heat pumps and EVs at full power, PV at
    full reactive absorption) whose power flow has no solution.

    The loads are recorded from the environment's own solver calls (however the environment then
    handles the failure); needs gymnasium and the shipped data.
    """
    import gymnasium as gym  # noqa: PLC0415

    import thermogrid_env  # noqa: F401, PLC0415 - registers the environments
    from thermogrid_env.errors import PowerFlowDiverged  # noqa: PLC0415
    from thermogrid_env.physics.powerflow import solve  # noqa: PLC0415

    env = gym.make("ThermoGrid-winter-high-der-rural-v0").unwrapped
    env.reset(seed=0)
    action = np.ones(env.action_space.shape, dtype=env.action_space.dtype)
    action[-env.action_spec.n_pv:] = -1.0  # full reactive absorption
    solver = env.simulator.powerflow
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    solve_step = solver.solve

    def record(p_kw: np.ndarray, q_kvar: np.ndarray | None = None) -> Any:
        seen.append((np.array(p_kw, dtype=float), np.array(q_kvar, dtype=float)))
        return solve_step(p_kw, q_kvar)

    solver.solve = record  # on this instance only
    feeder = solver.feeder
    for _ in range(96):
        try:
            env.step(action)
        except PowerFlowDiverged:
            pass
        p_kw, q_kvar = seen[-1]
        try:
            solve(feeder, p_kw, q_kvar)
        except PowerFlowDiverged:
            return feeder.bus_ids.copy(), p_kw, q_kvar
    raise RuntimeError("every power flow of the first day has a solution: no stress snapshot")


def rural_net(bus_ids: np.ndarray, p_kw: np.ndarray, q_kvar: np.ndarray) -> Any:
    """SimBench ``1-LV-rural2--0-sw`` with its loads, generators and storage replaced by one load
    per bus of the given bus loads [kW, kvar]."""
    import pandapower as pp  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = NETWORKS["simbench-rural2"]()
    for table in ("load", "sgen", "storage"):
        net[table] = net[table].iloc[0:0]
    for bus, p, q in zip(bus_ids.tolist(), p_kw.tolist(), q_kvar.tolist()):
        if p or q:
            pp.create_load(net, bus, p_mw=p / 1e3, q_mvar=q / 1e3)
    return net


def bus_injections(net: Any, feeder: Any) -> tuple[np.ndarray, np.ndarray]:
    """Net load per feeder bus [kW, kvar], consumption positive: loads minus static generators."""
    p = np.zeros(feeder.n_bus)
    q = np.zeros(feeder.n_bus)
    for table, sign in ((net.load, 1.0), (net.sgen, -1.0)):
        on = table[table.in_service]
        idx = np.array([feeder.bus_index(b) for b in on.bus], dtype=np.int64)
        scale = on.scaling.to_numpy(float) * 1e3 * sign
        np.add.at(p, idx, on.p_mw.to_numpy(float) * scale)
        np.add.at(q, idx, on.q_mvar.to_numpy(float) * scale)
    return p, q


def run_pandapower(net: Any, trafo_model: str = "t") -> dict[str, np.ndarray]:
    """Solve with ``pandapower.runpp`` (:data:`RUNPP_KWARGS`, ``trafo_model``); results by
    pandapower bus id."""
    import pandapower as pp  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, trafo_model=trafo_model, **RUNPP_KWARGS)
    res = net.res_bus.dropna()
    p_inj_kw = 1e3 * (
        (net.load.p_mw * net.load.scaling)[net.load.in_service].sum()
        - (net.sgen.p_mw * net.sgen.scaling)[net.sgen.in_service].sum()
    )
    p_slack_kw = float(net.res_ext_grid.p_mw.sum()) * 1e3
    return {
        "bus_ids": res.index.to_numpy(np.int64),
        "vm_pu": res.vm_pu.to_numpy(float),
        "va_degree": res.va_degree.to_numpy(float),
        "p_slack_kw": np.array(p_slack_kw),
        "p_loss_kw": np.array(p_slack_kw - p_inj_kw),
    }


def versions() -> dict[str, str]:
    import pandapower  # noqa: PLC0415
    import simbench  # noqa: PLC0415

    return {"pandapower": pandapower.__version__, "simbench": simbench.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="output .npz file")
    args = parser.parse_args()
    arrays: dict[str, np.ndarray] = {}

    def store(name: str, case: str, model: str, res: dict[str, np.ndarray]) -> None:
        for key, value in res.items():
            arrays[f"{name}__{case}__{model}__{key}"] = value
        print(
            f"{name:30s} {case:8s} {model:2s} buses={res['vm_pu'].size:4d} "
            f"vm=[{res['vm_pu'].min():.4f}, {res['vm_pu'].max():.4f}] "
            f"loss={float(res['p_loss_kw']):9.4f} kW slack={float(res['p_slack_kw']):9.3f} kW"
        )

    cases = [(name, case) for name in NETWORKS for case in CASES]
    cases += [(STRESS_NET, stress_case(x)) for x in STRESS_SCALES]
    for name, case in cases:
        for model in TRAFO_MODELS:
            store(name, case, model, run_pandapower(load_case(name, case), model))
    bus_ids, p_kw, q_kvar = rural_stress_snapshot()
    arrays.update({f"{RURAL}__bus_ids": bus_ids, f"{RURAL}__p_kw": p_kw,
                   f"{RURAL}__q_kvar": q_kvar})
    x = RURAL_SNAPSHOT_SCALE
    rural = rural_net(bus_ids, x * p_kw, x * q_kvar)
    store(RURAL, stress_case(x), "pi", run_pandapower(rural, "pi"))
    for key, value in versions().items():
        arrays[f"version__{key}"] = np.array(value)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
