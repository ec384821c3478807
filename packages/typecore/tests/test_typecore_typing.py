"""The type checker runs clean on typecore's sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.slow
def test_mypy_is_clean_on_typecore(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    flags = ["--ignore-missing-imports", "--namespace-packages", "--explicit-package-bases"]
    res = subprocess.run(
        [sys.executable, "-m", "mypy", *flags, "--cache-dir", str(tmp_path), str(SRC / "plies" / "typecore")],
        capture_output=True,
        text=True,
        cwd=SRC,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Success: no issues found" in res.stdout


def test_package_is_marked_typed() -> None:
    assert (SRC / "plies" / "typecore" / "py.typed").exists()
