"""The yardstick: one cost model for reward, KPIs and oracle; the oracle bounds the scored return;
causal controllers know only what they could know."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

pytest.importorskip("cvxpy")

from baselines.learned import LearnedController  # noqa: E402
from baselines.mpc import MPCController  # noqa: E402
from baselines.oracle import OracleController, plan_setpoints  # noqa: E402
from baselines.rule_based import RuleBasedController  # noqa: E402
from baselines.uncontrolled import UncontrolledController  # noqa: E402
from thermogrid_env import evaluate  # noqa: E402
from thermogrid_env.envs.thermogrid_env import ThermoGridEnv  # noqa: E402
from thermogrid_env.forecast.ev import EVSessionForecaster  # noqa: E402
from thermogrid_env.opf import solve_opf  # noqa: E402
from thermogrid_env.opf.episode import opf_data_from_episode  # noqa: E402
from thermogrid_env.sim import costs  # noqa: E402
from thermogrid_env.sim.simulator import Setpoints  # noqa: E402

DEFAULT_FEEDER_PRESETS = ("winter-low-der", "winter-high-der", "summer-high-pv")
#: Documented bound of the OPF's aging surrogate against the simulator (costs.Aging).
AGING_REL_TOL = 0.05


def _play_plan(env: ThermoGridEnv, sol) -> tuple[float, dict[str, float]]:
    """Play an OPF plan from the env's current (reset) state: the return and the summed raw terms."""
    total, raw = 0.0, dict.fromkeys(costs.TERM_NAMES, 0.0)
    for k in range(env.simulator.n_steps):
        sp = plan_setpoints(sol, k)
        _, r, term, trunc, info = env.step(env.action_spec.from_setpoints(sp, dtype=np.float64))
        total += r
        for name, v in info["reward_terms_raw"].items():
            raw[name] += v
        if term or trunc:
            break
    return total, raw


@pytest.fixture(scope="module")
def oracle_days():
    """The oracle's plan and its played return on seed 0 of each default-feeder preset."""
    out = {}
    for preset in DEFAULT_FEEDER_PRESETS:
        env = ThermoGridEnv(preset)
        env.reset(seed=0)
        sol = solve_opf(opf_data_from_episode(env.episode, state=env.sim_state))
        ret, raw = _play_plan(env, sol)
        out[preset] = (sol, ret, raw)
    return out


@pytest.mark.parametrize("preset", DEFAULT_FEEDER_PRESETS)
def test_every_opf_term_equals_the_simulators_measurement(oracle_days, preset) -> None:
    """Term by term, the oracle's objective is what the simulator measures of its dispatch."""
    sol, ret, raw = oracle_days[preset]
    for name in costs.TERM_NAMES:
        opf = sol.terms_raw.get(name, 0.0)
        if name == "aging":  # a documented under-estimate by tangents and end-of-period hot spots
            assert opf == pytest.approx(raw[name], rel=AGING_REL_TOL)
        else:
            assert opf == pytest.approx(raw[name], rel=1e-6, abs=2e-4), name
    aging_cost = sol.terms_eur.get("aging", 0.0)
    assert -sol.objective_eur == pytest.approx(ret, abs=1e-3 + AGING_REL_TOL * aging_cost)


@pytest.mark.parametrize("preset", DEFAULT_FEEDER_PRESETS)
def test_perturbing_the_oracle_never_pays(oracle_days, preset) -> None:
    """Small random changes of the oracle's set-points never raise the scored return."""
    sol, ret, _ = oracle_days[preset]
    tol = 1e-3 + AGING_REL_TOL * sol.terms_eur.get("aging", 0.0)
    env = ThermoGridEnv(preset)
    rng = np.random.default_rng(1)
    for _ in range(6):
        env.reset(seed=0)
        c, total = env.episode.community, 0.0
        scale = rng.choice([0.01, 0.05, 0.2])
        for k in range(env.simulator.n_steps):
            sp = plan_setpoints(sol, k)
            sp = Setpoints(hp_p_kw=sp.hp_p_kw + scale * c.houses.p_max_kw * rng.normal(size=c.n_hp),
                           ev_p_kw=sp.ev_p_kw + scale * 11.0 * rng.normal(size=c.n_ev),
                           pv_curtailment=np.clip(sp.pv_curtailment + scale * rng.random(c.n_pv), 0, 1),
                           pv_q_kvar=sp.pv_q_kvar + scale * c.pvs.s_inverter_kva * rng.normal(size=c.n_pv))
            total += env.step(env.action_spec.from_setpoints(sp, dtype=np.float64))[1]
        assert total <= ret + tol


@pytest.mark.parametrize("preset", DEFAULT_FEEDER_PRESETS)
def test_oracle_bounds_the_shipped_controllers(preset) -> None:
    """On seeded days the oracle's simulated return is at least every shipped controller's."""
    controllers = {"uncontrolled": UncontrolledController, "rule_based": RuleBasedController,
                   "learned": LearnedController, "oracle": OracleController}
    if preset == "winter-high-der":
        controllers["mpc"] = MPCController
    table = evaluate(controllers, preset, episodes=2, seed=0)
    rows = table[table["episode"] != "mean"]
    for seed, day in rows.groupby("seed"):
        r = day.set_index("controller")
        best = r.drop(index="oracle")["return"].max()
        aging = float(r.loc["oracle", "aging_h"])  # the weight is 1 EUR/h by default
        assert r.loc["oracle", "return"] >= best - (1e-3 + AGING_REL_TOL * aging), seed
        assert r.loc["oracle", "score"] == pytest.approx(100.0) and r.loc["uncontrolled", "score"] == pytest.approx(0.0)
        assert (r.drop(index="oracle")["score"] <= 100.0 + 1e-3).all()


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["winter-low-der", "winter-high-der", "summer-high-pv", "winter-high-der-rural"])
def test_oracle_bounds_every_controller_on_more_days(preset) -> None:
    """The same on three days of every preset with the MPC variants (slow: minutes)."""
    controllers = {"uncontrolled": UncontrolledController, "rule_based": RuleBasedController,
                   "mpc": MPCController, "mpc_ev": functools.partial(MPCController, ev_forecaster=EVSessionForecaster()),
                   "oracle": OracleController}
    table = evaluate(controllers, preset, episodes=3, seed=100)
    for _, day in table[table["episode"] != "mean"].groupby("seed"):
        r = day.set_index("controller")
        aging = float(r.loc["oracle", "aging_h"])
        assert r.loc["oracle", "return"] >= r.drop(index="oracle")["return"].max() - (1e-3 + AGING_REL_TOL * aging)


# ------------------------------------------------------------------------------------ causality
K = 24  # the episodes differ from this step on


def _differ_after(episode, k: int):
    """A copy of ``episode`` identical up to step ``k - 1`` and different from step ``k`` on: loads,
    weather and the EVs that arrive at or after ``k``."""
    exo = episode.exogenous
    later = np.arange(exo.n_steps) >= k
    p = exo.household_p_kw * np.where(later, 1.4, 1.0)[:, None]
    q = exo.household_q_kvar * np.where(later, 1.4, 1.0)[:, None]
    inj = episode.community.feeder.load_injection_matrix()
    pv = exo.pv_per_kwp * np.where(later, 0.3, 1.0)
    new_exo = dataclasses.replace(exo, household_p_kw=p, household_q_kvar=q, base_p_kw=p @ inj, base_q_kvar=q @ inj,
                                  t_ambient_c=exo.t_ambient_c - 6.0 * later, pv_per_kwp=pv, irradiance_w_per_m2=pv * 1000)
    s = episode.evs.sessions
    future = s.arrival_step >= k
    assert future.any(), "the test needs EVs arriving after the cut"
    new_s = dataclasses.replace(
        s, arrival_step=np.where(future, s.arrival_step + 3, s.arrival_step),
        soc_arrival=np.where(future, np.maximum(s.soc_arrival - 0.1, 0.05), s.soc_arrival),
        p_max_kw=np.where(future, np.where(s.p_max_kw > 5, 3.7, 11.0), s.p_max_kw))
    return dataclasses.replace(episode, exogenous=new_exo, evs=dataclasses.replace(episode.evs, sessions=new_s))


def _actions_until(controller_factory, episode, k: int) -> np.ndarray:
    env = ThermoGridEnv(episode.scenario)
    obs, _ = env.reset(seed=0, options={"episode": episode})
    ctrl = controller_factory()
    ctrl.reset(env)
    out = []
    for _ in range(k):
        action, _ = ctrl.predict(obs)
        out.append(np.asarray(action, dtype=float))
        obs, *_ = env.step(action)
    return np.array(out)


@pytest.fixture(scope="module")
def episode_pair():
    env = ThermoGridEnv("winter-high-der")
    env.reset(seed=4)
    return env.episode, _differ_after(env.episode, K)


@pytest.mark.parametrize("name,factory", [
    ("uncontrolled", UncontrolledController),
    ("rule_based", RuleBasedController),
    ("learned", LearnedController),
    ("mpc", functools.partial(MPCController, replan_every=8)),
    ("mpc with EV arrival forecast", functools.partial(MPCController, replan_every=8,
                                                       ev_forecaster=EVSessionForecaster(n_training_episodes=10))),
])
def test_causal_controllers_do_not_see_the_future(episode_pair, name, factory) -> None:
    """Actions before step K are identical for two episodes that differ only from K on."""
    a, b = episode_pair
    np.testing.assert_array_equal(_actions_until(factory, a, K), _actions_until(factory, b, K), err_msg=name)


@pytest.mark.parametrize("factory", [OracleController, functools.partial(MPCController, perfect_foresight=True)])
def test_perfect_foresight_controllers_do_see_it(episode_pair, factory) -> None:
    """The check can fail: controllers declaring perfect foresight act on the future."""
    a, b = episode_pair
    assert not np.allclose(_actions_until(factory, a, K), _actions_until(factory, b, K), atol=1e-6)


def test_causal_views_hold_no_episode_and_no_unplugged_ev_data() -> None:
    env = ThermoGridEnv("winter-high-der")
    env.reset(seed=0)
    view = env.controller_view()
    assert view.episode is None and env.controller_view(perfect_foresight=True).episode is env.episode
    unplugged = ~view.evs.plugged
    assert unplugged.any() and np.isnan(view.evs.target_kwh[unplugged]).all()
    assert (view.evs.departure_step[unplugged] == -1).all()
    with pytest.raises(ValueError):
        view.t_indoor_c[0] = 30.0  # read-only
