"""The Gymnasium environment: :class:`ThermoGridEnv`, its action/observation specs and wrappers."""

from thermogrid_env.envs.actions import ActionSpec
from thermogrid_env.envs.observations import Entry, ObservationSpec
from thermogrid_env.envs.registration import env_ids, register_envs
from thermogrid_env.envs.thermogrid_env import ThermoGridEnv
from thermogrid_env.envs.wrappers import MultiAgentView

__all__ = ["ActionSpec", "Entry", "MultiAgentView", "ObservationSpec", "ThermoGridEnv", "env_ids", "register_envs"]
