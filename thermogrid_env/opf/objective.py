"""The OPF's objective: the cost model's terms (:mod:`thermogrid_env.sim.costs`) with the reward's weights.

The objective is ``Σ_k w_k · term_k`` over the terms of the cost model, each built by the term's own
``expression`` (side by side with the measurement the environment's reward uses), with the
weights of :class:`~thermogrid_env.config.RewardWeights`: the negative of the return the
environment would pay for the plan. The solution reports every term raw and weighted, so users see
*why* a plan costs what it costs, and tests compare them term by term with the simulator's
measurements of the same dispatch.

One extra term, ``loss_tightening``, is a solver device of the exactness recovery
(:mod:`thermogrid_env.opf.exactness`): an extra price on series losses in chosen periods, reported
apart and not part of the user's objective.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from thermogrid_env.opf.backend import Expr, Model
from thermogrid_env.opf.data import OPFData
from thermogrid_env.opf.devices import DeviceBlock
from thermogrid_env.opf.formulations.base import NetworkState
from thermogrid_env.opf.network import NetworkData
from thermogrid_env.sim import costs

#: The terms of the user's objective (the cost model's, in reward order).
USER_TERMS: tuple[str, ...] = costs.TERM_NAMES
#: Every term the objective may hold: the user's and the recovery's ``loss_tightening``.
TERMS: tuple[str, ...] = USER_TERMS + ("loss_tightening",)


@dataclass
class TermContext:
    """What the cost terms' optimisation expressions may read.

    Attributes:
        data: The OPF data.
        net: Per-unit network.
        state: Network expressions.
        blocks: Device blocks by kind (``"hp"``, ``"ev"``, ``"pv"``).
        aging: Transformer aging expressions, or ``None``.
        p_inj: ``(T, n_bus)`` bus loads [pu on the OPF base] (base plus devices).
        meter_p_kw: ``(T, n_meter)`` net load of the meters that have devices [kW] (an expression).
        meter_can_export: ``(n_meter,)`` whether each of those meters can ever export.
        fixed_meter_p_kw: ``(T, n_fixed)`` net load of the meters without devices [kW] (constants).
        extra_loss_eur_per_kwh: ``(T,)`` extra loss price of the recovery, or ``None``.
    """

    data: OPFData
    net: NetworkData
    state: NetworkState
    blocks: dict[str, DeviceBlock]
    aging: dict[str, Expr] | None
    p_inj: Expr
    meter_p_kw: Expr | None
    meter_can_export: np.ndarray
    fixed_meter_p_kw: np.ndarray
    extra_loss_eur_per_kwh: np.ndarray | None = None

    @property
    def hard_limits(self) -> bool:
        """Voltage band and ampacity are constraints, not penalties."""
        return self.data.hard_limits

    @property
    def n_meter(self) -> int:
        """Number of meters with devices."""
        return int(self.meter_can_export.shape[0])


def loss_tightening(m: Model, ctx: TermContext) -> Expr | None:
    """Extra loss price of the exactness recovery on the series losses [EUR] (not a user cost)."""
    extra = ctx.extra_loss_eur_per_kwh
    if extra is None or ctx.state.loss is None or not np.any(extra > 0):
        return None
    coef = np.broadcast_to(extra, (ctx.data.n_periods,))[:, None] * ctx.data.dt_h * ctx.net.s_base_kva
    return m.total(m.mul(coef, ctx.state.loss))


def build_objective(m: Model, ctx: TermContext, terms: tuple[str, ...] | None = None) -> tuple[dict[str, Expr],
                                                                                                 dict[str, float]]:
    """Create the selected terms (default: all of the cost model) and the recovery's term.

    Returns:
        ``(raw expressions by name, weights by name)``: only the non-empty terms with a positive
        weight; ``loss_tightening`` is already in EUR (weight 1).
    """
    names = USER_TERMS if terms is None else tuple(t for t in USER_TERMS if t in terms)
    weights = ctx.data.weights
    raw: dict[str, Expr] = {}
    w: dict[str, float] = {}
    for term in costs.TERMS:
        if term.name not in names or float(getattr(weights, term.name)) == 0.0:
            continue
        expr = term.expression(m, ctx)
        if expr is not None:
            raw[term.name] = expr
            w[term.name] = float(getattr(weights, term.name))
    extra = loss_tightening(m, ctx)
    if extra is not None:
        raw["loss_tightening"] = extra
        w["loss_tightening"] = 1.0
    return raw, w


def weighted_sum(raw: dict[str, Any], weights: dict[str, float]) -> Any:
    """``Σ w · raw`` over the terms."""
    total = 0.0
    for name, expr in raw.items():
        total = total + weights[name] * expr
    return total


__all__ = ["TERMS", "USER_TERMS", "TermContext", "build_objective", "loss_tightening", "weighted_sum"]
