"""Thermal limits of the branches in DistFlow's units: one definition for simulator and optimiser.

The overload term of the cost model (:mod:`thermogrid_env.sim.costs`) and the OPF's ampacity
(:mod:`thermogrid_env.opf.network`) both compare the squared series current ``l = |I|²`` of each
branch with :func:`l_max_pu`.
"""

from __future__ import annotations

import numpy as np

from thermogrid_env.network.feeder import Feeder


def l_max_pu(feeder: Feeder, s_base_kva: float | None = None) -> np.ndarray:
    """``(n_branch,)`` squared series-current limit of each branch [pu² on ``s_base_kva``].

    Lines: their ampacity. Transformers: the rated current at the child side, and no more than the
    rated apparent power at 1 pu, ``(S_rated / S_base)²``. ``inf`` where a branch has no limit.

    Args:
        feeder: The feeder.
        s_base_kva: Power base [kVA] (default: the feeder's own).
    """
    s_base = feeder.s_base_kva if s_base_kva is None else float(s_base_kva)
    i_base_child_a = s_base / (np.sqrt(3.0) * feeder.v_base_kv[1:])
    l_max = (np.asarray(feeder.i_max_a, dtype=float) / i_base_child_a) ** 2
    s_max = np.where(feeder.is_transformer, np.asarray(feeder.s_max_kva, dtype=float) / s_base, np.inf)
    return np.where(feeder.is_transformer, np.minimum(l_max, s_max**2), l_max)


__all__ = ["l_max_pu"]
