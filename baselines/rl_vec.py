"""stable-baselines3 on the natively batched environment: an SB3 ``VecEnv`` over :class:`ThermoGridVectorEnv`.

SB3 trains on a ``VecEnv``; its usual one, ``DummyVecEnv``, steps one Python environment after the
other. :class:`SB3VectorEnv` hands SB3 the batched environment instead, which steps all episodes in
one vectorised call (:mod:`thermogrid_env.envs.vector_env`), with SB3's conventions: automatic
reset in the same step, the last observation in ``infos[i]["terminal_observation"]`` and
``infos[i]["TimeLimit.truncated"]`` for episodes cut by the time limit, and ``infos[i]["episode"]``
(``r``, ``l``, ``t``) at every episode's end, as SB3's ``Monitor`` writes it (so SB3's logger and
:func:`episode_returns` see the returns).

Example::

    from stable_baselines3 import PPO
    from baselines.rl_vec import SB3VectorEnv

    env = SB3VectorEnv("winter-high-der", num_envs=16, seed=0)
    model = PPO("MlpPolicy", env, seed=0).learn(200_000)

Needs the ``[rl]`` extra (the only other module importing stable-baselines3 is :mod:`baselines.rl`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from thermogrid_env.config import Scenario
from thermogrid_env.errors import import_optional

import_optional("stable_baselines3", "rl")

from gymnasium.vector import AutoresetMode  # noqa: E402
from stable_baselines3.common.vec_env import VecEnv  # noqa: E402

from thermogrid_env.envs.vector_workers import make_vector_env  # noqa: E402

__all__ = ["SB3VectorEnv", "episode_returns"]


class SB3VectorEnv(VecEnv):
    """An SB3 ``VecEnv`` of ``num_envs`` ThermoGrid episodes stepped together (module docstring).

    Args:
        scenario: Preset name or :class:`~thermogrid_env.config.Scenario`.
        num_envs: Number of parallel episodes.
        seed: Seed of sub-environment ``i`` is ``seed + i`` at the first reset (``None``: entropy).
        **env_kwargs: Further arguments of :class:`~thermogrid_env.envs.vector_env.ThermoGridVectorEnv`
            (``forecaster``, ``forecast_horizon_h``, ``observed_buses``, ...), and ``num_workers``
            to split the episodes over processes (:mod:`thermogrid_env.envs.vector_workers`).
    """

    def __init__(self, scenario: str | Scenario = "winter-high-der", num_envs: int = 8, seed: int | None = None,
                 **env_kwargs: Any) -> None:
        self.venv = make_vector_env(num_envs, scenario, autoreset_mode=AutoresetMode.SAME_STEP, **env_kwargs)
        super().__init__(num_envs, self.venv.single_observation_space, self.venv.single_action_space)
        self._seed = seed
        self._actions: np.ndarray | None = None
        self._returns = np.zeros(num_envs)
        self._lengths = np.zeros(num_envs, dtype=np.int64)
        self._t0 = time.time()
        self.episode_returns: list[float] = []

    def reset(self) -> np.ndarray:
        """Reset every episode (seeded ``seed + i`` the first time, continuing the streams after)."""
        obs, _ = self.venv.reset(seed=self._seed)
        self._seed = None  # later resets continue each sub-environment's generator
        self._returns[:] = 0.0
        self._lengths[:] = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, reward, terminated, truncated, info = self.venv.step(self._actions)
        done = terminated | truncated
        self._returns += reward
        self._lengths += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(done):
            infos[i] = {"terminal_observation": info["final_obs"][i], "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                        "episode": {"r": float(self._returns[i]), "l": int(self._lengths[i]),
                                    "t": round(time.time() - self._t0, 6)}}
            self.episode_returns.append(float(self._returns[i]))
            self._returns[i], self._lengths[i] = 0.0, 0
        return obs, reward.astype(np.float32), done, infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.venv, attr_name) for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        if method_name == "get_episode_rewards":
            return [list(self.episode_returns) for _ in self._indices(indices)]
        method = getattr(self.venv, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def seed(self, seed: int | None = None) -> list[int | None]:
        self._seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)


def episode_returns(env: SB3VectorEnv) -> np.ndarray:
    """Undiscounted returns of the finished training episodes, in the order they ended."""
    return np.asarray(env.episode_returns, dtype=float)
