"""Tokenizers, parallel tokenization and the disk caches: the files are checked, not the wall time."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from plies.text import (
    BOS,
    FLD,
    TK_MAJ,
    BaseTokenizer,
    SentencePieceTokenizer,
    SpacyTokenizer,
    TokenizeWithRules,
    load_tokenized_csv,
    parallel_tokenize,
    read_tokenized_file,
    text_cache_dir,
    tokenize1,
    tokenize_csv,
    tokenize_df,
    tokenize_folder,
    tokenize_texts,
)

TEXTS = [
    f"This is text number {i}. It's GREAT!" if i % 2 else f"Another one, #{i} of them/all" for i in range(300)
]


def test_base_tokenizer_splits_on_a_character() -> None:
    assert list(BaseTokenizer()(["a b  c", "d"])) == [["a", "b", "c"], ["d"]]
    assert list(BaseTokenizer(split_char=",")(["a,b"])) == [["a", "b"]]


def test_spacy_tokenizer_keeps_special_tokens_whole() -> None:
    tok = SpacyTokenizer()
    assert list(tok(["xxbos xxmaj don't stop"])) == [["xxbos", "xxmaj", "do", "n't", "stop"]]
    custom = SpacyTokenizer(special_toks=["xxbos", "<eos>"])  # one spaCy would split: a special case
    assert list(custom(["xxbos hi <eos> there"])) == [["xxbos", "hi", "<eos>", "there"]]
    with pytest.raises(ValueError, match="spaCy has no language 'zz'"):
        SpacyTokenizer(lang="zz")


def test_tokenize1_applies_the_default_rules_around_the_tokenizer() -> None:
    assert tokenize1("Hello world!", SpacyTokenizer()) == [BOS, TK_MAJ, "hello", "world", "!"]
    assert tokenize1("a b", BaseTokenizer(), rules=[], post_rules=[]) == ["a", "b"]


def test_sentencepiece_trains_on_texts_with_the_vocab_size_asked() -> None:
    texts = [
        f"the quick brown fox {w} over the lazy dog number {i}" for i, w in enumerate(["jumps", "leaps"] * 60)
    ]
    sp = SentencePieceTokenizer(vocab_sz=60)
    with pytest.raises(ValueError, match="no model yet"):
        list(sp(["x"]))
    sp.setup(texts)
    from sentencepiece import SentencePieceProcessor

    def n_pieces(tok: SentencePieceTokenizer) -> int:
        return SentencePieceProcessor(model_proto=tok.model_bytes).get_piece_size()

    small = SentencePieceTokenizer(vocab_sz=50)
    small.setup(texts)
    assert 55 <= n_pieces(sp) <= 60 and 45 <= n_pieces(small) <= 50  # a soft limit: at most vocab_sz
    with pytest.raises(
        ValueError, match="Vocabulary size is smaller than required_chars.*choose another vocab_sz"
    ):
        SentencePieceTokenizer(vocab_sz=20).setup(texts)
    pieces = next(iter(sp(["the lazy dog"])))
    assert "".join(pieces).replace("▁", " ").strip() == "the lazy dog"
    reloaded = SentencePieceTokenizer(sp_model=sp.model_bytes)  # the bytes are the whole model
    assert next(iter(reloaded(["the lazy dog"]))) == pieces
    # the special tokens are pieces of their own
    assert "xxmaj" in next(iter(TokenizeWithRules(sp)(["The Dog"])))


def test_parallel_tokenize_matches_one_process_and_keeps_the_order() -> None:
    one = parallel_tokenize(TEXTS, n_workers=1)
    two = parallel_tokenize(TEXTS, n_workers=2)
    assert one == two and len(one) == len(TEXTS)
    assert one[1] == tokenize1(TEXTS[1], SpacyTokenizer())
    with pytest.raises(ValueError, match="n_workers must be an int >= 0"):
        parallel_tokenize(TEXTS, n_workers=-1)


def _cache_files() -> list[Path]:
    folder = text_cache_dir()
    return sorted(folder.glob("*.jsonl")) if folder.exists() else []


def test_tokenize_texts_caches_by_texts_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    first = tokenize_texts(TEXTS[:10], n_workers=1)
    files = _cache_files()
    assert len(files) == 1
    assert [json.loads(line) for line in files[0].read_text().splitlines()] == first
    # reused: the file is read, not rewritten, and nothing is tokenized again
    mtime = files[0].stat().st_mtime_ns
    import plies.text._parallel as par

    with monkeypatch.context() as m:
        m.setattr(par, "parallel_tokenize", lambda *a, **k: pytest.fail("tokenized again"))
        assert tokenize_texts(TEXTS[:10], n_workers=1) == first
    assert files[0].stat().st_mtime_ns == mtime
    # another text, or other rules: another cache file
    tokenize_texts(TEXTS[:9] + ["changed"], n_workers=1)
    assert len(_cache_files()) == 2
    tokenize_texts(TEXTS[:10], n_workers=1, rules=[])
    assert len(_cache_files()) == 3
    tokenize_texts(TEXTS[:10], n_workers=1, cache=False)
    assert len(_cache_files()) == 3


def test_tokenize_df_joins_columns_with_field_marks() -> None:
    df = pd.DataFrame({"title": ["Big news", "Small"], "body": ["It rains.", "Sunny"], "label": [1, 0]})
    df_tok, count = tokenize_df(df, ["title", "body"], n_workers=1)
    assert list(df_tok.columns) == ["label", "text", "text_length"]
    assert df_tok["text"][0] == [BOS, FLD, "1", TK_MAJ, "big", "news", FLD, "2", TK_MAJ, "it", "rains", "."]
    assert df_tok["text_length"].tolist() == [12, 9]
    assert count == Counter(t for toks in df_tok["text"] for t in toks)
    one, _ = tokenize_df(df, "body", n_workers=1)
    assert one["text"][1] == [BOS, TK_MAJ, "sunny"]  # one column: no field mark
    with pytest.raises(KeyError, match="no text column 'nope'"):
        tokenize_df(df, "nope")


def test_tokenize_csv_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["Hello there.", "Bye\nnow"], "y": [0, 1]}).to_csv(src, index=False)
    out = tokenize_csv(src, "text", n_workers=1)
    assert out == tmp_path / "texts_tok.csv"
    df, count = load_tokenized_csv(out)
    assert df["text"][0] == [BOS, TK_MAJ, "hello", "there", "."] and df["y"].tolist() == [0, 1]
    assert df["text"][1] == [BOS, TK_MAJ, "bye", "\n", "now"]
    assert count["xxbos"] == 2


def _write(folder: Path, name: str, text: str) -> Path:
    f = folder / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text)
    return f


def test_tokenize_folder_redoes_only_what_changed(tmp_path: Path) -> None:
    src = tmp_path / "docs"
    _write(src, "train/pos/a.txt", "Great movie.")
    _write(src, "train/neg/b.txt", "Bad movie.")
    b = src / "train/neg/b.txt"
    out = tokenize_folder(src, n_workers=1)
    assert out == tmp_path / "docs_tok"
    assert read_tokenized_file(out / "train/pos/a.txt") == [BOS, TK_MAJ, "great", "movie", "."]
    assert json.loads((out / "lengths.json").read_text()) == {"train/neg/b.txt": 5, "train/pos/a.txt": 5}
    assert json.loads((out / "counter.json").read_text())["movie"] == 2
    stamp = {p: (out / p).stat().st_mtime_ns for p in ("train/pos/a.txt", "train/neg/b.txt")}

    b.write_text("Bad movie movie movie!")
    os.utime(b, ns=(b.stat().st_atime_ns, b.stat().st_mtime_ns + 10**9))
    _write(src, "valid/pos/c.txt", "Fine.")
    tokenize_folder(src, n_workers=1)
    assert (out / "train/pos/a.txt").stat().st_mtime_ns == stamp["train/pos/a.txt"]  # unchanged: reused
    assert read_tokenized_file(out / "train/neg/b.txt") == [BOS, TK_MAJ, "bad", "xxwrep", "3", "movie", "!"]
    assert read_tokenized_file(out / "valid/pos/c.txt") == [BOS, TK_MAJ, "fine", "."]
    assert json.loads((out / "counter.json").read_text())["movie"] == 2

    tokenize_folder(src, n_workers=1, rules=[])  # other settings: everything again
    assert read_tokenized_file(out / "train/pos/a.txt") == ["Great", "movie", "."]
    with pytest.raises(ValueError, match="no files with extensions"):
        tokenize_folder(tmp_path / "docs" / "train" / "pos", extensions=[".md"])
