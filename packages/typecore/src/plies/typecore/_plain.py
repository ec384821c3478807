"""Coerce values to plain data for saved states, and back: NumPy values and enum members.

`to_plain` turns NumPy scalars into Python numbers, NumPy arrays into tensors, and an enum member
into ``{"__enum__": "module:qualname", "value": v}`` (just ``v`` when its class cannot be found by
name in another process, e.g. a class defined inside a function); `from_plain` turns such markers
back into members of classes already imported (`find_loaded`: nothing is imported).
"""

from __future__ import annotations

import enum
import sys
from typing import Any

import torch

from ._registry import find_loaded, loaded_name

__all__ = ["to_plain", "from_plain"]

ENUM_KEY = "__enum__"


def to_plain(x: Any) -> Any:
    """`x` with NumPy values and enum members replaced by plain data, through dicts, lists and tuples."""
    t = type(x)
    if t in (str, int, float, bool, bytes, type(None)) or t is torch.Tensor:
        return x
    if isinstance(x, enum.Enum):
        ref = loaded_name(t)
        value = to_plain(x.value)
        return {ENUM_KEY: ref, "value": value} if ref is not None else value
    np = sys.modules.get("numpy")
    if np is not None and isinstance(x, np.generic):
        return x.item()
    if np is not None and isinstance(x, np.ndarray):
        return torch.from_numpy(x.copy())
    if t in (list, tuple):
        return t(to_plain(o) for o in x)
    if t is dict:
        return {k: to_plain(v) for k, v in x.items()}
    return x


def from_plain(x: Any, where: str = "state") -> Any:
    """Inverse of `to_plain` for enum markers (the enum class must already be imported)."""
    t = type(x)
    if t is dict:
        if set(x) == {ENUM_KEY, "value"}:
            cls = find_loaded(
                x[ENUM_KEY],
                where,
                lambda c: isinstance(c, type) and issubclass(c, enum.Enum),
                "an Enum class",
            )
            try:
                return cls(x["value"])
            except ValueError:
                raise ValueError(f"{where}: {x['value']!r} is not a value of {cls.__qualname__}") from None
        return {k: from_plain(v, where) for k, v in x.items()}
    if t in (list, tuple):
        return t(from_plain(o, where) for o in x)
    return x
