"""KPI and cost-term definitions on hand-computable cases."""

from types import SimpleNamespace

import numpy as np
import pytest

from thermogrid_env.config import RewardWeights
from thermogrid_env.sim import costs
from thermogrid_env.sim.kpi import KPI_UNITS, KPIAccumulator, step_kpis

CTX = costs.CostContext(dt_h=0.25, v_min_pu=0.9, v_max_pu=1.1, t_min_c=20.0, t_max_c=23.0,
                        lv_buses=np.arange(1, 4), l_max_pu=np.array([4.0, 1.0, np.inf, 1.0]),
                        weights=RewardWeights())
IS_LINE = np.array([True, True, True, False])


def _step(**overrides):
    res = dict(
        v_pu=np.array([1.0, 0.85, 1.12, 0.95]), loading=np.array([0.5, 1.2, 0.1, 0.8]),
        l_pu=np.array([1.0, 1.44, 0.5, 0.64]), trafo_loading=0.8, p_loss_kw=4.0, p_loss_series_kw=3.0,
        p_slack_kw=100.0, hot_spot_c=70.0, loss_of_life_h=0.01, t_indoor_c=np.array([19.0, 21.0, 24.5]),
        ev_unmet_kwh=2.0, meter_p_kw=np.array([10.0, -4.0, 6.0]), price_eur_per_kwh=0.3, feed_in_eur_per_kwh=0.1,
        pv_available_kw=np.array([10.0, 5.0]), pv_p_kw=np.array([4.0, 3.0]), converged=True,
    )
    res.update(overrides)
    step = SimpleNamespace(**res)
    terms = costs.measure(step, CTX)
    return step_kpis(step, terms, CTX, IS_LINE), terms


def test_cost_terms_by_hand() -> None:
    _, t = _step()
    assert t["cost"] == pytest.approx((0.3 * 16.0 - 0.1 * 4.0) * 0.25)  # per meter: import and export
    assert t["losses"] == pytest.approx(1.0)
    assert t["discomfort"] == pytest.approx((1.0 + 1.5) * 0.25)
    assert t["ev_unmet"] == 2.0 and t["aging"] == 0.01
    assert t["curtailment"] == pytest.approx(8.0 * 0.25)
    up = (1.12**2 - 1.1**2) / (2 * 1.1)
    low = (0.9**2 - 0.85**2) / (2 * 0.9)
    assert t["voltage"] == pytest.approx(up + low)
    assert t["overload"] == pytest.approx(0.5 * (1.44 - 1.0))  # only branch 1 is above its limit; inf: none
    # to first order the squared-unit terms are the plain deviations
    assert up == pytest.approx(0.02, rel=0.01) and low == pytest.approx(0.05, rel=0.03)


def test_reward_is_minus_the_weighted_sum() -> None:
    _, t = _step()
    w = RewardWeights(cost=2.0, voltage=7.0)
    expected = -sum(getattr(w, n) * t[n] for n in costs.TERM_NAMES)
    assert costs.reward(t, w) == pytest.approx(expected)


def test_step_kpis_by_hand() -> None:
    k, t = _step()
    assert set(k) == set(KPI_UNITS)
    assert k["voltage_violations"] == 2
    assert k["voltage_dev_max_pu"] == pytest.approx(0.05)
    assert k["load_losses_kwh"] == pytest.approx(0.75)
    assert k["line_loading_max"] == pytest.approx(1.2)
    assert k["line_loading_mean"] == pytest.approx(0.6)
    assert k["trafo_loading_max"] == 0.8
    assert k["import_kwh"] == pytest.approx(25.0)
    assert k["peak_import_kw"] == 100.0
    for name, kpi in costs.TERM_KPIS.items():  # the cost KPIs are the raw terms
        assert k[kpi] == t[name]


def test_no_violation_inside_band_and_export_costs_nothing() -> None:
    k, t = _step(v_pu=np.array([1.0, 0.9, 1.1, 1.0]), t_indoor_c=np.array([20.0, 23.0]), p_slack_kw=-50.0)
    assert k["voltage_violations"] == 0 and k["voltage_dev_max_pu"] == 0.0 and t["voltage"] == 0.0
    assert k["discomfort_kh"] == 0.0
    assert k["import_kwh"] == 0.0 and k["peak_import_kw"] == 0.0


def test_collapsed_step_books_every_bus_violated() -> None:
    nan = np.full(4, np.nan)
    k, _ = _step(v_pu=nan, loading=nan, l_pu=nan, converged=False, p_slack_kw=np.nan, trafo_loading=np.nan,
                 p_loss_series_kw=np.nan)
    assert k["voltage_violations"] == 3 and k["voltage_dev_max_pu"] == 0.9
    assert all(np.isfinite(v) for name, v in k.items() if name not in ("voltage_excess", "overload_excess",
                                                                      "losses_kwh"))
    assert costs.collapse_penalty(CTX, 10) == pytest.approx(3 * 0.45 * 10)


def test_batched_measurements_keep_the_batch_axis() -> None:
    k, t = _step(v_pu=np.array([[1.0, 0.85, 1.12, 0.95], [1.0, 1.0, 1.0, 1.0]]),
                 meter_p_kw=np.array([[10.0, -4.0, 6.0], [1.0, 1.0, 1.0]]), t_indoor_c=np.zeros((2, 3)) + 21.0,
                 l_pu=np.zeros((2, 4)), pv_available_kw=np.zeros((2, 2)), pv_p_kw=np.zeros((2, 2)),
                 loading=np.zeros((2, 4)), converged=np.array([True, True]))
    assert t["voltage"].shape == (2,) and t["voltage"][1] == 0.0 and t["voltage"][0] > 0
    assert t["cost"] == pytest.approx([(0.3 * 16.0 - 0.1 * 4.0) * 0.25, 0.3 * 3.0 * 0.25])
    assert k["voltage_violations"].tolist() == [2, 0]


def test_accumulator_sums_maxes_and_means() -> None:
    acc = KPIAccumulator()
    acc.add(_step(hot_spot_c=60.0, loading=np.array([0.2, 0.2, 0.2, 0.5]))[0])
    acc.add(_step(hot_spot_c=80.0, loading=np.array([0.6, 0.6, 0.6, 0.5]))[0])
    r = acc.result()
    assert acc.n_steps == 2
    assert r["hot_spot_max_c"] == 80.0
    assert r["line_loading_mean"] == pytest.approx(0.4)
    assert r["losses_kwh"] == pytest.approx(2.0)
    assert r["ev_unmet_kwh"] == pytest.approx(4.0)
    assert r["voltage_violations"] == 4
