"""Attribute helpers: `store_attr` (save constructor arguments) and `GetAttr` (attribute delegation)."""

from __future__ import annotations

import inspect
import re
from typing import Any

__all__ = ["store_attr", "GetAttr"]


def _names(names: Any) -> list[str]:
    """A list of names from a list or a comma-separated string."""
    if names is None:
        return []
    if isinstance(names, str):
        return [n for n in re.split(r",\s*", names.strip()) if n]
    return list(names)


def _caller_arguments(depth: int) -> tuple[list[str], dict[str, Any]]:
    """The argument names and local variables of the function `depth` frames above this one.

    This is the one place in plies that reads a caller's frame (via the public `inspect`
    module): `store_attr()` needs the arguments of the `__init__` that called it. The frame
    reference is dropped before returning, so no reference cycle is kept.
    """
    frame = inspect.currentframe()
    try:
        for _ in range(depth + 1):
            if frame is None:
                raise RuntimeError("store_attr: no calling function found")
            frame = frame.f_back
        if frame is None:
            raise RuntimeError("store_attr: no calling function found")
        code = frame.f_code
        argnames = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
        return argnames, dict(frame.f_locals)
    finally:
        del frame


def store_attr(
    names: Any = None, self: Any = None, but: Any = "", store_args: bool | None = None, **attrs: Any
) -> None:
    """Store the calling method's arguments as attributes of its `self`.

    Call it from a method (usually `__init__`): `store_attr()` sets `self.a = a` for every
    argument after `self` (not `*args`/`**kwargs`); `names` (list or comma-separated str) picks
    some, `but` excludes some, and keyword `attrs` are stored too. `self=obj` stores on `obj`
    instead (then every argument of the calling function is a candidate). The stored names and
    values are also kept in `self.__stored_args__` (unless `store_args=False`, or the object
    has `__slots__`).
    """
    argnames, local_vars = _caller_arguments(1)
    if self is None:
        if not argnames:
            raise TypeError(
                "store_attr: must be called from a method whose first argument is self (or pass self=obj)"
            )
        self, candidates = local_vars[argnames[0]], argnames[1:]
    else:
        candidates = argnames
    wanted = _names(names) if names is not None else candidates
    missing = [n for n in wanted if n not in local_vars]
    if missing:
        raise KeyError(f"store_attr: no argument or local variable named {', '.join(map(repr, missing))}")
    excluded = set(_names(but))
    values = {**attrs, **{n: local_vars[n] for n in wanted}}
    values = {k: v for k, v in values.items() if k not in excluded}
    if store_args is None:
        store_args = not hasattr(self, "__slots__")
    if store_args:
        stored = self.__dict__.setdefault("__stored_args__", {})
        stored.update(values)
    for k, v in values.items():
        setattr(self, k, v)


class GetAttr:
    """Base class: attributes not found on the object are read from its `_default` attribute.

    `_default` names the attribute to delegate to (default `'default'`); `_xtra`, when set, is
    the list of the only names delegated. Names starting with `__` are never delegated.
    `dir()` includes the delegated names.
    """

    _default: str = "default"
    _xtra: list[str] | None = None

    def _component_attr_filter(self, k: str) -> bool:
        """Whether attribute name `k` is read from the default component."""
        if k.startswith("__") or k in ("_xtra", self._default):
            return False
        xtra = self._xtra
        return xtra is None or k in xtra

    def _component(self) -> Any:
        """The object attributes are delegated to, or None when it is not set."""
        # object.__getattribute__ skips __getattr__: an object being unpickled (empty __dict__)
        # gets None here instead of recursing.
        try:
            return object.__getattribute__(self, self._default)
        except AttributeError:
            return None

    def _dir(self) -> list[str]:
        """The delegated attribute names."""
        component = self._component()
        return [k for k in dir(component) if self._component_attr_filter(k)]

    def __getattr__(self, k: str) -> Any:
        if self._component_attr_filter(k):
            component = self._component()
            if component is not None:
                try:
                    return getattr(component, k)
                except AttributeError:
                    pass
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {k!r} "
                f"(nor does its default {self._default!r}: {type(component).__name__})"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {k!r}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._dir()))

    def __setstate__(self, data: dict) -> None:
        self.__dict__.update(data)
