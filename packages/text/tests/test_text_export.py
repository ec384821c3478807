"""Export and load_learner of text learners in a fresh process: tokenizer state, vocab, model; no pickle."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import torch
from plies.learner import accuracy
from plies.text import (
    AWD_LSTM,
    SentencePieceTokenizer,
    TextDataLoaders,
    language_model_learner,
    text_classifier_learner,
)

SMALL = dict(emb_sz=32, n_hid=48, n_layers=2)
WORDS = "zero one two three four five six seven eight nine".split()


@pytest.fixture(scope="module")
def counting() -> pd.DataFrame:
    rows = []
    for i in range(160):
        start = (i * 7) % 10
        rows.append(
            (" ".join(WORDS[(start + k) % 10] for k in range(5)), "low" if start < 5 else "high", i >= 130)
        )
    return pd.DataFrame(rows, columns=["text", "label", "is_valid"])


def _quiet(learn):
    learn.remove_cb(learn.progress)
    learn.logger = lambda *a, **k: None
    return learn


def _fresh_process(script: str) -> dict:
    """Run `script` in a new Python process (nothing of this one is loaded there); its last line is JSON."""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a fresh Python process imports torch and plies: seconds
def test_classifier_with_sentencepiece_round_trip_in_a_fresh_process(counting, tmp_path: Path) -> None:
    torch.manual_seed(0)
    dls = TextDataLoaders.from_df(
        counting,
        text_col="text",
        label_col="label",
        valid_col="is_valid",
        bs=8,
        tok_tfm=SentencePieceTokenizer(vocab_sz=40),
        min_freq=1,
    )
    learn = _quiet(text_classifier_learner(dls, AWD_LSTM, config=SMALL, metrics=accuracy, path=tmp_path))
    learn.fit_one_cycle(2, 3e-2)
    file = learn.export()  # warnings are errors in this suite: every part is described
    names = zipfile.ZipFile(file).namelist()
    assert sorted(names) == ["config.json", "model.safetensors", "tensors.safetensors"]
    texts = ["two three four five six", "seven eight nine zero one"]
    expected = [learn.predict(t)[2].tolist() for t in texts]
    config = json.loads(zipfile.ZipFile(file).read("config.json"))
    assert "plies.text.TextLearner" in json.dumps(config["learner"])
    out = _fresh_process(
        "import json, plies.text\n"
        "from plies.learner import load_learner\n"
        f"learn = load_learner({str(file)!r})\n"
        f"res = [learn.predict(t) for t in {texts!r}]\n"
        "tok = learn.dls.valid_ds.tls[0].tfms[0].tok\n"
        "print(json.dumps({'cls': type(learn).__name__, 'labels': [str(r[0]) for r in res],\n"
        "                  'probs': [r[2].tolist() for r in res], 'tok': type(tok).__name__,\n"
        "                  'sp': tok.model_bytes is not None}))\n"
    )
    assert out["cls"] == "TextLearner" and out["tok"] == "SentencePieceTokenizer" and out["sp"]
    assert torch.allclose(torch.tensor(out["probs"]), torch.tensor(expected), atol=1e-5)
    assert out["labels"] == [str(learn.predict(t)[0]) for t in texts]


@pytest.mark.slow
def test_language_model_round_trip_generates_the_same_text(counting, tmp_path: Path) -> None:
    torch.manual_seed(0)
    dls = TextDataLoaders.from_df(
        counting, text_col="text", is_lm=True, valid_col="is_valid", bs=8, seq_len=8, min_freq=1, seed=0
    )
    learn = _quiet(
        language_model_learner(dls, AWD_LSTM, config=SMALL, drop_mult=0.1, path=tmp_path, alpha=3.0, beta=0.5)
    )
    learn.fit_one_cycle(2, 3e-2)
    expected = learn.predict("three four", n_words=4, temperature=0)
    file = learn.export("lm.plies")
    out = _fresh_process(
        "import json, plies.text\n"
        "from plies.learner import load_learner\n"
        f"learn = load_learner({str(file)!r})\n"
        "names = [type(c).__name__ for c in learn.cbs]\n"
        "reg = [c for c in learn.cbs if type(c).__name__ == 'RNNRegularizer']\n"
        "print(json.dumps({'cls': type(learn).__name__, 'text': learn.predict('three four', n_words=4,\n"
        "                  temperature=0), 'resetters': names.count('ModelResetter'),\n"
        "                  'ar_tar': [(c.alpha, c.beta) for c in reg]}))\n"
    )
    # the registered callbacks come back once each, the regularizer with the exported alpha and beta
    assert out == {"cls": "LMLearner", "text": expected, "resetters": 1, "ar_tar": [[3.0, 0.5]]}


@pytest.mark.slow
def test_load_learner_asks_for_plies_text_when_it_is_not_imported(counting, tmp_path: Path) -> None:
    dls = TextDataLoaders.from_df(
        counting, text_col="text", label_col="label", valid_col="is_valid", bs=8, min_freq=1
    )
    file = _quiet(text_classifier_learner(dls, AWD_LSTM, config=SMALL, path=tmp_path)).export()
    run = subprocess.run(
        [sys.executable, "-c", f"from plies.learner import load_learner; load_learner({str(file)!r})"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0 and "import plies.text" in run.stderr
