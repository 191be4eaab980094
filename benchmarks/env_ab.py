"""A/B throughput of this checkout against an earlier commit, interleaved under the same load.

A shared machine's speed drifts (here by up to 20 % within the hour), so a before/after comparison
from separate runs is unreliable. This script checks the reference commit out into a temporary
git worktree and measures both trees in alternating subprocesses (same Python, same packages):
the batched env at N sub-environments (episodes including resets, and stepping only) and the single
env (steps only), medians over the rounds, with the ratio now / reference.

Usage::

    python benchmarks/env_ab.py --ref 482b3f5            # default N = 256, 2 rounds each
    python benchmarks/env_ab.py --ref HEAD~3 --num-envs 64 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Run in a subprocess with the tree to measure first on sys.path; prints one JSON line.
_MEASURE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, gymnasium as gym
import thermogrid_env
from thermogrid_env.envs import ThermoGridEnv
n = int(sys.argv[2])
venv = gym.make_vec("ThermoGrid-winter-high-der-v0", num_envs=n, vectorization_mode="vector_entry_point")
venv.reset(seed=0)
a = np.random.default_rng(0).uniform(-1, 1, (n, *venv.single_action_space.shape)).astype(np.float32)
for _ in range(97):
    venv.step(a)
t0 = time.perf_counter()
for _ in range(2 * 97):
    venv.step(a)
with_resets = 2 * 97 * n / (time.perf_counter() - t0)
venv.reset(seed=1)
t0 = time.perf_counter()
for _ in range(95):
    venv.step(a)
stepping = 95 * n / (time.perf_counter() - t0)
env = ThermoGridEnv("winter-high-der")
acts = np.random.default_rng(0).uniform(-1, 1, (96, *env.action_space.shape)).astype(np.float32)
env.reset(seed=0)
for x in acts:
    env.step(x)
rates = []
for r in range(3):
    env.reset(seed=r)
    t0 = time.perf_counter()
    for x in acts:
        env.step(x)
    rates.append(96 / (time.perf_counter() - t0))
print(json.dumps({"with_resets": with_resets, "stepping": stepping, "single": sorted(rates)[1],
                  "module": thermogrid_env.__file__}))
"""


def measure(tree: Path, num_envs: int) -> dict[str, float]:
    """One measurement of a source tree (in a fresh subprocess)."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(tree), str(num_envs)], capture_output=True, text=True,
                         check=True, timeout=900)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result.pop("module").startswith(str(tree)):
        raise RuntimeError(f"The measurement of {tree} imported thermogrid_env from elsewhere.")
    return result


def main() -> None:
    """Check out the reference, measure both trees alternately, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", required=True, help="the reference commit (e.g. a tag, a hash, HEAD~3)")
    parser.add_argument("--num-envs", type=int, default=256, help="sub-environments of the batched env")
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each tree, alternating")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="thermogrid-ab-") as tmp:
        ref_tree = Path(tmp) / "ref"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(ref_tree), args.ref],
                       check=True)
        try:
            runs: dict[str, list[dict[str, float]]] = {"reference": [], "now": []}
            for _ in range(args.rounds):
                runs["reference"].append(measure(ref_tree, args.num_envs))
                runs["now"].append(measure(ROOT, args.num_envs))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref_tree)], check=False)
    print(f"## This checkout against {args.ref} (interleaved, medians of {args.rounds} rounds)\n")
    print("| what | reference | now | now / reference |\n|---|---:|---:|---:|")
    for key, label in (("with_resets", f"batched N={args.num_envs}, env-steps/s incl. resets"),
                       ("stepping", f"batched N={args.num_envs}, env-steps/s stepping only"),
                       ("single", "single env, steps/s")):
        ref = statistics.median(r[key] for r in runs["reference"])
        now = statistics.median(r[key] for r in runs["now"])
        print(f"| {label} | {ref:,.0f} | {now:,.0f} | {now / ref:.2f} |")


if __name__ == "__main__":
    main()
