"""Hand-checked answers on 2- and 3-bus feeders: DistFlow, the AC re-check and the PV/voltage case."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import brentq

from conftest import make_line_feeder
from thermogrid_env.opf import ObjectiveWeights, OPFData, PVData, solve_opf
from thermogrid_env.physics.powerflow import solve as pf_solve


def _two_bus_receiving_w(v0_sq: float, r: float, x: float, p: float, q: float) -> float:
    """Squared voltage at the load bus of a 2-bus line: the root of
    ``w² - (w0 - 2 (r p + x q)) w + (r² + x²)(p² + q²) = 0`` on the high-voltage branch."""
    a = v0_sq - 2.0 * (r * p + x * q)
    return 0.5 * (a + np.sqrt(a * a - 4.0 * (r * r + x * x) * (p * p + q * q)))


@pytest.mark.parametrize("formulation", ["distflow-socp", "bim-socp"])
def test_two_bus_load_matches_closed_form(formulation):
    f = make_line_feeder(2, r_pu=0.05, x_pu=0.02, s_base_kva=100.0)
    p_kw, q_kvar = 60.0, 20.0
    data = OPFData(feeder=f, dt_s=3600.0, base_p_kw=[[0.0, p_kw]], base_q_kvar=[[0.0, q_kvar]],
                   t_ambient_c=[5.0], price_import_eur_per_kwh=[0.3])
    sol = solve_opf(data, formulation, exactness="report")
    p, q = p_kw / 100.0, q_kvar / 100.0
    w1 = _two_bus_receiving_w(1.0, 0.05, 0.02, p, q)
    l_exact = (p * p + q * q) / w1
    assert sol.v_pu[0, 1] == pytest.approx(np.sqrt(w1), abs=1e-7)
    assert sol.p_slack_kw[0] == pytest.approx(100.0 * (p + 0.05 * l_exact), rel=1e-7)
    assert sol.q_slack_kvar[0] == pytest.approx(100.0 * (q + 0.02 * l_exact), rel=1e-7)
    assert sol.objective_eur == pytest.approx(0.3 * 100.0 * (p + 0.05 * l_exact), rel=1e-7)
    d = sol.diagnostics
    assert d.exact and d.ac_ok
    assert d.ac.v_error_pu < 1e-7 and d.ac.loss_error_kw < 1e-5


def test_three_bus_pv_curtailed_exactly_to_the_voltage_limit():
    """PV at the end of a line must be curtailed to hold 1.05 pu; the answer solves a 1-D root."""
    f = make_line_feeder(3, r_pu=0.04, x_pu=0.01, v_max_pu=1.05)
    t = 1
    pv = PVData(bus=[2], p_avail_kw=[[200.0]], s_inverter_kva=[220.0], q_control=False)
    data = OPFData(feeder=f, dt_s=3600.0, base_p_kw=np.zeros((t, 3)), base_q_kvar=np.zeros((t, 3)),
                   t_ambient_c=[20.0], price_import_eur_per_kwh=[0.3], price_export_eur_per_kwh=[0.1], pvs=pv,
                   weights=ObjectiveWeights(curtailment_eur_per_kwh=0.2))

    def v_end(p_gen_kw: float) -> float:
        return float(pf_solve(f, np.array([0.0, 0.0, -p_gen_kw]), np.zeros(3)).v_pu[2])

    p_star = brentq(lambda p: v_end(p) - 1.05, 1.0, 200.0, xtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a failed recovery warns
        sol = solve_opf(data, exactness="auto")
    assert sol.diagnostics.ac_ok
    assert sol.pv_p_kw[0, 0] == pytest.approx(p_star, rel=1e-5)
    assert sol.diagnostics.ac.v_pu[0, 2] <= 1.05 + 1e-6
