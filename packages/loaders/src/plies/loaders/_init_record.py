"""The constructor arguments of DataLoader subclasses, recorded so that `new()` rebuilds the subclass.

`DataLoader.new` (used for the validation loader, `test_dl`, data-parallel sharding and export)
creates a loader like an existing one: DataLoader and TfmdDL read their own settings back from
attributes. A subclass's own arguments (`scale=2.0` of `class MyDL(TfmdDL)`) are not attributes
plies knows of, so each subclass's `__init__` is wrapped when the class is created: the outermost
call records, by name, the arguments that DataLoader does not handle itself, and `new()` passes
them again. A subclass therefore survives `new()` without overriding it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

RECORD = "_subclass_init_kwargs"


def _extra_arguments(
    sig: inspect.Signature, obj: Any, args: tuple, kwargs: dict[str, Any], known: frozenset[str]
) -> dict[str, Any]:
    """The arguments of one constructor call, by name, except those in `known`."""
    try:
        bound = sig.bind(obj, *args, **kwargs)
    except TypeError:
        return {}  # the constructor itself raises the TypeError, naming the argument
    res: dict[str, Any] = {}
    for name, value in list(bound.arguments.items())[1:]:
        kind = sig.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            res.update({k: v for k, v in value.items() if k not in known})
        elif kind is not inspect.Parameter.VAR_POSITIONAL and name not in known:
            res[name] = value
    return res


def record_init_arguments(cls: type, known: Iterable[str]) -> None:
    """Wrap `cls.__init__` (when `cls` defines one) so that the outermost constructor call stores its
    arguments not in `known` on the instance, for `recorded_arguments`."""
    init: Callable[..., None] | None = cls.__dict__.get("__init__")
    if init is None or getattr(init, "_records_init_arguments", False):
        return
    sig, names = inspect.signature(init), frozenset(known)

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if RECORD not in self.__dict__:  # the most derived constructor runs first
            self.__dict__[RECORD] = _extra_arguments(sig, self, args, kwargs, names)
        init(self, *args, **kwargs)

    __init__._records_init_arguments = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]


def recorded_arguments(obj: Any) -> dict[str, Any]:
    """The subclass constructor arguments recorded for `obj` (empty for a plain DataLoader)."""
    return dict(obj.__dict__.get(RECORD, {}))
