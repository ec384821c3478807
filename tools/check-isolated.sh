#!/usr/bin/env bash
# Runs packages' tests in a fresh venv that holds only what they declare: proof that each stands
# alone. Packages are added one by one in the order given, and each one's tests run right after it
# is installed, so list them lowest first: `bash tools/check-isolated.sh typecore pipes`.
# The venv is .venv-isolated (override with ISOLATED_VENV).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/_pip.sh
venv=${ISOLATED_VENV:-.venv-isolated}
rm -rf "$venv"
"${PYTHON:-python3.11}" -m venv "$venv"
quiet_pip "$venv" -U "pip>=25.1"
for name in "$@"; do
  deps=$(python3 - "$name" <<'PY'
import sys
sys.path.insert(0, "integration-tests")
from _repo import transitive_plies_deps
print(" ".join(sorted(transitive_plies_deps(sys.argv[1]))))
PY
)
  args=(-e "packages/$name[test]")
  for d in $deps; do args+=(-e "packages/$d"); done
  # Siblings go in one pip call (MONOREPO.md F11); already-installed ones are kept as they are.
  quiet_pip "$venv" -c constraints.txt "${args[@]}"
  installed=$("$venv/bin/python" -m pip list --format=freeze | grep -i '^plies' | tr '\n' ' ')
  echo "check-isolated: testing plies-$name with: $installed"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "packages/$name/tests"
done
