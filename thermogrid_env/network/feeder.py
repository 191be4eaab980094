"""The radial feeder model: buses and branches as arrays in topological order.

Conventions (the one place they are written):

* Bus 0 is the slack bus (the external grid, usually the MV side of the substation transformer).
  Every other bus ``k`` (``1 <= k < n_bus``) is fed by exactly one branch, **branch ``k - 1``**,
  from its parent bus ``parent[k] < k``. Buses are in topological (breadth-first) order, so a
  parent always comes before its children.
* A branch is, from the parent side: an ideal transformer with complex ratio ``tap``
  (``tap_ratio * exp(j * shift)``; 1 for lines), then a shunt ``y_from`` at the internal node,
  then the series impedance ``z = r + j x``, then a shunt ``y_to`` at the child bus (a pi
  circuit). ``y_to`` is lumped into the bus shunt ``y_bus`` of the child bus, which is what the
  power flow uses; it is also kept per branch (``g_to_pu``, ``b_to_pu``) to report the current at
  the branch's child end. For lines ``y_to = y_from`` (half the charging each); a transformer's T
  circuit is held exactly as its pi (wye-delta) equivalent, whose ends differ when the leakage
  impedance is not split equally.
* Power is **load-positive**: a positive ``p_kw``/``q_kvar`` injection array means consumption at
  that bus; generation (PV) is negative. Branch flows are positive from parent to child.
* Engineering units at the boundary (ohm, A, kV, kVA); per unit on ``s_base_kva`` and each bus's
  ``v_base_kv`` inside the power flow and the optimizer. Conversion lives here only.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from thermogrid_env.errors import ConfigError

_ARRAY_FIELDS_BUS = ("bus_ids", "v_base_kv", "g_bus_pu", "b_bus_pu", "v_min_pu", "v_max_pu")
_ARRAY_FIELDS_BRANCH = (
    "r_pu",
    "x_pu",
    "g_from_pu",
    "b_from_pu",
    "g_to_pu",
    "b_to_pu",
    "tap_ratio",
    "shift_deg",
    "i_max_a",
    "s_max_kva",
    "is_transformer",
)
_ARRAY_FIELDS_LOAD = ("load_bus", "load_p_kw", "load_q_kvar", "load_is_household")


@dataclass(frozen=True, kw_only=True, eq=False)
class Feeder:
    """A radial distribution feeder in topological order (see the module docstring).

    Attributes:
        name: Short name, e.g. ``"simbench-semiurb4"``.
        parent: ``(n_bus,)`` int, parent bus of each bus; ``parent[0] == -1``.
        bus_ids: ``(n_bus,)`` int, bus id in the source data (pandapower bus index), so results
            map back.
        bus_names: Bus names from the source data.
        v_base_kv: ``(n_bus,)`` line-to-line base voltage of each bus [kV].
        s_base_kva: Three-phase power base [kVA].
        v_slack_pu: Slack-bus voltage magnitude [pu].
        g_bus_pu, b_bus_pu: ``(n_bus,)`` shunt conductance/susceptance at each bus [pu]
            (to-side half of line charging, transformer magnetising branch).
        v_min_pu, v_max_pu: ``(n_bus,)`` voltage limits [pu] (EN 50160: 0.9 to 1.1).
        r_pu, x_pu: ``(n_branch,)`` series resistance/reactance of branch ``k`` (feeding bus
            ``k + 1``) [pu].
        g_from_pu, b_from_pu: ``(n_branch,)`` shunt at the branch's internal from-side node [pu].
        g_to_pu, b_to_pu: ``(n_branch,)`` shunt at the branch's child end [pu], already part of
            the child's ``g_bus_pu``/``b_bus_pu`` (kept to report end currents); default: equal
            to the from-side shunt (a symmetric pi, as for lines).
        tap_ratio: ``(n_branch,)`` off-nominal voltage ratio of the ideal transformer (1 for lines).
        shift_deg: ``(n_branch,)`` phase shift of the ideal transformer [degree].
        i_max_a: ``(n_branch,)`` thermal current limit (ampacity) at the child-bus side [A];
            ``inf`` where there is none.
        s_max_kva: ``(n_branch,)`` apparent-power rating [kVA]; transformers' rated power,
            ``inf`` for lines.
        is_transformer: ``(n_branch,)`` bool, whether the branch is a transformer.
        load_bus: ``(n_load,)`` feeder bus index of each load.
        load_p_kw, load_q_kvar: ``(n_load,)`` rated (peak) active/reactive power of each load.
        load_profile: Name of each load's standardised profile (e.g. SimBench ``"H0-B"``).
        load_is_household: ``(n_load,)`` bool, residential (``H0``) load or not.
        bus_lookup: Maps every source bus id (including ones fused by closed bus-bus switches)
            to a feeder bus index.
    """

    name: str
    parent: np.ndarray
    bus_ids: np.ndarray
    bus_names: tuple[str, ...]
    v_base_kv: np.ndarray
    s_base_kva: float
    v_slack_pu: float
    g_bus_pu: np.ndarray
    b_bus_pu: np.ndarray
    v_min_pu: np.ndarray
    v_max_pu: np.ndarray
    r_pu: np.ndarray
    x_pu: np.ndarray
    g_from_pu: np.ndarray
    b_from_pu: np.ndarray
    tap_ratio: np.ndarray
    shift_deg: np.ndarray
    i_max_a: np.ndarray
    s_max_kva: np.ndarray
    is_transformer: np.ndarray
    g_to_pu: np.ndarray | None = None
    b_to_pu: np.ndarray | None = None
    load_bus: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    load_p_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    load_q_kvar: np.ndarray = field(default_factory=lambda: np.zeros(0))
    load_profile: tuple[str, ...] = ()
    load_is_household: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    bus_lookup: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for to_side, from_side in (("g_to_pu", "g_from_pu"), ("b_to_pu", "b_from_pu")):
            if getattr(self, to_side) is None:  # symmetric pi
                object.__setattr__(self, to_side, getattr(self, from_side))
        conv = {
            "parent": np.int64,
            "bus_ids": np.int64,
            "load_bus": np.int64,
            "is_transformer": bool,
            "load_is_household": bool,
        }
        for name in ("parent",) + _ARRAY_FIELDS_BUS + _ARRAY_FIELDS_BRANCH + _ARRAY_FIELDS_LOAD:
            arr = np.array(getattr(self, name), dtype=conv.get(name, np.float64))
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "bus_names", tuple(str(n) for n in self.bus_names))
        object.__setattr__(self, "load_profile", tuple(str(n) for n in self.load_profile))
        if not self.bus_lookup:
            object.__setattr__(
                self, "bus_lookup", {int(b): i for i, b in enumerate(self.bus_ids)}
            )
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        n_bus = self.parent.shape[0]
        if n_bus < 2:
            raise ConfigError(f"Feeder {self.name!r}: needs at least 2 buses, got {n_bus}.")
        if self.parent[0] != -1 or np.any(self.parent[1:] < 0) or np.any(
            self.parent[1:] >= np.arange(1, n_bus)
        ):
            raise ConfigError(
                f"Feeder {self.name!r}: 'parent' must be in topological order "
                "(parent[0] == -1 and 0 <= parent[k] < k)."
            )
        for name in _ARRAY_FIELDS_BUS:
            if getattr(self, name).shape != (n_bus,):
                raise ConfigError(f"Feeder {self.name!r}: {name} must have shape ({n_bus},).")
        for name in _ARRAY_FIELDS_BRANCH:
            if getattr(self, name).shape != (n_bus - 1,):
                raise ConfigError(
                    f"Feeder {self.name!r}: {name} must have shape ({n_bus - 1},) (one per branch)."
                )
        if np.unique(self.bus_ids).size != n_bus:
            raise ConfigError(f"Feeder {self.name!r}: bus_ids must be unique.")
        if any(not 0 <= i < n_bus for i in self.bus_lookup.values()):
            raise ConfigError(f"Feeder {self.name!r}: bus_lookup values must be in [0, {n_bus}).")
        if len(self.bus_names) != n_bus:
            raise ConfigError(f"Feeder {self.name!r}: bus_names must have {n_bus} entries.")
        n_load = self.load_bus.shape[0]
        for name in _ARRAY_FIELDS_LOAD:
            if getattr(self, name).shape != (n_load,):
                raise ConfigError(f"Feeder {self.name!r}: {name} must have shape ({n_load},).")
        if len(self.load_profile) not in (0, n_load):
            raise ConfigError(f"Feeder {self.name!r}: load_profile must have {n_load} entries.")
        if n_load and (self.load_bus.min() < 0 or self.load_bus.max() >= n_bus):
            raise ConfigError(f"Feeder {self.name!r}: load_bus indices must be in [0, {n_bus}).")
        for name in ("v_base_kv", "tap_ratio", "i_max_a", "s_max_kva"):
            arr = getattr(self, name)
            if not np.all(arr > 0):
                raise ConfigError(f"Feeder {self.name!r}: {name} must be > 0 everywhere.")
        if not (self.s_base_kva > 0 and 0.5 < self.v_slack_pu < 1.5):
            raise ConfigError(
                f"Feeder {self.name!r}: s_base_kva must be > 0 and v_slack_pu in (0.5, 1.5)."
            )
        finite = (
            "r_pu", "x_pu", "g_from_pu", "b_from_pu", "g_to_pu", "b_to_pu", "g_bus_pu",
            "b_bus_pu", "shift_deg", "v_min_pu", "v_max_pu",
        )
        for name in finite:
            if not np.all(np.isfinite(getattr(self, name))):
                raise ConfigError(f"Feeder {self.name!r}: {name} must be finite.")
        if np.any(self.r_pu < 0):
            raise ConfigError(f"Feeder {self.name!r}: r_pu must be >= 0.")
        if np.any((self.r_pu == 0) & (self.x_pu == 0)):
            bad = np.flatnonzero((self.r_pu == 0) & (self.x_pu == 0)) + 1
            raise ConfigError(
                f"Feeder {self.name!r}: zero-impedance branches feeding buses {bad.tolist()}; "
                "fuse such buses before building the feeder."
            )
        if np.any(self.v_min_pu >= self.v_max_pu):
            raise ConfigError(f"Feeder {self.name!r}: v_min_pu must be < v_max_pu.")

    # ------------------------------------------------------------------ derived sizes
    @property
    def n_bus(self) -> int:
        """Number of buses, slack included."""
        return int(self.parent.shape[0])

    @property
    def n_branch(self) -> int:
        """Number of branches (``n_bus - 1``)."""
        return self.n_bus - 1

    @property
    def n_load(self) -> int:
        """Number of loads."""
        return int(self.load_bus.shape[0])

    @property
    def from_bus(self) -> np.ndarray:
        """``(n_branch,)`` parent (from) bus of each branch."""
        return self.parent[1:]

    @property
    def to_bus(self) -> np.ndarray:
        """``(n_branch,)`` child (to) bus of each branch (``k + 1``)."""
        return np.arange(1, self.n_bus)

    @property
    def z_base_ohm(self) -> np.ndarray:
        """``(n_bus,)`` impedance base of each bus [ohm]."""
        return (self.v_base_kv**2) * 1e3 / self.s_base_kva

    @property
    def i_base_a(self) -> np.ndarray:
        """``(n_bus,)`` current base of each bus [A] (three-phase, line current)."""
        return self.s_base_kva / (np.sqrt(3.0) * self.v_base_kv)

    @property
    def r_ohm(self) -> np.ndarray:
        """``(n_branch,)`` series resistance referred to the child bus [ohm]."""
        return self.r_pu * self.z_base_ohm[1:]

    @property
    def x_ohm(self) -> np.ndarray:
        """``(n_branch,)`` series reactance referred to the child bus [ohm]."""
        return self.x_pu * self.z_base_ohm[1:]

    @property
    def transformer_branch(self) -> int:
        """Index of the substation transformer branch (the first transformer from the slack)."""
        idx = np.flatnonzero(self.is_transformer)
        if idx.size == 0:
            raise ConfigError(f"Feeder {self.name!r} has no transformer branch.")
        return int(idx[0])

    @property
    def transformer_rating_kva(self) -> float:
        """Rated apparent power of the substation transformer [kVA]."""
        return float(self.s_max_kva[self.transformer_branch])

    @property
    def depth(self) -> np.ndarray:
        """``(n_bus,)`` number of branches between each bus and the slack."""
        depth = np.zeros(self.n_bus, dtype=np.int64)
        for k in range(1, self.n_bus):
            depth[k] = depth[self.parent[k]] + 1
        return depth

    def bus_index(self, bus_id: int) -> int:
        """Feeder bus index of a source bus id (also for buses fused by switches).

        Raises:
            ConfigError: If the id is not part of the feeder.
        """
        try:
            return self.bus_lookup[int(bus_id)]
        except KeyError:
            raise ConfigError(
                f"Bus id {bus_id} is not in feeder {self.name!r} (ids are pandapower bus indices)."
            ) from None

    def load_injection_matrix(self) -> np.ndarray:
        """``(n_load, n_bus)`` 0/1 matrix that sums load powers onto their buses."""
        m = np.zeros((self.n_load, self.n_bus))
        m[np.arange(self.n_load), self.load_bus] = 1.0
        return m

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``inf`` stored as ``None``)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            val = getattr(self, f.name)
            if isinstance(val, np.ndarray):
                lst = val.tolist()
                if val.dtype.kind == "f":
                    lst = [None if not np.isfinite(v) else v for v in lst]
                out[f.name] = lst
            elif isinstance(val, dict):
                out[f.name] = {str(k): v for k, v in val.items()}
            else:
                out[f.name] = list(val) if isinstance(val, tuple) else val
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Feeder":
        """Inverse of :meth:`to_dict`."""
        kwargs = dict(data)
        for name in ("i_max_a", "s_max_kva"):
            kwargs[name] = [np.inf if v is None else v for v in kwargs[name]]
        kwargs["bus_lookup"] = {int(k): int(v) for k, v in kwargs.get("bus_lookup", {}).items()}
        return cls(**kwargs)

    def save_json(self, path: str | Path) -> None:
        """Write the feeder as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), separators=(",", ":")))

    @classmethod
    def load_json(cls, path: str | Path) -> "Feeder":
        """Read a feeder written by :meth:`save_json`."""
        return cls.from_dict(json.loads(Path(path).read_text()))
