"""Numerics: 50 steps side by side with torch.optim twins, or with references written from the papers."""

from __future__ import annotations

import math

import pytest
import torch
from plies.optim import SGD, Adam, Lamb, Larc, Lookahead, QHAdam, RAdam, RMSProp, ranger


def close(a: torch.Tensor, b: torch.Tensor, rel: float = 1e-6) -> bool:
    return bool(((a - b).abs() <= rel * b.abs() + 1e-12).all())


TWINS = {
    "sgd": (lambda ps: SGD(ps, 0.1), lambda ps: torch.optim.SGD(ps, 0.1)),
    "sgd_mom": (lambda ps: SGD(ps, 0.1, mom=0.9), lambda ps: torch.optim.SGD(ps, 0.1, momentum=0.9)),
    "sgd_mom_l2": (
        lambda ps: SGD(ps, 0.1, mom=0.9, wd=0.05, decouple_wd=False),
        lambda ps: torch.optim.SGD(ps, 0.1, momentum=0.9, weight_decay=0.05),
    ),
    "rmsprop": (lambda ps: RMSProp(ps, 0.01), lambda ps: torch.optim.RMSprop(ps, 0.01, alpha=0.99, eps=1e-8)),
    "rmsprop_l2": (
        lambda ps: RMSProp(ps, 0.01, sqr_mom=0.9, wd=0.1, decouple_wd=False),
        lambda ps: torch.optim.RMSprop(ps, 0.01, alpha=0.9, eps=1e-8, weight_decay=0.1),
    ),
    "adam": (
        lambda ps: Adam(ps, 0.01, wd=0.02, decouple_wd=False),
        lambda ps: torch.optim.Adam(ps, 0.01, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.02),
    ),
    "adamw": (
        lambda ps: Adam(ps, 0.01, mom=0.8, sqr_mom=0.95, wd=0.1),
        lambda ps: torch.optim.AdamW(ps, 0.01, betas=(0.8, 0.95), eps=1e-5, weight_decay=0.1),
    ),
    # torch divides eps by sqrt(debias2), fastai does not: a tiny eps makes the difference negligible
    "radam": (
        lambda ps: RAdam(ps, 0.01, eps=1e-10, wd=0.01, decouple_wd=False),
        lambda ps: torch.optim.RAdam(ps, 0.01, betas=(0.9, 0.99), eps=1e-10, weight_decay=0.01),
    ),
    "radam_w": (
        lambda ps: RAdam(ps, 0.01, eps=1e-10, wd=0.01),
        lambda ps: torch.optim.RAdam(
            ps, 0.01, betas=(0.9, 0.99), eps=1e-10, weight_decay=0.01, decoupled_weight_decay=True
        ),
    ),
}


PATHS = {"default": (None, None), "foreach": (False, True), "per_tensor": (False, False)}  # (fused, foreach)


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("name", list(TWINS))
def test_matches_torch_twin_for_50_steps(name, path, make_model, train) -> None:
    # "default" is the fused kernel for SGD and Adam(W), the per-tensor path for the others
    mine, theirs = TWINS[name]
    m1, m2 = make_model(), make_model()
    opt = mine(m1.parameters())
    opt.fused, opt.foreach = PATHS[path]
    a, b = train(m1, opt), train(m2, theirs(m2.parameters()))
    start = torch.cat([p.detach().flatten() for p in make_model().parameters()])
    assert not close(a, start, rel=1e-3)  # the parameters moved
    assert close(a, b)


def test_sgd_decoupled_wd_differs_from_l2_and_matches_formula(make_model, train, batch_grads) -> None:
    m1, ref = make_model(), make_model()
    a = train(m1, SGD(m1.parameters(), 0.1, mom=0.9, wd=0.05), n_steps=10)
    bufs = [torch.zeros_like(p) for p in ref.parameters()]
    for i in range(10):
        batch_grads(ref, i)
        with torch.no_grad():
            for p, buf in zip(ref.parameters(), bufs, strict=True):
                p.mul_(1 - 0.1 * 0.05)
                buf.mul_(0.9).add_(p.grad)
                p.sub_(0.1 * buf)
                p.grad = None
    b = torch.cat([p.detach().flatten() for p in ref.parameters()])
    assert close(a, b)
    m2 = make_model()
    l2 = train(m2, torch.optim.SGD(m2.parameters(), 0.1, momentum=0.9, weight_decay=0.05), n_steps=10)
    assert not close(a, l2)


def test_rmsprop_with_momentum_matches_formula(make_model, train, batch_grads) -> None:
    m1, ref = make_model(), make_model()
    a = train(m1, RMSProp(m1.parameters(), 0.01, mom=0.9), n_steps=20)
    state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in ref.parameters()]
    for i in range(20):
        batch_grads(ref, i)
        with torch.no_grad():
            for p, (m, v) in zip(ref.parameters(), state, strict=True):
                m.mul_(0.9).add_(p.grad)
                v.mul_(0.99).add_(0.01 * p.grad**2)
                p.sub_(0.01 * m / (v.sqrt() + 1e-8))
                p.grad = None
    assert close(a, torch.cat([p.detach().flatten() for p in ref.parameters()]))


@pytest.mark.parametrize("foreach", [True, False], ids=["foreach", "per_tensor"])
def test_qhadam_matches_formula(foreach, make_model, train, batch_grads) -> None:
    lr, b1, b2, nu1, nu2, eps = 0.01, 0.9, 0.99, 0.7, 0.8, 1e-8
    m1, ref = make_model(), make_model()
    a = train(
        m1,
        QHAdam(m1.parameters(), lr, mom=b1, sqr_mom=b2, nu_1=nu1, nu_2=nu2, eps=eps, foreach=foreach),
        n_steps=50,
    )
    state = [{"m": torch.zeros_like(p), "v": torch.zeros_like(p)} for p in ref.parameters()]
    for t in range(1, 51):
        batch_grads(ref, t - 1)
        with torch.no_grad():
            for p, st in zip(ref.parameters(), state, strict=True):
                g = p.grad
                st["m"] = b1 * st["m"] + (1 - b1) * g
                st["v"] = b2 * st["v"] + (1 - b2) * g * g
                m_hat, v_hat = st["m"] / (1 - b1**t), st["v"] / (1 - b2**t)
                num = (1 - nu1) * g + nu1 * m_hat
                den = ((1 - nu2) * g * g + nu2 * v_hat).sqrt() + eps
                p.sub_(lr * num / den)
                p.grad = None
    assert close(a, torch.cat([p.detach().flatten() for p in ref.parameters()]))


@pytest.mark.parametrize("clip", [True, False], ids=["larc", "lars"])
@pytest.mark.parametrize("foreach", [True, False], ids=["foreach", "per_tensor"])
def test_larc_lars_match_formula(clip, foreach, make_model, train, batch_grads) -> None:
    lr, mom, trust, wd, eps = 0.5, 0.9, 0.02, 0.01, 1e-8
    m1, ref = make_model(), make_model()
    opt = Larc(m1.parameters(), lr, mom=mom, clip=clip, trust_coeff=trust, wd=wd, eps=eps, foreach=foreach)
    a = train(m1, opt, n_steps=50)
    bufs = [torch.zeros_like(p) for p in ref.parameters()]
    for i in range(50):
        batch_grads(ref, i)
        with torch.no_grad():
            for p, buf in zip(ref.parameters(), bufs, strict=True):
                p.mul_(1 - lr * wd)  # decoupled weight decay first
                buf.mul_(mom).add_(p.grad)
                local = lr * trust * p.norm() / (p.grad.norm() + wd * p.norm() + eps)
                if clip:
                    local = min(local, torch.tensor(lr, dtype=p.dtype))
                p.sub_(local * buf)
                p.grad = None
    assert close(a, torch.cat([p.detach().flatten() for p in ref.parameters()]))


@pytest.mark.parametrize("foreach", [True, False], ids=["foreach", "per_tensor"])
def test_lamb_matches_formula(foreach, make_model, train, batch_grads) -> None:
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.99, 1e-6, 0.01
    m1, ref = make_model(), make_model()
    a = train(m1, Lamb(m1.parameters(), lr, mom=b1, sqr_mom=b2, eps=eps, wd=wd, foreach=foreach), n_steps=50)
    state = [{"m": torch.zeros_like(p), "v": torch.zeros_like(p)} for p in ref.parameters()]
    for t in range(1, 51):
        batch_grads(ref, t - 1)
        with torch.no_grad():
            for p, st in zip(ref.parameters(), state, strict=True):
                p.mul_(1 - lr * wd)
                st["m"] = b1 * st["m"] + (1 - b1) * p.grad
                st["v"] = b2 * st["v"] + (1 - b2) * p.grad**2
                update = (st["m"] / (1 - b1**t)) / ((st["v"] / (1 - b2**t)).sqrt() + eps)
                r1, r2 = p.pow(2).mean().sqrt().item(), update.pow(2).mean().sqrt().item()
                ratio = 1.0 if r1 == 0 or r2 == 0 else min(r1 / r2, 10.0)
                p.sub_(lr * ratio * update)
                p.grad = None
    assert close(a, torch.cat([p.detach().flatten() for p in ref.parameters()]))


def _radam_reference(ref, batch_grads, n, lr, b1, b2, eps, wd, lookahead=None):
    state = [{"m": torch.zeros_like(p), "v": torch.zeros_like(p)} for p in ref.parameters()]
    slow = [p.detach().clone() for p in ref.parameters()]
    r_inf = 2 / (1 - b2) - 1
    for t in range(1, n + 1):
        batch_grads(ref, t - 1)
        with torch.no_grad():
            for p, st in zip(ref.parameters(), state, strict=True):
                p.mul_(1 - lr * wd)
                st["m"] = b1 * st["m"] + (1 - b1) * p.grad
                st["v"] = b2 * st["v"] + (1 - b2) * p.grad**2
                m_hat = st["m"] / (1 - b1**t)
                r = r_inf - 2 * t * b2**t / (1 - b2**t)
                if r > 5:
                    rect = math.sqrt((r - 4) * (r - 2) * r_inf / ((r_inf - 4) * (r_inf - 2) * r))
                    p.sub_(lr * rect * m_hat / ((st["v"] / (1 - b2**t)).sqrt() + eps))
                else:
                    p.sub_(lr * m_hat)
                p.grad = None
            if lookahead is not None and t % lookahead[0] == 0:
                for p, s in zip(ref.parameters(), slow, strict=True):
                    s.add_(lookahead[1] * (p - s))
                    p.copy_(s)
    return torch.cat([p.detach().flatten() for p in ref.parameters()])


def test_radam_decoupled_matches_formula(make_model, train, batch_grads) -> None:
    m1, ref = make_model(), make_model()
    a = train(m1, RAdam(m1.parameters(), 0.01, eps=1e-5, wd=0.01), n_steps=50)
    assert close(a, _radam_reference(ref, batch_grads, 50, 0.01, 0.9, 0.99, 1e-5, 0.01))


@pytest.mark.parametrize("foreach", [True, False], ids=["foreach", "per_tensor"])
def test_ranger_is_lookahead_radam_and_matches_formula(foreach, make_model, train, batch_grads) -> None:
    m1, ref = make_model(), make_model()
    opt = ranger(m1.parameters(), 0.01, mom=0.95, wd=0.01, eps=1e-6, k=6, alpha=0.5, foreach=foreach)
    assert isinstance(opt, Lookahead)
    a = train(m1, opt, n_steps=50)
    assert close(a, _radam_reference(ref, batch_grads, 50, 0.01, 0.95, 0.99, 1e-6, 0.01, lookahead=(6, 0.5)))


def test_lookahead_over_sgd_matches_formula(make_model, train, batch_grads) -> None:
    m1, ref = make_model(), make_model()
    a = train(m1, Lookahead(SGD(m1.parameters(), 0.1), k=5, alpha=0.3), n_steps=50)
    slow = [p.detach().clone() for p in ref.parameters()]
    for t in range(1, 51):
        batch_grads(ref, t - 1)
        with torch.no_grad():
            for p in ref.parameters():
                p.sub_(0.1 * p.grad)
                p.grad = None
            if t % 5 == 0:
                for p, s in zip(ref.parameters(), slow, strict=True):
                    s.add_(0.3 * (p - s))
                    p.copy_(s)
    assert close(a, torch.cat([p.detach().flatten() for p in ref.parameters()]))
