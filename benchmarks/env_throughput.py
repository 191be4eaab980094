"""Throughput of the ThermoGrid environment: single env (env overhead vs simulator) and vector envs.

Prints markdown tables. Random actions are drawn in advance, so action sampling is not timed.

* single env, ``winter-high-der``: steps/s of ``env.step`` without resets, of whole episodes
  including ``reset``, through ``gymnasium.make`` (TimeLimit, OrderEnforcing, PassiveEnvChecker)
  and on the raw env; the simulator alone (the same set-points replayed into
  ``Simulator.step``), and the env's own overhead per step, both as the difference (raw env step
  − simulator step) and directly (the env stepping with ``Simulator.step`` replaced by a replay of
  recorded outputs);
* ``gymnasium.make_vec`` with 1, 2, 4, 8 sub-environments, ``sync`` and ``async``: total steps/s.

Usage::

    python benchmarks/env_throughput.py           # full (~1-2 min)
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
            raw.simulator.step = lambda state, setpoints, replay=replay: next(replay)
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
    counts = (1, 2, 4, 8)
    print(f"\n## gymnasium.make_vec ({vec_steps} vector steps, autoreset included, median of {runs} runs; "
          f"{os.cpu_count()} CPUs)\n")
    print("| mode | num_envs | total steps/s | per sub-env |\n|---|---:|---:|---:|")
    for mode, n, rate in vector_envs(counts, vec_steps, runs):
        print(f"| {mode} | {n} | {rate:,.0f} | {rate / n:,.0f} |")


if __name__ == "__main__":
    main()
