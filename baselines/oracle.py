"""The perfect-foresight oracle: one multi-period OPF per episode, played through the simulator.

At each reset the oracle reads the episode's exogenous data (perfect foresight), solves the
convexified DistFlow co-optimization (:func:`thermogrid_env.opf.solve_opf`, with its exactness
check and repair), and then plays the optimal set-points step by step through the environment, so
its KPIs come from the exact power flow and the simulator's transformer model, not from the
relaxation. Needs the ``[opf]`` extra (cvxpy with Clarabel).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.protocol import EnvController
from thermogrid_env.errors import ConfigError
from thermogrid_env.sim.simulator import Setpoints
from thermogrid_env.sim.view import ControllerView


class OracleController(EnvController):
    """Perfect-foresight OPF controller (the only controller that reads the whole episode).

    Args:
        formulation: OPF formulation key (``"distflow-socp"``, ``"bim-socp"``, ``"lindistflow"``,
            ``"ac-nlp"``).
        exactness: What to do about an inexact relaxation (see ``thermogrid_env.opf``).
        weights: Objective weights (:class:`~thermogrid_env.config.RewardWeights`); default: the
            scenario's reward weights (then the oracle maximises the return it is scored with).
        network_limits: ``"penalty"`` (default: the reward's voltage and overload terms) or
            ``"hard"`` (voltage band and ampacity as constraints).
        **solve_kwargs: Further arguments of :func:`thermogrid_env.opf.solve_opf`.

    Attributes:
        solution: The OPF solution of the current episode (``None`` before the first reset).
    """

    perfect_foresight = True

    def __init__(self, formulation: str = "distflow-socp", exactness: str = "auto", weights: Any = None,
                 network_limits: str = "penalty", **solve_kwargs: Any) -> None:
        super().__init__()
        from thermogrid_env.errors import import_optional  # noqa: PLC0415

        import_optional("cvxpy", "opf")
        self.formulation = formulation
        self.exactness = exactness
        self.weights = weights
        self.network_limits = network_limits
        self.solve_kwargs = solve_kwargs
        self.solution: Any = None
        self._start = 0

    def on_reset(self, view: ControllerView) -> None:
        """Solve the episode's OPF from the environment's initial state."""
        from thermogrid_env.opf import solve_opf  # noqa: PLC0415
        from thermogrid_env.opf.episode import opf_data_from_episode  # noqa: PLC0415

        if view.episode is None:
            raise ConfigError("OracleController needs the perfect-foresight view (view.episode).")
        data = opf_data_from_episode(view.episode, state=self.env.sim_state, weights=self.weights,
                                     network_limits=self.network_limits)
        self._start = view.step
        self.solution = solve_opf(data, self.formulation, exactness=self.exactness, **self.solve_kwargs)

    def setpoints(self, view: ControllerView) -> Setpoints:
        """The optimal set-points of the current step."""
        if self.solution is None:
            raise ConfigError("OracleController: call reset(env) after env.reset() first.")
        return plan_setpoints(self.solution, view.step - self._start)


def plan_setpoints(solution: Any, period: int, n_ev: int | None = None, ev_index: np.ndarray | None = None) -> Setpoints:
    """The simulator's set-points of one period of an OPF plan
    (:meth:`~thermogrid_env.opf.solution.OPFSolution.sim_setpoints`)."""
    return solution.sim_setpoints(period, n_ev=n_ev, ev_index=ev_index)
