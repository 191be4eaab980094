"""Write ``feeders_reference.npz``: pandapower power flows of every shipped SimBench feeder.

Independent reference for the shipped feeders (``thermogrid_env/data/feeders/*.json``): each
SimBench LV grid listed in :data:`thermogrid_env.network.FEEDERS` (source ``"SimBench <code>"``)
is loaded with ``simbench.get_simbench_net`` and solved with ``pandapower.runpp``
(Newton-Raphson, pi transformer model, ``tolerance_mva=1e-10``) in three cases. The test
``tests/test_feeders_simbench.py`` solves the *shipped* feeder with
:func:`thermogrid_env.physics.powerflow.solve` for the same cases (injections built from the
feeder's own loads by :func:`feeder_injections`, no pandapower needed) and compares; with
pandapower installed it also re-runs this module's cases live.

Cases (applied to a fresh copy of each net; the net's static generators are out of service):

* ``normal``: the net's own loads (``p_mw * scaling``);
* ``doubled``: every load doubled;
* ``reverse``: loads at 20 %, plus a rooftop PV static generator of :data:`PV_KW_PER_LOAD` kW
  (unity power factor) at the bus of every load: strong reverse flow through the transformer.

Stored per ``<feeder>__<case>__<quantity>``: ``bus_ids`` (pandapower bus index), ``vm_pu``,
``va_degree`` (slack angle 0, transformer phase shift included), ``p_slack_kw``,
``q_slack_kvar``, ``p_loss_kw`` (ext_grid active power minus the net bus injections); plus the
package versions used (``version__pandapower``, ``version__simbench``).

Run from the repository root (needs pandapower and simbench, the ``[data]`` extra)::

    python tests/data/make_feeders_reference.py
"""

from __future__ import annotations

import argparse
import copy
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from thermogrid_env.network import FEEDERS, Feeder  # noqa: E402

OUT_FILE = Path(__file__).with_name("feeders_reference.npz")
CASES = ("normal", "doubled", "reverse")
#: Load scaling of each case.
LOAD_FACTOR = {"normal": 1.0, "doubled": 2.0, "reverse": 0.2}
#: Rated power of the PV generator added at every load's bus in the ``reverse`` case [kW].
PV_KW_PER_LOAD = 8.0
#: runpp options: the pi transformer model (as from_pandapower), angles with phase shifts, a DC
#: initial guess (robust with the 150 degree shift of Dyn5 transformers), a tight tolerance.
RUNPP_KWARGS = dict(
    trafo_model="pi", calculate_voltage_angles=True, init="dc", tolerance_mva=1e-10,
    max_iteration=50,
)
#: Shipped SimBench feeders: name -> SimBench code.
SIMBENCH_FEEDERS: dict[str, str] = {
    name: source.removeprefix("SimBench ")
    for name, (source, _) in FEEDERS.items()
    if source.startswith("SimBench ")
}


def simbench_net(name: str) -> Any:
    """The SimBench net of a shipped feeder, as ``simbench`` gives it today."""
    import simbench  # noqa: PLC0415 - reference tooling only

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simbench.get_simbench_net(SIMBENCH_FEEDERS[name])


def make_case(net: Any, case: str) -> Any:
    """A copy of ``net`` with ``case`` applied."""
    import pandapower as pp  # noqa: PLC0415

    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; choose one of {CASES}")
    net = copy.deepcopy(net)
    net.sgen["in_service"] = False
    net.load["scaling"] = net.load["scaling"] * LOAD_FACTOR[case]
    if case == "reverse":
        for bus in net.load.bus[net.load.in_service]:
            pp.create_sgen(net, bus, p_mw=PV_KW_PER_LOAD / 1e3, q_mvar=0.0, name="pv")
    return net


def feeder_injections(feeder: Feeder, case: str) -> tuple[np.ndarray, np.ndarray]:
    """Net load per feeder bus [kW, kvar] of a case, consumption positive, from the feeder alone.

    The same injections as :func:`net_injections` of :func:`make_case` (the test checks it).
    """
    p = np.zeros(feeder.n_bus)
    q = np.zeros(feeder.n_bus)
    np.add.at(p, feeder.load_bus, feeder.load_p_kw * LOAD_FACTOR[case])
    np.add.at(q, feeder.load_bus, feeder.load_q_kvar * LOAD_FACTOR[case])
    if case == "reverse":
        np.add.at(p, feeder.load_bus, -PV_KW_PER_LOAD)
    return p, q


def net_injections(net: Any, feeder: Feeder) -> tuple[np.ndarray, np.ndarray]:
    """Net load per feeder bus [kW, kvar] of a pandapower net: loads minus static generators."""
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
        "q_slack_kvar": np.array(float(net.res_ext_grid.q_mvar.sum()) * 1e3),
        "p_loss_kw": np.array(p_slack_kw - p_inj_kw),
    }


def versions() -> dict[str, str]:
    """Versions of the packages that produced the reference."""
    import pandapower  # noqa: PLC0415
    import simbench  # noqa: PLC0415

    return {"pandapower": pandapower.__version__, "simbench": simbench.__version__}


def main() -> None:
    """Write :data:`OUT_FILE` (or ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="output .npz file")
    args = parser.parse_args()
    arrays: dict[str, np.ndarray] = {}
    for name in SIMBENCH_FEEDERS:
        base = simbench_net(name)
        for case in CASES:
            res = run_pandapower(make_case(base, case))
            for key, value in res.items():
                arrays[f"{name}__{case}__{key}"] = value
            print(
                f"{name:20s} {case:8s} buses={res['vm_pu'].size:4d} "
                f"vm=[{res['vm_pu'].min():.4f}, {res['vm_pu'].max():.4f}] "
                f"loss={float(res['p_loss_kw']):9.4f} kW slack={float(res['p_slack_kw']):9.3f} kW"
            )
    for key, value in versions().items():
        arrays[f"version__{key}"] = np.array(value)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
