"""Model-predictive control against the oracle, with perfect and noisy forecasts.

On the same seeded days, plays the uncontrolled reference, the perfect-foresight oracle and the
MPC controller (``baselines/mpc.py``: 6 h window re-planned every hour by default) with the
environment's perfect forecaster, then the MPC with the noisy forecaster
(:class:`thermogrid_env.forecast.NoisyForecaster`, Gaussian errors growing with the lead time)
without and with comfort back-offs, and with the base loads forecast too
(:class:`thermogrid_env.forecast.SeasonalEmpiricalLoadForecaster`) instead of known. Prints one
row of mean KPIs per run (return, cost, discomfort, EV energy missing, transformer aging,
load-dependent losses, peak import, wall time per episode).

Usage::

    python benchmarks/mpc_forecasts.py                    # winter-high-der, 5 days, 2 processes
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
from baselines.uncontrolled import UncontrolledController
from thermogrid_env import evaluate
from thermogrid_env.forecast import NoisyForecaster, PerfectForecaster, SeasonalEmpiricalLoadForecaster

from tables import to_markdown  # benchmarks/tables.py, beside this script

COLUMNS = {"return": "return", "cost_eur": "cost [EUR]", "discomfort_kh": "discomfort [K·h]",
           "ev_unmet_kwh": "EV missing [kWh]", "aging_h": "aging [h]", "load_losses_kwh": "load losses [kWh]",
           "peak_import_kw": "peak import [kW]", "wall_s": "wall per episode [s]"}


def runs(horizon_h: float, replan_every: int, margins: tuple[float, ...]) -> list[tuple[str, dict]]:
    """(forecaster name, controllers) of every evaluation."""
    mpc = functools.partial(MPCController, horizon_h=horizon_h, replan_every=replan_every)
    perfect = {"uncontrolled": UncontrolledController, "oracle": OracleController, "mpc": mpc}
    noisy = {f"mpc, comfort margin {m:g} K" if m else "mpc": functools.partial(mpc, comfort_margin_k=m)
             for m in (0.0, *margins)}
    for m in margins[:1]:  # the same with forecast base loads instead of known ones
        noisy[f"mpc, load forecast, comfort margin {m:g} K"] = functools.partial(
            mpc, comfort_margin_k=m, load_forecaster=SeasonalEmpiricalLoadForecaster())
    return [("perfect", perfect), ("noisy", noisy)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="winter-high-der")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--horizon-h", type=float, default=6.0)
    parser.add_argument("--replan-every", type=int, default=4)
    parser.add_argument("--margins", type=float, nargs="*", default=[0.25, 0.5])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1 day of winter-low-der, 2 h window, no margins")
    args = parser.parse_args(argv)
    if args.quick:
        args.scenario, args.episodes, args.horizon_h, args.replan_every, args.margins = "winter-low-der", 1, 2.0, 8, []
    forecasters = {"perfect": PerfectForecaster, "noisy": NoisyForecaster}
    rows = []
    t0 = time.perf_counter()
    for fc_name, controllers in runs(args.horizon_h, args.replan_every, tuple(args.margins)):
        table = evaluate(controllers, args.scenario, episodes=args.episodes, seed=args.seed, progress=False,
                         jobs=args.jobs, env_kwargs={"forecaster": forecasters[fc_name]()})
        means = table[table["episode"] == "mean"].set_index("controller")
        for name in controllers:
            rows.append({"controller": name, "forecasts": fc_name, **{v: means.loc[name, k] for k, v in COLUMNS.items()}})
    frame = pd.DataFrame(rows)
    print(f"{args.scenario}: {args.episodes} day(s) from seed {args.seed}; mpc window {args.horizon_h:g} h, "
          f"re-planned every {args.replan_every} steps; mean per day\n")
    print(to_markdown(frame))
    print(f"\nwall time {time.perf_counter() - t0:.0f} s with {args.jobs} process(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
