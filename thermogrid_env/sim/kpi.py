"""The KPIs: per-step increments and their episode aggregation.

Every controller (uncontrolled, heuristic, MPC, learned, oracle) is scored by these functions on the
measurements of the same simulator, so numbers are comparable. The KPIs of the eight cost terms are
the raw terms of :mod:`thermogrid_env.sim.costs` (one definition for reward, KPIs and the oracle's
objective); the others report the grid's state.

KPI (episode value; unit; definition)

==========================  =========  ===========================================================
``aging_h``                 h          cost term ``aging``: transformer loss of life, equivalent
                                       hours at the reference hot spot (IEC 60076-7, ``∫ V dt``)
``hot_spot_max_c``          °C         peak transformer hot-spot temperature
``losses_kwh``              kWh        cost term ``losses``: feeder losses (lines and transformer,
                                       series and shunt), ``∫ p_loss dt``
``load_losses_kwh``         kWh        the load-dependent part: series (``Σ r |I|²``) losses
``voltage_violations``      bus-steps  LV bus-steps with ``|v|`` outside ``[v_min_pu, v_max_pu]``
``voltage_dev_max_pu``      pu         worst deviation of ``|v|`` outside the band (0 if none)
``voltage_excess``          pu         cost term ``voltage``: Σ over steps and LV buses of the
                                       squared-voltage excess (:func:`~thermogrid_env.sim.costs.voltage_excess`)
``line_loading_max``        -          max over steps and lines of current / ampacity
``line_loading_mean``       -          mean over steps and lines of current / ampacity
``trafo_loading_max``       -          max transformer loading (current / rated current)
``overload_excess``         -          cost term ``overload``: Σ over steps and branches of
                                       ``max(I²/I_max² − 1, 0)/2`` (series current)
``discomfort_kh``           K·h        cost term ``discomfort``: ``∫ Σ_houses`` distance of the indoor
                                       temperature outside the comfort band (HP houses)
``ev_unmet_kwh``            kWh        cost term ``ev_unmet``: energy still missing to each EV's target
                                       at its departure (EVs leaving after the episode: at its end;
                                       their requirement is capped to what fits in the episode)
``cost_eur``                EUR        cost term ``cost``: ``∫ Σ_meters (price · import − feed_in ·
                                       export) dt``, each household billed on its own meter
``curtailment_kwh``         kWh        cost term ``curtailment``: PV energy available but not produced
``import_kwh``              kWh        energy drawn from the MV grid (``∫ max(p_slack, 0) dt``)
``peak_import_kw``          kW         largest power drawn from the MV grid
==========================  =========  ===========================================================

A step whose power flow has no solution (voltage collapse; the episode ends there) books every LV
bus as violated at 0 V and the collapse penalty in ``voltage_excess``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from thermogrid_env.sim.costs import TERM_KPIS, CostContext

if TYPE_CHECKING:  # pragma: no cover
    from thermogrid_env.sim.simulator import StepResult

#: KPI names in table order, with their units.
KPI_UNITS: dict[str, str] = {
    "aging_h": "h",
    "hot_spot_max_c": "°C",
    "losses_kwh": "kWh",
    "load_losses_kwh": "kWh",
    "voltage_violations": "bus-steps",
    "voltage_dev_max_pu": "pu",
    "voltage_excess": "pu",
    "line_loading_max": "-",
    "line_loading_mean": "-",
    "trafo_loading_max": "-",
    "overload_excess": "-",
    "discomfort_kh": "K·h",
    "ev_unmet_kwh": "kWh",
    "cost_eur": "EUR",
    "curtailment_kwh": "kWh",
    "import_kwh": "kWh",
    "peak_import_kw": "kW",
}
_SUMMED = ("aging_h", "losses_kwh", "load_losses_kwh", "voltage_violations", "voltage_excess", "overload_excess",
           "discomfort_kh", "ev_unmet_kwh", "cost_eur", "curtailment_kwh", "import_kwh")
_MAXED = ("hot_spot_max_c", "voltage_dev_max_pu", "line_loading_max", "trafo_loading_max", "peak_import_kw")


def step_kpis(res: StepResult, terms: dict[str, Any], ctx: CostContext, is_line: np.ndarray) -> dict[str, Any]:
    """KPI increments of one step (see the module table; leading batch axes kept).

    Args:
        res: The step's measurements.
        terms: Its raw cost terms (:func:`thermogrid_env.sim.costs.measure`).
        ctx: Limits.
        is_line: ``(n_branch,)`` which branches are lines (not transformers).

    Returns:
        ``{kpi name: increment}``; summed KPIs are step amounts, maxed KPIs step values, and
        ``line_loading_mean`` the step's mean line loading.
    """
    v = res.v_pu[..., 1:]
    v_dev = np.maximum(ctx.v_min_pu - v, v - ctx.v_max_pu)  # > 0 only outside the band
    n_viol = np.add.reduce(v_dev > 0.0, axis=-1)
    dev_max = v_dev.max(axis=-1, initial=0.0)  # >= 0 (initial), NaN kept
    lines = res.loading.compress(is_line, axis=-1)  # C order: each row sums alone, whatever the batch
    p_slack, trafo_loading, loss_series = res.p_slack_kw, res.trafo_loading, res.p_loss_series_kw
    if res.converged is True or np.all(res.converged):  # the hot path: no NaN anywhere
        n_lines = lines.shape[-1]
        line_max = lines.max(axis=-1) if n_lines else 0.0 * p_slack
        line_mean = np.add.reduce(lines, axis=-1) / n_lines if n_lines else 0.0 * p_slack  # = lines.mean(-1)
    else:  # no solution: every LV bus counts as violated at 0 V, no flows
        collapsed = ~np.asarray(res.converged)
        n_viol = np.where(collapsed, v.shape[-1], n_viol)
        dev_max = np.where(collapsed, ctx.v_min_pu, np.nan_to_num(dev_max))
        lines = np.nan_to_num(lines)
        line_max = lines.max(axis=-1, initial=0.0)
        line_mean = lines.mean(axis=-1) if lines.shape[-1] else 0.0 * lines.sum(axis=-1)
        p_slack, trafo_loading, loss_series = (np.nan_to_num(x) for x in (p_slack, trafo_loading, loss_series))
    imported = np.maximum(p_slack, 0.0)
    out = {kpi: terms[name] for name, kpi in TERM_KPIS.items()}
    out.update(
        hot_spot_max_c=res.hot_spot_c,
        load_losses_kwh=loss_series * ctx.dt_h,
        voltage_violations=n_viol * 1.0,
        voltage_dev_max_pu=dev_max,
        line_loading_max=line_max,
        line_loading_mean=line_mean,
        trafo_loading_max=trafo_loading,
        import_kwh=imported * ctx.dt_h,
        peak_import_kw=imported,
    )
    return out


class KPIAccumulator:
    """Aggregates per-step KPI increments into episode KPIs (sums, maxima and the mean loading).

    Works on scalars (one episode) and on arrays with a leading batch axis alike.
    """

    def __init__(self) -> None:
        self._totals: dict[str, Any] = {name: 0.0 for name in KPI_UNITS}
        self._n_steps = 0

    def add(self, increments: dict[str, Any]) -> None:
        """Add one step's increments (as returned by :func:`step_kpis`)."""
        t = self._totals
        for name in _SUMMED:
            t[name] = t[name] + increments[name]
        for name in _MAXED:
            a, b = t[name], increments[name]
            if isinstance(b, float) and isinstance(a, float):  # one episode: np.maximum of two scalars
                t[name] = b if (b > a or b != b) else a  # (NaN propagates, as in np.maximum)
            else:
                t[name] = np.maximum(a, b)
        t["line_loading_mean"] = t["line_loading_mean"] + increments["line_loading_mean"]
        self._n_steps += 1

    @property
    def n_steps(self) -> int:
        """Number of steps added."""
        return self._n_steps

    def result(self) -> dict[str, Any]:
        """Episode KPIs by name (units in :data:`KPI_UNITS`), as floats for one episode."""
        out = dict(self._totals)
        out["line_loading_mean"] = out["line_loading_mean"] / max(self._n_steps, 1)
        return {k: (float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float)) for k, v in out.items()}
