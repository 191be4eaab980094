"""Instances of the frozen parameter dataclasses from values that are valid by construction.

The checked constructors (``__post_init__``) validate every field; a reset of the environment
builds houses, heat pumps, PV systems and EV sessions from random draws inside the valid ranges and
from rows of validated tables, where the checks would only cost time. :func:`from_trusted` builds
such an instance without them, with its arrays made read-only as the checked constructor does.
Every use is tested equal to the checked constructor.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

_T = TypeVar("_T")


def from_trusted(cls: type[_T], **fields: object) -> _T:
    """An instance of the frozen dataclass ``cls`` with ``fields`` set as given, unchecked.

    The caller guarantees what ``cls``'s checks would: every field present, of the stored type and
    dtype (e.g. int64 index arrays, float64 parameters), in range. Arrays are taken over (made
    read-only, not copied): pass fresh ones or rows of read-only tables.
    """
    obj = object.__new__(cls)
    for name, value in fields.items():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
        object.__setattr__(obj, name, value)
    return obj
