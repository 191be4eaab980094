"""Reading a sweep with its scores, annual totals per controller and scenario, and the monthly plot.

The score is never stored: it is computed when reading (:func:`read_sweep`) from the returns of the
``uncontrolled`` and ``oracle`` cells of the same (scenario, day, seed),
``score = 100 (R - R_uncontrolled) / (R_oracle - R_uncontrolled)``, so it is filled in as soon as
both references exist and is never stale when one of them is run again. It is NaN where a
reference is missing or failed.

Totals: the cells of a day are first averaged over its episodes (seeds), then summed over the days
(day mode) or over the sampled episodes (seed mode). A whole year is the 366 days of 2016; for a
partial year the report says how many days the totals cover (they are not scaled up).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thermogrid_env.errors import DataError, import_optional
from thermogrid_env.sim.kpi import KPI_UNITS
from thermogrid_env.sweep import store
from thermogrid_env.sweep.grid import YEAR

__all__ = ["REPORT_COLUMNS", "annual_totals", "format_report", "monthly_totals", "plot_monthly", "read_sweep"]

#: Totals of the report: column -> (KPI column, factor, header).
REPORT_COLUMNS: dict[str, tuple[str, float, str]] = {
    "aging_h": ("aging_h", 1.0, "transformer loss of life [h]"),
    "losses_mwh": ("losses_kwh", 1e-3, "losses [MWh]"),
    "voltage_violations": ("voltage_violations", 1.0, "voltage violations [bus-steps]"),
    "discomfort_kh": ("discomfort_kh", 1.0, "discomfort [K·h]"),
    "ev_unmet_kwh": ("ev_unmet_kwh", 1.0, "EV energy missing [kWh]"),
    "cost_eur": ("cost_eur", 1.0, "cost [EUR]"),
}
DAYS_IN_YEAR = 366
#: Below this magnitude a total prints as 0 (solver tolerance, e.g. 1e-12 kWh of EV energy missing).
_NUMERICAL_ZERO = 1e-6
#: Score references (controller names of the sweep).
REFERENCES = ("uncontrolled", "oracle")


def read_sweep(out: str | Path) -> pd.DataFrame:
    """One row per cell of a sweep directory, with ``score`` filled in where both references exist.

    Raises:
        DataError: ``out`` is not a sweep directory, or holds no cells.
        MissingExtraError: pyarrow is missing (extra ``[scale]``).
    """
    path = Path(out)
    if not (path / store.MANIFEST).is_file():
        raise DataError(f"{out}: not a sweep directory (no {store.MANIFEST}); run `thermogrid sweep --out {out}` first")
    cells = store.read_cells(path)
    if cells.empty:
        raise DataError(f"{out}: the sweep holds no cells yet")
    cells["day"] = cells["day"].astype(object).where(cells["day"].notna(), None)
    ref_key = ["scenario", "_day", "seed"]
    frame = cells.assign(_day=cells["day"].fillna(""))
    ok = frame[frame["status"] == "ok"]
    refs = {name: ok.loc[ok["controller"] == name, [*ref_key, "return"]].rename(columns={"return": f"_r_{name}"})
            for name in REFERENCES}
    for name in REFERENCES:
        frame = frame.merge(refs[name], on=ref_key, how="left")
    span = frame["_r_oracle"] - frame["_r_uncontrolled"]
    score = 100.0 * (frame["return"] - frame["_r_uncontrolled"]) / span.where(span.abs() > 1e-9)
    frame["score"] = score.where(frame["status"] == "ok")
    frame = frame.drop(columns=["_day", "_r_uncontrolled", "_r_oracle"])
    order = [c for c in frame.columns if c != "score"]
    frame = frame[[*order[:order.index("return") + 1], "score", *order[order.index("return") + 1:]]]
    frame.attrs["units"] = dict(KPI_UNITS)
    return frame


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by scenario (first appearance), then controller: uncontrolled first, oracle last."""
    rank = {"uncontrolled": "0", "oracle": "2"}
    scen = {s: i for i, s in enumerate(dict.fromkeys(frame["scenario"]))}
    key = frame["scenario"].map(scen).astype(str).str.zfill(4) + frame["controller"].map(
        lambda c: rank.get(c, "1") + c)
    return frame.iloc[key.argsort(kind="stable")].reset_index(drop=True)


def _per_day(cells: pd.DataFrame) -> pd.DataFrame:
    """ok cells averaged over the episodes of a day (day mode) or kept per episode (seed mode)."""
    ok = cells[cells["status"] == "ok"].copy()
    ok["_unit"] = ok["day"].where(ok["day"].notna(), ok["seed"].astype(str) + "@" + ok["start_day"].astype(str))
    ok["month"] = pd.to_datetime(ok["start_day"]).dt.month
    values = [kpi for kpi, _, _ in REPORT_COLUMNS.values()] + ["score"]
    grouped = ok.groupby(["scenario", "controller", "_unit"], sort=False)
    per_day = grouped[values].mean()
    per_day["month"] = grouped["month"].first()
    return per_day.reset_index()


def annual_totals(cells: pd.DataFrame) -> pd.DataFrame:
    """Totals per (scenario, controller) over the days of the sweep (see the module docstring).

    Returns:
        Columns ``scenario, controller, days, failed``, the totals of :data:`REPORT_COLUMNS` and
        ``score`` (mean over the days that have one).
    """
    per_day = _per_day(cells)
    rows = []
    for (scenario, controller), group in per_day.groupby(["scenario", "controller"], sort=False):
        row: dict[str, Any] = {"scenario": scenario, "controller": controller, "days": len(group)}
        failed = cells[(cells["scenario"] == scenario) & (cells["controller"] == controller)]
        row["failed"] = int((failed["status"] != "ok").sum())
        for col, (kpi, factor, _) in REPORT_COLUMNS.items():
            row[col] = float(group[kpi].sum()) * factor
        row["score"] = float(group["score"].mean()) if group["score"].notna().any() else float("nan")
        rows.append(row)
    for (scenario, controller), group in cells.groupby(["scenario", "controller"], sort=False):
        if not any(r["scenario"] == scenario and r["controller"] == controller for r in rows):
            rows.append({"scenario": scenario, "controller": controller, "days": 0,
                         "failed": int((group["status"] != "ok").sum()),
                         **{c: float("nan") for c in REPORT_COLUMNS}, "score": float("nan")})
    return _ordered(pd.DataFrame(rows))


def monthly_totals(cells: pd.DataFrame) -> pd.DataFrame:
    """Monthly totals per (scenario, controller, month of the start day); ``score``: monthly mean."""
    per_day = _per_day(cells)
    agg = {kpi: "sum" for kpi, _, _ in REPORT_COLUMNS.values()}
    monthly = per_day.groupby(["scenario", "controller", "month"], sort=False).agg({**agg, "score": "mean"})
    monthly["days"] = per_day.groupby(["scenario", "controller", "month"], sort=False).size()
    monthly = _ordered(monthly.reset_index().sort_values("month", kind="stable"))
    for col, (kpi, factor, _) in REPORT_COLUMNS.items():
        monthly[col] = monthly[kpi] * factor
    return monthly[["scenario", "controller", "month", "days", *REPORT_COLUMNS, "score"]].reset_index(drop=True)


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    mag = abs(value)
    if mag < _NUMERICAL_ZERO:
        return "0"
    return f"{value:.1f}" if mag >= 100 else f"{value:.3f}" if mag >= 1 else f"{value:.4g}"


def format_report(cells: pd.DataFrame, out: str | Path = "") -> str:
    """The annual report as text: coverage, a markdown table of the totals, failures."""
    totals = annual_totals(cells)
    day_mode = cells["day"].notna().any()
    n_ok, n_failed = int((cells["status"] == "ok").sum()), int((cells["status"] != "ok").sum())
    lines = [f"sweep {out}: {len(cells)} cells ({n_ok} ok, {n_failed} failed)"]
    if day_mode:
        days = sorted(cells["day"].dropna().unique())
        whole = len(days) == DAYS_IN_YEAR
        per = "/yr" if whole else f"/{len(days)} d"
        lines.append(f"calendar days {days[0]}..{days[-1]}: {len(days)} of {DAYS_IN_YEAR} days of {YEAR}"
                     + ("" if whole else " (partial year: totals over these days, not scaled to a year)")
                     + "; midnight to midnight, one community per seed")
    else:
        per = "/sweep"
        lines.append("sampled days (seed mode): totals are sums over the episodes, not a calendar year")
    header = ["scenario", "controller", "days" if day_mode else "episodes", "failed",
              *(f"{h[:-1]}{per}]" for _, _, h in REPORT_COLUMNS.values()), "mean score"]
    rows = [[str(r.scenario), str(r.controller), str(r.days), str(r.failed),
             *(_fmt(getattr(r, c)) for c in REPORT_COLUMNS), _fmt(r.score)] for r in totals.itertuples()]
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
    fmt_row = lambda cells_: "| " + " | ".join(c.ljust(w) if i < 2 else c.rjust(w)  # noqa: E731
                                                for i, (c, w) in enumerate(zip(cells_, widths))) + " |"
    rule = "|" + "|".join("-" * (w + 1) + (":" if i >= 2 else "-") for i, w in enumerate(widths)) + "|"
    lines += ["", fmt_row(header), rule, *(fmt_row(r) for r in rows), ""]
    lines.append("score: 100 (R - R_uncontrolled)/(R_oracle - R_uncontrolled) per day, mean over the days that have "
                 "both references" + ("" if {"uncontrolled", "oracle"} <= set(cells["controller"]) else
                                      " (n/a: the sweep lacks the uncontrolled or the oracle cells)"))
    for scenario, group in totals.groupby("scenario", sort=False):
        if group["days"].nunique() > 1:
            lines.append(f"note: {scenario}: the controllers cover different numbers of days "
                         f"({', '.join(f'{c} {d}' for c, d in zip(group['controller'], group['days']))}); "
                         "compare totals with care or run the sweep again to retry failed cells")
    if n_failed:
        failed = cells[cells["status"] != "ok"]
        lines.append(f"{n_failed} failed cell(s) (run the same sweep again to retry them), e.g.:")
        for r in failed.head(5).itertuples():
            lines.append(f"  {r.scenario} {r.day or f'seed {r.seed}'} {r.controller}: {r.error}")
    return "\n".join(lines)


def plot_monthly(cells: pd.DataFrame, path: str | Path) -> Path:
    """One PNG: monthly totals of transformer aging, losses and cost, and the monthly mean score,
    one line per controller (and scenario). matplotlib's Agg canvas (extra ``[plot]``)."""
    import_optional("matplotlib", "plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    monthly = monthly_totals(cells)
    panels = [("aging_h", "transformer loss of life [h/month]"), ("losses_mwh", "losses [MWh/month]"),
              ("cost_eur", "energy cost [EUR/month]"), ("score", "mean score [-] (oracle 100, uncontrolled 0)")]
    fig = Figure(figsize=(12, 7.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2, sharex=True).ravel()
    several = monthly["scenario"].nunique() > 1
    styles = ["-", "--", ":", "-."]
    scen_style = {s: styles[i % len(styles)] for i, s in enumerate(monthly["scenario"].unique())}
    colours = {c: f"C{i % 10}" for i, c in enumerate(monthly["controller"].unique())}
    for ax, (col, title) in zip(axes, panels):
        for (scenario, controller), group in monthly.groupby(["scenario", "controller"], sort=False):
            if group[col].notna().any():
                ax.plot(group["month"], group[col], marker="o", ms=3, color=colours[controller],
                        ls=scen_style[scenario], label=f"{controller} ({scenario})" if several else controller)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.set_xticks(range(1, 13), ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"])
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Monthly totals per controller ({YEAR}; months of the days run)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
