"""typecore and pipes pass their tests in an environment holding only what they declare."""

from __future__ import annotations

import os
import subprocess

import pytest
from _repo import ROOT


@pytest.mark.slow
def test_typecore_then_pipes_alone(tmp_path) -> None:
    env = dict(os.environ, ISOLATED_VENV=str(tmp_path / "venv"))
    run = subprocess.run(
        ["bash", "tools/check-isolated.sh", "typecore", "pipes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    installed = [line for line in run.stdout.splitlines() if line.startswith("check-isolated:")]
    assert len(installed) == 2
    assert "plies-typecore" in installed[0] and "plies-pipes" not in installed[0]
    assert "plies-loaders" not in installed[1] and "plies-pipes" in installed[1]
