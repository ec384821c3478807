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
    with pytest.raises(KeyError, match="no builder registered under 'os.system'.*known builders: .*tiny_mlp"):
        build_from_spec({"builder": "os.system", "kwargs": {"command": "echo hi"}})


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
