"""Tests of the PV inverter model (available power, curtailment, reactive power in the circle)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.physics import pv

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test-only dependency
    given = None

REL_TOL = 1e-12


def _assert_feasible(
    params: pv.PVParams, p_avail: np.ndarray, p: np.ndarray, q: np.ndarray
) -> None:
    s = params.s_inverter_kva
    assert np.all(p >= 0.0)
    assert np.all(p <= p_avail * (1 + REL_TOL))
    assert np.all(p * p + q * q <= s * s * (1 + REL_TOL))


# --------------------------------------------------------------------------- parameters


def test_params_default_inverter_and_validation() -> None:
    params = pv.PVParams(p_peak_kwp=[5.0, 8.0])
    np.testing.assert_allclose(params.s_inverter_kva, [5.5, 8.8])
    np.testing.assert_allclose(
        pv.PVParams(p_peak_kwp=[5.0, 8.0], s_inverter_kva=6.0).s_inverter_kva, [6.0, 6.0]
    )
    assert len(params) == params.n_devices == 2
    with pytest.raises(ConfigError, match=r"p_peak_kwp\[1\]"):
        pv.PVParams(p_peak_kwp=[5.0, -1.0])
    with pytest.raises(ConfigError, match=r"p_peak_kwp\[0\]"):
        pv.PVParams(p_peak_kwp=[np.inf])
    with pytest.raises(ConfigError, match=r"s_inverter_kva\[0\]"):
        pv.PVParams(p_peak_kwp=[5.0], s_inverter_kva=[0.0])
    with pytest.raises(ConfigError, match="s_inverter_kva"):
        pv.PVParams(p_peak_kwp=[5.0, 6.0], s_inverter_kva=[5.0, 6.0, 7.0])
    assert pv.PVParams(p_peak_kwp=[]).n_devices == 0  # an empty group of PV systems
    with pytest.raises(ConfigError, match="p_peak_kwp"):
        pv.PVParams(p_peak_kwp=[[5.0]])


def test_params_read_only_and_pickle() -> None:
    params = pv.PVParams(p_peak_kwp=[5.0, 8.0], s_inverter_kva=[5.0, 9.0])
    with pytest.raises(ValueError):
        params.p_peak_kwp[0] = 1.0
    clone = pickle.loads(pickle.dumps(params))
    np.testing.assert_array_equal(clone.s_inverter_kva, params.s_inverter_kva)
    assert not clone.s_inverter_kva.flags.writeable


# --------------------------------------------------------------------------- available power


def test_available_power_scales_with_kwp_and_is_inverter_limited() -> None:
    params = pv.PVParams(p_peak_kwp=[5.0, 10.0], s_inverter_kva=[6.0, 9.0])
    np.testing.assert_allclose(pv.available_power_kw(params, 0.5), [2.5, 5.0])
    np.testing.assert_allclose(
        pv.available_power_kw(params, [1.0, 0.95]), [5.0, 9.0]
    )  # 9.5 > 9 kVA
    np.testing.assert_array_equal(pv.available_power_kw(params, 0.0), [0.0, 0.0])


@pytest.mark.parametrize("bad", [-0.01, np.nan, 2.0, [0.5, np.nan]])
def test_available_power_rejects_invalid_profile(bad: object) -> None:
    params = pv.PVParams(p_peak_kwp=[5.0, 10.0])
    with pytest.raises(DataError, match="profile"):
        pv.available_power_kw(params, bad)


# --------------------------------------------------------------------------- dispatch


def test_dispatch_active_power_priority() -> None:
    params = pv.PVParams(p_peak_kwp=[10.0, 10.0, 10.0], s_inverter_kva=10.0)
    p, q = pv.dispatch(params, np.array([8.0, 10.0, 6.0]), 0.0, np.array([10.0, 3.0, -10.0]))
    np.testing.assert_allclose(p, [8.0, 10.0, 6.0])
    np.testing.assert_allclose(q, [6.0, 0.0, -8.0])  # q limited to sqrt(s² - p²)


def test_dispatch_reactive_power_priority_reduces_p() -> None:
    params = pv.PVParams(p_peak_kwp=[10.0, 10.0], s_inverter_kva=10.0)
    p, q = pv.dispatch(params, np.array([10.0, 5.0]), 0.0, np.array([6.0, -20.0]), q_priority=True)
    np.testing.assert_allclose(q, [6.0, -10.0])
    np.testing.assert_allclose(p, [8.0, 0.0])


def test_dispatch_curtailment() -> None:
    params = pv.PVParams(p_peak_kwp=[10.0, 10.0, 10.0])
    p_av = np.array([6.0, 6.0, 6.0])
    p, q = pv.dispatch(params, p_av, np.array([0.0, 0.25, 1.0]), 0.0)
    np.testing.assert_allclose(p, [6.0, 4.5, 0.0])
    np.testing.assert_array_equal(q, 0.0)
    # out-of-range curtailment is clipped into [0, 1] (documented)
    p, _ = pv.dispatch(params, p_av, np.array([-0.5, 1.5, 0.5]), 0.0)
    np.testing.assert_allclose(p, [6.0, 0.0, 3.0])
    p_scalar, _ = pv.dispatch(params, p_av, 0.25, 0.0)
    np.testing.assert_allclose(p_scalar, 4.5)


def test_dispatch_curtailment_is_monotone() -> None:
    rng = np.random.default_rng(0)
    params = pv.sample_pv(rng, 50)
    p_av = pv.available_power_kw(params, rng.uniform(0.0, 1.0, 50))
    q_set = rng.uniform(-5.0, 5.0, 50)
    for q_priority in (False, True):
        ps = [
            pv.dispatch(params, p_av, c, q_set, q_priority=q_priority)[0]
            for c in np.linspace(0, 1, 21)
        ]
        assert np.all(np.diff(np.array(ps), axis=0) <= 0.0)


def test_dispatch_nan_raises() -> None:
    params = pv.PVParams(p_peak_kwp=[5.0, 5.0])
    with pytest.raises(ConfigError, match="curtailment_fraction"):
        pv.dispatch(params, np.ones(2), np.array([0.0, np.nan]), 0.0)
    with pytest.raises(ConfigError, match="curtailment_fraction"):
        pv.dispatch(params, np.ones(2), float("nan"), 0.0)
    with pytest.raises(ConfigError, match="q_set_kvar"):
        pv.dispatch(params, np.ones(2), 0.0, np.array([np.nan, 0.0]))


def test_dispatch_random_inputs_stay_feasible() -> None:
    """Property check with seeded numpy draws (runs without hypothesis)."""
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(1, 30))
        params = pv.PVParams(
            p_peak_kwp=rng.uniform(0.5, 20.0, n), s_inverter_kva=rng.uniform(0.3, 25.0, n)
        )
        p_av = pv.available_power_kw(params, rng.uniform(0.0, 1.5, n))
        curtail = rng.uniform(-0.5, 1.5, n)
        q_set = rng.uniform(-30.0, 30.0, n)
        for q_priority in (False, True):
            p, q = pv.dispatch(params, p_av, curtail, q_set, q_priority=q_priority)
            _assert_feasible(params, p_av, p, q)


if given is not None:

    @settings(max_examples=300, deadline=None, database=None)
    @given(
        p_kwp=st.floats(0.1, 50.0),
        s_ratio=st.floats(0.3, 2.0),
        profile=st.floats(0.0, 1.5),
        curtail=st.floats(-1.0, 2.0),
        q_set=st.floats(-100.0, 100.0),
        q_priority=st.booleans(),
    )
    def test_dispatch_never_exceeds_available_power_or_inverter_circle(
        p_kwp: float, s_ratio: float, profile: float, curtail: float, q_set: float, q_priority: bool
    ) -> None:
        params = pv.PVParams(p_peak_kwp=[p_kwp], s_inverter_kva=[s_ratio * p_kwp])
        p_av = pv.available_power_kw(params, profile)
        p, q = pv.dispatch(
            params, p_av, np.array([curtail]), np.array([q_set]), q_priority=q_priority
        )
        _assert_feasible(params, p_av, p, q)
        # the setpoint is honoured whenever it is feasible
        s = params.s_inverter_kva[0]
        if not q_priority and abs(q_set) <= np.sqrt(s * s - p[0] * p[0]):
            assert q[0] == q_set
        if q_priority and abs(q_set) <= s:
            assert q[0] == q_set

else:  # pragma: no cover

    def test_dispatch_never_exceeds_available_power_or_inverter_circle() -> None:
        pytest.skip("hypothesis is not installed (test-only dependency)")


# --------------------------------------------------------------------------- sampling


def test_sample_pv() -> None:
    a = pv.sample_pv(np.random.default_rng(3), 1000)
    b = pv.sample_pv(np.random.default_rng(3), 1000)
    np.testing.assert_array_equal(a.p_peak_kwp, b.p_peak_kwp)
    assert a.p_peak_kwp.min() >= 5.0 and a.p_peak_kwp.max() <= 10.0
    assert 7.3 <= a.p_peak_kwp.mean() <= 7.7
    np.testing.assert_allclose(a.s_inverter_kva, 1.1 * a.p_peak_kwp)
    with pytest.raises(ConfigError):
        pv.sample_pv(np.random.default_rng(3), 5, p_range_kwp=(10.0, 5.0))
