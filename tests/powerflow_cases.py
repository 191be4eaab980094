"""Shared power-flow test cases: the two-bus feeder with a closed-form solution, and the module that
writes the stored pandapower reference (loaded from ``tests/data`` by path)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np

from thermogrid_env.network import Feeder


def two_bus(r: float = 0.05, x: float = 0.02, v0: float = 1.0) -> Feeder:
    """A slack bus feeding one load bus through a line of impedance ``r + jx`` [pu]."""
    return Feeder(
        name="two-bus", parent=[-1, 0], bus_ids=[0, 1], bus_names=["s", "l"],
        v_base_kv=[0.4, 0.4], s_base_kva=100.0, v_slack_pu=v0,
        g_bus_pu=np.zeros(2), b_bus_pu=np.zeros(2), v_min_pu=[0.9, 0.9], v_max_pu=[1.1, 1.1],
        r_pu=[r], x_pu=[x], g_from_pu=[0.0], b_from_pu=[0.0], tap_ratio=[1.0], shift_deg=[0.0],
        i_max_a=[200.0], s_max_kva=[np.inf], is_transformer=[False],
    )


def reference_module() -> ModuleType:
    """``tests/data/make_powerflow_reference.py`` (its networks, cases and the stored file's path)."""
    path = Path(__file__).parent / "data" / "make_powerflow_reference.py"
    spec = importlib.util.spec_from_file_location("make_powerflow_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
