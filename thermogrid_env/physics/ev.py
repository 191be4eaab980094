"""Electric vehicles at home chargers: charging sessions, plug-in availability and the SoC step.

Batched over ``n`` EVs with **one charging session per EV and episode** (the evening-to-morning
home session). Time is counted in integer episode steps of length ``dt_s``: EV ``i`` is plugged in
during steps ``arrival_step[i] <= k < departure_step[i]``. ``arrival_step`` may be negative (plugged
in before the episode starts) and ``departure_step`` may exceed the episode length (leaves after
the episode ends); ``soc_arrival`` is the state of charge when the EV is first plugged in *within
the episode*, i.e. at step ``max(arrival_step, 0)``.

Sign convention: ``p_kw`` is the power drawn from the grid at the charger, **positive when
charging** (consumption positive, as in the network). Energy into the battery over a step is
``p * efficiency * dt`` when charging and ``p / efficiency * dt`` when discharging (V2G,
``p < 0``), so the efficiency always costs energy.

Limits enforced by :func:`ev_step`: not plugged in -> 0 kW; ``|p| <= p_max_kw`` (charger); the SoC
never exceeds 1 (charging above ``soc_target`` up to 100 % is allowed: the target is a
*requirement at departure*, not a cap); discharging only for ``v2g`` EVs and never below
``soc_min``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from thermogrid_env.errors import ConfigError
from thermogrid_env.physics.trusted import from_trusted

# fmt: off
__all__ = [
    "EVSessions", "HomeChargingStats", "available", "departing", "ev_step", "initial_soc",
    "max_deliverable_kwh", "sample_sessions", "unmet_energy_kwh",
]
# fmt: on

_S_PER_H = 3600.0
_ArrayLike = np.ndarray | float | Sequence[float]

_INT_FIELDS = ("arrival_step", "departure_step")
_FLOAT_FIELDS = ("capacity_kwh", "soc_arrival", "soc_target", "p_max_kw", "efficiency", "soc_min")
_BOOL_FIELDS = ("v2g",)
_FIELDS = _INT_FIELDS + _FLOAT_FIELDS + _BOOL_FIELDS

# (lower, lower inclusive, upper, upper inclusive) of each float field
_BOUNDS: dict[str, tuple[float, bool, float, bool]] = {
    "capacity_kwh": (0.0, False, math.inf, False),
    "soc_arrival": (0.0, True, 1.0, True),
    "soc_target": (0.0, True, 1.0, True),
    "p_max_kw": (0.0, False, math.inf, False),
    "efficiency": (0.0, False, 1.0, True),
    "soc_min": (0.0, True, 1.0, False),
}


def _as_field_array(name: str, value: object) -> np.ndarray:
    try:
        arr = np.array(value, ndmin=1)
    except (TypeError, ValueError):
        arr = np.empty((0, 0))
    if arr.ndim != 1:
        raise ConfigError(f"EVSessions.{name} must be a scalar or a 1-D array, got {value!r}.")
    return arr


def _convert(name: str, arr: np.ndarray) -> np.ndarray:
    """Convert one field to its dtype, raising a ConfigError naming the field and EV index."""
    if name in _BOOL_FIELDS:
        if arr.dtype != np.bool_ and not np.isin(arr, (0, 1)).all():
            raise ConfigError(f"EVSessions.{name} must be boolean, got {arr!r}.")
        return arr.astype(np.bool_)
    try:
        f = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"EVSessions.{name} must be numeric, got {arr!r}.") from exc
    finite = np.isfinite(f)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ConfigError(f"EVSessions.{name}[{bad[0]}] = {f[bad[0]]} is not finite.")
    if name in _INT_FIELDS:
        whole = f == np.round(f)
        if not whole.all():
            bad = np.flatnonzero(~whole)
            raise ConfigError(f"EVSessions.{name}[{bad[0]}] = {f[bad[0]]} must be an integer.")
        return f.astype(np.int64)
    lo, lo_inc, hi, hi_inc = _BOUNDS[name]
    ok = (f >= lo if lo_inc else f > lo) & (f <= hi if hi_inc else f < hi)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        rng = f"{'[' if lo_inc else '('}{lo}, {hi}{']' if hi_inc else ')'}"
        raise ConfigError(f"EVSessions.{name}[{bad[0]}] = {f[bad[0]]} must be in {rng}.")
    return f


@dataclass(frozen=True, kw_only=True, eq=False)
class EVSessions:
    """One home-charging session per EV for ``n`` EVs; fields stored as read-only ``(n,)`` arrays.

    Scalars broadcast to the length of the array-valued fields. The energy requirement is derived,
    not stored: :attr:`energy_needed_kwh` ``= max(0, soc_target - soc_arrival) * capacity_kwh``.

    Attributes:
        arrival_step: First episode step the EV is plugged in (int; may be negative).
        departure_step: First episode step the EV is gone (int, ``> arrival_step``; may exceed
            the episode length).
        capacity_kwh: Usable battery capacity [kWh], > 0.
        soc_arrival: State of charge when first plugged in within the episode [-], in [0, 1].
        soc_target: Required state of charge at departure [-], in [0, 1].
        p_max_kw: Charger (and V2G discharge) power limit at the grid side [kW], > 0
            (e.g. 3.7 kW single-phase 16 A, 11 kW three-phase 16 A).
        efficiency: One-way charger+battery efficiency [-], in (0, 1]. Default 0.9.
        v2g: Whether the EV may discharge into the grid. Default False.
        soc_min: State of charge below which V2G discharge stops [-], in [0, 1). Default 0.2.

    Raises:
        ConfigError: A field is invalid or ``departure_step <= arrival_step``; the message names
            the field and the EV index.
    """

    arrival_step: np.ndarray
    departure_step: np.ndarray
    capacity_kwh: np.ndarray
    soc_arrival: np.ndarray
    soc_target: np.ndarray
    p_max_kw: np.ndarray
    efficiency: np.ndarray | float = 0.9
    v2g: np.ndarray | bool = False
    soc_min: np.ndarray | float = 0.2

    def __post_init__(self) -> None:
        arrays = {name: _as_field_array(name, getattr(self, name)) for name in _FIELDS}
        lengths = {name: a.size for name, a in arrays.items() if a.size != 1}
        if len(set(lengths.values())) > 1:
            raise ConfigError(f"EVSessions fields have mismatched lengths: {lengths}.")
        n = next(iter(lengths.values()), 1)  # empty arrays: no EVs (an empty fleet)
        for name, arr in arrays.items():
            arr = np.array(np.broadcast_to(_convert(name, arr), (n,)))
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        if np.any(self.departure_step <= self.arrival_step):
            i = np.flatnonzero(self.departure_step <= self.arrival_step)[0]
            raise ConfigError(
                f"EVSessions.departure_step[{i}] = {self.departure_step[i]} must be > "
                f"arrival_step[{i}] = {self.arrival_step[i]}."
            )

    def __reduce__(self):  # keep the validated, read-only arrays through pickle/deepcopy
        return (_rebuild_sessions, ({name: np.array(getattr(self, name)) for name in _FIELDS},))

    @classmethod
    def _trusted(cls, **fields: np.ndarray) -> EVSessions:
        """Sessions from ``(n,)`` arrays that are valid by construction (the sampler's), unchecked.

        The environment samples sessions at every reset; :func:`sample_sessions` draws them inside
        the valid ranges, so the checks of ``__init__`` are skipped there (tested against them). The
        sessions take over the given arrays (made read-only, not copied): pass fresh ones.
        """
        n = np.shape(fields["arrival_step"])
        arrays = {}
        for name in _FIELDS:
            dtype = np.int64 if name in _INT_FIELDS else (np.bool_ if name in _BOOL_FIELDS else np.float64)
            value = fields[name]
            is_row = isinstance(value, np.ndarray) and value.shape == n
            arrays[name] = value.astype(dtype, copy=False) if is_row else np.full(n, value, dtype=dtype)
        return from_trusted(cls, **arrays)

    def __len__(self) -> int:
        return self.n_evs

    @property
    def n_evs(self) -> int:
        """Number of EVs ``n``."""
        return int(self.arrival_step.shape[0])

    @property
    def energy_needed_kwh(self) -> np.ndarray:
        """``(n,)`` energy to add to the battery by departure [kWh] (battery side, >= 0)."""
        return np.maximum(self.soc_target - self.soc_arrival, 0.0) * self.capacity_kwh

    @cached_property
    def _any_v2g(self) -> bool:
        return bool(self.v2g.any())

    def _step_coeffs(self, dt_s: float) -> _StepCoeffs:
        """Per-EV step coefficients for a step length, computed once per ``dt_s``."""
        coeffs = self._caches[0].get(dt_s)
        if coeffs is None:
            coeffs = step_coefficients(self.capacity_kwh, self.efficiency, dt_s)
            self._caches[0][dt_s] = coeffs
        return coeffs

    @cached_property
    def _events(self) -> list[int]:
        """Sorted distinct steps at which availability changes (arrivals and departures)."""
        return np.unique(np.concatenate([self.arrival_step, self.departure_step])).tolist()

    @cached_property
    def _caches(self) -> tuple[dict[float, _StepCoeffs], dict[int, tuple[np.ndarray, ...]]]:
        """Step coefficients by ``dt_s`` and power limits by availability interval."""
        return {}, {}

    def _limits_at(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Charge and V2G-discharge power limits [kW] at ``step``, 0 where not plugged in
        (cached per interval between availability changes: at most ``2 n + 1`` entries)."""
        interval = bisect.bisect_right(self._events, step)
        limits = self._caches[1].get(interval)
        if limits is None:
            plugged = available(self, step)
            limits = (
                np.where(plugged, self.p_max_kw, 0.0),
                np.where(plugged & self.v2g, self.p_max_kw, 0.0),
            )
            self._caches[1][interval] = limits
        return limits


class _StepCoeffs(NamedTuple):
    """Per-EV coefficients of :func:`ev_step` for one step length ``dt_h`` (all ``(n,)``)."""

    charge_kw_per_soc: np.ndarray  # C / (eff dt_h): grid power raising the SoC by 1 in a step
    charge_soc_per_kw: np.ndarray  # eff dt_h / C
    discharge_kw_per_soc: np.ndarray  # eff C / dt_h: grid power fed as the SoC drops by 1
    discharge_soc_per_kw: np.ndarray  # dt_h / (eff C)


#: The per-EV coefficients of :func:`soc_step` (:func:`step_coefficients`).
StepCoeffs = _StepCoeffs


def _rebuild_sessions(fields: dict[str, np.ndarray]) -> EVSessions:
    return EVSessions(**fields)


def initial_soc(sessions: EVSessions) -> np.ndarray:
    """``(n,)`` SoC state at the start of the episode: ``soc_arrival`` (a writable copy).

    The SoC of an EV that has not arrived yet is not used (it draws nothing) and stays at
    ``soc_arrival`` until it plugs in; after departure it stays at the departure value.
    """
    return np.array(sessions.soc_arrival, dtype=np.float64)


def available(sessions: EVSessions, step: int) -> np.ndarray:
    """``(n,)`` bool mask of EVs plugged in during episode step ``step``."""
    return (sessions.arrival_step <= step) & (step < sessions.departure_step)


def departing(sessions: EVSessions, step: int) -> np.ndarray:
    """``(n,)`` bool mask of EVs whose last plugged-in step is ``step`` (book unmet energy)."""
    return sessions.departure_step == step + 1


def ev_step(
    sessions: EVSessions, soc: np.ndarray, p_set_kw: _ArrayLike, step: int, dt_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Advance the SoC of all EVs over one step under charger, SoC and availability limits.

    The setpoint is clipped (documented behaviour) to the feasible interval
    ``[p_lo, p_hi]`` with

    * ``p_hi = min(p_max, (1 - soc) * C / (eff * dt_h))`` (charger, no overcharge above 100 %),
    * ``p_lo = -min(p_max, max(soc - soc_min, 0) * eff * C / dt_h)`` for V2G EVs, else 0,
    * ``p = 0`` for EVs not plugged in.

    Then ``soc_next = soc + p * eff * dt_h / C`` (charging) or ``soc + p / eff * dt_h / C``
    (discharging, ``p < 0``).

    Args:
        sessions: The EV sessions.
        soc: ``(n,)`` SoC at the start of the step [-] (not modified).
        p_set_kw: ``(n,)`` requested grid-side power [kW], charging positive.
        step: Episode step index (0-based).
        dt_s: Step length [s], > 0.

    Returns:
        ``(soc_next, p_actual_kw)``: the SoC at the end of the step and the grid-side power
        actually drawn [kW] (charging positive), both ``(n,)``.

    Raises:
        ConfigError: A setpoint is NaN or ``dt_s <= 0``.
    """
    if not dt_s > 0.0:
        raise ConfigError(f"ev_step: dt_s = {dt_s} must be > 0 [s].")
    p_set = np.asarray(p_set_kw, dtype=np.float64)
    if math.isnan(np.minimum.reduce(p_set, axis=None)):
        bad = np.flatnonzero(np.isnan(p_set))[:5]
        raise ConfigError(f"ev_step: p_set_kw contains NaN at EV(s) {bad}.")
    k = sessions._step_coeffs(dt_s)
    p_charge_max, p_discharge_max = sessions._limits_at(step)  # 0 where not plugged in
    return soc_step(soc, p_set, p_charge_max, p_discharge_max, k,
                    soc_min=sessions.soc_min if sessions._any_v2g else None)


def step_coefficients(capacity_kwh: np.ndarray, efficiency: np.ndarray, dt_s: float) -> _StepCoeffs:
    """Per-EV coefficients of :func:`soc_step` for one step length (arrays of any shape)."""
    dt_h = dt_s / _S_PER_H
    c, eff = np.asarray(capacity_kwh, dtype=float), np.asarray(efficiency, dtype=float)
    return _StepCoeffs(charge_kw_per_soc=c / (eff * dt_h), charge_soc_per_kw=eff * dt_h / c,
                       discharge_kw_per_soc=eff * c / dt_h, discharge_soc_per_kw=dt_h / (eff * c))


def soc_step(
    soc: np.ndarray, p_set_kw: np.ndarray, p_charge_max_kw: np.ndarray, p_discharge_max_kw: np.ndarray,
    coeffs: _StepCoeffs, soc_min: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The EV step of :func:`ev_step` on plain arrays (any leading batch axes; no validation).

    Args:
        soc: SoC at the start of the step [-].
        p_set_kw: Requested grid-side power [kW], charging positive (not NaN).
        p_charge_max_kw: Charge limit [kW], 0 where not plugged in.
        p_discharge_max_kw: V2G discharge limit [kW], 0 where not plugged in or without V2G.
        coeffs: :func:`step_coefficients`.
        soc_min: V2G floor [-]; ``None``: no EV may discharge (faster).

    Returns:
        ``(soc_next, p_actual_kw)``.
    """
    p_hi = (1.0 - soc) * coeffs.charge_kw_per_soc  # headroom to 100 % SoC
    np.minimum(p_hi, p_charge_max_kw, out=p_hi)
    p = np.minimum(p_set_kw, p_hi)
    if soc_min is not None:
        p_lo = np.maximum(soc - soc_min, 0.0) * coeffs.discharge_kw_per_soc
        np.minimum(p_lo, p_discharge_max_kw, out=p_lo)
        np.maximum(p, -p_lo, out=p)
        soc_next = p * np.where(p > 0.0, coeffs.charge_soc_per_kw, coeffs.discharge_soc_per_kw)
    else:
        np.maximum(p, 0.0, out=p)
        soc_next = p * coeffs.charge_soc_per_kw
    soc_next += soc
    np.minimum(soc_next, 1.0, out=soc_next)  # rounding guard (p_hi already keeps soc <= 1)
    return soc_next, p


def power_for_urgency(urgency: np.ndarray, soc: np.ndarray, capacity_kwh: np.ndarray, efficiency: np.ndarray,
                      p_max_kw: np.ndarray, target_kwh: np.ndarray, steps_after: np.ndarray, dt_h: float) -> np.ndarray:
    """Charging power [kW] of an urgency in ``[0, 1]`` against the declared deadline.

    ``0`` charges only what full power in the ``steps_after`` remaining plugged steps could no
    longer deliver (the least that still meets the target), ``1`` charges at full power; in between
    linearly. Limited by the charger and the battery's headroom (arrays of any common shape).
    """
    u = np.clip(urgency, 0.0, 1.0)
    hi = np.minimum(p_max_kw, np.maximum(1.0 - soc, 0.0) * capacity_kwh / (efficiency * dt_h))
    missing = target_kwh - soc * capacity_kwh - efficiency * p_max_kw * steps_after * dt_h
    lo = np.minimum(np.maximum(missing / (efficiency * dt_h), 0.0), hi)
    return lo + u * (hi - lo)


def max_deliverable_kwh(
    sessions: EVSessions, dt_s: float, n_steps: int | None = None
) -> np.ndarray:
    """``(n,)`` battery-side energy the charger can deliver while plugged in [kWh].

    ``p_max * efficiency * (plugged steps) * dt_h``, counting steps in
    ``[max(arrival, 0), min(departure, n_steps))`` (``n_steps=None``: up to departure).
    """
    end = sessions.departure_step
    if n_steps is not None:
        end = np.minimum(end, n_steps)
    steps = np.maximum(end - np.maximum(sessions.arrival_step, 0), 0)
    return sessions.p_max_kw * sessions.efficiency * steps * (dt_s / _S_PER_H)


def unmet_energy_kwh(sessions: EVSessions, soc: np.ndarray) -> np.ndarray:
    """``(n,)`` energy missing to the target, ``max(0, soc_target - soc) * capacity`` [kWh].

    Evaluate it with the SoC at departure (:func:`departing`), or at the episode end for EVs that
    leave after it (their requirement is sampled feasible within the episode).
    """
    missing = np.maximum(sessions.soc_target - np.asarray(soc, dtype=np.float64), 0.0)
    return missing * sessions.capacity_kwh


@dataclass(frozen=True, kw_only=True)
class HomeChargingStats:
    """Statistics of German home charging used by :func:`sample_sessions` (round values).

    Arrival at home ~ Normal(17:45, 2 h) truncated to [12, 24) h and departure the next morning ~
    Normal(07:30, 1 h) truncated to [4, 11) h: the evening-arrival / morning-departure pattern of
    car trips by hour of day in MiD 2017 (infas/DLR for the BMVI, "Mobilität in Deutschland
    2017"). Daily distance ~ lognormal with mean 35 km and CV 0.8: about 13,000-14,000 km per car
    and year (KBA, "Verkehr in Kilometern"), i.e. 35-38 km/day, strongly right-skewed from day to
    day (MiD 2017). Battery-side consumption 0.18 kWh/km (real-world compact/mid-size BEVs
    0.15-0.22 kWh/km, e.g. ADAC Ecotest). Usable capacity ~ Uniform(40, 80) kWh. Charger 11 kW
    (three-phase 16 A, the German wallbox standard, e.g. the subsidised KfW 440 wallboxes) with
    probability 0.7, else 3.7 kW (single-phase 16 A). Target SoC 0.9, arrival SoC at least 0.1,
    one-way efficiency 0.9, no V2G by default (``v2g_share``), V2G floor ``soc_min`` 0.2.
    Units are in the field names ([h] are hours of the day).

    Raises:
        ConfigError: A value is out of range (the message names the field).
    """

    arrival_mean_h: float = 17.75  # in [12, 24)
    arrival_std_h: float = 2.0  # > 0
    departure_mean_h: float = 7.5  # in [4, 11)
    departure_std_h: float = 1.0  # > 0
    distance_mean_km: float = 35.0  # > 0
    distance_cv: float = 0.8  # > 0
    consumption_kwh_per_km: float = 0.18  # > 0
    capacity_min_kwh: float = 40.0  # in (0, capacity_max_kwh]
    capacity_max_kwh: float = 80.0
    share_11kw: float = 0.7  # in [0, 1]
    soc_target: float = 0.9  # in (0, 1]
    soc_arrival_min: float = 0.1  # in [0, soc_target]
    efficiency: float = 0.9  # in (0, 1]
    v2g_share: float = 0.0  # in [0, 1]
    soc_min: float = 0.2  # in [0, 1)

    def __post_init__(self) -> None:
        positive = ("arrival_std_h", "departure_std_h", "distance_mean_km", "distance_cv")
        checks = {name: getattr(self, name) > 0.0 for name in positive}
        checks |= {
            "consumption_kwh_per_km": self.consumption_kwh_per_km > 0.0,
            "arrival_mean_h": 12.0 <= self.arrival_mean_h < 24.0,
            "departure_mean_h": 4.0 <= self.departure_mean_h < 11.0,
            "capacity_min_kwh": 0.0 < self.capacity_min_kwh <= self.capacity_max_kwh,
            "share_11kw": 0.0 <= self.share_11kw <= 1.0,
            "soc_target": 0.0 < self.soc_target <= 1.0,
            "soc_arrival_min": 0.0 <= self.soc_arrival_min <= self.soc_target,
            "efficiency": 0.0 < self.efficiency <= 1.0,
            "v2g_share": 0.0 <= self.v2g_share <= 1.0,
            "soc_min": 0.0 <= self.soc_min < 1.0,
        }
        for name, ok in checks.items():  # NaN fails every comparison
            if not ok:
                value = getattr(self, name)
                raise ConfigError(f"HomeChargingStats.{name} = {value} is out of range.")


def _truncated_normal(
    rng: np.random.Generator, n: int, mean: float, std: float, low: float, high: float
) -> np.ndarray:
    """Normal draws restricted to ``[low, high)`` by resampling the outliers (vectorised)."""
    x = rng.normal(mean, std, n)
    bad = (x < low) | (x >= high)
    while bad.any():
        x[bad] = rng.normal(mean, std, int(bad.sum()))
        bad = (x < low) | (x >= high)
    return x


def sample_sessions(
    rng: np.random.Generator,
    n: int,
    n_steps: int,
    dt_s: float,
    *,
    start_hour: float = 0.0,
    stats: HomeChargingStats = HomeChargingStats(),
) -> EVSessions:
    """Sample one evening-to-morning home-charging session per EV (German statistics).

    Per EV: arrival time of day and next-morning departure from truncated normals, daily distance
    ~ lognormal, capacity ~ uniform, charger 11 or 3.7 kW, ``soc_arrival = soc_target - distance *
    consumption / capacity`` floored at ``soc_arrival_min`` (see :class:`HomeChargingStats`).
    An EV is plugged in for whole steps only (first full step after arrival to the last full step
    before departure).

    Episode horizon: step 0 is at ``start_hour`` (hour of day) of the arrival day; EVs that
    arrived before it have ``arrival_step < 0``. The departure may lie after the episode end
    (``departure_step > n_steps``; kept, not clipped, so :func:`available` stays true to the end).
    The requirement must be deliverable *within the episode*, so the energy needed is capped at
    :func:`max_deliverable_kwh` ``(sessions, dt_s, n_steps)`` (``p_max * eff * plugged-in time in
    the episode``) by raising ``soc_arrival``; an EV arriving after the episode end gets no
    requirement. Hence full-power charging from arrival always meets every target and
    ``unmet_energy_kwh`` (at departure or episode end) measures only the controller. One session
    per EV: in episodes longer than a day an EV does not come back after its departure.

    Args:
        rng: Random generator (the only source of randomness).
        n: Number of EVs, >= 1.
        n_steps: Episode length [steps], >= 1.
        dt_s: Step length [s], > 0.
        start_hour: Hour of day of episode step 0, in [0, 24).
        stats: The statistics (defaults: German home charging, see :class:`HomeChargingStats`).

    Returns:
        The sampled sessions, with a feasible requirement for every EV.

    Raises:
        ConfigError: Invalid arguments.
    """
    if n < 1 or n_steps < 1 or not dt_s > 0.0 or not 0.0 <= start_hour < 24.0:
        raise ConfigError(
            "sample_sessions: need n >= 1, n_steps >= 1, dt_s > 0 and start_hour in [0, 24) "
            f"(got {n}, {n_steps}, {dt_s}, start_hour = {start_hour})."
        )
    st = stats
    arrival_h = _truncated_normal(rng, n, st.arrival_mean_h, st.arrival_std_h, 12.0, 24.0)
    departure_h = 24.0 + _truncated_normal(
        rng, n, st.departure_mean_h, st.departure_std_h, 4.0, 11.0
    )
    sigma2 = math.log1p(st.distance_cv**2)  # lognormal with the given mean and CV
    mu = math.log(st.distance_mean_km) - 0.5 * sigma2
    distance_km = rng.lognormal(mu, math.sqrt(sigma2), n)
    capacity_kwh = rng.uniform(st.capacity_min_kwh, st.capacity_max_kwh, n)
    p_max_kw = np.where(rng.random(n) < st.share_11kw, 11.0, 3.7)
    v2g = rng.random(n) < st.v2g_share

    step_h = dt_s / _S_PER_H
    arrival_step = np.ceil((arrival_h - start_hour) / step_h - 1e-9).astype(np.int64)
    departure_step = np.floor((departure_h - start_hour) / step_h + 1e-9).astype(np.int64)
    need_kwh = np.minimum(
        distance_km * st.consumption_kwh_per_km,
        (st.soc_target - st.soc_arrival_min) * capacity_kwh,
    )
    plugged_steps = np.maximum(np.minimum(departure_step, n_steps) - np.maximum(arrival_step, 0), 0)
    need_kwh = np.minimum(need_kwh, p_max_kw * st.efficiency * plugged_steps * step_h)
    return EVSessions._trusted(  # valid by construction (HomeChargingStats is validated)
        arrival_step=arrival_step,
        departure_step=departure_step,
        capacity_kwh=capacity_kwh,
        soc_arrival=np.clip(st.soc_target - need_kwh / capacity_kwh, 0.0, 1.0),
        soc_target=st.soc_target,
        p_max_kw=p_max_kw,
        efficiency=st.efficiency,
        v2g=v2g,
        soc_min=st.soc_min,
    )
