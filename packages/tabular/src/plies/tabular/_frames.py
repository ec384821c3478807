"""DataFrames from other libraries (polars, cuDF) and single rows (a dict, a Series) as pandas frames.

Processing runs on pandas: a polars or cuDF frame is converted once with its own `to_pandas()`
(cuDF's data comes to host memory), so every proc sees the same dtypes whatever the source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__: list[str] = []  # private module: TabularPandas and test_set use it


def as_pandas(df: Any, who: str) -> pd.DataFrame:
    """`df` as a pandas DataFrame: pandas as it is, polars/cuDF through their `to_pandas()`."""
    if isinstance(df, pd.DataFrame):
        return df
    module = type(df).__module__.partition(".")[0]
    if module == "polars" and hasattr(df, "get_columns"):
        # column by column through numpy: polars' own to_pandas needs pyarrow
        return pd.DataFrame({s.name: s.to_numpy() for s in df.get_columns()})
    if module == "cudf" and callable(getattr(df, "to_pandas", None)):
        converted = df.to_pandas()
        if isinstance(converted, pd.DataFrame):
            return converted
    raise TypeError(
        f"{who}: expected a DataFrame (pandas, polars or cuDF), found a {type(df).__name__}; "
        "read the data with pd.read_csv or build it with pd.DataFrame(...)"
    )


def rows_frame(items: Any, who: str) -> pd.DataFrame:
    """New rows for inference as a DataFrame: a frame, one row (a dict or a Series), or a list of rows."""
    if isinstance(items, pd.Series):
        return items.to_frame().T.infer_objects()
    if isinstance(items, Mapping):
        return pd.DataFrame([dict(items)])
    if isinstance(items, Sequence) and not isinstance(items, str):
        rows = list(items)
        if all(isinstance(r, (Mapping, pd.Series)) for r in rows):
            return pd.DataFrame([dict(r) for r in rows]) if rows else pd.DataFrame()
    return as_pandas(items, who)


def check_columns(df: pd.DataFrame, names: Sequence[str], role: str, who: str) -> None:
    """KeyError naming the columns of `names` (the `role`: cat_names...) that `df` lacks."""
    missing = [n for n in names if n not in df.columns]
    if missing:
        shown = ", ".join(map(repr, list(df.columns)[:12])) + (" ..." if len(df.columns) > 12 else "")
        raise KeyError(
            f"{who}: {role} names {', '.join(map(repr, missing))}, not a column of the DataFrame "
            f"(its columns: {shown}); fix the name or add the column"
        )
