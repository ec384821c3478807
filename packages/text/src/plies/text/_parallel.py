"""Tokenizing many texts: in parallel over processes, with a disk cache keyed by the texts and the settings.

`parallel_tokenize` splits the texts in chunks and tokenizes them in `n_workers` processes (forked
where the platform allows it, so the tokenizer is not pickled), in order. `tokenize_texts` adds
the cache: the tokens of a list of texts are written to ``$PLIES_HOME/text_cache/<key>.jsonl``,
`<key>` being the sha256 of the tokenizer's settings (`describe()`: its type, language, model,
the names of the rules) and of every text, so a cached result is reused exactly while the texts
and the settings are unchanged, and redone when any of them changes.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ._tokenizers import SpacyTokenizer, TokenizeWithRules

__all__ = ["parallel_tokenize", "tokenize_texts", "default_n_workers", "text_cache_dir"]

_MIN_CHUNK = 64  # texts per chunk below which a worker process costs more than it saves
_JOB: TokenizeWithRules | None = None  # the job of the forked workers (inherited, not pickled)


def default_n_workers() -> int:
    """The number of worker processes used by default: the CPUs this process may run on, at most 16."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(16, n))


def text_cache_dir() -> Path:
    """Where tokenized texts are cached: ``$PLIES_HOME/text_cache`` (``~/.plies/text_cache`` by default)."""
    return Path(os.environ.get("PLIES_HOME") or Path.home() / ".plies").expanduser() / "text_cache"


def _set_job(job: TokenizeWithRules) -> None:
    global _JOB
    _JOB = job


def _run_chunk(texts: list[str]) -> list[list[str]]:
    assert _JOB is not None, "the worker process has no tokenizer"
    return list(_JOB(texts))


def _chunks(texts: list[str], n_workers: int) -> list[list[str]]:
    n_chunks = min(n_workers * 4, len(texts) // _MIN_CHUNK)
    if n_workers <= 1 or n_chunks <= 1:
        return [texts]
    size = math.ceil(len(texts) / n_chunks)
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def _check_n_workers(n_workers: Any, who: str) -> int:
    if n_workers is None:
        return default_n_workers()
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 0:
        raise ValueError(f"{who}: n_workers must be an int >= 0 (0 or 1: in this process), got {n_workers!r}")
    return n_workers


def parallel_tokenize(
    items: Iterable[str],
    tok: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
    rules: Sequence[Callable[[str], str]] | None = None,
    post_rules: Sequence[Callable[[list[str]], list[str]]] | None = None,
    n_workers: int | None = None,
) -> list[list[str]]:
    """The tokens of each text of `items`, in order, tokenized by `n_workers` processes.

    `tok` defaults to `SpacyTokenizer()`, `rules`/`post_rules` to `text_proc_rules`/`text_postproc_rules`.
    `n_workers` (default: the CPUs available, at most 16) of 0 or 1, or fewer than 128 texts,
    tokenize in this process.
    """
    n_workers = _check_n_workers(n_workers, "parallel_tokenize")
    job = TokenizeWithRules(tok if tok is not None else SpacyTokenizer(), rules=rules, post_rules=post_rules)
    texts = [t if isinstance(t, str) else str(t) for t in items]
    chunks = _chunks(texts, n_workers)
    if len(chunks) == 1:
        return list(job(texts))
    if "fork" in mp.get_all_start_methods():
        ctx, init, args = mp.get_context("fork"), None, ()
        _set_job(job)  # the forked workers inherit it
    else:  # spawn: the job is pickled once per worker (tokenizers rebuild their heavy parts there)
        ctx, init, args = mp.get_context("spawn"), _set_job, (job,)
    try:
        with ProcessPoolExecutor(
            min(n_workers, len(chunks)), mp_context=ctx, initializer=init, initargs=args
        ) as ex:
            return [toks for part in ex.map(_run_chunk, chunks) for toks in part]
    finally:
        _set_job(None)  # type: ignore[arg-type]


def _cache_key(job: TokenizeWithRules, texts: Sequence[str]) -> str:
    h = hashlib.sha256(json.dumps(job.describe(), sort_keys=True, default=str).encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def _read_cache(file: Path, n: int) -> list[list[str]] | None:
    """The cached tokens, or None when the file is missing or does not hold `n` texts."""
    try:
        with open(file, encoding="utf-8") as f:
            res = [json.loads(line) for line in f]
    except (OSError, ValueError):
        return None
    return res if len(res) == n else None


def _write_cache(file: Path, tokens: list[list[str]]) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for toks in tokens:
                f.write(json.dumps(toks, ensure_ascii=False))
                f.write("\n")
        os.replace(tmp, file)  # atomic: a reader never sees half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def tokenize_texts(
    texts: Iterable[str],
    n_workers: int | None = None,
    rules: Sequence[Callable[[str], str]] | None = None,
    tok: Callable[[Iterable[str]], Iterable[list[str]]] | None = None,
    post_rules: Sequence[Callable[[list[str]], list[str]]] | None = None,
    cache: bool | str | os.PathLike = True,
) -> list[list[str]]:
    """`parallel_tokenize` with a disk cache: the tokens of `texts`, reused while texts and settings match.

    `cache`: True for `text_cache_dir()`, a folder, or False for none. The key covers every text
    and the tokenizer's `describe()` (a tokenizer without one is not cached).
    """
    texts = [t if isinstance(t, str) else str(t) for t in texts]
    tok = tok if tok is not None else SpacyTokenizer()
    job = TokenizeWithRules(tok, rules=rules, post_rules=post_rules)
    folder = None if cache is False else (text_cache_dir() if cache is True else Path(cache))
    if folder is None or not callable(getattr(tok, "describe", None)):
        return parallel_tokenize(texts, tok, rules=job.rules, post_rules=job.post_rules, n_workers=n_workers)
    file = folder / f"{_cache_key(job, texts)}.jsonl"
    cached = _read_cache(file, len(texts))
    if cached is not None:
        return cached
    res = parallel_tokenize(texts, tok, rules=job.rules, post_rules=job.post_rules, n_workers=n_workers)
    _write_cache(file, res)
    return res
