"""Smoke run of ``benchmarks/formulations.py --quick`` (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_formulations_benchmark_quick(tmp_path):
    pytest.importorskip("casadi")
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "formulations.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| semiurb4 |")]
    assert len(rows) == 10  # 2 penetrations x 5 variants
    assert all("| failed |" not in r for r in rows)
    assert (tmp_path / "formulations.csv").is_file()
    assert (tmp_path / "formulations.png").is_file()
