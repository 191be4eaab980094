"""The simulator core: determinism, device limits, energy balance, one model for the houses."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from thermogrid_env import datasets
from thermogrid_env.config import get_scenario
from thermogrid_env.errors import ConfigError
from thermogrid_env.physics import building, ev
from thermogrid_env.sim.community import device_counts, sample_community
from thermogrid_env.sim.episode import sample_episode
from thermogrid_env.sim.exogenous import build_exogenous
from thermogrid_env.sim.simulator import Setpoints

SCENARIO = get_scenario("winter-high-der")


@pytest.fixture(scope="module")
def episode():
    return sample_episode(SCENARIO, np.random.default_rng(7))


def _full_power(ep) -> Setpoints:
    c = ep.community
    return Setpoints(
        hp_p_kw=c.houses.p_max_kw * 2.0,  # above the rating: clipped by the simulator
        ev_p_kw=np.full(c.n_ev, 50.0),
        pv_curtailment=np.zeros(c.n_pv),
        pv_q_kvar=np.full(c.n_pv, 100.0),  # beyond the inverter circle: clipped
    )


def test_community_counts_and_buses_follow_the_scenario() -> None:
    c = sample_community(SCENARIO, np.random.default_rng(1))
    assert (c.n_hp, c.n_ev, c.n_pv) == device_counts(SCENARIO)
    households = set(np.flatnonzero(c.feeder.load_is_household))
    for loads in (c.houses.load, c.ev_load, c.pvs.load):
        assert set(loads) <= households
        assert np.all(np.diff(loads) > 0)
    np.testing.assert_array_equal(c.houses.bus, c.feeder.load_bus[c.houses.load])


def test_same_seed_same_episode_bit_for_bit() -> None:
    def rollout(seed: int) -> np.ndarray:
        ep = sample_episode(SCENARIO, np.random.default_rng(seed))
        sim = ep.simulator()
        state = sim.initial_state()
        out = []
        for _ in range(12):
            state, res = sim.step(state, _full_power(ep))
            out.append(np.concatenate([res.v_pu, state.t_indoor_c, state.ev_soc, [res.hot_spot_c]]))
        return np.array(out)

    a, b, c = rollout(3), rollout(3), rollout(4)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_device_limits_and_energy_balance(episode) -> None:
    sim = episode.simulator()
    c = episode.community
    state = sim.initial_state()
    for k in range(sim.n_steps):
        state, res = sim.step(state, _full_power(episode))
        np.testing.assert_allclose(res.hp_p_kw, c.houses.p_max_kw)
        plugged = ev.available(episode.evs.sessions, k)
        assert np.all(res.ev_p_kw[~plugged] == 0.0)
        assert np.all(res.ev_p_kw <= episode.evs.sessions.p_max_kw + 1e-12)
        assert np.all(res.pv_p_kw <= res.pv_available_kw + 1e-12)
        s = c.pvs.s_inverter_kva
        assert np.all(res.pv_p_kw**2 + res.pv_q_kvar**2 <= s**2 * (1 + 1e-9))
        # Slack power = all bus loads + losses.
        assert res.p_slack_kw == pytest.approx(res.bus_p_kw.sum() + res.p_loss_kw, rel=1e-9, abs=1e-9)
    assert np.all(state.ev_soc <= 1.0 + 1e-12)


def test_ev_energy_into_batteries_equals_charging_energy_times_efficiency(episode) -> None:
    sim = episode.simulator()
    state = sim.initial_state()
    soc0 = state.ev_soc.copy()
    energy_grid_kwh = np.zeros(episode.community.n_ev)
    for _ in range(sim.n_steps):
        state, res = sim.step(state, _full_power(episode))
        energy_grid_kwh += res.ev_p_kw * sim.dt_h
    s = episode.evs.sessions
    np.testing.assert_allclose((state.ev_soc - soc0) * s.capacity_kwh, energy_grid_kwh * s.efficiency, atol=1e-9)


def test_houses_follow_the_shared_building_model(episode) -> None:
    """One model: the simulator's indoor temperature equals BuildingModel.step with the same input."""
    sim = episode.simulator()
    c, exo = episode.community, episode.exogenous
    model = building.discretize(c.houses.building, SCENARIO.dt_s)
    state = sim.initial_state()
    sp = _full_power(episode)
    next_state, res = sim.step(state, sp)
    t_i, t_e = model.step(state.t_indoor_c, state.t_envelope_c, exo.t_ambient_c[0], res.hp_heat_kw,
                          exo.household_p_kw[0, c.houses.load], exo.irradiance_w_per_m2[0])
    np.testing.assert_allclose(next_state.t_indoor_c, t_i, rtol=0, atol=1e-12)
    np.testing.assert_allclose(next_state.t_envelope_c, t_e, rtol=0, atol=1e-12)


def test_heating_warms_and_no_heating_cools(episode) -> None:
    sim = episode.simulator()
    c = episode.community
    off = Setpoints(hp_p_kw=np.zeros(c.n_hp), ev_p_kw=np.zeros(c.n_ev), pv_curtailment=np.zeros(c.n_pv),
                    pv_q_kvar=np.zeros(c.n_pv))
    s_on, s_off = sim.initial_state(), sim.initial_state()
    for _ in range(8):
        s_on, _ = sim.step(s_on, _full_power(episode))
        s_off, _ = sim.step(s_off, off)
    assert np.all(s_on.t_indoor_c > s_off.t_indoor_c)


def test_step_does_not_mutate_its_inputs(episode) -> None:
    sim = episode.simulator()
    state = sim.initial_state()
    before = (state.t_indoor_c.copy(), state.ev_soc.copy())
    sim.step(state, _full_power(episode))
    np.testing.assert_array_equal(state.t_indoor_c, before[0])
    np.testing.assert_array_equal(state.ev_soc, before[1])


def test_bad_setpoints_and_stepping_past_the_end_raise(episode) -> None:
    sim = episode.simulator()
    state = sim.initial_state()
    good = _full_power(episode)
    with pytest.raises(ConfigError, match="hp_p_kw"):
        sim.step(state, dataclasses.replace(good, hp_p_kw=np.zeros(3)))
    bad = good.hp_p_kw.copy()
    bad[0] = np.nan
    with pytest.raises(ConfigError, match="NaN"):
        sim.step(state, dataclasses.replace(good, hp_p_kw=bad))
    end = dataclasses.replace(state, step=sim.n_steps)
    with pytest.raises(ConfigError, match="reset"):
        sim.step(end, good)


def test_exogenous_matches_shipped_profiles_and_starts_at_the_local_start_hour() -> None:
    feeder = sample_community(SCENARIO, np.random.default_rng(0)).feeder
    midnight = dataclasses.replace(SCENARIO, start_hour_local=0)
    exo = build_exogenous(feeder, midnight, pd.Timestamp("2016-01-15"))
    last = build_exogenous(feeder, SCENARIO, pd.Timestamp("2016-12-30"))
    assert last.time_utc[-1] <= pd.Timestamp("2016-12-31 22:45", tz="UTC")
    assert exo.time_utc[0] == pd.Timestamp("2016-01-14 23:00", tz="UTC")  # CET = UTC+1
    assert exo.hour_local[0] == 0.0 and exo.n_steps == 96
    noon = build_exogenous(feeder, SCENARIO, pd.Timestamp("2016-01-15"))
    assert noon.time_utc[0] == pd.Timestamp("2016-01-15 11:00", tz="UTC") and noon.hour_local[0] == 12.0
    k = 40
    name = feeder.load_profile[0]
    expected = datasets.load_profile(name, "p").loc[exo.time_utc[k]] * feeder.load_p_kw[0]
    assert exo.household_p_kw[k, 0] == pytest.approx(expected)
    summer = build_exogenous(feeder, midnight, pd.Timestamp("2016-07-15"))
    assert summer.time_utc[0] == pd.Timestamp("2016-07-14 22:00", tz="UTC")  # CEST = UTC+2
    t_hourly = datasets.load_ambient_temperature("1h")
    assert exo.t_ambient_c[4] == pytest.approx(t_hourly.loc[exo.time_utc[4]], abs=1e-9)


def test_heat_pump_households_do_not_count_electric_heating_twice() -> None:
    feeder = sample_community(SCENARIO, np.random.default_rng(0)).feeder
    profiles = np.asarray(feeder.load_profile)
    heated = np.flatnonzero(profiles == "H0-A")  # SimBench's household with electric heating
    other = np.flatnonzero((profiles == "H0-B") & feeder.load_is_household)
    assert heated.size and other.size
    hp_loads = np.concatenate([heated[:1], other[:1]])
    day = pd.Timestamp("2016-01-15")
    plain = build_exogenous(feeder, SCENARIO, day)
    with_hp = build_exogenous(feeder, SCENARIO, day, heat_pump_loads=hp_loads)
    i = heated[0]
    # The H0-A household with a heat pump follows H0-B's shape at H0-A's summer consumption ...
    summer = {n: datasets.load_profile(n, "p").loc["2016-06":"2016-08"].mean() for n in ("H0-A", "H0-B")}
    t = with_hp.time_utc[10]
    expected = datasets.load_profile("H0-B", "p").loc[t] * feeder.load_p_kw[i] * summer["H0-A"] / summer["H0-B"]
    assert with_hp.household_p_kw[10, i] == pytest.approx(expected)
    # ... so its winter base drops to a household's without heating; nothing else changes.
    assert with_hp.household_p_kw[:, i].mean() < 0.5 * plain.household_p_kw[:, i].mean()
    np.testing.assert_array_equal(np.delete(with_hp.household_p_kw, i, axis=1),
                                  np.delete(plain.household_p_kw, i, axis=1))


def test_community_houses_are_those_computed_house_by_house() -> None:
    """The per-type catalogue the community sampler gathers from gives each house what sizing and
    discretising that house on its own gives."""
    from thermogrid_env.physics import heat_pump
    from thermogrid_env.sim.community import T_DESIGN_C

    h = sample_community(SCENARIO, np.random.default_rng(11)).houses
    floor = np.array([t.endswith("r3") for t in h.house_type])
    assert tuple(h.heat_pump.emitter) == tuple("floor" if f else "radiator" for f in floor)
    design_kw = h.building.design_heat_load_kw(t_design_c=T_DESIGN_C)
    for i in range(h.n):
        sized = heat_pump.size_heat_pump(design_kw[i:i + 1], t_design_c=T_DESIGN_C, emitter=h.heat_pump.emitter[i])
        assert h.p_max_kw[i] == sized[0]
    assert h.building == building.params_for_house_type(h.house_type)
    direct = building.discretize(h.building, SCENARIO.dt_s)
    assert np.array_equal(h.model.a_d, direct.a_d) and np.array_equal(h.model.b_mean, direct.b_mean)
    checked = heat_pump.HeatPumpParams(p_rated_el_kw=h.heat_pump.p_rated_el_kw, emitter=h.heat_pump.emitter)
    for name in ("cop_correction", "regression", "_emitter_code", "_emitter_index", "_kind_curves"):
        assert np.array_equal(getattr(h.heat_pump, name), getattr(checked, name)), name
    assert not h.heat_pump.p_rated_el_kw.flags.writeable and not h.heat_pump._emitter_code.flags.writeable


def test_community_objects_built_without_checks_equal_the_checked_ones() -> None:
    """The reset builds houses, PV systems and PV parameters from valid draws without their checks:
    the checked constructors accept the same values and store the same (read-only, int64) arrays."""
    from thermogrid_env.physics import pv
    from thermogrid_env.sim.devices import HeatPumpHouses, PVSystems

    c = sample_community(SCENARIO, np.random.default_rng(4))
    h, p = c.houses, c.pvs
    checked_h = HeatPumpHouses(load=h.load, bus=h.bus, building=h.building, heat_pump=h.heat_pump, dt_s=h.dt_s,
                               house_type=h.house_type, model=h.model)
    checked_p = PVSystems(load=p.load, bus=p.bus,
                          params=pv.PVParams(p_peak_kwp=p.params.p_peak_kwp, s_inverter_kva=p.params.s_inverter_kva))
    for a, b in ((h.load, checked_h.load), (h.bus, checked_h.bus), (p.load, checked_p.load), (p.bus, checked_p.bus),
                 (p.params.s_inverter_kva, checked_p.params.s_inverter_kva)):
        assert np.array_equal(a, b) and a.dtype == b.dtype and not a.flags.writeable
    assert h.load.dtype == h.bus.dtype == p.load.dtype == p.bus.dtype == np.int64
    assert h.house_type == checked_h.house_type and all(isinstance(t, str) for t in h.house_type)
    drawn = pv.sample_pv(np.random.default_rng(1), 5)
    np.testing.assert_array_equal(drawn.s_inverter_kva, pv.DEFAULT_INVERTER_RATIO * drawn.p_peak_kwp)
    assert not drawn.p_peak_kwp.flags.writeable and drawn.n_devices == 5


def test_replacing_rows_of_a_batch_equals_building_it_with_those_episodes() -> None:
    from thermogrid_env.sim.simulator import Simulator

    eps = [sample_episode(SCENARIO, np.random.default_rng(s)) for s in range(5)]
    batch = Simulator(eps[:3])
    batch.replace_episodes([2, 0], [eps[3], eps[4]])
    fresh = Simulator([eps[4], eps[1], eps[3]])
    assert batch._arrays.keys() == fresh._arrays.keys()
    for name, arr in fresh._arrays.items():
        assert np.array_equal(batch._arrays[name], arr), name
    state, v_pu, loading = batch.initial_rows([0, 2])
    full = fresh.initial_state()
    np.testing.assert_array_equal(state.t_envelope_c, full.t_envelope_c[[0, 2]])
    np.testing.assert_array_equal(state.trafo.hot_spot_c, np.asarray(full.trafo.hot_spot_c)[[0, 2]])
    np.testing.assert_array_equal(v_pu, fresh.initial_grid().v_pu[[0, 2]])
    assert loading.shape == (2,)
    with pytest.raises(ConfigError, match="rows"):
        batch.replace_episodes([0, 1], [eps[0]])
    other = sample_episode(get_scenario("summer-high-pv"), np.random.default_rng(0))
    with pytest.raises(ConfigError):
        batch.replace_episodes([1], [other])
