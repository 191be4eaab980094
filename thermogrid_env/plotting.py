"""PNG figures of evaluation traces (:func:`thermogrid_env.evaluate` with ``record=True``).

matplotlib is an optional extra (``pip install 'thermogrid-env[plot]'``), imported lazily. Figures
are drawn on matplotlib's Agg canvas through :class:`matplotlib.figure.Figure`, never through
``pyplot``: no window opens, no global backend is switched, nothing leaks between calls.

* :func:`plot_controller` - one controller, one episode: lowest/highest bus voltage with the band,
  transformer hot spot and loading, indoor temperatures against the comfort band, EV state of
  charge (and the device powers against the base load).
* :func:`plot_comparison` - every controller on one episode in shared panels.
* :func:`plot_traces` - both, written to a directory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from thermogrid_env.errors import ConfigError, import_optional
from thermogrid_env.evaluation import EpisodeTrace

__all__ = ["plot_comparison", "plot_controller", "plot_learning_curve", "plot_traces"]

_DPI = 110


def _figure(n_rows: int, title: str) -> tuple[Any, list[Any]]:
    import_optional("matplotlib", "plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(10, 2.4 * n_rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(n_rows, 1, sharex=True, squeeze=False)[:, 0])
    fig.suptitle(title)
    return fig, axes


def _hours(trace: EpisodeTrace) -> np.ndarray:
    """Hours since the episode start at the end of each step."""
    n = trace.v_min_pu.shape[0]
    if n > 1:
        dt_h = (trace.time_utc[1] - trace.time_utc[0]).total_seconds() / 3600.0
    else:
        dt_h = 0.25
    return np.arange(1, n + 1) * dt_h


def _band(ax: Any, low: float, high: float, label: str) -> None:
    ax.axhspan(low, high, color="tab:green", alpha=0.08, label=label)
    for y in (low, high):
        ax.axhline(y, color="tab:green", lw=0.8, ls="--")


def _finish(fig: Any, axes: Sequence[Any], path: Path) -> Path:
    axes[-1].set_xlabel("hours since episode start [h]")
    for ax in axes:
        ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    return path


def plot_controller(trace: EpisodeTrace, path: str | Path) -> Path:
    """One controller on one episode: voltage, transformer, comfort, EVs, power balance.

    Args:
        trace: The recorded episode.
        path: PNG file to write (parent directories are created).

    Returns:
        The path written.
    """
    fig, (ax_v, ax_t, ax_in, ax_ev, ax_p) = _figure(
        5, f"{trace.controller} - episode {trace.episode} (seed {trace.seed}, {trace.start_day})"
    )
    h = _hours(trace)
    _band(ax_v, *trace.v_band_pu, "voltage band")
    ax_v.plot(h, trace.v_min_pu, color="tab:blue", label="lowest bus voltage")
    ax_v.plot(h, trace.v_max_pu, color="tab:orange", label="highest bus voltage")
    ax_v.set_ylabel("voltage [pu]")
    ax_v.legend(loc="lower left", fontsize="small", ncols=3)

    ax_t.plot(h, trace.hot_spot_c, color="tab:red", label="hot spot")
    ax_t.set_ylabel("hot spot [°C]")
    ax_l = ax_t.twinx()
    ax_l.plot(h, trace.trafo_loading, color="tab:purple", label="loading")
    ax_l.axhline(1.0, color="tab:purple", lw=0.8, ls="--")
    ax_l.set_ylabel("transformer loading [-]")
    lines = ax_t.get_lines()[:1] + ax_l.get_lines()[:1]
    ax_t.legend(lines, [ln.get_label() for ln in lines], loc="upper left", fontsize="small")

    _band(ax_in, *trace.comfort_band_c, "comfort band")
    if trace.t_indoor_c.shape[1]:
        ax_in.plot(h, trace.t_indoor_c, color="tab:gray", lw=0.6, alpha=0.6)
        ax_in.plot(h, trace.t_indoor_c.mean(axis=1), color="black", lw=1.5, label="mean")
    ax_in.plot(h, trace.t_ambient_c, color="tab:cyan", lw=1.0, ls=":", label="ambient")
    ax_in.set_ylabel("temperature [°C]")
    ax_in.legend(loc="upper left", fontsize="small", ncols=3)

    if trace.ev_soc.shape[1]:
        soc = np.where(trace.ev_plugged, trace.ev_soc, np.nan)
        ax_ev.plot(h, soc, lw=0.8)
    ax_ev.set_ylim(0.0, 1.05)
    ax_ev.set_ylabel("EV SoC (plugged) [-]")

    ax_p.plot(h, trace.base_p_kw, color="tab:gray", label="base load")
    ax_p.plot(h, trace.hp_p_kw, color="tab:red", label="heat pumps")
    ax_p.plot(h, trace.ev_p_kw, color="tab:blue", label="EVs")
    ax_p.plot(h, trace.pv_p_kw, color="gold", label="PV")
    ax_p.plot(h, trace.p_import_kw, color="black", lw=1.5, label="MV import")
    ax_p.set_ylabel("power [kW]")
    ax_p.legend(loc="upper left", fontsize="small", ncols=5)
    return _finish(fig, [ax_v, ax_t, ax_in, ax_ev, ax_p], Path(path))


def plot_comparison(traces: Mapping[str, EpisodeTrace], path: str | Path) -> Path:
    """Every controller on the same episode, in shared panels.

    Args:
        traces: Controller name -> its trace of the episode.
        path: PNG file to write.

    Returns:
        The path written.

    Raises:
        ConfigError: No traces.
    """
    if not traces:
        raise ConfigError("plot_comparison needs at least one trace.")
    first = next(iter(traces.values()))
    fig, axes = _figure(5, f"comparison - episode {first.episode} (seed {first.seed}, {first.start_day})")
    ax_v, ax_l, ax_hs, ax_in, ax_p = axes
    _band(ax_v, *first.v_band_pu, "voltage band")
    _band(ax_in, *first.comfort_band_c, "comfort band")
    ax_l.axhline(1.0, color="black", lw=0.8, ls="--")
    for name, trace in traces.items():
        h = _hours(trace)
        ax_v.plot(h, trace.v_min_pu, label=name)
        ax_l.plot(h, trace.trafo_loading, label=name)
        ax_hs.plot(h, trace.hot_spot_c, label=name)
        if trace.t_indoor_c.shape[1]:
            ax_in.plot(h, trace.t_indoor_c.min(axis=1), label=f"{name} (coldest house)")
        ax_p.plot(h, trace.p_import_kw, label=name)
    for ax, label in ((ax_v, "lowest voltage [pu]"), (ax_l, "transformer loading [-]"),
                      (ax_hs, "hot spot [°C]"), (ax_in, "indoor temperature [°C]"), (ax_p, "MV import [kW]")):
        ax.set_ylabel(label)
        ax.legend(loc="best", fontsize="small")
    return _finish(fig, axes, Path(path))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def plot_traces(traces: Mapping[str, Sequence[EpisodeTrace]], out_dir: str | Path, episode: int = 0) -> list[Path]:
    """Write one figure per controller and a comparison figure for one episode.

    Args:
        traces: As returned by ``evaluate(..., record=True)``.
        out_dir: Directory for ``<controller>_episode<i>.png`` and ``comparison_episode<i>.png``.
        episode: Which episode (index into each controller's list).

    Returns:
        The paths written.

    Raises:
        ConfigError: The episode was not recorded.
        MissingExtraError: matplotlib is not installed.
    """
    out = Path(out_dir)
    chosen: dict[str, EpisodeTrace] = {}
    for name, runs in traces.items():
        if not 0 <= episode < len(runs):
            raise ConfigError(f"Episode {episode} was not recorded for {name!r} ({len(runs)} episodes).")
        chosen[name] = runs[episode]
    paths = [plot_controller(trace, out / f"{_slug(name)}_episode{episode}.png") for name, trace in chosen.items()]
    paths.append(plot_comparison(chosen, out / f"comparison_episode{episode}.png"))
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    return path
