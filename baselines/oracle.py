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


class OracleController(EnvController):
    """Perfect-foresight OPF controller.

    Args:
        formulation: OPF formulation key (``"distflow-socp"``, ``"bim-socp"``, ``"lindistflow"``,
            ``"ac-nlp"``).
        exactness: What to do about an inexact relaxation (see ``thermogrid_env.opf``).
        weights: Objective weights (``thermogrid_env.opf.ObjectiveWeights``); default weights.
        **solve_kwargs: Further arguments of :func:`thermogrid_env.opf.solve_opf`.

    Attributes:
        solution: The OPF solution of the current episode (``None`` before the first reset).
    """

    def __init__(self, formulation: str = "distflow-socp", exactness: str = "auto", weights: Any = None,
                 **solve_kwargs: Any) -> None:
        super().__init__()
        from thermogrid_env.errors import import_optional  # noqa: PLC0415

        import_optional("cvxpy", "opf")
        self.formulation = formulation
        self.exactness = exactness
        self.weights = weights
        self.solve_kwargs = solve_kwargs
        self.solution: Any = None

    def on_reset(self, env: Any) -> None:
        """Solve the episode's OPF from the environment's initial state."""
        from thermogrid_env.opf import solve_opf  # noqa: PLC0415
        from thermogrid_env.opf.episode import opf_data_from_episode  # noqa: PLC0415

        data = opf_data_from_episode(env.episode, simulator=env.simulator, state=env.sim_state,
                                     weights=self.weights)
        self.solution = solve_opf(data, self.formulation, exactness=self.exactness, **self.solve_kwargs)

    def setpoints(self, env: Any) -> Setpoints:
        """The optimal set-points of the current step."""
        if self.solution is None:
            raise ConfigError("OracleController: call reset(env) after env.reset() first.")
        return plan_setpoints(self.solution, env.step_index)


def plan_setpoints(solution: Any, period: int) -> Setpoints:
    """The simulator's set-points of one period of an OPF plan.

    PV curtailment becomes the curtailed share of the available power (the simulator's input).

    Args:
        solution: An :class:`~thermogrid_env.opf.solution.OPFSolution`.
        period: Period of the plan.
    """
    sol = solution
    avail = sol.pv_p_kw[period] + sol.pv_curtailment_kw[period]
    with np.errstate(invalid="ignore", divide="ignore"):
        curtail = np.where(avail > 1e-9, sol.pv_curtailment_kw[period] / avail, 0.0)
    return Setpoints(hp_p_kw=sol.hp_p_kw[period], ev_p_kw=sol.ev_p_kw[period], pv_curtailment=curtail,
                     pv_q_kvar=sol.pv_q_kvar[period])
