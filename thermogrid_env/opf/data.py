"""Input data of the multi-period OPF: plain, validated, frozen dataclasses (no cvxpy needed).

:class:`OPFData` holds everything one oracle solve needs: the feeder, the exogenous series over
the horizon (base loads, weather, prices) and one block per device class. Arrays are stored as
read-only float64 (bool/int where stated) and checked for shape and finiteness on construction.
Build it field by field, or from the simulator's own parameter objects with :func:`from_devices`
(the same ZOH building matrices, COP regression, EV sessions and PV capability the simulator
uses: the one-model rule).

Sign conventions: base loads are load-positive (as the feeder); heat-pump and EV power are
consumption (charging) positive; PV power and reactive power are generation/injection positive
(as :mod:`thermogrid_env.physics.pv`), so a bus draws ``base + hp + ev - pv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from thermogrid_env.errors import ConfigError
from thermogrid_env.network.feeder import Feeder

_S_PER_H = 3600.0


def _arr(owner: str, name: str, value: Any, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    try:
        arr = np.array(np.broadcast_to(np.asarray(value, dtype=dtype), shape), dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{owner}.{name}: expected shape {shape} (or broadcastable), got {np.shape(value)}.") from exc
    if dtype is np.float64 and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ConfigError(f"{owner}.{name}: non-finite value at index {tuple(bad)}.")
    arr.setflags(write=False)
    return arr


def _n_from(value: Any, axis: int = 0) -> int:
    return int(np.shape(value)[axis])


@dataclass(frozen=True, kw_only=True, eq=False)
class HouseData:
    """Houses heated by heat pumps: the 3R2C ZOH model, limits and comfort band (``n`` houses).

    Attributes:
        bus: ``(n,)`` feeder bus index of each house.
        a_d: ``(n, 2, 2)`` state transition of :class:`~thermogrid_env.physics.building.BuildingModel`.
        b_d: ``(n, 2, 4)`` input matrix (inputs ``[t_a_c, q_hp_kw, q_int_kw, g_sol_w_per_m2]``).
        x0_c: ``(n, 2)`` initial ``[t_indoor_c, t_envelope_c]`` [°C].
        p_hp_max_kw: ``(n,)`` rated electrical power of the heat pump [kW].
        cop: ``(T, n)`` coefficient of performance in each period [-].
        q_int_kw: ``(T, n)`` internal gains [kW].
        g_sol_w_per_m2: ``(T, n)`` global horizontal irradiance [W/m²].
        t_min_c, t_max_c: ``(T, n)`` comfort band for the indoor temperature at the end of each
            period [°C] (soft: violations are penalised and reported).
        hp_q_per_p: ``(n,)`` reactive power drawn per active power, ``tan(phi)`` [-] (0: unity pf).
    """

    bus: np.ndarray
    a_d: np.ndarray
    b_d: np.ndarray
    x0_c: np.ndarray
    p_hp_max_kw: np.ndarray
    cop: np.ndarray
    q_int_kw: np.ndarray
    g_sol_w_per_m2: np.ndarray
    t_min_c: np.ndarray
    t_max_c: np.ndarray
    hp_q_per_p: np.ndarray | float = 0.0

    def __post_init__(self) -> None:
        n, t = _n_from(self.bus), _n_from(self.cop)
        o = "HouseData"
        object.__setattr__(self, "bus", _arr(o, "bus", self.bus, (n,), np.int64))
        for name, shape in (("a_d", (n, 2, 2)), ("b_d", (n, 2, 4)), ("x0_c", (n, 2)), ("p_hp_max_kw", (n,)),
                            ("cop", (t, n)), ("q_int_kw", (t, n)), ("g_sol_w_per_m2", (t, n)),
                            ("t_min_c", (t, n)), ("t_max_c", (t, n)), ("hp_q_per_p", (n,))):
            object.__setattr__(self, name, _arr(o, name, getattr(self, name), shape))
        if np.any(self.p_hp_max_kw < 0) or np.any(self.cop <= 0):
            raise ConfigError("HouseData: p_hp_max_kw must be >= 0 and cop > 0.")
        if np.any(self.t_min_c > self.t_max_c):
            raise ConfigError("HouseData: t_min_c must be <= t_max_c everywhere.")

    @property
    def n(self) -> int:
        """Number of houses."""
        return int(self.bus.shape[0])


@dataclass(frozen=True, kw_only=True, eq=False)
class EVData:
    """EV charging sessions (one column per session).

    Energies are battery-side: ``e[t+1] = e[t] + (eff p_ch - p_dis / eff) dt_h``.

    Attributes:
        bus: ``(n,)`` feeder bus index.
        available: ``(T, n)`` bool, plugged in during the period.
        p_max_kw: ``(n,)`` charging limit [kW].
        p_dis_max_kw: ``(n,)`` V2G discharging limit [kW] (0: no V2G).
        efficiency: ``(n,)`` one-way efficiency [-].
        capacity_kwh: ``(n,)`` usable capacity [kWh].
        e_init_kwh: ``(n,)`` battery energy when (or, if already plugged, at the start) [kWh].
        e_min_kwh: ``(n,)`` floor for V2G discharging [kWh].
        e_target_kwh: ``(n,)`` required energy at departure [kWh] (soft, shortfall penalised).
        departure_index: ``(n,)`` int, index ``d`` of the state ``e[d]`` that must reach the
            target (the first period the EV is gone, ``1..T``), or ``-1``: departs after the
            horizon (no requirement inside it).
    """

    bus: np.ndarray
    available: np.ndarray
    p_max_kw: np.ndarray
    efficiency: np.ndarray
    capacity_kwh: np.ndarray
    e_init_kwh: np.ndarray
    e_target_kwh: np.ndarray
    departure_index: np.ndarray
    p_dis_max_kw: np.ndarray | float = 0.0
    e_min_kwh: np.ndarray | float = 0.0

    def __post_init__(self) -> None:
        n, t = _n_from(self.bus), _n_from(self.available)
        o = "EVData"
        object.__setattr__(self, "bus", _arr(o, "bus", self.bus, (n,), np.int64))
        object.__setattr__(self, "available", _arr(o, "available", self.available, (t, n), bool))
        object.__setattr__(self, "departure_index", _arr(o, "departure_index", self.departure_index, (n,), np.int64))
        for name in ("p_max_kw", "p_dis_max_kw", "efficiency", "capacity_kwh", "e_init_kwh", "e_target_kwh",
                     "e_min_kwh"):
            object.__setattr__(self, name, _arr(o, name, getattr(self, name), (n,)))
        if np.any(self.departure_index > t) or np.any((self.departure_index < 1) & (self.departure_index != -1)):
            raise ConfigError(f"EVData.departure_index must be in 1..{t} or -1 (after the horizon).")
        if np.any(self.efficiency <= 0) or np.any(self.efficiency > 1) or np.any(self.capacity_kwh <= 0):
            raise ConfigError("EVData: efficiency must be in (0, 1] and capacity_kwh > 0.")
        if np.any(self.e_init_kwh > self.capacity_kwh + 1e-9) or np.any(self.e_min_kwh > self.e_init_kwh + 1e-9):
            raise ConfigError("EVData: need e_min_kwh <= e_init_kwh <= capacity_kwh.")

    @property
    def n(self) -> int:
        """Number of sessions."""
        return int(self.bus.shape[0])


@dataclass(frozen=True, kw_only=True, eq=False)
class PVData:
    """Rooftop PV inverters: available power, curtailment and reactive power in the circle.

    Attributes:
        bus: ``(n,)`` feeder bus index.
        p_avail_kw: ``(T, n)`` available active power [kW] (irradiance limited).
        s_inverter_kva: ``(n,)`` inverter rating [kVA]: ``p² + q² <= s²``.
        q_control: Whether the optimizer may use reactive power (else ``q = 0``).
    """

    bus: np.ndarray
    p_avail_kw: np.ndarray
    s_inverter_kva: np.ndarray
    q_control: bool = True

    def __post_init__(self) -> None:
        n, t = _n_from(self.bus), _n_from(self.p_avail_kw)
        o = "PVData"
        object.__setattr__(self, "bus", _arr(o, "bus", self.bus, (n,), np.int64))
        object.__setattr__(self, "p_avail_kw", _arr(o, "p_avail_kw", self.p_avail_kw, (t, n)))
        object.__setattr__(self, "s_inverter_kva", _arr(o, "s_inverter_kva", self.s_inverter_kva, (n,)))
        if np.any(self.p_avail_kw < 0) or np.any(self.s_inverter_kva <= 0):
            raise ConfigError("PVData: p_avail_kw must be >= 0 and s_inverter_kva > 0.")

    @property
    def n(self) -> int:
        """Number of PV systems."""
        return int(self.bus.shape[0])


AGING_FORMS = ("dynamic", "steady-state")
"""Transformer hot-spot models of the aging term (see :mod:`thermogrid_env.opf.devices`)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class TransformerData:
    """Thermal model of the substation transformer for the aging term.

    Attributes:
        params: :class:`~thermogrid_env.physics.transformer.TransformerThermalParams`.
        form: ``"dynamic"`` (IEC 60076-7 difference equations with the simulator's per-period
            decay factors; needs ``k21 == 1``, as for ONAN distribution transformers) or
            ``"steady-state"`` (hot spot at the ultimate temperature of each period).
        epigraph: How ``V >= exp(c (θh - θref))`` enters: ``"tangents"`` (default; a polyhedral lower
            envelope with breakpoints every 1.5 K, at most 0.37 % below the exponential; robust
            with Clarabel) or ``"exp-cone"`` (exact exponential cone; Clarabel's nonsymmetric-cone
            steps stalled ('InsufficientProgress') on about a third of our 96-period test cases).
        theta_oil0_c: Initial top-oil temperature [°C] (dynamic form); ``None``: steady state at
            the first period's ambient and base load.
        d_theta_h1_0_k: Initial winding hot-spot gradient [K] (dynamic form); ``None``: as above.
    """

    params: Any
    form: str = "dynamic"
    epigraph: str = "tangents"
    theta_oil0_c: float | None = None
    d_theta_h1_0_k: float | None = None

    def __post_init__(self) -> None:
        if self.epigraph not in ("tangents", "exp-cone"):
            raise ConfigError(f"TransformerData.epigraph must be 'tangents' or 'exp-cone', got {self.epigraph!r}.")
        if self.form not in AGING_FORMS:
            raise ConfigError(f"TransformerData.form must be one of {AGING_FORMS}, got {self.form!r}.")
        if 2.0 * self.params.x_oil_exp < 1.0 or self.params.y_winding_exp < 1.0:
            raise ConfigError("TransformerData: the conic aging epigraph needs 2 x >= 1 and y >= 1 "
                              f"(got x = {self.params.x_oil_exp}, y = {self.params.y_winding_exp}).")
        if self.form == "dynamic" and self.params.k21 != 1.0:
            raise ConfigError("TransformerData: form='dynamic' needs k21 == 1 (the oil-flow overshoot term is "
                              "not convex); use form='steady-state'.")


@dataclass(frozen=True, kw_only=True)
class ObjectiveWeights:
    """Weights of the named objective terms (a weight of 0 drops the term).

    Attributes:
        energy: Multiplier on the energy cost (import at the import price, export credited) [-].
        losses_eur_per_kwh: Extra price on series losses [EUR/kWh] (on top of their energy cost;
            the knob that keeps the SOC relaxation tight when it is not).
        comfort_eur_per_kh: Comfort-band violation [EUR per K·h].
        ev_shortfall_eur_per_kwh: Energy missing at departure [EUR/kWh].
        curtailment_eur_per_kwh: Curtailed PV energy [EUR/kWh].
        aging_eur_per_h: Transformer loss of life [EUR per hour of life consumed] (default: a
            ~18 kEUR distribution transformer over the IEC normal life of 180,000 h).
    """

    energy: float = 1.0
    losses_eur_per_kwh: float = 0.0
    comfort_eur_per_kh: float = 2.0
    ev_shortfall_eur_per_kwh: float = 1.0
    curtailment_eur_per_kwh: float = 0.05
    aging_eur_per_h: float = 0.1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (np.isfinite(value) and value >= 0):
                raise ConfigError(f"ObjectiveWeights.{f.name} must be finite and >= 0, got {value!r}.")


@dataclass(frozen=True, kw_only=True, eq=False)
class OPFData:
    """Everything one multi-period OPF solve needs.

    Attributes:
        feeder: The radial feeder.
        dt_s: Period length [s].
        base_p_kw, base_q_kvar: ``(T, n_bus)`` uncontrollable load per bus (load positive).
        t_ambient_c: ``(T,)`` ambient temperature [°C] (buildings, transformer).
        price_import_eur_per_kwh: ``(T,)`` price of energy drawn from the upstream grid.
        price_export_eur_per_kwh: ``(T,)`` credit for energy fed back (``<=`` the import price,
            else the cost is not convex).
        houses, evs, pvs: Device blocks (``None``: none of that kind).
        transformer: Thermal data for the aging term (``None``: no aging term).
        weights: Objective weights.
        v_min_pu, v_max_pu: ``(n_bus,)`` voltage limits; ``None``: the feeder's.
    """

    feeder: Feeder
    dt_s: float
    base_p_kw: np.ndarray
    base_q_kvar: np.ndarray
    t_ambient_c: np.ndarray
    price_import_eur_per_kwh: np.ndarray
    price_export_eur_per_kwh: np.ndarray | float = 0.0
    houses: HouseData | None = None
    evs: EVData | None = None
    pvs: PVData | None = None
    transformer: TransformerData | None = None
    weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    v_min_pu: np.ndarray | None = None
    v_max_pu: np.ndarray | None = None

    def __post_init__(self) -> None:
        o = "OPFData"
        t, nb = _n_from(self.base_p_kw), self.feeder.n_bus
        if not (np.isfinite(self.dt_s) and self.dt_s > 0):
            raise ConfigError(f"OPFData.dt_s must be > 0 seconds, got {self.dt_s!r}.")
        for name in ("base_p_kw", "base_q_kvar"):
            object.__setattr__(self, name, _arr(o, name, getattr(self, name), (t, nb)))
        for name in ("t_ambient_c", "price_import_eur_per_kwh", "price_export_eur_per_kwh"):
            object.__setattr__(self, name, _arr(o, name, getattr(self, name), (t,)))
        if np.any(self.price_export_eur_per_kwh > self.price_import_eur_per_kwh + 1e-12):
            raise ConfigError("OPFData: price_export_eur_per_kwh must not exceed price_import_eur_per_kwh "
                              "(otherwise buying to sell is profitable and the cost is not convex).")
        for name, default in (("v_min_pu", self.feeder.v_min_pu), ("v_max_pu", self.feeder.v_max_pu)):
            value = default if getattr(self, name) is None else getattr(self, name)
            object.__setattr__(self, name, _arr(o, name, value, (nb,)))
        for block in (self.houses, self.evs, self.pvs):
            if block is None:
                continue
            series = {HouseData: "cop", EVData: "available", PVData: "p_avail_kw"}[type(block)]
            if getattr(block, series).shape[0] != t:
                raise ConfigError(f"{type(block).__name__}.{series} has {getattr(block, series).shape[0]} periods, "
                                  f"the base load {t}.")
            if block.n and (block.bus.min() < 1 or block.bus.max() >= nb):
                raise ConfigError(f"{type(block).__name__}.bus must index non-slack buses 1..{nb - 1}.")
        if self.transformer is not None:
            _ = self.feeder.transformer_branch  # raises ConfigError if the feeder has none

    @property
    def n_periods(self) -> int:
        """Number of periods ``T``."""
        return int(self.base_p_kw.shape[0])

    @property
    def dt_h(self) -> float:
        """Period length [h]."""
        return self.dt_s / _S_PER_H


def from_devices(
    feeder: Feeder,
    *,
    dt_s: float,
    base_p_kw: np.ndarray,
    base_q_kvar: np.ndarray,
    t_ambient_c: np.ndarray,
    price_import_eur_per_kwh: np.ndarray | float,
    price_export_eur_per_kwh: np.ndarray | float = 0.0,
    house_bus: np.ndarray | None = None,
    building: Any = None,
    heat_pump: Any = None,
    x0_c: np.ndarray | None = None,
    q_int_kw: np.ndarray | float = 0.0,
    g_sol_w_per_m2: np.ndarray | float = 0.0,
    comfort_c: tuple[Any, Any] = (20.0, 24.0),
    hp_q_per_p: np.ndarray | float = 0.0,
    ev_bus: np.ndarray | None = None,
    ev_sessions: Any = None,
    start_step: int = 0,
    ev_e_init_kwh: np.ndarray | None = None,
    ev_e_target_kwh: np.ndarray | None = None,
    pv_bus: np.ndarray | None = None,
    pv: Any = None,
    pv_profile_kw_per_kwp: np.ndarray | None = None,
    pv_q_control: bool = True,
    transformer: Any = None,
    aging_form: str = "dynamic",
    transformer_state: Any = None,
    weights: ObjectiveWeights | None = None,
) -> OPFData:
    """Build :class:`OPFData` from the simulator's own device parameter objects.

    Args:
        feeder: The feeder.
        dt_s: Period length [s]; must equal ``building.dt_s``.
        base_p_kw, base_q_kvar: ``(T, n_bus)`` uncontrollable load (load positive).
        t_ambient_c: ``(T,)`` ambient temperature [°C].
        price_import_eur_per_kwh, price_export_eur_per_kwh: ``(T,)`` or scalar prices.
        house_bus: ``(n_h,)`` bus of each house with a heat pump.
        building: :class:`~thermogrid_env.physics.building.BuildingModel` of the ``n_h`` houses.
        heat_pump: :class:`~thermogrid_env.physics.heat_pump.HeatPumpParams` of the ``n_h`` houses.
        x0_c: ``(n_h, 2)`` initial ``[t_indoor, t_envelope]`` [°C]; default 21 °C / 20 °C.
        q_int_kw: Internal gains [kW], ``(T, n_h)`` or broadcastable.
        g_sol_w_per_m2: Irradiance [W/m²], ``(T,)``, ``(T, n_h)`` or scalar.
        comfort_c: ``(t_min, t_max)`` [°C], each scalar or broadcastable to ``(T, n_h)``.
        hp_q_per_p: Heat-pump ``tan(phi)``.
        ev_bus: ``(n_ev,)`` bus of each EV charger.
        ev_sessions: :class:`~thermogrid_env.physics.ev.EVSessions` (one session per EV). As in the
            simulator, the target applies at departure or, for EVs leaving after the horizon, at
            its end.
        start_step: Episode step of the first period (for the sessions' arrival/departure steps).
        ev_e_init_kwh: ``(n_ev,)`` battery energy at the first period [kWh]; default the arrival
            energy ``soc_arrival * capacity``.
        ev_e_target_kwh: ``(n_ev,)`` energy required at departure (or at the horizon's end for EVs
            leaving later) [kWh]; default ``soc_target * capacity``.
        pv_bus: ``(n_pv,)`` bus of each PV system.
        pv: :class:`~thermogrid_env.physics.pv.PVParams`.
        pv_profile_kw_per_kwp: Normalised PV generation, ``(T,)`` or ``(T, n_pv)`` [kW/kWp].
        pv_q_control: Whether the optimizer may set PV reactive power.
        transformer: :class:`~thermogrid_env.physics.transformer.TransformerThermalParams` or ``None``.
        aging_form: ``"dynamic"`` or ``"steady-state"`` (see :class:`TransformerData`).
        transformer_state: :class:`~thermogrid_env.physics.transformer.TransformerThermalState` at
            the first period (dynamic form); default: steady state at the first period's load.
        weights: Objective weights (default :class:`ObjectiveWeights`).

    Returns:
        The validated :class:`OPFData`.

    Raises:
        ConfigError: Inconsistent sizes or step lengths.
    """
    base_p = np.asarray(base_p_kw, dtype=float)
    t = base_p.shape[0]
    t_amb = np.broadcast_to(np.asarray(t_ambient_c, dtype=float), (t,))
    houses = evs = pvs = None
    if building is not None:
        from thermogrid_env.physics.heat_pump import device_cop  # noqa: PLC0415

        if house_bus is None or heat_pump is None:
            raise ConfigError("from_devices: a building needs house_bus and heat_pump too.")
        if abs(building.dt_s - dt_s) > 1e-9:
            raise ConfigError(f"from_devices: building.dt_s = {building.dt_s} differs from dt_s = {dt_s}; "
                              "discretise with the same step (one model for simulator and oracle).")
        n = len(house_bus)
        x0 = np.tile([21.0, 20.0], (n, 1)) if x0_c is None else x0_c
        g = np.asarray(g_sol_w_per_m2, dtype=float)
        g = g[:, None] if g.ndim == 1 else g
        houses = HouseData(
            bus=house_bus, a_d=building.a_d, b_d=building.b_d, x0_c=x0,
            p_hp_max_kw=heat_pump.p_rated_el_kw,
            cop=np.broadcast_to(device_cop(heat_pump, t_amb[:, None]), (t, n)),
            q_int_kw=np.broadcast_to(q_int_kw, (t, n)), g_sol_w_per_m2=np.broadcast_to(g, (t, n)),
            t_min_c=np.broadcast_to(comfort_c[0], (t, n)), t_max_c=np.broadcast_to(comfort_c[1], (t, n)),
            hp_q_per_p=hp_q_per_p,
        )
    if ev_sessions is not None:
        if ev_bus is None:
            raise ConfigError("from_devices: ev_sessions needs ev_bus.")
        s = ev_sessions
        steps = start_step + np.arange(t)[:, None]
        avail = (s.arrival_step[None, :] <= steps) & (steps < s.departure_step[None, :])
        # The simulator books unmet energy at departure, or at the episode end for EVs leaving later.
        dep = np.minimum(s.departure_step - start_step, t)
        dep = np.where(s.arrival_step - start_step < t, dep, -1)
        e_init = s.soc_arrival * s.capacity_kwh if ev_e_init_kwh is None else np.asarray(ev_e_init_kwh, float)
        evs = EVData(
            bus=ev_bus, available=avail, p_max_kw=s.p_max_kw, p_dis_max_kw=np.where(s.v2g, s.p_max_kw, 0.0),
            efficiency=s.efficiency, capacity_kwh=s.capacity_kwh,
            e_init_kwh=e_init, e_min_kwh=np.where(s.v2g, np.minimum(s.soc_min * s.capacity_kwh, e_init), 0.0),
            e_target_kwh=(s.soc_target * s.capacity_kwh if ev_e_target_kwh is None
                          else np.asarray(ev_e_target_kwh, float)),
            departure_index=np.where(dep >= 1, dep, -1),
        )
    if pv is not None:
        if pv_bus is None or pv_profile_kw_per_kwp is None:
            raise ConfigError("from_devices: pv needs pv_bus and pv_profile_kw_per_kwp.")
        prof = np.asarray(pv_profile_kw_per_kwp, dtype=float)
        prof = prof[:, None] if prof.ndim == 1 else prof
        p_avail = np.minimum(prof * pv.p_peak_kwp[None, :], pv.s_inverter_kva[None, :])
        pvs = PVData(bus=pv_bus, p_avail_kw=p_avail, s_inverter_kva=pv.s_inverter_kva, q_control=pv_q_control)
    trafo = None
    if transformer is not None:
        st = transformer_state
        trafo = TransformerData(params=transformer, form=aging_form,
                                theta_oil0_c=None if st is None else float(st.theta_oil_c),
                                d_theta_h1_0_k=None if st is None else float(st.d_theta_h1_k))
    return OPFData(
        feeder=feeder, dt_s=dt_s, base_p_kw=base_p, base_q_kvar=base_q_kvar, t_ambient_c=t_amb,
        price_import_eur_per_kwh=price_import_eur_per_kwh, price_export_eur_per_kwh=price_export_eur_per_kwh,
        houses=houses, evs=evs, pvs=pvs, transformer=trafo, weights=weights or ObjectiveWeights(),
    )


__all__ = ["AGING_FORMS", "EVData", "HouseData", "OPFData", "ObjectiveWeights", "PVData", "TransformerData",
           "from_devices"]
