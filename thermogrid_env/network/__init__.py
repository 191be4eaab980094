"""Feeders: the radial network model, the shipped feeders and the pandapower converter."""

from thermogrid_env.network.feeder import Feeder
from thermogrid_env.network.from_pandapower import PandapowerImportWarning, from_pandapower
from thermogrid_env.network.library import FEEDERS, feeder_table, load_feeder

__all__ = ["FEEDERS", "Feeder", "PandapowerImportWarning", "feeder_table", "from_pandapower", "load_feeder"]
