"""The train / held-out split of episode seeds that every learned-controller result uses.

An episode is drawn by ``env.reset(seed=s)``: the seed fixes the community (unless the scenario
keeps one), the day and the EV sessions. Learned components (policies, the MPC's EV-arrival
forecast, behaviour-cloning demonstrations) are fitted on **training seeds** only; results are
reported on **held-out seeds**, which no training run may touch:

=============  ====================  ===========================================================
split          seeds                 used for
=============  ====================  ===========================================================
train          ``0 .. 9,999``        training, fitting, demonstrations (``thermogrid demos``)
held-out       ``10,000 .. 19,999``  evaluation of learned controllers (benchmarks, README)
=============  ====================  ===========================================================

The classical controllers (rule-based, MPC without learned parts, the oracle) need no training;
they are scored on the same held-out seeds when compared with learned ones.
"""

from __future__ import annotations

from thermogrid_env.errors import ConfigError

#: Seeds of training episodes.
TRAIN_SEEDS = range(0, 10_000)
#: Seeds of held-out (test) episodes.
HELD_OUT_SEEDS = range(10_000, 20_000)


def held_out_seeds(n: int, start: int = 0) -> list[int]:
    """The first ``n`` held-out seeds from offset ``start``.

    Raises:
        ConfigError: More seeds than the split holds.
    """
    if n < 0 or start < 0 or start + n > len(HELD_OUT_SEEDS):
        raise ConfigError(f"held_out_seeds: need 0 <= start and start + n <= {len(HELD_OUT_SEEDS)}.")
    return list(HELD_OUT_SEEDS[start:start + n])


def check_training_seed(seed: int) -> int:
    """``seed`` if it is a training seed.

    Raises:
        ConfigError: The seed is held out (using it for training would leak the test days).
    """
    if int(seed) not in TRAIN_SEEDS:
        raise ConfigError(f"Seed {seed} is not a training seed ({TRAIN_SEEDS.start}..{TRAIN_SEEDS.stop - 1}); "
                          "held-out seeds must never be used for training.")
    return int(seed)


__all__ = ["HELD_OUT_SEEDS", "TRAIN_SEEDS", "check_training_seed", "held_out_seeds"]
