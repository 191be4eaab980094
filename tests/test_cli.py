"""End-to-end tests of the ``thermogrid`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_plotting import fake_table, fake_traces

from thermogrid_env import results
from thermogrid_env.cli import format_kpi_table, main
from thermogrid_env.config import PRESETS
from thermogrid_env.sim.kpi import KPI_UNITS


def test_compare_writes_table_csv_and_plots(tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "results"
    code = main(["compare", "--scenario", "winter-high-der", "--episodes", "1",
                 "--controllers", "uncontrolled,rule_based", "--seed", "0", "--out", str(out)])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "rule_based (Δ vs uncontrolled)" in stdout
    for kpi, unit in KPI_UNITS.items():
        assert any(kpi in line and unit in line for line in stdout.splitlines()), kpi
    table = pd.read_csv(out / "kpis.csv")
    assert list(table["controller"]) == ["uncontrolled", "uncontrolled", "rule_based", "rule_based"]
    assert list(table["episode"].astype(str)) == ["0", "mean", "0", "mean"]
    assert (out / "timeseries.csv").exists()
    for name in ("uncontrolled_episode0.png", "rule_based_episode0.png", "comparison_episode0.png"):
        assert (out / name).stat().st_size > 10_000
    manifest = json.loads((out / "manifest.json").read_text())
    listed = sorted(f["name"] for f in manifest["files"])
    assert listed == sorted(p.name for p in out.iterdir() if p.name != "manifest.json")


def test_unknown_controller_exits_2_listing_the_available_ones(tmp_path, capsys) -> None:
    code = main(["compare", "--controllers", "uncontrolled,nope", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "'nope'" in err and "uncontrolled" in err and "rule_based" in err
    assert not (tmp_path / "kpis.csv").exists()


def test_jobs_below_one_is_a_usage_error(tmp_path, capsys) -> None:
    assert main(["compare", "--jobs", "0", "--out", str(tmp_path)]) == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err


def test_scenarios_lists_every_preset(capsys) -> None:
    assert main(["scenarios"]) == 0
    stdout = capsys.readouterr().out
    for name, scenario in PRESETS.items():
        assert name in stdout and scenario.feeder in stdout
    assert main(["list", "scenarios"]) == 0
    assert capsys.readouterr().out == stdout  # `scenarios` is an alias


def test_powerflow_of_a_real_day(capsys) -> None:
    assert main(["powerflow", "--feeder", "simbench-semiurb4", "--day", "2016-01-15"]) == 0
    stdout = capsys.readouterr().out
    assert "min voltage" in stdout and "max line loading" in stdout and "losses" in stdout


def test_errors_of_the_library_exit_1(capsys) -> None:
    assert main(["powerflow", "--feeder", "no-such-feeder"]) == 1
    assert "no-such-feeder" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["compare", "--help"], ["list", "--help"], ["scenarios", "--help"],
                                  ["powerflow", "--help"]])
def test_help_everywhere(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "usage: thermogrid" in capsys.readouterr().out


def test_module_entry_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "thermogrid_env.cli", "scenarios"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "winter-high-der" in proc.stdout


def test_kpi_table_relative_change() -> None:
    rows = [{"controller": "a", "episode": "mean", "return": -10.0, **{k: 2.0 for k in KPI_UNITS}},
            {"controller": "b", "episode": "mean", "return": -5.0, **{k: 1.0 for k in KPI_UNITS}}]
    table = pd.DataFrame(rows)
    table.attrs["units"] = dict(KPI_UNITS)
    text = format_kpi_table(table)
    assert "-50.0 %" in text and "+50.0 %" in text  # KPIs halve; the (negative) return rises
    table.loc[0, "aging_h"] = 0.0
    assert "n/a" in format_kpi_table(table)


# ------------------------------------------------------------- compare on fake results (no episodes played)
@pytest.fixture
def fake_evaluate(monkeypatch):
    """Replace the KPI harness by one returning tiny fake tables and traces; records its calls."""
    calls: list[dict] = []

    def evaluate(controllers, scenario, episodes, seed, progress, record, jobs):
        calls.append({"controllers": list(controllers), "episodes": episodes, "seed": seed, "progress": progress,
                      "jobs": jobs})
        names = tuple(controllers)
        return fake_table(names, episodes), fake_traces(names, episodes)

    monkeypatch.setattr("thermogrid_env.evaluation.evaluate", evaluate)
    return calls


def _compare(out: Path, *extra: str) -> int:
    return main(["compare", "--controllers", "uncontrolled,rule_based", "--out", str(out), *extra])


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--seed", "-5", "--seed must be >= 0, got -5"),
    ("--episodes", "0", "--episodes must be >= 1, got 0"),
    ("--jobs", "-1", "--jobs must be >= 1, got -1"),
    ("--plot-episodes", "3", "episode(s) [3] not run"),
    ("--plot-episodes", "x", "--plot-episodes must be"),
])
def test_bad_numbers_are_one_line_usage_errors(tmp_path, capsys, fake_evaluate, option, value, message) -> None:
    assert _compare(tmp_path / "out", option, value) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert fake_evaluate == [] and not (tmp_path / "out").exists()


def test_bad_out_fails_before_any_work(tmp_path, capsys, fake_evaluate) -> None:
    a_file = tmp_path / "results.txt"
    a_file.write_text("x")
    for out, message in ((a_file, "not a directory"), (a_file / "sub", "not a directory")):
        assert _compare(out) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert _compare(foreign) == 2
    assert "holds no ThermoGrid results" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert fake_evaluate == []


def test_compare_writes_a_complete_set_with_manifest(tmp_path, capsys, fake_evaluate) -> None:
    out = tmp_path / "results"
    assert _compare(out, "--episodes", "2", "--seed", "7", "--plot-episodes", "all") == 0
    assert fake_evaluate[0]["progress"] is True  # progress on stderr by default
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["kpis.csv", "timeseries.csv", "manifest.json"] + [
        f"{c}_episode{i}.png" for c in ("uncontrolled", "rule_based", "comparison") for i in (0, 1)])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == (f"thermogrid compare --controllers uncontrolled,rule_based --out {out} "
                                   "--episodes 2 --seed 7 --plot-episodes all")
    assert manifest["thermogrid_env_version"] == results.package_version() != ""
    assert manifest["scenario"]["name"] == "winter-high-der"
    assert manifest["scenario"]["settings"]["feeder"] == PRESETS["winter-high-der"].feeder
    assert manifest["controllers"] == {"uncontrolled": "baselines.uncontrolled:UncontrolledController",
                                       "rule_based": "baselines.rule_based:RuleBasedController"}
    assert manifest["episodes"] == 2 and manifest["seeds"] == [7, 8] and manifest["plot_episodes"] == [0, 1]
    assert manifest["started_utc"] <= manifest["finished_utc"]
    assert manifest["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert manifest["versions"]["numpy"] == np.__version__
    assert sorted(f["name"] for f in manifest["files"]) == [n for n in names if n != "manifest.json"]
    assert "plots: 6/6" in capsys.readouterr().err


def test_quiet_turns_progress_off(tmp_path, capsys, fake_evaluate) -> None:
    assert _compare(tmp_path / "results", "--quiet") == 0
    assert fake_evaluate[0]["progress"] is False
    assert "plots:" not in capsys.readouterr().err


def test_a_new_run_leaves_no_file_of_the_previous_one(tmp_path, fake_evaluate) -> None:
    out = tmp_path / "results"
    assert _compare(out, "--quiet") == 0
    assert main(["compare", "--controllers", "uncontrolled", "--out", str(out), "--no-plots", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["kpis.csv", "manifest.json", "timeseries.csv"]


def test_ctrl_c_while_writing_keeps_the_previous_set(tmp_path, capsys, fake_evaluate, monkeypatch) -> None:
    out = tmp_path / "results"
    assert _compare(out, "--quiet") == 0
    before = _snapshot(out)
    capsys.readouterr()

    def interrupted(traces, directory):  # kpis.csv is already written into the new set
        assert (directory / "kpis.csv").exists()
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "write_timeseries", interrupted)
    assert main(["compare", "--controllers", "rule_based", "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert err == f"thermogrid compare: interrupted: {out} unchanged (previous run kept)\n"
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["results"]  # no temporary directory left


def test_ctrl_c_during_the_evaluation_writes_nothing(tmp_path, capsys, monkeypatch) -> None:
    def evaluate(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("thermogrid_env.evaluation.evaluate", evaluate)
    out = tmp_path / "results"
    assert _compare(out) == 130
    assert capsys.readouterr().err == f"thermogrid compare: interrupted: nothing written to {out}\n"
    assert list(tmp_path.iterdir()) == []


def test_values_beyond_the_model_validity_are_flagged(tmp_path, capsys, monkeypatch) -> None:
    def evaluate(controllers, **kwargs):
        names = tuple(controllers)
        return fake_table(names, hot_spot_c=152.0), fake_traces(names)

    monkeypatch.setattr("thermogrid_env.evaluation.evaluate", evaluate)
    assert _compare(tmp_path / "results", "--no-plots") == 0
    stdout = capsys.readouterr().out
    assert "152.0 (!)" in stdout and "\n(!) transformer hot spot above 140 °C" in stdout


# ---------------------------------------------------------------------------------------------- list
def test_list_controllers_shows_the_entry_points_without_importing_them() -> None:
    code = ("import sys; from thermogrid_env.cli import main; rc = main(['list', 'controllers']); "
            "print('imported:', sorted(m for m in sys.modules if m.startswith('baselines'))); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "baselines.uncontrolled:UncontrolledController" in proc.stdout and "oracle" in proc.stdout
    assert "imported: []" in proc.stdout


def test_list_feeders_with_and_without_feeder_table(capsys, monkeypatch) -> None:
    from thermogrid_env.network import library

    assert main(["list", "feeders"]) == 0
    stdout = capsys.readouterr().out
    assert all(name in stdout for name in library.FEEDERS)
    monkeypatch.delattr(library, "feeder_table", raising=False)
    assert main(["list", "feeders"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("simbench-semiurb4 "))
    assert row.split()[1:5] == ["44", "41", "32", "400"]  # buses, loads, households, transformer kVA
