"""The shipped SimBench feeders: every SimBench LV grid, its summary, radiality, households,
agreement with pandapower, and a preset per feeder that runs in the environment.

Power-flow validation: ``tests/data/make_feeders_reference.py`` wrote pandapower ``runpp``
results (Newton-Raphson, pi transformer model, ``tolerance_mva=1e-10``) of every shipped SimBench
feeder at normal load, doubled load and strong PV reverse flow to
``tests/data/feeders_reference.npz``. The shipped feeders must reproduce them to 1e-9 pu in the
complex bus voltage (so in magnitude and angle), without pandapower. With pandapower and simbench
installed, the reference is also re-computed live for the feeders added after the first two
(``simbench-semiurb4`` and ``simbench-rural2`` are re-run live in
``tests/test_powerflow_pandapower.py``).
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from thermogrid_env import datasets
from thermogrid_env.config import PRESETS
from thermogrid_env.network import FEEDERS, load_feeder
from thermogrid_env.network.library import FEEDER_TABLE_COLUMNS, feeder_table
from thermogrid_env.physics.powerflow import solve

V_TOL_PU = 1e-9  # complex bus voltage, magnitude and angle
LOSS_RTOL = 1e-7
#: The feeders this issue added, with their computed facts: buses, loads, households, kVA.
NEW_FEEDERS = {
    "simbench-rural1": (15, 13, 3, 160.0),
    "simbench-rural3": (129, 118, 113, 400.0),
    "simbench-semiurb5": (111, 104, 92, 630.0),
    "simbench-urban6": (59, 111, 102, 630.0),
}
#: One winter high-DER preset per new feeder (as ``winter-high-der-rural`` for rural2).
NEW_PRESETS = {
    "winter-high-der-rural1": "simbench-rural1",
    "winter-high-der-rural3": "simbench-rural3",
    "winter-high-der-semiurb5": "simbench-semiurb5",
    "winter-high-der-urban6": "simbench-urban6",
}
HOUSEHOLD = re.compile(r"H0-[A-Z]")
REPO = Path(__file__).resolve().parents[1]


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REF = _module(REPO / "tests" / "data" / "make_feeders_reference.py", "make_feeders_reference")
SIMBENCH = sorted(REF.SIMBENCH_FEEDERS)
CASE_IDS = [(name, case) for name in SIMBENCH for case in REF.CASES]


@pytest.fixture(scope="module")
def stored() -> dict[str, np.ndarray]:
    with np.load(REF.OUT_FILE) as data:
        return {key: data[key] for key in data.files}


def _stored_case(stored: dict, name: str, case: str) -> dict[str, np.ndarray]:
    prefix = f"{name}__{case}__"
    return {k[len(prefix):]: v for k, v in stored.items() if k.startswith(prefix)}


def _errors(feeder, p, q, ref: dict) -> tuple[float, float]:
    """Max complex voltage error [pu] and relative loss error of our solution against ``ref``."""
    res = solve(feeder, p, q)
    idx = np.array([feeder.bus_index(b) for b in ref["bus_ids"]])
    v_ref = ref["vm_pu"] * np.exp(1j * np.deg2rad(ref["va_degree"]))
    dv = float(np.abs(res.v_complex_pu[idx] - v_ref).max())
    dloss = abs(float(res.p_loss_kw) / float(ref["p_loss_kw"]) - 1.0)
    return dv, dloss


# ---------------------------------------------------------------------------------- catalog
def test_every_simbench_lv_grid_ships() -> None:
    """The six SimBench LV grids (rural 1-3, semi-urban 4-5, urban 6; no semiurb3 exists)."""
    shipped = {source.removeprefix("SimBench ") for source, _ in FEEDERS.values()}
    assert {
        "1-LV-rural1--0-sw", "1-LV-rural2--0-sw", "1-LV-rural3--0-sw",
        "1-LV-semiurb4--0-sw", "1-LV-semiurb5--0-sw", "1-LV-urban6--0-sw",
    } <= shipped
    simbench = pytest.importorskip("simbench")
    codes = {c for c in simbench.collect_all_simbench_codes() if re.fullmatch(r"1-LV-.*--0-sw", c)}
    assert codes <= shipped


@pytest.mark.parametrize("name", sorted(FEEDERS))
def test_feeder_loads_and_is_radial(name: str) -> None:
    feeder = load_feeder(name)
    assert feeder.name == name and load_feeder(name) is feeder  # cached
    assert feeder.n_branch == feeder.n_bus - 1
    assert feeder.parent[0] == -1 and np.all(feeder.parent[1:] < np.arange(1, feeder.n_bus))
    assert np.all(feeder.depth[1:] >= 1)  # every bus reached from the slack
    # One substation transformer, right below the slack; everything else is a line.
    assert feeder.is_transformer.sum() == 1 and feeder.transformer_branch == 0
    np.testing.assert_allclose(feeder.v_base_kv[1:], 0.4)  # LV side: 0.4 kV


@pytest.mark.parametrize("name", sorted(NEW_FEEDERS))
def test_new_feeder_facts(name: str) -> None:
    n_bus, n_load, n_household, kva = NEW_FEEDERS[name]
    feeder = load_feeder(name)
    assert (feeder.n_bus, feeder.n_load, int(feeder.load_is_household.sum())) == (
        n_bus, n_load, n_household,
    )
    assert feeder.transformer_rating_kva == kva


def test_feeder_table_rows() -> None:
    table = feeder_table()
    assert tuple(table.columns) == FEEDER_TABLE_COLUMNS
    assert list(table["name"]) == list(FEEDERS)
    for row in table.itertuples(index=False):
        feeder = load_feeder(row.name)
        assert (row.source, row.description) == FEEDERS[row.name]
        assert (row.buses, row.loads, row.households) == (
            feeder.n_bus, feeder.n_load, int(feeder.load_is_household.sum()),
        )
        assert row.transformer_kva == feeder.transformer_rating_kva
        assert 0.3 < row.line_length_km < 3.0  # SimBench LV grids: 0.56 to 2.35 km
    table.loc[0, "buses"] = -1  # a copy: the cached table is not changed
    assert feeder_table().loc[0, "buses"] > 0


def test_descriptions_are_computed_by_the_build_script() -> None:
    build = _module(REPO / "scripts" / "build_data.py", "build_data")
    assert set(build.FEEDER_CODES) == set(FEEDERS)
    for name, code in build.FEEDER_CODES.items():
        source, description = FEEDERS[name]
        assert source == f"SimBench {code}"
        assert description == build.feeder_description(code, load_feeder(name))


# ---------------------------------------------------------------------------------- households
@pytest.mark.parametrize("name", sorted(FEEDERS))
def test_households_are_the_h0_loads(name: str) -> None:
    feeder = load_feeder(name)
    expected = [HOUSEHOLD.fullmatch(p) is not None for p in feeder.load_profile]
    np.testing.assert_array_equal(feeder.load_is_household, expected)
    assert feeder.load_is_household.sum() > 0  # no shipped feeder without households
    household = set(datasets.load_profiles("household").columns)
    commercial = set(datasets.load_profiles("commercial").columns)
    for profile, is_household in zip(feeder.load_profile, feeder.load_is_household):
        assert profile in (household if is_household else commercial)


def test_rural1_is_mostly_agricultural() -> None:
    feeder = load_feeder("simbench-rural1")
    others = [p for p, hh in zip(feeder.load_profile, feeder.load_is_household) if not hh]
    assert sorted(set(others)) == ["L1-A", "L2-A"] and len(others) == 10


# ---------------------------------------------------------------------------------- power flow
def test_reference_covers_every_simbench_feeder(stored) -> None:
    for name, case in CASE_IDS:
        ref = _stored_case(stored, name, case)
        assert set(ref) == {"bus_ids", "vm_pu", "va_degree", "p_slack_kw", "q_slack_kvar",
                            "p_loss_kw"}
        assert set(ref["bus_ids"].tolist()) == set(load_feeder(name).bus_lookup)
    for name in SIMBENCH:  # the reverse case really reverses the transformer flow
        assert float(_stored_case(stored, name, "reverse")["p_slack_kw"]) < 0


@pytest.mark.parametrize(("name", "case"), CASE_IDS)
def test_shipped_feeder_matches_stored_pandapower(stored, name: str, case: str) -> None:
    feeder = load_feeder(name)
    p, q = REF.feeder_injections(feeder, case)
    ref = _stored_case(stored, name, case)
    dv, dloss = _errors(feeder, p, q, ref)
    assert dv <= V_TOL_PU and dloss <= LOSS_RTOL, (dv, dloss)
    res = solve(feeder, p, q)
    assert float(res.p_slack_kw) == pytest.approx(float(ref["p_slack_kw"]), rel=1e-9)
    assert float(res.q_slack_kvar) == pytest.approx(float(ref["q_slack_kvar"]), rel=1e-7)


@pytest.fixture(scope="module")
def live_nets() -> dict:
    """New feeder name -> its SimBench net as simbench gives it today."""
    pytest.importorskip("pandapower")
    pytest.importorskip("simbench")
    return {name: REF.simbench_net(name) for name in NEW_FEEDERS}


@pytest.mark.parametrize("name", sorted(NEW_FEEDERS))
def test_new_feeder_matches_live_pandapower(live_nets, stored, name: str) -> None:
    import networkx as nx  # noqa: PLC0415 - a pandapower dependency
    import pandapower.topology as top  # noqa: PLC0415
    from thermogrid_env.network import from_pandapower  # noqa: PLC0415

    net = live_nets[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
    assert nx.is_tree(graph)  # radial as SimBench gives it (no switch to open)
    assert set(graph.nodes) == set(net.bus.index[net.bus.in_service])
    shipped = load_feeder(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SimBench's own PV (sgen) is not imported: the scenario places PV
        fresh = from_pandapower(net, name, trafo_model="pi")  # the shipped feeders' transformer model
    assert shipped.to_dict() == fresh.to_dict()
    length = net.line.length_km[net.line.in_service].sum()
    assert feeder_table().set_index("name").line_length_km[name] == pytest.approx(length, abs=1e-4)
    for case in REF.CASES:
        case_net = REF.make_case(net, case)
        p, q = REF.feeder_injections(shipped, case)
        np.testing.assert_allclose((p, q), REF.net_injections(case_net, shipped), atol=1e-9)
        now = REF.run_pandapower(case_net)
        ref = _stored_case(stored, name, case)
        np.testing.assert_array_equal(now["bus_ids"], ref["bus_ids"])
        np.testing.assert_allclose(now["vm_pu"], ref["vm_pu"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(now["va_degree"], ref["va_degree"], rtol=0, atol=1e-7)
        dv, dloss = _errors(shipped, p, q, now)
        assert dv <= V_TOL_PU and dloss <= LOSS_RTOL, (case, dv, dloss)


# ---------------------------------------------------------------------------------- presets
def test_every_new_feeder_has_a_winter_high_der_preset() -> None:
    reference = PRESETS["winter-high-der-rural"]
    for preset, feeder in NEW_PRESETS.items():
        scenario = PRESETS[preset]
        assert (scenario.name, scenario.feeder, scenario.season) == (preset, feeder, "winter")
        assert (scenario.hp_share, scenario.ev_share, scenario.pv_share) == (1.0, 0.9, 0.6)
        assert scenario.dt_s == reference.dt_s and scenario.episode_days == reference.episode_days


@pytest.mark.parametrize("preset", sorted(NEW_PRESETS))
def test_new_preset_resets_and_steps(preset: str) -> None:
    gym = pytest.importorskip("gymnasium")
    import thermogrid_env  # noqa: F401, PLC0415 - registers the ids
    from thermogrid_env.envs import env_ids  # noqa: PLC0415
    from thermogrid_env.sim.community import device_counts  # noqa: PLC0415

    env_id = f"ThermoGrid-{preset}-v0"
    assert env_ids()[env_id] == preset
    assert min(device_counts(PRESETS[preset])) > 0  # every feeder gets HPs, EVs and PV
    env = gym.make(env_id)
    try:
        obs, _ = env.reset(seed=0)
        assert env.observation_space.contains(obs)
        env.action_space.seed(0)
        for _ in range(3):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            assert env.observation_space.contains(obs)
            assert np.isfinite(reward) and not terminated and not truncated
            assert "kpi" in info
    finally:
        env.close()
