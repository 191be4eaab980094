"""The study's reference case: every device does what it would do without any coordination.

* **EVs** charge at full charger power from plug-in until the battery is full (the simulator
  stops at 100 % state of charge).
* **Heat pumps** are on/off thermostats at rated electrical power with hysteresis: on below
  ``t_setpoint_c - hysteresis_k / 2``, off above ``t_setpoint_c + hysteresis_k / 2``, unchanged
  in between (``scenario.comfort``). A house starting inside the dead band starts switched off.
* **PV** injects all available power (no curtailment) at unity power factor (``q = 0``).
"""

from __future__ import annotations

import numpy as np

from baselines.protocol import EnvController
from thermogrid_env.sim.simulator import Setpoints
from thermogrid_env.sim.view import ControllerView

__all__ = ["UncontrolledController"]


class UncontrolledController(EnvController):
    """Full-power EV charging, on/off thermostat heat pumps, PV at unity power factor.

    Reads the measured indoor temperatures and the plugged EVs' state of charge from the
    controller view; the observation is not used.
    """

    def __init__(self) -> None:
        super().__init__()
        self._heating = np.zeros(0, dtype=bool)
        self._t_on_c = 0.0
        self._t_off_c = 0.0

    def on_reset(self, view: ControllerView) -> None:
        """Thermostat thresholds from the comfort band; every heat pump starts off unless cold."""
        comfort = view.scenario.comfort
        self._t_on_c = comfort.t_setpoint_c - comfort.hysteresis_k / 2.0
        self._t_off_c = comfort.t_setpoint_c + comfort.hysteresis_k / 2.0
        self._heating = np.asarray(view.t_indoor_c) < self._t_on_c

    def setpoints(self, view: ControllerView) -> Setpoints:
        """Thermostat decision and full-power charging for the next step."""
        c = view.community
        t_in = np.asarray(view.t_indoor_c)
        self._heating = np.where(t_in < self._t_on_c, True, np.where(t_in > self._t_off_c, False, self._heating))
        hp_p_kw = np.where(self._heating, c.houses.p_max_kw, 0.0)
        evs = view.evs
        charging = evs.plugged & (np.nan_to_num(evs.soc, nan=1.0) < 1.0)
        ev_p_kw = np.where(charging, np.nan_to_num(evs.p_max_kw), 0.0)
        return Setpoints(hp_p_kw=hp_p_kw, ev_p_kw=ev_p_kw, pv_curtailment=np.zeros(c.n_pv),
                         pv_q_kvar=np.zeros(c.n_pv))
