#!/usr/bin/env bash
# Runs the layering contract, the linter and formatter checks, and every package's tests plus
# integration-tests.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/lint-imports
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
