"""The model rebuild registry: `register_builder` / `build_from_spec`."""

from __future__ import annotations

import json

import pytest
import torch
from plies.typecore import build_from_spec, register_builder
from torch import nn


@register_builder
def tiny_mlp(n_in: int, n_out: int = 2, act_cls: type = nn.ReLU, hidden: tuple = (8,)) -> nn.Module:
    """A small MLP (test builder)."""
    return nn.Sequential(nn.Linear(n_in, hidden[0]), act_cls(), nn.Linear(hidden[0], n_out))


@register_builder
def with_head(body: nn.Module, *extra: int, head_out: int = 3) -> nn.Module:
    """`body` followed by a linear head (test builder with *args)."""
    return nn.Sequential(body, nn.Linear(2, head_out))


def test_spec_records_passed_arguments_only() -> None:
    m = tiny_mlp(4, act_cls=nn.GELU, hidden=[16])
    name = f"{__name__}.tiny_mlp"
    assert m.build_spec == {
        "builder": name,
        "kwargs": {"n_in": 4, "act_cls": {"torch.nn": "GELU"}, "hidden": [16]},
    }
    assert tiny_mlp.__name__ == "tiny_mlp" and tiny_mlp.__doc__ == "A small MLP (test builder)."


def test_round_trip_rebuilds_same_architecture_and_loads_weights() -> None:
    m = tiny_mlp(4, n_out=3, hidden=(5,))
    spec = json.loads(json.dumps(m.build_spec))  # survives a trip through JSON (tuples become lists)
    m2 = build_from_spec(spec)
    m2.load_state_dict(m.state_dict())
    x = torch.randn(2, 4)
    assert torch.equal(m(x), m2(x))
    assert m2.build_spec == {
        "builder": m.build_spec["builder"],
        "kwargs": {"n_in": 4, "n_out": 3, "hidden": [5]},
    }


def test_nested_module_arguments_become_nested_specs() -> None:
    body = tiny_mlp(4)
    m = with_head(body, 7, 8, head_out=5)
    assert m.build_spec["args"] == [body.build_spec, 7, 8]
    assert m.build_spec["kwargs"] == {"head_out": 5}
    rebuilt = build_from_spec(m.build_spec)
    assert [type(c) for c in rebuilt] == [nn.Sequential, nn.Linear] and rebuilt[1].out_features == 5
    assert rebuilt[0][0].in_features == 4


def test_spec_is_a_copy() -> None:
    hidden = [6]
    m = tiny_mlp(2, hidden=hidden)
    hidden.append(1)
    assert m.build_spec["kwargs"]["hidden"] == [6]


def test_non_plain_arguments_give_no_spec() -> None:
    assert not hasattr(with_head(nn.Linear(2, 2)), "build_spec")  # a module without a build_spec
    assert not hasattr(tiny_mlp(2, hidden=(torch.tensor(3),)), "build_spec")

    class MyAct(nn.ReLU):
        pass

    assert not hasattr(tiny_mlp(2, act_cls=MyAct), "build_spec")  # not a torch.nn class


def test_unknown_builder_is_refused_with_known_names() -> None:
    with pytest.raises(KeyError, match=r"unknown builder 'os.system' \(not registered\)\. Registered: "):
        build_from_spec({"builder": "os.system", "kwargs": {"command": "echo hi"}})
    typo = f"{__name__}.tiny_mpl"
    with pytest.raises(KeyError, match=rf"unknown builder '{typo}'.* Registered: [^.]*{__name__}.tiny_mlp\b"):
        build_from_spec({"builder": typo, "kwargs": {}})  # the closest names are listed first


def test_malformed_specs() -> None:
    with pytest.raises(TypeError, match="expected a dict with a 'builder' name"):
        build_from_spec({"kwargs": {}})
    with pytest.raises(TypeError, match="'kwargs' must be a dict"):
        build_from_spec({"builder": f"{__name__}.tiny_mlp", "kwargs": [1]})
    with pytest.raises(ValueError, match="'Nope' is not a layer class of torch.nn"):
        build_from_spec(
            {"builder": f"{__name__}.tiny_mlp", "kwargs": {"n_in": 2, "act_cls": {"torch.nn": "Nope"}}}
        )
    with pytest.raises(ValueError, match="'init' is not a layer class of torch.nn"):
        build_from_spec(
            {"builder": f"{__name__}.tiny_mlp", "kwargs": {"n_in": 2, "act_cls": {"torch.nn": "init"}}}
        )


@register_builder(name="tests.Net")
class Net(nn.Module):
    """A registered nn.Module class (test builder)."""

    def __init__(self, n_in: int, n_out: int = 2) -> None:
        super().__init__()
        self.lin = nn.Linear(n_in, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x)


class WiderNet(Net):
    """A subclass of a registered class: not registered itself."""

    def __init__(self) -> None:
        super().__init__(3, 7)


def test_registered_class_stays_a_class_and_records_its_arguments() -> None:
    m = Net(4, n_out=3)
    assert isinstance(m, Net) and type(m) is Net and Net.__doc__.startswith("A registered")
    assert m.build_spec == {"builder": "tests.Net", "kwargs": {"n_in": 4, "n_out": 3}}
    rebuilt = build_from_spec(json.loads(json.dumps(m.build_spec)))
    assert type(rebuilt) is Net and rebuilt.lin.out_features == 3 and rebuilt.lin.in_features == 4
    assert not hasattr(WiderNet(), "build_spec")  # Net's arguments do not describe a WiderNet


def test_default_name_is_public_and_old_private_names_still_load() -> None:
    def make(n: int) -> nn.Module:
        return nn.Linear(n, 1)

    make.__module__, make.__qualname__ = "mypkg._impl._nets", "make"
    registered = register_builder(make)
    assert registered(2).build_spec["builder"] == "mypkg.make"  # no private module path in files
    old_file_spec = {"builder": "mypkg._impl._nets.make", "kwargs": {"n": 5}}  # what plies 1.0 saved
    assert build_from_spec(old_file_spec).in_features == 5


def test_register_builder_refuses_other_classes_and_taken_names() -> None:
    class NotAModule:
        pass

    with pytest.raises(TypeError, match="NotAModule is a class but not an nn.Module subclass"):
        register_builder(NotAModule)

    def other(n: int) -> nn.Module:
        return nn.Linear(n, 1)

    with pytest.raises(ValueError, match="'tests.Net' is already registered"):
        register_builder(other, name="tests.Net")
