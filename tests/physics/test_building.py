"""Tests of the 3R2C building model: exact discretisation, analytic limits, energy balance, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.physics.building import (
    INPUT_NAMES,
    PARAM_FIELDS,
    BuildingParams,
    continuous_matrices,
    discretize,
    heat_flows_kw,
    house_types,
    params_for_house_type,
    candidate_house_types,
    discretize_house_types,
    sample_house_params,
    sample_house_type_index,
    steady_state_heat_kw,
)

TYPES = ["1973.5-158m2-r1", "1859-199m2-r3", "1998-111m2-r2"]


def _random_inputs(rng: np.random.Generator, n_steps: int, n: int) -> np.ndarray:
    """Piecewise-constant inputs (T, n, 4): ambient [°C], heat-pump heat, gains [kW], irradiance."""
    t_a = rng.uniform(-10.0, 10.0, (n_steps, n))
    q_hp = rng.uniform(0.0, 8.0, (n_steps, n))
    q_int = rng.uniform(0.0, 0.6, (n_steps, n))
    g = rng.uniform(0.0, 700.0, (n_steps, n))
    return np.stack([t_a, q_hp, q_int, g], axis=-1)


def _hand_steady_state(p: BuildingParams, t_a: float, heat_kw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve 0 = (t_e-t_i)/r_ie + (t_a-t_i)/r_ia + Q and 0 = (t_i-t_e)/r_ie + (t_a-t_e)/r_ea by hand."""
    r_ie, r_ea, r_ia = p.r_ie_k_per_kw, p.r_ea_k_per_kw, p.r_ia_k_per_kw
    ua = 1.0 / r_ia + 1.0 / (r_ie + r_ea)  # the envelope path is r_ie + r_ea in series
    t_i = t_a + heat_kw / ua
    t_e = (t_i * r_ea + t_a * r_ie) / (r_ie + r_ea)  # voltage divider along the series path
    return t_i, t_e


# --------------------------------------------------------------------------- exact discretisation


def test_zoh_step_matches_solve_ivp_over_a_day():
    """ZOH steps at 60 s, 900 s and 3600 s vs DOP853 (rtol=atol=1e-10) of the continuous model.

    All three step lengths are integrated in one ODE over 60-s segments (every input change falls
    on a segment boundary, so the integrator never crosses a discontinuity).
    """
    rng = np.random.default_rng(42)
    params = params_for_house_type(TYPES)
    n = params.n_houses
    a, b = continuous_matrices(params)
    dts = (60, 900, 3600)
    n_seg = 86400 // 60
    inputs = {dt: _random_inputs(rng, 86400 // dt, n) for dt in dts}
    x0 = np.array([[20.0, 17.0], [18.0, 19.5], [21.0, 15.0]])  # (n, 2)

    def rhs(_t, y, u):  # y: (len(dts) * n * 2,), u: (len(dts), n, 4); time in hours
        x = y.reshape(len(dts), n, 2)
        return (np.einsum("nij,knj->kni", a, x) + np.einsum("nij,knj->kni", b, u)).ravel()

    y = np.tile(x0, (len(dts), 1, 1)).ravel()
    hourly = [y.reshape(len(dts), n, 2)]  # reference states at every full hour
    for seg in range(n_seg):
        u = np.stack([inputs[dt][seg * 60 // dt] for dt in dts])
        sol = solve_ivp(rhs, (0.0, 60 / 3600), y, method="DOP853", rtol=1e-10, atol=1e-10, args=(u,))
        y = sol.y[:, -1]
        if (seg + 1) % 60 == 0:
            hourly.append(y.reshape(len(dts), n, 2))
    reference = np.stack(hourly, axis=1)  # (len(dts), 25, n, 2)

    for k, dt in enumerate(dts):
        traj = discretize(params, dt).simulate(x0, inputs[dt])[:: 3600 // dt]
        err = np.abs(traj - reference[k]).max()
        assert err <= 1e-6, f"dt_s={dt}: ZOH vs solve_ivp over one day differs by {err:.2e} K"


def test_step_equals_matrix_form_and_simulate():
    rng = np.random.default_rng(0)
    params, _ = sample_house_params(rng, 50)
    model = discretize(params, 900.0)
    assert model.a_d.shape == (50, 2, 2) and model.b_d.shape == (50, 2, 4)
    assert not model.a_d.flags.writeable and not model.b_d.flags.writeable
    x = rng.uniform(10.0, 25.0, (50, 2))
    u = _random_inputs(rng, 1, 50)[0]
    expected = np.einsum("nij,nj->ni", model.a_d, x) + np.einsum("nij,nj->ni", model.b_d, u)
    t_i, t_e = model.step(x[:, 0], x[:, 1], u[:, 0], u[:, 1], u[:, 2], u[:, 3])
    np.testing.assert_allclose(np.stack([t_i, t_e], 1), expected, rtol=0, atol=1e-12)
    # Scalars broadcast to all houses.
    t_i, t_e = model.step(20.0, 18.0, -5.0, 3.0, 0.2, 100.0)
    u_s = np.array([-5.0, 3.0, 0.2, 100.0])
    np.testing.assert_allclose(t_i, model.a_d[:, 0] @ [20.0, 18.0] + model.b_d[:, 0] @ u_s, atol=1e-12)
    traj = model.simulate(x, u[None])
    np.testing.assert_allclose(traj[1], expected, atol=1e-12)
    assert INPUT_NAMES == ("t_a_c", "q_hp_kw", "q_int_kw", "g_sol_w_per_m2")


@pytest.mark.parametrize("dt_s", [1e-3, 900.0, 1e7, 1e10, 1e14])
def test_any_step_length_is_finite_and_exact_at_the_limits(dt_s):
    params = params_for_house_type(TYPES)
    model = discretize(params, dt_s)
    assert np.all(np.isfinite(model.a_d)) and np.all(np.isfinite(model.b_d))
    a, b = continuous_matrices(params)
    h = dt_s / 3600.0
    slowest_h = (-1.0 / np.linalg.eigvals(a).real).max()
    if h > 40.0 * slowest_h:  # e^-40 ~ 4e-18: one step lands on the hand-solved steady state
        t_i, t_e = model.step(25.0, 5.0, -3.0, 4.0, 0.5, 200.0)
        heat = 4.0 + 0.5 + params.a_i_m2 * 200.0 / 1000.0
        t_i_ss, t_e_ss = _hand_steady_state(params, -3.0, heat)
        np.testing.assert_allclose(t_i, t_i_ss, atol=1e-9)
        np.testing.assert_allclose(t_e, t_e_ss, atol=1e-9)
    if h < 1e-6:  # tiny step: second-order Taylor expansion is exact to ~h^3
        np.testing.assert_allclose(model.a_d, np.eye(2) + a * h + a @ a * h**2 / 2, rtol=0, atol=1e-15)
        np.testing.assert_allclose(model.b_d, b * h + a @ b * h**2 / 2, rtol=1e-9, atol=1e-20)
    if h >= 0.25:  # mean state: x_ss + A^-1 (A_d - I) (x0 - x_ss) / h for constant inputs
        x0 = np.array([25.0, 5.0])
        u = np.array([-3.0, 4.0, 0.5, 200.0])
        x_ss = -np.linalg.solve(a, (b @ u)[..., None])[..., 0]  # (n, 2)
        dev = np.linalg.solve(a, (model.a_d - np.eye(2)) @ (x0 - x_ss)[..., None])[..., 0] / h
        t_i_m, t_e_m = model.mean_over_step(*x0, *u)
        np.testing.assert_allclose(np.stack([t_i_m, t_e_m], 1), x_ss + dev, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- analytic checks


def test_converges_to_hand_solved_steady_state():
    params = params_for_house_type(TYPES)
    model = discretize(params, 3600.0)
    u = np.array([2.0, 3.0, 0.3, 150.0])
    traj = model.simulate(np.array([12.0, 30.0]), np.tile(u, (24 * 365, 1)))  # a year, tau <= 9 days
    heat = 3.0 + 0.3 + params.a_i_m2 * 0.15
    t_i_ss, t_e_ss = _hand_steady_state(params, 2.0, heat)
    np.testing.assert_allclose(traj[-1, :, 0], t_i_ss, atol=1e-6)
    np.testing.assert_allclose(traj[-1, :, 1], t_e_ss, atol=1e-6)


def test_free_cooling_one_node_limit():
    """With the envelope decoupled (r_ie -> inf) the interior cools as exp(-t / (r_ia c_i))."""
    c_i, r_ia, t_a, t0 = 2.0, 10.0, -5.0, 21.0
    params = BuildingParams(c_i_kwh_per_k=c_i, c_e_kwh_per_k=20.0, r_ie_k_per_kw=1e12, r_ea_k_per_kw=2.0,
                            r_ia_k_per_kw=r_ia, a_i_m2=3.0)
    model = discretize(params, 900.0)
    traj = model.simulate(np.array([t0, 0.0]), np.tile([t_a, 0.0, 0.0, 0.0], (96, 1)))
    hours = np.arange(97) * 0.25
    np.testing.assert_allclose(traj[:, 0, 0], t_a + (t0 - t_a) * np.exp(-hours / (r_ia * c_i)), atol=1e-9)


def test_steady_state_heat_holds_the_temperature():
    params = params_for_house_type(TYPES)
    q_int, g, t_a, t_set = 0.4, 80.0, -7.0, 20.5
    q_hp = steady_state_heat_kw(params, t_set, t_a, q_int_kw=q_int, g_sol_w_per_m2=g)
    _, t_e = _hand_steady_state(params, t_a, q_hp + q_int + params.a_i_m2 * g / 1000.0)
    model = discretize(params, 3600.0)
    t_i_next, t_e_next = model.step(t_set, t_e, t_a, q_hp, q_int, g)
    np.testing.assert_allclose(t_i_next, t_set, atol=1e-10)
    np.testing.assert_allclose(t_e_next, t_e, atol=1e-10)


@pytest.mark.parametrize("dt_s", [60.0, 900.0, 3600.0, 86400.0 * 30])
def test_energy_balance_closes(dt_s):
    """Stored-energy change = (inputs - losses) * h exactly, with losses at the exact mean state."""
    rng = np.random.default_rng(7)
    params, _ = sample_house_params(rng, 20)
    model = discretize(params, dt_s)
    h = dt_s / 3600.0
    x0 = rng.uniform(5.0, 25.0, (20, 2))
    t_a, q_hp, q_int, g = _random_inputs(rng, 1, 20)[0].T
    t_i1, t_e1 = model.step(x0[:, 0], x0[:, 1], t_a, q_hp, q_int, g)
    t_i_m, t_e_m = model.mean_over_step(x0[:, 0], x0[:, 1], t_a, q_hp, q_int, g)
    flows = heat_flows_kw(params, t_i_m, t_e_m, t_a)
    gains_kw = q_hp + q_int + params.a_i_m2 * g / 1000.0
    stored_i = params.c_i_kwh_per_k * (t_i1 - x0[:, 0])
    stored_e = params.c_e_kwh_per_k * (t_e1 - x0[:, 1])
    scale = np.abs(gains_kw * h) + np.abs(stored_i) + np.abs(stored_e) + 1.0
    np.testing.assert_array_less(np.abs(stored_i - h * (gains_kw - flows.q_ie_kw - flows.q_ia_kw)) / scale, 1e-11)
    np.testing.assert_array_less(np.abs(stored_e - h * (flows.q_ie_kw - flows.q_ea_kw)) / scale, 1e-11)
    total = stored_i + stored_e - h * (gains_kw - flows.loss_kw)
    np.testing.assert_array_less(np.abs(total) / scale, 1e-11)


# --------------------------------------------------------------------------- parameters and types


def test_design_heat_load_of_the_1973_house():
    params = params_for_house_type("1973.5-158m2-r1")
    assert params.heat_loss_coefficient_kw_per_k[0] == pytest.approx(0.49, abs=0.01)
    assert params.design_heat_load_kw(t_design_c=-12.0)[0] == pytest.approx(15.5, abs=0.5)
    # Renovation reduces the load monotonically for every type.
    table = house_types()
    load = BuildingParams.from_table(table).design_heat_load_kw()
    by_level = load.reshape(9, 3)
    assert np.all(np.diff(by_level, axis=1) < 0)


def _good_fields(n: int = 3) -> dict[str, np.ndarray]:
    return {f: np.full(n, 1.5) for f in PARAM_FIELDS}


@pytest.mark.parametrize("field", PARAM_FIELDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0, 0.0])
def test_bad_parameters_name_field_and_house(field, bad):
    values = _good_fields()
    values[field][2] = bad
    if field == "a_i_m2" and bad == 0.0:
        BuildingParams(**values)  # no aperture is allowed
        return
    with pytest.raises(ConfigError, match=rf"{field}\[2\]"):
        BuildingParams(**values)


def test_parameter_shapes_and_containers():
    values = _good_fields()
    values["r_ia_k_per_kw"] = np.ones(4)
    with pytest.raises(ConfigError, match="mismatched lengths"):
        BuildingParams(**values)
    with pytest.raises(ConfigError, match="c_i_kwh_per_k"):
        BuildingParams(**{**_good_fields(), "c_i_kwh_per_k": np.ones((3, 1))})
    single = BuildingParams(c_i_kwh_per_k=2, c_e_kwh_per_k=20, r_ie_k_per_kw=0.3, r_ea_k_per_kw=2, r_ia_k_per_kw=10)
    assert single.n_houses == 1 and single.a_i_m2[0] == 0.0
    with pytest.raises(ValueError):
        single.c_i_kwh_per_k[0] = 5.0  # read-only
    both = BuildingParams.concat([single, params_for_house_type(TYPES)])
    assert both.n_houses == 4 and both[1:] == params_for_house_type(TYPES) and both[0] == single
    clone = pickle.loads(pickle.dumps(both))
    assert clone == both and not clone.r_ie_k_per_kw.flags.writeable
    with pytest.raises(DataError, match="a_i_m2"):
        BuildingParams.from_table(pd.DataFrame({f: [1.0] for f in PARAM_FIELDS[:-1]}))


@pytest.mark.parametrize("dt_s", [0.0, -900.0, np.nan, np.inf, "15min"])
def test_bad_step_length(dt_s):
    with pytest.raises(ConfigError, match="dt_s"):
        discretize(params_for_house_type(TYPES), dt_s)


def test_house_types_and_sampling():
    table = house_types()
    assert len(table) == 27 and table["house_type"].is_unique
    assert "1973.5-158m2-r1" in set(table["house_type"])
    with pytest.raises(ConfigError, match="1973.5-158m2-r1"):  # the message lists the valid ids
        params_for_house_type(["1973.5-158m2-r1", "1975-150m2-r1"])
    a, ids_a = sample_house_params(np.random.default_rng(3), 100, renovation_levels=(2, 3))
    b, ids_b = sample_house_params(np.random.default_rng(3), 100, renovation_levels=(2, 3))
    assert a == b and list(ids_a) == list(ids_b)
    assert all(not t.endswith("r1") for t in ids_a)
    assert a == params_for_house_type(ids_a)
    w = np.zeros(9)
    w[4] = 1.0
    _, ids = sample_house_params(np.random.default_rng(0), 5, renovation_levels=(1,), weights=w)
    assert set(ids) == {table[table["renovation_level"] == 1]["house_type"].iloc[4]}
    with pytest.raises(ConfigError, match="weights"):
        sample_house_params(np.random.default_rng(0), 5, weights=[1.0, 2.0])


@pytest.mark.parametrize("dt_s", [1.0, 900.0, 86400.0])
def test_closed_form_matches_van_loan_expm(dt_s):
    """The eigen closed form equals scipy's expm of the augmented matrix [[0, I, 0], [0, A, B], [0, 0, 0]]."""
    from scipy.linalg import expm

    params, _ = sample_house_params(np.random.default_rng(1), 27)
    model = discretize(params, dt_s)
    a, b = continuous_matrices(params)
    h = dt_s / 3600.0
    m = np.zeros((27, 8, 8))
    m[:, 0:2, 2:4] = np.eye(2)
    m[:, 2:4, 2:4] = a
    m[:, 2:4, 4:8] = b
    e = expm(m * h)  # [[I, F1, F2], [0, A_d, B_d], [0, 0, I]], F1 x0 + F2 u = integral of x
    np.testing.assert_allclose(model.a_d, e[:, 2:4, 2:4], rtol=0, atol=1e-13)
    np.testing.assert_allclose(model.b_d, e[:, 2:4, 4:8], rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(model.a_mean, e[:, 0:2, 2:4] / h, rtol=0, atol=1e-13)
    np.testing.assert_allclose(model.b_mean, e[:, 0:2, 4:8] / h, rtol=1e-11, atol=1e-15)


def test_type_index_draw_and_model_rows_are_those_of_the_house_by_house_path():
    """The reset's fast path (draw indices, gather rows of the table's model) equals drawing the
    parameters and discretising them: the same random stream, the same numbers."""
    params, ids = sample_house_params(np.random.default_rng(5), 40, renovation_levels=(1, 3))
    idx = sample_house_type_index(np.random.default_rng(5), 40, renovation_levels=(1, 3))
    assert list(candidate_house_types((1, 3))[idx]) == list(ids)
    gathered = discretize_house_types(candidate_house_types(), 900.0).take(
        [list(candidate_house_types()).index(t) for t in ids])
    direct = discretize(params, 900.0)
    assert gathered.params == params
    for name in ("a_d", "b_d", "a_mean", "b_mean"):
        assert np.array_equal(getattr(gathered, name), getattr(direct, name)), name
        assert not getattr(gathered, name).flags.writeable
    assert len(gathered._coef) == len(direct._coef) and len(gathered._coef_mean) == len(direct._coef_mean)
    for a, b in zip(gathered._coef + gathered._coef_mean, direct._coef + direct._coef_mean):
        assert np.array_equal(a, b) and not a.flags.writeable
    for f in PARAM_FIELDS:
        assert not getattr(gathered.params, f).flags.writeable
    x = gathered.step(20.0, 15.0, 0.0, 3.0)
    assert np.array_equal(x[0], direct.step(20.0, 15.0, 0.0, 3.0)[0])
