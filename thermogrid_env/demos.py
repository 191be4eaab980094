"""Oracle demonstrations as a Minari dataset: the exact optimum, played step by step (extra ``[offline]``).

``thermogrid demos --scenario winter-high-der --episodes 100 --seed 0 --dataset-id thermogrid/winter-high-der/oracle-v0``
solves the oracle (:func:`thermogrid_env.opf.solve_opf` on the episode with perfect foresight) for
the episodes of ``env.reset(seed=K + i)``, turns its dispatch into the environment's actions
(float32, the action space's dtype) and plays them through the registered environment wrapped by
Minari's conventions, so the dataset holds the observations, those actions, the rewards they earn,
terminations, truncations and, in the infos, each step's KPI increments and raw cost terms
(``ep.infos["kpi/cost_eur"]``, ``ep.infos["reward_terms_raw/cost"]``: ``T + 1`` values, the first
from the reset).
Replaying the stored actions in ``dataset.recover_environment()`` from ``reset(seed=K + i)``
reproduces the stored rewards (tested). The dataset lives where Minari keeps datasets
(``$MINARI_DATASETS_PATH``, default ``~/.minari/datasets``).

The seeds must be training seeds (:mod:`thermogrid_env.splits`): demonstrations are training data.
The dataset's reference scores are the mean returns of the uncontrolled controller (min) and of the
oracle (max) on the same episodes, so ``minari.get_normalized_score`` is the project's score
(uncontrolled 0, oracle 1).

The oracle solves take seconds per day and run on ``jobs`` processes; each solved episode's
actions are kept in a cache beside the dataset until the dataset is written, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from thermogrid_env.config import PRESETS
# INFO_KEYS: the KPI increments and raw cost terms stored in every step's info, flattened as
# "kpi/<name>" and "reward_terms_raw/<name>" (Minari's arrow format keeps flat numeric columns).
from thermogrid_env.envs.uniform_info import INFO_KEYS
from thermogrid_env.errors import ConfigError, import_optional
from thermogrid_env.splits import check_training_seed


def oracle_actions(scenario: str, seed: int, **solve_kwargs: Any) -> np.ndarray:
    """The oracle's actions (float32, ``(T, n_actions)``) for the episode of ``reset(seed=seed)``.

    The dispatch is solved with perfect foresight and mapped to the action space; playing these
    actions from ``reset(seed=seed)`` is the demonstration.
    """
    from thermogrid_env.envs.thermogrid_env import ThermoGridEnv  # noqa: PLC0415
    from thermogrid_env.opf import solve_opf  # noqa: PLC0415
    from thermogrid_env.opf.episode import opf_data_from_episode  # noqa: PLC0415

    env = ThermoGridEnv(scenario)
    env.reset(seed=seed)
    sol = solve_opf(opf_data_from_episode(env.episode, state=env.sim_state), **solve_kwargs)
    return np.stack([env.action_spec.from_setpoints(sol.sim_setpoints(k), dtype=np.float32)
                     for k in range(sol.n_periods)])


def _cache_dir(dataset_id: str) -> Path:
    from minari.storage.datasets_root_dir import get_dataset_path  # noqa: PLC0415

    root = Path(get_dataset_path(dataset_id)).parent
    return root / ".thermogrid-demos-cache" / dataset_id.replace("/", "__")


def _solve_to_cache(scenario: str, seed: int, cache: Path) -> int:
    actions = oracle_actions(scenario, seed)
    tmp = cache / f"{seed}.tmp.npy"
    np.save(tmp, actions)
    os.replace(tmp, cache / f"{seed}.npy")
    return seed


def write_demos(scenario: str, episodes: int, seed: int, dataset_id: str, *, jobs: int = 1,
                overwrite: bool = False, progress: bool = True) -> Any:
    """Solve, play and store the oracle's episodes ``reset(seed=seed + i)``, ``i < episodes``.

    Returns:
        The Minari dataset.

    Raises:
        ConfigError: Not a preset, a held-out seed, or the dataset exists (``overwrite=False``).
        MissingExtraError: minari (extra ``[offline]``) or cvxpy (``[opf]``) missing.
    """
    minari = import_optional("minari", "offline")
    import_optional("cvxpy", "opf")
    from thermogrid_env.envs.registration import env_ids  # noqa: PLC0415
    from thermogrid_env.envs.uniform_info import make_uniform_info  # noqa: PLC0415

    if scenario not in PRESETS:
        raise ConfigError(f"demos need a preset (recover_environment re-makes it by id); choose one of {sorted(PRESETS)}.")
    if not (isinstance(episodes, int) and episodes >= 1) or not (isinstance(jobs, int) and jobs >= 1):
        raise ConfigError("episodes and jobs must be integers >= 1.")
    seeds = [check_training_seed(seed + i) for i in range(episodes)]
    if dataset_id in minari.list_local_datasets():
        if not overwrite:
            raise ConfigError(f"Minari dataset {dataset_id!r} exists; pass overwrite=True (--overwrite) to replace it.")
        minari.delete_dataset(dataset_id)
    env_id = f"ThermoGrid-{scenario}-v0"
    if env_id not in env_ids():  # a preset added after registration (the import registers them all)
        raise ConfigError(f"{env_id} is not registered; import thermogrid_env before adding presets.")
    cache = _cache_dir(dataset_id)
    cache.mkdir(parents=True, exist_ok=True)
    todo = [s for s in seeds if not (cache / f"{s}.npy").exists()]
    bar = _bar(len(seeds), len(seeds) - len(todo), progress)
    if todo:
        if jobs > 1:
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN))
            try:
                for fut in as_completed([pool.submit(_solve_to_cache, scenario, s, cache) for s in todo]):
                    fut.result()
                    bar.update(1)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()
        else:
            for s in todo:
                _solve_to_cache(scenario, s, cache)
                bar.update(1)
    bar.close()
    env = make_uniform_info(env_id)
    buffers, oracle_returns = [], []
    for i, s in enumerate(seeds):
        actions = np.load(cache / f"{s}.npy", allow_pickle=False)
        buffers.append(_play(env, s, actions, episode_id=i))
        oracle_returns.append(float(np.sum(buffers[-1].rewards)))
    reference_returns = _uncontrolled_returns(scenario, seeds)
    with warnings.catch_warnings():  # minari asks for an author e-mail; the project has none to give
        warnings.filterwarnings("ignore", message=".*author_email.*")
        dataset = _create(minari, dataset_id, buffers, env_id, scenario, seed, episodes, reference_returns, oracle_returns)
    for f in cache.glob("*.npy"):
        f.unlink()
    cache.rmdir()
    return dataset


def _create(minari: Any, dataset_id: str, buffers: list, env_id: str, scenario: str, seed: int, episodes: int,
            reference_returns: list[float], oracle_returns: list[float]) -> Any:
    """The Minari dataset of the played buffers, with the project's reference scores."""
    return minari.create_dataset_from_buffers(
        dataset_id=dataset_id, buffer=buffers, env=env_id, eval_env=env_id,
        algorithm_name="thermogrid oracle (distflow-socp, perfect foresight)", author="ThermoGrid",
        code_permalink=f"thermogrid-env=={_version()} (no public repository URL yet: the package version)",
        ref_min_score=float(np.mean(reference_returns)), ref_max_score=float(np.mean(oracle_returns)),
        description=(f"Oracle demonstrations on {scenario}: episode i is env.reset(seed={seed} + i), "
                     f"i < {episodes}; infos hold the step KPIs and raw cost terms."),
        data_format="arrow", requirements=["thermogrid-env"],
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("thermogrid-env")
    except PackageNotFoundError:  # a source checkout that is not installed
        return "unknown"


def _play(env: Any, seed: int, actions: np.ndarray, episode_id: int) -> Any:
    """One episode played from ``reset(seed=seed)`` with ``actions``, as a Minari episode buffer.

    The buffer is filled directly (Minari's ``DataCollector`` needs jax for this; the structures are
    plain here): ``T + 1`` observations and infos (the reset's first), ``T`` actions and rewards.
    """
    from minari.data_collector.episode_buffer import EpisodeBuffer  # noqa: PLC0415

    obs, info = env.reset(seed=seed)
    observations = [obs]
    infos = {f"{key}/{k}": [v] for key in INFO_KEYS for k, v in info[key].items()}
    played, rewards, terminations, truncations = [], [], [], []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        observations.append(obs)
        played.append(np.asarray(a, dtype=np.float32))
        rewards.append(float(reward))
        terminations.append(bool(terminated))
        truncations.append(bool(truncated))
        for key in INFO_KEYS:
            for k, v in info[key].items():
                infos[f"{key}/{k}"].append(v)
        if terminated or truncated:
            break
    return EpisodeBuffer(id=episode_id, seed=seed, observations=np.stack(observations), actions=np.stack(played),
                         rewards=rewards, terminations=terminations, truncations=truncations,
                         # lists of floats: Minari 0.5's arrow storage cannot decode 1-D numpy info columns
                         infos={k: [float(x) for x in v] for k, v in infos.items()})


def _uncontrolled_returns(scenario: str, seeds: list[int]) -> list[float]:
    """The uncontrolled reference's returns on the episodes (the dataset's reference min score)."""
    from thermogrid_env.evaluation import evaluate  # noqa: PLC0415

    table = evaluate({"uncontrolled": "uncontrolled"}, scenario, episodes=len(seeds), seed=seeds[0],
                     progress=False, score=False)
    return table.loc[table["episode"] != "mean", "return"].astype(float).tolist()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    try:
        from tqdm.auto import tqdm  # noqa: PLC0415
    except ImportError:  # pragma: no cover - tqdm comes with the extra
        return _NoBar()
    return tqdm(total=total, initial=done, desc="oracle demos", unit="episode", file=sys.stderr)


__all__ = ["INFO_KEYS", "oracle_actions", "write_demos"]
