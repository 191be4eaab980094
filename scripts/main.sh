#!/usr/bin/env bash
# The main job: installs what it needs, then compares the controllers on the default scenario's
# first held-out day (seed 10000: the learned controller never trained on it), printing the KPI
# table with the normalised score and writing CSV + plots to results/ (extra arguments go to the CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh "opf,plot,fast"
exec .venv/bin/thermogrid compare --scenario winter-high-der --episodes 1 --seed 10000 \
  --controllers uncontrolled,rule_based,learned,mpc,oracle --out results "$@"
