"""Type dispatch over the first one or two parameters, by annotation (the paper's `typedispatch`).

`TypeDispatch` holds implementations keyed by the annotated types of their first two
parameters (a parameter named `self` or `cls` is skipped, so methods dispatch on the
arguments after it). A call looks up the most specific implementation for the argument
types: the first parameter matters most, then the second; ties between unrelated
matches (ABCs, multiple inheritance) go to the annotation nearest in the argument type's
MRO. `bool` is an `int` and NumPy scalars are `numbers.Number` (NumPy registers them with
the `numbers` ABCs), so `numbers.Integral` matches `True`, `3` and `np.int64(3)`.

When nothing matches: a `TypeDispatch` built directly (as `Transform` does) returns its
first argument unchanged, unless `default=` names a fallback; a function decorated with
`typedispatch` raises TypeError naming the function and the argument types.
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["TypeDispatch", "typedispatch"]

_SKIPPED_FIRST = ("self", "cls")


def _expand(anno: Any) -> tuple[type, ...]:
    """Turn one annotation into the tuple of classes it accepts."""
    if anno is inspect.Parameter.empty or anno is Any:
        return (object,)
    if anno is None:
        return (type(None),)
    if isinstance(anno, tuple):
        return tuple(t for a in anno for t in _expand(a))
    origin = typing.get_origin(anno)
    if origin is typing.Union or origin is types.UnionType:
        return tuple(t for a in typing.get_args(anno) for t in _expand(a))
    if origin is not None and isinstance(origin, type):
        return (origin,)
    if isinstance(anno, type):
        return (anno,)
    raise TypeError(f"typedispatch: annotation {anno!r} is not a class, a tuple of classes or a Union")


def _annotations(f: Callable[..., Any]) -> tuple[list[str], dict[str, Any]]:
    """Names of the dispatched parameters of `f` (at most two) and its evaluated annotations."""
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):  # some builtins have no signature: dispatch on object
        return [], {}
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if params and params[0].name in _SKIPPED_FIRST:
        params = params[1:]
    annos = {p.name: p.annotation for p in params[:2] if p.annotation is not p.empty}
    if sig.return_annotation is not sig.empty:
        annos["return"] = sig.return_annotation
    if any(isinstance(a, str) for a in annos.values()):
        # `from __future__ import annotations`: evaluate the strings in f's own globals
        try:
            evaluated = inspect.get_annotations(f, eval_str=True)
        except NameError as e:
            raise TypeError(
                f"typedispatch: cannot evaluate the annotations of {f.__qualname__} ({e}); "
                "string annotations (e.g. from `from __future__ import annotations`) "
                "must name classes visible in the function's module"
            ) from e
        annos = {k: evaluated[k] for k in annos}
    return [p.name for p in params[:2]], annos


def _dispatch_types(f: Callable[..., Any]) -> tuple[list[tuple[type, type]], type | None]:
    """The (first, second) type pairs `f` is registered for, and its return class (or None)."""
    names, annos = _annotations(f)
    firsts = [_expand(annos.get(n, inspect.Parameter.empty)) for n in names]
    firsts += [(object,)] * (2 - len(firsts))
    ret = annos.get("return")
    if "return" in annos and ret is None:  # `-> None`: Transform keeps the result as it is
        ret = type(None)
    if ret is typing.Any:  # a class since Python 3.11, but it promises nothing to cast to
        ret = None
    return [(a, b) for a in firsts[0] for b in firsts[1]], ret if isinstance(ret, type) else None


def _mro(t: type) -> tuple[type, ...]:
    """t's MRO; NumPy's `bool_` (not a Python int) is given `bool`'s MRO too, so it dispatches as
    a bool (an int, a `numbers.Integral`) like every other NumPy scalar dispatches as a number."""
    np = sys.modules.get("numpy")
    if np is not None and issubclass(t, np.bool_):
        return t.__mro__[:-1] + bool.__mro__
    return t.__mro__


def _issub(t: type, anno: type) -> bool:
    return issubclass(t, anno) or any(issubclass(m, anno) for m in _mro(t)[1:])


def _distance(t: type, anno: type) -> int:
    """How far `anno` is from `t`: the position in t's MRO of the last class that is a subclass of
    `anno` (for a class in the MRO, its own position; for an ABC, its most general registrant)."""
    return max((i for i, m in enumerate(_mro(t)) if issubclass(m, anno)), default=len(t.__mro__))


def _more_specific(a: tuple[type, type], b: tuple[type, type], t1: type, t2: type) -> bool:
    """True when the key `a` should win over the key `b` for argument types (t1, t2)."""
    for i, t in ((0, t1), (1, t2)):
        x, y = a[i], b[i]
        if x is y:
            continue
        if issubclass(x, y):
            return True
        if issubclass(y, x):
            return False
        dx, dy = _distance(t, x), _distance(t, y)
        if dx != dy:
            return dx < dy
    return False


def _type_name(t: type) -> str:
    return t.__qualname__ if t.__module__ in ("builtins", "numbers") else f"{t.__module__}.{t.__qualname__}"


class TypeDispatch:
    """Dispatch a call to the implementation whose annotations best match the argument types.

    `funcs`: functions to register (see `add`); `bases`: other `TypeDispatch` objects consulted,
    in order, when none of this object's own implementations match (`Transform` subclasses use
    them to extend their parents'); `default`: called with the call's arguments when nothing
    matches. `default=None` returns the first argument unchanged.
    """

    def __init__(
        self,
        funcs: Callable[..., Any] | Iterable[Callable[..., Any]] = (),
        bases: TypeDispatch | Iterable[TypeDispatch | None] = (),
        default: Callable[..., Any] | None = None,
    ) -> None:
        self._impls: dict[tuple[type, type], Callable[..., Any]] = {}
        self._returns: dict[Callable[..., Any], type | None] = {}
        # resolved (implementation, return class): by first type (one argument), by first then second
        self._cache1: dict[type, tuple[Callable[..., Any] | None, type | None]] = {}
        self._cache2: dict[type, dict[type, tuple[Callable[..., Any] | None, type | None]]] = {}
        # one TypeDispatch or several (None entries skipped), as fastcore accepts
        self.bases: tuple[TypeDispatch, ...] = (
            (bases,) if isinstance(bases, TypeDispatch) else tuple(b for b in bases if b is not None)
        )
        self.default = default
        self._dependents: weakref.WeakSet[TypeDispatch] = weakref.WeakSet()
        self._scope_codes: set[Any] = set()  # code objects of the `typedispatch` definitions added
        self._binds_class: bool | None = None  # whether implementations take `cls` (computed lazily)
        for b in self.bases:
            if not isinstance(b, TypeDispatch):
                raise TypeError(f"TypeDispatch: bases must be TypeDispatch objects, got {type(b).__name__}")
            b._dependents.add(self)
        self.__name__ = self.__qualname__ = "TypeDispatch"
        self.__module__ = __name__
        self.__doc__ = None
        for f in [funcs] if callable(funcs) else funcs:
            if f is not None:  # `TypeDispatch([f, None])`: None stands for "no function" (as fastai)
                self.add(f)

    def add(self, f: Callable[..., Any]) -> Callable[..., Any]:
        """Register `f` for the types annotated on its first two parameters; returns `f`.

        Registering again for the same types replaces the earlier implementation.
        """
        if isinstance(f, TypeDispatch):
            for g in f.implementations():
                self.add(g)
            return f
        func = _unwrap(f)
        if not callable(func):
            raise TypeError(f"TypeDispatch.add: expected a function, got {type(f).__name__} {f!r}")
        if not self._impls and self.__name__ == "TypeDispatch":
            for attr in ("__name__", "__qualname__", "__module__", "__doc__"):
                if hasattr(func, attr):
                    setattr(self, attr, getattr(func, attr))
        keys, ret = _dispatch_types(func)
        for key in keys:
            self._impls[key] = f
        self._returns = {g: self._returns.get(g, ret) for g in self._impls.values()}
        self._returns[f] = ret
        self._invalidate()
        return f

    def register(self, f: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator form of `add`: `@existing.register` adds an implementation from any module."""
        return self.add(f)

    def _invalidate(self) -> None:
        self._cache1.clear()
        self._cache2.clear()
        self._binds_class = None
        for d in list(self._dependents):
            d._invalidate()

    def implementations(self) -> list[Callable[..., Any]]:
        """The registered functions (own ones, without the bases'), in registration order."""
        return list(dict.fromkeys(self._impls.values()))

    def signatures(self, inherited: bool = True) -> list[tuple[tuple[type, type], Callable[..., Any]]]:
        """The ((first type, second type), implementation) pairs: own ones, then the bases' ones."""
        res = list(self._impls.items())
        if inherited:
            own = set(self._impls)
            for b in self.bases:
                res += [(k, f) for k, f in b.signatures() if k not in own]
                own |= {k for k, _ in res}
        return res

    def first(self) -> Callable[..., Any] | None:
        """The first registered implementation, or None when empty."""
        return next(iter(self._impls.values()), None)

    def resolve(self, t1: type, t2: type = object) -> tuple[Callable[..., Any] | None, type | None]:
        """The implementation chosen for argument types (t1, t2) and its return class (cached).

        `t2=object` stands for "no second argument": it only matches implementations whose second
        parameter is unannotated. Own implementations are tried before the bases'.
        """
        cached = self._cache1.get(t1) if t2 is object else self._cache2.get(t1, {}).get(t2)
        if cached is not None:
            return cached
        best: tuple[type, type] | None = None
        for key in self._impls:
            if _issub(t1, key[0]) and _issub(t2, key[1]):
                if best is None or _more_specific(key, best, t1, t2):
                    best = key
        res: tuple[Callable[..., Any] | None, type | None] = (None, None)
        if best is not None:
            f = self._impls[best]
            res = (f, self._returns[f])
        else:
            for b in self.bases:
                res = b.resolve(t1, t2)
                if res[0] is not None:
                    break
        if t2 is object:
            self._cache1[t1] = res
        else:
            self._cache2.setdefault(t1, {})[t2] = res
        return res

    def lookup(self, t1: type, t2: type = object) -> Callable[..., Any] | None:
        """The implementation chosen for argument types (t1, t2), or None."""
        return self.resolve(t1, t2)[0]

    def __getitem__(self, k: type | Sequence[type]) -> Callable[..., Any] | None:
        """The implementation for a type or a (type, type) pair, or None."""
        if isinstance(k, type):
            return self.resolve(k)[0]
        ts = tuple(k)
        return self.resolve(ts[0], ts[1] if len(ts) > 1 else object)[0]

    def returns(self, x: Any) -> type | None:
        """The return annotation (a class) of the implementation chosen for `x`, else None."""
        return self.resolve(type(x))[1]

    def __call__(self, x: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Call the best implementation for the types of the first two arguments."""
        if args:
            by_second = self._cache2.get(type(x))
            r = by_second.get(type(args[0])) if by_second is not None else None
            f = (r if r is not None else self.resolve(type(x), type(args[0])))[0]
            if f is not None:
                return f(x, args[0]) if len(args) == 1 and not kwargs else f(x, *args, **kwargs)
        else:
            r = self._cache1.get(type(x))
            f = (r if r is not None else self.resolve(type(x)))[0]
            if f is not None:
                return f(x, **kwargs) if kwargs else f(x)
        if self.default is None:
            return x
        if isinstance(self.default, _NoMatch):
            return self.default(self, x, *args, **kwargs)
        return self.default(x, *args, **kwargs)

    def __get__(self, inst: Any, owner: type | None = None) -> Any:
        """Bind to an instance: it is passed as `self`, and dispatch uses the arguments after it.

        Read from a class, it binds to the class when its implementations take `cls` as first
        parameter (class-level dispatch, as fastcore); otherwise it is returned unbound.
        """
        if inst is None:
            if owner is None:
                return self
            if self._binds_class is None:
                self._binds_class = any(_first_param(f) == "cls" for _, f in self.signatures())
            return _BoundDispatch(self, owner, owner) if self._binds_class else self
        return _BoundDispatch(self, inst, owner)

    def __len__(self) -> int:
        return len(self._impls)

    def __reduce__(self) -> str | tuple[Any, ...]:
        # a dispatcher reachable as module.qualname (module function, class attribute) pickles by
        # reference, like a function; any other by value (caches and weak references dropped)
        if "<locals>" not in self.__qualname__ and _global_named(self.__module__, self.__qualname__) is self:
            return self.__qualname__
        names = (self.__name__, self.__qualname__, self.__module__, self.__doc__)
        return (_rebuild, (self._impls, self._returns, self.bases, self.default, names))

    def __repr__(self) -> str:
        lines = [f"{self.__qualname__}: TypeDispatch with {len(self._impls)} implementation(s)"]
        for (a, b), f in self._impls.items():
            lines.append(f"  ({_type_name(a)}, {_type_name(b)}) -> {getattr(f, '__name__', f)!s}")
        for base in self.bases:
            lines.append(f"  then inherited {base.__qualname__}: {len(base)} implementation(s)")
        return "\n".join(lines)


def _unwrap(f: Any) -> Any:
    """The function inside a `staticmethod` or `classmethod`; anything else as is."""
    return f.__func__ if isinstance(f, (staticmethod, classmethod)) else f


def _first_param(f: Callable[..., Any]) -> str | None:
    """The name of the first parameter of `f` (None when it has none or no signature); "cls" for a
    classmethod and None for a staticmethod."""
    if isinstance(f, (staticmethod, classmethod)):
        return "cls" if isinstance(f, classmethod) else None
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        return None
    return params[0] if params else None


class _BoundDispatch:
    """A `TypeDispatch` bound to an instance (what `obj.method` returns for a dispatched method)."""

    __slots__ = ("dispatch", "inst", "owner")

    def __init__(self, dispatch: TypeDispatch, inst: Any, owner: type | None = None) -> None:
        # `inst` is passed as first argument: the instance, or the class itself when bound to a class
        self.dispatch, self.inst, self.owner = dispatch, inst, owner

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        td = self.dispatch
        if not args:
            raise TypeError(f"{td.__qualname__}: dispatch needs at least one positional argument")
        f = td.resolve(type(args[0]), type(args[1]) if len(args) > 1 else object)[0]
        if f is not None:
            if isinstance(f, staticmethod):
                return f.__func__(*args, **kwargs)
            if isinstance(f, classmethod):
                owner = self.owner if self.owner is not None else type(self.inst)
                return f.__func__(owner, *args, **kwargs)
            return f(self.inst, *args, **kwargs)
        if td.default is None:
            return args[0]
        if isinstance(td.default, _NoMatch):
            return td.default(td, *args, **kwargs)
        return td.default(self.inst, *args, **kwargs)

    def returns(self, x: Any) -> type | None:
        """The return annotation of the implementation chosen for `x`."""
        return self.dispatch.returns(x)

    def __getitem__(self, k: type | Sequence[type]) -> Callable[..., Any] | None:
        return self.dispatch[k]

    def __getattr__(self, name: str) -> Any:  # __name__, register, implementations, ...
        if name in _BoundDispatch.__slots__:  # unset slot (e.g. while unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dispatch, name)

    def __repr__(self) -> str:
        return f"bound {self.dispatch!r}"


class _NoMatch:
    """Fallback of `typedispatch` functions: raise TypeError naming the function and the types.

    The dispatcher passes itself in, so this holds no reference and pickles trivially.
    """

    def __call__(self, td: TypeDispatch, *args: Any, **kwargs: Any) -> Any:
        name = td.__qualname__
        found = ", ".join(type(a).__name__ for a in args[:2])
        known = "; ".join(f"({_type_name(a)}, {_type_name(b)})" for a, b in td._impls)
        raise TypeError(
            f"{name}: no implementation for argument types ({found}); "
            f"registered: {known}. Add one with @{name.rsplit('.', 1)[-1]}.register"
        )

    def __repr__(self) -> str:
        return "raise TypeError"


def _rebuild(
    impls: dict[tuple[type, type], Callable[..., Any]],
    returns: dict[Callable[..., Any], type | None],
    bases: tuple[TypeDispatch, ...],
    default: Callable[..., Any] | None,
    names: tuple[str, str, str, str | None],
) -> TypeDispatch:
    """Unpickle a `TypeDispatch` that is not reachable as a global."""
    td = TypeDispatch(bases=bases, default=default)
    td._impls, td._returns = dict(impls), dict(returns)
    td.__name__, td.__qualname__, td.__module__, td.__doc__ = names
    return td


def _global_named(module: str, qualname: str) -> Any:
    """The object at `module.qualname` if the module is loaded, else None."""
    obj: Any = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj


# Dispatchers made by `typedispatch` in class or function bodies, by (module, qualname), so that
# the next definition of the same name in the same scope finds its dispatcher. Weak values: a
# dispatcher local to a function call goes away with it.
_SCOPED: weakref.WeakValueDictionary[tuple[str, str], TypeDispatch] = weakref.WeakValueDictionary()


def _existing_in_scope(f: Callable[..., Any]) -> TypeDispatch | None:
    """The dispatcher an earlier `@typedispatch def` of the same name in f's scope made, if any.

    Module level: the TypeDispatch bound to that name in f's globals (`f.__globals__`), which may
    have been imported: that is how a module extends, say, a library's `show_batch`. Class and
    function bodies: the one made for the same module and qualified name, unless it already holds
    this very definition (same code object) — then the scope is running again (a class defined
    anew, a function called again) and gets a new dispatcher. No frame is inspected.
    """
    f = _unwrap(f)
    qualname = f.__qualname__
    if "." not in qualname:
        found = getattr(f, "__globals__", {}).get(f.__name__)
        return found if isinstance(found, TypeDispatch) and found.__qualname__ == qualname else None
    scoped = _SCOPED.get((f.__module__, qualname))
    if scoped is None or getattr(f, "__code__", None) in scoped._scope_codes:
        return None
    return scoped


def typedispatch(f: Callable[..., Any]) -> TypeDispatch:
    """Decorator: make `f` a dispatched function, or add `f` to the one of the same name in scope.

    A second `@typedispatch def f(...)` in the same module, class body or function body adds an
    implementation (at module level: to the TypeDispatch bound to `f` there, even an imported
    one); `@f.register` adds from anywhere. Calling with argument types no implementation
    accepts raises TypeError. In a class body, implementations may be instance methods,
    `@classmethod`s or `@staticmethod`s (put `@typedispatch` above them); each is called as such.
    """
    func = _unwrap(f)
    td = _existing_in_scope(func)
    if td is None:
        td = TypeDispatch(default=_NoMatch())
        if "." in func.__qualname__:
            _SCOPED[func.__module__, func.__qualname__] = td
    td.add(f)
    td._scope_codes.add(getattr(func, "__code__", None))
    return td
