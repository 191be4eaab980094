"""Results of ``thermogrid compare``: the printed KPI table and the files written to ``--out``.

* :func:`format_kpi_table` - the mean KPIs per controller as a markdown table, with units, the
  relative change against the first controller and values beyond a model's validity flagged
  (:func:`validity_flags`).
* :func:`check_output_dir` - validates an output directory before any work is done.
* :func:`publish` - writes a result set atomically: every file (and ``manifest.json``) goes to a
  temporary sibling ``DIR.tmp-<pid>`` that then replaces ``DIR`` by two renames done with Ctrl-C
  held back, so ``DIR`` is always either the previous complete set or the new complete set, never
  a mix, and no file of the previous run survives into the new set.

Validity of the transformer model: IEC 60076-7:2018 (loading guide for mineral-oil-immersed
transformers) limits the winding hot spot of distribution transformers to 120 °C under normal
cyclic loading and to 140 °C under long-time emergency loading (its table of current and
temperature limits applicable to loading beyond nameplate rating), and warns that above about
140 °C gas bubbles may form in the insulation, which its thermal and ageing model does not
describe. A hot spot above :data:`HOT_SPOT_VALIDITY_LIMIT_C` is therefore flagged, together with
the ageing figure computed from it: such numbers say "far outside normal operation", not a
loss-of-life estimate.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thermogrid_env.errors import ConfigError, ThermoGridError
from thermogrid_env.sim.kpi import KPI_UNITS

__all__ = [
    "HOT_SPOT_VALIDITY_LIMIT_C", "MANIFEST", "check_output_dir", "format_kpi_table", "holds_results",
    "package_version", "publish", "validity_flags", "write_kpis", "write_timeseries",
]

#: Winding hot spot [°C] above which the IEC 60076-7 thermal/ageing model is outside its validity
#: (the standard's long-time emergency loading limit of distribution transformers; gas bubbles).
HOT_SPOT_VALIDITY_LIMIT_C = 140.0
#: KPI columns computed from the hot spot, flagged when it exceeded the limit.
HOT_SPOT_KPIS: tuple[str, ...] = ("hot_spot_max_c", "aging_h")
#: Marker appended to a flagged value in the printed table.
FLAG = "(!)"
#: Name of the manifest written beside the results (its presence marks a complete set).
MANIFEST = "manifest.json"
#: ``format`` entry of the manifest.
MANIFEST_FORMAT = "thermogrid-results/1"
#: Files a result set written before manifests existed may hold (replaced without a manifest).
_LEGACY_NAMES = ("kpis.csv", "timeseries.csv")
#: Columns of the KPI table that are not KPIs (never printed as table rows).
_NOT_KPIS = frozenset({"controller", "episode", "seed", "start_day", "n_steps", "wall_s"})
#: Below this magnitude a KPI is zero up to solver tolerance (e.g. 1e-9 kWh of curtailment).
_NUMERICAL_ZERO = 1e-6


# ------------------------------------------------------------------------------------ KPI table
def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    mag = abs(value)
    if mag >= 100:
        return f"{value:.1f}"
    if mag >= 1:
        return f"{value:.3f}"
    return "0" if value == 0 else f"{value:.4g}"


def _rel(value: float, base: float) -> str:
    if not (np.isfinite(value) and np.isfinite(base)):
        return "n/a"
    if abs(base) <= _NUMERICAL_ZERO:
        return "±0 %" if abs(value) <= _NUMERICAL_ZERO else "n/a"
    return f"{100.0 * (value - base) / abs(base):+.1f} %"


def _kpi_columns(table: pd.DataFrame) -> dict[str, str]:
    """KPI columns in print order with their units: ``return``, ``score``, the unit-carrying KPIs,
    then any other numeric column (new KPIs are shown without code changes)."""
    units: dict[str, str] = dict(table.attrs.get("units") or KPI_UNITS)
    order = ["return", "score", *units]
    order += [c for c in table.columns if c not in order and pd.api.types.is_numeric_dtype(table[c])]
    return {c: units.get(c, "-") for c in dict.fromkeys(order) if c in table.columns and c not in _NOT_KPIS}


def _means(table: pd.DataFrame) -> pd.DataFrame:
    """The per-controller mean rows (computed if the table has none), in controller order."""
    is_mean = table["episode"].astype(str) == "mean"
    if is_mean.any():
        return table[is_mean].set_index("controller")
    numeric = table.select_dtypes("number").drop(columns=["episode", "seed"], errors="ignore")
    return numeric.groupby(table["controller"], sort=False).mean()


def validity_flags(table: pd.DataFrame, hot_spot_limit_c: float = HOT_SPOT_VALIDITY_LIMIT_C) -> dict[str, set[str]]:
    """Which printed values lie beyond the validity of the model that produced them.

    A controller's ``hot_spot_max_c`` and ``aging_h`` (:data:`HOT_SPOT_KPIS`, those present) are
    flagged when the hot spot of any of its episodes exceeded ``hot_spot_limit_c``: the IEC 60076-7
    model is not valid there (see the module docstring), so its ageing figure is not a loss of life.

    Args:
        table: A KPI table of :func:`thermogrid_env.evaluate` (per-episode rows and/or mean rows).
        hot_spot_limit_c: Validity limit of the hot spot [°C].

    Returns:
        Controller name -> flagged KPI columns (only controllers with a flag).
    """
    if "hot_spot_max_c" not in table.columns:
        return {}
    episodes = table[table["episode"].astype(str) != "mean"]
    rows = episodes if len(episodes) else table
    hot = pd.to_numeric(rows["hot_spot_max_c"], errors="coerce") > hot_spot_limit_c
    flagged = [c for c in HOT_SPOT_KPIS if c in table.columns]
    return {str(name): set(flagged) for name in rows.loc[hot, "controller"].drop_duplicates()}


def format_kpi_table(table: pd.DataFrame) -> str:
    """A markdown table of the mean KPIs per controller, with units, the relative change of every
    controller against the first one and, below it, a footnote on values flagged ``(!)``.

    Rows are ``return``, ``score`` (if present), the KPIs of ``table.attrs["units"]`` (default
    :data:`~thermogrid_env.sim.kpi.KPI_UNITS`) present in the table and any further numeric column.

    Args:
        table: The result of :func:`thermogrid_env.evaluate`.
    """
    means = _means(table)
    kpis = _kpi_columns(table)
    flags = validity_flags(table)
    names = [str(n) for n in means.index]
    header = ["KPI", "unit", names[0], *(f"{n} (Δ vs {names[0]})" for n in names[1:])]

    def cell(name: str, kpi: str, base: float | None) -> str:
        value = float(means.at[name, kpi])
        text = _fmt(value) + (f" {FLAG}" if kpi in flags.get(name, ()) else "")
        return text if base is None else f"{text} ({_rel(value, base)})"

    rows = []
    for kpi, unit in kpis.items():
        base = float(means.at[names[0], kpi])
        rows.append([kpi, unit, cell(names[0], kpi, None), *(cell(n, kpi, base) for n in names[1:])])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if i >= 2 else "-") for i, w in enumerate(widths)) + "|"
    text = "\n".join([line(header), rule, *(line(r) for r in rows)])
    if flags:
        text += (f"\n{FLAG} transformer hot spot above {HOT_SPOT_VALIDITY_LIMIT_C:g} °C in at least one episode "
                 f"({', '.join(sorted(flags))}): outside the validity of the IEC 60076-7 thermal and ageing "
                 "model (its long-time emergency limit; gas bubbles may form), so hot spot and ageing only say "
                 "'far beyond normal operation'.")
    return text


# -------------------------------------------------------------------------------- output files
def holds_results(path: Path) -> bool:
    """Whether a directory holds a ThermoGrid result set (a manifest, or only the files of one)."""
    if (path / MANIFEST).is_file():
        return True
    entries = list(path.iterdir())
    return bool(entries) and all(
        p.is_file() and (p.name in _LEGACY_NAMES or p.suffix.lower() == ".png") for p in entries
    )


def _nearest_existing(path: Path) -> Path:
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def check_output_dir(out: str | Path) -> Path:
    """Validate an output directory before any work, so that a bad one fails at once.

    ``out`` may not exist yet (it and missing parents are created when the results are written),
    or be an empty directory, or hold a previous result set (which a run replaces as a whole). Its
    parent must be a writable directory, since the new set is renamed into place there: checked
    with ``os.access`` and by creating and removing an empty probe directory.

    Args:
        out: The directory given as ``--out``.

    Returns:
        The absolute path (symlinks resolved), where the results will be written.

    Raises:
        ConfigError: ``out`` is empty, an existing file, the current directory or one above it, a
            non-empty directory that holds no result set (it would be replaced), or its parent is
            not a directory or not writable.
    """
    if not str(out).strip():
        raise ConfigError("--out is empty; give a directory for the results.")
    path = Path(out).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory; choose a directory.")
    if path == Path.cwd().resolve() or path in Path.cwd().resolve().parents or path.parent == path:
        raise ConfigError(f"--out {out}: is the current directory, one above it or a root; a run replaces "
                          "the whole directory, so give a subdirectory such as results/.")
    if path.is_dir():
        if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
            raise ConfigError(f"--out {out}: directory is not writable.")
        if any(path.iterdir()) and not holds_results(path):
            raise ConfigError(f"--out {out}: directory is not empty and holds no ThermoGrid results (no "
                              f"{MANIFEST}); a run replaces the whole directory, so choose a new or empty one.")
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise ConfigError(f"--out {out}: {base} is not a directory.")
    if not os.access(base, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: cannot write in {base} (permission denied or read-only).")
    try:  # what os.access cannot see: /proc, some network file systems, quotas
        os.rmdir(tempfile.mkdtemp(prefix=f".{path.name}.probe-", dir=base))
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write in {base} ({exc.strerror or exc}).") from exc
    return path


def package_version(dist: str = "thermogrid-env") -> str:
    """Installed version of a distribution (``"unknown"`` if it is not installed)."""
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def environment_info() -> dict[str, str]:
    """Versions of the package, Python and the numerical libraries, and the platform."""
    return {"thermogrid_env": package_version(), "python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "platform": platform.platform()}


def utc_now() -> str:
    """The current time (UTC) in ISO 8601, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def write_kpis(table: pd.DataFrame, directory: Path) -> Path:
    """Write the KPI table to ``directory/kpis.csv``; returns the path."""
    path = directory / "kpis.csv"
    table.to_csv(path, index=False)
    return path


def write_timeseries(traces: Mapping[str, Sequence[Any]], directory: Path) -> Path:
    """Write every recorded episode (``EpisodeTrace.to_frame``) to ``directory/timeseries.csv``."""
    path = directory / "timeseries.csv"
    frames = [t.to_frame() for runs in traces.values() for t in runs]
    (pd.concat(frames) if frames else pd.DataFrame()).to_csv(path)
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_manifest(directory: Path, manifest: Mapping[str, Any], files: Sequence[Path]) -> Path:
    entries = [{"name": p.relative_to(directory).as_posix(), "bytes": p.stat().st_size, "sha256": _sha256(p)}
               for p in files]
    content = {"format": MANIFEST_FORMAT, **manifest, "finished_utc": utc_now(), "files": entries}
    path = directory / MANIFEST
    path.write_text(json.dumps(content, indent=2, default=str) + "\n", encoding="utf-8")
    return path


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C back over a short critical section; a Ctrl-C in it is raised at its end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    except BaseException:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
        raise
    signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt


def _swap_in(staged: Path, out: Path) -> None:
    """Replace ``out`` by ``staged`` (same parent) with two renames, Ctrl-C held back."""
    with _sigint_held():
        if not out.exists():
            os.rename(staged, out)
            return
        old = out.with_name(f"{out.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(out, old)
        try:
            os.rename(staged, out)
        except BaseException:
            os.rename(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)


def publish(out: Path, write: Callable[[Path], Sequence[Path]], manifest: Mapping[str, Any]) -> list[Path]:
    """Write a result set atomically: ``out`` ends as the new complete set, or stays as it was.

    ``write`` fills a fresh temporary sibling directory ``out.tmp-<pid>``; then ``manifest.json``
    (``manifest`` plus ``format``, ``finished_utc`` and the files with size and SHA-256) is added
    and the directory replaces ``out`` (:func:`_swap_in`). On any error or Ctrl-C before the swap
    the temporary directory is removed and ``out`` is untouched.

    Args:
        out: Output directory, validated by :func:`check_output_dir`.
        write: Writes the result files into the directory it is given and returns their paths.
        manifest: JSON-serialisable description of the run (command, versions, scenario, ...).

    Returns:
        The final paths of the files written (the manifest last).

    Raises:
        ThermoGridError: The files could not be written or renamed (e.g. disk full); ``out`` is unchanged.
        KeyboardInterrupt: Ctrl-C; ``out`` is unchanged and no temporary directory is left.
    """
    staged = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir()
        files = list(write(staged))
        files.append(_write_manifest(staged, manifest, files))
        _swap_in(staged, out)
    except BaseException as exc:
        with _sigint_held():
            shutil.rmtree(staged, ignore_errors=True)
        if isinstance(exc, OSError):
            raise ThermoGridError(f"could not write the results to {out} ({exc}); {out} is unchanged.") from exc
        raise
    return [out / p.relative_to(staged) for p in files]
