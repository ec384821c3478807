"""Transform: dispatch in the class body, tuple/list rule, types kept or cast, split_idx, order, setup."""

from collections import namedtuple

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from plies.pipes import DisplayedTransform, InplaceTransform, ItemTransform, Transform
from plies.typecore import TensorBase, TensorCategory, store_attr


class NegAndShout(Transform):
    def encodes(self, x: int):
        return -x

    def encodes(self, x: str):
        return x.upper()  # each definition adds an implementation

    def decodes(self, x: int):
        return -x

    def decodes(self, x: str):
        return x.lower()


class TensorImageish(TensorBase):
    pass


def test_encodes_dispatch_by_type_and_unmatched_unchanged():
    t = NegAndShout()
    assert t(3) == -3 and t("ab") == "AB"
    assert t(1.5) == 1.5 and t(None) is None
    assert t.decode(-3) == 3 and t.decode("AB") == "ab"


def test_tuple_elementwise_list_whole():
    t = NegAndShout()
    assert t((1, "a", 2.5)) == (-1, "A", 2.5)
    assert t([1, 2]) == [1, 2]  # a list is one item: no encodes for list
    assert t((1, (2, "b"))) == (-1, (-2, "B"))  # nested tuples are processed recursively
    assert t.decode((-1, "A")) == (1, "a")


def test_namedtuple_is_one_item_and_tuple_subclass_kept():
    Point = namedtuple("Point", "x y")
    t = NegAndShout()
    assert t(Point(1, 2)) == Point(1, 2)

    class Pair(tuple):
        pass

    res = t(Pair((1, "a")))
    assert type(res) is Pair and res == (-1, "A")


def test_item_transform_sees_whole_tuple():
    class Swap(ItemTransform):
        def encodes(self, x: tuple):
            return (x[1], x[0])

        def decodes(self, x: tuple):
            return (x[1], x[0])

    t = Swap()
    assert t((1, "a")) == ("a", 1) and t.decode(("a", 1)) == (1, "a")
    assert t(5) == 5


def test_return_keeps_semantic_type_and_metadata():
    class Double(Transform):
        def encodes(self, x: torch.Tensor):
            return torch.as_tensor(x.as_subclass(torch.Tensor) * 2)

    x = TensorImageish(torch.ones(2), img_size=(1, 2))
    res = Double()(x)
    assert type(res) is TensorImageish and res.img_size == (1, 2)
    assert torch.equal(res.as_subclass(torch.Tensor), torch.full((2,), 2.0))


def test_return_annotation_casts():
    class ToCat(Transform):
        def encodes(self, x: str) -> TensorCategory:
            return torch.tensor(len(x))

        def decodes(self, x: TensorCategory):
            return "x" * int(x)

    t = ToCat()
    res = t("abc")
    assert type(res) is TensorCategory and int(res) == 3
    assert t.decode(res) == "xxx"


def test_return_annotation_none_disables_type_retention():
    class Plain(Transform):
        def encodes(self, x: torch.Tensor) -> None:
            return x.as_subclass(torch.Tensor) + 1

    class Kept(Transform):
        def encodes(self, x: torch.Tensor):
            return x.as_subclass(torch.Tensor) + 1

    x = TensorImageish(torch.zeros(1))
    assert type(Plain()(x)) is torch.Tensor and type(Kept()(x)) is TensorImageish


def test_functions_as_enc_dec_and_decorator():
    t = Transform(enc=lambda x: x + 1, dec=lambda x: x - 1)
    assert t(1) == 2 and t.decode(2) == 1

    def neg(x: int):
        return -x

    t2 = Transform(neg)
    assert t2(3) == -3 and t2("s") == "s" and t2.name == "neg"

    @Transform
    def twice(x: float):
        return x * 2

    assert isinstance(twice, Transform) and twice(1.5) == 3.0 and twice(1) == 1
    assert twice((1.0, 2)) == (2.0, 2)


def test_enc_must_be_callable():
    with pytest.raises(TypeError, match="enc must be callable, found int"):
        Transform(enc=3)


def test_split_idx_filters_calls_and_decodes():
    t = Transform(lambda x: x + 1, dec=lambda x: x - 1, split_idx=0)
    assert t(1, split_idx=0) == 2
    assert t(1, split_idx=1) == 1
    assert t(1) == 1  # a transform with a split_idx only runs when called with that split_idx
    assert t.decode(2, split_idx=0) == 1 and t.decode(2, split_idx=1) == 2

    class ValidOnly(Transform):
        split_idx = 1

        def encodes(self, x: int):
            return x * 10

    assert ValidOnly()(2, split_idx=1) == 20 and ValidOnly()(2, split_idx=0) == 2
    assert Transform(lambda x: x + 1)(1, split_idx=1) == 2  # no split_idx: runs everywhere


def test_order_class_attr_init_and_function_attr():
    class Late(Transform):
        order = 10

    assert Late().order == 10 and Late(order=3).order == 3 and Transform().order == 0

    def f(x):
        return x

    f.order = 5
    assert Transform(f).order == 5


def test_setup_dispatches_and_train_setup():
    class Vocab(Transform):
        def setups(self, items: list):
            self.vocab = sorted(set(items))

        def encodes(self, x: str):
            return self.vocab.index(x)

    t = Vocab()
    t.setup(["b", "a", "b"])
    assert t.vocab == ["a", "b"] and t("b") == 1

    class Split(list):
        train = ["z", "y"]

    t.setup(Split(["q"]), train_setup=True)
    assert t.vocab == ["y", "z"]
    t.setup(Split(["q"]), train_setup=False)
    assert t.vocab == ["q"]

    class AlwaysTrain(Vocab):
        train_setup = True

    t2 = AlwaysTrain()
    t2.setup(Split(["q"]))
    assert t2.vocab == ["y", "z"]


def test_subclass_extends_parent_and_parent_unchanged():
    class Child(NegAndShout):
        def encodes(self, x: float):
            return x * 100

        def encodes(self, x: int):
            return x + 1000  # overrides the parent's int

    c = Child()
    assert c(1.5) == 150.0 and c(1) == 1001 and c("a") == "A"  # str comes from the parent
    assert c.decode(-2) == 2
    assert NegAndShout()(1.5) == 1.5 and NegAndShout()(1) == -1


def test_extend_class_from_outside():
    class Base(Transform):
        def encodes(self, x: int):
            return x + 1

    @Base
    def encodes(self, x: str):
        return x + "!"

    assert Base()("a") == "a!" and Base()(1) == 2
    assert callable(encodes)  # the decorator returns the function

    @Base.decodes.register
    def _(self, x: int):
        return x - 1

    assert Base().decode(2) == 1


def test_kwargs_reach_encodes_and_typos_raise():
    class Scale(Transform):
        def encodes(self, x: int, factor=2):
            return x * factor

    t = Scale()
    assert t(3) == 6 and t(3, factor=5) == 15
    with pytest.raises(TypeError, match="factr"):
        t(3, factr=5)


def test_inplace_transform_returns_input():
    class Append(InplaceTransform):
        def encodes(self, x: list):
            x.append(1)

    lst = [0]
    res = Append()(lst)
    assert res is lst and lst == [0, 1]


def test_repr_and_displayed_transform():
    r = repr(NegAndShout())
    assert r == "NegAndShout:\nencodes: int, str\ndecodes: int, str"
    assert "encodes: (none)" in repr(Transform())

    class Add(DisplayedTransform):
        def __init__(self, n=1):
            super().__init__()
            store_attr()

        def encodes(self, x: int):
            return x + self.n

    a = Add(n=3)
    assert a.name == "Add -- {'n': 3}"
    assert repr(a) == "Add -- {'n': 3}\n(encodes: int | decodes: (none))"
    assert a(1) == 4


def test_methods_are_bound_dispatchers():
    t = NegAndShout()
    assert t.encodes(2) == -2 and t.encodes.returns(2) is None
    assert len(NegAndShout.encodes) == 2


leaves = st.one_of(st.integers(), st.text(alphabet="abcXYZ", max_size=4), st.floats(allow_nan=False))
containers = lambda inner: st.tuples(inner, inner) | st.lists(inner, max_size=3)
values = st.recursive(leaves, containers, max_leaves=8)


@given(values)
def test_property_decode_inverts_encode_and_keeps_structure(x):
    t = NegAndShout()
    y = t(x)
    assert type(y) is type(x)
    if isinstance(x, tuple):
        assert len(y) == len(x)
    if isinstance(x, list):
        assert y == x  # lists are one item: untouched
    lowered = _lower(x)
    assert t.decode(t(lowered)) == lowered


def _lower(x):
    if isinstance(x, tuple):
        return tuple(_lower(o) for o in x)
    return x.lower() if isinstance(x, str) else x


def _plus_ten(x: int):
    return x + 10


def test_pickle_and_deepcopy_transforms():
    import copy
    import pickle

    t = NegAndShout()
    t2 = Transform(_plus_ten, split_idx=1)
    for clone in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t)):
        assert type(clone) is NegAndShout and clone((1, "a")) == (-1, "A")
    for clone in (pickle.loads(pickle.dumps(t2)), copy.deepcopy(t2)):
        assert clone(1, split_idx=1) == 11 and clone(1) == 1 and clone.name == "_plus_ten"


def test_class_dispatchers_pickle_by_reference():
    import pickle

    assert pickle.loads(pickle.dumps(NegAndShout.encodes)) is NegAndShout.encodes
    assert NegAndShout.encodes.__qualname__ == "NegAndShout.encodes"


def neg_int(x: int):
    return -x


def shout(x: str):
    return x.upper()


def whisper(x: str):
    return x.lower()


def test_lists_of_typed_functions_build_one_dispatching_transform():
    t = Transform(enc=[neg_int, shout], dec=[neg_int, whisper])
    assert t(3) == -3 and t("ab") == "AB" and t(2.5) == 2.5  # unmatched: unchanged
    assert t((1, "a")) == (-1, "A")  # still element-wise over tuples
    assert t.decode(-3) == 3 and t.decode("AB") == "ab"
    assert t.name == "neg_int"  # named after the first function
    assert repr(t) == "neg_int:\nencodes: int, str\ndecodes: int, str"
    assert Transform([shout, neg_int])(4) == -4  # enc is the first positional argument
    assert Transform(enc=(shout,))("x") == "X"


def test_function_lists_refuse_non_callables_and_emptiness():
    with pytest.raises(
        TypeError, match=r"Transform: enc\[1\] must be callable, found int 3 \(enc takes a function or a list"
    ):
        Transform(enc=[neg_int, 3])
    with pytest.raises(TypeError, match=r"Transform: dec must be callable, found str 'x'"):
        Transform(enc=neg_int, dec="x")
    with pytest.raises(TypeError, match="Transform: enc is an empty list; give at least one function"):
        Transform(enc=[])


def test_displayed_transform_shows_positional_and_default_init_arguments():
    class Scale(DisplayedTransform):
        def __init__(self, factor, offset=0.0, *extra, **options):
            super().__init__()  # no store_attr: the name comes from the recorded constructor call
            self.factor, self.offset = factor, offset

        def encodes(self, x: float):
            return x * self.factor + self.offset

    assert Scale(2.0).name == "Scale -- {'factor': 2.0, 'offset': 0.0}"
    assert (
        Scale(2.0, 1.0, 7, mode="a").name
        == "Scale -- {'factor': 2.0, 'offset': 1.0, 'extra': [7], 'mode': 'a'}"
    )
    assert repr(Scale(3)).startswith("Scale -- {'factor': 3, 'offset': 0.0}\n(encodes: float")
    # Transform's own constructor: only the arguments given
    assert DisplayedTransform(neg_int, order=3).name.startswith("neg_int -- {'enc': <function neg_int")
    assert DisplayedTransform(neg_int, order=3).name.endswith("'order': 3}")
