"""Fit the 3R2C parameters of one house to measured indoor temperatures (output-error method).

The indoor-air temperature is simulated over the whole record with the exact zero-order-hold model
of :mod:`thermogrid_env.physics.building` and the measured inputs, and the squared simulation error
is minimised with :func:`scipy.optimize.least_squares` over the log-parameters (which keeps every R
and C positive) and the two initial states (the envelope temperature is never measured). This is
the maximum-likelihood estimate when the model structure is right and only the indoor sensor is
noisy (white measurement noise, no process noise).

Data convention: row ``k`` holds the indoor temperature measured at time ``k dt`` and the inputs
held constant over ``[k dt, (k + 1) dt)``; the inputs of the last row are not used.

Limits, stated honestly (numbers from fits to simulated data, see ``tests/physics/test_calibration.py``):

* Only ``t_i`` is measured. The model is then identifiable (generically) only if the heat input
  and the ambient temperature vary *independently*: with ``q_hp`` constant the scale of all R and C
  is lost (R x k, C / k gives the same ``t_a -> t_i`` response); with ``t_a`` constant the split
  between ``r_ia`` and the ``r_ie + r_ea`` path is lost (both rejected up front); a heat input that
  only follows a heating curve of ``t_a`` (no thermostat cycling) leaves the Jacobian numerically
  rank-deficient (rejected after the fit, with the parameters involved).
* What is well determined: ``c_i``, ``c_e``, ``r_ie`` and the total heat-loss coefficient UA
  (errors < 1-2 % for two weeks of 15-min data with on/off heating and 0.05-0.1 K sensor noise).
  The least certain are the split of UA into ``r_ia`` versus ``r_ea`` and the aperture ``a_i``:
  on one week with 0.1 K noise ``r_ia`` was off by 10-20 % at 15-min and 30-50 % at hourly
  sampling, where the fast mode ``~ c_i r_ie`` (20-40 min) is no longer resolved and ``c_i`` too
  degrades to 5-20 %. The slow mode (``~ c_e (r_ie + r_ea)``, 1-4 days) needs a week or more.
* The standard errors (:attr:`CalibrationResult.std_errors`) matched the actual errors in those
  tests; they assume white residuals and are optimistic when residuals are correlated, e.g. from
  unmodelled heat (occupants, cooking, open windows) that is not in ``q_int_kw`` and biases the fit.
* The solar aperture needs irradiance; with ``g_sol = 0`` pass ``fit_aperture=False`` (the Jacobian
  check rejects the fit otherwise).
* The fit is local (trust-region reflective from ``initial``), with each R, C and ``a_i`` bounded to
  three decades either way of its start. Start from a house type close to the building if known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.signal

from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.physics.building import PARAM_FIELDS, BuildingParams, discretize, house_types

REQUIRED_COLUMNS: tuple[str, ...] = ("t_indoor_c", "t_ambient_c", "q_hp_kw", "g_sol_w_per_m2")
"""Columns ``calibrate`` needs; ``q_int_kw`` (internal gains [kW]) is optional (default 0)."""

MIN_DURATION_H = 48.0
"""Shortest record accepted [h]; a week or more is recommended (slow envelope mode)."""

MIN_SAMPLES = 48
"""Fewest samples accepted."""

RCOND_MIN = 1e-5
"""Smallest accepted ratio of the extreme singular values of the column-normalised Jacobian
(well-posed records give ~5e-3; a heat input locked to the ambient temperature ~2e-7)."""

_SEARCH_DECADES = 3.0  # each R, C (and a_i) may move 10**3 either way from its start
_STATE_NAMES = ("t_indoor0_c", "t_envelope0_c")


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of :func:`calibrate`.

    Attributes:
        params: Fitted parameters of the one house.
        rmse_k: Root-mean-square simulation error of the indoor temperature [K].
        residuals_k: ``(T,)`` simulated minus measured indoor temperature [K].
        std_errors: Approximate standard error of each fitted quantity, in its own unit (the
            :data:`PARAM_FIELDS` names, plus ``t_indoor0_c`` and ``t_envelope0_c``), from the
            Jacobian at the optimum (delta method on the log-parameters). Fixed ones are absent.
        t_indoor0_c: Estimated initial indoor temperature [°C].
        t_envelope0_c: Estimated initial envelope temperature [°C].
        success: Whether the optimizer converged with no parameter at its search bound.
        message: The optimizer's message (plus any parameter stuck at a bound).
        n_evaluations: Number of model simulations (residual evaluations).
    """

    params: BuildingParams
    rmse_k: float
    residuals_k: np.ndarray
    std_errors: Mapping[str, float]
    t_indoor0_c: float
    t_envelope0_c: float
    success: bool
    message: str
    n_evaluations: int

    @property
    def relative_std_errors(self) -> dict[str, float]:
        """Standard errors of the fitted R, C and a_i relative to their values [-]."""
        return {
            k: v / float(getattr(self.params, k)[0]) for k, v in self.std_errors.items() if k in PARAM_FIELDS
        }


def _inputs_and_output(measurements: pd.DataFrame, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(T, 4)`` inputs in building ``INPUT_NAMES`` order and ``(T,)`` indoor temperature."""
    if not isinstance(measurements, pd.DataFrame):
        raise DataError(f"measurements must be a pandas DataFrame, got {type(measurements).__name__}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in measurements.columns]
    if missing:
        raise DataError(f"measurements lack columns {missing}; need {list(REQUIRED_COLUMNS)} "
                        "(+ optional q_int_kw).")
    if not isinstance(dt_s, (int, float, np.number)) or not np.isfinite(dt_s) or dt_s <= 0:
        raise ConfigError(f"dt_s must be finite and > 0 seconds, got {dt_s!r}.")
    n = len(measurements)
    if n < MIN_SAMPLES or n * dt_s / 3600.0 < MIN_DURATION_H:
        raise DataError(
            f"measurements too short to identify the model: {n} samples of {dt_s:g} s "
            f"({n * dt_s / 3600.0:.1f} h); need >= {MIN_SAMPLES} samples and >= {MIN_DURATION_H:g} h."
        )
    if isinstance(measurements.index, pd.DatetimeIndex):
        steps_s = np.diff(measurements.index.asi8) / 1e9
        if not np.allclose(steps_s, dt_s):
            raise DataError(f"measurements are not sampled uniformly every dt_s = {dt_s:g} s (index steps "
                            f"range {steps_s.min():g}-{steps_s.max():g} s); resample first.")
    frame = measurements[["t_indoor_c", "t_ambient_c", "q_hp_kw"]].copy()
    frame["q_int_kw"] = measurements["q_int_kw"] if "q_int_kw" in measurements.columns else 0.0
    frame["g_sol_w_per_m2"] = measurements["g_sol_w_per_m2"]  # now in building INPUT_NAMES order
    try:
        values = frame.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"measurements columns {list(frame.columns)} must be numeric: {exc}") from exc
    bad_rows, bad_cols = np.nonzero(~np.isfinite(values))
    if bad_rows.size:
        raise DataError(f"measurements contain {bad_rows.size} NaN/inf value(s), first in column "
                        f"{frame.columns[bad_cols[0]]!r} at row {measurements.index[bad_rows[0]]!r}; "
                        "fill or drop them (the model needs an unbroken uniform record).")
    for col in ("t_ambient_c", "q_hp_kw"):
        if np.ptp(frame[col].to_numpy()[:-1]) < 1e-9:
            raise DataError(f"Column {col!r} is constant: the model cannot be identified without varying "
                            "heat input and ambient temperature (see the module docstring).")
    return values[:, 1:], values[:, 0]


def simulate_indoor_c(params: BuildingParams, inputs: np.ndarray, dt_s: float, t_indoor0_c: float,
                      t_envelope0_c: float) -> np.ndarray:
    """Simulated indoor temperature of one house from inputs ``(T, 4)`` (``INPUT_NAMES`` order) [°C].

    Same result as ``discretize(params, dt_s).simulate`` but as one 2nd-order IIR filter (fast for
    long records): ``y`` obeys ``y_k = tr(A_d) y_{k-1} - det(A_d) y_{k-2} + ...`` and the initial
    state enters as the first two filter inputs.

    Returns:
        ``(T,)`` indoor temperatures at times ``0, dt, ..., (T - 1) dt``, the first being ``t_indoor0_c``.
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    if params.n_houses != 1 or inputs.ndim != 2 or inputs.shape[1] != 4 or inputs.shape[0] < 2:
        raise ConfigError(f"simulate_indoor_c: need one house and inputs (T >= 2, 4); got "
                          f"{params.n_houses} houses and inputs {inputs.shape}.")
    model = discretize(params, dt_s)
    (a11, a12), (a21, a22) = model.a_d[0]
    b1, b2 = model.b_d[0]
    w1 = inputs @ b1  # c adj(zI - A) B u = (z - a22) b1 u + a12 b2 u
    w2 = inputs @ (a12 * b2 - a22 * b1)
    den = np.array([1.0, -(a11 + a22), a11 * a22 - a12 * a21])
    r = np.empty(len(inputs))  # filter input: initial state, then inputs delayed by one step
    r[0] = t_indoor0_c
    r[1] = a11 * t_indoor0_c + a12 * t_envelope0_c + den[1] * t_indoor0_c + w1[0]
    r[2:] = w1[1:-1] + w2[:-2]
    return scipy.signal.lfilter([1.0], den, r)


def _default_initial() -> BuildingParams:
    table = house_types()
    return BuildingParams(**{f: float(table[f].median()) for f in PARAM_FIELDS})


def calibrate(measurements: pd.DataFrame, dt_s: float, initial: BuildingParams | None = None,
              fit_aperture: bool = True) -> CalibrationResult:
    """Fit ``c_i, c_e, r_ie, r_ea, r_ia`` (and ``a_i``) of one house by nonlinear least squares.

    Args:
        measurements: Uniformly sampled record with columns ``t_indoor_c`` [°C], ``t_ambient_c``
            [°C], ``q_hp_kw`` (heat delivered to the house) [kW], ``g_sol_w_per_m2`` (global
            horizontal irradiance) [W/m²] and optionally ``q_int_kw`` [kW]. See the module
            docstring for the row convention.
        dt_s: Sampling interval [s].
        initial: Starting point (one house); default: the median of the shipped house types.
        fit_aperture: Fit ``a_i``; if ``False`` it stays at the starting value.

    Returns:
        The fit, its RMSE, residuals and standard errors.

    Raises:
        DataError: Missing columns, NaN/inf, non-uniform sampling, too short a record, constant
            ``t_ambient_c`` or ``q_hp_kw``, or a rank-deficient Jacobian at the optimum (names the
            parameters that the data cannot separate).
        ConfigError: ``initial`` is not a single house or ``dt_s`` is invalid.
    """
    inputs, t_meas = _inputs_and_output(measurements, dt_s)
    start = _default_initial() if initial is None else initial
    if start.n_houses != 1:
        raise ConfigError(f"calibrate fits one house; `initial` holds {start.n_houses}.")
    fitted = [f for f in PARAM_FIELDS if fit_aperture or f != "a_i_m2"]
    p0 = {f: float(getattr(start, f)[0]) for f in PARAM_FIELDS}
    if fit_aperture and p0["a_i_m2"] <= 0.0:
        p0["a_i_m2"] = 1.0
    log0 = np.log([p0[f] for f in fitted])
    # Start the envelope between indoor and ambient as in steady state.
    w_ie, w_ea = 1.0 / p0["r_ie_k_per_kw"], 1.0 / p0["r_ea_k_per_kw"]
    t_e0 = (w_ie * t_meas[0] + w_ea * inputs[0, 0]) / (w_ie + w_ea)
    theta0 = np.concatenate([log0, [t_meas[0], t_e0]])
    span = _SEARCH_DECADES * np.log(10.0)
    lower = np.concatenate([log0 - span, [-np.inf, -np.inf]])
    upper = np.concatenate([log0 + span, [np.inf, np.inf]])

    def unpack(theta: np.ndarray) -> BuildingParams:
        values = dict(p0)
        values.update(zip(fitted, np.exp(theta[: len(fitted)])))
        return BuildingParams(**values)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return simulate_indoor_c(unpack(theta), inputs, dt_s, theta[-2], theta[-1]) - t_meas

    sol = scipy.optimize.least_squares(residuals, theta0, bounds=(lower, upper), method="trf",
                                       x_scale="jac", xtol=1e-12, ftol=1e-12, gtol=1e-10, max_nfev=2000)
    names = [*fitted, *_STATE_NAMES]
    _check_rank(sol.jac, names)
    params = unpack(sol.x)
    res = sol.fun
    dof = max(len(res) - len(names), 1)
    cov = (2.0 * sol.cost / dof) * np.linalg.pinv(sol.jac.T @ sol.jac)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    scale = np.concatenate([np.exp(sol.x[: len(fitted)]), [1.0, 1.0]])  # d p = p d log p
    at_bound = [name for name, active in zip(names, sol.active_mask) if active]
    message = str(sol.message) + (f" Parameters at their search bound: {at_bound}." if at_bound else "")
    return CalibrationResult(
        params=params,
        rmse_k=float(np.sqrt(np.mean(res**2))),
        residuals_k=np.asarray(res).copy(),
        std_errors=MappingProxyType(dict(zip(names, (scale * se).tolist()))),
        t_indoor0_c=float(sol.x[-2]),
        t_envelope0_c=float(sol.x[-1]),
        success=bool(sol.success) and not at_bound,
        message=message,
        n_evaluations=int(sol.nfev),
    )


def _check_rank(jac: np.ndarray, names: list[str]) -> None:
    """Raise ``DataError`` if the data cannot separate the parameters (Jacobian rank-deficient)."""
    norms = np.linalg.norm(jac, axis=0)
    dead = [n for n, v in zip(names, norms) if not v > 1e-12 * max(norms.max(), 1e-300)]
    if dead:
        hint = " (no irradiance? pass fit_aperture=False)" if "a_i_m2" in dead else ""
        raise DataError(f"The data carry no information on {dead}{hint}: the Jacobian is rank-deficient.")
    _, sv, vt = np.linalg.svd(jac / norms, full_matrices=False)
    if sv[-1] < RCOND_MIN * sv[0]:
        direction = vt[-1]
        involved = [names[i] for i in np.argsort(-np.abs(direction)) if abs(direction[i]) > 0.2]
        raise DataError(f"The data cannot separate {involved} (Jacobian rank-deficient, singular-value "
                        f"ratio {sv[-1] / sv[0]:.1e} < {RCOND_MIN:g}); use a longer or more varied record.")


__all__ = ["MIN_DURATION_H", "MIN_SAMPLES", "REQUIRED_COLUMNS", "CalibrationResult", "calibrate",
           "simulate_indoor_c"]  # fmt: skip
