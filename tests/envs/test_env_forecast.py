"""Forecasters and the forecast part of the observation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from thermogrid_env.config import get_scenario
from thermogrid_env.envs import ThermoGridEnv
from thermogrid_env.errors import ConfigError
from thermogrid_env.forecast.empirical import SeasonalEmpiricalForecaster, weibull_quantiles
from thermogrid_env.forecast import Forecaster, NoisyForecaster, PerfectForecaster, PersistenceForecaster
from thermogrid_env.sim.episode import sample_episode


@pytest.fixture(scope="module")
def exogenous():
    return sample_episode(get_scenario("summer-high-pv"), np.random.default_rng(0)).exogenous


@pytest.mark.parametrize("cls", [PerfectForecaster, NoisyForecaster, PersistenceForecaster])
def test_protocol_shapes_and_monotone_quantiles(cls, exogenous) -> None:
    fc = cls()
    assert isinstance(fc, Forecaster)
    with pytest.raises(ConfigError, match="reset"):
        fc.forecast(0, 4)
    fc.reset(exogenous, np.random.default_rng(0))
    n = exogenous.n_steps
    for step in (0, 50, n - 1, n):
        f = fc.forecast(step, 16)
        assert f.issue_step == step and f.horizon_steps == 16
        for arr in (f.t_ambient_c, f.pv_per_kwp, f.price_eur_per_kwh):
            assert arr.shape == (3, 16) and np.isfinite(arr).all()
            assert np.all(np.diff(arr, axis=0) >= 0.0)
        assert np.all(f.pv_per_kwp >= 0.0)
    with pytest.raises(ConfigError):
        fc.forecast(n + 1, 4)
    with pytest.raises(ConfigError):
        fc.forecast(0, 0)


def test_perfect_is_the_truth_padded_at_the_end(exogenous) -> None:
    fc = PerfectForecaster()
    fc.reset(exogenous, np.random.default_rng(0))
    f = fc.forecast(10, 8)
    np.testing.assert_array_equal(f.t_ambient_c[1], exogenous.t_ambient_c[11:19])
    np.testing.assert_array_equal(f.pv_per_kwp[0], exogenous.pv_per_kwp[11:19])
    np.testing.assert_array_equal(f.price_eur_per_kwh[2], exogenous.price_eur_per_kwh[11:19])
    end = fc.forecast(exogenous.n_steps - 2, 4)
    assert np.all(end.t_ambient_c[:, 1:] == exogenous.t_ambient_c[-1])
    long = fc.forecast(0, PerfectForecaster.PAD_STEPS + 5)  # the slow path
    np.testing.assert_array_equal(long.t_ambient_c[0, :10], exogenous.t_ambient_c[1:11])


def test_noisy_is_reproducible_calibrated_and_order_independent(exogenous) -> None:
    a, b = NoisyForecaster(), NoisyForecaster()
    a.reset(exogenous, np.random.default_rng(5))
    b.reset(exogenous, np.random.default_rng(5))
    fa = a.forecast(20, 16)
    b.forecast(60, 16)  # another call first does not change the forecast of step 20
    fb = b.forecast(20, 16)
    np.testing.assert_array_equal(fa.t_ambient_c, fb.t_ambient_c)
    assert a.forecast(20, 16).t_ambient_c.tobytes() == fa.t_ambient_c.tobytes()
    # spread grows with the lead; the truth falls inside the 10-90 % band about 80 % of the time
    spread = fa.t_ambient_c[2] - fa.t_ambient_c[0]
    assert np.all(np.diff(spread) > 0)
    inside, total = 0, 0
    for seed in range(40):
        a.reset(exogenous, np.random.default_rng(seed))
        f = a.forecast(10, 16)
        truth = exogenous.t_ambient_c[11:27]
        inside += int(np.sum((f.t_ambient_c[0] <= truth) & (truth <= f.t_ambient_c[2])))
        total += truth.size
    assert 0.7 < inside / total < 0.9
    with pytest.raises(ConfigError, match="max_horizon_h"):
        a.forecast(0, 10_000)
    with pytest.raises(ConfigError):
        NoisyForecaster(sigma_t_ambient_k=-1.0)


def test_persistence_repeats_the_present(exogenous) -> None:
    fc = PersistenceForecaster()
    fc.reset(exogenous, np.random.default_rng(0))
    f = fc.forecast(40, 8)
    assert np.all(f.t_ambient_c == exogenous.t_ambient_c[40])
    assert np.all(f.pv_per_kwp == exogenous.pv_per_kwp[40])
    np.testing.assert_array_equal(f.price_eur_per_kwh[1], exogenous.price_eur_per_kwh[41:49])
    g = PersistenceForecaster(known_price=False)
    g.reset(exogenous, np.random.default_rng(0))
    assert np.all(g.forecast(40, 8).price_eur_per_kwh == exogenous.price_eur_per_kwh[40])


@pytest.mark.parametrize("dt_s", [900, 300])
def test_env_observes_hourly_forecast_leads(dt_s: int) -> None:
    env = ThermoGridEnv(get_scenario("summer-high-pv", dt_s=dt_s), forecast_horizon_h=3,
                        forecaster=PerfectForecaster())
    per_hour = 3600 // dt_s
    obs, _ = env.reset(seed=1)
    for _ in range(30):
        obs, *_ = env.step(env.action_space.sample())
    spec, exo, k = env.observation_spec, env.episode.exogenous, env.step_index
    for lead in (1, 2, 3):
        i = spec.names.index(f"pv_per_kwp[weather,+{lead}h,q0.5]")
        assert obs[i] == pytest.approx(exo.pv_per_kwp[k + per_hour * lead], abs=1e-6)
        j = spec.names.index(f"t_ambient_c[weather,+{lead}h,q0.9]")
        assert obs[j] == pytest.approx(exo.t_ambient_c[k + per_hour * lead] / 20.0, abs=1e-6)
    assert obs[spec.index("t_ambient_c", "weather")] == pytest.approx(exo.t_ambient_c[k] / 20.0, abs=1e-6)


def test_env_with_noisy_forecaster_is_deterministic() -> None:
    def run(seed: int) -> np.ndarray:
        env = ThermoGridEnv(forecaster=NoisyForecaster())
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for _ in range(5):
            out.append(env.step(np.zeros(env.action_space.shape, np.float32))[0])
        return np.stack(out)

    np.testing.assert_array_equal(run(3), run(3))
    perfect = ThermoGridEnv(forecaster=PerfectForecaster())
    obs, _ = perfect.reset(seed=3)
    assert not np.array_equal(run(3)[0], obs)


def test_a_shared_forecaster_instance_is_copied_per_env() -> None:
    shared = PerfectForecaster()
    a, b = ThermoGridEnv(forecaster=shared), ThermoGridEnv(forecaster=shared)
    a.reset(seed=1)
    b.reset(seed=2)
    assert a.forecaster is not shared and a.forecaster is not b.forecaster
    k = a.observation_spec.names.index("t_ambient_c[weather,+1h,q0.1]")
    obs_a = a._observation()
    assert obs_a[k] == pytest.approx(a.episode.exogenous.t_ambient_c[4] / 20.0, abs=1e-6)


def test_weibull_quantiles_match_numpy() -> None:
    x = np.random.default_rng(0).normal(size=(5, 7, 14))
    levels = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(weibull_quantiles(x, levels), np.quantile(x, levels, axis=-1, method="weibull"),
                               atol=1e-12)


def test_default_forecaster_is_causal_and_ignores_the_true_future(exogenous) -> None:
    """The default forecaster reads only the clock and the tariff of the episode: changing the episode's
    future weather changes nothing, and every forecast comes from days before the issue time."""
    fc = SeasonalEmpiricalForecaster()
    assert fc.causal and not PerfectForecaster.causal and not NoisyForecaster.causal
    fc.reset(exogenous, np.random.default_rng(0))
    a = fc.forecast(10, 16)
    changed = dataclasses.replace(exogenous, t_ambient_c=exogenous.t_ambient_c + 5.0, pv_per_kwp=exogenous.pv_per_kwp * 0)
    fc2 = SeasonalEmpiricalForecaster()
    fc2.reset(changed, np.random.default_rng(0))
    b = fc2.forecast(10, 16)
    np.testing.assert_array_equal(a.t_ambient_c, b.t_ambient_c)
    np.testing.assert_array_equal(a.pv_per_kwp, b.pv_per_kwp)
    assert np.all(np.diff(a.t_ambient_c, axis=0) >= 0) and np.all(np.diff(a.pv_per_kwp, axis=0) >= 0)
    np.testing.assert_array_equal(a.price_eur_per_kwh[1], exogenous.price_eur_per_kwh[11:27])  # the tariff
    assert fc.forecast(10, 200).t_ambient_c.shape == (3, 200)  # beyond the precomputed horizon


def test_default_forecaster_is_informative_and_roughly_calibrated() -> None:
    """Over 20 winter days the 10-90 % band of the temperature holds about 80 % of the outcomes and the
    median beats persistence over the next 18 h."""
    inside, err_med, err_persist = [], [], []
    for seed in range(20):
        ep = sample_episode(get_scenario("winter-high-der"), np.random.default_rng(seed))
        exo = ep.exogenous
        fc = SeasonalEmpiricalForecaster()
        fc.reset(exo, np.random.default_rng(0))
        for k in (0, 20):
            f = fc.forecast(k, 72)
            truth = exo.t_ambient_c[k + 1:k + 73]
            inside.append((truth >= f.t_ambient_c[0]) & (truth <= f.t_ambient_c[2]))
            err_med.append(np.abs(f.t_ambient_c[1] - truth).mean())
            err_persist.append(np.abs(exo.t_ambient_c[k] - truth).mean())
    coverage = float(np.mean(inside))
    assert 0.7 <= coverage <= 0.9
    assert np.mean(err_med) < 0.9 * np.mean(err_persist)
