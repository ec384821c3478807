"""AWD-LSTM and the model pieces: dropouts, state, chunked encoding, pooling, builders and splitters."""

from __future__ import annotations

import pytest
import torch
from plies.text import (
    AWD_LSTM,
    EmbeddingDropout,
    LinearDecoder,
    PoolingLinearClassifier,
    RNNDropout,
    SentenceEncoder,
    SequentialRNN,
    WeightDropout,
    awd_lstm_clas_split,
    awd_lstm_lm_split,
    get_language_model,
    get_text_classifier,
    masked_concat_pool,
)
from plies.typecore import build_from_spec
from torch import nn

SMALL = dict(emb_sz=8, n_hid=12, n_layers=2)


def test_rnn_dropout_uses_one_mask_for_every_time_step() -> None:
    torch.manual_seed(0)
    dp = RNNDropout(0.5)
    x = torch.ones(3, 5, 20)
    y = dp(x)
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert torch.equal(y, y[:, :1].expand_as(y))  # the same units dropped at each step
    dp.eval()
    assert dp(x) is x


def test_weight_dropout_drops_hidden_weights_in_training_only() -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 6, batch_first=True)
    ref = nn.LSTM(4, 6, batch_first=True)
    ref.load_state_dict(lstm.state_dict())
    wd = WeightDropout(lstm, 0.5)
    assert "weight_hh_l0_raw" in dict(wd.named_parameters()) and "module.weight_hh_l0" not in wd.state_dict()
    x = torch.randn(2, 3, 4)
    wd.eval()
    assert torch.allclose(wd(x)[0], ref(x)[0])  # no dropout: the plain LSTM
    assert "module.weight_hh_l0" not in wd.state_dict()  # evaluation does not register the weight
    wd.train()
    seen = []
    wd.module.register_forward_pre_hook(lambda m, args: seen.append(m.weight_hh_l0))
    out = wd(x)[0]
    dropped = seen[0]  # the weights the LSTM ran with
    assert wd.module.weight_hh_l0.grad_fn is None  # after the call the module holds no graph (deepcopy works)
    raw = wd.weight_hh_l0_raw
    zero = dropped == 0
    assert 0.3 < zero.float().mean() < 0.7 and torch.allclose(dropped[~zero], 2 * raw[~zero])
    out.sum().backward()
    assert raw.grad is not None and raw.grad[zero].abs().sum() == 0  # dropped weights get no gradient


def test_embedding_dropout_drops_whole_words() -> None:
    torch.manual_seed(0)
    emb = nn.Embedding(50, 4, padding_idx=1)
    dp = EmbeddingDropout(emb, 0.5)
    words = torch.arange(50)[None]
    out = dp(words)[0]
    dropped = (out == 0).all(1)
    assert 10 < dropped.sum() < 40
    assert torch.allclose(out[~dropped], 2 * emb.weight[~dropped])
    dp.eval()
    assert torch.equal(dp(words), emb(words))
    assert torch.allclose(dp(words, scale=3.0), 3 * emb(words))


def test_awd_lstm_is_stateful_across_batches_until_reset() -> None:
    torch.manual_seed(0)
    enc = AWD_LSTM(30, **SMALL).eval()
    x = torch.randint(2, 30, (3, 10))
    whole = enc(x)
    assert whole.shape == (3, 10, 8)
    enc.reset()
    halves = torch.cat([enc(x[:, :4]), enc(x[:, 4:])], 1)  # the state carries over
    assert torch.allclose(whole, halves, atol=1e-6)
    enc.reset()
    assert not torch.allclose(enc(x[:, 4:]), whole[:, 4:])  # from zeros, the second half differs


def test_awd_lstm_keeps_the_rows_of_a_smaller_batch() -> None:
    torch.manual_seed(0)
    enc = AWD_LSTM(30, **SMALL).eval()
    x = torch.randint(2, 30, (3, 8))
    ref = enc(x)
    enc.reset()
    enc(x[:, :5])
    assert torch.allclose(enc(x[:2, 5:]), ref[:2, 5:], atol=1e-6)  # rows 0 and 1 continue


def test_language_model_ties_the_decoder_to_the_embedding() -> None:
    lm = get_language_model(AWD_LSTM, 40, config=SMALL)
    assert isinstance(lm, SequentialRNN) and isinstance(lm[1], LinearDecoder)
    assert lm[1].decoder.weight is lm[0].encoder.weight
    out = lm(torch.randint(0, 40, (2, 7)))
    assert out.shape == (2, 7, 40)
    rebuilt = build_from_spec(lm.build_spec)  # exports rebuild the model from plain data
    assert rebuilt.state_dict().keys() == lm.state_dict().keys()
    untied = get_language_model(AWD_LSTM, 40, config={**SMALL, "tie_weights": False})
    assert untied[1].decoder.weight is not untied[0].encoder.weight
    scaled = get_language_model(AWD_LSTM, 40, config=SMALL, drop_mult=0.5)
    assert scaled[0].input_dp.p == pytest.approx(0.125) and scaled[1].output_dp.p == pytest.approx(0.05)
    with pytest.raises(KeyError, match="not a known text architecture"):
        get_language_model(nn.LSTM, 40)


def test_sentence_encoder_reads_long_texts_in_chunks() -> None:
    torch.manual_seed(0)
    enc = AWD_LSTM(30, **SMALL).eval()
    texts = [torch.randint(2, 30, (n,)) for n in (11, 4, 7)]
    batch = torch.ones(3, 11, dtype=torch.long)  # padded at the end with 1
    for i, t in enumerate(texts):
        batch[i, : len(t)] = t
    out, mask = SentenceEncoder(3, enc, pad_idx=1)(batch)
    assert out.shape == (3, 11, 8) and mask.sum(1).tolist() == [0, 7, 4]
    for i, t in enumerate(texts):  # each text as if encoded alone
        enc.reset()
        alone = enc(t[None])[0]
        assert torch.allclose(out[i, : len(t)], alone, atol=1e-5)
    out, mask = SentenceEncoder(3, enc, pad_idx=1, max_len=5)(batch)
    assert (~mask).sum(1).tolist() == [5, 4, 5]  # the last 5 tokens of each text are kept
    assert (~mask[0]).nonzero().flatten().tolist() == [6, 7, 8, 9, 10]


def test_masked_concat_pool() -> None:
    out = torch.tensor([[[1.0], [5.0], [3.0]], [[2.0], [-1.0], [9.0]]])
    mask = torch.tensor([[False, False, False], [False, False, True]])
    pooled = masked_concat_pool(out, mask)  # last, max, mean of the kept tokens
    assert pooled.tolist() == [[3.0, 5.0, 3.0], [-1.0, 2.0, 0.5]]


def test_text_classifier_and_its_head() -> None:
    torch.manual_seed(0)
    clas = get_text_classifier(AWD_LSTM, 30, 3, seq_len=4, config=SMALL, lin_ftrs=[16], ps=[0.0]).eval()
    head = clas[1]
    assert isinstance(head, PoolingLinearClassifier) and head.dims == [24, 16, 3]
    x = torch.randint(2, 30, (5, 9))
    assert clas(x).shape == (5, 3)
    assert build_from_spec(clas.build_spec).state_dict().keys() == clas.state_dict().keys()
    with pytest.raises(ValueError, match="2 layers, but 1 dropouts"):
        PoolingLinearClassifier([24, 16, 3], [0.1], bptt=4)


def test_splitters_give_the_groups_of_gradual_unfreezing() -> None:
    lm = get_language_model(AWD_LSTM, 40, config={**SMALL, "n_layers": 3})
    groups = awd_lstm_lm_split(lm)
    assert len(groups) == 4  # three LSTMs, then embedding and (tied) decoder
    assert groups[-1][0] is lm[0].encoder.weight and sum(len(g) for g in groups) == len(list(lm.parameters()))
    clas = get_text_classifier(AWD_LSTM, 40, 2, config={**SMALL, "n_layers": 3})
    groups = awd_lstm_clas_split(clas)
    assert len(groups) == 5 and groups[0][0] is clas[0].module.encoder.weight
    assert sum(len(g) for g in groups) == len(list(clas.parameters()))
