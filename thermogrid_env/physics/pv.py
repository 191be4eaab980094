"""Rooftop PV with an inverter: available power, curtailment and reactive power in the circle.

Batched over ``n`` PV systems. Sign convention (read this): every function here returns
**generation as positive** ``p_kw`` (active power fed in by the inverter) and ``q_kvar`` positive
when the inverter *injects* reactive power (over-excited, capacitive behaviour, raises the
voltage). The network is load-positive (see :mod:`thermogrid_env.network.feeder`): the caller adds
``-p_kw`` and ``-q_kvar`` to the bus injections.

Capability: the inverter's apparent-power rating ``s_inverter_kva`` bounds the operating point,
``p² + q² <= s²``, and the active power never exceeds the available (irradiance-limited) power.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.physics.trusted import from_trusted

__all__ = [
    "DEFAULT_INVERTER_RATIO",
    "PVParams",
    "available_power_kw",
    "dispatch",
    "sample_pv",
]

DEFAULT_INVERTER_RATIO = 1.1
"""Default inverter rating per kWp [kVA/kWp]: an inverter of about ``1 / 0.9`` times the active
power can hold cos φ = 0.90 at full output, the reactive-power range VDE-AR-N 4105:2018 asks of
LV generators above 4.6 kVA."""

_PROFILE_MAX = 1.5
"""Largest plausible profile value [kW/kWp]; larger values are treated as corrupt data."""

_ArrayLike = np.ndarray | float | Sequence[float]


def _as_positive_array(name: str, value: object) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64, ndmin=1)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"PVParams.{name} must be a float or a 1-D array of floats, got {value!r}."
        ) from exc
    if arr.ndim != 1:
        raise ConfigError(f"PVParams.{name} must be a 1-D array (empty: no PV), got shape {arr.shape}.")
    bad = np.flatnonzero(~(np.isfinite(arr) & (arr > 0.0)))
    if bad.size:
        raise ConfigError(f"PVParams.{name}[{bad[0]}] = {arr[bad[0]]} must be finite and > 0.")
    return arr


@dataclass(frozen=True, kw_only=True, eq=False)
class PVParams:
    """Parameters of ``n`` PV systems (fields stored as read-only float64 ``(n,)`` arrays).

    Attributes:
        p_peak_kwp: Installed DC peak power [kWp], > 0.
        s_inverter_kva: Inverter apparent-power rating [kVA], > 0; ``None`` (default):
            :data:`DEFAULT_INVERTER_RATIO` ``* p_peak_kwp``. A scalar broadcasts.

    Raises:
        ConfigError: A value is not finite and positive, or the lengths differ; the message names
            the field and the index.
    """

    p_peak_kwp: np.ndarray
    s_inverter_kva: np.ndarray | float | None = None

    def __post_init__(self) -> None:
        p = _as_positive_array("p_peak_kwp", self.p_peak_kwp)
        if self.s_inverter_kva is None:
            s = DEFAULT_INVERTER_RATIO * p
        else:
            s = _as_positive_array("s_inverter_kva", self.s_inverter_kva)
            if s.size == 1:
                s = np.full(p.shape, s[0])
            elif s.size != p.size:
                raise ConfigError(
                    f"PVParams.s_inverter_kva has {s.size} entries but p_peak_kwp has {p.size}."
                )
        p.setflags(write=False)
        s.setflags(write=False)
        object.__setattr__(self, "p_peak_kwp", p)
        object.__setattr__(self, "s_inverter_kva", s)

    def __reduce__(self):  # re-validate on unpickle/deepcopy (read-only arrays, no stale caches)
        return (
            _rebuild_pv_params,
            ({"p_peak_kwp": self.p_peak_kwp, "s_inverter_kva": self.s_inverter_kva},),
        )

    def __len__(self) -> int:
        return self.n_devices

    @property
    def n_devices(self) -> int:
        """Number of PV systems ``n``."""
        return int(self.p_peak_kwp.shape[0])

    @cached_property
    def _s_sq(self) -> np.ndarray:
        """Squared inverter rating [kVA²]."""
        return self.s_inverter_kva * self.s_inverter_kva


def _rebuild_pv_params(fields: dict[str, object]) -> PVParams:
    return PVParams(**fields)


def available_power_kw(params: PVParams, profile_value: _ArrayLike) -> np.ndarray:
    """Active power available from the sun, ``profile * p_peak_kwp`` limited to the inverter rating.

    Args:
        params: PV parameters.
        profile_value: Normalised generation [kW/kWp] (SimBench PV profiles are normalised to the
            installed power): a scalar for all systems or an ``(n,)`` array, in
            ``[0, 1.5]``.

    Returns:
        ``(n,)`` available active power [kW], in ``[0, s_inverter_kva]``.

    Raises:
        DataError: A profile value is NaN, negative or above 1.5 kW/kWp.
    """
    if isinstance(profile_value, (int, float)):
        lo = hi = float(profile_value)
    else:
        profile_value = np.asarray(profile_value, dtype=np.float64)
        lo, hi = float(profile_value.min()), float(profile_value.max())
    if not (lo >= 0.0 and hi <= _PROFILE_MAX):  # NaN fails both comparisons
        raise DataError(
            f"PV profile value(s) in [{lo}, {hi}] outside [0, {_PROFILE_MAX}] kW/kWp (or NaN); "
            "the profile must be normalised to the installed power."
        )
    return np.minimum(profile_value * params.p_peak_kwp, params.s_inverter_kva)


def _check_not_nan(name: str, value: np.ndarray) -> None:
    if math.isnan(np.minimum.reduce(value, axis=None)):
        raise ConfigError(
            f"dispatch: {name} contains NaN at index(es) {np.flatnonzero(np.isnan(value))[:5]}."
        )


def dispatch(
    params: PVParams,
    p_available_kw: _ArrayLike,
    curtailment_fraction: _ArrayLike,
    q_set_kvar: _ArrayLike,
    *,
    q_priority: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Operating point of the inverters: curtailed active power and reactive power in the circle.

    ``p = (1 - curtailment) * min(p_available, s)``. Priority (the capability circle
    ``p² + q² <= s²``):

    * ``q_priority=False`` (default, active power first, as grid codes treat curtailment as the
      last resort): ``q`` is clipped to ``±sqrt(s² - p²)``.
    * ``q_priority=True``: ``q`` is clipped to ``±s`` first and ``p`` is reduced to
      ``sqrt(s² - q²)`` if needed (reactive power first, at the cost of energy).

    Out-of-range setpoints are clipped (documented behaviour: curtailment into [0, 1], ``q`` into
    the circle); NaN setpoints are an error.

    Args:
        params: PV parameters.
        p_available_kw: ``(n,)`` available active power [kW] (:func:`available_power_kw`).
        curtailment_fraction: Share of the available power to shed, scalar or ``(n,)``, in [0, 1].
        q_set_kvar: Reactive-power setpoint [kvar], scalar or ``(n,)``; positive = injection.
        q_priority: Reactive power before active power (see above).

    Returns:
        ``(p_kw, q_kvar)``, both ``(n,)``: **generation-positive** active power and injected
        reactive power. Negate both for the load-positive network.

    Raises:
        ConfigError: NaN in ``curtailment_fraction`` or ``q_set_kvar``.
    """
    if isinstance(curtailment_fraction, (int, float)):
        c = float(curtailment_fraction)
        if math.isnan(c):
            raise ConfigError("dispatch: curtailment_fraction is NaN.")
        curtail = np.float64(c)
    else:
        curtail = np.asarray(curtailment_fraction, dtype=np.float64)
        _check_not_nan("curtailment_fraction", curtail)
    q_set = np.asarray(q_set_kvar, dtype=np.float64)
    _check_not_nan("q_set_kvar", q_set)
    return dispatch_arrays(params.s_inverter_kva, params._s_sq, np.asarray(p_available_kw, dtype=np.float64),
                           curtail, q_set, q_priority=q_priority)


def dispatch_arrays(
    s_kva: np.ndarray, s_sq: np.ndarray, p_available_kw: np.ndarray, curtailment_fraction: np.ndarray,
    q_set_kvar: np.ndarray, *, q_priority: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dispatch` on plain arrays (any leading batch axes; inputs not NaN, not validated).

    Args:
        s_kva: Inverter ratings [kVA]; ``s_sq``: their squares [kVA²].
        p_available_kw: Available active power [kW].
        curtailment_fraction: Share shed (clipped into [0, 1]).
        q_set_kvar: Reactive-power set-point [kvar], injection positive.
        q_priority: See :func:`dispatch`.

    Returns:
        ``(p_kw, q_kvar)``, generation/injection positive.
    """
    p = np.minimum(p_available_kw, s_kva)
    p *= 1.0 - np.minimum(np.maximum(curtailment_fraction, 0.0), 1.0)
    # 0 <= p <= s and |q| <= s hold exactly in floating point, so s² - p² >= 0 and s² - q² >= 0
    if q_priority:
        q = np.minimum(np.maximum(q_set_kvar, -s_kva), s_kva)
        np.minimum(p, np.sqrt(s_sq - q * q), out=p)
    else:
        q_max = np.sqrt(s_sq - p * p)
        q = np.minimum(np.maximum(q_set_kvar, -q_max), q_max)
    return p, q


def sample_pv(
    rng: np.random.Generator,
    n: int,
    *,
    p_range_kwp: tuple[float, float] = (5.0, 10.0),
    inverter_ratio: float = DEFAULT_INVERTER_RATIO,
) -> PVParams:
    """Sample rooftop PV sizes ~ Uniform(5, 10) kWp (defaults) with ``inverter_ratio`` kVA/kWp.

    5-10 kWp is the typical size of PV on German single-family houses: the roof area of a
    detached house holds about 30-60 m² of modules (~5-10 kWp), and 10 kWp was the threshold below
    which self-consumed PV power was exempt from the EEG levy (EEG 2014-2021), which made it the
    dominant size class in the German installation register (Marktstammdatenregister).

    Args:
        rng: Random generator (the only source of randomness).
        n: Number of systems, >= 1.
        p_range_kwp: Uniform range of peak power [kWp], ``0 < low <= high``.
        inverter_ratio: Inverter rating per kWp [kVA/kWp], > 0.

    Returns:
        The sampled :class:`PVParams`.

    Raises:
        ConfigError: Invalid arguments.
    """
    lo, hi = p_range_kwp
    if n < 1 or not 0.0 < lo <= hi or not inverter_ratio > 0.0:
        raise ConfigError(
            "sample_pv: need n >= 1, 0 < low <= high and inverter_ratio > 0 "
            f"(got {n}, {p_range_kwp}, {inverter_ratio})."
        )
    p_kwp = rng.uniform(lo, hi, n)  # finite and > 0 by construction: no checks (every reset draws these)
    return from_trusted(PVParams, p_peak_kwp=p_kwp, s_inverter_kva=inverter_ratio * p_kwp)
