"""Small helpers the upper layers call: list/tuple coercion, defaults, curried comparison operators."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Generator, Hashable, Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = [
    "listify",
    "tuplify",
    "is_iter",
    "ifnone",
    "noop",
    "noops",
    "first",
    "mask2idxs",
    "uniqueify",
    "setify",
    "merge",
    "range_of",
    "camel2snake",
    "gt",
    "ge",
    "lt",
    "le",
    "eq",
    "ne",
    "add",
    "sub",
    "mul",
    "truediv",
    "is_",
    "is_not",
]


def _is_array(o: Any) -> bool:
    """True for array-likes that `listify` keeps whole (numpy arrays, tensors, pandas objects)."""
    return hasattr(o, "__array__") or hasattr(o, "iloc")


def is_iter(o: Any) -> bool:
    """Whether `o` can be used in a `for` loop (0-d arrays and tensors cannot)."""
    return isinstance(o, (Iterable, Generator)) and bool(getattr(o, "ndim", 1))


def listify(o: Any = None, *rest: Any, use_list: bool = False, match: Any = None) -> list:
    """Make `o` a list: None -> [], a list stays itself, strings/arrays/tensors/scalars are wrapped,
    other iterables are expanded. Several arguments make a list of them. With `match`, a one-item
    result is repeated to the length of `match`."""
    if rest:
        o = (o, *rest)
    if use_list:
        res = list(o)
    elif o is None:
        res = []
    elif isinstance(o, list):
        res = o
    elif isinstance(o, (str, bytes)) or _is_array(o):
        res = [o]
    elif is_iter(o):
        res = list(o)
    else:
        res = [o]
    if match is not None:
        n = match if isinstance(match, int) else len(match)
        if len(res) == 1:
            res = res * n
        elif len(res) != n:
            raise ValueError(f"listify: expected 1 or {n} items to match, found {len(res)}: {res!r}")
    return res


def tuplify(o: Any, use_list: bool = False, match: Any = None) -> tuple:
    """Make `o` a tuple, following the rules of `listify`."""
    return tuple(listify(o, use_list=use_list, match=match))


def ifnone(a: Any, b: Any) -> Any:
    """`b` if `a` is None, else `a`."""
    return b if a is None else a


def noop(x: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Do nothing: return the first argument (None when called without one)."""
    return x


def noops(self: Any, x: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Do nothing, as a method: return the first argument after `self`."""
    return x


def first(x: Iterable[T], f: Callable[[T], Any] | None = None, negate: bool = False) -> T | None:
    """The first element of `x` (for which `f` is true, when given), or None when there is none."""
    for o in x:
        if f is None or bool(f(o)) != negate:
            return o
    return None


def mask2idxs(mask: Any) -> Any:
    """Turn a boolean mask into the list of its True indices; a list of ints or a slice is returned as is."""
    if isinstance(mask, slice):
        return mask
    items = list(mask)
    if not items:
        return []
    it = items[0]
    if hasattr(it, "item"):
        it = it.item()
    if isinstance(it, bool):
        return [i for i, m in enumerate(items) if m]
    return [int(i) for i in items]


def uniqueify(x: Iterable[Any], sort: bool = False, bidir: bool = False, start: Any = None) -> Any:
    """The unique elements of `x`, in order of first appearance (sorted if `sort`), after `start`.
    With `bidir`, also return the dict value -> index."""
    res = list(dict.fromkeys(x))
    if start is not None:
        res = listify(start) + [o for o in res if o not in set(listify(start))]
    if sort:
        res.sort()
    if bidir:
        return res, {v: k for k, v in enumerate(res)}
    return res


def setify(o: Any) -> set:
    """Make `o` a set (None -> empty set), following the rules of `listify`."""
    return o if isinstance(o, set) else set(listify(o))


def merge(*ds: Mapping[Hashable, Any] | None) -> dict:
    """Merge dicts left to right (later ones win); None entries are skipped."""
    res: dict = {}
    for d in ds:
        if d is not None:
            res.update(d)
    return res


def range_of(a: Any, b: int | None = None, step: int | None = None) -> list[int]:
    """`list(range(len(a)))` for a collection `a`, else `list(range(a, b, step))`."""
    if not isinstance(a, int):
        a = len(a)
    if b is None:
        return list(range(a))
    return list(range(a, b, 1 if step is None else step))


_CAMEL1 = re.compile("(.)([A-Z][a-z]+)")
_CAMEL2 = re.compile("([a-z0-9])([A-Z])")


def camel2snake(name: str) -> str:
    """Convert a CamelCase name to snake_case (`'TfmdDL'` -> `'tfmd_dl'`)."""
    return _CAMEL2.sub(r"\1_\2", _CAMEL1.sub(r"\1_\2", name)).lower()


class _Missing:
    """Sentinel type: the second operand of a curried operator was not given."""

    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _curried(op: Callable[[Any, Any], Any], name: str) -> Callable[..., Any]:
    """Make `name(a, b) == op(a, b)` and `name(b)(a) == op(a, b)` (for use with `filter`/`map`)."""

    def _oper(a: Any, b: Any = _MISSING) -> Any:
        if b is _MISSING:
            return lambda o: op(o, a)
        return op(a, b)

    _oper.__name__ = _oper.__qualname__ = name
    _oper.__doc__ = (
        f"`{name}(a, b)` is `operator.{op.__name__}(a, b)`; `{name}(b)` returns `lambda a: {name}(a, b)`."
    )
    return _oper


gt = _curried(operator.gt, "gt")
ge = _curried(operator.ge, "ge")
lt = _curried(operator.lt, "lt")
le = _curried(operator.le, "le")
eq = _curried(operator.eq, "eq")
ne = _curried(operator.ne, "ne")
add = _curried(operator.add, "add")
sub = _curried(operator.sub, "sub")
mul = _curried(operator.mul, "mul")
truediv = _curried(operator.truediv, "truediv")
is_ = _curried(operator.is_, "is_")
is_not = _curried(operator.is_not, "is_not")
