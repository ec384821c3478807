"""Writing optimizers from stats and steppers; the foreach and per-tensor paths agree."""

from __future__ import annotations

import functools

import pytest
import torch
from plies.optim import (
    SGD,
    Adam,
    Lamb,
    Larc,
    Optimizer,
    QHAdam,
    RAdam,
    RMSProp,
    adam_step,
    average_grad,
    average_sqr_grad,
    debias,
    momentum_step,
    sgd_step,
    step_stat,
    weight_decay,
)

ALL = {
    "sgd": lambda ps, fe: SGD(ps, 0.1, mom=0.9, wd=0.01, foreach=fe),
    "rmsprop": lambda ps, fe: RMSProp(ps, 0.01, mom=0.9, wd=0.01, decouple_wd=False, foreach=fe),
    "adam": lambda ps, fe: Adam(ps, 0.01, foreach=fe),
    "radam": lambda ps, fe: RAdam(ps, 0.01, beta=5.0, foreach=fe),
    "qhadam": lambda ps, fe: QHAdam(ps, 0.01, foreach=fe),
    "larc": lambda ps, fe: Larc(ps, 0.1, foreach=fe),
    "lamb": lambda ps, fe: Lamb(ps, 0.01, wd=0.1, foreach=fe),
}


@pytest.mark.parametrize("name", list(ALL))
def test_foreach_and_per_tensor_paths_agree(name, make_model, train) -> None:
    m1, m2 = make_model(), make_model()
    opt1, opt2 = ALL[name](m1.parameters(), True), ALL[name](m2.parameters(), False)
    opt1.fused = opt2.fused = False  # the unfused paths (test_optim_fused.py compares the fused one)
    a, b = train(m1, opt1, n_steps=20), train(m2, opt2, n_steps=20)
    assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)


def test_debias() -> None:
    assert debias(0.9, 0.1, 1) == pytest.approx(0.1)
    assert debias(0.9, 1.0, 2) == pytest.approx(1.9)


def test_adam_in_a_few_lines_equals_adam(make_model, train) -> None:
    cbs = [
        weight_decay,
        functools.partial(average_grad, dampening=True),
        average_sqr_grad,
        step_stat,
        adam_step,
    ]
    m1, m2 = make_model(), make_model()
    a = train(m1, Optimizer(m1.parameters(), cbs, lr=0.01, mom=0.9, sqr_mom=0.99, eps=1e-5, wd=0.01))
    assert torch.equal(a, train(m2, Adam(m2.parameters(), 0.01)))


def test_user_stat_without_foreach_twin_mixes_with_vectorised_ones(make_model, train) -> None:
    def clip_grad(p, max_abs, **kwargs):
        p.grad.clamp_(-max_abs, max_abs)

    def count_clipped(p, max_abs, n_clipped=0, **kwargs):
        return {"n_clipped": n_clipped + int((p.grad.abs() >= max_abs).sum())}

    clip_grad.defaults = {"max_abs": 0.05}
    m1, m2 = make_model(), make_model()
    opt = Optimizer(m1.parameters(), [clip_grad, count_clipped, average_grad, momentum_step], lr=0.1, mom=0.9)
    assert opt.hypers[0]["max_abs"] == 0.05
    a = train(m1, opt, n_steps=10)

    # the same steps, all on the per-tensor path and without the counting stat
    ref = Optimizer(
        m2.parameters(),
        [clip_grad, average_grad, momentum_step],
        lr=0.1,
        mom=0.9,
        max_abs=0.05,
        foreach=False,
    )
    b = train(m2, ref, n_steps=10)
    assert torch.equal(a, b)
    assert sum(opt.state[p]["n_clipped"] for p in m1.parameters()) > 0


def test_user_foreach_twin_is_used(make_model, train) -> None:
    calls = []

    def halve_lr_sgd(p, lr, **kwargs):
        calls.append("per_tensor")
        p.add_(p.grad, alpha=-lr / 2)

    def halve_lr_sgd_foreach(ps, grads, lr, **kwargs):
        calls.append("foreach")
        torch._foreach_add_(ps, grads, alpha=-lr / 2)

    halve_lr_sgd.foreach = halve_lr_sgd_foreach
    m1, m2 = make_model(), make_model()
    a = train(m1, Optimizer(m1.parameters(), [halve_lr_sgd], lr=0.2, foreach=True), n_steps=3)
    assert calls == ["foreach"] * 3
    calls.clear()
    m3 = make_model()
    train(m3, Optimizer(m3.parameters(), [halve_lr_sgd], lr=0.2), n_steps=1)
    assert calls == ["per_tensor"] * 4  # foreach=None: the per-tensor path for CPU parameters
    b = train(m2, Optimizer(m2.parameters(), [sgd_step], lr=0.1), n_steps=3)
    assert torch.allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "foreach"])
@pytest.mark.parametrize("decouple_wd", [True, False])
def test_vectorised_paths_with_no_parameter_taking_weight_decay(decouple_wd: bool, fused: bool) -> None:
    # After learn.freeze() a group may hold only parameters flagged do_wd=False (BatchNorm/bias).
    w = torch.nn.Parameter(torch.ones(3))
    opt = Adam([w], 0.1, wd=0.5, decouple_wd=decouple_wd, foreach=True, fused=fused)
    opt.state[w]["do_wd"] = False
    w.grad = torch.ones(3)
    opt.step()
    expected = Adam([ref := torch.nn.Parameter(torch.ones(3))], 0.1, wd=0.0, foreach=False, fused=False)
    ref.grad = torch.ones(3)
    expected.step()
    assert torch.equal(w.detach(), ref.detach())
