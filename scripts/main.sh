#!/usr/bin/env bash
# The main job: installs what it needs, then compares controllers on the default scenario,
# printing the KPI table and writing CSV + plots to results/ (extra arguments go to the CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh "opf,plot,fast"
exec .venv/bin/thermogrid compare --scenario winter-high-der --episodes 1 \
  --controllers uncontrolled,rule_based,oracle,mpc --out results "$@"
