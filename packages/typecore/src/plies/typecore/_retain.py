"""Keeping semantic types: cast a result back to its input's (sub)class, with its metadata.

Transforms call these after `encodes`/`decodes` so that, e.g., a TensorCategory stays one through
an op that returned a plain tensor.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["retain_type", "retain_types"]


def _cast(x: Any, typ: type) -> Any:
    """`x` as an instance of `typ`: tensors via `as_subclass`, arrays via `view`, others via __class__."""
    if hasattr(x, "as_subclass"):
        return x.as_subclass(typ)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(x, np.ndarray):
        return x.view(typ)
    try:
        x.__class__ = typ
        return x
    except TypeError:
        pass
    if typ.__module__ == "builtins":  # e.g. int -> bool would change the value: leave it
        return x
    return typ(x)


def retain_type(new: Any, old: Any = None, typ: type | None = None, as_copy: bool = False) -> Any:
    """Cast `new` to the type of `old` (or to `typ`) when `type(new)` is a superclass of it.

    Metadata in `old.__dict__` that `new` lacks is copied over (e.g. a TensorBase's `img_size`).
    With an explicit `typ`, a tensor is also cast to a sibling tensor class. In any other case
    `new` is returned unchanged. The metadata dict is always copied (shallowly), never shared, so
    fastcore's `as_copy=True` is the behaviour whatever `as_copy` says (it is accepted for them).
    """
    if new is None:
        return None
    if typ is None:
        if old is None:
            return new
        typ = type(old)
        if type(new) is typ or not issubclass(typ, type(new)):
            return new
    elif isinstance(new, typ) or not (
        issubclass(typ, type(new)) or (hasattr(new, "as_subclass") and hasattr(typ, "as_subclass"))
    ):
        return new
    res = _cast(new, typ)
    meta = getattr(old, "__dict__", None)
    if meta and res is not old:
        target = getattr(res, "__dict__", None)
        if target is not None:
            for k, v in meta.items():
                if k not in target:
                    target[k] = v
    return res


def retain_types(new: Any, il: Any = None, typs: Any = None) -> Any:
    """Apply `retain_type` element-wise over tuples/lists `new` and `il` (or `typs`), recursively.

    Containers are cast too (a plain tuple becomes `il`'s tuple subclass). When `il`/`typs` is
    shorter than `new` it is cycled.
    """
    if not isinstance(new, (tuple, list)):
        return retain_type(new, il, typs if isinstance(typs, type) else None)
    n = len(new)
    olds = _cycle(il, n) if isinstance(il, (tuple, list)) else [il] * n
    ts = _cycle(typs, n) if isinstance(typs, (tuple, list)) else [typs] * n
    items = [retain_types(x, o, t) for x, o, t in zip(new, olds, ts, strict=True)]
    res = type(new)(*items) if hasattr(new, "_fields") else type(new)(items)
    return retain_type(res, il) if isinstance(il, (tuple, list)) else res


def _cycle(xs: Sequence[Any], n: int) -> list[Any]:
    if not xs:
        return [None] * n
    return [xs[i % len(xs)] for i in range(n)]
