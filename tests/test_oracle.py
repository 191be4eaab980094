"""The oracle played through the environment: one model, honest scoring, domination of the reference."""

import numpy as np
import pytest

pytest.importorskip("cvxpy")

from baselines.oracle import OracleController  # noqa: E402
from baselines.uncontrolled import UncontrolledController  # noqa: E402
from thermogrid_env import evaluate  # noqa: E402
from thermogrid_env.envs.thermogrid_env import ThermoGridEnv  # noqa: E402


@pytest.fixture(scope="module")
def oracle_run():
    env = ThermoGridEnv("winter-high-der")
    env.reset(seed=0)
    oracle = OracleController()
    oracle.reset(env)
    t_indoor, soc = [], []
    done = False
    while not done:
        action, _ = oracle.predict(None)
        _, _, terminated, truncated, _ = env.step(action)
        t_indoor.append(env.sim_state.t_indoor_c.copy())
        soc.append(env.sim_state.ev_soc.copy())
        done = terminated or truncated
    return oracle.solution, np.array(t_indoor), np.array(soc), env


def test_simulator_realises_what_the_optimizer_predicted(oracle_run) -> None:
    """One model: the houses and EVs follow the OPF's own prediction when its set-points are played."""
    sol, t_indoor, soc, env = oracle_run
    np.testing.assert_allclose(t_indoor, sol.t_indoor_c[1:], atol=1e-5)
    sessions = env.episode.evs.sessions
    energy_sim = (soc - sessions.soc_arrival) * sessions.capacity_kwh
    delivered = np.cumsum(sol.ev_p_kw * np.where(sol.ev_p_kw > 0, sessions.efficiency, 1.0), axis=0) * 0.25
    np.testing.assert_allclose(energy_sim, delivered, atol=1e-4)


def test_oracle_dominates_uncontrolled_on_the_stressed_scenario() -> None:
    table = evaluate({"uncontrolled": UncontrolledController, "oracle": OracleController},
                     "winter-high-der", episodes=1, seed=0, progress=False)
    rows = table[table["episode"] != "mean"].set_index("controller")
    ref, orc = rows.loc["uncontrolled"], rows.loc["oracle"]
    assert orc["voltage_violations"] == 0
    assert orc["discomfort_kh"] < 1e-3
    assert orc["ev_unmet_kwh"] < 1e-3
    assert orc["losses_kwh"] < ref["losses_kwh"]
    assert orc["aging_h"] < ref["aging_h"]
    assert orc["cost_eur"] < ref["cost_eur"]
    assert orc["return"] > ref["return"]
