"""Hyper-parameters per group: numbers, lists, slices, errors; parameter groups from splitters."""

from __future__ import annotations

import pytest
import torch
from plies.optim import SGD, Adam, Optimizer, sgd_step


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
    with pytest.raises(TypeError, match="got a single Tensor"):
        SGD(torch.nn.Parameter(torch.randn(2)), lr=0.1)
    with pytest.raises(TypeError, match=r"group 1, item 0: expected a Tensor, got str"):
        SGD([[torch.nn.Parameter(torch.randn(2))], ["oops"]], lr=0.1)
    with pytest.raises(TypeError, match=r"cbs\[1\] must be a function, got int"):
        Optimizer([torch.nn.Parameter(torch.randn(2))], [sgd_step, 3], lr=0.1)


def test_each_group_steps_with_its_own_lr() -> None:
    groups = three_groups()
    before = [g[0].detach().clone() for g in groups]
    opt = SGD(groups, lr=[0.1, 0.2, 0.3])
    for g in groups:
        g[0].grad = torch.ones(3)
    opt.step()
    moved = [(b - g[0]).detach() for b, g in zip(before, groups, strict=True)]
    assert [round(float(m[0]), 6) for m in moved] == [0.1, 0.2, 0.3]
