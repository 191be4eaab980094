"""Scenario configuration: frozen, keyword-only dataclasses validated at construction, and presets.

Variants are made with :func:`dataclasses.replace` (validation runs again), e.g.
``dataclasses.replace(get_scenario("winter-high-der"), ev_share=0.5)``. There are no string-keyed
option dicts: a typo in a field name is a ``TypeError`` at once.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from thermogrid_env.errors import ConfigError

SEASONS: dict[str, tuple[int, ...]] = {
    "winter": (1, 2, 12),
    "spring": (3, 4, 5),
    "summer": (6, 7, 8),
    "autumn": (9, 10, 11),
    "any": tuple(range(1, 13)),
}


def _check_finite(obj: object, *names: str) -> None:
    for name in names:
        val = getattr(obj, name)
        if not isinstance(val, (int, float)) or isinstance(val, bool) or not math.isfinite(val):
            raise ConfigError(f"{type(obj).__name__}.{name} must be a finite number, got {val!r}.")


def _check_fraction(obj: object, *names: str) -> None:
    _check_finite(obj, *names)
    for name in names:
        val = getattr(obj, name)
        if not 0.0 <= val <= 1.0:
            raise ConfigError(f"{type(obj).__name__}.{name} must be in [0, 1], got {val}.")


def _check_non_negative(obj: object, *names: str) -> None:
    _check_finite(obj, *names)
    for name in names:
        if getattr(obj, name) < 0:
            raise ConfigError(f"{type(obj).__name__}.{name} must be >= 0, got {getattr(obj, name)}.")


@dataclass(frozen=True, kw_only=True)
class ComfortBand:
    """Indoor temperature band of the occupants [°C].

    Attributes:
        t_min_c: Lower comfort limit [°C].
        t_max_c: Upper comfort limit [°C].
        t_setpoint_c: Thermostat set-point of the uncontrolled heat pump [°C], inside the band.
        hysteresis_k: Thermostat dead band of the uncontrolled heat pump [K].
        t_initial_c: Indoor temperature at the start of an episode [°C].
    """

    t_min_c: float = 20.0
    t_max_c: float = 23.0
    t_setpoint_c: float = 21.0
    hysteresis_k: float = 1.0
    t_initial_c: float = 21.0

    def __post_init__(self) -> None:
        _check_finite(self, "t_min_c", "t_max_c", "t_setpoint_c", "t_initial_c")
        _check_non_negative(self, "hysteresis_k")
        if not self.t_min_c < self.t_max_c:
            raise ConfigError(f"ComfortBand: t_min_c ({self.t_min_c}) must be < t_max_c ({self.t_max_c}).")
        if not self.t_min_c <= self.t_setpoint_c <= self.t_max_c:
            raise ConfigError("ComfortBand: t_setpoint_c must lie inside [t_min_c, t_max_c].")
        if not 5.0 <= self.t_initial_c <= 35.0:
            raise ConfigError("ComfortBand: t_initial_c must be a plausible indoor temperature (5-35 °C).")


@dataclass(frozen=True, kw_only=True)
class Tariff:
    """Time-of-use retail tariff and feed-in remuneration [EUR/kWh] (German household level).

    Attributes:
        base_eur_per_kwh: Price outside the peak and valley windows.
        peak_eur_per_kwh: Price in the evening peak window.
        valley_eur_per_kwh: Price in the night valley window.
        peak_hours: Local hours ``[start, end)`` of the peak window.
        valley_hours: Local hours ``[start, end)`` of the valley window (may wrap midnight).
        feed_in_eur_per_kwh: Remuneration of energy exported to the grid.
    """

    base_eur_per_kwh: float = 0.32
    peak_eur_per_kwh: float = 0.42
    valley_eur_per_kwh: float = 0.22
    peak_hours: tuple[int, int] = (17, 21)
    valley_hours: tuple[int, int] = (0, 6)
    feed_in_eur_per_kwh: float = 0.08

    def __post_init__(self) -> None:
        _check_non_negative(
            self, "base_eur_per_kwh", "peak_eur_per_kwh", "valley_eur_per_kwh", "feed_in_eur_per_kwh"
        )
        for name in ("peak_hours", "valley_hours"):
            hours = getattr(self, name)
            if len(hours) != 2 or not all(isinstance(h, int) and 0 <= h <= 24 for h in hours):
                raise ConfigError(f"Tariff.{name} must be two integer hours in [0, 24], got {hours!r}.")

    def price_at_hour(self, hour: float) -> float:
        """Energy price [EUR/kWh] at a local hour of day."""

        def inside(window: tuple[int, int]) -> bool:
            start, end = window
            return start <= hour < end if start <= end else (hour >= start or hour < end)

        if inside(self.peak_hours):
            return self.peak_eur_per_kwh
        if inside(self.valley_hours):
            return self.valley_eur_per_kwh
        return self.base_eur_per_kwh


@dataclass(frozen=True, kw_only=True)
class RewardWeights:
    """Weights of the named reward terms (reward = -sum(weight * term)); units of each term in
    :mod:`thermogrid_env.sim.kpi`.

    Attributes:
        cost: Per EUR of energy cost.
        discomfort: Per K·h outside the comfort band (summed over houses).
        ev_unmet: Per kWh of EV energy not delivered at departure.
        voltage: Per pu·step of voltage outside the band (summed over buses).
        losses: Per kWh of feeder losses.
        aging: Per equivalent hour of transformer loss of life.
        curtailment: Per kWh of curtailed PV energy.
        overload: Per unit of line/transformer loading above 1 (summed over branches, per step).
    """

    cost: float = 1.0
    discomfort: float = 10.0
    ev_unmet: float = 2.0
    voltage: float = 100.0
    losses: float = 0.3
    aging: float = 1.0
    curtailment: float = 0.1
    overload: float = 10.0

    def __post_init__(self) -> None:
        _check_non_negative(
            self, "cost", "discomfort", "ev_unmet", "voltage", "losses", "aging", "curtailment",
            "overload",
        )

    def as_dict(self) -> dict[str, float]:
        """The weights by term name."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """Everything that defines an episode distribution.

    Attributes:
        name: Scenario name (a preset key or ``"custom"``).
        feeder: Shipped feeder name (see :data:`thermogrid_env.network.FEEDERS`).
        season: Which days of the shipped year (2016) are played: ``"winter"``, ``"spring"``,
            ``"summer"``, ``"autumn"`` or ``"any"``.
        start_date: Fixed first day (``"2016-01-15"``) instead of sampling from the season.
        start_hour_local: Local hour (Europe/Berlin) at which episodes start. Default 12: a
            noon-to-noon day holds the evening peak, the night valley and a whole evening-to-morning
            EV home-charging session, so EV flexibility is inside the episode.
        episode_days: Episode length [days].
        dt_s: Control and simulation step [s]; must divide a day (default 900 s = 15 min).
        hp_share: Fraction of households with an air-source heat pump.
        ev_share: Fraction of households with an EV.
        pv_share: Fraction of households with rooftop PV.
        comfort: Indoor comfort band.
        tariff: Energy tariff.
        reward_weights: Weights of the reward terms.
        v_min_pu: Lower voltage limit for KPIs and the optimizer [pu] (EN 50160: 0.9).
        v_max_pu: Upper voltage limit [pu] (EN 50160: 1.1).
        community_seed: If set, the community (which houses get which assets, house types, EV
            fleet parameters) is drawn once from this seed and kept across resets; only days and
            EV sessions vary. If ``None`` every ``reset(seed)`` samples a new community.
        ev_v2g: Whether EVs may discharge to the grid.
    """

    name: str = "custom"
    feeder: str = "simbench-semiurb4"
    season: str = "winter"
    start_date: str | None = None
    start_hour_local: int = 12
    episode_days: int = 1
    dt_s: int = 900
    hp_share: float = 1.0
    ev_share: float = 0.9
    pv_share: float = 0.6
    comfort: ComfortBand = field(default_factory=ComfortBand)
    tariff: Tariff = field(default_factory=Tariff)
    reward_weights: RewardWeights = field(default_factory=RewardWeights)
    v_min_pu: float = 0.9
    v_max_pu: float = 1.1
    community_seed: int | None = None
    ev_v2g: bool = False

    def __post_init__(self) -> None:
        from thermogrid_env.network.library import FEEDERS  # noqa: PLC0415

        if self.feeder not in FEEDERS:
            raise ConfigError(f"Scenario.feeder {self.feeder!r} is unknown; choose one of {sorted(FEEDERS)}.")
        if self.season not in SEASONS:
            raise ConfigError(f"Scenario.season {self.season!r} is unknown; choose one of {sorted(SEASONS)}.")
        if self.start_date is not None:
            import pandas as pd  # noqa: PLC0415

            try:
                day = pd.Timestamp(self.start_date)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"Scenario.start_date {self.start_date!r} is not a date.") from exc
            end = day + pd.Timedelta(hours=self.start_hour_local, days=self.episode_days)
            if day.year != 2016 or end > pd.Timestamp("2017-01-01"):
                raise ConfigError(
                    "Scenario.start_date and episode_days must stay inside 2016 (the shipped year)."
                )
        if not isinstance(self.start_hour_local, int) or not 0 <= self.start_hour_local <= 23:
            raise ConfigError(
                f"Scenario.start_hour_local must be an integer hour in [0, 23], got {self.start_hour_local!r}."
            )
        if not isinstance(self.episode_days, int) or not 1 <= self.episode_days <= 28:
            raise ConfigError(f"Scenario.episode_days must be an integer in [1, 28], got {self.episode_days!r}.")
        if not isinstance(self.dt_s, int) or self.dt_s <= 0 or 86400 % self.dt_s or 900 % self.dt_s:
            raise ConfigError(
                f"Scenario.dt_s must be a positive integer number of seconds dividing 900 "
                f"(the 15-min data resolution), got {self.dt_s!r}."
            )
        _check_fraction(self, "hp_share", "ev_share", "pv_share")
        _check_finite(self, "v_min_pu", "v_max_pu")
        if not 0.5 < self.v_min_pu < 1.0 < self.v_max_pu < 1.5:
            raise ConfigError("Scenario voltage band must satisfy 0.5 < v_min_pu < 1 < v_max_pu < 1.5.")
        if self.community_seed is not None and (
            not isinstance(self.community_seed, int) or self.community_seed < 0
        ):
            raise ConfigError("Scenario.community_seed must be None or a non-negative integer.")

    @property
    def steps_per_day(self) -> int:
        """Number of steps in a day."""
        return 86400 // self.dt_s

    @property
    def n_steps(self) -> int:
        """Number of steps in an episode."""
        return self.episode_days * self.steps_per_day

    @property
    def dt_h(self) -> float:
        """Step length [h]."""
        return self.dt_s / 3600.0


PRESETS: dict[str, Scenario] = {
    "winter-low-der": Scenario(
        name="winter-low-der", season="winter", hp_share=0.3, ev_share=0.3, pv_share=0.2
    ),
    "winter-high-der": Scenario(
        name="winter-high-der", season="winter", hp_share=1.0, ev_share=0.9, pv_share=0.6
    ),
    "summer-high-pv": Scenario(
        name="summer-high-pv", season="summer", hp_share=0.3, ev_share=0.5, pv_share=1.0
    ),
    "winter-high-der-rural": Scenario(
        name="winter-high-der-rural", feeder="simbench-rural2", season="winter",
        hp_share=1.0, ev_share=0.9, pv_share=0.6,
    ),
}
DEFAULT_SCENARIO = "winter-high-der"


def get_scenario(name: str | Scenario = DEFAULT_SCENARIO, **overrides: object) -> Scenario:
    """A preset by name (or a scenario as is), optionally with fields replaced.

    Args:
        name: Preset key (see :data:`PRESETS`) or a :class:`Scenario`.
        **overrides: Fields to replace, e.g. ``ev_share=0.5``.

    Raises:
        ConfigError: Unknown preset (the message lists the known ones) or an invalid override.
    """
    if isinstance(name, Scenario):
        base = name
    elif name in PRESETS:
        base = PRESETS[name]
    else:
        raise ConfigError(f"Unknown scenario {name!r}; choose one of {sorted(PRESETS)}.")
    if not overrides:
        return base
    known = {f.name for f in dataclasses.fields(Scenario)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"Unknown Scenario fields {unknown}; valid fields are {sorted(known)}.")
    return dataclasses.replace(base, **overrides)
