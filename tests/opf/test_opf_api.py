"""Package contract: lazy solver imports, errors naming the extra, the registry, timings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from thermogrid_env.errors import ConfigError, MissingExtraError
from thermogrid_env.opf import Formulation, build_problem, get_formulation, register, solve_opf
from thermogrid_env.opf.synthetic import example_data


def test_importing_the_package_does_not_import_solvers():
    code = ("import sys, thermogrid_env, thermogrid_env.opf; "
            "print('cvxpy' in sys.modules, 'casadi' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_missing_cvxpy_names_the_extra(feeder, monkeypatch):
    data = example_data(feeder, rng=0, n_periods=2, penetration=0.1)
    monkeypatch.setitem(sys.modules, "cvxpy", None)  # makes `import cvxpy` fail
    with pytest.raises(MissingExtraError, match=r"thermogrid-env\[opf\]"):
        build_problem(data)


def test_unknown_keys_are_config_errors(feeder):
    data = example_data(feeder, rng=0, n_periods=2, penetration=0.1)
    with pytest.raises(ConfigError, match="distflow-socp"):
        get_formulation("distflow")
    with pytest.raises(ConfigError, match="exactness"):
        solve_opf(data, exactness="sometimes")
    with pytest.raises(ConfigError, match="objective term"):
        build_problem(data, terms=("energy_cost", "happiness"))


def test_a_new_formulation_is_one_registered_class(feeder):
    from thermogrid_env.opf.formulations.distflow_socp import DistFlowSOCP

    @register
    class Quadratic(DistFlowSOCP):  # the same cone, registered under another key
        key = "test-distflow-copy"

    data = example_data(feeder, rng=0, n_periods=2, penetration=0.1)
    a = solve_opf(data, "test-distflow-copy", exactness="off")
    b = solve_opf(data, "distflow-socp", exactness="off")
    assert a.objective_eur == pytest.approx(b.objective_eur, rel=1e-9)
    assert isinstance(get_formulation("test-distflow-copy"), Formulation)


def test_solution_reports_terms_and_timings(feeder):
    data = example_data(feeder, rng=0, n_periods=4, penetration=0.5)
    sol = solve_opf(data)
    assert set(sol.terms_eur) >= {"energy_cost", "comfort", "ev_shortfall", "curtailment", "transformer_aging"}
    t = sol.timings
    assert t.total_s >= t.build_s + t.compile_s + t.solver_s > 0
    assert "objective" in sol.summary() and "relaxation gap" in sol.summary()
    only_energy = solve_opf(data, terms=("energy_cost",), exactness="off")
    assert set(only_energy.terms_eur) == {"energy_cost"}
