"""Decorators that change functions and classes: `patch`, `patch_to`, `delegates`, `funcs_kwargs`,
`check_kwargs`."""

from __future__ import annotations

import difflib
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = [
    "patch_to",
    "patch",
    "delegates",
    "funcs_kwargs",
    "check_kwargs",
    "unknown_kwargs_message",
    "accepted_kwargs",
]

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)
_Empty = inspect.Parameter.empty


def _classes(cls: Any) -> tuple[type, ...]:
    """The classes a `patch_to` target names: a class, a tuple of classes or a Union."""
    if isinstance(cls, tuple):
        return tuple(c for x in cls for c in _classes(x))
    if typing.get_origin(cls) in (typing.Union, types.UnionType):
        return tuple(c for x in typing.get_args(cls) for c in _classes(x))
    if isinstance(cls, type):
        return (cls,)
    raise TypeError(f"patch_to: expected a class, a tuple of classes or a Union, found {cls!r}")


def _copy_func(f: Callable[..., Any]) -> types.FunctionType:
    """A copy of function `f` (so each patched class gets its own `__qualname__`)."""
    if not isinstance(f, types.FunctionType):
        raise TypeError(f"patch: expected a Python function, found {type(f).__name__}")
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    g.__kwdefaults__ = f.__kwdefaults__
    g.__dict__.update(f.__dict__)
    g.__doc__ = f.__doc__
    g.__annotations__ = dict(f.__annotations__)
    g.__module__ = f.__module__
    return g


def patch_to(cls: Any, as_prop: bool = False, cls_method: bool = False) -> Callable[[F], F]:
    """Decorator: add the function as method `f.__name__` of `cls` (a class, tuple of classes or Union).

    `as_prop=True` adds it as a read-only property, `cls_method=True` as a classmethod.
    """
    if as_prop and cls_method:
        raise ValueError("patch_to: as_prop and cls_method cannot both be True")
    targets = _classes(cls)

    def _inner(f: F) -> F:
        for c in targets:
            g = _copy_func(f)
            g.__qualname__ = f"{c.__qualname__}.{f.__name__}"
            attr: Any = property(g) if as_prop else classmethod(g) if cls_method else g
            setattr(c, f.__name__, attr)
        return f

    return _inner


def _first_param_annotation(f: Callable[..., Any]) -> Any:
    """The annotation of the first parameter of `f`, evaluated if it is a string."""
    params = list(inspect.signature(f).parameters.values())
    if not params or params[0].annotation is _Empty:
        raise TypeError(
            f"patch: annotate the first parameter of {f.__name__} with the class to patch, "
            f"e.g. `def {f.__name__}(self: MyClass)`"
        )
    anno = params[0].annotation
    if isinstance(anno, str):
        anno = typing.get_type_hints(f)[params[0].name]
    return anno


def patch(f: F | None = None, *, as_prop: bool = False, cls_method: bool = False) -> Any:
    """Decorator: add `f` as a method of the class its first parameter is annotated with.

    `def read(self: Path) -> str: ...` adds `Path.read`; `self: A | B` or `self: (A, B)` patches both.
    """
    if f is None:
        return functools.partial(patch, as_prop=as_prop, cls_method=cls_method)
    return patch_to(_first_param_annotation(f), as_prop=as_prop, cls_method=cls_method)(f)


def _var_keyword(sig: inspect.Signature) -> inspect.Parameter | None:
    """The `**kwargs` parameter of a signature, if any."""
    return next((p for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD), None)


def delegates(to: Any = None, keep: bool = False, but: Any = None) -> Callable[[Any], Any]:
    """Decorator: show the keyword arguments (with defaults) of `to` in the signature instead of `**kwargs`.

    On a class with `to=None`, the class's `__init__` delegates to the base class's `__init__`.
    `keep=True` keeps `**kwargs` in the signature (for functions that forward more than `to` takes);
    names in `but` (a list or comma-separated str) are not shown.
    """
    excluded = set(but.replace(" ", "").split(",")) if isinstance(but, str) else set(but or [])

    def _inner(f: Any) -> Any:
        if to is None:
            if not isinstance(f, type):
                raise TypeError(
                    "delegates(to=None) decorates a class; for a function, name the function to delegate to"
                )
            if "__init__" not in vars(f):
                raise TypeError(f"delegates: {f.__name__} defines no __init__ of its own to delegate from")
            to_f: Any = f.__base__.__init__  # type: ignore[misc]
            from_f: Any = f.__init__  # type: ignore[misc]
        else:
            to_f = to.__init__ if isinstance(to, type) else to  # type: ignore[misc]
            from_f = f.__init__ if isinstance(f, type) else f  # type: ignore[misc]
        from_f = getattr(from_f, "__func__", from_f)
        to_f = getattr(to_f, "__func__", to_f)
        sig = inspect.signature(from_f)
        var_kw = _var_keyword(sig)
        if var_kw is None:
            raise TypeError(
                f"delegates: {getattr(from_f, '__qualname__', from_f)} has no **kwargs to delegate"
            )
        params = {k: v for k, v in sig.parameters.items() if v.kind is not v.VAR_KEYWORD}
        try:
            to_params = inspect.signature(to_f).parameters
        except (TypeError, ValueError) as e:
            raise TypeError(f"delegates: cannot read the signature of {to_f!r}") from e
        added = {
            k: v.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for k, v in to_params.items()
            if v.default is not _Empty
            and k not in params
            and k not in excluded
            and v.kind is not v.VAR_KEYWORD
        }
        new = list(params.values()) + list(added.values())
        if keep:
            new.append(var_kw)
        new.sort(key=lambda p: p.kind)
        from_f.__signature__ = sig.replace(parameters=new)
        to_annos = getattr(to_f, "__annotations__", {})
        from_f.__annotations__.update({k: to_annos[k] for k in added if k in to_annos})
        return f

    return _inner


def _accepted_keywords(cls: type) -> set[str] | None:
    """The keyword names that `cls(...)` accepts, following `**kwargs` up the MRO (None: any name)."""
    mro = cls.__mro__
    for i, klass in enumerate(mro):
        if "__init__" not in vars(klass):
            continue
        if klass is object:
            return set()
        init = vars(klass)["__init__"]
        orig = getattr(init, "__funcs_kwargs_init__", init)
        try:
            sig = inspect.signature(orig)
        except (TypeError, ValueError):
            return None
        names = {
            p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        if orig is not init:
            names |= set(getattr(klass, "_methods", []))
        if _var_keyword(sig) is None:
            return names
        rest = _accepted_keywords(mro[i + 1]) if i + 1 < len(mro) else set()
        return None if rest is None else names | rest
    return set()


def funcs_kwargs(cls: Any = None, *, as_method: bool = False) -> Any:
    """Class decorator: any method named in `cls._methods` can be replaced by a constructor keyword.

    `DataLoader(create_batch=f)` stores `f` on the instance (called without `self`, unless
    `as_method=True`); subclasses can also override the method. The constructor rejects unknown
    keywords with a TypeError naming them (so `DataLoader(shufle=True)` fails loudly).
    Use as `@funcs_kwargs` or `@funcs_kwargs(as_method=True)`.
    """
    if cls is None:
        return functools.partial(funcs_kwargs, as_method=as_method)
    if isinstance(cls, bool):
        return functools.partial(funcs_kwargs, as_method=cls)
    methods = list(getattr(cls, "_methods", None) or [])
    for m in methods:
        if not isinstance(m, str):
            raise TypeError(f"funcs_kwargs: {cls.__name__}._methods must hold method names, found {m!r}")
    old_init = cls.__init__
    accepted: list[set[str] | None] = []

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        for k in methods:
            arg = kwargs.pop(k, None)
            if arg is None:
                continue
            if isinstance(arg, types.MethodType):
                arg = types.MethodType(arg.__func__, self)
            elif as_method:
                arg = types.MethodType(arg, self)
            setattr(self, k, arg)
        if kwargs:
            if not accepted:
                accepted.append(_accepted_keywords(cls))
            known = accepted[0]
            unknown = [] if known is None else [k for k in kwargs if k not in known]
            if unknown:
                raise TypeError(_unknown_message(cls, unknown, known or set(), methods))
        old_init(self, *args, **kwargs)

    functools.update_wrapper(__init__, old_init)
    __init__.__funcs_kwargs_init__ = old_init  # type: ignore[attr-defined]
    sig = inspect.signature(old_init)
    # Like fastcore: the method names replace `**kwargs` in the shown signature (keywords passed
    # on to a base `__init__` are still accepted, and unknown ones still rejected, at call time).
    params = [p for p in sig.parameters.values() if p.name not in methods and p.kind is not p.VAR_KEYWORD]
    params += [inspect.Parameter(m, inspect.Parameter.KEYWORD_ONLY, default=None) for m in methods]
    params.sort(key=lambda p: p.kind)
    __init__.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    cls.__init__ = __init__
    return cls


def _unknown_message(cls: type, unknown: list[str], known: set[str], methods: list[str]) -> str:
    """The TypeError text for unknown constructor keywords, with close-match suggestions."""
    return unknown_kwargs_message(f"{cls.__name__}()", unknown, known, methods)


def unknown_kwargs_message(
    who: str, unknown: Iterable[str], known: Iterable[str], methods: Iterable[str] = ()
) -> str:
    """The text of the TypeError for keywords `unknown` to `who` (e.g. ``"fit_one_cycle()"``).

    Each unknown name gets the closest known one as a suggestion (``'lr' (did you mean 'lr_max'?)``)
    and the accepted names are listed.
    """
    known, methods = set(known) - {"self"}, list(methods)
    parts = []
    names = sorted(known | set(methods))
    for k in unknown:
        close = difflib.get_close_matches(k, names, n=1) or [n for n in names if n.startswith(k)][:1]
        parts.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (
        f"{who} got unexpected keyword argument(s) {', '.join(parts)}; "
        f"it accepts {', '.join(sorted(known - set(methods))) or 'no keywords'}"
        + (f" and the replaceable methods {', '.join(methods)}" if methods else "")
    )


def _keyword_names(f: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword names `f` accepts (its shown signature), or None when it takes any `**kwargs`."""
    sig = inspect.signature(f)
    if _var_keyword(sig) is not None:
        return None
    return frozenset(
        k for k, p in sig.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )


def accepted_kwargs(obj: Any) -> frozenset[str] | None:
    """The keyword names a call of `obj` accepts; None when it takes any name.

    For a class: the named parameters of its `__init__`, following `**kwargs` up to the base
    classes' `__init__` (as the `funcs_kwargs` check does: an `__init__` is taken to pass its
    `**kwargs` on to its base), plus the replaceable methods of a `funcs_kwargs` class. For a
    function: the names of its shown signature (after `delegates`), None when that signature
    keeps `**kwargs`. Callers that forward keywords to a class chosen
    at run time use it to reject a misspelled name before doing any work.
    """
    if isinstance(obj, type):
        found: set[str] | frozenset[str] | None = _accepted_keywords(obj)
    elif callable(obj):
        found = _keyword_names(obj)
    else:
        raise TypeError(f"accepted_kwargs: expected a class or a callable, found {type(obj).__name__}")
    return None if found is None else frozenset(found - {"self"})


def check_kwargs(f: F) -> F:
    """Decorator: an unknown keyword raises TypeError suggesting the closest accepted name.

    Python already rejects unknown keywords, but says only "unexpected keyword argument"; this
    names the closest match (``fit_one_cycle(1, lr=1e-3)`` suggests ``lr_max``). The accepted
    names are read from the signature on the first call (after `delegates` has updated it); a
    function whose shown signature keeps `**kwargs` is left unchecked. The check costs one set
    comparison per call with keywords.
    """
    accepted: list[frozenset[str] | None] = []

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            if not accepted:
                accepted.append(_keyword_names(wrapper))
            known = accepted[0]
            if known is not None and not known.issuperset(kwargs):
                unknown = [k for k in kwargs if k not in known]
                raise TypeError(unknown_kwargs_message(f"{f.__qualname__}()", unknown, known))
        return f(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
