"""Display hooks: `show_batch` and `show_results` dispatch on the types of (x, y) so apps add displays.

The defaults here show every decoded sample element with its own `show(ctx=...)`; an app
registers a more specific display with `@show_batch.register` on its types (e.g. images in a
grid). `show_title` draws a label on a matplotlib Axes, appends it to a list of texts, or prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plies.typecore import typedispatch

__all__ = ["show_batch", "show_results", "show_title", "show_at"]


def show_title(text: str, ctx: Any = None, label: str | None = None, **kwargs: Any) -> Any:
    """Show `text` on `ctx`: as the title of a matplotlib Axes, added to a list of texts, or printed.

    Returns the ctx it drew on (a new list of texts when `ctx` is None, after printing).
    """
    line = text if label is None else f"{label}: {text}"
    if hasattr(ctx, "set_title"):
        ctx.set_title(line)
        return ctx
    if isinstance(ctx, list):
        ctx.append(line)
        return ctx
    if ctx is None:
        return [line]
    raise TypeError(
        f"show_title: cannot draw on a ctx of type {type(ctx).__name__}; "
        "expected a matplotlib Axes, a list of texts or None"
    )


def _show(o: Any, ctx: Any, **kwargs: Any) -> Any:
    """`o.show(ctx=...)` when `o` can show itself, else its value (tensors: type and shape) as a title."""
    if hasattr(o, "show"):
        return o.show(ctx=ctx, **kwargs)
    shape = getattr(o, "shape", None)
    if shape is not None and len(shape) > 0:
        text = f"{type(o).__name__}{list(shape)}"
    else:
        text = str(o.item() if hasattr(o, "item") else o)
    return show_title(text, ctx=ctx, label=kwargs.get("label"))


def _print_text_ctxs(ctxs: Sequence[Any]) -> None:
    for c in ctxs:
        if isinstance(c, list):
            print(" | ".join(str(o) for o in c))


@typedispatch
def show_batch(x: object, y: object, samples: Any, ctxs: Any = None, max_n: int = 9, **kwargs: Any) -> Any:
    """Show decoded `samples` of a batch: each element of each sample draws itself on that sample's ctx.

    Text contexts (lists) are printed one sample per line. Returns the ctxs.
    """
    n = min(len(samples), max_n)
    ctxs = list(ctxs) if ctxs is not None else [None] * n
    for i in range(len(samples[0]) if n else 0):
        ctxs = [_show(s[i], c, **kwargs) for s, c in zip(samples[:n], ctxs, strict=False)]
    _print_text_ctxs(ctxs)
    return ctxs


@typedispatch
def show_results(
    x: object, y: object, samples: Any, outs: Any, ctxs: Any = None, max_n: int = 9, **kwargs: Any
) -> Any:
    """Show decoded `samples` with the model's decoded `outs` (predictions) beside them. Returns the ctxs."""
    n = min(len(samples), max_n)
    ctxs = list(ctxs) if ctxs is not None else [None] * n
    for i in range(len(samples[0]) if n else 0):
        ctxs = [_show(s[i], c, **kwargs) for s, c in zip(samples[:n], ctxs, strict=False)]
    for i in range(len(outs[0]) if n and len(outs) else 0):
        ctxs = [_show(o[i], c, label="pred", **kwargs) for o, c in zip(outs[:n], ctxs, strict=False)]
    _print_text_ctxs(ctxs)
    return ctxs


def show_at(o: Any, idx: int, **kwargs: Any) -> Any:
    """Show item `idx` of `o` (a TfmdLists or Datasets): `o.show(o[idx])`; texts are printed, one a line."""
    ctx = o.show(o[idx], **kwargs)
    if isinstance(ctx, list) and "ctx" not in kwargs:
        for line in ctx:
            print(line)
    return ctx
