"""Registration of the ThermoGrid environments with Gymnasium.

``ThermoGrid-v0`` plays the default scenario (``winter-high-der``); every preset of
:data:`thermogrid_env.config.PRESETS` also gets its own id, ``ThermoGrid-<preset>-v0``
(e.g. ``ThermoGrid-summer-high-pv-v0``). The ids carry no ``max_episode_steps``: the environment
truncates itself after its scenario's ``n_steps``, so ``gymnasium.make(id, scenario=...)`` with a
scenario of another length plays it to its end instead of being cut at the preset's length by a
``TimeLimit`` (pass ``max_episode_steps`` to ``make`` to stop earlier on purpose).

Every id also has a ``vector_entry_point``: ``gymnasium.make_vec(id, num_envs=N)`` returns the
natively batched :class:`~thermogrid_env.envs.vector_env.ThermoGridVectorEnv` (Gymnasium's default
for ids that have one), ``make_vec(id, num_envs=N, num_workers=W)`` the same split over ``W``
processes (:class:`~thermogrid_env.envs.vector_workers.ThermoGridWorkerVectorEnv`);
``vectorization_mode="sync"`` or ``"async"`` still give Gymnasium's own.
"""

from __future__ import annotations

import gymnasium as gym

from thermogrid_env.config import DEFAULT_SCENARIO, PRESETS

#: Entry point of the environment class.
ENTRY_POINT = "thermogrid_env.envs.thermogrid_env:ThermoGridEnv"
#: Entry point of the natively batched vector environment (``gymnasium.make_vec``).
VECTOR_ENTRY_POINT = "thermogrid_env.envs.vector_workers:make_vector_env"


def env_ids() -> dict[str, str]:
    """Registered id -> preset name."""
    ids = {"ThermoGrid-v0": DEFAULT_SCENARIO}
    ids.update({f"ThermoGrid-{name}-v0": name for name in PRESETS})
    return ids


def register_envs() -> list[str]:
    """Register every ThermoGrid id with Gymnasium (ids already registered are left alone).

    Returns:
        The ids.
    """
    for env_id, preset in env_ids().items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=ENTRY_POINT,
            vector_entry_point=VECTOR_ENTRY_POINT,
            kwargs={"scenario": preset},
        )
    return list(env_ids())
