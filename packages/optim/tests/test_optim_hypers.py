"""Hyper-parameters per group: numbers, lists, slices, errors; parameter groups from splitters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from plies.optim import SGD, Adam, Optimizer, ranger, sgd_step


def three_groups() -> list[list[torch.nn.Parameter]]:
    return [[torch.nn.Parameter(torch.randn(3))] for _ in range(3)]


def test_defaults_from_constructor_and_cbs() -> None:
    opt = Adam(three_groups(), lr=1e-3)
    assert len(opt.hypers) == 3
    assert dict(opt.hypers[0]) == {"lr": 1e-3, "mom": 0.9, "sqr_mom": 0.99, "eps": 1e-5, "wd": 0.01}
    assert [len(ps) for ps in opt.param_lists] == [1, 1, 1]


def test_set_hyper_number_list_and_slices() -> None:
    opt = SGD(three_groups(), lr=0.1)
    opt.set_hyper("lr", 0.5)
    assert [h["lr"] for h in opt.hypers] == [0.5, 0.5, 0.5]
    opt.set_hyper("lr", [0.1, 0.2, 0.3])
    assert [h["lr"] for h in opt.hypers] == [0.1, 0.2, 0.3]
    opt.set_hyper("lr", slice(1e-4, 1e-2))
    assert [h["lr"] for h in opt.hypers] == pytest.approx([1e-4, 1e-3, 1e-2])
    opt.set_hyper("lr", slice(1e-2))
    assert [h["lr"] for h in opt.hypers] == pytest.approx([1e-3, 1e-3, 1e-2])
    opt.set_hyper("lr", [0.7])
    assert [h["lr"] for h in opt.hypers] == [0.7, 0.7, 0.7]


def test_slice_on_one_group_gives_stop() -> None:
    opt = SGD([torch.nn.Parameter(torch.randn(2))], lr=slice(1e-4, 1e-2))
    assert opt.hypers[0]["lr"] == 1e-2


def test_lr_slice_at_construction_and_set_hypers() -> None:
    opt = Adam(three_groups(), lr=slice(1e-5, 1e-3), wd=[0.0, 0.1, 0.2])
    assert [h["lr"] for h in opt.hypers] == pytest.approx([1e-5, 1e-4, 1e-3])
    assert [h["wd"] for h in opt.hypers] == [0.0, 0.1, 0.2]
    opt.set_hypers(mom=0.8, sqr_mom=[0.9, 0.95, 0.99])
    assert [(h["mom"], h["sqr_mom"]) for h in opt.hypers] == [(0.8, 0.9), (0.8, 0.95), (0.8, 0.99)]


def test_hypers_are_live_views_of_param_groups() -> None:
    opt = SGD(three_groups(), lr=0.1)
    opt.hypers[1]["lr"] = 0.3
    assert opt.param_groups[1]["lr"] == 0.3
    opt.param_groups[2]["lr"] = 0.4
    assert opt.hypers[2]["lr"] == 0.4
    assert "params" not in opt.hypers[0]


def test_unknown_hyper_name_raises() -> None:
    opt = SGD(three_groups(), lr=0.1)
    with pytest.raises(KeyError, match=r"unknown hyper-parameter 'lrr'.*'lr', 'mom', 'wd'"):
        opt.set_hyper("lrr", 0.1)
    with pytest.raises(KeyError, match="unknown hyper-parameter 'sqr_mom'"):
        opt.set_hypers(lr=0.2, sqr_mom=0.9)
    assert opt.hypers[0]["lr"] == 0.1  # nothing was set


def test_wrong_number_of_values_raises() -> None:
    opt = SGD(three_groups(), lr=0.1)
    with pytest.raises(ValueError, match=r"'lr': got 2 values for 3 parameter groups"):
        opt.set_hyper("lr", [0.1, 0.2])
    with pytest.raises(ValueError, match=r"'wd': got 4 values for 3 parameter groups"):
        SGD(three_groups(), lr=0.1, wd=[0, 0, 0, 0])
    with pytest.raises(ValueError, match=r"slice\(stop\) or slice\(start, stop\)"):
        opt.set_hyper("lr", slice(1e-3, 1e-2, 2))


def test_params_forms() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    assert len(SGD(model.parameters(), lr=0.1).param_lists) == 1
    split = [list(model[0].parameters()), list(model[1].parameters())]
    assert [len(g) for g in SGD(split, lr=0.1).param_lists] == [2, 2]
    opt = SGD([{"params": model[0].parameters(), "lr": 0.01}, {"params": model[1].parameters()}], lr=0.1)
    assert [h["lr"] for h in opt.hypers] == [0.01, 0.1]


def test_params_errors() -> None:
    with pytest.raises(ValueError, match="params is empty"):
        SGD([], lr=0.1)
    p = torch.nn.Parameter(torch.randn(2))
    with pytest.raises(TypeError, match=r"item 0 is a group but item 1 is a Parameter"):
        SGD([[p], p], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear more than once"):
        SGD([[p], [p]], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf Tensor"):
        SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match=r"cbs\[1\] must be a function, got int"):
        Optimizer([p], [sgd_step, 3], lr=0.1)


def test_single_tensor_is_one_group() -> None:
    p = torch.nn.Parameter(torch.ones(2))
    opt = SGD(p, lr=0.1)
    assert opt.param_lists == [[p]]


def test_fastai_style_groups_of_plain_objects() -> None:
    def tst_arg(p, lr=0, **kwargs):
        return p

    tst_arg.defaults = {"lr": 1e-2}
    assert Optimizer([1, 2, 3], tst_arg).param_lists == [[1, 2, 3]]
    assert Optimizer(range(3), tst_arg).param_lists == [[0, 1, 2]]
    assert Optimizer(([o, o + 1] for o in range(0, 4, 2)), tst_arg).param_lists == [[0, 1], [2, 3]]
    opt = Optimizer([[1, 2], [3], [4]], tst_arg, lr=slice(1e-4, 1e-2))
    assert opt.hypers == [{"lr": pytest.approx(1e-4)}, {"lr": pytest.approx(1e-3)}, {"lr": 1e-2}]
    assert opt.param_groups == [
        {"params": [1, 2], "lr": pytest.approx(1e-4)},
        {"params": [3], "lr": pytest.approx(1e-3)},
        {"params": [4], "lr": 1e-2},
    ]
    with pytest.raises(ValueError, match="got 2 values for 3 parameter groups"):
        Optimizer([[1, 2], [3], [4]], tst_arg, lr=np.array([0.1, 0.2]))


def test_all_params_and_param_lists_setter() -> None:
    groups = three_groups()
    opt = SGD(groups, lr=[0.1, 0.2, 0.3])
    found = opt.all_params(slice(1, None))
    assert [(o[0] is g[0], o[1] == g, o[3]["lr"]) for o, g in zip(found, groups[1:], strict=True)] == [
        (True, True, 0.2),
        (True, True, 0.3),
    ]
    groups[2][0].grad = torch.ones(3)
    assert [o[0] for o in opt.all_params(with_grad=True)] == [groups[2][0]]
    new = three_groups()
    opt.param_lists = new
    assert opt.param_groups[1]["params"] == new[1] and opt.hypers[1]["lr"] == 0.2
    with pytest.raises(ValueError, match="param_lists: got 1 lists for 3 parameter groups"):
        opt.param_lists = [new[0]]


def test_sgd_on_plain_tensors_with_grads() -> None:
    params = [torch.tensor(float(i)) for i in range(4)]
    for i, p in enumerate(params):
        p.grad = torch.tensor(i / 10)
    opt = SGD(params, lr=0.1, mom=0.9)
    opt.step()
    assert [p.item() for p in params] == pytest.approx([i * 0.99 for i in range(4)])
    opt.step()
    assert [p.item() for p in params] == pytest.approx([i * (1 - 0.1 * (0.1 + 0.1 * 1.9)) for i in range(4)])
    assert [opt.state[p]["grad_avg"].item() for p in params] == pytest.approx([i * 0.19 for i in range(4)])


def test_each_group_steps_with_its_own_lr() -> None:
    groups = three_groups()
    before = [g[0].detach().clone() for g in groups]
    opt = SGD(groups, lr=[0.1, 0.2, 0.3])
    for g in groups:
        g[0].grad = torch.ones(3)
    opt.step()
    moved = [(b - g[0]).detach() for b, g in zip(before, groups, strict=True)]
    assert [round(float(m[0]), 6) for m in moved] == [0.1, 0.2, 0.3]


def test_lookahead_delegates_to_the_wrapped_optimizer() -> None:
    groups = three_groups()
    opt = ranger(groups, lr=1e-3)
    opt.set_hyper("lr", slice(1e-5, 1e-3))
    assert [round(h["lr"], 8) for h in opt.hypers] == [1e-5, 1e-4, 1e-3]
    assert opt.param_groups is opt.opt.param_groups
    assert [o[0] for o in opt.all_params()] == [g[0] for g in groups]
    assert opt.cbs is opt.opt.cbs
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = opt.no_such_thing
