#!/usr/bin/env bash
# The GPU-path check: the test suite (less the three packaging tests, which build a venv), the demo and
# the GPU benchmarks, on a machine with CUDA whose Python already has torch (no venv is built: the
# packages' src folders go on PYTHONPATH). Usage: bash tools/gpu-check.sh [OUTDIR]   (logs and bench tables land in OUTDIR)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/plies-gpu-check}
mkdir -p "$out"
py=${PYTHON:-python3}
PYTHONPATH=$(printf '%s:' "$PWD"/packages/*/src)
export PYTHONPATH PYTHONUNBUFFERED=1
"$py" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('torch', torch.__version__, torch.cuda.get_device_name())" || exit 1
par=()
if "$py" -c "import xdist" 2>/dev/null; then par=(-p xdist -n 8); fi
skip=(--ignore=integration-tests/test_demo.py --ignore=integration-tests/test_isolated.py
  --ignore=integration-tests/test_release.py)
timeout 300 "$py" -m pytest packages integration-tests "${skip[@]}" -q -rs "${par[@]}" >"$out/tests.log" 2>&1
echo "pytest exit $?"; tail -n 25 "$out/tests.log"
timeout 90 "$py" tools/demo.py 2>&1 | tail -n 15 | tee "$out/demo.txt"
timeout 75 "$py" tools/bench/learner.py --device cuda --repeats 5 --threads 4 2>&1 | tee "$out/bench_learner.txt"
timeout 50 "$py" tools/bench/optim.py --device cuda --steps 20 --rounds 7 2>&1 | tee "$out/bench_optim.txt"
timeout 60 "$py" tools/bench/typecore.py --device cuda 2>&1 | tee "$out/bench_typecore.txt"
