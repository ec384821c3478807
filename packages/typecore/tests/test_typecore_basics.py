"""The small helpers: listify & co, defaults, curried operators."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from plies.typecore import (
    L,
    add,
    camel2snake,
    eq,
    first,
    ge,
    gt,
    ifnone,
    is_,
    is_iter,
    is_listy,
    is_not,
    le,
    listify,
    lt,
    mask2idxs,
    merge,
    mul,
    ne,
    noop,
    noops,
    range_of,
    setify,
    sub,
    truediv,
    tuplify,
    uniqueify,
)


def test_listify_and_tuplify() -> None:
    assert listify(None) == [] and listify([1]) == [1] and listify((1, 2)) == [1, 2]
    assert listify("ab") == ["ab"] and listify(b"x") == [b"x"] and listify(3) == [3]
    a = np.arange(3)
    assert listify(a)[0] is a and len(listify(torch.ones(2))) == 1
    assert listify(range(2)) == [0, 1] and listify(1, 2) == [1, 2]
    assert listify(dict(a=1)) == ["a"]
    assert listify(1, match=3) == [1, 1, 1] and listify([1, 2], match=[0, 0]) == [1, 2]
    assert listify("ab", use_list=True) == ["a", "b"]
    with pytest.raises(ValueError, match="expected 1 or 3 items to match, found 2"):
        listify([1, 2], match=3)
    assert tuplify(None) == () and tuplify([1, 2]) == (1, 2) and tuplify(5) == (5,)


def test_is_listy_and_is_iter() -> None:
    assert is_listy([1]) and is_listy((1,)) and is_listy(L(1)) and is_listy(slice(1))
    assert not is_listy("ab") and not is_listy({1: 2}) and not is_listy(np.arange(2))
    assert is_iter([1]) and is_iter("ab") and is_iter(np.arange(2)) and is_iter(torch.ones(2))
    assert not is_iter(np.array(1)) and not is_iter(torch.tensor(1)) and not is_iter(3)


def test_ifnone_noop_noops_first() -> None:
    assert ifnone(None, 2) == 2 and ifnone(0, 2) == 0
    assert noop() is None and noop(3, 4, k=5) == 3 and noops(object(), 7) == 7
    assert first([3, 4]) == 3 and first([]) is None
    assert first([1, 4, 6], lambda x: x > 3) == 4 and first([1, 4], lambda x: x > 3, negate=True) == 1


def test_mask2idxs() -> None:
    assert mask2idxs([True, False, True]) == [0, 2]
    assert mask2idxs(np.array([False, True])) == [1]
    assert mask2idxs(torch.tensor([True, True])) == [0, 1]
    assert mask2idxs([2, np.int64(0)]) == [2, 0] and mask2idxs([]) == []
    s = slice(1, 2)
    assert mask2idxs(s) is s


def test_uniqueify_setify_merge_range_of_camel2snake() -> None:
    assert uniqueify([3, 1, 3]) == [3, 1] and uniqueify([3, 1, 3], sort=True) == [1, 3]
    assert uniqueify(["b", "a", "b"], bidir=True) == (["b", "a"], {"b": 0, "a": 1})
    assert uniqueify(["b", "x"], start=["x"]) == ["x", "b"]
    s = {1}
    assert setify(s) is s and setify(None) == set() and setify([1, 1, 2]) == {1, 2} and setify("ab") == {"ab"}
    assert merge(dict(a=1, b=2), None, dict(b=3)) == {"a": 1, "b": 3} and merge() == {}
    assert range_of([7, 8, 9]) == [0, 1, 2] and range_of(3) == [0, 1, 2] and range_of([5, 5], 4) == [2, 3]
    assert range_of(2, 6, 2) == [2, 4] and range_of(1, 3) == [1, 2]
    assert camel2snake("CamelCase") == "camel_case" and camel2snake("TfmdDL") == "tfmd_dl"
    assert camel2snake("ParamScheduler") == "param_scheduler" and camel2snake("already") == "already"


def test_curried_operators() -> None:
    assert gt(4)(5) is True and gt(5, 4) is True and gt(5)(4) is False
    assert ge(4)(4) and lt(4)(3) and le(4)(4) and eq(2)(2) and ne(2)(3)
    assert add(1)(2) == 3 and sub(1)(5) == 4 and sub(5, 1) == 4 and mul(3)(2) == 6
    assert truediv(2)(8) == 4.0 and truediv(8, 2) == 4.0
    x = object()
    assert is_(x)(x) and is_not(x)(object()) and is_(None, None)
    assert gt.__name__ == "gt" and "operator.gt" in (gt.__doc__ or "")


@given(st.integers(), st.integers())
def test_curried_operators_match_operator_module(a: int, b: int) -> None:
    for f, op in ((gt, a > b), (ge, a >= b), (lt, a < b), (le, a <= b), (eq, a == b), (ne, a != b)):
        assert f(a, b) is op and f(b)(a) is op
    assert add(b)(a) == a + b and sub(b)(a) == a - b and mul(b)(a) == a * b
