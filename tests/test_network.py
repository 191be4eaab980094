"""Feeder model and the pandapower converter: per-unit data, topology, switches, validation."""

from __future__ import annotations

import dataclasses
import functools
import warnings

import numpy as np
import pytest

from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.network import FEEDERS, Feeder, from_pandapower, load_feeder
from thermogrid_env.network.from_pandapower import PandapowerImportWarning

try:
    import pandapower as pp
except ImportError:  # pragma: no cover - depends on the environment
    pp = None
needs_pandapower = pytest.mark.skipif(pp is None, reason="pandapower not installed")


# --------------------------------------------------------------------------- a hand-made feeder
def _feeder(**changes) -> Feeder:
    """slack -- trafo -- bus 1 -- line -- bus 2, bus 1 -- line -- bus 3 (load on 2 and 3)."""
    kwargs = dict(
        name="hand",
        parent=[-1, 0, 1, 1],
        bus_ids=[10, 11, 12, 13],
        bus_names=["mv", "lv", "a", "b"],
        v_base_kv=[20.0, 0.4, 0.4, 0.4],
        s_base_kva=1000.0,
        v_slack_pu=1.0,
        g_bus_pu=np.zeros(4),
        b_bus_pu=np.zeros(4),
        v_min_pu=np.full(4, 0.9),
        v_max_pu=np.full(4, 1.1),
        r_pu=[0.01, 0.1, 0.2],
        x_pu=[0.04, 0.05, 0.1],
        g_from_pu=np.zeros(3),
        b_from_pu=np.zeros(3),
        tap_ratio=np.ones(3),
        shift_deg=[150.0, 0.0, 0.0],
        i_max_a=[577.0, 270.0, np.inf],
        s_max_kva=[400.0, np.inf, np.inf],
        is_transformer=[True, False, False],
        load_bus=[2, 3],
        load_p_kw=[5.0, 7.0],
        load_q_kvar=[1.0, 0.0],
        load_profile=["H0-A", "G1-B"],
        load_is_household=[True, False],
    )
    kwargs.update(changes)
    return Feeder(**kwargs)


def test_feeder_derived_quantities() -> None:
    f = _feeder()
    assert (f.n_bus, f.n_branch, f.n_load) == (4, 3, 2)
    np.testing.assert_array_equal(f.from_bus, [0, 1, 1])
    np.testing.assert_array_equal(f.to_bus, [1, 2, 3])
    np.testing.assert_array_equal(f.depth, [0, 1, 2, 2])
    np.testing.assert_allclose(f.z_base_ohm, [400.0, 0.16, 0.16, 0.16])
    np.testing.assert_allclose(f.r_ohm, [0.0016, 0.016, 0.032])
    np.testing.assert_allclose(f.i_base_a[1], 1000.0 / (np.sqrt(3) * 0.4))
    assert f.transformer_branch == 0 and f.transformer_rating_kva == 400.0
    assert f.bus_index(12) == 2
    with pytest.raises(ConfigError, match="99"):
        f.bus_index(99)
    np.testing.assert_array_equal(f.load_injection_matrix() @ np.ones(4), [1.0, 1.0])
    assert not f.r_pu.flags.writeable  # immutable arrays


def test_feeder_dict_and_json_round_trip(tmp_path) -> None:
    f = _feeder()
    g = Feeder.from_dict(f.to_dict())
    path = tmp_path / "f.json"
    f.save_json(path)
    h = Feeder.load_json(path)
    for other in (g, h):
        for fld in dataclasses.fields(Feeder):
            a, b = getattr(f, fld.name), getattr(other, fld.name)
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b, err_msg=fld.name)
                assert a.dtype == b.dtype, fld.name
            else:
                assert a == b, fld.name
    assert np.isinf(h.i_max_a[2]) and np.isinf(h.s_max_kva[1])


def test_feeder_to_side_shunt_defaults_to_the_from_side() -> None:
    """A symmetric pi unless given; feeders saved before the field existed load the same."""
    f = _feeder(g_from_pu=[1e-3, 2e-4, 0.0], b_from_pu=[-2e-3, 3e-4, 1e-4])
    np.testing.assert_array_equal(f.g_to_pu, f.g_from_pu)
    np.testing.assert_array_equal(f.b_to_pu, f.b_from_pu)
    old = {k: v for k, v in f.to_dict().items() if k not in ("g_to_pu", "b_to_pu")}
    assert Feeder.from_dict(old).to_dict() == f.to_dict()
    g = _feeder(g_to_pu=[5e-4, 0.0, 0.0], b_to_pu=np.zeros(3))
    assert g.g_to_pu[0] == 5e-4 and not g.g_to_pu.flags.writeable


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"parent": [-1, 0, 3, 1]}, "topological"),
        ({"parent": [0, 0, 1, 1]}, "topological"),
        ({"r_pu": [0.01, -0.1, 0.2]}, "r_pu must be >= 0"),
        ({"r_pu": [0.01, 0.1]}, r"r_pu must have shape \(3,\)"),
        ({"v_base_kv": [20.0, 0.4, 0.4]}, r"v_base_kv must have shape \(4,\)"),
        ({"bus_names": ["a", "b"]}, "bus_names"),
        ({"load_p_kw": [5.0]}, "load_p_kw"),
        ({"load_bus": [2, 4]}, "load_bus"),
        ({"r_pu": [0.01, 0.0, 0.2], "x_pu": [0.04, 0.0, 0.1]}, r"zero-impedance.*\[2\]"),
        ({"x_pu": [0.04, np.nan, 0.1]}, "x_pu must be finite"),
        ({"g_to_pu": [0.0, 0.0]}, r"g_to_pu must have shape \(3,\)"),
        ({"b_to_pu": [0.0, np.inf, 0.0]}, "b_to_pu must be finite"),
        ({"tap_ratio": [0.0, 1.0, 1.0]}, "tap_ratio must be > 0"),
        ({"v_min_pu": np.full(4, 1.2)}, "v_min_pu must be < v_max_pu"),
        ({"v_max_pu": [1.1, np.nan, 1.1, 1.1]}, "v_max_pu must be finite"),
        ({"bus_ids": [10, 11, 11, 13]}, "bus_ids must be unique"),
        ({"bus_lookup": {10: 0, 11: 7}}, "bus_lookup"),
        ({"s_base_kva": 0.0}, "s_base_kva"),
        ({"parent": [-1]}, "at least 2 buses"),
    ],
)
def test_feeder_validation(changes, match) -> None:
    with pytest.raises(ConfigError, match=match):
        _feeder(**changes)


def test_load_feeder_unknown_name_lists_known() -> None:
    with pytest.raises(ConfigError, match="simbench-semiurb4"):
        load_feeder("no-such-feeder")


def test_load_feeder_default_if_shipped() -> None:
    try:
        f = load_feeder()
    except DataError:
        pytest.skip("shipped feeder data not built yet (scripts/build_data.py)")
    assert f.name in FEEDERS and f.n_bus == 44 and f.n_load == 41
    assert int(f.load_is_household.sum()) == 32
    assert f.transformer_rating_kva == pytest.approx(400.0)


# --------------------------------------------------------------------------- from_pandapower

def _net(bus_index_offset: int = 0):
    """ext_grid -- 20/0.4 kV trafo -- lv -- 200 m NAYY 4x150 -- a (with a 5 kW load)."""
    net = pp.create_empty_network(sn_mva=1.0)
    o = bus_index_offset
    mv = pp.create_bus(net, 20.0, name="mv", index=o + 0)
    lv = pp.create_bus(net, 0.4, name="lv", index=o + 1)
    a = pp.create_bus(net, 0.4, name="a", index=o + 2)
    pp.create_ext_grid(net, mv, vm_pu=1.02)
    pp.create_transformer(net, mv, lv, "0.4 MVA 20/0.4 kV")
    pp.create_line(net, lv, a, 0.2, "NAYY 4x150 SE")
    pp.create_load(net, a, p_mw=0.005, q_mvar=0.001)
    return net


@needs_pandapower
def test_from_pandapower_three_bus_parameters() -> None:
    net = _net(bus_index_offset=100)
    f = from_pandapower(net, "three", trafo_model="pi")
    assert f.n_bus == 3 and f.name == "three"
    np.testing.assert_array_equal(f.parent, [-1, 0, 1])
    np.testing.assert_array_equal(f.bus_ids, [100, 101, 102])
    assert f.bus_names == ("mv", "lv", "a")
    np.testing.assert_allclose(f.v_base_kv, [20.0, 0.4, 0.4])
    assert f.s_base_kva == 1000.0 and f.v_slack_pu == 1.02
    # Line: 0.2 km of 0.208 + j0.08 ohm/km on z_base = 0.4^2 / 1 MVA = 0.16 ohm.
    np.testing.assert_allclose([f.r_ohm[1], f.x_ohm[1]], [0.0416, 0.016], rtol=1e-12)
    np.testing.assert_allclose([f.r_pu[1], f.x_pu[1]], [0.0416 / 0.16, 0.016 / 0.16], rtol=1e-12)
    b_line = 2 * np.pi * 50 * 261e-9 * 0.2 * 0.16  # total charging [pu]
    np.testing.assert_allclose(f.b_from_pu[1], b_line / 2, rtol=1e-9)
    assert f.i_max_a[1] == pytest.approx(270.0) and not f.is_transformer[1]
    # Transformer: vk = 6 %, vkr = 1.425 % on 0.4 MVA -> on 1 MVA, referred to the LV side.
    z_pu, r_tr = 0.06 / 0.4, 0.01425 / 0.4
    np.testing.assert_allclose(f.r_pu[0], r_tr, rtol=1e-9)
    np.testing.assert_allclose(f.x_pu[0], np.sqrt(z_pu**2 - r_tr**2), rtol=1e-9)
    np.testing.assert_allclose(f.r_ohm[0], r_tr * 0.16, rtol=1e-9)
    assert f.is_transformer[0] and f.s_max_kva[0] == pytest.approx(400.0)
    assert f.i_max_a[0] == pytest.approx(400.0 / (np.sqrt(3) * 0.4))
    assert f.tap_ratio[0] == pytest.approx(1.0) and f.shift_deg[0] == pytest.approx(150.0)
    # pi model: magnetising branch (pfe 1.35 kW, i0 0.3375 %) split over both sides.
    g_fe = 1.35e-3 / 1.0
    assert f.g_from_pu[0] == pytest.approx(g_fe / 2, rel=1e-9)
    assert f.g_bus_pu[1] == pytest.approx(g_fe / 2, rel=1e-9)
    assert f.b_from_pu[0] < 0
    # Load
    np.testing.assert_array_equal(f.load_bus, [2])
    np.testing.assert_allclose([f.load_p_kw[0], f.load_q_kvar[0]], [5.0, 1.0])
    assert f.load_profile == ("",) and not f.load_is_household[0]
    assert f.bus_lookup == {100: 0, 101: 1, 102: 2}


@needs_pandapower
def test_from_pandapower_t_model_is_the_exact_wye_delta_of_the_t_circuit() -> None:
    """Default trafo_model="t": the T circuit (z/2, magnetising y, z/2) becomes the pi with
    z_t = z + z^2 y / 4 and equal end shunts (z/2) / (z^2/4 + z/y); lines are unchanged."""
    net = _net()
    f_pi = from_pandapower(net, trafo_model="pi")
    f_t = from_pandapower(net)
    z = f_pi.r_pu[0] + 1j * f_pi.x_pu[0]
    y = 2 * (f_pi.g_from_pu[0] + 1j * f_pi.b_from_pu[0])  # the whole magnetising admittance
    z_t = z + z * z * y / 4
    y_end = (z / 2) / (z * z / 4 + z / y)
    np.testing.assert_allclose([f_t.r_pu[0], f_t.x_pu[0]], [z_t.real, z_t.imag], rtol=1e-12)
    np.testing.assert_allclose(f_t.g_from_pu[0] + 1j * f_t.b_from_pu[0], y_end, rtol=1e-12)
    np.testing.assert_allclose(f_t.g_bus_pu[1] + 1j * f_t.b_bus_pu[1], y_end, rtol=1e-12)
    for name in ("r_pu", "x_pu", "g_from_pu", "b_from_pu"):
        np.testing.assert_array_equal(getattr(f_t, name)[1:], getattr(f_pi, name)[1:])
    assert abs(z_t - z) > 1e-6 * abs(z)  # the models really differ
    with pytest.raises(ConfigError, match=r"trafo_model must be one of \('t', 'pi'\)"):
        from_pandapower(net, trafo_model="T")


@needs_pandapower
def test_from_pandapower_tap_position() -> None:
    net = _net()
    net.trafo.loc[0, "tap_pos"] = 2
    f = from_pandapower(net)
    assert f.tap_ratio[0] == pytest.approx(1.05)


@needs_pandapower
def test_from_pandapower_s_base_override_scales_impedances_and_shunts() -> None:
    net = _net()
    f = from_pandapower(net)
    g = from_pandapower(net, s_base_kva=100.0)
    assert g.s_base_kva == 100.0
    np.testing.assert_allclose(g.r_ohm, f.r_ohm, rtol=1e-12)
    np.testing.assert_allclose(g.x_pu, f.x_pu / 10, rtol=1e-12)
    for name in ("g_bus_pu", "b_bus_pu", "g_from_pu", "b_from_pu"):
        np.testing.assert_allclose(getattr(g, name), getattr(f, name) * 10, rtol=1e-12)


@needs_pandapower
def test_from_pandapower_topological_order_and_loads_on_deep_buses() -> None:
    net = _net()
    # Build a small tree off bus "a" (index 2) with non-sorted creation order.
    b5 = pp.create_bus(net, 0.4, index=5)
    b3 = pp.create_bus(net, 0.4, index=3)
    b4 = pp.create_bus(net, 0.4, index=4)
    pp.create_line(net, b3, b5, 0.1, "NAYY 4x150 SE")  # b5 hangs below b3
    pp.create_line(net, 2, b4, 0.1, "NAYY 4x150 SE")
    pp.create_line(net, b3, 2, 0.1, "NAYY 4x150 SE")  # reversed orientation
    pp.create_load(net, b5, p_mw=0.002)
    f = from_pandapower(net)
    np.testing.assert_array_equal(f.bus_ids, [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(f.parent, [-1, 0, 1, 2, 2, 3])
    assert all(f.parent[k] < k for k in range(1, f.n_bus))
    np.testing.assert_array_equal(f.load_bus, [2, 5])


@needs_pandapower
def test_from_pandapower_fuses_closed_bus_bus_switch() -> None:
    net = _net()
    b = pp.create_bus(net, 0.4, name="busbar")
    pp.create_switch(net, 2, b, et="b", closed=True)
    pp.create_load(net, b, p_mw=0.003)
    f = from_pandapower(net)
    assert f.n_bus == 3
    assert f.bus_index(b) == f.bus_index(2) == 2
    np.testing.assert_array_equal(f.bus_ids, [0, 1, 2])  # the smallest id represents the group
    np.testing.assert_array_equal(f.load_bus, [2, 2])


@needs_pandapower
def test_from_pandapower_open_bus_bus_switch_disconnects() -> None:
    net = _net()
    b = pp.create_bus(net, 0.4)
    pp.create_switch(net, 2, b, et="b", closed=False)
    with pytest.raises(ConfigError, match=rf"disconnected.*\[{b}\]"):
        from_pandapower(net)


def _looped_net():
    """_net plus bus c fed from lv AND from a: a loop lv - a - c."""
    net = _net()
    c = pp.create_bus(net, 0.4, name="c")
    l1 = pp.create_line(net, 1, c, 0.1, "NAYY 4x150 SE")
    l2 = pp.create_line(net, 2, c, 0.3, "NAYY 4x150 SE")
    pp.create_load(net, c, p_mw=0.004)
    return net, c, l1, l2


@needs_pandapower
def test_from_pandapower_meshed_net_names_loop_buses() -> None:
    net, c, _, _ = _looped_net()
    with pytest.raises(ConfigError, match=rf"meshed.*\[1, 2, {c}\]"):
        from_pandapower(net)


@needs_pandapower
def test_from_pandapower_open_line_switch_makes_it_radial() -> None:
    net, c, _, l2 = _looped_net()
    pp.create_switch(net, c, l2, et="l", closed=False)
    f = from_pandapower(net)
    assert f.n_bus == 4
    assert f.parent[f.bus_index(c)] == f.bus_index(1)
    # The open line still hangs on bus a: its charging is folded into a's shunt.
    b_stub = 2 * np.pi * 50 * 261e-9 * 0.3 * 0.16
    ref = from_pandapower(_net())
    assert f.b_bus_pu[f.bus_index(2)] - ref.b_bus_pu[2] == pytest.approx(b_stub, rel=1e-4)


@needs_pandapower
def test_from_pandapower_out_of_service_line_dropped() -> None:
    net, c, _, l2 = _looped_net()
    net.line.loc[l2, "in_service"] = False
    f = from_pandapower(net)
    assert f.n_bus == 4 and f.n_branch == 3
    ref = from_pandapower(_net())
    assert f.b_bus_pu[f.bus_index(2)] == pytest.approx(ref.b_bus_pu[2])


@needs_pandapower
def test_from_pandapower_isolated_bus_raises_or_is_dropped() -> None:
    net = _net()
    iso = pp.create_bus(net, 0.4, name="island")
    pp.create_load(net, iso, p_mw=0.001)
    with pytest.raises(ConfigError, match=rf"disconnected.*\[{iso}\].*drop_isolated"):
        from_pandapower(net)
    with pytest.warns(UserWarning, match=rf"\[{iso}\].*1 loads"):
        f = from_pandapower(net, drop_isolated=True)
    assert f.n_bus == 3 and f.n_load == 1
    with pytest.raises(ConfigError):
        f.bus_index(iso)


@needs_pandapower
def test_from_pandapower_out_of_service_bus_is_ignored() -> None:
    net = _net()
    oos = pp.create_bus(net, 0.4, in_service=False)
    pp.create_load(net, oos, p_mw=0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: it was switched off on purpose
        f = from_pandapower(net)
    assert f.n_bus == 3 and f.n_load == 1


@needs_pandapower
def test_from_pandapower_out_of_service_load_and_scaling() -> None:
    net = _net()
    pp.create_load(net, 2, p_mw=0.010, in_service=False)
    net.load.loc[0, "scaling"] = 0.5
    f = from_pandapower(net)
    np.testing.assert_allclose(f.load_p_kw, [2.5])


@needs_pandapower
@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda net: pp.create_ext_grid(net, 2), "exactly one in-service ext_grid"),
        (lambda net: net.ext_grid.__setitem__("in_service", False), "exactly one"),
        (lambda net: pp.create_gen(net, 2, p_mw=0.01), "net.gen"),
        (lambda net: pp.create_ward(net, 2, 0.01, 0.0, 0.0, 0.0), "net.ward"),
        (
            lambda net: pp.create_transformer3w(
                net, 0, 1, pp.create_bus(net, 10.0), "63/25/38 MVA 110/20/10 kV"
            ),
            "3-winding",
        ),
    ],
)
@needs_pandapower
def test_from_pandapower_unsupported(mutate, match) -> None:
    net = _net()
    mutate(net)
    with pytest.raises(ConfigError, match=match):
        from_pandapower(net)


@needs_pandapower
def test_from_pandapower_transformer_fed_from_tap_side_raises() -> None:
    net = _net()
    net.ext_grid.loc[0, "bus"] = 2  # slack on the LV feeder end: the trafo is fed from LV
    net.trafo.loc[0, "tap_pos"] = 1
    with pytest.raises(ConfigError, match="tap side"):
        from_pandapower(net)


@needs_pandapower
def test_from_pandapower_does_not_modify_the_net() -> None:
    net = _net()
    before = {k: net[k].copy() for k in ("bus", "line", "trafo", "load", "switch")}
    lookups = dict(net.get("_pd2ppc_lookups", {}))
    from_pandapower(net)
    for k, table in before.items():
        assert net[k].equals(table), k
    assert dict(net.get("_pd2ppc_lookups", {})).keys() == lookups.keys()


@functools.lru_cache(maxsize=None)
def _simbench_net(code: str):
    """A SimBench net, loaded once per test session (from_pandapower does not modify it)."""
    sb = pytest.importorskip("simbench")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sb.get_simbench_net(code)


@needs_pandapower
def test_from_pandapower_simbench_default_feeder() -> None:
    net = _simbench_net("1-LV-semiurb4--0-sw")
    with pytest.warns(PandapowerImportWarning, match=r"net\.sgen: 1 in-service"):
        f = from_pandapower(net, "simbench-semiurb4")
    assert (f.n_bus, f.n_load, int(f.load_is_household.sum())) == (44, 41, 32)
    assert f.transformer_rating_kva == pytest.approx(400.0)
    assert f.is_transformer.sum() == 1 and f.is_transformer[0]
    assert set(f.bus_lookup) == set(net.bus.index)  # every bus id maps (switch-fused ones too)
    assert f.bus_ids[0] == net.ext_grid.bus.iloc[0]
    np.testing.assert_allclose(f.load_p_kw.sum(), 1e3 * (net.load.p_mw * net.load.scaling).sum())


@needs_pandapower
@pytest.mark.parametrize("name", sorted(FEEDERS))
def test_shipped_feeder_equals_fresh_conversion(name) -> None:
    """The shipped JSON is what from_pandapower makes of the SimBench net today."""
    pytest.importorskip("simbench")
    try:
        shipped = load_feeder(name)
    except DataError:
        pytest.skip("shipped feeder data not built yet (scripts/build_data.py)")
    net = _simbench_net(FEEDERS[name][0].removeprefix("SimBench "))
    # The shipped feeders were built with the pi transformer model; SimBench's PV is not imported.
    with pytest.warns(PandapowerImportWarning, match=r"net\.sgen: \d+ in-service static gen"):
        fresh = from_pandapower(net, name, trafo_model="pi")
    assert shipped.to_dict() == fresh.to_dict()


# --------------------------------------------------------------------------- what is not imported
@needs_pandapower
@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda net: [pp.create_sgen(net, 2, p_mw=0.004) for _ in range(2)],
         r"net\.sgen: 2 in-service static generators ignored; pass them to the power flow as "
         r"negative bus loads"),
        (lambda net: pp.create_storage(net, 2, p_mw=0.003, max_e_mwh=0.01),
         r"net\.storage: 1 in-service storage units ignored; .*charging positive"),
        (lambda net: pp.create_asymmetric_load(net, 2, p_a_mw=0.002),
         r"net\.asymmetric_load: 1 in-service asymmetric loads ignored; the feeder model is "
         r"balanced"),
        (lambda net: pp.create_asymmetric_sgen(net, 2, p_a_mw=0.002),
         r"net\.asymmetric_sgen: 1 in-service asymmetric static generators ignored"),
        (lambda net: pp.create_motor(net, 2, pn_mech_mw=0.005, cos_phi=0.9),
         r"net\.motor: 1 in-service motors ignored"),
        (lambda net: net.load.__setitem__("const_z_p_percent", 30.0),
         r"net\.load: 1 loads have constant-impedance/current shares \(const_z_p_percent.*"
         r"imported as constant power"),
    ],
)
def test_from_pandapower_warns_about_what_it_does_not_import(mutate, match) -> None:
    net = _net()
    mutate(net)
    with pytest.warns(PandapowerImportWarning, match=match) as record:
        f = from_pandapower(net, "warned")
    assert len(record) == 1 and issubclass(record[0].category, UserWarning)
    assert str(record[0].message).startswith("warned: not imported: ")
    assert record[0].filename == __file__  # points at the caller
    np.testing.assert_allclose(f.load_p_kw, [5.0])  # the loads themselves are imported


@needs_pandapower
def test_from_pandapower_lists_every_ignored_table_in_one_warning() -> None:
    net = _net()
    pp.create_sgen(net, 2, p_mw=0.004)
    pp.create_storage(net, 1, p_mw=0.003, max_e_mwh=0.01)
    with pytest.warns(PandapowerImportWarning) as record:
        from_pandapower(net)
    assert len(record) == 1
    assert "net.sgen: 1 in-service" in str(record[0].message)
    assert "net.storage: 1 in-service" in str(record[0].message)


@needs_pandapower
def test_from_pandapower_out_of_service_elements_and_shunts_do_not_warn() -> None:
    net = _net()
    pp.create_sgen(net, 2, p_mw=0.004, in_service=False)
    pp.create_storage(net, 2, p_mw=0.003, max_e_mwh=0.01, in_service=False)
    pp.create_shunt(net, 2, q_mvar=0.001)  # imported (into the bus shunt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = from_pandapower(net)
    assert f.b_bus_pu[2] == pytest.approx(-0.001 / 1.0 + from_pandapower(_net()).b_bus_pu[2])
