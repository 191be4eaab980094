"""Pluggable network formulations, registered by key (see :mod:`.base`).

Importing this package registers ``"distflow-socp"``, ``"bim-socp"``, ``"lindistflow"`` and
``"ac-nlp"``; none of them imports cvxpy or casadi until a model is built.
"""

from thermogrid_env.opf.formulations import ac_nlp, bim_socp, distflow_socp, lindistflow  # noqa: F401
from thermogrid_env.opf.formulations.base import (
    FORMULATIONS,
    Formulation,
    NetworkState,
    get_formulation,
    register,
)

__all__ = ["FORMULATIONS", "Formulation", "NetworkState", "get_formulation", "register"]
