"""Package contract: lazy solver imports, errors naming the extra, the registry, timings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from thermogrid_env.errors import ConfigError, MissingExtraError
from thermogrid_env.opf import USER_TERMS, Formulation, build_problem, get_formulation, register, solve_opf
from thermogrid_env.opf.backend import INACCURATE_ACCEPT_TOL, CvxpyModel
from thermogrid_env.opf.problem import solve_problem
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
    with pytest.raises(ConfigError, match=r"objective term.*'happiness'") as err:
        build_problem(data, terms=("cost", "happiness"))
    assert "'cost'" not in str(err.value).split(";")[0]  # only the unknown one is named as such
    # the names of the old objective are gone (one cost model: the reward's term names)
    with pytest.raises(ConfigError, match="energy_cost"):
        build_problem(data, terms=("energy_cost",))


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
    assert set(sol.terms_eur) == set(sol.terms_raw) == set(USER_TERMS)  # every term of the cost model
    assert sol.objective_eur == pytest.approx(sum(sol.terms_eur.values()), rel=1e-12)
    t = sol.timings
    assert t.total_s >= t.build_s + t.compile_s + t.solver_s > 0
    assert "objective" in sol.summary() and "relaxation gap" in sol.summary()
    only_cost = solve_opf(data, terms=("cost",), exactness="off")
    assert set(only_cost.terms_eur) == {"cost"} and only_cost.transformer_loss_of_life_h is None
    assert only_cost.objective_eur == pytest.approx(only_cost.terms_eur["cost"])
    assert only_cost.terms_raw["cost"] <= sol.terms_raw["cost"] + 1e-6  # nothing else to trade off


def test_solver_accuracy_is_reported(feeder):
    data = example_data(feeder, rng=0, n_periods=4, penetration=0.5)
    sol = solve_opf(data, exactness="off")
    assert sol.status == "optimal"
    assert set(sol.solver_accuracy) == {"gap_rel", "res_primal", "res_dual"}
    assert max(sol.solver_accuracy.values()) <= 1e-8


def test_unreachable_tolerance_is_accepted_with_the_reached_accuracy(feeder):
    data = example_data(feeder, rng=0, n_periods=4, penetration=0.5)
    ref = solve_opf(data, exactness="off")
    sol = solve_opf(data, exactness="off", solver_options={"tol_gap_rel": 1e-16, "tol_gap_abs": 1e-16})
    assert sol.status == "optimal_inaccurate"
    assert max(sol.solver_accuracy.values()) <= INACCURATE_ACCEPT_TOL
    note = " ".join(sol.notes)
    assert "relative gap" in note and "accepted" in note
    assert sol.objective_eur == pytest.approx(ref.objective_eur, rel=1e-7)


def test_inaccurate_beyond_the_acceptance_is_resolved_at_default_tolerances(feeder, monkeypatch):
    data = example_data(feeder, rng=0, n_periods=4, penetration=0.5)
    prob = build_problem(data)
    real = CvxpyModel._solve_with
    calls = []

    def first_one_poor(self, solver, verbose, options):
        info = real(self, solver, verbose, options)
        calls.append(dict(options))
        if len(calls) == 1:  # pretend the first solve stopped far from its tolerances
            info.status, info.raw_status = "optimal_inaccurate", "optimal_inaccurate"
            info.accuracy = {**info.accuracy, "gap_rel": 1e-3}
        return info

    monkeypatch.setattr(CvxpyModel, "_solve_with", first_one_poor)
    sol = solve_problem(prob)
    assert len(calls) == 2 and calls[1]["tol_gap_rel"] == 1e-8
    assert sol.status == "optimal"
    assert any("re-solved at Clarabel's default tolerances" in n and "1.0e-03" in n for n in sol.notes)


def test_failed_solve_falls_back_and_says_so(feeder):
    data = example_data(feeder, rng=0, n_periods=4, penetration=0.5)
    sol = solve_problem(build_problem(data), solver_options={"max_iter": 3})
    assert sol.status == "optimal" and sol.solver == "CLARABEL/faer"
    assert any("fell back to CLARABEL-FAER" in n for n in sol.notes)
