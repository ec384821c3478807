"""`L`: a list with NumPy-like indexing and chainable functional methods."""

from __future__ import annotations

import functools
import itertools
import operator
import random
from collections.abc import Callable, Generator, Iterable, Iterator, MutableSequence
from typing import Any, SupportsIndex, overload

from ._basics import is_iter, listify, mask2idxs, noop, uniqueify

__all__ = ["L", "is_listy"]

_REPR_MAX = 10


def _is_index(i: Any) -> bool:
    """True for a single integer index: int, numpy integer, or a 0-d integer array/tensor."""
    if isinstance(i, bool):
        return False
    if isinstance(i, int):
        return True
    return hasattr(i, "__index__") and getattr(i, "ndim", 0) == 0


def _mapper(f: Any) -> Callable[[Any], Any]:
    """A callable from `f`: a callable as is, a str as a format string, a dict/list/L as a lookup."""
    if callable(f):
        return f
    if isinstance(f, str):
        return f.format
    if hasattr(f, "__getitem__"):
        return f.__getitem__
    raise TypeError(f"L.map: expected a callable, a format string or a mapping, found {type(f).__name__}")


def _sort_key(key: Any) -> Callable[[Any], Any] | None:
    """The key function for `L.sorted`: a callable, an attribute name (str) or an index (int)."""
    if key is None or callable(key):
        return key
    if isinstance(key, str):
        return functools.partial(_attr_or_key, key)
    if isinstance(key, int):
        return operator.itemgetter(key)
    raise TypeError(f"L.sorted: key must be a callable, a str or an int, found {type(key).__name__}")


def _attr_or_key(k: str, o: Any) -> Any:
    """Key `k` of a dict, attribute `k` of anything else (as `L.attrgot`), for `L.sorted`."""
    return o[k] if isinstance(o, dict) else getattr(o, k)


def _equal(a: Any, b: Any) -> bool:
    """Element equality that also works for tensors and arrays (same shape and values)."""
    if hasattr(a, "shape") and hasattr(b, "shape") and not isinstance(a, (int, float)):
        if tuple(a.shape) != tuple(b.shape):
            return False
        res = a == b
        return bool(res.all()) if hasattr(res, "all") else bool(res)
    if is_iter(a) and is_iter(b) and not isinstance(a, (str, bytes)) and not isinstance(b, (str, bytes)):
        la, lb = list(a), list(b)
        return len(la) == len(lb) and all(_equal(x, y) for x, y in zip(la, lb, strict=False))
    return bool(a == b)


class L(MutableSequence):
    """A list with NumPy-like indexing (ints, int lists, bool masks) and chainable methods.

    `L(items)` follows `listify` (a list is kept, not copied); `L(1, 2, 3)` makes `[1, 2, 3]`.
    Methods returning collections return a new `L`.
    """

    __hash__ = None  # type: ignore[assignment]  # mutable, like list

    def __init__(self, items: Any = None, *rest: Any, use_list: bool = False, match: Any = None) -> None:
        self.items: list = listify(items, *rest, use_list=use_list, match=match)

    def _new(self, items: Iterable[Any], **kwargs: Any) -> L:
        """A new collection of the same type holding `items`."""
        return type(self)(items, use_list=True, **kwargs)

    # -- the list protocol ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __contains__(self, o: object) -> bool:
        return o in self.items

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self.items)

    @overload
    def __getitem__(self, idx: SupportsIndex) -> Any: ...
    @overload
    def __getitem__(self, idx: Any) -> Any: ...
    def __getitem__(self, idx: Any) -> Any:
        """An item for an int; a new `L` for a slice, a list of ints or a boolean mask."""
        if _is_index(idx):
            return self.items[operator.index(idx)]
        if isinstance(idx, slice):
            return self._new(self.items[idx])
        idxs = self._idxs(idx)
        return self._new(self.items[i] for i in idxs)

    def _idxs(self, idx: Any) -> list[int]:
        """The positions an int list or a boolean mask selects (a mask must have len(self) entries)."""
        if not is_iter(idx):
            raise TypeError(
                f"L indices must be ints, slices, int lists or boolean masks, found {type(idx).__name__}"
            )
        idx = list(idx)
        idxs = mask2idxs(idx)
        if idx and isinstance(_first_scalar(idx), bool) and len(idx) != len(self.items):
            raise IndexError(f"L: boolean mask has {len(idx)} entries, but the L has {len(self.items)} items")
        return idxs

    def __setitem__(self, idx: Any, o: Any) -> None:
        """Set an item (int), a slice, or the items an int list / boolean mask selects (one value is
        broadcast to all of them)."""
        if _is_index(idx):
            self.items[operator.index(idx)] = o
            return
        if isinstance(idx, slice):
            self.items[idx] = list(o)
            return
        idxs = self._idxs(idx)
        values = list(o) if is_iter(o) and not isinstance(o, (str, bytes)) else [o] * len(idxs)
        if len(values) != len(idxs):
            raise ValueError(f"L: {len(idxs)} positions selected but {len(values)} values given")
        for i, v in zip(idxs, values, strict=False):
            self.items[i] = v

    def __delitem__(self, idx: Any) -> None:
        if _is_index(idx) or isinstance(idx, slice):
            del self.items[idx]
            return
        for i in sorted(self._idxs(idx), reverse=True):
            del self.items[i]

    def insert(self, index: int, value: Any) -> None:
        """Insert `value` before position `index`."""
        self.items.insert(index, value)

    def copy(self) -> L:
        """A shallow copy."""
        return self._new(list(self.items))

    def __eq__(self, other: object) -> bool:
        if other is None or isinstance(other, (str, bytes, dict)) or callable(other):
            return False
        if not is_iter(other):
            return False
        others = list(other)  # type: ignore[call-overload]
        return len(others) == len(self.items) and all(
            _equal(a, b) for a, b in zip(self.items, others, strict=False)
        )

    def __add__(self, other: Any) -> L:
        return self._new(self.items + listify(other))

    def __radd__(self, other: Any) -> L:
        return self._new(listify(other) + self.items)

    def __iadd__(self, other: Any) -> L:
        self.items.extend(listify(other))
        return self

    def __mul__(self, n: int) -> L:
        return self._new(self.items * n)

    def __repr__(self) -> str:
        shown = ",".join(repr(o) for o in itertools.islice(self.items, _REPR_MAX))
        more = "..." if len(self.items) > _REPR_MAX else ""
        return f"(#{len(self.items)}) [{shown}{more}]"

    # -- constructors -----------------------------------------------------------------------------------
    @classmethod
    def range(cls, a: Any, b: int | None = None, step: int | None = None) -> L:
        """`L(range(a, b, step))`; with one argument that is a collection, the range of its length."""
        if b is None:
            return cls(range(a if isinstance(a, int) else len(a)))
        return cls(range(a, b, 1 if step is None else step))

    @classmethod
    def split(cls, s: str, sep: str | None = None, maxsplit: int = -1) -> L:
        """`L(s.split(sep, maxsplit))`."""
        return cls(s.split(sep, maxsplit))

    # -- functional methods -----------------------------------------------------------------------------
    def map(self, f: Any, *args: Any, **kwargs: Any) -> L:
        """Apply `f(item, *args, **kwargs)` to each item (`f` may be a format string or a mapping)."""
        g = _mapper(f)
        if args or kwargs:
            return self._new(g(o, *args, **kwargs) for o in self.items)
        return self._new(g(o) for o in self.items)

    def map_first(self, f: Any = noop, g: Callable[[Any], Any] = noop, *args: Any, **kwargs: Any) -> Any:
        """The first `f(item, *args, **kwargs)` for which `g` is true (truthy by default), else None."""
        mapper = _mapper(f)
        return next((r for r in (mapper(o, *args, **kwargs) for o in self.items) if g(r)), None)

    def starmap(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> L:
        """Apply `f(*item, *args, **kwargs)` to each item."""
        return self._new(f(*o, *args, **kwargs) for o in self.items)

    def map_dict(self, f: Callable[[Any], Any] = noop) -> dict:
        """A dict `{item: f(item)}`."""
        return {k: f(k) for k in self.items}

    def filter(self, f: Callable[[Any], Any] = noop, negate: bool = False) -> L:
        """The items for which `f(item)` is true (false if `negate`)."""
        return self._new(o for o in self.items if bool(f(o)) != negate)

    def argwhere(self, f: Callable[[Any], Any], negate: bool = False) -> L:
        """The indices of the items for which `f(item)` is true (false if `negate`)."""
        return self._new(i for i, o in enumerate(self.items) if bool(f(o)) != negate)

    def argfirst(self, f: Callable[[Any], Any], negate: bool = False) -> int | None:
        """The index of the first item for which `f(item)` is true (false if `negate`), or None."""
        return next((i for i, o in enumerate(self.items) if bool(f(o)) != negate), None)

    def itemgot(self, *idxs: Any) -> L:
        """`item[idx]` for each item; several indices are applied one after the other."""
        res = self
        for idx in idxs:
            res = res._new(o[idx] for o in res.items)
        return res

    def attrgot(self, k: str, default: Any = None) -> L:
        """Attribute `k` (or key `k` for dicts) of each item, `default` when missing."""
        return self._new(
            o.get(k, default) if isinstance(o, dict) else getattr(o, k, default) for o in self.items
        )

    def sorted(self, key: Any = None, reverse: bool = False) -> L:
        """A sorted copy; `key` is a callable, an attribute name (str; a key for dicts) or an index (int)."""
        return self._new(sorted(self.items, key=_sort_key(key), reverse=reverse))

    def unique(self, sort: bool = False, bidir: bool = False, start: Any = None) -> Any:
        """The unique items in order of first appearance (see `uniqueify`)."""
        res = uniqueify(self.items, sort=sort, bidir=bidir, start=start)
        if bidir:
            return self._new(res[0]), res[1]
        return self._new(res)

    def val2idx(self) -> dict:
        """A dict mapping each item to its index."""
        return {v: k for k, v in enumerate(self.items)}

    def enumerate(self) -> L:
        """`L` of `(index, item)` pairs."""
        return self._new(enumerate(self.items))

    def renumerate(self) -> L:
        """`L` of `(item, index)` pairs."""
        return self._new((o, i) for i, o in enumerate(self.items))

    def zip(self, cycled: bool = False) -> L:
        """Transpose: `L(zip(*self))` (with `cycled`, shorter items are cycled to the longest)."""
        if not cycled:
            return self._new(zip(*self.items, strict=False))
        n = max((len(o) for o in self.items), default=0)
        return self._new(zip(*(itertools.islice(itertools.cycle(o), n) for o in self.items), strict=False))

    def zipwith(self, *rest: Any, cycled: bool = False) -> L:
        """`L(zip(self, *rest))`."""
        return self._new([self.items, *[listify(o) for o in rest]]).zip(cycled=cycled)

    def map_zip(self, f: Callable[..., Any], *args: Any, cycled: bool = False, **kwargs: Any) -> L:
        """`self.zip(cycled).starmap(f, *args, **kwargs)`: apply `f` to the transposed items."""
        return self.zip(cycled=cycled).starmap(f, *args, **kwargs)

    def map_zipwith(self, f: Callable[..., Any], *rest: Any, cycled: bool = False, **kwargs: Any) -> L:
        """`self.zipwith(*rest, cycled).starmap(f, **kwargs)`: apply `f` to items paired with `rest`."""
        return self.zipwith(*rest, cycled=cycled).starmap(f, **kwargs)

    def concat(self) -> L:
        """Concatenate the items (each listified) into one flat `L`."""
        return self._new(itertools.chain.from_iterable(listify(o) for o in self.items))

    def cycle(self) -> Iterator[Any]:
        """An endless iterator over the items."""
        return itertools.cycle(self.items)

    def shuffle(self) -> L:
        """A shuffled copy (uses Python's `random`, so `set_seed` makes it reproducible)."""
        res = list(self.items)
        random.shuffle(res)
        return self._new(res)

    def reduce(self, f: Callable[[Any, Any], Any], initial: Any = None) -> Any:
        """`functools.reduce(f, self, initial)`."""
        if initial is None:
            return functools.reduce(f, self.items)
        return functools.reduce(f, self.items, initial)

    def sum(self) -> Any:
        """The sum of the items (0 when empty)."""
        return self.reduce(operator.add, 0)

    def product(self) -> Any:
        """The product of the items (1 when empty)."""
        return self.reduce(operator.mul, 1)

    def setattrs(self, attr: str, val: Any) -> None:
        """Set attribute `attr` to `val` on every item."""
        for o in self.items:
            setattr(o, attr, val)


def _first_scalar(idx: list) -> Any:
    """The first index entry as a Python scalar (`.item()` for numpy/tensor scalars)."""
    it = idx[0]
    return it.item() if hasattr(it, "item") else it


def is_listy(x: Any) -> bool:
    """Whether `x` is a list, tuple, slice, generator or `L` (not a string, dict or array)."""
    return isinstance(x, (tuple, list, L, slice, Generator))
