"""Learned controllers with stable-baselines3 (PPO): the only module importing torch / SB3.

Both are imported lazily inside the functions, so ``import baselines`` works without them; a
missing one raises :class:`~thermogrid_env.errors.MissingExtraError` naming the ``rl`` extra.

Example::

    from baselines.rl import SB3Controller, train_ppo
    model = train_ppo("winter-high-der", total_timesteps=200_000, seed=0)
    model.save("ppo_winter.zip")
    evaluate({"ppo": SB3Controller(model)}, episodes=5)

The model is evaluated exactly as trained: on the environment's observations, deterministic.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from baselines.protocol import PredictAdapter
from thermogrid_env.config import Scenario, get_scenario
from thermogrid_env.errors import ConfigError, import_optional

__all__ = ["MODEL_ENV_VAR", "SB3Controller", "load", "make_env", "ppo_from_env", "train_ppo", "training_returns"]

#: Environment variable with the path of a saved PPO model, used by the ``ppo`` entry point.
MODEL_ENV_VAR = "THERMOGRID_PPO_MODEL"


def _sb3() -> Any:
    return import_optional("stable_baselines3", "rl")


def make_env(scenario: str | Scenario = "winter-high-der", env_kwargs: Mapping[str, Any] | None = None) -> Any:
    """The training environment: :class:`ThermoGridEnv` with SB3's ``Monitor`` (episode stats)."""
    from stable_baselines3.common.monitor import Monitor  # noqa: PLC0415 - optional extra

    from thermogrid_env.envs.thermogrid_env import ThermoGridEnv  # noqa: PLC0415

    return Monitor(ThermoGridEnv(scenario=get_scenario(scenario), **dict(env_kwargs or {})))


def _policy_for(env: Any) -> str:
    from gymnasium import spaces  # noqa: PLC0415

    return "MultiInputPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpPolicy"


def train_ppo(
    scenario: str | Scenario = "winter-high-der",
    total_timesteps: int = 100_000,
    seed: int = 0,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    normalize_reward: bool = True,
    verbose: int = 0,
    progress: bool | None = None,
    **ppo_kwargs: Any,
) -> Any:
    """Train PPO on a scenario (CPU, SB3 defaults unless overridden).

    Args:
        scenario: Preset name or scenario.
        total_timesteps: Environment steps to train for.
        seed: Seed of SB3 (policy init, sampling) and of the environment's episode stream.
        env_kwargs: Further keyword arguments of the environment.
        normalize_reward: Train on rewards scaled by a running estimate of the discounted return's
            spread (SB3's ``VecNormalize(norm_obs=False)``; default). Only the training signal
            changes: the policy reads the environment's own observations, so the saved model needs
            no normalisation statistics to act. Measured by ``benchmarks/rl_ppo.py`` on
            ``winter-high-der`` (500k steps, seed 0): mean training return of the last tenth
            -1,960 with it and -7,213 without, held-out return -1,574 and -4,220.
        verbose: SB3 verbosity.
        progress: Show the training's progress on stderr (steps, speed, mean return of the last 10
            training episodes; tqdm if installed). ``None`` (default): on a terminal, after 1 s.
        **ppo_kwargs: Passed to ``stable_baselines3.PPO`` (e.g. ``n_steps``, ``batch_size``,
            ``learning_rate``, ``device``).

    Returns:
        The trained ``stable_baselines3.PPO`` model.

    Raises:
        MissingExtraError: stable-baselines3 / torch are not installed (``pip install 'thermogrid-env[rl]'``).
        ConfigError: ``total_timesteps < 1``.
    """
    if total_timesteps < 1:
        raise ConfigError(f"total_timesteps must be >= 1, got {total_timesteps}.")
    sb3 = _sb3()
    monitored = make_env(scenario, env_kwargs)
    monitored.reset(seed=seed)
    kwargs = {"device": "cpu", "verbose": verbose, "seed": seed, **ppo_kwargs}
    env = monitored
    if normalize_reward:
        from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize  # noqa: PLC0415

        env = VecNormalize(DummyVecEnv([lambda: monitored]), norm_obs=False, norm_reward=True,
                           gamma=kwargs.get("gamma", 0.99))
    model = sb3.PPO(_policy_for(monitored), env, **kwargs)
    show = progress if progress is not None else bool(getattr(sys.stderr, "isatty", lambda: False)())
    callback = _progress_callback(total_timesteps, delay_s=1.0 if progress is None else 0.0) if show else None
    model.learn(total_timesteps=total_timesteps, callback=callback)
    return model


def _progress_callback(total_timesteps: int, delay_s: float) -> Any:
    """An SB3 callback showing steps done, steps/s and the recent training return on stderr."""
    from stable_baselines3.common.callbacks import BaseCallback  # noqa: PLC0415 - optional extra

    class _TrainingProgress(BaseCallback):
        def _on_training_start(self) -> None:
            self._t0, self._last = time.perf_counter(), 0.0
            try:
                from tqdm.auto import tqdm  # noqa: PLC0415 - optional

                self._bar = tqdm(total=total_timesteps, desc="ppo", unit="step", file=sys.stderr, leave=False,
                                 delay=delay_s)
            except ImportError:
                self._bar = None

        def _on_step(self) -> bool:
            now = time.perf_counter()
            if now - self._last < 0.5 and self.num_timesteps < total_timesteps:
                return True
            self._last = now
            returns = [ep["r"] for ep in self.model.ep_info_buffer][-10:]
            label = f"mean return (last {len(returns)} episodes) {np.mean(returns):,.1f}" if returns else ""
            if self._bar is not None:
                self._bar.set_postfix_str(label, refresh=False)
                self._bar.update(self.num_timesteps - self._bar.n)
            elif now - self._t0 >= delay_s:
                rate = self.num_timesteps / max(now - self._t0, 1e-9)
                print(f"\rppo: {self.num_timesteps:,}/{total_timesteps:,} steps ({rate:,.0f} steps/s) {label}",
                      end="", file=sys.stderr, flush=True)
            return True

        def _on_training_end(self) -> None:
            if self._bar is not None:
                self._bar.close()
            elif time.perf_counter() - self._t0 >= delay_s:
                print(file=sys.stderr)

    return _TrainingProgress()


def training_returns(model: Any) -> np.ndarray:
    """Undiscounted returns of the training episodes of a model from :func:`train_ppo`, in order.

    They are the environment's own rewards (recorded by SB3's ``Monitor`` beneath any reward
    normalisation), so they compare directly with ``evaluate``'s ``return`` column.
    """
    return np.asarray(model.get_env().env_method("get_episode_rewards")[0], dtype=float)


def load(path: str | Path, device: str = "cpu") -> Any:
    """Load a saved PPO model (``model.save(path)``).

    Raises:
        MissingExtraError: stable-baselines3 is not installed.
        FileNotFoundError: No such file.
    """
    path = Path(path)
    if not path.exists() and not path.with_suffix(".zip").exists():
        raise FileNotFoundError(f"No saved model at {path} (nor {path.with_suffix('.zip')}).")
    return _sb3().PPO.load(str(path), device=device)


class SB3Controller(PredictAdapter):
    """A stable-baselines3 model as a controller (deterministic actions, recurrent state kept).

    Args:
        model: A trained SB3 model, or the path of a saved PPO model.
        deterministic: Use the policy's mode (default) instead of sampling.
    """

    def __init__(self, model: Any, deterministic: bool = True) -> None:
        super().__init__(load(model) if isinstance(model, (str, Path)) else model, deterministic)


def ppo_from_env() -> SB3Controller:
    """Entry-point factory ``ppo``: the PPO model saved at ``$THERMOGRID_PPO_MODEL``.

    Raises:
        ConfigError: The variable is not set.
    """
    path = os.environ.get(MODEL_ENV_VAR)
    if not path:
        raise ConfigError(
            f"The 'ppo' controller loads a trained model: set {MODEL_ENV_VAR}=/path/to/model.zip "
            "(train one with baselines.rl.train_ppo(...).save(path))."
        )
    return SB3Controller(path)
