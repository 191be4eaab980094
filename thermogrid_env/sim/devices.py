"""Device groups: one object per kind of device, stepped by the simulator and constrained by the OPF.

A group holds the parameters of all devices of one kind in one community (or, for the EVs, one
episode) and the physics that both sides use: the simulator (:mod:`thermogrid_env.sim.simulator`)
steps it, the OPF (:mod:`thermogrid_env.opf.devices`) builds its constraints from the very same
object, so there is one model of each device:

* :class:`HeatPumpHouses`: 3R2C houses (their exact zero-order-hold matrices at the scenario's step)
  heated by air-source heat pumps (their COP regression and rating);
* :class:`EVFleet`: EVs with their plug-in sessions (availability, limits, energy requirements);
* :class:`PVSystems`: rooftop PV with its inverters (available power, capability circle);
* :class:`Transformer`: the substation transformer's IEC 60076-7 thermal model.

Every device belongs to a household: ``load`` is its feeder load index, which is also the meter it
is billed on (:mod:`thermogrid_env.sim.costs`), and ``bus`` its feeder bus. A community without
devices of a kind has an *empty* group (``n == 0``), never ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from thermogrid_env.errors import ConfigError
from thermogrid_env.physics import building, ev, heat_pump, pv, transformer

#: Power factor of heat-pump compressors (inverter drives) [-].
HP_POWER_FACTOR = 0.98
#: Irradiance at which a PV profile value of 1 (output = installed kWp) is reached [W/m²] (STC).
STC_IRRADIANCE_W_PER_M2 = 1000.0


def _index_array(name: str, value: object, n: int) -> np.ndarray:
    arr = np.array(value, dtype=np.int64, ndmin=1).reshape(-1)
    if arr.shape != (n,):
        raise ConfigError(f"{name} must have one entry per device ({n}), got shape {arr.shape}.")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class HeatPumpHouses:
    """Houses heated by air-source heat pumps (``n`` houses, possibly 0).

    Attributes:
        load: ``(n,)`` feeder load (household meter) of each house.
        bus: ``(n,)`` feeder bus of each house.
        building: 3R2C parameters.
        heat_pump: Heat-pump parameters (rating, emitter, COP regression).
        dt_s: Step length the zero-order-hold model is discretised at [s].
        house_type: ``(n,)`` house-type ids (Sperber et al. 2020), for reports.
        model: The exact ZOH discretisation of ``building`` at ``dt_s`` (computed if not given; a
            given one must be of these parameters at this step, e.g.
            :func:`~thermogrid_env.physics.building.discretize_house_types`).
    """

    load: np.ndarray
    bus: np.ndarray
    building: building.BuildingParams
    heat_pump: heat_pump.HeatPumpParams
    dt_s: float
    house_type: tuple[str, ...] = ()
    model: building.BuildingModel | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = self.building.n_houses
        if self.heat_pump.n_devices != n:
            raise ConfigError(f"HeatPumpHouses: {n} houses but {self.heat_pump.n_devices} heat pumps.")
        object.__setattr__(self, "load", _index_array("HeatPumpHouses.load", self.load, n))
        object.__setattr__(self, "bus", _index_array("HeatPumpHouses.bus", self.bus, n))
        object.__setattr__(self, "house_type", tuple(str(t) for t in self.house_type) or ("",) * n)
        if self.model is None:
            object.__setattr__(self, "model", building.discretize(self.building, self.dt_s))
        elif (self.model.params is not self.building and self.model.params != self.building) or abs(self.model.dt_s - float(self.dt_s)) > 1e-9:
            raise ConfigError("HeatPumpHouses.model must be the discretisation of its building at its dt_s.")

    @classmethod
    def empty(cls, dt_s: float) -> HeatPumpHouses:
        """A group without houses."""
        none = np.zeros(0)
        params = building.BuildingParams(c_i_kwh_per_k=none, c_e_kwh_per_k=none, r_ie_k_per_kw=none,
                                         r_ea_k_per_kw=none, r_ia_k_per_kw=none, a_i_m2=none)
        return cls(load=np.zeros(0, np.int64), bus=np.zeros(0, np.int64), building=params,
                   heat_pump=heat_pump.HeatPumpParams(p_rated_el_kw=none), dt_s=dt_s)

    @property
    def n(self) -> int:
        """Number of houses."""
        return int(self.load.shape[0])

    @property
    def p_max_kw(self) -> np.ndarray:
        """``(n,)`` rated electrical power of the heat pumps [kW]."""
        return self.heat_pump.p_rated_el_kw

    @property
    def q_per_p(self) -> float:
        """Reactive power drawn per active power, ``tan(phi)`` [-]."""
        return math.tan(math.acos(HP_POWER_FACTOR))

    def cop(self, t_ambient_c: np.ndarray) -> np.ndarray:
        """``(T, n)`` COP of every heat pump over a ``(T,)`` ambient series [-]
        (:func:`~thermogrid_env.physics.heat_pump.fleet_cop_series`)."""
        t = np.asarray(t_ambient_c, dtype=float).reshape(1, -1)
        return heat_pump.fleet_cop_series([self.heat_pump], t)[0]

    def envelope_steady_c(self, t_indoor_c: np.ndarray, t_ambient_c: float) -> np.ndarray:
        """``(n,)`` envelope temperature in steady state with the interior held at ``t_indoor_c`` [°C]."""
        b = self.building
        g_ie, g_ea = 1.0 / b.r_ie_k_per_kw, 1.0 / b.r_ea_k_per_kw
        return (np.asarray(t_indoor_c) * g_ie + t_ambient_c * g_ea) / (g_ie + g_ea)

    def solar_gain_input(self, pv_per_kwp: np.ndarray) -> np.ndarray:
        """Global irradiance proxy [W/m²] from the normalised PV profile (the simulator's input)."""
        return np.asarray(pv_per_kwp, dtype=float) * STC_IRRADIANCE_W_PER_M2


def deadline_steps(departure_step: np.ndarray, n_steps: int) -> np.ndarray:
    """Step at whose start each EV's requirement is booked: its departure, or the episode end for EVs
    leaving later (arrays of any shape; :meth:`EVFleet.deadline_step`)."""
    return np.minimum(departure_step, n_steps)


@dataclass(frozen=True, eq=False)
class EVFleet:
    """EVs of one episode with their plug-in sessions (``n`` EVs, possibly 0).

    Attributes:
        load: ``(n,)`` feeder load (household meter) of each EV's home.
        bus: ``(n,)`` feeder bus of each EV's charger.
        sessions: One plug-in session per EV (:class:`~thermogrid_env.physics.ev.EVSessions`).
    """

    load: np.ndarray
    bus: np.ndarray
    sessions: ev.EVSessions

    def __post_init__(self) -> None:
        n = self.sessions.n_evs
        object.__setattr__(self, "load", _index_array("EVFleet.load", self.load, n))
        object.__setattr__(self, "bus", _index_array("EVFleet.bus", self.bus, n))

    @classmethod
    def empty(cls) -> EVFleet:
        """A fleet without EVs."""
        none = np.zeros(0)
        sessions = ev.EVSessions(arrival_step=np.zeros(0, np.int64), departure_step=np.zeros(0, np.int64),
                                 capacity_kwh=none, soc_arrival=none, soc_target=none, p_max_kw=none)
        return cls(load=np.zeros(0, np.int64), bus=np.zeros(0, np.int64), sessions=sessions)

    @property
    def n(self) -> int:
        """Number of EVs."""
        return int(self.load.shape[0])

    @property
    def v2g(self) -> bool:
        """Whether any EV may discharge into the grid."""
        return bool(np.any(self.sessions.v2g))

    def available(self, step: int) -> np.ndarray:
        """``(n,)`` EVs plugged in during episode step ``step``."""
        return ev.available(self.sessions, step)

    def available_window(self, start_step: int, n_periods: int) -> np.ndarray:
        """``(n_periods, n)`` EVs plugged in during steps ``start_step ..``."""
        s = self.sessions
        steps = start_step + np.arange(n_periods)[:, None]
        return (s.arrival_step[None, :] <= steps) & (steps < s.departure_step[None, :])

    def deadline_step(self, n_steps: int) -> np.ndarray:
        """``(n,)`` step at whose start each EV's requirement is booked: its departure, or the episode
        end for EVs leaving later (their requirement fits inside the episode)."""
        return deadline_steps(self.sessions.departure_step, n_steps)

    @property
    def target_kwh(self) -> np.ndarray:
        """``(n,)`` battery energy required at the deadline [kWh]."""
        return self.sessions.soc_target * self.sessions.capacity_kwh


@dataclass(frozen=True, eq=False)
class PVSystems:
    """Rooftop PV systems with their inverters (``n`` systems, possibly 0).

    Attributes:
        load: ``(n,)`` feeder load (household meter) of each system.
        bus: ``(n,)`` feeder bus.
        params: Peak power and inverter rating.
    """

    load: np.ndarray
    bus: np.ndarray
    params: pv.PVParams

    def __post_init__(self) -> None:
        n = self.params.n_devices
        object.__setattr__(self, "load", _index_array("PVSystems.load", self.load, n))
        object.__setattr__(self, "bus", _index_array("PVSystems.bus", self.bus, n))

    @classmethod
    def empty(cls) -> PVSystems:
        """No PV."""
        return cls(load=np.zeros(0, np.int64), bus=np.zeros(0, np.int64), params=pv.PVParams(p_peak_kwp=np.zeros(0)))

    @property
    def n(self) -> int:
        """Number of PV systems."""
        return int(self.load.shape[0])

    @property
    def s_inverter_kva(self) -> np.ndarray:
        """``(n,)`` inverter ratings [kVA]."""
        return self.params.s_inverter_kva

    def available_kw(self, pv_per_kwp: np.ndarray) -> np.ndarray:
        """``(T, n)`` available active power over a ``(T,)`` normalised profile [kW]: ``profile × kWp``
        limited to the inverter rating (:func:`~thermogrid_env.physics.pv.available_power_kw`)."""
        return pv_available_series([self], np.asarray(pv_per_kwp, dtype=float).reshape(1, -1))[0]


def pv_available_series(systems: Sequence[PVSystems], pv_per_kwp: np.ndarray) -> np.ndarray:
    """``(R, T, n)`` available active power of ``R`` sets of ``n`` PV systems, each over its own
    ``(T,)`` normalised profile (``pv_per_kwp`` ``(R, T)``) [kW]: ``profile × kWp`` limited to the
    inverter rating (:func:`~thermogrid_env.physics.pv.available_power_kw`; elementwise, so the
    same numbers for one set or many)."""
    kwp = np.stack([p.params.p_peak_kwp for p in systems])
    s_kva = np.stack([p.params.s_inverter_kva for p in systems])
    return np.minimum(pv_per_kwp[:, :, None] * kwp[:, None, :], s_kva[:, None, :])


@dataclass(frozen=True, eq=False)
class Transformer:
    """The substation transformer: its IEC 60076-7 thermal model and its branch in the feeder.

    Attributes:
        params: Thermal characteristics.
        branch: Index of its branch in the feeder.
        rated_kva: Rating [kVA].
    """

    params: transformer.TransformerThermalParams
    branch: int
    rated_kva: float

    def initial_state(self, t_ambient_c: float, load_factor: float) -> transformer.TransformerThermalState:
        """Thermal steady state at an ambient temperature [°C] and load factor [-]."""
        return transformer.initial_state(self.params, t_ambient_c, load_factor)


__all__ = ["HP_POWER_FACTOR", "STC_IRRADIANCE_W_PER_M2", "EVFleet", "deadline_steps", "HeatPumpHouses", "PVSystems", "Transformer"]
