"""Shared fixtures of the OPF tests: tiny hand-made feeders and short example days."""

from __future__ import annotations

import numpy as np
import pytest

from thermogrid_env.network import Feeder, load_feeder

pytest.importorskip("cvxpy")


def make_line_feeder(n_bus: int = 2, r_pu: float = 0.05, x_pu: float = 0.02, s_base_kva: float = 100.0,
                     v_slack_pu: float = 1.0, v_max_pu: float = 1.1, i_max_a: float = np.inf,
                     load_bus: tuple[int, ...] = ()) -> Feeder:
    """A chain of ``n_bus`` buses at 0.4 kV joined by identical lines (no shunts, no transformer).

    ``load_bus``: bus of each household load (meter); none by default (every bus is then its own
    meter in the OPF, ``OPFData.meter_p_kw=None``).
    """
    nb = n_bus - 1
    n_load = len(load_bus)
    return Feeder(
        name=f"line-{n_bus}", parent=np.arange(-1, n_bus - 1), bus_ids=np.arange(n_bus),
        bus_names=tuple(f"b{i}" for i in range(n_bus)), v_base_kv=np.full(n_bus, 0.4), s_base_kva=s_base_kva,
        v_slack_pu=v_slack_pu, g_bus_pu=np.zeros(n_bus), b_bus_pu=np.zeros(n_bus),
        v_min_pu=np.full(n_bus, 0.9), v_max_pu=np.full(n_bus, v_max_pu), r_pu=np.full(nb, r_pu),
        x_pu=np.full(nb, x_pu), g_from_pu=np.zeros(nb), b_from_pu=np.zeros(nb), tap_ratio=np.ones(nb),
        shift_deg=np.zeros(nb), i_max_a=np.full(nb, i_max_a), s_max_kva=np.full(nb, np.inf),
        is_transformer=np.zeros(nb, dtype=bool), load_bus=np.asarray(load_bus, dtype=np.int64),
        load_p_kw=np.full(n_load, 10.0), load_q_kvar=np.zeros(n_load), load_profile=("H0",) * n_load,
        load_is_household=np.ones(n_load, dtype=bool),
    )


@pytest.fixture(scope="session")
def feeder() -> Feeder:
    """The default feeder (SimBench semiurb4, 44 buses)."""
    return load_feeder("simbench-semiurb4")
