"""Training of the learned controller: behaviour cloning of the oracle, device by device.

Recipe (one command: ``python -m baselines.learned_training``):

1. **Demonstrations.** For training seeds (:data:`thermogrid_env.splits.TRAIN_SEEDS`, ``0 .. n - 1``) of
   each preset, the oracle's day is solved (perfect foresight) and played through the environment;
   at every step each device's features (:func:`baselines.learned.features`, what the controller
   will see) are recorded with the oracle's choice expressed in the set-point action mode: the
   indoor temperature the oracle's house reaches at the end of the step where it heats, the lowest
   target ("off") where it does not, the urgency between the least and the most the EV may charge,
   the PV's reactive power and curtailment.
2. **Behaviour cloning.** One multilayer perceptron per device kind (shared by all devices of the
   kind) regresses those actions (mean squared error, Adam), on the demonstrations of whole days,
   with a fifth of the days held out for validation (its loss is the learning curve).
3. **Export** to an ``.npz`` file (:func:`baselines.learned.save_policies`), read without pickle.

Demonstrations are cached (``--data``) so that seeds and variants retrain in seconds. Needs the
``[rl]`` (torch) and ``[opf]`` (cvxpy) extras.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from baselines.learned import KINDS, Policy, features, save_policies
from thermogrid_env.envs.actions import action_of_setpoint
from thermogrid_env.errors import ConfigError, import_optional
from thermogrid_env.splits import check_training_seed

#: Presets of the default feeder the shipped policy is trained on (one policy for all of them).
PRESETS = ("winter-low-der", "winter-high-der", "summer-high-pv")


def demonstrations(preset: str, seed: int) -> dict[str, np.ndarray]:
    """Features and oracle actions of one training day: ``{"<kind>/x": (n, f), "<kind>/y": (n, out)}``.

    The oracle's set-points are played through the environment (power mode, exact); the labels are
    its choices in the set-point mode's terms.
    """
    from thermogrid_env.envs.thermogrid_env import ThermoGridEnv  # noqa: PLC0415
    from thermogrid_env.opf import solve_opf  # noqa: PLC0415
    from thermogrid_env.opf.episode import opf_data_from_episode  # noqa: PLC0415
    from thermogrid_env.physics import ev  # noqa: PLC0415

    env = ThermoGridEnv(preset)
    env.reset(seed=check_training_seed(seed))
    sol = solve_opf(opf_data_from_episode(env.episode, state=env.sim_state))
    sc = env.scenario
    t_min, t_max = sc.comfort.t_min_c, sc.comfort.t_max_c
    rows: dict[str, list[np.ndarray]] = {f"{k}/{x}": [] for k in KINDS for x in ("x", "y", "y_power")}
    for k in range(sol.n_periods):
        view = env.controller_view()
        feats = features(view)
        sp = sol.sim_setpoints(k)
        if "hp" in feats:
            # a house the oracle does not heat: "off" (the lowest target; any target below the free
            # temperature gives no heat, and the free temperature itself would teach heating)
            off = sp.hp_p_kw <= 1e-4 * env.episode.community.houses.p_max_kw
            label = np.where(off, -1.0, action_of_setpoint(sol.t_indoor_c[k + 1], t_min, t_max))
            rows["hp/x"].append(feats["hp"])
            rows["hp/y"].append(label[:, None])
            rows["hp/y_power"].append((2.0 * sp.hp_p_kw / env.episode.community.houses.p_max_kw - 1.0)[:, None])
        d = view.evs
        if "ev" in feats and d.plugged.any():
            i = np.flatnonzero(d.plugged)
            steps_after = np.maximum(d.deadline_step[i] - k - 1, 0)
            args = (d.soc[i], d.capacity_kwh[i], d.efficiency[i], d.p_max_kw[i], d.target_kwh[i], steps_after, sc.dt_h)
            lo, hi = ev.power_for_urgency(0.0, *args), ev.power_for_urgency(1.0, *args)
            span = hi - lo
            ok = span > 1e-6  # an EV with no freedom teaches nothing
            urgency = np.clip((sp.ev_p_kw[i] - lo) / np.where(ok, span, 1.0), 0.0, 1.0)
            rows["ev/x"].append(feats["ev"][i[ok]])
            rows["ev/y"].append((2.0 * urgency[ok] - 1.0)[:, None])
            rows["ev/y_power"].append((2.0 * sp.ev_p_kw[i[ok]] / d.p_max_kw[i[ok]] - 1.0)[:, None])
        if "pv" in feats:
            s = env.episode.community.pvs.s_inverter_kva
            rows["pv/x"].append(feats["pv"])
            rows["pv/y"].append(np.column_stack([np.clip(sp.pv_q_kvar / s, -1, 1), 2.0 * sp.pv_curtailment - 1.0]))
            rows["pv/y_power"].append(rows["pv/y"][-1])
        env.step(env.action_spec.from_setpoints(sp, dtype=np.float64))
    out = {}
    for key, parts in rows.items():
        width = next((p.shape[1] for p in parts), 0)
        out[key] = np.concatenate(parts) if parts else np.zeros((0, width))
    return out


def collect(presets: tuple[str, ...], n_days: int, jobs: int = 1, progress: bool = True) -> dict[str, np.ndarray]:
    """Demonstrations of the first ``n_days`` training seeds of every preset; every row tagged with its
    day (``"<kind>/day"``) for the day-wise validation split."""
    tasks = [(p, s) for p in presets for s in range(n_days)]
    results: list[dict[str, np.ndarray]] = [None] * len(tasks)  # type: ignore[list-item]
    t0 = time.perf_counter()
    if jobs > 1:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN))
        try:
            futures = [pool.submit(demonstrations, p, s) for p, s in tasks]
            for i, fut in enumerate(futures):
                results[i] = fut.result()
                _report(progress, i + 1, len(tasks), t0)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    else:
        for i, (p, s) in enumerate(tasks):
            results[i] = demonstrations(p, s)
            _report(progress, i + 1, len(tasks), t0)
    data = {key: np.concatenate([r[key] for r in results]) for key in results[0]}
    for kind in KINDS:
        data[f"{kind}/day"] = np.concatenate([np.full(len(r[f"{kind}/x"]), i) for i, r in enumerate(results)])
    return data


def _report(enabled: bool, done: int, total: int, t0: float) -> None:
    if enabled:
        print(f"\rdemonstrations: {done}/{total} days ({time.perf_counter() - t0:.0f} s)", end="\n" if done == total else "",
              file=sys.stderr, flush=True)


def train(data: dict[str, np.ndarray], seed: int = 0, hidden: tuple[int, ...] = (64, 64), epochs: int = 30,
          lr: float = 2e-3, batch_size: int = 1024, progress: bool = True,
          labels: str = "y") -> tuple[dict[str, Policy], dict[str, list]]:
    """Behaviour cloning of every device kind (module docstring).

    Args:
        data: Demonstrations (:func:`collect`).
        seed: Seed of the initialisation, the validation days and the batches.
        hidden: Hidden layer sizes.
        epochs, lr, batch_size: Adam's schedule (cosine-annealed learning rate).
        progress: Report the validation loss per epoch on stderr.
        labels: ``"y"`` (the set-point action mode's actions, the shipped recipe) or ``"y_power"``
            (the oracle's power set-points as power-mode actions: an ablation).

    Returns:
        ``(policies, curves)``: the trained policies and, per kind, the validation loss per epoch.
    """
    torch = import_optional("torch", "rl")
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    policies, curves = {}, {}
    for kind in KINDS:
        x, y, day = data[f"{kind}/x"], data[f"{kind}/{labels}"], data[f"{kind}/day"]
        if not len(x):
            raise ConfigError(f"No {kind} demonstrations: use presets with that device kind.")
        days = np.unique(day)
        val_days = rng.choice(days, size=max(1, len(days) // 5), replace=False)
        val = np.isin(day, val_days)
        mean, std = x[~val].mean(axis=0), x[~val].std(axis=0) + 1e-6
        xt = torch.tensor((x - mean) / std, dtype=torch.float32)
        yt = torch.tensor(y, dtype=torch.float32)
        sizes = (x.shape[1], *hidden, y.shape[1])
        layers: list[Any] = []
        for i in range(len(sizes) - 1):
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
            layers.append(torch.nn.ReLU() if i < len(sizes) - 2 else torch.nn.Tanh())
        net = torch.nn.Sequential(*layers)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
        train_idx = np.flatnonzero(~val)
        val_x, val_y = xt[val], yt[val]
        curve = []
        for epoch in range(epochs):
            net.train()
            order = rng.permutation(train_idx)
            for b in range(0, len(order), batch_size):
                idx = torch.as_tensor(order[b:b + batch_size])
                loss = torch.mean((net(xt[idx]) - yt[idx]) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
            net.eval()
            with torch.no_grad():
                curve.append(float(torch.mean((net(val_x) - val_y) ** 2)))
            if progress:
                print(f"\rbehaviour cloning {kind}: epoch {epoch + 1}/{epochs}, validation MSE {curve[-1]:.4f}",
                      end="\n" if epoch + 1 == epochs else "", file=sys.stderr, flush=True)
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        policies[kind] = Policy(weights=tuple(m.weight.detach().numpy().T.astype(np.float64).copy() for m in linears),
                                biases=tuple(m.bias.detach().numpy().astype(np.float64).copy() for m in linears),
                                x_mean=mean, x_std=std)
        curves[kind] = curve
    return policies, curves


def main(argv: list[str] | None = None) -> int:
    """Retrain the shipped policy from scratch (demonstrations, cloning, export)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--days", type=int, default=60, help="training days per preset (seeds 0 .. days-1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the network initialisation and batches")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data", default="results/learned/demonstrations.npz",
                        help="cache of the demonstrations (reused when it exists)")
    parser.add_argument("--out", default="results/learned/learned-v1.npz")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    presets = tuple(p.strip() for p in args.presets.split(",") if p.strip())
    t0 = time.perf_counter()
    cache = Path(args.data)
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    else:
        data = collect(presets, args.days, jobs=args.jobs, progress=not args.quiet)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **data)
    t_demo = time.perf_counter() - t0
    policies, curves = train(data, seed=args.seed, epochs=args.epochs, progress=not args.quiet)
    path = save_policies(args.out, policies, presets=np.array(presets), days=args.days, seed=args.seed,
                         **{f"val_mse_{k}": np.array(c) for k, c in curves.items()})
    print(f"wrote {path}: demonstrations {t_demo:.0f} s, cloning {time.perf_counter() - t0 - t_demo:.0f} s; "
          + ", ".join(f"{k} validation MSE {c[-1]:.4f}" for k, c in curves.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
