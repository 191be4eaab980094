"""Type and range validation of every configuration field, and finiteness of the reward."""

import dataclasses
import datetime
import math
import re

import numpy as np
import pytest

from thermogrid_env.config import (
    PRESETS,
    PRICE_RANGE_EUR_PER_KWH,
    WEIGHT_RANGE,
    ComfortBand,
    RewardWeights,
    Scenario,
    Tariff,
    get_scenario,
)
from thermogrid_env.errors import ConfigError

_NA = object()  # no out-of-range value for this field (e.g. a bool)

# (class, field, a value of a wrong type, a value of the right type out of range)
FIELD_CASES = [
    (ComfortBand, "t_min_c", "20", 4.0),
    (ComfortBand, "t_max_c", None, 36.0),
    (ComfortBand, "t_setpoint_c", True, 19.0),
    (ComfortBand, "hysteresis_k", [1.0], 5.5),
    (ComfortBand, "t_initial_c", complex(21, 0), float("nan")),
    (Tariff, "base_eur_per_kwh", "0.3", 1e308),
    (Tariff, "peak_eur_per_kwh", None, float("inf")),
    (Tariff, "valley_eur_per_kwh", False, -0.01),
    (Tariff, "feed_in_eur_per_kwh", "0.08", 0.5),  # above the import prices
    (Tariff, "peak_hours", [17, 21], (17, 25)),
    (Tariff, "valley_hours", (0.0, 6.0), (-1, 6)),
    *[(RewardWeights, f.name, True, 1e7 if i % 2 else -1.0) for i, f in enumerate(dataclasses.fields(RewardWeights))],
    (Scenario, "name", 3, ""),
    (Scenario, "feeder", None, "nope"),
    (Scenario, "season", ["winter"], "monsoon"),
    (Scenario, "start_date", datetime.date(2016, 1, 15), "2015-06-01"),
    (Scenario, "start_hour_local", 12.0, 24),
    (Scenario, "episode_days", True, 29),
    (Scenario, "dt_s", True, 7),
    (Scenario, "hp_share", "1", 1.5),
    (Scenario, "ev_share", None, -0.1),
    (Scenario, "pv_share", True, float("nan")),
    (Scenario, "comfort", {"t_min_c": 20.0}, _NA),
    (Scenario, "tariff", None, _NA),
    (Scenario, "reward_weights", None, _NA),
    (Scenario, "v_min_pu", "0.9", 0.4),
    (Scenario, "v_max_pu", None, 1.6),
    (Scenario, "community_seed", 1.5, -1),
    (Scenario, "ev_v2g", 1, _NA),
]


def _params():
    for cls, name, wrong, out in FIELD_CASES:
        yield pytest.param(cls, name, wrong, id=f"{cls.__name__}.{name}-type")
        if out is not _NA:
            yield pytest.param(cls, name, out, id=f"{cls.__name__}.{name}-range")


def test_every_field_has_cases() -> None:
    covered = {(cls, name) for cls, name, _, _ in FIELD_CASES}
    for cls in (ComfortBand, Tariff, RewardWeights, Scenario):
        assert {(cls, f.name) for f in dataclasses.fields(cls)} <= covered


@pytest.mark.parametrize("cls, name, value", list(_params()))
def test_invalid_field_raises_config_error_naming_it(cls: type, name: str, value: object) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"{cls.__name__}.{name}")):
        cls(**{name: value})


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_stay_valid(name: str) -> None:
    preset = PRESETS[name]
    assert dataclasses.replace(preset) == preset  # validation runs again


def test_numpy_numbers_are_accepted_and_normalised() -> None:
    sc = get_scenario(dt_s=np.int64(450), hp_share=np.float32(0.5), community_seed=np.int64(3))
    assert type(sc.dt_s) is int and type(sc.community_seed) is int and type(sc.hp_share) is float
    assert Tariff(base_eur_per_kwh=1).base_eur_per_kwh == 1.0


def test_nested_dict_in_scenario_gets_a_helpful_message() -> None:
    with pytest.raises(ConfigError, match=r"Scenario\.comfort must be a ComfortBand, got dict; use ComfortBand\("):
        Scenario(comfort={"t_min_c": 23, "t_max_c": 20})


@pytest.mark.parametrize("key", ["comfort", "tariff", "reward_weights"])
def test_none_nested_config_is_rejected(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"Scenario\.{key} must be a"):
        get_scenario(**{key: None})


def test_get_scenario_dict_override_changes_nested_fields() -> None:
    sc = get_scenario("winter-high-der", tariff={"peak_eur_per_kwh": 0.5}, comfort={"t_max_c": 24})
    assert sc.tariff == dataclasses.replace(PRESETS["winter-high-der"].tariff, peak_eur_per_kwh=0.5)
    assert sc.comfort.t_max_c == 24.0 and sc.comfort.t_min_c == 20.0
    with pytest.raises(ConfigError, match=r"Scenario\.comfort\.t_min_c \(23\.0\) must be < Scenario\.comfort\.t_max_c"):
        get_scenario(comfort={"t_min_c": 23, "t_max_c": 20})
    with pytest.raises(ConfigError, match=r"Scenario\.reward_weights\.aging must be a number in \[0, 1e\+06\]"):
        get_scenario(reward_weights={"aging": -1.0})
    with pytest.raises(ConfigError, match=r"Scenario\.tariff: unknown Tariff fields \['peak'\]"):
        get_scenario(tariff={"peak": 0.5})


def test_bool_is_not_an_integer() -> None:
    with pytest.raises(ConfigError, match=r"Scenario\.dt_s must be an integer"):
        get_scenario(dt_s=True)


def test_huge_finite_price_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"Tariff\.peak_eur_per_kwh must be a number in \[0, 100\] EUR/kWh"):
        Tariff(peak_eur_per_kwh=1e308)


def test_feed_in_must_not_exceed_any_import_price() -> None:
    assert Tariff(feed_in_eur_per_kwh=0.22).feed_in_eur_per_kwh == 0.22  # equal to the valley price: ok
    for name in ("valley_eur_per_kwh", "base_eur_per_kwh", "peak_eur_per_kwh"):
        with pytest.raises(ConfigError, match=rf"feed_in_eur_per_kwh .* must not exceed Tariff\.{name} .* convex"):
            Tariff(**{name: 0.05}, feed_in_eur_per_kwh=0.06)


def test_start_date_must_be_a_plain_date() -> None:
    with pytest.raises(ConfigError, match="Scenario.start_date must be a date without time"):
        get_scenario(start_date="2016-01-15 10:00")


def test_scenario_name_of_wrong_type() -> None:
    for bad in (None, 3, ["winter-high-der"]):
        with pytest.raises(ConfigError, match="preset name"):
            get_scenario(bad)


def _extreme_scenario(**kw: object) -> Scenario:
    """The valid scenario with the largest prices and weights, and a comfort band and voltage band
    that the feeder violates all the time."""
    top_price, top_weight = PRICE_RANGE_EUR_PER_KWH[1], WEIGHT_RANGE[1]
    return get_scenario(
        "winter-high-der",
        tariff=Tariff(**{n: top_price for n in ("base_eur_per_kwh", "peak_eur_per_kwh", "valley_eur_per_kwh",
                                               "feed_in_eur_per_kwh")}),
        reward_weights=RewardWeights(**{f.name: top_weight for f in dataclasses.fields(RewardWeights)}),
        comfort=ComfortBand(t_min_c=34.9, t_max_c=35.0, t_setpoint_c=35.0, hysteresis_k=5.0, t_initial_c=5.0),
        v_min_pu=0.999, v_max_pu=1.001, hp_share=1.0, ev_share=1.0, pv_share=1.0, ev_v2g=True, **kw,
    )


def test_extreme_valid_config_gives_finite_reward_products() -> None:
    sc = _extreme_scenario()
    dt_h = sc.dt_h
    # far above anything plausible per step on an LV feeder (0.4-0.63 MVA transformer)
    energy_kwh = 1e4  # 10 MWh in a step
    terms = {
        "cost": max(sc.tariff.peak_eur_per_kwh, sc.tariff.feed_in_eur_per_kwh) * energy_kwh,
        "discomfort": 1e3 * dt_h * 1e3,  # 1000 K below the band in 1000 houses
        "ev_unmet": energy_kwh,
        "voltage": 1.5 * 1e4,  # pu outside the band on 10^4 buses
        "losses": energy_kwh,
        "aging": 1e12,  # hours of loss of life in one step (IEC gives ~1e6 h at absurd hot spots)
        "curtailment": energy_kwh,
        "overload": 1e3 * 1e4,  # loading 1000 x rated on 10^4 branches
    }
    weights = sc.reward_weights.as_dict()
    assert set(weights) == set(terms)
    for sign in (1.0, -1.0):
        products = [weights[k] * sign * t for k, t in terms.items()]
        reward = -math.fsum(products)
        assert all(math.isfinite(p) and abs(p) <= 1e20 for p in products)
        assert math.isfinite(reward) and abs(reward) <= 1e21


def test_env_reward_is_finite_for_extreme_valid_scenario() -> None:
    from thermogrid_env.envs.thermogrid_env import ThermoGridEnv  # noqa: PLC0415

    env = ThermoGridEnv(scenario=_extreme_scenario(community_seed=0))
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(4):
        _, reward, _, _, info = env.step(env.action_space.sample())
        assert math.isfinite(reward)
        assert all(math.isfinite(v) for v in info["reward_terms"].values())
        assert reward < 0.0  # the band violations are penalised
