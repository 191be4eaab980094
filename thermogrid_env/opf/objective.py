"""Composable, named objective terms (EUR), registered by name.

Each term is a function ``(model, context) -> expression | None`` (``None``: the term is absent,
e.g. its weight is 0 or its devices are missing). The objective is the sum of the selected terms;
the solution reports every term's value, so users see *why* a plan costs what it costs.

Terms (weights from :class:`~thermogrid_env.opf.data.ObjectiveWeights`):

* ``energy_cost``: import at the import price, export credited at the export price
  (``price_export <= price_import`` keeps it convex: ``pe P + (pi - pe) max(P, 0)``).
* ``losses``: series losses ``sum r l`` at ``losses_eur_per_kwh``.
* ``loss_tightening``: an extra per-period loss price used only by the exactness recovery
  (:mod:`thermogrid_env.opf.exactness`); not part of the user's objective.
* ``comfort``: comfort-band violation [K·h].
* ``ev_shortfall``: energy missing at departure [kWh].
* ``curtailment``: curtailed PV energy [kWh].
* ``transformer_aging``: transformer loss of life [h] (see :func:`~thermogrid_env.opf.devices.transformer_aging`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from thermogrid_env.opf.backend import Expr, Model
from thermogrid_env.opf.data import OPFData
from thermogrid_env.opf.devices import DeviceBlock
from thermogrid_env.opf.formulations.base import NetworkState
from thermogrid_env.opf.network import NetworkData


@dataclass
class TermContext:
    """What objective terms may read.

    Attributes:
        data: The OPF data.
        net: Per-unit network.
        state: Network expressions.
        blocks: Device blocks by kind (``"hp"``, ``"ev"``, ``"pv"``).
        aging: Transformer aging expressions, or ``None``.
        extra_loss_eur_per_kwh: ``(T,)`` extra loss price of the recovery, or ``None``.
    """

    data: OPFData
    net: NetworkData
    state: NetworkState
    blocks: dict[str, DeviceBlock]
    aging: dict[str, Expr] | None
    extra_loss_eur_per_kwh: np.ndarray | None = None


TermFn = Callable[[Model, TermContext], "Expr | None"]
TERMS: dict[str, TermFn] = {}
"""Registered objective terms by name (evaluation order = registration order)."""

USER_TERMS = ("energy_cost", "losses", "comfort", "ev_shortfall", "curtailment", "transformer_aging")
"""The terms of the user's objective (``loss_tightening`` is a solver device, not a cost)."""


def term(name: str) -> Callable[[TermFn], TermFn]:
    """Decorator registering an objective term under ``name``."""

    def deco(fn: TermFn) -> TermFn:
        TERMS[name] = fn
        return fn

    return deco


@term("energy_cost")
def energy_cost(m: Model, ctx: TermContext) -> Expr | None:
    """Energy drawn from (fed into) the upstream grid at the import (export) price [EUR]."""
    d = ctx.data
    if d.weights.energy == 0:
        return None
    t = d.n_periods
    p_kw = ctx.state.p_slack * ctx.net.s_base_kva  # (T, 1)
    pi = d.price_import_eur_per_kwh[:, None] * d.dt_h * d.weights.energy
    pe = d.price_export_eur_per_kwh[:, None] * d.dt_h * d.weights.energy
    cost = m.total(m.mul(pe, p_kw))
    if np.any(pi > pe):
        imp = m.var("grid_import_kw", (t, 1), lb=0.0)
        m.le("grid_import_def", p_kw, imp)
        cost = cost + m.total(m.mul(pi - pe, imp))
    return cost


def _loss_cost(m: Model, ctx: TermContext, eur_per_kwh: np.ndarray) -> Expr | None:
    if ctx.state.loss is None or not np.any(eur_per_kwh > 0):
        return None
    coef = np.broadcast_to(eur_per_kwh, (ctx.data.n_periods,))[:, None] * ctx.data.dt_h * ctx.net.s_base_kva
    return m.total(m.mul(coef, ctx.state.loss))


@term("losses")
def losses(m: Model, ctx: TermContext) -> Expr | None:
    """Series losses at ``losses_eur_per_kwh`` [EUR]."""
    return _loss_cost(m, ctx, np.asarray(ctx.data.weights.losses_eur_per_kwh))


@term("loss_tightening")
def loss_tightening(m: Model, ctx: TermContext) -> Expr | None:
    """Extra loss price of the exactness recovery [EUR] (reported apart from the user's objective)."""
    if ctx.extra_loss_eur_per_kwh is None:
        return None
    return _loss_cost(m, ctx, ctx.extra_loss_eur_per_kwh)


@term("comfort")
def comfort(m: Model, ctx: TermContext) -> Expr | None:
    """Comfort-band violation [EUR]."""
    hp = ctx.blocks.get("hp")
    w = ctx.data.weights.comfort_eur_per_kh
    if hp is None or w == 0:
        return None
    return (w * ctx.data.dt_h) * m.total(hp.outputs["comfort_violation_k"])


@term("ev_shortfall")
def ev_shortfall(m: Model, ctx: TermContext) -> Expr | None:
    """EV energy missing at departure [EUR]."""
    ev = ctx.blocks.get("ev")
    w = ctx.data.weights.ev_shortfall_eur_per_kwh
    if ev is None or w == 0:
        return None
    return w * m.total(ev.outputs["ev_shortfall_kwh"])


@term("curtailment")
def curtailment(m: Model, ctx: TermContext) -> Expr | None:
    """Curtailed PV energy [EUR]."""
    pv = ctx.blocks.get("pv")
    w = ctx.data.weights.curtailment_eur_per_kwh
    if pv is None or w == 0:
        return None
    avail = float(ctx.data.pvs.p_avail_kw.sum())
    return (w * ctx.data.dt_h) * (avail - m.total(pv.outputs["pv_p_kw"]))


@term("transformer_aging")
def transformer_aging(m: Model, ctx: TermContext) -> Expr | None:
    """Transformer loss of life [EUR]."""
    if ctx.aging is None:
        return None
    return ctx.data.weights.aging_eur_per_h * ctx.aging["loss_of_life_h"]


def build_objective(m: Model, ctx: TermContext, terms: tuple[str, ...] | None = None) -> dict[str, Expr]:
    """Create the selected terms (default: all registered) and return the non-empty ones by name."""
    names = tuple(TERMS) if terms is None else tuple(terms) + ("loss_tightening",)
    out = {}
    for name in names:
        expr = TERMS[name](m, ctx)
        if expr is not None:
            out[name] = expr
    return out


__all__ = ["TERMS", "USER_TERMS", "TermContext", "build_objective", "term"]
