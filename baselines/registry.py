"""Controllers by name: the entry-point group ``thermogrid.controllers`` plus in-process registrations.

Packages (this one included, see ``pyproject.toml``) declare controllers as entry points::

    [project.entry-points."thermogrid.controllers"]
    uncontrolled = "baselines.uncontrolled:UncontrolledController"

Each entry point names a zero-argument factory (usually the controller class). Factories are loaded
only when a controller is made, so listing names never imports optional extras (cvxpy, torch).
The ``thermogrid`` command line reads the same entry-point group directly (``thermogrid_env`` never
imports ``baselines``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from thermogrid_env.errors import ConfigError
from thermogrid_env.evaluation import Controller, resolve_controller

__all__ = ["ENTRY_POINT_GROUP", "available_controllers", "get_factory", "make_controller", "register"]

#: Entry-point group of controller factories.
ENTRY_POINT_GROUP = "thermogrid.controllers"

#: Controllers of this package, also found when it is used from a source tree (not installed).
_BUILTIN: dict[str, str] = {
    "uncontrolled": "baselines.uncontrolled:UncontrolledController",
    "rule_based": "baselines.rule_based:RuleBasedController",
    "oracle": "baselines.oracle:OracleController",
    "mpc": "baselines.mpc:MPCController",
    "learned": "baselines.learned:LearnedController",
}
_REGISTERED: dict[str, Callable[..., Controller]] = {}


def register(name: str, factory: Callable[..., Controller], *, overwrite: bool = False) -> None:
    """Register a controller factory in this process (takes precedence over entry points).

    Raises:
        ConfigError: ``name`` is taken and ``overwrite`` is false.
    """
    if not overwrite and name in available_controllers():
        raise ConfigError(f"A controller named {name!r} exists already; pass overwrite=True to replace it.")
    _REGISTERED[name] = factory


def _targets() -> dict[str, str]:
    targets = dict(_BUILTIN)
    targets.update({ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)})
    return targets


def available_controllers() -> list[str]:
    """Names of every known controller (built-in, entry points, registered), sorted."""
    return sorted(set(_targets()) | set(_REGISTERED))


def get_factory(name: str) -> Callable[..., Controller]:
    """The factory registered under a name (imports its module on first use).

    Raises:
        ConfigError: Unknown name; the message lists the available ones.
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    targets = _targets()
    if name not in targets:
        raise ConfigError(f"Unknown controller {name!r}; available: {', '.join(available_controllers())}.")
    module_name, _, attr = targets[name].partition(":")
    obj: Any = importlib.import_module(module_name.strip())
    for part in attr.strip().split("."):
        obj = getattr(obj, part)
    return obj


def make_controller(name: str, **kwargs: Any) -> Controller:
    """Make a controller by name.

    Args:
        name: See :func:`available_controllers`.
        **kwargs: Passed to the factory (e.g. ``config=`` of the rule-based controller).

    Raises:
        ConfigError: Unknown name.
        MissingExtraError: The controller needs an extra that is not installed.
    """
    factory = get_factory(name)
    return resolve_controller(factory(**kwargs) if kwargs else factory)
