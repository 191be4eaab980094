"""The Gymnasium environments: :class:`ThermoGridEnv`, the batched :class:`ThermoGridVectorEnv` (over
worker processes: :class:`ThermoGridWorkerVectorEnv`, :func:`make_vector_env`), and their
action/observation specs. The PettingZoo multi-agent environment is
:mod:`thermogrid_env.envs.parallel_env` (extra ``[marl]``, imported on use)."""

from thermogrid_env.envs.actions import ActionSpec
from thermogrid_env.envs.observations import Entry, ObservationSpec
from thermogrid_env.envs.registration import env_ids, register_envs
from thermogrid_env.envs.thermogrid_env import ThermoGridEnv
from thermogrid_env.envs.vector_env import ThermoGridVectorEnv
from thermogrid_env.envs.vector_workers import ThermoGridWorkerVectorEnv, make_vector_env

__all__ = ["ActionSpec", "Entry", "ObservationSpec", "ThermoGridEnv", "ThermoGridVectorEnv", "ThermoGridWorkerVectorEnv",
           "env_ids", "make_vector_env", "register_envs"]
