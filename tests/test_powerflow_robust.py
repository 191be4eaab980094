"""Robustness of the power flow: near the nose point of the PV curve, beyond it, absurd inputs.

The sweep alone slows down without bound near the nose point (its contraction rate tends to 1);
snapshots it does not finish within ``max_iter`` sweeps go to the Newton-Raphson fallback, which
accepts only the high-voltage solution. Snapshots without a solution raise ``PowerFlowDiverged``;
no NaN is ever returned. Stored pandapower solutions of the stress cases come from
``tests/data/make_powerflow_reference.py`` (see there); the checks against live pandapower need
pandapower and simbench.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from powerflow_cases import reference_module, two_bus
from thermogrid_env.errors import ConfigError, DataError, PowerFlowDiverged
from thermogrid_env.network import Feeder, from_pandapower, load_feeder
from thermogrid_env.physics import powerflow, powerflow_newton
from thermogrid_env.physics.powerflow import DEFAULT_MAX_ITER, PowerFlowSolver, solve

BACKENDS = ["numpy"] + (["numba"] if powerflow.HAS_NUMBA else [])
V_TOL_PU = 1e-9  # against pandapower's Newton-Raphson (tolerance_mva=1e-12)


REF = reference_module()


@pytest.fixture(scope="module")
def stored() -> dict:
    with np.load(REF.OUT_FILE) as data:
        return {key: data[key] for key in data.files}


def _stored_case(stored: dict, name: str, case: str, model: str) -> dict:
    prefix = f"{name}__{case}__{model}__"
    return {k[len(prefix):]: v for k, v in stored.items() if k.startswith(prefix)}


def _max_dv(feeder: Feeder, v_pu: np.ndarray, ref: dict) -> float:
    idx = np.array([feeder.bus_index(b) for b in ref["bus_ids"]])
    return float(np.abs(v_pu[idx] - ref["vm_pu"]).max())


def __two_bus_nose(r: float, x: float, v0: float, p0: float, q0: float) -> float:
    """Load factor of the nose point for loads ``lam (p0 + j q0)`` [pu]: where the discriminant
    of ``v1^2 - (v0^2 - 2 lam (r p0 + x q0)) v1 + lam^2 |z|^2 |s0|^2 = 0`` vanishes."""
    a, zs = r * p0 + x * q0, np.hypot(r, x) * np.hypot(p0, q0)
    return v0**2 / (2 * (a + zs))  # v0^2 - 2 lam a = 2 lam |z| |s0| (positive root)


def __two_bus_high_root(r: float, x: float, v0: float, p: float, q: float) -> float:
    b = v0**2 - 2 * (r * p + x * q)
    return float(np.sqrt((b + np.sqrt(b**2 - 4 * (r**2 + x**2) * (p**2 + q**2))) / 2))


# --------------------------------------------------------------------------- up to the nose
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fraction", [0.9, 0.99, 0.9999])
def test_two_bus_converges_up_to_the_nose_point(backend, fraction) -> None:
    r, x, v0, p0, q0 = 0.05, 0.02, 1.0, 1.0, 0.3
    lam = fraction * __two_bus_nose(r, x, v0, p0, q0)
    res = solve(two_bus(r, x, v0), [0.0, lam * p0 * 100], [0.0, lam * q0 * 100], backend=backend)
    assert res.v_pu[1] == pytest.approx(__two_bus_high_root(r, x, v0, lam * p0, lam * q0), abs=1e-9)
    assert np.all(np.isfinite(res.v_complex_pu))


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_bus_beyond_the_nose_point_raises(backend) -> None:
    r, x, v0, p0, q0 = 0.05, 0.02, 1.0, 1.0, 0.3
    lam = 1.001 * __two_bus_nose(r, x, v0, p0, q0)
    with pytest.raises(PowerFlowDiverged, match="nose point") as info:
        solve(two_bus(r, x, v0), [0.0, lam * p0 * 100], [0.0, lam * q0 * 100], backend=backend)
    assert info.value.batch_indices == (0,)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stopping_rule_accounts_for_slow_contraction(backend) -> None:
    """Near the nose the sweep's step underestimates the error by 1 / (1 - rho); the stopping rule
    bounds the error itself, so the sweep alone (no fallback) lands within tol_pu."""
    r, x, v0, p0, q0 = 0.05, 0.02, 1.0, 1.0, 0.3
    lam = 0.995 * __two_bus_nose(r, x, v0, p0, q0)
    res = solve(two_bus(r, x, v0), [0.0, lam * p0 * 100], [0.0, lam * q0 * 100], backend=backend,
                max_iter=100_000, newton_max_iter=0)
    assert int(res.iterations) > 100  # it is slow here
    exact = __two_bus_high_root(r, x, v0, lam * p0, lam * q0)
    assert abs(res.v_pu[1] - exact) <= powerflow.DEFAULT_TOL_PU


# --------------------------------------------------------------------------- the rural snapshot
@pytest.fixture(scope="module")
def rural(stored) -> tuple[Feeder, np.ndarray, np.ndarray, dict]:
    """The shipped rural feeder, the stored stress snapshot (beyond the nose) and pandapower's
    solution of that snapshot scaled to :data:`REF.RURAL_SNAPSHOT_SCALE` (just below it)."""
    try:
        feeder = load_feeder("simbench-rural2")
    except DataError:
        pytest.skip("shipped feeder data not built yet (scripts/build_data.py)")
    key = REF.RURAL
    np.testing.assert_array_equal(stored[f"{key}__bus_ids"], feeder.bus_ids)
    ref = _stored_case(stored, key, REF.stress_case(REF.RURAL_SNAPSHOT_SCALE), "pi")
    return feeder, stored[f"{key}__p_kw"], stored[f"{key}__q_kvar"], ref


@pytest.mark.parametrize("backend", BACKENDS)
def test_rural_high_der_snapshot_near_the_nose_matches_pandapower(rural, backend) -> None:
    """Heat pumps and EVs at full power, PV at full reactive absorption, 0.5 % below the nose:
    the sweep gives up after max_iter, the fallback converges to pandapower's solution."""
    feeder, p_kw, q_kvar, ref = rural
    x = REF.RURAL_SNAPSHOT_SCALE
    res = solve(feeder, x * p_kw, x * q_kvar, backend=backend)
    assert int(res.iterations) > DEFAULT_MAX_ITER  # the sweep alone did not finish
    assert _max_dv(feeder, res.v_pu, ref) <= V_TOL_PU
    assert res.v_pu.min() == pytest.approx(0.449, abs=1e-3)
    assert float(res.p_slack_kw) == pytest.approx(float(ref["p_slack_kw"]), rel=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rural_high_der_snapshot_beyond_the_nose_raises(rural, backend) -> None:
    feeder, p_kw, q_kvar, _ = rural
    x = REF.RURAL_SNAPSHOT_SCALE
    p = np.stack([0.5 * p_kw, p_kw, x * p_kw])
    q = np.stack([0.5 * q_kvar, q_kvar, x * q_kvar])
    match = r"no solution for 1 of 3.*\[1\].*nose point"
    with pytest.raises(PowerFlowDiverged, match=match) as info:
        solve(feeder, p, q, backend=backend)
    assert info.value.batch_indices == (1,)


def test_rural_snapshot_matches_live_pandapower(rural) -> None:
    pytest.importorskip("pandapower")
    pytest.importorskip("simbench")
    feeder, p_kw, q_kvar, _ = rural
    x = REF.RURAL_SNAPSHOT_SCALE
    ref = REF.run_pandapower(REF.rural_net(feeder.bus_ids, x * p_kw, x * q_kvar), "pi")
    assert _max_dv(feeder, solve(feeder, x * p_kw, x * q_kvar).v_pu, ref) <= V_TOL_PU
    import pandapower as pp  # noqa: PLC0415

    with pytest.raises(pp.LoadflowNotConverged):  # pandapower finds none beyond the nose either
        REF.run_pandapower(REF.rural_net(feeder.bus_ids, p_kw, q_kvar), "pi")


# --------------------------------------------------------------------------- Kerber overhead line
@pytest.fixture(scope="module")
def kerber_overhead() -> object:
    pytest.importorskip("pandapower")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return REF.STRESS_NETWORKS[REF.STRESS_NET]()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", REF.TRAFO_MODELS)
@pytest.mark.parametrize("factor", REF.STRESS_SCALES)
def test_kerber_overhead_line_near_the_nose_matches_pandapower(
    kerber_overhead, stored, factor, model, backend
) -> None:
    case = REF.stress_case(factor)
    net = REF.load_case(REF.STRESS_NET, case, base=kerber_overhead)
    feeder = from_pandapower(net, REF.STRESS_NET, trafo_model=model)
    p, q = REF.bus_injections(net, feeder)
    res = solve(feeder, p, q, backend=backend)
    assert _max_dv(feeder, res.v_pu, _stored_case(stored, REF.STRESS_NET, case, model)) <= V_TOL_PU
    assert _max_dv(feeder, res.v_pu, REF.run_pandapower(net, model)) <= V_TOL_PU


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("factor", [5.32, 20.0])
def test_kerber_overhead_line_beyond_the_nose_raises(kerber_overhead, factor, backend) -> None:
    net = REF.load_case(REF.STRESS_NET, REF.stress_case(factor), base=kerber_overhead)
    feeder = from_pandapower(net, REF.STRESS_NET)
    p, q = REF.bus_injections(net, feeder)
    with pytest.raises(PowerFlowDiverged, match="beyond the nose point"):
        solve(feeder, p, q, backend=backend)


# --------------------------------------------------------------------------- absurd inputs
def _small_feeder() -> Feeder:
    """slack -- tapped, phase-shifting transformer -- a short LV tree with shunts."""
    n = 12
    parent = [-1, 0, 1, 2, 3, 2, 5, 1, 7, 8, 9, 9]
    rng = np.random.default_rng(0)
    is_tr = np.zeros(n - 1, dtype=bool)
    is_tr[0] = True
    return Feeder(
        name="small", parent=parent, bus_ids=np.arange(n), bus_names=[str(i) for i in range(n)],
        v_base_kv=np.r_[20.0, np.full(n - 1, 0.4)], s_base_kva=1000.0, v_slack_pu=1.02,
        g_bus_pu=rng.uniform(0, 1e-4, n), b_bus_pu=rng.uniform(0, 2e-4, n),
        v_min_pu=np.full(n, 0.9), v_max_pu=np.full(n, 1.1),
        r_pu=np.r_[0.01, rng.uniform(0.02, 0.08, n - 2)],
        x_pu=np.r_[0.04, rng.uniform(0.005, 0.03, n - 2)],
        g_from_pu=rng.uniform(0, 1e-4, n - 1), b_from_pu=rng.uniform(-2e-4, 2e-4, n - 1),
        tap_ratio=np.r_[1.025, np.ones(n - 2)], shift_deg=np.r_[150.0, np.zeros(n - 2)],
        i_max_a=np.full(n - 1, 300.0), s_max_kva=np.r_[400.0, np.full(n - 2, np.inf)],
        is_transformer=is_tr,
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("p_kw", "q_kvar"), [(1e200, 0.0), (-1e200, 0.0), (0.0, 1e200),
                                               (1e300, -1e300), (1e12, 0.0)])
def test_huge_injection_raises_instead_of_returning_nan(backend, p_kw, q_kvar) -> None:
    f = _small_feeder()
    p, q = np.zeros((3, f.n_bus)), np.zeros((3, f.n_bus))
    p[:, 1:] = 5.0
    p[1, 6], q[1, 6] = p_kw, q_kvar
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        with pytest.raises(PowerFlowDiverged) as info:
            solve(f, p, q, backend=backend)
    assert info.value.batch_indices == (1,)


@pytest.mark.parametrize("kernel", ["python"] + (["numba"] if powerflow.HAS_NUMBA else []))
def test_sweep_kernel_flags_nan_as_collapse(kernel) -> None:
    """The kernel itself (before any fallback) never reports a non-finite iterate as converged."""
    f = _small_feeder()
    pre = powerflow._precomputed(f, need_dense=False)
    p, q = np.zeros((2, f.n_bus)), np.zeros((2, f.n_bus))
    p[0, 5] = 1e200
    v = np.empty((2, f.n_bus), dtype=np.complex128)
    iters = np.empty(2, dtype=np.int64)
    sweep = powerflow._sweep_rows_py if kernel == "python" else powerflow._sweep_rows
    with np.errstate(all="ignore"):
        n_failed = sweep(p, q, v, iters, 0, 2, pre.parent, pre.coef, pre.v_slack,
                         1.0 / f.s_base_kva, 1e-10, 100)
    assert n_failed == 1 and iters[0] == powerflow._COLLAPSED and iters[1] > 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_loads_raise_config_error(backend, bad) -> None:
    f = _small_feeder()
    p, q = np.zeros((4, f.n_bus)), np.zeros((4, f.n_bus))
    p[1, 3] = 1e200  # no solution, but the non-finite input is reported first
    q[2, 4] = bad
    with pytest.raises(ConfigError, match=r"finite.*1 of 4.*\[2\]"):
        solve(f, p, q, backend=backend)


# --------------------------------------------------------------------------- the fallback
@pytest.mark.parametrize("backend", BACKENDS)
def test_newton_fallback_agrees_with_the_sweep(backend) -> None:
    f = _small_feeder()
    rng = np.random.default_rng(3)
    p = rng.uniform(-20.0, 60.0, (6, f.n_bus))
    q = 0.3 * p
    full = solve(f, p, q, backend=backend, tol_pu=1e-12)
    short = solve(f, p, q, backend=backend, max_iter=2)  # every snapshot goes to Newton
    assert np.all(short.iterations > 2)
    np.testing.assert_allclose(short.v_complex_pu, full.v_complex_pu, rtol=0, atol=1e-10)
    with pytest.raises(PowerFlowDiverged, match="max_iter=2 sweeps.*newton_max_iter=0") as info:
        solve(f, p, q, backend=backend, max_iter=2, newton_max_iter=0)
    assert info.value.batch_indices == tuple(range(6))


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_with_fallback_rows_equals_single_solves(rural, backend) -> None:
    feeder, p_kw, q_kvar, _ = rural
    scales = np.array([0.3, REF.RURAL_SNAPSHOT_SCALE, 0.8, 0.99])
    p, q = scales[:, None] * p_kw, scales[:, None] * q_kvar
    solver = PowerFlowSolver(feeder, backend=backend)
    batch = solver.solve(p, q)
    for i in range(scales.size):
        one = solver.solve(p[i], q[i])
        if backend == "numba":  # bit for bit (BLAS products of the numpy kernel depend on shape)
            assert np.array_equal(one.v_complex_pu, batch.v_complex_pu[i])
            assert int(one.iterations) == int(batch.iterations[i])
        np.testing.assert_allclose(one.v_complex_pu, batch.v_complex_pu[i], rtol=0, atol=1e-11)
    assert batch.iterations[1] > DEFAULT_MAX_ITER and batch.iterations[0] < DEFAULT_MAX_ITER


def test_kernels_agree_near_the_nose(rural) -> None:
    if not powerflow.HAS_NUMBA:
        pytest.skip("numba not installed")
    feeder, p_kw, q_kvar, _ = rural
    x = np.array([[0.97], [0.99], [REF.RURAL_SNAPSHOT_SCALE]])
    a = solve(feeder, x * p_kw, x * q_kvar, backend="numba")
    b = solve(feeder, x * p_kw, x * q_kvar, backend="numpy")
    np.testing.assert_allclose(a.v_complex_pu, b.v_complex_pu, rtol=0, atol=1e-9)


def test_newton_accepts_only_the_high_voltage_solution() -> None:
    """Started next to the low-voltage root, Newton converges there; the determinant-sign check
    rejects it (the solver then restarts from no load and finds the high root)."""
    r, x, v0 = 0.05, 0.02, 1.0
    f = two_bus(r, x, v0)
    nd = powerflow_newton.newton_data(powerflow._precomputed(f, need_dense=False))
    s_pu = np.array([0.0, 3.0 + 1.0j])
    high = __two_bus_high_root(r, x, v0, 3.0, 1.0)
    v, _ = powerflow_newton.newton(nd, s_pu, nd.v_noload, 1e-12, 30)
    assert v is not None and abs(v[1]) == pytest.approx(high, abs=1e-12)
    v_low, _ = powerflow_newton.newton(nd, s_pu, np.array([1.0, 0.3 + 0.0j]), 1e-12, 30)
    assert v_low is None


def test_invalid_newton_option() -> None:
    with pytest.raises(ConfigError, match="newton_max_iter"):
        PowerFlowSolver(two_bus(), newton_max_iter=-1)
