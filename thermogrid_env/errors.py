"""Typed errors of ThermoGrid: every failure says what is wrong and what to do.

All errors derive from :class:`ThermoGridError`, so ``except ThermoGridError`` catches anything the
package raises on purpose. Configuration and data errors also derive from ``ValueError`` and the
missing-extra error from ``ImportError`` so that generic handlers keep working.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Sequence


class ThermoGridError(Exception):
    """Base class of every error raised on purpose by ThermoGrid."""


class ConfigError(ThermoGridError, ValueError):
    """An invalid configuration, parameter or input (names the field and the valid range)."""


class DataError(ThermoGridError, ValueError):
    """Shipped or user data that is missing, malformed or cannot identify a model."""


class PowerFlowDiverged(ThermoGridError, RuntimeError):
    """The power flow did not converge (e.g. voltage collapse under absurd load).

    Attributes:
        batch_indices: Flat indices of the batch entries (snapshots) that did not converge.
    """

    def __init__(self, message: str, batch_indices: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.batch_indices = tuple(int(i) for i in batch_indices)


class OptimizationFailed(ThermoGridError, RuntimeError):
    """An optimization problem was infeasible, unbounded or the solver failed."""


class MissingExtraError(ThermoGridError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def import_optional(module_name: str, extra: str) -> ModuleType:
    """Import an optional dependency, or raise an error that names the extra to install.

    Args:
        module_name: Importable module name, e.g. ``"pandapower"``.
        extra: The ``thermogrid-env`` extra that provides it, e.g. ``"grid"``.

    Returns:
        The imported module.

    Raises:
        MissingExtraError: If the module cannot be imported.
    """
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(
            f"{module_name!r} is needed for this feature but is not installed. "
            f"Install it with: pip install 'thermogrid-env[{extra}]' (or pip install {module_name})."
        ) from exc
