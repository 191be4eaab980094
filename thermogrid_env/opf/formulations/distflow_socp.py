"""``"distflow-socp"``: the branch-flow model with the second-order-cone relaxation of the current.

Farivar & Low (2013), "Branch flow model: relaxations and convexification": the DistFlow
equations (balance, voltage drop) are linear in ``(w, p, q, l)``; only ``l w_int = p² + q²`` is
nonconvex and is relaxed to the rotated cone ``l w_int >= p² + q²``. The relaxation is exact when
the cone is tight at the optimum, which holds under known sufficient conditions (objective
increasing in losses and upper voltage limits not binding, e.g. Gan, Li, Topcu & Low 2015); the
solve reports the gap either way (:mod:`thermogrid_env.opf.exactness`).

Transformer branches enter through ``w_int = w_parent / tap²`` and their magnetising shunt at the
internal node (linear in ``w``), so the relaxation keeps both exactly.
"""

from __future__ import annotations

from thermogrid_env.opf.backend import Model
from thermogrid_env.opf.formulations.base import Formulation, NetworkState, register
from thermogrid_env.opf.network import NetworkData


@register
class DistFlowSOCP(Formulation):
    """Branch-flow SOC relaxation (the study's convex DistFlow)."""

    key = "distflow-socp"
    relaxation = True

    def constraint_branch_current(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """``p² + q² <= l w_int`` (rotated second-order cone)."""
        m.rsoc("current_cone", st.l, st.w_int, [st.p, st.q])
