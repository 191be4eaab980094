"""Throughput of the ThermoGrid environment: single env (env overhead vs simulator) and vector envs.

Prints markdown tables. Random actions are drawn in advance, so action sampling is not timed.

* single env, ``winter-high-der``: steps/s of ``env.step`` without resets, of whole episodes
  including ``reset``, through ``gymnasium.make`` (TimeLimit, OrderEnforcing, PassiveEnvChecker)
  and on the raw env; the simulator alone (the same set-points replayed into
  ``Simulator.step``), and the env's own overhead per step, both as the difference (raw env step
  − simulator step) and directly (the env stepping with ``Simulator.step`` replaced by a replay of
  recorded outputs);
* ``gymnasium.make_vec`` with 1, 2, 4, 8 sub-environments, ``sync`` and ``async``: total steps/s;
* the natively batched :class:`~thermogrid_env.envs.vector_env.ThermoGridVectorEnv` (the ids'
  ``vector_entry_point``) at N = 1, 16, 64, 256, 1024: total env-steps/s over whole episodes
  (autoreset included, every sub-environment resets once a day), µs per env-step, the steps/s of
  stepping alone, and the memory the batch holds; the ratios to the single env and to
  ``make_vec`` sync of the same run; at the two largest N also split over worker processes
  (:class:`~thermogrid_env.envs.vector_workers.ThermoGridWorkerVectorEnv`, one per CPU, at most 4)
  and in one process with the power flow on numba's threads (``parallel_powerflow=True``);
* SB3 PPO training steps/s (``MlpPolicy``, ``n_steps=128``, one torch thread) on the batched env's
  SB3 adapter (:class:`baselines.rl_vec.SB3VectorEnv`) against a ``DummyVecEnv`` of as many single
  environments (needs the ``[rl]`` extra; skipped without it).

Usage::

    python benchmarks/env_throughput.py           # full (~3-5 min)
    python benchmarks/env_throughput.py --quick   # a few seconds
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import gymnasium as gym
import numpy as np

import thermogrid_env  # noqa: F401 - registers the ids
from thermogrid_env.envs import ThermoGridEnv

ENV_ID = "ThermoGrid-winter-high-der-v0"


def _median_rate(fn, runs: int) -> tuple[float, float]:
    """Median and spread (min, max as a ratio) of ``fn() -> (n_items, seconds)`` rates."""
    rates = []
    for _ in range(runs):
        n, dt = fn()
        rates.append(n / dt)
    return statistics.median(rates), (max(rates) - min(rates)) / statistics.median(rates)


def single_env(episodes: int, runs: int) -> list[tuple[str, float, str]]:
    """Rows (what, µs per step, note) of the single-env measurements."""
    raw = ThermoGridEnv(ENV_ID.removeprefix("ThermoGrid-").removesuffix("-v0"))
    made = gym.make(ENV_ID)
    n_act = raw.action_space.shape[0]
    actions = np.random.default_rng(0).uniform(-1, 1, (episodes, raw.scenario.n_steps, n_act)).astype(np.float32)
    for env in (raw, made):  # warm-up (numba, caches)
        env.reset(seed=0)
        for a in actions[0]:
            env.step(a)

    def steps_only(env):
        def run():
            total, n = 0.0, 0
            for e in range(episodes):
                env.reset(seed=e)
                t0 = time.perf_counter()
                for a in actions[e]:
                    env.step(a)
                total += time.perf_counter() - t0
                n += len(actions[e])
            return n, total
        return run

    def with_reset(env):
        def run():
            t0 = time.perf_counter()
            n = 0
            for e in range(episodes):
                env.reset(seed=e)
                for a in actions[e]:
                    env.step(a)
                n += len(actions[e])
            return n, time.perf_counter() - t0
        return run

    def resets():
        t0 = time.perf_counter()
        for e in range(episodes):
            raw.reset(seed=e)
        return episodes, time.perf_counter() - t0

    def simulator_only():  # the same set-points replayed into the simulator alone
        total, n = 0.0, 0
        for e in range(episodes):
            raw.reset(seed=e)
            sim, spec = raw.simulator, raw.action_spec
            setpoints = [spec.to_setpoints(a) for a in actions[e]]
            state = sim.initial_state()
            t0 = time.perf_counter()
            for sp in setpoints:
                state, _ = sim.step(state, sp)
            total += time.perf_counter() - t0
            n += len(setpoints)
        return n, total

    def env_only():  # the env with its simulator replaced by a replay of recorded outputs
        total, n = 0.0, 0
        for e in range(episodes):
            raw.reset(seed=e)
            recorded = []
            for a in actions[e]:
                raw.step(a)
                recorded.append((raw.sim_state, raw.last_result))
            raw.reset(seed=e)
            replay = iter(recorded)
            raw.simulator.step = lambda state, setpoints, replay=replay, **_: next(replay)
            t0 = time.perf_counter()
            for a in actions[e]:
                raw.step(a)
            total += time.perf_counter() - t0
            n += len(actions[e])
        return n, total

    rows = []
    results = {}
    for name, fn in (
        ("raw env, step only", steps_only(raw)),
        ("gymnasium.make env, step only", steps_only(made)),
        ("raw env, episodes incl. reset", with_reset(raw)),
        ("gymnasium.make env, episodes incl. reset", with_reset(made)),
        ("simulator.step alone (same set-points)", simulator_only),
    ):
        rate, spread = _median_rate(fn, runs)
        results[name] = 1e6 / rate
        rows.append((name, rate, f"{1e6 / rate:.1f} µs/step (spread {spread:.0%})"))
    reset_rate, _ = _median_rate(resets, runs)
    rows.append(("reset", reset_rate, f"{1e3 / reset_rate:.2f} ms/reset (resets/s in the rate column)"))
    overhead = results["raw env, step only"] - results["simulator.step alone (same set-points)"]
    rows.append(("env overhead = raw env step − simulator step", 1e6 / max(overhead, 1e-9),
                 f"{overhead:.1f} µs/step"))
    rate, spread = _median_rate(env_only, runs)
    rows.append(("env overhead measured directly (simulator replayed)", rate,
                 f"{1e6 / rate:.1f} µs/step (spread {spread:.0%})"))
    return rows


def vector_envs(counts: tuple[int, ...], steps: int, runs: int) -> list[tuple[str, int, float]]:
    """Rows (mode, num_envs, total steps/s) of ``gymnasium.make_vec``."""
    rows = []
    for mode in ("sync", "async"):
        for n in counts:
            envs = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode=mode)
            envs.reset(seed=0)
            rng = np.random.default_rng(0)
            shape = envs.action_space.shape
            for _ in range(20):  # warm-up
                envs.step(rng.uniform(-1, 1, shape).astype(np.float32))
            acts = rng.uniform(-1, 1, (steps, *shape)).astype(np.float32)

            def run():
                t0 = time.perf_counter()
                for a in acts:
                    envs.step(a)  # autoreset included
                return steps * n, time.perf_counter() - t0

            rate, _ = _median_rate(run, runs)
            envs.close()
            rows.append((mode, n, rate))
    return rows


def _array_bytes(obj: object, seen: set[int] | None = None) -> int:
    """Bytes of the numpy arrays an object holds (attributes, dicts, lists, tuples; views counted once)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj if obj.base is None else obj.base
        if id(base) in seen and base is not obj:
            return 0
        seen.add(id(base))
        return int(base.nbytes) if isinstance(base, np.ndarray) else int(obj.nbytes)
    if isinstance(obj, dict):
        return sum(_array_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_array_bytes(v, seen) for v in obj)
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("thermogrid_env"):
        return sum(_array_bytes(v, seen) for v in vars(obj).values())
    return 0


def batched_env(counts: tuple[int, ...], episodes: int, runs: int,
                num_workers: int = 1, **kwargs) -> list[tuple[int, float, float, float, float]]:
    """Rows (N, steps/s incl. resets, steps/s stepping only, spread of both as max - min over median, MB
    held in this process) of the batched env, in one process or over ``num_workers`` processes
    (``kwargs``: further arguments of the env, e.g. ``parallel_powerflow``); medians of ``runs`` runs,
    after a warm-up long enough to draw about 256 days (numba, and the per-day caches of a long
    training run)."""
    from thermogrid_env.envs import ThermoGridVectorEnv, ThermoGridWorkerVectorEnv  # noqa: PLC0415

    rows = []
    for n in counts:
        venv = gym.make_vec(ENV_ID, num_envs=n, num_workers=num_workers, **kwargs)  # the vector_entry_point
        assert isinstance(venv, ThermoGridVectorEnv if num_workers == 1 else ThermoGridWorkerVectorEnv)
        venv.reset(seed=0)
        a = np.random.default_rng(0).uniform(-1, 1, (n, *venv.single_action_space.shape)).astype(np.float32)
        t = venv.scenario.n_steps
        for _ in range(max(1, -(-256 // n)) * (t + 1)):  # warm-up; every sub-env resets once a day
            venv.step(a)
        steps = max(t + 1, episodes * (t + 1))

        def with_resets():
            t0 = time.perf_counter()
            for _ in range(steps):
                venv.step(a)
            return steps * n, time.perf_counter() - t0

        seeds = iter(range(1, runs + 1))

        def stepping():
            venv.reset(seed=next(seeds))
            t0 = time.perf_counter()
            for _ in range(t - 1):  # inside one day: no reset
                venv.step(a)
            return (t - 1) * n, time.perf_counter() - t0

        rate, spread = _median_rate(with_resets, runs)
        rate_step, spread_step = _median_rate(stepping, runs)
        rows.append((n, rate, rate_step, max(spread, spread_step), _array_bytes(venv) / 2**20))
        venv.close()
    return rows


def sb3_training(n_envs: int, timesteps: int) -> list[tuple[str, float]]:
    """Rows (vec env, PPO training steps/s)."""
    try:
        import torch  # noqa: PLC0415
        from stable_baselines3 import PPO  # noqa: PLC0415
        from stable_baselines3.common.monitor import Monitor  # noqa: PLC0415
        from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: PLC0415

        from baselines.rl_vec import SB3VectorEnv  # noqa: PLC0415
    except ImportError:
        return []
    torch.set_num_threads(1)
    scenario = ENV_ID.removeprefix("ThermoGrid-").removesuffix("-v0")
    rows = []
    for name, make in (("batched env (SB3VectorEnv)", lambda: SB3VectorEnv(scenario, n_envs, seed=0)),
                       ("DummyVecEnv of single envs", lambda: DummyVecEnv(
                           [lambda: Monitor(ThermoGridEnv(scenario)) for _ in range(n_envs)]))):
        model = PPO("MlpPolicy", make(), n_steps=128, seed=0, device="cpu")
        model.learn(n_envs * 128)  # warm-up
        t0 = time.perf_counter()
        model.learn(timesteps, reset_num_timesteps=False)
        rows.append((name, timesteps / (time.perf_counter() - t0)))
    return rows


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few episodes and runs (a few seconds)")
    args = parser.parse_args()
    episodes, runs, vec_steps = (2, 3, 100) if args.quick else (10, 5, 1000)
    print(f"## Single env ({ENV_ID}, random actions, median of {runs} runs of {episodes} episodes)\n")
    print("| what | steps/s | note |\n|---|---:|---|")
    for name, rate, note in single_env(episodes, runs):
        print(f"| {name} | {rate:,.0f} | {note} |")
        if name == "raw env, step only":
            single_step_rate = rate
        if name == "raw env, episodes incl. reset":
            single_episode_rate = rate
    counts = (1, 2, 4, 8)
    print(f"\n## gymnasium.make_vec ({vec_steps} vector steps, autoreset included, median of {runs} runs; "
          f"{os.cpu_count()} CPUs)\n")
    print("| mode | num_envs | total steps/s | per sub-env |\n|---|---:|---:|---:|")
    single_rate = None
    for mode, n, rate in vector_envs(counts, vec_steps, runs):
        print(f"| {mode} | {n} | {rate:,.0f} | {rate / n:,.0f} |")
        if mode == "sync" and n == 1:
            single_rate = rate
    batch_counts = (1, 16, 64) if args.quick else (1, 16, 64, 256, 1024)
    days = 1 if args.quick else 2
    print(f"\n## Natively batched env (gymnasium.make_vec vector_entry_point; median of {runs} runs of {days} days "
          "per sub-env, autoreset included: every sub-env resets once a day)\n")
    print("Ratios: incl. resets against the single env's episodes incl. reset (raw env) and against "
          "make_vec sync with 1 sub-env; stepping only against the single env's steps.\n")
    print("| workers | N | env-steps/s incl. resets | µs per env-step | x single env | x make_vec sync 1 "
          "| env-steps/s stepping only | x single env | spread | MB of arrays |\n"
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    n_workers = min(os.cpu_count() or 1, 4)
    runs_batched = [(1, batch_counts, {})]
    if n_workers > 1:
        runs_batched += [(1, batch_counts[-2:], {"parallel_powerflow": True}), (n_workers, batch_counts[-2:], {})]
    for workers, counts_w, kwargs in runs_batched:
        for n, rate, stepping, spread, mb in batched_env(counts_w, days, runs, workers, **kwargs):
            ratios = [f"{rate / single_episode_rate:.1f}", f"{rate / single_rate:.1f}" if single_rate else "n/a",
                      f"{stepping / single_step_rate:.1f}"]
            mb_text = f"{mb:.1f}" if workers == 1 else f"{mb:.1f} (this process's block)"
            label = f"{workers} (threaded power flow)" if kwargs else str(workers)
            print(f"| {label} | {n} | {rate:,.0f} | {1e6 / rate:.1f} | {ratios[0]} | {ratios[1]} | {stepping:,.0f} "
                  f"| {ratios[2]} | {spread:.0%} | {mb_text} |")
    n_envs = 16
    rows = sb3_training(n_envs, 2048 if args.quick else 16 * 128 * 10)
    if rows:
        print(f"\n## SB3 PPO training ({n_envs} envs, MlpPolicy, n_steps=128, one torch thread)\n")
        print("| vec env | training steps/s |\n|---|---:|")
        for name, rate in rows:
            print(f"| {name} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
