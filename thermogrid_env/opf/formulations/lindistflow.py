"""``"lindistflow"``: the linearised, lossless DistFlow model (Baran & Wu 1989).

Dropping ``l`` leaves ``p = p_j + sum p_children`` and ``w_j = w_int - 2 (r p + x q)``: linear,
fast and always "exact" in its own terms, but it neglects losses (the AC re-check shows the
voltage and loss error this causes). The ampacity limit becomes ``|s| <= sqrt(w_min) i_max`` at the
sending end (``|V| >= v_min``, so it is conservative for the current).
"""

from __future__ import annotations

import numpy as np

from thermogrid_env.opf.backend import Model
from thermogrid_env.opf.formulations.base import Formulation, NetworkState, register
from thermogrid_env.opf.network import NetworkData


@register
class LinDistFlow(Formulation):
    """Linearised lossless branch flow."""

    key = "lindistflow"
    lossless = True
    solver_defaults = {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8}  # no cone gap to tighten

    def variable_branch_current(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """No current variable."""
        st.l = None

    def constraint_branch_current(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """Nothing to link."""

    def constraint_thermal_limits(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """Apparent power limits standing in for the ampacity; the transformer's as the base class."""
        t = int(st.w.shape[0])
        finite = np.flatnonzero(np.isfinite(net.l_max) & ~np.isfinite(net.s_max))
        if finite.size:
            s_lim = np.sqrt(net.w_min[finite + 1] * net.l_max[finite])
            m.soc("ampacity", np.broadcast_to(s_lim, (t, finite.size)),
                  [st.p_send[:, finite], st.q_send[:, finite]])
        super().constraint_thermal_limits(m, net, st)
