"""ThermoGrid: co-simulation of a low-voltage feeder with heat pumps, EVs and PV.

The public API is re-exported here; ``import thermogrid_env`` needs only numpy, pandas, scipy and
gymnasium (cvxpy, pandapower, numba and torch are optional extras, imported where they are used).
"""

from thermogrid_env.errors import (
    ConfigError,
    DataError,
    MissingExtraError,
    OptimizationFailed,
    PowerFlowDiverged,
    ThermoGridError,
)
from thermogrid_env.network import Feeder, from_pandapower, load_feeder
from thermogrid_env.physics.powerflow import PowerFlowResult, PowerFlowSolver, solve

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "Feeder",
    "MissingExtraError",
    "OptimizationFailed",
    "PowerFlowDiverged",
    "PowerFlowResult",
    "PowerFlowSolver",
    "ThermoGridError",
    "from_pandapower",
    "load_feeder",
    "evaluate",
    "parallel_env",
    "solve",
]

from thermogrid_env.evaluation import evaluate  # noqa: E402 - the KPI harness


def parallel_env(scenario: object = "winter-high-der", **env_kwargs: object):  # noqa: ANN201 - lazy import
    """A PettingZoo ``ParallelEnv`` with one agent per household (extra ``[marl]``).

    See :mod:`thermogrid_env.envs.parallel_env`.

    Raises:
        MissingExtraError: pettingzoo is not installed.
    """
    from thermogrid_env.envs.parallel_env import parallel_env as make  # noqa: PLC0415

    return make(scenario, **env_kwargs)


from thermogrid_env.envs.registration import register_envs  # noqa: E402 - registration runs last

register_envs()
