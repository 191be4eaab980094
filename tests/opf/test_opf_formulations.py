"""Cross-checks of the formulations on the default feeder (after PowerModels' test habits)."""

from __future__ import annotations

import numpy as np
import pytest

from thermogrid_env.opf import FORMULATIONS, solve_opf
from thermogrid_env.opf.synthetic import example_data


@pytest.fixture(scope="module")
def day(feeder):
    """Two evening hours on the default feeder with a quarter of the households fully equipped."""
    return example_data(feeder, rng=3, n_periods=8, dt_s=900.0, start_hour=17.0, season="winter",
                        penetration=0.25)


@pytest.fixture(scope="module")
def socp(day):
    return solve_opf(day, "distflow-socp", exactness="report")


def test_registry_has_the_four_formulations():
    assert {"distflow-socp", "bim-socp", "lindistflow", "ac-nlp"} <= set(FORMULATIONS)


def test_distflow_socp_is_exact_and_ac_consistent(socp):
    d = socp.diagnostics
    assert socp.status == "optimal"
    assert d.exact and d.ac_ok
    assert d.loss_gap_rel.max() <= 1e-6
    assert d.ac.v_error_pu <= 1e-4


def test_bim_and_distflow_agree_on_a_radial_feeder(day, socp):
    bim = solve_opf(day, "bim-socp", exactness="report")
    assert bim.objective_eur == pytest.approx(socp.objective_eur, rel=1e-6)
    np.testing.assert_allclose(bim.v_pu, socp.v_pu, atol=1e-5)
    assert bim.diagnostics.ac.v_error_pu < 1e-4


def test_relaxation_is_a_lower_bound_on_the_ac_nlp(day, socp):
    pytest.importorskip("casadi")
    nlp = solve_opf(day, "ac-nlp", exactness="report", warm_start=socp)
    assert nlp.status.startswith("optimal")
    assert socp.objective_eur <= nlp.objective_eur + 1e-6 * abs(nlp.objective_eur)
    # exact relaxation here, so the two optima coincide
    assert nlp.objective_eur == pytest.approx(socp.objective_eur, rel=1e-5)
    assert nlp.diagnostics.max_gap_abs_pu < 1e-6
    assert nlp.diagnostics.ac.v_error_pu < 1e-6


def test_lindistflow_is_close_but_lossless(day, socp):
    lin = solve_opf(day, "lindistflow", exactness="report")
    assert "losses" not in lin.terms_eur and np.isnan(lin.l_pu).all()
    assert lin.objective_eur == pytest.approx(socp.objective_eur, rel=0.05)
    assert lin.objective_eur < socp.objective_eur  # ignoring losses makes the plan look cheaper
    ac = lin.diagnostics.ac
    assert 1e-4 < ac.v_error_pu < 0.02  # the price of linearising, in pu
    assert ac.loss_error_kw > 0.1  # series losses it does not see


def test_shunts_included_keep_the_ac_recheck_exact(day, socp):
    without = solve_opf(day, "distflow-socp", exactness="report", include_shunts=False)
    assert socp.diagnostics.ac.v_error_pu < 1e-6
    # neglecting the transformer magnetising shunt shifts losses by ~its iron loss
    assert without.diagnostics.ac.loss_error_kw > 100 * socp.diagnostics.ac.loss_error_kw
    assert without.diagnostics.ac.loss_error_kw > 0.1
