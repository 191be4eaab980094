"""Air-source heat pump: COP regression on the temperature lift, heating curves, sizing, limits.

Batched over ``n`` heat pumps; the step functions (:func:`device_cop`, :func:`heat_output_kw`,
:func:`clip_power`) are a handful of elementwise numpy operations.

COP model. The coefficient of performance is a quadratic regression on the temperature lift
``dT = t_sink - t_source`` [K] (source = ambient air for an air-source heat pump)::

    COP = correction * (c0 + c1 * dT + c2 * dT**2),     dT clipped to [dT_min, dT_max],
    COP >= 1 (never below direct electric heating).

Regressions (:data:`COP_REGRESSIONS`):

* ``"staffell2012-ashp"`` (default): ``6.81 - 0.121 dT + 0.000630 dT²``, valid 15 <= dT <= 60 K,
  and ``"staffell2012-gshp"``: ``8.77 - 0.150 dT + 0.000734 dT²``, valid 20 <= dT <= 60 K.
  Staffell, Brett, Brandon & Hawkes (2012), "A review of domestic heat pumps", Energy Environ.
  Sci. 5, 9291-9306, doi:10.1039/c2ee22653g, fitted to published performance data of domestic
  heat pumps. The same coefficients and validity ranges are used e.g. by PyPSA-Eur
  (``build_cop_profiles``).
* ``"when2heat-ashp"``: ``6.08 - 0.0941 dT + 0.000464 dT²`` and ``"when2heat-gshp"``:
  ``10.29 - 0.2084 dT + 0.001322 dT²``. Ruhnau, Hirth & Praktiknjo (2019), "Time series of heat
  demand and heat pump efficiency for energy system modeling", Scientific Data 6:189,
  doi:10.1038/s41597-019-0199-y; coefficients as in the When2Heat repository
  (``input/cop/cop_parameters.csv``; some versions round c2 to 0.0005/0.0012). Note: When2Heat
  fits its *own* quadratic curves to manufacturer data, close to Staffell's (bare COP 3.35 vs
  3.35 at dT = 35 K, 2.54 vs 2.34 at dT = 50 K, When2Heat vs Staffell); it clips dT at 15 K from
  below only. We clip both families to the stated range.

From When2Heat we take (i) the heating curves for the sink (supply) temperature,
radiators ``t_sink = 40 - 1.0 * t_ambient`` and floor heating ``t_sink = 30 - 0.5 * t_ambient``
[°C] (:data:`HEATING_CURVES`), and (ii) the correction factor 0.85 that scales the laboratory
curves to real operation (part-load, defrosting, auxiliaries). The ground-source forms are given
for completeness; their source temperature is the ground/brine temperature (``t_source_c``).

Clipping ``dT`` to the regression's validity range is a documented extrapolation rule, not data
clipping: below ``dT_min`` (mild weather, heating hardly needed) the COP is held at its value at
``dT_min``; above ``dT_max`` (radiators below -10 °C ambient) it is held at the value at
``dT_max``, which is slightly optimistic. Within the range the curve is strictly
decreasing in ``dT`` (its vertex lies at ``dT = 96 K``), so the COP is non-increasing in ``dT``.

Power. The electrical power modulates continuously between 0 and the rated electrical power
``p_rated_el_kw``; heat ``= COP * p_el``. There is **no minimum modulation level**: real inverter
heat pumps cannot run stably below ~20-40 % of rated power (they cycle on/off instead), but a
minimum level turns the feasible set ``{0} or [p_min, p_rated]`` non-convex and would force binary
variables into the SOCP oracle. Averaged over a 15-min step, on/off cycling realises any mean power
in ``[0, p_rated]``, so the convex interval is a faithful step-average model.
Because ``p_rated_el_kw`` is electrical, the maximum heat output ``COP * p_rated_el_kw`` falls in
cold weather, as for real air-source heat pumps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from thermogrid_env.errors import ConfigError, DataError

# fmt: off
__all__ = [
    "COP_REGRESSIONS", "DEFAULT_COP_CORRECTION", "DEFAULT_REGRESSION", "EMITTERS",
    "HEATING_CURVES", "CopRegression", "HeatPumpParams", "clip_power", "cop", "device_cop", "fleet_cop_series",
    "electric_power_for_heat_kw", "heat_output_kw", "heating_curve_sink_c", "size_heat_pump",
]
# fmt: on


class CopRegression(NamedTuple):
    """Quadratic COP regression ``c0 + c1 dT + c2 dT²`` on the lift ``dT`` [K], valid range."""

    c0: float
    c1_per_k: float
    c2_per_k2: float
    delta_t_min_k: float
    delta_t_max_k: float


COP_REGRESSIONS: dict[str, CopRegression] = {
    "staffell2012-ashp": CopRegression(6.81, -0.121, 0.000630, 15.0, 60.0),
    "staffell2012-gshp": CopRegression(8.77, -0.150, 0.000734, 20.0, 60.0),
    "when2heat-ashp": CopRegression(6.08, -0.0941, 0.000464, 15.0, 60.0),
    "when2heat-gshp": CopRegression(10.29, -0.2084, 0.001322, 15.0, 60.0),
}
"""COP regressions by key (see the module docstring for sources)."""

DEFAULT_REGRESSION = "staffell2012-ashp"
"""Key of the default regression (air-source, Staffell et al. 2012)."""

DEFAULT_COP_CORRECTION = 0.85
"""Real-operation correction factor of When2Heat (Ruhnau et al. 2019) [-]."""

HEATING_CURVES: dict[str, tuple[float, float]] = {
    "radiator": (40.0, -1.0),
    "floor": (30.0, -0.5),
}
"""Heating curves ``t_sink_c = offset + slope * t_ambient_c`` by emitter: (offset [°C], slope [-]).
Source: When2Heat (Ruhnau et al. 2019)."""

EMITTERS: tuple[str, ...] = tuple(HEATING_CURVES)
"""Valid emitter (heat distribution system) names."""

_ALL_CURVES = np.array([HEATING_CURVES[e] for e in EMITTERS], dtype=np.float64)  # (offset, slope) per emitter
_ALL_CURVES.setflags(write=False)

_ArrayLike = np.ndarray | float | Sequence[float]


def _check_emitter(emitter: str, where: str) -> None:
    if emitter not in HEATING_CURVES:
        raise ConfigError(f"{where}: emitter {emitter!r} is unknown; use one of {EMITTERS}.")


def _regression(key: str, where: str) -> CopRegression:
    try:
        return COP_REGRESSIONS[key]
    except KeyError:
        raise ConfigError(
            f"{where}: regression {key!r} is unknown; use one of {tuple(COP_REGRESSIONS)}."
        ) from None


def _check_correction(correction: object, where: str) -> float:
    try:
        value = float(correction)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    if not (0.0 < value <= 1.0):
        raise ConfigError(f"{where} = {correction!r} must be in (0, 1] (When2Heat uses 0.85).")
    return value


def _finite_temperature(t_c: _ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(t_c, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise DataError(f"{name} contains NaN or infinite values; temperatures must be finite.")
    return arr


def _cop_from_lift(delta_t_k: np.ndarray, reg: CopRegression, correction: float) -> np.ndarray:
    """The regression on arrays: clip the lift to the valid range, evaluate, scale, floor at 1."""
    d = np.minimum(np.maximum(delta_t_k, reg.delta_t_min_k), reg.delta_t_max_k)
    return np.maximum(correction * (reg.c0 + d * (reg.c1_per_k + reg.c2_per_k2 * d)), 1.0)


def _cop_from_lift_scalar(delta_t_k: float, reg: CopRegression, correction: float) -> float:
    """Same as :func:`_cop_from_lift` on a Python float (the scalar step path; ~10x faster)."""
    d = min(max(delta_t_k, reg.delta_t_min_k), reg.delta_t_max_k)
    return max(correction * (reg.c0 + d * (reg.c1_per_k + reg.c2_per_k2 * d)), 1.0)


def heating_curve_sink_c(t_ambient_c: _ArrayLike, emitter: str = "radiator") -> np.ndarray:
    """Supply (sink) temperature of the heating system from the heating curve (When2Heat).

    Args:
        t_ambient_c: Ambient air temperature [°C], any shape.
        emitter: ``"radiator"`` (``40 - 1.0 t``) or ``"floor"`` (``30 - 0.5 t``).

    Returns:
        Sink temperature [°C], same shape as ``t_ambient_c``.

    Raises:
        ConfigError: Unknown emitter.
        DataError: Non-finite temperature.
    """
    _check_emitter(emitter, "heating_curve_sink_c")
    offset_c, slope = HEATING_CURVES[emitter]
    return offset_c + slope * _finite_temperature(t_ambient_c, "t_ambient_c")


def cop(
    t_ambient_c: _ArrayLike,
    t_sink_c: _ArrayLike | None = None,
    emitter: str = "radiator",
    correction: float = DEFAULT_COP_CORRECTION,
    *,
    regression: str = DEFAULT_REGRESSION,
    t_source_c: _ArrayLike | None = None,
) -> np.ndarray:
    """Coefficient of performance from the quadratic lift regression (see the module docstring).

    Args:
        t_ambient_c: Ambient air temperature [°C]; sets the heating curve and, for air-source
            regressions, the source temperature.
        t_sink_c: Sink (supply) temperature [°C]; ``None``: from the heating curve of ``emitter``.
        emitter: Heating curve used when ``t_sink_c`` is ``None``: ``"radiator"`` or ``"floor"``.
        correction: Real-operation factor in (0, 1] (When2Heat: 0.85; 1.0: the bare regression).
        regression: Key of :data:`COP_REGRESSIONS`.
        t_source_c: Source temperature [°C] if not the ambient air (ground-source regressions).

    Returns:
        COP [-] (>= 1), broadcast shape of the temperature inputs.

    Raises:
        ConfigError: Unknown emitter/regression or a correction outside (0, 1].
        DataError: Non-finite temperatures.
    """
    reg = _regression(regression, "cop")
    corr = _check_correction(correction, "cop: correction")
    t_amb = _finite_temperature(t_ambient_c, "t_ambient_c")
    sink = (
        heating_curve_sink_c(t_amb, emitter)
        if t_sink_c is None
        else _finite_temperature(t_sink_c, "t_sink_c")
    )
    source = t_amb if t_source_c is None else _finite_temperature(t_source_c, "t_source_c")
    return _cop_from_lift(sink - source, reg, corr)


def _as_rated_power(value: object) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64, ndmin=1)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"HeatPumpParams.p_rated_el_kw must be a 1-D array of floats, got {value!r}."
        ) from exc
    if arr.ndim != 1:
        raise ConfigError(
            f"HeatPumpParams.p_rated_el_kw must be a 1-D array (empty: no heat pumps), got shape {arr.shape}."
        )
    bad = np.flatnonzero(~(np.isfinite(arr) & (arr > 0.0)))
    if bad.size:
        i = bad[0]
        raise ConfigError(
            f"HeatPumpParams.p_rated_el_kw[{i}] = {arr[i]} must be finite and > 0 [kW]."
        )
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, kw_only=True, eq=False)
class HeatPumpParams:
    """Parameters of ``n`` air-source heat pumps.

    Attributes:
        p_rated_el_kw: ``(n,)`` rated (maximum) electrical power [kW], > 0. Stored read-only.
        emitter: Heat distribution system, one name for all devices or one per device
            (``"radiator"`` or ``"floor"``); sets the heating curve. Stored as a ``str`` or a tuple.
        cop_correction: Real-operation COP factor in (0, 1] (When2Heat: 0.85).
        regression: Key of :data:`COP_REGRESSIONS` (default Staffell et al. 2012, air source).

    Raises:
        ConfigError: Invalid field; the message names the field (and the device index).
    """

    p_rated_el_kw: np.ndarray
    emitter: str | tuple[str, ...] = "radiator"
    cop_correction: float = DEFAULT_COP_CORRECTION
    regression: str = DEFAULT_REGRESSION

    def __post_init__(self) -> None:
        p = _as_rated_power(self.p_rated_el_kw)
        object.__setattr__(self, "p_rated_el_kw", p)
        if isinstance(self.emitter, str):
            _check_emitter(self.emitter, "HeatPumpParams.emitter")
        else:
            emitters = tuple(self.emitter)
            if len(emitters) != p.size:
                raise ConfigError(
                    f"HeatPumpParams.emitter has {len(emitters)} entries for {p.size} devices; "
                    "give one emitter name per device or a single name."
                )
            if not set(emitters) <= set(EMITTERS):  # (fast path: a reset builds these every episode)
                for i, name in enumerate(emitters):
                    _check_emitter(name, f"HeatPumpParams.emitter[{i}]")
            object.__setattr__(self, "emitter", emitters)
        corr = _check_correction(self.cop_correction, "HeatPumpParams.cop_correction")
        object.__setattr__(self, "cop_correction", corr)
        _regression(self.regression, "HeatPumpParams.regression")

    def __reduce__(self):  # re-validate on unpickle/deepcopy (read-only arrays, no stale caches)
        fields = ("p_rated_el_kw", "emitter", "cop_correction", "regression")
        return (_rebuild_heat_pump_params, ({name: getattr(self, name) for name in fields},))

    def __len__(self) -> int:
        return self.n_devices

    @property
    def n_devices(self) -> int:
        """Number of heat pumps ``n``."""
        return int(self.p_rated_el_kw.shape[0])

    @cached_property
    def _emitter_kinds(self) -> tuple[str, ...]:
        """Distinct emitters present, in the order of :data:`EMITTERS`."""
        present = {self.emitter} if isinstance(self.emitter, str) else set(self.emitter)
        return tuple(e for e in EMITTERS if e in present)

    @cached_property
    def _emitter_index(self) -> np.ndarray:
        """``(n,)`` index of each device's emitter into :attr:`_emitter_kinds`."""
        kinds = [self.emitter] * self.n_devices if isinstance(self.emitter, str) else self.emitter
        return np.array([self._emitter_kinds.index(e) for e in kinds], dtype=np.intp)

    @cached_property
    def _kind_curves(self) -> tuple[tuple[float, float], ...]:
        """Heating curve (offset [°C], slope [-]) of each emitter kind, as Python floats."""
        return tuple(HEATING_CURVES[e] for e in self._emitter_kinds)

    @cached_property
    def _emitter_code(self) -> np.ndarray:
        """``(n,)`` index of each device's emitter into :data:`EMITTERS` (read-only)."""
        code = np.array([EMITTERS.index(e) for e in self._emitter_kinds], dtype=np.intp)[self._emitter_index]
        code.setflags(write=False)
        return code

    @cached_property
    def _device_curves(self) -> tuple[np.ndarray, np.ndarray]:
        """Heating-curve offset [°C] and slope [-] per device, shape ``(n,)``."""
        curves = np.array(self._kind_curves)[self._emitter_index]
        return curves[:, 0].copy(), curves[:, 1].copy()


def _rebuild_heat_pump_params(fields: dict[str, object]) -> HeatPumpParams:
    return HeatPumpParams(**fields)


def device_cop(params: HeatPumpParams, t_ambient_c: _ArrayLike) -> np.ndarray | float:
    """COP of every device at the ambient temperature (the step-path COP).

    Args:
        params: Heat-pump parameters (``n`` devices).
        t_ambient_c: Ambient temperature [°C]: a scalar (one weather for the feeder; fast path),
            an ``(n,)`` array, or any array broadcasting against ``(n,)`` (e.g. ``(T, 1)`` for a
            horizon of ``T`` periods, giving ``(T, n)``).

    Returns:
        COP [-]: a float if the temperature is scalar and all devices share one emitter, else an
        array of the broadcast shape.

    Raises:
        DataError: Non-finite temperature.
    """
    reg = COP_REGRESSIONS[params.regression]
    if isinstance(t_ambient_c, (int, float)) or (
        isinstance(t_ambient_c, np.ndarray) and t_ambient_c.ndim == 0
    ):
        t = float(t_ambient_c)
        if not math.isfinite(t):
            raise DataError(f"t_ambient_c = {t} is not finite; temperatures must be finite.")
        per_kind = [
            _cop_from_lift_scalar(offset_c + (slope - 1.0) * t, reg, params.cop_correction)
            for offset_c, slope in params._kind_curves
        ]
        if len(per_kind) == 1:
            return per_kind[0]
        return np.array(per_kind)[params._emitter_index]
    t = _finite_temperature(t_ambient_c, "t_ambient_c")
    d_offs, d_slopes = params._device_curves
    return _cop_from_lift(d_offs + (d_slopes - 1.0) * t, reg, params.cop_correction)


def fleet_cop_series(fleets: Sequence[HeatPumpParams], t_ambient_c: _ArrayLike) -> np.ndarray:
    """COP of every device of ``R`` fleets of ``n`` heat pumps, each over its own temperature series [-].

    The COP of each emitter kind is computed once per temperature and gathered per device: the same
    numbers as :func:`device_cop` on ``t[:, None]`` (an episode's COP table is built at every reset,
    for many episodes at once in the batched environment).

    Args:
        fleets: ``R`` parameter sets with the same number of devices.
        t_ambient_c: ``(R, T)`` ambient temperature of each fleet [°C].

    Returns:
        ``(R, T, n)`` COP.

    Raises:
        ConfigError: Fleets of different sizes, or a temperature array of the wrong shape.
        DataError: Non-finite temperature.
    """
    t = _finite_temperature(t_ambient_c, "t_ambient_c")
    first = fleets[0]
    if t.ndim != 2 or t.shape[0] != len(fleets):
        raise ConfigError(f"t_ambient_c must have shape ({len(fleets)}, T) (one series per fleet), got {t.shape}.")
    if any(f.n_devices != first.n_devices for f in fleets):
        raise ConfigError("fleet_cop_series: every fleet needs the same number of heat pumps.")
    if any(f.regression != first.regression or f.cop_correction != first.cop_correction for f in fleets):
        return np.stack([fleet_cop_series([f], t[i:i + 1])[0] for i, f in enumerate(fleets)])
    reg = COP_REGRESSIONS[first.regression]
    per_kind = _cop_from_lift(_ALL_CURVES[:, 0] + (_ALL_CURVES[:, 1] - 1.0) * t[:, :, None], reg, first.cop_correction)
    codes = np.stack([f._emitter_code for f in fleets])
    return np.take_along_axis(per_kind, codes[:, None, :], axis=2)


def heat_output_kw(
    params: HeatPumpParams, p_el_kw: _ArrayLike, t_ambient_c: _ArrayLike
) -> np.ndarray:
    """Heat delivered to the building, ``COP * p_el`` [kW].

    Args:
        params: Heat-pump parameters.
        p_el_kw: Electrical power [kW], ``(n,)`` (already within limits: see :func:`clip_power`).
        t_ambient_c: Ambient temperature [°C] (see :func:`device_cop`).

    Returns:
        Heat output [kW], ``(n,)`` (or the broadcast shape).
    """
    return device_cop(params, t_ambient_c) * np.asarray(p_el_kw, dtype=np.float64)


def electric_power_for_heat_kw(
    params: HeatPumpParams, heat_kw: _ArrayLike, t_ambient_c: _ArrayLike
) -> np.ndarray:
    """Electrical power needed for a heat output, ``heat / COP`` [kW] (not limited to the rating).

    Args:
        params: Heat-pump parameters.
        heat_kw: Heat output [kW], ``(n,)`` or broadcasting against it.
        t_ambient_c: Ambient temperature [°C] (see :func:`device_cop`).

    Returns:
        Electrical power [kW]; compare with ``params.p_rated_el_kw`` or pass to :func:`clip_power`.
    """
    return np.asarray(heat_kw, dtype=np.float64) / device_cop(params, t_ambient_c)


def clip_power(params: HeatPumpParams, p_el_set_kw: _ArrayLike) -> np.ndarray:
    """Clip electrical setpoints into ``[0, p_rated_el_kw]`` (no minimum modulation level).

    Clipping an out-of-range setpoint is documented behaviour (e.g. an RL action); a NaN setpoint
    is an error.

    Args:
        params: Heat-pump parameters.
        p_el_set_kw: ``(n,)`` electrical power setpoints [kW].

    Returns:
        ``(n,)`` feasible electrical power [kW] (a new array).

    Raises:
        ConfigError: A setpoint is NaN.
    """
    p = np.asarray(p_el_set_kw, dtype=np.float64)
    if math.isnan(np.minimum.reduce(p, axis=None)):
        raise ConfigError(
            f"clip_power: p_el_set_kw contains NaN at device(s) {np.flatnonzero(np.isnan(p))[:5]}."
        )
    return np.minimum(np.maximum(p, 0.0), params.p_rated_el_kw)


def size_heat_pump(
    design_heat_load_kw: _ArrayLike,
    t_design_c: float = -12.0,
    emitter: str = "radiator",
    oversize: float = 1.0,
    *,
    cop_correction: float = DEFAULT_COP_CORRECTION,
    regression: str = DEFAULT_REGRESSION,
) -> np.ndarray:
    """Rated electrical power so that the heat output at the design temperature covers the load.

    ``p_rated_el_kw = oversize * design_heat_load_kw / COP(t_design_c)`` (monovalent operation), so
    ``heat_output_kw(params, p_rated_el_kw, t_design_c) == oversize * design_heat_load_kw``.

    Args:
        design_heat_load_kw: ``(n,)`` design heat load [kW], > 0, e.g. ``UA * (20 - t_design_c)``
            from the building model (DIN EN 12831 style, no internal/solar gains).
        t_design_c: Design (norm) outdoor temperature [°C]; -12 °C is typical for central Germany
            (DIN/TS 12831-1: about -10 to -16 °C at most German locations).
        emitter: ``"radiator"`` or ``"floor"``, as in :class:`HeatPumpParams`.
        oversize: Factor >= 1 applied to the design load (1.0: exact cover).
        cop_correction: COP correction factor, as in :class:`HeatPumpParams`.
        regression: COP regression key, as in :class:`HeatPumpParams`.

    Returns:
        ``(n,)`` rated electrical power [kW].

    Raises:
        ConfigError: Non-positive or non-finite load, ``oversize < 1``, unknown emitter/regression.
    """
    load = np.array(design_heat_load_kw, dtype=np.float64, ndmin=1)
    bad = np.flatnonzero(~(np.isfinite(load) & (load > 0.0)))
    if bad.size:
        i = bad[0]
        raise ConfigError(f"size_heat_pump: design_heat_load_kw[{i}] = {load[i]} must be > 0 [kW].")
    if not (math.isfinite(oversize) and oversize >= 1.0):
        raise ConfigError(f"size_heat_pump: oversize = {oversize} must be >= 1.")
    if not math.isfinite(t_design_c):
        raise ConfigError(f"size_heat_pump: t_design_c = {t_design_c} must be finite [°C].")
    c = cop(t_design_c, emitter=emitter, correction=cop_correction, regression=regression)
    return oversize * load / c
