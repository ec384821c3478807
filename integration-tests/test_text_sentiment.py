"""The ULMFiT flow on the real sentiment sample, at a size that fits the suite: the language model learns,
and the classifier on its encoder reaches 75 % and does not do worse than without it (fastai 2.8.12 fell
from 75.6 % to 51.1 % with its encoder). Whether it does better is a comparison of medians over seeds:
tools/bench/text.py --e2e runs it at full size."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from plies.learner import Perplexity, accuracy
from plies.loaders import URLs, untar_data
from plies.text import AWD_LSTM, TextDataLoaders, language_model_learner, text_classifier_learner
from plies.typecore import set_seed


def _quiet(learn):
    learn.remove_cb(learn.progress)
    learn.logger = lambda *a, **k: None
    return learn


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # small recurrent models run fastest on one thread
    yield
    torch.set_num_threads(n)


@pytest.mark.slow
def test_the_language_model_encoder_helps_the_classifier_reach_75_percent(
    tmp_path: Path, monkeypatch, one_thread
) -> None:
    monkeypatch.setenv("PLIES_HOME", str(tmp_path / "home"))  # the tokenization cache
    df = pd.read_csv(untar_data(URLs.SENTIMENT_SAMPLE) / "texts.csv")
    set_seed(0)
    dls_lm = TextDataLoaders.from_df(
        df, text_col="text", is_lm=True, valid_col="is_valid", path=tmp_path, bs=32
    )
    lm = _quiet(language_model_learner(dls_lm, AWD_LSTM, metrics=[accuracy, Perplexity()]))
    lm.fit_one_cycle(4, 2e-2)
    lm_acc = [v[2] for v in lm.recorder.values]
    assert lm_acc[-1] > 0.25 and lm_acc[-1] > lm_acc[0]  # it learns: a unigram guess is right ~5% of the time
    lm.save_encoder("sentiment")

    def classifier(with_encoder: bool) -> float:
        set_seed(1)
        dls = TextDataLoaders.from_df(
            df,
            text_col="text",
            label_col="label",
            valid_col="is_valid",
            text_vocab=dls_lm.vocab,
            path=tmp_path,
        )
        learn = _quiet(text_classifier_learner(dls, AWD_LSTM, metrics=accuracy))
        if with_encoder:
            learn.load_encoder("sentiment")
        learn.fit_one_cycle(2, 1e-2)
        return learn.recorder.values[-1][2]

    with_encoder, without = classifier(True), classifier(False)
    assert with_encoder >= 0.75 and with_encoder >= without - 0.02, (with_encoder, without)
