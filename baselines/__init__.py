"""Controllers of the ThermoGrid study, all scored by :func:`thermogrid_env.evaluate`.

* :class:`~baselines.uncontrolled.UncontrolledController` - the reference case (no coordination).
* :class:`~baselines.rule_based.RuleBasedController` - a documented heuristic.
* :class:`~baselines.oracle.OracleController` - the perfect-foresight OPF (extra ``[opf]``).
* :class:`~baselines.mpc.MPCController` - the OPF re-planned over a receding window with
  forecasts (extra ``[opf]``).
* :mod:`baselines.rl` - stable-baselines3 PPO (the only module importing torch, lazily).

Every controller follows :class:`~baselines.protocol.Controller` (SB3's ``predict``), so learned
and hand-written controllers are interchangeable. Controllers are found by name through
:mod:`baselines.registry` (entry-point group ``thermogrid.controllers``).
"""

from baselines.protocol import Controller, EnvController, PredictAdapter, as_controller
from baselines.registry import available_controllers, make_controller
from baselines.rule_based import RuleBasedController
from baselines.uncontrolled import UncontrolledController

__all__ = [
    "Controller",
    "EnvController",
    "PredictAdapter",
    "RuleBasedController",
    "UncontrolledController",
    "as_controller",
    "available_controllers",
    "make_controller",
]
