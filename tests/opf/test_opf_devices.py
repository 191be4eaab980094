"""Device blocks: the one-model rule, soft requirements reported as slack, hard limits failing loudly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from thermogrid_env.errors import ConfigError, OptimizationFailed
from thermogrid_env.opf import EVData, ObjectiveWeights, from_devices, solve_opf
from thermogrid_env.opf.synthetic import example_data
from thermogrid_env.physics import building, heat_pump


def _house_day(feeder, n_periods=12, comfort=(20.0, 22.0), t_amb=2.0, p_scale=1.0):
    rng = np.random.default_rng(0)
    params, _ = building.sample_house_params(rng, 3)
    model = building.discretize(params, 900.0)
    hp = heat_pump.HeatPumpParams(p_rated_el_kw=p_scale * heat_pump.size_heat_pump(params.design_heat_load_kw()))
    t = n_periods
    base = np.zeros((t, feeder.n_bus))
    base[:, feeder.load_bus] = 0.4
    houses = feeder.load_bus[feeder.load_is_household][:3]
    return from_devices(
        feeder, dt_s=900.0, base_p_kw=base, base_q_kvar=0.1 * base, t_ambient_c=np.full(t, t_amb),
        price_import_eur_per_kwh=0.3 + 0.1 * np.sin(np.arange(t)), house_bus=houses, building=model,
        heat_pump=hp, x0_c=np.array([[21.0, 19.0], [20.5, 18.0], [21.5, 19.5]]), q_int_kw=0.2,
        g_sol_w_per_m2=np.linspace(0, 300, t), comfort_c=comfort,
    ), model, hp


def test_predicted_building_states_equal_the_simulator_model(feeder):
    data, model, hp = _house_day(feeder)
    sol = solve_opf(data, exactness="off")
    h = data.houses
    ti, te = sol.t_indoor_c[0], sol.t_envelope_c[0]
    for k in range(data.n_periods):
        heat = heat_pump.device_cop(hp, data.t_ambient_c[k]) * sol.hp_p_kw[k]
        ti, te = model.step(ti, te, data.t_ambient_c[k], heat, h.q_int_kw[k], h.g_sol_w_per_m2[k])
        np.testing.assert_allclose(sol.t_indoor_c[k + 1], ti, atol=1e-6)
        np.testing.assert_allclose(sol.t_envelope_c[k + 1], te, atol=1e-6)
    assert np.all(sol.hp_p_kw <= hp.p_rated_el_kw[None, :] + 1e-7) and np.all(sol.hp_p_kw >= -1e-7)


def test_unreachable_comfort_band_is_reported_as_slack(feeder):
    data, _, hp = _house_day(feeder, comfort=(30.0, 32.0), t_amb=-10.0, p_scale=0.3)
    sol = solve_opf(data, exactness="off")
    assert sol.status == "optimal"
    assert sol.comfort_violation_k.max() > 1.0  # the heat pump cannot reach 30 °C
    assert sol.terms_eur["comfort"] > 0
    # full power while heat still pays off (the last period's heat barely moves the end state)
    np.testing.assert_allclose(sol.hp_p_kw[2:-1], np.broadcast_to(hp.p_rated_el_kw, sol.hp_p_kw[2:-1].shape), rtol=1e-5)


def test_infeasible_hard_voltage_band_raises_with_a_reason(feeder):
    data, _, _ = _house_day(feeder, n_periods=2)
    bad = dataclasses.replace(data, v_min_pu=np.full(feeder.n_bus, 1.09), v_max_pu=np.full(feeder.n_bus, 1.1))
    with pytest.raises(OptimizationFailed, match="voltage"):
        solve_opf(bad, exactness="off")


def test_ev_requirement_met_or_shortfall_reported(feeder):
    t = 8
    base = np.zeros((t, feeder.n_bus))
    bus = feeder.load_bus[:2]
    ev = EVData(bus=bus, available=np.ones((t, 2), bool), p_max_kw=[11.0, 3.7], efficiency=[0.9, 0.9],
                capacity_kwh=[60.0, 60.0], e_init_kwh=[20.0, 20.0], e_target_kwh=[40.0, 40.0],
                departure_index=[t, 4])
    from thermogrid_env.opf import OPFData

    data = OPFData(feeder=feeder, dt_s=900.0, base_p_kw=base, base_q_kvar=base, t_ambient_c=np.zeros(t),
                   price_import_eur_per_kwh=np.full(t, 0.3), evs=ev)
    sol = solve_opf(data, exactness="off")
    # EV 0 can deliver 11 * 0.9 * 2 h = 19.8 kWh < 20 kWh needed; EV 1 only 3.7 * 0.9 * 1 h = 3.33 kWh
    assert sol.ev_shortfall_kwh == pytest.approx([0.2, 20.0 - 3.33], abs=1e-4)
    assert sol.ev_energy_kwh[-1, 0] == pytest.approx(39.8, abs=1e-4)
    assert np.all(sol.ev_p_kw <= np.array([11.0, 3.7]) + 1e-6)
    assert np.all(sol.ev_p_kw[4:, 1] < 1e-6)  # energy after the departure index earns nothing



def test_ev_capacity_limits_the_energy_delivered_by_departure_and_after(feeder):
    """The capacity row reads the delivered-by-departure variable plus the charge after departure."""
    from thermogrid_env.opf import OPFData

    t = 8
    base = np.zeros((t, feeder.n_bus))
    # a negative price after the departure index makes charging then pay, up to the capacity
    price = np.r_[np.full(4, 0.3), np.full(4, -0.1)]
    ev = EVData(bus=feeder.load_bus[:1], available=np.ones((t, 1), bool), p_max_kw=[11.0], efficiency=[0.9],
                capacity_kwh=[30.0], e_init_kwh=[20.0], e_target_kwh=[40.0], departure_index=[4])
    data = OPFData(feeder=feeder, dt_s=900.0, base_p_kw=base, base_q_kvar=base, t_ambient_c=np.zeros(t),
                   price_import_eur_per_kwh=price, price_export_eur_per_kwh=np.minimum(price, 0.0), evs=ev)
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


def test_setpoints_of_one_period(feeder):
    data, _, _ = _house_day(feeder, n_periods=3)
    sol = solve_opf(data, exactness="off")
    sp = sol.setpoints(1)
    assert sp["hp_p_kw"].shape == (3,) and sp["ev_p_kw"].shape == (0,)


def test_data_validation_names_the_field(feeder):
    data, _, _ = _house_day(feeder, n_periods=3)
    with pytest.raises(ConfigError, match="price_export"):
        dataclasses.replace(data, price_export_eur_per_kwh=np.full(3, 1.0))
    with pytest.raises(ConfigError, match="base_q_kvar"):
        dataclasses.replace(data, base_q_kvar=np.zeros((3, 5)))
    with pytest.raises(ConfigError):
        ObjectiveWeights(comfort_eur_per_kh=-1.0)


def test_predicted_ev_energy_equals_the_simulator_model(feeder):
    from thermogrid_env.physics import ev

    rng = np.random.default_rng(7)
    t, n = 24, 4
    sessions = ev.sample_sessions(rng, n, t, 900.0, start_hour=16.0)
    base = np.zeros((t, feeder.n_bus))
    data = from_devices(feeder, dt_s=900.0, base_p_kw=base, base_q_kvar=base, t_ambient_c=np.zeros(t),
                        price_import_eur_per_kwh=0.3 + 0.2 * (np.arange(t) < 8), ev_bus=feeder.load_bus[:n],
                        ev_sessions=sessions)
    sol = solve_opf(data, exactness="off")
    soc = ev.initial_soc(sessions)
    for k in range(t):
        soc, p = ev.ev_step(sessions, soc, sol.ev_p_kw[k], k, 900.0)
        np.testing.assert_allclose(p, sol.ev_p_kw[k], atol=1e-6)  # the set-point is feasible as is
        np.testing.assert_allclose(soc * sessions.capacity_kwh, sol.ev_energy_kwh[k + 1], atol=1e-5)
    np.testing.assert_allclose(ev.unmet_energy_kwh(sessions, soc), sol.ev_shortfall_kwh, atol=1e-5)
