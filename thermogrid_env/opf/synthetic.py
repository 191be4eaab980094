"""Example OPF inputs for tests, benchmarks and docs, until the simulator's community sampler exists.

:func:`example_data` places heat pumps, EVs and PV on a share of the feeder's households, with
the simulator's own device models and samplers (3R2C house types, Staffell COP, home-charging
sessions, PV sizes) and smooth synthetic-but-realistic day profiles: a German household (H0-like)
load shape with a mean of ~0.45 kW per household, a clear-sky PV bell, a diurnal ambient cycle and
a time-of-use price. All randomness comes from the ``rng`` handed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermogrid_env.config import RewardWeights
from thermogrid_env.errors import ConfigError
from thermogrid_env.network.feeder import Feeder
from thermogrid_env.opf.data import EVInputs, HouseInputs, OPFData, PVInputs, TransformerInputs
from thermogrid_env.sim.devices import EVFleet, HeatPumpHouses, PVSystems, Transformer


@dataclass(frozen=True, kw_only=True)
class Season:
    """Weather of one synthetic day.

    Attributes:
        t_mean_c, t_amp_c: Mean and half-range of the ambient temperature [°C] (minimum at 05:00).
        pv_peak_kw_per_kwp: Noon PV output [kW/kWp]; ``g_peak_w_per_m2``: noon irradiance [W/m²].
        sunrise_h, sunset_h: Hours of day.
    """

    t_mean_c: float
    t_amp_c: float
    pv_peak_kw_per_kwp: float
    g_peak_w_per_m2: float
    sunrise_h: float
    sunset_h: float


SEASONS: dict[str, Season] = {
    "winter": Season(t_mean_c=-2.0, t_amp_c=3.0, pv_peak_kw_per_kwp=0.25, g_peak_w_per_m2=250.0,
                     sunrise_h=8.0, sunset_h=16.5),
    "spring": Season(t_mean_c=7.0, t_amp_c=5.0, pv_peak_kw_per_kwp=0.65, g_peak_w_per_m2=650.0,
                     sunrise_h=6.5, sunset_h=19.0),
    "summer": Season(t_mean_c=22.0, t_amp_c=6.0, pv_peak_kw_per_kwp=0.85, g_peak_w_per_m2=850.0,
                     sunrise_h=5.0, sunset_h=21.5),
}


def _household_shape(hours: np.ndarray) -> np.ndarray:
    """H0-like load shape [kW per household]: night base, morning and evening peaks (mean ~0.45)."""
    g = lambda mu, sd: np.exp(-0.5 * ((hours - mu) / sd) ** 2)  # noqa: E731
    return 0.22 + 0.35 * g(7.5, 1.2) + 0.25 * g(12.5, 1.5) + 0.75 * g(19.0, 2.0)


def _commercial_shape(hours: np.ndarray) -> np.ndarray:
    """Business-hours shape [fraction of rated power]."""
    return 0.25 + 0.5 * ((hours > 8) & (hours < 18))


def example_data(
    feeder: Feeder,
    *,
    rng: np.random.Generator | int = 0,
    n_periods: int = 96,
    dt_s: float = 900.0,
    start_hour: float = 0.0,
    season: str = "spring",
    penetration: float = 1.0,
    hp_share: float | None = None,
    ev_share: float | None = None,
    pv_share: float | None = None,
    pv_kwp_range: tuple[float, float] = (5.0, 10.0),
    weights: RewardWeights | None = None,
    aging_form: str = "dynamic",
    transformer: bool = True,
    network_limits: str = "penalty",
) -> OPFData:
    """A realistic one-day OPF input on ``feeder``.

    Args:
        feeder: The feeder (its household loads host the devices).
        rng: Generator or seed.
        n_periods: Horizon length; ``dt_s``: period [s]; ``start_hour``: hour of day of period 0.
        season: ``"winter"``, ``"spring"`` or ``"summer"`` (:data:`SEASONS`).
        penetration: Share of households with heat pump, EV and PV (each may be overridden by
            ``hp_share``, ``ev_share``, ``pv_share``), in [0, 1].
        pv_kwp_range: PV sizes [kWp].
        weights: Objective weights (default :class:`~thermogrid_env.config.RewardWeights`).
        aging_form: Transformer hot-spot model of the aging term.
        transformer: Include the transformer aging term.
        network_limits: ``"penalty"`` (the reward's voltage and overload terms) or ``"hard"``.

    Returns:
        The :class:`OPFData`.
    """
    from thermogrid_env.physics import building, ev, heat_pump, pv  # noqa: PLC0415
    from thermogrid_env.physics.transformer import TransformerThermalParams  # noqa: PLC0415

    if season not in SEASONS:
        raise ConfigError(f"season must be one of {sorted(SEASONS)}, got {season!r}.")
    rng = np.random.default_rng(rng)
    sea = SEASONS[season]
    hours = (start_hour + np.arange(n_periods) * dt_s / 3600.0 + 0.5 * dt_s / 3600.0) % 24.0
    t_amb = sea.t_mean_c + sea.t_amp_c * np.sin(2 * np.pi * (hours - 11.0) / 24.0)
    day = np.clip((hours - sea.sunrise_h) / (sea.sunset_h - sea.sunrise_h), 0.0, 1.0)
    bell = np.sin(np.pi * day) ** 1.5
    pv_profile = sea.pv_peak_kw_per_kwp * bell
    g_sol = sea.g_peak_w_per_m2 * bell

    # Base load: households follow the H0-like shape with +-20 % individual noise, others business hours.
    meter_p = np.zeros((n_periods, feeder.n_load))
    hh = feeder.load_is_household
    shape_h = _household_shape(hours)
    for i in range(feeder.n_load):
        if hh[i]:
            prof = shape_h * rng.uniform(0.7, 1.3) * (1.0 + 0.2 * rng.standard_normal(n_periods)).clip(0.3)
        else:
            prof = _commercial_shape(hours) * 0.3 * feeder.load_p_kw[i]
        meter_p[:, i] = prof
    base_p = meter_p @ feeder.load_injection_matrix()
    base_q = 0.25 * base_p  # cos(phi) ~ 0.97

    hh_load = np.flatnonzero(hh)
    hh_bus = feeder.load_bus[hh]
    n_hh = hh_bus.size
    shares = [penetration if s is None else s for s in (hp_share, ev_share, pv_share)]
    for s in shares:
        if not 0.0 <= s <= 1.0:
            raise ConfigError(f"DER shares must be in [0, 1], got {shares}.")
    pick = [np.sort(rng.permutation(n_hh)[: int(round(s * n_hh))]) for s in shares]
    houses = evs = pvs = None
    if pick[0].size:
        n = pick[0].size
        params, _ = building.sample_house_params(rng, n)
        p_rated = heat_pump.size_heat_pump(params.design_heat_load_kw(), oversize=1.2)
        group = HeatPumpHouses(load=hh_load[pick[0]], bus=hh_bus[pick[0]], building=params,
                               heat_pump=heat_pump.HeatPumpParams(p_rated_el_kw=p_rated), dt_s=dt_s)
        ua_ie = params.r_ea_k_per_kw / (params.r_ie_k_per_kw + params.r_ea_k_per_kw)
        ti0 = rng.uniform(20.5, 22.0, n)
        te0 = t_amb[0] + (ti0 - t_amb[0]) * ua_ie
        houses = HouseInputs(group=group, x0_c=np.column_stack([ti0, te0]), q_int_kw=np.full((n_periods, n), 0.3),
                             g_sol_w_per_m2=np.broadcast_to(g_sol[:, None], (n_periods, n)),
                             t_min_c=np.full((n_periods, n), 20.0), t_max_c=np.full((n_periods, n), 24.0))
    if pick[1].size:
        sessions = ev.sample_sessions(rng, pick[1].size, n_periods, dt_s, start_hour=start_hour)
        fleet = EVFleet(load=hh_load[pick[1]], bus=hh_bus[pick[1]], sessions=sessions)
        evs = EVInputs(fleet=fleet, start_step=0, n_periods=n_periods,
                       e_init_kwh=sessions.soc_arrival * sessions.capacity_kwh, e_target_kwh=fleet.target_kwh,
                       deadline_step=fleet.deadline_step(n_periods))
    if pick[2].size:
        group = PVSystems(load=hh_load[pick[2]], bus=hh_bus[pick[2]],
                          params=pv.sample_pv(rng, pick[2].size, p_range_kwp=pv_kwp_range))
        pvs = PVInputs.from_profile(group, pv_profile)
    price = 0.30 + 0.10 * ((hours >= 17) & (hours < 21)) - 0.08 * ((hours >= 10) & (hours < 15))
    trafo = None
    if transformer:
        tr = Transformer(params=TransformerThermalParams.onan_distribution(feeder.transformer_rating_kva),
                         branch=int(feeder.transformer_branch), rated_kva=float(feeder.transformer_rating_kva))
        trafo = TransformerInputs(group=tr, form=aging_form)
    return OPFData(
        feeder=feeder, dt_s=dt_s, base_p_kw=base_p, base_q_kvar=base_q, t_ambient_c=t_amb,
        price_import_eur_per_kwh=price, price_export_eur_per_kwh=0.08, meter_p_kw=meter_p,
        houses=houses, evs=evs, pvs=pvs, transformer=trafo, weights=weights or RewardWeights(),
        network_limits=network_limits,
    )


__all__ = ["SEASONS", "Season", "example_data"]
