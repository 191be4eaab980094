"""Figures of :mod:`thermogrid_env.plotting` on tiny fake traces (no episode is played).

``fake_trace``/``fake_traces``/``fake_table`` are also used by ``test_results.py`` and ``test_cli.py``.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from thermogrid_env.errors import ConfigError
from thermogrid_env.evaluation import EpisodeTrace
from thermogrid_env.sim.kpi import KPI_UNITS

PNG = b"\x89PNG\r\n\x1a\n"


def fake_trace(controller: str = "a", episode: int = 0, *, start_utc: str = "2016-01-15 16:00", n_steps: int = 8,
               n_hp: int = 3, n_ev: int = 2, line_peak: float = 1.14, hot_spot_peak: float = 60.0) -> EpisodeTrace:
    """A short recorded episode with 15-min steps and known extremes."""
    k = np.arange(n_steps, dtype=float)
    rise = np.sin(np.pi * k / max(n_steps - 1, 1))
    rise /= rise.max() if rise.max() > 0 else 1.0  # peaks at exactly 1
    t_in = 21.0 + np.outer(rise, np.linspace(-1.5, 3.0, n_hp))  # coldest 19.5 °C, hottest 24 °C
    price = np.where(k < n_steps // 2, 0.32, 0.42)  # a tariff step in the middle
    return EpisodeTrace(
        controller=controller, episode=episode, seed=episode, start_day="2016-01-15",
        time_utc=pd.date_range(start_utc, periods=n_steps, freq="15min", tz="UTC"),
        hour_local=(17.0 + k / 4) % 24, v_min_pu=1.0 - 0.02 * rise, v_max_pu=1.01 + 0.01 * rise,
        hot_spot_c=30.0 + (hot_spot_peak - 30.0) * rise, trafo_loading=0.3 + 0.5 * rise,
        line_loading_max=0.2 + (line_peak - 0.2) * rise, t_indoor_c=t_in,
        ev_soc=np.tile(np.linspace(0.5, 0.9, n_steps)[:, None], (1, n_ev)),
        ev_plugged=np.ones((n_steps, n_ev), dtype=bool), hp_p_kw=20.0 + 10.0 * rise, ev_p_kw=5.0 * rise,
        pv_p_kw=np.zeros(n_steps), base_p_kw=40.0 + 0 * k, p_import_kw=65.0 + 15.0 * rise, p_loss_kw=1.0 + 0 * k,
        t_ambient_c=-2.0 + 0 * k, price_eur_per_kwh=price, reward=-1.0 - rise,
        v_band_pu=(0.9, 1.1), comfort_band_c=(20.0, 23.0),
    )


def fake_traces(names: tuple[str, ...] = ("uncontrolled", "rule_based"),
                episodes: int = 1) -> dict[str, list[EpisodeTrace]]:
    """Traces as returned by ``evaluate(..., record=True)``."""
    return {name: [fake_trace(name, i) for i in range(episodes)] for name in names}


def fake_table(names: tuple[str, ...] = ("uncontrolled", "rule_based"), episodes: int = 1,
               hot_spot_c: float = 60.0) -> pd.DataFrame:
    """A KPI table shaped like ``evaluate``'s: per-episode rows then a mean row per controller."""
    rows = []
    for j, name in enumerate(names):
        own = [{"controller": name, "episode": i, "seed": i, "start_day": "2016-01-15", "return": -10.0 - j,
                **{kpi: 1.0 + j for kpi in KPI_UNITS}, "hot_spot_max_c": hot_spot_c, "n_steps": 8, "wall_s": 0.1}
               for i in range(episodes)]
        mean = {c: float(np.mean([r[c] for r in own])) for c in own[0] if c not in ("controller", "start_day")}
        rows += [*own, {**mean, "controller": name, "episode": "mean", "seed": None, "start_day": None}]
    table = pd.DataFrame(rows)
    table.attrs["units"] = dict(KPI_UNITS)
    table.attrs["scenario"] = "winter-high-der"
    return table


@pytest.fixture(autouse=True)
def _matplotlib() -> None:
    pytest.importorskip("matplotlib")


def _axis(fig, ylabel: str):
    return next(ax for ax in fig.axes if ax.get_ylabel() == ylabel)


def test_plot_traces_all_episodes_one_png_per_controller_plus_comparison(tmp_path) -> None:
    from thermogrid_env.plotting import plot_traces

    seen = []
    paths = plot_traces(fake_traces(("rule based",), episodes=2), tmp_path, episodes="all", on_written=seen.append)
    assert [p.name for p in paths] == ["rule_based_episode0.png", "comparison_episode0.png",
                                       "rule_based_episode1.png", "comparison_episode1.png"]
    assert seen == paths
    assert all(p.read_bytes()[:8] == PNG for p in paths)


@pytest.mark.parametrize(("selection", "expected"), [(1, [1]), ([2, 0, 2], [0, 2]), ("all", [0, 1, 2])])
def test_episode_selection(selection, expected) -> None:
    from thermogrid_env.plotting import select_episodes

    assert select_episodes(selection, 3) == expected


@pytest.mark.parametrize("selection", [3, -1, [0, 5], [], "first"])
def test_bad_episode_selection_is_a_config_error(selection) -> None:
    from thermogrid_env.plotting import select_episodes

    with pytest.raises(ConfigError):
        select_episodes(selection, 3)


def test_old_episode_keyword_and_name_clash_with_the_comparison(tmp_path) -> None:
    from thermogrid_env.plotting import plot_traces

    traces = {"comparison": [fake_trace("comparison", i) for i in range(2)]}
    paths = plot_traces(traces, tmp_path, episode=1)
    assert [p.name for p in paths] == ["comparison__episode1.png", "comparison_episode1.png"]


def test_comparison_shows_every_house_loading_price_and_local_clock() -> None:
    import matplotlib.dates as mdates
    from matplotlib.collections import PolyCollection

    from thermogrid_env.plotting import comparison_figure

    traces = {name: runs[0] for name, runs in fake_traces().items()}
    fig = comparison_figure(traces)
    temp = _axis(fig, "indoor temperature [°C]")
    bands = [c for c in temp.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # one min-max band per controller
    ys = bands[0].get_paths()[0].vertices[:, 1]
    t_in = traces["uncontrolled"].t_indoor_c
    assert ys.min() == pytest.approx(t_in.min()) and ys.max() == pytest.approx(t_in.max())  # not only the coldest
    assert {20.0, 23.0} <= {line.get_ydata()[0] for line in temp.get_lines()}  # comfort limits

    line_ax = _axis(fig, "most loaded line [%]")
    assert max(np.max(ln.get_ydata()) for ln in line_ax.get_lines()) == pytest.approx(114.0)
    assert any(np.all(np.asarray(ln.get_ydata()) == 100.0) for ln in line_ax.get_lines())  # the limit
    assert _axis(fig, "transformer loading [%]")

    price_ax = _axis(fig, "price [ct/kWh]")
    (price,) = price_ax.get_lines()
    assert price.get_drawstyle() == "steps-post"
    assert sorted(set(np.round(price.get_ydata(), 6))) == [32.0, 42.0]

    fmt = fig.axes[0].xaxis.get_major_formatter()
    assert fmt(mdates.date2num(datetime(2016, 1, 15, 17, 0, tzinfo=timezone.utc))) == "Jan 15 18:00"  # CET
    assert fmt(mdates.date2num(datetime(2016, 7, 1, 16, 0, tzinfo=timezone.utc))) == "Jul 01 18:00"  # CEST
    assert "Europe/Berlin" in fig.axes[6].get_xlabel()


def test_controller_figure_has_loading_band_hot_spot_limit_and_price() -> None:
    from thermogrid_env.plotting import controller_figure

    fig = controller_figure(fake_trace(hot_spot_peak=150.0))
    loading = _axis(fig, "loading [%]")
    labels = [ln.get_label() for ln in loading.get_lines()]
    assert {"most loaded line", "transformer", "100 % (rating)"} <= set(labels)
    hot = _axis(fig, "hot spot [°C]")
    assert any(np.all(np.asarray(ln.get_ydata()) == 140.0) for ln in hot.get_lines())  # validity limit shown
    assert _axis(fig, "indoor temperature [°C]").collections  # the band of all houses
    assert _axis(fig, "price [ct/kWh]").get_lines()
    assert "CET" in fig.axes[5].get_xlabel()


def test_comparison_needs_traces() -> None:
    from thermogrid_env.plotting import comparison_figure, plot_traces

    with pytest.raises(ConfigError):
        comparison_figure({})
    with pytest.raises(ConfigError):
        plot_traces({}, "unused")
