"""Exactness detection and recovery on a constructed PV / over-voltage case (the known failure)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from thermogrid_env.opf import ObjectiveWeights, solve_opf
from thermogrid_env.opf.synthetic import example_data


@pytest.fixture(scope="module")
def pv_day(feeder):
    """Midday with strong PV, an upper limit of 1.05 pu, no reactive power, dear curtailment and no
    export credit: the relaxed optimum prefers burning surplus PV as fictitious losses."""
    d = example_data(feeder, rng=1, n_periods=8, dt_s=900.0, start_hour=11.0, season="summer", hp_share=0.0,
                     ev_share=0.0, pv_share=1.0, pv_kwp_range=(10.0, 15.0),
                     weights=ObjectiveWeights(curtailment_eur_per_kwh=1.0), transformer=False)
    v_max = np.where(np.arange(feeder.n_bus) == 0, feeder.v_max_pu, 1.05)
    return dataclasses.replace(d, pvs=dataclasses.replace(d.pvs, q_control=False), v_max_pu=v_max,
                               price_export_eur_per_kwh=np.zeros(d.n_periods))


def test_inexact_relaxation_is_detected(pv_day):
    sol = solve_opf(pv_day, exactness="report")
    d = sol.diagnostics
    assert not d.exact and not d.ac_ok
    assert d.loss_gap_rel.max() > 0.5  # most of the "losses" are fictitious
    assert d.ac.v_over_pu > 1e-3  # the AC flow of the dispatch exceeds 1.05 pu ...
    assert sol.v_pu[:, 1:].max() <= 1.05 + 1e-6  # ... while the optimizer believed it held
    assert not d.condition_holds.all() and d.upper_voltage_binding.any() and d.reverse_flow.any()
    assert sol.recovery == "none"


@pytest.mark.parametrize("policy", ["auto", "loss-penalty", "ac-nlp-polish"])
def test_recovery_hands_over_an_ac_feasible_dispatch(pv_day, policy):
    if policy != "loss-penalty":
        pytest.importorskip("casadi")
    first = solve_opf(pv_day, exactness="report")
    sol = solve_opf(pv_day, exactness=policy)
    d = sol.diagnostics
    assert sol.recovery in ("loss-penalty", "ac-nlp-polish")
    assert policy == "auto" or sol.recovery == policy
    assert d.ac_ok and d.ac.v_over_pu <= 1e-4 and d.ac.v_error_pu <= 1e-4
    assert sol.lower_bound_eur == pytest.approx(first.objective_eur)
    assert d.ac.objective_eur >= sol.lower_bound_eur - 1e-6
    assert any("optimality gap bound" in n for n in sol.notes)


def test_exact_case_skips_recovery(feeder):
    d = example_data(feeder, rng=2, n_periods=4, start_hour=18.0, season="winter", penetration=0.2)
    sol = solve_opf(d, exactness="auto")
    assert sol.recovery == "none" and sol.timings.recovery_s == 0.0
    assert sol.diagnostics.exact and sol.diagnostics.condition_holds.all()
