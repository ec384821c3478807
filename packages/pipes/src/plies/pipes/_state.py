"""Plain-data state: the validator, and the registry of transform types a state may name.

A saved state names types only by registered names: loading one looks them up in this
registry and never imports a module or runs code named in the data (the learner's safe
export relies on it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

import torch

__all__ = ["check_plain_data", "register_transform"]

PLAIN_TYPES = "dict, list, tuple, str, int, float, bool, None or torch.Tensor"
_SCALARS = (str, int, float, bool, type(None))

_BY_NAME: dict[str, Any] = {}
_BY_OBJECT: dict[Any, str] = {}

T = TypeVar("T")


def check_plain_data(obj: T, where: str = "state") -> T:
    """Check that `obj` is plain data (nested dict/list/tuple of str, int, float, bool, None,
    torch.Tensor); return it unchanged, or raise TypeError naming the path of the offending value.

    Dict keys must be str or int. Tensors must be plain `torch.Tensor` (a subclass such as a
    semantic tensor would need its class to load: convert with `.as_subclass(torch.Tensor)`).
    """
    _check(obj, where, set())
    return obj


def _check(obj: Any, path: str, seen: set[int]) -> None:
    t = type(obj)
    if t in _SCALARS or t is torch.Tensor:
        return
    if isinstance(obj, (dict, list, tuple)) and t in (dict, list, tuple):
        if id(obj) in seen:
            raise TypeError(f"{path}: plain data cannot contain a reference cycle")
        seen.add(id(obj))
        if isinstance(obj, dict):
            for k, v in obj.items():
                if type(k) not in (str, int):
                    raise TypeError(f"{path}: dict keys must be str or int, found {type(k).__name__} {k!r}")
                _check(v, f"{path}[{k!r}]", seen)
        else:
            for i, v in enumerate(obj):
                _check(v, f"{path}[{i}]", seen)
        seen.discard(id(obj))
        return
    hint = ""
    if isinstance(obj, torch.Tensor):
        hint = " (a torch.Tensor subclass: convert with .as_subclass(torch.Tensor))"
    elif isinstance(obj, (dict, list, tuple, *_SCALARS)):
        base = next(b for b in t.__mro__[1:] if b in (dict, list, tuple, *_SCALARS))
        hint = f" (a subclass of {base.__name__}: convert it to a plain {base.__name__})"
    found = f"{t.__module__}.{t.__qualname__}"
    raise TypeError(f"{path}: expected plain data ({PLAIN_TYPES}), found {found}{hint}")


@overload
def register_transform(obj: T, *, name: str | None = None) -> T: ...
@overload
def register_transform(obj: None = None, *, name: str | None = None) -> Callable[[T], T]: ...
def register_transform(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a Transform subclass or a function so saved states may name it (a decorator).

    `@register_transform` or `@register_transform(name="my.name")`; the default name is
    `module.qualname` without private module parts (`plies.loaders._transforms.Categorize` is
    saved as `plies.loaders.Categorize`, its public path), so moving a class between private
    modules keeps saved states loadable. Registering the same definition again (a re-run
    notebook cell) replaces it; a different object under a taken name raises ValueError.
    """
    if obj is None:
        return lambda o: register_transform(o, name=name)
    from ._transform import Transform  # the registry module sits below the Transform module

    if inspect.isclass(obj):
        if not issubclass(obj, Transform):
            raise TypeError(f"register_transform: {obj.__qualname__} is a class but not a Transform subclass")
    elif isinstance(obj, Transform) or not callable(obj):
        raise TypeError(
            f"register_transform: expected a Transform subclass or a function, found "
            f"{type(obj).__name__}; register the class (or the function before wrapping it)"
        )
    elif getattr(obj, "__name__", "<lambda>") == "<lambda>":
        raise TypeError("register_transform: a lambda has no stable name; define it with `def`")
    key = name if name is not None else _default_name(obj)
    old = _BY_NAME.get(key)
    if old is not None and old is not obj:
        same_definition = (getattr(old, "__module__", None), getattr(old, "__qualname__", None)) == (
            obj.__module__,
            obj.__qualname__,
        )
        if not same_definition:
            raise ValueError(f"register_transform: the name {key!r} is already registered for {old!r}")
        _BY_OBJECT.pop(old, None)
    _BY_NAME[key] = obj
    _BY_OBJECT[obj] = key
    return obj


def _default_name(obj: Any) -> str:
    """`module.qualname` without the module parts named `_private` (dunder names such as
    `__main__` are kept)."""
    parts = [p for p in obj.__module__.split(".") if not (p.startswith("_") and not p.startswith("__"))]
    return ".".join([*parts, obj.__qualname__])


def registered_name(obj: Any, what: str) -> str:
    """The registered name of a Transform class or function; KeyError saying how to register."""
    try:
        return _BY_OBJECT[obj]
    except (KeyError, TypeError):
        pass
    label = getattr(obj, "__qualname__", repr(obj))
    kind = "class" if inspect.isclass(obj) else "function"
    raise KeyError(
        f"{what}: the {kind} {label} is not registered for plain-data state; decorate its "
        f"definition with @plies.pipes.register_transform"
    )


def lookup_registered(name: Any, what: str) -> Any:
    """The class or function registered under `name`; KeyError naming it and the known names."""
    if isinstance(name, str) and name in _BY_NAME:
        return _BY_NAME[name]
    known = ", ".join(sorted(_BY_NAME)) or "none"
    raise KeyError(
        f"{what}: unknown transform type {name!r} (not registered). Registered: {known}. "
        f"Decorate the class or function with @plies.pipes.register_transform before loading"
    )
