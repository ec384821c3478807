"""The data block of texts (`TextBlock`) and `TextDataLoaders` (from a DataFrame, a CSV file or folders).

A `TextBlock` tokenizes (`Tokenizer`) and numericalizes (`Numericalize`) its texts; for a
language model (`is_lm=True`) the DataLoader is an `LMDataLoader` (windows of `seq_len` tokens),
for a classifier a `SortedDL` that pads the texts of a batch to one length (`Pad_Input`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from plies.loaders import (
    CategoryBlock,
    ColReader,
    ColSplitter,
    DataBlock,
    DataLoaders,
    GrandparentSplitter,
    MultiCategoryBlock,
    RandomSplitter,
    TransformBlock,
    get_files,
    parent_label,
)
from plies.typecore import L, is_listy

from ._loaders import LMDataLoader, SortedDL
from ._numericalize import Numericalize
from ._pad import Pad_Input, reverse_text
from ._tokenizer import Tokenizer

__all__ = ["TextBlock", "TextDataLoaders", "get_text_files"]


def get_text_files(path: str | os.PathLike, recurse: bool = True, folders: Sequence[str] | None = None) -> L:
    """The `.txt` files under `path` (inside `folders` when given), sorted."""
    return get_files(path, extensions=[".txt"], recurse=recurse, folders=folders)


def _is_vocab(o: Any) -> bool:
    return isinstance(o, (list, tuple)) and len(o) > 0 and all(isinstance(w, str) for w in o[:100])


class TextBlock(TransformBlock):
    """The block of a text: `tok_tfm` (a `Tokenizer`, default one with spaCy), then `Numericalize`.

    `vocab` (None: built from the training texts with `min_freq`, `max_vocab`); `is_lm` for a
    language model (`LMDataLoader`, windows of `seq_len` tokens) or a classifier's input
    (`SortedDL`, padded batches); `backwards` reverses the texts. The paper's `TextBlock(vocab,
    is_lm=True)` (a vocabulary first, for texts tokenized beforehand) works too.
    """

    def __init__(
        self,
        tok_tfm: Any = None,
        vocab: Sequence[str] | None = None,
        is_lm: bool = False,
        seq_len: int = 72,
        backwards: bool = False,
        min_freq: int = 3,
        max_vocab: int = 60000,
        special_toks: Sequence[str] | None = None,
    ) -> None:
        if _is_vocab(tok_tfm):  # the paper's TextBlock(make_vocab(count), is_lm=True)
            if vocab is not None:
                raise TypeError("TextBlock: a vocab was given twice (as the first argument and as vocab=)")
            tok_tfm, vocab = None, list(tok_tfm)
        if tok_tfm is None:
            tok_tfm = Tokenizer()
        if not callable(tok_tfm):
            raise TypeError(
                f"TextBlock: tok_tfm must be a Tokenizer (a transform), found {type(tok_tfm).__name__}"
            )
        type_tfms = [
            tok_tfm,
            Numericalize(vocab, min_freq=min_freq, max_vocab=max_vocab, special_toks=special_toks),
        ]
        if backwards:
            type_tfms.append(reverse_text())
        if is_lm:
            super().__init__(type_tfms=type_tfms, dl_type=LMDataLoader, dls_kwargs={"seq_len": seq_len})
        else:
            super().__init__(type_tfms=type_tfms, dl_type=SortedDL, dls_kwargs={"before_batch": Pad_Input()})
        self.is_lm, self.seq_len, self.backwards = is_lm, seq_len, backwards

    @classmethod
    def from_df(
        cls,
        text_cols: Any,
        vocab: Sequence[str] | None = None,
        is_lm: bool = False,
        seq_len: int = 72,
        backwards: bool = False,
        min_freq: int = 3,
        max_vocab: int = 60000,
        tok: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
        rules: Sequence[Callable[[str], str]] | None = None,
        sep: str = " ",
        n_workers: int | None = None,
        mark_fields: bool | None = None,
        cache: bool | str = True,
    ) -> TextBlock:
        """A TextBlock reading the texts of DataFrame rows from `text_cols` (`Tokenizer.from_df`)."""
        tok_tfm = Tokenizer.from_df(
            text_cols,
            tok=tok,
            rules=rules,
            sep=sep,
            n_workers=n_workers,
            mark_fields=mark_fields,
            cache=cache,
        )
        return cls(
            tok_tfm,
            vocab=vocab,
            is_lm=is_lm,
            seq_len=seq_len,
            backwards=backwards,
            min_freq=min_freq,
            max_vocab=max_vocab,
        )

    @classmethod
    def from_folder(
        cls,
        path: str | os.PathLike,
        vocab: Sequence[str] | None = None,
        is_lm: bool = False,
        seq_len: int = 72,
        backwards: bool = False,
        min_freq: int = 3,
        max_vocab: int = 60000,
        tok: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
        rules: Sequence[Callable[[str], str]] | None = None,
        n_workers: int | None = None,
        output_dir: str | os.PathLike | None = None,
    ) -> TextBlock:
        """A TextBlock for the text files under `path`, tokenized into `output_dir` (`from_folder`)."""
        tok_tfm = Tokenizer.from_folder(
            path, tok=tok, rules=rules, output_dir=output_dir, n_workers=n_workers
        )
        return cls(
            tok_tfm,
            vocab=vocab,
            is_lm=is_lm,
            seq_len=seq_len,
            backwards=backwards,
            min_freq=min_freq,
            max_vocab=max_vocab,
        )

    def __repr__(self) -> str:
        return f"TextBlock(is_lm={self.is_lm}, seq_len={self.seq_len}, type_tfms={list(self.type_tfms)})"


def _column(col: Any, columns: Sequence[Any], what: str) -> Any:
    """A column name from a name or a position (fastai's default text_col=0, label_col=1)."""
    if col in columns:
        return col
    if isinstance(col, int) and not isinstance(col, bool) and 0 <= col < len(columns):
        return columns[col]
    raise KeyError(f"TextDataLoaders.from_df: no {what} {col!r}; the columns are {list(columns)}")


def _text_vocab(text_vocab: Any, vocab: Any, who: str) -> Any:
    if vocab is not None and text_vocab is not None:
        raise TypeError(
            f"{who}: give the texts' vocabulary once, as text_vocab= (vocab= is the paper's spelling)"
        )
    return text_vocab if text_vocab is not None else vocab


class TextDataLoaders(DataLoaders):
    """DataLoaders of texts, for a language model (`is_lm=True`) or a classifier, built from a DataFrame,
    a CSV file or folders of text files."""

    @classmethod
    def from_df(
        cls,
        df: Any,
        path: str | os.PathLike = ".",
        valid_pct: float = 0.2,
        seed: int | None = None,
        text_col: Any = 0,
        label_col: Any = 1,
        label_delim: str | None = None,
        y_block: Any = None,
        text_vocab: Sequence[str] | None = None,
        is_lm: bool = False,
        valid_col: Any = None,
        tok_tfm: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
        seq_len: int = 72,
        backwards: bool = False,
        vocab: Sequence[str] | None = None,
        min_freq: int = 3,
        max_vocab: int = 60000,
        **kwargs: Any,
    ) -> Any:
        """DataLoaders from the DataFrame `df`: texts in `text_col` (tokenized here unless they are lists
        of tokens already, as `tokenize_df` returns), labels in `label_col` (not for a language model).

        Validation: the rows where `valid_col` is true, else `valid_pct` at random (`seed`).
        `tok_tfm`: the base tokenizer (default `SpacyTokenizer()`). Other keywords (`bs`,
        `n_workers`...) go to the DataLoaders.
        """
        columns = list(df.columns)
        text = [_column(c, columns, "text column") for c in (text_col if is_listy(text_col) else [text_col])]
        tok_kw = {k: kwargs.pop(k) for k in ("rules", "n_workers", "mark_fields", "cache") if k in kwargs}
        block = TextBlock.from_df(
            text,
            vocab=_text_vocab(text_vocab, vocab, "TextDataLoaders.from_df"),
            is_lm=is_lm,
            seq_len=seq_len,
            backwards=backwards,
            min_freq=min_freq,
            max_vocab=max_vocab,
            tok=tok_tfm,
            **tok_kw,
        )
        blocks: list[Any] = [block]
        get_y = None
        if not is_lm:
            labels = [
                _column(c, columns, "label column")
                for c in (label_col if is_listy(label_col) else [label_col])
            ]
            if y_block is None:
                y_block = MultiCategoryBlock if len(labels) > 1 or label_delim is not None else CategoryBlock
            blocks += list(y_block) if is_listy(y_block) else [y_block]
            get_y = ColReader(labels if len(labels) > 1 else labels[0], label_delim=label_delim)
        splitter = RandomSplitter(valid_pct, seed=seed) if valid_col is None else ColSplitter(valid_col)
        dblock = DataBlock(blocks=blocks, get_y=get_y, splitter=splitter)
        return dblock.dataloaders(df, path=path, **kwargs)

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike,
        csv_fname: str = "labels.csv",
        header: Any = "infer",
        delimiter: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """`from_df` on the CSV file `path/csv_fname` (keywords go to `from_df`)."""
        import pandas as pd

        df = pd.read_csv(Path(path) / csv_fname, header=header, sep="," if delimiter is None else delimiter)
        return cls.from_df(df, path=path, **kwargs)

    @classmethod
    def from_folder(
        cls,
        path: str | os.PathLike,
        train: str = "train",
        valid: str = "valid",
        valid_pct: float | None = None,
        seed: int | None = None,
        vocab: Sequence[str] | None = None,
        text_vocab: Sequence[str] | None = None,
        is_lm: bool = False,
        tok_tfm: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
        seq_len: int = 72,
        backwards: bool = False,
        min_freq: int = 3,
        max_vocab: int = 60000,
        **kwargs: Any,
    ) -> Any:
        """DataLoaders from text files in `path/train/<label>/` and `path/valid/<label>/` (or `valid_pct` at
        random); `vocab` is the labels' (as fastai), `text_vocab` the texts'. The files are tokenized
        into a `<name>_tok` folder beside `path` (only those that changed, on later calls)."""
        path = Path(path)
        tok_kw = {k: kwargs.pop(k) for k in ("rules", "n_workers", "output_dir") if k in kwargs}
        block = TextBlock.from_folder(
            path,
            vocab=text_vocab,
            is_lm=is_lm,
            seq_len=seq_len,
            backwards=backwards,
            min_freq=min_freq,
            max_vocab=max_vocab,
            tok=tok_tfm,
            **tok_kw,
        )
        blocks: list[Any] = [block] if is_lm else [block, CategoryBlock(vocab=vocab)]
        folders = [train, valid] if valid_pct is None else None
        splitter = (
            GrandparentSplitter(train_name=train, valid_name=valid)
            if valid_pct is None
            else RandomSplitter(valid_pct, seed=seed)
        )
        dblock = DataBlock(
            blocks=blocks,
            get_items=_TextFiles(folders),
            get_y=None if is_lm else parent_label,
            splitter=splitter,
        )
        return dblock.dataloaders(path, path=path, **kwargs)


class _TextFiles:
    """`get_items` of `from_folder`: the text files inside `folders` (all when None)."""

    def __init__(self, folders: Sequence[str] | None) -> None:
        self.folders = folders
        self.__name__ = "get_text_files"

    def __call__(self, path: Any) -> L:
        return get_text_files(path, folders=self.folders)
