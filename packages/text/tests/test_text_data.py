"""Text data: LMDataLoader's stream, SortedDL's order, padding, TextBlock, TextDataLoaders, display."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from plies.loaders import ColReader, DataBlock, RandomSplitter
from plies.text import (
    BOS,
    LMDataLoader,
    Pad_Input,
    SortedDL,
    TextBlock,
    TextDataLoaders,
    make_vocab,
    pad_input,
    tokenize_df,
)
from plies.typecore import LMTensorText, TensorCategory, TensorText


def _docs(*lengths: int) -> list[tuple[TensorText]]:
    start, res = 0, []
    for n in lengths:
        res.append((TensorText(torch.arange(start, start + n)),))
        start += n
    return res


def test_lm_dataloader_cuts_one_stream_into_rows_and_windows() -> None:
    dl = LMDataLoader(_docs(4, 6, 5), bs=2, seq_len=3)  # tokens 0..14; 7 per row (the last is only a target)
    batches = [(x.tolist(), y.tolist()) for x, y in dl]
    assert batches == [
        ([[0, 1, 2], [7, 8, 9]], [[1, 2, 3], [8, 9, 10]]),
        ([[3, 4, 5], [10, 11, 12]], [[4, 5, 6], [11, 12, 13]]),
        ([[6], [13]], [[7], [14]]),
    ]
    x, y = dl.one_batch()
    assert type(x) is LMTensorText and type(y) is TensorText and len(dl) == 3
    assert LMDataLoader(_docs(4, 6, 5), lens=[4, 6, 5], bs=2, seq_len=3).n == 6
    with pytest.raises(NotImplementedError, match="world_size=2"):
        LMDataLoader(_docs(4, 6, 5), bs=2, world_size=2, rank=1)
    with pytest.raises(ValueError, match="2 lens for 3 texts"):
        LMDataLoader(_docs(4, 6, 5), lens=[4, 6], bs=2)


def test_lm_dataloader_shuffles_the_texts_each_epoch_and_keeps_rows_continuous() -> None:
    docs = _docs(*range(3, 13))  # text k holds the ids start_k .. start_k + len_k - 1
    firsts = {int(d[0][0]): d[0].tolist() for d in docs}
    dl = LMDataLoader(docs, bs=3, seq_len=4, shuffle=True, seed=0)
    orders = []
    for _ in range(3):
        xs, ys = zip(*dl, strict=True)
        rows_x, rows_y = torch.cat(xs, 1), torch.cat(ys, 1)
        assert torch.equal(rows_x[:, 1:], rows_y[:, :-1])  # the target is the input shifted by one token
        assert torch.equal(rows_x[1:, 0], rows_y[:-1, -1])  # row j+1 continues row j: one stream
        stream = torch.cat([rows_x.flatten(), rows_y[-1, -1:]]).tolist()
        order, pos = [], 0
        while pos < len(stream):  # the stream is made of whole texts, one after the other
            text = firsts[stream[pos]]
            assert stream[pos : pos + len(text)] == text[: len(stream) - pos]
            order.append(stream[pos])
            pos += len(text)
        orders.append(order)
    assert len({tuple(o) for o in orders}) == 3  # a new order each epoch
    assert LMDataLoader(docs, bs=3, seq_len=4, shuffle=True, seed=0).one_batch()[0].tolist() != (
        LMDataLoader(docs, bs=3, seq_len=4).one_batch()[0].tolist()
    )


def test_pad_input_pads_the_texts_of_a_batch() -> None:
    samples = [(TensorText(torch.tensor([5, 6, 7])), 0), (TensorText(torch.tensor([8])), 1)]
    padded = pad_input(samples, pad_idx=1)
    assert [s[0].tolist() for s in padded] == [[5, 6, 7], [8, 1, 1]] and [s[1] for s in padded] == [0, 1]
    assert type(padded[1][0]) is TensorText
    assert pad_input(samples, pad_first=True)[1][0].tolist() == [1, 1, 8]
    assert pad_input(samples, backwards=True)[0][0].tolist() == [7, 6, 5]
    assert Pad_Input().decode(TensorText(torch.tensor([8, 1, 1]))).tolist() == [8]
    with pytest.raises(IndexError, match="pad_fields holds 3"):
        pad_input(samples, pad_fields=3)


def _sized(lengths: list[int]) -> list[tuple[TensorText, TensorCategory]]:
    return [(TensorText(torch.full((n,), 5 + i)), TensorCategory(i % 2)) for i, n in enumerate(lengths)]


def test_sorted_dl_batches_texts_of_similar_lengths() -> None:
    lengths = [(i * 37) % 41 + 1 for i in range(40)]  # 1..41 in a scrambled order
    ordered = sorted(lengths, reverse=True)
    items = _sized(lengths)
    valid = SortedDL(items, bs=4, before_batch=Pad_Input())
    real = [n for x, _ in valid for n in (x != 1).sum(1).tolist()]
    assert real == ordered  # validation: longest first
    train = SortedDL(items, bs=4, shuffle=True, seed=1, before_batch=Pad_Input())
    batches = []
    for x, _ in train:
        real = (x != 1).sum(1).tolist()
        start = ordered.index(real[0])
        assert real == ordered[start : start + 4] and x.shape[1] == real[0]  # one run of similar lengths
        batches.append(start)
    assert batches[0] == 0 and batches[-1] == 36  # the longest batch first, the shortest last
    assert sorted(batches) == list(range(0, 40, 4)) and batches != sorted(batches)  # the rest shuffled
    many = _sized([(i * 97) % 301 + 1 for i in range(300)])  # more than 50 batches: several sorted chunks
    for seed in range(3):
        first, _ = next(iter(SortedDL(many, bs=2, shuffle=True, seed=seed, before_batch=Pad_Input())))
        assert first.shape[1] == 301  # the longest item goes in the first batch
    assert SortedDL(items, bs=4, res=lengths).res == lengths
    with pytest.raises(ValueError, match="3 sort keys"):
        SortedDL(items, res=[1, 2, 3])


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    pos = ["I loved this film, GREAT acting.", "Wonderful story and great music!", "A great, great film."]
    neg = ["I hated this film, awful acting.", "Boring story and bad music.", "A bad, bad film!!!!"]
    rows = [(t, "pos") for t in pos] + [(t, "neg") for t in neg]
    rows = rows * 4
    return pd.DataFrame(
        {
            "text": [r[0] for r in rows],
            "label": [r[1] for r in rows],
            "is_valid": [i >= 18 for i in range(len(rows))],
        }
    )


def test_text_dataloaders_from_df_for_a_classifier(reviews: pd.DataFrame) -> None:
    dls = TextDataLoaders.from_df(
        reviews, text_col="text", label_col="label", valid_col="is_valid", bs=4, min_freq=1
    )
    x, y = dls.one_batch()
    assert type(x) is TensorText and type(y) is TensorCategory and x.shape[0] == 4
    assert list(dls.vocab) == ["neg", "pos"] and len(dls.train_ds) == 18 and len(dls.valid_ds) == 6
    text_vocab = dls.train_ds.tls[0].vocab
    assert text_vocab[:2] == ["xxunk", "xxpad"] and "great" in text_vocab and len(text_vocab) % 8 == 0
    shown = dls.show_batch(max_n=2, show=True)
    assert list(shown.columns) == ["text", "category"] and len(shown) == 2
    assert shown["text"][0].startswith(BOS) and "xxpad" not in " ".join(shown["text"])
    x, y, samples = dls.valid.show_batch(show=False)
    assert samples[0][0].startswith("xxbos") and samples[0][1] in ("neg", "pos")
    tdl = dls.test_dl(["What a GREAT film", ["xxbos", "bad"]])
    ids = [t.tolist() for (t,) in tdl.dataset]
    assert [text_vocab[i] for i in ids[0]] == [
        "xxbos",
        "xxmaj",
        "xxunk",
        "a",
        "xxup",
        "great",
        "film",
    ]  # "what": unknown
    assert [text_vocab[i] for i in ids[1]] == ["xxbos", "bad"]  # a list of tokens is used as it is


def test_language_model_data_from_a_pretokenized_df_the_papers_way(reviews: pd.DataFrame) -> None:
    df_tok, count = tokenize_df(reviews, ["text"])
    dls_lm = TextDataLoaders.from_df(
        df_tok, vocab=make_vocab(count, min_freq=1), text_col="text", is_lm=True, bs=2, seq_len=8, seed=0
    )
    x, y = dls_lm.one_batch()
    assert type(x) is LMTensorText and x.shape == (2, 8) and torch.equal(x[:, 1:], y[:, :-1])
    shown = dls_lm.show_batch(max_n=2, trunc_at=5)
    assert list(shown.columns) == ["text", "text_"] and len(shown["text"][0].split(" ")) == 5
    block = DataBlock(
        blocks=TextBlock(make_vocab(count, min_freq=1), is_lm=True),
        get_x=ColReader("text"),
        splitter=RandomSplitter(0.25, seed=0),
    )
    dls = block.dataloaders(df_tok, bs=2, seq_len=6)
    assert dls.one_batch()[0].shape == (2, 6)
    with pytest.raises(TypeError, match="vocab was given twice"):
        TextBlock(["a", "b"], vocab=["a"])


def test_from_folder_and_from_csv(tmp_path: Path, reviews: pd.DataFrame) -> None:
    root = tmp_path / "imdb"
    for i, (text, label, valid) in enumerate(reviews.itertuples(index=False)):
        f = root / ("valid" if valid else "train") / label / f"{i}.txt"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    dls = TextDataLoaders.from_folder(root, bs=4, min_freq=1)
    assert list(dls.vocab) == ["neg", "pos"] and len(dls.valid_ds) == 6
    assert (tmp_path / "imdb_tok" / "train" / "pos" / "0.txt").read_text().startswith("xxbos xxmaj i loved")
    x, _ = dls.one_batch()
    assert type(x) is TensorText
    reviews.to_csv(tmp_path / "texts.csv", index=False)
    csv = TextDataLoaders.from_csv(
        tmp_path, "texts.csv", text_col="text", label_col="label", valid_col="is_valid", bs=4
    )
    assert len(csv.train_ds) == 18
