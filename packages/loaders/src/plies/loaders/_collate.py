"""Collation: turn a list of items into a batch, keeping container and semantic tensor types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import torch
from plies.typecore import L, retain_type
from torch.utils.data import default_collate, default_convert
from torch.utils.data import get_worker_info as _worker_info

__all__ = ["fa_collate", "fa_convert", "batch_to_samples"]

_LEAF_TYPES = (torch.Tensor, np.ndarray, Mapping, str, bytes)


def fa_collate(items: Sequence[Any]) -> Any:
    """Collate `items` into a batch: tensors/arrays/numbers stacked, tuples/lists collated per element.

    Unlike torch's `default_collate`, a tuple (or tuple subclass) of fields stays that type, so a
    batch of `(x, y)` items is an `(xb, yb)` tuple.
    """
    first = items[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(list(items)) if _worker_info() is None else default_collate(list(items))
    if isinstance(first, _LEAF_TYPES):
        return default_collate(list(items))
    if isinstance(first, Sequence):
        try:
            columns = list(zip(*items, strict=True))
        except ValueError:
            lengths = sorted({len(o) for o in items})
            raise ValueError(
                f"fa_collate: items have different numbers of fields {lengths}; "
                f"first item has {len(first)}: {_describe(first)}"
            ) from None
        fields = [fa_collate(list(field)) for field in columns]
        return cast(Any, type(first))(fields) if type(first) in (tuple, list) else _rebuild(first, fields)
    return default_collate(list(items))


def _rebuild(first: Sequence[Any], fields: list[Any]) -> Any:
    """Rebuild a sequence subclass (namedtuple or tuple/list subclass) from its collated fields."""
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return cast(Any, type(first))(*fields)
    return cast(Any, type(first))(fields)


def fa_convert(batch: Any) -> Any:
    """Convert an already batched item (numpy arrays, numbers, nested tuples) to tensors, keeping types."""
    if isinstance(batch, (torch.Tensor, str, bytes)):
        return batch
    if isinstance(batch, Sequence) and not isinstance(batch, np.ndarray):
        fields = [fa_convert(o) for o in batch]
        return cast(Any, type(batch))(fields) if type(batch) in (tuple, list) else _rebuild(batch, fields)
    return default_convert(batch)


def _describe(o: Any) -> str:
    """A short description of an item for error messages: type and shape when it has one."""
    if isinstance(o, (torch.Tensor, np.ndarray)):
        return f"{type(o).__name__}(shape={list(o.shape)}, dtype={o.dtype})"
    if isinstance(o, (tuple, list)):
        return "(" + ", ".join(_describe(e) for e in o) + ")"
    text = repr(o)
    return text if len(text) < 60 else text[:57] + "..."


def collate_error(err: Exception, items: Sequence[Any]) -> Exception:
    """An error of the same builtin family as `err` explaining which items could not be collated."""
    descriptions = {}
    for i, o in enumerate(items):
        d = _describe(o)
        if d not in descriptions:
            descriptions[d] = i
    if len(descriptions) > 1:
        kinds = "; ".join(f"item {i}: {d}" for d, i in list(descriptions.items())[:4])
        detail = f"items differ in type or shape ({kinds})"
    else:
        detail = f"all items look like {next(iter(descriptions))}"
    msg = f"DataLoader.create_batch: could not collate a batch of {len(items)} items: {detail}. Cause: {err}"
    kind = type(err) if type(err).__module__ == "builtins" else RuntimeError
    try:
        return kind(msg)
    except TypeError:
        return RuntimeError(msg)


def batch_to_samples(b: Any, max_n: int = 10) -> L:
    """Split a (decoded) batch into at most `max_n` samples: a tensor by rows, a tuple field by field
    (each sample a tuple), a list (a collated non-tensor field, e.g. strings) element by element."""
    if isinstance(b, torch.Tensor):
        return L(retain_type(o, b) for o in list(b[:max_n]))
    if isinstance(b, tuple):
        fields = [batch_to_samples(o, max_n) for o in b]
        return L(tuple(s) for s in zip(*fields, strict=False))
    return L(list(b)[:max_n])
