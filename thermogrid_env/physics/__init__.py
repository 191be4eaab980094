"""Pure physics models (numpy/scipy only): power flow, building, heat pump, EV, PV, transformer."""
