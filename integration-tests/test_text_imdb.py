"""IMDB sample, at a size that fits the suite (tools/bench/text.py --e2e runs it whole): the language model
learns next tokens, and the classifier on its encoder beats the majority class."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from plies.learner import accuracy
from plies.loaders import URLs, untar_data
from plies.text import AWD_LSTM, TextDataLoaders, language_model_learner, text_classifier_learner
from plies.typecore import set_seed


def _quiet(learn):
    learn.remove_cb(learn.progress)
    learn.logger = lambda *a, **k: None
    return learn


@pytest.mark.slow
def test_imdb_language_model_learns_and_its_classifier_beats_the_majority(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("PLIES_HOME", str(tmp_path / "home"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        df = pd.read_csv(untar_data(URLs.IMDB_SAMPLE) / "texts.csv")
        df["text"] = df["text"].str.split().str[:64].str.join(" ")  # the first 64 words: a suite-sized run
        majority = df[df.is_valid].label.value_counts(normalize=True).max()
        set_seed(0)
        dls_lm = TextDataLoaders.from_df(
            df, text_col="text", is_lm=True, valid_col="is_valid", path=tmp_path, bs=32
        )
        lm = _quiet(language_model_learner(dls_lm, AWD_LSTM, metrics=accuracy))
        lm.fit_one_cycle(3, 1e-2)
        lm_acc = [v[2] for v in lm.recorder.values]
        assert lm_acc[-1] > 0.15 and lm_acc[-1] > lm_acc[0], lm_acc  # a unigram guess: ~5%
        lm.save_encoder("imdb")
        set_seed(0)
        dls = TextDataLoaders.from_df(
            df,
            text_col="text",
            label_col="label",
            valid_col="is_valid",
            text_vocab=dls_lm.vocab,
            path=tmp_path,
            bs=32,
        )
        clas = _quiet(text_classifier_learner(dls, AWD_LSTM, metrics=accuracy)).load_encoder("imdb")
        clas.fit_one_cycle(4, 3e-3)  # at 1e-2 the encoder may collapse: chance level
        assert clas.recorder.values[-1][2] > majority + 0.05, (clas.recorder.values, majority)
    finally:
        torch.set_num_threads(threads)
