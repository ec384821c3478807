#!/usr/bin/env bash
# Runs each named package's tests in a fresh venv that holds only what that package declares: its
# plies dependencies at the lowest versions its ranges admit (built from their release tags, or from
# the tree while a version has no tag), its [test] extra, and the third-party packages they need,
# taken from .venv without any download. `bash tools/check-isolated.sh typecore pipes`; no names:
# every package. It is `tools/release.py --check-lowest` (see the root README, "Releasing").
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python tools/release.py --check-lowest "$@"
