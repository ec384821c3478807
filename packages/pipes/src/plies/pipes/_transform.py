"""`Transform`: a callable with `encodes`/`decodes`/`setups` dispatched on the input's type.

Element rule: a plain tuple (or tuple subclass, not a namedtuple) is processed element by
element, recursively; a list, or anything else, is one item. `ItemTransform` sees the whole
tuple. Each result keeps the input's semantic type (`retain_type`) unless the implementation
has a return annotation, which the result is cast to.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, ClassVar

import torch
from plies.typecore import TypeDispatch, retain_type, to_plain

from ._state import check_plain_data, register_transform

__all__ = ["Transform", "InplaceTransform", "DisplayedTransform", "ItemTransform"]

_TFM_METHODS = ("encodes", "decodes", "setups")


def _is_tuple(x: Any) -> bool:
    """A tuple or tuple subclass that is not a namedtuple (`type(x) is tuple` first: it is cheap)."""
    return type(x) is tuple or (isinstance(x, tuple) and not hasattr(x, "_fields"))


class _TfmNamespace(dict):
    """Class-body namespace that keeps every `encodes`/`decodes`/`setups` defined, not just the last."""

    def __init__(self) -> None:
        super().__init__()
        self.collected: dict[str, list[Callable[..., Any]]] = {n: [] for n in _TFM_METHODS}

    def __setitem__(self, key: str, value: Any) -> None:
        if key in _TFM_METHODS and callable(value):
            fs = value.implementations() if isinstance(value, TypeDispatch) else [value]
            self.collected[key].extend(fs)
        super().__setitem__(key, value)


def _is_method_for(f: Any) -> bool:
    """True for a function named encodes/decodes/setups whose first parameter is `self`."""
    if getattr(f, "__name__", None) not in _TFM_METHODS or not inspect.isfunction(f):
        return False
    params = list(inspect.signature(f).parameters)
    return bool(params) and params[0] == "self"


class _TfmMeta(type):
    """Collects the class body's encodes/decodes/setups into `TypeDispatch` objects that extend
    the parents' ones, and records the constructor arguments (for the plain-data state)."""

    @classmethod
    def __prepare__(mcs, name: str, bases: tuple[type, ...], /, **kwargs: Any) -> MutableMapping[str, object]:
        return _TfmNamespace()

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        collected = namespace.collected if isinstance(namespace, _TfmNamespace) else {}
        ns = dict(namespace)
        for meth in _TFM_METHODS:
            parents = [p for p in (getattr(b, meth, None) for b in bases) if isinstance(p, TypeDispatch)]
            td = TypeDispatch(collected.get(meth, ()), bases=parents)
            td.__name__, td.__qualname__ = meth, f"{ns.get('__qualname__', name)}.{meth}"
            td.__module__ = ns.get("__module__", td.__module__)
            ns[meth] = td
        return super().__new__(mcs, name, bases, ns, **kwargs)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        # `@MyTfm` on `def encodes(self, x: T)` adds an implementation to MyTfm (as in fastai)
        if len(args) == 1 and not kwargs and _is_method_for(args[0]):
            getattr(cls, args[0].__name__).add(args[0])
            return args[0]
        obj = super().__call__(*args, **kwargs)
        obj.__dict__["_init_args"], obj.__dict__["_init_kwargs"] = args, kwargs
        return obj


class Transform(metaclass=_TfmMeta):
    """A reversible, type-dispatched function: `encodes` on call, `decodes` on `decode`, `setups` on `setup`.

    Define `encodes`/`decodes`/`setups` (several times, one per annotated type) in a subclass
    body, or pass functions: `Transform(enc=f, dec=g)`, or lists of typed functions that build
    one dispatcher (`Transform(enc=[f_int, f_str])`); `@Transform` turns a function into one.
    `split_idx`: when set, the transform only runs when called with that `split_idx`
    (0 = training, 1 = validation) and returns its input unchanged otherwise. `order` sorts
    transforms in a `Pipeline`. Inputs no implementation matches are returned unchanged.
    """

    split_idx: int | None = None
    order: int = 0
    train_setup: bool | None = None
    _item_level: ClassVar[bool] = False
    _state_attrs: ClassVar[tuple[str, ...]] = ()
    encodes: TypeDispatch
    decodes: TypeDispatch
    setups: TypeDispatch

    def __init__(
        self,
        enc: Callable[..., Any] | Sequence[Callable[..., Any]] | None = None,
        dec: Callable[..., Any] | Sequence[Callable[..., Any]] | None = None,
        split_idx: int | None = None,
        order: int | None = None,
    ) -> None:
        if split_idx is not None:
            self.split_idx = split_idx
        if enc is not None:
            fs = _functions(enc, "enc")
            self.encodes = TypeDispatch(fs)
            self._name = getattr(fs[0], "__name__", type(fs[0]).__name__)
            self.order = getattr(fs[0], "order", self.order)
        if dec is not None:
            self.decodes = TypeDispatch(_functions(dec, "dec"))
        if order is not None:
            self.order = order

    @property
    def name(self) -> str:
        """The transform's name: the encoding function's name, else the class name."""
        return self.__dict__.get("_name", type(self).__name__)

    def __call__(self, x: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Apply `encodes` (to each element of a tuple); skipped when `split_idx` does not match."""
        if self.split_idx is not None and split_idx != self.split_idx:
            return x
        # `_apply` inlined for one item: this is the per-item hot path of data loading
        own = self.__dict__.get("encodes")
        td = own if own is not None else type(self).__dict__["encodes"]
        if isinstance(x, tuple) and not self._item_level:
            return self._map(td, own is not None, x, kwargs)
        f, ret = td.resolve(type(x))
        if f is None:
            return x
        res = f(x, **kwargs) if own is not None else f(self, x, **kwargs)
        if ret is None:
            return res if type(res) is type(x) else retain_type(res, x)
        return retain_type(res, x, ret)

    def decode(self, x: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Apply `decodes`, the inverse of `encodes`; skipped when `split_idx` does not match."""
        if self.split_idx is not None and split_idx != self.split_idx:
            return x
        return self._apply("decodes", x, kwargs)

    def setup(self, items: Any = None, train_setup: bool = False) -> None:
        """Build state from `items` with `setups` (its training subset `items.train` when
        `train_setup`, or when the class sets `train_setup = True`)."""
        use_train = train_setup if self.train_setup is None else self.train_setup
        self._apply("setups", getattr(items, "train", items) if use_train else items, {}, whole=True)

    def _apply(self, meth: str, x: Any, kwargs: dict[str, Any], whole: bool = False) -> Any:
        """Apply the `meth` dispatcher to `x` (element-wise over tuples unless `whole`)."""
        # functions given to the constructor live on the instance and take no `self`; otherwise the
        # metaclass has put a TypeDispatch for `meth` in every Transform class's own __dict__
        own = self.__dict__.get(meth)
        td = own if own is not None else type(self).__dict__[meth]
        return self._map(td, own is not None, x, kwargs, whole)

    def _map(
        self, td: TypeDispatch, unbound: bool, x: Any, kwargs: dict[str, Any], whole: bool = False
    ) -> Any:
        """`td` applied to `x`, element-wise over a tuple (not when `whole`), keeping types."""
        if not whole and isinstance(x, tuple) and not self._item_level and _is_tuple(x):
            res = tuple([self._map(td, unbound, o, kwargs) for o in x])
            return res if type(x) is tuple else retain_type(res, x)
        f, ret = td.resolve(type(x))
        if f is None:
            return x
        res = f(x, **kwargs) if unbound else f(self, x, **kwargs)
        if ret is None:
            return res if type(res) is type(x) else retain_type(res, x)
        return retain_type(res, x, ret)

    # -- plain-data state ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The transform's state as plain data: `split_idx`, `order` and the class's `_state_attrs`.

        Tensor subclasses are stored as plain tensors, NumPy values as numbers or tensors, enum
        members as markers (restored by the Pipeline that loads the state), bytes as they are.
        Override (with `load_state_dict`) for state that is not plain data.
        """
        d: dict[str, Any] = {"split_idx": self.split_idx, "order": self.order}
        for attr in self._state_attrs:
            d[attr] = _plain_tensors(getattr(self, attr))
        return check_plain_data(d, f"{self.name}.state_dict()")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (unknown keys raise KeyError)."""
        allowed = ("split_idx", "order", *self._state_attrs)
        unknown = [k for k in state if k not in allowed]
        if unknown:
            raise KeyError(
                f"{self.name}.load_state_dict: unexpected keys {unknown}; expected some of {list(allowed)}"
            )
        for k, v in state.items():
            setattr(self, k, v)

    def __repr__(self) -> str:
        return f"{self.name}:\nencodes: {_types_of(self, 'encodes')}\ndecodes: {_types_of(self, 'decodes')}"


def _functions(fs: Any, arg: str) -> list[Callable[..., Any]]:
    """`fs` (one callable, or a list/tuple of them) as a non-empty list; TypeError naming `arg` otherwise."""
    found = list(fs) if isinstance(fs, (list, tuple)) else [fs]
    if not found:
        raise TypeError(f"Transform: {arg} is an empty {type(fs).__name__}; give at least one function")
    for i, f in enumerate(found):
        if not callable(f):
            where = f"{arg}[{i}]" if isinstance(fs, (list, tuple)) else arg
            raise TypeError(
                f"Transform: {where} must be callable, found {type(f).__name__} {f!r} "
                f"({arg} takes a function or a list of functions)"
            )
    return found


def _init_arguments(t: Transform) -> dict[str, Any]:
    """The constructor arguments of `t` by name (a subclass's defaults included, as `store_attr` keeps
    them; for `Transform`'s own constructor only the arguments given)."""
    args, kwargs = t.__dict__.get("_init_args", ()), t.__dict__.get("_init_kwargs", {})
    init = type(t).__init__
    try:
        sig = inspect.signature(init)
        bound = sig.bind(t, *args, **kwargs)
    except (TypeError, ValueError):  # a signature that cannot be read or bound: show the raw arguments
        return {**({"args": list(args)} if args else {}), **kwargs}
    if init is not Transform.__init__:
        bound.apply_defaults()
    res: dict[str, Any] = {}
    for name, value in list(bound.arguments.items())[1:]:
        kind = sig.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            res.update(value)
        elif kind is not inspect.Parameter.VAR_POSITIONAL or value:
            res[name] = list(value) if kind is inspect.Parameter.VAR_POSITIONAL else value
    return res


def _plain_tensors(x: Any) -> Any:
    """`x` with tensor subclasses turned into plain tensors and NumPy values and enum members into
    plain data (typecore's `to_plain`), through dicts, lists and tuples."""
    if isinstance(x, torch.Tensor) and type(x) is not torch.Tensor:
        return x.as_subclass(torch.Tensor)
    if type(x) in (list, tuple):
        return type(x)(_plain_tensors(o) for o in x)
    if type(x) is dict:
        return {k: _plain_tensors(v) for k, v in x.items()}
    return to_plain(x)


def _types_of(t: Transform, meth: str) -> str:
    """`int, (str, float)` for the types an encodes/decodes accepts; `(none)` when empty."""
    td = t.__dict__.get(meth) or getattr(type(t), meth)
    names = []
    for (a, b), _ in td.signatures():
        names.append(a.__name__ if b is object else f"({a.__name__}, {b.__name__})")
    return ", ".join(names) if names else "(none)"


class InplaceTransform(Transform):
    """A `Transform` whose `encodes`/`decodes` modify their input in place: the input is returned."""

    def __call__(self, x: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Apply `encodes` in place and return `x`."""
        super().__call__(x, split_idx, **kwargs)
        return x

    def decode(self, x: Any, split_idx: int | None = None, **kwargs: Any) -> Any:
        """Apply `decodes` in place and return `x`."""
        super().decode(x, split_idx, **kwargs)
        return x


class DisplayedTransform(Transform):
    """A `Transform` whose name and repr show its arguments (those stored with `store_attr`, else
    the constructor's arguments, positional ones and defaults included) and the types it encodes
    and decodes."""

    @property
    def name(self) -> str:
        """The class (or function) name followed by the transform's arguments."""
        args = self.__dict__.get("__stored_args__") or _init_arguments(self)
        return f"{super().name} -- {args}"

    def __repr__(self) -> str:
        return f"{self.name}\n(encodes: {_types_of(self, 'encodes')} | decodes: {_types_of(self, 'decodes')})"


class ItemTransform(Transform):
    """A `Transform` applied to the whole item: a tuple is passed as one object, not element-wise."""

    _item_level = True


for _cls in (Transform, InplaceTransform, DisplayedTransform, ItemTransform):
    register_transform(_cls, name=f"plies.pipes.{_cls.__name__}")
