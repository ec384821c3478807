"""Plain-data state: check_plain_data, Transform/Pipeline state round trips, the registry, refusals."""

import enum
import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from plies.pipes import (
    DisplayedTransform,
    ItemTransform,
    Pipeline,
    Transform,
    check_plain_data,
    register_transform,
)
from plies.typecore import TensorBase, TensorCategory


@register_transform
class Categorize(DisplayedTransform):
    _state_attrs = ("vocab",)

    def __init__(self, vocab=None, sort=True):
        super().__init__()
        self.vocab, self.sort = vocab, sort

    def setups(self, items):
        if self.vocab is None:
            self.vocab = sorted(set(items)) if self.sort else list(dict.fromkeys(items))

    def encodes(self, x: str) -> TensorCategory:
        return torch.tensor(self.vocab.index(x))

    def decodes(self, x: TensorCategory):
        return self.vocab[int(x)]


@register_transform(name="tests.Normalize")
class Normalize(Transform):
    order = 2
    _state_attrs = ("mean", "std")

    def __init__(self, mean=None, std=None):
        super().__init__()
        self.mean, self.std = mean, std

    def setups(self, items):
        t = torch.stack(list(items)).float()
        self.mean, self.std = t.mean(0), t.std(0)

    def encodes(self, x: torch.Tensor):
        return (x - self.mean) / self.std

    def decodes(self, x: torch.Tensor):
        return x * self.std + self.mean


@register_transform
def add_one(x: int):
    return x + 1


@register_transform
def sub_one(x: int):
    return x - 1


# --- check_plain_data -----------------------------------------------------------------------
def test_plain_data_accepted_and_returned():
    d = {"a": [1, 2.5, "s", None, True], "b": (torch.zeros(2), {"c": {3: "x"}})}
    assert check_plain_data(d) is d


@pytest.mark.parametrize(
    "bad, path, found",
    [
        ({"a": [1, {"b": object()}]}, r"state\['a'\]\[1\]\['b'\]", "builtins.object"),
        ([1, {1, 2}], r"state\[1\]", "builtins.set"),
        ({"f": len}, r"state\['f'\]", "builtin_function_or_method"),
        ({"t": TensorBase(torch.zeros(1))}, r"state\['t'\]", r"TensorBase \(a torch.Tensor subclass"),
    ],
)
def test_plain_data_rejects_with_path(bad, path, found):
    with pytest.raises(TypeError, match=rf"{path}: expected plain data .* found .*{found}"):
        check_plain_data(bad)


def test_plain_data_keys_subclasses_cycles_and_where():
    with pytest.raises(TypeError, match=r"export: dict keys must be str or int, found tuple"):
        check_plain_data({(1, 2): 3}, where="export")

    class MyStr(str):
        pass

    with pytest.raises(TypeError, match=r"state\[0\]: .*subclass of str: convert it to a plain str"):
        check_plain_data([MyStr("a")])
    cyc: list = []
    cyc.append(cyc)
    with pytest.raises(TypeError, match="reference cycle"):
        check_plain_data(cyc)
    shared = [1]
    assert check_plain_data([shared, shared]) == [[1], [1]]  # shared, not cyclic: fine


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=10,
    )
)
def test_property_json_values_are_plain(v):
    assert check_plain_data(v) is v


# --- Transform state --------------------------------------------------------------------------
def test_transform_state_dict_default_and_load():
    c = Categorize()
    c.setup(["b", "a", "b"])
    assert c.state_dict() == {"split_idx": None, "order": 0, "vocab": ["a", "b"]}
    c2 = Categorize()
    c2.load_state_dict(c.state_dict())
    assert c2("b").item() == 1 and c2.decode(TensorCategory(torch.tensor(0))) == "a"
    with pytest.raises(KeyError, match=r"unexpected keys \['vocabulary'\]"):
        c2.load_state_dict({"vocabulary": []})


def test_transform_state_tensor_subclass_stored_plain():
    n = Normalize(mean=TensorBase(torch.ones(2)), std=torch.ones(2))
    sd = n.state_dict()
    assert type(sd["mean"]) is torch.Tensor and sd["order"] == 2


def test_transform_state_not_plain_raises():
    c = Categorize(vocab={"a", "b"})
    with pytest.raises(TypeError, match=r"Categorize .*state_dict\(\)\['vocab'\]: expected plain data.*set"):
        c.state_dict()


# --- Pipeline state ---------------------------------------------------------------------------
def test_pipeline_round_trip_with_tensors_and_kwargs():
    items = [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 6.0])]
    p = Pipeline([Normalize()], split_idx=0)
    p.setup(items)
    sd = p.state_dict()
    entry = sd["transforms"][0]
    assert entry["type"] == "tests.Normalize" and entry["args"] == [] and entry["kwargs"] == {}
    assert torch.equal(entry["state"]["mean"], torch.tensor([2.0, 4.0]))
    p2 = Pipeline.from_state_dict(sd)
    assert p2.split_idx == 0 and isinstance(p2[0], Normalize) and p2[0] is not p[0]
    x = torch.tensor([5.0, 5.0])
    assert torch.allclose(p2(x), p(x)) and torch.allclose(p2.decode(p2(x)), x)


def test_pipeline_round_trip_through_json():
    c = Categorize(sort=False)
    p = Pipeline([c, Transform(add_one, sub_one, split_idx=1)])
    p.setup(["z", "a", "z"])
    sd = json.loads(json.dumps(p.state_dict()))
    assert sd["transforms"][0]["kwargs"] == {"sort": False}
    fn_entry = sd["transforms"][1]
    assert fn_entry["type"] == "plies.pipes.Transform"
    assert fn_entry["args"] == [
        {"__function__": f"{__name__}.add_one"},
        {"__function__": f"{__name__}.sub_one"},
    ]
    assert fn_entry["kwargs"] == {"split_idx": 1}
    p2 = Pipeline.from_state_dict(sd)
    assert p2[0].vocab == ["z", "a"] and p2[0].sort is False
    assert p2[1](1, split_idx=1) == 2 and p2[1].decode(2, split_idx=1) == 1 and p2[1](1) == 1
    assert repr(p2) == repr(p)


def test_registered_function_directly_in_pipeline_and_nested_pipeline():
    inner = Pipeline([add_one])
    p = Pipeline([inner, ItemTransform(add_one)])
    sd = p.state_dict()
    assert sd["transforms"][0]["type"] == "plies.pipes.Pipeline"
    p2 = Pipeline.from_state_dict(sd)
    assert p2(1) == 3 and isinstance(p2[0], Pipeline) and isinstance(p2[1], ItemTransform)


def test_load_state_dict_into_existing_pipeline():
    p = Pipeline([Categorize()])
    p.setup(["b", "a"])
    q = Pipeline([Categorize()])
    q.load_state_dict(p.state_dict())
    assert q[0].vocab == ["a", "b"]
    with pytest.raises(ValueError, match="the state has 1 transforms, the pipeline 2"):
        Pipeline([Categorize(), Normalize()]).load_state_dict(p.state_dict())
    with pytest.raises(ValueError, match="transform 0 is tests.Normalize, the state has"):
        Pipeline([Normalize()]).load_state_dict(p.state_dict())


# --- refusals -------------------------------------------------------------------------------
def test_unregistered_class_and_function_refused_at_save():
    class Unlisted(Transform):
        def encodes(self, x: int):
            return x

    with pytest.raises(
        KeyError,
        match=r"transform 0 \(Unlisted\): the class .*Unlisted is not registered.*"
        r"@plies.pipes.register_transform",
    ):
        Pipeline([Unlisted()]).state_dict()

    def helper(x):
        return x

    with pytest.raises(KeyError, match=r"the function .*helper is not registered"):
        Pipeline([helper]).state_dict()
    with pytest.raises(KeyError, match="<lambda> is not registered"):
        Pipeline([lambda x: x]).state_dict()


def test_non_plain_constructor_argument_refused():
    c = Categorize(vocab=["a"], sort=object())
    with pytest.raises(TypeError, match=r"constructor arguments\['kwargs'\]\['sort'\]: expected plain data"):
        Pipeline([c]).state_dict()


def test_unknown_type_in_state_refused_without_importing():
    bad = {
        "split_idx": None,
        "transforms": [{"type": "os.system", "args": ["echo hi"], "kwargs": {}, "state": {}}],
    }
    with pytest.raises(
        KeyError,
        match=r"unknown transform type 'os.system' \(not registered\)"
        r"\. Registered: .+\. Import the module.*register_transform",
    ):
        Pipeline.from_state_dict(bad)
    fn_ref = {
        "split_idx": None,
        "transforms": [
            {
                "type": "plies.pipes.Transform",
                "args": [{"__function__": "builtins.eval"}],
                "kwargs": {},
                "state": {},
            }
        ],
    }
    with pytest.raises(KeyError, match="unknown transform type 'builtins.eval'"):
        Pipeline.from_state_dict(fn_ref)
    with pytest.raises(ValueError, match="expected a dict with a 'transforms' list"):
        Pipeline.from_state_dict({"fs": []})
    with pytest.raises(ValueError, match="expected a dict with a 'type' entry"):
        Pipeline.from_state_dict({"transforms": [3]})


def test_default_registered_name_drops_private_modules():
    def f(x):
        return x

    f.__module__, f.__qualname__ = "mypkg._impl._more", "f"
    register_transform(f)
    g = Transform(f)
    assert Pipeline([g]).state_dict()["transforms"][0]["args"] == [{"__function__": "mypkg.f"}]

    def h(x):
        return x

    h.__module__, h.__qualname__ = "__main__", "h"
    register_transform(h)
    assert Pipeline([h]).state_dict()["transforms"][0]["args"] == [{"__function__": "__main__.h"}]


def test_register_transform_rules():
    class NotATransform:
        pass

    with pytest.raises(TypeError, match="not a Transform subclass"):
        register_transform(NotATransform)
    with pytest.raises(TypeError, match="a lambda has no stable name"):
        register_transform(lambda x: x)
    with pytest.raises(TypeError, match="expected a Transform subclass or a function, found Transform"):
        register_transform(Transform())

    def first(x):
        return x

    def second(x):
        return x

    register_transform(first, name="tests.same-name")
    with pytest.raises(ValueError, match="'tests.same-name' is already registered"):
        register_transform(second, name="tests.same-name")

    def first(x):
        return x + 1  # a re-run cell redefines it: replaces the registration

    assert register_transform(first, name="tests.same-name") is first
    p = Pipeline.from_state_dict(
        {
            "transforms": [
                {
                    "type": "plies.pipes.Transform",
                    "args": [{"__function__": "tests.same-name"}],
                    "kwargs": {},
                    "state": {},
                }
            ]
        }
    )
    assert p(1) == 2


# --- unregistered code found by name, coercion of NumPy / enum values, bytes -----------------------
class Scale(Transform):
    """Not registered, but defined at module level: a state names it by 'module:qualname'."""

    def __init__(self, factor=2):
        super().__init__()
        self.factor = factor

    def encodes(self, x: int):
        return x * int(self.factor)


def double(x: int):
    return 2 * x


class Mode(enum.IntEnum):
    ADD = 1
    MUL = 2


@register_transform
class Combine(Transform):
    _state_attrs = ("table", "blob")

    def __init__(self, mode=Mode.ADD):
        super().__init__()
        self.mode, self.table, self.blob = mode, None, None

    def setups(self, items):
        self.table, self.blob = np.float32(0.5), b"\x00model\xff"

    def encodes(self, x: int):
        return x + 1 if self.mode is Mode.ADD else x * 3


def test_unregistered_module_level_code_is_saved_by_reference_and_found_again():
    p = Pipeline([Scale(factor=3), double])
    state = p.state_dict()
    assert state["transforms"][0]["type"] == f"{__name__}:Scale"
    assert state["transforms"][1]["args"] == [{"__function__": f"{__name__}:double"}]
    rebuilt = Pipeline.from_state_dict(json.loads(json.dumps(state)))
    assert rebuilt(5) == 30 and isinstance(rebuilt[0], Scale)


def test_references_to_unimported_modules_or_the_stdlib_are_refused():
    missing = {"transforms": [{"type": "plies_not_imported_pkg:Evil", "args": [], "kwargs": {}, "state": {}}]}
    with pytest.raises(KeyError, match="import plies_not_imported_pkg before loading"):
        Pipeline.from_state_dict(missing)
    rmtree = {"transforms": [{"type": "plies.pipes.Transform", "args": [{"__function__": "shutil:rmtree"}],
                              "kwargs": {}, "state": {}}]}  # fmt: skip
    with pytest.raises(ValueError, match="points into the standard library"):
        Pipeline.from_state_dict(rmtree)
    not_a_tfm = {"transforms": [{"type": f"{__name__}:Mode", "args": [], "kwargs": {}, "state": {}}]}
    with pytest.raises(ValueError, match="is not a Transform class or a function defined under that name"):
        Pipeline.from_state_dict(not_a_tfm)


def test_enum_argument_numpy_state_and_bytes_round_trip():
    t = Combine(Mode.MUL)
    t.setup([1])
    state = Pipeline([t]).state_dict()
    entry = state["transforms"][0]
    assert entry["type"] == f"{__name__}.Combine"  # an IntEnum argument keeps it a registered transform
    assert entry["args"] == [{"__enum__": f"{__name__}:Mode", "value": 2}]
    assert entry["state"]["table"] == 0.5 and type(entry["state"]["table"]) is float
    assert entry["state"]["blob"] == b"\x00model\xff"
    rebuilt = Pipeline.from_state_dict(state)[0]
    assert rebuilt.mode is Mode.MUL and rebuilt(4) == 12 and rebuilt.blob == b"\x00model\xff"


class _Opener:
    """A class whose `create` classmethod is a data pipeline's type transform (as `PILImage.create`)."""

    @classmethod
    def create(cls, x):
        return (cls.__name__, x)


class _OtherOpener(_Opener):
    pass


register_transform(_Opener.create, name="tests.Opener.create")


def test_registered_classmethod_is_saved_by_name_though_each_access_makes_a_new_bound_method():
    assert _Opener.create is not _Opener.create  # what the registry must cope with
    sd = Pipeline([_Opener.create]).state_dict()
    assert sd["transforms"][0]["args"] == [{"__function__": "tests.Opener.create"}]
    assert Pipeline.from_state_dict(json.loads(json.dumps(sd)))(1) == ("_Opener", 1)
    # the same function bound to a subclass is another transform: not registered
    with pytest.raises(KeyError, match="_Opener.create is not registered"):
        Pipeline([_OtherOpener.create]).state_dict()
