"""Device injections per bus and meter: the compiled pass equals numpy's bincount bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from thermogrid_env.sim.injections import _injections_py, device_injections, injections_numpy


def _case(seed: int, n_batch: int = 5, t: int = 7, n_bus: int = 6, n_load: int = 4, n_hp: int = 3, n_ev: int = 2,
          n_pv: int = 2):
    rng = np.random.default_rng(seed)
    rows = np.arange(n_batch)[:, None]
    bus = rng.integers(1, n_bus, (n_batch, n_hp + n_ev + n_pv))  # repeats: several devices per bus
    load = rng.integers(0, n_load, (n_batch, n_hp + n_ev + n_pv))
    q_cols = np.r_[0:n_hp, n_hp + n_ev:n_hp + n_ev + n_pv]
    return dict(
        k=rng.integers(0, t, n_batch), base_p=rng.normal(size=(n_batch, t, n_bus)),
        base_q=rng.normal(size=(n_batch, t, n_bus)), meter_base=rng.normal(size=(n_batch, t, n_load)),
        hp_p=rng.uniform(0, 5, (n_batch, n_hp)), ev_p=rng.uniform(-11, 11, (n_batch, n_ev)),
        pv_p=rng.uniform(0, 9, (n_batch, n_pv)), pv_q=rng.uniform(-4, 4, (n_batch, n_pv)), q_per_p=0.2031,
        p_bus_idx=(bus + rows * n_bus).ravel(), q_bus_idx=(bus[:, q_cols] + rows * n_bus).ravel(),
        meter_idx=(load + rows * n_load).ravel())


@pytest.mark.parametrize("seed", range(4))
def test_compiled_and_numpy_injections_are_equal(seed) -> None:
    case = _case(seed)
    expected = injections_numpy(**case)
    for kernel in (device_injections, _injections_py):  # compiled (if numba) and its Python source
        for got, want in zip(kernel(**case), expected):
            assert np.array_equal(got, want)


def test_injections_add_every_device_to_its_bus_and_meter() -> None:
    case = _case(7, n_batch=2)
    bus_p, bus_q, meter_p = device_injections(**case)
    dev_p = np.concatenate([case["hp_p"], case["ev_p"], -case["pv_p"]], axis=1)
    rows = np.arange(2)
    np.testing.assert_allclose(bus_p.sum(axis=1), case["base_p"][rows, case["k"]].sum(axis=1) + dev_p.sum(axis=1))
    np.testing.assert_allclose(meter_p.sum(axis=1), case["meter_base"][rows, case["k"]].sum(axis=1) + dev_p.sum(axis=1))
    q = case["hp_p"].sum(axis=1) * case["q_per_p"] - case["pv_q"].sum(axis=1)
    np.testing.assert_allclose(bus_q.sum(axis=1), case["base_q"][rows, case["k"]].sum(axis=1) + q)
