#!/usr/bin/env bash
# Creates ./.venv (if missing) and installs the project with the given extras into it.
# Re-installs only when pyproject.toml or the extras changed. Usage: scripts/bootstrap.sh EXTRAS
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.thermogrid-installed-$(echo "$extras" | tr ',' '-')"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[bootstrap] installing thermogrid-env[$extras] into .venv (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
  .venv/bin/python -m pip install --quiet -e ".[$extras]" >&2
  echo "$want" > "$stamp"
fi
