"""The controller protocol: anything with stable-baselines3's ``predict`` can be evaluated.

* :class:`Controller` - the protocol (defined in :mod:`thermogrid_env.evaluation`, which cannot
  import this package, and re-exported here): ``predict(observation, state=None,
  episode_start=None, deterministic=True) -> (action, state)``. An SB3 model satisfies it as is.
* Optional hook ``reset(env)``: :func:`thermogrid_env.evaluate` calls it after every
  ``env.reset`` so that a hand-written controller can read what it may know through
  ``env.unwrapped.controller_view()``.
* :class:`EnvController` - base class of such controllers: implement :meth:`EnvController.setpoints`
  in physical units from the :class:`~thermogrid_env.sim.view.ControllerView` of the step (what is
  knowable then: measured state, forecasts, tariff, feeder, plugged EVs' declared departure and
  need); the base class converts them into the normalised action. Only a controller that declares
  ``perfect_foresight = True`` (the oracle) gets the episode in its view.
* :class:`PredictAdapter` / :func:`as_controller` - wrap a predict-only object (an SB3 model, a
  recurrent sb3-contrib model) so it also has the ``reset`` hook and keeps its recurrent state.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from thermogrid_env.evaluation import Controller, resolve_controller
from thermogrid_env.sim.simulator import Setpoints
from thermogrid_env.sim.view import ControllerView

__all__ = ["Controller", "EnvController", "PredictAdapter", "ResettableController", "as_controller"]


@runtime_checkable
class ResettableController(Controller, Protocol):
    """A :class:`Controller` with the optional per-episode hook."""

    def reset(self, env: Any) -> None:
        """Called by the evaluation after each ``env.reset`` with the (wrapped) environment."""


class EnvController(abc.ABC):
    """Base of controllers that act on what they may know, in physical units, not on observations.

    Subclasses implement :meth:`setpoints` (and optionally :meth:`on_reset`) from the step's
    :class:`~thermogrid_env.sim.view.ControllerView`; :meth:`predict` converts the set-points with
    ``env.unwrapped.action_spec.from_setpoints``, so the controller goes through the same action
    interface (and clipping) as a learned policy.

    Class attributes:
        perfect_foresight: The controller reads the whole episode (``view.episode``): only the
            oracle may; every other controller is causal (tested: its actions before a step do not
            depend on anything after it).
    """

    perfect_foresight: ClassVar[bool] = False

    def __init__(self) -> None:
        self._env: Any = None

    @property
    def env(self) -> Any:
        """The unwrapped environment of the current episode.

        Raises:
            RuntimeError: :meth:`reset` was not called yet.
        """
        if self._env is None:
            raise RuntimeError(
                f"{type(self).__name__} reads the controller view of the environment: call "
                "controller.reset(env) after env.reset() (thermogrid_env.evaluate does this)."
            )
        return self._env

    def view(self) -> ControllerView:
        """The current step's view (with the episode only for perfect-foresight controllers)."""
        return self.env.controller_view(perfect_foresight=self.perfect_foresight)

    def reset(self, env: Any) -> None:
        """Bind to the environment at the start of an episode (after ``env.reset``)."""
        self._env = env.unwrapped
        self.on_reset(self.view())

    def on_reset(self, view: ControllerView) -> None:
        """Per-episode initialisation (default: nothing).

        Args:
            view: The view at the first step.
        """

    @abc.abstractmethod
    def setpoints(self, view: ControllerView) -> Setpoints:
        """Physical set-points of the next step.

        Args:
            view: What the controller may know at the start of the step.
        """

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """SB3-compatible ``predict``: the observation is ignored, the state is passed through.

        The action is float64 so that the set-points survive the round trip through the action
        box exactly (the environment accepts float32 and float64).
        """
        env = self.env
        if getattr(env, "action_mode", "power") != "power":
            from thermogrid_env.errors import ConfigError  # noqa: PLC0415

            raise ConfigError(f"{type(self).__name__} acts in physical power set-points: use an environment with "
                              "action_mode='power' (the default).")
        return env.action_spec.from_setpoints(self.setpoints(self.view()), dtype=np.float64), state


class PredictAdapter:
    """Wrap a predict-only model (e.g. an SB3 ``PPO``) as a controller with a ``reset`` hook.

    The hook forgets the recurrent state, so the adapter can also be driven by code that does not
    carry ``state`` and ``episode_start`` itself (one call per step, deterministic by default).

    Args:
        model: Any object with SB3's ``predict`` signature.
        deterministic: Default of ``deterministic`` when the caller passes ``None``.
    """

    def __init__(self, model: Any, deterministic: bool = True) -> None:
        if not callable(getattr(model, "predict", None)):
            raise TypeError(f"{type(model).__name__} has no predict() method; it is not a controller.")
        self.model = model
        self.deterministic = deterministic
        self._state: Any = None
        self._episode_start = np.ones(1, dtype=bool)

    def reset(self, env: Any) -> None:
        """Start a new episode: drop the recurrent state."""
        self._state = None
        self._episode_start = np.ones(1, dtype=bool)

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool | None = True,
    ) -> tuple[np.ndarray, Any]:
        """Forward to the model, carrying the recurrent state if the caller does not."""
        own = state is None and episode_start is None
        action, new_state = self.model.predict(
            observation,
            state=self._state if own else state,
            episode_start=self._episode_start if own else episode_start,
            deterministic=self.deterministic if deterministic is None else deterministic,
        )
        if own:
            self._state = new_state
            self._episode_start = np.zeros(1, dtype=bool)
        return action, new_state


def as_controller(obj: Any) -> Controller:
    """A controller from a controller, a zero-argument factory of one, or a class.

    Args:
        obj: An object with ``predict`` (returned as is: an SB3 model works unchanged), or a
            callable returning one (e.g. the class :class:`~baselines.uncontrolled.UncontrolledController`).

    Raises:
        TypeError: ``obj`` is neither.
    """
    return resolve_controller(obj)
