"""The sweep's Parquet dataset: one row per cell, appended one file per finished batch.

Layout of ``DIR``::

    _sweep.json                    marks a sweep directory; one entry per run (command, counts, times)
    part-<run id>-<batch>.parquet  rows of a batch of finished cells (``part-<run id>-all.parquet``
                                   after the end-of-run compaction)
    .lock                          held (flock) by the run writing to DIR
    _report/                       written by ``thermogrid report``

``pandas.read_parquet(DIR)`` reads the rows (pyarrow skips names starting with ``_`` or ``.``).
Every file is written to a hidden temporary name and renamed into place (``os.replace``), so a
reader never sees half a file, and a killed run leaves only complete files. Every file has the
same explicit schema (:func:`schema`), so files of different runs read as one table.

A cell can have rows in several files: a failed cell run again, or two files during a compaction.
:func:`read_cells` keeps one row per cell key (the newest ``ok`` row, else the newest failed one);
:func:`compact` rewrites the dataset as one file of exactly those rows, at the start and at the end
of every run, so that after a run ``pandas.read_parquet(DIR)`` holds exactly one row per cell.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from thermogrid_env.errors import ConfigError, DataError, ThermoGridError, import_optional
from thermogrid_env.sim.kpi import KPI_UNITS

__all__ = ["FORMAT", "KEY", "MANIFEST", "check_sweep_dir", "compact", "done_keys", "locked", "read_cells",
           "read_raw", "record_run", "schema", "write_batch"]

#: The manifest that marks a sweep directory.
MANIFEST = "_sweep.json"
#: ``format`` entry of the manifest.
FORMAT = "thermogrid-sweep/1"
#: Columns that identify a cell (``day`` is ``""``-equivalent null in seed mode).
KEY: tuple[str, ...] = ("scenario", "day", "seed", "controller")
_STRINGS = ("scenario", "day", "controller", "status", "error", "start_day", "worker", "finished_utc", "run_id")
_INTS = ("seed", "reset_seed", "community_seed", "start_hour_local", "n_steps")
_LOCK = ".lock"


@functools.cache
def _file_mode() -> int:
    """Permissions of a new file under the process umask (mkstemp's are 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def columns() -> list[str]:
    """Column order of the dataset."""
    return ["scenario", "day", "seed", "controller", "status", "error", "start_day", "reset_seed", "community_seed",
            "start_hour_local", "return", *KPI_UNITS, "n_steps", "wall_s", "worker", "finished_utc", "run_id"]


def schema() -> Any:
    """The pyarrow schema of every file (units of the KPIs in its metadata, ``thermogrid.units``)."""
    pa = import_optional("pyarrow", "scale")
    fields = []
    for name in columns():
        kind = pa.string() if name in _STRINGS else pa.int64() if name in _INTS else pa.float64()
        fields.append(pa.field(name, kind))
    meta = {b"thermogrid.format": FORMAT.encode(), b"thermogrid.units": json.dumps(KPI_UNITS).encode()}
    return pa.schema(fields, metadata=meta)


def _value(name: str, value: Any) -> Any:
    missing = value is None or (not isinstance(value, str) and pd.isna(value))
    if name in _STRINGS:
        return None if missing else str(value)
    if name in _INTS:
        return None if missing else int(value)
    return float("nan") if missing else float(value)


def _table(rows: Sequence[Mapping[str, Any]]) -> Any:
    pa = import_optional("pyarrow", "scale")
    return pa.Table.from_pydict({c: [_value(c, r.get(c)) for r in rows] for c in columns()}, schema=schema())


def _write_atomic(table: Any, path: Path) -> None:
    pq = import_optional("pyarrow.parquet", "scale")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_batch(out: Path, rows: Sequence[Mapping[str, Any]], run_id: str, batch: int) -> Path:
    """Write finished cells' rows as ``part-<run_id>-<batch>.parquet`` (atomically); returns the path."""
    path = out / f"part-{run_id}-{batch:05d}.parquet"
    _write_atomic(_table([{**r, "run_id": run_id} for r in rows]), path)
    return path


def _parts(out: Path) -> list[Path]:
    return sorted(p for p in out.glob("part-*.parquet") if p.is_file())


def read_raw(out: str | Path) -> pd.DataFrame:
    """Every stored row of every file (superseded rows included), in the dataset's column order.

    Raises:
        DataError: A file that is not a readable Parquet file.
    """
    pq = import_optional("pyarrow.parquet", "scale")
    pa = import_optional("pyarrow", "scale")
    frames = []
    for order, path in enumerate(_parts(Path(out))):
        try:
            table = pq.read_table(path)
        except Exception as exc:  # noqa: BLE001 - any reader error means the same
            raise DataError(f"{path}: not a readable Parquet file ({exc}); move it away and run again.") from exc
        frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        frame["_order"] = order
        frames.append(frame)
    cols = columns()
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="Int64" if c in _INTS else object if c in _STRINGS else float)
                             for c in [*cols, "_order"]})
    frame = pd.concat(frames, ignore_index=True)
    for c in cols:  # a file from an older version may lack a new KPI
        if c not in frame.columns:
            frame[c] = pd.array([None] * len(frame), dtype="Int64") if c in _INTS else (
                None if c in _STRINGS else float("nan"))
    return frame[[*cols, "_order"]]


def read_cells(out: str | Path) -> pd.DataFrame:
    """One row per cell key: the newest ``ok`` row of the cell, else its newest failed row."""
    raw = read_raw(out)
    if raw.empty:
        return raw.drop(columns="_order")
    raw = raw.assign(_ok=(raw["status"] == "ok").astype(int), _day=raw["day"].fillna(""))
    raw = raw.sort_values(["_ok", "_order", "finished_utc"], kind="stable", na_position="first")
    kept = raw.drop_duplicates(["scenario", "_day", "seed", "controller"], keep="last")
    return kept.sort_index().drop(columns=["_ok", "_day", "_order"]).reset_index(drop=True)


def done_keys(cells: pd.DataFrame) -> set[tuple[str, str, int, str]]:
    """Keys of the cells with status ``ok`` (what a run does not compute again)."""
    ok = cells[cells["status"] == "ok"]
    return {(str(s), "" if pd.isna(d) else str(d), int(e), str(c))
            for s, d, e, c in zip(ok["scenario"], ok["day"], ok["seed"], ok["controller"])}


def compact(out: Path, run_id: str) -> None:
    """Rewrite the dataset as one file of :func:`read_cells` (nothing if it already is one such file).

    The new file is in place before the old ones are removed: a crash in between leaves duplicate
    rows, which :func:`read_cells` and the next compaction drop.
    """
    parts = _parts(out)
    if not parts:
        return
    raw = read_raw(out)
    cells = read_cells(out)
    if len(parts) == 1 and len(cells) == len(raw):
        return
    target = out / f"part-{run_id}-all.parquet"
    cells = cells.assign(_day=cells["day"].fillna("")).sort_values(["scenario", "_day", "seed", "controller"],
                                                                   kind="stable").drop(columns="_day")
    records = cells.astype(object).where(cells.notna(), None).to_dict("records")
    _write_atomic(_table(records), target)
    for p in parts:
        if p != target:
            p.unlink(missing_ok=True)


# ------------------------------------------------------------------------------- directory, lock
def check_sweep_dir(out: str | Path) -> Path:
    """Validate ``--out``: absent, empty, or a sweep directory (with ``_sweep.json``) to resume.

    Raises:
        ConfigError: Empty name, an existing file, a non-empty directory that is not a sweep, or a
            parent that is not a writable directory.
    """
    if not str(out).strip():
        raise ConfigError("--out is empty; give a directory for the sweep")
    path = Path(out).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    if path.is_dir() and any(p.name != _LOCK for p in path.iterdir()) and not (path / MANIFEST).is_file():
        raise ConfigError(f"--out {out}: not empty and not a sweep directory (no {MANIFEST}); "
                          "choose a new or empty directory")
    base = next((p for p in [path, *path.parents] if p.exists()), Path("/"))
    if not base.is_dir() or not os.access(base, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: cannot write in {base}")
    return path


def read_manifest(out: Path) -> dict[str, Any]:
    """The manifest of a sweep directory (a new one if there is none)."""
    path = out / MANIFEST
    if not path.is_file():
        return {"format": FORMAT, "runs": []}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise DataError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def record_run(out: Path, run: Mapping[str, Any]) -> None:
    """Add or update (same ``run_id``) a run's entry in ``_sweep.json``, atomically."""
    manifest = read_manifest(out)
    runs = [r for r in manifest.get("runs", []) if r.get("run_id") != run["run_id"]]
    manifest["runs"] = [*runs, dict(run)]
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST}.", suffix=".tmp", dir=out)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(manifest, indent=2, default=str) + "\n")
    os.chmod(tmp, _file_mode())
    os.replace(tmp, out / MANIFEST)


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``DIR/.lock`` (an exclusive flock) while a run writes; a second run on DIR fails at once.

    Raises:
        ThermoGridError: Another process holds the lock.
    """
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    fh = open(out / _LOCK, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ThermoGridError(f"{out}: another sweep is writing to this directory; wait for it to end") from None
        yield
    finally:
        fh.close()
