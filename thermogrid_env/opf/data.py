"""Input data of the multi-period OPF: the device groups over a window, plain and validated.

:class:`OPFData` holds everything one solve needs: the feeder, the exogenous series over the
window (base loads, weather, prices), the simulator's own device groups
(:mod:`thermogrid_env.sim.devices`) with their state and inputs over the window, and the reward's
weights. The OPF constrains the very objects the simulator steps: the houses' zero-order-hold
matrices and COP regression, the EVs' sessions, the PV systems' inverters and the transformer's
thermal model come from the groups, not from copies (one model for simulator and oracle). A
device kind that is absent is an empty group. Build it from an episode with
:func:`thermogrid_env.opf.episode.opf_data_from_episode` (the oracle) or from a controller view
with :func:`thermogrid_env.opf.episode.opf_data_for_window` (the MPC).

Sign conventions: base loads are load-positive (as the feeder); heat-pump and EV power are
consumption (charging) positive; PV power and reactive power are generation/injection positive,
so a bus draws ``base + hp + ev - pv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from thermogrid_env.config import RewardWeights
from thermogrid_env.errors import ConfigError
from thermogrid_env.network.feeder import Feeder
from thermogrid_env.sim.devices import EVFleet, HeatPumpHouses, PVSystems, Transformer

_S_PER_H = 3600.0
#: How the OPF treats the voltage band and the branch limits.
NETWORK_LIMITS = ("penalty", "hard")


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


@dataclass(frozen=True, kw_only=True, eq=False)
class HouseInputs:
    """The heat-pump houses over a window of ``T`` periods.

    Attributes:
        group: The houses (their ZOH model, heat pumps, buses and meters).
        x0_c: ``(n, 2)`` initial ``[t_indoor_c, t_envelope_c]`` [°C].
        q_int_kw: ``(T, n)`` internal gains [kW] (the household's own consumption).
        g_sol_w_per_m2: ``(T, n)`` global irradiance [W/m²].
        t_min_c, t_max_c: ``(T, n)`` comfort band for the indoor temperature at the end of each
            period [°C] (soft: the ``discomfort`` term prices violations).
    """

    group: HeatPumpHouses
    x0_c: np.ndarray
    q_int_kw: np.ndarray
    g_sol_w_per_m2: np.ndarray
    t_min_c: np.ndarray
    t_max_c: np.ndarray

    def __post_init__(self) -> None:
        n, t = self.group.n, np.shape(self.q_int_kw)[0] if np.ndim(self.q_int_kw) == 2 else None
        if t is None:
            raise ConfigError("HouseInputs.q_int_kw must be (T, n).")
        o = "HouseInputs"
        for name, shape in (("x0_c", (n, 2)), ("q_int_kw", (t, n)), ("g_sol_w_per_m2", (t, n)),
                            ("t_min_c", (t, n)), ("t_max_c", (t, n))):
            object.__setattr__(self, name, _arr(o, name, getattr(self, name), shape))
        if np.any(self.t_min_c > self.t_max_c):
            raise ConfigError("HouseInputs: t_min_c must be <= t_max_c everywhere.")

    @classmethod
    def empty(cls, n_periods: int, dt_s: float) -> HouseInputs:
        """No houses."""
        z = np.zeros((n_periods, 0))
        return cls(group=HeatPumpHouses.empty(dt_s), x0_c=np.zeros((0, 2)), q_int_kw=z, g_sol_w_per_m2=z,
                   t_min_c=z, t_max_c=z)

    @property
    def n(self) -> int:
        """Number of houses."""
        return self.group.n

    @property
    def bus(self) -> np.ndarray:
        """``(n,)`` bus of each house."""
        return self.group.bus


@dataclass(frozen=True, kw_only=True, eq=False)
class EVInputs:
    """The EV sessions known to the planner over a window of ``T`` periods from ``start_step``.

    Energies are battery-side: ``e[t+1] = e[t] + (eff p_ch - p_dis / eff) dt_h``.

    Attributes:
        fleet: The EVs and their sessions (declared or expected ones for a causal planner).
        start_step: Episode step of the first period.
        n_periods: Window length ``T``.
        e_init_kwh: ``(n,)`` battery energy at the first period (or on arrival) [kWh].
        e_target_kwh: ``(n,)`` energy required at each EV's deadline [kWh] (soft: priced by
            ``ev_unmet``).
        deadline_step: ``(n,)`` episode step at whose start the target is due (the departure, or
            the episode's end); a deadline after the window applies at its end (with a target the
            caller may pro-rate, e.g. the MPC).
    """

    fleet: EVFleet
    start_step: int
    n_periods: int
    e_init_kwh: np.ndarray
    e_target_kwh: np.ndarray
    deadline_step: np.ndarray

    def __post_init__(self) -> None:
        n = self.fleet.n
        o = "EVInputs"
        object.__setattr__(self, "e_init_kwh", _arr(o, "e_init_kwh", self.e_init_kwh, (n,)))
        object.__setattr__(self, "e_target_kwh", _arr(o, "e_target_kwh", self.e_target_kwh, (n,)))
        object.__setattr__(self, "deadline_step", _arr(o, "deadline_step", self.deadline_step, (n,), np.int64))
        cap = self.fleet.sessions.capacity_kwh
        if np.any(self.e_init_kwh > cap + 1e-9) or np.any(self.e_init_kwh < -1e-9):
            raise ConfigError("EVInputs: need 0 <= e_init_kwh <= capacity_kwh.")

    @classmethod
    def empty(cls, n_periods: int) -> EVInputs:
        """No EVs."""
        z = np.zeros(0)
        return cls(fleet=EVFleet.empty(), start_step=0, n_periods=n_periods, e_init_kwh=z, e_target_kwh=z,
                   deadline_step=np.zeros(0, np.int64))

    @property
    def n(self) -> int:
        """Number of EVs."""
        return self.fleet.n

    @property
    def bus(self) -> np.ndarray:
        """``(n,)`` bus of each charger."""
        return self.fleet.bus

    @property
    def available(self) -> np.ndarray:
        """``(T, n)`` plugged in during each period (the fleet's availability rule)."""
        return self.fleet.available_window(self.start_step, self.n_periods)

    @property
    def departure_index(self) -> np.ndarray:
        """``(n,)`` index ``d`` of the state ``e[d]`` that must reach the target (``1..T``), or ``-1``:
        no requirement inside the window (the EV is not plugged in during it)."""
        t = self.n_periods
        d = np.minimum(self.deadline_step - self.start_step, t)
        plugged = self.available.any(axis=0)
        return np.where((d >= 1) & plugged, d, -1)

    @property
    def p_max_kw(self) -> np.ndarray:
        """``(n,)`` charging limit [kW]."""
        return self.fleet.sessions.p_max_kw

    @property
    def p_dis_max_kw(self) -> np.ndarray:
        """``(n,)`` V2G discharging limit [kW] (0 without V2G)."""
        s = self.fleet.sessions
        return np.where(s.v2g, s.p_max_kw, 0.0)

    @property
    def efficiency(self) -> np.ndarray:
        """``(n,)`` one-way efficiency [-]."""
        return self.fleet.sessions.efficiency

    @property
    def capacity_kwh(self) -> np.ndarray:
        """``(n,)`` usable capacity [kWh]."""
        return self.fleet.sessions.capacity_kwh

    @property
    def e_min_kwh(self) -> np.ndarray:
        """``(n,)`` V2G floor [kWh] (0 without V2G; never above the initial energy)."""
        s = self.fleet.sessions
        return np.where(s.v2g, np.minimum(s.soc_min * s.capacity_kwh, self.e_init_kwh), 0.0)


@dataclass(frozen=True, kw_only=True, eq=False)
class PVInputs:
    """The PV systems over a window.

    Attributes:
        group: The PV systems.
        p_avail_kw: ``(T, n)`` available active power [kW] (``group.available_kw`` of the profile).
        q_control: Whether the optimiser may use reactive power (else ``q = 0``).
    """

    group: PVSystems
    p_avail_kw: np.ndarray
    q_control: bool = True

    def __post_init__(self) -> None:
        if np.ndim(self.p_avail_kw) != 2:
            raise ConfigError("PVInputs.p_avail_kw must be (T, n).")
        t = np.shape(self.p_avail_kw)[0]
        object.__setattr__(self, "p_avail_kw", _arr("PVInputs", "p_avail_kw", self.p_avail_kw, (t, self.group.n)))
        if np.any(self.p_avail_kw < 0):
            raise ConfigError("PVInputs: p_avail_kw must be >= 0.")

    @classmethod
    def from_profile(cls, group: PVSystems, pv_per_kwp: np.ndarray, q_control: bool = True) -> PVInputs:
        """The available power of a normalised profile [kW/kWp], as the simulator computes it."""
        return cls(group=group, p_avail_kw=group.available_kw(pv_per_kwp), q_control=q_control)

    @classmethod
    def empty(cls, n_periods: int) -> PVInputs:
        """No PV."""
        return cls(group=PVSystems.empty(), p_avail_kw=np.zeros((n_periods, 0)))

    @property
    def n(self) -> int:
        """Number of PV systems."""
        return self.group.n

    @property
    def bus(self) -> np.ndarray:
        """``(n,)`` bus of each system."""
        return self.group.bus

    @property
    def s_inverter_kva(self) -> np.ndarray:
        """``(n,)`` inverter ratings [kVA]."""
        return self.group.s_inverter_kva


AGING_FORMS = ("dynamic", "steady-state")
"""Transformer hot-spot models of the aging term (see :mod:`thermogrid_env.opf.devices`)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class TransformerInputs:
    """The transformer's thermal model for the aging term.

    Attributes:
        group: The transformer (thermal parameters, branch, rating).
        form: ``"dynamic"`` (IEC 60076-7 difference equations with the simulator's per-period
            decay factors; needs ``k21 == 1``, as for ONAN distribution transformers) or
            ``"steady-state"`` (hot spot at the ultimate temperature of each period).
        epigraph: How ``V >= exp(c (θh - θref))`` enters: ``"tangents"`` (default; a polyhedral lower
            envelope, see :data:`thermogrid_env.opf.devices.TANGENT_SPACING_K`) or ``"exp-cone"``
            (exact exponential cone; Clarabel's nonsymmetric-cone steps stalled on about a third of
            our 96-period test cases).
        theta_oil0_c: Initial top-oil temperature [°C] (dynamic form); ``None``: steady state at the
            first period's ambient and base load.
        d_theta_h1_0_k: Initial winding hot-spot gradient [K] (dynamic form); ``None``: as above.
    """

    group: Transformer
    form: str = "dynamic"
    epigraph: str = "tangents"
    theta_oil0_c: float | None = None
    d_theta_h1_0_k: float | None = None

    def __post_init__(self) -> None:
        prm = self.group.params
        if self.epigraph not in ("tangents", "exp-cone"):
            raise ConfigError(f"TransformerInputs.epigraph must be 'tangents' or 'exp-cone', got {self.epigraph!r}.")
        if self.form not in AGING_FORMS:
            raise ConfigError(f"TransformerInputs.form must be one of {AGING_FORMS}, got {self.form!r}.")
        if 2.0 * prm.x_oil_exp < 1.0 or prm.y_winding_exp < 1.0:
            raise ConfigError("TransformerInputs: the conic aging epigraph needs 2 x >= 1 and y >= 1 "
                              f"(got x = {prm.x_oil_exp}, y = {prm.y_winding_exp}).")
        if self.form == "dynamic" and prm.k21 != 1.0:
            raise ConfigError("TransformerInputs: form='dynamic' needs k21 == 1 (the oil-flow overshoot term "
                              "is not convex); use form='steady-state'.")

    @property
    def params(self) -> Any:
        """The thermal parameters."""
        return self.group.params


@dataclass(frozen=True, kw_only=True, eq=False)
class OPFData:
    """Everything one multi-period OPF solve needs.

    Attributes:
        feeder: The radial feeder.
        dt_s: Period length [s].
        base_p_kw, base_q_kvar: ``(T, n_bus)`` uncontrollable load per bus (load positive).
        t_ambient_c: ``(T,)`` ambient temperature [°C] (houses, heat pumps, transformer).
        price_import_eur_per_kwh: ``(T,)`` retail price of energy a meter imports.
        price_export_eur_per_kwh: ``(T,)`` feed-in tariff of energy a meter exports (``<=`` the
            import price, else the cost is not convex).
        houses, evs, pvs: The device groups over the window (``None`` is turned into an empty group).
        transformer: The transformer for the aging term (``None``: no aging term, e.g. a feeder
            without transformer).
        meter_p_kw: ``(T, n_load)`` base load of each household meter (each feeder load) [kW]:
            energy is billed per meter, with every device on its household's meter. ``None``:
            every bus is one meter (feeders without loads, e.g. hand-made test feeders).
        weights: The reward's weights (:class:`~thermogrid_env.config.RewardWeights`): the
            objective is ``Σ_k w_k · term_k`` of the cost model, the negative return.
        v_min_pu, v_max_pu: ``(n_bus,)`` voltage band; ``None``: the feeder's.
        network_limits: ``"penalty"`` (default: the reward's ``voltage`` and ``overload`` terms
            price band and branch-limit violations, as in the environment; the oracle is then the
            upper bound of the scored return) or ``"hard"`` (voltage band and ampacity as
            constraints, no penalty terms: the classic OPF).
    """

    feeder: Feeder
    dt_s: float
    base_p_kw: np.ndarray
    base_q_kvar: np.ndarray
    t_ambient_c: np.ndarray
    price_import_eur_per_kwh: np.ndarray
    price_export_eur_per_kwh: np.ndarray | float = 0.0
    houses: HouseInputs | None = None
    evs: EVInputs | None = None
    pvs: PVInputs | None = None
    transformer: TransformerInputs | None = None
    meter_p_kw: np.ndarray | None = None
    weights: RewardWeights = field(default_factory=RewardWeights)
    v_min_pu: np.ndarray | None = None
    v_max_pu: np.ndarray | None = None
    network_limits: str = "penalty"

    def __post_init__(self) -> None:
        o = "OPFData"
        t, nb = np.shape(self.base_p_kw)[0], self.feeder.n_bus
        if not (np.isfinite(self.dt_s) and self.dt_s > 0):
            raise ConfigError(f"OPFData.dt_s must be > 0 seconds, got {self.dt_s!r}.")
        if self.network_limits not in NETWORK_LIMITS:
            raise ConfigError(f"OPFData.network_limits must be one of {NETWORK_LIMITS}, got {self.network_limits!r}.")
        if not isinstance(self.weights, RewardWeights):
            raise ConfigError("OPFData.weights must be a thermogrid_env.config.RewardWeights (the reward's weights).")
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
        if self.meter_p_kw is not None:
            object.__setattr__(self, "meter_p_kw", _arr(o, "meter_p_kw", self.meter_p_kw, (t, self.feeder.n_load)))
        object.__setattr__(self, "houses", self.houses if self.houses is not None else HouseInputs.empty(t, self.dt_s))
        object.__setattr__(self, "evs", self.evs if self.evs is not None else EVInputs.empty(t))
        object.__setattr__(self, "pvs", self.pvs if self.pvs is not None else PVInputs.empty(t))
        for name, rows in (("houses", self.houses.q_int_kw.shape[0]), ("evs", self.evs.n_periods),
                           ("pvs", self.pvs.p_avail_kw.shape[0])):
            if rows != t:
                raise ConfigError(f"OPFData.{name} covers {rows} periods, the base load {t}.")
        for name in ("houses", "evs", "pvs"):
            block = getattr(self, name)
            if block.n and (block.bus.min() < 1 or block.bus.max() >= nb):
                raise ConfigError(f"OPFData.{name}: buses must be non-slack buses 1..{nb - 1}.")
            if self.meter_p_kw is not None and block.n:
                meters = block.group.load if name != "evs" else block.fleet.load
                if meters.min() < 0 or meters.max() >= self.feeder.n_load:
                    raise ConfigError(f"OPFData.{name}: meter (load) indices must be in 0..{self.feeder.n_load - 1}.")
        if abs(self.houses.group.dt_s - self.dt_s) > 1e-9 and self.houses.n:
            raise ConfigError(f"OPFData: the houses are discretised at {self.houses.group.dt_s} s, the periods are "
                              f"{self.dt_s} s (one model for simulator and oracle: use the same step).")
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

    @property
    def hard_limits(self) -> bool:
        """Voltage band and ampacity are hard constraints (``network_limits == "hard"``)."""
        return self.network_limits == "hard"


__all__ = ["AGING_FORMS", "EVInputs", "HouseInputs", "NETWORK_LIMITS", "OPFData", "PVInputs", "TransformerInputs"]
