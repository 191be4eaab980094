"""3R2C grey-box thermal model of a house (Sperber, Frey & Bertsch, 2020), batched over houses.

Two states per house, the indoor-air temperature ``t_i`` and the envelope/thermal-mass temperature
``t_e`` [°C], linked by three resistances and two capacities (time ``t`` in hours)::

    c_i dt_i/dt = (t_e - t_i)/r_ie + (t_a - t_i)/r_ia + q_hp + q_int + a_i g_sol / 1000
    c_e dt_e/dt = (t_i - t_e)/r_ie + (t_a - t_e)/r_ea

with capacities in kWh/K, resistances in K/kW, heat in kW, the ambient temperature ``t_a`` [°C] and
the global horizontal irradiance ``g_sol`` [W/m²] on the effective solar aperture ``a_i`` [m²].

The model is discretised exactly for piecewise-constant (zero-order-hold) inputs, in closed form
through the symmetric eigen-decomposition of the 2x2 system (:func:`discretize`), accurate for any
step length::

    x_{k+1} = A_d x_k + B_d u_k,      x = [t_i_c, t_e_c],
    u = [t_a_c, q_hp_kw, q_int_kw, g_sol_w_per_m2]          (:data:`INPUT_NAMES`).

The same decomposition yields the mean state over the step, ``x_mean = A_mean x_k + B_mean u_k``,
so step energies (losses, comfort integrals) are exact too. The simulator and the SOCP oracle use
the very same ``a_d``/``b_d`` arrays of :class:`BuildingModel`.

Parameters of 9 German single-family house types x 3 renovation levels ship with the package
(:func:`house_types`); fit your own with :mod:`thermogrid_env.physics.calibration`.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from thermogrid_env.datasets import load_house_types
from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.physics.trusted import from_trusted

PARAM_FIELDS: tuple[str, ...] = (
    "c_i_kwh_per_k", "c_e_kwh_per_k", "r_ie_k_per_kw", "r_ea_k_per_kw", "r_ia_k_per_kw", "a_i_m2",
)  # fmt: skip
"""Names of the :class:`BuildingParams` fields, in a fixed order (also the table column names)."""

STATE_NAMES: tuple[str, str] = ("t_i_c", "t_e_c")
"""Order of the state vector ``x``: indoor air, envelope [°C]."""

INPUT_NAMES: tuple[str, str, str, str] = ("t_a_c", "q_hp_kw", "q_int_kw", "g_sol_w_per_m2")
"""Order of the input vector ``u`` (last axis of ``b_d``): ambient [°C], heat-pump heat [kW],
internal gains [kW], global horizontal irradiance [W/m²]."""

_S_PER_H = 3600.0
_Arr = np.ndarray | float  # an (n,) array or a scalar broadcast to all houses


def _as_param_array(name: str, value: object) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"BuildingParams.{name} must be a float or a 1-D float array, got {value!r}."
        raise ConfigError(msg) from exc
    if arr.ndim > 1:
        raise ConfigError(f"BuildingParams.{name} must be a float or a 1-D array, got shape {arr.shape}.")
    return arr


@dataclass(frozen=True, kw_only=True, eq=False)
class BuildingParams:
    """3R2C parameters of ``n`` houses; every field is stored as a read-only float64 ``(n,)`` array.

    Scalars broadcast to the length of the array-valued fields (all scalars: one house).

    Attributes:
        c_i_kwh_per_k: Heat capacity of the indoor air and furniture node [kWh/K], > 0.
        c_e_kwh_per_k: Heat capacity of the envelope/thermal-mass node [kWh/K], > 0.
        r_ie_k_per_kw: Resistance between interior and envelope [K/kW], > 0.
        r_ea_k_per_kw: Resistance between envelope and ambient [K/kW], > 0.
        r_ia_k_per_kw: Resistance between interior and ambient (windows, infiltration) [K/kW], > 0.
        a_i_m2: Effective solar aperture onto the interior node [m²], >= 0.

    Raises:
        ConfigError: A value is not finite, a resistance or capacity is not positive, the aperture
            is negative, or the array lengths differ; the message names the field and house index.
    """

    c_i_kwh_per_k: _Arr
    c_e_kwh_per_k: _Arr
    r_ie_k_per_kw: _Arr
    r_ea_k_per_kw: _Arr
    r_ia_k_per_kw: _Arr
    a_i_m2: _Arr = 0.0

    def __post_init__(self) -> None:
        arrays = {name: _as_param_array(name, getattr(self, name)) for name in PARAM_FIELDS}
        lengths = {name: a.shape[0] for name, a in arrays.items() if a.ndim == 1}
        if len(set(lengths.values())) > 1:
            raise ConfigError(f"BuildingParams fields have mismatched lengths: {lengths}.")
        n = next(iter(lengths.values()), 1)  # empty arrays: no houses (an empty group)
        for name, arr in arrays.items():
            arr = np.array(np.broadcast_to(arr, (n,)), dtype=np.float64)  # own, writable copy
            finite = np.isfinite(arr)
            if not finite.all():
                bad = np.flatnonzero(~finite)
                raise ConfigError(f"BuildingParams.{name}[{bad[0]}] = {arr[bad[0]]} is not finite.")
            lower_ok = arr >= 0.0 if name == "a_i_m2" else arr > 0.0
            if not lower_ok.all():
                bad = np.flatnonzero(~lower_ok)
                bound = ">= 0" if name == "a_i_m2" else "> 0"
                raise ConfigError(f"BuildingParams.{name}[{bad[0]}] = {arr[bad[0]]} must be {bound}.")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __reduce__(self):  # keep the read-only, validated arrays through pickle/deepcopy
        return (_rebuild_params, ({f: getattr(self, f) for f in PARAM_FIELDS},))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BuildingParams):
            return NotImplemented
        return all(np.array_equal(getattr(self, f), getattr(other, f)) for f in PARAM_FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking array contents: not hashable

    def __len__(self) -> int:
        return self.n_houses

    def __getitem__(self, idx: int | slice | Sequence[int] | np.ndarray) -> BuildingParams:
        """Subset of houses (an int keeps a 1-house batch)."""
        return BuildingParams(**{f: np.atleast_1d(getattr(self, f)[idx]) for f in PARAM_FIELDS})

    @property
    def n_houses(self) -> int:
        """Number of houses ``n``."""
        return int(self.c_i_kwh_per_k.shape[0])  # type: ignore[union-attr]

    @property
    def heat_loss_coefficient_kw_per_k(self) -> np.ndarray:
        """Total steady-state heat-loss coefficient UA = 1/r_ia + 1/(r_ie + r_ea) [kW/K], ``(n,)``."""
        return 1.0 / self.r_ia_k_per_kw + 1.0 / (self.r_ie_k_per_kw + self.r_ea_k_per_kw)

    def design_heat_load_kw(self, t_design_c: float = -12.0, t_indoor_c: float = 20.0) -> np.ndarray:
        """Steady-state heat load at the design ambient temperature, without gains [kW], ``(n,)``."""
        return self.heat_loss_coefficient_kw_per_k * (t_indoor_c - t_design_c)

    @classmethod
    def from_table(cls, rows: pd.DataFrame) -> BuildingParams:
        """Parameters from a table with one row per house and the :data:`PARAM_FIELDS` columns.

        Raises:
            DataError: A column is missing.
            ConfigError: A value is invalid (see the class).
        """
        missing = [f for f in PARAM_FIELDS if f not in rows.columns]
        if missing:
            raise DataError(f"House parameter table lacks columns {missing}; it needs {list(PARAM_FIELDS)}.")
        return cls(**{f: rows[f].to_numpy(dtype=np.float64) for f in PARAM_FIELDS})

    @classmethod
    def concat(cls, parts: Sequence[BuildingParams]) -> BuildingParams:
        """Stack several batches of houses into one, in order."""
        if not parts:
            raise ConfigError("BuildingParams.concat needs at least one BuildingParams.")
        return cls(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in PARAM_FIELDS})


def _rebuild_params(values: dict[str, np.ndarray]) -> BuildingParams:
    return BuildingParams(**values)


# --------------------------------------------------------------------------- shipped house types


def house_types() -> pd.DataFrame:
    """The shipped house types (Sperber, Frey & Bertsch 2020) with a ``house_type`` id column.

    Returns:
        27 rows (9 types x 3 renovation levels: 1 existing, 2 usual, 3 advanced refurbishment).
        Columns: ``house_type`` (e.g. ``"1973.5-158m2-r1"``: year of construction, heated floor
        area, renovation level), ``year_of_construction``, ``floor_area_m2``, ``renovation_level``
        and the :data:`PARAM_FIELDS`.
    """
    return _house_types_table().copy()


@lru_cache(maxsize=1)
def _house_types_table() -> pd.DataFrame:
    table = load_house_types()
    cols = (table["year_of_construction"], table["floor_area_m2"], table["renovation_level"])
    ids = [f"{y:g}-{a:g}m2-r{int(r)}" for y, a, r in zip(*cols)]
    table.insert(0, "house_type", ids)
    return table


def params_for_house_type(type_ids: str | Sequence[str] | np.ndarray) -> BuildingParams:
    """Parameters of the given shipped house types, in the given order (repeats allowed).

    Raises:
        ConfigError: An id is unknown; the message lists the valid ones.
    """
    ids = [type_ids] if isinstance(type_ids, str) else [str(t) for t in type_ids]
    table = house_types().set_index("house_type")
    unknown = sorted(set(ids) - set(table.index))
    if unknown:
        raise ConfigError(f"Unknown house type(s) {unknown}; valid ids are {list(table.index)}.")
    return BuildingParams.from_table(table.loc[ids])


def sample_house_type_index(rng: np.random.Generator, n: int, renovation_levels: Sequence[int] = (1, 2, 3),
                            weights: Sequence[float] | None = None) -> np.ndarray:
    """Draw ``n`` shipped house types as indices into :func:`candidate_house_types` of the levels.

    The draw behind :func:`sample_house_params` (the same use of ``rng``), for callers that gather
    per-type data themselves (the community sampler at every environment reset).

    Args:
        rng: The only source of randomness.
        n: Number of houses, >= 1.
        renovation_levels: Renovation levels to draw from (subset of 1, 2, 3).
        weights: Relative draw weights aligned with :func:`candidate_house_types` of the levels.
            ``None``: uniform.

    Returns:
        ``(n,)`` int indices.

    Raises:
        ConfigError: ``n < 1``, no type left, or invalid weights.
    """
    if int(n) != n or n < 1:
        raise ConfigError(f"sample_house_params: n must be a positive integer, got {n!r}.")
    ids = candidate_house_types(renovation_levels)
    if not ids.size:
        raise ConfigError(f"No house type has renovation level in {list(renovation_levels)}; use 1, 2, 3.")
    if weights is None:
        return rng.choice(ids.size, size=int(n), p=_uniform_weights(ids.size))
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (ids.size,):
        raise ConfigError(f"weights must have {ids.size} entries (one per candidate type), got {w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ConfigError("weights must be finite, non-negative and not all zero.")
    return rng.choice(ids.size, size=int(n), p=w / w.sum())


@lru_cache(maxsize=8)
def _uniform_weights(k: int) -> np.ndarray:
    p = np.ones(k) / float(k)  # the same numbers as ones(k) / ones(k).sum()
    p.setflags(write=False)
    return p


def candidate_house_types(renovation_levels: Sequence[int] = (1, 2, 3)) -> np.ndarray:
    """``(k,)`` ids of the shipped house types of the given renovation levels, in table order."""
    return _candidates(tuple(int(r) for r in renovation_levels))[1]


def sample_house_params(rng: np.random.Generator, n: int, renovation_levels: Sequence[int] = (1, 2, 3),
                        weights: Sequence[float] | None = None) -> tuple[BuildingParams, np.ndarray]:
    """Draw ``n`` houses from the shipped house types.

    Args:
        rng: The only source of randomness.
        n: Number of houses, >= 1.
        renovation_levels: Renovation levels to draw from (subset of 1, 2, 3).
        weights: Relative draw weights aligned with the rows of :func:`house_types` restricted to
            ``renovation_levels`` (table order). ``None``: uniform.

    Returns:
        The parameters and the ``(n,)`` array of drawn house-type ids.

    Raises:
        ConfigError: ``n < 1``, no type left, or invalid weights.
    """
    idx = sample_house_type_index(rng, n, renovation_levels, weights)
    columns, ids = _candidates(tuple(int(r) for r in renovation_levels))
    return _trusted_params({f: columns[f][idx] for f in PARAM_FIELDS}), ids[idx]


def _trusted_params(arrays: dict[str, np.ndarray]) -> BuildingParams:
    """Parameters from ``(n,)`` float64 arrays that are rows of the validated table (no new checks)."""
    return from_trusted(BuildingParams, **{f: arrays[f] for f in PARAM_FIELDS})


def discretize_house_types(type_ids: Sequence[str], dt_s: float) -> BuildingModel:
    """The ZOH model of shipped house types, from one cached discretisation of the whole table per step.

    Equal, number for number, to ``discretize(params_for_house_type(type_ids), dt_s)`` (each house's
    matrices are computed on their own either way); used at every environment reset.

    Raises:
        ConfigError: An unknown type id.
    """
    table_model, index = _type_models(float(dt_s))
    try:
        rows = np.array([index[str(t)] for t in type_ids], dtype=np.int64)
    except KeyError as exc:
        raise ConfigError(f"Unknown house type {exc.args[0]!r}.") from None
    return table_model.take(rows)


@lru_cache(maxsize=8)
def _type_models(dt_s: float) -> tuple[BuildingModel, dict[str, int]]:
    table = _house_types_table()
    model = discretize(BuildingParams.from_table(table), dt_s)
    return model, {t: i for i, t in enumerate(table["house_type"])}


@lru_cache(maxsize=8)
def _candidates(levels: tuple[int, ...]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The house types of the given renovation levels (table order) as numpy columns and their ids
    (a cache: sampling runs at every environment reset)."""
    table = _house_types_table()
    sub = table[table["renovation_level"].isin(list(levels))].reset_index(drop=True)
    columns = {f: sub[f].to_numpy(dtype=np.float64) for f in PARAM_FIELDS}
    for arr in columns.values():
        arr.setflags(write=False)
    return columns, sub["house_type"].to_numpy()


# --------------------------------------------------------------------------- continuous model


def continuous_matrices(params: BuildingParams) -> tuple[np.ndarray, np.ndarray]:
    """Continuous-time matrices ``dx/dt = A x + B u`` with time in **hours**.

    Returns:
        ``A`` of shape ``(n, 2, 2)`` [1/h] and ``B`` of shape ``(n, 2, 4)`` (inputs in
        :data:`INPUT_NAMES` order).
    """
    ci, ce = params.c_i_kwh_per_k, params.c_e_kwh_per_k
    g_ie, g_ea, g_ia = 1.0 / params.r_ie_k_per_kw, 1.0 / params.r_ea_k_per_kw, 1.0 / params.r_ia_k_per_kw
    n = params.n_houses
    a = np.empty((n, 2, 2))
    a[:, 0, 0] = -(g_ie + g_ia) / ci
    a[:, 0, 1] = g_ie / ci
    a[:, 1, 0] = g_ie / ce
    a[:, 1, 1] = -(g_ie + g_ea) / ce
    b = np.zeros((n, 2, 4))
    b[:, 0, 0] = g_ia / ci
    b[:, 0, 1] = b[:, 0, 2] = 1.0 / ci
    b[:, 0, 3] = params.a_i_m2 / (1000.0 * ci)
    b[:, 1, 0] = g_ea / ce
    return a, b


class HeatFlows(NamedTuple):
    """Heat flows [kW], each ``(n,)``: interior -> envelope ``q_ie_kw``, interior -> ambient
    (windows, infiltration) ``q_ia_kw``, envelope -> ambient ``q_ea_kw``."""

    q_ie_kw: np.ndarray
    q_ia_kw: np.ndarray
    q_ea_kw: np.ndarray

    @property
    def loss_kw(self) -> np.ndarray:
        """Total loss to ambient ``q_ia + q_ea`` [kW]."""
        return self.q_ia_kw + self.q_ea_kw


def heat_flows_kw(params: BuildingParams, t_i_c: _Arr, t_e_c: _Arr, t_a_c: _Arr) -> HeatFlows:
    """Heat flows through the three resistances at the given temperatures [kW]."""
    return HeatFlows(
        q_ie_kw=(np.asarray(t_i_c) - t_e_c) / params.r_ie_k_per_kw,
        q_ia_kw=(np.asarray(t_i_c) - t_a_c) / params.r_ia_k_per_kw,
        q_ea_kw=(np.asarray(t_e_c) - t_a_c) / params.r_ea_k_per_kw,
    )


def steady_state_heat_kw(params: BuildingParams, t_indoor_c: _Arr, t_a_c: _Arr, q_int_kw: _Arr = 0.0,
                         g_sol_w_per_m2: _Arr = 0.0) -> np.ndarray:
    """Heat input that holds ``t_i`` at ``t_indoor_c`` in steady state [kW], ``(n,)``.

    ``UA (t_indoor - t_a) - q_int - a_i g_sol / 1000``; a negative value means the gains exceed the
    losses (no heating needed, the house would overheat). Not clipped.
    """
    ua = params.heat_loss_coefficient_kw_per_k
    solar_kw = params.a_i_m2 * np.asarray(g_sol_w_per_m2) / 1000.0
    return ua * (np.asarray(t_indoor_c) - t_a_c) - q_int_kw - solar_kw


# --------------------------------------------------------------------------- discrete model


def _flat_coefficients(a: np.ndarray, b: np.ndarray, a_i_m2: np.ndarray) -> tuple[np.ndarray, ...]:
    """Contiguous ``(n,)`` coefficient rows for :func:`_apply`.

    ``q_hp``, ``q_int`` and the solar gain ``a_i g / 1000`` all enter the interior node, so their
    columns of ``b`` are proportional: one combined heat input ``q`` replaces three columns.
    """
    rows = (a[:, 0, 0], a[:, 0, 1], a[:, 1, 0], a[:, 1, 1], b[:, 0, 0], b[:, 0, 1], b[:, 1, 0], b[:, 1, 1])
    out = tuple(np.ascontiguousarray(r) for r in rows) + (a_i_m2 / 1000.0,)
    for r in out:
        r.setflags(write=False)
    return out


def _apply(coef: tuple[np.ndarray, ...], t_i, t_e, t_a, q_hp, q_int, g) -> tuple[np.ndarray, np.ndarray]:
    a11, a12, a21, a22, b1a, b1q, b2a, b2q, a_i_kw_per_w = coef
    q = q_hp + q_int + a_i_kw_per_w * g
    return a11 * t_i + a12 * t_e + b1a * t_a + b1q * q, a21 * t_i + a22 * t_e + b2a * t_a + b2q * q


def heat_for_target(coef: tuple[np.ndarray, ...], t_i, t_e, t_a, t_target, q_int, g) -> np.ndarray:
    """Heat-pump heat [kW] that brings the indoor temperature to ``t_target`` at the end of the step.

    The exact inverse of the zero-order-hold step (:func:`_apply` / :meth:`BuildingModel.step`) for
    the indoor node: a model-based thermostat (negative where the house would end warmer unheated;
    the caller clips to what the heat pump can do).
    """
    a11, a12, _, _, b1a, b1q, _, _, a_i_kw_per_w = coef
    free = a11 * t_i + a12 * t_e + b1a * t_a + b1q * (q_int + a_i_kw_per_w * g)
    return (t_target - free) / b1q


@dataclass(frozen=True, eq=False)
class BuildingModel:
    """The exact zero-order-hold discretisation of :class:`BuildingParams` at one step length.

    Build it with :func:`discretize`. ``x_{k+1} = a_d[j] @ x_k + b_d[j] @ u_k`` for house ``j`` with
    ``x = [t_i_c, t_e_c]`` and ``u = [t_a_c, q_hp_kw, q_int_kw, g_sol_w_per_m2]``; the mean state
    over the step is ``a_mean[j] @ x_k + b_mean[j] @ u_k``. All arrays are read-only.

    Attributes:
        params: The parameters it was built from.
        dt_s: Step length [s].
        a_d: ``(n, 2, 2)`` state transition matrix [-].
        b_d: ``(n, 2, 4)`` input matrix [K per input unit] (:data:`INPUT_NAMES` order).
        a_mean: ``(n, 2, 2)`` mean-state matrix for the initial state [-].
        b_mean: ``(n, 2, 4)`` mean-state matrix for the inputs [K per input unit].
    """

    params: BuildingParams
    dt_s: float
    a_d: np.ndarray
    b_d: np.ndarray
    a_mean: np.ndarray
    b_mean: np.ndarray
    _coef: tuple[np.ndarray, ...] = field(init=False, repr=False)
    _coef_mean: tuple[np.ndarray, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for arr in (self.a_d, self.b_d, self.a_mean, self.b_mean):
            arr.setflags(write=False)
        a_i = self.params.a_i_m2
        object.__setattr__(self, "_coef", _flat_coefficients(self.a_d, self.b_d, a_i))
        object.__setattr__(self, "_coef_mean", _flat_coefficients(self.a_mean, self.b_mean, a_i))

    def __reduce__(self):  # pickle/deepcopy by rebuilding: keeps arrays read-only and consistent
        return (discretize, (self.params, self.dt_s))

    @property
    def n_houses(self) -> int:
        """Number of houses ``n``."""
        return self.params.n_houses

    def take(self, rows: np.ndarray) -> BuildingModel:
        """The model of a subset (or a repetition) of its houses, ``rows`` an int index array.

        Each house's matrices are its own, so the rows are gathered as they are: number for
        number the discretisation of the gathered parameters, without recomputing it.
        """
        rows = np.asarray(rows, dtype=np.intp)
        packed = self._packed[:, rows]  # one gather; every field is a (view of a) row of it
        packed.setflags(write=False)
        m = rows.size
        n_p = len(PARAM_FIELDS)

        def matrix(start: int, shape: tuple[int, int]) -> np.ndarray:
            return packed[start:start + shape[0] * shape[1]].T.reshape((m,) + shape)

        model = object.__new__(BuildingModel)
        values = {"params": _trusted_params(dict(zip(PARAM_FIELDS, packed[:n_p]))), "dt_s": self.dt_s,
                  "a_d": matrix(n_p, (2, 2)), "b_d": matrix(n_p + 4, (2, 4)), "a_mean": matrix(n_p + 12, (2, 2)),
                  "b_mean": matrix(n_p + 16, (2, 4)), "_coef": tuple(packed[n_p + 24:n_p + 33]),
                  "_coef_mean": tuple(packed[n_p + 33:n_p + 42])}
        for name, value in values.items():
            object.__setattr__(model, name, value)
        return model

    @cached_property
    def _packed(self) -> np.ndarray:
        """``(48, n)`` every per-house number, one row each (for :meth:`take`): the parameters
        (:data:`PARAM_FIELDS`), ``a_d``, ``b_d``, ``a_mean``, ``b_mean`` (row-major) and the flat
        coefficients ``_coef``, ``_coef_mean``."""
        n = self.n_houses
        blocks = ([np.stack([getattr(self.params, f) for f in PARAM_FIELDS])]
                  + [x.reshape(n, -1).T for x in (self.a_d, self.b_d, self.a_mean, self.b_mean)]
                  + [np.stack(self._coef), np.stack(self._coef_mean)])
        return np.ascontiguousarray(np.concatenate(blocks, axis=0))

    def step(self, t_i_c: _Arr, t_e_c: _Arr, t_a_c: _Arr, q_hp_kw: _Arr, q_int_kw: _Arr = 0.0,
             g_sol_w_per_m2: _Arr = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Advance all houses by one step with the inputs held constant over it.

        Hot path: a handful of elementwise operations, no validation (the caller checks its
        inputs once; NaN in gives NaN out).

        Args:
            t_i_c: Indoor-air temperature at the start of the step [°C], ``(n,)`` or scalar.
            t_e_c: Envelope temperature at the start of the step [°C], ``(n,)`` or scalar.
            t_a_c: Ambient temperature over the step [°C], ``(n,)`` or scalar.
            q_hp_kw: Heat-pump heat into the interior node [kW], ``(n,)`` or scalar.
            q_int_kw: Internal gains into the interior node [kW], ``(n,)`` or scalar.
            g_sol_w_per_m2: Global horizontal irradiance [W/m²], ``(n,)`` or scalar.

        Returns:
            ``(t_i_next_c, t_e_next_c)``, each ``(n,)`` [°C].
        """
        return _apply(self._coef, t_i_c, t_e_c, t_a_c, q_hp_kw, q_int_kw, g_sol_w_per_m2)

    def mean_over_step(self, t_i_c: _Arr, t_e_c: _Arr, t_a_c: _Arr, q_hp_kw: _Arr, q_int_kw: _Arr = 0.0,
                       g_sol_w_per_m2: _Arr = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Exact time-average of ``(t_i, t_e)`` over the step (arguments as :meth:`step`) [°C].

        Multiply heat flows of the mean state (:func:`heat_flows_kw`) by the step length to get
        the exact step energies, e.g. the heat lost to ambient [kWh].
        """
        return _apply(self._coef_mean, t_i_c, t_e_c, t_a_c, q_hp_kw, q_int_kw, g_sol_w_per_m2)

    def simulate(self, x0_c: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Simulate ``T`` steps.

        Args:
            x0_c: Initial state ``(n, 2)`` ([t_i, t_e] per house) or ``(2,)`` for all houses [°C].
            inputs: ``(T, n, 4)`` inputs in :data:`INPUT_NAMES` order, or ``(T, 4)`` for all houses.

        Returns:
            ``(T + 1, n, 2)`` states, the first being ``x0_c``.

        Raises:
            ConfigError: Bad shapes or non-finite values.
        """
        n = self.n_houses
        x0 = np.asarray(x0_c, dtype=np.float64)
        u = np.asarray(inputs, dtype=np.float64)
        if u.ndim == 2:
            u = u[:, None, :]
        if x0.shape not in ((2,), (n, 2)) or u.ndim != 3 or u.shape[1] not in (1, n) or u.shape[2] != 4:
            raise ConfigError(f"simulate: need x0 (n, 2) or (2,) and inputs (T, n, 4) or (T, 4) with "
                              f"n={n}; got {x0.shape} and {np.shape(inputs)}.")
        if not (np.all(np.isfinite(x0)) and np.all(np.isfinite(u))):
            raise ConfigError("simulate: initial state and inputs must be finite (found NaN or inf).")
        out = np.empty((u.shape[0] + 1, n, 2))
        out[0] = x0
        ti, te = out[0, :, 0], out[0, :, 1]
        for k in range(u.shape[0]):
            ti, te = self.step(ti, te, u[k, :, 0], u[k, :, 1], u[k, :, 2], u[k, :, 3])
            out[k + 1, :, 0], out[k + 1, :, 1] = ti, te
        return out


def _phi2(z: np.ndarray) -> np.ndarray:
    """``(e^z - 1 - z) / z^2`` for ``z < 0``, without cancellation near 0 (series below 1e-2)."""
    small = np.abs(z) < 1e-2
    zs = np.where(small, 1.0, z)
    direct = (np.expm1(zs) - zs) / zs**2
    series = 1 / 2 + z * (1 / 6 + z * (1 / 24 + z * (1 / 120 + z * (1 / 720 + z / 5040))))
    return np.where(small, series, direct)


def discretize(params: BuildingParams, dt_s: float) -> BuildingModel:
    """Exact zero-order-hold discretisation, accurate for any ``dt_s > 0`` (a millisecond to aeons).

    ``A = C^-1 K`` with ``C = diag(c_i, c_e)`` and a symmetric conductance matrix ``K``, so
    ``A = D^-1 S D`` with ``D = C^(1/2)`` and ``S = D^-1 K D^-1`` symmetric: ``S = V diag(lam) V^T``
    with orthogonal ``V`` and ``lam < 0``, and every matrix function is exact and well conditioned,
    ``f(A h) = D^-1 V diag(f(lam h)) V^T D``. With ``phi1(z) = (e^z - 1)/z`` and
    ``phi2(z) = (e^z - 1 - z)/z^2`` (evaluated without cancellation or overflow)::

        A_d = exp(A h),   B_d = h phi1(A h) B,   A_mean = phi1(A h),   B_mean = h phi2(A h) B.

    (This replaces an augmented-matrix ``expm``, whose scaling and squaring lost ~1e-3 K at
    ``dt_s ~ 1e14``.)

    Raises:
        ConfigError: ``dt_s`` is not a finite positive number.
    """
    try:
        dt = float(dt_s)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"dt_s must be a positive number of seconds, got {dt_s!r}.") from exc
    if not np.isfinite(dt) or dt <= 0.0:
        raise ConfigError(f"dt_s must be finite and > 0 seconds, got {dt_s!r}.")
    h = dt / _S_PER_H
    a, b = continuous_matrices(params)
    d = np.sqrt(np.stack([params.c_i_kwh_per_k, params.c_e_kwh_per_k], axis=1))  # (n, 2)
    lam, v = np.linalg.eigh(a * d[:, :, None] / d[:, None, :])  # S = D A D^-1, symmetric
    z = lam * h

    def matrix_function(f_of_z: np.ndarray) -> np.ndarray:
        return np.einsum("nik,nk,njk->nij", v, f_of_z, v) * d[:, None, :] / d[:, :, None]

    with np.errstate(under="ignore"):
        a_d = matrix_function(np.exp(z))
    phi1 = matrix_function(np.expm1(z) / z)
    return BuildingModel(
        params=params,
        dt_s=dt,
        a_d=a_d,
        b_d=h * phi1 @ b,
        a_mean=phi1,
        b_mean=h * matrix_function(_phi2(z)) @ b,
    )


__all__ = [
    "INPUT_NAMES", "PARAM_FIELDS", "STATE_NAMES", "BuildingModel", "BuildingParams", "HeatFlows",
    "continuous_matrices", "discretize", "discretize_house_types", "heat_flows_kw", "house_types", "params_for_house_type",
    "sample_house_params", "sample_house_type_index", "candidate_house_types", "steady_state_heat_kw",
]  # fmt: skip
