"""typedispatch / TypeDispatch / retain_type: dispatch rules, scopes, methods, caching, casting."""

import numbers
import types
from typing import Optional, Union

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from plies.typecore import TypeDispatch, retain_type, retain_types, typedispatch


# --- the paper's example, at module level -------------------------------------------------
@typedispatch
def f_td_test(x: numbers.Integral, y):
    return x + 1


@typedispatch
def f_td_test(x: int, y: float):  # a second definition adds an implementation
    return x + y


def test_paper_example_adds_implementations():
    assert f_td_test(3, 2.0) == 5.0
    assert f_td_test(3, "a") == 4
    assert len(f_td_test) == 2
    assert f_td_test.__name__ == "f_td_test"


def test_paper_example_numpy_and_bool_are_integral():
    assert f_td_test(np.int64(3), "a") == 4
    assert f_td_test(True, "a") == 2
    assert f_td_test(True, 2.0) == 3.0  # bool is an int: the (int, float) implementation wins


def test_no_match_raises_naming_function_and_types():
    with pytest.raises(TypeError, match=r"f_td_test: no implementation for argument types \(str, str\)"):
        f_td_test("a", "b")


# --- dispatch rules -------------------------------------------------------------------------
def test_mro_most_specific_wins():
    class A: ...

    class B(A): ...

    class C(B): ...

    def fa(x: A):
        return "A"

    def fc(x: C):
        return "C"

    td = TypeDispatch([fa, fc])
    assert (td(A()), td(B()), td(C())) == ("A", "A", "C")
    assert td[B] is fa and td[C] is fc and td[int] is None


def test_first_parameter_is_more_important():
    def f1(x: int, y: object):
        return 1

    def f2(x: numbers.Number, y: str):
        return 2

    td = TypeDispatch([f1, f2])
    assert td(1, "s") == 1  # int beats Number on the first parameter even though str beats object
    assert td(1.0, "s") == 2
    assert td(1.0, 3) == 1.0  # nothing matches: TypeDispatch returns the first argument


def test_second_parameter_breaks_ties():
    def f1(x: int, y: object = None):
        return "obj"

    def f2(x: int, y: float):
        return "float"

    def f3(x: int, y: bool):
        return "bool"

    td = TypeDispatch([f1, f2, f3])
    assert (td(1, "a"), td(1, 1.5), td(1, True), td(1)) == ("obj", "float", "bool", "obj")


def test_one_argument_only_matches_unannotated_second():
    def f(x: int, y: str):
        return "two"

    td = TypeDispatch(f)
    assert td(1) == 1 and td(1, "s") == "two"


def test_numpy_scalars_are_numbers():
    def f(x: numbers.Real):
        return "real"

    def g(x: numbers.Integral):
        return "integral"

    td = TypeDispatch([f, g])
    assert td(np.float32(1.5)) == "real"
    assert td(np.int8(3)) == "integral"
    assert td(np.float64(2.0)) == "real"


def test_numpy_bool_dispatches_as_bool():
    def f(x: numbers.Integral):
        return "integral"

    def g(x: bool):
        return "bool"

    assert TypeDispatch(f)(np.bool_(True)) == "integral"
    assert TypeDispatch([f, g])(np.bool_(False)) == "bool"

    def h(x: np.bool_):
        return "np.bool_"

    assert TypeDispatch([f, g, h])(np.True_) == "np.bool_"  # its own class is still nearest


def test_multiple_inheritance_follows_mro():
    class A: ...

    class B: ...

    class C(A, B): ...

    class D(B, A): ...

    def fa(x: A):
        return "A"

    def fb(x: B):
        return "B"

    for td in (TypeDispatch([fa, fb]), TypeDispatch([fb, fa])):
        assert td(C()) == "A" and td(D()) == "B"


def test_tuple_and_union_annotations():
    def f(x: (int, str)):
        return "int or str"

    def g(x: Union[float, list]):
        return "float or list"

    def h(x: bytes | None):
        return "bytes or None"

    td = TypeDispatch([f, g, h])
    assert [td(v) for v in (1, "a", 1.5, [1], b"x", None)] == (
        ["int or str"] * 2 + ["float or list"] * 2 + ["bytes or None"] * 2
    )

    def k(x: Optional[dict]):
        return "dict"

    assert TypeDispatch(k)(None) == "dict"


def test_unannotated_is_object_and_own_beats_general():
    def anything(x):
        return "any"

    def ints(x: int):
        return "int"

    td = TypeDispatch([anything, ints])
    assert (td("s"), td(3)) == ("any", "int")


def test_string_annotations_are_evaluated():
    # as with `from __future__ import annotations`: evaluated in the function's module globals
    def f(x: "numbers.Integral") -> "float":
        return float(x)

    td = TypeDispatch(f)
    assert td(2) == 2.0 and td.returns(2) is float and td.returns("a") is None


def test_adding_same_types_replaces():
    def f(x: int):
        return "old"

    def g(x: int):
        return "new"

    td = TypeDispatch([f])
    assert td(1) == "old"
    td.add(g)
    assert td(1) == "new" and len(td) == 1


def test_register_from_elsewhere_and_cache_invalidation():
    @typedispatch
    def show_it(x: int):
        return "int"

    assert show_it(True) == "int"  # cached for bool now

    @show_it.register
    def _(x: bool):
        return "bool"

    assert show_it(True) == "bool"
    assert show_it(2) == "int"


def test_local_scope_second_definition_adds():
    @typedispatch
    def g(x: int):
        return "int"

    @typedispatch
    def g(x: str):
        return "str"

    assert (g(1), g("a")) == ("int", "str")
    assert len(g) == 2


def test_same_name_in_another_function_is_separate():
    def make():
        @typedispatch
        def h(x: int):
            return "int"

        return h

    def make2():
        @typedispatch
        def h(x: str):
            return "str"

        return h

    h1, h2 = make(), make2()
    assert h1 is not h2 and len(h1) == 1 and len(h2) == 1


def test_running_a_scope_again_makes_a_new_dispatcher():
    def make(extra):
        @typedispatch
        def h(x: int):
            return "int"

        if extra:

            @typedispatch
            def h(x: str):
                return "str"

        return h

    h1, h2, h3 = make(True), make(False), make(True)
    assert len(h1) == 2 and len(h2) == 1 and len(h3) == 2 and h1 is not h3
    with pytest.raises(TypeError, match="no implementation"):
        h2("s")

    classes = []
    for _ in range(2):

        class A:
            @typedispatch
            def m(self, x: int):
                return "int"

        classes.append(A)
    assert classes[0].__dict__["m"] is not classes[1].__dict__["m"] and len(classes[1].m) == 1


def _module_function(f, globals_):
    """`f` as if defined at the top level of a module whose globals are `globals_`."""
    g = types.FunctionType(f.__code__, globals_, f.__name__)
    g.__qualname__, g.__annotations__ = f.__name__, f.__annotations__
    return g


def test_module_level_definition_extends_an_imported_dispatcher():
    def show_it(x: int):
        return "int"

    library_show = typedispatch(_module_function(show_it, {"__name__": "library"}))

    def show_it(x: str):
        return "str"

    user_globals = {"__name__": "user_module", "show_it": library_show}  # the user imported it
    assert typedispatch(_module_function(show_it, user_globals)) is library_show
    assert library_show("a") == "str" and library_show(1) == "int"


def test_methods_in_class_body_and_binding():
    class A:
        def __init__(self, k):
            self.k = k

        @typedispatch
        def m(self, x: int):
            return ("int", self.k)

        @typedispatch
        def m(self, x: str, y: int):
            return ("str-int", self.k + y)

    a = A(10)
    assert a.m(1) == ("int", 10)
    assert a.m("s", 5) == ("str-int", 15)
    assert isinstance(A.__dict__["m"], TypeDispatch) and len(A.m) == 2
    assert a.m.__name__ == "m" and a.m.implementations() == A.m.implementations()
    with pytest.raises(TypeError, match=r"A.m: no implementation for argument types \(float\)"):
        a.m(1.5)


def test_bases_are_consulted_after_own_and_see_later_additions():
    base = TypeDispatch()
    child = TypeDispatch(bases=[base])

    def on_int(x: int):
        return "base-int"

    assert child(1) == 1
    base.add(on_int)  # the child's cache must be invalidated
    assert child(1) == "base-int"

    def on_obj(x: object):
        return "child-obj"

    child.add(on_obj)
    assert child(1) == "child-obj"  # own implementations come first (as fastai)


def test_default_fallback():
    def f(x: int):
        return "int"

    td = TypeDispatch(f, default=lambda *a: ("default", a))
    assert td("s", 2) == ("default", ("s", 2))


def test_returns_and_getitem_pairs():
    def f(x: int, y: float) -> str:
        return "x"

    td = TypeDispatch(f)
    assert td[(int, float)] is f and td[(int, str)] is None
    assert td.returns(3) is None  # one argument: (int, object) does not match (int, float)

    def g(x: int) -> str:
        return "y"

    td.add(g)
    assert td.returns(3) is str


def test_repr_lists_implementations():
    r = repr(f_td_test)
    assert "f_td_test: TypeDispatch with 2 implementation(s)" in r
    assert "(Integral, object) -> f_td_test" in r and "(int, float) -> f_td_test" in r


def test_unresolvable_string_annotation_is_explained():
    def f(x: "NotDefinedAnywhere"):  # noqa: F821
        return x

    with pytest.raises(TypeError, match="cannot evaluate the annotations of .*f.*NotDefinedAnywhere"):
        TypeDispatch(f)


def test_bad_annotation_and_bad_function():
    def f(x: 3):
        return x

    with pytest.raises(TypeError, match="annotation 3 is not a class"):
        TypeDispatch(f)
    with pytest.raises(TypeError, match="expected a function, got int"):
        TypeDispatch().add(3)
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        TypeDispatch()()


def test_lookups_are_cached():
    calls = []

    class Meta(type):
        def __subclasscheck__(cls, sub):
            calls.append(sub)
            return False

    class Never(metaclass=Meta): ...

    def f(x: Never):
        return "never"

    td = TypeDispatch(f)
    td(1)
    n = len(calls)
    for _ in range(5):
        td(1)
    assert n >= 1 and len(calls) == n


# --- property tests -------------------------------------------------------------------------
@st.composite
def hierarchies(draw):
    """A random single-inheritance tree of classes, and a random subset registered."""
    n = draw(st.integers(2, 12))
    parents = [None] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    classes: list[type] = []
    for i, p in enumerate(parents):
        classes.append(type(f"K{i}", (object,) if p is None else (classes[p],), {}))
    registered = draw(st.sets(st.integers(0, n - 1), min_size=1))
    return parents, classes, sorted(registered)


def _impl(i, cls):
    def f(x: cls):
        return i

    return f


@given(hierarchies())
@settings(max_examples=60, deadline=None)
def test_property_nearest_registered_ancestor_wins(h):
    parents, classes, registered = h
    td = TypeDispatch([_impl(i, classes[i]) for i in registered])
    for i, cls in enumerate(classes):
        j: int | None = i
        while j is not None and j not in registered:
            j = parents[j]
        expected = j if j is not None else "none"
        res = td(cls())
        assert (res if isinstance(res, int) else "none") == expected


@st.composite
def dags(draw):
    """A random multiple-inheritance hierarchy (bases that give no consistent MRO are dropped)."""
    n = draw(st.integers(2, 10))
    classes: list[type] = []
    for i in range(n):
        picks = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        bases = tuple(classes[j] for j in picks) or (object,)
        try:
            classes.append(type(f"M{i}", bases, {}))
        except TypeError:  # inconsistent MRO
            classes.append(type(f"M{i}", bases[:1], {}))
    registered = draw(st.sets(st.integers(0, n - 1), min_size=1))
    return classes, sorted(registered)


@given(dags())
@settings(max_examples=60, deadline=None)
def test_property_first_registered_class_in_mro_wins(h):
    classes, registered = h
    td = TypeDispatch([_impl(i, classes[i]) for i in registered])
    reg = {classes[i]: i for i in registered}
    for cls in classes:
        expected = next((reg[m] for m in cls.__mro__ if m in reg), None)
        res = td(cls())
        assert (res if isinstance(res, int) else None) == expected


@given(hierarchies(), st.permutations(range(4)))
@settings(max_examples=40, deadline=None)
def test_property_registration_order_does_not_matter(h, perm):
    _, classes, registered = h
    impls = [_impl(i, classes[i]) for i in registered]
    td1 = TypeDispatch(impls)
    td2 = TypeDispatch(list(reversed(impls)))
    for cls in classes:
        a, b = td1(cls()), td2(cls())
        assert (a if isinstance(a, int) else None) == (b if isinstance(b, int) else None)


@given(
    st.sampled_from([bool, int, float, complex, np.int32, np.float16, np.uint8]),
    st.sampled_from([bool, int, float, str]),
)
def test_property_first_parameter_dominates(t1, t2):
    def number_any(x: numbers.Number, y):
        return "number-any"

    def real_str(x: numbers.Real, y: str):
        return "real-str"

    def integral_any(x: numbers.Integral, y):
        return "integral-any"

    td = TypeDispatch([number_any, real_str, integral_any])
    x, y = t1(1), t2(1)
    if issubclass(t1, numbers.Integral):
        assert td(x, y) == "integral-any"
    elif issubclass(t1, numbers.Real) and t2 is str:
        assert td(x, y) == "real-str"
    else:
        assert td(x, y) == "number-any"


# --- retain_type ----------------------------------------------------------------------------
class TensorTagged(torch.Tensor):
    pass


class TensorOther(torch.Tensor):
    pass


def test_retain_type_casts_superclass_and_copies_metadata():
    old = torch.tensor([1.0, 2.0]).as_subclass(TensorTagged)
    old.__dict__["img_size"] = (2, 1)
    new = torch.tensor([3.0])
    res = retain_type(new, old)
    assert type(res) is TensorTagged and res.img_size == (2, 1)
    assert torch.equal(res.as_subclass(torch.Tensor), torch.tensor([3.0]))


def test_retain_type_keeps_new_metadata_and_unrelated_types():
    old = torch.tensor([1.0]).as_subclass(TensorTagged)
    old.__dict__["k"] = "old"
    new = torch.tensor([2.0]).as_subclass(TensorTagged)
    new.__dict__["k"] = "new"
    assert retain_type(new, old).k == "new"
    assert retain_type("abc", old) == "abc"
    assert retain_type(None, old) is None
    assert retain_type(3, None) == 3


def test_retain_type_explicit_type():
    x = torch.tensor([1]).as_subclass(TensorOther)
    res = retain_type(x, typ=TensorTagged)  # sibling tensor classes: cast when asked explicitly
    assert type(res) is TensorTagged
    assert retain_type(3, typ=str) == 3  # not a superclass, not tensors: unchanged


def test_retain_type_builtin_values_unchanged():
    assert retain_type(2, True) == 2 and type(retain_type(2, True)) is int  # int -> bool would lose 2

    class Name(str):
        pass

    res = retain_type("bob", Name("alice"))
    assert type(res) is Name and res == "bob"


def test_retain_types_elementwise_and_nested():
    old = (torch.tensor([1]).as_subclass(TensorTagged), (Name2("a"), 3))
    new = (torch.tensor([2]), ("b", 4))
    res = retain_types(new, old)
    assert type(res[0]) is TensorTagged and type(res[1][0]) is Name2 and res[1][1] == 4
    res2 = retain_types([torch.tensor([1]), torch.tensor([2])], typs=[TensorTagged, TensorOther])
    assert [type(r) for r in res2] == [TensorTagged, TensorOther] and isinstance(res2, list)


class Name2(str):
    pass


# --- pickling and copying -------------------------------------------------------------------
def module_level_double(x: int):
    return x * 2


def _impl_for_str(x: str):
    return x + "!"


def test_pickle_module_level_dispatcher_by_reference():
    import pickle

    assert pickle.loads(pickle.dumps(f_td_test)) is f_td_test


def test_pickle_and_copy_unreachable_dispatcher_by_value():
    import copy
    import pickle

    base = TypeDispatch(module_level_double)
    td = TypeDispatch([_impl_for_str], bases=[base])
    td(3)
    for clone in (pickle.loads(pickle.dumps(td)), copy.deepcopy(td)):
        assert clone is not td and clone(3) == 6 and clone("a") == "a!" and clone(1.5) == 1.5
        assert len(clone) == 1 and clone.__name__ == td.__name__


def test_copied_typedispatch_still_raises_on_no_match():
    import copy

    @typedispatch
    def g(x: int):
        return x

    clone = copy.deepcopy(g)
    assert clone is not g and clone(2) == 2
    with pytest.raises(TypeError, match=r"g: no implementation for argument types \(str\)"):
        clone("s")


# --- fastai's documented examples ----------------------------------------------------------
def test_fastcore_style_single_dispatch_table():
    import typing

    def f_col(x: typing.Collection):
        return x

    def f_nin(x: numbers.Integral) -> int:
        return x + 1

    def f_ni2(x: int):
        return x

    def f_bll(x: (bool, list)):
        return x

    def f_num(x: numbers.Number):
        return x

    t = TypeDispatch([f_nin, f_ni2, f_num, f_bll, None])
    assert t[int] is f_ni2 and t[np.int32] is f_nin and t[str] is None
    assert t[float] is f_num and t[bool] is f_bll and t[list] is f_bll
    t.add(f_col)
    assert t[str] is f_col and t[np.int32] is f_nin
    o = np.int32(1)
    assert t(o) == 2 and t.returns(o) is int and t.first() is f_nin  # the first registered
    assert TypeDispatch().first() is None


def test_fastcore_style_methods_and_two_params():
    def m_nin(self, x: (str, numbers.Integral)):
        return str(x) + "1"

    def m_bll(self, x: bool):
        self.foo = "a"

    def m_num(self, x: numbers.Number):
        return x

    t = TypeDispatch([m_nin, m_num, m_bll])

    class A:
        f = t

    a = A()
    assert a.f(1) == "11" and a.f(1.0) == 1.0 and a.f.inst is a
    a.f(False)
    assert a.foo == "a" and a.f(()) == ()

    def f2(x: int, y: float):
        return x + y

    def f1(x: numbers.Integral, y):
        return x + 1

    t2 = TypeDispatch([f1, f2])
    assert t2[int] is f1 and t2[int, int] is f1 and t2[int, float] is f2
    assert t2[float, float] is None and t2[np.int32, float] is f1
    assert t2(3, 2.0) == 5.0 and t2(3, 2) == 4 and t2("a") == "a"


def test_retain_type_fastcore_examples():
    class _T(tuple):
        pass

    c = retain_type((1, 2), typ=_T)
    assert type(c) is _T and c == (1, 2)

    class _A:
        def __init__(self, t):
            self.t = t

    class _B1(_A):
        pass

    r = retain_type(_A(1), _B1(2))
    assert type(r) is _B1 and r.t == 1

    t1, t2 = retain_types((1, (1, (1, 1))), (2, _T((2, _T((3, 4))))))
    assert t1 == 1 and type(t2) is _T and type(t2[1]) is _T and t2 == (1, (1, 1))


@given(
    st.dictionaries(st.sampled_from(["img_size", "vocab", "k"]), st.integers(), max_size=3),
    st.lists(st.floats(-10, 10), min_size=1, max_size=5),
)
def test_property_retain_type_round_trips_subclass_and_metadata(meta, values):
    old = torch.tensor(values).as_subclass(TensorTagged)
    old.__dict__.update(meta)
    new = old.as_subclass(torch.Tensor) * 2  # a plain tensor, as an op on a plain view returns
    res = retain_type(new, old)
    assert type(res) is TensorTagged and {k: getattr(res, k) for k in meta} == meta
    assert torch.equal(res.as_subclass(torch.Tensor), torch.tensor(values) * 2)
    assert retain_type(res, torch.tensor(values)) is res  # a subclass result is never downcast
