"""Oracle demonstrations as a Minari dataset."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("minari")
pytest.importorskip("cvxpy")

import minari  # noqa: E402

from thermogrid_env import demos  # noqa: E402
from thermogrid_env.errors import ConfigError  # noqa: E402

DATASET = "thermogrid/test/oracle-v0"


@pytest.fixture()
def datasets_path(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    return tmp_path


def test_demos_replay_to_the_stored_rewards(datasets_path) -> None:
    demos.write_demos("winter-low-der", 2, 3, DATASET, progress=False)
    ds = minari.load_dataset(DATASET)
    assert ds.total_episodes == 2 and ds.total_steps == 2 * 96
    env = ds.recover_environment()
    assert env.spec.id == "ThermoGrid-winter-low-der-v0"
    for i, ep in enumerate(ds.iterate_episodes()):
        obs, _ = env.reset(seed=3 + i)  # episode i is reset(seed=K + i)
        np.testing.assert_array_equal(obs, ep.observations[0])
        rewards = [env.step(a)[1] for a in ep.actions]
        np.testing.assert_array_equal(rewards, ep.rewards)
        assert ep.truncations[-1] and not ep.terminations.any()
        assert len(ep.infos["kpi/cost_eur"]) == 97 and ep.infos["kpi/cost_eur"][0] == 0.0
        np.testing.assert_allclose(ep.infos["reward_terms_raw/cost"], ep.infos["kpi/cost_eur"])
    meta = ds.storage.metadata
    assert meta["ref_min_score"] < meta["ref_max_score"]  # uncontrolled < oracle: minari's score is ours


def test_demos_resume_from_the_cache_and_refuse_bad_input(datasets_path, monkeypatch) -> None:
    cache = demos._cache_dir(DATASET)
    cache.mkdir(parents=True)
    np.save(cache / "0.npy", demos.oracle_actions("winter-low-der", 0))  # solved before an interruption
    monkeypatch.setattr(demos, "oracle_actions", lambda *a, **k: pytest.fail("solved again"))
    demos.write_demos("winter-low-der", 1, 0, DATASET, progress=False)
    assert not cache.exists()  # cleaned up once the dataset is written
    with pytest.raises(ConfigError, match="exists"):
        demos.write_demos("winter-low-der", 1, 0, DATASET, progress=False)
    with pytest.raises(ConfigError, match="training seed"):
        demos.write_demos("winter-low-der", 1, 10_000, "thermogrid/test/held-out-v0", progress=False)
    with pytest.raises(ConfigError, match="preset"):
        demos.write_demos("no-such-preset", 1, 0, "thermogrid/test/x-v0", progress=False)


def test_demos_command_writes_the_dataset_and_reports_bad_input(datasets_path, monkeypatch, capsys) -> None:
    from thermogrid_env import cli

    monkeypatch.setattr(demos, "oracle_actions", lambda scenario, seed: _middle_actions(scenario, seed))
    assert cli.main(["demos", "--scenario", "winter-low-der", "--episodes", "1", "--seed", "5",
                     "--dataset-id", DATASET, "--quiet"]) == 0
    assert "1 episodes, 96 steps" in capsys.readouterr().out
    assert minari.load_dataset(DATASET).total_episodes == 1
    assert cli.main(["demos", "--scenario", "winter-low-der", "--episodes", "1", "--seed", "5",
                     "--dataset-id", DATASET, "--quiet"]) == 1  # exists, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert cli.main(["demos", "--scenario", "winter-low-der", "--seed", "10000", "--quiet"]) == 1
    assert "training seed" in capsys.readouterr().err
    assert cli.main(["demos", "--scenario", "nope"]) == 2


def _middle_actions(scenario: str, seed: int) -> np.ndarray:
    """Uncontrolled-like actions of the right shape (no solve): every action at the space's middle."""
    import gymnasium as gym

    env = gym.make(f"ThermoGrid-{scenario}-v0")
    env.reset(seed=seed)
    space = env.action_space
    return np.tile(((space.low + space.high) / 2).astype(np.float32), (96, 1))
