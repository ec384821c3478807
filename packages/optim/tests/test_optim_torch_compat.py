"""torch compatibility: GradScaler, LR schedulers, closures, zero_grad; OptimWrapper's hyper mapping."""

from __future__ import annotations

import pytest
import torch
from plies.optim import SGD, Adam, Optimizer, OptimWrapper, ranger


def scaler_step(opt, model, scaler) -> None:
    loss = model(torch.ones(4, 3, dtype=torch.float64)).sum()
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 1e6)
    scaler.step(opt)
    scaler.update()
    opt.zero_grad()


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: Adam(ps, lr=0.1),
        lambda ps: OptimWrapper(ps, torch.optim.AdamW, lr=0.1),
        lambda ps: ranger(ps, lr=0.1),
    ],
    ids=["Optimizer", "OptimWrapper", "Lookahead"],
)
def test_gradscaler_disabled_gives_same_params_as_plain_steps(make) -> None:
    torch.manual_seed(0)
    m1 = torch.nn.Linear(3, 2).double()
    m2 = torch.nn.Linear(3, 2).double()
    m2.load_state_dict(m1.state_dict())
    o1, o2 = make(m1.parameters()), make(m2.parameters())
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    for _ in range(3):
        scaler_step(o1, m1, scaler)
        m2(torch.ones(4, 3, dtype=torch.float64)).sum().backward()
        o2.step()
        o2.zero_grad()
    assert torch.equal(m1.weight, m2.weight)


def test_gradscaler_enabled_unscales_and_skips_inf_steps() -> None:
    torch.manual_seed(0)
    m1 = torch.nn.Linear(3, 2).double()
    m2 = torch.nn.Linear(3, 2).double()
    m2.load_state_dict(m1.state_dict())
    o1, o2 = SGD(m1.parameters(), lr=0.1), SGD(m2.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    scaler_step(o1, m1, scaler)
    m2(torch.ones(4, 3, dtype=torch.float64)).sum().backward()
    o2.step()
    assert torch.allclose(m1.weight, m2.weight, rtol=1e-12)
    before = m1.weight.detach().clone()
    m1(torch.ones(4, 3, dtype=torch.float64)).sum().mul(float("inf")).backward()
    scaler.step(o1)
    scaler.update()
    assert torch.equal(before, m1.weight)
    assert scaler.get_scale() == 512.0


def test_is_a_torch_optimizer_and_works_with_lr_schedulers() -> None:
    p = torch.nn.Parameter(torch.ones(2))
    opt = SGD([[p], [torch.nn.Parameter(torch.ones(2))]], lr=[0.1, 1.0])
    assert isinstance(opt, torch.optim.Optimizer)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(2):
        p.grad = torch.ones(2)
        opt.step()
        sched.step()
    assert [h["lr"] for h in opt.hypers] == [0.025, 0.25]
    assert p.tolist() == [pytest.approx(1 - 0.1 - 0.05)] * 2


def test_step_with_closure_returns_the_loss() -> None:
    p = torch.nn.Parameter(torch.tensor([2.0]))
    opt = SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 4.0
    assert p.item() == 1.0


def test_zero_grad_zeroes_trainable_and_drops_frozen_gradients() -> None:
    p, frozen = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = Adam([p, frozen], lr=0.1, wd=0.1)
    p.grad, frozen.grad = torch.ones(2), torch.ones(2)
    kept = p.grad
    frozen.requires_grad_(False)
    opt.zero_grad()
    assert p.grad is kept and p.grad.tolist() == [0.0, 0.0]  # zeroed in place (fastai)
    assert frozen.grad is None  # so no stepper moves a frozen weight
    opt.step()
    assert frozen.tolist() == [1.0, 1.0]
    frozen.grad = torch.ones(2)  # a stale gradient from before the freeze: still never stepped
    opt.step()
    assert frozen.tolist() == [1.0, 1.0] and p.tolist() != [1.0, 1.0]
    opt.zero_grad(set_to_none=True)
    assert p.grad is None
    p.grad = torch.ones(2)
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0]


def test_params_without_grad_are_skipped() -> None:
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = Adam([a, b], lr=0.1)
    a.grad = torch.ones(2)
    opt.step()
    assert b.tolist() == [1.0, 1.0] and b not in opt.state
    assert a.tolist() != [1.0, 1.0]


def test_optimwrapper_maps_hyper_names() -> None:
    ps = [[torch.nn.Parameter(torch.ones(2))], [torch.nn.Parameter(torch.ones(2))]]
    adam = OptimWrapper(ps, torch.optim.Adam, lr=1e-3, mom=0.8, sqr_mom=0.95, wd=0.1, eps=1e-6)
    h = adam.hypers[0]
    assert (h["lr"], h["mom"], h["sqr_mom"], h["wd"], h["eps"]) == (1e-3, 0.8, 0.95, 0.1, 1e-6)
    adam.set_hyper("mom", [0.5, 0.6])
    adam.set_hyper("lr", slice(1e-4, 1e-2))
    assert [g["betas"] for g in adam.param_groups] == [(0.5, 0.95), (0.6, 0.95)]
    assert [g["lr"] for g in adam.param_groups] == pytest.approx([1e-4, 1e-2])
    sgd = OptimWrapper(ps, torch.optim.SGD, lr=0.1, mom=0.9, wd=0.01)
    assert (sgd.param_groups[0]["momentum"], sgd.param_groups[0]["weight_decay"]) == (0.9, 0.01)
    sgd.set_hypers(mom=0.7)
    assert sgd.param_groups[1]["momentum"] == 0.7
    rms = OptimWrapper(ps, torch.optim.RMSprop, lr=0.1, sqr_mom=0.9)
    assert rms.hypers[0]["sqr_mom"] == 0.9 and rms.param_groups[0]["alpha"] == 0.9
    with pytest.raises(KeyError, match="unknown hyper-parameter 'sqr_mom'"):
        sgd.set_hyper("sqr_mom", 0.9)


def test_optimwrapper_errors_and_built_optimizer() -> None:
    p = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(TypeError, match="got both 'mom' and 'momentum'"):
        OptimWrapper([p], torch.optim.SGD, lr=0.1, mom=0.9, momentum=0.9)
    with pytest.raises(TypeError, match="unexpected keyword argument 'lrr'"):
        OptimWrapper([p], torch.optim.SGD, lrr=0.1)
    with pytest.raises(TypeError, match="opt must be a torch.optim.Optimizer class or instance"):
        OptimWrapper([p], Adam, lr=0.1)
    built = torch.optim.SGD([p], lr=0.1)
    wrapped = OptimWrapper(None, built)
    assert wrapped.opt is built and wrapped.hypers[0]["lr"] == 0.1
    with pytest.raises(TypeError, match="pass params=None"):
        OptimWrapper([p], built)


def test_optimwrapper_matches_the_torch_optimizer(make_model, train) -> None:
    m1, m2 = make_model(), make_model()
    a = train(m1, OptimWrapper(m1.parameters(), torch.optim.AdamW, lr=0.01, mom=0.8, wd=0.1), n_steps=20)
    b = train(
        m2, torch.optim.AdamW(m2.parameters(), lr=0.01, betas=(0.8, 0.999), weight_decay=0.1), n_steps=20
    )
    assert torch.equal(a, b)


def test_unknown_keyword_to_optimizer_functions_raises() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'momentum'"):
        SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1, momentum=0.9)
    opt = Optimizer([torch.nn.Parameter(torch.ones(2))], [], lr=0.1)
    assert dict(opt.hypers[0]) == {"lr": 0.1}
