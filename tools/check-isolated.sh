#!/usr/bin/env bash
# Runs one package's tests in a fresh venv holding only that package, the plies packages it
# declares (transitively) and their third-party dependencies: proof that it stands alone.
# Usage: bash tools/check-isolated.sh <package> [venv-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
venv=${2:-.venv-$name}
deps=$(.venv/bin/python - "$name" <<'PY'
import sys
sys.path.insert(0, "integration-tests")
from _repo import transitive_plies_deps
print(" ".join(sorted(transitive_plies_deps(sys.argv[1]))))
PY
)
rm -rf "$venv"
"${PYTHON:-python3.11}" -m venv "$venv"
"$venv/bin/python" -m pip install -q -U "pip>=25.1"
args=(-e "packages/$name[test]")
for d in $deps; do args+=(-e "packages/$d"); done
"$venv/bin/python" -m pip install -q -c constraints.txt "${args[@]}"
echo "check-isolated: plies-$name with [${deps}] installed:"
"$venv/bin/python" -m pip list --format=freeze | grep -i '^plies' || true
"$venv/bin/python" -m pytest -q -p no:cacheprovider --import-mode=importlib "packages/$name/tests"
