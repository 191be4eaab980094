"""Base-load forecasts scored: pinball loss, interval coverage and median error, day ahead.

For each seeded two-day episode of a scenario (its feeder, heat-pump households and start day, as
the environment draws them) forecasts are issued every 4 hours over the first day for the next 24
hours (15-min steps) and scored against the shipped profiles, load by load:

* ``pinball``: mean quantile (pinball) loss over the quantiles 0.1/0.5/0.9, leads and loads, divided
  by the mean load (lower is better; a perfect forecast scores 0);
* ``coverage 10-90 %``: share of true values inside the 0.1-0.9 quantile band (0.8 when calibrated;
  point forecasts have an empty band);
* ``median MAE``: mean absolute error of the median, divided by the mean load;
* ``feeder MAE``: the same for the feeder total of the medians (what the grid sees).

Compared: :class:`thermogrid_env.forecast.load.SeasonalEmpiricalLoadForecaster` with 16 (the
default), 8 or 28 days of the target's day type, 16 days of the same type with public holidays
treated by their weekday, or 16 days of any type; "same time yesterday"; and persistence of the
value at the issue time (both point forecasts). With ``--holidays`` the episodes start on the public
holidays of 2016 that fall on a weekday (Good Friday, Whit Monday, ...), so about half the targets
are holidays and half the working day after.

Usage::

    python benchmarks/load_forecasts.py                       # winter-high-der, 10 days
    python benchmarks/load_forecasts.py --scenario summer-high-pv --episodes 5
    python benchmarks/load_forecasts.py --holidays            # the 9 weekday holidays of 2016
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from thermogrid_env.config import get_scenario
from thermogrid_env.forecast.load import SeasonalEmpiricalLoadForecaster
from thermogrid_env.sim.calendar import public_holidays
from thermogrid_env.sim.episode import sample_episode
from thermogrid_env.sim.exogenous import heating_free_profiles, year_profiles

QUANTILES = (0.1, 0.5, 0.9)
HORIZON = 96  # 24 h of 15-min steps
ISSUE_EVERY = 16  # 4 h


def pinball(truth: np.ndarray, quantiles: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Pinball loss of ``quantiles`` ``(n_q, ...)`` against ``truth`` ``(...)``, averaged over the levels."""
    diff = truth[None] - quantiles
    tau = levels.reshape((-1,) + (1,) * truth.ndim)
    return np.mean(np.maximum(tau * diff, (tau - 1.0) * diff), axis=0)


def score_episode(episode, methods: dict) -> dict[str, dict[str, float]]:
    """Scores of every method on one episode (sums, to be pooled over episodes)."""
    c = episode.community
    names, scale = heating_free_profiles(c.feeder, c.houses.load)
    index, p_norm, _ = year_profiles(names)
    pos = index.get_indexer(episode.exogenous.time_utc.floor("15min"))
    rated = c.feeder.load_p_kw * scale
    out = {}
    levels = np.asarray(QUANTILES)
    for name, make in methods.items():
        sums = {"pinball": 0.0, "inside": 0.0, "abs_err": 0.0, "feeder_abs_err": 0.0, "load": 0.0,
                "feeder_load": 0.0, "n": 0, "n_t": 0}
        forecaster = make()
        if forecaster is not None:
            forecaster.reset(episode)
        for k in range(0, episode.scenario.steps_per_day, ISSUE_EVERY):
            rows = (pos[k] + np.arange(1, HORIZON + 1)) % p_norm.shape[0]
            truth = p_norm[rows] * rated  # (H, n_load)
            if forecaster is not None:
                q = forecaster.forecast(k, HORIZON).p_kw
            elif name == "same time yesterday":
                q = np.repeat((p_norm[(rows - 96) % p_norm.shape[0]] * rated)[None], 3, axis=0)
            else:  # persistence of the value at the issue step
                q = np.repeat(np.broadcast_to(p_norm[pos[k]] * rated, truth.shape)[None], 3, axis=0)
            sums["pinball"] += float(pinball(truth, q, levels).sum())
            sums["inside"] += float(((truth >= q[0]) & (truth <= q[-1]) & (q[-1] > q[0])).sum())
            sums["abs_err"] += float(np.abs(q[1] - truth).sum())
            sums["feeder_abs_err"] += float(np.abs(q[1].sum(axis=1) - truth.sum(axis=1)).sum())
            sums["load"] += float(truth.sum())
            sums["feeder_load"] += float(truth.sum())
            sums["n"] += truth.size
            sums["n_t"] += truth.shape[0]
        out[name] = sums
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="winter-high-der")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--holidays", action="store_true",
                        help="episodes starting on the weekday public holidays of 2016 (ignores --episodes)")
    args = parser.parse_args(argv)
    methods = {
        "seasonal empirical, 16 days of the same type (default)":
            lambda: SeasonalEmpiricalLoadForecaster(16, True, QUANTILES),
        "seasonal empirical, 8 days of the same type": lambda: SeasonalEmpiricalLoadForecaster(8, True, QUANTILES),
        "seasonal empirical, 28 days of the same type": lambda: SeasonalEmpiricalLoadForecaster(28, True, QUANTILES),
        "seasonal empirical, 16 days of the same type, holidays by weekday":
            lambda: SeasonalEmpiricalLoadForecaster(16, True, QUANTILES, holidays=False),
        "seasonal empirical, 16 days of any type": lambda: SeasonalEmpiricalLoadForecaster(16, False, QUANTILES),
        "same time yesterday": lambda: None,
        "persistence": lambda: None,
    }
    t0 = time.perf_counter()
    pooled: dict[str, dict[str, float]] = {}
    # two-day episodes: every 24-h forecast issued on the first day ends inside the episode
    starts = ([str(d) for d in sorted(public_holidays(2016)) if d.weekday() < 5] if args.holidays
              else [None] * args.episodes)
    for i, start in enumerate(starts):
        scenario = get_scenario(args.scenario, episode_days=2, start_date=start)
        episode = sample_episode(scenario, np.random.default_rng(args.seed + i))
        for name, sums in score_episode(episode, methods).items():
            acc = pooled.setdefault(name, dict.fromkeys(sums, 0.0))
            for key, value in sums.items():
                acc[key] += value
    days = f"episodes starting on {', '.join(starts)}" if args.holidays else f"{args.episodes} episodes"
    print(f"{args.scenario}: {days}, forecasts issued every 4 h over the first day for the next "
          f"24 h, every feeder load\n")
    print("| forecaster | pinball / mean load | coverage 10-90 % | median MAE / mean load | feeder MAE / mean feeder load |")
    print("|---|---:|---:|---:|---:|")
    for name, s in pooled.items():
        mean_load = s["load"] / s["n"]
        mean_feeder = s["feeder_load"] / s["n_t"]
        print(f"| {name} | {s['pinball'] / s['n'] / mean_load:.3f} | {s['inside'] / s['n']:.2f} | "
              f"{s['abs_err'] / s['n'] / mean_load:.3f} | {s['feeder_abs_err'] / s['n_t'] / mean_feeder:.3f} |")
    print(f"\nwall time {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
