"""`Tokenizer`: the transform that turns a text (a string, a DataFrame row or a file) into its tokens.

At setup it tokenizes every text of the data at once (all subsets: validation texts need tokens
too), in parallel and through the disk caches (`tokenize_texts`, `tokenize_folder`), and keeps
the tokens of those texts in memory for the items to pick up; a text it has not seen (a test
item, `predict`) is tokenized when it comes. A list is already tokenized and passes unchanged,
so a DataFrame tokenized with `tokenize_df` can be used as it is. A trainable tokenizer
(SentencePiece) is trained on the training texts at setup. Decoding joins the tokens with `sep`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from plies.pipes import Transform, register_transform

from ._parallel import tokenize_texts
from ._rules import FLD
from ._tokenize import COUNTER_FILE, read_tokenized_file, tokenize_folder
from ._tokenizers import SpacyTokenizer, TokenizeWithRules

__all__ = ["Tokenizer"]


def _is_row(o: Any) -> bool:
    """A DataFrame row (pandas Series) or a mapping: something the text columns are read from."""
    return hasattr(o, "keys") and hasattr(o, "__getitem__") and not isinstance(o, (str, bytes))


@register_transform(name="plies.text.Tokenizer")
class Tokenizer(Transform):
    """Tokenize texts with `tok` (default `SpacyTokenizer()`) and the `rules` around it.

    Items may be strings, lists of tokens (passed unchanged), DataFrame rows (the `text_cols` are
    read, joined with `xxfld i` marks when there are several) or, in folder mode, files (read from
    the tokenized copy under `output_dir`). `n_workers` and `cache` are those of `tokenize_texts`.
    Use the constructors `from_df` and `from_folder`; `counter` is filled at setup when not given.
    """

    train_setup = False  # setups sees every text: all of them are tokenized at once, in parallel

    @property
    def input_types(self) -> tuple[type, ...]:
        """What it takes (so `test_dl` gives it raw texts): str, token lists, paths, rows (dict, Series)."""
        pd = sys.modules.get("pandas")  # a DataFrame row can only exist once pandas is imported
        return (str, list, Path, dict) + ((pd.Series,) if pd is not None else ())

    def __init__(
        self,
        tok: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
        rules: Sequence[Callable[[str], str]] | None = None,
        counter: dict[str, int] | None = None,
        lengths: dict[str, int] | None = None,
        mode: str | None = None,
        sep: str = " ",
        text_cols: Any = "text",
        mark_fields: bool | None = None,
        post_rules: Sequence[Callable[[list[str]], list[str]]] | None = None,
        n_workers: int | None = None,
        cache: bool | str = True,
        path: str | None = None,
        output_dir: str | None = None,
    ) -> None:
        super().__init__()
        if mode not in (None, "df", "folder"):
            raise ValueError(f"Tokenizer: mode must be None, 'df' or 'folder', got {mode!r}")
        self.tok = tok if tok is not None else SpacyTokenizer()
        self.job = TokenizeWithRules(self.tok, rules=rules, post_rules=post_rules)
        self.rules, self.post_rules = self.job.rules, self.job.post_rules
        self.counter, self.lengths, self.mode, self.sep = counter, lengths, mode, sep
        self.text_cols = list(text_cols) if isinstance(text_cols, (list, tuple)) else [text_cols]
        self.mark_fields = len(self.text_cols) > 1 if mark_fields is None else mark_fields
        self.n_workers, self.cache = n_workers, cache
        self.path, self.output_dir = path, output_dir
        self._memo: dict[str, list[str]] = {}

    @classmethod
    def from_df(
        cls,
        text_cols: Any,
        tok: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
        rules: Sequence[Callable[[str], str]] | None = None,
        sep: str = " ",
        **kwargs: Any,
    ) -> Tokenizer:
        """A Tokenizer that reads the texts of DataFrame rows from `text_cols`."""
        return cls(tok=tok, rules=rules, mode="df", sep=sep, text_cols=text_cols, **kwargs)

    @classmethod
    def from_folder(
        cls,
        path: str | os.PathLike,
        tok: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
        rules: Sequence[Callable[[str], str]] | None = None,
        output_dir: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> Tokenizer:
        """A Tokenizer for the text files under `path`, tokenized at setup into `output_dir`."""
        path = Path(path)
        out = Path(output_dir) if output_dir is not None else path.parent / f"{path.name}_tok"
        return cls(tok=tok, rules=rules, mode="folder", path=str(path), output_dir=str(out), **kwargs)

    # ---- setup: every text at once ------------------------------------------------------------
    def setups(self, items: Any) -> None:
        """Tokenize every text of `items` (in parallel, cached), train the tokenizer if it needs it, count."""
        if items is None:
            return
        if self.mode == "folder":
            self._setup_folder()
            return
        train = getattr(items, "train", items)
        trainable = getattr(self.tok, "setup", None)
        if callable(trainable) and getattr(self.tok, "model_bytes", True) is None:
            trainable([t for t in map(self._text_of, train) if t is not None], self.rules)
        texts = [t for t in map(self._text_of, items) if t is not None and t not in self._memo]
        if texts:
            unique = list(dict.fromkeys(texts))
            tokens = tokenize_texts(unique, self.n_workers, self.rules, self.tok, self.post_rules, self.cache)
            for text, toks in zip(unique, tokens, strict=True):
                self._memo[text] = [sys.intern(t) for t in toks]
        if self.counter is None:
            counter: dict[str, int] = {}
            for o in train:
                for t in self(o):
                    counter[t] = counter.get(t, 0) + 1
            self.counter = counter

    def _setup_folder(self) -> None:
        import json

        assert self.path is not None and self.output_dir is not None
        out = tokenize_folder(
            self.path,
            output_dir=self.output_dir,
            tok=self.tok,
            rules=self.rules,
            post_rules=self.post_rules,
            n_workers=self.n_workers,
        )
        if self.counter is None:
            self.counter = json.loads((out / COUNTER_FILE).read_text(encoding="utf-8"))

    def _text_of(self, o: Any) -> str | None:
        """The raw text of an item (None when it is already tokenized or is a file)."""
        if isinstance(o, str):
            return o
        if _is_row(o):
            text = self._row_text(o)
            return text if isinstance(text, str) else None
        return None

    def _row_text(self, row: Any) -> Any:
        missing = [c for c in self.text_cols if c not in row.keys()]
        if missing:
            raise KeyError(
                f"Tokenizer: the row has no text column(s) {missing} (it has {list(row.keys())}); "
                f"pass text_cols= (Tokenizer.from_df(text_cols)) or a getter that reads the text"
            )
        values = [row[c] for c in self.text_cols]
        if len(values) == 1 and isinstance(values[0], (list, tuple)):
            return list(values[0])  # a column tokenized already (tokenize_df)
        parts = []
        for i, v in enumerate(values):
            v = "" if v is None or v != v else str(v)  # NaN != NaN: a missing text is empty
            parts.append(f"{FLD} {i + 1} {v}" if self.mark_fields else v)
        return " ".join(parts)

    # ---- encoding -------------------------------------------------------------------------------
    def _tokenize(self, text: str) -> list[str]:
        toks = self._memo.get(text)
        return list(toks) if toks is not None else next(iter(self.job([text])))

    def encodes(self, o: str) -> list:
        """The tokens of a text."""
        return self._tokenize(o)

    def encodes(self, o: list) -> list:  # noqa: F811  (one implementation per type)
        """A list is already tokenized: unchanged."""
        return o

    def encodes(self, o: Path) -> list:  # noqa: F811
        """The tokens of a file: its tokenized copy (folder mode, a file under `path`), else its text's."""
        if self.mode == "folder" and self.path is not None and self.output_dir is not None:
            try:
                rel = o.relative_to(self.path)
            except ValueError:
                rel = None
            if rel is not None and (Path(self.output_dir) / rel).is_file():
                return read_tokenized_file(Path(self.output_dir) / rel)
        return self._tokenize(o.read_text(encoding="utf-8"))

    def encodes(self, o: object) -> list:  # noqa: F811
        """A DataFrame row: the text of `text_cols`; anything else is refused, naming what was expected."""
        if _is_row(o):
            text = self._row_text(o)
            return text if isinstance(text, list) else self._tokenize(text)
        raise TypeError(
            f"Tokenizer: expected a text (str), a list of tokens, a file path or a DataFrame row, "
            f"found {type(o).__name__} {o!r:.60}"
        )

    def decodes(self, o: list) -> str:
        """The tokens joined by `sep` (special tokens included)."""
        return self.sep.join(str(t) for t in o)
