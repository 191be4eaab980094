"""Result sets of :mod:`thermogrid_env.results`: validity flags, output checks, atomic publishing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
from pathlib import Path

import pytest
from test_plotting import fake_table, fake_traces

from thermogrid_env import results
from thermogrid_env.errors import ConfigError, ThermoGridError
from thermogrid_env.results import (
    HOT_SPOT_VALIDITY_LIMIT_C,
    check_output_dir,
    format_kpi_table,
    publish,
    validity_flags,
)
from thermogrid_env.sim.kpi import KPI_UNITS


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.parent.iterdir() if p.name.startswith(f"{directory.name}."))


@pytest.fixture
def previous(tmp_path) -> Path:
    """A previous complete result set."""
    out = tmp_path / "results"
    publish(out, lambda d: [_write(d / "kpis.csv", "old kpis\n"), _write(d / "ghost_episode0.png", "old png")],
            {"command": "previous"})
    return out


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------- validity flags
def test_hot_spot_beyond_the_model_validity_flags_hot_spot_and_aging() -> None:
    table = fake_table(episodes=2)
    assert validity_flags(table) == {}
    table.loc[(table["controller"] == "uncontrolled") & (table["episode"] == 1), "hot_spot_max_c"] = 161.0
    assert validity_flags(table) == {"uncontrolled": {"hot_spot_max_c", "aging_h"}}  # one episode is enough
    assert validity_flags(table, hot_spot_limit_c=170.0) == {}
    assert validity_flags(table.drop(columns=["hot_spot_max_c"])) == {}
    assert HOT_SPOT_VALIDITY_LIMIT_C == 140.0


def test_flagged_values_carry_a_mark_and_a_footnote() -> None:
    table = fake_table()
    assert "(!)" not in format_kpi_table(table)
    table.loc[table["controller"] == "uncontrolled", ["hot_spot_max_c", "aging_h"]] = [171.0, 61930.0]
    text = format_kpi_table(table)
    aging = next(line for line in text.splitlines() if line.startswith("| aging_h"))
    assert "61930.0 (!)" in aging and "2.000 (" in aging  # rule_based's value is not flagged
    assert "171.0 (!)" in text
    footnote = text.splitlines()[-1]
    assert footnote.startswith("(!)") and "140 °C" in footnote and "IEC 60076-7" in footnote


def test_table_rows_follow_the_columns_not_a_fixed_list() -> None:
    table = fake_table().rename(columns={"cost_eur": "energy_cost_eur"})
    table["score"] = [0.0, 0.0, 55.0, 55.0]
    table["new_kpi"] = 3.0
    table.attrs["units"] = {**{k: u for k, u in KPI_UNITS.items() if k != "cost_eur"}, "energy_cost_eur": "EUR"}
    names = [line.split("|")[1].strip() for line in format_kpi_table(table).splitlines()[2:]]
    assert names[:2] == ["return", "score"] and "energy_cost_eur" in names and names[-1] == "new_kpi"
    assert "cost_eur" not in names and "wall_s" not in names and "n_steps" not in names
    del table.attrs["units"]  # e.g. after a CSV round trip: units from KPI_UNITS, "-" for the rest
    rows = [line.split("|") for line in format_kpi_table(table).splitlines()[2:]]
    cells = {row[1].strip(): row[2].strip() for row in rows}
    assert cells["energy_cost_eur"] == "-" and cells["aging_h"] == "h"


# ----------------------------------------------------------------------------------- --out checks
def test_output_dir_checks(tmp_path, monkeypatch) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        check_output_dir(a_file)
    with pytest.raises(ConfigError, match="not a directory"):
        check_output_dir(a_file / "sub")
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="holds no ThermoGrid results"):
        check_output_dir(foreign)
    monkeypatch.chdir(foreign)
    with pytest.raises(ConfigError, match="current directory"):
        check_output_dir(".")
    assert check_output_dir(tmp_path / "new" / "nested") == (tmp_path / "new" / "nested").resolve()
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in ("kpis.csv", "timeseries.csv", "a_episode0.png"):
        (legacy / name).write_text("x")
    assert check_output_dir(legacy) == legacy.resolve()  # a set written before manifests existed
    def no_probe(**kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(results.tempfile, "mkdtemp", no_probe)  # what os.access cannot see (e.g. /proc)
    with pytest.raises(ConfigError, match="cannot write in .*Permission denied"):
        check_output_dir(tmp_path / "results")
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # e.g. read-only (root ignores chmod)
    with pytest.raises(ConfigError, match="cannot write in|not writable"):
        check_output_dir(tmp_path / "results")


# ------------------------------------------------------------------------------------- publishing
def test_publish_replaces_the_whole_set_and_writes_the_manifest(previous) -> None:
    table, traces = fake_table(), fake_traces()
    written = publish(previous, lambda d: [results.write_kpis(table, d), results.write_timeseries(traces, d)],
                      {"command": "thermogrid compare", "episodes": 1})
    assert [p.name for p in written] == ["kpis.csv", "timeseries.csv", "manifest.json"]
    assert sorted(p.name for p in previous.iterdir()) == ["kpis.csv", "manifest.json", "timeseries.csv"]
    manifest = json.loads((previous / "manifest.json").read_text())
    assert manifest["format"] == "thermogrid-results/1" and manifest["command"] == "thermogrid compare"
    assert manifest["finished_utc"].endswith("+00:00")
    for entry in manifest["files"]:
        data = (previous / entry["name"]).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert _leftovers(previous) == []


def test_interruption_while_writing_keeps_the_previous_set(previous) -> None:
    before = _snapshot(previous)

    def write(directory: Path) -> list[Path]:
        kpis = _write(directory / "kpis.csv", "controller\n")  # the header-only file of the issue
        raise KeyboardInterrupt
        return [kpis]  # pragma: no cover

    with pytest.raises(KeyboardInterrupt):
        publish(previous, write, {})
    assert _snapshot(previous) == before
    assert _leftovers(previous) == []


def test_interruption_between_the_renames_restores_the_previous_set(previous, monkeypatch) -> None:
    before = _snapshot(previous)
    real_rename, calls = os.rename, []

    def rename(src, dst) -> None:
        calls.append(Path(dst).name)
        if len(calls) == 2:  # old set moved aside, new set about to move in
            raise KeyboardInterrupt
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        publish(previous, lambda d: [_write(d / "kpis.csv", "new")], {})
    assert _snapshot(previous) == before
    assert _leftovers(previous) == []


def test_write_failure_is_a_thermogrid_error_and_keeps_the_previous_set(previous) -> None:
    before = _snapshot(previous)

    def write(directory: Path) -> list[Path]:
        raise OSError(28, "No space left on device")

    with pytest.raises(ThermoGridError, match="No space left.*unchanged"):
        publish(previous, write, {})
    assert _snapshot(previous) == before and _leftovers(previous) == []


def test_ctrl_c_is_held_back_over_the_swap() -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with results._sigint_held():
            os.kill(os.getpid(), signal.SIGINT)
            reached.append(True)  # the signal did not interrupt the critical section
    assert reached == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
