#!/usr/bin/env bash
# Runs each named package's tests in a fresh venv that holds only what that package declares (its
# plies dependencies, their third-party ones and its [test] extra): proof that each stands alone.
# `bash tools/check-isolated.sh typecore pipes optim`. torch, which every plies package needs, is
# installed once into a base venv that each fresh venv sees through a .pth file (pip counts it as
# installed), so a check costs one torch install, not one per package.
# The venvs are $ISOLATED_VENV (default .venv-isolated) and $ISOLATED_VENV-base.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/_pip.sh
python=${PYTHON:-python3.11}
venv=${ISOLATED_VENV:-.venv-isolated}
base="$venv-base"
site_of() { "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
rm -rf "$base"
"$python" -m venv "$base"
quiet_pip "$base" -U "pip>=25.1"
quiet_pip "$base" -c constraints.txt torch
for name in "$@"; do
  deps=$(python3 - "$name" <<'PY'
import sys
sys.path.insert(0, "integration-tests")
from _repo import transitive_plies_deps
print(" ".join(sorted(transitive_plies_deps(sys.argv[1]))))
PY
)
  rm -rf "$venv"
  "$python" -m venv "$venv"
  quiet_pip "$venv" -U "pip>=25.1"
  site_of "$base" >"$(site_of "$venv")/_isolated_base_torch.pth"
  args=(-e "packages/$name[test]")
  for d in $deps; do args+=(-e "packages/$d"); done
  # The package and its plies dependencies go in one pip call (MONOREPO.md F11).
  quiet_pip "$venv" -c constraints.txt "${args[@]}"
  installed=$("$venv/bin/python" -m pip list --format=freeze | grep -i '^plies' | tr '\n' ' ')
  echo "check-isolated: testing plies-$name with: $installed"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "packages/$name/tests"
done
rm -rf "$base" "$venv"
