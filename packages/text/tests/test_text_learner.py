"""The text learners: callbacks, AR/TAR, encoder transfer, predictions in order, generation."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from plies.learner import Callback, Perplexity, accuracy
from plies.text import (
    AWD_LSTM,
    LMLearner,
    ModelResetter,
    RNNRegularizer,
    TextDataLoaders,
    TextLearner,
    language_model_learner,
    match_embeds,
    text_classifier_learner,
)

SMALL = dict(emb_sz=32, n_hid=48, n_layers=2)
WORDS = "zero one two three four five six seven eight nine".split()


@pytest.fixture(scope="module")
def counting() -> pd.DataFrame:
    """Texts that count five words up from a word (round the ten); label: whether they start below five."""
    rows = []
    for i in range(240):
        start = (i * 7) % 10
        words = [WORDS[(start + k) % 10] for k in range(5)]
        rows.append((" ".join(words), "low" if start < 5 else "high", i >= 200))
    return pd.DataFrame(rows, columns=["text", "label", "is_valid"])


@pytest.fixture(scope="module")
def lm_dls(counting: pd.DataFrame):
    return TextDataLoaders.from_df(
        counting, text_col="text", is_lm=True, valid_col="is_valid", bs=8, seq_len=8, min_freq=1, seed=0
    )


def _quiet(learn):
    learn.remove_cb(learn.progress)
    learn.logger = lambda *a, **k: None
    return learn


def test_text_learner_keeps_one_resetter_and_one_regularizer(lm_dls) -> None:
    learn = language_model_learner(lm_dls, AWD_LSTM, config=SMALL)
    assert isinstance(learn, LMLearner) and learn.moms == (0.8, 0.7, 0.8)
    learn.add_cb(ModelResetter())
    learn.add_cb(RNNRegularizer(alpha=3.0))
    assert sum(isinstance(c, ModelResetter) for c in learn.cbs) == 1
    regs = [c for c in learn.cbs if isinstance(c, RNNRegularizer)]
    assert len(regs) == 1 and regs[0].alpha == 3.0


def test_model_resetter_clears_the_state_before_validation(lm_dls) -> None:
    seen = []

    class Probe(Callback):
        order = 1

        def before_validate(self) -> None:
            seen.append(self.learn.model[0].hidden is None)

        def after_batch(self) -> None:
            seen.append(self.learn.model[0].hidden is None)

    learn = _quiet(language_model_learner(lm_dls, AWD_LSTM, config=SMALL, cbs=Probe()))
    learn.fit(1)
    assert seen[0] is False and True in seen  # a state during training, cleared for validation
    assert learn.model[0].hidden is None  # and after the fit


def test_rnn_regularizer_adds_ar_and_tar_to_the_backpropagated_loss(lm_dls) -> None:
    torch.manual_seed(0)
    records = []

    class Record(Callback):
        order = 20  # after RNNRegularizer

        def after_loss(self) -> None:
            if self.training and not records:
                records.append(
                    (
                        copy.deepcopy(self.learn.model),
                        self.learn.xb[0].clone(),
                        self.learn.loss.detach().item(),
                        self.learn.loss_grad.detach().item(),
                    )
                )

    learn = _quiet(
        language_model_learner(
            lm_dls, AWD_LSTM, config=SMALL, drop_mult=0.0, alpha=2.0, beta=3.0, cbs=Record()
        )
    )
    learn.fit(1)
    model, xb, loss, loss_grad = records[0]
    model.reset()
    with torch.no_grad():
        raw = model[0](xb.as_subclass(torch.Tensor))  # no dropout: the dropped output is the raw one
    expected = 2.0 * raw.pow(2).mean() + 3.0 * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    assert loss_grad - loss == pytest.approx(float(expected), rel=1e-4)
    learn2 = _quiet(
        language_model_learner(lm_dls, AWD_LSTM, config=SMALL, drop_mult=0.0, alpha=0.0, beta=0.0)
    )
    records.clear()
    learn2.add_cb(Record())
    learn2.fit(1)
    assert records[0][3] == records[0][2]  # no regularization: the loss is back-propagated as it is


def test_language_model_learns_and_continues_a_text(lm_dls) -> None:
    torch.manual_seed(0)
    learn = _quiet(
        language_model_learner(
            lm_dls, AWD_LSTM, config=SMALL, drop_mult=0.1, metrics=[accuracy, Perplexity()]
        )
    )
    learn.fit_one_cycle(4, 3e-2)
    # 5 of the 6 next tokens of a text are determined (after xxbos any of 10 words can come)
    _, valid_loss, acc, perplexity = learn.recorder.values[-1]
    assert acc > 0.7
    assert perplexity == pytest.approx(math.exp(valid_loss), rel=1e-4)  # exp of the mean token loss
    assert perplexity < 3.0  # at most ~10 equally likely words after xxbos, one word elsewhere
    shown = learn.show_results(max_n=2)  # a DataFrame: the text, the tokens that follow, the predicted ones
    assert list(shown.columns) == ["text", "text_", "prediction"] and len(shown) == 2
    for targ, pred in zip(shown["text_"], shown["prediction"], strict=True):
        t, p = targ.split(" "), pred.split(" ")
        assert len(t) == len(p) == 8, (targ, pred)
        # the determined tokens: inside a text (not its xxbos, which ends a text of any length) and not
        # right after xxbos (any of 10 words starts a text); the window holds at least three
        determined = [i for i in range(1, 8) if t[i] != "xxbos" and t[i - 1] != "xxbos"]
        right = sum(t[i] == p[i] for i in determined)
        assert len(determined) >= 3 and right >= len(determined) - 1, (targ, pred)
    assert learn.predict("three four", n_words=3, temperature=0) == "three four five six seven"
    assert learn.predict("eight", n_words=2, temperature=0, only_last_word=True) == "nine zero"
    torch.manual_seed(1)
    sampled = learn.predict("one", n_words=5, temperature=1.0)
    assert len(sampled.split()) >= 4 and "xxunk" not in sampled
    with pytest.raises(ValueError, match="n_words must be an int >= 0"):
        learn.predict("one", n_words=-1)


def test_ulmfit_encoder_goes_from_the_language_model_to_the_classifier(
    lm_dls, counting, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    lm = _quiet(language_model_learner(lm_dls, AWD_LSTM, config=SMALL, path=tmp_path))
    lm.fit(1, 1e-2)
    file = lm.save_encoder("enc")
    assert file == tmp_path / "models" / "enc.safetensors"
    dls = TextDataLoaders.from_df(
        counting, text_col="text", label_col="label", valid_col="is_valid", bs=8, text_vocab=lm_dls.vocab
    )
    clas = _quiet(text_classifier_learner(dls, AWD_LSTM, config=SMALL, path=tmp_path, metrics=accuracy))
    assert isinstance(clas, TextLearner)
    clas.load_encoder("enc")
    enc_lm, enc_clas = lm.model[0].state_dict(), clas.model[0].module.state_dict()
    assert all(torch.equal(enc_lm[k], enc_clas[k]) for k in enc_lm)
    assert all(p.requires_grad for p in clas.model.parameters())  # nothing frozen (as fastai)
    clas.freeze()  # gradual unfreezing: the head first
    clas.fit_one_cycle(1, 1e-2)  # the head trains; the encoder does not move
    assert all(torch.equal(enc_lm[k], clas.model[0].module.state_dict()[k].cpu()) for k in enc_lm)
    other = _quiet(text_classifier_learner(dls, AWD_LSTM, config={**SMALL, "n_hid": 40}, path=tmp_path))
    with pytest.raises(ValueError, match="does not fit this model"):
        other.load_encoder("enc")


def test_load_encoder_maps_the_embeddings_to_another_vocabulary(lm_dls, counting, tmp_path: Path) -> None:
    lm = _quiet(language_model_learner(lm_dls, AWD_LSTM, config=SMALL, path=tmp_path))
    lm.save_encoder("enc")
    dls = TextDataLoaders.from_df(
        counting.assign(text=counting.text + " nine nine new"),
        text_col="text",
        label_col="label",
        valid_col="is_valid",
        bs=8,
        min_freq=1,
    )  # its own vocabulary: another order, and a new word
    clas = _quiet(text_classifier_learner(dls, AWD_LSTM, config=SMALL, path=tmp_path))
    clas.load_encoder("enc")
    old, new = list(lm_dls.vocab), list(dls.train_ds.tls[0].vocab)
    emb_old, emb_new = lm.model[0].encoder.weight, clas.model[0].module.encoder.weight
    assert old != new
    for w in ("three", "nine", "xxbos"):
        assert torch.equal(emb_new[new.index(w)], emb_old[old.index(w)])
    assert torch.allclose(emb_new[new.index("new")], emb_old.mean(0))  # unknown to the encoder: the mean


def test_match_embeds_copies_known_rows_and_gives_new_ones_the_mean() -> None:
    w = torch.tensor([[1.0, 1.0], [3.0, 5.0]])
    res = match_embeds(
        {"0.encoder.weight": w, "1.decoder.bias": torch.tensor([1.0, 3.0])}, ["a", "b"], ["b", "c"]
    )
    assert res["0.encoder.weight"].tolist() == [[3.0, 5.0], [2.0, 3.0]]
    assert res["1.decoder.bias"].tolist() == [3.0, 2.0]


def test_classifier_predictions_come_back_in_dataset_order(counting) -> None:
    torch.manual_seed(0)
    ragged = counting.assign(text=[" ".join(t.split()[: 2 + i % 4]) for i, t in enumerate(counting.text)])
    dls = TextDataLoaders.from_df(
        ragged, text_col="text", label_col="label", valid_col="is_valid", bs=4, min_freq=1
    )
    clas = _quiet(text_classifier_learner(dls, AWD_LSTM, config=SMALL, metrics=accuracy))
    clas.fit_one_cycle(4, 3e-2)
    preds, targs = clas.get_preds()
    truth = [int(dls.valid_ds[i][1]) for i in range(len(dls.valid_ds))]
    sorted_order = [int(v) for _, y in dls.valid for v in y]
    assert sorted_order != truth  # the loader batches by length: another order than the dataset's
    assert targs.tolist() == truth and preds.shape == (40, 2)
    assert (preds.argmax(1) == targs).float().mean() > 0.9
    label, idx, probs = clas.predict("two three four")
    assert label == "low" and probs.shape == (2,)
    shown = clas.show_results(max_n=3)
    assert list(shown.columns) == ["text", "category", "prediction"]


def test_pretrained_needs_a_local_file(lm_dls, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plies downloads no pretrained text model"):
        language_model_learner(lm_dls, AWD_LSTM, pretrained=True)
    lm = _quiet(language_model_learner(lm_dls, AWD_LSTM, config=SMALL, path=tmp_path))
    file = lm.save_encoder("wt")
    again = language_model_learner(lm_dls, AWD_LSTM, pretrained_fnames=[file], path=tmp_path)
    assert again.model[0].emb_sz == 32  # the config comes from the file
    assert torch.equal(again.model[0].encoder.weight, lm.model[0].encoder.weight)
    assert not again.model[0].rnns[0].weight_hh_l0_raw.requires_grad  # frozen but the last group


def test_generation_carries_the_state_from_token_to_token(lm_dls) -> None:
    torch.manual_seed(0)
    learn = language_model_learner(lm_dls, AWD_LSTM, config=SMALL)  # untrained: all the history counts
    text = learn.predict("one two three", n_words=6, temperature=0, no_unk=False, decoder=lambda t: t)
    vocab = list(lm_dls.vocab)
    ids = learn.dls.test_dl(["one two three"]).dataset[0][0].tolist()
    model = learn.model.eval()
    for _ in range(6):  # the reference: the whole text again at each step, from a clean state
        model.reset()
        with torch.no_grad():
            ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    assert text == " ".join(vocab[i] for i in ids if vocab[i] not in ("xxbos", "xxpad"))


def test_misspelt_keywords_are_refused_naming_the_function(lm_dls) -> None:
    with pytest.raises(TypeError, match=r"language_model_learner\(\).*'confg' \(did you mean 'config'\?\)"):
        language_model_learner(lm_dls, AWD_LSTM, confg=SMALL)
    with pytest.raises(
        TypeError, match=r"text_classifier_learner\(\).*'mertics' \(did you mean 'metrics'\?\)"
    ):
        text_classifier_learner(lm_dls, AWD_LSTM, mertics=[accuracy])
