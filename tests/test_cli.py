"""End-to-end tests of the ``thermogrid`` command line."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

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


def test_powerflow_of_a_real_day(capsys) -> None:
    assert main(["powerflow", "--feeder", "simbench-semiurb4", "--day", "2016-01-15"]) == 0
    stdout = capsys.readouterr().out
    assert "min voltage" in stdout and "max line loading" in stdout and "losses" in stdout


def test_errors_of_the_library_exit_1(capsys) -> None:
    assert main(["powerflow", "--feeder", "no-such-feeder"]) == 1
    assert "no-such-feeder" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["compare", "--help"], ["scenarios", "--help"], ["powerflow", "--help"]])
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
