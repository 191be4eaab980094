"""The OPF's objective is the cost model's: per-meter billing, the terms and their weights, empty groups."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_line_feeder
from thermogrid_env.config import RewardWeights
from thermogrid_env.opf import EVInputs, HouseInputs, OPFData, PVInputs, solve_opf
from thermogrid_env.opf.synthetic import example_data
from thermogrid_env.physics.ev import EVSessions
from thermogrid_env.physics.pv import PVParams
from thermogrid_env.sim import costs
from thermogrid_env.sim.devices import EVFleet, PVSystems

PRICE, FEED_IN = 0.3, 0.08


def _two_households(per_meter: bool) -> OPFData:
    """Two households on bus 1 for one hour: household 0 (2 kW base) with 10 kW of PV, household 1
    (5 kW base) with an EV that needs 4.5 kWh in the battery (5 kW from the grid at 90 %)."""
    f = make_line_feeder(2, r_pu=0.01, x_pu=0.005, load_bus=(1, 1))
    meter = np.array([[2.0, 5.0]])
    pv = PVSystems(load=[0], bus=[1], params=PVParams(p_peak_kwp=[10.0], s_inverter_kva=[10.0]))
    sessions = EVSessions(arrival_step=[0], departure_step=[1], capacity_kwh=[60.0], soc_arrival=[10.0 / 60.0],
                          soc_target=[14.5 / 60.0], p_max_kw=[11.0], efficiency=[0.9])
    fleet = EVFleet(load=[1], bus=[1], sessions=sessions)
    evs = EVInputs(fleet=fleet, start_step=0, n_periods=1, e_init_kwh=[10.0], e_target_kwh=[14.5],
                   deadline_step=[1])
    return OPFData(feeder=f, dt_s=3600.0, base_p_kw=meter @ f.load_injection_matrix(), base_q_kvar=np.zeros((1, 2)),
                   t_ambient_c=[10.0], price_import_eur_per_kwh=[PRICE], price_export_eur_per_kwh=[FEED_IN],
                   meter_p_kw=meter if per_meter else None, evs=evs,
                   pvs=PVInputs(group=pv, p_avail_kw=[[10.0]], q_control=False))


def test_energy_is_billed_per_meter_not_netted_at_the_bus():
    sol = solve_opf(_two_households(per_meter=True))
    # the PV runs flat out (export earns, curtailment costs) and the EV takes exactly its need
    assert sol.pv_p_kw[0, 0] == pytest.approx(10.0, abs=1e-6)
    assert sol.ev_p_kw[0, 0] == pytest.approx(5.0, abs=1e-6)
    np.testing.assert_allclose(sol.meter_p_kw, [[2.0 - 10.0, 5.0 + 5.0]], atol=1e-6)
    # household 0 exports 8 kW at the feed-in tariff, household 1 imports 10 kW at the price:
    # 0.3 * 10 - 0.08 * 8 = 2.36 EUR, not the netted bus (2 kW import, 0.60 EUR)
    bill = PRICE * 10.0 - FEED_IN * 8.0
    assert sol.terms_raw["cost"] == pytest.approx(bill, abs=1e-6)
    assert sol.terms_raw["cost"] == pytest.approx(
        float(costs.meter_energy_cost_eur(sol.meter_p_kw, PRICE, FEED_IN, 1.0).sum()), abs=1e-9)
    assert sol.terms_eur["cost"] == pytest.approx(bill, abs=1e-6)  # weight 1
    # the same dispatch billed with one meter per bus nets the households: the old bus bill
    netted = solve_opf(_two_households(per_meter=False))
    np.testing.assert_allclose(netted.meter_p_kw, [[0.0, 2.0]], atol=1e-6)
    assert netted.terms_raw["cost"] == pytest.approx(PRICE * 2.0, abs=1e-6)
    assert netted.ev_p_kw[0, 0] == pytest.approx(5.0, abs=1e-6)


def test_terms_are_weighted_by_the_reward_weights(feeder):
    w = RewardWeights(cost=1.5, discomfort=7.0, ev_unmet=3.0, voltage=50.0, losses=0.2, aging=2.0, curtailment=0.3,
                      overload=4.0)
    data = example_data(feeder, rng=0, n_periods=4, start_hour=10.0, season="summer", penetration=0.5, weights=w)
    sol = solve_opf(data, exactness="off")
    assert set(sol.terms_raw) == set(costs.TERM_NAMES)
    for name, raw in sol.terms_raw.items():
        assert sol.terms_eur[name] == pytest.approx(getattr(w, name) * raw, rel=1e-12, abs=1e-15)
    assert sol.objective_eur == pytest.approx(sum(sol.terms_eur.values()), rel=1e-12)
    # the energy bill is the cost model's meter bill of the dispatch's meters
    bill = costs.meter_energy_cost_eur(sol.meter_p_kw, data.price_import_eur_per_kwh,
                                       data.price_export_eur_per_kwh, data.dt_h)
    assert sol.terms_raw["cost"] == pytest.approx(float(bill.sum()), rel=1e-7)
    # losses: the whole feeder's (series and shunt), p_slack minus the bus loads
    assert sol.terms_raw["losses"] == pytest.approx(float(sol.p_loss_kw.sum()) * data.dt_h, rel=1e-7)
    # a zero weight drops the term
    no_aging = solve_opf(example_data(feeder, rng=0, n_periods=4, start_hour=10.0, season="summer", penetration=0.5,
                                      weights=RewardWeights(aging=0.0)), exactness="off")
    assert "aging" not in no_aging.terms_raw and no_aging.transformer_loss_of_life_h is None


@pytest.mark.parametrize("network_limits", ["penalty", "hard"])
def test_empty_groups_solve(network_limits):
    f = make_line_feeder(3, r_pu=0.02, x_pu=0.01)
    t = 3
    base = np.tile([0.0, 20.0, 30.0], (t, 1))
    kw = dict(feeder=f, dt_s=900.0, base_p_kw=base, base_q_kvar=0.2 * base, t_ambient_c=np.zeros(t),
              price_import_eur_per_kwh=[0.2, 0.3, 0.4], network_limits=network_limits)
    implicit = solve_opf(OPFData(**kw))
    explicit = solve_opf(OPFData(**kw, houses=HouseInputs.empty(t, 900.0), evs=EVInputs.empty(t),
                                 pvs=PVInputs.empty(t)))
    for sol in (implicit, explicit):
        assert sol.status == "optimal" and sol.diagnostics.exact and sol.recovery == "none"
        assert sol.hp_p_kw.shape == (t, 0) and sol.t_indoor_c.shape == (t + 1, 0)
        assert sol.ev_p_kw.shape == (t, 0) and sol.ev_shortfall_kwh.shape == (0,)
        assert sol.pv_p_kw.shape == (t, 0) and sol.setpoints(0)["pv_q_kvar"].shape == (0,)
        expected = {"cost", "losses"} | ({"voltage"} if network_limits == "penalty" else set())
        assert set(sol.terms_raw) == expected
        # nothing to decide: the bill is the base load's, the losses those of its power flow
        assert sol.terms_raw["cost"] == pytest.approx(float(np.sum(base.sum(axis=1) * [0.2, 0.3, 0.4])) * 0.25)
        assert sol.diagnostics.ac.loss_error_kw < 1e-6
    assert explicit.objective_eur == pytest.approx(implicit.objective_eur, rel=1e-9)


def test_feeder_day_without_devices_solves(feeder):
    data = example_data(feeder, rng=6, n_periods=4, start_hour=18.0, season="winter", penetration=0.0)
    assert data.houses.n == data.evs.n == data.pvs.n == 0 and data.transformer is not None
    sol = solve_opf(data)
    assert sol.status == "optimal" and sol.diagnostics.ac_ok
    assert {"cost", "losses", "aging"} <= set(sol.terms_raw)
    assert sol.terms_raw["cost"] == pytest.approx(float(costs.meter_energy_cost_eur(
        data.meter_p_kw, data.price_import_eur_per_kwh, data.price_export_eur_per_kwh,
        data.dt_h).sum()), rel=1e-12)
    assert sol.setpoints(2)["hp_p_kw"].shape == (0,)
