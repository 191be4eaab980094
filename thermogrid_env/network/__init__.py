"""Feeders: the radial network model, the shipped feeders and the pandapower converter."""

from thermogrid_env.network.feeder import Feeder
from thermogrid_env.network.from_pandapower import from_pandapower
from thermogrid_env.network.library import FEEDERS, load_feeder

__all__ = ["FEEDERS", "Feeder", "from_pandapower", "load_feeder"]
