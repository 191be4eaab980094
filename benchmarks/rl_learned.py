"""Learned controllers on held-out days: the shipped recipe, its ablations, PPO, and training seeds.

On held-out days (:func:`thermogrid_env.splits.held_out_seeds`) of ``winter-high-der`` and
``summer-high-pv`` this plays, with the normalised score (uncontrolled 0, oracle 100):

* the references: uncontrolled, rule-based, the causal MPC and the oracle;
* ``PPO, power actions``: stable-baselines3 PPO with its defaults trained on the batched environment
  (:class:`baselines.rl_vec.SB3VectorEnv`, 16 episodes at once, training days of the preset it is
  scored on: one policy per preset, as its observation size is that of the community), power actions;
* ``PPO, set-point actions``: the same in the environment's set-point action mode;
* ``set-point at the band's edge``: no learning, the set-point parametrisation alone (every house
  aims at the comfort band's lower edge + 0.03 K, every EV at its least urgency);
* ``BC, power actions``: the policies cloned from the oracle on its power set-points;
* ``BC, set-point actions, no safety projection``: the recipe without its safety layer;
* ``learned`` (the shipped recipe, :mod:`baselines.learned`): cloned on set-points, with the safety
  projection, for every training seed (mean and spread).

Prints one table per preset (return, score, discomfort, EV energy missing, aging, load losses, peak
import, training time), the spread over training seeds, and writes the CSV and
``learning_curves.png`` (behaviour cloning's validation loss per epoch and PPO's training returns).
The demonstrations are cached in ``--out``; ``--retrain`` regenerates them.

Usage::

    python benchmarks/rl_learned.py                 # ~25-40 min on 2 cores
    python benchmarks/rl_learned.py --quick         # smoke run (2 days, 1 episode, tiny PPO)
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from baselines.learned import LearnedController, save_policies
from baselines.learned_training import PRESETS, collect, train
from baselines.protocol import EnvController
from thermogrid_env import evaluate
from thermogrid_env.envs.actions import action_of_setpoint
from thermogrid_env.splits import held_out_seeds

from tables import to_markdown  # benchmarks/tables.py, beside this script

COLUMNS = {"return": "return", "score": "score", "discomfort_kh": "discomfort [K·h]", "ev_unmet_kwh": "EV missing [kWh]",
           "aging_h": "aging [h]", "load_losses_kwh": "load losses [kWh]", "peak_import_kw": "peak import [kW]"}


class BandEdge(EnvController):
    """The set-point parametrisation without learning: every house aims at the band's lower edge +
    0.03 K, every EV charges at its least urgency, PV as is."""

    def setpoints(self, view):  # noqa: ANN001, ANN201 - a benchmark row
        from baselines.learned import actions_to_setpoints  # noqa: PLC0415

        c, sc = view.community, view.scenario
        hp = np.full((c.houses.n, 1), float(action_of_setpoint(sc.comfort.t_min_c + 0.03, sc.comfort.t_min_c,
                                                                 sc.comfort.t_max_c)))
        pv = np.column_stack([np.zeros(c.pvs.n), -np.ones(c.pvs.n)])
        return actions_to_setpoints(view, {"hp": hp, "ev": -np.ones((view.evs.n, 1)), "pv": pv})


class SB3Policy:
    """A trained SB3 model as a controller (deterministic) for an environment of the same action mode."""

    def __init__(self, model):  # noqa: ANN001
        self.model = model

    def predict(self, obs, state=None, episode_start=None, deterministic=True):  # noqa: ANN001, ANN201
        return self.model.predict(obs, state=state, episode_start=episode_start, deterministic=True)


def train_ppo(preset: str, action_mode: str, steps: int, seed: int) -> tuple[object, np.ndarray, float]:
    """PPO (SB3 defaults, MlpPolicy, CPU) on the batched env of ``preset`` (training days only); returns
    the model, its training returns and the training time in seconds."""
    import torch  # noqa: PLC0415
    from stable_baselines3 import PPO  # noqa: PLC0415

    from baselines.rl_vec import SB3VectorEnv  # noqa: PLC0415

    torch.set_num_threads(1)
    env = SB3VectorEnv(preset, num_envs=16, seed=seed, action_mode=action_mode)
    t0 = time.perf_counter()
    model = PPO("MlpPolicy", env, seed=seed, device="cpu").learn(steps)
    return model, np.asarray(env.episode_returns), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="winter-high-der,summer-high-pv", help="evaluation presets")
    parser.add_argument("--episodes", type=int, default=5, help="held-out days per preset")
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--days", type=int, default=60, help="training days per preset for the demonstrations")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--ppo-steps", type=int, default=300_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="results/learned")
    parser.add_argument("--retrain", action="store_true", help="regenerate the cached demonstrations")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.episodes, args.train_seeds, args.days, args.epochs, args.ppo_steps = 1, [0], 2, 2, 2048
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / ("demonstrations-quick.npz" if args.quick else "demonstrations.npz")
    t0 = time.perf_counter()
    if cache.is_file() and not args.retrain:
        with np.load(cache, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
        t_demo = float(data.get("meta/seconds", np.array(np.nan)))
    else:
        data = collect(PRESETS, args.days, jobs=args.jobs, progress=True)
        t_demo = time.perf_counter() - t0
        np.savez(cache, **data, **{"meta/seconds": np.array(t_demo)})
    curves, times, weights = {}, {}, {}
    for s in args.train_seeds:
        t1 = time.perf_counter()
        policies, curves[f"set-point, seed {s}"] = train(data, seed=s, epochs=args.epochs)
        times[s] = time.perf_counter() - t1
        weights[s] = save_policies(out / f"learned-seed{s}.npz", policies)
    t1 = time.perf_counter()
    power_policies, curves["power"] = train(data, seed=args.train_seeds[0], epochs=args.epochs, labels="y_power")
    t_power = time.perf_counter() - t1
    power_weights = save_policies(out / "bc-power.npz", power_policies)
    presets = [p.strip() for p in args.presets.split(",")]
    # A PPO policy's observation and action sizes are those of its community: one per preset.
    ppo = {(preset, mode): train_ppo(preset, mode, args.ppo_steps, args.train_seeds[0])
           for preset in presets for mode in ("power", "setpoint")}
    s0 = args.train_seeds[0]
    controllers = {
        "uncontrolled": None, "rule_based": None, "mpc": None, "oracle": None,
        "set-point at the band's edge": (BandEdge, "power", 0.0),
        "PPO, power actions": ("ppo", "power", None),
        "PPO, set-point actions": ("ppo", "setpoint", None),
        "BC, power actions": (functools.partial(LearnedController, weights=power_weights, actions="power"), "power",
                              t_demo + t_power),
        "BC, set-point actions, no safety projection": (
            functools.partial(LearnedController, weights=weights[s0], safety=False), "power", t_demo + times[s0]),
        **{f"learned (seed {s})": (functools.partial(LearnedController, weights=weights[s]), "power", t_demo + times[s])
           for s in args.train_seeds},
    }
    rows = []
    seeds = held_out_seeds(args.episodes)
    for preset in presets:
        for mode in ("references", "power", "setpoint"):
            group = {name: _factory(name, spec, ppo, preset) for name, spec in controllers.items()
                     if (spec is None and mode == "references") or (spec is not None and spec[1] == mode)}
            env_mode = "power" if mode == "references" else mode
            if not group:
                continue
            references = all(controllers[name] is None for name in group)
            table = evaluate(group, preset, episodes=args.episodes, seed=seeds[0], progress=True,
                             jobs=args.jobs if references else 1, env_kwargs={"action_mode": env_mode})
            table.to_csv(out / f"{preset}-{mode}.csv", index=False)
            means = table[table["episode"] == "mean"].set_index("controller")
            for name in group:
                spec = controllers[name]
                seconds = 0.0 if spec is None else ppo[preset, spec[1]][2] if spec[0] == "ppo" else spec[2]
                rows.append({"preset": preset, "controller": name,
                             **{v: float(means.loc[name, k]) for k, v in COLUMNS.items()},
                             "training [min]": seconds / 60.0})
    frame = pd.DataFrame(rows)
    frame.to_csv(out / "learned_benchmark.csv", index=False)
    for preset, part in frame.groupby("preset", sort=False):
        print(f"\n{preset}: {args.episodes} held-out days from seed {seeds[0]}; mean per day\n")
        print(to_markdown(part.drop(columns="preset")))
        learned = part[part["controller"].str.startswith("learned")]
        print(f"\nlearned over {len(learned)} training seeds: score {learned['score'].mean():.1f} ± "
              f"{learned['score'].std(ddof=0):.1f}, return {learned['return'].mean():.1f} ± "
              f"{learned['return'].std(ddof=0):.1f}")
    print(f"\nretraining from scratch: demonstrations {t_demo / 60:.1f} min, cloning "
          + ", ".join(f"seed {s} {t / 60:.1f} min" for s, t in times.items())
          + f"; PPO {args.ppo_steps} steps: "
          + ", ".join(f"{p} {m} {v[2] / 60:.1f} min" for (p, m), v in ppo.items()))
    _plot(curves, ppo, out / "learning_curves.png")
    print(f"wrote {out / 'learned_benchmark.csv'} and {out / 'learning_curves.png'}")
    return 0


def _factory(name: str, spec: tuple | None, ppo: dict[tuple[str, str], tuple], preset: str):  # noqa: ANN202
    """The controller factory of one benchmark row on ``preset``."""
    from baselines.registry import get_factory  # noqa: PLC0415

    if spec is None:
        return get_factory(name)
    if spec[0] == "ppo":
        model = ppo[preset, spec[1]][0]
        return lambda: SB3Policy(model)
    return spec[0]


def _plot(curves: dict[str, dict[str, list]], ppo: dict[tuple[str, str], tuple], path: Path) -> None:
    """Behaviour cloning's validation loss per epoch (per device kind) and PPO's training returns."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for ax, kind in zip(axes[:3], ("hp", "ev", "pv")):
        for name, c in curves.items():
            ax.plot(np.arange(1, len(c[kind]) + 1), c[kind], label=name)
        ax.set(title=f"behaviour cloning, {kind}: validation MSE", xlabel="epoch", yscale="log")
        ax.legend(fontsize=7)
    for (preset, mode), (_, returns, _) in ppo.items():
        if len(returns):
            axes[3].plot(np.arange(len(returns)), returns, label=f"PPO, {mode} actions, {preset}", lw=0.8)
    axes[3].set(title="PPO training returns", xlabel="training episode", ylabel="return")
    axes[3].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
