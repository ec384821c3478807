"""`store_attr` and `GetAttr`."""

from __future__ import annotations

import copy
import pickle

import pytest
from plies.typecore import GetAttr, store_attr


class Point:
    def __init__(self, x: int, y: int = 2, *args: int, label: str = "p", **kwargs: int) -> None:
        store_attr()


def test_store_attr_stores_all_named_arguments() -> None:
    p = Point(1, label="q")
    assert (p.x, p.y, p.label) == (1, 2, "q")
    assert not hasattr(p, "args") and not hasattr(p, "kwargs")
    assert p.__stored_args__ == {"x": 1, "y": 2, "label": "q"}


def test_store_attr_names_but_and_extra_attrs() -> None:
    class C:
        def __init__(self, a: int, b: int, c: int) -> None:
            total = a + b + c  # noqa: F841 - read by store_attr
            store_attr("a, c")
            store_attr(names=["total"], extra="e")
            store_attr(but="a,b")

    o = C(1, 2, 3)
    assert (o.a, o.c, o.total, o.extra) == (1, 3, 6, "e")
    assert not hasattr(o, "b")


def test_store_attr_unknown_name() -> None:
    class C:
        def __init__(self, a: int) -> None:
            store_attr("a,zz")

    with pytest.raises(KeyError, match="no argument or local variable named 'zz'"):
        C(1)


def test_store_attr_with_slots_skips_stored_args() -> None:
    class S:
        __slots__ = ("a",)

        def __init__(self, a: int) -> None:
            store_attr()

    s = S(4)
    assert s.a == 4 and not hasattr(s, "__stored_args__")


class Inner:
    size = 3

    def area(self) -> int:
        return self.size**2


class Wrapper(GetAttr):
    _default = "inner"

    def __init__(self) -> None:
        self.inner = Inner()
        self.own = "mine"


class Limited(GetAttr):
    _xtra = ["size"]

    def __init__(self) -> None:
        self.default = Inner()


def test_getattr_reads_through_to_default() -> None:
    w = Wrapper()
    assert w.size == 3 and w.area() == 9 and w.own == "mine"
    assert "area" in dir(w) and "own" in dir(w)


def test_getattr_xtra_limits_delegated_names() -> None:
    o = Limited()
    assert o.size == 3 and "size" in dir(o) and "area" not in dir(o)
    with pytest.raises(AttributeError, match="'Limited' object has no attribute 'area'"):
        o.area  # noqa: B018


def test_getattr_missing_attribute_message() -> None:
    with pytest.raises(
        AttributeError,
        match="'Wrapper' object has no attribute 'nope' \\(nor does its default 'inner': Inner\\)",
    ):
        Wrapper().nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute '__len__'"):
        Wrapper().__len__  # noqa: B018


def test_getattr_without_default_set() -> None:
    class Empty(GetAttr):
        pass

    with pytest.raises(AttributeError, match="nor does its default 'default': NoneType"):
        Empty().x  # noqa: B018


def test_getattr_pickle_and_copy_do_not_recurse() -> None:
    w = Wrapper()
    back = pickle.loads(pickle.dumps(w))
    assert back.area() == 9 and back.own == "mine"
    assert copy.deepcopy(w).size == 3 and copy.copy(w).inner is w.inner
