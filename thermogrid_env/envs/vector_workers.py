"""The batched environment on several cores: its sub-environments split over worker processes.

:class:`~thermogrid_env.envs.vector_env.ThermoGridVectorEnv` steps all its episodes in one process,
so it uses one core. :class:`ThermoGridWorkerVectorEnv` splits the ``num_envs`` sub-environments
into ``num_workers`` contiguous blocks, each a ``ThermoGridVectorEnv``: the first in this process,
the others in worker processes, and steps the blocks at the same time (this process steps its own
block while the workers step theirs, so each step waits for one wake-up of the workers, not two):
actions, observations, rewards, the end flags and a step's per-sub-environment info numbers (reward
terms, KPIs, collapse flags) travel through shared memory, the rest of the infos (episode ends,
resets) through a pipe. Sub-environment ``i`` is the same as in one process
(seeded ``seed + i``, the same episodes, observations, rewards and infos: tested equal), so the
number of workers changes the speed only.

Make it with ``gymnasium.make_vec(id, num_envs=N, num_workers=W)`` (or :func:`make_vector_env`); with
``num_workers=1`` (default) that is the one-process environment. Worth it when a step of one block
is long against the hand-over (about 0.1 ms): hundreds of sub-environments per worker.

Worker processes start with the platform's default method (``fork`` on Linux: fast, nothing to
pickle); pass ``mp_context="spawn"`` or ``"forkserver"`` to choose (then the arguments, e.g. a
forecaster, must pickle). :meth:`~ThermoGridWorkerVectorEnv.close` ends them (also at exit). Ctrl-C
reaches this process only (the workers ignore it); a call it interrupts leaves the sub-environments
half-stepped, so the next call says so: close the environment and make a new one.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import traceback
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from thermogrid_env.envs.vector_env import ThermoGridVectorEnv
from thermogrid_env.errors import ConfigError
from thermogrid_env.sim.costs import TERM_NAMES
from thermogrid_env.sim.kpi import KPI_UNITS

#: The numbers of a step's info that travel through shared memory, one row each: (key, sub-key).
_INFO_LAYOUT: tuple[tuple[str, str | None], ...] = (
    tuple(("reward_terms_raw", name) for name in TERM_NAMES) + tuple(("kpi", name) for name in KPI_UNITS)
    + (("collapse", None),))

__all__ = ["ThermoGridWorkerVectorEnv", "make_vector_env"]


def make_vector_env(num_envs: int = 1, scenario: Any = "winter-high-der", *, num_workers: int = 1,
                    mp_context: str | None = None, **kwargs: Any) -> VectorEnv:
    """The batched environment (the ids' ``vector_entry_point``): in one process, or over worker processes.

    Args:
        num_envs: Number of sub-environments.
        scenario: Preset name or :class:`~thermogrid_env.config.Scenario`.
        num_workers: Processes to split the sub-environments over (1: this process).
        mp_context: Start method of the workers (``None``: the platform's default).
        **kwargs: Further arguments of :class:`~thermogrid_env.envs.vector_env.ThermoGridVectorEnv`.

    Raises:
        ConfigError: Invalid arguments.
    """
    if num_workers == 1 and mp_context is None:
        return ThermoGridVectorEnv(num_envs, scenario, **kwargs)
    return ThermoGridWorkerVectorEnv(num_envs, scenario, num_workers=num_workers, mp_context=mp_context, **kwargs)


class ThermoGridWorkerVectorEnv(VectorEnv):
    """``num_envs`` ThermoGrid episodes of one scenario over ``num_workers`` processes (module docstring).

    Args:
        num_envs: Number of sub-environments, >= 1.
        scenario: Preset name or :class:`~thermogrid_env.config.Scenario`.
        num_workers: Worker processes, ``1 <= num_workers <= num_envs``.
        mp_context: Start method (``"fork"``, ``"spawn"``, ``"forkserver"``; ``None``: default).
        **kwargs: Further arguments of :class:`~thermogrid_env.envs.vector_env.ThermoGridVectorEnv`
            (``autoreset_mode``, ``forecaster``, ``action_mode``, ...).

    Raises:
        ConfigError: Invalid arguments (checked here, before any process starts).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 2, scenario: Any = "winter-high-der", *, num_workers: int = 2,
                 mp_context: str | None = None, **kwargs: Any) -> None:
        ok = isinstance(num_workers, (int, np.integer)) and not isinstance(num_workers, bool)
        if not (isinstance(num_envs, (int, np.integer)) and not isinstance(num_envs, bool) and num_envs >= 1):
            raise ConfigError(f"num_envs must be an integer >= 1, got {num_envs!r}.")
        if not (ok and 1 <= num_workers <= num_envs):
            raise ConfigError(f"num_workers must be an integer in [1, num_envs={num_envs}], got {num_workers!r}.")
        if mp_context is not None and mp_context not in mp.get_all_start_methods():
            raise ConfigError(f"mp_context must be one of {mp.get_all_start_methods()} or None, got {mp_context!r}.")
        self.num_envs, self.num_workers = int(num_envs), int(num_workers)
        n = self.num_envs
        edges = np.linspace(0, n, self.num_workers + 1).round().astype(int)
        self._blocks = [(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:])]
        # the first block, in this process: checks every argument before a worker starts
        self._local = local = ThermoGridVectorEnv(self._blocks[0][1], scenario, **kwargs)
        mode = self.autoreset_mode = local.autoreset_mode
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.scenario, self.observation_spec, self.render_mode = local.scenario, local.observation_spec, None
        self.single_observation_space, self.single_action_space = local.single_observation_space, local.single_action_space
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        n_obs, n_act = self.single_observation_space.shape[0], self.single_action_space.shape[0]
        env_kwargs = {k: v for k, v in kwargs.items() if k != "autoreset_mode"}
        ctx = mp.get_context(mp_context)
        self._shared = {"obs": ctx.RawArray("f", n * n_obs), "actions": ctx.RawArray("d", n * n_act),
                        "reward": ctx.RawArray("d", n), "terminated": ctx.RawArray("b", n),
                        "truncated": ctx.RawArray("b", n), "info": ctx.RawArray("d", len(_INFO_LAYOUT) * n)}
        self._obs, self._actions, self._reward, self._terminated, self._truncated, self._info = _views(
            self._shared, n, n_obs, n_act)
        self._done = np.zeros(n, dtype=bool)
        self._conns: list[Any] = []
        self._procs: list[Any] = []
        self._closed = False
        self._pending = False  # a command sent whose answers were not all read (an interrupted call)
        for lo, hi in self._blocks[1:]:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, name=f"thermogrid-worker-{lo}-{hi}", daemon=True,
                               args=(child, lo, hi, n, n_obs, n_act, self._shared,
                                     dict(scenario=scenario, autoreset_mode=mode, **env_kwargs)))
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)
        try:
            self._gather()  # each worker reports that its environment was built (or why not)
        except BaseException:
            self.close_extras()
            raise

    # ------------------------------------------------------------------ API
    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """As :meth:`ThermoGridVectorEnv.reset <thermogrid_env.envs.vector_env.ThermoGridVectorEnv.reset>`
        (sub-environment ``i`` seeded ``seed + i``; ``options={"reset_mask": mask}``).

        Raises:
            ConfigError: Unknown options, or a seed list or mask of the wrong length.
        """
        n = self.num_envs
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if options:
            raise ConfigError(f"Unknown reset options {sorted(options)}; the only option is 'reset_mask'.")
        if seed is None or isinstance(seed, (int, np.integer)):
            seeds: list[int | None] = [None if seed is None else int(seed) + i for i in range(n)]
        else:
            seeds = list(seed)
            if len(seeds) != n:
                raise ConfigError(f"reset(seed=list) needs {n} seeds (one per sub-environment), got {len(seeds)}.")
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (n,):
                raise ConfigError(f"options['reset_mask'] must be a bool array of shape ({n},).")
        self._send([("reset", (seeds[lo:hi], None if mask is None else mask[lo:hi])) for lo, hi in self._blocks[1:]])
        lo, hi = self._blocks[0]
        try:
            o, local_info = self._local.reset(seed=seeds[lo:hi],
                                              options=None if mask is None else {"reset_mask": mask[lo:hi]})
        finally:
            parts = self._gather()  # (collect the workers' answers even if this block raised)
        self._obs[lo:hi] = o
        info = merge_infos([local_info, *parts], self._blocks, self.num_envs)
        self._done = np.zeros(n, dtype=bool) if mask is None else self._done & ~mask
        return self._obs.copy(), info

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """As :meth:`ThermoGridVectorEnv.step <thermogrid_env.envs.vector_env.ThermoGridVectorEnv.step>`.

        Raises:
            ConfigError: Actions of the wrong shape or with NaN/inf, or an error of a sub-environment.
        """
        a = np.asarray(actions, dtype=np.float64)
        if a.shape != self._actions.shape:
            raise ConfigError(f"actions must have shape {self._actions.shape}, got {a.shape}.")
        bad = ~np.isfinite(a).all(axis=1)
        if bad.any():
            raise ConfigError(f"The actions of sub-environments {np.flatnonzero(bad)[:10].tolist()} contain NaN or "
                              "inf; fix the controller.")
        if self.autoreset_mode == AutoresetMode.DISABLED and self._done.any():  # (before any worker steps)
            raise ConfigError(f"Sub-environments {np.flatnonzero(self._done)[:10].tolist()} have ended; reset them "
                              "(options={'reset_mask': ...}) before stepping (autoreset_mode=DISABLED).")
        self._actions[:] = a
        self._send([("step", None)] * len(self._conns))
        lo, hi = self._blocks[0]
        try:
            o, r, te, tr, template = self._local.step(a[lo:hi])
            local_info = _put_step_info(template, self._info, lo, hi)
        finally:
            parts = self._gather()
        self._obs[lo:hi], self._reward[lo:hi], self._terminated[lo:hi], self._truncated[lo:hi] = o, r, te, tr
        info = _get_step_info(self._info, template)
        for key, value in merge_infos([local_info, *parts], self._blocks, self.num_envs).items():
            if isinstance(value, dict) and isinstance(info.get(key), dict):
                info[key].update(value)
            else:
                info[key] = value
        terminated, truncated = self._terminated.astype(bool), self._truncated.astype(bool)
        self._done = terminated | truncated
        return self._obs.copy(), self._reward.copy(), terminated, truncated, info

    def close_extras(self, **kwargs: Any) -> None:
        """End the worker processes."""
        if self._closed:
            return
        self._closed = True
        for conn in self._conns:
            try:
                conn.send(("close", None))
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        for conn in self._conns:
            conn.close()

    def __del__(self) -> None:
        if getattr(self, "_conns", None) is not None and not getattr(self, "_closed", True):
            self.close_extras()

    # ------------------------------------------------------------------ internals
    def _send(self, messages: list[tuple[str, Any]]) -> None:
        """One command per worker (a dead worker's pipe is reported by :meth:`_gather`)."""
        if self._closed:
            raise ConfigError("This environment is closed; make a new one.")
        if self._pending:
            raise ConfigError("A previous reset() or step() of this environment was interrupted (its sub-environments "
                              "may be half-stepped); close it and make a new one.")
        self._pending = True
        for conn, message in zip(self._conns, messages):
            try:
                conn.send(message)
            except (BrokenPipeError, OSError):
                pass

    def _gather(self) -> list[dict[str, Any]]:
        """Every worker's answer to the last command (its info dict); re-raises a worker's error."""
        parts, error = [], None
        for w, conn in enumerate(self._conns):
            try:
                status, payload = conn.recv()
            except (EOFError, OSError):
                status, payload = "error", RuntimeError(f"Worker {w} (sub-environments {self._blocks[w + 1]}) died; "
                                                        "close this environment and make a new one.")
            if status == "error" and error is None:
                error = payload
            parts.append(payload if status == "ok" else {})
        self._pending = False
        if error is not None:
            if isinstance(error, tuple):  # (exception, worker traceback)
                exc, tb = error
                if isinstance(exc, ConfigError):
                    raise exc
                raise RuntimeError(f"A worker failed:\n{tb}") from exc
            raise error
        return parts


def _views(shared: dict[str, Any], n: int, n_obs: int, n_act: int) -> tuple[np.ndarray, ...]:
    """numpy views of the shared buffers: obs, actions, reward, terminated, truncated, step info."""
    return (np.frombuffer(shared["obs"], dtype=np.float32).reshape(n, n_obs),
            np.frombuffer(shared["actions"], dtype=np.float64).reshape(n, n_act),
            np.frombuffer(shared["reward"], dtype=np.float64),
            np.frombuffer(shared["terminated"], dtype=np.int8), np.frombuffer(shared["truncated"], dtype=np.int8),
            np.frombuffer(shared["info"], dtype=np.float64).reshape(len(_INFO_LAYOUT), n))


_INFO_ROW = {entry: row for row, entry in enumerate(_INFO_LAYOUT)}
_INFO_DICTS = {key: {name for k, name in _INFO_LAYOUT if k == key} for key, name in _INFO_LAYOUT if name is not None}


def _put_step_info(info: dict[str, Any], table: np.ndarray, lo: int, hi: int) -> dict[str, Any]:
    """Write the numbers of :data:`_INFO_LAYOUT` of a block's step info into its columns ``lo:hi``
    of the shared ``(len(_INFO_LAYOUT), n)`` table; return the rest of the info (what the pipe carries).

    Raises:
        RuntimeError: The info's reward terms or KPIs are not those of the layout (a change of the
            environment that this module was not updated for).
    """
    rest = dict(info)
    for key, names in _INFO_DICTS.items():
        values = rest.pop(key)
        if values.keys() != names:
            raise RuntimeError(f"vector_workers: the step info's {key!r} has {sorted(values)}, the shared layout "
                               f"{sorted(names)}; update _INFO_LAYOUT.")
        for name, value in values.items():
            table[_INFO_ROW[key, name], lo:hi] = value
    table[_INFO_ROW["collapse", None], lo:hi] = rest.pop("collapse")
    rest.pop("_collapse")
    return rest


def _get_step_info(table: np.ndarray, template: dict[str, Any]) -> dict[str, Any]:
    """The step info of every sub-environment from the shared table (see :func:`_put_step_info`),
    with the keys in the order of ``template`` (a block's own step info: the same structure)."""
    info: dict[str, Any] = {}
    for key, value in template.items():
        if key in _INFO_DICTS:
            info[key] = {name: table[_INFO_ROW[key, name]].copy() for name in value}
        elif key == "collapse":
            info[key] = table[_INFO_ROW[key, None]] != 0.0
        elif key == "_collapse":
            info[key] = np.ones(table.shape[1], dtype=bool)
    return info


def merge_infos(parts: list[dict[str, Any]], blocks: list[tuple[int, int]], n: int) -> dict[str, Any]:
    """One vector-info dict from the infos of contiguous blocks of sub-environments.

    Every array of a block fills its rows of an ``(n, ...)`` array; blocks without the key get
    zeros (``False`` for the ``_key`` masks, empty strings for strings); nested dicts are merged the
    same way.
    """
    out: dict[str, Any] = {}
    keys = list(dict.fromkeys(k for part in parts for k in part))
    for key in keys:
        present = [(block, part[key]) for block, part in zip(blocks, parts) if key in part]
        if isinstance(present[0][1], dict):
            out[key] = merge_infos([part.get(key, {}) for part in parts], blocks, n)
            continue
        if len(present) == len(parts):  # every block has it: the blocks tile 0..n in order
            out[key] = np.concatenate([value for _, value in present])
            continue
        first = np.asarray(present[0][1])
        full = np.zeros((n,) + first.shape[1:], dtype=first.dtype)
        for (lo, hi), value in present:
            full[lo:hi] = value
        out[key] = full
    return out


def _worker(conn: Any, lo: int, hi: int, n: int, n_obs: int, n_act: int, shared: dict[str, Any],
            kwargs: dict[str, Any]) -> None:
    """A worker: a ThermoGridVectorEnv of sub-environments ``lo:hi``, driven through ``conn``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle (it closes us)
    *views, info_table = _views(shared, n, n_obs, n_act)
    obs, actions, reward, terminated, truncated = (x[lo:hi] for x in views)
    try:
        env = ThermoGridVectorEnv(hi - lo, **kwargs)
        conn.send(("ok", {}))
    except Exception as exc:  # noqa: BLE001 - reported to the main process
        conn.send(("error", (exc, traceback.format_exc())))
        return
    while True:
        try:
            cmd, arg = conn.recv()
        except (EOFError, OSError):  # the main process is gone
            return
        if cmd == "close":
            env.close()
            conn.send(("ok", None))
            return
        try:
            if cmd == "reset":
                seeds, mask = arg
                o, info = env.reset(seed=seeds, options=None if mask is None else {"reset_mask": mask})
            else:
                o, r, te, tr, info = env.step(actions)
                reward[:], terminated[:], truncated[:] = r, te, tr
                info = _put_step_info(info, info_table, lo, hi)
            obs[:] = o
            conn.send(("ok", info))
        except Exception as exc:  # noqa: BLE001 - reported to the main process
            conn.send(("error", (exc, traceback.format_exc())))
