"""Each built package passes its tests in an environment holding only what it declares."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from _repo import ROOT, transitive_plies_deps

BUILT = [
    "typecore",
    "samples",
    "pipes",
    "loaders",
    "optim",
    "layers",
    "learner",
    "vision",
    "tabular",
    "collab",
    "text",
]


@pytest.mark.slow
def test_each_package_alone(tmp_path) -> None:
    env = dict(os.environ, ISOLATED_VENV=str(tmp_path / "venv"))
    run = subprocess.run(
        ["bash", "tools/check-isolated.sh", *BUILT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith("check-isolated:")]
    assert len(lines) == len(BUILT), run.stdout[-4000:]
    for name, line in zip(BUILT, lines, strict=True):
        installed = set(re.findall(r"plies-(\w+)==", line))
        assert installed == {name} | set(transitive_plies_deps(name)), line  # nothing more, nothing less
