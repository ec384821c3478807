"""Acceptance: an exported app predicts in a fresh Python process exactly as before export.

The app (tests/scripts/export_app.py) has a registered transform with an enum argument and NumPy
state, getters and a model class found by name, its own DataLoader and Learner classes and an
inference callback. The deployment side is a new process that imports the app's module, then
calls `load_learner`; without that import it is told which module to import.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import torch

SCRIPTS = Path(__file__).parent / "scripts"

DEPLOY = """
import json, sys
sys.path.insert(0, {scripts!r})
from plies.learner import load_learner
try:
    load_learner({file!r})
except KeyError as e:
    print(json.dumps({{"error": str(e.args[0])}}))
import export_app
learn = load_learner({file!r})
out = [learn.predict(item) for item in export_app.make_items()[:6]]
print(json.dumps({{
    "labels": [o[0] for o in out], "probs": [o[2].tolist() for o in out],
    "classes": [type(learn).__name__, type(learn.dls.valid).__name__, type(learn.model).__name__],
    "act": type(learn.model.body[1]).__name__, "label_of": learn.label_of(export_app.make_items()[0]),
    "temperature": [cb.temperature for cb in learn.cbs if type(cb).__name__ == "Temperature"],
}}))
"""


def test_fresh_process_predicts_as_before_export(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    app = importlib.import_module("export_app")
    learn = app.make_learner(tmp_path)
    items = app.make_items()[:6]
    before = [learn.predict(item) for item in items]
    assert learn.cbs.filter(lambda cb: isinstance(cb, app.Temperature))[0].calls > 0
    file = learn.export()

    run = subprocess.run(
        [sys.executable, "-c", DEPLOY.format(scripts=str(SCRIPTS), file=str(file))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    refused, after = (json.loads(line) for line in run.stdout.strip().splitlines())
    assert "import export_app (where they are registered) before load_learner" in refused["error"]
    assert after["labels"] == [b[0] for b in before]
    for got, b in zip(after["probs"], before, strict=True):
        assert torch.allclose(torch.tensor(got), b[2], atol=1e-6)
    assert after["classes"] == ["AppLearner", "AppDL", "TinyNet"] and after["act"] == "GELU"
    assert after["label_of"] == before[0][0] and after["temperature"] == [2.5]
