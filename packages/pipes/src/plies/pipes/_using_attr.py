"""`using_attr(f, attr)`: a function applied to one attribute of its input.

fastai's labelling idiom, e.g. `using_attr(RegexLabeller(r'^(.*)_\\d+.jpg$'), 'name')` labels a
path by its file name. The result is a registered `ItemTransform` whose constructor arguments are
the function (a registered function or a transform) and the attribute name, so a pipeline holding
it is saved as plain data like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._state import register_transform
from ._transform import ItemTransform

__all__ = ["using_attr"]


class _UsingAttr(ItemTransform):
    """`f(o.<attr>)` on the whole item `o` (see `using_attr`)."""

    def __init__(self, f: Callable[[Any], Any], attr: str) -> None:
        super().__init__()
        if not callable(f):
            raise TypeError(f"using_attr: f must be callable, found {type(f).__name__} {f!r}")
        if not isinstance(attr, str) or not attr:
            raise TypeError(f"using_attr: attr must be an attribute name (a non-empty str), found {attr!r}")
        self.f, self.attr = f, attr

    def encodes(self, o: Any):
        try:
            value = getattr(o, self.attr)
        except AttributeError:
            raise AttributeError(
                f"using_attr: the item {o!r} ({type(o).__name__}) has no attribute {self.attr!r}"
            ) from None
        return self.f(value)

    @property
    def name(self) -> str:
        """`using_attr(<function name or transform repr>, '<attr>')`."""
        f_name = getattr(self.f, "__name__", None) or repr(self.f).splitlines()[0].rstrip(":")
        return f"using_attr({f_name}, {self.attr!r})"

    def __repr__(self) -> str:
        return self.name


register_transform(_UsingAttr, name="plies.pipes.using_attr")


def using_attr(f: Callable[[Any], Any], attr: str) -> ItemTransform:
    """A transform computing `f(o.<attr>)` for an item `o` (e.g. a labeller applied to `path.name`).

    `f` is any callable; to save a pipeline holding it as plain data, `f` must be a transform or a
    function registered with `register_transform`. The item is taken whole (a tuple is not split).
    """
    return _UsingAttr(f, attr)
