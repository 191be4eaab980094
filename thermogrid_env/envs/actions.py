"""The action layout of :class:`~thermogrid_env.envs.thermogrid_env.ThermoGridEnv`.

One symmetric float32 ``Box`` in ``[-1, 1]`` (what stable-baselines3 recommends), laid out as

    [ hp (n_hp) | ev (n_ev) | pv curtailment (n_pv) | pv reactive power (n_pv) ]

and mapped linearly to physical set-points of the episode's devices:

==================  =======================================  =========  ========================
block               set-point                                unit       mapping of ``a``
==================  =======================================  =========  ========================
hp                  heat-pump electrical power               kW         ``(a + 1) / 2 · p_rated``
ev                  EV charging power (grid side)            kW         ``(a + 1) / 2 · p_max``
ev (V2G scenario)   EV power, negative = discharge           kW         ``a · p_max``
pv curtailment      share of the available PV power shed     -          ``(a + 1) / 2``
pv reactive power   inverter reactive power, + = injection   kvar       ``a · s_inverter``
==================  =======================================  =========  ========================

In the **set-point action mode** (``ThermoGridEnv(action_mode="setpoint")``) the heat-pump block is
the indoor temperature each house's thermostat brings its house to by the end of the step,
``t_lo + (a + 1)/2 · (t_max − t_lo)`` [°C] from ``t_lo = t_min − 1 K`` (below the band: not heating
now can pay when the house would otherwise overheat later) to the band's top, and the EV block each EV's
charging urgency ``(a + 1)/2`` between the least power that still meets its target by its deadline
and full power (:meth:`~thermogrid_env.sim.simulator.Simulator.targets_to_setpoints`); the PV blocks
are unchanged. It matches how the devices are driven (a thermostat set-point, a charging app's
urgency) and keeps every action inside comfort and EV requirements.

Actions outside ``[-1, 1]`` are clipped into the box (documented behaviour); NaN or infinite
actions and actions of the wrong shape raise :class:`~thermogrid_env.errors.ConfigError`. Further
physical limits (an EV that is not plugged in draws nothing, the SoC and the inverter circle) are
enforced by the simulator. Controllers that compute physical set-points (rule-based, MPC, the
oracle) convert them with :meth:`ActionSpec.from_setpoints`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from gymnasium import spaces

from thermogrid_env.errors import ConfigError
from thermogrid_env.sim.episode import Episode
from thermogrid_env.sim.simulator import Setpoints

#: Names of the action blocks, in layout order.
BLOCKS: tuple[str, ...] = ("hp", "ev", "pv_curtailment", "pv_q")
#: Action modes of the environment.
ACTION_MODES: tuple[str, ...] = ("power", "setpoint")
#: The set-point mode's lowest indoor target lies this far below the comfort band [K].
SETPOINT_BELOW_BAND_K = 1.0


def setpoint_of_action(a: np.ndarray, t_min_c: float, t_max_c: float) -> np.ndarray:
    """Indoor target [°C] of a set-point-mode heat-pump action in ``[-1, 1]``."""
    lo = t_min_c - SETPOINT_BELOW_BAND_K
    return lo + 0.5 * (np.asarray(a) + 1.0) * (t_max_c - lo)


def action_of_setpoint(t_target_c: np.ndarray, t_min_c: float, t_max_c: float) -> np.ndarray:
    """The set-point-mode action of an indoor target (clipped into ``[-1, 1]``)."""
    lo = t_min_c - SETPOINT_BELOW_BAND_K
    return np.clip(2.0 * (np.asarray(t_target_c) - lo) / (t_max_c - lo) - 1.0, -1.0, 1.0)


def setpoint_targets(action: np.ndarray, bounds: tuple[int, int, int, int], t_min_c: float, t_max_c: float,
                     s_inverter_kva: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The set-point mode's ``(indoor targets [°C], EV urgencies, PV curtailment, PV q [kvar])`` of
    clipped actions (``(..., n_actions)``; module docstring)."""
    i1, i2, i3, _ = bounds
    hp = setpoint_of_action(action[..., :i1], t_min_c, t_max_c)
    urgency = 0.5 * (action[..., i1:i2] + 1.0)
    curtail = 0.5 * (action[..., i2:i3] + 1.0)
    return hp, urgency, curtail, action[..., i3:] * s_inverter_kva


def action_space(n_hp: int, n_ev: int, n_pv: int) -> spaces.Box:
    """The action space for the given device counts: ``Box(-1, 1, (n_hp + n_ev + 2 n_pv,), float32)``."""
    return spaces.Box(-1.0, 1.0, shape=(n_hp + n_ev + 2 * n_pv,), dtype=np.float32)


def _ratings(values: np.ndarray | None, n: int) -> np.ndarray:
    arr = np.zeros(n) if values is None else np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


def action_affine(hp_p_rated_kw: np.ndarray, ev_p_max_kw: np.ndarray, pv_s_inverter_kva: np.ndarray,
                  v2g: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, offset)`` of the affine map ``set-point = a * scale + offset`` from normalised actions.

    Every block of the action is affine in ``a`` (:class:`ActionSpec`), so mapping an action is two
    vector operations. The ratings may carry leading batch axes (``(..., n)`` each; the result is
    ``(..., n_hp + n_ev + 2 n_pv)``), as the batched environment maps all its sub-environments at once.
    """
    ev_scale = ev_p_max_kw if v2g else 0.5 * ev_p_max_kw
    ev_offset = np.zeros_like(ev_p_max_kw) if v2g else 0.5 * ev_p_max_kw
    half = np.full(np.shape(pv_s_inverter_kva), 0.5)
    scale = np.concatenate([0.5 * hp_p_rated_kw, ev_scale, half, pv_s_inverter_kva], axis=-1)
    offset = np.concatenate([0.5 * hp_p_rated_kw, ev_offset, half, np.zeros_like(pv_s_inverter_kva)], axis=-1)
    return scale, offset


@dataclass(frozen=True, kw_only=True, eq=False)
class ActionSpec:
    """Mapping between normalised actions and the physical set-points of one episode's devices.

    Attributes:
        hp_p_rated_kw: ``(n_hp,)`` rated electrical power of the heat pumps [kW].
        ev_p_max_kw: ``(n_ev,)`` charger power limit of the EVs [kW].
        pv_s_inverter_kva: ``(n_pv,)`` inverter rating of the PV systems [kVA].
        v2g: Whether EV actions span discharge (``a · p_max``) instead of ``[0, p_max]``.
    """

    hp_p_rated_kw: np.ndarray
    ev_p_max_kw: np.ndarray
    pv_s_inverter_kva: np.ndarray
    v2g: bool = False
    _bounds: tuple[int, int, int, int] = field(init=False, repr=False)
    _affine: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("hp_p_rated_kw", "ev_p_max_kw", "pv_s_inverter_kva"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.ndim != 1 or not np.all(np.isfinite(arr)) or np.any(arr < 0.0):
                raise ConfigError(f"ActionSpec.{name} must be a 1-D array of finite ratings >= 0.")
            object.__setattr__(self, name, _ratings(arr, arr.size))
        n_hp, n_ev, n_pv = self.n_hp, self.n_ev, self.n_pv
        object.__setattr__(self, "_bounds", (n_hp, n_hp + n_ev, n_hp + n_ev + n_pv, n_hp + n_ev + 2 * n_pv))
        object.__setattr__(self, "_affine", action_affine(self.hp_p_rated_kw, self.ev_p_max_kw,
                                                         self.pv_s_inverter_kva, self.v2g))

    @classmethod
    def from_episode(cls, episode: Episode) -> ActionSpec:
        """The spec of an episode's devices (ratings from its community and EV sessions)."""
        c = episode.community
        return cls(hp_p_rated_kw=_ratings(c.houses.p_max_kw, c.n_hp),
                   ev_p_max_kw=_ratings(episode.evs.sessions.p_max_kw, c.n_ev),
                   pv_s_inverter_kva=_ratings(c.pvs.s_inverter_kva, c.n_pv), v2g=episode.scenario.ev_v2g)

    @property
    def n_hp(self) -> int:
        """Number of heat pumps."""
        return int(self.hp_p_rated_kw.shape[0])

    @property
    def n_ev(self) -> int:
        """Number of EVs."""
        return int(self.ev_p_max_kw.shape[0])

    @property
    def n_pv(self) -> int:
        """Number of PV systems."""
        return int(self.pv_s_inverter_kva.shape[0])

    @property
    def size(self) -> int:
        """Length of the action vector."""
        return self._bounds[3]

    def slices(self) -> dict[str, slice]:
        """Slice of each block (:data:`BLOCKS`) in the action vector."""
        a, b, c, d = self._bounds
        return {"hp": slice(0, a), "ev": slice(a, b), "pv_curtailment": slice(b, c), "pv_q": slice(c, d)}

    def space(self) -> spaces.Box:
        """The action space, :func:`action_space` of the device counts."""
        return action_space(self.n_hp, self.n_ev, self.n_pv)

    def validate(self, action: object) -> np.ndarray:
        """The action as a float64 vector clipped into ``[-1, 1]``.

        Raises:
            ConfigError: Wrong shape, non-numeric, NaN or infinite entries.
        """
        try:
            a = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"The action must be a numeric array of shape ({self.size},), got {action!r}.") from exc
        if a.shape != (self.size,):
            raise ConfigError(
                f"The action must have shape ({self.size},) = [hp {self.n_hp} | ev {self.n_ev} | "
                f"pv curtailment {self.n_pv} | pv q {self.n_pv}], got shape {a.shape}."
            )
        if not math.isfinite(np.add.reduce(a)):  # one reduction: NaN and inf propagate into the sum
            bad = np.flatnonzero(~np.isfinite(a))
            if bad.size:
                layout = {k: (s.start, s.stop) for k, s in self.slices().items()}
                raise ConfigError(
                    f"The action contains NaN or inf at indices {bad[:10].tolist()} (layout: {layout}); "
                    "fix the controller."
                )
        return np.maximum(np.minimum(a, 1.0), -1.0)

    def to_setpoints(self, action: object) -> Setpoints:
        """Physical set-points of a normalised action (clipped into the box first).

        Args:
            action: ``(size,)`` array-like in ``[-1, 1]``.

        Returns:
            The set-points (views into one new array).

        Raises:
            ConfigError: Wrong shape, NaN or infinite entries.
        """
        a = self.validate(action)
        scale, offset = self._affine
        a *= scale
        a += offset
        i1, i2, i3, _ = self._bounds
        return Setpoints(hp_p_kw=a[:i1], ev_p_kw=a[i1:i2], pv_curtailment=a[i2:i3], pv_q_kvar=a[i3:])

    def from_setpoints(self, setpoints: Setpoints, dtype: type = np.float32) -> np.ndarray:
        """The normalised action that :meth:`to_setpoints` maps to ``setpoints`` (clipped to the box).

        Set-points outside a device's range map to the box edge; a device with a zero rating maps
        to the action of zero power.

        Args:
            setpoints: Physical set-points (shapes must match the devices).
            dtype: Output dtype; ``np.float32`` is in the action space, ``np.float64`` round-trips
                without the float32 rounding (the environment accepts both).

        Raises:
            ConfigError: Shapes do not match or values are NaN.
        """
        parts = (
            ("hp_p_kw", setpoints.hp_p_kw, self.n_hp),
            ("ev_p_kw", setpoints.ev_p_kw, self.n_ev),
            ("pv_curtailment", setpoints.pv_curtailment, self.n_pv),
            ("pv_q_kvar", setpoints.pv_q_kvar, self.n_pv),
        )
        for name, arr, n in parts:
            if np.shape(arr) != (n,):
                raise ConfigError(f"Setpoints.{name} must have shape ({n},), got {np.shape(arr)}.")
            if np.isnan(np.asarray(arr, dtype=np.float64)).any():
                raise ConfigError(f"Setpoints.{name} contains NaN.")
        hp = _ratio(setpoints.hp_p_kw, self.hp_p_rated_kw) * 2.0 - 1.0
        ev_r = _ratio(setpoints.ev_p_kw, self.ev_p_max_kw)
        ev = ev_r if self.v2g else ev_r * 2.0 - 1.0
        curt = np.asarray(setpoints.pv_curtailment, dtype=np.float64) * 2.0 - 1.0
        q = _ratio(setpoints.pv_q_kvar, self.pv_s_inverter_kva)
        out = np.clip(np.concatenate([hp, ev, curt, q]), -1.0, 1.0)
        return out.astype(dtype)


def _ratio(value: np.ndarray, rating: np.ndarray) -> np.ndarray:
    """``value / rating`` with 0 where the rating is 0."""
    value = np.asarray(value, dtype=np.float64)
    return np.divide(value, rating, out=np.zeros_like(value), where=rating > 0.0)
