"""Plain data <-> the JSON of ``config.json``, tensors and bytes going to ``tensors.safetensors``.

Markers: ``{"__tensor__": key}`` (a tensor), ``{"__bytes__": key}`` (bytes, stored as a uint8
tensor: e.g. a tokenizer's model file kept in a transform's state), ``{"__tuple__": [...]}``,
``{"__dict__": [[k, v], ...]}`` (a dict with keys that are not plain strings). NumPy values and
enum members are coerced first (typecore's `to_plain`); enum markers come back as members of
enum classes already imported (`from_plain`).
"""

from __future__ import annotations

from typing import Any

import torch
from plies.typecore import from_plain, to_plain
from torch import Tensor

__all__: list[str] = []  # private module of the export package

TENSOR, TUPLE, DICT, BYTES = "__tensor__", "__tuple__", "__dict__", "__bytes__"
_MARKERS = {TENSOR, TUPLE, DICT, BYTES}
_ENUM = "__enum__"  # typecore's to_plain marker: a plain dict here, a member once decoded


class SpecError(ValueError):
    """A description in an export's config that plies will not rebuild (names what and why)."""


def encode(obj: Any, tensors: dict[str, Tensor], where: str = "config") -> Any:
    """JSON-ready copy of plain data `obj`; tensors and bytes go to `tensors`, referenced by key."""
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if isinstance(obj, Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous().clone().as_subclass(Tensor)
        return {TENSOR: key}
    if type(obj) is bytes:
        key = f"t{len(tensors)}"
        tensors[key] = (
            torch.frombuffer(bytearray(obj), dtype=torch.uint8) if obj else torch.zeros(0, dtype=torch.uint8)
        )
        return {BYTES: key}
    if type(obj) is tuple:
        return {TUPLE: [encode(o, tensors, where) for o in obj]}
    if type(obj) is list:
        return [encode(o, tensors, where) for o in obj]
    if type(obj) is dict:
        if all(isinstance(k, str) and k not in _MARKERS for k in obj):
            return {k: encode(v, tensors, f"{where}.{k}") for k, v in obj.items()}
        return {DICT: [[encode(k, tensors, where), encode(v, tensors, where)] for k, v in obj.items()]}
    plain = to_plain(obj)  # NumPy values, enum members (an IntEnum is an int: coerced here too)
    if plain is not obj:
        return encode(plain, tensors, where)
    for base in (bool, int, float, str):  # another subclass of a scalar type: its plain value
        if isinstance(obj, base):
            return base(obj)
    raise TypeError(
        f"export: {where} holds a {type(obj).__name__} ({obj!r:.60}); only plain data (dict, list, tuple, "
        f"str, int, float, bool, bytes, None, torch.Tensor, NumPy values, enum members) can be exported "
        f"without pickle"
    )


def decode(obj: Any, tensors: dict[str, Tensor], where: str = "config") -> Any:
    """Inverse of `encode`; refuses anything but JSON values and the markers."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [decode(o, tensors, where) for o in obj]
    if not isinstance(obj, dict):
        raise SpecError(f"{where}: unexpected JSON value of type {type(obj).__name__}")
    if TENSOR in obj or BYTES in obj:
        marker = TENSOR if TENSOR in obj else BYTES
        key = obj[marker]
        if len(obj) != 1 or not isinstance(key, str) or key not in tensors:
            raise SpecError(
                f"{where}: tensor reference {obj!r} does not name a tensor of tensors.safetensors"
            )
        if marker == TENSOR:
            return tensors[key]
        data = tensors[key]
        if data.dtype != torch.uint8 or data.ndim != 1:
            raise SpecError(
                f"{where}: bytes {key!r} must be a 1-d uint8 tensor, found {data.dtype} {tuple(data.shape)}"
            )
        return data.numpy().tobytes()
    if TUPLE in obj:
        if len(obj) != 1 or not isinstance(obj[TUPLE], list):
            raise SpecError(f"{where}: malformed tuple {obj!r:.80}")
        return tuple(decode(o, tensors, where) for o in obj[TUPLE])
    if DICT in obj:
        pairs = obj[DICT]
        if (
            len(obj) != 1
            or not isinstance(pairs, list)
            or not all(isinstance(p, list) and len(p) == 2 for p in pairs)
        ):
            raise SpecError(f"{where}: malformed dict {obj!r:.80}")
        return {_hashable(decode(k, tensors, where), where): decode(v, tensors, where) for k, v in pairs}
    if _ENUM in obj:
        try:
            return from_plain(obj, where)
        except ValueError as e:
            raise SpecError(str(e)) from None
    return {k: decode(v, tensors, f"{where}.{k}") for k, v in obj.items()}


def _hashable(k: Any, where: str) -> Any:
    try:
        hash(k)
    except TypeError:
        raise SpecError(f"{where}: dict key {k!r:.60} is not hashable") from None
    return k
