"""Device blocks: the one-model rule, soft requirements reported as slack, hard limits failing loudly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from thermogrid_env.config import RewardWeights
from thermogrid_env.errors import ConfigError, OptimizationFailed
from thermogrid_env.opf import EVInputs, HouseInputs, OPFData, solve_opf
from thermogrid_env.opf.synthetic import example_data
from thermogrid_env.physics import building, ev, heat_pump
from thermogrid_env.physics.ev import EVSessions
from thermogrid_env.sim import costs
from thermogrid_env.sim.devices import EVFleet, HeatPumpHouses


def _house_day(feeder, n_periods=12, comfort=(20.0, 22.0), t_amb=2.0, p_scale=1.0, network_limits="penalty"):
    """Three heat-pump houses on the first three household meters, 0.4 kW base load per household."""
    rng = np.random.default_rng(0)
    params, _ = building.sample_house_params(rng, 3)
    hp = heat_pump.HeatPumpParams(p_rated_el_kw=p_scale * heat_pump.size_heat_pump(params.design_heat_load_kw()))
    t = n_periods
    loads = np.flatnonzero(feeder.load_is_household)[:3]
    group = HeatPumpHouses(load=loads, bus=feeder.load_bus[loads], building=params, heat_pump=hp, dt_s=900.0)
    houses = HouseInputs(group=group, x0_c=np.array([[21.0, 19.0], [20.5, 18.0], [21.5, 19.5]]),
                         q_int_kw=np.full((t, 3), 0.2), g_sol_w_per_m2=np.linspace(0, 300, t)[:, None],
                         t_min_c=np.full((t, 3), comfort[0]), t_max_c=np.full((t, 3), comfort[1]))
    meter = np.zeros((t, feeder.n_load))
    meter[:, feeder.load_is_household] = 0.4
    base = meter @ feeder.load_injection_matrix()
    data = OPFData(feeder=feeder, dt_s=900.0, base_p_kw=base, base_q_kvar=0.1 * base, t_ambient_c=np.full(t, t_amb),
                   price_import_eur_per_kwh=0.3 + 0.1 * np.sin(np.arange(t)), meter_p_kw=meter, houses=houses,
                   network_limits=network_limits)
    return data, params, hp


def test_predicted_building_states_equal_the_simulator_model(feeder):
    data, params, hp = _house_day(feeder)
    sol = solve_opf(data, exactness="off")
    h, t = data.houses, data.n_periods
    # the simulator's physics, built here from the parameters: ZOH model, heat = COP(t_amb) * p_el
    model = building.discretize(params, 900.0)
    heat = np.stack([heat_pump.heat_output_kw(hp, sol.hp_p_kw[k], data.t_ambient_c[k]) for k in range(t)])
    np.testing.assert_allclose(sol.hp_heat_kw, heat, rtol=1e-9, atol=1e-9)
    u = np.stack([np.broadcast_to(data.t_ambient_c[:, None], (t, 3)), heat, h.q_int_kw, h.g_sol_w_per_m2], axis=-1)
    x = model.simulate(h.x0_c, u)  # (T + 1, n, 2)
    np.testing.assert_allclose(sol.t_indoor_c, x[:, :, 0], atol=1e-6)
    np.testing.assert_allclose(sol.t_envelope_c, x[:, :, 1], atol=1e-6)
    assert np.all(sol.hp_p_kw <= hp.p_rated_el_kw[None, :] + 1e-7) and np.all(sol.hp_p_kw >= -1e-7)
    # the heat pumps are on their households' meters (0.4 kW base + heat pump)
    np.testing.assert_allclose(sol.meter_p_kw[:, h.group.load], 0.4 + sol.hp_p_kw, atol=1e-9)


def test_unreachable_comfort_band_is_reported_as_slack(feeder):
    data, _, hp = _house_day(feeder, comfort=(30.0, 32.0), t_amb=-10.0, p_scale=0.3)
    sol = solve_opf(data, exactness="off")
    assert sol.status == "optimal"
    assert sol.comfort_violation_k.max() > 1.0  # the heat pump cannot reach 30 °C
    # the discomfort term is the cost model's: K·h below the band, summed over houses and periods
    kh = costs.comfort_deviation_k(sol.t_indoor_c[1:], 30.0, 32.0).sum() * data.dt_h
    assert sol.terms_raw["discomfort"] == pytest.approx(kh, rel=1e-6)
    assert sol.terms_eur["discomfort"] == pytest.approx(RewardWeights().discomfort * kh, rel=1e-6)
    # full power while heat still pays off (the last period's heat barely moves the end state)
    np.testing.assert_allclose(sol.hp_p_kw[2:-1], np.broadcast_to(hp.p_rated_el_kw, sol.hp_p_kw[2:-1].shape), rtol=1e-5)


def test_infeasible_hard_voltage_band_raises_with_a_reason(feeder):
    data, _, _ = _house_day(feeder, n_periods=2, network_limits="hard")
    bad = dataclasses.replace(data, v_min_pu=np.full(feeder.n_bus, 1.09), v_max_pu=np.full(feeder.n_bus, 1.1))
    with pytest.raises(OptimizationFailed, match="voltage"):
        solve_opf(bad, exactness="off")
    # with the band priced (the environment's reward) the same band is a cost, not an infeasibility
    priced = solve_opf(dataclasses.replace(bad, network_limits="penalty"), exactness="report")
    excess = costs.voltage_excess(priced.diagnostics.ac.v_pu[:, 1:], 1.09, 1.1).sum()
    assert excess > 1.0
    assert priced.terms_raw["voltage"] == pytest.approx(excess, rel=1e-6)


def _fleet(bus, p_max_kw, capacity_kwh, e_init_kwh, departure_step, load=None) -> EVFleet:
    n = len(bus)
    cap = np.asarray(capacity_kwh, float)
    sessions = EVSessions(arrival_step=np.zeros(n, np.int64), departure_step=departure_step, capacity_kwh=cap,
                          soc_arrival=np.asarray(e_init_kwh, float) / cap, soc_target=1.0, p_max_kw=p_max_kw,
                          efficiency=0.9)
    return EVFleet(load=np.zeros(n, np.int64) if load is None else load, bus=bus, sessions=sessions)


def test_ev_requirement_met_or_shortfall_reported(feeder):
    t = 8
    base = np.zeros((t, feeder.n_bus))
    # both plugged in all window; EV 1's requirement is due at step 4 (its declared deadline)
    fleet = _fleet(feeder.load_bus[:2], [11.0, 3.7], [60.0, 60.0], [20.0, 20.0], [t, t])
    evs = EVInputs(fleet=fleet, start_step=0, n_periods=t, e_init_kwh=[20.0, 20.0], e_target_kwh=[40.0, 40.0],
                   deadline_step=[t, 4])
    np.testing.assert_array_equal(evs.departure_index, [t, 4])
    data = OPFData(feeder=feeder, dt_s=900.0, base_p_kw=base, base_q_kvar=base, t_ambient_c=np.zeros(t),
                   price_import_eur_per_kwh=np.full(t, 0.3), evs=evs)
    sol = solve_opf(data, exactness="off")
    # EV 0 can deliver 11 * 0.9 * 2 h = 19.8 kWh < 20 kWh needed; EV 1 only 3.7 * 0.9 * 1 h = 3.33 kWh
    assert sol.ev_shortfall_kwh == pytest.approx([0.2, 20.0 - 3.33], abs=1e-4)
    assert sol.ev_energy_kwh[-1, 0] == pytest.approx(39.8, abs=1e-4)
    assert sol.terms_raw["ev_unmet"] == pytest.approx(0.2 + 20.0 - 3.33, abs=1e-4)
    assert np.all(sol.ev_p_kw <= np.array([11.0, 3.7]) + 1e-6)
    assert np.all(sol.ev_p_kw[4:, 1] < 1e-6)  # energy after the deadline earns nothing


def test_ev_capacity_limits_the_energy_delivered_by_departure_and_after(feeder):
    """The capacity row reads the delivered-by-departure variable plus the charge after departure."""
    t = 8
    base = np.zeros((t, feeder.n_bus))
    # a negative price after the deadline makes charging then pay, up to the capacity
    price = np.r_[np.full(4, 0.3), np.full(4, -0.1)]
    fleet = _fleet(feeder.load_bus[:1], [11.0], [30.0], [20.0], [t])
    evs = EVInputs(fleet=fleet, start_step=0, n_periods=t, e_init_kwh=[20.0], e_target_kwh=[40.0], deadline_step=[4])
    data = OPFData(feeder=feeder, dt_s=900.0, base_p_kw=base, base_q_kvar=base, t_ambient_c=np.zeros(t),
                   price_import_eur_per_kwh=price, price_export_eur_per_kwh=np.minimum(price, 0.0), evs=evs)
    sol = solve_opf(data, exactness="off")
    # 4 periods of 11 kW * 0.9 * 0.25 h = 9.9 kWh by departure (room 10 kWh): shortfall 10.1 kWh
    assert sol.ev_shortfall_kwh == pytest.approx([10.1], abs=1e-4)
    # after departure the remaining 0.1 kWh of room is charged, no more
    assert np.sum(sol.ev_p_kw[4:, 0]) * 0.9 * 0.25 == pytest.approx(0.1, abs=1e-4)
    assert sol.ev_energy_kwh[-1, 0] == pytest.approx(30.0, abs=1e-4)


def test_pv_stays_in_the_inverter_circle(feeder):
    data = example_data(feeder, rng=5, n_periods=6, start_hour=11.0, season="summer", hp_share=0.0, ev_share=0.0,
                        pv_share=1.0, pv_kwp_range=(15.0, 20.0), transformer=False)
    sol = solve_opf(data, exactness="off")
    s = data.pvs.s_inverter_kva[None, :]
    assert np.all(sol.pv_p_kw**2 + sol.pv_q_kvar**2 <= s**2 * (1 + 1e-6))
    assert np.all(sol.pv_p_kw <= data.pvs.p_avail_kw + 1e-6)
    np.testing.assert_allclose(sol.pv_curtailment_kw, data.pvs.p_avail_kw - sol.pv_p_kw)
    assert sol.terms_raw["curtailment"] == pytest.approx(sol.pv_curtailment_kw.sum() * data.dt_h, abs=1e-6)


def test_setpoints_of_one_period(feeder):
    data, _, _ = _house_day(feeder, n_periods=3)
    sol = solve_opf(data, exactness="off")
    sp = sol.setpoints(1)
    assert sp["hp_p_kw"].shape == (3,) and sp["ev_p_kw"].shape == (0,)


def test_data_validation_names_the_field(feeder):
    data, params, hp = _house_day(feeder, n_periods=3)
    with pytest.raises(ConfigError, match="price_export"):
        dataclasses.replace(data, price_export_eur_per_kwh=np.full(3, 1.0))
    with pytest.raises(ConfigError, match="base_q_kvar"):
        dataclasses.replace(data, base_q_kvar=np.zeros((3, 5)))
    with pytest.raises(ConfigError, match="network_limits"):
        dataclasses.replace(data, network_limits="soft")
    with pytest.raises(ConfigError, match="RewardWeights"):
        dataclasses.replace(data, weights={"cost": 1.0})
    with pytest.raises(ConfigError, match="discomfort"):
        RewardWeights(discomfort=-1.0)
    # one model for simulator and oracle: houses discretised at another step are refused
    hourly = HeatPumpHouses(load=data.houses.group.load, bus=data.houses.bus, building=params, heat_pump=hp,
                            dt_s=3600.0)
    with pytest.raises(ConfigError, match="discretised"):
        dataclasses.replace(data, houses=dataclasses.replace(data.houses, group=hourly))
    with pytest.raises(ConfigError, match="t_min_c"):
        dataclasses.replace(data.houses, t_min_c=np.full((3, 3), 25.0))
    with pytest.raises(ConfigError, match="meter"):
        dataclasses.replace(data, houses=dataclasses.replace(
            data.houses, group=dataclasses.replace(data.houses.group, load=[0, 1, feeder.n_load])))


def test_predicted_ev_energy_equals_the_simulator_model(feeder):
    rng = np.random.default_rng(7)
    t, n = 24, 4
    sessions = ev.sample_sessions(rng, n, t, 900.0, start_hour=16.0)
    loads = np.flatnonzero(feeder.load_is_household)[:n]
    fleet = EVFleet(load=loads, bus=feeder.load_bus[loads], sessions=sessions)
    evs = EVInputs(fleet=fleet, start_step=0, n_periods=t, e_init_kwh=sessions.soc_arrival * sessions.capacity_kwh,
                   e_target_kwh=fleet.target_kwh, deadline_step=fleet.deadline_step(t))
    np.testing.assert_array_equal(evs.available, np.stack([ev.available(sessions, k) for k in range(t)]))
    base = np.zeros((t, feeder.n_bus))
    data = OPFData(feeder=feeder, dt_s=900.0, base_p_kw=base, base_q_kvar=base, t_ambient_c=np.zeros(t),
                   price_import_eur_per_kwh=0.3 + 0.2 * (np.arange(t) < 8), meter_p_kw=np.zeros((t, feeder.n_load)),
                   evs=evs)
    sol = solve_opf(data, exactness="off")
    soc = ev.initial_soc(sessions)
    unmet = np.zeros(n)
    for k in range(t):
        soc, p = ev.ev_step(sessions, soc, sol.ev_p_kw[k], k, 900.0)
        np.testing.assert_allclose(p, sol.ev_p_kw[k], atol=1e-6)  # the set-point is feasible as is
        np.testing.assert_allclose(soc * sessions.capacity_kwh, sol.ev_energy_kwh[k + 1], atol=1e-5)
        leaving = ev.departing(sessions, k)  # booked at departure, as the simulator does
        unmet[leaving] = ev.unmet_energy_kwh(sessions, soc)[leaving]
    staying = sessions.departure_step > t  # ... or at the episode end
    unmet[staying] = ev.unmet_energy_kwh(sessions, soc)[staying]
    np.testing.assert_allclose(unmet, sol.ev_shortfall_kwh, atol=1e-5)
    assert sol.terms_raw["ev_unmet"] == pytest.approx(unmet.sum(), abs=1e-5)
    np.testing.assert_allclose(sol.meter_p_kw[:, loads], sol.ev_p_kw, atol=1e-9)
