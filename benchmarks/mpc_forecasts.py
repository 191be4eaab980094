"""Model-predictive control against the oracle: what the MPC knew before, and what it may know now.

On the same seeded days (``--seed``; the default 10,000 is the first held-out seed), plays the
references (uncontrolled, rule-based, oracle) and the MPC controller (``baselines/mpc.py``: 6 h
window re-planned every hour) with different information:

* ``perfect foresight`` (**before**): the MPC planned from the episode itself — the true future EV
  arrivals, departures and needs, the true base loads, and the environment's perfect forecaster.
  That is what ``baselines/mpc.py`` did before the information rule (``perfect_foresight=True`` now).
* ``causal`` (**after**, the default): the controller view only — measured state, the plugged EVs'
  declared sessions, the environment's causal forecaster for weather
  (:class:`~thermogrid_env.forecast.empirical.SeasonalEmpiricalForecaster`), the load forecaster for
  base loads, the tariff; with comfort back-offs of 0, 0.25 (default) and 0.5 K, and with expected
  sessions of the EVs still to come (:class:`~thermogrid_env.forecast.ev.EVSessionForecaster`,
  learnt from training seeds).
* ``causal, noisy weather``: as the default, with the environment's weather forecast replaced by
  truth plus Gaussian errors (:class:`~thermogrid_env.forecast.NoisyForecaster`).

Prints one row of mean KPIs per run with the normalised score (uncontrolled 0, oracle 100).

Usage::

    python benchmarks/mpc_forecasts.py                    # winter-high-der, 5 held-out days, 2 processes
    python benchmarks/mpc_forecasts.py --episodes 2 --jobs 1
    python benchmarks/mpc_forecasts.py --quick            # smoke run (1 short-horizon day)
"""

from __future__ import annotations

import argparse
import functools
import sys
import time

import pandas as pd

from baselines.mpc import MPCController
from baselines.oracle import OracleController
from baselines.rule_based import RuleBasedController
from baselines.uncontrolled import UncontrolledController
from thermogrid_env import evaluate
from thermogrid_env.forecast import NoisyForecaster, PerfectForecaster, SeasonalEmpiricalForecaster
from thermogrid_env.forecast.ev import EVSessionForecaster
from thermogrid_env.splits import HELD_OUT_SEEDS

from tables import to_markdown  # benchmarks/tables.py, beside this script

COLUMNS = {"score": "score", "return": "return", "cost_eur": "cost [EUR]", "discomfort_kh": "discomfort [K·h]",
           "ev_unmet_kwh": "EV missing [kWh]", "aging_h": "aging [h]", "load_losses_kwh": "load losses [kWh]",
           "peak_import_kw": "peak import [kW]", "wall_s": "wall per episode [s]"}


def runs(horizon_h: float, replan_every: int, margins: tuple[float, ...]) -> list[tuple[str, str, dict]]:
    """(information, environment forecaster, controllers) of every evaluation."""
    mpc = functools.partial(MPCController, horizon_h=horizon_h, replan_every=replan_every)
    refs = {"uncontrolled": UncontrolledController, "rule-based": RuleBasedController, "oracle": OracleController}
    before = {"mpc, perfect foresight (before)": functools.partial(mpc, perfect_foresight=True, comfort_margin_k=0.0)}
    after = {f"mpc, causal, comfort margin {m:g} K": functools.partial(mpc, comfort_margin_k=m) for m in margins}
    if margins:
        m = 0.25 if 0.25 in margins else margins[0]
        after[f"mpc, causal, comfort margin {m:g} K, EV arrival forecast"] = functools.partial(
            mpc, comfort_margin_k=m, ev_forecaster=EVSessionForecaster())
    noisy = {f"mpc, causal, comfort margin {m:g} K, noisy weather": functools.partial(mpc, comfort_margin_k=m)
             for m in margins[1:2] or margins}
    return [("references", "empirical", refs), ("perfect foresight", "perfect", before),
            ("causal", "empirical", after), ("causal, noisy weather", "noisy", noisy)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="winter-high-der")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEEDS.start)
    parser.add_argument("--horizon-h", type=float, default=6.0)
    parser.add_argument("--replan-every", type=int, default=4)
    parser.add_argument("--margins", type=float, nargs="*", default=[0.0, 0.25, 0.5])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1 day of winter-low-der, 2 h window, one margin")
    args = parser.parse_args(argv)
    if args.quick:
        args.scenario, args.episodes, args.horizon_h, args.replan_every, args.margins = (
            "winter-low-der", 1, 2.0, 8, [0.25])
    forecasters = {"perfect": PerfectForecaster, "noisy": NoisyForecaster, "empirical": SeasonalEmpiricalForecaster}
    rows = []
    t0 = time.perf_counter()
    for info, fc_name, controllers in runs(args.horizon_h, args.replan_every, tuple(args.margins)):
        table = evaluate(controllers, args.scenario, episodes=args.episodes, seed=args.seed, progress=False,
                         jobs=args.jobs, env_kwargs={"forecaster": forecasters[fc_name]()})
        means = table[table["episode"] == "mean"].set_index("controller")
        for name in controllers:
            rows.append({"controller": name, "weather forecast": fc_name,
                         **{v: means.loc[name, k] for k, v in COLUMNS.items()}})
    frame = pd.DataFrame(rows)
    print(f"{args.scenario}: {args.episodes} day(s) from seed {args.seed}; mpc window {args.horizon_h:g} h, "
          f"re-planned every {args.replan_every} steps; mean per day\n")
    print(to_markdown(frame))
    print(f"\nwall time {time.perf_counter() - t0:.0f} s with {args.jobs} process(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
