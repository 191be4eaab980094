"""Simulation: communities drawn from scenarios, episode data, the simulator core and the KPIs."""
