"""using_attr: f applied to an attribute of the whole item; saved as plain data with its function."""

import json
from pathlib import Path

import pytest
from plies.pipes import DisplayedTransform, Pipeline, register_transform, using_attr


@register_transform
def first_letter(s: str) -> str:
    return s[0]


@register_transform
class Suffix(DisplayedTransform):
    def __init__(self, suffix: str = "!") -> None:
        super().__init__()
        self.suffix = suffix

    def encodes(self, x: str):
        return x + self.suffix


def not_registered(s: str) -> str:
    return s


def test_applies_f_to_the_attribute_of_the_whole_item():
    t = using_attr(first_letter, "name")
    assert t(Path("/data/Bengal_1.jpg")) == "B"
    assert using_attr(len, "args")(ValueError(1, 2, 3)) == 3
    pair = (Path("a/x.png"), 1)
    assert using_attr(lambda o: o, "count")(pair) == pair.count  # a tuple is one item, not split
    assert repr(t) == "using_attr(first_letter, 'name')"
    assert repr(using_attr(Suffix("?"), "stem")) == "using_attr(Suffix -- {'suffix': '?'}, 'stem')"


def test_missing_attribute_and_bad_arguments_are_named():
    with pytest.raises(AttributeError, match=r"using_attr: the item 3 \(int\) has no attribute 'name'"):
        using_attr(first_letter, "name")(3)
    with pytest.raises(TypeError, match="using_attr: f must be callable, found str 'x'"):
        using_attr("x", "name")
    with pytest.raises(TypeError, match="using_attr: attr must be an attribute name"):
        using_attr(first_letter, 3)


def test_saved_as_plain_data_with_a_registered_function_or_a_transform():
    pipe = Pipeline([using_attr(first_letter, "stem"), using_attr(Suffix("?"), "name")])
    state = json.loads(json.dumps(pipe.state_dict()))  # plain data: survives JSON
    t0, t1 = Pipeline.from_state_dict(state).fs
    assert t0(Path("dir/cat.png")) == "c" and t1(Path("dir/cat.png")) == "cat.png?"
    assert t1.f is not pipe.fs[1].f and t1.f.suffix == "?"  # the nested transform was rebuilt


def test_an_unregistered_function_is_saved_by_reference_and_a_lambda_is_refused():
    state = Pipeline([using_attr(not_registered, "name")]).state_dict()
    # a module-level function is found again by name in the loading process (nothing imported)
    (t,) = Pipeline.from_state_dict(json.loads(json.dumps(state))).fs
    assert t.f is not_registered and t(Path("dir/cat.png")) == "cat.png"
    with pytest.raises(KeyError, match="<lambda> is not registered"):
        Pipeline([using_attr(lambda s: s, "name")]).state_dict()
