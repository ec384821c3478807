"""Checks of a frame's column roles and splits, with errors that name the column and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__: list[str] = []  # private module: TabularPandas checks its inputs with these


def names_list(names: Any, role: str, who: str) -> list[str]:
    """A new list of column names (the caller's list is never modified)."""
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    try:
        return list(names)
    except TypeError:
        raise TypeError(
            f"{who}: {role} must be a column name or a list of them, found {names!r:.60}"
        ) from None


def check_conts(df: pd.DataFrame, cont_names: Sequence[str], who: str) -> None:
    """Make the continuous columns numeric in place (numbers held as objects, e.g. with None, become
    floats); TypeError naming a column that holds text or other values."""
    for n in cont_names:
        dtype = df[n].dtype
        if pd.api.types.is_bool_dtype(dtype) or (
            pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
        ):
            continue
        values = df[n].tolist()
        if pd.api.types.is_object_dtype(dtype) and all(
            v is None or (isinstance(v, (int, float, np.number)) and not isinstance(v, bool)) for v in values
        ):
            df[n] = pd.to_numeric(df[n], errors="raise").astype("float64")
            continue
        example = next((v for v in values if isinstance(v, str)), None)
        found = f"text (e.g. {example!r})" if example is not None else f"{dtype} values"
        raise TypeError(
            f"{who}: continuous column {n!r} holds {found}, not numbers; convert it with "
            f"pd.to_numeric(df[{n!r}], errors='coerce') (unparseable values become missing), or move it "
            f"to cat_names"
        )


def check_targets(df: pd.DataFrame, y_names: Sequence[str], who: str) -> None:
    for n in y_names:
        n_missing = int(df[n].isna().sum())
        if n_missing:
            raise ValueError(
                f"{who}: target column {n!r} has {n_missing} missing value(s); a target cannot be filled "
                f"in, drop those rows first: df = df.dropna(subset=[{n!r}])"
            )


def split_order(splits: Any, n: int, who: str) -> tuple[np.ndarray, list[int]]:
    """(row positions in split order, size of each split) for `splits` (None: every row is training)."""
    if splits is None:
        return np.arange(n), [n, 0]
    parts = [np.asarray(list(s) if not isinstance(s, np.ndarray) else s) for s in splits]
    for k, part in enumerate(parts):
        if part.dtype == bool:
            if len(part) != n:
                raise ValueError(f"{who}: split {k} is a mask of length {len(part)}, the frame has {n} rows")
            parts[k] = np.flatnonzero(part)
        elif len(part) and not np.issubdtype(part.dtype, np.integer):
            raise TypeError(f"{who}: split {k} must hold row positions (ints), found {part.dtype}")
        elif len(part) and (part.min() < -n or part.max() >= n):
            raise IndexError(f"{who}: split {k} holds row positions outside 0..{n - 1}")
    sizes = [len(p) for p in parts] + ([0] if len(parts) == 1 else [])
    return np.concatenate([p.astype(np.intp) % n if len(p) else p.astype(np.intp) for p in parts]), sizes
