"""make_vocab and Numericalize: order, limits, padding to a multiple of 8, round trips."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from plies.text import Numericalize, make_vocab, text_spec_tok
from plies.typecore import TensorText


def test_make_vocab_specials_first_then_by_frequency() -> None:
    count = Counter({"the": 10, "a": 7, "cat": 3, "dog": 3, "rare": 2, "xxmaj": 50})
    vocab = make_vocab(count)
    assert vocab[:9] == list(text_spec_tok)  # xxmaj stays in its special place
    assert vocab[9:12] == ["the", "a", "cat"] and vocab[12] == "dog"  # ties: first seen first
    assert "rare" not in vocab  # below min_freq=3
    assert len(vocab) % 8 == 0 and vocab[13:] == ["xxfake"] * 3
    assert make_vocab(count, min_freq=2)[13] == "rare"
    assert make_vocab(count, max_vocab=10) == list(text_spec_tok) + ["the"] + ["xxfake"] * 6
    assert len(make_vocab(["x"] * 3, special_toks=[])) == 8  # an iterable of tokens is counted
    with pytest.raises(ValueError, match="min_freq must be an int >= 1"):
        make_vocab(count, min_freq=0)


def test_numericalize_round_trip_and_unknown_tokens() -> None:
    vocab = make_vocab(Counter({"hello": 5, "world": 4}))
    num = Numericalize(vocab)
    ids = num(["hello", "unseen", "world", "xxpad"])
    assert type(ids) is TensorText and ids.tolist() == [9, 0, 10, 1]  # xxunk is 0, xxpad 1
    assert num.decode(ids) == ["hello", "xxunk", "world", "xxpad"]
    with pytest.raises(ValueError, match="no vocab yet"):
        Numericalize()(["a"])
    with pytest.raises(TypeError, match="vocab must be a list of token strings"):
        Numericalize("hello")


def test_numericalize_builds_its_vocab_from_the_training_items_only() -> None:
    from plies.loaders import TfmdLists

    items = [["a", "a", "b"], ["a", "b", "b"], ["c", "c", "c", "c"]]
    tl = TfmdLists(items, [Numericalize(min_freq=2)], splits=[[0, 1], [2]])
    vocab = tl.vocab
    assert vocab[9:11] == ["a", "b"] and "c" not in vocab  # c only in the validation split
    assert tl.valid[0].tolist() == [0, 0, 0, 0]
    state = tl.tfms[0].state_dict()
    fresh = Numericalize()
    fresh.load_state_dict(state)
    assert fresh(["b", "a"]).tolist() == [10, 9] and isinstance(fresh.vocab, list)


def test_decode_a_tensor_text_of_ids() -> None:
    num = Numericalize(["xxunk", "xxpad", "hi", "there"] + ["xxfake"] * 4)
    assert num.decode(TensorText(torch.tensor([2, 3, 1]))) == ["hi", "there", "xxpad"]
    assert num(["xxfake"]).tolist() == [0]  # fillers are not tokens
