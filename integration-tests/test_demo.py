"""The README's main job (tools/demo.py): the paper's lines on the digits sample, PNGs, export,
fresh-process predict."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from _repo import ROOT


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path) -> None:
    run = subprocess.run(
        [sys.executable, "tools/demo.py", "--out", str(tmp_path), "--epochs", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    for name in ("show_batch.png", "lr_find.png", "confusion_matrix.png", "top_losses.png"):
        png = tmp_path / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000, name
    assert (tmp_path / "digits.plies").stat().st_size > 1e6 and "no pickle" in out
    assert re.search(r"epoch\s+train_loss\s+valid_loss\s+accuracy\s+time", out)  # the progress table
    accuracy = float(re.search(r"validation: loss [0-9.]+, accuracy ([0-9.]+)", out).group(1))
    assert accuracy >= 0.95
    assert "fresh process: predict(valid/7/" in out and "-> '7'" in out
