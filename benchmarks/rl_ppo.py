"""PPO (stable-baselines3) against the heuristic baselines and the oracle, scored by the KPI harness.

Trains PPO on a scenario (``baselines.rl.train_ppo``, SB3 defaults, CPU), prints its learning
curve (mean undiscounted training return per tenth of the training, from SB3's ``Monitor``),
then plays the trained policy (deterministic) beside the uncontrolled reference, the rule-based
heuristic and the perfect-foresight oracle on the same held-out days (``evaluate``, episode seeds
from ``--eval-seed``; training draws its days from the stream seeded with ``--seed``) and prints
the mean KPIs. Writes the model, the training returns, the per-episode KPIs and (with matplotlib)
the learning curve against the baselines' evaluated returns to ``--out``.

Usage::

    python benchmarks/rl_ppo.py                              # 500k steps on winter-high-der (~8 min)
    python benchmarks/rl_ppo.py --timesteps 1000000 --seed 1
    python benchmarks/rl_ppo.py --no-normalize-reward        # train on the raw rewards (not the default)
    python benchmarks/rl_ppo.py --ppo '{"gamma": 0.995, "policy_kwargs": {"log_std_init": -1.0}}'
    python benchmarks/rl_ppo.py --quick                      # smoke run (a few seconds)

Needs the ``[rl]`` extra (stable-baselines3, torch).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from baselines.registry import make_controller
from baselines.rl import SB3Controller, train_ppo, training_returns
from thermogrid_env import evaluate
from thermogrid_env.config import get_scenario
from thermogrid_env.plotting import plot_learning_curve

from tables import to_markdown  # benchmarks/tables.py, beside this script

#: Mean KPIs shown per controller (column: header).
COLUMNS = {"return": "return", "cost_eur": "cost [EUR]", "discomfort_kh": "discomfort [K·h]",
           "ev_unmet_kwh": "EV missing [kWh]", "aging_h": "aging [h]", "load_losses_kwh": "load losses [kWh]",
           "peak_import_kw": "peak import [kW]", "voltage_violations": "voltage violations"}
BASELINES = ("uncontrolled", "rule_based", "oracle")


def learning_curve(returns: np.ndarray, blocks: int = 10) -> pd.DataFrame:
    """Mean training return per consecutive block of episodes (``blocks`` blocks, fewer if short).

    Args:
        returns: Training returns in episode order.
        blocks: Number of blocks.

    Returns:
        One row per block: first and last episode (1-based), mean and standard deviation.
    """
    if returns.size == 0:
        return pd.DataFrame(columns=["episodes", "mean return", "std"])
    rows, first = [], 0
    for chunk in np.array_split(returns, min(blocks, returns.size)):
        rows.append({"episodes": f"{first + 1}-{first + chunk.size}", "mean return": f"{chunk.mean():.1f}",
                     "std": f"{chunk.std():.1f}"})
        first += chunk.size
    return pd.DataFrame(rows)


def kpi_table(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Mean KPIs per controller, formatted, in ``order``."""
    means = table[table["episode"] == "mean"].set_index("controller")
    return pd.DataFrame([{"controller": name, **{header: f"{float(means.loc[name, kpi]):.4g}"
                                                 for kpi, header in COLUMNS.items()}} for name in order])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="winter-high-der")
    parser.add_argument("--timesteps", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=0, help="seed of PPO and of the training days")
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--eval-seed", type=int, default=10_000, help="seed of the first held-out day")
    parser.add_argument("--no-normalize-reward", action="store_true",
                        help="train on the raw rewards instead of SB3's VecNormalize(norm_obs=False)")
    parser.add_argument("--ppo", type=json.loads, default={},
                        help='further stable_baselines3.PPO arguments as JSON, e.g. \'{"gamma": 0.995}\'')
    parser.add_argument("--baselines", default=",".join(BASELINES), help="controllers to compare with")
    parser.add_argument("--out", default="results/rl_ppo")
    parser.add_argument("--quick", action="store_true", help="2 short episodes of training, 1 day of evaluation")
    args = parser.parse_args(argv)
    scenario = get_scenario(args.scenario)
    ppo_kwargs: dict = dict(args.ppo)
    if args.quick:
        args.timesteps, args.eval_episodes, args.baselines = 2 * scenario.n_steps, 1, "uncontrolled"
        ppo_kwargs.update(n_steps=scenario.n_steps, batch_size=32, n_epochs=1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    model = train_ppo(scenario, total_timesteps=args.timesteps, seed=args.seed,
                      normalize_reward=not args.no_normalize_reward, **ppo_kwargs)
    train_s = time.perf_counter() - t0
    model.save(out / "ppo.zip")
    returns = training_returns(model)
    pd.DataFrame({"episode": np.arange(1, returns.size + 1), "return": returns}).to_csv(
        out / "training_returns.csv", index=False)
    reward = "raw rewards" if args.no_normalize_reward else "rewards normalised by VecNormalize(norm_obs=False)"
    extra = f", PPO arguments {json.dumps(args.ppo)}" if args.ppo else ""
    print(f"PPO on {args.scenario}: {args.timesteps:,} steps ({returns.size} episodes), seed {args.seed}, {reward}{extra}; "
          f"{train_s:.0f} s ({args.timesteps / train_s:,.0f} steps/s)\n")
    print(to_markdown(learning_curve(returns)))

    names = [n.strip() for n in args.baselines.split(",") if n.strip()]
    controllers = {name: functools.partial(make_controller, name) for name in names}
    controllers["ppo"] = SB3Controller(model)
    t0 = time.perf_counter()
    table = evaluate(controllers, scenario, episodes=args.eval_episodes, seed=args.eval_seed, progress=False)
    table.to_csv(out / "episodes.csv", index=False)
    days = ", ".join(str(d) for d in table[table["episode"] != "mean"]["start_day"].unique())
    print(f"\nheld-out days {days} (seeds {args.eval_seed}..{args.eval_seed + args.eval_episodes - 1}), "
          f"mean per day; evaluation {time.perf_counter() - t0:.0f} s\n")
    print(to_markdown(kpi_table(table, list(controllers))))
    written = [out / "ppo.zip", out / "training_returns.csv", out / "episodes.csv"]
    if importlib.util.find_spec("matplotlib") is not None:
        means = table[table["episode"] == "mean"].set_index("controller")["return"]
        written.append(plot_learning_curve(returns, out / "learning_curve.png",
                                           {name: float(means[name]) for name in controllers}))
    print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
