"""The DistFlow sweep: closed form, batching, backends, errors, DistFlow identities.

These tests need neither pandapower nor shipped data (see test_powerflow_pandapower.py for the
comparison with pandapower).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from thermogrid_env.errors import ConfigError, PowerFlowDiverged
from powerflow_cases import two_bus
from thermogrid_env.network import Feeder
from thermogrid_env.physics import powerflow
from thermogrid_env.physics.powerflow import PowerFlowSolver, solve

BACKENDS = ["numpy"] + (["numba"] if powerflow.HAS_NUMBA else [])
needs_numba = pytest.mark.skipif(not powerflow.HAS_NUMBA, reason="numba not installed")


def _random_feeder(n_bus: int = 30, seed: int = 0) -> Feeder:
    """A random LV tree behind a tapped, phase-shifting transformer, with shunts everywhere."""
    rng = np.random.default_rng(seed)
    parent = np.concatenate([[-1, 0, 1], [rng.integers(1, k) for k in range(3, n_bus)]])
    n_br = n_bus - 1
    r = rng.uniform(0.01, 0.08, n_br)
    x = rng.uniform(0.005, 0.03, n_br)
    r[0], x[0] = 0.01, 0.04
    tap = np.ones(n_br)
    tap[0] = 1.025
    shift = np.zeros(n_br)
    shift[0] = 150.0
    is_tr = np.zeros(n_br, dtype=bool)
    is_tr[0] = True
    return Feeder(
        name=f"random-{n_bus}", parent=parent, bus_ids=np.arange(n_bus),
        bus_names=[str(i) for i in range(n_bus)], v_base_kv=np.r_[20.0, np.full(n_bus - 1, 0.4)],
        s_base_kva=1000.0, v_slack_pu=1.01,
        g_bus_pu=rng.uniform(0, 1e-4, n_bus), b_bus_pu=rng.uniform(0, 2e-4, n_bus),
        v_min_pu=np.full(n_bus, 0.9), v_max_pu=np.full(n_bus, 1.1), r_pu=r, x_pu=x,
        g_from_pu=rng.uniform(0, 1e-4, n_br), b_from_pu=rng.uniform(-2e-4, 2e-4, n_br),
        tap_ratio=tap, shift_deg=shift, i_max_a=np.full(n_br, 300.0),
        s_max_kva=np.r_[400.0, np.full(n_br - 1, np.inf)], is_transformer=is_tr,
    )


def _loads(feeder: Feeder, shape: tuple[int, ...] = (), seed: int = 1, scale: float = 8.0):
    """Random bus loads [kW, kvar]: mostly consumption, some PV export; none at the slack."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(-0.5, 1.0, shape + (feeder.n_bus,)) * scale
    q = rng.uniform(-0.1, 0.3, shape + (feeder.n_bus,)) * scale
    p[..., 0] = q[..., 0] = 0.0
    return p, q


# --------------------------------------------------------------------------- closed form
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("p_kw", "q_kvar"), [(30.0, 10.0), (-40.0, 5.0), (0.0, 0.0), (60.0, -20.0)]
)
def test_two_bus_closed_form(backend, p_kw, q_kvar) -> None:
    r, x, v0 = 0.05, 0.02, 1.02
    f = two_bus(r, x, v0)
    res = solve(f, [0.0, p_kw], [0.0, q_kvar], backend=backend)
    # DistFlow with l = (P^2 + Q^2) / v0^2 at the sending end and v1 = |V1|^2:
    # v1 = v0^2 - 2 (r P + x Q) + |z|^2 l with P = p + r l, Q = q + x l, l = (p^2 + q^2) / v1.
    # Eliminating: v1^2 - (v0^2 - 2 (r p + x q)) v1 + |z|^2 (p^2 + q^2) = 0 (high-voltage root).
    p, q = p_kw / 100.0, q_kvar / 100.0
    b = v0**2 - 2 * (r * p + x * q)
    v1 = (b + np.sqrt(b**2 - 4 * (r**2 + x**2) * (p**2 + q**2))) / 2
    assert res.v_pu[1] == pytest.approx(np.sqrt(v1), abs=1e-9)
    # Angle: V1 = V0 - z conj(S / V1) -> with V1 = |V1| e^{j d}: sin d = (r q - x p) / (v0 |V1|).
    assert np.deg2rad(res.v_angle_deg[1]) == pytest.approx(
        np.arcsin((r * q - x * p) / (v0 * np.sqrt(v1))), abs=1e-9
    )
    loss_kw = r * (p**2 + q**2) / v1 * 100.0  # currents follow from voltage differences: the
    assert res.p_loss_kw == pytest.approx(loss_kw, rel=1e-8, abs=1e-12)  # tol_pu limits them
    assert res.p_slack_kw == pytest.approx(p_kw + loss_kw, rel=1e-8, abs=1e-12)
    assert res.l_pu[0] == pytest.approx((p**2 + q**2) / v1, abs=1e-10)
    assert res.iterations >= 1 and res.converged


# --------------------------------------------------------------------------- batching, backends
@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_shapes_and_batch_equals_single(backend) -> None:
    f = _random_feeder()
    p, q = _loads(f, (3, 4))
    res = solve(f, p, q, backend=backend)
    assert res.v_pu.shape == (3, 4, f.n_bus)
    assert res.v_angle_deg.shape == (3, 4, f.n_bus)
    assert res.iterations.shape == (3, 4)
    for name in ("p_kw", "q_kvar", "i_a", "loading", "l_pu", "p_series_kw"):
        assert getattr(res, name).shape == (3, 4, f.n_branch), name
    for name in ("p_slack_kw", "p_loss_kw", "s_transformer_kva", "transformer_loading"):
        assert getattr(res, name).shape == (3, 4), name
    single = solve(f, p[2, 1], q[2, 1], backend=backend)
    assert single.v_pu.shape == (f.n_bus,) and single.p_loss_kw.shape == ()
    np.testing.assert_allclose(single.v_complex_pu, res.v_complex_pu[2, 1], rtol=0, atol=1e-14)
    empty = solve(f, np.zeros((0, f.n_bus)), backend=backend)
    assert empty.v_pu.shape == (0, f.n_bus)


@needs_numba
def test_numpy_and_numba_backends_agree() -> None:
    f = _random_feeder(60, seed=3)
    p, q = _loads(f, (200,), scale=12.0)
    a = solve(f, p, q, backend="numba")
    b = solve(f, p, q, backend="numpy")
    np.testing.assert_allclose(a.v_complex_pu, b.v_complex_pu, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.p_loss_kw, b.p_loss_kw, rtol=1e-8, atol=1e-9)


@needs_numba
def test_parallel_batches_are_bitwise_identical() -> None:
    f = _random_feeder(40, seed=4)
    p, q = _loads(f, (powerflow.PARALLEL_MIN_BATCH * 3 + 1,))
    par = PowerFlowSolver(f, backend="numba", parallel=True).solve(p, q)
    ser = PowerFlowSolver(f, backend="numba").solve(p, q)
    assert np.array_equal(par.v_complex_pu, ser.v_complex_pu)
    assert np.array_equal(par.iterations, ser.iterations)
    one = PowerFlowSolver(f, backend="numba").solve(p[-1], q[-1])
    assert np.array_equal(one.v_complex_pu, par.v_complex_pu[-1])


@needs_numba
def test_concurrent_threads_get_correct_results() -> None:
    f = _random_feeder(40, seed=5)
    p, q = _loads(f, (300,))
    expected = solve(f, p, q).v_complex_pu
    solver = PowerFlowSolver(f, parallel=True)  # concurrent callers fall back to serial
    out: list[np.ndarray] = []

    def work() -> None:
        for _ in range(3):
            out.append(solver.solve(p, q).v_complex_pu)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 9 and all(np.array_equal(v, expected) for v in out)


def test_numpy_fallback_without_numba(monkeypatch) -> None:
    monkeypatch.setattr(powerflow, "HAS_NUMBA", False)
    f = _random_feeder(seed=6)
    assert PowerFlowSolver(f).backend == "numpy"
    with pytest.raises(ConfigError, match=r"pip install 'thermogrid-env\[fast\]'"):
        PowerFlowSolver(f, backend="numba")
    p, q = _loads(f)
    assert solve(f, p, q).converged


def test_solution_is_a_fixed_point_to_tolerance() -> None:
    f = _random_feeder(seed=7)
    p, q = _loads(f, (5,))
    loose = solve(f, p, q, tol_pu=1e-6)
    tight = solve(f, p, q, tol_pu=1e-12)
    assert np.all(loose.iterations < tight.iterations)
    np.testing.assert_allclose(loose.v_complex_pu, tight.v_complex_pu, atol=1e-6)


# --------------------------------------------------------------------------- input errors
@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_inputs_raise_config_error(backend) -> None:
    f = _random_feeder(10)
    solver = PowerFlowSolver(f, backend=backend)
    ok = np.zeros(f.n_bus)
    with pytest.raises(ConfigError, match=r"shape \(\.\.\., 10\)"):
        solver.solve(np.zeros(9))
    with pytest.raises(ConfigError, match=r"shape \(\.\.\., 10\)"):
        solver.solve(1.0)
    with pytest.raises(ConfigError, match="same shape"):
        solver.solve(ok, np.zeros((2, f.n_bus)))
    bad = np.zeros((2, 3, f.n_bus))
    bad[1, 2, 4] = np.nan
    with pytest.raises(ConfigError, match=r"finite.*1 of 6.*\[5\]"):
        solver.solve(bad)
    with pytest.raises(ConfigError, match="finite"):
        solver.solve(ok, np.r_[np.inf, np.zeros(f.n_bus - 1)])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backend": "fortran"}, "backend"),
        ({"tol_pu": 0.0}, "tol_pu"),
        ({"tol_pu": np.nan}, "tol_pu"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_invalid_solver_options(kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        PowerFlowSolver(_random_feeder(5), **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_voltage_collapse_names_only_the_bad_snapshots(backend) -> None:
    f = _random_feeder(20, seed=8)
    p, q = _loads(f, (4, 5))
    p[1, 3] *= 1e4  # absurd: tens of MW on an LV feeder
    p[3, 0, 7] = 1e6
    with pytest.raises(PowerFlowDiverged) as info:
        solve(f, p, q, backend=backend)
    assert info.value.batch_indices == (8, 15)
    assert "2 of 20" in str(info.value) and "[8, 15]" in str(info.value)
    solve(f, np.delete(p.reshape(20, -1), [8, 15], 0), np.delete(q.reshape(20, -1), [8, 15], 0),
          backend=backend)


def test_max_iter_too_small_raises() -> None:
    """With the Newton-Raphson fallback off, too few sweeps raise (with it, see
    test_powerflow_robust.py, the fallback finishes the job)."""
    f = _random_feeder(seed=9)
    p, q = _loads(f)
    with pytest.raises(PowerFlowDiverged, match="max_iter=2"):
        solve(f, p, q, max_iter=2, newton_max_iter=0)
    assert solve(f, p, q, max_iter=2).converged


# --------------------------------------------------------------------------- physics identities
@pytest.mark.parametrize("backend", BACKENDS)
def test_energy_balance_and_losses(backend) -> None:
    f = _random_feeder(seed=10)
    p, q = _loads(f, (6,))
    res = solve(f, p, q, backend=backend)
    s_base = f.s_base_kva
    v2 = res.v_pu**2
    v_int2 = v2[:, f.parent[1:]] / f.tap_ratio**2
    series = (f.r_pu * res.l_pu).sum(axis=1)
    shunt = (f.g_bus_pu * v2).sum(axis=1) + (f.g_from_pu * v_int2).sum(axis=1)
    np.testing.assert_allclose(res.p_loss_kw, (series + shunt) * s_base, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(res.p_slack_kw, p.sum(axis=1) + res.p_loss_kw, rtol=0, atol=1e-9)
    assert np.all(res.p_loss_kw > 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_distflow_identities(backend) -> None:
    """What the SOCP oracle relies on: the branch-flow equations hold on the solution."""
    f = _random_feeder(40, seed=11)
    p, q = _loads(f, (8,), scale=10.0)
    res = solve(f, p, q, backend=backend)
    s_base = f.s_base_kva
    big_p, big_q = res.p_series_kw / s_base, res.q_series_kvar / s_base
    l = res.l_pu
    v2 = res.v_pu**2
    v_int2 = v2[:, f.parent[1:]] / f.tap_ratio**2  # squared voltage behind the ideal transformer
    child = np.arange(1, f.n_bus)
    # l_ij v_i = P_ij^2 + Q_ij^2 (at the internal node: v_i / tap^2).
    np.testing.assert_allclose(l * v_int2, big_p**2 + big_q**2, rtol=1e-9, atol=1e-12)
    # v_j = v_i - 2 (r P + x Q) + (r^2 + x^2) l.
    np.testing.assert_allclose(
        v2[:, child], v_int2 - 2 * (f.r_pu * big_p + f.x_pu * big_q) + (f.r_pu**2 + f.x_pu**2) * l,
        rtol=0, atol=1e-9,
    )
    lines = ~f.is_transformer
    assert np.all(f.tap_ratio[lines] == 1.0)  # for lines v_int = v_parent exactly
    # Bus balance: P_ij - r l = p_j + g_j v_j + sum over children (P_jk + g_from_k v_int_k).
    p_recv = big_p - f.r_pu * l  # power arriving at bus j through the series impedance
    q_recv = big_q - f.x_pu * l
    p_send = big_p + f.g_from_pu * v_int2  # power entering each branch (incl. from-side shunt)
    q_send = big_q - f.b_from_pu * v_int2
    out_p = np.zeros_like(v2)
    out_q = np.zeros_like(v2)
    np.add.at(out_p.T, f.parent[1:], p_send.T)
    np.add.at(out_q.T, f.parent[1:], q_send.T)
    np.testing.assert_allclose(
        p_recv, p[:, 1:] / s_base + f.g_bus_pu[1:] * v2[:, 1:] + out_p[:, 1:], rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(
        q_recv, q[:, 1:] / s_base - f.b_bus_pu[1:] * v2[:, 1:] + out_q[:, 1:], rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(res.p_kw / s_base, p_send, rtol=0, atol=1e-12)


def test_currents_and_loading() -> None:
    f = two_bus(v0=1.02)
    res = solve(f, [0.0, 30.0], [0.0, 10.0])
    i_a = np.abs(30.0 + 10.0j) / (np.sqrt(3) * 0.4 * res.v_pu[1])
    assert res.i_a[0] == pytest.approx(i_a, rel=1e-9)
    assert res.loading[0] == pytest.approx(i_a / 200.0, rel=1e-9)


def test_series_losses_plus_shunt_losses_equal_total_losses() -> None:
    """p_loss = Σ r|I|² (series) + Σ g|V|² over every shunt (bus shunts and branch from-side shunts)."""
    from thermogrid_env.network import load_feeder
    from thermogrid_env.physics.powerflow import solve as pf_solve

    feeder = load_feeder("simbench-semiurb4")
    p = np.zeros(feeder.n_bus)
    p[feeder.load_bus] = feeder.load_p_kw
    res = pf_solve(feeder, p, 0.3 * p)
    v2 = res.v_pu**2
    v_int2 = (res.v_pu[feeder.parent[1:]] / feeder.tap_ratio) ** 2
    shunt_kw = (np.sum(feeder.g_bus_pu * v2) + np.sum(feeder.g_from_pu * v_int2)) * feeder.s_base_kva
    assert float(res.p_loss_series_kw) == pytest.approx(float(np.sum(feeder.r_pu * res.l_pu)) * feeder.s_base_kva)
    assert float(res.p_loss_kw) == pytest.approx(float(res.p_loss_series_kw) + shunt_kw, rel=1e-8)
    assert shunt_kw == pytest.approx(1.2, rel=0.05)  # the 400 kVA transformer's no-load loss (pfe 1.2 kW)


@needs_numba
@pytest.mark.parametrize("shape", [(), (3, 4)])
def test_compiled_step_quantities_equal_the_numpy_definitions(shape) -> None:
    """The one-pass kernel a simulator step uses gives the lazy attributes' values (to rounding)."""
    f = _random_feeder(50, seed=6)
    p, q = _loads(f, shape)
    p[..., 0], q[..., 0] = 3.0, -1.0  # a load at the slack bus enters the slack power
    ref = solve(f, p, q)
    fast = solve(f, p, q).compute_step_quantities()
    assert "loading" in vars(fast) and "loading" not in vars(ref)  # computed by the kernel, not lazily
    scale = np.abs(p).sum(axis=-1).max()
    for name in ("v_pu", "l_pu", "loading", "p_slack_kw", "p_loss_kw", "p_loss_series_kw", "transformer_loading"):
        a, b = getattr(ref, name), getattr(fast, name)
        assert np.shape(a) == np.shape(b) and type(a) is type(b), name
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-13 * scale, err_msg=name)
