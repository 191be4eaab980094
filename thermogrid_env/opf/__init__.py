"""The SOCP co-optimizer (the oracle): multi-period OPF of feeder, heat pumps, EVs, PV and transformer.

``import thermogrid_env.opf`` needs no solver; cvxpy (extra ``[opf]``) is imported when a convex
formulation is built, casadi (extra ``[nlp]``) for ``"ac-nlp"``. Entry point::

    from thermogrid_env.opf import solve_opf
    sol = solve_opf(data, formulation="distflow-socp")   # data: OPFData (opf.episode builds it)
    sol.hp_p_kw, sol.ev_p_kw, sol.pv_p_kw, sol.pv_q_kvar  # set-points (T, n)
    print(sol.summary())                                  # objective terms, timings, exactness
"""

from thermogrid_env.opf.data import EVInputs, HouseInputs, OPFData, PVInputs, TransformerInputs
from thermogrid_env.opf.exactness import ACCheck, AgingCheck, ExactnessReport
from thermogrid_env.opf.formulations import FORMULATIONS, Formulation, get_formulation, register
from thermogrid_env.opf.network import DEFAULT_S_BASE_KVA
from thermogrid_env.opf.objective import TERMS, USER_TERMS
from thermogrid_env.opf.problem import EXACTNESS_POLICIES, OPFProblem, build_problem, solve_opf, solve_problem
from thermogrid_env.opf.solution import OPFSolution, Timings

__all__ = [
    "ACCheck",
    "AgingCheck",
    "DEFAULT_S_BASE_KVA",
    "EVInputs",
    "EXACTNESS_POLICIES",
    "ExactnessReport",
    "FORMULATIONS",
    "Formulation",
    "HouseInputs",
    "OPFData",
    "OPFProblem",
    "OPFSolution",
    "PVInputs",
    "TERMS",
    "TransformerInputs",
    "Timings",
    "USER_TERMS",
    "build_problem",
    "get_formulation",
    "register",
    "solve_opf",
    "solve_problem",
]
