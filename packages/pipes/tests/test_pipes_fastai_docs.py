"""The examples of fastcore's/fasttransform's Transform and Pipeline documentation, reproduced on
plies.pipes: users migrating from fastai get the documented values."""

import numbers
import pickle

import pytest
import torch
from plies.pipes import DisplayedTransform, ItemTransform, Pipeline, Transform, compose_tfms
from plies.typecore import L, TensorBase, store_attr


class Int(int):
    """An int that shows itself by printing (fastcore's `Int`)."""

    def show(self, ctx=None, **kwargs):  # type: ignore[no-untyped-def]
        print(self)
        return ctx


class Float(float):
    """A float that shows itself by printing (fastcore's `Float`)."""

    def show(self, ctx=None, **kwargs):  # type: ignore[no-untyped-def]
        print(self)
        return ctx


class _TImg(TensorBase):
    pass


# -- Transform ---------------------------------------------------------------------------------------
class A(Transform):
    def encodes(self, x: int):  # type: ignore[no-untyped-def]
        return x + 1

    def decodes(self, x: int):  # type: ignore[no-untyped-def]
        return x - 1


def test_transform_class_body_encodes_decodes() -> None:
    f = A()
    assert f(1) == 2 and f.decode(2) == 1
    assert f(1.0) == 1.0 and type(f(1.0)) is float  # no implementation for float: unchanged
    assert f((1, 2.0)) == (2, 2.0)  # applied to each element of a tuple
    assert f([1, 2]) == [1, 2]  # a list is one item (no list implementation)
    assert f.decode((2, 3)) == (1, 2)


def test_transform_several_encodes_in_body() -> None:
    class B(Transform):
        def encodes(self, x: int):  # type: ignore[no-untyped-def]
            return x * 2

        def encodes(self, x: str):  # type: ignore[no-untyped-def]
            return x + "s"

    f = B()
    assert f(2) == 4 and f("cat") == "cats" and f((2, "cat", 1.5)) == (4, "cats", 1.5)


def test_transform_from_function_and_lambda() -> None:
    def neg(x):  # type: ignore[no-untyped-def]
        return -x

    neg_tfm = Transform(neg, neg)
    t = neg_tfm(2)
    assert t == -2 and type(t) is int
    assert neg_tfm.decode(t) == 2
    assert neg_tfm(1.5) == -1.5
    f = Transform(lambda x: x * 2)
    assert f(3) == 6 and f((1, 2)) == (2, 4)
    assert f.decode(3) == 3  # no decodes: identity


def test_transform_decorator_on_typed_function() -> None:
    @Transform
    def neg_int(x: numbers.Integral):  # type: ignore[no-untyped-def]
        return -x

    assert isinstance(neg_int, Transform)
    assert neg_int(1) == -1
    assert neg_int(2.5) == 2.5
    assert neg_int((1, 2, 3.0)) == (-1, -2, 3.0)
    assert neg_int.name == "neg_int"


def test_transform_decorator_adds_methods_to_a_class() -> None:
    class C(Transform):
        pass

    @C
    def encodes(self, x):  # type: ignore[no-untyped-def]
        return x + 1

    @C
    def decodes(self, x):  # type: ignore[no-untyped-def]
        return x - 1

    f1 = C()
    assert f1(1) == 2 and f1.decode(2) == 1

    class D(C):
        pass

    assert D()(1) == 2  # inherited


def test_transform_keeps_semantic_type_and_casts_to_return_annotation() -> None:
    class Neg(Transform):
        def encodes(self, x: torch.Tensor):  # type: ignore[no-untyped-def]
            return -x

    img = _TImg([1.0, 2.0])
    res = Neg()(img)
    assert type(res) is _TImg and res.tolist() == [-1.0, -2.0]

    class ToBase(Transform):
        def encodes(self, x: torch.Tensor) -> TensorBase:
            return x * 2

    res2 = ToBase()(torch.tensor([1.0]))
    assert type(res2) is TensorBase and res2.tolist() == [2.0]

    class Plain(Transform):
        def encodes(self, x: torch.Tensor) -> None:
            return x.as_subclass(torch.Tensor)

    assert type(Plain()(img)) is torch.Tensor  # `-> None`: the result is kept as returned

    class ToFloat(Transform):
        def encodes(self, x: int) -> Float:
            return x / 2  # type: ignore[return-value]

    out = ToFloat()(3)
    assert type(out) is Float and out == 1.5


def test_transform_split_idx() -> None:
    class _A(Transform):
        split_idx = 0

        def encodes(self, x: int):  # type: ignore[no-untyped-def]
            return x + 1

    f = _A()
    assert f(1, split_idx=0) == 2
    assert f(1, split_idx=1) == 1
    assert f(1) == 1
    g = Transform(lambda x: x * 10, split_idx=1)
    assert g(1, split_idx=1) == 10 and g(1, split_idx=0) == 1


def test_item_transform_sees_the_whole_tuple() -> None:
    class AIT(ItemTransform):
        def encodes(self, xy):  # type: ignore[no-untyped-def]
            x, y = xy
            return (x + y, y)

        def decodes(self, xy):  # type: ignore[no-untyped-def]
            x, y = xy
            return (x - y, y)

    f = AIT()
    assert f((1, 2)) == (3, 2)
    assert f.decode((3, 2)) == (1, 2)


def test_displayed_transform_repr() -> None:
    class DT(DisplayedTransform):
        def __init__(self, a: int = 1, b: str = "x") -> None:
            super().__init__()
            store_attr()

        def encodes(self, x: int):  # type: ignore[no-untyped-def]
            return x + self.a

    t = DT(a=2)
    assert t(1) == 3
    assert t.name == "DT -- {'a': 2, 'b': 'x'}"
    assert repr(t).startswith("DT -- {'a': 2, 'b': 'x'}")
    assert "int" in repr(t)


def test_setup_builds_state() -> None:
    class Cat(Transform):
        def setups(self, items):  # type: ignore[no-untyped-def]
            self.vocab = L(items).unique().sorted()
            self.o2i = self.vocab.val2idx()

        def encodes(self, x: str):  # type: ignore[no-untyped-def]
            return self.o2i[x]

        def decodes(self, x: int):  # type: ignore[no-untyped-def]
            return self.vocab[x]

    t = Cat()
    t.setup(["dog", "cat", "dog", "bird"])
    assert t.vocab == ["bird", "cat", "dog"]
    assert t("dog") == 2 and t.decode(1) == "cat"


def test_transform_order() -> None:
    class First(Transform):
        order = -1

    assert First().order == -1 and Transform().order == 0
    assert Transform(lambda x: x, order=5).order == 5


# -- Pipeline ---------------------------------------------------------------------------------------
class IntFloatTfm(Transform):
    def encodes(self, x):  # type: ignore[no-untyped-def]
        return Int(x)

    def decodes(self, x):  # type: ignore[no-untyped-def]
        return Float(x)

    foo = 1


def _neg(x):  # type: ignore[no-untyped-def]
    return -x


def test_empty_pipeline_is_noop_and_pickles() -> None:
    pipe = Pipeline()
    assert pipe(1) == 1 and pipe((1,)) == (1,)
    pipe2 = pickle.loads(pickle.dumps(pipe))
    assert pipe2(3) == 3


def test_pipeline_docs_example(capsys: pytest.CaptureFixture[str]) -> None:
    int_tfm = IntFloatTfm()
    neg_tfm = Transform(_neg, _neg)
    pipe = Pipeline([neg_tfm, int_tfm])
    start = 2.0
    t = pipe(start)
    assert type(t) is Int and t == -2
    dec = pipe.decode(t)
    assert type(dec) is Float and dec == start
    pipe.show(t)
    assert capsys.readouterr().out == "-2\n"
    # opposite order
    pipe = Pipeline([int_tfm, neg_tfm])
    t = pipe(start)
    assert t == -2
    pipe.show(t)
    assert capsys.readouterr().out == "-2\n"


def test_pipeline_on_tuples(capsys: pytest.CaptureFixture[str]) -> None:
    pipe = Pipeline([Transform(_neg, _neg), IntFloatTfm()])
    t = pipe((2.0, 4.0))
    assert t == (-2, -4) and type(t[0]) is Int
    dec = pipe.decode(t)
    assert dec == (2.0, 4.0) and type(dec[0]) is Float and type(dec[1]) is Float
    pipe.show(t)
    assert capsys.readouterr().out == "-2\n-4\n"


def test_pipeline_instantiates_transform_classes_and_sorts_by_order() -> None:
    class Add(Transform):
        order = 1

        def encodes(self, x: int):  # type: ignore[no-untyped-def]
            return x + 1

        def decodes(self, x: int):  # type: ignore[no-untyped-def]
            return x - 1

    class Double(Transform):
        def encodes(self, x: int):  # type: ignore[no-untyped-def]
            return x * 2

        def decodes(self, x: int):  # type: ignore[no-untyped-def]
            return x // 2

    pipe = Pipeline([Add, Double])
    assert isinstance(pipe.fs[0], Double) and isinstance(pipe.fs[1], Add)
    assert pipe(3) == 7  # (3*2)+1: Double (order 0) runs before Add (order 1)
    assert pipe.decode(7) == 3
    assert pipe.decode(7, full=False) == 3  # ints have no show: full decode
    assert repr(pipe) == "Pipeline: Double -> Add"
    assert compose_tfms(3, pipe.fs) == 7
    assert compose_tfms(7, pipe.fs, is_enc=False, reverse=True) == 3


def test_pipeline_split_idx_filtering(capsys: pytest.CaptureFixture[str]) -> None:
    class B(A):
        pass

    add1 = B()
    add1.split_idx = 1
    pipe = Pipeline([Transform(_neg, _neg), A(), add1])
    start = 2
    assert pipe(start) == -1
    pipe.split_idx = 1
    assert pipe(start) == 0
    pipe.split_idx = 0
    assert pipe(start) == -1
    for split in (None, 0, 1):
        pipe.split_idx = split
        assert pipe.decode(pipe(start)) == start
    assert Pipeline([add1], split_idx=1)(1) == 2


def test_pipeline_setup_add_remove_and_attribute_gathering() -> None:
    class Cat(Transform):
        order = 1

        def setups(self, items):  # type: ignore[no-untyped-def]
            self.vocab = L(items).unique().sorted()

        def encodes(self, x: str):  # type: ignore[no-untyped-def]
            return self.vocab.index(x)

        def decodes(self, x: int):  # type: ignore[no-untyped-def]
            return self.vocab[x]

    def lower(x: str) -> str:
        return x.lower()

    pipe = Pipeline([lower, Cat])
    pipe.setup(["Dog", "cat", "DOG"])
    assert pipe.fs[1].vocab == ["cat", "dog"]  # set up on the output of `lower`
    assert pipe.cat.vocab == ["cat", "dog"]
    assert pipe.vocab == ["cat", "dog"]  # gathered from the one transform that has it
    assert pipe("CAT") == 0 and pipe.decode(1) == "dog"
    pipe.add(Transform(lambda x: x + 10, lambda x: x - 10, order=2))  # sorted by order
    assert pipe("dog") == 11 and pipe.decode(11) == "dog"
    pipe.remove(pipe.fs[-1])
    assert pipe("dog") == 1 and len(pipe) == 2


def test_displayed_transform_without_super_init_like_fastai_categorize() -> None:
    class Categorize(DisplayedTransform):
        order = 1

        def __init__(self, vocab=None, sort=True):  # type: ignore[no-untyped-def]
            store_attr()  # fastai's transforms often skip super().__init__()

        def setups(self, dsets):  # type: ignore[no-untyped-def]
            if self.vocab is None:
                self.vocab = L(dsets).unique().sorted() if self.sort else L(dsets).unique()

        def encodes(self, o: str):  # type: ignore[no-untyped-def]
            return self.vocab.index(o)

        def decodes(self, o: int):  # type: ignore[no-untyped-def]
            return self.vocab[o]

    t = Categorize()
    assert t.split_idx is None and t.order == 1
    t.setup(["b", "a", "b"])
    assert t.vocab == ["a", "b"] and t("b") == 1 and t.decode(0) == "a"
    assert t.name == "Categorize -- {'vocab': None, 'sort': True}"  # the constructor's arguments


def test_noop_and_any_annotated_functions_are_transforms():
    # `-> Any` promises no type: the result is kept as the function returns it (fastai uses noop).
    from typing import Any

    from plies.typecore import TensorBase, noop

    def as_float(x) -> Any:
        return float(x)

    assert Transform(noop)(1) == 1
    assert Pipeline([noop])((1, "a")) == (1, "a")
    assert Transform(as_float)(3) == 3.0 and type(Transform(as_float)(3)) is float
    t = TensorBase([1, 2])
    assert type(Transform(noop)(t)) is TensorBase
