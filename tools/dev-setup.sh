#!/usr/bin/env bash
# Creates (or refreshes) the shared dev environment .venv: every package editable, the
# pinned torch pair, and the dev tools. Skips the install when nothing it depends on changed.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/_pip.sh

venv=.venv
stamp="$venv/.plies-setup-stamp"
want=$(cat constraints.txt pyproject.toml packages/*/pyproject.toml tools/dev-setup.sh | sha256sum | cut -d' ' -f1)

if [ ! -x "$venv/bin/python" ]; then
  echo "dev-setup: creating $venv with ${PYTHON:-python3.11}"
  "${PYTHON:-python3.11}" -m venv "$venv"
fi
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "dev-setup: $venv is up to date"
  exit 0
fi
quiet_pip "$venv" -U "pip>=25.1"
args=()
for p in packages/*/; do args+=(-e "$p"); done
# All siblings in one pip call: pip cannot find plies-<lower> on an index (MONOREPO.md F11).
quiet_pip "$venv" -c constraints.txt "${args[@]}" --group dev
echo "$want" >"$stamp"
echo "dev-setup: $venv ready"
