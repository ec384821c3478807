"""Shared fixtures for the plies.optim tests: a small float64 model, fixed data and a training loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(64, 5, generator=gen, dtype=torch.float64), torch.randn(
        64, 3, generator=gen, dtype=torch.float64
    )


def _train(model: torch.nn.Module, opt: Any, n_steps: int = 50, start: int = 0) -> torch.Tensor:
    """`n_steps` steps of MSE on fixed mini-batches (batch i is slice i % 4); returns all parameters flat."""
    x, y = _data()
    for i in range(start, start + n_steps):
        sl = slice(i % 4 * 16, (i % 4 + 1) * 16)
        loss = ((model(x[sl]) - y[sl]) ** 2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
    return flat(model)


def flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.fixture
def make_model() -> Callable[[], torch.nn.Module]:
    """A fresh Linear-ReLU-Linear float64 model, always the same initial weights."""
    return _model


@pytest.fixture
def train() -> Callable[..., torch.Tensor]:
    """train(model, opt, n_steps=50, start=0) -> flat parameters after the steps."""
    return _train


@pytest.fixture
def batch_grads() -> Callable[[torch.nn.Module, int], None]:
    """batch_grads(model, i): put the gradients of mini-batch i into model's parameters."""

    def compute(model: torch.nn.Module, i: int) -> None:
        x, y = _data()
        sl = slice(i % 4 * 16, (i % 4 + 1) * 16)
        ((model(x[sl]) - y[sl]) ** 2).mean().backward()

    return compute
