#!/usr/bin/env bash
# Runs the layering contract and every package's tests plus integration-tests.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
