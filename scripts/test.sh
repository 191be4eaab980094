#!/usr/bin/env bash
# Installs everything the tests need into ./.venv, then runs the test suite (extra args to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh "dev,rl"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
