"""`L`: construction, NumPy-like indexing, functional methods, repr; hypothesis checks against list."""

from __future__ import annotations

import copy
import operator
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from plies.typecore import L, gt, set_seed


def test_paper_example() -> None:
    d = dict(a=1, b=-5, d=6, e=9).items()
    assert L(d).itemgot(1).map(abs).filter(gt(4)).sum() == 20


def test_construction_follows_listify() -> None:
    assert L() == [] and L(None) == []
    assert L(1) == [1] and L("abc") == ["abc"] and L(1, 2, 3) == [1, 2, 3]
    assert L(range(3)) == [0, 1, 2] and L((x for x in "ab")) == ["a", "b"]
    items = [1, 2]
    assert L(items).items is items  # a list is kept, not copied
    t = torch.arange(3)
    assert len(L(t)) == 1 and L(t)[0] is t  # arrays/tensors are one item
    assert L([1], match=[0, 0, 0]) == [1, 1, 1]


def test_int_slice_list_and_mask_indexing() -> None:
    t = L("a", "b", "c", "d")
    assert t[0] == "a" and t[-1] == "d" and t[np.int64(1)] == "b" and t[torch.tensor(2)] == "c"
    assert isinstance(t[1:3], L) and t[1:3] == ["b", "c"]
    assert t[[0, 3]] == ["a", "d"] and t[np.array([3, 0])] == ["d", "a"]
    assert t[[True, False, True, False]] == ["a", "c"]
    assert t[np.array([False, True, False, True])] == ["b", "d"]
    assert t[torch.tensor([True, True, False, False])] == ["a", "b"]


def test_indexing_errors() -> None:
    with pytest.raises(IndexError, match="boolean mask has 2 entries, but the L has 4 items"):
        L(1, 2, 3, 4)[[True, False]]
    with pytest.raises(TypeError, match="L indices must be ints.*found float"):
        L(1, 2)[1.5]
    with pytest.raises(IndexError):
        L(1, 2)[5]


def test_setitem_by_int_list_mask_with_broadcast() -> None:
    t = L.range(5)
    t[0] = 10
    t[[1, 2]] = [20, 30]
    t[[False, False, False, True, True]] = 0
    assert t == [10, 20, 30, 0, 0]
    t[1:3] = [7, 8]
    assert t == [10, 7, 8, 0, 0]
    with pytest.raises(ValueError, match="2 positions selected but 3 values given"):
        t[[0, 1]] = [1, 2, 3]


def test_list_methods() -> None:
    t = L(1, 2)
    t.append(3)
    t.extend([4, 5])
    t.insert(0, 0)
    assert t.pop() == 5 and t == [0, 1, 2, 3, 4]
    t.remove(0)
    assert t.index(3) == 2 and t.count(1) == 1 and 2 in t and 9 not in t
    del t[[0, 1]]
    assert t == [3, 4]
    assert list(reversed(L(1, 2))) == [2, 1]
    c = t.copy()
    c.append(9)
    assert t == [3, 4]


def test_equality_add_mul() -> None:
    assert L(1, 2) == [1, 2] and L(1, 2) == (1, 2) and L(1, 2) == L(1, 2)
    assert L(1, 2) != [2, 1] and L(1, 2) != "12" and L(1, 2) != None  # noqa: E711
    assert L(torch.ones(2)) == [torch.ones(2)] and L(torch.ones(2)) != [torch.zeros(2)]
    assert L(1) + [2] == [1, 2] and [0] + L(1) == [0, 1] and isinstance([0] + L(1), L)
    assert L(1, 2) * 2 == [1, 2, 1, 2]
    t = L(1)
    t += [2, 3]
    assert t == [1, 2, 3]


def test_repr_truncates() -> None:
    assert repr(L(1, 2, 3)) == "(#3) [1,2,3]"
    assert repr(L.range(100)) == "(#100) [0,1,2,3,4,5,6,7,8,9...]"
    assert repr(L("a")) == "(#1) ['a']"


def test_map_variants() -> None:
    assert L.range(4).map(operator.neg) == [0, -1, -2, -3]
    assert L.range(3).map("#{}#") == ["#0#", "#1#", "#2#"]
    assert L.range(3).map({0: "a", 1: "b", 2: "c"}) == ["a", "b", "c"]
    assert L.range(3).map(lambda x, y, z=0: x + y + z, 10, z=100) == [110, 111, 112]
    assert L((1, 2), (3, 4)).starmap(operator.mul) == [2, 12]
    assert L(1, 2).map_dict(str) == {1: "1", 2: "2"}
    with pytest.raises(TypeError, match="L.map: expected a callable"):
        L(1).map(3)


def test_filter_argwhere_itemgot_attrgot() -> None:
    t = L.range(10)
    assert t.filter(gt(6)) == [7, 8, 9] and t.filter(gt(6), negate=True) == list(range(7))
    assert t.argwhere(lambda x: x % 4 == 0) == [0, 4, 8]
    assert L([1, [2, 3]], [4, [5, 6]]).itemgot(1, 0) == [2, 5]
    objs = L(SimpleNamespace(a=1), SimpleNamespace(a=2), SimpleNamespace(b=3))
    assert objs.attrgot("a") == [1, 2, None] and objs.attrgot("a", 0) == [1, 2, 0]
    assert L(dict(a=1), dict(a=2)).attrgot("a") == [1, 2]


def test_sorted_with_callable_str_and_int_keys() -> None:
    pairs = L((3, "c"), (1, "a"), (2, "b"))
    assert pairs.sorted(0) == [(1, "a"), (2, "b"), (3, "c")]
    assert pairs.sorted(1, reverse=True) == [(3, "c"), (2, "b"), (1, "a")]
    objs = L(SimpleNamespace(n=2), SimpleNamespace(n=1))
    assert objs.sorted("n").attrgot("n") == [1, 2]
    assert L({"n": 2}, {"n": 1}).sorted("n") == [{"n": 1}, {"n": 2}]  # a str is a key for dicts
    with pytest.raises(AttributeError, match="n"):
        L(SimpleNamespace(n=1), SimpleNamespace()).sorted("n")  # missing: an error, not silently last
    assert L(-3, 1, 2).sorted(abs) == [1, 2, -3]
    with pytest.raises(TypeError, match="key must be a callable, a str or an int"):
        L(1).sorted(1.0)


def test_unique_val2idx_enumerate() -> None:
    assert L(3, 1, 3, 2, 1).unique() == [3, 1, 2]
    assert L(3, 1, 3, 2).unique(sort=True) == [1, 2, 3]
    vals, idx = L("b", "a", "b").unique(bidir=True)
    assert vals == ["b", "a"] and idx == {"b": 0, "a": 1}
    assert L("x", "y").val2idx() == {"x": 0, "y": 1}
    assert L("x", "y").enumerate() == [(0, "x"), (1, "y")]
    assert L("x", "y").renumerate() == [("x", 0), ("y", 1)]
    assert L(1, 5, 7).argfirst(gt(4)) == 1 and L(1, 2).argfirst(gt(4)) is None
    assert L(1, 5).argfirst(gt(4), negate=True) == 0
    assert L([1, 2], [3, 4]).map_zip(operator.add) == [4, 6]
    assert L(1, 2).map_zipwith(operator.mul, [3, 4]) == [3, 8]


def test_zip_zipwith_concat_product_sum_reduce() -> None:
    assert L([1, 2], [3, 4]).zip() == [(1, 3), (2, 4)]
    assert L([1, 2, 3], [4]).zip(cycled=True) == [(1, 4), (2, 4), (3, 4)]
    assert L(1, 2).zipwith([3, 4], [5, 6]) == [(1, 3, 5), (2, 4, 6)]
    assert L([1, 2], 3, [4]).concat() == [1, 2, 3, 4]
    assert L(2, 3, 4).product() == 24 and L().product() == 1
    assert L(2, 3).sum() == 5 and L().sum() == 0
    assert L(1, 2, 3).reduce(operator.sub) == -4 and L(1, 2).reduce(operator.add, 10) == 13


def test_range_split_cycle_setattrs() -> None:
    assert L.range(3) == [0, 1, 2] and L.range(2, 8, 3) == [2, 5] and L.range([7, 8]) == [0, 1]
    assert L.split("a b c") == ["a", "b", "c"] and L.split("a,b", ",") == ["a", "b"]
    it = L(1, 2).cycle()
    assert [next(it) for _ in range(5)] == [1, 2, 1, 2, 1]
    objs = L(SimpleNamespace(), SimpleNamespace())
    objs.setattrs("x", 5)
    assert objs.attrgot("x") == [5, 5]


def test_shuffle_is_seeded_and_a_permutation() -> None:
    set_seed(1)
    a = L.range(20).shuffle()
    set_seed(1)
    b = L.range(20).shuffle()
    assert a == b and sorted(a) == list(range(20)) and a != list(range(20))


def test_pickle_and_copy() -> None:
    t = L(1, [2, 3], "a")
    assert pickle.loads(pickle.dumps(t)) == t and type(pickle.loads(pickle.dumps(t))) is L
    c = copy.deepcopy(t)
    c[1].append(4)
    assert t[1] == [2, 3]


def test_methods_return_subclass() -> None:
    class MyL(L):
        pass

    assert type(MyL(1, 2).map(str)) is MyL and type(MyL(1, 2)[[0]]) is MyL


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-50, 50), max_size=15), st.data())
def test_indexing_matches_list_semantics(xs: list[int], data: st.DataObject) -> None:
    t = L(list(xs))
    n = len(xs)
    if n:
        idxs = data.draw(st.lists(st.integers(-n, n - 1), max_size=10))
        assert t[idxs] == [xs[i] for i in idxs]
    mask = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if n:
        assert t[mask] == [x for x, m in zip(xs, mask, strict=True) if m]
    start, stop = data.draw(st.integers(-20, 20)), data.draw(st.integers(-20, 20))
    assert t[start:stop] == xs[start:stop]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-50, 50), max_size=15), st.integers(-10, 10))
def test_ops_match_python(xs: list[int], k: int) -> None:
    t = L(list(xs))
    assert t.map(lambda x: x * k) == [x * k for x in xs]
    assert t.filter(gt(k)) == [x for x in xs if x > k]
    assert t.sum() == sum(xs)
    assert t.sorted() == sorted(xs) and t.sorted(reverse=True) == sorted(xs, reverse=True)
    assert t.unique() == list(dict.fromkeys(xs))
    assert t.argwhere(gt(k)) == [i for i, x in enumerate(xs) if x > k]
    assert t.enumerate().itemgot(1) == xs
    assert len(t.shuffle()) == len(xs) and sorted(t.shuffle()) == sorted(xs)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(), max_size=12), st.data())
def test_mask_setitem_matches_loop(xs: list[int], data: st.DataObject) -> None:
    mask = data.draw(st.lists(st.booleans(), min_size=len(xs), max_size=len(xs)))
    t = L(list(xs))
    if xs:
        t[mask] = 0
    assert t == [0 if m else x for x, m in zip(xs, mask, strict=True)]
