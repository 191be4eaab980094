"""PNG figures of evaluation traces (:func:`thermogrid_env.evaluate` with ``record=True``).

matplotlib is an optional extra (``pip install 'thermogrid-env[plot]'``), imported lazily. Figures
are drawn on matplotlib's Agg canvas through :class:`matplotlib.figure.Figure`, never through
``pyplot``: no window opens, no global backend is switched, nothing leaks between calls.

The time axis is the local clock time (Europe/Berlin, the time of the data; DST-safe), and the
energy price is drawn as a step line on a secondary axis so that controllers' reactions to tariff
steps are visible. Quantities held over a step (powers, loadings, voltages, price) are drawn as
steps over it; states at the end of a step (temperatures, hot spot, state of charge) at its end.

* :func:`plot_controller` - one controller, one episode: lowest/highest bus voltage with the band,
  line and transformer loading against 100 %, transformer hot spot, indoor temperatures of all
  houses (min-max band and mean) against the comfort limits, EV state of charge, device powers.
* :func:`plot_comparison` - every controller on one episode in shared panels.
* :func:`plot_traces` - both, for one, several or all episodes, written to a directory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from thermogrid_env.errors import ConfigError, import_optional
from thermogrid_env.evaluation import EpisodeTrace
from thermogrid_env.results import HOT_SPOT_VALIDITY_LIMIT_C as _HOT_SPOT_LIMIT_C

__all__ = ["EpisodeSelection", "comparison_figure", "controller_figure", "plot_comparison", "plot_controller",
           "plot_learning_curve", "plot_traces", "select_episodes"]

_DPI = 110
#: Time zone of the clock on the time axis (the SimBench profiles' local time).
LOCAL_TZ = "Europe/Berlin"

#: Which episodes to plot: ``"all"``, one index or a list of indices.
EpisodeSelection = Union[Literal["all"], int, Sequence[int]]


# ------------------------------------------------------------------------------------- helpers
def _figure(n_rows: int, title: str) -> tuple[Any, list[Any]]:
    import_optional("matplotlib", "plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(11, 2.2 * n_rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(n_rows, 1, sharex=True, squeeze=False)[:, 0])
    fig.suptitle(title)
    return fig, axes


def _edges(trace: EpisodeTrace) -> tuple[list[Any], list[Any]]:
    """Start and end of every step as timezone-aware UTC datetimes."""
    start = pd.DatetimeIndex(trace.time_utc)
    if start.tz is None:
        start = start.tz_localize("UTC")
    dt = start[1] - start[0] if len(start) > 1 else pd.Timedelta(minutes=15)
    return list(start.to_pydatetime()), list((start + dt).to_pydatetime())


def _stairs(ax: Any, trace: EpisodeTrace, values: np.ndarray, **kwargs: Any) -> Any:
    """A quantity held over each step, drawn as a step line from each step's start to its end."""
    start, end = _edges(trace)
    values = np.asarray(values, dtype=float)
    (line,) = ax.step([*start, end[-1]], [*values, values[-1]], where="post", **kwargs)
    return line


#: Colour of limits and bands (neutral: controllers take the colour cycle).
_LIMIT = "dimgray"


def _band(ax: Any, low: float, high: float, label: str) -> None:
    ax.axhspan(low, high, color=_LIMIT, alpha=0.07, label=label)
    for y in (low, high):
        ax.axhline(y, color=_LIMIT, lw=0.8, ls="--")


def _limits(ax: Any, low: float, high: float, label: str) -> None:
    ax.axhline(low, color=_LIMIT, lw=1.0, ls="--", label=label)
    ax.axhline(high, color=_LIMIT, lw=1.0, ls="--")


def _rating(ax: Any) -> None:
    ax.axhline(100.0, color="black", lw=0.9, ls="--", label="100 % (rating)")


def _temperature_band(ax: Any, trace: EpisodeTrace, color: str, name: str = "") -> None:
    """Min-max band of all houses' indoor temperatures and their mean."""
    t_in = np.asarray(trace.t_indoor_c, dtype=float)
    if t_in.ndim != 2 or not t_in.shape[1]:
        return
    _, end = _edges(trace)
    prefix = f"{name}: " if name else ""
    ax.fill_between(end, t_in.min(axis=1), t_in.max(axis=1), color=color, alpha=0.18, lw=0,
                    label=f"{prefix}min-max of {t_in.shape[1]} houses")
    ax.plot(end, t_in.mean(axis=1), color=color, lw=1.5, label=f"{prefix}mean")


def _price(ax: Any, trace: EpisodeTrace) -> Any:
    """The energy price as a step line on a secondary axis of ``ax``; returns that axis."""
    twin = ax.twinx()
    _stairs(twin, trace, 100.0 * np.asarray(trace.price_eur_per_kwh), color="saddlebrown", lw=1.4,
            ls=(0, (4, 2)), label="price (right axis)")
    twin.set_ylabel("price [ct/kWh]", color="saddlebrown")
    twin.tick_params(axis="y", colors="saddlebrown")
    return twin


def _legend(ax: Any, *others: Any, **kwargs: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    for other in others:
        h, lab = other.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
    if handles:
        ax.legend(handles, labels, fontsize="small", **{"loc": "best", **kwargs})


def _time_axis(axes: Sequence[Any], trace: EpisodeTrace) -> None:
    """Local clock time (Europe/Berlin, DST-aware) on the shared x axis, and grids."""
    import matplotlib.dates as mdates  # noqa: PLC0415

    tz = ZoneInfo(LOCAL_TZ)
    local = pd.DatetimeIndex(_edges(trace)[0]).tz_convert(LOCAL_TZ)
    zones = "/".join(dict.fromkeys(local.strftime("%Z")))
    axes[-1].xaxis.set_major_locator(mdates.AutoDateLocator(tz=tz, minticks=4, maxticks=9))
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%b %d %H:%M", tz=tz))
    axes[-1].set_xlabel(f"local time ({LOCAL_TZ}, {zones})")
    for ax in axes:
        ax.grid(alpha=0.3)


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    return path


def _title(what: str, trace: EpisodeTrace) -> str:
    return f"{what} - episode {trace.episode} (seed {trace.seed}, {trace.start_day})"


def _hot_spot_limit(ax: Any, peak: float) -> None:
    if np.isfinite(peak) and peak > 0.8 * _HOT_SPOT_LIMIT_C:
        ax.axhline(_HOT_SPOT_LIMIT_C, color="black", lw=0.9, ls="--",
                   label=f"{_HOT_SPOT_LIMIT_C:g} °C: IEC 60076-7 model validity")


# ------------------------------------------------------------------------------------- figures
def plot_controller(trace: EpisodeTrace, path: str | Path) -> Path:
    """One controller on one episode: voltage, loading, hot spot, comfort, EVs, powers and price.

    Args:
        trace: The recorded episode.
        path: PNG file to write (parent directories are created).

    Returns:
        The path written.

    Raises:
        MissingExtraError: matplotlib is not installed.
    """
    return _save(controller_figure(trace), path)


def controller_figure(trace: EpisodeTrace) -> Any:
    """The figure of :func:`plot_controller` (a :class:`matplotlib.figure.Figure`), not saved."""
    fig, (ax_v, ax_l, ax_t, ax_in, ax_ev, ax_p) = _figure(6, _title(trace.controller, trace))
    _band(ax_v, *trace.v_band_pu, "voltage band")
    _stairs(ax_v, trace, trace.v_min_pu, color="tab:blue", label="lowest bus voltage")
    _stairs(ax_v, trace, trace.v_max_pu, color="tab:orange", label="highest bus voltage")
    ax_v.set_ylabel("voltage [pu]")
    _legend(ax_v, loc="lower left", ncols=3)

    _stairs(ax_l, trace, 100.0 * np.asarray(trace.line_loading_max), color="tab:olive", label="most loaded line")
    _stairs(ax_l, trace, 100.0 * np.asarray(trace.trafo_loading), color="tab:purple", label="transformer")
    _rating(ax_l)
    ax_l.set_ylabel("loading [%]")
    _legend(ax_l, ncols=3)

    _, end = _edges(trace)
    ax_t.plot(end, trace.hot_spot_c, color="tab:red", label="transformer hot spot")
    _hot_spot_limit(ax_t, float(np.nanmax(trace.hot_spot_c, initial=-np.inf)))
    ax_t.set_ylabel("hot spot [°C]")
    _legend(ax_t)

    _limits(ax_in, *trace.comfort_band_c, "comfort limits")
    _temperature_band(ax_in, trace, "tab:red")
    ax_in.set_ylabel("indoor temperature [°C]")
    ax_amb = ax_in.twinx()
    ax_amb.plot(end, trace.t_ambient_c, color="tab:cyan", lw=1.0, ls=":", label="ambient (right axis)")
    ax_amb.set_ylabel("ambient [°C]", color="tab:cyan")
    _legend(ax_in, ax_amb, ncols=4)

    if trace.ev_soc.shape[1]:
        soc = np.where(trace.ev_plugged, trace.ev_soc, np.nan)
        ax_ev.plot(end, soc, lw=0.8)
    ax_ev.set_ylim(0.0, 1.05)
    ax_ev.set_ylabel("EV SoC (plugged) [-]")

    for values, color, label in ((trace.base_p_kw, "tab:gray", "base load"), (trace.hp_p_kw, "tab:red", "heat pumps"),
                                 (trace.ev_p_kw, "tab:blue", "EVs"), (trace.pv_p_kw, "gold", "PV"),
                                 (trace.p_import_kw, "black", "MV import")):
        _stairs(ax_p, trace, values, color=color, lw=1.5 if label == "MV import" else 1.0, label=label)
    ax_p.set_ylabel("power [kW]")
    _legend(ax_p, _price(ax_p, trace), ncols=6)
    _time_axis([ax_v, ax_l, ax_t, ax_in, ax_ev, ax_p], trace)
    return fig


def plot_comparison(traces: Mapping[str, EpisodeTrace], path: str | Path) -> Path:
    """Every controller on the same episode, in shared panels (one colour per controller).

    Panels: indoor temperatures (min-max band of all houses and mean, comfort limits), most loaded
    line and transformer loading against 100 %, lowest bus voltage with the band, transformer hot
    spot, heat-pump power with the price, MV import.

    Args:
        traces: Controller name -> its trace of the episode.
        path: PNG file to write.

    Returns:
        The path written.

    Raises:
        ConfigError: No traces.
        MissingExtraError: matplotlib is not installed.
    """
    return _save(comparison_figure(traces), path)


def comparison_figure(traces: Mapping[str, EpisodeTrace]) -> Any:
    """The figure of :func:`plot_comparison` (a :class:`matplotlib.figure.Figure`), not saved.

    Raises:
        ConfigError: No traces.
    """
    if not traces:
        raise ConfigError("plot_comparison needs at least one trace.")
    first = next(iter(traces.values()))
    fig, axes = _figure(7, _title("comparison", first))
    ax_in, ax_line, ax_tr, ax_v, ax_hs, ax_hp, ax_p = axes
    _limits(ax_in, *first.comfort_band_c, "comfort limits")
    _band(ax_v, *first.v_band_pu, "voltage band")
    for ax in (ax_line, ax_tr):
        _rating(ax)
    peak = -np.inf
    for i, (name, trace) in enumerate(traces.items()):
        color = f"C{i}"
        _temperature_band(ax_in, trace, color, name)
        _stairs(ax_line, trace, 100.0 * np.asarray(trace.line_loading_max), color=color, label=name)
        _stairs(ax_tr, trace, 100.0 * np.asarray(trace.trafo_loading), color=color, label=name)
        _stairs(ax_v, trace, trace.v_min_pu, color=color, label=name)
        ax_hs.plot(_edges(trace)[1], trace.hot_spot_c, color=color, label=name)
        peak = max(peak, float(np.nanmax(trace.hot_spot_c, initial=-np.inf)))
        _stairs(ax_hp, trace, trace.hp_p_kw, color=color, label=name)
        _stairs(ax_p, trace, trace.p_import_kw, color=color, label=name)
    _hot_spot_limit(ax_hs, peak)
    for ax, label in ((ax_in, "indoor temperature [°C]"), (ax_line, "most loaded line [%]"),
                      (ax_tr, "transformer loading [%]"), (ax_v, "lowest voltage [pu]"),
                      (ax_hs, "hot spot [°C]"), (ax_hp, "heat pumps [kW]"), (ax_p, "MV import [kW]")):
        ax.set_ylabel(label)
    for ax in (ax_in, ax_line, ax_tr, ax_v, ax_hs, ax_p):
        _legend(ax, ncols=min(4, 1 + 2 * len(traces)))
    _legend(ax_hp, _price(ax_hp, first), ncols=len(traces) + 1)
    _time_axis(axes, first)
    return fig


# ------------------------------------------------------------------------------------ to files
def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def select_episodes(selection: EpisodeSelection, n_episodes: int) -> list[int]:
    """Episode indices of a selection, checked against the number of recorded episodes.

    Args:
        selection: ``"all"``, one index or a sequence of indices.
        n_episodes: Episodes recorded.

    Returns:
        The indices, sorted and without duplicates.

    Raises:
        ConfigError: An index outside ``[0, n_episodes)``, an empty list or an unknown string.
    """
    if isinstance(selection, str):
        if selection != "all":
            raise ConfigError(f"episodes must be 'all', an index or a list of indices, got {selection!r}.")
        return list(range(n_episodes))
    chosen = [selection] if isinstance(selection, (int, np.integer)) else list(selection)
    if not chosen:
        raise ConfigError("episodes is an empty list; give 'all', an index or a list of indices.")
    bad = [i for i in chosen if not isinstance(i, (int, np.integer)) or not 0 <= i < n_episodes]
    if bad:
        raise ConfigError(f"Episode(s) {bad} were not recorded: {n_episodes} episode(s), indices 0..{n_episodes - 1}.")
    return sorted({int(i) for i in chosen})


def plot_traces(traces: Mapping[str, Sequence[EpisodeTrace]], out_dir: str | Path,
                episodes: EpisodeSelection = 0, *, episode: int | None = None,
                on_written: Callable[[Path], None] | None = None) -> list[Path]:
    """Write one figure per controller and a comparison figure for each chosen episode.

    Args:
        traces: As returned by ``evaluate(..., record=True)``.
        out_dir: Directory for ``<controller>_episode<i>.png`` and ``comparison_episode<i>.png``.
        episodes: Which episodes: ``"all"``, an index or a list of indices (default 0).
        episode: Older spelling of a single ``episodes`` index (takes precedence when given).
        on_written: Called with each path once written (e.g. to show progress).

    Returns:
        The paths written: per episode, each controller's figure then the comparison.

    Raises:
        ConfigError: A chosen episode was not recorded for every controller, or no traces.
        MissingExtraError: matplotlib is not installed.
    """
    if not traces:
        raise ConfigError("plot_traces needs the traces of at least one controller.")
    n_recorded = min(len(runs) for runs in traces.values())
    chosen = select_episodes(episodes if episode is None else episode, n_recorded)
    slugs: dict[str, str] = {}
    for name in traces:
        slug = _slug(name)
        while slug in slugs.values() or slug == "comparison":
            slug += "_"
        slugs[name] = slug
    out = Path(out_dir)
    paths: list[Path] = []

    def done(path: Path) -> None:
        paths.append(path)
        if on_written is not None:
            on_written(path)

    for i in chosen:
        for name, runs in traces.items():
            done(plot_controller(runs[i], out / f"{slugs[name]}_episode{i}.png"))
        done(plot_comparison({name: runs[i] for name, runs in traces.items()}, out / f"comparison_episode{i}.png"))
    return paths


def plot_learning_curve(returns: np.ndarray, path: str | Path, references: Mapping[str, float] | None = None,
                        window: int = 100) -> Path:
    """Training returns of a learning controller, with reference controllers' returns as lines.

    Args:
        returns: ``(n_episodes,)`` undiscounted training returns in episode order.
        path: PNG file to write.
        references: Controller name -> mean return (e.g. from ``evaluate``), drawn as horizontal lines.
        window: Episodes in the running mean (shortened to the number of episodes).

    Returns:
        ``path``.

    Raises:
        ConfigError: ``returns`` is empty or not finite, or ``window < 1``.
        MissingExtraError: matplotlib is not installed.
    """
    returns = np.asarray(returns, dtype=float)
    if returns.ndim != 1 or returns.size == 0 or not np.isfinite(returns).all():
        raise ConfigError("returns must be a non-empty 1-D array of finite training returns.")
    if window < 1:
        raise ConfigError(f"window must be >= 1, got {window}.")
    w = min(window, returns.size)
    running = np.convolve(returns, np.ones(w) / w, mode="valid")
    fig, (ax,) = _figure(1, "training returns")
    episodes = np.arange(1, returns.size + 1)
    ax.plot(episodes, returns, color="tab:blue", alpha=0.15, lw=0.6, label="episode")
    ax.plot(episodes[w - 1:], running, color="tab:blue", lw=1.5, label=f"running mean ({w} episodes)")
    for i, (name, value) in enumerate((references or {}).items()):
        ax.axhline(value, color=f"C{i + 1}", lw=1.2, ls="--", label=f"{name} (evaluated)")
    refs = list((references or {}).values())
    low, high = min([np.percentile(running, 10), *refs]), max([running.max(), *refs])  # early episodes off
    ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
    ax.set_xlabel("training episode")
    ax.set_ylabel("return")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)
