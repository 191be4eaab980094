"""Device constraint blocks of the OPF, vectorised over periods and devices.

Each block creates its variables and constraints on a :class:`~thermogrid_env.opf.backend.Model`
(so the convex and the NLP formulations share them) and returns a :class:`DeviceBlock` with its
grid power (consumption positive, kW) and the named expressions the solution reads back.

* :func:`heat_pumps`: 3R2C building dynamics with the simulator's ZOH matrices
  (``x[t+1] = A_d x[t] + B_d u[t]``), heat ``= COP p_el``, soft comfort band.
* :func:`ev_chargers`: charging within availability and limits, battery energy balance with the
  efficiency, optional V2G, soft energy requirement at departure.
* :func:`pv_inverters`: curtailment ``0 <= p <= p_avail`` and reactive power in the circle.
* :func:`transformer_aging`: the IEC 60076-7 hot spot and aging rate as a conic epigraph.

Transformer aging (IEC 60076-7). With the simulator's load factor ``K = |I| / I_rated =
|S_send| / (v_from S_rated)`` (``v_from``: the slack voltage at the transformer's HV terminal) the
ultimate top-oil rise is
``Δθor ((1 + R K²)/(1 + R))^x = Δθor (1 + R)^-x ‖(1, √R K)‖^(2x)``, a convex increasing function of
``K`` for ``2x >= 1`` (a power of a second-order cone), and the winding gradient ``Δθhr K^y`` is
convex for ``y >= 1``; cvxpy represents the rational powers (1.6 = 8/5 for ONAN) exactly by a small
tower of second-order cones. The aging rate ``V = 2^((θh - 98)/6)`` is exponential in the hot spot:
an exponential cone (``epigraph="exp-cone"``) or, by default, its polyhedral envelope of tangents
every 1.5 K (at most 0.37 % below ``exp``; Clarabel's exponential-cone steps stalled on a third of
our 96-period cases, the tangents never). Every link is an increasing convex function, so the
epigraph chain is tight at the optimum whenever the aging weight is positive.

* ``form="steady-state"``: ``θh[t] = θa[t] + oil_rise(K[t]) + Δθhr K[t]^y``.
* ``form="dynamic"`` (default): the simulator's closed-form Euler recursion over the period,
  ``θo[t+1] = a_o θo[t] + (1 - a_o)(θa + oil_rise(K))`` and likewise for ``Δθh1`` with the decay
  factors of :func:`~thermogrid_env.physics.transformer.substep_decay_factors` (inequalities:
  exact at the optimum, as above); the hot spot at the end of the period sets the period's aging.
  Loss of life is ``Σ V dt`` (right rectangle; the simulator integrates with the trapezoid rule
  over its sub-steps — the solution reports the difference).

For the Arrhenius laws (``"iec-upgraded"``, ``"ieee"``), ``exp(A - B / (θh + 273))`` is convex but not
cone-representable as is; its exponent is replaced by the tangent at 110 °C (an upper bound,
exact at 110 °C), a documented surrogate whose error the solution reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from thermogrid_env.opf.backend import Expr, Model
from thermogrid_env.opf.data import EVInputs, HouseInputs, OPFData, PVInputs
from thermogrid_env.opf.network import NetworkData

_LN2_OVER_6 = math.log(2.0) / 6.0
TANGENT_SPACING_K = 1.5
"""Breakpoint spacing of the tangent (polyhedral) aging epigraph [K] up to :data:`TANGENT_WIDE_FROM_C`:
between two tangents the envelope underestimates ``exp(c θ)`` by at most ``(c Δ/2)² / 2`` relative,
0.37 % for IEC's ``c = ln 2 / 6``."""
TANGENT_TOP_C = 120.0
"""Highest tangent of the aging envelope [°C] (IEC 60076-7 long-time emergency loading); above it the
last tangent continues linearly, below ``exp`` (the aging of a dispatch that hot is under-estimated;
the overload and aging costs of such loadings exclude them from any optimum anyway). Tangents far
above keep entries of ``exp`` up to 1e11 and stalled the interior-point method."""
K_MAX_PENALTY = 3.0
"""Largest transformer load factor the OPF considers with penalised limits (3x its rating: a
hot spot of several hundred °C; no dispatch there can be optimal)."""
_ARRHENIUS_B_K = 15000.0
_ARRHENIUS_REF_C = 110.0


@dataclass
class DeviceBlock:
    """Variables of one device class.

    Attributes:
        kind: ``"hp"``, ``"ev"`` or ``"pv"``.
        bus: ``(n,)`` bus of each device.
        p_kw: ``(T, n)`` active power drawn (consumption positive) [kW].
        q_kvar: ``(T, n)`` reactive power drawn [kvar], or ``None`` (zero).
        outputs: Named expressions for the solution (states, slacks, set-points).
    """

    kind: str
    bus: np.ndarray
    p_kw: Expr
    q_kvar: Expr | None
    outputs: dict[str, Expr] = field(default_factory=dict)


def heat_pumps(m: Model, h: HouseInputs, t_ambient_c: np.ndarray) -> DeviceBlock:
    """Heat pumps heating 3R2C houses with a soft comfort band.

    ``t_min - s <= t_indoor <= t_max + s`` with one slack ``s >= 0`` per house and period (at most
    one side can be violated, so ``s`` is the distance outside the band).

    Args:
        m: Model.
        h: The houses over the window (the group's ZOH matrices and COP regression).
        t_ambient_c: ``(T,)`` ambient temperature [°C].

    Returns:
        Block with outputs ``hp_p_kw``, ``hp_heat_kw``, ``t_indoor_c`` / ``t_envelope_c`` (end of
        each period, ``(T, n)``) and ``comfort_violation_k``.
    """
    g = h.group
    t, n = h.q_int_kw.shape
    a, b = g.model.a_d, g.model.b_d
    cop = g.cop(t_ambient_c)
    p = m.var("hp_p_kw", (t, n), lb=0.0, ub=g.p_max_kw[None, :])
    ti = m.var("t_indoor_c", (t, n))
    te = m.var("t_envelope_c", (t, n))
    ti_prev = m.vstack([h.x0_c[None, :, 0], ti[:-1, :]]) if t > 1 else h.x0_c[None, :, 0]
    te_prev = m.vstack([h.x0_c[None, :, 1], te[:-1, :]]) if t > 1 else h.x0_c[None, :, 1]
    heat = m.mul(cop, p)
    exo = (b[None, :, :, 0] * t_ambient_c[:, None, None] + b[None, :, :, 2] * h.q_int_kw[:, :, None]
           + b[None, :, :, 3] * h.g_sol_w_per_m2[:, :, None])  # (T, n, 2)
    m.eq("building_indoor", ti, m.mul(a[:, 0, 0], ti_prev) + m.mul(a[:, 0, 1], te_prev)
         + m.mul(b[:, 0, 1], heat) + exo[:, :, 0])
    m.eq("building_envelope", te, m.mul(a[:, 1, 0], ti_prev) + m.mul(a[:, 1, 1], te_prev)
         + m.mul(b[:, 1, 1], heat) + exo[:, :, 1])
    viol = m.var("comfort_violation_k", (t, n), lb=0.0)
    m.le("comfort_min", h.t_min_c - viol, ti)
    m.le("comfort_max", ti, h.t_max_c + viol)
    q = m.mul(np.full(n, g.q_per_p), p)
    outputs = {"hp_p_kw": p, "hp_heat_kw": heat, "t_indoor_c": ti, "t_envelope_c": te,
               "comfort_violation_k": viol}
    return DeviceBlock("hp", g.bus, p, q, outputs)


def ev_chargers(m: Model, ev: EVInputs, dt_h: float) -> DeviceBlock:
    """EV charging sessions with a soft energy requirement at departure.

    Power variables exist only for plugged-in periods. Without V2G the battery energy only grows,
    so its limits reduce to one long row per EV: ``y = delivered by departure`` (a variable), then
    ``y + delivered after departure <= capacity - e_init`` and ``y + shortfall >= target - e_init``.
    No per-period energy chain (a chain of cumulative energies was measured 2x slower), and not two
    rows over the same periods: every row spanning the session joins each elimination front of the
    interior-point KKT system it crosses, and the second one cost 30 % of the solver time on the
    winter-high-der oracle day. With V2G the energy is a state with ``e_min <= e <= capacity`` in
    every period.

    Returns:
        Block with outputs ``ev_p_kw`` (net grid power), ``ev_charge_kw``, ``ev_discharge_kw``
        (V2G only) and ``ev_shortfall_kwh`` (``(1, n)``).
    """
    avail = ev.available
    t, n = avail.shape
    dep_index = ev.departure_index
    ch = m.masked_var("ev_charge_kw", avail, lb=0.0, ub=ev.p_max_kw[None, :])
    has_dep = dep_index >= 1
    before_dep = np.arange(t)[:, None] < np.where(has_dep, dep_index, 0)[None, :]
    short = m.masked_var("ev_shortfall_kwh", has_dep[None, :], lb=0.0)
    target = np.where(has_dep, ev.e_target_kwh - ev.e_init_kwh, 0.0)[None, :]
    outputs = {"ev_charge_kw": ch, "ev_shortfall_kwh": short}
    v2g = avail & (ev.p_dis_max_kw[None, :] > 0)
    if not v2g.any():
        ones = np.ones((t, 1))
        room = (ev.capacity_kwh - ev.e_init_kwh)[None, :]
        if has_dep.any():
            # One row per EV sums the charge delivered by departure into a variable that both
            # limits read (two rows over the same periods made every EV appear twice in the
            # elimination fronts of the interior-point KKT system).
            by_dep = m.var("ev_delivered_by_dep_kwh", (1, n), lb=0.0)
            m.eq("ev_delivered_by_dep", by_dep,
                 m.matmul(m.mul(before_dep * (ev.efficiency * dt_h)[None, :], ch).T, ones).T)
            m.le("ev_requirement", target - short, by_dep)
            after = avail & ~before_dep
            rest = (m.matmul(m.mul(after * (ev.efficiency * dt_h)[None, :], ch).T, ones).T if after.any()
                    else np.zeros((1, n)))
            m.le("ev_capacity", by_dep + rest, room)
        else:
            delivered = m.matmul(m.mul(ev.efficiency * dt_h, ch).T, ones).T  # (1, n) over the horizon
            m.le("ev_capacity", delivered, room)
        outputs["ev_p_kw"] = ch
        return DeviceBlock("ev", ev.bus, ch, None, outputs)
    dis = m.masked_var("ev_discharge_kw", v2g, lb=0.0, ub=ev.p_dis_max_kw[None, :])
    gain = m.mul(ev.efficiency * dt_h, ch) - m.mul(dt_h / ev.efficiency, dis)
    e = m.var("ev_energy_kwh", (t, n), lb=ev.e_min_kwh[None, :], ub=ev.capacity_kwh[None, :])
    e_prev = m.vstack([ev.e_init_kwh[None, :], e[:-1, :]]) if t > 1 else ev.e_init_kwh[None, :]
    m.eq("ev_energy", e, e_prev + gain)
    if has_dep.any():
        pick = np.zeros((t, n))
        pick[dep_index[has_dep] - 1, np.flatnonzero(has_dep)] = 1.0
        e_dep = m.matmul(m.mul(pick, e).T, np.ones((t, 1))).T  # (1, n): energy at each departure
        m.le("ev_requirement", target + ev.e_init_kwh[None, :] * has_dep[None, :] - short, e_dep)
    outputs.update(ev_p_kw=ch - dis, ev_discharge_kw=dis)
    return DeviceBlock("ev", ev.bus, ch - dis, None, outputs)


def pv_inverters(m: Model, pv: PVInputs) -> DeviceBlock:
    """PV curtailment and reactive power within the inverter circle ``p² + q² <= s²``.

    Active-power variables exist only where sunlight is available; there the circle is a
    second-order cone, at night ``|q| <= s`` is a bound.

    Returns:
        Block with outputs ``pv_p_kw`` (generation positive), ``pv_q_kvar`` (injection positive)
        and ``pv_curtailment_kw``.
    """
    t, n = pv.p_avail_kw.shape
    sunny = pv.p_avail_kw > 0
    p = m.masked_var("pv_p_kw", sunny, lb=0.0, ub=pv.p_avail_kw)
    outputs = {"pv_p_kw": p, "pv_curtailment_kw": pv.p_avail_kw - p}
    q = None
    if pv.q_control:
        s = np.broadcast_to(pv.s_inverter_kva[None, :], (t, n))
        q = m.var("pv_q_kvar", (t, n), lb=-s, ub=s)
        if sunny.any():
            idx = np.flatnonzero(sunny.ravel(order="F"))
            m.soc("pv_circle", s.ravel(order="F")[idx][:, None], [m.vars["pv_p_kw"].expr, _select(m, q, idx)])
        outputs["pv_q_kvar"] = q
    return DeviceBlock("pv", pv.bus, -1.0 * p, None if q is None else -1.0 * q, outputs)


def _select(m: Model, x: Expr, idx: np.ndarray) -> Expr:
    """Entries ``idx`` of the column-major flattening of ``x``, as a ``(k, 1)`` expression."""
    if m.kind == "cvxpy":
        return m.cp.reshape(m.cp.vec(x, order="F")[idx], (idx.size, 1), order="F")
    return m.ca.vec(x)[idx.tolist()]


def device_blocks(m: Model, data: OPFData) -> list[DeviceBlock]:
    """All device blocks of the data, in the order heat pumps, EVs, PV."""
    blocks = []
    if data.houses.n:
        blocks.append(heat_pumps(m, data.houses, data.t_ambient_c))
    if data.evs.n:
        blocks.append(ev_chargers(m, data.evs, data.dt_h))
    if data.pvs.n:
        blocks.append(pv_inverters(m, data.pvs))
    return blocks


def bus_injections(m: Model, data: OPFData, net: NetworkData, blocks: list[DeviceBlock]) -> tuple[Expr, Expr]:
    """``(T, n_bus)`` bus loads in pu on the OPF base (load positive): base plus devices."""
    s = net.s_base_kva
    p = data.base_p_kw / s
    q = data.base_q_kvar / s
    p_expr, q_expr = None, None
    for blk in blocks:
        inc = sp.csc_matrix((np.full(blk.bus.size, 1.0 / s), (np.arange(blk.bus.size), blk.bus)),
                            shape=(blk.bus.size, net.n_bus))
        term = m.matmul(blk.p_kw, inc)
        p_expr = term if p_expr is None else p_expr + term
        if blk.q_kvar is not None:
            term = m.matmul(blk.q_kvar, inc)
            q_expr = term if q_expr is None else q_expr + term
    p_inj = p if p_expr is None else p_expr + p
    q_inj = q if q_expr is None else q_expr + q
    if q_expr is None and m.kind == "cvxpy":
        q_inj = m.cp.Constant(q)
    if p_expr is None and m.kind == "cvxpy":
        p_inj = m.cp.Constant(p)
    return p_inj, q_inj


def meter_loads(m: Model, data: OPFData, blocks: list[DeviceBlock]) -> tuple[Expr | None, np.ndarray, np.ndarray]:
    """Net load of each billing meter [kW]: the household's base load plus its devices.

    Meters are the feeder's loads (``data.meter_p_kw``; every device on its household's meter), or
    the buses when ``data.meter_p_kw`` is ``None``.

    Returns:
        ``(expr, can_export, fixed)``: ``(T, n_dm)`` expression of the ``n_dm`` meters that have
        devices, whether each can export (it has PV or a V2G EV, or a negative base load), and the
        ``(T, n_fixed)`` constant net load of the meters without devices.
    """
    per_load = data.meter_p_kw is not None
    base = data.meter_p_kw if per_load else data.base_p_kw
    meters = {"hp": data.houses.group.load if per_load else data.houses.bus,
              "ev": data.evs.fleet.load if per_load else data.evs.bus,
              "pv": data.pvs.group.load if per_load else data.pvs.bus}
    used = np.unique(np.concatenate([meters[b.kind] for b in blocks] + [np.zeros(0, np.int64)])).astype(np.int64)
    fixed = np.setdiff1d(np.arange(base.shape[1]), used)
    exporting = np.zeros(base.shape[1], dtype=bool)
    exporting[meters["pv"]] = True
    exporting[meters["ev"][data.evs.p_dis_max_kw > 0]] = True
    exporting |= base.min(axis=0, initial=0.0) < 0
    if not used.size:
        return None, np.zeros(0, dtype=bool), base[:, fixed]
    col = np.full(base.shape[1], -1)
    col[used] = np.arange(used.size)
    expr: Expr = base[:, used]
    for blk in blocks:
        idx = col[meters[blk.kind]]
        inc = sp.csc_matrix((np.ones(idx.size), (np.arange(idx.size), idx)), shape=(idx.size, used.size))
        expr = expr + m.matmul(blk.p_kw, inc)
    return expr, exporting[used], base[:, fixed]


def transformer_aging(m: Model, data: OPFData, net: NetworkData, p_send: Expr, q_send: Expr) -> dict[str, Expr]:
    """Hot spot and aging of the substation transformer as a conic epigraph (module docstring).

    Args:
        m: Model.
        data: OPF data with ``transformer`` set.
        net: Network data (transformer branch and rating).
        p_send, q_send: ``(T, 1)`` power into the transformer at its upstream terminal [pu].

    Returns:
        Expressions ``load_factor``, ``hot_spot_c``, ``aging_rate`` (``(T, 1)``) and
        ``loss_of_life_h`` (scalar).
    """
    from thermogrid_env.physics.transformer import initial_state, substep_decay_factors  # noqa: PLC0415

    tr = data.transformer
    prm = tr.params
    t = data.n_periods
    ta = data.t_ambient_c[:, None]
    r_ratio, x_exp, y_exp = prm.r_loss_ratio, prm.x_oil_exp, prm.y_winding_exp
    # Upper bounds on the epigraph variables (never active at the optimum, where each sits on its
    # convex envelope) keep the feasible set compact: with an aging weight that is tiny at normal
    # loading these directions are otherwise nearly free and the interior-point method drifts.
    # Hard limits: the rating limits |S| at the sending end. Penalised limits: loadings above
    # K_MAX_PENALTY would cost astronomically in aging and overload; the bound keeps the set compact.
    # The simulator's load factor is the current over the rated current (the larger end; the
    # from end, magnetising current included, in forward flow): |S_send| / (v_from S_rated). The
    # substation transformer hangs off the slack bus, whose voltage is a constant, so this stays a
    # cone; ``|S_send| / S_rated`` alone over-stated K by the slack voltage (2.5 % at 1.025 pu).
    v_from = math.sqrt(net.w_slack) if net.from_bus[net.trafo] == 0 else 1.0
    k_max = (1.05 * float(net.s_max[net.trafo] / net.s_rated_pu) / min(v_from, 1.0) if data.hard_limits
             else K_MAX_PENALTY)
    nrm_max = math.sqrt(1.0 + r_ratio * k_max**2)
    oil_max = prm.delta_theta_or_k / (1.0 + r_ratio) ** x_exp * nrm_max ** (2.0 * x_exp)
    wnd_max = prm.delta_theta_hr_k * k_max**y_exp
    hot_max = float(np.max(ta)) + oil_max + prm.k21 * wnd_max + 5.0
    k = m.var("trafo_load_factor", (t, 1), lb=0.0, ub=k_max)
    m.soc("trafo_load_factor_def", m.mul(v_from * net.s_rated_pu, k), [p_send, q_send])
    nrm = m.var("trafo_oil_norm", (t, 1), lb=1.0, ub=nrm_max)
    m.soc("trafo_oil_norm_def", nrm, [np.ones((t, 1)), m.mul(math.sqrt(r_ratio), k)])
    z_oil = m.var("trafo_oil_pow", (t, 1), lb=1.0, ub=nrm_max ** (2.0 * x_exp))
    m.pow_le("trafo_oil_pow_def", nrm, 2.0 * x_exp, z_oil)
    z_w = m.var("trafo_winding_pow", (t, 1), lb=0.0, ub=k_max**y_exp)
    m.pow_le("trafo_winding_pow_def", k, y_exp, z_w)
    oil_ult = ta + m.mul(prm.delta_theta_or_k / (1.0 + r_ratio) ** x_exp, z_oil)
    if tr.form == "steady-state":
        hot = oil_ult + m.mul(prm.delta_theta_hr_k, z_w)
    else:
        _, decay = substep_decay_factors(prm, data.dt_s)
        a_o, a_1 = float(decay[0]), float(decay[1])
        st0 = _initial_thermal_state(data, initial_state)
        theta_o0 = st0[0] if tr.theta_oil0_c is None else tr.theta_oil0_c
        h1_0 = st0[1] if tr.d_theta_h1_0_k is None else tr.d_theta_h1_0_k
        theta_o = m.var("trafo_top_oil_c", (t, 1), ub=max(hot_max, theta_o0 + 1.0))
        h1 = m.var("trafo_winding_rise_k", (t, 1), lb=0.0, ub=max(wnd_max * prm.k21, h1_0) + 1.0)
        o_prev = m.vstack([np.array([[theta_o0]]), theta_o[:-1, :]]) if t > 1 else np.array([[theta_o0]])
        h_prev = m.vstack([np.array([[h1_0]]), h1[:-1, :]]) if t > 1 else np.array([[h1_0]])
        m.le("trafo_top_oil_dyn", a_o * o_prev + (1.0 - a_o) * oil_ult, theta_o)
        m.le("trafo_winding_dyn", a_1 * h_prev + m.mul((1.0 - a_1) * prm.k21 * prm.delta_theta_hr_k, z_w), h1)
        hot = theta_o + h1
    if prm.aging_model == "iec-nonupgraded":
        slope, ref = _LN2_OVER_6, 98.0
    else:  # tangent of the Arrhenius exponent at 110 °C (upper bound, exact there)
        slope, ref = _ARRHENIUS_B_K / (_ARRHENIUS_REF_C + 273.0) ** 2, _ARRHENIUS_REF_C
    # Scaled rate v = V / V(theta_ref) keeps the entries of order 1 (V itself is ~1e-3 at normal
    # loading).
    theta_ref = _reference_hot_spot_c(data)
    v = m.var("trafo_aging_rate_scaled", (t, 1), lb=0.0)
    if tr.epigraph == "exp-cone":
        m.exp_le("trafo_aging_def", m.mul(slope, hot) - slope * theta_ref, v)
    else:  # tangents of exp at breakpoints every TANGENT_SPACING_K: a polyhedral lower envelope
        knots = tangent_knots_c(float(np.min(ta)) - 5.0, hot_max)
        val = np.exp(slope * (knots - theta_ref))
        ones = np.ones((1, knots.size))
        m.le("trafo_aging_tangents", m.mul((val * slope)[None, :], m.matmul(hot, ones))
             + np.broadcast_to(val * (1.0 - slope * knots), (t, knots.size)), m.matmul(v, ones))
    rate = m.mul(math.exp(slope * (theta_ref - ref)), v)
    return {"load_factor": k, "hot_spot_c": hot, "aging_rate": rate,
            "loss_of_life_h": m.total(rate) * data.dt_h}


def tangent_knots_c(lo_c: float, hot_max_c: float) -> np.ndarray:
    """Breakpoints of the tangent envelope [°C]: every :data:`TANGENT_SPACING_K` from ``lo_c`` up to
    ``min(hot_max_c, TANGENT_TOP_C)``."""
    top = max(min(hot_max_c, TANGENT_TOP_C), lo_c + 1.0)
    return np.arange(lo_c, top + TANGENT_SPACING_K, TANGENT_SPACING_K)


def _reference_hot_spot_c(data: OPFData) -> float:
    """Steady hot spot at the mean ambient and the base load's mean load factor [°C] (a scale)."""
    from thermogrid_env.physics.transformer import steady_state_hot_spot_c  # noqa: PLC0415

    s = np.abs(data.base_p_kw.sum(axis=1) + 1j * data.base_q_kvar.sum(axis=1))
    k = float(np.mean(s)) / data.feeder.transformer_rating_kva
    return float(steady_state_hot_spot_c(data.transformer.params, min(k, 1.5), float(np.mean(data.t_ambient_c))))


def _initial_thermal_state(data: OPFData, initial_state) -> tuple[float, float]:
    """Steady state at the first period's ambient and base-load load factor."""
    prm = data.transformer.params
    s0 = abs(complex(data.base_p_kw[0].sum(), data.base_q_kvar[0].sum()))
    st = initial_state(prm, float(data.t_ambient_c[0]), s0 / data.feeder.transformer_rating_kva)
    return float(st.theta_oil_c), float(st.d_theta_h1_k)


__all__ = ["DeviceBlock", "bus_injections", "device_blocks", "ev_chargers", "heat_pumps", "meter_loads",
           "pv_inverters", "tangent_knots_c", "transformer_aging"]
