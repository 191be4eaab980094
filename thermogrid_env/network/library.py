"""The shipped feeders, loaded by short name from ``thermogrid_env/data/feeders/*.json``.

Every LV grid of SimBench (scenario 0, with switches) ships: rural 1-3, semi-urban 4-5 and
urban 6. SimBench numbers its six LV grids 1-6 across the area types, so there is no
``semiurb3`` (nor ``rural4`` ...). All six are radial, fed by one 20/0.4 kV transformer, and
have no open switch; they are converted as they are by
:func:`thermogrid_env.network.from_pandapower` in ``scripts/build_data.py``, which also writes
``feeders/catalog.json`` (source and total line length of each feeder).

Households are the loads with a SimBench ``H0-*`` profile (``Feeder.load_is_household``); the
other loads are commercial (``G*``) or, in ``simbench-rural1``, agricultural (``L1-A``, ``L2-A``:
10 of its 13 loads, so only 3 households get heat pumps, EVs and PV). No shipped feeder has zero
households.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.network.feeder import Feeder

if TYPE_CHECKING:
    import pandas as pd

#: Short name -> (source, description). The JSON files are written by ``scripts/build_data.py``,
#: which also prints the descriptions (computed from the converted feeders; a test checks them).
FEEDERS: dict[str, tuple[str, str]] = {
    "simbench-semiurb4": (
        "SimBench 1-LV-semiurb4--0-sw",
        "semi-urban LV grid, 44 buses, 41 loads (32 households), 400 kVA transformer",
    ),
    "simbench-rural2": (
        "SimBench 1-LV-rural2--0-sw",
        "rural LV grid, 97 buses, 99 loads (92 households), 250 kVA transformer",
    ),
    "simbench-rural1": (
        "SimBench 1-LV-rural1--0-sw",
        "rural LV grid, 15 buses, 13 loads (3 households), 160 kVA transformer; the other 10 "
        "loads have profiles L1-A, L2-A",
    ),
    "simbench-rural3": (
        "SimBench 1-LV-rural3--0-sw",
        "rural LV grid, 129 buses, 118 loads (113 households), 400 kVA transformer",
    ),
    "simbench-semiurb5": (
        "SimBench 1-LV-semiurb5--0-sw",
        "semi-urban LV grid, 111 buses, 104 loads (92 households), 630 kVA transformer",
    ),
    "simbench-urban6": (
        "SimBench 1-LV-urban6--0-sw",
        "urban LV grid, 59 buses, 111 loads (102 households), 630 kVA transformer",
    ),
}
DEFAULT_FEEDER = "simbench-semiurb4"
#: Catalog of the shipped feeders (in ``thermogrid_env/data/feeders``): name -> ``source``,
#: ``line_length_km``. Written by ``scripts/build_data.py``.
CATALOG_FILE = "catalog.json"
#: Columns of :func:`feeder_table`.
FEEDER_TABLE_COLUMNS = (
    "name", "source", "buses", "loads", "households", "transformer_kva", "line_length_km",
    "description",
)


def _feeder_dir() -> Any:
    return resources.files("thermogrid_env") / "data" / "feeders"


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
    path = _feeder_dir() / f"{name}.json"
    if not path.is_file():
        raise DataError(
            f"Shipped feeder file {path} is missing; regenerate it with "
            "`python scripts/build_data.py` (needs the [data] extra)."
        )
    return Feeder.from_dict(json.loads(path.read_text()))


@lru_cache(maxsize=1)
def _catalog() -> dict[str, dict[str, Any]]:
    path = _feeder_dir() / CATALOG_FILE
    if not path.is_file():
        raise DataError(
            f"Shipped feeder catalog {path} is missing; regenerate it with "
            "`python scripts/build_data.py` (needs the [data] extra)."
        )
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _feeder_table() -> "pd.DataFrame":
    import pandas as pd  # noqa: PLC0415 - keep `import thermogrid_env.network` light

    catalog = _catalog()
    rows = []
    for name, (source, description) in FEEDERS.items():
        feeder = load_feeder(name)
        length = catalog.get(name, {}).get("line_length_km")
        rows.append((
            name, source, feeder.n_bus, feeder.n_load, int(feeder.load_is_household.sum()),
            feeder.transformer_rating_kva, float("nan") if length is None else float(length),
            description,
        ))
    return pd.DataFrame(rows, columns=list(FEEDER_TABLE_COLUMNS))


def feeder_table() -> "pd.DataFrame":
    """One row per shipped feeder, in the order of :data:`FEEDERS` (``thermogrid list feeders``).

    Computed from the loaded feeders (cached, so repeated calls are cheap) and the shipped
    catalog.

    Returns:
        A copy with the columns ``name``, ``source`` (e.g. ``"SimBench 1-LV-rural1--0-sw"``),
        ``buses`` (slack included), ``loads``, ``households`` (loads with an ``H0-*`` profile),
        ``transformer_kva`` (substation transformer rating [kVA]), ``line_length_km`` (total
        route length of the in-service lines [km]; NaN where the catalog does not have it) and
        ``description``; a default integer index.

    Raises:
        DataError: A shipped feeder file or the catalog is missing.
    """
    return _feeder_table().copy()
