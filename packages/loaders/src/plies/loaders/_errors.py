"""Error messages that name the failing step and item (index and value) of a pipeline, hints naming
the block that fits a target of the wrong kind, and the warning about items in no split."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from plies.typecore import L

from ._sources import item_at
from ._transforms import Categorize, RegressionSetup

if TYPE_CHECKING:
    from ._datasets import TfmdLists


def describe_item(o: Any, width: int = 80) -> str:
    """A short one-line description of a raw item for error messages (paths in full)."""
    if hasattr(o, "to_dict") and hasattr(o, "name"):
        text = f"row {o.name!r}: {o.to_dict()!r}"
    else:
        text = str(o) if hasattr(o, "__fspath__") else repr(o)
    return text if len(text) <= width else text[: width - 3] + "..."


def tfm_name(f: Any) -> str:
    """A transform's short name for messages: its function's or class's name, without arguments."""
    return str(getattr(f, "name", type(f).__name__)).split(" -- ")[0]


def label_hint(f: Any, value: Any) -> str | None:
    """Which block fits when the target transform `f` is given `value` of the wrong kind (else None):
    text for a regression target, a list for a single-label category."""
    if isinstance(f, RegressionSetup) and isinstance(value, (str, bytes)):
        return (
            f"RegressionBlock needs numbers, found the {type(value).__name__} {value!r}: for class labels "
            "use CategoryBlock; for numbers stored as text convert them first (e.g. df[col].astype(float))"
        )
    is_many = isinstance(value, (list, set, L)) or (isinstance(value, np.ndarray) and value.ndim > 0)
    if isinstance(f, Categorize) and is_many:
        return (
            f"CategoryBlock takes one label per item, found the {type(value).__name__} {value!r}: "
            "for several labels per item use MultiCategoryBlock"
        )
    return None


def _failing_step(tl: TfmdLists, item: Any) -> tuple[str, str | None]:
    """Name of the first transform of `tl` that raises on `item` (re-running the steps one by one), and
    the hint for the value it was given, if any."""
    x = item
    for k, f in enumerate(tl.tfms.fs):
        try:
            y = f(x, split_idx=tl.split_idx)
        except Exception:
            return f"step {k} ({tfm_name(f)})", label_hint(f, x)
        x = y
    return "a step (it did not fail again when re-run)", None


def item_error(tl: TfmdLists, err: Exception, i: int, item: Any) -> Exception:
    """`err` re-raised with the failing step and item named (same builtin exception type)."""
    step, hint = _failing_step(tl, item)
    why = f"{hint} ({type(err).__name__}: {err})" if hint else f"{type(err).__name__}: {err}"
    return _with_message(err, f"{step} failed on item {i} ({describe_item(item)}): {why}")


def setup_error(tl: TfmdLists, err: Exception, planned: list[Any], train_setup: bool) -> Exception:
    """`err` from a pipeline's setup, naming the transform being set up and, when an earlier step raised
    on an item, that item and step."""
    done = len(tl.tfms.fs)
    name = tfm_name(planned[done]) if done < len(planned) else "?"
    idxs = tl.splits[0] if train_setup and tl.splits is not None else range(len(tl))
    for i in idxs:
        x = item = item_at(tl.items, i)
        for k, f in enumerate(planned[:done]):
            try:
                x = f(x, split_idx=tl.split_idx)
            except Exception:
                label = tfm_name(f)
                return _with_message(
                    err,
                    f"step {k} ({label}) failed on item {i} ({describe_item(item)}) while "
                    f"setting up {name}: {type(err).__name__}: {err}",
                )
        hint = label_hint(planned[done], x) if done < len(planned) else None
        if hint:
            return _with_message(
                err,
                f"setting up step {done} ({name}) failed on item {i} ({describe_item(item)}): {hint} "
                f"({type(err).__name__}: {err})",
            )
    return _with_message(err, f"setting up step {done} ({name}) failed: {type(err).__name__}: {err}")


def warn_unsplit(who: str, items: Any, splits: Sequence[Sequence[int]], stacklevel: int = 1) -> None:
    """Warn when some of `items` are in no split: how many, the first indices and the first such item."""
    n = len(items)
    used = np.zeros(n, dtype=bool)
    for s in splits:
        used[np.asarray(s, dtype=np.int64)] = True
    unused = np.flatnonzero(~used).tolist()
    if not unused:
        return
    shown = ", ".join(str(i) for i in unused[:5]) + (", ..." if len(unused) > 5 else "")
    warnings.warn(
        f"{who}: {len(unused)} of {n} items are in no split (items {shown}; item {unused[0]}: "
        f"{describe_item(item_at(items, unused[0]))}); they are left out of every subset",
        stacklevel=stacklevel + 1,
    )


def _with_message(err: Exception, msg: str) -> Exception:
    """An exception of `err`'s builtin type carrying `msg`; a non-builtin `err` gets `msg` as a note."""
    kind = type(err)
    if kind.__module__ == "builtins":
        try:
            return kind(msg)
        except TypeError:
            pass
    err.add_note(msg)
    return err
