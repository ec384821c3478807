"""DataFrame helpers: split columns into categorical and continuous ones, shrink dtypes to save memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["cont_cat_split", "df_shrink_dtypes", "df_shrink"]


def cont_cat_split(
    df: pd.DataFrame, max_card: int = 20, dep_var: str | Sequence[str] | None = None
) -> tuple[list[str], list[str]]:
    """(continuous names, categorical names): floats, and integers with more than `max_card` distinct
    values, are continuous; every other column is categorical. `dep_var` (the target) is left out."""
    skip = {dep_var} if isinstance(dep_var, str) else set(dep_var or [])
    cont, cat = [], []
    for name in df.columns:
        if name in skip:
            continue
        dtype = df[name].dtype
        if pd.api.types.is_float_dtype(dtype) or (
            pd.api.types.is_integer_dtype(dtype) and df[name].nunique() > max_card
        ):
            cont.append(name)
        else:
            cat.append(name)
    return cont, cat


def _smallest_int(lo: Any, hi: Any, int2uint: bool) -> Any:
    kinds = (np.uint8, np.uint16, np.uint32, np.uint64) if int2uint and lo >= 0 else ()
    for t in (*kinds, np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(t)
        if info.min <= lo and hi <= info.max:
            return np.dtype(t)
    return np.dtype(np.int64)


def df_shrink_dtypes(
    df: pd.DataFrame, skip: Sequence[str] = (), obj2cat: bool = True, int2uint: bool = False
) -> dict[str, Any]:
    """{column: smaller dtype} for the columns that can shrink: integers to the smallest integer type
    holding their range (unsigned ones too with `int2uint`), float64 to float32, and with `obj2cat`
    text columns with fewer distinct values than half their rows to `category`."""
    found: dict[str, Any] = {}
    skipped = set(skip)
    for name in df.columns:
        if name in skipped:
            continue
        col, dtype = df[name], df[name].dtype
        if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype) and len(col):
            new = _smallest_int(col.min(), col.max(), int2uint)
            if new.itemsize < dtype.itemsize:
                found[name] = new
        elif dtype == np.float64:
            found[name] = np.dtype(np.float32)
        elif (
            obj2cat
            and (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype))
            and col.nunique() < len(col) / 2
        ):
            found[name] = "category"
    return found


def df_shrink(
    df: pd.DataFrame, skip: Sequence[str] = (), obj2cat: bool = True, int2uint: bool = False
) -> pd.DataFrame:
    """`df` with the smaller dtypes of `df_shrink_dtypes` (a new frame)."""
    return df.astype(df_shrink_dtypes(df, skip=skip, obj2cat=obj2cat, int2uint=int2uint))
