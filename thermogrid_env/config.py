"""Scenario configuration: frozen, keyword-only dataclasses validated at construction, and presets.

Variants are made with :func:`dataclasses.replace` (validation runs again), e.g.
``dataclasses.replace(get_scenario("winter-high-der"), ev_share=0.5)``. There are no string-keyed
option dicts: a typo in a field name is a ``TypeError`` at once.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

from thermogrid_env.errors import ConfigError

SEASONS: dict[str, tuple[int, ...]] = {
    "winter": (1, 2, 12),
    "spring": (3, 4, 5),
    "summer": (6, 7, 8),
    "autumn": (9, 10, 11),
    "any": tuple(range(1, 13)),
}


#: Plausibility ranges (closed intervals). Besides rejecting typos (a price in ct/kWh, a weight of
#: 1e300) they keep every reward product finite: a weight <= 1e6 times a term of even 1e12 (EUR,
#: K·h, kWh, pu, hours of transformer loss of life per step) stays <= 1e18, far below the float
#: maximum (~1.8e308); prices <= 100 EUR/kWh times a few MWh per step give <= ~1e6 EUR.
PRICE_RANGE_EUR_PER_KWH = (0.0, 100.0)
WEIGHT_RANGE = (0.0, 1e6)
INDOOR_RANGE_C = (5.0, 35.0)
HYSTERESIS_RANGE_K = (0.0, 5.0)

_Owner = object  # any config dataclass instance (its class name prefixes the field in messages)


def _bad(obj: _Owner, name: str, expected: str, val: object) -> ConfigError:
    return ConfigError(f"{type(obj).__name__}.{name} must be {expected}, got {type(val).__name__} {val!r}.")


def _real(obj: _Owner, name: str, lo: float = -math.inf, hi: float = math.inf, unit: str = "") -> float:
    """Check that field ``name`` is a finite real number (not a bool) in ``[lo, hi]``; store it as float."""
    val = getattr(obj, name)
    ok = isinstance(val, numbers.Real) and not isinstance(val, bool) and math.isfinite(val) and lo <= val <= hi
    if not ok:
        bounded = math.isfinite(lo) or math.isfinite(hi)
        raise _bad(obj, name, f"a number in [{lo:g}, {hi:g}]{unit}" if bounded else "a finite number", val)
    object.__setattr__(obj, name, float(val))
    return float(val)


def _int(obj: _Owner, name: str, lo: int, hi: float = math.inf, unit: str = "") -> int:
    """Check that field ``name`` is an integer (not a bool) in ``[lo, hi]``; store it as int."""
    val = getattr(obj, name)
    if not isinstance(val, numbers.Integral) or isinstance(val, bool) or not lo <= val <= hi:
        raise _bad(obj, name, f"an integer in [{lo}, {hi}]{unit}" if hi < math.inf else f"an integer >= {lo}", val)
    object.__setattr__(obj, name, int(val))
    return int(val)


def _str(obj: _Owner, name: str, choices: object = None) -> str:
    """Check that field ``name`` is a non-empty string (and one of ``choices`` if given)."""
    val = getattr(obj, name)
    if not isinstance(val, str) or not val:
        raise _bad(obj, name, "a non-empty string", val)
    if choices is not None and val not in choices:
        raise ConfigError(f"{type(obj).__name__}.{name} {val!r} is unknown; choose one of {sorted(choices)}.")
    return val


def _hours(obj: _Owner, name: str) -> None:
    """Check that field ``name`` is a ``(start, end)`` tuple of integer hours in [0, 24]."""
    val = getattr(obj, name)
    if not (isinstance(val, tuple) and len(val) == 2 and all(
        isinstance(h, numbers.Integral) and not isinstance(h, bool) and 0 <= h <= 24 for h in val
    )):
        raise _bad(obj, name, "a tuple (start, end) of two integer hours in [0, 24], e.g. (17, 21)", val)
    object.__setattr__(obj, name, (int(val[0]), int(val[1])))


def _instance(obj: _Owner, name: str, cls: type) -> None:
    """Check that the nested config ``name`` is a ``cls`` (a dict gets a hint how to build one)."""
    val = getattr(obj, name)
    if not isinstance(val, cls):
        first = ", ".join(f"{f.name}=..." for f in dataclasses.fields(cls)[:2])
        raise ConfigError(
            f"{type(obj).__name__}.{name} must be a {cls.__name__}, got {type(val).__name__}; use "
            f"{cls.__name__}({first}) (get_scenario(..., {name}={{...}}) also accepts a dict of the "
            f"{cls.__name__} fields to change)."
        )


@dataclass(frozen=True, kw_only=True)
class ComfortBand:
    """Indoor temperature band of the occupants [°C].

    All temperatures must be plausible indoor temperatures in [5, 35] °C (:data:`INDOOR_RANGE_C`).

    Attributes:
        t_min_c: Lower comfort limit [°C], in [5, 35] and < ``t_max_c``.
        t_max_c: Upper comfort limit [°C], in [5, 35].
        t_setpoint_c: Thermostat set-point of the uncontrolled heat pump [°C], inside
            ``[t_min_c, t_max_c]``.
        hysteresis_k: Thermostat dead band of the uncontrolled heat pump [K], in [0, 5].
        t_initial_c: Indoor temperature at the start of an episode [°C], in [5, 35].
    """

    t_min_c: float = 20.0
    t_max_c: float = 23.0
    t_setpoint_c: float = 21.0
    hysteresis_k: float = 1.0
    t_initial_c: float = 21.0

    def __post_init__(self) -> None:
        for name in ("t_min_c", "t_max_c", "t_setpoint_c", "t_initial_c"):
            _real(self, name, *INDOOR_RANGE_C, " °C (a plausible indoor temperature)")
        _real(self, "hysteresis_k", *HYSTERESIS_RANGE_K, " K")
        if not self.t_min_c < self.t_max_c:
            raise ConfigError(
                f"ComfortBand.t_min_c ({self.t_min_c}) must be < ComfortBand.t_max_c ({self.t_max_c})."
            )
        if not self.t_min_c <= self.t_setpoint_c <= self.t_max_c:
            raise ConfigError(
                f"ComfortBand.t_setpoint_c ({self.t_setpoint_c}) must lie inside the band "
                f"[ComfortBand.t_min_c, ComfortBand.t_max_c] = [{self.t_min_c}, {self.t_max_c}]."
            )


@dataclass(frozen=True, kw_only=True)
class Tariff:
    """Time-of-use retail tariff and feed-in remuneration [EUR/kWh] (German household level).

    Prices lie in [0, 100] EUR/kWh (:data:`PRICE_RANGE_EUR_PER_KWH`; retail is ~0.1-1) and the
    feed-in tariff must not exceed any import price: a bus's energy cost
    ``price·max(p, 0) − feed_in·max(−p, 0)`` is convex in its net load ``p`` only then, which the
    optimiser needs (otherwise importing and exporting at once would pay).

    Attributes:
        base_eur_per_kwh: Price outside the peak and valley windows, in [0, 100].
        peak_eur_per_kwh: Price in the evening peak window, in [0, 100].
        valley_eur_per_kwh: Price in the night valley window, in [0, 100].
        peak_hours: Local hours ``(start, end)`` of the peak window ``[start, end)``: a tuple of
            two integers in [0, 24].
        valley_hours: Local hours ``(start, end)`` of the valley window (may wrap midnight), as
            ``peak_hours``; the peak window wins where they overlap.
        feed_in_eur_per_kwh: Remuneration of energy exported to the grid, in [0, 100] and
            <= the valley, base and peak prices.
    """

    base_eur_per_kwh: float = 0.32
    peak_eur_per_kwh: float = 0.42
    valley_eur_per_kwh: float = 0.22
    peak_hours: tuple[int, int] = (17, 21)
    valley_hours: tuple[int, int] = (0, 6)
    feed_in_eur_per_kwh: float = 0.08

    def __post_init__(self) -> None:
        for name in ("base_eur_per_kwh", "peak_eur_per_kwh", "valley_eur_per_kwh", "feed_in_eur_per_kwh"):
            _real(self, name, *PRICE_RANGE_EUR_PER_KWH, " EUR/kWh")
        _hours(self, "peak_hours")
        _hours(self, "valley_hours")
        for name in ("valley_eur_per_kwh", "base_eur_per_kwh", "peak_eur_per_kwh"):
            if self.feed_in_eur_per_kwh > getattr(self, name):
                raise ConfigError(
                    f"Tariff.feed_in_eur_per_kwh ({self.feed_in_eur_per_kwh}) must not exceed "
                    f"Tariff.{name} ({getattr(self, name)}): the energy cost is convex in a bus's net "
                    f"load (as the optimiser needs) only if exports pay no more than any import costs. "
                    f"Lower the feed-in tariff or raise that price."
                )

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

    Every weight is a finite number in [0, 1e6] (:data:`WEIGHT_RANGE`), so that weight × term stays
    finite for any plausible term (even 1e12 h of loss of life per step at an absurd hot spot).

    Attributes:
        cost: Per EUR of energy cost, in [0, 1e6].
        discomfort: Per K·h outside the comfort band (summed over houses), in [0, 1e6].
        ev_unmet: Per kWh of EV energy not delivered at departure, in [0, 1e6].
        voltage: Per pu·step of voltage outside the band (summed over buses), in [0, 1e6].
        losses: Per kWh of feeder losses, in [0, 1e6].
        aging: Per equivalent hour of transformer loss of life, in [0, 1e6].
        curtailment: Per kWh of curtailed PV energy, in [0, 1e6].
        overload: Per unit of line/transformer loading above 1 (summed over branches, per step),
            in [0, 1e6].
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
        for f in dataclasses.fields(self):
            _real(self, f.name, *WEIGHT_RANGE)

    def as_dict(self) -> dict[str, float]:
        """The weights by term name."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """Everything that defines an episode distribution.

    Attributes:
        name: Scenario name (a preset key or ``"custom"``); a non-empty string.
        feeder: Shipped feeder name (see :data:`thermogrid_env.network.FEEDERS`).
        season: Which days of the shipped year (2016) are played: ``"winter"``, ``"spring"``,
            ``"summer"``, ``"autumn"`` or ``"any"``.
        start_date: ``None`` or a fixed first day, an ISO date string in 2016 (``"2016-01-15"``),
            instead of sampling from the season; the episode must end inside 2016.
        start_hour_local: Local hour (Europe/Berlin) at which episodes start, an integer in
            [0, 23]. Default 12: a noon-to-noon day holds the evening peak, the night valley and a
            whole evening-to-morning EV home-charging session, so EV flexibility is inside the episode.
        episode_days: Episode length [days], an integer in [1, 28].
        dt_s: Control and simulation step [s], an integer dividing 900 (the 15-min data
            resolution; default 900 s).
        hp_share: Fraction of households with an air-source heat pump, in [0, 1].
        ev_share: Fraction of households with an EV, in [0, 1].
        pv_share: Fraction of households with rooftop PV, in [0, 1].
        comfort: Indoor comfort band, a :class:`ComfortBand`.
        tariff: Energy tariff, a :class:`Tariff`.
        reward_weights: Weights of the reward terms, a :class:`RewardWeights`.
        v_min_pu: Lower voltage limit for KPIs and the optimizer [pu] (EN 50160: 0.9);
            ``0.5 < v_min_pu < 1``.
        v_max_pu: Upper voltage limit [pu] (EN 50160: 1.1); ``1 < v_max_pu < 1.5``.
        community_seed: ``None`` or an integer >= 0. If set, the community (which houses get which
            assets, house types, EV fleet parameters) is drawn once from this seed and kept across
            resets; only days and EV sessions vary. If ``None`` every ``reset(seed)`` samples a new
            community.
        ev_v2g: Whether EVs may discharge to the grid (a bool).
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

        _str(self, "name")
        _str(self, "feeder", FEEDERS)
        _str(self, "season", SEASONS)
        _int(self, "start_hour_local", 0, 23, " (local hour)")
        _int(self, "episode_days", 1, 28, " days")
        _int(self, "dt_s", 1, 900, " s")
        if 900 % self.dt_s:
            raise ConfigError(
                f"Scenario.dt_s must be a positive integer number of seconds dividing 900 "
                f"(the 15-min data resolution), e.g. 900, 450, 300 or 60, got {self.dt_s!r}."
            )
        for name in ("hp_share", "ev_share", "pv_share"):
            _real(self, name, 0.0, 1.0)
        _instance(self, "comfort", ComfortBand)
        _instance(self, "tariff", Tariff)
        _instance(self, "reward_weights", RewardWeights)
        _real(self, "v_min_pu", unit=" pu")
        _real(self, "v_max_pu", unit=" pu")
        if not 0.5 < self.v_min_pu < 1.0 < self.v_max_pu < 1.5:
            raise ConfigError(
                f"Scenario voltage band must satisfy 0.5 < Scenario.v_min_pu < 1 < Scenario.v_max_pu < 1.5, "
                f"got v_min_pu={self.v_min_pu}, v_max_pu={self.v_max_pu}."
            )
        if self.community_seed is not None:
            _int(self, "community_seed", 0)
        if not isinstance(self.ev_v2g, bool):
            raise _bad(self, "ev_v2g", "True or False", self.ev_v2g)
        if self.start_date is not None:
            self._check_start_date()

    def _check_start_date(self) -> None:
        import pandas as pd  # noqa: PLC0415

        _str(self, "start_date")
        try:
            day = pd.Timestamp(self.start_date)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"Scenario.start_date {self.start_date!r} is not a date; use e.g. '2016-01-15'.") from exc
        if day.tz is not None or day != day.normalize():
            raise ConfigError(
                f"Scenario.start_date must be a date without time of day or zone, e.g. '2016-01-15' "
                f"(episodes start at start_hour_local), got {self.start_date!r}."
            )
        end = day + pd.Timedelta(hours=self.start_hour_local, days=self.episode_days)
        if day.year != 2016 or end > pd.Timestamp("2017-01-01"):
            raise ConfigError("Scenario.start_date and episode_days must stay inside 2016 (the shipped year).")

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
    # The other SimBench LV grids, as "winter-high-der-rural" (rural1 has only 3 households).
    "winter-high-der-rural1": Scenario(
        name="winter-high-der-rural1", feeder="simbench-rural1", season="winter",
        hp_share=1.0, ev_share=0.9, pv_share=0.6,
    ),
    "winter-high-der-rural3": Scenario(
        name="winter-high-der-rural3", feeder="simbench-rural3", season="winter",
        hp_share=1.0, ev_share=0.9, pv_share=0.6,
    ),
    "winter-high-der-semiurb5": Scenario(
        name="winter-high-der-semiurb5", feeder="simbench-semiurb5", season="winter",
        hp_share=1.0, ev_share=0.9, pv_share=0.6,
    ),
    "winter-high-der-urban6": Scenario(
        name="winter-high-der-urban6", feeder="simbench-urban6", season="winter",
        hp_share=1.0, ev_share=0.9, pv_share=0.6,
    ),
}
DEFAULT_SCENARIO = "winter-high-der"


def get_scenario(name: str | Scenario = DEFAULT_SCENARIO, **overrides: object) -> Scenario:
    """A preset by name (or a scenario as is), optionally with fields replaced.

    Args:
        name: Preset key (see :data:`PRESETS`) or a :class:`Scenario`.
        **overrides: Fields to replace, e.g. ``ev_share=0.5``. The nested configs ``comfort``,
            ``tariff`` and ``reward_weights`` take an instance of their class, or a dict of the
            fields to change in the base scenario's one, e.g. ``tariff={"peak_eur_per_kwh": 0.5}``
            (errors then name the nested field, e.g. ``Scenario.tariff.peak_eur_per_kwh``).

    Raises:
        ConfigError: Unknown preset (the message lists the known ones), a name that is neither a
            string nor a Scenario, or an unknown or invalid override.
    """
    if isinstance(name, Scenario):
        base = name
    elif not isinstance(name, str):
        raise ConfigError(
            f"get_scenario: name must be a preset name (str) or a Scenario, got {type(name).__name__} "
            f"{name!r}; choose one of {sorted(PRESETS)}."
        )
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
    for key in ("comfort", "tariff", "reward_weights"):
        if isinstance(overrides.get(key), dict):
            overrides[key] = _replace_nested(getattr(base, key), key, overrides[key])
    return dataclasses.replace(base, **overrides)


def _replace_nested(current: object, key: str, changes: dict) -> object:
    """``current`` (the nested config ``Scenario.<key>``) with the fields in ``changes`` replaced."""
    owner = type(current).__name__
    known = sorted(f.name for f in dataclasses.fields(current))
    unknown = [k for k in changes if k not in known]
    if unknown:
        raise ConfigError(f"Scenario.{key}: unknown {owner} fields {unknown}; valid fields are {known}.")
    try:
        return dataclasses.replace(current, **changes)
    except ConfigError as exc:  # name the field by its path from the Scenario
        raise ConfigError(str(exc).replace(f"{owner}.", f"Scenario.{key}.")) from exc
