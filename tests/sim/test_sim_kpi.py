"""KPI definitions on hand-computable cases."""

import numpy as np
import pytest

from thermogrid_env.sim.kpi import KPI_UNITS, KPIAccumulator, KPILimits, step_kpis

LIMITS = KPILimits(v_min_pu=0.9, v_max_pu=1.1, t_min_c=20.0, t_max_c=23.0)


def _step(**overrides):
    args = dict(
        limits=LIMITS, dt_h=0.25, v_pu=np.array([1.0, 0.85, 1.12, 0.95]),
        line_loading=np.array([0.5, 1.2, 0.1]), trafo_loading=0.8, p_loss_kw=4.0, p_slack_kw=100.0,
        hot_spot_c=70.0, loss_of_life_h=0.01, t_indoor_c=np.array([19.0, 21.0, 24.5]),
        ev_unmet_kwh=2.0, bus_net_p_kw=np.array([10.0, -4.0, 6.0]), price_eur_per_kwh=0.3,
        feed_in_eur_per_kwh=0.1, pv_curtailed_kw=8.0,
    )
    args.update(overrides)
    return step_kpis(**args)


def test_step_kpis_by_hand() -> None:
    k = _step()
    assert set(k) == set(KPI_UNITS)
    assert k["voltage_violations"] == 2
    assert k["voltage_dev_max_pu"] == pytest.approx(0.05)
    assert k["discomfort_kh"] == pytest.approx((1.0 + 1.5) * 0.25)
    assert k["losses_kwh"] == pytest.approx(1.0)
    assert k["cost_eur"] == pytest.approx((0.3 * 16.0 - 0.1 * 4.0) * 0.25)
    assert k["curtailment_kwh"] == pytest.approx(2.0)
    assert k["line_loading_max"] == pytest.approx(1.2)
    assert k["line_loading_mean"] == pytest.approx(0.6)
    assert k["import_kwh"] == pytest.approx(25.0)
    assert k["peak_import_kw"] == 100.0
    assert k["aging_h"] == 0.01 and k["ev_unmet_kwh"] == 2.0


def test_no_violation_inside_band_and_export_costs_nothing() -> None:
    k = _step(v_pu=np.array([0.9, 1.1, 1.0]), t_indoor_c=np.array([20.0, 23.0]), p_slack_kw=-50.0)
    assert k["voltage_violations"] == 0 and k["voltage_dev_max_pu"] == 0.0
    assert k["discomfort_kh"] == 0.0
    assert k["import_kwh"] == 0.0 and k["peak_import_kw"] == 0.0


def test_accumulator_sums_maxes_and_means() -> None:
    acc = KPIAccumulator()
    acc.add(_step(hot_spot_c=60.0, line_loading=np.array([0.2])))
    acc.add(_step(hot_spot_c=80.0, line_loading=np.array([0.6])))
    acc.add_final(ev_unmet_kwh=3.0)
    r = acc.result()
    assert acc.n_steps == 2
    assert r["hot_spot_max_c"] == 80.0
    assert r["line_loading_mean"] == pytest.approx(0.4)
    assert r["losses_kwh"] == pytest.approx(2.0)
    assert r["ev_unmet_kwh"] == pytest.approx(2.0 * 2 + 3.0)
    assert r["voltage_violations"] == 4
