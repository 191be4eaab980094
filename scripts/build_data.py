"""Regenerate every data file shipped in ``thermogrid_env/data`` from its public source.

Sources (see ``thermogrid_env/data/ATTRIBUTION.md`` for licences and citations):

* SimBench (installed package ``simbench``, extra ``[data]``): the feeders, every SimBench LV
  grid of scenario 0 (``1-LV-rural1--0-sw`` ... ``1-LV-urban6--0-sw``, see :data:`FEEDER_CODES`;
  via ``simbench.get_simbench_net`` and :func:`thermogrid_env.network.from_pandapower`), their
  catalog (``feeders/catalog.json``: source and total line length of each) and the 2016 15-min
  profiles of the package's complete data set ``1-complete_data-mixed-all-2-sw``
  (``LoadProfile.csv``, ``RESProfile.csv``).
* ERA5 hourly 2-m temperature for Germany as shipped in the emobpy 0.6.2 wheel
  (``emobpy/data/ERA5-hourly-t2m.csv``). emobpy is not installed: the wheel is fetched with
  ``pip download --no-deps`` (or given with ``--emobpy-wheel``) and read as a zip file.

Not written here: ``house_3r2c_sperber2020.csv`` (a table transcribed from the paper) and
``ATTRIBUTION.md``.

Usage::

    python scripts/build_data.py                      # rewrite thermogrid_env/data
    python scripts/build_data.py --emobpy-wheel emobpy-0.6.2-py2.py3-none-any.whl
    python scripts/build_data.py --check              # rebuild in a temp dir, compare bytes

The output is deterministic (fixed gzip header, fixed rounding), so ``--check`` can verify that
the shipped files are what the sources give.
"""

from __future__ import annotations

import argparse
import warnings
import filecmp
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from thermogrid_env import datasets  # noqa: E402
from thermogrid_env.network import Feeder  # noqa: E402

DATA_DIR = REPO / "thermogrid_env" / "data"

#: Shipped feeders: short name -> SimBench code. Every LV grid of SimBench (scenario 0, with
#: switches): SimBench numbers its six LV grids 1-6 across the types (rural 1-3, semi-urban 4-5,
#: urban 6), so there is no ``semiurb3``. All six are radial, have one 20/0.4 kV transformer and
#: no open switch, and convert unchanged (the script fails if one no longer does).
FEEDER_CODES: dict[str, str] = {
    "simbench-semiurb4": "1-LV-semiurb4--0-sw",
    "simbench-rural2": "1-LV-rural2--0-sw",
    "simbench-rural1": "1-LV-rural1--0-sw",
    "simbench-rural3": "1-LV-rural3--0-sw",
    "simbench-semiurb5": "1-LV-semiurb5--0-sw",
    "simbench-urban6": "1-LV-urban6--0-sw",
}
#: Area type of a SimBench LV grid by the word in its code (for the feeder descriptions).
GRID_TYPES: dict[str, str] = {"rural": "rural", "semiurb": "semi-urban", "urban": "urban"}
#: Feeder catalog written next to the feeders (read by
#: ``thermogrid_env.network.library.feeder_table``).
CATALOG_FILE = "feeders/catalog.json"
#: Rounding of the total line length [km] in the catalog (0.1 m).
LINE_LENGTH_DECIMALS = 4
#: SimBench complete data set whose profile tables are read. Its elementary profiles (H0, G, L,
#: PV, HLS, heat pumps) are identical in scenarios 0, 1 and 2 (only the grid-equivalent profiles
#: such as ``lv_semiurb4`` differ); scenario 2 is the one that lists the heat-pump and
#: charging-station loads.
SIMBENCH_COMPLETE_DATA = "1-complete_data-mixed-all-2-sw"
SIMBENCH_TIME_FORMAT = "%d.%m.%Y %H:%M"

#: Regular expressions selecting SimBench profile names of each kind (commercial: see
#: :func:`commercial_profile_names`).
PROFILE_PATTERNS: dict[str, str] = {
    "household": r"^H0-[A-Z]$",
    "pv": r"^PV\d+$",
    "ev_home_charging": r"^HLS_",
    "heat_pump": r"^(Air|Soil)_",
}
SIGNIFICANT_DIGITS = 5

EMOBPY_REQUIREMENT = "emobpy==0.6.2"
EMOBPY_WHEEL_SHA256 = "ff81d31016d4c4108ca21a6a3f5afb502144efc0650773d6401663494c46ade4"
ERA5_T2M_MEMBER = "emobpy/data/ERA5-hourly-t2m.csv"
ERA5_COUNTRY_COLUMN = "DE"
#: Shipped temperature window [UTC]: the profile year plus about a day on each side.
T2M_START_UTC = pd.Timestamp("2015-12-31 00:00", tz="UTC")
T2M_END_UTC = pd.Timestamp("2017-01-01 23:00", tz="UTC")
KELVIN_OFFSET = 273.15


# ---------------------------------------------------------------------------------- time
def berlin_labels_to_utc(labels: pd.Series | list[str]) -> pd.DatetimeIndex:
    """Convert SimBench's Berlin wall-clock time labels to a UTC index.

    SimBench labels its profiles ``"dd.mm.yyyy HH:MM"`` in local time of Germany with daylight
    saving time, each label the start of a quarter-hour. In 2016 the data have 35136 rows
    (366 x 96): 27 March has 92 rows (the labels jump from 01:45 to 03:00; the non-existent
    02:00-02:59 is not listed) and 30 October has 100 rows (02:00-02:45 is listed twice, first
    in CEST, then in CET). The labels are localised to ``Europe/Berlin`` with the repeated hour
    resolved by its order (``ambiguous="infer"``; a non-existent label would be an error) and
    converted to UTC. The result is strictly increasing and gap-free at 15 min; for the full
    2016 data it runs from 2015-12-31 23:00 to 2016-12-31 22:45 UTC. (For H0-A/B/C/G/L, PV,
    HLS and heat pumps SimBench filled the repeated hour with a copy of the first, so in UTC
    2016-10-30 01:00-01:45 repeats 00:00-00:45; the values are kept as given.)

    That the labels really are DST wall-clock time (and not standard time written with DST
    labels) was checked against the data (and is tested): the daily PV centroid is continuous in
    UTC across both switches (and jumps by 1 h in wall-clock time), while clock-driven
    commercial profiles (e.g. G4-A opening hours) move by exactly 1 h in UTC.

    Args:
        labels: SimBench ``time`` column, in file order.

    Returns:
        The UTC index, named ``time_utc``.

    Raises:
        ValueError: A label does not exist in Berlin time, or the result is not a gap-free
            15-min sequence.
    """
    wall = pd.DatetimeIndex(pd.to_datetime(pd.Series(labels), format=SIMBENCH_TIME_FORMAT))
    try:
        local = wall.tz_localize("Europe/Berlin", ambiguous="infer", nonexistent="raise")
    except Exception as exc:  # pytz.NonExistentTimeError/AmbiguousTimeError (pandas 2), ValueError
        raise ValueError(f"SimBench labels are not valid Berlin wall-clock time: {exc}") from exc
    utc = local.tz_convert("UTC").as_unit("ns").rename(datasets.TIME_COLUMN)
    steps = np.diff(utc.asi8)
    if len(utc) > 1 and not np.all(steps == pd.Timedelta("15min").value):
        bad = int(np.flatnonzero(steps != pd.Timedelta("15min").value)[0])
        raise ValueError(
            f"SimBench time labels are not a gap-free 15-min sequence after conversion to UTC "
            f"(at {list(labels)[bad]!r} -> {list(labels)[bad + 1]!r})."
        )
    return utc


# ---------------------------------------------------------------------------------- SimBench
def simbench_profile_tables(complete_data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read SimBench's load and RES profile tables onto a UTC index.

    Args:
        complete_data_dir: Directory with ``LoadProfile.csv`` and ``RESProfile.csv``.

    Returns:
        ``(load, res)``: load profiles with columns ``<name>_pload``/``<name>_qload`` and RES
        profiles with one column per name, both indexed by :func:`datasets.load_year_index`.
    """
    tables = []
    for file_name in ("LoadProfile.csv", "RESProfile.csv"):
        raw = pd.read_csv(complete_data_dir / file_name, sep=";")
        index = berlin_labels_to_utc(raw["time"])
        if not index.equals(datasets.load_year_index()):
            raise ValueError(f"{file_name}: time axis is not the 15-min UTC grid of 2016.")
        tables.append(raw.drop(columns="time").set_axis(index).astype(float))
    return tables[0], tables[1]


def simbench_complete_data_dir() -> Path:
    """Directory of the SimBench complete data set inside the installed ``simbench`` package."""
    import simbench  # noqa: PLC0415 - build-time dependency only

    path = Path(simbench.__file__).parent / "networks" / SIMBENCH_COMPLETE_DATA
    if not (path / "LoadProfile.csv").is_file():
        raise FileNotFoundError(f"SimBench complete data not found at {path}.")
    return path


def line_length_km(net: Any, feeder: Feeder) -> float:
    """Total length of the net's live lines inside the feeder [km].

    Route length: a line with ``parallel > 1`` counts once. Lines out of service, behind an
    open line switch, or towards buses that are not part of the feeder are not counted.
    """
    switches = net.switch[(net.switch.et == "l") & ~net.switch.closed.astype(bool)]
    lines = net.line[net.line.in_service & ~net.line.index.isin(switches.element)]
    buses = list(feeder.bus_lookup)
    inside = lines.from_bus.isin(buses) & lines.to_bus.isin(buses)
    return round(float(lines.length_km[inside].sum()), LINE_LENGTH_DECIMALS)


def feeder_description(code: str, feeder: Feeder) -> str:
    """The description of a SimBench feeder in ``thermogrid_env.network.FEEDERS``.

    Computed from the converted feeder, e.g. ``"semi-urban LV grid, 44 buses, 41 loads
    (32 households), 400 kVA transformer"``; non-household profiles follow in brackets when
    they are not all commercial (``G*``), e.g. agricultural ``L*``.
    """
    match = re.fullmatch(r"1-LV-([a-z]+)\d+--\d-(?:no_)?sw", code)
    if match is None or match.group(1) not in GRID_TYPES:
        raise ValueError(f"{code!r} is not a SimBench LV grid code.")
    n_household = int(feeder.load_is_household.sum())
    text = (
        f"{GRID_TYPES[match.group(1)]} LV grid, {feeder.n_bus} buses, {feeder.n_load} loads "
        f"({n_household} households), {feeder.transformer_rating_kva:g} kVA transformer"
    )
    other = sorted({p for p, hh in zip(feeder.load_profile, feeder.load_is_household) if not hh})
    if any(not p.startswith("G") for p in other):
        n_other = feeder.n_load - n_household
        text += f"; the other {n_other} loads have profiles {', '.join(other)}"
    return text


def build_feeders(out_dir: Path) -> tuple[dict[str, Feeder], list[pd.DataFrame]]:
    """Build the shipped feeders from SimBench; write ``feeders/<name>.json`` and the catalog.

    Each SimBench net is converted as it is: open switches stay open (``from_pandapower`` treats
    them as pandapower does); a grid that is meshed, disconnected or has several transformers
    would make the script fail rather than ship a modified grid.

    Returns:
        ``(feeders, net_load_profiles)``: name -> feeder, and the SimBench nets' own load
        profile tables (for a consistency check with the complete data set).

    Raises:
        ValueError: A grid has more or less than one transformer.
    """
    import simbench  # noqa: PLC0415 - build-time dependency only

    from thermogrid_env.network.from_pandapower import PandapowerImportWarning, from_pandapower  # noqa: PLC0415

    (out_dir / "feeders").mkdir(parents=True, exist_ok=True)
    feeders: dict[str, Feeder] = {}
    net_profiles: list[pd.DataFrame] = []
    catalog: dict[str, dict[str, Any]] = {}
    for name, code in FEEDER_CODES.items():
        net = simbench.get_simbench_net(code)
        # pi equivalent of the transformers (the shipped feeders' model since the first release; the
        # T model of pandapower's default differs by ~1e-6 pu); SimBench's static generators are
        # the grid's own PV, replaced by the scenario's PV systems
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PandapowerImportWarning)
            feeder = from_pandapower(net, name=name, trafo_model="pi")
        n_trafo = int(feeder.is_transformer.sum())
        if n_trafo != 1:
            raise ValueError(f"{code}: expected one transformer, found {n_trafo}.")
        feeder.save_json(out_dir / "feeders" / f"{name}.json")
        feeders[name] = feeder
        net_profiles.append(net.profiles["load"])
        length_km = line_length_km(net, feeder)
        catalog[name] = {"source": f"SimBench {code}", "line_length_km": length_km}
        n_open = int((~net.switch.closed.astype(bool)).sum())
        print(
            f"  {name} ({code}): {feeder.n_bus} buses, {feeder.n_load} loads "
            f"({int(feeder.load_is_household.sum())} households), "
            f"transformer {feeder.transformer_rating_kva:g} kVA, lines {length_km:g} km, "
            f"{n_open} open switches"
        )
        print(f"    FEEDERS description: {feeder_description(code, feeder)!r}")
    text = json.dumps(catalog, indent=1, sort_keys=True) + "\n"
    (out_dir / CATALOG_FILE).write_text(text, encoding="utf-8")
    return feeders, net_profiles


def commercial_profile_names(feeders: dict[str, Feeder]) -> list[str]:
    """Sorted non-household (``G*``, ``L*``) profile names referenced by the feeders' loads."""
    return sorted(
        {
            profile
            for feeder in feeders.values()
            for profile, is_household in zip(feeder.load_profile, feeder.load_is_household)
            if not is_household
        }
    )


def select_profiles(
    load: pd.DataFrame, res: pd.DataFrame, commercial: list[str]
) -> dict[tuple[str, str], pd.DataFrame]:
    """Pick the shipped profiles of each kind and quantity from the SimBench tables.

    Returns:
        ``(kind, quantity)`` -> profiles with SimBench names as columns, sorted by name.
    """
    by_quantity = {
        "p": load.filter(like="_pload").rename(columns=lambda c: c.removesuffix("_pload")),
        "q": load.filter(like="_qload").rename(columns=lambda c: c.removesuffix("_qload")),
    }
    selected: dict[tuple[str, str], pd.DataFrame] = {}
    for kind, quantities in datasets.PROFILE_QUANTITIES.items():
        for quantity in quantities:
            if kind == "pv":
                table = res.filter(regex=PROFILE_PATTERNS["pv"])
            elif kind == "commercial":
                table = by_quantity[quantity][commercial]
            else:
                table = by_quantity[quantity].filter(regex=PROFILE_PATTERNS[kind])
            if table.shape[1] == 0:
                raise ValueError(f"No SimBench profiles found for {kind}/{quantity}.")
            selected[(kind, quantity)] = table[sorted(table.columns)]
    return selected


def check_profiles(load: pd.DataFrame, net_profiles: list[pd.DataFrame]) -> None:
    """Check the assumptions behind what is (not) shipped.

    * Heat pumps' q profiles equal their p profiles and charging stations' q profiles are zero
      (so only p is shipped for those kinds).
    * The feeders' own SimBench profiles equal those of the complete data set.

    Raises:
        ValueError: An assumption does not hold for the installed SimBench version.
    """
    for column in load.filter(regex=PROFILE_PATTERNS["heat_pump"]).filter(like="_qload"):
        if not np.array_equal(load[column], load[column.replace("_qload", "_pload")]):
            raise ValueError(f"SimBench heat-pump profile {column} differs from p; ship it.")
    hls_q = load.filter(regex=PROFILE_PATTERNS["ev_home_charging"]).filter(like="_qload")
    if np.abs(hls_q.to_numpy()).max() != 0.0:
        raise ValueError("SimBench HLS q profiles are no longer zero; ship them.")
    for table in net_profiles:
        for column in table.columns.drop("time", errors="ignore"):
            if column in load and not np.allclose(table[column].to_numpy(float), load[column]):
                raise ValueError(f"Profile {column} of a feeder net differs from the complete set.")


# ---------------------------------------------------------------------------------- ERA5
def fetch_emobpy_wheel(download_dir: Path) -> Path:
    """Download the emobpy wheel (without its dependencies) with pip; return its path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "-d", str(download_dir), EMOBPY_REQUIREMENT],
        check=True,
    )
    wheels = sorted(download_dir.glob("emobpy-*.whl"))
    if not wheels:
        raise FileNotFoundError(f"pip did not download a wheel of {EMOBPY_REQUIREMENT}.")
    return wheels[0]


def era5_t2m_celsius(wheel: Path) -> pd.Series:
    """Hourly ERA5 2-m temperature for Germany [degC] read from the emobpy wheel.

    The file has columns ``date`` (``"2015-12-30 00:00:00 GMT"`` ...) and ``DE`` [K].

    Returns:
        The shipped window (:data:`T2M_START_UTC` to :data:`T2M_END_UTC`), UTC index, values
        rounded to 0.01 K as in the source.
    """
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != EMOBPY_WHEEL_SHA256:
        raise ValueError(
            f"{wheel} has sha256 {digest}, expected {EMOBPY_WHEEL_SHA256} ({EMOBPY_REQUIREMENT})."
        )
    with zipfile.ZipFile(wheel) as archive:
        raw = pd.read_csv(io.BytesIO(archive.read(ERA5_T2M_MEMBER)))
    stamps = pd.to_datetime(raw["date"].str.removesuffix(" GMT"), format="%Y-%m-%d %H:%M:%S")
    index = pd.DatetimeIndex(stamps).tz_localize("UTC").as_unit("ns").rename(datasets.TIME_COLUMN)
    kelvin = pd.Series(raw[ERA5_COUNTRY_COLUMN].to_numpy(float), index=index)
    window = kelvin.loc[T2M_START_UTC:T2M_END_UTC]
    expected = pd.date_range(T2M_START_UTC, T2M_END_UTC, freq="1h")
    if not window.index.equals(expected) or window.isna().any():
        raise ValueError("ERA5 t2m series is not complete and hourly over the shipped window.")
    return (window - KELVIN_OFFSET).round(2).rename(datasets.TEMPERATURE_COLUMN)


# ---------------------------------------------------------------------------------- writing
def write_time_csv_gz(table: pd.DataFrame | pd.Series, path: Path, float_format: str) -> None:
    """Write a UTC-indexed table as gzip CSV with a fixed header (byte-reproducible)."""
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    frame = frame.copy()
    frame.index = frame.index.strftime(datasets.TIME_FORMAT).rename(datasets.TIME_COLUMN)
    text = frame.to_csv(float_format=float_format, lineterminator="\n")
    with open(path, "wb") as raw, gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0
    ) as out:
        out.write(text.encode("utf-8"))


def build(out_dir: Path, emobpy_wheel: Path | None) -> None:
    """Write all generated data files into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    print("Feeders from SimBench:")
    feeders, net_profiles = build_feeders(out_dir)
    print("Profiles from SimBench complete data:")
    load, res = simbench_profile_tables(simbench_complete_data_dir())
    check_profiles(load, net_profiles)
    selected = select_profiles(load, res, commercial_profile_names(feeders))
    for (kind, quantity), table in selected.items():
        path = out_dir / datasets.profile_file_name(kind, quantity)
        write_time_csv_gz(table, path, f"%.{SIGNIFICANT_DIGITS}g")
        print(f"  {path.name}: {', '.join(table.columns)}")
    print("ERA5 2-m temperature from the emobpy wheel:")
    with tempfile.TemporaryDirectory() as tmp:
        wheel = emobpy_wheel or fetch_emobpy_wheel(Path(tmp))
        t2m = era5_t2m_celsius(wheel)
        write_time_csv_gz(t2m, out_dir / datasets.TEMPERATURE_FILE, "%.2f")
    year = t2m.loc[datasets.load_year_index()[0]: datasets.load_year_index()[-1]]
    print(f"  {datasets.TEMPERATURE_FILE}: {len(t2m)} h, 2016 mean {year.mean():.2f} degC")


def generated_files(directory: Path) -> list[Path]:
    """Relative paths of the files this script writes."""
    names = [datasets.profile_file_name(k, q) for k, qs in datasets.PROFILE_QUANTITIES.items()
             for q in qs]
    names += [datasets.TEMPERATURE_FILE, CATALOG_FILE]
    names += [f"feeders/{n}.json" for n in FEEDER_CODES]
    return [Path(n) for n in names]


def check(emobpy_wheel: Path | None) -> bool:
    """Rebuild into a temporary directory and compare with the shipped files byte by byte."""
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp), emobpy_wheel)
        stale = [
            str(rel) for rel in generated_files(DATA_DIR)
            if not (DATA_DIR / rel).is_file()
            or not filecmp.cmp(Path(tmp) / rel, DATA_DIR / rel, shallow=False)
        ]
    if stale:
        print(f"Out of date or missing: {stale}")
        return False
    print("Shipped data is up to date.")
    return True


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emobpy-wheel", type=Path, default=None,
                        help="path of emobpy-0.6.2-py2.py3-none-any.whl (default: pip download)")
    parser.add_argument("--out", type=Path, default=DATA_DIR,
                        help=f"output directory (default: {DATA_DIR})")
    parser.add_argument("--check", action="store_true",
                        help="rebuild in a temp dir and compare with the shipped files")
    args = parser.parse_args(argv)
    if args.check:
        return 0 if check(args.emobpy_wheel) else 1
    build(args.out, args.emobpy_wheel)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
