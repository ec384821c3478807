"""Tokenize a DataFrame, a CSV file, a list of files or a folder (fastai's functions), with their caches.

DataFrames and CSV files go through `tokenize_texts` (parallel, cached by content in
``$PLIES_HOME/text_cache``). Files are tokenized into an output folder, one tokenized file per
text file (tokens joined by spaces), beside a `counter.json` (token counts), a `lengths.json`
(tokens per file) and a `settings.json` recording the tokenizer's settings and, for each source
file, its size and modification time: a later call with the same settings re-tokenizes only the
files that changed (or are new), and all of them when the settings change.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ._parallel import parallel_tokenize, tokenize_texts
from ._rules import FLD
from ._tokenizers import SpacyTokenizer, TokenizeWithRules

__all__ = [
    "tokenize_df",
    "tokenize_csv",
    "load_tokenized_csv",
    "tokenize_files",
    "tokenize_folder",
    "read_tokenized_file",
]

SETTINGS_FILE, COUNTER_FILE, LENGTHS_FILE = "settings.json", "counter.json", "lengths.json"
_FORMAT = "plies.text.tokenized_files/1"


def _text_cols(text_cols: Any, columns: Sequence[Any], who: str) -> list[Any]:
    cols = list(text_cols) if isinstance(text_cols, (list, tuple)) else [text_cols]
    if not cols:
        raise ValueError(f"{who}: text_cols is empty; name the column(s) holding the texts")
    for c in cols:
        if c not in columns and not (isinstance(c, int) and 0 <= c < len(columns)):
            raise KeyError(f"{who}: no text column {c!r}; the columns are {list(columns)}")
    return [c if c in columns else columns[c] for c in cols]


def _joined_texts(df: Any, cols: list[Any], mark_fields: bool) -> list[str]:
    """One text per row: the columns' texts, each after `xxfld i` when `mark_fields`."""
    texts = [""] * len(df)
    for i, c in enumerate(cols):
        values = df[c].fillna("").astype(str).tolist()
        prefix = f"{FLD} {i + 1} " if mark_fields else ""
        texts = [f"{t} {prefix}{v}" if t else f"{prefix}{v}" for t, v in zip(texts, values, strict=True)]
    return texts


def tokenize_df(
    df: Any,
    text_cols: Any,
    n_workers: int | None = None,
    rules: Sequence[Callable[[str], str]] | None = None,
    mark_fields: bool | None = None,
    tok: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
    tok_text_col: str = "text",
    post_rules: Sequence[Callable[[list[str]], list[str]]] | None = None,
    cache: bool | str | os.PathLike = True,
) -> tuple[Any, Counter]:
    """Tokenize the `text_cols` of `df`: `(df_tok, counter)`.

    `df_tok` has the other columns, `tok_text_col` holding each row's list of tokens and
    `f'{tok_text_col}_length'` its length; `counter` counts the tokens (for `make_vocab`). Several
    columns are joined, each after `xxfld i` (`mark_fields`, default: when there are several).
    Parallel and cached on disk (see `tokenize_texts`).
    """
    cols = _text_cols(text_cols, list(df.columns), "tokenize_df")
    mark = len(cols) > 1 if mark_fields is None else mark_fields
    texts = _joined_texts(df, cols, mark)
    tokens = tokenize_texts(
        texts, n_workers=n_workers, rules=rules, tok=tok, post_rules=post_rules, cache=cache
    )
    res = df[[c for c in df.columns if c not in cols and c != tok_text_col]].copy()
    res[tok_text_col] = tokens
    res[f"{tok_text_col}_length"] = [len(t) for t in tokens]
    return res, Counter(t for toks in tokens for t in toks)


def tokenize_csv(
    fname: str | os.PathLike,
    text_cols: Any,
    outname: str | os.PathLike | None = None,
    n_workers: int | None = None,
    rules: Sequence[Callable[[str], str]] | None = None,
    mark_fields: bool | None = None,
    tok: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
    header: Any = "infer",
    **kwargs: Any,
) -> Path:
    """Tokenize the `text_cols` of the CSV file `fname` into `outname` (default `<stem>_tok.csv`).

    The tokens are written joined by spaces in a `text` column (with `text_length`); the token
    counts go to `<outname>.counter.json`. Returns the path written; read it back with
    `load_tokenized_csv`. Keywords go to `tokenize_df`.
    """
    import pandas as pd

    fname = Path(fname)
    out = Path(outname) if outname is not None else fname.with_name(f"{fname.stem}_tok.csv")
    df = pd.read_csv(fname, header=header)
    df_tok, counter = tokenize_df(
        df, text_cols, n_workers=n_workers, rules=rules, mark_fields=mark_fields, tok=tok, **kwargs
    )
    col = kwargs.get("tok_text_col", "text")
    df_tok[col] = [" ".join(t) for t in df_tok[col]]
    df_tok.to_csv(out, index=False)
    Path(f"{out}.counter.json").write_text(json.dumps(dict(counter), ensure_ascii=False), encoding="utf-8")
    return out


def load_tokenized_csv(fname: str | os.PathLike, tok_text_col: str = "text") -> tuple[Any, Counter]:
    """Read what `tokenize_csv` wrote: `(df, counter)`, the tokens as lists again."""
    import pandas as pd

    fname = Path(fname)
    df = pd.read_csv(fname, keep_default_na=False)
    if tok_text_col not in df.columns:
        raise KeyError(
            f"load_tokenized_csv: {str(fname)!r} has no column {tok_text_col!r}: {list(df.columns)}"
        )
    df[tok_text_col] = [t.split(" ") if t else [] for t in df[tok_text_col].astype(str)]
    counter_file = Path(f"{fname}.counter.json")
    if counter_file.exists():
        counter = Counter(json.loads(counter_file.read_text(encoding="utf-8")))
    else:
        counter = Counter(t for toks in df[tok_text_col] for t in toks)
    return df, counter


def _stamp(file: Path) -> list[int]:
    st = file.stat()
    return [st.st_size, st.st_mtime_ns]


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(file: Path, obj: Any) -> None:
    tmp = file.with_name(f".{file.name}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, file)


def tokenize_files(
    files: Sequence[str | os.PathLike],
    path: str | os.PathLike,
    output_dir: str | os.PathLike,
    output_names: Sequence[str] | None = None,
    n_workers: int | None = None,
    rules: Sequence[Callable[[str], str]] | None = None,
    tok: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
    encoding: str = "utf8",
    skip_if_exists: bool = False,
    post_rules: Sequence[Callable[[list[str]], list[str]]] | None = None,
) -> Path:
    """Tokenize text `files` into `output_dir`, each under its path relative to `path` (or `output_names`).

    Writes one file of space-joined tokens per text, `counter.json`, `lengths.json` and
    `settings.json`. Files unchanged since a previous call with the same settings are not
    tokenized again; `skip_if_exists=True` reuses whatever `output_dir` holds without checking.
    Returns `output_dir`.
    """
    path, output_dir = Path(path), Path(output_dir)
    files = [Path(f) for f in files]
    names = (
        list(output_names) if output_names is not None else [f.relative_to(path).as_posix() for f in files]
    )
    if len(names) != len(files):
        raise ValueError(f"tokenize_files: {len(names)} output_names for {len(files)} files")
    if skip_if_exists and (output_dir / COUNTER_FILE).exists():
        return output_dir
    job = TokenizeWithRules(tok if tok is not None else SpacyTokenizer(), rules=rules, post_rules=post_rules)
    settings = {"format": _FORMAT, "tokenizer": job.describe(), "encoding": encoding}
    previous = _read_json(output_dir / SETTINGS_FILE) or {}
    old_files = previous.get("files", {}) if previous.get("settings") == settings else {}
    stamps = {n: _stamp(f) for n, f in zip(names, files, strict=True)}
    todo = [
        (n, f)
        for n, f in zip(names, files, strict=True)
        if old_files.get(n) != stamps[n] or not (output_dir / n).is_file()
    ]
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / SETTINGS_FILE).unlink(missing_ok=True)  # an interrupted run must not look complete
    texts = [f.read_text(encoding=encoding) for _, f in todo]
    for (name, _), toks in zip(
        todo, parallel_tokenize(texts, job.tok, job.rules, job.post_rules, n_workers), strict=True
    ):
        out = output_dir / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(" ".join(toks), encoding="utf-8")
    counter: Counter = Counter()
    lengths: dict[str, int] = {}
    for name in names:
        text = (output_dir / name).read_text(encoding="utf-8")
        toks = text.split(" ") if text else []
        counter.update(toks)
        lengths[name] = len(toks)
    _write_json(output_dir / COUNTER_FILE, dict(counter))
    _write_json(output_dir / LENGTHS_FILE, lengths)
    _write_json(output_dir / SETTINGS_FILE, {"settings": settings, "files": stamps, "source": str(path)})
    return output_dir


def tokenize_folder(
    path: str | os.PathLike,
    extensions: Sequence[str] | None = (".txt",),
    folders: Sequence[str] | None = None,
    output_dir: str | os.PathLike | None = None,
    skip_if_exists: bool = False,
    **kwargs: Any,
) -> Path:
    """Tokenize the text files under `path` (with `extensions`, inside `folders`) into `output_dir`.

    `output_dir` defaults to a `<name>_tok` folder beside `path`; the layout under `path` is kept.
    Keywords go to `tokenize_files` (re-tokenizes only what changed). Returns `output_dir`.
    """
    from plies.loaders import get_files

    path = Path(path)
    output_dir = Path(output_dir) if output_dir is not None else path.parent / f"{path.name}_tok"
    files = get_files(path, extensions=extensions, recurse=True, folders=folders)
    files = [f for f in files if output_dir not in f.parents]
    if not files:
        raise ValueError(f"tokenize_folder: no files with extensions {extensions} under {str(path)!r}")
    return tokenize_files(files, path, output_dir, skip_if_exists=skip_if_exists, **kwargs)


def read_tokenized_file(file: str | os.PathLike) -> list[str]:
    """The tokens of a file written by `tokenize_files`."""
    text = Path(file).read_text(encoding="utf-8")
    return text.split(" ") if text else []
