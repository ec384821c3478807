"""`patch`, `patch_to`, `delegates` and `funcs_kwargs`."""

import inspect
from typing import Union

import pytest
from plies.typecore import delegates, funcs_kwargs, patch, patch_to


class A:
    def __init__(self, x: int = 1) -> None:
        self.x = x


class B:
    def __init__(self, x: int = 2) -> None:
        self.x = x


def test_patch_adds_method_from_annotation() -> None:
    class C:
        x = 3

    @patch
    def double(self: C, k: int = 2) -> int:
        """Twice x."""
        return self.x * k

    assert C().double() == 6 and C().double(3) == 9
    assert C.double.__qualname__.endswith("<locals>.C.double") and C.double.__doc__ == "Twice x."


def test_patch_several_classes_via_union_and_tuple() -> None:
    @patch
    def plus(self: Union[A, B], k: int) -> int:  # noqa: UP007 - the typing.Union spelling is the case tested
        return self.x + k

    assert A().plus(1) == 2 and B().plus(1) == 3

    @patch
    def minus(self: A | B, k: int) -> int:
        return self.x - k

    assert A().minus(1) == 0 and B().minus(1) == 1

    @patch_to((A, B))
    def times(self, k: int) -> int:
        return self.x * k

    assert A().times(5) == 5 and B().times(5) == 10
    assert A.times is not B.times and B.times.__qualname__ == "B.times"


def test_patch_resolves_string_annotations() -> None:
    @patch
    def as_text(self: "A") -> str:
        return f"A({self.x})"

    assert A(5).as_text() == "A(5)"


def test_patch_property_and_classmethod() -> None:
    class C:
        x = 4

    @patch(as_prop=True)
    def half(self: C) -> float:
        return self.x / 2

    @patch_to(C, cls_method=True)
    def make(cls, x: int) -> C:
        obj = cls()
        obj.x = x
        return obj

    assert C().half == 2.0 and isinstance(vars(C)["half"], property)
    assert C.make(10).half == 5.0 and type(C.make(1)) is C


def test_patch_errors() -> None:
    with pytest.raises(TypeError, match="annotate the first parameter of f with the class to patch"):

        @patch
        def f(self, x):  # type: ignore[no-untyped-def]
            return x

    with pytest.raises(TypeError, match="expected a class, a tuple of classes or a Union, found 3"):
        patch_to(3)
    with pytest.raises(ValueError, match="cannot both be True"):
        patch_to(A, as_prop=True, cls_method=True)


def base_fn(a: int, b: int = 2, c: str = "x", *, d: float = 0.5) -> tuple:
    return a, b, c, d


def test_delegates_function_signature_shows_defaults_and_drops_kwargs() -> None:
    @delegates(base_fn)
    def f(a: int, b: int = 10, **kwargs):  # type: ignore[no-untyped-def]
        return base_fn(a, b, **kwargs)

    sig = inspect.signature(f)
    assert str(sig) == "(a: int, b: int = 10, *, c: str = 'x', d: float = 0.5)"
    assert sig.parameters["c"].default == "x" and sig.parameters["c"].kind is inspect.Parameter.KEYWORD_ONLY
    assert f(1, c="y") == (1, 10, "y", 0.5)


def test_delegates_keep_and_but() -> None:
    @delegates(base_fn, keep=True, but=["d"])
    def f(a: int, **kwargs):  # type: ignore[no-untyped-def]
        return kwargs

    assert list(inspect.signature(f).parameters) == ["a", "b", "c", "kwargs"]

    @delegates(base_fn, but="b, c")
    def g(**kwargs):  # type: ignore[no-untyped-def]
        return kwargs

    assert list(inspect.signature(g).parameters) == ["d"]


def test_delegates_class_to_base_init_and_to_a_class() -> None:
    class Base:
        def __init__(self, lr: float = 0.1, wd: float = 0.0, cbs: list | None = None) -> None:
            self.lr, self.wd = lr, wd

    @delegates()
    class Child(Base):
        def __init__(self, n: int = 1, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(**kwargs)

    assert str(inspect.signature(Child)) == (
        "(n: int = 1, *, lr: float = 0.1, wd: float = 0.0, cbs: list | None = None) -> None"
    )
    assert Child(lr=0.5).lr == 0.5

    @delegates(Base)
    def make(n: int, **kwargs) -> Base:  # type: ignore[no-untyped-def]
        return Base(**kwargs)

    assert list(inspect.signature(make).parameters) == ["n", "lr", "wd", "cbs"]


def test_delegates_without_kwargs_is_an_error() -> None:
    with pytest.raises(TypeError, match="has no \\*\\*kwargs to delegate"):

        @delegates(base_fn)
        def f(a: int) -> int:
            return a

    with pytest.raises(TypeError, match="delegates\\(to=None\\) decorates a class"):
        delegates()(base_fn)

    class NoInit(A):
        pass

    with pytest.raises(TypeError, match="NoInit defines no __init__ of its own to delegate from"):
        delegates()(NoInit)
    assert "x" in inspect.signature(A).parameters


@funcs_kwargs
class Loader:
    _methods = ["create_batch", "before_iter"]

    def __init__(self, items: list | None = None, bs: int = 2, shuffle: bool = False, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.items, self.bs, self.shuffle = items or [], bs, shuffle

    def create_batch(self, b: list) -> list:
        return b

    def before_iter(self) -> str:
        return "default"


def test_funcs_kwargs_replace_by_keyword_is_called_without_self() -> None:
    dl = Loader([1, 2, 3], create_batch=lambda b: [x * 10 for x in b])
    assert dl.create_batch([1, 2]) == [10, 20]
    assert dl.before_iter() == "default" and Loader().create_batch([1]) == [1]
    assert dl.bs == 2 and dl.items == [1, 2, 3]


def test_funcs_kwargs_replace_by_subclass() -> None:
    class Sub(Loader):
        def before_iter(self) -> str:
            return f"sub with bs={self.bs}"

    assert Sub(bs=4).before_iter() == "sub with bs=4"
    assert Sub(before_iter=lambda: "kw").before_iter() == "kw"


def test_funcs_kwargs_bound_methods_are_rebound_to_the_new_object() -> None:
    class Sub(Loader):
        def create_batch(self, b: list) -> list:
            return [self.bs] * len(b)

    old = Sub(bs=3)
    new = Loader(bs=7, create_batch=old.create_batch)
    assert new.create_batch([0, 0]) == [7, 7]


def test_funcs_kwargs_as_method_passes_self() -> None:
    @funcs_kwargs(as_method=True)
    class M:
        _methods = ["f"]

        def __init__(self, k: int = 3) -> None:
            self.k = k

        def f(self) -> int:
            return 0

    assert M(f=lambda self: self.k * 2).f() == 6


def test_funcs_kwargs_rejects_unknown_keywords_with_suggestion() -> None:
    with pytest.raises(
        TypeError,
        match="Loader\\(\\) got unexpected keyword argument\\(s\\) 'shufle' \\(did you mean 'shuffle'\\?\\)",
    ):
        Loader(shufle=True)
    with pytest.raises(
        TypeError,
        match="'zzz'; it accepts bs, items, shuffle and the replaceable methods create_batch, before_iter",
    ):
        Loader(zzz=1)


def test_funcs_kwargs_follows_kwargs_chain_to_base_init() -> None:
    @funcs_kwargs
    class Tfmd(Loader):
        _methods = Loader._methods + ["after_item"]

        def __init__(self, items: list | None = None, tfm: str = "t", **kwargs) -> None:  # type: ignore[no-untyped-def]
            self.tfm = tfm
            super().__init__(items, **kwargs)

        def after_item(self, x: int) -> int:
            return x

    t = Tfmd([1], tfm="u", bs=5, after_item=lambda x: -x, create_batch=lambda b: b[::-1])
    assert (t.tfm, t.bs, t.after_item(2), t.create_batch([1, 2])) == ("u", 5, -2, [2, 1])
    with pytest.raises(TypeError, match="'shufle' \\(did you mean 'shuffle'\\?\\)"):
        Tfmd(shufle=True)


def test_funcs_kwargs_signature_lists_methods() -> None:
    @funcs_kwargs
    class T:
        _methods = ["b"]

        def __init__(self, f=1, **kwargs):  # type: ignore[no-untyped-def]
            pass

        def b(self):  # type: ignore[no-untyped-def]
            return 2

    assert str(inspect.signature(T)) == "(f=1, *, b=None)"
    assert T().b() == 2 and T(b=lambda: 3).b() == 3
    with pytest.raises(TypeError, match="'a'"):
        T(a=lambda: 3)
    sig = inspect.signature(Loader)
    assert sig.parameters["create_batch"].default is None
    assert sig.parameters["create_batch"].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(sig.parameters)[:3] == ["items", "bs", "shuffle"]


def test_funcs_kwargs_without_kwargs_in_init() -> None:
    @funcs_kwargs
    class Plain:
        _methods = ["f"]

        def __init__(self, a: int = 1) -> None:
            self.a = a

        def f(self) -> str:
            return "f"

    assert Plain(a=2, f=lambda: "g").f() == "g"
    with pytest.raises(TypeError, match="Plain\\(\\) got unexpected keyword argument\\(s\\) 'b'"):
        Plain(b=2)


def test_check_kwargs_suggests_the_closest_name():
    from plies.typecore import check_kwargs

    @check_kwargs
    def fit_one_cycle(n_epoch: int, lr_max: float = 1e-3, div: float = 25.0) -> float:
        return n_epoch * lr_max * div

    assert fit_one_cycle(2, lr_max=0.5, div=2.0) == 2.0
    with pytest.raises(
        TypeError,
        match=r"fit_one_cycle\(\) got unexpected keyword argument\(s\) 'lr_mx' "
        r"\(did you mean 'lr_max'\?\); it accepts div, lr_max, n_epoch",
    ):
        fit_one_cycle(1, lr_mx=0.1)


def test_check_kwargs_leaves_var_keyword_functions_alone():
    from plies.typecore import check_kwargs

    @check_kwargs
    def f(a: int, **kwargs: int) -> int:
        return a + sum(kwargs.values())

    assert f(1, b=2, c=3) == 6


def test_check_kwargs_reads_the_delegated_signature():
    from plies.typecore import check_kwargs, delegates

    def base(x: int, scale: int = 1) -> int:
        return x * scale

    @check_kwargs
    @delegates(base)
    def top(x: int, **kwargs: int) -> int:
        return base(x, **kwargs)

    assert top(2, scale=3) == 6
    with pytest.raises(TypeError, match=r"'scal' \(did you mean 'scale'\?\)"):
        top(2, scal=3)


def test_check_kwargs_suggests_a_name_the_keyword_begins():
    from plies.typecore import check_kwargs

    @check_kwargs
    def fit_one_cycle(n_epoch: int, lr_max: float = 1e-3, pct_start: float = 0.25) -> float:
        return n_epoch * lr_max

    with pytest.raises(TypeError, match=r"'lr' \(did you mean 'lr_max'\?\)"):
        fit_one_cycle(1, lr=0.1)


def test_accepted_kwargs_follows_the_init_chain_and_reports_open_signatures():
    from plies.typecore import accepted_kwargs

    @funcs_kwargs
    class Loader:
        _methods = ["create_item"]

        def __init__(self, data=None, bs: int = 1, **kwargs) -> None:
            self.data, self.bs = data, bs

        def create_item(self, i):
            return i

    class Shuffled(Loader):
        def __init__(self, data=None, shuffle: bool = True, **kwargs) -> None:
            super().__init__(data, **kwargs)

    assert accepted_kwargs(Loader) == {"data", "bs", "create_item"}
    assert accepted_kwargs(Shuffled) == {"data", "shuffle", "bs", "create_item"}
    assert accepted_kwargs(A) == {"x"}

    def f(a: int, *, b: int = 1) -> int:
        return a + b

    def g(a: int, **kwargs: int) -> int:
        return a

    assert accepted_kwargs(f) == {"a", "b"} and accepted_kwargs(g) is None
    with pytest.raises(TypeError, match="accepted_kwargs: expected a class or a callable, found int"):
        accepted_kwargs(3)
