"""Where the oracle's solve time goes: the interior-point KKT system and its factorisation.

The oracle's conic problem (``distflow-socp`` of one ``winter-high-der`` day, as the environment
draws it) is handed to Clarabel directly, so the solver's own time per iteration is measured
without cvxpy around it, for each of Clarabel's factorisations (QDLDL, faer). Other open conic
solvers are timed on the same data when installed (``ecos``, ``qoco``: optional, not project
dependencies). Then the KKT matrix ``[[I, Aᵀ], [A, W]]`` (``W`` the cones' diagonal blocks) is
analysed symbolically: the flops of an ``LDLᵀ`` factorisation and its widest column for the
approximate-minimum-degree ordering that QDLDL uses (``cvxopt.amd``, optional) and for METIS
nested dissection (``pymetis``, optional), the best general-purpose ordering at hand, with
Clarabel's time, for the problem as solved and with device groups left out (EVs, PV, the
transformer-aging term, all three, the heat-pump houses): what each one's coupling costs.

Usage::

    python benchmarks/oracle_kkt.py              # winter-high-der, seed 0
    python benchmarks/oracle_kkt.py --seed 1 --preset winter-low-der

Optional extras for the full table: ``pip install ecos qoco cvxopt pymetis`` (left out rows say so).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from thermogrid_env.config import get_scenario
from thermogrid_env.opf.backend import CLARABEL_DEFAULTS, OBJECTIVE_SCALE
from thermogrid_env.opf.episode import opf_data_from_episode
from thermogrid_env.opf.problem import build_problem
from thermogrid_env.sim.episode import sample_episode


def conic_data(preset: str, seed: int, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The oracle's problem as cvxpy hands it to Clarabel (``P``, ``c``, ``A``, ``b``, ``dims``).

    Args:
        preset: Scenario preset.
        seed: Episode seed.
        drop: Device groups to leave out, as fields of ``OPFData`` (``"houses"``, ``"evs"``,
            ``"pvs"``, ``"transformer"``: the heat-pump houses, EVs, PV, transformer aging).
    """
    import cvxpy as cp  # noqa: PLC0415

    episode = sample_episode(get_scenario(preset), np.random.default_rng(seed))
    opf_data = dataclasses.replace(opf_data_from_episode(episode), **dict.fromkeys(drop))
    m = build_problem(opf_data).model
    problem = cp.Problem(cp.Minimize(OBJECTIVE_SCALE * m._objective), m.constraints)  # noqa: SLF001
    data, _, _ = problem.get_problem_data(cp.CLARABEL)
    return data


#: Problem variants of the second table: label -> device groups left out.
VARIANTS = {"as solved": (), "without EVs": ("evs",), "without PV": ("pvs",),
            "without transformer aging": ("transformer",), "houses and network only": ("evs", "pvs", "transformer"),
            "without the heat-pump houses": ("houses",)}


def time_clarabel(data: dict[str, Any], method: str, threads: int = 0) -> tuple[float, int, str] | None:
    """Clarabel's solve time [s], iterations and status with one factorisation method.

    Args:
        data: Conic data from :func:`conic_data`.
        method: ``direct_solve_method`` (``"qdldl"``, ``"faer"``, ``"mkl"``).
        threads: ``max_threads`` (0: Clarabel's choice; used by faer).

    Returns:
        ``None`` when this Clarabel build does not offer ``method`` (e.g. MKL Pardiso in the PyPI wheel).
    """
    import clarabel  # noqa: PLC0415
    from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import dims_to_solver_cones  # noqa: PLC0415

    n = data["c"].size
    p = sp.triu(data["P"]).tocsc() if data.get("P") is not None else sp.csc_matrix((n, n))
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.direct_solve_method = method
    settings.max_threads = threads
    for key, value in CLARABEL_DEFAULTS.items():
        setattr(settings, key, value)
    try:
        solver = clarabel.DefaultSolver(p, data["c"], data["A"], data["b"], dims_to_solver_cones(data["dims"]),
                                        settings)
    except Exception as exc:  # Clarabel raises a plain Exception for a solver missing from its build
        if "not available" in str(exc):
            return None
        raise
    t0 = time.perf_counter()
    result = solver.solve()
    return time.perf_counter() - t0, int(result.iterations), str(result.status)


def time_other(data: dict[str, Any], name: str) -> tuple[float, int, str] | None:
    """ECOS or QOCO on the same data (``None`` if not installed or the problem has other cones)."""
    if importlib.util.find_spec(name) is None or data["dims"].exp or data["dims"].p3d:
        return None
    a, b, c, dims = sp.csc_matrix(data["A"]), data["b"], data["c"], data["dims"]
    nz = dims.zero
    a_eq, b_eq, g, h = a[:nz], b[:nz], a[nz:], b[nz:]
    t0 = time.perf_counter()
    if name == "ecos":
        import ecos  # noqa: PLC0415

        r = ecos.solve(c, g, h, {"l": dims.nonneg, "q": list(dims.soc)}, a_eq, b_eq, verbose=False,
                       abstol=1e-9, reltol=1e-9, feastol=1e-8)
        return time.perf_counter() - t0, int(r["info"]["iter"]), str(r["info"]["infostring"])
    import qoco  # noqa: PLC0415

    solver = qoco.QOCO()
    solver.setup(c.size, dims.nonneg + sum(dims.soc), nz, sp.csc_matrix((c.size, c.size)), c, a_eq, b_eq, g, h,
                 dims.nonneg, len(dims.soc), np.array(dims.soc), verbose=0, abstol=1e-9, reltol=1e-9)
    r = solver.solve()
    return time.perf_counter() - t0, int(r.iters), str(r.status)


def kkt_pattern(data: dict[str, Any]) -> sp.csc_matrix:
    """Symmetric pattern of the KKT matrix ``[[I, Aᵀ], [A, W]]`` with dense blocks per cone."""
    a = sp.csc_matrix(data["A"])
    dims = data["dims"]
    n = a.shape[1]
    blocks = [sp.eye(dims.zero + dims.nonneg)] + [np.ones((k, k)) for k in dims.soc]
    blocks += [np.ones((3, 3))] * (dims.exp or 0)
    w = sp.block_diag(blocks, format="csc")
    k = sp.bmat([[sp.eye(n), a.T], [a, w]], format="csc")
    k = (abs(k) + sp.eye(k.shape[0])).tocsc()
    k.data[:] = 1.0
    return k


def symbolic_counts(k: sp.csc_matrix, perm: np.ndarray) -> tuple[float, float, int]:
    """``(nnz(L), flops, largest column)`` of the ``LDLᵀ`` factor of ``k[perm][:, perm]``."""
    kp = sp.csc_matrix(k[perm][:, perm])
    kp.sort_indices()
    counts = _column_counts(kp.indptr.astype(np.int64), kp.indices.astype(np.int64), kp.shape[0]) - 1
    c = counts.astype(float)
    return float(c.sum()), float((c**2).sum()), int(c.max())


def _column_counts_py(indptr: np.ndarray, indices: np.ndarray, n: int) -> np.ndarray:
    """Column counts of the Cholesky factor (elimination tree + row subtrees), pure Python."""
    parent = np.full(n, -1, dtype=np.int64)
    ancestor = np.full(n, -1, dtype=np.int64)
    for col in range(n):
        for p in range(indptr[col], indptr[col + 1]):
            i = indices[p]
            while i != -1 and i < col:
                nxt = ancestor[i]
                ancestor[i] = col
                if nxt == -1:
                    parent[i] = col
                i = nxt
    counts = np.ones(n, dtype=np.int64)
    mark = np.full(n, -1, dtype=np.int64)
    for col in range(n):
        mark[col] = col
        for p in range(indptr[col], indptr[col + 1]):
            i = indices[p]
            while i < col and mark[i] != col:
                counts[i] += 1
                mark[i] = col
                i = parent[i]
    return counts


try:  # the loops are ~100x faster compiled; numba is the [fast] extra
    import numba

    _column_counts = numba.njit(cache=False)(_column_counts_py)
except ImportError:  # pragma: no cover - pure-Python fallback
    _column_counts = _column_counts_py


def orderings(k: sp.csc_matrix) -> dict[str, np.ndarray | None]:
    """AMD (QDLDL's ordering) and METIS nested dissection, where the packages are installed."""
    out: dict[str, np.ndarray | None] = {"AMD (QDLDL's)": None, "METIS nested dissection": None}
    coo = k.tocoo()
    if importlib.util.find_spec("cvxopt") is not None:
        from cvxopt import amd, spmatrix  # noqa: PLC0415

        pattern = spmatrix(1.0, coo.row.tolist(), coo.col.tolist(), k.shape)
        out["AMD (QDLDL's)"] = np.array(list(amd.order(pattern)), dtype=np.int64)
    if importlib.util.find_spec("pymetis") is not None:
        import pymetis  # noqa: PLC0415

        adj = sp.csr_matrix(k - sp.diags(k.diagonal()))
        adj.eliminate_zeros()
        perm, _ = pymetis.nested_dissection(adjacency=pymetis.CSRAdjacency(adj.indptr, adj.indices))
        out["METIS nested dissection"] = np.asarray(perm, dtype=np.int64)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="winter-high-der")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    data = conic_data(args.preset, args.seed)
    m, n = data["A"].shape
    print(f"{args.preset}, seed {args.seed}: {n} variables, {m} conic rows, KKT {n + m} x {n + m}\n")
    print("| solver | solve [s] | iterations | per iteration [ms] | status |")
    print("|---|---:|---:|---:|---|")
    rows = [(f"Clarabel/{method}", time_clarabel(data, method)) for method in ("qdldl", "faer")]
    rows += [("Clarabel/faer, 1 thread", time_clarabel(data, "faer", threads=1)),
             ("Clarabel/mkl (Pardiso)", time_clarabel(data, "mkl"))]
    rows += [(name, time_other(data, name)) for name in ("ecos", "qoco")]
    for name, res in rows:
        if res is None:
            what = "not in this Clarabel build" if name.startswith("Clarabel") else "not installed"
            print(f"| {name} | {what} | | | |")
            continue
        wall, iters, status = res
        print(f"| {name} | {wall:.2f} | {iters} | {1000 * wall / max(iters, 1):.0f} | {status} |")

    print("\n| problem | KKT size | flops AMD (QDLDL's) | flops METIS ND | widest column AMD / ND "
          "| Clarabel [s] | iterations | per iteration [ms] |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, drop in VARIANTS.items():
        variant = conic_data(args.preset, args.seed, drop) if drop else data
        k = kkt_pattern(variant)
        counts = {name: None if perm is None else symbolic_counts(k, perm) for name, perm in orderings(k).items()}
        flops = [f"{c[1]:.3g}" if c else "n/a" for c in counts.values()]
        widest = " / ".join(str(c[2]) if c else "n/a" for c in counts.values())
        wall, iters, _ = time_clarabel(variant, "qdldl")
        print(f"| {label} | {k.shape[0]:,} | {flops[0]} | {flops[1]} | {widest} | {wall:.2f} | {iters} "
              f"| {1000 * wall / max(iters, 1):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
