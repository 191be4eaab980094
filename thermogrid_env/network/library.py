"""The shipped feeders, loaded by short name from ``thermogrid_env/data/feeders/*.json``."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.network.feeder import Feeder

#: Short name -> (source, description). The JSON files are written by ``scripts/build_data.py``.
FEEDERS: dict[str, tuple[str, str]] = {
    "simbench-semiurb4": (
        "SimBench 1-LV-semiurb4--0-sw",
        "semi-urban LV feeder, 44 buses, 41 loads (32 households), 0.4 MVA transformer",
    ),
    "simbench-rural2": (
        "SimBench 1-LV-rural2--0-sw",
        "rural LV feeder, 97 buses, 0.25 MVA transformer",
    ),
}
DEFAULT_FEEDER = "simbench-semiurb4"


@lru_cache(maxsize=None)
def load_feeder(name: str = DEFAULT_FEEDER) -> Feeder:
    """Load a shipped feeder by name.

    Args:
        name: One of :data:`FEEDERS` (default ``"simbench-semiurb4"``).

    Returns:
        The (immutable, cached) feeder.

    Raises:
        ConfigError: Unknown name (the message lists the known ones).
        DataError: The shipped file is missing (regenerate with ``scripts/build_data.py``).
    """
    if name not in FEEDERS:
        raise ConfigError(f"Unknown feeder {name!r}; choose one of {sorted(FEEDERS)}.")
    path = resources.files("thermogrid_env") / "data" / "feeders" / f"{name}.json"
    if not path.is_file():
        raise DataError(
            f"Shipped feeder file {path} is missing; regenerate it with "
            "`python scripts/build_data.py` (needs the [data] extra)."
        )
    return Feeder.from_dict(json.loads(path.read_text()))
