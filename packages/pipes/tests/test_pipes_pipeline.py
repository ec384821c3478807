"""Pipeline: order, composition, setup order, decode full/partial, show, add/remove, repr."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plies.pipes import Pipeline, Transform, compose_tfms, mk_transform


class AddN(Transform):
    def __init__(self, n=1, order=None):
        super().__init__(order=order)
        self.n = n

    def encodes(self, x: int):
        return x + self.n

    def decodes(self, x: int):
        return x - self.n


class Times(Transform):
    order = 5

    def __init__(self, k=2):
        super().__init__()
        self.k = k

    def encodes(self, x: int):
        return x * self.k

    def decodes(self, x: int):
        return x // self.k


class Shown:
    """A value that can show itself: appends to the ctx list."""

    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        return isinstance(other, Shown) and other.v == self.v

    def show(self, ctx=None, **kwargs):
        ctx = [] if ctx is None else ctx
        ctx.append((self.v, kwargs))
        return ctx


class ToShown(Transform):
    def encodes(self, x: Shown):
        return x.v * 10

    def decodes(self, x: int):
        return Shown(x // 10)


def test_sorted_by_order_stably_and_called_in_turn():
    a, b, c = AddN(1), Times(3), AddN(10)
    p = Pipeline([b, a, c])
    assert list(p.fs) == [a, c, b]  # order 0, 0 (given order kept), then 5
    assert p(1) == (1 + 1 + 10) * 3
    assert p.decode(p(1)) == 1


def test_functions_classes_and_single_transform():
    p = Pipeline([lambda x: x + 1, Times])
    assert p(1) == 4 and isinstance(p[0], Transform) and isinstance(p[1], Times)
    assert len(Pipeline(AddN(2))) == 1 and Pipeline(AddN(2))(1) == 3
    assert Pipeline()(5) == 5 and len(Pipeline()) == 0
    assert len(Pipeline(p)) == 2


def test_split_idx_passed_to_every_transform():
    only_train = Transform(lambda x: x + 1, split_idx=0)
    assert Pipeline([only_train], split_idx=0)(1) == 2
    assert Pipeline([only_train], split_idx=1)(1) == 1
    assert Pipeline([only_train])(1) == 1


def test_setup_sees_items_mapped_through_previous_transforms():
    seen = {}

    class Record(Transform):
        def __init__(self, key, order=0):
            super().__init__(order=order)
            self.key = key

        def setups(self, items):
            seen[self.key] = list(items)

        def encodes(self, x: int):
            return x * 10

    p = Pipeline([Record("second", order=1), Record("first", order=0), Record("third", order=2)])
    p.setup([1, 2])
    assert seen == {"first": [1, 2], "second": [10, 20], "third": [100, 200]}


def test_setup_train_subset_and_first_transform_gets_raw_items():
    seen = []

    class Items(list):
        @property
        def train(self):
            return self[:1]

    class Rec(Transform):
        def setups(self, items):
            seen.append((type(items).__name__, list(items)))

    p = Pipeline([AddN(1), Rec()])
    raw = Items([1, 2, 3])
    p.setup(raw, train_setup=True)
    assert seen == [("_MappedItems", [2])]

    class Typed(Transform):
        def setups(self, items: Items):
            seen.append("typed")

    Pipeline([Typed()]).setup(raw)
    assert seen[-1] == "typed"  # the first transform receives the source itself (dispatch on it)


def test_mapped_items_sequence_protocol():
    views = []

    class Keep(Transform):
        def setups(self, items):
            views.append(items)

    p = Pipeline([AddN(1), Keep()])
    p.setup([1, 2, 3])
    v = views[0]
    assert len(v) == 3 and v[0] == 2 and list(v[1:]) == [3, 4] and "3 items" in repr(v)


def test_decode_full_and_partial():
    p = Pipeline([ToShown(), AddN(1)])
    enc = p(Shown(2))
    assert enc == 21
    assert p.decode(enc) == Shown(2)
    assert p.decode(enc, full=False) == Shown(2)
    p2 = Pipeline([AddN(1), ToShown()])
    assert p2.decode(30, full=False) == Shown(3)  # stops at the first showable object
    assert p2.decode(30) == Shown(3)  # AddN.decodes has no implementation for Shown: unchanged

    class Unwrap(Transform):
        def decodes(self, x: Shown):
            return x.v

    p4 = Pipeline([Unwrap(), ToShown()])
    assert p4.decode(30, full=False) == Shown(3) and p4.decode(30) == 3
    p3 = Pipeline([ToShown(), AddN(1), Times(2)])
    assert p3.decode(42, full=False) == Shown(2)


def test_show_decodes_until_showable():
    p = Pipeline([ToShown(), AddN(1)])
    ctx = p.show(p(Shown(4)), color="red")
    assert ctx == [(4, {"color": "red"})]
    ctx = p.show((p(Shown(1)), p(Shown(2))))  # a tuple: each element shows on the same ctx
    assert ctx == [(1, {}), (2, {})]


def test_show_raises_when_nothing_can_show():
    with pytest.raises(TypeError, match=r"Pipeline.show: the decoded object \(int\) has no show method"):
        Pipeline([AddN(1)]).show(3)


def test_add_remove_getitem_len_repr_getattr():
    p = Pipeline([AddN(1)])
    t = Times(2)
    p.add(t)
    assert len(p) == 2 and p[1] is t and p[-1] is t
    assert repr(p) == "Pipeline: AddN -> Times"
    assert p.times is t and p.add_n is p[0]
    with pytest.raises(AttributeError, match="no attribute 'categorize'"):
        _ = p.categorize
    p.remove(t)
    assert len(p) == 1 and repr(p) == "Pipeline: AddN"
    p.add([Times(2), Times(3)])
    p.remove(Times)
    assert repr(p) == "Pipeline: AddN"
    with pytest.raises(ValueError, match="'Times' is not in the pipeline"):
        p.remove(Times)
    assert repr(Pipeline()) == "Pipeline: (empty)"


def test_add_sets_up_on_items_mapped_through_current():
    seen = []

    class Rec(Transform):
        order = 10

        def setups(self, items):
            seen.append(list(items))

    p = Pipeline([AddN(5)])
    p.add(Rec(), items=[1, 2])
    assert seen == [[6, 7]]


def test_compose_tfms_and_mk_transform():
    tfms = [AddN(1), Times(3)]
    assert compose_tfms(1, tfms) == 6
    assert compose_tfms(1, tfms, reverse=True) == 4
    assert compose_tfms(6, tfms, is_enc=False, reverse=True) == 1
    assert isinstance(mk_transform(lambda x: x), Transform)
    assert isinstance(mk_transform(Times), Times)
    p = Pipeline()
    assert mk_transform(p) is p
    with pytest.raises(TypeError, match="expected a Transform or a callable, found int"):
        mk_transform(3)


@given(
    st.lists(st.tuples(st.sampled_from(["add", "times"]), st.integers(1, 5), st.integers(0, 3)), max_size=6),
    st.integers(-1000, 1000),
)
def test_property_decode_inverts_any_pipeline(spec, x):
    tfms = [AddN(v, order=o) if kind == "add" else Times(v) for kind, v, o in spec]
    p = Pipeline(tfms)
    orders = [t.order for t in p.fs]
    assert orders == sorted(orders)
    assert p.decode(p(x)) == x
    assert p((x, x)) == (p(x), p(x))


def test_pipeline_from_any_iterable_and_pickle():
    import pickle

    p = Pipeline(t for t in (Times(3), AddN(2)))
    assert repr(p) == "Pipeline: AddN -> Times" and p(1) == 9
    clone = pickle.loads(pickle.dumps(p))
    assert clone(1) == 9 and clone.decode(9) == 1 and repr(clone) == repr(p)


def test_neighbours_that_can_fuse_run_as_one():
    class Shift(Transform):
        order = 5

        def __init__(self, by: int) -> None:
            super().__init__()
            self.by = by

        def encodes(self, x: int) -> int:
            return x + self.by

        def fuse(self, other):
            return Shift(self.by + other.by) if isinstance(other, Shift) else None

    class Double(Transform):
        order = 1

        def encodes(self, x: int) -> int:
            return 2 * x

    pipe = Pipeline([Shift(1), Double(), Shift(10)])
    assert [type(f).__name__ for f in pipe.fs] == ["Double", "Shift"] and pipe.fs[1].by == 11
    assert pipe(3) == 2 * 3 + 11
    pipe.add(Shift(100))
    assert len(pipe.fs) == 2 and pipe.fs[1].by == 111
