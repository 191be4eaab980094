"""Scenario configuration: presets, validation at construction, overrides."""

import dataclasses

import pytest

from thermogrid_env.config import PRESETS, ComfortBand, RewardWeights, Scenario, Tariff, get_scenario
from thermogrid_env.errors import ConfigError


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_valid_and_named(name: str) -> None:
    scenario = get_scenario(name)
    assert scenario.name == name
    assert scenario.n_steps == scenario.episode_days * 86400 // scenario.dt_s


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"hp_share": 1.5}, "hp_share"),
        ({"ev_share": float("nan")}, "ev_share"),
        ({"dt_s": 7}, "dt_s"),
        ({"dt_s": 0}, "dt_s"),
        ({"feeder": "nope"}, "feeder"),
        ({"season": "monsoon"}, "season"),
        ({"episode_days": 0}, "episode_days"),
        ({"start_date": "2015-06-01"}, "start_date"),
        ({"start_date": "2016-12-31", "episode_days": 2}, "start_date"),
        ({"v_min_pu": 1.05}, "voltage band"),
        ({"community_seed": -1}, "community_seed"),
    ],
)
def test_invalid_scenarios_fail_at_construction_naming_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        get_scenario("winter-high-der", **overrides)


def test_unknown_preset_and_unknown_field_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="winter-high-der"):
        get_scenario("winter-hihg-der")
    with pytest.raises(ConfigError, match="hp_shar"):
        get_scenario("winter-high-der", hp_shar=0.5)


def test_replace_revalidates() -> None:
    with pytest.raises(ConfigError):
        dataclasses.replace(get_scenario(), pv_share=-0.1)


def test_nested_configs_validate() -> None:
    with pytest.raises(ConfigError, match="t_min_c"):
        ComfortBand(t_min_c=23.0, t_max_c=20.0)
    with pytest.raises(ConfigError, match="t_setpoint_c"):
        ComfortBand(t_setpoint_c=25.0)
    with pytest.raises(ConfigError, match="peak_hours"):
        Tariff(peak_hours=(17, 25))
    with pytest.raises(ConfigError, match="voltage"):
        RewardWeights(voltage=-1.0)
    with pytest.raises(TypeError):
        Scenario("positional")  # keyword-only


def test_tariff_windows() -> None:
    tariff = Tariff()
    assert tariff.price_at_hour(18.0) == tariff.peak_eur_per_kwh
    assert tariff.price_at_hour(3.0) == tariff.valley_eur_per_kwh
    assert tariff.price_at_hour(12.0) == tariff.base_eur_per_kwh
    wrap = Tariff(valley_hours=(22, 6))
    assert wrap.price_at_hour(23.5) == wrap.valley_eur_per_kwh
    assert wrap.price_at_hour(5.9) == wrap.valley_eur_per_kwh
