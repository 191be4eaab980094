"""An environment whose infos have one structure at every step (for column-wise recorders such as Minari).

:func:`make_uniform_info` makes a registered id (``gymnasium.make``, so the spec that
``recover_environment`` needs is kept) and keeps only ``info["kpi"]`` and ``info["reward_terms_raw"]``
as flat float dicts, zeros at reset.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from thermogrid_env.sim import costs
from thermogrid_env.sim.kpi import KPI_UNITS

#: The info entries kept (each a dict of floats by name).
INFO_KEYS = ("kpi", "reward_terms_raw")


class UniformInfo(gym.Wrapper):
    """Keeps only ``info["kpi"]`` and ``info["reward_terms_raw"]`` (zeros at reset)."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, dict[str, float]]]:
        obs, _ = self.env.reset(**kwargs)
        return obs, {"kpi": dict.fromkeys(KPI_UNITS, 0.0), "reward_terms_raw": dict.fromkeys(costs.TERM_NAMES, 0.0)}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, dict[str, float]]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        keep = {key: {k: float(v) for k, v in info[key].items()} for key in INFO_KEYS}
        return obs, reward, terminated, truncated, keep


def make_uniform_info(env_id: str) -> UniformInfo:
    """``gymnasium.make(env_id)`` wrapped in :class:`UniformInfo`."""
    return UniformInfo(gym.make(env_id))
