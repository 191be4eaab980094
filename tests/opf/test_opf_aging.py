"""The transformer aging epigraph against the IEC 60076-7 model of the simulator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from thermogrid_env.opf import ObjectiveWeights, TransformerData, solve_opf
from thermogrid_env.opf.synthetic import example_data
from thermogrid_env.physics.transformer import relative_aging_rate, steady_state_hot_spot_c


@pytest.fixture(scope="module")
def loaded_evening(feeder):
    """Cold evening, every household with heat pump and EV: a well-loaded transformer."""
    return example_data(feeder, rng=4, n_periods=16, start_hour=16.0, season="winter", penetration=1.0,
                        weights=ObjectiveWeights(aging_eur_per_h=5.0))


def test_steady_state_epigraph_is_the_iec_relation(loaded_evening):
    d = dataclasses.replace(loaded_evening, transformer=TransformerData(
        params=loaded_evening.transformer.params, form="steady-state"))
    sol = solve_opf(d, exactness="report")
    k = sol.transformer_load_factor
    s = np.hypot(sol.p_branch_kw[:, 0], sol.q_branch_kvar[:, 0]) / d.feeder.transformer_rating_kva
    np.testing.assert_allclose(k, s, rtol=1e-5, atol=1e-7)  # the load-factor epigraph is tight
    expected = steady_state_hot_spot_c(d.transformer.params, k, d.t_ambient_c)
    np.testing.assert_allclose(sol.transformer_hot_spot_c, expected, atol=1e-3)
    v = relative_aging_rate(expected)
    # polyhedral envelope: at most 0.37 % below the exponential, never above
    assert np.all(sol.transformer_aging_rate <= v * (1 + 1e-6))
    assert np.all(sol.transformer_aging_rate >= v * (1 - 0.004))


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
