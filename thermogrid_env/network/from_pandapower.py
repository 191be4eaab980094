"""Build a :class:`~thermogrid_env.network.feeder.Feeder` from any radial pandapower net.

pandapower is an optional dependency (extra ``[grid]``) imported only inside
:func:`from_pandapower`. The branch parameters are taken from pandapower's own PYPOWER-case
conversion (``_pd2ppc``, with the transformer model ``runpp`` is asked for: pandapower's default
``"t"`` or ``"pi"``), so lines, 2-winding transformers with their tap and phase shift, impedances,
closed bus-bus switches (fused into one bus, or a small impedance when they have ``z_ohm > 0``),
open switches, shunts (``net.shunt``) and out-of-service elements are treated exactly as pandapower
treats them.

Transformer T model: pandapower turns the T circuit (ideal transformer on the HV side, leakage
impedance split by ``leakage_resistance_ratio_hv``/``leakage_reactance_ratio_hv``, default 0.5,
magnetising admittance in the middle) into its exact pi equivalent by the wye-delta transform
(``_wye_delta``). The feeder's branch model holds that pi exactly: the HV-side shunt behind the
tap as the branch's from-side shunt, the delta's series impedance, and the LV-side shunt (which
differs from the HV-side one when the leakage split is not 0.5) in the child bus's shunt and in
the branch's ``g_to_pu``/``b_to_pu`` (for its LV-side current). This was
chosen over an internal node for the T's midpoint: no extra bus (the feeder keeps the net's buses
and the sweep's cost), and it is the very circuit ``runpp(trafo_model="t")`` solves, so both agree
to the solvers' tolerance.

Element tables that are not imported (static generators, storage, asymmetric loads and
generators, motors, voltage-dependent load shares) are named in a :class:`PandapowerImportWarning`
with what to do about them; elements that the radial PQ model cannot represent at all
(:data:`_UNSUPPORTED`) raise a :class:`ConfigError`. This module then

* folds the line or transformer stubs that pandapower keeps behind an open line switch (or towards
  an out-of-service bus) into an exact equivalent shunt at their live end (their charging current
  still flows in pandapower's power flow);
* checks that every in-service bus is connected to the slack (or drops the isolated ones with a
  warning when asked to) and that the live network is radial, naming the offending buses if not;
* orders the buses breadth-first from the slack (children by ascending pandapower bus index).
"""

from __future__ import annotations

import copy
import warnings
from collections import deque
from typing import Any

import numpy as np

from thermogrid_env.errors import ConfigError, import_optional
from thermogrid_env.network.feeder import Feeder

#: Transformer models of ``pandapower.runpp`` (its default is ``"t"``).
TRAFO_MODELS = ("t", "pi")
# PYPOWER bus types (pandapower.pypower.idx_bus): PV (gen) and NONE (isolated or out of service).
_PV, _REF, _NONE = 2, 3, 4
# In-service elements the radial PQ model cannot represent -> what to tell the user.
_UNSUPPORTED = {
    "trafo3w": "3-winding transformers",
    "gen": "voltage-controlled generators (model them as sgen injections)",
    "ward": "wards (add their PQ part as load and their shunt as net.shunt)",
    "xward": "extended wards",
    "dcline": "DC lines",
    "vsc": "voltage-source converters",
    "svc": "static var compensators",
    "tcsc": "thyristor-controlled series capacitors",
    "ssc": "static synchronous compensators",
}
# In-service elements that are not imported -> (what they are, what to do); see _ignored_elements.
_NOT_IMPORTED = {
    "sgen": (
        "static generators",
        "pass them to the power flow as negative bus loads (p_kw < 0, consumption positive), "
        "e.g. as the PV of a scenario",
    ),
    "storage": (
        "storage units",
        "pass their power to the power flow as bus loads (charging positive)",
    ),
    "asymmetric_load": (
        "asymmetric loads",
        "the feeder model is balanced: add their three-phase totals as net.load rows for a "
        "balanced equivalent",
    ),
    "asymmetric_sgen": (
        "asymmetric static generators",
        "the feeder model is balanced: pass their three-phase totals as negative bus loads",
    ),
    "motor": ("motors", "add their electrical power as net.load rows (or bus loads)"),
}


class PandapowerImportWarning(UserWarning):
    """Parts of a pandapower net that :func:`from_pandapower` does not import (named, with what to
    do). Filter it with ``warnings.filterwarnings("ignore", category=PandapowerImportWarning)``
    once they are handled elsewhere."""


def from_pandapower(
    net: Any,
    name: str = "pandapower",
    s_base_kva: float | None = None,
    *,
    drop_isolated: bool = False,
    trafo_model: str = "t",
) -> Feeder:
    """Convert a radial pandapower net into a :class:`Feeder`.

    Loads (``net.load``, in service, ``p_mw * scaling``) become the feeder's loads, as constant
    power (their ``const_z_*``/``const_i_*`` shares are not kept). Static generators, storage,
    asymmetric loads and generators and motors are not imported (the feeder's loads are the base
    loads that scenarios scale with profiles, so generation is not folded into them): a
    :class:`PandapowerImportWarning` lists each such non-empty, in-service table with what to do;
    pass them to the power flow as (negative) bus loads. Shunts are imported exactly (into the
    bus shunts). The ext_grid's ``va_degree`` is not kept: feeder voltage angles are
    relative to the slack. Bus ids are pandapower bus indices; buses fused by closed bus-bus
    switches are represented by their smallest id and all of them map to it in
    :meth:`Feeder.bus_index`.

    Args:
        net: A ``pandapowerNet`` with exactly one in-service external grid (the slack), lines,
            2-winding transformers, bus-bus switches and loads.
        name: Name given to the feeder.
        s_base_kva: Power base [kVA]; default ``net.sn_mva * 1000``.
        drop_isolated: What to do with in-service buses that no in-service path connects to the
            slack (pandapower would return NaN for them): ``False`` (default) raises a
            :class:`ConfigError` naming them; ``True`` drops them, and the loads on them, with a
            warning.
        trafo_model: Transformer equivalent circuit, as ``runpp``'s option of that name:
            ``"t"`` (pandapower's default; imported exactly as its wye-delta pi equivalent, see
            the module docstring) or ``"pi"``. The result matches ``runpp`` run with the same
            model.

    Returns:
        The feeder in topological order from the slack bus, with loads attached
        (``load_profile`` from a ``profile`` column when the net has one, as SimBench nets do).

    Raises:
        MissingExtraError: pandapower is not installed.
        ConfigError: The net is meshed or disconnected (the message names the buses), has no or
            several slacks, or holds elements that the radial model cannot represent
            (3-winding transformers, gens, wards, impedances with asymmetric parameters, a
            transformer fed from its tap side), or ``trafo_model`` is unknown.

    Warns:
        PandapowerImportWarning: For in-service elements that are not imported (see above).
    """
    import_optional("pandapower", "grid")
    from pandapower.pypower import idx_brch, idx_bus  # noqa: PLC0415

    if trafo_model not in TRAFO_MODELS:
        raise ConfigError(
            f"{name}: trafo_model must be one of {TRAFO_MODELS}, got {trafo_model!r}."
        )
    _check_elements(net, name)
    ignored = _ignored_elements(net)
    if ignored:
        warnings.warn(
            f"{name}: not imported: " + "; ".join(ignored) + ".", PandapowerImportWarning,
            stacklevel=2,
        )
    net = copy.deepcopy(net)  # _pd2ppc writes lookups and options into the net
    bus, branch, sbase_kva = _to_ppc(net, trafo_model)
    s_base = sbase_kva if s_base_kva is None else float(s_base_kva)
    if not s_base > 0:
        raise ConfigError(f"{name}: s_base_kva must be > 0, got {s_base}.")
    n_ppc = bus.shape[0]

    # pandapower bus id(s) of each ppc bus; ppc buses without one are pandapower's aux buses.
    lookup = np.asarray(net._pd2ppc_lookups["bus"])
    pp_ids = net.bus.index.to_numpy(dtype=np.int64)
    ppc_of_pp = lookup[pp_ids]
    rep = np.full(n_ppc, -1, dtype=np.int64)  # smallest pandapower id of each ppc bus
    for pid, pb in sorted(zip(pp_ids.tolist(), ppc_of_pp.tolist()), reverse=True):
        rep[pb] = pid
    bus_type = np.real(bus[:, idx_bus.BUS_TYPE]).astype(int)
    live = bus_type != _NONE
    if np.any(bus_type == _PV):
        raise ConfigError(f"{name}: voltage-controlled (PV) buses are not supported.")
    slack = np.flatnonzero(bus_type == _REF)
    if slack.size != 1:
        raise ConfigError(f"{name}: expected one slack bus, found {slack.size}.")
    slack = int(slack[0])

    isolated = net.bus.in_service.to_numpy(bool) & ~live[ppc_of_pp]
    if isolated.any():
        ids = sorted(pp_ids[isolated].tolist())
        msg = (
            f"{name}: the net is disconnected; in-service buses {_short(ids)} are not connected "
            "to the slack"
        )
        if not drop_isolated:
            raise ConfigError(
                msg + ". Set them out of service, close the switches that connect them, or pass "
                "drop_isolated=True."
            )
        n_loads = int((net.load.in_service & net.load.bus.isin(ids)).sum())
        warnings.warn(f"{msg}; dropped with the {n_loads} loads on them.", stacklevel=2)

    f_bus = np.real(branch[:, idx_brch.F_BUS]).astype(np.int64)
    t_bus = np.real(branch[:, idx_brch.T_BUS]).astype(np.int64)
    in_service = (np.real(branch[:, idx_brch.BR_STATUS]) > 0) & live[f_bus] & live[t_bus]
    z_br = np.real(branch[:, idx_brch.BR_R]) + 1j * np.real(branch[:, idx_brch.BR_X])
    y_f, y_t = _branch_end_shunts(branch, name)
    tap_br = np.real(branch[:, idx_brch.TAP])
    tap_br = np.where(tap_br == 0, 1.0, tap_br)
    shift_br = np.real(branch[:, idx_brch.SHIFT])

    # Fold pandapower's aux buses (a dangling stub behind an open switch) into shunts.
    y_extra = np.zeros(n_ppc, dtype=np.complex128)  # pu on the ppc base
    for a in np.flatnonzero(live & (rep < 0)):
        stubs = np.flatnonzero(in_service & ((f_bus == a) | (t_bus == a)))
        if stubs.size != 1 or bus[a, idx_bus.PD] != 0 or bus[a, idx_bus.QD] != 0:
            raise ConfigError(f"{name}: unexpected auxiliary bus {a} in pandapower's model.")
        b = int(stubs[0])
        z = z_br[b]
        if t_bus[b] == a:  # seen from the tap side: behind the ideal transformer
            y_far = y_t[b] / (1.0 + z * y_t[b])  # the far shunt seen through z
            y_extra[f_bus[b]] += (y_f[b] + y_far) / tap_br[b] ** 2
        else:
            y_extra[t_bus[b]] += y_t[b] + y_f[b] / (1.0 + z * y_f[b])
        in_service[b] = False
        live[a] = False

    br_ids = np.flatnonzero(in_service)
    n_live = int(live.sum())
    adj: dict[int, list[tuple[int, int]]] = {}
    for b in br_ids:
        adj.setdefault(int(f_bus[b]), []).append((int(b), int(t_bus[b])))
        adj.setdefault(int(t_bus[b]), []).append((int(b), int(f_bus[b])))
    order, parent, feeding = [slack], [-1], [-1]
    new_index = {slack: 0}
    queue = deque([slack])
    while queue:
        u = queue.popleft()
        for b, w in sorted(adj.get(u, []), key=lambda item: (rep[item[1]], item[1])):
            if w in new_index:
                continue
            new_index[w] = len(order)
            order.append(w)
            parent.append(new_index[u])
            feeding.append(b)
            queue.append(w)
    if br_ids.size != n_live - 1 or len(order) != n_live:
        _raise_not_radial(name, adj, live, slack, rep)

    n_bus = len(order)
    to_ours = sbase_kva / s_base  # admittance pu on the ppc base -> pu on our base
    v_base_kv = np.real(bus[order, idx_bus.BASE_KV]).astype(float)
    y_bus = (
        (np.real(bus[order, idx_bus.GS]) + 1j * np.real(bus[order, idx_bus.BS])) / (sbase_kva / 1e3)
        + y_extra[order]
    ) * to_ours
    n_br = n_bus - 1
    r_pu, x_pu = np.zeros(n_br), np.zeros(n_br)
    y_from = np.zeros(n_br, dtype=np.complex128)
    y_to = np.zeros(n_br, dtype=np.complex128)
    tap_ratio, shift_deg = np.ones(n_br), np.zeros(n_br)
    i_max_a, s_max_kva = np.full(n_br, np.inf), np.full(n_br, np.inf)
    is_trafo = np.zeros(n_br, dtype=bool)
    kind, elem = _branch_elements(net, branch.shape[0])
    for k in range(1, n_bus):
        b, j = feeding[k], k - 1
        if new_index[int(f_bus[b])] != parent[k] and (tap_br[b] != 1.0 or shift_br[b] != 0.0):
            raise ConfigError(
                f"{name}: a transformer feeds bus id {rep[order[k]]} from its tap side; the "
                "radial model needs the tap on the upstream side (swap hv and lv?)."
            )
        r_pu[j] = z_br[b].real / to_ours
        x_pu[j] = z_br[b].imag / to_ours
        # pi: the parent-end shunt behind the ideal transformer, the child-end one on the bus.
        from_parent = new_index[int(f_bus[b])] == parent[k]
        y_parent, y_child = (y_f[b], y_t[b]) if from_parent else (y_t[b], y_f[b])
        y_from[j], y_to[j] = y_parent * to_ours, y_child * to_ours
        y_bus[k] += y_to[j]
        tap_ratio[j], shift_deg[j] = tap_br[b], shift_br[b]
        if kind[b] == "line":
            line = net.line.loc[elem[b]]
            i_max_a[j] = float(line.max_i_ka * line.df * line.parallel) * 1e3
        elif kind[b] == "trafo":
            trafo = net.trafo.loc[elem[b]]
            is_trafo[j] = True
            s_max_kva[j] = float(trafo.sn_mva * trafo.parallel) * 1e3
            i_max_a[j] = s_max_kva[j] / (np.sqrt(3.0) * v_base_kv[k])

    ppc_to_new = np.full(n_ppc, -1, dtype=np.int64)
    ppc_to_new[order] = np.arange(n_bus)
    bus_lookup = {
        int(pid): int(ppc_to_new[pb])
        for pid, pb in zip(pp_ids, ppc_of_pp)
        if ppc_to_new[pb] >= 0
    }
    rep_ids = rep[order]
    bus_names = tuple(str(net.bus.name.get(i, i)) for i in rep_ids)
    v_min = _bus_column(net, "min_vm_pu", rep_ids, 0.9)
    v_max = _bus_column(net, "max_vm_pu", rep_ids, 1.1)

    loads = net.load[net.load.in_service & net.load.bus.isin(list(bus_lookup))]
    if "profile" in loads:
        profile = loads["profile"].fillna("").astype(str).tolist()
    else:
        profile = [""] * len(loads)
    scaling = loads.scaling.to_numpy(float)
    ext = net.ext_grid[net.ext_grid.in_service].iloc[0]
    return Feeder(
        name=name,
        parent=np.array(parent, dtype=np.int64),
        bus_ids=rep_ids,
        bus_names=bus_names,
        v_base_kv=v_base_kv,
        s_base_kva=s_base,
        v_slack_pu=float(ext.vm_pu),
        g_bus_pu=y_bus.real,
        b_bus_pu=y_bus.imag,
        v_min_pu=v_min,
        v_max_pu=v_max,
        r_pu=r_pu,
        x_pu=x_pu,
        g_from_pu=y_from.real,
        b_from_pu=y_from.imag,
        g_to_pu=y_to.real,
        b_to_pu=y_to.imag,
        tap_ratio=tap_ratio,
        shift_deg=shift_deg,
        i_max_a=i_max_a,
        s_max_kva=s_max_kva,
        is_transformer=is_trafo,
        load_bus=np.array([bus_lookup[int(b)] for b in loads.bus], dtype=np.int64),
        load_p_kw=loads.p_mw.to_numpy(float) * scaling * 1e3,
        load_q_kvar=loads.q_mvar.to_numpy(float) * scaling * 1e3,
        load_profile=tuple(profile),
        load_is_household=np.array([p.startswith("H0") for p in profile], dtype=bool),
        bus_lookup=bus_lookup,
    )


def _check_elements(net: Any, name: str) -> None:
    """Raise for a missing/extra slack or elements the radial PQ model cannot represent."""
    n_ext = int(net.ext_grid.in_service.sum())
    if n_ext != 1:
        raise ConfigError(
            f"{name}: the net needs exactly one in-service ext_grid (the slack), found {n_ext}."
        )
    for element, what in _UNSUPPORTED.items():
        table = net[element] if element in net else None
        if table is not None and len(table) and (
            "in_service" not in table or table.in_service.any()
        ):
            raise ConfigError(f"{name}: {what} (net.{element}) are not supported.")


def _ignored_elements(net: Any) -> list[str]:
    """One line per kind of in-service element that :func:`from_pandapower` does not import:
    what, how many, and what to do."""
    out = []
    for element, (what, todo) in _NOT_IMPORTED.items():
        table = net[element] if element in net else None
        if table is None or not len(table):
            continue
        n_on = int(table.in_service.sum()) if "in_service" in table else len(table)
        if n_on:
            out.append(f"net.{element}: {n_on} in-service {what} ignored; {todo}")
    loads = net.load[net.load.in_service]
    zip_cols = [c for c in loads.columns if c.startswith(("const_z", "const_i"))]
    shares = loads[zip_cols].fillna(0.0).to_numpy(float) != 0 if zip_cols else np.zeros((0, 0))
    n_zip = int(shares.any(axis=1).sum())
    if n_zip:
        used = ", ".join(c for c, on in zip(zip_cols, shares.any(axis=0)) if on)
        out.append(
            f"net.load: {n_zip} loads have constant-impedance/current shares ({used}) that are "
            "not kept: imported as constant power (runpp's voltage_depend_loads=True keeps them); "
            "set those columns to 0 to compare with pandapower"
        )
    return out


def _branch_end_shunts(branch: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Shunt admittance at the from end (behind the tap) and at the to end of each ppc branch
    [pu on the ppc base]: half of ``BR_G + j BR_B`` each, plus half the ``*_ASYM`` part at the to
    end (the T model's wye-delta gives unequal ends when the leakage split is not 0.5).

    Raises:
        ConfigError: A branch has asymmetric series impedance (not a reciprocal branch).
    """
    from pandapower.pypower import idx_brch  # noqa: PLC0415

    y = 1j * np.real(branch[:, idx_brch.BR_B])
    if branch.shape[1] > idx_brch.BR_G:
        y = y + np.real(branch[:, idx_brch.BR_G])
    y_asym = np.zeros_like(y)
    if branch.shape[1] > idx_brch.BR_B_ASYM:
        on = np.real(branch[:, idx_brch.BR_STATUS]) > 0
        series_asym = [idx_brch.BR_R_ASYM, idx_brch.BR_X_ASYM]
        if np.any(np.abs(branch[np.ix_(on, series_asym)]) > 0):
            raise ConfigError(
                f"{name}: branches with asymmetric series impedance are not supported."
            )
        y_asym = np.real(branch[:, idx_brch.BR_G_ASYM]) + 1j * np.real(
            branch[:, idx_brch.BR_B_ASYM]
        )
    return 0.5 * y, 0.5 * (y + y_asym)


def _to_ppc(net: Any, trafo_model: str) -> tuple[np.ndarray, np.ndarray, float]:
    """pandapower's PYPOWER case of the net as ``runpp(trafo_model=trafo_model)`` builds it."""
    from pandapower.auxiliary import _add_ppc_options  # noqa: PLC0415
    from pandapower.pd2ppc import _pd2ppc  # noqa: PLC0415

    net["_options"] = {}
    _add_ppc_options(
        net, calculate_voltage_angles=True, trafo_model=trafo_model, check_connectivity=True,
        mode="pf", switch_rx_ratio=2, init_vm_pu="flat", init_va_degree="flat",
        enforce_q_lims=False, enforce_p_lims=False, recycle=None, voltage_depend_loads=False,
    )
    ppc, _ = _pd2ppc(net)
    return np.asarray(ppc["bus"]), np.asarray(ppc["branch"]), float(ppc["baseMVA"]) * 1e3


def _branch_elements(net: Any, n_branch: int) -> tuple[np.ndarray, np.ndarray]:
    """pandapower element table and index of each ppc branch (for ampacities and ratings)."""
    kind = np.full(n_branch, "", dtype=object)
    elem = np.full(n_branch, -1, dtype=np.int64)
    lookup = net._pd2ppc_lookups.get("branch", {})
    for element in ("line", "trafo", "impedance", "switch"):
        if element not in lookup:
            continue
        start, end = lookup[element]
        table = net[element]
        if element == "switch":
            table = table[np.asarray(net._impedance_bb_switches, dtype=bool)]
        kind[start:end] = element
        elem[start:end] = table.index.to_numpy()[: end - start]
    return kind, elem


def _bus_column(net: Any, column: str, ids: np.ndarray, default: float) -> np.ndarray:
    if column not in net.bus:
        return np.full(ids.shape, default)
    values = net.bus[column].reindex(ids).to_numpy(dtype=float)
    return np.where(np.isfinite(values), values, default)


def _short(ids: list[int], limit: int = 20) -> str:
    return f"{ids[:limit]}{f' (and {len(ids) - limit} more)' if len(ids) > limit else ''}"


def _raise_not_radial(
    name: str, adj: dict[int, list[tuple[int, int]]], live: np.ndarray, slack: int,
    rep: np.ndarray,
) -> None:
    """Raise a ConfigError naming the buses that are disconnected or lie on a loop."""

    def ids(buses: Any) -> str:
        return _short(sorted(int(rep[i]) for i in buses))

    seen = {slack}
    stack = [slack]
    while stack:
        u = stack.pop()
        for _, w in adj.get(u, []):
            if w not in seen:
                seen.add(w)
                stack.append(w)
    unreached = [i for i in np.flatnonzero(live) if i not in seen]
    if unreached:  # pragma: no cover - pandapower's connectivity check marks these first
        raise ConfigError(f"{name}: the net is disconnected; buses {ids(unreached)} are not "
                          "connected to the slack.")
    # Meshed: peel leaves until only the loops (and the paths between them) remain.
    degree = {i: len(adj.get(i, [])) for i in seen}
    leaves = [i for i, d in degree.items() if d <= 1]
    removed: set[int] = set()
    while leaves:
        u = leaves.pop()
        removed.add(u)
        for _, w in adj.get(u, []):
            if w not in removed:
                degree[w] -= 1
                if degree[w] == 1:
                    leaves.append(w)
    raise ConfigError(
        f"{name}: the net is meshed, not radial; buses {ids(seen - removed)} lie on a loop. "
        "Open a switch (or set a line out of service) on each loop."
    )
