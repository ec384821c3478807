"""Parameter utilities: params, one_param, total_params, trainable_params, default_split, set_bn_eval."""

from __future__ import annotations

import pytest
import torch
from plies.layers import (
    default_split,
    one_param,
    params,
    set_bn_eval,
    total_params,
    trainable_params,
)
from torch import nn


def body_head() -> nn.Sequential:
    body = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU())
    return nn.Sequential(body, nn.Linear(5, 4), nn.Linear(4, 2))


def test_params_one_param_and_total_params_count_by_hand() -> None:
    m = body_head()
    assert [p is q for p, q in zip(params(m), m.parameters(), strict=True)] == [True] * 8
    assert one_param(m) is m[0][0].weight
    # 3*5+5 (linear) + 5+5 (batchnorm) + 5*4+4 + 4*2+2
    assert total_params(m) == (20 + 10 + 24 + 10, True)
    m[0][0].weight.requires_grad_(False)
    assert total_params(m) == (64, False)  # fastai's pair: whether the *first* parameter trains
    assert total_params(nn.ReLU()) == (0, False)
    with pytest.raises(ValueError, match="one_param: the module ReLU has no parameters"):
        one_param(nn.ReLU())


def test_trainable_params_skips_frozen_ones() -> None:
    m = body_head()
    m[1].weight.requires_grad_(False)
    names = {id(p): n for n, p in m.named_parameters()}
    assert [names[id(p)] for p in trainable_params(m)] == [
        "0.0.weight",
        "0.0.bias",
        "0.1.weight",
        "0.1.bias",
        "1.bias",
        "2.weight",
        "2.bias",
    ]


def test_default_split_body_and_the_rest() -> None:
    m = body_head()
    body, head = default_split(m)
    assert [id(p) for p in body] == [id(p) for p in m[0].parameters()]
    assert [id(p) for p in head] == [id(p) for p in [*m[1].parameters(), *m[2].parameters()]]
    with pytest.raises(TypeError, match=r"default_split: expected .*Sequential\(body, head\).*found Linear"):
        default_split(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="found nn.Sequential of 1 modules"):
        default_split(nn.Sequential(nn.Linear(2, 2)))


def test_set_bn_eval_only_touches_frozen_batchnorm() -> None:
    frozen_bn, free_bn, no_affine = nn.BatchNorm1d(4), nn.BatchNorm1d(4), nn.BatchNorm1d(4, affine=False)
    m = nn.Sequential(nn.Sequential(nn.Linear(2, 4), frozen_bn), free_bn, no_affine, nn.Dropout())
    for p in frozen_bn.parameters():
        p.requires_grad_(False)
    m.train()
    set_bn_eval(m)
    assert [frozen_bn.training, free_bn.training, no_affine.training, m[3].training] == [
        False,
        True,
        True,
        True,
    ]
    stats = frozen_bn.running_mean.clone()
    m(torch.randn(8, 2))
    assert torch.equal(frozen_bn.running_mean, stats) and not torch.equal(
        free_bn.running_mean, torch.zeros(4)
    )
