"""The simulator core: the only place where a step of the feeder happens.

Pure and gymnasium-free: :meth:`Simulator.step` takes a state and physical set-points and returns
the next state and the step's measurements, cost terms and reward; it never mutates its inputs. The
Gymnasium environments (one episode, or many in one vectorised call) and the oracle's evaluation
all go through it, so every controller is scored on the same physics.

One episode (``Simulator(episode)``) has unbatched arrays (``(n,)`` per device, ``step`` an int); a
batch of episodes of one scenario on one feeder (``Simulator([ep_0, ep_1, ...])``) has a leading
batch axis ``B`` everywhere (``step`` a ``(B,)`` array: the episodes may be at different steps). The
same code runs both: it broadcasts over the leading axes.

A step of length ``dt`` from ``t_k`` (inputs held constant over the step):

1. heat pumps: electrical power clipped to ``[0, p_rated]``, heat ``= COP(t_ambient) · p``;
2. houses: exact zero-order-hold 3R2C step with HP heat, internal gains (the household's own
   electricity use, which ends up as heat) and solar gains;
3. EVs: state of charge under availability, charger and battery limits; energy still missing is
   booked at each EV's deadline (departure, or the episode end);
4. PV: available power, curtailment and reactive power inside the inverter circle;
5. exact AC power flow of the feeder with all bus loads (consumption positive);
6. transformer: IEC 60076-7 thermal model driven by the transformer loading, loss of life;
7. the cost terms (:mod:`thermogrid_env.sim.costs`), the reward and the KPI increments
   (:mod:`thermogrid_env.sim.kpi`).

A step whose power flow has no solution (voltage collapse) is not an exception: the result has
``converged`` false, NaN grid quantities, and the ``voltage`` term carries the collapse penalty
(:func:`~thermogrid_env.sim.costs.collapse_penalty`); the environment ends the episode there.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from thermogrid_env.config import Scenario
from thermogrid_env.errors import ConfigError, PowerFlowDiverged
from thermogrid_env.network.limits import l_max_pu
from thermogrid_env.physics import building, ev, heat_pump, pv, transformer
from thermogrid_env.physics.powerflow import PowerFlowSolver
from thermogrid_env.sim import costs, kpi
from thermogrid_env.sim.devices import HP_POWER_FACTOR, deadline_steps, pv_available_series
from thermogrid_env.sim.injections import device_injections

__all__ = ["Grid", "HP_POWER_FACTOR", "Setpoints", "SimState", "Simulator", "StepResult"]


def _identity(x: Any) -> Any:
    return x


@dataclass(frozen=True, kw_only=True, eq=False)
class Setpoints:
    """Physical set-points of one step (the simulator enforces every device limit).

    Arrays are ``(n,)`` per device group, with a leading batch axis for a batch of episodes.

    Attributes:
        hp_p_kw: Heat-pump electrical power [kW].
        ev_p_kw: EV charging power at the grid side [kW] (negative: V2G discharge).
        pv_curtailment: Share of the available PV power to shed [0, 1].
        pv_q_kvar: PV inverter reactive power [kvar], positive = injection (capacitive, raises the
            voltage), negative = absorption.
    """

    hp_p_kw: np.ndarray
    ev_p_kw: np.ndarray
    pv_curtailment: np.ndarray
    pv_q_kvar: np.ndarray

    def __post_init__(self) -> None:
        for name in ("hp_p_kw", "ev_p_kw", "pv_curtailment", "pv_q_kvar"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))


@dataclass(frozen=True, kw_only=True, eq=False)
class SimState:
    """State of the simulated feeder at the start of a step (leading batch axis for a batch).

    Attributes:
        step: Index of the next step (0 at reset): an int, or ``(B,)`` ints.
        t_indoor_c, t_envelope_c: ``(n_hp,)`` house temperatures [°C].
        ev_soc: ``(n_ev,)`` EV state of charge [-].
        trafo: Transformer thermal state.
    """

    step: Any
    t_indoor_c: np.ndarray
    t_envelope_c: np.ndarray
    ev_soc: np.ndarray
    trafo: transformer.TransformerThermalState


@dataclass(frozen=True, kw_only=True, eq=False)
class Grid:
    """The grid quantities of a power flow (NaN where a snapshot has no solution).

    Attributes:
        v_pu: ``(n_bus,)`` voltage magnitudes [pu].
        loading: ``(n_branch,)`` branch loading (current over its limit) [-].
        l_pu: ``(n_branch,)`` squared series current [pu² on the feeder base].
        p_loss_kw, p_loss_series_kw: Feeder losses and their load-dependent part [kW].
        p_slack_kw: Power drawn from the MV grid [kW].
        trafo_loading: Transformer loading [-].
        converged: Whether the power flow has a solution.
    """

    v_pu: np.ndarray
    loading: np.ndarray
    l_pu: np.ndarray
    p_loss_kw: Any
    p_loss_series_kw: Any
    p_slack_kw: Any
    trafo_loading: Any
    converged: Any


@dataclass(frozen=True, kw_only=True, eq=False)
class StepResult:
    """Measurements of one step (device powers over the step, states and hot spot at its end).

    Per-device arrays are ``(n,)``, bus arrays ``(n_bus,)``, branch arrays ``(n_branch,)``, scalars
    floats; a batch adds a leading axis ``B`` to all of them.

    Attributes:
        hp_p_kw, hp_heat_kw: HP electrical power and heat [kW].
        ev_p_kw: EV charging power [kW]; ``ev_plugged``: availability.
        pv_p_kw, pv_q_kvar: PV generation [kW] and injected reactive power [kvar];
        pv_available_kw: available PV power [kW].
        bus_p_kw, bus_q_kvar: Net load of each bus [kW], [kvar].
        meter_p_kw: ``(n_load,)`` net load of each household meter (feeder load) [kW].
        v_pu, loading, l_pu: Voltages [pu], branch loadings [-], squared series currents [pu²].
        p_loss_kw, p_loss_series_kw, p_slack_kw: Losses, their series part and the MV import [kW].
        trafo_loading: Transformer loading [-]; ``hot_spot_c``: its hot spot [°C];
        loss_of_life_h: Its loss of life over the step [h].
        t_indoor_c: Indoor temperatures at the end of the step [°C].
        ev_unmet_kwh: EV energy missing at the deadlines that fell at the end of this step [kWh].
        price_eur_per_kwh, feed_in_eur_per_kwh: Tariff of the step.
        converged: The power flow had a solution (else the episode must end).
        terms: Raw cost terms by name (:data:`~thermogrid_env.sim.costs.TERM_NAMES`).
        reward: ``-Σ w · terms``.
        kpis: KPI increments of the step (:func:`thermogrid_env.sim.kpi.step_kpis`).
    """

    hp_p_kw: np.ndarray
    hp_heat_kw: np.ndarray
    ev_p_kw: np.ndarray
    ev_plugged: np.ndarray
    pv_p_kw: np.ndarray
    pv_q_kvar: np.ndarray
    pv_available_kw: np.ndarray
    bus_p_kw: np.ndarray
    bus_q_kvar: np.ndarray
    meter_p_kw: np.ndarray
    v_pu: np.ndarray
    loading: np.ndarray
    l_pu: np.ndarray
    p_loss_kw: Any
    p_loss_series_kw: Any
    p_slack_kw: Any
    trafo_loading: Any
    hot_spot_c: Any
    loss_of_life_h: Any
    t_indoor_c: np.ndarray
    ev_unmet_kwh: Any
    price_eur_per_kwh: Any
    feed_in_eur_per_kwh: Any
    converged: Any
    terms: dict[str, Any]
    reward: Any
    kpis: dict[str, Any]


class Simulator:
    """Steps one episode, or a batch of episodes of one scenario, through their exogenous data.

    Args:
        episodes: An :class:`~thermogrid_env.sim.episode.Episode` (unbatched arrays), or a
            sequence of episodes of the same scenario (a batch; their communities, days and EV
            sessions may differ, the feeder and device counts may not).
        powerflow_backend: ``"auto"``, ``"numba"`` or ``"numpy"``.
        parallel_powerflow: Spread the power flows of a batch of at least
            :data:`~thermogrid_env.physics.powerflow.PARALLEL_MIN_BATCH` episodes over numba's
            threads (:class:`~thermogrid_env.physics.powerflow.PowerFlowSolver`'s ``parallel``;
            identical results).

    Raises:
        ConfigError: An empty batch, or episodes that cannot be batched (different scenarios,
            feeders or device counts: batch those separately).
    """

    def __init__(self, episodes: Any, powerflow_backend: str = "auto", *, parallel_powerflow: bool = False) -> None:
        from thermogrid_env.sim.episode import Episode  # noqa: PLC0415

        single = isinstance(episodes, Episode)
        eps = [episodes] if single else list(episodes)
        if not eps or not all(isinstance(e, Episode) for e in eps):
            raise ConfigError("Simulator needs an Episode or a non-empty sequence of Episodes.")
        sc = eps[0].scenario
        for e in eps[1:]:
            if e.scenario != sc:
                raise ConfigError(
                    "Episodes of different scenarios cannot be batched (the device counts, feeder or step may "
                    f"differ: {sc.name!r} vs {e.scenario.name!r}); make one batch per scenario.")
        self.single = single
        self.episodes = eps
        self.batch_size = len(eps)
        self.scenario: Scenario = sc
        self.community = eps[0].community
        self.feeder = self.community.feeder
        self.dt_s = float(sc.dt_s)
        self.dt_h = sc.dt_h
        self.n_steps = eps[0].exogenous.n_steps
        self.powerflow = PowerFlowSolver(self.feeder, backend=powerflow_backend, parallel=parallel_powerflow)
        f = self.feeder
        self.cost_context = costs.CostContext(
            dt_h=self.dt_h, v_min_pu=sc.v_min_pu, v_max_pu=sc.v_max_pu, t_min_c=sc.comfort.t_min_c,
            t_max_c=sc.comfort.t_max_c, lv_buses=np.arange(1, f.n_bus), l_max_pu=l_max_pu(f),
            weights=sc.reward_weights,
        )
        self._weights = costs.weight_vector(sc.reward_weights)
        self._is_line = ~f.is_transformer
        self._trafo = eps[0].community.transformer
        self._trafo_table = transformer.step_table(self._trafo.params, self.dt_s)
        self._setup_arrays(eps, single)

    # ------------------------------------------------------------------ set-up
    def _check_episode(self, e: Any) -> None:
        """Raise unless an episode can join this batch."""
        h, v, p = e.community.houses, e.evs, e.community.pvs
        if (h.n, v.n, p.n) != (self.n_hp, self.n_ev, self.n_pv):
            raise ConfigError("Episodes with different device counts cannot be batched.")
        if e.community.feeder is not self.feeder and e.community.feeder.name != self.feeder.name:
            raise ConfigError("Episodes on different feeders cannot be batched (one power flow per batch).")
        if e.scenario != self.scenario:
            raise ConfigError("Episodes of different scenarios cannot be batched; make one batch per scenario.")

    def _write_series(self, eps: list[Any], rows: np.ndarray) -> None:
        """Write the ``(T, ...)`` per-episode series of episodes into the given rows of the stacked
        ``(B, T, ...)`` arrays (allocated on the first call). Elementwise and gathers only: an
        episode's numbers do not depend on the others."""
        a, t = self._arrays, self.n_steps
        if "base_p" not in a:
            shapes = {"t_amb": (), "irr": (), "price": (), "base_p": (self.feeder.n_bus,),
                      "base_q": (self.feeder.n_bus,), "meter_base": (self.feeder.n_load,), "cop": (self.n_hp,),
                      "q_int": (self.n_hp,), "pv_avail": (self.n_pv,)}
            a.update({k: np.empty((self.batch_size, t) + shape) for k, shape in shapes.items()})
        xs = [e.exogenous for e in eps]
        base_p, base_q, meter_base, q_int = a["base_p"], a["base_q"], a["meter_base"], a["q_int"]
        for i, x, e in zip(rows, xs, eps):  # the bulk, row by row (one copy; stacking first makes two)
            base_p[i], base_q[i], meter_base[i] = x.base_p_kw, x.base_q_kvar, x.household_p_kw
            q_int[i] = x.household_p_kw[:, e.community.houses.load]
        t_amb = np.stack([x.t_ambient_c for x in xs])
        a["t_amb"][rows] = t_amb
        a["irr"][rows] = np.stack([x.irradiance_w_per_m2 for x in xs])
        a["price"][rows] = np.stack([x.price_eur_per_kwh for x in xs])
        a["cop"][rows] = heat_pump.fleet_cop_series([e.community.houses.heat_pump for e in eps], t_amb)
        a["pv_avail"][rows] = pv_available_series([e.community.pvs for e in eps], np.stack([x.pv_per_kwp for x in xs]))

    def _device_rows(self, eps: list[Any], rows: np.ndarray) -> dict[str, np.ndarray]:
        """Every other per-episode array, for several episodes at once (``(R, ...)`` each; the devices'
        bus and meter indices carry each row's offset in the flattened batch)."""
        def stack(values: Any) -> np.ndarray:
            return np.stack(list(values))

        hs, vs, ps = [e.community.houses for e in eps], [e.evs for e in eps], [e.community.pvs for e in eps]
        ss = [v.sessions for v in vs]
        n_bus, n_load = self.feeder.n_bus, self.feeder.n_load
        offset = np.asarray(rows, dtype=np.int64)[:, None]
        ev_pmax, v2g = stack(s.p_max_kw for s in ss), stack(s.v2g for s in ss)
        ev_cap, ev_eff, pv_s = stack(s.capacity_kwh for s in ss), stack(s.efficiency for s in ss), \
            stack(p.s_inverter_kva for p in ps)
        hp_bus, ev_bus, pv_bus = stack(h.bus for h in hs), stack(v.bus for v in vs), stack(p.bus for p in ps)
        out = {
            "feed_in": np.array([e.exogenous.feed_in_eur_per_kwh for e in eps], dtype=np.float64),
            "hp_pmax": stack(h.p_max_kw for h in hs),
            "ev_arrival": stack(s.arrival_step for s in ss), "ev_departure": stack(s.departure_step for s in ss),
            "ev_pmax": ev_pmax, "ev_dis_max": np.where(v2g, ev_pmax, 0.0),
            "ev_soc_target": stack(s.soc_target for s in ss), "ev_cap": ev_cap, "ev_soc_min": stack(s.soc_min for s in ss),
            "ev_eff": ev_eff, "ev_v2g": v2g, "pv_s": pv_s, "pv_s_sq": pv_s * pv_s,
            "p_bus_idx": np.concatenate([hp_bus, ev_bus, pv_bus], axis=1) + offset * n_bus,
            "q_bus_idx": np.concatenate([hp_bus, pv_bus], axis=1) + offset * n_bus,
            "meter_idx": np.concatenate([stack(h.load for h in hs), stack(v.load for v in vs),
                                         stack(p.load for p in ps)], axis=1) + offset * n_load,
            "soc_arrival": stack(s.soc_arrival for s in ss),
        }
        out["ev_deadline"] = deadline_steps(out["ev_departure"], self.n_steps)
        for i in range(len(hs[0].model._coef)):
            out[f"hp_coef{i}"] = stack(h.model._coef[i] for h in hs)
        for i, c in enumerate(ev.step_coefficients(ev_cap, ev_eff, self.dt_s)):
            out[f"ev_coef{i}"] = c
        return out

    def _setup_arrays(self, eps: list[Any], single: bool) -> None:
        self.n_hp, self.n_ev, self.n_pv = eps[0].community.houses.n, eps[0].evs.n, eps[0].community.pvs.n
        for e in eps:
            self._check_episode(e)
        self._arrays = self._device_rows(eps, np.arange(len(eps)))
        self._write_series(eps, np.arange(len(eps)))
        self._bind(single)

    def _bind(self, single: bool) -> None:
        """Point the step's fields at the stacked arrays (views; row 0 for one episode)."""
        a = {k: (v[0] if single else v) for k, v in self._arrays.items()}
        self._t_amb, self._irr, self._price, self._feed_in = a["t_amb"], a["irr"], a["price"], a["feed_in"]
        self._base_p, self._base_q, self._meter_base = a["base_p"], a["base_q"], a["meter_base"]
        self._hp_coef = tuple(a[f"hp_coef{i}"] for i in range(9))
        self._hp_pmax, self._cop, self._q_int = a["hp_pmax"], a["cop"], a["q_int"]
        self._hp_q_per_p = math.tan(math.acos(HP_POWER_FACTOR))
        self._ev_arrival, self._ev_departure, self._ev_deadline = a["ev_arrival"], a["ev_departure"], a["ev_deadline"]
        self._ev_pmax, self._ev_dis_max, self._ev_soc_target = a["ev_pmax"], a["ev_dis_max"], a["ev_soc_target"]
        self._ev_cap = a["ev_cap"]
        self._ev_soc_min = a["ev_soc_min"] if np.any(self._arrays["ev_v2g"]) else None
        self._ev_coef = ev.StepCoeffs(*(a[f"ev_coef{i}"] for i in range(4)))
        self._pv_avail, self._pv_s, self._pv_s_sq = a["pv_avail"], a["pv_s"], a["pv_s_sq"]
        b = self.batch_size
        # flattened views (the stacked arrays are contiguous): a replaced row shows through
        self._inj_idx = tuple(self._arrays[k].reshape(-1) for k in ("p_bus_idx", "q_bus_idx", "meter_idx"))
        self._base3 = (self._arrays["base_p"], self._arrays["base_q"], self._arrays["meter_base"])
        self._k1 = np.zeros(1, dtype=np.int64)
        self._injections = device_injections
        n_bus, n_load = self.feeder.n_bus, self.feeder.n_load
        self._n_bus, self._n_load = n_bus, n_load
        self._ar = np.arange(b)
        self._n_lv = n_bus - 1

    def replace_episodes(self, rows: Any, episodes: Any) -> None:
        """Put ``episodes[j]`` into row ``rows[j]`` of a batch (sub-environments' resets, all at once).

        Raises:
            ConfigError: One episode (use a new simulator), mismatched lengths, or an episode that
                cannot join the batch.
        """
        if self.single:
            raise ConfigError("replace_episodes is for batches; make a new Simulator for one episode.")
        rows = np.asarray(rows, dtype=np.intp).reshape(-1)
        episodes = list(episodes)
        if rows.size != len(episodes):
            raise ConfigError(f"replace_episodes: {rows.size} rows for {len(episodes)} episodes.")
        for e in episodes:
            self._check_episode(e)
        for k, value in self._device_rows(episodes, rows).items():
            self._arrays[k][rows] = value
        self._write_series(episodes, rows)
        for i, e in zip(rows, episodes):
            self.episodes[i] = e
        if self._ev_soc_min is None and np.any(self._arrays["ev_v2g"][rows]):
            self._bind(False)

    def initial_rows(self, rows: Any) -> tuple[SimState, np.ndarray, np.ndarray]:
        """The initial state of some rows of a batch (after their reset), with the first power flow.

        Returns:
            ``(state, v_pu, trafo_loading)``: the rows' :meth:`initial_state` (a batch of
            ``len(rows)``) and the bus voltages ``(R, n_bus)`` and transformer loading ``(R,)`` of
            their first step's base load (what is measured before the first step).
        """
        rows = np.asarray(rows, dtype=np.intp).reshape(-1)
        sc = self.scenario
        a = self._arrays
        t_a0 = a["t_amb"][rows, 0]
        t_in = np.full((rows.size, self.n_hp), sc.comfort.t_initial_c)
        t_env = np.stack([self.episodes[i].community.houses.envelope_steady_c(t_in[j], float(t_a0[j]))
                          for j, i in enumerate(rows)])
        g = self.powerflow.solve(a["base_p"][rows, 0], a["base_q"][rows, 0]).compute_step_quantities()  # as _grid
        loading = np.asarray(g.transformer_loading, dtype=float).reshape(-1)
        trafo = transformer.initial_state(self._trafo.params, t_a0, loading)
        state = SimState(step=np.zeros(rows.size, dtype=np.int64), t_indoor_c=t_in, t_envelope_c=t_env,
                         ev_soc=np.array(a["soc_arrival"][rows], dtype=float), trafo=trafo)
        return state, np.asarray(g.v_pu).reshape(rows.size, -1), loading

    def _col(self, x: Any) -> Any:
        """A per-episode value as a column against ``(B, n)`` arrays (as is for one episode)."""
        return x if self.single else np.asarray(x)[:, None]

    def _take(self, a: np.ndarray, k: Any) -> Any:
        """Row ``k`` of a ``(T, ...)`` series, or of each episode's ``(B, T, ...)`` series at its own step."""
        return a[k] if self.single else a[self._ar, k]

    def _step_helpers(self) -> tuple[Any, Any]:
        """:meth:`_take` and :meth:`_col` for the hot path (for one episode: plain indexing and identity)."""
        return (operator.getitem, _identity) if self.single else (self._take, self._col)

    # ------------------------------------------------------------------ state
    def initial_state(self) -> SimState:
        """State at the start of the episode(s): houses at the comfort band's initial temperature
        with the envelope at its steady state, EVs at their arrival state of charge, transformer
        at its steady state for the first step's base load (:meth:`initial_rows` of every row)."""
        state, _, _ = self.initial_rows(np.arange(self.batch_size))
        if not self.single:
            return state
        return SimState(step=0, t_indoor_c=state.t_indoor_c[0], t_envelope_c=state.t_envelope_c[0],
                        ev_soc=state.ev_soc[0], trafo=transformer.TransformerThermalState(*(x[0] for x in state.trafo)))

    def initial_grid(self) -> Grid:
        """The power flow of the first step's base load (what is measured before the first step)."""
        return self._grid(self._base_p[..., 0, :], self._base_q[..., 0, :])

    def _grid(self, bus_p: np.ndarray, bus_q: np.ndarray) -> Grid:
        """Power flow of the bus loads; snapshots without a solution get NaN and ``converged`` false."""
        try:
            res = self.powerflow.solve(bus_p, bus_q).compute_step_quantities()
            return Grid(v_pu=res.v_pu, loading=res.loading, l_pu=res.l_pu, p_loss_kw=res.p_loss_kw,
                        p_loss_series_kw=res.p_loss_series_kw, p_slack_kw=res.p_slack_kw,
                        trafo_loading=res.transformer_loading, converged=True if self.single else np.ones(
                            self.batch_size, dtype=bool))
        except PowerFlowDiverged as exc:
            failed = np.asarray(exc.batch_indices if exc.batch_indices else [0], dtype=np.int64)
        f = self.feeder
        if self.single:
            nan_bus, nan_br = np.full(f.n_bus, np.nan), np.full(f.n_branch, np.nan)
            return Grid(v_pu=nan_bus, loading=nan_br, l_pu=nan_br, p_loss_kw=np.nan, p_loss_series_kw=np.nan,
                        p_slack_kw=np.nan, trafo_loading=np.nan, converged=False)
        ok = np.ones(self.batch_size, dtype=bool)
        ok[failed] = False
        fields = {"v_pu": np.full((self.batch_size, f.n_bus), np.nan),
                  "loading": np.full((self.batch_size, f.n_branch), np.nan),
                  "l_pu": np.full((self.batch_size, f.n_branch), np.nan)}
        scalars = {k: np.full(self.batch_size, np.nan) for k in
                   ("p_loss_kw", "p_loss_series_kw", "p_slack_kw", "trafo_loading")}
        if ok.any():
            sub = self._grid_subset(bus_p[ok], bus_q[ok])
            for name, arr in fields.items():
                arr[ok] = getattr(sub, name)
            for name, arr in scalars.items():
                arr[ok] = getattr(sub, name)
            ok[np.flatnonzero(ok)] = sub.converged
        return Grid(**fields, **scalars, converged=ok)

    def _grid_subset(self, bus_p: np.ndarray, bus_q: np.ndarray) -> Grid:
        """Solve snapshots one by one after a batch failed (rare: only after a collapse)."""
        rows = []
        for p, q in zip(bus_p, bus_q):
            try:
                r = self.powerflow.solve(p, q)
                rows.append((r.v_pu, r.loading, r.l_pu, r.p_loss_kw, r.p_loss_series_kw, r.p_slack_kw,
                             r.transformer_loading, True))
            except PowerFlowDiverged:
                f = self.feeder
                rows.append((np.full(f.n_bus, np.nan), np.full(f.n_branch, np.nan), np.full(f.n_branch, np.nan),
                             np.nan, np.nan, np.nan, np.nan, False))
        cols = list(zip(*rows))
        return Grid(v_pu=np.array(cols[0]), loading=np.array(cols[1]), l_pu=np.array(cols[2]),
                    p_loss_kw=np.array(cols[3]), p_loss_series_kw=np.array(cols[4]), p_slack_kw=np.array(cols[5]),
                    trafo_loading=np.array(cols[6]), converged=np.array(cols[7]))

    # ------------------------------------------------------------------ step
    def step(self, state: SimState, setpoints: Setpoints, *, checked: bool = False) -> tuple[SimState, StepResult]:
        """Advance one step.

        Args:
            state: State at the start of the step (not modified).
            setpoints: Physical set-points; device limits are enforced here.
            checked: The caller guarantees the set-points' shapes and finiteness (the environments
                build them from validated actions), so they are not checked again.

        Returns:
            ``(next_state, measurements)``.

        Raises:
            ConfigError: The episode is over, or set-points have the wrong shape or are NaN.
        """
        k = state.step
        if (k >= self.n_steps) if self.single else np.any(k >= self.n_steps):
            raise ConfigError(f"The episode has {self.n_steps} steps; reset before stepping again.")
        if not checked:
            self._check_setpoints(setpoints)
        take, col = self._step_helpers()
        t_a = take(self._t_amb, k)

        # 1-2. heat pumps and houses
        hp_p = np.minimum(np.maximum(setpoints.hp_p_kw, 0.0), self._hp_pmax)
        hp_heat = take(self._cop, k) * hp_p
        t_in, t_env = building._apply(self._hp_coef, state.t_indoor_c, state.t_envelope_c, col(t_a), hp_heat,
                                      take(self._q_int, k), col(take(self._irr, k)))

        # 3. EVs, and what is missing at the deadlines reached at the end of the step
        kc = col(k)
        plugged = (self._ev_arrival <= kc) & (kc < self._ev_departure)
        soc, ev_p = ev.soc_step(state.ev_soc, setpoints.ev_p_kw, np.where(plugged, self._ev_pmax, 0.0),
                                np.where(plugged, self._ev_dis_max, 0.0), self._ev_coef, self._ev_soc_min)
        due = self._ev_deadline == kc + 1
        unmet = np.add.reduce(np.maximum(self._ev_soc_target - soc, 0.0) * self._ev_cap * due, axis=-1)

        # 4. PV
        pv_avail = take(self._pv_avail, k)
        pv_p, pv_q = pv.dispatch_arrays(self._pv_s, self._pv_s_sq, pv_avail, setpoints.pv_curtailment,
                                        setpoints.pv_q_kvar)

        # 5. power flow (load positive) and the meters
        if self.single:
            self._k1[0] = k
            bus_p, bus_q, meter_p = self._injections(self._k1, *self._base3, hp_p.reshape(1, -1), ev_p.reshape(1, -1),
                                                     pv_p.reshape(1, -1), pv_q.reshape(1, -1), self._hp_q_per_p,
                                                     *self._inj_idx)
            bus_p, bus_q, meter_p = bus_p[0], bus_q[0], meter_p[0]
        else:
            bus_p, bus_q, meter_p = self._injections(k, *self._base3, hp_p, ev_p, pv_p, pv_q, self._hp_q_per_p,
                                                     *self._inj_idx)
        grid = self._grid(bus_p, bus_q)

        # 6. transformer (its state is kept where the power flow has no solution)
        load = grid.trafo_loading if self.single else np.where(grid.converged, grid.trafo_loading, 0.0)
        if self.single and not grid.converged:
            trafo_state, hot_spot, lol = state.trafo, float(state.trafo.hot_spot_c), 0.0
        else:
            # the load factor of a converged power flow (>= 0, finite) and the data's ambient: no checks
            trafo_state, hot_spot, lol = transformer.step_unchecked(
                self._trafo.params, self._trafo_table, state.trafo, float(load) if self.single else load,
                float(t_a) if self.single else t_a)
            if not self.single and not np.all(grid.converged):
                keep = ~grid.converged
                trafo_state = transformer.TransformerThermalState(
                    *(np.where(keep, old, new) for old, new in zip(state.trafo, trafo_state)))
                hot_spot = np.where(keep, state.trafo.hot_spot_c, hot_spot)
                lol = np.where(keep, 0.0, lol)

        next_state = SimState(step=k + 1, t_indoor_c=t_in, t_envelope_c=t_env, ev_soc=soc, trafo=trafo_state)
        result = StepResult(
            hp_p_kw=hp_p, hp_heat_kw=hp_heat, ev_p_kw=ev_p, ev_plugged=plugged, pv_p_kw=pv_p, pv_q_kvar=pv_q,
            pv_available_kw=pv_avail, bus_p_kw=bus_p, bus_q_kvar=bus_q, meter_p_kw=meter_p, v_pu=grid.v_pu,
            loading=grid.loading, l_pu=grid.l_pu, p_loss_kw=grid.p_loss_kw, p_loss_series_kw=grid.p_loss_series_kw,
            p_slack_kw=grid.p_slack_kw, trafo_loading=grid.trafo_loading, hot_spot_c=hot_spot, loss_of_life_h=lol,
            t_indoor_c=t_in, ev_unmet_kwh=unmet, price_eur_per_kwh=take(self._price, k),
            feed_in_eur_per_kwh=self._feed_in, converged=grid.converged, terms={}, reward=0.0, kpis={},
        )
        self._book(result, k)
        return next_state, result

    def _book(self, res: StepResult, k: Any) -> None:
        """Cost terms, reward and KPI increments of a step (into ``res``)."""
        ctx = self.cost_context
        terms = costs.measure(res, ctx)
        if res.converged is not True and not np.all(res.converged):  # collapse: the penalty replaces the grid terms
            bad = ~np.asarray(res.converged)
            penalty = costs.collapse_penalty(ctx, self.n_steps - np.asarray(k))
            for name in ("losses", "aging", "overload"):
                terms[name] = np.where(bad, 0.0, np.nan_to_num(terms[name])) if not self.single else 0.0
            terms["voltage"] = np.where(bad, penalty, np.nan_to_num(terms["voltage"])) if not self.single else penalty
        reward = 0.0
        for w, name in zip(self._weights, costs.TERM_NAMES):
            reward = reward - w * terms[name]
        res.terms.update(terms)
        object.__setattr__(res, "reward", reward)
        res.kpis.update(kpi.step_kpis(res, terms, ctx, self._is_line))

    def targets_to_setpoints(self, state: SimState, hp_target_c: np.ndarray, ev_urgency: np.ndarray,
                             pv_curtailment: np.ndarray, pv_q_kvar: np.ndarray) -> Setpoints:
        """Set-points of the set-point action mode: indoor targets and charging urgencies.

        Each heat pump's thermostat brings its house to ``hp_target_c`` at the end of the step as far
        as its rating allows (the exact inverse of the house model, :func:`~thermogrid_env.physics.building.heat_for_target`,
        with the step's COP, internal and solar gains); each EV charges at its ``ev_urgency`` in
        ``[0, 1]`` between the least power that still meets its target by its deadline and full
        power (:func:`~thermogrid_env.physics.ev.power_for_urgency`); PV as given.

        Args:
            state: The state at the start of the step.
            hp_target_c: Indoor targets [°C] (``(n_hp,)``, batched ``(B, n_hp)``).
            ev_urgency: Charging urgencies [-].
            pv_curtailment, pv_q_kvar: PV set-points, as :class:`Setpoints`.
        """
        k = state.step
        take, col = self._step_helpers()
        heat = building.heat_for_target(self._hp_coef, state.t_indoor_c, state.t_envelope_c, col(take(self._t_amb, k)),
                                        np.asarray(hp_target_c, dtype=float), take(self._q_int, k),
                                        col(take(self._irr, k)))
        hp_p = np.minimum(np.maximum(heat / take(self._cop, k), 0.0), self._hp_pmax)
        kc = col(k)
        plugged = (self._ev_arrival <= kc) & (kc < self._ev_departure)
        steps_after = np.maximum(self._ev_deadline - kc - 1, 0)
        ev_p = ev.power_for_urgency(ev_urgency, state.ev_soc, self._ev_cap, self._arrays_view("ev_eff"), self._ev_pmax,
                                    self._ev_soc_target * self._ev_cap, steps_after, self.dt_h)
        return Setpoints(hp_p_kw=hp_p, ev_p_kw=np.where(plugged, ev_p, 0.0), pv_curtailment=pv_curtailment,
                         pv_q_kvar=pv_q_kvar)

    def _arrays_view(self, name: str) -> np.ndarray:
        """A stacked per-episode array (row 0 for one episode)."""
        arr = self._arrays[name]
        return arr[0] if self.single else arr

    def _check_setpoints(self, sp: Setpoints) -> None:
        lead = () if self.single else (self.batch_size,)
        for name, n in (("hp_p_kw", self.n_hp), ("ev_p_kw", self.n_ev), ("pv_curtailment", self.n_pv),
                        ("pv_q_kvar", self.n_pv)):
            arr = getattr(sp, name)
            if arr.shape != lead + (n,):
                raise ConfigError(f"Setpoints.{name} must have shape {lead + (n,)}, got {arr.shape}.")
            # The sum is NaN or inf exactly when an element is (cheaper than isfinite().all()).
            if not math.isfinite(arr.sum()) and not np.isfinite(arr).all():
                raise ConfigError(f"Setpoints.{name} contains NaN or inf.")
