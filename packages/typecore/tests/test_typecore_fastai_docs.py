"""The examples of fastcore's documentation (basics, foundation, dispatch, meta) and fastai's
torch_core, reproduced on plies.typecore: users migrating from fastai get the documented values."""

import inspect
import numbers
import operator
import pickle
import typing
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from plies.typecore import (
    GetAttr,
    L,
    TensorBase,
    TensorCategory,
    TensorMultiCategory,
    TypeDispatch,
    add,
    apply,
    camel2snake,
    default_device,
    delegates,
    find_bs,
    first,
    funcs_kwargs,
    gt,
    ifnone,
    is_iter,
    listify,
    lt,
    mask2idxs,
    merge,
    noop,
    patch,
    patch_to,
    range_of,
    retain_type,
    retain_types,
    setify,
    store_attr,
    tensor,
    to_detach,
    tuplify,
    typedispatch,
    uniqueify,
)


def sig(f: object) -> str:
    return str(inspect.signature(f))  # type: ignore[arg-type]


# -- L (fastcore.foundation) ------------------------------------------------------------------------
def test_L_repr_truncates_after_ten_items() -> None:
    assert repr(L(range(12))) == "(#12) [0,1,2,3,4,5,6,7,8,9...]"
    assert repr(L(1, 2, 3)) == "(#3) [1,2,3]"
    assert repr(L()) == "(#0) []"


def test_L_list_behaviour_from_the_docs() -> None:
    t = L(range(12))
    assert t == list(range(12))
    assert t != list(range(11))
    t.reverse()
    assert t[0] == 11
    t[3] = "h"
    assert t[3] == "h"
    t[3, 5] = ("j", "k")
    assert t[3, 5] == ["j", "k"]
    assert t == L(t)
    assert L(L(1, 2), [3, 4]) == ([1, 2], [3, 4])


def test_L_constructors() -> None:
    assert L() == [] and L(None) == []
    assert L([1, 2, 3]) == [1, 2, 3]
    assert L(1, 2, 3) == [1, 2, 3]
    assert L(1) == [1]
    assert L("a") == ["a"]
    assert L(range(3)) == [0, 1, 2]
    assert L(o for o in range(3)) == [0, 1, 2]
    arr = np.array([1, 2, 3])
    assert len(L(arr)) == 1 and L(arr)[0] is arr
    assert L(1, match=3) == [1, 1, 1]
    assert L([1], match=[4, 5]) == [1, 1]
    assert L([1, 2]) + [3] == [1, 2, 3]
    assert [0] + L([1, 2]) == [0, 1, 2]
    assert L(1) * 5 == L(1, 1, 1, 1, 1)


def test_L_indexing_by_int_lists_and_masks() -> None:
    t = L(range(12))
    assert t[[0, 2]] == [0, 2]
    assert t[L(1, 2)] == [1, 2]
    assert t[[False] * 11 + [True]] == [11]
    assert t[np.array([1, 3])] == [1, 3]
    assert t[torch.tensor([True] + [False] * 11)] == [0]
    assert isinstance(t[[0, 2]], L)
    assert t[2:4] == [2, 3] and isinstance(t[2:4], L)


def test_L_range_and_split() -> None:
    assert L.range(3) == L(range(3))
    assert L.range([1, 1, 1]) == L(range(3))
    assert L.range(5, 2, -1) == L(range(5, 2, -1))
    assert L.range(1, 5) == [1, 2, 3, 4]
    assert L.split("a b c") == list("abc")
    assert L.split("a-b-c", "-") == list("abc")


def test_L_map() -> None:
    assert L(range(4)).map(operator.neg) == [0, -1, -2, -3]
    assert L(1, 2, 3).map(lambda o: o * 2) == [2, 4, 6]
    assert L(range(4)).map(add(1)) == [1, 2, 3, 4]
    assert L(range(4)).map("#{}#") == ["#0#", "#1#", "#2#", "#3#"]
    assert L(range(4)).map(list("abcd")) == list("abcd")
    assert L(range(3)).map({0: "a", 1: "b", 2: "c"}) == ["a", "b", "c"]

    def f(a: int = 0, b: int = 0) -> int:
        return a + b

    assert L(range(4)).map(f, b=10) == [10, 11, 12, 13]
    assert L(range(1, 5)).map_dict() == {1: 1, 2: 2, 3: 3, 4: 4}
    assert L(range(1, 5)).map_dict(operator.neg) == {1: -1, 2: -2, 3: -3, 4: -4}
    assert L((1, 2), (3, 4)).starmap(operator.add) == [3, 7]


def test_L_filter_argwhere_argfirst() -> None:
    t = L(range(12))
    assert t.filter(lambda o: o < 5) == [0, 1, 2, 3, 4]
    assert t.filter(lambda o: o < 5, negate=True) == [5, 6, 7, 8, 9, 10, 11]
    assert L(range(10)).filter(gt(4)) == [5, 6, 7, 8, 9]
    assert t.argwhere(lambda o: o > 9) == [10, 11]
    assert L(range(50)).argfirst(lambda o: o > 4) == 5
    assert L(range(50)).argfirst(lambda o: o > 4, negate=True) == 0


def test_L_unique_val2idx_enumerate() -> None:
    assert L(4, 1, 2, 3, 4, 4).unique() == [4, 1, 2, 3]
    assert L(1, 2, 3).val2idx() == {3: 2, 1: 0, 2: 1}
    assert L("a", "b", "c").enumerate() == [(0, "a"), (1, "b"), (2, "c")]
    assert L("a", "b", "c").renumerate() == [("a", 0), ("b", 1), ("c", 2)]


def test_L_zip_family() -> None:
    t = L([[1, 2, 3], "abc"])
    assert t.zip() == [(1, "a"), (2, "b"), (3, "c")]
    t = L([[1, 2, 3, 4], ["a", "b", "c"]])
    assert t.zip(cycled=True) == [(1, "a"), (2, "b"), (3, "c"), (4, "a")]
    assert t.zip(cycled=False) == [(1, "a"), (2, "b"), (3, "c")]
    t = L([1, 2, 3], [2, 3, 4])
    assert t.map_zip(operator.mul) == [2, 6, 12]
    b = [[0], [1], [2, 2]]
    t = L([1, 2, 3]).zipwith(b)
    assert t == [(1, [0]), (2, [1]), (3, [2, 2])]
    assert L(1, 2, 3).map_zipwith(operator.mul, [2, 3, 4]) == [2, 6, 12]


def test_L_itemgot_attrgot_sorted() -> None:
    b = [[0], [1], [2, 2]]
    t = L([1, 2, 3]).zipwith(b)
    assert t.itemgot(1) == b
    assert L([[1, [2, 3]], [4, [5, 6]]]).itemgot(1, 0) == [2, 5]
    a = [SimpleNamespace(a=3, b=4), SimpleNamespace(a=1, b=2)]
    assert L(a).attrgot("b") == [4, 2]
    d = [{"id": 15, "name": "nbdev"}, {"id": 17, "name": "fastcore"}]
    assert L(d).attrgot("id") == [15, 17]
    assert L(a).attrgot("zzz", default=0) == [0, 0]
    assert L(a).sorted("a").attrgot("b") == [2, 4]
    assert L([(2, "b"), (1, "c"), (3, "a")]).sorted(1) == [(3, "a"), (2, "b"), (1, "c")]
    assert L(3, 1, 2).sorted(reverse=True) == [3, 2, 1]
    assert L("b", "aaa", "cc").sorted(len) == ["b", "cc", "aaa"]


def test_L_concat_copy_reduce_sum_product() -> None:
    assert L([0, 1, 2, 3], 4, L(5, 6)).concat() == list(range(7))
    t = L([0, 1, 2, 3], 4, L(5, 6)).copy()
    assert t.concat() == list(range(7))
    assert L(range(5)).reduce(operator.add) == 10
    assert L(range(1, 5)).reduce(operator.mul, 1) == 24
    assert L(1, 2, 3, 4).sum() == 10
    assert L(1, 2, 3, 4).product() == 24
    assert L().sum() == 0 and L().product() == 1


def test_L_map_first_setattrs_shuffle_cycle() -> None:
    t = L(0, 1, 2, 3)
    assert t.map_first(lambda o: o * 2 if o > 2 else None) == 6
    assert t.map_first(lambda o: None) is None
    ns = L(SimpleNamespace(), SimpleNamespace())
    ns.setattrs("foo", "bar")
    assert ns.attrgot("foo") == ["bar", "bar"]
    s = L(range(20)).shuffle()
    assert sorted(s) == list(range(20)) and s != list(range(20))
    c = L(1, 2).cycle()
    assert [next(c) for _ in range(5)] == [1, 2, 1, 2, 1]


def test_L_paper_example() -> None:
    d = dict(a=1, b=-5, d=6, e=9).items()
    assert L(d).itemgot(1).map(abs).filter(gt(4)).sum() == 20


# -- basics -----------------------------------------------------------------------------------------
def test_listify_and_tuplify() -> None:
    assert listify(None) == []
    assert listify([1, 2, 3]) == [1, 2, 3]
    assert listify(1) == [1]
    assert listify("a") == ["a"]
    assert listify(range(3)) == [0, 1, 2]
    assert listify(o for o in range(3)) == [0, 1, 2]
    assert listify(1, 2) == [1, 2]
    assert listify([1, 2], 3) == [[1, 2], 3]
    assert listify(1, match=3) == [1, 1, 1]
    assert listify([1], match=3) == [1, 1, 1]
    assert listify([1, 2], match=2) == [1, 2]
    assert tuplify(None) == ()
    assert tuplify([1, 2, 3]) == (1, 2, 3)
    assert tuplify(1, match=[1, 2, 3]) == (1, 1, 1)


def test_basic_helpers() -> None:
    assert range_of([1, 1, 1, 1]) == [0, 1, 2, 3]
    assert range_of(3) == [0, 1, 2]
    assert ifnone(None, 1) == 1 and ifnone(2, 1) == 2
    assert first(["a", "b", "c", "d", "e"]) == "a"
    assert first([False]) is False
    assert first([False], noop) is None
    assert first([]) is None
    assert noop() is None and noop(1) == 1
    assert mask2idxs([False, True, False, True]) == [1, 3]
    assert mask2idxs(np.array([False, True, False, True])) == [1, 3]
    assert mask2idxs(np.array([1, 2, 3])) == [1, 2, 3]
    assert merge() == {}
    assert merge(dict(a=1, b=2), dict(b=3, c=4), None) == dict(a=1, b=3, c=4)
    assert setify(None) == set()
    assert setify("abc") == {"abc"}
    assert setify([1, 2, 2]) == {1, 2}
    assert setify(range(0, 3)) == {0, 1, 2}
    assert camel2snake("ClassAreCamel") == "class_are_camel"
    assert camel2snake("Already_Snake") == "already__snake"
    assert is_iter([1]) and not is_iter(np.array(1)) and is_iter(np.array([1, 2]))
    assert is_iter(o for o in range(3))


def test_uniqueify() -> None:
    assert uniqueify([1, 1, 0, 5, 0, 3]) == [1, 0, 5, 3]
    assert uniqueify([1, 1, 0, 5, 0, 3], sort=True) == [0, 1, 3, 5]
    assert uniqueify([1, 1, 0, 5, 0, 3], start=[7, 8, 6]) == [7, 8, 6, 1, 0, 5, 3]
    v, o = uniqueify([1, 1, 0, 5, 0, 3], bidir=True)
    assert v == [1, 0, 5, 3] and o == {1: 0, 0: 1, 5: 2, 3: 3}
    v, o = uniqueify([1, 1, 0, 5, 0, 3], sort=True, bidir=True)
    assert v == [0, 1, 3, 5] and o == {0: 0, 1: 1, 3: 2, 5: 3}


def test_operator_helpers_curried_and_direct() -> None:
    assert lt(3, 5) is True and gt(3, 5) is False
    f = lt(5)
    assert f(3) is True and f(7) is False
    assert gt(4)(5) and not gt(4)(4)
    assert add(1)(2) == 3 and add(1, 2) == 3
    assert L(range(6)).filter(gt(2)) == [3, 4, 5]


# -- store_attr, GetAttr -----------------------------------------------------------------------------
def test_store_attr_all_arguments() -> None:
    class T:
        def __init__(self, a: int, b: int, c: int) -> None:
            store_attr()

    t = T(1, c=2, b=3)
    assert (t.a, t.b, t.c) == (1, 3, 2)
    assert t.__stored_args__ == {"a": 1, "b": 3, "c": 2}  # type: ignore[attr-defined]


def test_store_attr_some_names_but_and_kwargs() -> None:
    class T:
        def __init__(self, a: int, b: int, c: int) -> None:
            store_attr("a,b")

    t = T(1, c=2, b=3)
    assert t.a == 1 and t.b == 3 and not hasattr(t, "c")

    class U:
        def __init__(self, a: int, b: int, c: int) -> None:
            store_attr(but="c")

    u = U(1, c=2, b=3)
    assert u.a == 1 and u.b == 3 and not hasattr(u, "c")

    class V:
        def __init__(self, a: int) -> None:
            store_attr(d=4)

    v = V(1)
    assert v.a == 1 and v.d == 4  # type: ignore[attr-defined]


class _C(GetAttr):
    # allow all attributes and methods to get passed to `self.default` (by leaving _xtra=None)
    _default = "default"

    def __init__(self, a: str) -> None:
        self.default = a

    def foo(self) -> None:
        noop()


def test_store_attr_self_keyword_and_store_args() -> None:
    t = SimpleNamespace()

    def init(a: int, b: int) -> None:
        store_attr("a,b", self=t)

    init(1, 2)
    assert (t.a, t.b) == (1, 2) and t.__stored_args__ == {"a": 1, "b": 2}

    class W:
        def __init__(self, a: int) -> None:
            store_attr(store_args=False)

    w = W(5)
    assert w.a == 5 and not hasattr(w, "__stored_args__")


def test_GetAttr_delegates_everything_to_default() -> None:
    t = _C("Hi")
    assert t.lower() == "hi" and t.upper() == "HI"
    assert "lower" in dir(t) and "upper" in dir(t)
    t2 = pickle.loads(pickle.dumps(t))
    assert t2.lower() == "hi"


def test_GetAttr_xtra_restricts_names() -> None:
    class _C(GetAttr):
        _xtra = ["lower"]

        def __init__(self, a: str) -> None:
            self.default = a

    t = _C("Hi")
    assert t.default == "Hi" and t.lower() == "hi"
    with pytest.raises(AttributeError, match="upper"):
        t.upper()
    assert "lower" in dir(t) and "upper" not in dir(t)


def test_GetAttr_default_a() -> None:
    class A:
        def __init__(self) -> None:
            self.x, self.y = 1, 2

    class B(GetAttr):
        _default = "a"

        def __init__(self) -> None:
            self.a = A()
            self.y = 3

    b = B()
    assert b.x == 1 and b.y == 3
    with pytest.raises(AttributeError, match="z"):
        b.z  # noqa: B018


# -- patch, patch_to -------------------------------------------------------------------------------
class _T3(int):
    pass


class _T4(int):
    pass


class _T5(int):
    pass


class _T6(int):
    pass


def test_patch_adds_methods_with_docstrings() -> None:
    @patch
    def func1(self: _T3, a: int) -> int:
        return self + a

    @patch
    def func2(self: _T3, a: int) -> int:
        "some docstring"
        return self + a

    t = _T3(1)
    assert t.func1(2) == 3  # type: ignore[attr-defined]
    assert _T3.func2.__doc__ == "some docstring"  # type: ignore[attr-defined]
    assert _T3.func1.__qualname__ == "_T3.func1"  # type: ignore[attr-defined]


def test_patch_several_classes_property_and_classmethod() -> None:
    @patch
    def func(self: (_T4, _T5), a: int) -> int:  # type: ignore[valid-type]
        return self + 2 * a

    assert _T4(1).func(2) == 5 and _T5(1).func(2) == 5  # type: ignore[attr-defined]

    @patch
    def func_u(self: _T4 | _T5, a: int) -> int:
        return self * a

    assert _T5(3).func_u(2) == 6  # type: ignore[attr-defined]

    @patch(as_prop=True)
    def add_ten(self: _T5) -> int:
        return self + 10

    assert _T5(4).add_ten == 14  # type: ignore[attr-defined]

    @patch(cls_method=True)
    def make(cls: _T6, a: int) -> _T6:
        return cls(a)

    assert type(_T6.make(3)) is _T6 and _T6.make(3) == 3  # type: ignore[attr-defined]


def test_patch_to() -> None:
    class _T7(int):
        pass

    @patch_to(_T7)
    def func1(self: int, a: int) -> int:
        return self + a

    assert _T7(1).func1(2) == 3  # type: ignore[attr-defined]

    @patch_to(_T7, as_prop=True)
    def add_ten(self: int) -> int:
        return self + 10

    assert _T7(4).add_ten == 14  # type: ignore[attr-defined]

    @patch_to(_T7, cls_method=True)
    def make(cls: type, a: int) -> int:
        return cls(a)

    assert type(_T7.make(1)) is _T7  # type: ignore[attr-defined]


# -- delegates, funcs_kwargs -----------------------------------------------------------------------
def test_delegates_function() -> None:
    def basefoo(e, c=2):  # type: ignore[no-untyped-def]
        pass

    @delegates(basefoo)
    def foo(a, b=1, **kwargs):  # type: ignore[no-untyped-def]
        pass

    assert sig(foo) == "(a, b=1, *, c=2)"

    @delegates(basefoo, keep=True)
    def foo2(a, b=1, **kwargs):  # type: ignore[no-untyped-def]
        pass

    assert sig(foo2) == "(a, b=1, *, c=2, **kwargs)"

    def basebar(e, c=2, d=3):  # type: ignore[no-untyped-def]
        pass

    @delegates(basebar, but=["d"])
    def bar(a, b=1, **kwargs):  # type: ignore[no-untyped-def]
        pass

    assert sig(bar) == "(a, b=1, *, c=2)"


def test_delegates_class_to_base_init() -> None:
    class BaseFoo:
        def __init__(self, e, c=2):  # type: ignore[no-untyped-def]
            pass

    @delegates()
    class Foo(BaseFoo):
        def __init__(self, a, b=1, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(**kwargs)

    assert sig(Foo) == "(a, b=1, *, c=2)"

    class Foo2(BaseFoo):
        @delegates(BaseFoo.__init__)
        def __init__(self, a, b=1, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(1, **kwargs)

    assert sig(Foo2) == "(a, b=1, *, c=2)"


@funcs_kwargs
class _FKT:
    _methods = ["b"]  # allows you to add method b upon instantiation

    def __init__(self, f=1, **kwargs):  # type: ignore[no-untyped-def]  # don't forget **kwargs
        pass

    def a(self) -> int:
        return 1

    def b(self) -> int:
        return 2


def test_funcs_kwargs_docs_example() -> None:
    t = _FKT()
    assert t.a() == 1 and t.b() == 2
    t = _FKT(b=lambda: 3)
    assert t.b() == 3
    assert sig(_FKT) == "(f=1, *, b=None)"
    with pytest.raises(TypeError, match="'a'"):
        _FKT(a=lambda: 3)


def test_funcs_kwargs_as_method_and_subclass() -> None:
    def _f(self, a=1):  # type: ignore[no-untyped-def]
        return self.num + a

    @funcs_kwargs(as_method=True)
    class T:
        _methods = ["b"]
        num = 5

    t = T(b=_f)  # type: ignore[call-arg]
    assert t.b(5) == 10  # type: ignore[attr-defined]

    def _g(self, a=1):  # type: ignore[no-untyped-def]
        return self.num * a

    class T2(T):
        def __init__(self, num):  # type: ignore[no-untyped-def]
            super().__init__(b=_g)  # type: ignore[call-arg]
            self.num = num

    t2 = T2(num=3)
    assert t2.b(a=5) == 15  # type: ignore[attr-defined]
    assert sig(T2) == "(num)"


# -- typedispatch / TypeDispatch ---------------------------------------------------------------------
@typedispatch
def f_td_test(x: numbers.Integral, y):  # type: ignore[no-untyped-def]
    return x + 1


@typedispatch
def f_td_test(x: int, y: float):  # type: ignore[no-untyped-def]
    return x + y


@typedispatch
def f_td_test(x: int, y: int):  # type: ignore[no-untyped-def]
    return x * y


def test_typedispatch_paper_example() -> None:
    assert f_td_test(3, 2.0) == 5
    assert f_td_test(3, 2) == 6
    assert f_td_test(3, "a") == 4
    assert f_td_test(np.int64(3), "a") == 4
    assert f_td_test(True, 2) == 2


def test_typedispatch_no_match_raises_typeerror() -> None:
    # deliberate difference from fastcore (which returns the first argument): see the README
    with pytest.raises(TypeError, match="f_td_test"):
        f_td_test("a", "b")


def test_TypeDispatch_docs_example() -> None:
    def f_col(x: typing.Collection) -> object:  # type: ignore[type-arg]
        return x

    def f_nin(x: numbers.Integral) -> int:
        return x + 1  # type: ignore[operator,return-value]

    def f_ni2(x: int) -> int:
        return x

    def f_bll(x: (bool, list)) -> object:  # type: ignore[valid-type]
        return x

    def f_num(x: numbers.Number) -> object:
        return x

    t = TypeDispatch([f_nin, f_ni2, f_num, f_bll, None])
    t.add(f_ni2)  # adding the same function twice works
    assert t[int] is f_ni2
    assert t[np.int32] is f_nin
    assert t[str] is None
    assert t[float] is f_num
    assert t[bool] is f_bll
    assert t[list] is f_bll
    t.add(f_col)
    assert t[str] is f_col
    assert t[np.int32] is f_nin
    o = np.int32(1)
    assert t(o) == 2
    assert t.returns(o) is int
    assert t.first() is f_nin  # the first function registered


def test_typedispatch_on_methods() -> None:
    class A:
        @typedispatch
        def f(self, x: int) -> str:
            return f"int {x}"

        @typedispatch
        def f(self, x: str) -> str:
            return f"str {x}"

    a = A()
    assert a.f(1) == "int 1" and a.f("b") == "str b"


def test_TypeDispatch_two_arguments_and_bases() -> None:
    def f_nin(x: numbers.Integral, y: str) -> str:
        return "int-str"

    def f_num(x: numbers.Number, y) -> str:  # type: ignore[no-untyped-def]
        return "number-any"

    t = TypeDispatch([f_nin, f_num])
    assert t[int, str] is f_nin and t[int, float] is f_num and t[float, str] is f_num
    assert t(1, "a") == "int-str" and t(1.5, "a") == "number-any"

    def f_str(x: str) -> str:
        return "str"

    t2 = TypeDispatch(f_str, bases=t)  # one base, or a list of them
    assert t2("a") == "str" and t2(1, "a") == "int-str"
    assert TypeDispatch(f_str, bases=[t, None])(2.0, 1) == "number-any"


def test_TypeDispatch_as_class_attribute_binds_instance() -> None:
    def m_nin(self, x: (str, numbers.Integral)):  # type: ignore[no-untyped-def,valid-type]
        return str(x) + "1"

    def m_bll(self, x: bool):  # type: ignore[no-untyped-def]
        self.foo = "a"

    def m_num(self, x: numbers.Number):  # type: ignore[no-untyped-def]
        return x * 2  # type: ignore[operator]

    t = TypeDispatch([m_nin, m_num, m_bll])

    class A:
        f = t

    a = A()
    assert a.f(1) == "11"
    assert a.f(1.0) == 2.0
    assert a.f.inst is a
    a.f(False)
    assert a.foo == "a"  # type: ignore[attr-defined]
    assert A.f is t  # `self` implementations read from the class stay unbound


def test_TypeDispatch_as_class_attribute_binds_class_for_cls_functions() -> None:
    def m_nin(cls, x: (str, numbers.Integral)):  # type: ignore[no-untyped-def,valid-type]
        return str(x) + "1"

    def m_bll(cls, x: bool):  # type: ignore[no-untyped-def]
        cls.foo = "a"

    def m_num(cls, x: numbers.Number):  # type: ignore[no-untyped-def]
        return x * 2  # type: ignore[operator]

    t = TypeDispatch([m_nin, m_num, m_bll])

    class A:
        f = t

    assert A.f(1) == "11"
    assert A.f(1.0) == 2.0
    assert A.f.owner is A
    A.f(False)
    assert A.foo == "a"  # type: ignore[attr-defined]


def test_typedispatch_methods_paper_example() -> None:
    class A:
        @typedispatch
        def f_td_test(self, x: numbers.Integral, y):  # type: ignore[no-untyped-def]
            return x + 1

        @typedispatch
        def f_td_test(self, x: int, y: float):  # type: ignore[no-untyped-def]
            return x + y

        @typedispatch
        def f_td_test(self, x: int, y: int):  # type: ignore[no-untyped-def]
            return x * y

    a = A()
    assert a.f_td_test(3, 2.0) == 5
    assert a.f_td_test(3, 2) == 6
    assert a.f_td_test(3, "a") == 4


def test_typedispatch_with_classmethod_and_staticmethod() -> None:
    class A:
        @typedispatch
        def f_td_test(self, x: numbers.Integral, y):  # type: ignore[no-untyped-def]
            return x + 1

        @typedispatch  # type: ignore[misc]
        @classmethod
        def f_td_test(cls, x: int, y: float):  # type: ignore[no-untyped-def]
            return (cls.__name__, x + y)

        @typedispatch  # type: ignore[misc]
        @staticmethod
        def f_td_test(x: int, y: int):  # type: ignore[no-untyped-def]
            return x * y

    assert A.f_td_test(3, 2) == 6
    assert A.f_td_test(3, 2.0) == ("A", 5.0)
    assert A().f_td_test(3, "2.0") == 4
    assert A().f_td_test(3, 2.0) == ("A", 5.0) and A().f_td_test(3, 2) == 6


def test_retain_type_and_retain_types() -> None:
    class _T(tuple):
        pass

    a = _T((1, 2))
    c = retain_type((1, 2), typ=_T)
    assert type(c) is _T and c == a
    assert type(retain_type((1, 2), a)) is _T

    class _I(int):
        pass

    assert type(retain_type(3, _I(1))) is _I
    assert type(retain_type(3.0, _I(1))) is float  # float is not a base of _I: unchanged

    class T(tuple):
        pass

    t1, t2 = retain_types((1, (1, (1, 1))), (2, T((2, T((3, 4))))))
    assert t1 == 1 and type(t1) is int
    assert t2 == (1, (1, 1)) and type(t2) is T and type(t2[1]) is T


# -- TensorBase (fastai.torch_core) ------------------------------------------------------------------
class _T(TensorBase):
    pass


class _TImage(TensorBase):
    pass


class _TImage2(_TImage):
    pass


def test_TensorBase_metadata_through_ops() -> None:
    a = TensorBase(1, img_size=(128, 128))
    assert a.img_size == (128, 128)  # type: ignore[attr-defined]
    b = retain_type(torch.tensor(2), a)
    assert type(b) is TensorBase and b.img_size == (128, 128)
    c = retain_type(torch.tensor(2), a, as_copy=True)
    c.img_size = (1, 1)
    assert a.img_size == (128, 128)  # type: ignore[attr-defined]
    assert torch.stack([a, a], 0).img_size == (128, 128)
    assert (a + 1).img_size == (128, 128)
    assert a.to(torch.float64).img_size == (128, 128)


def test_TensorBase_subclass_docs_example() -> None:
    t = _T(range(5))
    assert t[0] == 0
    assert type(t + 1) is _T and torch.equal(t + 1, torch.arange(1, 6))
    assert repr(t) == "_T([0, 1, 2, 3, 4])"
    sel = t[_T([False, False, True, True, True])]
    assert type(sel) is _T and sel.tolist() == [2, 3, 4]
    sel = t[_T([2, 3, 4])]
    assert type(sel) is _T and sel.tolist() == [2, 3, 4]
    assert type(pickle.loads(pickle.dumps(t))) is _T
    assert type(t.new_ones(1)) is _T and t.new_ones(1).tolist() == [1]
    assert type(t.new_tensor([1, 2])) is _T and t.new_tensor([1, 2]).tolist() == [1, 2]


def test_TensorBase_mixing_subclasses_most_derived_wins() -> None:
    t1, t2 = _TImage([1.0]), _TImage2([1.0])
    assert type(t2 + t1) is _TImage2 and type(t1 + t2) is _TImage2
    assert (t1 + t2).tolist() == [2.0]
    assert type(t1 + torch.tensor([1.0])) is _TImage
    assert type(torch.tensor([1.0]) + t1) is _TImage


def test_TensorBase_ops_keep_type() -> None:
    x = TensorBase(torch.arange(6.0).view(2, 3))
    for res in (
        x * 2,
        x.sum(0),
        x[0],
        x.view(-1),
        torch.relu(x),
        x.T,
        torch.cat([x, x]),
        x.float(),
        x.mean(),
    ):
        assert type(res) is TensorBase
    assert torch.equal(x.sum(0), torch.tensor([3.0, 5.0, 7.0]))
    assert issubclass(TensorMultiCategory, TensorCategory) and issubclass(TensorCategory, TensorBase)
    c = TensorCategory([1, 2])
    assert type(c + 1) is TensorCategory and (c + 1).tolist() == [2, 3]


def test_torch_core_helpers() -> None:
    x = torch.randn(4, 5)
    assert find_bs(x) == 4 and find_bs((x, x)) == 4 and find_bs([x, x]) == 4
    assert find_bs({"a": x, "b": x}) == 4
    assert torch.equal(tensor(torch.tensor([1, 2, 3])), torch.tensor([1, 2, 3]))
    assert torch.equal(tensor(np.array([1, 2, 3])), torch.tensor([1, 2, 3]))
    assert torch.equal(tensor(1, 2, 3), torch.tensor([1, 2, 3]))
    assert tensor(1.0).dtype is torch.float32 and tensor(np.array([1.0])).dtype is torch.float32
    expected = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else None
    if expected is not None or not torch.backends.mps.is_available():
        assert default_device(-1) == (expected or torch.device("cpu")) == default_device()
    assert default_device(False) == torch.device("cpu")
    b = apply(lambda o: o * 2, (x, [x, {"k": x}]))
    assert torch.equal(b[1][1]["k"], x * 2) and isinstance(b, tuple) and isinstance(b[1], list)
    d = to_detach((x.requires_grad_(),))
    assert not d[0].requires_grad
