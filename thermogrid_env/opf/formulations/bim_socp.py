"""``"bim-socp"``: the bus-injection model with Jabr's second-order-cone relaxation.

Variables are the squared voltages ``w`` and, per branch, the cross product
``c + j s = V_int conj(V_j)`` of the internal (behind-the-tap) node and the child bus (Jabr 2006).
The series flows are linear in them (``y = g + j b = 1 / (r + j x)``)::

    S_from = conj(y) (w_int - c - j s),      S_to = conj(y) (w_j - c + j s)

and the nonconvex ``c² + s² = w_int w_j`` is relaxed to the rotated cone ``c² + s² <= w_int w_j``.
Power balance is nodal: at every bus, the power leaving into its branches equals the injection.
On radial networks this relaxation is equivalent to the branch-flow one (Bose, Low, Teeraratkul &
Hassibi 2015), so ``"bim-socp"`` and ``"distflow-socp"`` must agree; the squared current follows as
``l = |y|² (w_int + w_j - 2 c)`` and feeds the same diagnostics. Because ``w_int - c`` is a small
difference of numbers near 1 multiplied by ``|y|`` (large for short cables), this model is
numerically harder than DistFlow: a reason to prefer DistFlow for the oracle. The implied current
``l = |y|² (w_j - w_int + 2 d)`` multiplies the solver's ~1e-9 accuracy on ``w`` by ``|y|² ~ 1e7``,
so the element-wise relaxation gap is noise here; exactness is judged from the AC re-check's
losses instead (``gap_measurable = False``), and Clarabel runs at its default 1e-8 gap tolerance
(the tighter 1e-10 used for DistFlow ends ``optimal_inaccurate`` on this model).
"""

from __future__ import annotations

import numpy as np

from thermogrid_env.opf.backend import Model
from thermogrid_env.opf.formulations.base import Formulation, NetworkState, register
from thermogrid_env.opf.network import NetworkData


@register
class BIMSOCP(Formulation):
    """Bus-injection SOC relaxation (Jabr)."""

    key = "bim-socp"
    relaxation = True
    gap_measurable = False
    solver_defaults = {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8}
    textbook_cone: bool = False
    """Use the textbook cone ``c² + s² <= w_int w_j`` (numerically poor; for comparison)."""

    def variable_branch_flow(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """Cross products ``c = w_int - d`` (real) and ``s`` (imaginary) per branch, and the flows.

        The solver variable is ``d = w_int - c`` (a small number) rather than ``c`` (near 1): the same
        relaxation after an affine change of variables, but the flows ``g d`` no longer come from a
        difference of two numbers near 1 multiplied by a large admittance.
        """
        t = int(st.w.shape[0])
        d = m.var("d", (t, net.n_branch))
        s = m.var("s", (t, net.n_branch))
        c = st.w_int - d
        st.extra.update(c=c, d=d, s=s)
        g, b = net.r / net.z_sq, -net.x / net.z_sq
        d_from = d  # w_int - c
        d_to = st.w[:, 1:] - st.w_int + d  # w_j - c
        st.p = m.mul(g, d_from) - m.mul(b, s)
        st.q = -m.mul(b, d_from) - m.mul(g, s)
        st.extra["p_to"] = m.mul(g, d_to) + m.mul(b, s)
        st.extra["q_to"] = -m.mul(b, d_to) + m.mul(g, s)

    def variable_branch_current(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """``l = |y|² (w_int + w_j - 2 c)`` (an expression, no variable)."""
        st.l = m.mul(1.0 / net.z_sq, st.w[:, 1:] - st.w_int + 2.0 * st.extra["d"])

    def constraint_power_balance(self, m: Model, net: NetworkData, st: NetworkState, p_inj, q_inj) -> None:
        """Nodal balance at each non-slack bus; the slack's draw as in DistFlow."""
        st.p_send = st.p + m.mul(net.g_from, st.w_int)
        st.q_send = st.q - m.mul(net.b_from, st.w_int)
        w_child = st.w[:, 1:]
        leaving_p = st.extra["p_to"] + m.matmul(st.p_send, net.children.T)
        leaving_q = st.extra["q_to"] + m.matmul(st.q_send, net.children.T)
        m.eq("balance_p", leaving_p, -p_inj[:, 1:] - m.mul(net.g_bus[1:], w_child))
        m.eq("balance_q", leaving_q, -q_inj[:, 1:] + m.mul(net.b_bus[1:], w_child))
        st.loss = m.matmul(m.mul(net.r, st.l), np.ones((net.n_branch, 1)))
        self._slack_draw(m, net, st, p_inj, q_inj)

    def constraint_voltage_drop(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """Implied by the cross-product variables (nothing to add)."""

    def constraint_branch_current(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """``c² + s² <= w_int w_j``, written as ``d² + s² <= w_int (w_j - w_int + 2 d)``.

        Both are the same set (expand ``(w_int - d)² + s² <= w_int w_j``). The textbook form puts the
        cone's slack, of order ``|z|² l ~ 1e-7``, next to entries of order 1, and Clarabel stalled
        on it (200 iterations, ``optimal_inaccurate``, 1e-4 off the DistFlow objective on the
        24-period default-feeder case); the rewritten form solves like DistFlow.
        """
        if self.textbook_cone:
            m.rsoc("jabr_cone", st.w_int, st.w[:, 1:], [st.extra["c"], st.extra["s"]])
            return
        d = st.extra["d"]
        m.rsoc("jabr_cone", st.w_int, st.w[:, 1:] - st.w_int + 2.0 * d, [d, st.extra["s"]])

    def guess_from_powerflow(self, net: NetworkData, v_complex_pu: np.ndarray) -> dict[str, np.ndarray]:
        """``w``, ``c``, ``s`` from AC voltages."""
        tap = net.feeder.tap_ratio * np.exp(1j * np.deg2rad(net.feeder.shift_deg))
        cross = v_complex_pu[:, net.from_bus] / tap * np.conj(v_complex_pu[:, 1:])
        w_int = np.abs(v_complex_pu[:, net.from_bus] / tap) ** 2
        return {"w": np.abs(v_complex_pu[:, 1:]) ** 2, "d": w_int - cross.real, "s": cross.imag}
