"""How texts are shown: `show_batch` / `show_results` as DataFrames of decoded texts (fastai's display).

Registered on the `show_batch` and `show_results` type dispatch of plies.loaders for
`TensorText` inputs (a classifier: text and label columns) and `LMTensorText` inputs (a
language model: the text and the text it should predict, shifted by one token). The DataFrame
is displayed in a notebook, printed otherwise, and returned. Texts are cut at `trunc_at` tokens.
"""

from __future__ import annotations

import sys
from typing import Any

from plies.loaders import show_batch, show_results
from plies.typecore import LMTensorText, TensorText

__all__ = ["display_df", "truncate_text"]


def truncate_text(text: Any, trunc_at: int | None = 150) -> str:
    """The first `trunc_at` tokens (space-separated) of `text` (all when None)."""
    text = text if isinstance(text, str) else " ".join(map(str, text))
    if trunc_at is None:
        return text
    words = text.split(" ")
    return text if len(words) <= trunc_at else " ".join(words[:trunc_at])


def display_df(df: Any) -> Any:
    """Display a DataFrame: as HTML in a notebook, printed as text elsewhere; returns it."""
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    if ip is not None and "IPKernelApp" in getattr(ip, "config", {}):
        from IPython.display import display

        display(df)
    else:
        import pandas as pd

        with pd.option_context("display.max_colwidth", 120, "display.width", 200):
            print(df.to_string())
    return df


def _label(o: Any) -> Any:
    if hasattr(o, "tolist") and not isinstance(o, str):
        o = o.tolist()
    return o


def _frame(samples: Any, outs: Any, max_n: int, trunc_at: int | None, lm: bool) -> Any:
    import pandas as pd

    rows = []
    for k, s in enumerate(list(samples)[:max_n]):
        row: dict[str, Any] = {"text": truncate_text(s[0], trunc_at)}
        for i, o in enumerate(s[1:]):
            name = "text_" if lm and i == 0 else ("category" if i == 0 else f"target_{i}")
            row[name] = truncate_text(o, trunc_at) if lm and i == 0 else _label(o)
        if outs is not None:
            for i, o in enumerate(outs[k]):
                name = "prediction" if i == 0 else f"prediction_{i}"
                row[name] = truncate_text(o, trunc_at) if lm else _label(o)
        rows.append(row)
    return pd.DataFrame(rows)


@show_batch.register
def _show_batch_text(
    x: TensorText,
    y: object,
    samples: Any,
    ctxs: Any = None,
    max_n: int = 10,
    trunc_at: int | None = 150,
    **kwargs: Any,
) -> Any:
    return display_df(_frame(samples, None, max_n, trunc_at, lm=False))


@show_batch.register
def _show_batch_lm(
    x: LMTensorText,
    y: object,
    samples: Any,
    ctxs: Any = None,
    max_n: int = 10,
    trunc_at: int | None = 150,
    **kwargs: Any,
) -> Any:
    return display_df(_frame(samples, None, max_n, trunc_at, lm=True))


@show_results.register
def _show_results_text(
    x: TensorText,
    y: object,
    samples: Any,
    outs: Any,
    ctxs: Any = None,
    max_n: int = 10,
    trunc_at: int | None = 150,
    **kwargs: Any,
) -> Any:
    return display_df(_frame(samples, outs, max_n, trunc_at, lm=False))


@show_results.register
def _show_results_lm(
    x: LMTensorText,
    y: object,
    samples: Any,
    outs: Any,
    ctxs: Any = None,
    max_n: int = 10,
    trunc_at: int | None = 150,
    **kwargs: Any,
) -> Any:
    return display_df(_frame(samples, outs, max_n, trunc_at, lm=True))
