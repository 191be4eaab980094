"""The transformer aging epigraph against the IEC 60076-7 model of the simulator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from thermogrid_env.config import RewardWeights
from thermogrid_env.opf import solve_opf
from thermogrid_env.opf.devices import TANGENT_TOP_C, tangent_knots_c
from thermogrid_env.opf.synthetic import example_data
from thermogrid_env.physics.transformer import relative_aging_rate, steady_state_hot_spot_c


@pytest.fixture(scope="module")
def loaded_evening(feeder):
    """Cold evening, every household with heat pump and EV: a well-loaded transformer."""
    return example_data(feeder, rng=4, n_periods=16, start_hour=16.0, season="winter", penetration=1.0,
                        weights=RewardWeights(aging=5.0))


def test_steady_state_epigraph_is_the_iec_relation(loaded_evening):
    d = dataclasses.replace(loaded_evening, transformer=dataclasses.replace(loaded_evening.transformer,
                                                                            form="steady-state"))
    sol = solve_opf(d, exactness="report")
    k = sol.transformer_load_factor
    # the simulator's load factor is the current over the rated current: |S| / (v_HV S_rated) at the
    # HV terminal (the slack bus); the load-factor epigraph is tight
    f = d.feeder
    s = np.hypot(sol.p_branch_kw[:, 0], sol.q_branch_kvar[:, 0]) / (f.v_slack_pu * f.transformer_rating_kva)
    np.testing.assert_allclose(k, s, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(k, sol.diagnostics.ac.loading[:, f.transformer_branch], rtol=1e-5)
    expected = steady_state_hot_spot_c(d.transformer.params, k, d.t_ambient_c)
    np.testing.assert_allclose(sol.transformer_hot_spot_c, expected, atol=1e-3)
    v = relative_aging_rate(expected)
    # polyhedral envelope: at most 0.37 % below the exponential, never above (up to the epigraph's
    # solver slack: 1e-4 K of hot spot is 1.2e-5 of the rate)
    assert np.all(sol.transformer_aging_rate <= v * (1 + 2e-5))
    assert np.all(sol.transformer_aging_rate >= v * (1 - 0.004))
    # the aging term is the loss of life in hours, weighted by the reward's aging weight
    assert sol.terms_raw["aging"] == pytest.approx(sol.transformer_loss_of_life_h, rel=1e-6)
    assert sol.terms_eur["aging"] == pytest.approx(5.0 * sol.transformer_loss_of_life_h, rel=1e-6)


def test_dynamic_epigraph_tracks_the_simulator(loaded_evening):
    sol = solve_opf(loaded_evening, exactness="report")
    g = sol.diagnostics.aging
    assert g is not None
    assert g.max_hot_spot_error_k < 0.05  # same difference equations, same decay factors
    assert abs(g.rel_error) < 0.05  # right-rectangle vs the simulator's sub-step trapezoid


def test_exp_cone_epigraph_agrees_with_tangents(loaded_evening):
    tr = dataclasses.replace(loaded_evening.transformer, epigraph="exp-cone")
    exp = solve_opf(dataclasses.replace(loaded_evening, transformer=tr), exactness="off")
    tan = solve_opf(loaded_evening, exactness="off")
    assert exp.transformer_loss_of_life_h == pytest.approx(tan.transformer_loss_of_life_h, rel=0.005)


def test_tangent_envelope_stops_at_the_emergency_limit():
    knots = tangent_knots_c(-10.0, 400.0)  # penalised limits allow hot spots of several hundred °C
    assert knots[-1] <= TANGENT_TOP_C + 1.5 and knots[-1] >= TANGENT_TOP_C
    np.testing.assert_allclose(np.diff(knots), 1.5)
