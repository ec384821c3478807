"""Plain-data state: the validator, and the registry of transform types a state may name.

A saved state names a transform type (or function) by its registered name, or, when it is not
registered, by a ``"module:qualname"`` reference to where its module defines it (typecore's
`loaded_name`). Loading looks registered names up in this registry and references up in the
modules the process has already imported: it never imports a module or runs code named in the
data that is not in one of those places (the learner's safe export relies on it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

import torch
from plies.typecore import NamedRegistry, find_loaded, loaded_name

__all__ = ["check_plain_data", "register_transform"]

PLAIN_TYPES = "dict, list, tuple, str, int, float, bool, bytes, None or torch.Tensor"
_SCALARS = (str, int, float, bool, bytes, type(None))
_HOW = "decorate the class or function with @plies.pipes.register_transform"
_TRANSFORMS = NamedRegistry("transform type", _HOW)

T = TypeVar("T")


def check_plain_data(obj: T, where: str = "state") -> T:
    """Check that `obj` is plain data (nested dict/list/tuple of str, int, float, bool, bytes, None,
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
    _TRANSFORMS.register(obj, name)
    return obj


def _is_transform_code(obj: Any) -> bool:
    from ._transform import Transform

    return inspect.isfunction(obj) or (inspect.isclass(obj) and issubclass(obj, Transform))


def registered_name(obj: Any, what: str) -> str:
    """The name a state saves for a Transform class or function: its registered name, else a
    ``"module:qualname"`` reference when its module defines it there; KeyError saying how to register."""
    name = _TRANSFORMS.find_name(obj)
    if name is not None:
        return name
    ref = loaded_name(obj) if _is_transform_code(obj) else None
    if ref is not None:
        return ref
    label = getattr(obj, "__qualname__", repr(obj))
    kind = "class" if inspect.isclass(obj) else "function"
    raise KeyError(
        f"{what}: the {kind} {label} is not registered for plain-data state (nor found by name: it is "
        f"defined inside a function, a lambda or an alias); decorate its definition with "
        f"@plies.pipes.register_transform"
    )


def lookup_registered(name: Any, what: str) -> Any:
    """The class or function a state names: registered, or found in an already imported module by
    its ``"module:qualname"`` reference; KeyError naming it (and what to register or import)."""
    if isinstance(name, str) and ":" in name:
        return find_loaded(name, what, _is_transform_code, "a Transform class or a function")
    return _TRANSFORMS.get(name, what)
