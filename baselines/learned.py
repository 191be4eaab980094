"""The learned controller: small per-device policies cloned from the oracle, acting through set-points.

``learned`` (:class:`LearnedController`) drives every device with a policy shared by all devices of
its kind (parameter sharing across households, so one policy serves any community and every preset
of a feeder):

* a heat pump's policy gives the indoor temperature its house should reach by the end of the step;
  the house's model-based thermostat (:func:`~thermogrid_env.physics.building.heat_for_target`, the
  environment's set-point action mode) turns it into electrical power;
* an EV's policy gives its charging urgency between the least power that still meets its declared
  need by its declared departure and full power (:func:`~thermogrid_env.physics.ev.power_for_urgency`);
* a PV inverter's policy gives its reactive power and curtailment.

The policies are multilayer perceptrons on features of the :class:`~thermogrid_env.sim.view.ControllerView`
(the device's own state and parameters, the clock, the tariff ahead, the weather now and its causal
forecast, the transformer): only what a causal controller may know. A **safety projection** onto device and grid limits
keeps every action inside the devices' limits (the thermostat's power within the heat pump's
rating, urgencies in ``[0, 1]`` that never charge less than an EV's requirement needs, reactive
power in the inverter's circle) and keeps PV reactive power from pushing a bus near the voltage
band's edge further out (``VOLTAGE_MARGIN_PU``), and keeps every indoor target at least
``COMFORT_FLOOR_K`` above the comfort band's lower edge (the houses' policy also learns "off", the
lowest target, from the hours the oracle does not heat; regressing between "off" and the band's edge
left winter houses a little below the band without the floor).

They were trained by behaviour cloning on oracle demonstrations of training days
(:mod:`baselines.learned_training`, ``python -m baselines.learned_training``); the weights ship as
``baselines/weights/learned-v1.npz`` and are read with ``numpy.load(allow_pickle=False)`` (no
pickle, no torch needed to act).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from baselines.protocol import EnvController
from thermogrid_env.envs.actions import setpoint_of_action
from thermogrid_env.errors import ConfigError, DataError
from thermogrid_env.physics import building, ev, heat_pump
from thermogrid_env.sim.simulator import Setpoints
from thermogrid_env.sim.view import ControllerView

__all__ = ["COMFORT_FLOOR_K", "DEFAULT_WEIGHTS", "LearnedController", "Policy", "actions_to_setpoints", "features", "load_policies",
           "save_policies"]

#: The shipped weights (package data of ``baselines``).
DEFAULT_WEIGHTS = "learned-v1.npz"
#: Indoor targets stay at least this far above the comfort band's lower edge [K] (safety projection).
COMFORT_FLOOR_K = 0.03
#: PV inverters near the voltage band's edges (this close, from the last step's voltage [pu]) do not
#: push further towards it (the safety projection of reactive power).
VOLTAGE_MARGIN_PU = 0.02
#: Device kinds with a policy, and their output size.
KINDS = {"hp": 1, "ev": 1, "pv": 2}
_HORIZON_STEPS = 48  # the tariff and forecast features look 12 h ahead (15-min steps)


@dataclass(frozen=True)
class Policy:
    """A multilayer perceptron ``tanh(W_L ... relu(W_1 ((x - mean) / std) + b_1) ... + b_L)``.

    Attributes:
        weights, biases: One ``(n_in, n_out)`` matrix and ``(n_out,)`` vector per layer.
        x_mean, x_std: Feature normalisation.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    x_mean: np.ndarray
    x_std: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Actions in ``[-1, 1]`` of ``(n, n_features)`` features."""
        h = (np.asarray(x, dtype=np.float64) - self.x_mean) / self.x_std
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            h = np.maximum(h, 0.0) if i < len(self.weights) - 1 else np.tanh(h)
        return h

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The arrays to store under ``prefix``."""
        out = {f"{prefix}/x_mean": self.x_mean, f"{prefix}/x_std": self.x_std}
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            out[f"{prefix}/w{i}"], out[f"{prefix}/b{i}"] = w, b
        return out


def load_policies(path: str | Path | None = None) -> dict[str, Policy]:
    """The policies stored in an ``.npz`` file (default: the shipped weights), without unpickling.

    Raises:
        DataError: Missing file, or a file that is not a set of ThermoGrid policies.
    """
    if path is None:
        ref = resources.files("baselines") / "weights" / DEFAULT_WEIGHTS
        if not ref.is_file():
            raise DataError(f"The shipped weights {ref} are missing; retrain with `python -m baselines.learned_training`.")
        path = Path(str(ref))
    path = Path(path)
    if not path.is_file():
        raise DataError(f"No policy weights at {path}.")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: np.asarray(data[k]) for k in data.files}
    out = {}
    for kind in KINDS:
        layers = sorted(int(k.rsplit("/w", 1)[1]) for k in arrays if k.startswith(f"{kind}/w"))
        if not layers or f"{kind}/x_mean" not in arrays:
            raise DataError(f"{path} holds no {kind!r} policy (keys {sorted(arrays)[:8]}...).")
        out[kind] = Policy(weights=tuple(arrays[f"{kind}/w{i}"] for i in layers),
                           biases=tuple(arrays[f"{kind}/b{i}"] for i in layers),
                           x_mean=arrays[f"{kind}/x_mean"], x_std=arrays[f"{kind}/x_std"])
        if out[kind].weights[0].shape[0] != out[kind].x_mean.shape[0] != 0:
            raise DataError(f"{path}: the {kind!r} policy's input size does not match its normalisation.")
    return out


# ------------------------------------------------------------------------------------------ features
def _common(view: ControllerView) -> np.ndarray:
    """Features every device sees: clock, tariff ahead, weather now and its forecast.

    Nothing the policies' own actions move (bus voltages, transformer loading and hot spot) is a
    feature: cloned policies fed their own effects drifted out of the demonstrations' range and
    saturated (PV reactive power at its limit every night of held-out summer days).
    """
    k, n = view.step, view.n_steps
    hour = float(view.hour_local[min(k, n - 1)])
    prices = np.asarray(view.price_eur_per_kwh)
    ahead = prices[min(k, n - 1):min(k + _HORIZON_STEPS, n)]
    fc = view.forecast(_HORIZON_STEPS)
    mid = fc.t_ambient_c.shape[0] // 2
    return np.array([
        np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24), prices[min(k, n - 1)], ahead.mean(),
        ahead.min(), ahead.max(), float(np.mean(ahead < prices[min(k, n - 1)] - 1e-9)),
        view.t_ambient_c / 10.0, fc.t_ambient_c[mid, :16].mean() / 10.0, fc.t_ambient_c[mid, :].mean() / 10.0,
        fc.t_ambient_c[mid, :].max() / 10.0, fc.t_ambient_c[-1, :].max() / 10.0,
        view.pv_per_kwp, fc.pv_per_kwp[mid, :8].mean(), fc.pv_per_kwp[mid, :].mean(), (n - k) / n,
    ])


def features(view: ControllerView) -> dict[str, np.ndarray]:
    """Per device kind, the ``(n_devices, n_features)`` features of the policies at this step."""
    common = _common(view)
    c, sc = view.community, view.scenario
    t_min, t_max = sc.comfort.t_min_c, sc.comfort.t_max_c
    out = {}
    h = c.houses
    if h.n:
        b = h.building
        cop = np.broadcast_to(heat_pump.device_cop(h.heat_pump, view.t_ambient_c), (h.n,))
        # heat the thermostat needs to hold the lower edge, as a share of the heat pump's capacity
        hold = building.heat_for_target(h.model._coef, view.t_indoor_c, view.t_envelope_c, view.t_ambient_c,
                                        t_min, view.load_p_kw[h.load], view.pv_per_kwp * 1000.0)
        own = np.column_stack([
            view.t_indoor_c - t_min, view.t_envelope_c - t_min, (t_max - t_min) * np.ones(h.n),
            b.heat_loss_coefficient_kw_per_k, b.c_i_kwh_per_k, b.c_e_kwh_per_k / 10.0,
            b.c_e_kwh_per_k * b.r_ea_k_per_kw / 100.0, h.p_max_kw, cop, hold / (cop * h.p_max_kw),
        ])
        out["hp"] = np.hstack([own, np.broadcast_to(common, (h.n, common.size))])
    d = view.evs
    if d.n:
        k = view.step
        plugged = d.plugged
        deadline = np.where(plugged, d.deadline_step, k + 1)
        steps_left = np.maximum(deadline - k, 1)
        need = np.nan_to_num(d.target_kwh - d.energy_kwh)
        p_max = np.nan_to_num(d.p_max_kw)
        eff = np.nan_to_num(d.efficiency, nan=1.0)
        full_steps = np.divide(need, eff * p_max * view.dt_h, out=np.zeros(d.n), where=p_max > 0)
        prices = np.asarray(view.price_eur_per_kwh)
        now = prices[min(k, view.n_steps - 1)]
        cheaper = np.array([np.mean(prices[k:max(k + 1, min(int(e), view.n_steps))] < now - 1e-9) for e in deadline])
        own = np.column_stack([plugged, np.nan_to_num(d.soc), need / 50.0, steps_left / 96.0, full_steps / 96.0,
                               full_steps / steps_left, p_max / 11.0, cheaper])
        out["ev"] = np.hstack([own, np.broadcast_to(common, (d.n, common.size))])
    p = c.pvs
    if p.n:
        rated = c.transformer.rated_kva
        # the reactive power the feeder and the household draw now (what injected q compensates)
        q_feeder = float(np.sum(view.load_q_kvar))
        if h.n:
            q_feeder += float(np.sum(view.last.hp_p_kw)) * h.q_per_p if view.last is not None else 0.0
        own = np.column_stack([view.pv_available_kw / p.s_inverter_kva, p.s_inverter_kva / 10.0,
                               view.load_p_kw[p.load], view.load_q_kvar[p.load], np.full(p.n, q_feeder / rated * 10.0),
                               np.full(p.n, float(np.sum(view.load_p_kw)) / rated)])
        out["pv"] = np.hstack([own, np.broadcast_to(common, (p.n, common.size))])
    return out


def actions_to_setpoints(view: ControllerView, actions: dict[str, np.ndarray], safety: bool = True,
                         comfort_floor_k: float | None = None) -> Setpoints:
    """Set-points of the policies' actions in ``[-1, 1]`` (the set-point action mode's mapping).

    Args:
        view: The step's view.
        actions: Per device kind, ``(n, outputs)`` actions.
        safety: Apply the grid safety projection (PV reactive power near the voltage band's edges).
        comfort_floor_k: Keep indoor targets at least this far above the comfort band's lower edge
            [K] (``None``: no floor).
    """
    c, sc = view.community, view.scenario
    t_min, t_max = sc.comfort.t_min_c, sc.comfort.t_max_c
    h = c.houses
    hp_p = np.zeros(h.n)
    if h.n:
        target = setpoint_of_action(actions["hp"][:, 0], t_min, t_max)
        if comfort_floor_k is not None:
            target = np.maximum(target, t_min + comfort_floor_k)
        heat = building.heat_for_target(h.model._coef, view.t_indoor_c, view.t_envelope_c, view.t_ambient_c, target,
                                        view.load_p_kw[h.load], view.pv_per_kwp * 1000.0)
        cop = heat_pump.device_cop(h.heat_pump, view.t_ambient_c)
        hp_p = np.clip(heat / cop, 0.0, h.p_max_kw)
    d = view.evs
    ev_p = np.zeros(d.n)
    if d.n and d.plugged.any():
        i = np.flatnonzero(d.plugged)
        steps_after = np.maximum(d.deadline_step[i] - view.step - 1, 0)
        urgency = 0.5 * (actions["ev"][i, 0] + 1.0)
        ev_p[i] = ev.power_for_urgency(urgency, d.soc[i], d.capacity_kwh[i], d.efficiency[i], d.p_max_kw[i],
                                       d.target_kwh[i], steps_after, view.dt_h)
    p = c.pvs
    curtail, q = np.zeros(p.n), np.zeros(p.n)
    if p.n:
        curtail = 0.5 * (actions["pv"][:, 1] + 1.0)
        q = actions["pv"][:, 0] * p.s_inverter_kva
        if safety and view.last is not None and view.last.converged:
            # grid safety: no injection where the bus is near the band's top, no absorption near its bottom
            v = view.last.v_pu[p.bus]
            q = np.where(v > sc.v_max_pu - VOLTAGE_MARGIN_PU, np.minimum(q, 0.0), q)
            q = np.where(v < sc.v_min_pu + VOLTAGE_MARGIN_PU, np.maximum(q, 0.0), q)
    return Setpoints(hp_p_kw=hp_p, ev_p_kw=ev_p, pv_curtailment=curtail, pv_q_kvar=q)


def power_actions_to_setpoints(view: ControllerView, actions: dict[str, np.ndarray]) -> Setpoints:
    """Set-points of power-mode actions (the environment's default mapping; no safety projection)."""
    c = view.community
    h, d, p = c.houses, view.evs, c.pvs
    hp_p = 0.5 * (actions["hp"][:, 0] + 1.0) * h.p_max_kw if h.n else np.zeros(0)
    ev_p = np.where(d.plugged, 0.5 * (actions["ev"][:, 0] + 1.0) * np.nan_to_num(d.p_max_kw), 0.0) if d.n else np.zeros(0)
    curtail = 0.5 * (actions["pv"][:, 1] + 1.0) if p.n else np.zeros(0)
    q = actions["pv"][:, 0] * p.s_inverter_kva if p.n else np.zeros(0)
    return Setpoints(hp_p_kw=hp_p, ev_p_kw=ev_p, pv_curtailment=curtail, pv_q_kvar=q)


class LearnedController(EnvController):
    """The learned per-device policies (module docstring).

    Args:
        weights: Path of an ``.npz`` file of policies (default: the shipped weights).
        safety: Apply the safety projection (``False``: the raw policies, an ablation).
        comfort_floor_k: Keep indoor targets at least this far above the comfort band's lower edge
            [K] (default :data:`COMFORT_FLOOR_K`; ``None``: no floor, an ablation).
        actions: ``"setpoint"`` (the recipe: targets and urgencies) or ``"power"`` (policies cloned
            on power set-points, :func:`power_actions_to_setpoints`; an ablation).
    """

    def __init__(self, weights: str | Path | None = None, safety: bool = True,
                 comfort_floor_k: float | None = COMFORT_FLOOR_K, actions: str = "setpoint") -> None:
        super().__init__()
        if actions not in ("setpoint", "power"):
            raise ConfigError(f"actions must be 'setpoint' or 'power', got {actions!r}.")
        self.actions = actions
        self.policies = load_policies(weights)
        if comfort_floor_k is not None and not (0.0 <= comfort_floor_k < 1.0):
            raise ConfigError(f"comfort_floor_k must be in [0, 1) K or None, got {comfort_floor_k!r}.")
        self.safety = bool(safety)
        self.comfort_floor_k = comfort_floor_k

    def act(self, view: ControllerView) -> dict[str, np.ndarray]:
        """The policies' raw actions in ``[-1, 1]`` per device kind."""
        return {kind: self.policies[kind](x) for kind, x in features(view).items()}

    def setpoints(self, view: ControllerView) -> Setpoints:
        """The set-points of the policies' actions, projected for safety."""
        acts = self.act(view)
        if self.actions == "power":  # the ablation cloned on power set-points: no thermostat, no urgency
            return power_actions_to_setpoints(view, acts)
        return actions_to_setpoints(view, acts, self.safety, self.comfort_floor_k if self.safety else None)


def save_policies(path: str | Path, policies: dict[str, Policy], **metadata: Any) -> Path:
    """Write policies (and numeric/string metadata) as an ``.npz`` file readable without pickle."""
    arrays: dict[str, np.ndarray] = {}
    for kind, pol in policies.items():
        arrays.update(pol.arrays(kind))
    for key, value in metadata.items():
        arrays[f"meta/{key}"] = np.asarray(value)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return path
