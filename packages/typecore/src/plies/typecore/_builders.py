"""A registry of model constructors, so a model can be rebuilt from plain data (no pickle).

`@register_builder` registers a function that returns an `nn.Module`, or an `nn.Module` class,
under its public name (`module.qualname` without private module parts) or `name=`. Calling it
attaches `model.build_spec = {"builder": name, "kwargs": {...}}` holding the arguments the caller
passed (defaults are not recorded: rebuilding applies them again). A registered class stays that
class (`isinstance` works); only instances of exactly that class get its spec (a subclass's
instances are described by the subclass). Arguments must be plain data (None, bool, int, float,
str, and lists, tuples and dicts of them), `torch.nn` layer classes (recorded by name, e.g.
`act_cls=nn.ReLU`), or modules that carry a `build_spec` themselves (recorded as a nested spec).
When any argument is something else, the model is returned without a `build_spec`: it cannot be
rebuilt from data, and exporting it pickle-free reports that.

`build_from_spec(spec)` looks the builder up in the registry only: it never imports a module or
runs code named by the spec.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from torch import nn

from ._registry import NamedRegistry, public_name

__all__ = ["register_builder", "build_from_spec"]

F = TypeVar("F", bound=Callable[..., Any])

_BUILDERS = NamedRegistry(
    "builder", "decorate the model's function or class with @plies.typecore.register_builder"
)
_NN_CLASS_KEY = "torch.nn"
_SPEC_KEYS = ({"builder", "kwargs"}, {"builder", "kwargs", "args"})


class _NotPlain(Exception):
    """Internal signal: an argument cannot be recorded as plain data."""


def _encode(v: Any) -> Any:
    """`v` as plain data for a spec, or raise `_NotPlain`."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, nn.Module):
        spec = getattr(v, "build_spec", None)
        if spec is None:
            raise _NotPlain
        return copy.deepcopy(spec)
    if isinstance(v, type) and issubclass(v, nn.Module):
        name = v.__name__
        if getattr(nn, name, None) is not v:
            raise _NotPlain
        return {_NN_CLASS_KEY: name}
    if isinstance(v, list):
        return [_encode(o) for o in v]
    if isinstance(v, tuple) and not hasattr(v, "_fields"):
        return tuple(_encode(o) for o in v)
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):
        if set(v) in _SPEC_KEYS or set(v) == {_NN_CLASS_KEY}:
            raise _NotPlain  # would read back as a nested spec or a layer class
        return {k: _encode(o) for k, o in v.items()}
    raise _NotPlain


def _decode(v: Any) -> Any:
    """The Python value of spec data: nested specs become modules, layer names become classes."""
    if isinstance(v, dict):
        if set(v) in _SPEC_KEYS:
            return build_from_spec(v)
        if set(v) == {_NN_CLASS_KEY}:
            name = v[_NN_CLASS_KEY]
            cls = getattr(nn, name, None) if isinstance(name, str) else None
            if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
                raise ValueError(f"build_from_spec: {name!r} is not a layer class of torch.nn")
            return cls
        return {k: _decode(o) for k, o in v.items()}
    if isinstance(v, list):
        return [_decode(o) for o in v]
    if isinstance(v, tuple):
        return tuple(_decode(o) for o in v)
    return v


@overload
def register_builder(obj: F, *, name: str | None = None) -> F: ...
@overload
def register_builder(obj: None = None, *, name: str | None = None) -> Callable[[F], F]: ...
def register_builder(obj: Any = None, *, name: str | None = None) -> Any:
    """Decorator: register a model constructor (function or `nn.Module` class) so the models it
    returns can be rebuilt from their `build_spec`.

    `@register_builder` or `@register_builder(name="my.net")`; the default name is the public
    `module.qualname` (private `_module` parts left out). Registering the same definition again
    (e.g. a reloaded module) replaces it; another object under a taken name raises ValueError.
    """
    if obj is None:
        return lambda o: register_builder(o, name=name)
    key = public_name(obj) if name is None else name
    legacy = f"{obj.__module__}.{obj.__qualname__}"  # the name plies 1.0 files recorded
    aliases = (legacy,) if legacy != key else ()
    if inspect.isclass(obj):
        if not issubclass(obj, nn.Module):
            raise TypeError(f"register_builder: {obj.__qualname__} is a class but not an nn.Module subclass")
        _wrap_init(obj, key)
        _BUILDERS.register(obj, key, aliases)
        return obj
    if not callable(obj):
        raise TypeError(
            f"register_builder: expected a function or an nn.Module class, found {type(obj).__name__}"
        )
    sig = inspect.signature(obj)

    @functools.wraps(obj)
    def builder(*args: Any, **kwargs: Any) -> Any:
        model = obj(*args, **kwargs)
        if isinstance(model, nn.Module):
            spec = _spec(key, sig, args, kwargs)
            if spec is not None:
                model.build_spec = spec  # type: ignore[assignment]
        return model

    _BUILDERS.register(builder, key, aliases)
    return builder


def _wrap_init(cls: type, key: str) -> None:
    """Make `cls.__init__` record the build spec of instances of exactly `cls`."""
    init = cls.__init__  # type: ignore[misc]
    if getattr(init, "_builder_of", None) is cls:
        init = init.__wrapped__  # registered again (a new name): wrap the original once
    sig = inspect.signature(cls)

    @functools.wraps(init)
    def __init__(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if type(self) is cls:
            spec = _spec(key, sig, args, kwargs)
            if spec is not None:
                self.build_spec = spec  # type: ignore[assignment]

    __init__._builder_of = cls  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]


def _spec(name: str, sig: inspect.Signature, args: tuple, kwargs: dict) -> dict | None:
    """The build spec of a call, or None when an argument is not plain data."""
    bound = sig.bind(*args, **kwargs)
    positional = any(
        p.kind is p.POSITIONAL_ONLY or (p.kind is p.VAR_POSITIONAL and bound.arguments.get(k))
        for k, p in sig.parameters.items()
        if k in bound.arguments
    )
    # Keyword form reads best; positional-only parameters and a used *args force positional form.
    raw_args, raw_kwargs = (bound.args, bound.kwargs) if positional else ((), _flat_kwargs(sig, bound))
    try:
        spec_args = [_encode(o) for o in raw_args]
        spec_kwargs = {k: _encode(o) for k, o in raw_kwargs.items()}
    except _NotPlain:
        return None
    spec: dict = {"builder": name, "kwargs": spec_kwargs}
    if spec_args:
        spec["args"] = spec_args
    return spec


def _flat_kwargs(sig: inspect.Signature, bound: inspect.BoundArguments) -> dict:
    """The bound arguments as one keyword dict (the contents of `**kwargs` merged in)."""
    res: dict = {}
    for k, v in bound.arguments.items():
        if sig.parameters[k].kind is inspect.Parameter.VAR_KEYWORD:
            res.update(v)
        else:
            res[k] = v
    return res


def build_from_spec(spec: dict) -> Any:
    """Rebuild a model from its `build_spec`, calling only builders registered with `register_builder`.

    Raises KeyError naming the builder (and listing the known ones) when it is not registered:
    import the module that defines it first; nothing is imported from the spec.
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("builder"), str):
        raise TypeError(f"build_from_spec: expected a dict with a 'builder' name, found {spec!r}"[:300])
    kwargs = spec.get("kwargs", {})
    args = spec.get("args", [])
    if not isinstance(kwargs, dict) or not isinstance(args, (list, tuple)):
        raise TypeError("build_from_spec: 'kwargs' must be a dict and 'args' a list")
    builder = _BUILDERS.get(spec["builder"], "build_from_spec")
    return builder(*_decode(list(args)), **{k: _decode(v) for k, v in kwargs.items()})
