"""Tests of the EV home-charging model (sessions, availability, SoC step, sampling)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from thermogrid_env.errors import ConfigError
from thermogrid_env.physics import ev

DT_S = 900.0
DT_H = DT_S / 3600.0
V2G_STATS = ev.HomeChargingStats(v2g_share=0.3)


def _sessions(**overrides: object) -> ev.EVSessions:
    fields: dict[str, object] = dict(
        arrival_step=[0, 2, 4],
        departure_step=[10, 6, 8],
        capacity_kwh=[50.0, 40.0, 60.0],
        soc_arrival=[0.2, 0.5, 0.8],
        soc_target=[0.9, 0.9, 0.9],
        p_max_kw=[11.0, 3.7, 11.0],
        efficiency=0.9,
    )
    fields.update(overrides)
    return ev.EVSessions(**fields)


# --------------------------------------------------------------------------- sessions


def test_energy_needed_is_derived() -> None:
    s = _sessions()
    np.testing.assert_allclose(s.energy_needed_kwh, [35.0, 16.0, 6.0])
    s2 = _sessions(soc_arrival=[0.95, 0.5, 0.8])
    assert s2.energy_needed_kwh[0] == 0.0  # above target: nothing needed
    assert len(s) == s.n_evs == 3


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (
            {"departure_step": [10, 2, 8]},
            r"departure_step\[1\] = 2 must be > arrival_step\[1\] = 2",
        ),
        ({"arrival_step": [0, 2.5, 4]}, r"arrival_step\[1\]"),
        ({"capacity_kwh": [50.0, 0.0, 60.0]}, r"capacity_kwh\[1\]"),
        ({"soc_arrival": [0.2, 0.5, 1.2]}, r"soc_arrival\[2\]"),
        ({"soc_target": [-0.1, 0.9, 0.9]}, r"soc_target\[0\]"),
        ({"p_max_kw": [11.0, np.nan, 11.0]}, r"p_max_kw\[1\]"),
        ({"efficiency": [0.9, 0.0, 0.9]}, r"efficiency\[1\]"),
        ({"efficiency": 1.1}, r"efficiency\[0\]"),
        ({"soc_min": 1.0}, r"soc_min\[0\]"),
        ({"v2g": [0, 2, 1]}, r"v2g"),
        ({"capacity_kwh": [50.0, 40.0]}, r"mismatched lengths"),
    ],
)
def test_bad_sessions_raise_config_error_naming_the_field(overrides: dict, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        _sessions(**overrides)


def test_sessions_are_read_only_and_pickle() -> None:
    s = _sessions(v2g=[True, False, True])
    with pytest.raises(ValueError):
        s.capacity_kwh[0] = 1.0
    clone = pickle.loads(pickle.dumps(s))
    for name in ("arrival_step", "departure_step", "capacity_kwh", "soc_arrival", "v2g", "soc_min"):
        np.testing.assert_array_equal(getattr(clone, name), getattr(s, name))
    assert clone.arrival_step.dtype == np.int64 and clone.v2g.dtype == np.bool_


def test_available_and_departing_masks() -> None:
    s = _sessions()
    np.testing.assert_array_equal(ev.available(s, 0), [True, False, False])
    np.testing.assert_array_equal(ev.available(s, 5), [True, True, True])
    np.testing.assert_array_equal(ev.available(s, 7), [True, False, True])
    np.testing.assert_array_equal(ev.available(s, 10), [False, False, False])
    np.testing.assert_array_equal(ev.departing(s, 5), [False, True, False])
    np.testing.assert_array_equal(ev.departing(s, 9), [True, False, False])


# --------------------------------------------------------------------------- step


def _run(s: ev.EVSessions, p_set_kw: np.ndarray, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Run ``n_steps`` with a constant setpoint; return SoC trajectory (n_steps+1, n) and powers."""
    soc = ev.initial_soc(s)
    socs, powers = [soc], []
    for k in range(n_steps):
        soc, p = ev.ev_step(s, soc, p_set_kw, k, DT_S)
        socs.append(soc)
        powers.append(p)
    return np.array(socs), np.array(powers)


def test_energy_into_battery_is_integral_of_p_times_efficiency() -> None:
    s = _sessions()
    rng = np.random.default_rng(0)
    soc = ev.initial_soc(s)
    delivered = np.zeros(3)
    for k in range(12):
        soc, p = ev.ev_step(s, soc, rng.uniform(0.0, 12.0, 3), k, DT_S)
        delivered += p * s.efficiency * DT_H
    np.testing.assert_allclose(
        (soc - s.soc_arrival) * s.capacity_kwh, delivered, rtol=1e-12, atol=1e-12
    )


def test_discharge_energy_is_p_over_efficiency() -> None:
    s = _sessions(v2g=True, soc_min=0.0, soc_arrival=[0.9, 0.9, 0.9])
    soc, p = ev.ev_step(s, ev.initial_soc(s), np.full(3, -3.0), 5, DT_S)
    np.testing.assert_allclose(p, -3.0)
    np.testing.assert_allclose((soc - 0.9) * s.capacity_kwh, -3.0 / 0.9 * DT_H, rtol=1e-12)


def test_unplugged_evs_draw_nothing() -> None:
    s = _sessions(v2g=True)
    soc = ev.initial_soc(s)
    for step in (-3, 0, 1, 9, 10, 50):
        soc_next, p = ev.ev_step(s, soc, np.array([11.0, -11.0, 5.0]), step, DT_S)
        plugged = ev.available(s, step)
        assert np.all(p[~plugged] == 0.0)
        np.testing.assert_array_equal(soc_next[~plugged], soc[~plugged])


def test_charger_limit_and_no_overcharge() -> None:
    s = _sessions(soc_arrival=[0.2, 0.5, 0.97], departure_step=[40, 6, 8])
    socs, powers = _run(s, np.full(3, 100.0), 40)
    assert np.all(powers <= s.p_max_kw + 1e-12)
    assert np.all(socs <= 1.0)
    # the charger limit binds while there is room; charging may continue past the target to 100 %
    assert powers[0, 0] == pytest.approx(11.0)
    assert socs[-1, 0] == pytest.approx(1.0)
    # EV 2: 3 % of 60 kWh room = 1.8 kWh -> 2 kW grid power in the first plugged step (15 min)
    assert powers[4, 2] == pytest.approx(0.03 * 60.0 / 0.9 / DT_H)
    assert socs[5, 2] == pytest.approx(1.0)
    assert np.all(powers >= 0.0)


def test_no_discharge_without_v2g() -> None:
    s = _sessions(v2g=[False, True, False], soc_min=0.2)
    _, p = ev.ev_step(s, ev.initial_soc(s), np.full(3, -5.0), 5, DT_S)
    assert p[0] == 0.0 and p[2] == 0.0
    assert p[1] == pytest.approx(-3.7)  # charger limit also bounds discharge


def test_v2g_stops_at_soc_min() -> None:
    s = _sessions(v2g=True, soc_min=0.4, soc_arrival=[0.2, 0.5, 0.8], departure_step=40)
    socs, powers = _run(s, np.full(3, -11.0), 40)
    assert np.all(powers[:, 0] == 0.0)  # below soc_min on arrival: no discharge
    assert np.all(socs[:, 1:] >= 0.4 - 1e-12)
    assert socs[-1, 1] == pytest.approx(0.4) and socs[-1, 2] == pytest.approx(0.4)


def test_nan_setpoint_and_bad_dt_raise() -> None:
    s = _sessions()
    with pytest.raises(ConfigError, match="NaN"):
        ev.ev_step(s, ev.initial_soc(s), np.array([1.0, np.nan, 1.0]), 0, DT_S)
    with pytest.raises(ConfigError, match="dt_s"):
        ev.ev_step(s, ev.initial_soc(s), np.ones(3), 0, 0.0)


def test_step_does_not_modify_inputs() -> None:
    s = _sessions()
    soc = ev.initial_soc(s)
    p_set = np.full(3, 5.0)
    soc0, p0 = soc.copy(), p_set.copy()
    ev.ev_step(s, soc, p_set, 5, DT_S)
    np.testing.assert_array_equal(soc, soc0)
    np.testing.assert_array_equal(p_set, p0)


def test_unmet_energy() -> None:
    s = _sessions()
    np.testing.assert_allclose(ev.unmet_energy_kwh(s, s.soc_arrival), s.energy_needed_kwh)
    np.testing.assert_allclose(ev.unmet_energy_kwh(s, [0.9, 0.95, 0.5]), [0.0, 0.0, 0.4 * 60.0])
    # charging at full power from arrival misses the target by exactly what the charger cannot
    # deliver in the plugged-in time (EVs 0 and 1 are short sessions, EV 2 is feasible)
    socs, _ = _run(s, np.full(3, 11.0), 10)
    shortfall = np.maximum(s.energy_needed_kwh - ev.max_deliverable_kwh(s, DT_S), 0.0)
    assert shortfall[0] > 0.0 and shortfall[1] > 0.0 and shortfall[2] == 0.0
    np.testing.assert_allclose(ev.unmet_energy_kwh(s, socs[-1]), shortfall, atol=1e-9)


# --------------------------------------------------------------------------- sampling


def test_sampling_is_deterministic() -> None:
    a = ev.sample_sessions(np.random.default_rng(42), 200, 96, DT_S, stats=V2G_STATS)
    b = ev.sample_sessions(np.random.default_rng(42), 200, 96, DT_S, stats=V2G_STATS)
    c = ev.sample_sessions(np.random.default_rng(43), 200, 96, DT_S, stats=V2G_STATS)
    for name in (
        "arrival_step",
        "departure_step",
        "capacity_kwh",
        "soc_arrival",
        "p_max_kw",
        "v2g",
    ):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.soc_arrival, c.soc_arrival)


def test_sampled_statistics_are_plausible() -> None:
    n = 20_000
    n_steps = 2 * 96  # two days: the morning departure lies inside the episode
    s = ev.sample_sessions(np.random.default_rng(7), n, n_steps, DT_S)
    arrival_h = s.arrival_step * DT_H
    departure_h = s.departure_step * DT_H - 24.0
    assert 17.4 <= arrival_h.mean() <= 18.3  # ~17:45 (+ rounding up to whole steps)
    assert 1.6 <= arrival_h.std() <= 2.1
    assert 7.0 <= departure_h.mean() <= 7.6
    assert 0.8 <= departure_h.std() <= 1.1
    assert np.all(s.departure_step > s.arrival_step)
    assert s.capacity_kwh.min() >= 40.0 and s.capacity_kwh.max() <= 80.0
    share_11 = np.mean(s.p_max_kw == 11.0)
    assert 0.68 <= share_11 <= 0.72 and set(np.unique(s.p_max_kw)) == {3.7, 11.0}
    # daily energy: 35 km * 0.18 kWh/km = 6.3 kWh mean, slightly less after the SoC floor
    assert 5.6 <= s.energy_needed_kwh.mean() <= 6.5
    assert not s.v2g.any()


def test_sampled_requirement_is_feasible_within_the_episode() -> None:
    # one day from midnight: evening arrivals leave after the episode end
    n_steps = 96
    stats = ev.HomeChargingStats(share_11kw=0.0)
    s = ev.sample_sessions(np.random.default_rng(1), 5000, n_steps, DT_S, stats=stats)
    assert np.all(s.departure_step > n_steps)  # departures are kept, not clipped
    np.testing.assert_array_less(
        s.energy_needed_kwh, ev.max_deliverable_kwh(s, DT_S, n_steps) * (1 + 1e-12) + 1e-12
    )
    assert np.any(
        s.energy_needed_kwh >= ev.max_deliverable_kwh(s, DT_S, n_steps) - 1e-9
    )  # the cap binds
    # uncontrolled charging at full power meets every target by the episode end
    soc = ev.initial_soc(s)
    for k in range(n_steps):
        soc, _ = ev.ev_step(s, soc, s.p_max_kw, k, DT_S)
    assert ev.unmet_energy_kwh(s, soc).max() <= 1e-9


def test_sampling_episode_starting_in_the_evening() -> None:
    s = ev.sample_sessions(np.random.default_rng(5), 2000, 96, DT_S, start_hour=20.0)
    assert np.any(s.arrival_step < 0)  # already plugged in at the start
    assert np.all(s.departure_step <= 96)  # all leave next morning, inside the episode
    assert np.all(s.energy_needed_kwh <= ev.max_deliverable_kwh(s, DT_S, 96) + 1e-9)


def test_sampling_rejects_bad_arguments() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="n >= 1"):
        ev.sample_sessions(rng, 0, 96, DT_S)
    with pytest.raises(ConfigError, match="start_hour"):
        ev.sample_sessions(rng, 5, 96, DT_S, start_hour=24.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("share_11kw", 1.5),
        ("efficiency", 0.0),
        ("arrival_mean_h", 30.0),
        ("departure_std_h", 0.0),
        ("capacity_min_kwh", 90.0),
        ("soc_arrival_min", 0.95),
        ("distance_cv", float("nan")),
    ],
)
def test_bad_statistics_raise_config_error_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"HomeChargingStats.{field}"):
        ev.HomeChargingStats(**{field: value})


def test_sampled_sessions_pass_the_full_validation() -> None:
    """The sampler builds sessions unchecked (it runs at every reset): they satisfy every check."""
    rng = np.random.default_rng(0)
    for n_steps, start in ((96, 12.0), (96, 0.0), (288, 7.5)):
        s = ev.sample_sessions(rng, 50, n_steps, 900.0, start_hour=start,
                               stats=ev.HomeChargingStats(v2g_share=0.5))
        checked = ev.EVSessions(**{f: getattr(s, f) for f in ev._FIELDS})
        for f in ev._FIELDS:
            assert np.array_equal(getattr(checked, f), getattr(s, f)) and getattr(s, f).dtype == getattr(checked, f).dtype
            assert not getattr(s, f).flags.writeable
