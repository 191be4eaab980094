"""``"ac-nlp"``: the exact, nonconvex branch-flow OPF solved by IPOPT (through casadi).

The same DistFlow equations as ``"distflow-socp"`` with the cone replaced by the equality
``l w_int = p² + q²``. On a radial network this is the exact AC power flow (voltage angles can
always be recovered), so its optimum is the reference for optimality gaps; IPOPT finds a local
optimum, started from the SOCP solution (a polish) or from an AC power flow. Device blocks and
objective terms are the very same code as for the convex formulations (back end
:class:`~thermogrid_env.opf.backend.CasadiModel`).
"""

from __future__ import annotations

from thermogrid_env.opf.backend import Model
from thermogrid_env.opf.formulations.base import Formulation, NetworkState, register
from thermogrid_env.opf.network import NetworkData


@register
class ACNLP(Formulation):
    """Exact AC branch-flow NLP (IPOPT)."""

    key = "ac-nlp"
    backend = "casadi"
    exact = True

    def constraint_branch_current(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """``l w_int = p² + q²`` (nonconvex equality)."""
        m.bilinear_eq("current_eq", st.l, st.w_int, [st.p, st.q])
