"""Write ``powerflow_reference.npz``: pandapower power-flow results that ThermoGrid must reproduce.

Independent reference for :mod:`thermogrid_env.physics.powerflow`: five radial LV nets (two
SimBench grids, two Kerber and one Dickert network from ``pandapower.networks``), each in three
cases, solved with ``pandapower.runpp`` at a tight tolerance. The test
``tests/test_powerflow_pandapower.py`` imports this module for the same nets and cases, converts
them with :func:`thermogrid_env.network.from_pandapower` and compares.

Cases (applied to a fresh copy of each net):

* ``normal``: the net's own loads (``p_mw * scaling``), its static generators out of service;
* ``doubled``: every load doubled, static generators out of service;
* ``reverse``: loads at 20 %, plus a rooftop PV static generator of :data:`PV_KW_PER_LOAD` kW
  (unity power factor) at the bus of every load: strong reverse flow through the transformer.

Stored per ``<net>__<case>__<quantity>``: ``bus_ids`` (pandapower bus index), ``vm_pu``,
``va_degree`` (slack angle 0, transformer phase shift included), ``p_loss_kw`` (ext_grid
active power minus the net bus injections), ``p_slack_kw``; plus the package versions used.

Run from the repository root (needs pandapower and simbench, i.e. the ``[dev]`` extra)::

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
#: runpp options: the pi transformer model (as from_pandapower), angles with phase shifts, a DC
#: initial guess (a flat start fails with the 150 degree shift) and a tight tolerance.
RUNPP_KWARGS = dict(
    trafo_model="pi", calculate_voltage_angles=True, init="dc", tolerance_mva=1e-10,
    max_iteration=50,
)


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


def make_case(net: Any, case: str) -> Any:
    """Apply a case to the net in place (and return it)."""
    import pandapower as pp  # noqa: PLC0415

    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; choose one of {CASES}")
    net.sgen["in_service"] = False
    if case == "doubled":
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
        net = NETWORKS[name]() if base is None else copy.deepcopy(base)
        return make_case(net, case)


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


def run_pandapower(net: Any) -> dict[str, np.ndarray]:
    """Solve with ``pandapower.runpp`` (:data:`RUNPP_KWARGS`); results by pandapower bus id."""
    import pandapower as pp  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, **RUNPP_KWARGS)
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
    for name in NETWORKS:
        for case in CASES:
            res = run_pandapower(load_case(name, case))
            for key, value in res.items():
                arrays[f"{name}__{case}__{key}"] = value
            print(
                f"{name:30s} {case:8s} buses={res['vm_pu'].size:4d} "
                f"vm=[{res['vm_pu'].min():.4f}, {res['vm_pu'].max():.4f}] "
                f"loss={float(res['p_loss_kw']):9.4f} kW slack={float(res['p_slack_kw']):9.3f} kW"
            )
    for key, value in versions().items():
        arrays[f"version__{key}"] = np.array(value)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
