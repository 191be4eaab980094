"""Sweeps beyond one machine: a scenario x day (or seed) x controller grid on Ray, results in Parquet.

``thermogrid sweep`` / :func:`run_sweep` run every *cell* (one controller on one episode of one
scenario, :mod:`.grid`) not yet in the output directory as a Ray task (local Ray by default, a
cluster by address) and append one row per cell to a Parquet dataset (:mod:`.store`); re-running
computes only the missing and the failed cells. ``thermogrid report`` / :func:`read_sweep`,
:func:`annual_totals` and :func:`plot_monthly` summarise it (:mod:`.report`). See ``docs/sweeps.md``.

ray, pyarrow and tqdm are the ``[scale]`` extra, imported only when a sweep runs or is read.

Example::

    from thermogrid_env.sweep import run_sweep, read_sweep, annual_totals
    run_sweep("year", ["winter-high-der"], ["uncontrolled", "rule_based", "oracle"],
              days="2016-01-01:2016-12-31", workers=2, progress=True)
    print(annual_totals(read_sweep("year")))
"""

from thermogrid_env.sweep.grid import Cell, parse_days, plan_cells, run_cell
from thermogrid_env.sweep.report import annual_totals, format_report, monthly_totals, plot_monthly, read_sweep
from thermogrid_env.sweep.runner import SweepSummary, run_sweep

__all__ = ["Cell", "SweepSummary", "annual_totals", "format_report", "monthly_totals", "parse_days", "plan_cells",
           "plot_monthly", "read_sweep", "run_cell", "run_sweep"]
