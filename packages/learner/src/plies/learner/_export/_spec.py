"""Objects described by their constructor arguments, read back from attributes of the same names.

Shared by the descriptions of models, losses, metrics and callbacks: `read_kwargs` reads the
arguments, `same_config` checks that an object rebuilt from them equals the original, and
`check_plain_kwargs` vets the arguments a file gives before anything is called with them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ._codec import SpecError

__all__: list[str] = []  # private module of the export package

_SKIP_PARAMS = {"self", "device", "dtype"}


def params_of(factory: Callable[..., Any]) -> list[inspect.Parameter]:
    sig = inspect.signature(factory)
    return [
        p
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in _SKIP_PARAMS
        and not p.name.startswith("_")
    ]


def read_kwargs(obj: Any, factories: list[Callable[..., Any]]) -> dict[str, Any]:
    """Constructor keywords of `obj` read from its attributes (and those of ``obj.func``)."""
    sources = [obj] + ([obj.func] if hasattr(obj, "func") and not inspect.isroutine(obj.func) else [])
    kwargs: dict[str, Any] = {}
    for factory in factories:
        for p in params_of(factory):
            if p.name in kwargs:
                continue
            if p.name == "bias" and isinstance(getattr(obj, "bias", None), (Tensor, type(None))):
                kwargs["bias"] = getattr(obj, "bias", None) is not None
                continue
            for src in sources:
                if hasattr(src, p.name):
                    value = getattr(src, p.name)
                    if isinstance(value, nn.Parameter):
                        break  # a learned value (PReLU init...): the weights file restores it
                    kwargs[p.name] = value
                    break
    return kwargs


def same_config(a: Any, b: Any) -> bool:
    """Whether `a` and `b` hold the same configuration (types, attributes, tensors, parameter shapes)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a.cpu(), b.cpu()))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_config(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_config(a[k], b[k]) for k in a)
    if isinstance(a, nn.Module):
        sa, sb = a.state_dict(), b.state_dict()
        if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
            return False
        if repr(a) != repr(b):
            return False
    if hasattr(a, "__dict__") and not isinstance(a, type):
        skip = {"_parameters", "_buffers", "_modules", "training"} if isinstance(a, nn.Module) else set()
        da = {k: v for k, v in vars(a).items() if k not in skip and not k.endswith("_hooks")}
        db = {k: v for k, v in vars(b).items() if k not in skip and not k.endswith("_hooks")}
        if isinstance(a, nn.Module):
            da = {k: v for k, v in da.items() if not k.startswith("_")}
            db = {k: v for k, v in db.items() if not k.startswith("_")}
            return da.keys() == db.keys() and all(_same_value(da[k], db[k]) for k in da)
        return da.keys() == db.keys() and all(same_config(da[k], db[k]) for k in da)
    return bool(a == b) if not isinstance(a, float) else (a == b or (a != a and b != b))


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, (Tensor, nn.Module, list, tuple, dict)):
        return same_config(a, b)
    try:
        return bool(a == b)
    except (TypeError, RuntimeError, ValueError):
        return False


PLAIN_KW = (bool, int, float, str, type(None))


def check_plain_kwargs(kwargs: dict[str, Any], allowed: set[str], who: str) -> None:
    for k, v in kwargs.items():
        if k not in allowed:
            raise SpecError(
                f"{who}: unexpected constructor argument {k!r} (allowed: {', '.join(sorted(allowed))})"
            )
        values = v if isinstance(v, (tuple, list)) else (v,)
        if not all(isinstance(x, PLAIN_KW) for x in values):
            raise SpecError(
                f"{who}: argument {k!r} must be a number, string, bool or None (or a tuple of them)"
            )


def callable_without_arguments(f: Any) -> bool:
    """Whether `f()` is a valid call (every parameter has a default): a factory export can probe."""
    try:
        inspect.signature(f).bind()
    except (TypeError, ValueError):
        return False
    return True
