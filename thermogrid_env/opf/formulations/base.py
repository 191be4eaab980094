"""The formulation interface (after PowerModels.jl) and the registry of formulations by key.

A formulation supplies the network part of the OPF: its voltage and flow variables and the
constraints linking them to the bus injections. The problem builder
(:func:`thermogrid_env.opf.problem.build_problem`) calls, in this order and without ever naming a
formulation::

    variable_bus_voltage -> variable_branch_flow -> variable_branch_current
    -> constraint_power_balance -> constraint_voltage_drop -> constraint_branch_current
    -> constraint_thermal_limits

and reads the result from a :class:`NetworkState` whose fields mean the same in every
formulation (DistFlow quantities: ``p``/``q`` into the series impedance at the sending end,
``l = |I|²``), so objective terms, diagnostics and the AC re-check are formulation-agnostic.
Adding a formulation means adding a file that subclasses :class:`Formulation` and decorates it
with :func:`register`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from thermogrid_env.errors import ConfigError
from thermogrid_env.opf.backend import Expr, Model
from thermogrid_env.opf.network import NetworkData


@dataclass
class NetworkState:
    """Network expressions of one formulation, all ``(T, ·)`` and per unit on the OPF base.

    Attributes:
        w: ``(T, n_bus)`` squared voltage magnitude (slack column constant).
        w_int: ``(T, n_branch)`` squared voltage at each branch's internal node (``w[from]/tap²``).
        p, q: ``(T, n_branch)`` power into the series impedance at the sending end (DistFlow
            ``P_ij``, ``Q_ij``).
        l: ``(T, n_branch)`` squared series current, or ``None`` (lossless formulations).
        p_send, q_send: ``(T, n_branch)`` power entering the branch at its parent bus (shunt at
            the internal node included).
        p_slack, q_slack: ``(T, 1)`` power drawn from the upstream grid.
        loss: ``(T, 1)`` series losses ``sum r l``, or ``None``.
        extra: Formulation-specific expressions (e.g. BIM's cross products).
    """

    w: Expr = None
    w_int: Expr = None
    p: Expr = None
    q: Expr = None
    l: Expr = None  # noqa: E741 - DistFlow's name for the squared current
    p_send: Expr = None
    q_send: Expr = None
    p_slack: Expr = None
    q_slack: Expr = None
    loss: Expr = None
    extra: dict[str, Expr] = field(default_factory=dict)


class Formulation:
    """Base class: the default bodies are the branch-flow (DistFlow) ones shared by subclasses.

    Class attributes:
        key: Registry key, e.g. ``"distflow-socp"``.
        backend: ``"cvxpy"`` or ``"casadi"``.
        relaxation: The current/voltage coupling is relaxed (report the relaxation gap).
        lossless: Losses are neglected (no ``l``).
        exact: Solves the exact AC equations (the reference for optimality gaps).
        gap_measurable: The solver's ``l`` is accurate enough to compute the relaxation gap
            element-wise; if not, exactness is judged from the losses of the AC re-check.
        solver_defaults: Solver options this formulation needs (overridable by the caller).
    """

    key: ClassVar[str] = ""
    backend: ClassVar[str] = "cvxpy"
    relaxation: ClassVar[bool] = False
    lossless: ClassVar[bool] = False
    exact: ClassVar[bool] = False
    gap_measurable: ClassVar[bool] = True
    solver_defaults: ClassVar[dict] = {}

    # ---------------------------------------------------------------- variables
    def variable_bus_voltage(self, m: Model, net: NetworkData, n_periods: int) -> NetworkState:
        """Squared voltages ``w`` within their bounds; the slack column is the constant ``w_slack``."""
        t = n_periods
        w_free = m.var("w", (t, net.n_bus - 1), lb=net.w_lb[None, 1:], ub=net.w_ub[None, 1:])
        w = m.hstack([np.full((t, 1), net.w_slack), w_free])
        return NetworkState(w=w, w_int=m.matmul(w, net.w_to_int))

    def variable_branch_flow(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """Series flows ``p``, ``q`` (free)."""
        t = _rows(st.w)
        st.p = m.var("p", (t, net.n_branch))
        st.q = m.var("q", (t, net.n_branch))

    def variable_branch_current(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """Squared series current ``l >= 0``."""
        st.l = m.var("l", (_rows(st.w), net.n_branch), lb=0.0)

    # ---------------------------------------------------------------- constraints
    def constraint_power_balance(self, m: Model, net: NetworkData, st: NetworkState, p_inj: Expr,
                                 q_inj: Expr) -> None:
        """DistFlow balance at each child bus and the slack's draw (``p_inj`` load positive, pu)."""
        st.p_send = st.p + m.mul(net.g_from, st.w_int)
        st.q_send = st.q - m.mul(net.b_from, st.w_int)
        w_child = st.w[:, 1:]
        p_rhs = p_inj[:, 1:] + m.mul(net.g_bus[1:], w_child) + m.matmul(st.p_send, net.children.T)
        q_rhs = q_inj[:, 1:] - m.mul(net.b_bus[1:], w_child) + m.matmul(st.q_send, net.children.T)
        if st.l is not None:
            p_rhs = p_rhs + m.mul(net.r, st.l)
            q_rhs = q_rhs + m.mul(net.x, st.l)
            st.loss = m.matmul(m.mul(net.r, st.l), np.ones((net.n_branch, 1)))
        m.eq("balance_p", st.p, p_rhs)
        m.eq("balance_q", st.q, q_rhs)
        self._slack_draw(m, net, st, p_inj, q_inj)

    def constraint_voltage_drop(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """``w_child = w_int - 2 (r p + x q) + (r² + x²) l``."""
        rhs = st.w_int - 2.0 * (m.mul(net.r, st.p) + m.mul(net.x, st.q))
        if st.l is not None:
            rhs = rhs + m.mul(net.z_sq, st.l)
        m.eq("voltage_drop", st.w[:, 1:], rhs)

    def constraint_branch_current(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """Link ``l`` to the flows (formulation specific)."""
        raise NotImplementedError

    def constraint_thermal_limits(self, m: Model, net: NetworkData, st: NetworkState) -> None:
        """Ampacity ``l <= l_max`` and the transformer's apparent power at its sending end."""
        t = _rows(st.w)
        finite = np.isfinite(net.l_max)
        if st.l is not None and finite.any():
            cols = np.flatnonzero(finite)
            m.le("ampacity", st.l[:, cols] if cols.size < net.n_branch else st.l,
                 np.broadcast_to(net.l_max[cols], (t, cols.size)))
        s_cols = np.flatnonzero(np.isfinite(net.s_max))
        for k in s_cols:
            m.soc(f"s_max_{k}", np.full((t, 1), net.s_max[k]), [st.p_send[:, k:k + 1], st.q_send[:, k:k + 1]])

    # ---------------------------------------------------------------- helpers
    def _slack_draw(self, m: Model, net: NetworkData, st: NetworkState, p_inj: Expr, q_inj: Expr) -> None:
        shunt_p = net.g_bus[0] * net.w_slack
        shunt_q = -net.b_bus[0] * net.w_slack
        st.p_slack = m.matmul(st.p_send, net.from_slack) + p_inj[:, 0:1] + shunt_p
        st.q_slack = m.matmul(st.q_send, net.from_slack) + q_inj[:, 0:1] + shunt_q

    def guess_from_powerflow(self, net: NetworkData, v_complex_pu: np.ndarray) -> dict[str, np.ndarray]:
        """Initial values of this formulation's network variables from AC voltages ``(T, n_bus)``.

        Used to start the NLP from a power-flow point when there is no SOCP warm start.
        """
        v = v_complex_pu
        tap = net.feeder.tap_ratio * np.exp(1j * np.deg2rad(net.feeder.shift_deg))
        v_int = v[:, net.from_bus] / tap
        z = net.r + 1j * net.x
        i_ser = (v_int - v[:, 1:]) / z
        s_ser = v_int * np.conj(i_ser)
        return {"w": np.abs(v[:, 1:]) ** 2, "p": s_ser.real, "q": s_ser.imag, "l": np.abs(i_ser) ** 2}


def _rows(x: Expr) -> int:
    return int(x.shape[0])


FORMULATIONS: dict[str, type[Formulation]] = {}
"""Registered formulations by key."""


def register(cls: type[Formulation]) -> type[Formulation]:
    """Class decorator: register a formulation under ``cls.key``."""
    if not cls.key:
        raise ConfigError(f"Formulation {cls.__name__} has no key.")
    FORMULATIONS[cls.key] = cls
    return cls


def get_formulation(key: str | Formulation) -> Formulation:
    """The formulation registered under ``key`` (an instance passes through).

    Raises:
        ConfigError: Unknown key (lists the known ones).
    """
    if isinstance(key, Formulation):
        return key
    try:
        return FORMULATIONS[key]()
    except KeyError:
        raise ConfigError(f"Unknown OPF formulation {key!r}; choose one of {sorted(FORMULATIONS)}.") from None


__all__ = ["FORMULATIONS", "Formulation", "NetworkState", "get_formulation", "register"]
