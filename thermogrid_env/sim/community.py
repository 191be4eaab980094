"""The community on a feeder: which households own which assets, with their parameters.

A :class:`Community` is drawn from a :class:`~thermogrid_env.config.Scenario` with a numpy
generator: the numbers of heat pumps, EVs and PV systems are fixed by the scenario's shares
(``round(share * n_households)``), so the environment's spaces do not change between episodes;
*which* households get them, house types, heat-pump sizes, PV sizes and EV fleet parameters are
random. Devices are listed in the order of their household (feeder load index).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from thermogrid_env.config import Scenario
from thermogrid_env.network.feeder import Feeder
from thermogrid_env.network.library import load_feeder
from thermogrid_env.physics import building, heat_pump, pv, transformer
from thermogrid_env.physics.trusted import from_trusted
from thermogrid_env.sim.devices import HeatPumpHouses, PVSystems, Transformer

#: Design ambient temperature for heat-pump sizing [°C] (DIN EN 12831, much of Germany).
T_DESIGN_C = -12.0
#: Floor heating for the advanced-refurbishment level, radiators otherwise.
_FLOOR_HEATING_LEVELS = (3,)


@dataclass(frozen=True, kw_only=True, eq=False)
class Community:
    """Assets of the households on a feeder (fixed for an episode, or for many).

    Attributes:
        feeder: The feeder.
        household_load: ``(n_household,)`` feeder load index of each household.
        houses: The heat-pump houses (:class:`~thermogrid_env.sim.devices.HeatPumpHouses`; empty if none).
        ev_load: ``(n_ev,)`` load index of each EV owner's household (the EVs' sessions and
            batteries are drawn per episode, :class:`~thermogrid_env.sim.episode.Episode`).
        pvs: The PV systems (:class:`~thermogrid_env.sim.devices.PVSystems`; empty if none).
        transformer: The substation transformer.
    """

    feeder: Feeder
    household_load: np.ndarray
    houses: HeatPumpHouses
    ev_load: np.ndarray
    pvs: PVSystems
    transformer: Transformer

    @property
    def n_hp(self) -> int:
        """Number of heat pumps (= simulated houses)."""
        return self.houses.n

    @property
    def n_ev(self) -> int:
        """Number of EVs."""
        return int(self.ev_load.shape[0])

    @property
    def n_pv(self) -> int:
        """Number of PV systems."""
        return self.pvs.n

    @property
    def ev_bus(self) -> np.ndarray:
        """``(n_ev,)`` bus of each EV owner's household."""
        return self.feeder.load_bus[self.ev_load]


def device_counts(scenario: Scenario, feeder: Feeder | None = None) -> tuple[int, int, int]:
    """``(n_hp, n_ev, n_pv)`` of a scenario: ``round(share * n_households)`` each."""
    feeder = feeder or load_feeder(scenario.feeder)
    n_house = int(feeder.load_is_household.sum())
    return (
        int(round(scenario.hp_share * n_house)),
        int(round(scenario.ev_share * n_house)),
        int(round(scenario.pv_share * n_house)),
    )


def _pick(rng: np.random.Generator, households: np.ndarray, n: int) -> np.ndarray:
    """``n`` distinct households, sorted (int64)."""
    return np.sort(rng.choice(households, size=n, replace=False)) if n else np.zeros(0, dtype=np.int64)


def sample_community(scenario: Scenario, rng: np.random.Generator) -> Community:
    """Draw a community for a scenario (all randomness from ``rng``).

    Args:
        scenario: Feeder and device shares.
        rng: The generator (e.g. ``env.np_random``).

    Returns:
        The community.
    """
    feeder = load_feeder(scenario.feeder)
    households = np.flatnonzero(feeder.load_is_household)
    n_hp, n_ev, n_pv = device_counts(scenario, feeder)

    hp_load = _pick(rng, households, n_hp)
    if n_hp:
        catalogue = _house_catalogue(float(scenario.dt_s))
        idx = building.sample_house_type_index(rng, n_hp)
        model = catalogue.model.take(idx)
        houses = from_trusted(HeatPumpHouses, load=hp_load, bus=feeder.load_bus[hp_load], building=model.params,
                              heat_pump=catalogue.heat_pumps(idx), dt_s=float(scenario.dt_s),
                              house_type=tuple(catalogue.house_type[i] for i in idx), model=model)
    else:
        houses = HeatPumpHouses.empty(float(scenario.dt_s))

    ev_load = _pick(rng, households, n_ev)

    pv_load = _pick(rng, households, n_pv)
    pvs = (from_trusted(PVSystems, load=pv_load, bus=feeder.load_bus[pv_load], params=pv.sample_pv(rng, n_pv))
           if n_pv else PVSystems.empty())

    return Community(
        feeder=feeder,
        household_load=households,
        houses=houses,
        ev_load=ev_load,
        pvs=pvs,
        transformer=_transformer(feeder),
    )


@dataclass(frozen=True, eq=False)
class _HouseCatalogue:
    """What a community needs of every shipped house type, computed once per step length.

    The house type fixes a house's parameters, its ZOH model, its emitter (floor heating for the
    advanced-refurbishment level, radiators otherwise) and its heat pump (sized for its design heat
    load at :data:`T_DESIGN_C`), so a community's houses are rows of these (number for number what
    computing them house by house gives: every step is elementwise).
    """

    house_type: tuple[str, ...]
    model: building.BuildingModel
    p_rated_el_kw: np.ndarray
    emitter: tuple[str, ...]
    emitter_code: np.ndarray

    def heat_pumps(self, idx: np.ndarray) -> heat_pump.HeatPumpParams:
        """The heat pumps of the houses of types ``idx`` (rows of the validated catalogue)."""
        return from_trusted(heat_pump.HeatPumpParams, p_rated_el_kw=self.p_rated_el_kw[idx],
                            emitter=tuple(self.emitter[i] for i in idx), cop_correction=heat_pump.DEFAULT_COP_CORRECTION,
                            regression=heat_pump.DEFAULT_REGRESSION, _emitter_code=self.emitter_code[idx])


@lru_cache(maxsize=8)
def _house_catalogue(dt_s: float) -> _HouseCatalogue:
    types = building.candidate_house_types()
    model = building.discretize_house_types(types, dt_s)
    level = np.array([int(str(t).rsplit("r", 1)[-1]) for t in types])
    floor = np.isin(level, _FLOOR_HEATING_LEVELS)
    design_kw = model.params.design_heat_load_kw(t_design_c=T_DESIGN_C)
    p_rated = np.where(
        floor,
        heat_pump.size_heat_pump(design_kw, t_design_c=T_DESIGN_C, emitter="floor"),
        heat_pump.size_heat_pump(design_kw, t_design_c=T_DESIGN_C, emitter="radiator"),
    )
    emitter = tuple("floor" if f else "radiator" for f in floor)
    check = heat_pump.HeatPumpParams(p_rated_el_kw=p_rated, emitter=emitter)  # validated once
    return _HouseCatalogue(house_type=tuple(str(t) for t in types), model=model, p_rated_el_kw=check.p_rated_el_kw,
                           emitter=emitter, emitter_code=check._emitter_code)


@lru_cache(maxsize=32)
def _transformer(feeder: Feeder) -> Transformer:
    """The feeder's substation transformer (the same object for every community of the feeder)."""
    return Transformer(
        params=transformer.TransformerThermalParams.onan_distribution(rated_kva=feeder.transformer_rating_kva),
        branch=int(feeder.transformer_branch), rated_kva=float(feeder.transformer_rating_kva))
