"""Tests of ``thermogrid sweep`` / ``thermogrid report`` (:mod:`thermogrid_env.sweep`) on a local Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thermogrid_env.cli import main
from thermogrid_env.errors import ConfigError
from thermogrid_env.sim.kpi import KPI_UNITS
from thermogrid_env.sweep import grid, store
from thermogrid_env.sweep.grid import Cell, parse_days, plan_cells
from thermogrid_env.sweep.report import annual_totals, format_report, read_sweep

SCENARIO = "winter-low-der"  # the smallest preset: 30 % HP/EV, cheapest oracle


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray (2 CPUs, started as a sweep starts it) for the module; run_sweep reuses it."""
    pytest.importorskip("ray")
    pytest.importorskip("pyarrow")
    from thermogrid_env.sweep.runner import ray_session

    with ray_session(2, None) as (ray, _):
        yield ray


# ------------------------------------------------------------------------------ no Ray needed
def test_parse_days_is_every_day_of_the_range() -> None:
    assert parse_days("2016-02-27:2016-03-01") == ["2016-02-27", "2016-02-28", "2016-02-29", "2016-03-01"]
    assert parse_days("2016-12-31") == ["2016-12-31"]
    assert len(parse_days("2016-01-01:2016-12-31")) == 366
    for bad in ("2016-03-01:2016-02-01", "2015-12-31:2016-01-02", "2016-02-30:2016-03-01", "jan", "2016-01-01:",
                "2016-01-01:2016-01-02:2016-01-03"):
        with pytest.raises(ConfigError, match="--days"):
            parse_days(bad)


def test_cells_keys_and_seeds() -> None:
    cells = plan_cells(["a"], ["x", "y"], episodes=2, seed=3, days=["2016-01-01", "2016-12-31"])
    assert [c.key for c in cells[:4]] == [("a", "2016-01-01", 3, "x"), ("a", "2016-01-01", 3, "y"),
                                          ("a", "2016-01-01", 4, "x"), ("a", "2016-01-01", 4, "y")]
    assert Cell("a", "2016-12-31", 3, "x").reset_seed == 3365  # 1000 * seed + day of year (0-based)
    assert Cell("a", None, 3, "x").reset_seed == 3 and Cell("a", None, 3, "x").key == ("a", "", 3, "x")
    scenario = grid.cell_scenario(Cell(SCENARIO, "2016-12-31", 3, "x"), SCENARIO)
    assert (scenario.start_date, scenario.start_hour_local, scenario.community_seed) == ("2016-12-31", 0, 3)


def _row(day: str, controller: str, ret: float, aging: float, status: str = "ok") -> dict:
    kpis = {k: 1.0 for k in KPI_UNITS} | {"aging_h": aging, "losses_kwh": 500.0}
    return {"scenario": SCENARIO, "day": day, "seed": 0, "controller": controller, "status": status,
            "error": "" if status == "ok" else "RuntimeError: x", "start_day": day, "reset_seed": 0,
            "return": ret if status == "ok" else float("nan"), **(kpis if status == "ok" else {}), "n_steps": 96,
            "wall_s": 0.1, "finished_utc": "2026-01-01T00:00:00+00:00"}


def test_report_of_a_whole_year_totals_and_scores(tmp_path, capsys) -> None:
    pytest.importorskip("pyarrow")
    pytest.importorskip("matplotlib")
    out = tmp_path / "year"
    out.mkdir()
    store.record_run(out, {"run_id": "fake"})
    days = parse_days("2016-01-01:2016-12-31")
    rows = [_row(d, c, r, a) for d in days for c, r, a in
            (("uncontrolled", -100.0, 0.02), ("rule_based", -80.0, 0.01), ("oracle", -60.0, 0.005))]
    store.write_batch(out, rows[:600], "fake", 0)
    store.write_batch(out, rows[600:], "fake", 1)
    cells = read_sweep(out)
    assert len(cells) == 3 * 366
    assert np.allclose(cells.loc[cells["controller"] == "rule_based", "score"], 50.0)
    totals = annual_totals(cells).set_index("controller")
    assert totals.loc["uncontrolled", "aging_h"] == pytest.approx(366 * 0.02)
    assert totals.loc["oracle", "losses_mwh"] == pytest.approx(366 * 0.5)
    assert totals.loc["rule_based", "days"] == 366
    assert main(["report", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "366 of 366 days" in stdout and "[h/yr]" in stdout and "partial" not in stdout
    assert (out / "_report" / "monthly.png").stat().st_size > 10_000
    monthly = pd.read_csv(out / "_report" / "monthly.csv")
    assert len(monthly) == 36 and monthly["days"].sum() == 3 * 366


def test_usage_errors_are_one_line_with_exit_code_2(tmp_path, capsys) -> None:
    out = str(tmp_path / "s")
    for argv, text in [
        (["--days", "2016-03-01:2016-02-01"], "end is before the start"),
        (["--days", "2017-01-01:2017-01-02"], "must lie in 2016"),
        (["--scenarios", "nope"], "unknown scenario(s) 'nope'"),
        (["--controllers", "uncontrolled,nope"], "unknown controller(s) 'nope'"),
        (["--workers", "0"], "--workers must be >= 1"),
    ]:
        assert main(["sweep", *argv, "--out", out]) == 2, argv
        err = capsys.readouterr().err
        assert text in err and err.count("\n") == 1, err
    assert not Path(out).exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("not a sweep")
    assert main(["sweep", "--out", str(tmp_path / "other")]) == 2
    assert "not a sweep directory" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_without_ray_the_error_names_the_extra(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert main(["sweep", "--days", "2016-01-01", "--out", str(tmp_path / "s")]) == 1
    assert "[scale]" in capsys.readouterr().err
    code = ("import sys; sys.modules.update(ray=None, pyarrow=None, tqdm=None); "
            "import thermogrid_env, thermogrid_env.sweep, thermogrid_env.cli")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------- on Ray
def test_tiny_sweep_resume_add_controller_and_failing_cell(tmp_path, ray_local) -> None:
    from baselines import registry

    from thermogrid_env.sweep import run_sweep

    out = tmp_path / "sweep"
    days = "2016-01-01:2016-01-02"
    first = run_sweep(out, [SCENARIO], ["uncontrolled", "rule_based"], days=days, workers=2)
    assert (first.planned, first.ran, first.failed) == (4, 4, 0)
    table = pd.read_parquet(out)
    assert len(table) == 4 and set(table["status"]) == {"ok"}
    assert set(table["day"]) == {"2016-01-01", "2016-01-02"} and (table["start_day"] == table["day"]).all()
    for col in ["scenario", "seed", "controller", "return", "wall_s", "error", *KPI_UNITS]:
        assert col in table.columns, col
    assert table[["return", *KPI_UNITS]].notna().all().all() and (table["n_steps"] == 96).all()
    stored = table.sort_values(["day", "controller"]).reset_index(drop=True)

    again = run_sweep(out, [SCENARIO], ["uncontrolled", "rule_based"], days=days, workers=2)
    assert (again.already_done, again.ran) == (4, 0)

    # one oracle cell: only its cell runs; then day 1 has scores
    added = run_sweep(out, [SCENARIO], ["uncontrolled", "rule_based", "oracle"], days="2016-01-01", workers=2)
    assert (added.planned, added.already_done, added.ran, added.failed) == (3, 2, 1, 0)
    cells = read_sweep(out)
    day1 = cells[cells["day"] == "2016-01-01"].set_index("controller")["score"]
    assert day1["uncontrolled"] == 0.0 and day1["oracle"] == pytest.approx(100.0)
    assert 0.0 < day1["rule_based"] < 100.0
    assert cells.loc[cells["day"] == "2016-01-02", "score"].isna().all()
    again = pd.read_parquet(out).sort_values(["day", "controller"])
    pd.testing.assert_frame_equal(again[again["controller"] != "oracle"].reset_index(drop=True), stored)

    # a controller registered in this process whose factory raises: recorded, the others kept
    def boom():
        raise RuntimeError("boom factory")

    registry.register("boom", boom, overwrite=True)
    controllers = {"uncontrolled": None, "rule_based": None, "boom": registry.get_factory("boom")}
    failing = run_sweep(out, [SCENARIO], controllers, days="2016-01-01:2016-01-03", workers=2)
    assert (failing.ran, failing.failed) == (5, 3)  # day 3's two cells, three boom cells
    cells = read_sweep(out)
    boom_rows = cells[cells["controller"] == "boom"]
    assert len(boom_rows) == 3 and set(boom_rows["status"]) == {"failed"}
    assert boom_rows["error"].str.contains("RuntimeError: boom factory").all()
    assert (cells.loc[cells["controller"] != "boom", "status"] == "ok").all() and len(cells) == 10
    # failed cells are retried; still one row per cell in the files
    retry = run_sweep(out, [SCENARIO], controllers, days="2016-01-01:2016-01-03", workers=2)
    assert (retry.already_done, retry.ran, retry.failed) == (6, 3, 3)
    assert len(pd.read_parquet(out)) == 10 and len(list(out.glob("part-*.parquet"))) == 1

    # thermogrid report on a partial year
    assert main(["report", str(out)]) == 0
    assert (out / "_report" / "monthly.png").exists()
    report = format_report(cells, out)
    assert "3 of 366 days" in report and "partial year" in report and "boom factory" in report


def test_workers_use_one_thread_at_normal_priority(ray_local) -> None:
    @ray_local.remote(num_cpus=1)
    def caps():
        return {k: os.environ.get(k) for k in grid.THREAD_ENV}, os.nice(0)

    threads, niceness = ray_local.get(caps.remote())
    assert set(threads.values()) == {"1"} and niceness == os.nice(0)


def test_killed_sweep_resumes_losing_at_most_the_running_cells(tmp_path, ray_local) -> None:
    from thermogrid_env.sweep import run_sweep

    out = tmp_path / "killed"
    days = "2016-01-01:2016-02-29"  # 120 cheap cells
    argv = [sys.executable, "-m", "thermogrid_env.cli", "sweep", "--scenarios", SCENARIO, "--controllers",
            "uncontrolled,rule_based", "--days", days, "--workers", "1", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("part-*.parquet")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    stored = pd.read_parquet(out)
    assert 0 < len(stored) < 120 and not stored.duplicated(["day", "controller"]).any()
    resumed = run_sweep(out, [SCENARIO], ["uncontrolled", "rule_based"], days=days, workers=2)
    assert resumed.already_done == len(stored) and resumed.ran == 120 - len(stored)
    final = pd.read_parquet(out)
    assert len(final) == 120 and not final.duplicated(["day", "controller"]).any()
    assert (final["status"] == "ok").all()
