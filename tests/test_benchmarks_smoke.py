"""Smoke runs of the benchmark scripts (tiny repeat counts; no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_powerflow_benchmark_quick() -> None:
    pytest.importorskip("pandapower")
    pytest.importorskip("simbench")
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "powerflow.py"), "--quick"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("|")]
    assert lines[0].startswith("| feeder | n_bus | mode |") and "speed-up" in lines[0]
    rows = [line for line in lines[2:] if line.startswith("| semiurb4 |")]
    assert len(rows) == 2 and "single" in rows[0] and "batched 20" in rows[1]


def test_physics_step_benchmark_runs() -> None:
    """Smoke test only: the script runs and prints its table (no timing assertions)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "physics_step.py"
    out = subprocess.run([sys.executable, str(script), "--n", "10", "--repeat", "2"], capture_output=True,
                         text=True, check=True, timeout=300).stdout
    assert "| 10 houses (3R2C + HP) |" in out and "solve_ivp" in out


def test_paper_kpis_benchmark_runs(tmp_path) -> None:
    """Smoke test only: one day of the headline comparison without the oracle (no timing)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "paper_kpis.py"
    out = subprocess.run([sys.executable, str(script), "--quick", "--controllers", "uncontrolled,rule_based",
                          "--out", str(tmp_path)], capture_output=True, text=True, check=True, timeout=300).stdout
    assert "| aging_h | h |" in out and (tmp_path / "headline.csv").is_file()


def _load_benchmark(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_oracle_kkt_fill_counts_match_known_factors() -> None:
    """The symbolic LDLᵀ counts of benchmarks/oracle_kkt.py on matrices with known factors."""
    import numpy as np
    import scipy.sparse as sp

    kkt = _load_benchmark("oracle_kkt")
    n = 6
    identity = np.arange(n)
    dense = sp.csc_matrix(np.ones((n, n)))
    nnz, flops, widest = kkt.symbolic_counts(dense, identity)
    assert (nnz, flops, widest) == (n * (n - 1) / 2, sum(k * k for k in range(n)), n - 1)
    tridiagonal = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n), format="csc")
    assert kkt.symbolic_counts(tridiagonal, identity) == (n - 1, n - 1, 1)
    # An arrow matrix: hub first fills everything, hub last fills nothing.
    arrow = sp.lil_matrix(np.eye(n))
    arrow[0, :] = 1.0
    arrow[:, 0] = 1.0
    arrow = sp.csc_matrix(arrow)
    assert kkt.symbolic_counts(arrow, identity)[0] == n * (n - 1) / 2
    assert kkt.symbolic_counts(arrow, np.r_[1:n, 0])[0] == n - 1


def test_mpc_forecasts_benchmark_quick() -> None:
    """Smoke run of benchmarks/mpc_forecasts.py (one short day; no timing assertions)."""
    pytest.importorskip("cvxpy")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "mpc_forecasts.py"), "--quick", "--jobs", "1"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| controller | weather forecast | score | return |")
    names = [r.split("|")[1].strip() for r in rows[1:]]
    assert names[:4] == ["uncontrolled", "rule-based", "oracle", "mpc, perfect foresight (before)"]
    assert "mpc, causal, comfort margin 0.25 K" in names
    scores = {r.split("|")[1].strip(): float(r.split("|")[3]) for r in rows[1:]}
    assert scores["uncontrolled"] == 0.0 and scores["oracle"] == 100.0


def test_load_forecasts_benchmark_runs() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load_forecasts.py"), "--episodes", "1"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| forecaster | pinball") and len(rows) == 8
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load_forecasts.py"), "--holidays"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "episodes starting on 2016-01-01, 2016-03-25," in out.stdout


def test_rl_ppo_benchmark_quick(tmp_path) -> None:
    """Smoke run of benchmarks/rl_ppo.py (two short training episodes, one evaluation day)."""
    pytest.importorskip("stable_baselines3")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "rl_ppo.py"), "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line.split("|")[1].strip() for line in out.stdout.splitlines() if line.startswith("| ")]
    assert rows[-2:] == ["uncontrolled", "ppo"] and "1-1" in rows
    assert (tmp_path / "ppo.zip").is_file() and len((tmp_path / "training_returns.csv").read_text().splitlines()) == 3


def test_env_throughput_batched_rows() -> None:
    """The batched-env rows of benchmarks/env_throughput.py, in one process and over two workers."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from env_throughput import batched_env
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    for workers in (1, 2):
        ((n, with_resets, stepping, spread, mb),) = batched_env((16,), 1, 1, workers)
        assert n == 16 and with_resets > 0 and stepping > 0 and spread == 0.0 and mb > 0


def test_env_ab_benchmark_against_head() -> None:
    """benchmarks/env_ab.py measures a reference commit (a temporary worktree) against this checkout."""
    import shutil

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "env_ab.py"), "--ref", "HEAD", "--num-envs", "4", "--rounds", "1"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| batched") or line.startswith("| single")]
    assert len(rows) == 3 and all(float(r.rsplit("|", 2)[-2]) > 0 for r in rows)
    worktrees = subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True).stdout
    assert "thermogrid-ab-" not in worktrees  # removed again
