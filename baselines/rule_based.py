"""A documented rule-based controller: price- and peak-aware, causal, no optimisation solver.

It uses only what a home energy manager would know: the published time-of-use tariff
(``scenario.tariff``), each EV's plug-in session (arrival, departure, target), its own device
parameters, the outdoor temperature of the step, and the *measurements of the previous step*
(``env.unwrapped.last_result``: local voltages, PV output, bus loads). No load forecast.

Rules (parameters in :class:`RuleBasedConfig`):

1. **EV smart charging (cheapest steps first, flat within a price tier).** For each plugged-in EV
   the energy still needed to its target plus a margin (``ev_energy_margin``) is planned over the
   steps left until departure (or the episode end, its deadline if it leaves later), finishing
   ``ev_finish_early_steps`` early. Price tiers are filled from the cheapest: tiers that cannot
   hold the whole need are used at full power; the *marginal* tier gets the rest spread evenly
   over its steps (low, flat power instead of a full-power spike at plug-in). Re-planned every
   step. **Safety:** if the true need (no margin) no longer fits into the remaining steps at full
   power after this one, the EV charges at least the shortfall now, so energy is never left unmet
   when it could have been delivered.
2. **Heat pumps: modulating proportional control with weather feed-forward.** Electrical power
   ``= UA (T_target - T_amb) / COP + K (T_target - T_in)`` clipped to ``[0, P_rated]``, with
   ``K = hp_response_per_step * C_i / (COP dt)`` (corrects that share of the error per step), in
   place of on/off switching.
3. **Pre-heating before the evening peak price window.** ``T_target`` is the thermostat set-point,
   ramped up by ``preheat_rise_k`` over the ``preheat_h`` hours before the peak window, lowered to
   ``t_min_c + coast_above_min_k`` inside it (the stored heat carries the house), and ramped back
   over ``recover_h`` hours after it (no synchronised rebound). Targets stay
   ``comfort_margin_k`` inside the comfort band.
4. **PV self-consumption.** The local surplus of the previous step (available PV at the bus minus
   its uncontrollable load) is absorbed by plugged-in EVs at that bus (extra charging up to a
   full battery) and by heat pumps at that bus (target raised by ``pv_boost_k``).
5. **Volt-var (Q(V) droop, IEEE 1547-2018 shape).** Each PV inverter injects reactive power
   ``q_max_share * S_inv`` at or below ``qv_v_pu[0]``, nothing inside ``[qv_v_pu[1], qv_v_pu[2]]``
   and absorbs ``q_max_share * S_inv`` at or above ``qv_v_pu[3]``, linear in between, from its
   bus voltage of the previous step.
6. **Volt-watt.** PV is curtailed linearly from ``v_max_pu - pv_curtail_band_pu`` (none) to
   ``v_max_pu`` (all) at the PV's bus, from the previous step's voltage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from baselines.protocol import EnvController
from thermogrid_env.config import ComfortBand, Tariff
from thermogrid_env.errors import ConfigError
from thermogrid_env.physics import heat_pump
from thermogrid_env.sim.simulator import Setpoints
from thermogrid_env.sim.view import ControllerView

__all__ = [
    "RuleBasedConfig", "RuleBasedController", "hp_target_c", "plan_ev_power_kw", "volt_var_q_kvar",
    "volt_watt_curtailment",
]


@dataclass(frozen=True, kw_only=True)
class RuleBasedConfig:
    """Parameters of the rules (see the module docstring).

    Attributes:
        ev_energy_margin: Extra share of the needed energy that is planned [-].
        ev_finish_early_steps: Plan to be done this many steps before the deadline [steps].
        hp_response_per_step: Share of the indoor-temperature error corrected per step [-].
        preheat_h: Pre-heating ramp before the peak price window [h].
        preheat_rise_k: Target rise above the set-point at the start of the peak window [K].
        coast_above_min_k: Target inside the peak window, above ``t_min_c`` [K].
        recover_h: Ramp back to the set-point after the peak window [h].
        pv_boost_k: Target rise under local PV surplus [K].
        pv_surplus_min_kw: Local surplus that counts as surplus for the heat pumps [kW].
        comfort_margin_k: Targets stay this far inside the comfort band [K].
        qv_v_pu: Q(V) droop break points ``(v_inject, v_dead_low, v_dead_high, v_absorb)`` [pu].
        q_max_share: Reactive power at the droop ends per inverter rating [kvar/kVA].
        pv_curtail_band_pu: Width of the volt-watt ramp below ``v_max_pu`` [pu].
    """

    ev_energy_margin: float = 0.05
    ev_finish_early_steps: int = 2
    hp_response_per_step: float = 0.5
    preheat_h: float = 3.0
    preheat_rise_k: float = 1.5
    coast_above_min_k: float = 0.5
    recover_h: float = 2.0
    pv_boost_k: float = 1.0
    pv_surplus_min_kw: float = 0.5
    comfort_margin_k: float = 0.3
    qv_v_pu: tuple[float, float, float, float] = (0.94, 0.98, 1.02, 1.06)
    q_max_share: float = 0.44
    pv_curtail_band_pu: float = 0.015

    def __post_init__(self) -> None:
        if list(self.qv_v_pu) != sorted(self.qv_v_pu) or len(self.qv_v_pu) != 4:
            raise ConfigError(f"RuleBasedConfig.qv_v_pu must be 4 increasing voltages, got {self.qv_v_pu}.")
        if not 0.0 < self.hp_response_per_step <= 1.0:
            raise ConfigError("RuleBasedConfig.hp_response_per_step must be in (0, 1].")
        if self.ev_finish_early_steps < 0 or self.ev_energy_margin < 0 or self.pv_curtail_band_pu <= 0:
            raise ConfigError("RuleBasedConfig: EV margins must be >= 0 and pv_curtail_band_pu > 0.")


def _in_window(hour: float, window: tuple[int, int]) -> bool:
    start, end = window
    return start <= hour < end if start <= end else (hour >= start or hour < end)


def hp_target_c(hour: float, comfort: ComfortBand, tariff: Tariff, cfg: RuleBasedConfig) -> float:
    """Indoor target temperature at a local hour of day (rule 3) [°C]."""
    lo, hi = comfort.t_min_c + cfg.comfort_margin_k, comfort.t_max_c - cfg.comfort_margin_k
    base = min(max(comfort.t_setpoint_c, lo), hi)
    pre = min(base + cfg.preheat_rise_k, hi)
    coast = min(max(comfort.t_min_c + cfg.coast_above_min_k, lo), base)
    start, end = tariff.peak_hours
    if start == end:
        return base
    hour = hour % 24.0
    if _in_window(hour, tariff.peak_hours):
        return coast
    to_peak_h = (start - hour) % 24.0
    if cfg.preheat_h > 0 and to_peak_h <= cfg.preheat_h:
        return pre - (pre - base) * to_peak_h / cfg.preheat_h
    since_end_h = (hour - end) % 24.0
    if cfg.recover_h > 0 and since_end_h < cfg.recover_h:
        return coast + (base - coast) * since_end_h / cfg.recover_h
    return base


def plan_ev_power_kw(prices_eur_per_kwh: np.ndarray, energy_grid_kwh: float, p_max_kw: float, dt_h: float) -> float:
    """Power of the first step of a cheapest-tiers-first, flat-within-tier plan (rule 1) [kW].

    Args:
        prices_eur_per_kwh: ``(n,)`` prices of the steps left in the plan (first = this step).
        energy_grid_kwh: Grid-side energy to deliver over them [kWh].
        p_max_kw: Charger limit [kW].
        dt_h: Step length [h].

    Returns:
        Charging power of the first step [kW], in ``[0, p_max_kw]``.
    """
    if energy_grid_kwh <= 0.0 or prices_eur_per_kwh.size == 0:
        return 0.0
    prices = np.round(prices_eur_per_kwh, 9)
    step_kwh = p_max_kw * dt_h
    planned_kwh = 0.0
    for tier in np.unique(prices):
        n_tier = int(np.count_nonzero(prices == tier))
        if planned_kwh + n_tier * step_kwh >= energy_grid_kwh or tier == prices.max():
            if prices[0] < tier:
                return p_max_kw
            if prices[0] == tier:
                return float(min(p_max_kw, (energy_grid_kwh - planned_kwh) / (n_tier * dt_h)))
            return 0.0
        planned_kwh += n_tier * step_kwh
    return 0.0  # pragma: no cover - the last tier always returns


def volt_var_q_kvar(v_pu: np.ndarray, s_inverter_kva: np.ndarray, cfg: RuleBasedConfig) -> np.ndarray:
    """Q(V) droop of rule 5: reactive power [kvar], positive = injection, at bus voltages [pu]."""
    share = np.interp(v_pu, cfg.qv_v_pu, (1.0, 0.0, 0.0, -1.0))
    return share * cfg.q_max_share * np.asarray(s_inverter_kva)


def volt_watt_curtailment(v_pu: np.ndarray, v_max_pu: float, cfg: RuleBasedConfig) -> np.ndarray:
    """Volt-watt curtailment of rule 6: share of the available PV shed at bus voltages [pu]."""
    start = v_max_pu - cfg.pv_curtail_band_pu
    return np.clip((np.asarray(v_pu) - start) / cfg.pv_curtail_band_pu, 0.0, 1.0)


class RuleBasedController(EnvController):
    """The heuristic of the module docstring (EV smart charging, HP pre-heating, volt-var).

    Args:
        config: Rule parameters (defaults documented in :class:`RuleBasedConfig`).
    """

    def __init__(self, config: RuleBasedConfig | None = None) -> None:
        super().__init__()
        self.config = config or RuleBasedConfig()

    def on_reset(self, view: ControllerView) -> None:
        """Cache the step length, the horizon and the tariff's prices of the episode."""
        self._dt_h = view.dt_h
        self._n_steps = view.n_steps
        self._prices = np.asarray(view.price_eur_per_kwh, dtype=float)
        self._n_bus = view.community.feeder.n_bus
        self._surplus_kw = np.zeros(self._n_bus)

    def setpoints(self, view: ControllerView) -> Setpoints:
        """Apply rules 1-6 for the next step."""
        self._surplus_kw = self._local_surplus_kw(view)
        v_pu = view.last.v_pu if view.last is not None and view.last.converged else np.ones(self._n_bus)
        curtail, q_kvar = self._pv_setpoints(view, v_pu)
        return Setpoints(
            hp_p_kw=self._hp_setpoints(view),
            ev_p_kw=self._ev_setpoints(view),
            pv_curtailment=curtail,
            pv_q_kvar=q_kvar,
        )

    # ------------------------------------------------------------------ rules
    def _local_surplus_kw(self, view: ControllerView) -> np.ndarray:
        """``(n_bus,)`` PV available minus uncontrollable load at each bus, previous step [kW]."""
        last, c = view.last, view.community
        if last is None or c.n_pv == 0:
            return np.zeros(self._n_bus)
        n = self._n_bus
        controllable = np.bincount(c.houses.bus, last.hp_p_kw, n) + np.bincount(c.ev_bus, last.ev_p_kw, n)
        pv_produced = np.bincount(c.pvs.bus, last.pv_p_kw, n)
        pv_available = np.bincount(c.pvs.bus, last.pv_available_kw, n)
        uncontrollable = last.bus_p_kw - controllable + pv_produced
        return np.maximum(pv_available - uncontrollable, 0.0)

    def _hp_setpoints(self, view: ControllerView) -> np.ndarray:
        houses, cfg = view.community.houses, self.config
        if houses.n == 0:
            return np.zeros(0)
        t_amb = view.t_ambient_c
        comfort = view.scenario.comfort
        hour_end = float(view.hour_local[min(view.step, view.n_steps - 1)]) + self._dt_h  # target at the step's end
        target = np.full(houses.n, hp_target_c(hour_end, comfort, view.scenario.tariff, cfg))
        boosted = self._surplus_kw[houses.bus] > cfg.pv_surplus_min_kw
        target = np.where(boosted, np.minimum(target + cfg.pv_boost_k, comfort.t_max_c - cfg.comfort_margin_k), target)
        cop = heat_pump.device_cop(houses.heat_pump, t_amb)
        b = houses.building
        feed_forward_kw = b.heat_loss_coefficient_kw_per_k * (target - t_amb) / cop
        gain_kw_per_k = cfg.hp_response_per_step * b.c_i_kwh_per_k / (cop * self._dt_h)
        p_kw = feed_forward_kw + gain_kw_per_k * (target - np.asarray(view.t_indoor_c))
        return np.clip(p_kw, 0.0, houses.p_max_kw)

    def _ev_setpoints(self, view: ControllerView) -> np.ndarray:
        evs, cfg = view.evs, self.config
        p_kw = np.zeros(evs.n)
        if evs.n == 0:
            return p_kw
        k, dt_h = view.step, self._dt_h
        c = view.community
        # Local PV surplus shared by the plugged-in EVs of each bus (rule 4).
        n_plugged_at_bus = np.bincount(c.ev_bus, evs.plugged.astype(float), self._n_bus)
        for i in np.flatnonzero(evs.plugged):
            soc, cap, eff, p_max = evs.soc[i], evs.capacity_kwh[i], evs.efficiency[i], evs.p_max_kw[i]
            deadline = int(evs.deadline_step[i])
            headroom_kwh = (1.0 - soc) * cap
            need_kwh = max(evs.target_kwh[i] - soc * cap, 0.0)
            plan_kwh = min(need_kwh * (1.0 + cfg.ev_energy_margin), headroom_kwh)
            end = max(deadline - cfg.ev_finish_early_steps, k + 1)
            p = plan_ev_power_kw(self._prices[k:end], plan_kwh / eff, p_max, dt_h)
            # Safety: deliver now what the remaining steps could no longer deliver.
            after_kwh = p_max * dt_h * max(deadline - k - 1, 0)
            p = max(p, (need_kwh / eff - after_kwh) / dt_h)
            surplus = self._surplus_kw[c.ev_bus[i]] / max(n_plugged_at_bus[c.ev_bus[i]], 1.0)
            if headroom_kwh > 0.0:
                p += surplus
            p_kw[i] = min(p, p_max, headroom_kwh / (eff * dt_h))
        return p_kw

    def _pv_setpoints(self, view: ControllerView, v_pu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pvs, cfg = view.community.pvs, self.config
        if pvs.n == 0:
            return np.zeros(0), np.zeros(0)
        v = v_pu[pvs.bus]
        return (volt_watt_curtailment(v, view.scenario.v_max_pu, cfg),
                volt_var_q_kvar(v, pvs.s_inverter_kva, cfg))
