"""freeze / freeze_to / unfreeze, with normalisation parameters kept trainable (train_bn)."""

from __future__ import annotations

import pytest
import torch
from plies.optim import SGD, Adam, OptimWrapper, ranger


def model_and_groups():
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 3), torch.nn.Linear(3, 1)
    )
    groups = [
        list(model[0].parameters()) + list(model[1].parameters()),
        list(model[2].parameters()),
        list(model[3].parameters()),
    ]
    return model, groups


def trainable(groups) -> list[list[bool]]:
    return [[p.requires_grad for p in g] for g in groups]


@pytest.mark.parametrize(
    "make",
    [
        lambda g: Adam(g, lr=1e-3),
        lambda g: OptimWrapper(g, torch.optim.AdamW, lr=1e-3),
        lambda g: ranger(g, lr=1e-3),
    ],
    ids=["Optimizer", "OptimWrapper", "Lookahead"],
)
def test_freeze_keeps_flagged_norm_params_trainable(make) -> None:
    model, groups = model_and_groups()
    opt = make(groups)
    for p in model[1].parameters():
        opt.state[p]["force_train"] = True
    opt.freeze()
    assert opt.frozen_idx == 2
    assert trainable(groups) == [[False, False, True, True], [False, False], [True, True]]
    opt.freeze_to(1)
    assert trainable(groups) == [[False, False, True, True], [True, True], [True, True]]
    opt.unfreeze()
    assert trainable(groups) == [[True] * 4, [True, True], [True, True]]


def test_train_bn_false_freezes_norm_params_too() -> None:
    model, groups = model_and_groups()
    opt = Adam(groups, lr=1e-3)
    opt.train_bn = False
    for p in model[1].parameters():
        opt.state[p]["force_train"] = True
    opt.freeze_to(-1)
    assert trainable(groups)[0] == [False] * 4


def test_frozen_params_get_no_gradient_and_do_not_move() -> None:
    model, groups = model_and_groups()
    model[1].eval()
    opt = SGD(groups, lr=0.1, mom=0.9, wd=0.1)
    opt.freeze()
    before = [p.detach().clone() for ps in groups for p in ps]
    for _ in range(2):
        model(torch.randn(4, 2)).sum().backward()
        opt.step()
        opt.zero_grad()
    after = [p for ps in groups for p in ps]
    assert [torch.equal(b, p) for b, p in zip(before, after, strict=True)] == [True] * 6 + [False] * 2


def test_freeze_errors_and_warning() -> None:
    p = torch.nn.Parameter(torch.randn(2))
    with pytest.raises(ValueError, match="needs at least 2 parameter groups.*found 1"):
        SGD([p], lr=0.1).freeze()
    _, groups = model_and_groups()
    opt = SGD(groups, lr=0.1)
    with pytest.warns(UserWarning, match=r"freezing 5 groups but the optimizer has 3"):
        opt.freeze_to(5)
    assert trainable(groups)[2] == [False, False]
    with pytest.raises(ValueError, match=r"freeze_to\(-4\): the optimizer has only 3 parameter groups"):
        opt.freeze_to(-4)
