"""Hand-checked answers on 2- and 3-bus feeders: DistFlow, the AC re-check and the PV/voltage case."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from conftest import make_line_feeder
from thermogrid_env.config import RewardWeights
from thermogrid_env.opf import OPFData, PVInputs, solve_opf
from thermogrid_env.physics.powerflow import solve as pf_solve
from thermogrid_env.physics.pv import PVParams
from thermogrid_env.sim import costs
from thermogrid_env.sim.devices import PVSystems


def _two_bus_receiving_w(v0_sq: float, r: float, x: float, p: float, q: float) -> float:
    """Squared voltage at the load bus of a 2-bus line: the root of
    ``w² - (w0 - 2 (r p + x q)) w + (r² + x²)(p² + q²) = 0`` on the high-voltage branch."""
    a = v0_sq - 2.0 * (r * p + x * q)
    return 0.5 * (a + np.sqrt(a * a - 4.0 * (r * r + x * x) * (p * p + q * q)))


@pytest.mark.parametrize("formulation", ["distflow-socp", "bim-socp"])
def test_two_bus_load_matches_closed_form(formulation):
    f = make_line_feeder(2, r_pu=0.05, x_pu=0.02, s_base_kva=100.0)
    p_kw, q_kvar = 60.0, 20.0
    # A losses weight unlike the price, so that the two terms are told apart.
    data = OPFData(feeder=f, dt_s=3600.0, base_p_kw=[[0.0, p_kw]], base_q_kvar=[[0.0, q_kvar]],
                   t_ambient_c=[5.0], price_import_eur_per_kwh=[0.3], weights=RewardWeights(losses=0.5))
    sol = solve_opf(data, formulation, exactness="report")
    p, q = p_kw / 100.0, q_kvar / 100.0
    w1 = _two_bus_receiving_w(1.0, 0.05, 0.02, p, q)
    l_exact = (p * p + q * q) / w1
    loss_kw = 100.0 * 0.05 * l_exact
    assert sol.v_pu[0, 1] == pytest.approx(np.sqrt(w1), abs=1e-7)
    assert sol.p_slack_kw[0] == pytest.approx(p_kw + loss_kw, rel=1e-7)
    assert sol.q_slack_kvar[0] == pytest.approx(100.0 * (q + 0.02 * l_exact), rel=1e-7)
    # One cost model: the bus is the meter and pays its 60 kW at the price; the feeder's losses
    # are the ``losses`` term (p_slack - 60 kW) at its own weight. (The old objective billed the
    # feeder head, 0.3 * p_slack; with the default losses weight 0.3 the two coincide here.)
    assert sol.terms_raw["cost"] == pytest.approx(0.3 * p_kw * 1.0, rel=1e-9)
    assert sol.terms_raw["losses"] == pytest.approx(loss_kw * 1.0, rel=1e-6)
    assert sol.objective_eur == pytest.approx(0.3 * p_kw + 0.5 * loss_kw, rel=1e-7)
    assert sol.terms_raw["voltage"] == pytest.approx(0.0, abs=1e-7)  # 0.96 pu: inside the band
    d = sol.diagnostics
    assert d.exact and d.ac_ok
    assert d.ac.v_error_pu < 1e-7 and d.ac.loss_error_kw < 1e-5
    assert d.ac.objective_eur == pytest.approx(sol.objective_eur, rel=1e-7)


def _pv_line(network_limits: str, weights: RewardWeights) -> OPFData:
    """200 kW of PV at the end of a 3-bus line (1.14 pu at full output), no reactive power."""
    f = make_line_feeder(3, r_pu=0.04, x_pu=0.01, v_max_pu=1.05)
    group = PVSystems(load=[0], bus=[2], params=PVParams(p_peak_kwp=[200.0], s_inverter_kva=[220.0]))
    pv = PVInputs(group=group, p_avail_kw=[[200.0]], q_control=False)
    return OPFData(feeder=f, dt_s=3600.0, base_p_kw=np.zeros((1, 3)), base_q_kvar=np.zeros((1, 3)),
                   t_ambient_c=[20.0], price_import_eur_per_kwh=[0.3], price_export_eur_per_kwh=[0.1], pvs=pv,
                   weights=weights, network_limits=network_limits)


def _v_end(f, p_gen_kw: float) -> float:
    return float(pf_solve(f, np.array([0.0, 0.0, -p_gen_kw]), np.zeros(3)).v_pu[2])


def test_three_bus_pv_curtailed_exactly_to_the_voltage_limit():
    """With hard limits, PV at the end of a line is curtailed to hold 1.05 pu; the answer solves a
    1-D root. (Export earns 0.1, curtailment costs 0.2 and losses 0.3 EUR/kWh, so every kW that
    the voltage limit allows is worth producing.)"""
    data = _pv_line("hard", RewardWeights(curtailment=0.2))
    p_star = brentq(lambda p: _v_end(data.feeder, p) - 1.05, 1.0, 200.0, xtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a failed recovery warns
        sol = solve_opf(data, exactness="auto")
    assert sol.diagnostics.ac_ok
    assert sol.pv_p_kw[0, 0] == pytest.approx(p_star, rel=1e-5)
    assert sol.diagnostics.ac.v_pu[0, 2] <= 1.05 + 1e-6
    assert "voltage" not in sol.terms_raw  # hard limits: no penalty term


def test_penalised_voltage_band_trades_the_excess_against_curtailment():
    """With ``network_limits="penalty"`` the band is the reward's ``voltage`` term: the OPF exceeds
    1.05 pu where that is cheaper than curtailing. The dispatch is the minimiser of the reward
    measured on the AC power flow (curtailment, export, losses, voltage excess), and its voltage
    term is :func:`costs.voltage_excess` of its AC voltages."""
    w = RewardWeights(curtailment=0.2, voltage=300.0)
    data = _pv_line("penalty", w)
    f = data.feeder
    p_star = brentq(lambda p: _v_end(f, p) - 1.05, 1.0, 200.0, xtol=1e-10)

    def measured_eur(p_gen_kw: float) -> float:  # the reward's terms of one 1-h step, by hand
        pf = pf_solve(f, np.array([0.0, 0.0, -p_gen_kw]), np.zeros(3))
        return float(-0.1 * p_gen_kw + w.losses * pf.p_loss_kw + w.curtailment * (200.0 - p_gen_kw)
                     + w.voltage * costs.voltage_excess(pf.v_pu[1:], 0.9, 1.05))

    best = minimize_scalar(measured_eur, bounds=(0.0, 200.0), method="bounded", options={"xatol": 1e-7})
    assert p_star + 10.0 < best.x < 190.0  # an interior trade-off, neither the hard answer nor all PV
    sol = solve_opf(data, exactness="auto")
    d = sol.diagnostics
    assert sol.recovery == "none" and d.exact and d.ac.feasible
    assert sol.pv_p_kw[0, 0] == pytest.approx(best.x, abs=1e-3)
    assert d.ac.v_pu[0, 2] > 1.05 + 0.04  # beyond the band, on purpose
    assert sol.terms_raw["voltage"] == pytest.approx(costs.voltage_excess(d.ac.v_pu[:, 1:], 0.9, 1.05).sum(),
                                                     rel=1e-6)
    assert sol.objective_eur == pytest.approx(best.fun, abs=1e-5)
    assert d.ac.objective_eur == pytest.approx(sol.objective_eur, abs=1e-5)
    # the hard-limit dispatch is feasible here at zero voltage cost, so the penalty optimum is cheaper
    hard = solve_opf(_pv_line("hard", w), exactness="report")
    assert hard.pv_p_kw[0, 0] == pytest.approx(p_star, rel=1e-5)
    assert sol.objective_eur < hard.objective_eur - 1.0
    # a voltage weight above the marginal value of PV makes the penalty exact: the hard answer again
    steep = solve_opf(_pv_line("penalty", RewardWeights(curtailment=0.2, voltage=1000.0)), exactness="report")
    assert steep.pv_p_kw[0, 0] == pytest.approx(p_star, rel=1e-5)
