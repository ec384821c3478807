"""The README's main job (tools/demo.py) trains, exports, reloads and predicts end to end."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from _repo import ROOT


@pytest.mark.slow
def test_demo_runs_end_to_end() -> None:
    run = subprocess.run(
        [sys.executable, "tools/demo.py", "--epochs", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "validation: loss" in out and "exported to" in out and "no pickle" in out
    accuracy = float(re.search(r"validation: loss [0-9.]+, accuracy ([0-9.]+)", out).group(1))
    assert accuracy >= 0.6
