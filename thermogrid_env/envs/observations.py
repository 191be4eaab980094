"""The observation layout of :class:`~thermogrid_env.envs.thermogrid_env.ThermoGridEnv`.

Declared as a list of :class:`Entry` (quantity, component, unit, scaling; after gym-anm's
``(quantity, component, unit)`` tuples), one per vector element. Each element is scaled to roughly
unit range, ``(raw - offset) / scale``, and clipped into the entry's ``[low, high]`` (wide bounds,
reached only in extreme states; clipping keeps the observation inside the declared space), so
stable-baselines3 can learn without a normalisation wrapper.

Layout (``H`` forecast leads of 1, 2, ... h; ``Q`` quantiles; see :meth:`ObservationSpec.table`):

=====================================  ==========  ===============  ===========================
quantity [component]                   unit        scaling          note
=====================================  ==========  ===============  ===========================
hour_sin, hour_cos [clock]             -           as is            local hour of day
doy_sin, doy_cos [clock]               -           as is            day of year
pv_per_kwp [weather]                   kW/kWp      as is            PV output per kWp now
base_p_kw [feeder]                     kW          / rated kVA      sum of the base loads now
t_ambient_c [weather]                  °C          / 20             ambient temperature now
price_eur_per_kwh [tariff]             EUR/kWh     / 0.5            energy price now
t_ambient_c [weather, +lead, q]        °C          / 20             Q × H forecast values
pv_per_kwp [weather, +lead, q]         kW/kWp      as is            Q × H forecast values
price_eur_per_kwh [tariff, +lead, q]   EUR/kWh     / 0.5            Q × H forecast values
t_indoor_c [hp:i]                      °C          (t - 21) / 5     per heat-pump house
ev_soc [ev:i]                          -           as is            0 while not plugged in
ev_plugged [ev:i]                      -           as is            1 plugged in, else 0
ev_time_to_departure_h [ev:i]          h           / 24             0 while not plugged in
ev_charge_time_needed_h [ev:i]         h           / 24             full-power hours to target
v_pu [bus:b]                           pu          (v - 1) / 0.1    observed buses
hot_spot_c [transformer]               °C          (θ - 60) / 40    IEC 60076-7 hot spot
loading [transformer]                  -           as is            current / rated current
=====================================  ==========  ===============  ===========================

"Now" values are those of the step about to be played; the observation after the last step
repeats the last step's exogenous values. Grid values (voltages, hot spot, loading) are the
measurements of the previous step (after ``reset``: the base load alone, the transformer at its
initial state). Time values of EVs are capped at 48 h.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from thermogrid_env.errors import ConfigError
from thermogrid_env.forecast.base import Forecaster
from thermogrid_env.sim.episode import Episode

#: Indoor temperature offset and scale [°C].
T_INDOOR_OFFSET_C, T_INDOOR_SCALE_K = 21.0, 5.0
#: Ambient temperature scale [K].
T_AMBIENT_SCALE_K = 20.0
#: Price scale [EUR/kWh].
PRICE_SCALE_EUR_PER_KWH = 0.5
#: Voltage scaling: ``(v - 1) / 0.1``.
V_OFFSET_PU, V_SCALE_PU = 1.0, 0.1
#: Hot-spot scaling: ``(θ - 60) / 40`` [°C].
HOT_SPOT_OFFSET_C, HOT_SPOT_SCALE_K = 60.0, 40.0
#: Time scale of EV times [h], and their cap [h].
EV_TIME_SCALE_H, EV_TIME_CAP_H = 24.0, 48.0


class Entry(NamedTuple):
    """One element of the observation vector: ``clip((raw - offset) / scale, low, high)``.

    Attributes:
        quantity: What is observed, with its unit in the name where it has one (``"v_pu"``).
        component: Which object: ``"clock"``, ``"weather"``, ``"tariff"``, ``"feeder"``,
            ``"transformer"``, ``"hp:i"``, ``"ev:i"`` (device ``i`` of the community) or
            ``"bus:b"`` (feeder bus ``b``).
        unit: Unit of the raw value.
        offset, scale: Scaling of the raw value.
        low, high: Bounds of the scaled value (the observation space).
        lead_h: Forecast lead [h] (0: observed now).
        quantile: Forecast quantile level (NaN: not a forecast).
    """

    quantity: str
    component: str
    unit: str
    offset: float
    scale: float
    low: float
    high: float
    lead_h: float = 0.0
    quantile: float = math.nan

    @property
    def name(self) -> str:
        """Readable unique name, e.g. ``"t_indoor_c[hp:3]"`` or ``"pv_per_kwp[weather,+2h,q0.9]"``."""
        if self.lead_h:
            return f"{self.quantity}[{self.component},+{self.lead_h:g}h,q{self.quantile:g}]"
        return f"{self.quantity}[{self.component}]"


# (quantity, component, unit, offset, scale, low, high) of the exogenous "now" block, in order
_EXO_NOW = (
    ("hour_sin", "clock", "-", 0.0, 1.0, -1.0, 1.0),
    ("hour_cos", "clock", "-", 0.0, 1.0, -1.0, 1.0),
    ("doy_sin", "clock", "-", 0.0, 1.0, -1.0, 1.0),
    ("doy_cos", "clock", "-", 0.0, 1.0, -1.0, 1.0),
    ("pv_per_kwp", "weather", "kW/kWp", 0.0, 1.0, 0.0, 2.0),
    ("base_p_kw", "feeder", "kW", 0.0, None, -2.0, 5.0),  # scale: transformer rating
    ("t_ambient_c", "weather", "°C", 0.0, T_AMBIENT_SCALE_K, -3.0, 3.0),
    ("price_eur_per_kwh", "tariff", "EUR/kWh", 0.0, PRICE_SCALE_EUR_PER_KWH, -4.0, 10.0),
)
_FORECAST = (  # (quantity, component, unit, offset, scale, low, high, Forecast attribute)
    ("t_ambient_c", "weather", "°C", 0.0, T_AMBIENT_SCALE_K, -3.0, 3.0, "t_ambient_c"),
    ("pv_per_kwp", "weather", "kW/kWp", 0.0, 1.0, 0.0, 2.0, "pv_per_kwp"),
    ("price_eur_per_kwh", "tariff", "EUR/kWh", 0.0, PRICE_SCALE_EUR_PER_KWH, -4.0, 10.0, "price_eur_per_kwh"),
)


def ev_hours_per_soc(capacity_kwh: np.ndarray, efficiency: np.ndarray, p_max_kw: np.ndarray) -> np.ndarray:
    """Hours of full-power charging per unit of state of charge, ``capacity / (efficiency p_max)`` [h]."""
    return capacity_kwh / (efficiency * p_max_kw)


def ev_schedule(arrival_step: np.ndarray, departure_step: np.ndarray, h_per_soc: np.ndarray, k: np.ndarray,
                dt_h: float) -> np.ndarray:
    """The EV block's schedule features at steps ``k``: ``(..., 3 n_ev)``.

    Per EV: plugged in (0/1), time to departure [h] (capped at :data:`EV_TIME_CAP_H`) and full-power
    hours per unit SoC, both 0 while not plugged in. The per-EV arrays are ``(..., n_ev)`` and ``k``
    broadcasts against them (e.g. ``(T + 1, 1)`` for an episode's table, ``(B, 1)`` for the steps of
    ``B`` environments).
    """
    plugged = (arrival_step <= k) & (k < departure_step)
    to_dep_h = np.minimum((departure_step - k) * dt_h, EV_TIME_CAP_H)
    return np.concatenate([plugged.astype(np.float64), np.where(plugged, to_dep_h, 0.0),
                           np.where(plugged, np.broadcast_to(h_per_soc, plugged.shape), 0.0)], axis=-1)


#: Exogenous tables an observation spec keeps (one per day and set of heat-pump households).
_EXO_CACHE_SIZE = 512


@lru_cache(maxsize=16)
def _lead_steps(n_steps: int, horizon_steps: int, n_series: int) -> np.ndarray:
    """``(n_steps + 1, horizon_steps)`` index of the steps ``k + 1 ... k + horizon_steps`` forecast at
    each issue step ``k``, held at the last entry of an ``n_series``-long series (read-only)."""
    idx = np.minimum(np.arange(n_steps + 1)[:, None] + 1 + np.arange(horizon_steps)[None, :], n_series - 1)
    idx.setflags(write=False)
    return idx


class ObservationSpec:
    """Declared observation layout, its space, and the fast per-step fill.

    Args:
        n_hp, n_ev: Device counts.
        observed_buses: Feeder bus indices whose voltage is observed.
        base_load_scale_kw: Scale of the feeder base load (the transformer rating [kVA]).
        quantiles: Forecast quantile levels.
        forecast_horizon_h: Number of hourly forecast leads (0: no forecasts).
        steps_per_hour: Simulation steps per hour (forecast leads are every hour).
    """

    def __init__(
        self,
        *,
        n_hp: int,
        n_ev: int,
        observed_buses: Sequence[int],
        base_load_scale_kw: float,
        quantiles: Sequence[float],
        forecast_horizon_h: int,
        steps_per_hour: int,
    ) -> None:
        if not base_load_scale_kw > 0:
            raise ConfigError(f"ObservationSpec: base_load_scale_kw must be > 0, got {base_load_scale_kw}.")
        self.n_hp, self.n_ev = int(n_hp), int(n_ev)
        self.observed_buses = np.asarray(observed_buses, dtype=np.int64)
        self.quantiles = tuple(float(q) for q in quantiles)
        self.forecast_horizon_h = int(forecast_horizon_h)
        self.steps_per_hour = int(steps_per_hour)
        entries: list[Entry] = []
        self._slices: dict[str, slice] = {}

        def add(key: str, new: list[Entry]) -> None:
            self._slices[key] = slice(len(entries), len(entries) + len(new))
            entries.extend(new)

        add("exo_now", [Entry(q, c, u, o, base_load_scale_kw if s is None else s, lo, hi)
                        for q, c, u, o, s, lo, hi in _EXO_NOW])
        for q, c, u, o, s, lo, hi, attr in _FORECAST:
            add(f"fc_{attr}", [Entry(q, c, u, o, s, lo, hi, float(lead), qt)
                               for qt in self.quantiles for lead in range(1, self.forecast_horizon_h + 1)])
        add("t_indoor", [Entry("t_indoor_c", f"hp:{i}", "°C", T_INDOOR_OFFSET_C, T_INDOOR_SCALE_K, -5.0, 5.0)
                         for i in range(self.n_hp)])
        for q, u, s, hi in (("ev_soc", "-", 1.0, 1.0), ("ev_plugged", "-", 1.0, 1.0),
                            ("ev_time_to_departure_h", "h", EV_TIME_SCALE_H, EV_TIME_CAP_H / EV_TIME_SCALE_H),
                            ("ev_charge_time_needed_h", "h", EV_TIME_SCALE_H, EV_TIME_CAP_H / EV_TIME_SCALE_H)):
            add(q, [Entry(q, f"ev:{i}", u, 0.0, s, 0.0, hi) for i in range(self.n_ev)])
        add("v", [Entry("v_pu", f"bus:{b}", "pu", V_OFFSET_PU, V_SCALE_PU, -5.0, 5.0) for b in self.observed_buses])
        add("grid", [Entry("hot_spot_c", "transformer", "°C", HOT_SPOT_OFFSET_C, HOT_SPOT_SCALE_K, -3.0, 5.0),
                     Entry("loading", "transformer", "-", 0.0, 1.0, 0.0, 5.0)])
        self.entries: tuple[Entry, ...] = tuple(entries)
        self._offset = np.array([e.offset for e in entries])
        self._inv_scale = 1.0 / np.array([e.scale for e in entries])
        self._low = np.array([e.low for e in entries])
        self._high = np.array([e.high for e in entries])
        # per-step work buffers (raw values, float64) and per-episode tables (set by reset)
        self._raw = np.zeros(len(entries))
        self._tmp = np.zeros(len(entries))
        every = self.steps_per_hour  # forecast columns of leads 1, 2, ... h
        self._fc_cols = slice(every - 1, self.forecast_horizon_h * every, every)
        self._fc_blocks = tuple(
            (self._slices[f"fc_{attr}"], attr) for *_, attr in _FORECAST
        ) if self.forecast_horizon_h else ()
        self._n_q = len(self.quantiles)
        self._exo_cache: dict[int, tuple[weakref.ref, np.ndarray]] = {}  # id(exogenous) -> (ref, table)
        buses = self.observed_buses
        contiguous = buses.size > 0 and np.array_equal(buses, np.arange(buses[0], buses[0] + buses.size))
        self._v_select: slice | np.ndarray = slice(int(buses[0]), int(buses[0]) + buses.size) if contiguous else buses
        ev0 = self._slices["ev_soc"].start
        self._b = (  # integer bounds of the per-step blocks
            self._slices["exo_now"].stop, self._slices["t_indoor"].start, self._slices["t_indoor"].stop,
            ev0, ev0 + self.n_ev, ev0 + 3 * self.n_ev, ev0 + 4 * self.n_ev,
            self._slices["v"].start, self._slices["v"].stop,
        )
        self._exo_table = np.zeros((1, len(_EXO_NOW)))
        # per step: [plugged | time to departure [h] | full-power hours per unit SoC, 0 if unplugged]
        self._ev_table = np.zeros((1, 3 * self.n_ev))
        self._ev_target = np.zeros(self.n_ev)
        self._static_rows = np.zeros((1, len(entries)))  # per step: the entries known at reset (raw units)

    # ------------------------------------------------------------------ layout
    @property
    def size(self) -> int:
        """Length of the observation vector."""
        return len(self.entries)

    @property
    def names(self) -> list[str]:
        """Names of the elements (:attr:`Entry.name`)."""
        return [e.name for e in self.entries]

    def space(self) -> spaces.Box:
        """``Box(low, high, float32)`` with each entry's bounds."""
        return spaces.Box(self._low.astype(np.float32), self._high.astype(np.float32), dtype=np.float32)

    def slices(self) -> dict[str, slice]:
        """Slice of each block (``"exo_now"``, ``"fc_t_ambient_c"``, ``"t_indoor"``, ``"ev_soc"``, ...)."""
        return dict(self._slices)

    def index(self, quantity: str, component: str) -> int:
        """Index of the (non-forecast) entry of ``quantity`` and ``component``.

        Raises:
            ConfigError: No such entry.
        """
        for i, e in enumerate(self.entries):
            if e.quantity == quantity and e.component == component and not e.lead_h:
                return i
        raise ConfigError(f"No observation entry {quantity}[{component}].")

    def table(self) -> str:
        """The layout as a markdown table (index, name, unit, offset, scale, bounds)."""
        rows = ["| index | entry | unit | offset | scale | low | high |", "|---|---|---|---|---|---|---|"]
        rows += [f"| {i} | {e.name} | {e.unit} | {e.offset:g} | {e.scale:g} | {e.low:g} | {e.high:g} |"
                 for i, e in enumerate(self.entries)]
        return "\n".join(rows)

    # ------------------------------------------------------------------ per episode
    def episode_tables(self, episode: Episode) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The episode's per-step tables: exogenous "now" values ``(T + 1, 8)``, the EV schedule
        ``(T + 1, 3 n_ev)`` (:func:`ev_schedule`) and the EVs' target SoC ``(n_ev,)``. Row ``T`` (after
        the last step) repeats the last step's exogenous values.

        Raises:
            ConfigError: The episode's device counts differ from the spec's.
        """
        exo_table = self.exo_tables([episode])[0]
        t, s = episode.exogenous.n_steps, episode.evs.sessions
        k = np.arange(t + 1)[:, None]
        ev_table = ev_schedule(s.arrival_step, s.departure_step,
                               ev_hours_per_soc(s.capacity_kwh, s.efficiency, s.p_max_kw), k, episode.scenario.dt_h)
        return exo_table, ev_table, np.array(s.soc_target, dtype=np.float64)

    def __getstate__(self) -> dict[str, Any]:  # pickle/deepcopy without the cache (weak references)
        state = self.__dict__.copy()
        state["_exo_cache"] = {}
        return state

    def exo_tables(self, episodes: Sequence[Episode]) -> np.ndarray:
        """The exogenous "now" tables of ``B`` episodes of one scenario, ``(B, T + 1, 8)`` (the same
        arithmetic for one or many: the batched environment resets many at once).

        Raises:
            ConfigError: An episode's device counts differ from the spec's.
        """
        for episode in episodes:
            c = episode.community
            if (c.n_hp, c.n_ev) != (self.n_hp, self.n_ev):
                raise ConfigError(f"Episode has (n_hp, n_ev) = {(c.n_hp, c.n_ev)}, spec {(self.n_hp, self.n_ev)}.")
        # episodes share their day's exogenous data (read-only): its table is computed once
        cache = self._exo_cache
        exos = [e.exogenous for e in episodes]

        def cached(x: Any) -> bool:  # a weak reference: an id reused by new data is not a hit
            entry = cache.get(id(x))
            return entry is not None and entry[0]() is x

        new = list({id(x): x for x in exos if not cached(x)}.values())
        if new:
            if len(cache) + len(new) > _EXO_CACHE_SIZE:
                cache.clear()
            for x, table in zip(new, self._compute_exo_tables(new)):
                table.setflags(write=False)
                cache[id(x)] = (weakref.ref(x), table)
        return np.stack([cache[id(x)][1] for x in exos])

    @staticmethod
    def _compute_exo_tables(exos: Sequence[Any]) -> np.ndarray:
        """:meth:`exo_tables` of the given exogenous data, ``(B, T + 1, 8)``."""
        t = exos[0].n_steps
        rows = np.minimum(np.arange(t + 1), t - 1)  # the final observation repeats the last step

        def stacked(values: list[np.ndarray]) -> np.ndarray:
            return np.stack(values)[:, rows]

        hour = 2.0 * np.pi * stacked([x.hour_local for x in exos]) / 24.0
        doy = 2.0 * np.pi * (stacked([x.day_of_year for x in exos]).astype(np.float64) - 1.0) / 366.0
        return np.stack([
            np.sin(hour), np.cos(hour), np.sin(doy), np.cos(doy), stacked([x.pv_per_kwp for x in exos]),
            stacked([x.base_p_kw.sum(axis=1) for x in exos]), stacked([x.t_ambient_c for x in exos]),
            stacked([x.price_eur_per_kwh for x in exos]),
        ], axis=-1)

    def reset(self, episode: Episode, forecaster: Forecaster | None = None) -> None:
        """Precompute the episode's per-step tables (:meth:`episode_tables`, :meth:`forecast_tables`).

        Args:
            episode: The episode (its counts must match the spec).
            forecaster: The episode's forecaster, already reset (needed when the observation holds
                forecasts).

        Raises:
            ConfigError: No forecaster although the observation holds forecasts.
        """
        self._exo_table, self._ev_table, self._ev_target = self.episode_tables(episode)
        tables: tuple[np.ndarray, ...] = ()
        if self._fc_blocks:
            if forecaster is None:
                raise ConfigError("ObservationSpec.reset needs the (reset) forecaster: the observation holds "
                                  f"{self.forecast_horizon_h} h of forecasts.")
            tables = self.forecast_tables(forecaster, episode.exogenous.n_steps)
        # what is known for every step at reset, in raw units: now-values, forecasts, EV schedule
        e_now, _, _, _, soc1, dep1, *_ = self._b
        static = np.zeros((self._exo_table.shape[0], self.size))
        static[:, :e_now] = self._exo_table
        for (block, _), t in zip(self._fc_blocks, tables):
            static[:, block] = np.moveaxis(t, 1, 0).reshape(t.shape[1], -1)
        static[:, soc1:dep1] = self._ev_table[:, :dep1 - soc1]
        self._static_rows = static

    def forecast_tables(self, forecaster: Forecaster, n_steps: int) -> tuple[np.ndarray, ...]:
        """The observed forecasts issued at every step of an episode, per forecast block (the order of
        the observation): ``(n_quantiles, n_steps + 1, forecast_horizon_h)`` each.

        Computed once per episode from the reset forecaster (the forecasts of a step depend only on
        what the forecaster knows at that step); a :class:`SeasonalEmpiricalForecaster`'s own table is
        sliced, any other forecaster is asked at every step.
        """
        horizon_steps = self.forecast_horizon_h * self.steps_per_hour
        columns = self._fc_cols
        fast = getattr(forecaster, "_table", None)
        if fast is not None and hasattr(forecaster, "_price") and fast[0].shape[2] >= horizon_steps:
            # SeasonalEmpiricalForecaster: its precomputed table (and the tariff)
            t_q, pv_q = (x[:, :, :horizon_steps][:, :, columns] for x in fast)
            price = forecaster._price[_lead_steps(n_steps, horizon_steps, forecaster._price.size)][:, columns]
            p_q = np.broadcast_to(price[None], (t_q.shape[0],) + price.shape)
            by_attr = {"t_ambient_c": t_q, "pv_per_kwp": pv_q, "price_eur_per_kwh": p_q}
        else:
            rows = [forecaster.forecast(k, horizon_steps) for k in range(n_steps + 1)]
            by_attr = {attr: np.stack([getattr(f, attr)[:, columns] for f in rows], axis=1)
                       for _, attr in self._fc_blocks}
        return tuple(by_attr[attr] for _, attr in self._fc_blocks)

    def observe_batch(
        self,
        exo_now: np.ndarray,
        ev_row: np.ndarray,
        ev_target: np.ndarray,
        t_indoor_c: np.ndarray,
        ev_soc: np.ndarray,
        v_pu: np.ndarray,
        hot_spot_c: np.ndarray,
        trafo_loading: np.ndarray,
        forecasts: tuple[np.ndarray, ...],
        out: np.ndarray,
    ) -> np.ndarray:
        """:meth:`observe` for ``B`` environments at once (the same arithmetic, element by element).

        Args:
            exo_now: ``(B, 8)`` rows of the exogenous tables; ``ev_row``: ``(B, 3 n_ev)`` rows of the EV
                tables; ``ev_target``: ``(B, n_ev)``.
            t_indoor_c, ev_soc, v_pu: ``(B, ·)`` states and bus voltages.
            hot_spot_c, trafo_loading: ``(B,)``.
            forecasts: Per forecast block ``(B, n_quantiles, n_leads)`` (rows of :meth:`forecast_tables`),
                or the same flattened to ``(B, n_quantiles * n_leads)``.
            out: ``(B, size)`` float32 output.
        """
        b = exo_now.shape[0]
        raw = np.empty((b, self.size))
        e_now, hp0, hp1, soc0, soc1, dep1, need1, v0, v1 = self._b
        raw[:, :e_now] = exo_now
        for (block, _), values in zip(self._fc_blocks, forecasts):
            raw[:, block] = values.reshape(b, -1)
        raw[:, hp0:hp1] = t_indoor_c
        if soc1 > soc0:
            n = soc1 - soc0
            np.multiply(ev_soc, ev_row[:, :n], out=raw[:, soc0:soc1])
            raw[:, soc1:dep1] = ev_row[:, : 2 * n]
            need = np.maximum(ev_target - ev_soc, 0.0)
            need *= ev_row[:, 2 * n:]
            raw[:, dep1:need1] = need
        raw[:, v0:v1] = v_pu[:, self._v_select]
        raw[:, v1] = hot_spot_c
        raw[:, v1 + 1] = trafo_loading
        raw -= self._offset
        raw *= self._inv_scale
        np.maximum(raw, self._low, out=raw)
        np.minimum(raw, self._high, out=out)
        return out

    def observe(
        self,
        step: int,
        t_indoor_c: np.ndarray,
        ev_soc: np.ndarray,
        v_pu: np.ndarray,
        hot_spot_c: float,
        trafo_loading: float,
        out: np.ndarray,
    ) -> np.ndarray:
        """Fill ``out`` (float32, ``(size,)``) with the scaled, clipped observation and return it.

        Args:
            step: Index of the step about to be played (``n_steps`` after the last one).
            t_indoor_c: ``(n_hp,)`` indoor temperatures [°C].
            ev_soc: ``(n_ev,)`` EV states of charge [-].
            v_pu: ``(n_bus,)`` bus voltages [pu] (the observed subset is taken).
            hot_spot_c: Transformer hot spot [°C].
            trafo_loading: Transformer loading [-].
            out: Output buffer.

        The forecasts are those issued at ``step`` (:meth:`forecast_tables`, set by :meth:`reset`).
        """
        raw = self._raw
        _, hp0, hp1, soc0, soc1, dep1, need1, v0, v1 = self._b
        raw[:] = self._static_rows[step]  # now-values, forecasts, EV plugged and time to departure
        raw[hp0:hp1] = t_indoor_c
        if soc1 > soc0:
            n = soc1 - soc0
            row = self._ev_table[step]
            np.multiply(ev_soc, row[:n], out=raw[soc0:soc1])
            need = np.subtract(self._ev_target, ev_soc, out=raw[dep1:need1])
            np.maximum(need, 0.0, out=need)
            need *= row[2 * n:]
        raw[v0:v1] = v_pu[self._v_select]
        raw[v1] = hot_spot_c
        raw[v1 + 1] = trafo_loading
        tmp = self._tmp
        np.subtract(raw, self._offset, out=tmp)
        tmp *= self._inv_scale
        np.maximum(tmp, self._low, out=tmp)
        np.minimum(tmp, self._high, out=out)
        return out
