"""The one definition of every KPI: per-step increments and their episode aggregation.

Every controller (uncontrolled, heuristic, MPC, learned, oracle) is scored by these functions on the
measurements of the same simulator, so numbers are comparable.

KPI (episode value; unit; definition)

==========================  ======  ==============================================================
``aging_h``                 h       transformer loss of life, equivalent hours at the reference
                                    hot spot (IEC 60076-7, ``∫ V dt``; 24 h per day at 98 °C)
``hot_spot_max_c``          °C      peak transformer hot-spot temperature
``losses_kwh``              kWh     feeder losses (lines and transformer), ``∫ p_loss dt``
``load_losses_kwh``         kWh     the load-dependent part: series (``Σ r |I|²``) losses of lines
                                    and transformer, without the transformer's no-load loss
``voltage_violations``      count   bus-steps with ``|v|`` outside ``[v_min_pu, v_max_pu]``
                                    (LV buses; the slack bus is excluded)
``voltage_dev_max_pu``      pu      worst deviation outside the band (0 if none)
``line_loading_max``        -       max over steps and lines of current / ampacity
``line_loading_mean``       -       mean over steps and lines of current / ampacity
``trafo_loading_max``       -       max transformer loading (current / rated current)
``discomfort_kh``           K·h     ``∫ Σ_houses (max(0, t_min - t_in) + max(0, t_in - t_max)) dt``
                                    with the end-of-step indoor temperature, HP houses only
``ev_unmet_kwh``            kWh     energy still missing to each EV's target at its departure
                                    (EVs leaving after the episode: still missing at its end; their
                                    requirement is capped to what fits in the episode)
``cost_eur``                EUR     ``∫ Σ_buses (price · max(p_net, 0) - feed_in · max(-p_net, 0))
                                    dt`` with the net load ``p_net`` of each bus
``curtailment_kwh``         kWh     PV energy available but not produced
``import_kwh``              kWh     energy drawn from the MV grid (``∫ max(p_slack, 0) dt``)
``peak_import_kw``          kW      largest power drawn from the MV grid
==========================  ======  ==============================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: KPI names in table order, with their units.
KPI_UNITS: dict[str, str] = {
    "aging_h": "h",
    "hot_spot_max_c": "°C",
    "losses_kwh": "kWh",
    "load_losses_kwh": "kWh",
    "voltage_violations": "bus-steps",
    "voltage_dev_max_pu": "pu",
    "line_loading_max": "-",
    "line_loading_mean": "-",
    "trafo_loading_max": "-",
    "discomfort_kh": "K·h",
    "ev_unmet_kwh": "kWh",
    "cost_eur": "EUR",
    "curtailment_kwh": "kWh",
    "import_kwh": "kWh",
    "peak_import_kw": "kW",
}
_SUMMED = ("aging_h", "losses_kwh", "load_losses_kwh", "voltage_violations", "discomfort_kh", "ev_unmet_kwh", "cost_eur",
           "curtailment_kwh", "import_kwh")
_MAXED = ("hot_spot_max_c", "voltage_dev_max_pu", "line_loading_max", "trafo_loading_max", "peak_import_kw")


@dataclass(frozen=True)
class KPILimits:
    """Limits the KPIs are measured against.

    Attributes:
        v_min_pu, v_max_pu: Voltage band [pu].
        t_min_c, t_max_c: Comfort band [°C].
    """

    v_min_pu: float
    v_max_pu: float
    t_min_c: float
    t_max_c: float


def voltage_deviation_pu(v_pu: np.ndarray, v_min_pu: float, v_max_pu: float) -> np.ndarray:
    """Deviation of each voltage outside the band [pu] (0 inside)."""
    return np.maximum(v_min_pu - v_pu, 0.0) + np.maximum(v_pu - v_max_pu, 0.0)


def comfort_deviation_k(t_indoor_c: np.ndarray, t_min_c: float, t_max_c: float) -> np.ndarray:
    """Deviation of each indoor temperature outside the comfort band [K] (0 inside)."""
    return np.maximum(t_min_c - t_indoor_c, 0.0) + np.maximum(t_indoor_c - t_max_c, 0.0)


def energy_cost_eur(
    bus_net_p_kw: np.ndarray, price_eur_per_kwh: float, feed_in_eur_per_kwh: float, dt_h: float
) -> float:
    """Energy cost of one step [EUR]: imports at the retail price, exports at the feed-in tariff."""
    imp = np.maximum(bus_net_p_kw, 0.0).sum()
    exp = np.maximum(-bus_net_p_kw, 0.0).sum()
    return float((price_eur_per_kwh * imp - feed_in_eur_per_kwh * exp) * dt_h)


def step_kpis(
    *,
    limits: KPILimits,
    dt_h: float,
    v_pu: np.ndarray,
    line_loading: np.ndarray,
    trafo_loading: float,
    p_loss_kw: float,
    p_slack_kw: float,
    p_loss_series_kw: float | None = None,
    hot_spot_c: float,
    loss_of_life_h: float,
    t_indoor_c: np.ndarray,
    ev_unmet_kwh: float,
    bus_net_p_kw: np.ndarray,
    price_eur_per_kwh: float,
    feed_in_eur_per_kwh: float,
    pv_curtailed_kw: float,
) -> dict[str, float]:
    """KPI increments of one step (see the module table for definitions and units).

    Args:
        limits: Voltage and comfort limits.
        dt_h: Step length [h].
        v_pu: ``(n_bus - 1,)`` voltage magnitudes of the LV buses (slack excluded) [pu].
        line_loading: ``(n_line,)`` line loadings [fraction of ampacity].
        trafo_loading: Transformer loading [fraction].
        p_loss_kw: Feeder losses [kW].
        p_loss_series_kw: Load-dependent (series) part of them [kW]; default all of them.
        p_slack_kw: Power drawn from the MV grid [kW].
        hot_spot_c: Transformer hot spot at the end of the step [°C].
        loss_of_life_h: Transformer loss of life over the step [h].
        t_indoor_c: ``(n_house,)`` indoor temperatures at the end of the step [°C].
        ev_unmet_kwh: Energy missing for EVs that departed during the step [kWh].
        bus_net_p_kw: ``(n_bus,)`` net load of each bus [kW] (consumption positive).
        price_eur_per_kwh, feed_in_eur_per_kwh: Tariff of the step.
        pv_curtailed_kw: PV power available but not produced [kW].

    Returns:
        ``{kpi name: increment}``; summed KPIs are step amounts, maxed KPIs step values, and
        ``line_loading_mean`` the step's mean line loading.
    """
    # Hot path (every env step): few numpy calls, the rest in Python floats.
    v_dev = np.maximum(limits.v_min_pu - v_pu, v_pu - limits.v_max_pu)  # > 0 only outside the band
    n_violations = int(np.count_nonzero(v_dev > 0.0))
    t_dev = np.maximum(limits.t_min_c - t_indoor_c, t_indoor_c - limits.t_max_c)
    discomfort_k = float(np.maximum(t_dev, 0.0).sum()) if t_dev.size else 0.0
    imported_kw = float(np.maximum(bus_net_p_kw, 0.0).sum())
    exported_kw = imported_kw - float(bus_net_p_kw.sum())
    p_slack = float(p_slack_kw)
    return {
        "aging_h": float(loss_of_life_h),
        "hot_spot_max_c": float(hot_spot_c),
        "losses_kwh": float(p_loss_kw) * dt_h,
        "load_losses_kwh": float(p_loss_kw if p_loss_series_kw is None else p_loss_series_kw) * dt_h,
        "voltage_violations": float(n_violations),
        "voltage_dev_max_pu": max(float(v_dev.max()), 0.0) if n_violations else 0.0,
        "line_loading_max": float(line_loading.max()) if line_loading.size else 0.0,
        "line_loading_mean": float(line_loading.mean()) if line_loading.size else 0.0,
        "trafo_loading_max": float(trafo_loading),
        "discomfort_kh": discomfort_k * dt_h,
        "ev_unmet_kwh": float(ev_unmet_kwh),
        "cost_eur": (price_eur_per_kwh * imported_kw - feed_in_eur_per_kwh * exported_kw) * dt_h,
        "curtailment_kwh": float(pv_curtailed_kw) * dt_h,
        "import_kwh": max(p_slack, 0.0) * dt_h,
        "peak_import_kw": max(p_slack, 0.0),
    }


class KPIAccumulator:
    """Aggregates per-step KPI increments into episode KPIs (sums, maxima and the mean loading)."""

    def __init__(self) -> None:
        self._totals = {name: 0.0 for name in KPI_UNITS}
        self._n_steps = 0

    def add(self, increments: dict[str, float]) -> None:
        """Add one step's increments (as returned by :func:`step_kpis`)."""
        for name in _SUMMED:
            self._totals[name] += increments[name]
        for name in _MAXED:
            self._totals[name] = max(self._totals[name], increments[name])
        self._totals["line_loading_mean"] += increments["line_loading_mean"]
        self._n_steps += 1

    def add_final(self, ev_unmet_kwh: float) -> None:
        """Book what is only known at the episode end (EVs leaving after it)."""
        self._totals["ev_unmet_kwh"] += float(ev_unmet_kwh)

    @property
    def n_steps(self) -> int:
        """Number of steps added."""
        return self._n_steps

    def result(self) -> dict[str, float]:
        """Episode KPIs by name (units in :data:`KPI_UNITS`)."""
        out = dict(self._totals)
        out["line_loading_mean"] = out["line_loading_mean"] / max(self._n_steps, 1)
        return out
