"""The oracle's view of a simulator episode: :class:`OPFData` built from the same objects.

One model for simulator and optimizer: the houses use the simulator's ZOH matrices
(:class:`~thermogrid_env.physics.building.BuildingModel`), the heat pumps its COP regression, the
EVs its sessions, the PV its capability and profile, the internal gains and irradiance the same
series (:class:`~thermogrid_env.sim.exogenous.Exogenous`), and the initial state is the
simulator's. Perfect foresight: the whole episode's exogenous data is known.
"""

from __future__ import annotations

import numpy as np

from thermogrid_env.config import RewardWeights
from thermogrid_env.opf.data import ObjectiveWeights, OPFData, from_devices
from thermogrid_env.sim.episode import Episode
from thermogrid_env.sim.simulator import HP_POWER_FACTOR, SimState, Simulator


def weights_from_reward(reward: RewardWeights) -> ObjectiveWeights:
    """Objective weights equal to the environment's reward weights.

    The reward's cost [EUR], losses [kWh], discomfort [K·h], EV shortfall [kWh], curtailment [kWh]
    and aging [h] terms map one to one; its voltage and overload terms are hard constraints of the
    OPF (voltage band, ampacity, transformer rating) instead of penalties.
    """
    return ObjectiveWeights(
        energy=reward.cost,
        losses_eur_per_kwh=reward.losses,
        comfort_eur_per_kh=reward.discomfort,
        ev_shortfall_eur_per_kwh=reward.ev_unmet,
        curtailment_eur_per_kwh=reward.curtailment,
        aging_eur_per_h=reward.aging,
    )


def opf_data_from_episode(
    episode: Episode,
    *,
    simulator: Simulator | None = None,
    state: SimState | None = None,
    weights: ObjectiveWeights | None = None,
    aging_form: str = "dynamic",
) -> OPFData:
    """Build the oracle's :class:`OPFData` for a whole episode.

    Args:
        episode: The episode (community, exogenous data, EV sessions).
        simulator: Its simulator (default: a new one); supplies the discretised houses.
        state: Initial state (default: ``simulator.initial_state()``).
        weights: Objective weights (default: :func:`weights_from_reward`, the environment's own
            reward weights, so the oracle maximises the reward it is scored with).
        aging_form: Transformer aging term, ``"dynamic"`` or ``"steady-state"``.

    Returns:
        The OPF data over ``scenario.n_steps`` periods.
    """
    sim = simulator if simulator is not None else episode.simulator()
    state = state if state is not None else sim.initial_state()
    sc, c, exo = episode.scenario, episode.community, episode.exogenous
    hp_kwargs = {}
    if c.n_hp:
        hp_kwargs = dict(
            house_bus=c.hp_bus,
            building=sim.building_model,
            heat_pump=c.heat_pumps,
            x0_c=np.column_stack([state.t_indoor_c, state.t_envelope_c]),
            q_int_kw=exo.household_p_kw[:, c.hp_load],
            g_sol_w_per_m2=exo.irradiance_w_per_m2,
            comfort_c=(sc.comfort.t_min_c, sc.comfort.t_max_c),
            hp_q_per_p=float(np.tan(np.arccos(HP_POWER_FACTOR))),
        )
    ev_kwargs = dict(ev_bus=c.ev_bus, ev_sessions=episode.ev_sessions, start_step=0) if c.n_ev else {}
    pv_kwargs = (
        dict(pv_bus=c.pv_bus, pv=c.pv_systems, pv_profile_kw_per_kwp=exo.pv_per_kwp, pv_q_control=True)
        if c.n_pv else {}
    )
    return from_devices(
        c.feeder,
        dt_s=float(sc.dt_s),
        base_p_kw=exo.base_p_kw,
        base_q_kvar=exo.base_q_kvar,
        t_ambient_c=exo.t_ambient_c,
        price_import_eur_per_kwh=exo.price_eur_per_kwh,
        price_export_eur_per_kwh=exo.feed_in_eur_per_kwh,
        transformer=c.transformer_params,
        aging_form=aging_form,
        weights=weights if weights is not None else weights_from_reward(sc.reward_weights),
        **hp_kwargs,
        **ev_kwargs,
        **pv_kwargs,
    )
