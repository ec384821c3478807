"""fastai's optimizer documentation examples, reproduced against plies.optim (public names only).

Each test follows one documented example (`tst_param(val, grad)` tensors, the optimizers' first steps
computed by hand, hypers as dicts, the OptimWrapper name mapping) so a fastai user's code keeps working.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from plies.optim import (
    SGD,
    Adam,
    Lamb,
    Larc,
    Lookahead,
    Optimizer,
    OptimWrapper,
    QHAdam,
    RAdam,
    RMSProp,
    average_grad,
    average_sqr_grad,
    debias,
    detuplify_pg,
    l2_reg,
    momentum_step,
    pytorch_hp_map,
    ranger,
    set_item_pg,
    sgd_step,
    step_stat,
    weight_decay,
)
from torch import tensor


def noop(p: object, **kwargs: object) -> None:
    """A callback that does nothing (fastcore's `noop` in the docs)."""


def tst_param(val: object, grad: object = None) -> torch.Tensor:
    """A tensor `[val]` with gradient `[grad]` (`val/10` by default), as in fastai's docs."""
    res = tensor([val]).float()
    res.grad = tensor([val / 10 if grad is None else grad]).float()  # type: ignore[operator]
    return res


def tst_params() -> list[torch.Tensor]:
    return [tst_param(float(i)) for i in range(4)]


def close(a: object, b: object, eps: float = 1e-5) -> bool:
    return torch.allclose(torch.as_tensor(a).float(), torch.as_tensor(b).float(), atol=eps, rtol=0)


# --- Optimizer: param lists and hypers --------------------------------------------------------------


def test_param_lists_from_items_ranges_and_groups() -> None:
    assert Optimizer([1, 2, 3], noop).param_lists == [[1, 2, 3]]
    assert Optimizer(range(3), noop).param_lists == [[0, 1, 2]]
    assert Optimizer([[1, 2], [3]], noop).param_lists == [[1, 2], [3]]
    assert Optimizer(([o, o + 1] for o in range(0, 4, 2)), noop).param_lists == [[0, 1], [2, 3]]


def tst_arg(p: object, lr: float = 0, **kwargs: object) -> object:
    return p


tst_arg.defaults = dict(lr=1e-2)  # type: ignore[attr-defined]


def tst_arg2(p: object, lr2: float = 0, **kwargs: object) -> object:
    return p


tst_arg2.defaults = dict(lr2=1e-3)  # type: ignore[attr-defined]


def tst_arg3(p: object, mom: float = 0, **kwargs: object) -> object:
    return p


tst_arg3.defaults = dict(mom=0.9)  # type: ignore[attr-defined]


def test_hypers_from_callback_defaults_and_keywords() -> None:
    opt = Optimizer([1, 2, 3], [tst_arg, tst_arg2, tst_arg3])
    assert opt.hypers == [{"lr2": 1e-3, "mom": 0.9, "lr": 1e-2}]
    opt = Optimizer([1, 2, 3], tst_arg, lr=0.1)
    assert opt.hypers == [{"lr": 0.1}]
    opt = Optimizer([[1, 2], [3]], tst_arg)
    assert opt.hypers == [{"lr": 1e-2}, {"lr": 1e-2}]
    opt = Optimizer([[1, 2], [3]], tst_arg, lr=0.1)
    assert opt.hypers == [{"lr": 0.1}, {"lr": 0.1}]


def test_hypers_per_group_list_and_slices() -> None:
    opt = Optimizer([[1, 2], [3]], tst_arg, lr=[0.1, 0.2])
    assert opt.hypers == [{"lr": 0.1}, {"lr": 0.2}]
    opt = Optimizer([[1, 2], [3], [4]], tst_arg, lr=slice(1e-2))
    assert opt.hypers == [{"lr": 1e-3}, {"lr": 1e-3}, {"lr": 1e-2}]
    opt = Optimizer([[1, 2], [3], [4]], tst_arg, lr=slice(1e-4, 1e-2))
    assert [h["lr"] for h in opt.hypers] == pytest.approx([1e-4, 1e-3, 1e-2])
    assert [g["params"] for g in opt.param_groups] == [[1, 2], [3], [4]]
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-4, 1e-3, 1e-2])
    with pytest.raises(ValueError, match="got 2 values for 3 parameter groups"):
        Optimizer([[1, 2], [3], [4]], tst_arg, lr=np.array([0.1, 0.2]))


def test_set_hyper_and_set_hypers() -> None:
    opt = Optimizer([[1, 2], [3], [4]], [tst_arg, tst_arg3])
    opt.set_hyper("lr", slice(1e-4, 1e-2))
    opt.set_hypers(mom=[0.8, 0.85, 0.9])
    assert [h["lr"] for h in opt.hypers] == pytest.approx([1e-4, 1e-3, 1e-2])
    assert [h["mom"] for h in opt.hypers] == [0.8, 0.85, 0.9]
    opt.set_hyper("lr", 0.5)
    assert [h["lr"] for h in opt.hypers] == [0.5] * 3


# --- freezing ---------------------------------------------------------------------------------------


def rand_params() -> list[torch.Tensor]:
    return [torch.randn(1) for _ in range(4)]


def test_freeze_to_and_unfreeze() -> None:
    params = [rand_params(), rand_params(), rand_params()]
    opt = Optimizer(params, sgd_step, lr=0.1)
    opt.freeze_to(1)
    assert [p.requires_grad for p in params[0]] == [False] * 4
    for i in (1, 2):
        assert [p.requires_grad for p in params[i]] == [True] * 4
    opt.unfreeze()
    for i in range(3):
        assert [p.requires_grad for p in params[i]] == [True] * 4
    with pytest.warns(UserWarning, match="whole model is frozen"):
        opt.freeze_to(3)
    assert not any(p.requires_grad for ps in params for p in ps)


def test_freeze_keeps_force_train_parameters_trainable() -> None:
    params = [rand_params(), rand_params(), rand_params()]
    opt = Optimizer(params, sgd_step, lr=0.1)
    for p in (params[1][1], params[1][3]):
        opt.state[p] = {"force_train": True}
    opt.freeze()
    assert [p.requires_grad for p in params[0]] == [False] * 4
    assert [p.requires_grad for p in params[1]] == [False, True, False, True]
    assert [p.requires_grad for p in params[2]] == [True] * 4


# --- step, zero_grad, state -------------------------------------------------------------------------


def test_step_and_zero_grad() -> None:
    params = tst_params()
    opt = Optimizer(params, sgd_step, lr=0.1)
    opt.step()
    assert close([p.item() for p in params], [i * 0.99 for i in range(4)])
    opt.zero_grad()  # as fastai: trainable gradients zeroed in place
    assert all(torch.equal(p.grad, tensor([0.0])) for p in params)  # type: ignore[arg-type]
    opt.zero_grad(set_to_none=True)  # as torch
    assert all(p.grad is None for p in params)


def test_step_runs_callbacks_in_order_with_weight_decay() -> None:
    params = tst_params()
    opt = Optimizer(params, [weight_decay, sgd_step], lr=0.1, wd=0.1)
    opt.step()
    # p * (1 - lr*wd) - lr * grad = 0.99 p - 0.01 p
    assert close([p.item() for p in params], [i * 0.98 for i in range(4)])


def test_state_dict_round_trip() -> None:
    p = tst_param([1, 2, 3], [4, 5, 6])
    opt = Optimizer(p, average_grad)
    opt.step()
    assert torch.equal(opt.state[p]["grad_avg"], tensor([[4.0, 5.0, 6.0]]))
    sd = opt.state_dict()
    p1 = tst_param([10, 20, 30], [40, 50, 60])
    opt = Optimizer(p1, average_grad, mom=0.99)
    assert opt.hypers[0]["mom"] == 0.99
    assert opt.state == {}
    opt.load_state_dict(sd)
    assert opt.hypers[0]["mom"] == 0.9
    assert torch.equal(opt.state[p1]["grad_avg"], tensor([[4.0, 5.0, 6.0]]))


def test_clear_state_keeps_force_train() -> None:
    p = tst_param(1.0, 0.1)
    opt = Optimizer(p, average_grad)
    opt.state[p] = {"force_train": True}
    opt.step()
    assert close(opt.state[p]["grad_avg"], tensor([[0.1]]))
    opt.clear_state()
    assert opt.state[p] == {"force_train": True}


# --- stats and steppers called directly -------------------------------------------------------------


def test_sgd_step_weight_decay_and_l2_reg() -> None:
    p = tst_param(1.0, 0.1)
    sgd_step(p, 1.0)
    assert close(p, tensor([0.9])) and close(p.grad, tensor([0.1]))
    p = tst_param(1.0, 0.1)
    weight_decay(p, 1.0, 0.1)
    assert close(p, tensor([0.9])) and close(p.grad, tensor([0.1]))
    p = tst_param(1.0, 0.1)
    l2_reg(p, 1.0, 0.1)
    assert close(p, tensor([1.0])) and close(p.grad, tensor([0.2]))


def test_average_grad() -> None:
    p = tst_param([1, 2, 3], [4, 5, 6])
    state: dict = {}
    state = average_grad(p, mom=0.9, **state)
    assert torch.equal(state["grad_avg"], p.grad)
    state = average_grad(p, mom=0.9, **state)
    assert close(state["grad_avg"], p.grad * 1.9)
    state = {}
    state = average_grad(p, mom=0.9, dampening=True, **state)
    assert close(state["grad_avg"], 0.1 * p.grad)  # type: ignore[operator]
    state = average_grad(p, mom=0.9, dampening=True, **state)
    assert close(state["grad_avg"], (0.1 * 0.9 + 0.1) * p.grad)  # type: ignore[operator]
    assert average_grad.defaults == {"mom": 0.9}  # type: ignore[attr-defined]


def test_average_sqr_grad() -> None:
    p = tst_param([1, 2, 3], [4, 5, 6])
    state: dict = {}
    state = average_sqr_grad(p, sqr_mom=0.99, dampening=False, **state)
    assert torch.equal(state["sqr_avg"], p.grad.pow(2))  # type: ignore[union-attr]
    state = average_sqr_grad(p, sqr_mom=0.99, dampening=False, **state)
    assert close(state["sqr_avg"], p.grad.pow(2) * 1.99, eps=1e-4)  # type: ignore[union-attr]
    state = {}
    state = average_sqr_grad(p, sqr_mom=0.99, **state)
    assert close(state["sqr_avg"], 0.01 * p.grad.pow(2))  # type: ignore[union-attr]
    state = average_sqr_grad(p, sqr_mom=0.99, **state)
    assert close(state["sqr_avg"], (0.01 * 0.99 + 0.01) * p.grad.pow(2))  # type: ignore[union-attr]
    assert average_sqr_grad.defaults == {"sqr_mom": 0.99}  # type: ignore[attr-defined]


def test_step_stat_and_debias() -> None:
    p = tst_param(1, 0.1)
    state: dict = {}
    state = step_stat(p, **state)
    assert state["step"] == 1
    for _ in range(5):
        state = step_stat(p, **state)
    assert state["step"] == 6
    assert debias(0.9, 0.1, 1) == pytest.approx(0.1)
    assert debias(0.9, 0.1, 2) == pytest.approx(0.19)


def test_momentum_step() -> None:
    p = tst_param([1.0, 2.0], [0.5, 0.5])
    momentum_step(p, lr=0.1, grad_avg=tensor([[2.0, 4.0]]))
    assert close(p, tensor([[0.8, 1.6]]))


# --- the optimizers ---------------------------------------------------------------------------------


def test_sgd_vanilla_and_momentum() -> None:
    params = tst_params()
    opt = SGD(params, lr=0.1)
    opt.step()
    assert close([p.item() for p in params], [i * 0.99 for i in range(4)])
    opt.step()
    assert close([p.item() for p in params], [i * 0.98 for i in range(4)])

    params = tst_params()
    opt = SGD(params, lr=0.1, mom=0.9)
    assert isinstance(opt, Optimizer)
    opt.step()
    assert close([p.item() for p in params], [i * 0.99 for i in range(4)])
    opt.step()
    assert close([p.item() for p in params], [i * (1 - 0.1 * (0.1 + 0.1 * 1.9)) for i in range(4)])
    for i, p in enumerate(params):
        assert opt.state[p]["grad_avg"].item() == pytest.approx(i * 0.19, abs=1e-6)


def test_sgd_weight_decay_decoupled_and_l2() -> None:
    params = tst_params()
    opt = SGD(params, lr=0.1, mom=0.9, wd=0.1)
    opt.step()
    assert close([p.item() for p in params], [i * 0.98 for i in range(4)])
    params = tst_params()
    opt = SGD(params, lr=0.1, mom=0.9, wd=0.1, decouple_wd=False)
    opt.step()
    # grad += wd * p -> 0.1 i + 0.1 i; p -= lr * grad
    assert close([p.item() for p in params], [i * 0.98 for i in range(4)])
    assert close([p.grad.item() for p in params], [i * 0.2 for i in range(4)])  # type: ignore[union-attr]


def test_rmsprop_without_and_with_momentum() -> None:
    params = tst_param([1, 2, 3], [0.1, 0.2, 0.3])
    opt = RMSProp(params, lr=0.1)
    opt.step()
    assert close(params[0], tensor([0.0, 1.0, 2.0]))
    opt.step()
    step = -0.1 * 0.1 / (math.sqrt((0.01 * 0.99 + 0.01) * 0.1**2) + 1e-8)
    assert close(params[0], tensor([step, 1 + step, 2 + step]), eps=1e-4)

    params = tst_param([1, 2, 3], [0.1, 0.2, 0.3])
    opt = RMSProp(params, lr=0.1, mom=0.9)
    opt.step()
    assert close(params[0], tensor([0.0, 1.0, 2.0]))
    opt.step()
    step = -0.1 * (0.1 + 0.9 * 0.1) / (math.sqrt((0.01 * 0.99 + 0.01) * 0.1**2) + 1e-8)
    assert close(params[0], tensor([step, 1 + step, 2 + step]), eps=1e-4)


def test_adam_first_steps_and_defaults() -> None:
    params = tst_param([1, 2, 3], [0.1, 0.2, 0.3])
    opt = Adam(params, lr=0.1, wd=0)
    opt.step()
    step = -0.1 * 0.1 / (math.sqrt(0.1**2) + 1e-8)
    assert close(params[0], tensor([1 + step, 2 + step, 3 + step]), eps=1e-4)
    opt.step()
    assert close(params[0], tensor([1 + 2 * step, 2 + 2 * step, 3 + 2 * step]), eps=1e-3)
    h = Adam([torch.zeros(1)], lr=1e-3).hypers[0]
    assert (h["mom"], h["sqr_mom"], h["eps"], h["wd"]) == (0.9, 0.99, 1e-5, 0.01)


def test_radam_plain_steps_then_rectified() -> None:
    params = tst_param([1, 2, 3], [0.1, 0.2, 0.3])
    opt = RAdam(params, lr=0.1)
    r_inf = 2 / (1 - 0.99) - 1
    for i in range(5):
        r = r_inf - 2 * (i + 1) * 0.99 ** (i + 1) / (1 - 0.99 ** (i + 1))
        assert r <= 5
        opt.step()
    p = tensor([0.95, 1.9, 2.85])
    assert close(params[0], p, eps=1e-4)
    r = r_inf - 2 * 6 * 0.99**6 / (1 - 0.99**6)
    assert r > 5
    opt.step()
    v = math.sqrt(((r - 4) * (r - 2) * r_inf) / ((r_inf - 4) * (r_inf - 2) * r))
    step = -0.1 * 0.1 * v / (math.sqrt(0.1**2) + 1e-5)
    assert close(params[0], p + step, eps=1e-4)


def test_qhadam_first_steps() -> None:
    params = tst_param([1, 2, 3], [0.1, 0.2, 0.3])
    opt = QHAdam(params, lr=0.1)
    opt.step()
    num = ((1 - 0.7) * 0.1) + (0.7 * 0.1)
    step = -0.1 * num / (math.sqrt(((1 - 1.0) * 0.1**2) + (1.0 * 0.1**2)) + 1e-8)
    assert close(params[0], tensor([1 + step, 2 + step, 3 + step]), eps=1e-4)
    opt.step()
    assert close(params[0], tensor([1 + 2 * step, 2 + 2 * step, 3 + 2 * step]), eps=1e-3)


def test_larc_clipped_and_not_clipped() -> None:
    params = [tst_param([1, 2, 3], [0.1, 0.2, 0.3]), tst_param([1, 2, 3], [0.01, 0.02, 0.03])]
    opt = Larc(params, lr=0.1)
    opt.step()
    assert opt.state[params[0]]["local_lr"] == pytest.approx(0.02)  # < lr: kept
    assert opt.state[params[1]]["local_lr"] == 0.1  # 0.2 > lr: clipped
    assert close(params[0], tensor([0.998, 1.996, 2.994]))
    assert close(params[1], tensor([0.999, 1.998, 2.997]))

    params = [tst_param([1, 2, 3], [0.1, 0.2, 0.3]), tst_param([1, 2, 3], [0.01, 0.02, 0.03])]
    opt = Larc(params, lr=0.1, clip=False)
    opt.step()
    assert opt.state[params[0]]["local_lr"] == pytest.approx(0.02)
    assert opt.state[params[1]]["local_lr"] == pytest.approx(0.2)
    assert close(params[0], tensor([0.998, 1.996, 2.994]))
    assert close(params[1], tensor([0.998, 1.996, 2.994]))


def test_lamb_first_step() -> None:
    params = tst_param([1, 2, 3], [0.1, 0.2, 0.3])
    opt = Lamb(params, lr=0.1)
    opt.step()
    assert close(params[0], tensor([0.7840, 1.7840, 2.7840]), eps=1e-3)


def test_lookahead_over_sgd() -> None:
    params = tst_param([1, 2, 3], [0.1, 0.2, 0.3])
    p, g = params[0].data.clone(), tensor([0.1, 0.2, 0.3])
    opt = Lookahead(SGD(params, lr=0.1))
    for _ in range(5):
        opt.step()
    assert close(params[0], p - 0.5 * g)  # the first 5 steps are plain SGD
    opt.step()  # k=6: halfway between the slow weights and 6 SGD steps
    assert close(params[0], p * 0.5 + (p - 0.6 * g) * 0.5)
    assert opt.hypers[0]["lr"] == 0.1 and opt.param_lists[0][0] is params


def test_ranger_is_lookahead_over_radam_with_its_defaults() -> None:
    opt = ranger([torch.zeros(2)], lr=1e-3)
    assert isinstance(opt, Lookahead) and (opt.k, opt.alpha) == (6, 0.5)
    h = opt.hypers[0]
    assert (h["mom"], h["wd"], h["eps"], h["sqr_mom"]) == (0.95, 0.01, 1e-6, 0.99)


# --- OptimWrapper -----------------------------------------------------------------------------------


def test_detuplify_and_set_item_pg() -> None:
    tst = {"lr": 1e-2, "mom": 0.9, "params": [0, 1, 2]}
    assert detuplify_pg(tst) == {"lr": 1e-2, "mom": 0.9}
    tst = {"lr": 1e-2, "betas": (0.9, 0.999), "params": [0, 1, 2]}
    assert detuplify_pg(tst) == {"lr": 1e-2, "betas__0": 0.9, "betas__1": 0.999}
    tst = {"lr": 1e-2, "betas": (0.9, 0.999), "params": [0, 1, 2]}
    assert set_item_pg(tst, "lr", 1e-3) == {"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1, 2]}
    tst = {"lr": 1e-2, "betas": (0.9, 0.999), "params": [0, 1, 2]}
    assert set_item_pg(tst, "betas__0", 0.95) == {"lr": 1e-2, "betas": (0.95, 0.999), "params": [0, 1, 2]}
    assert pytorch_hp_map == {
        "momentum": "mom",
        "weight_decay": "wd",
        "alpha": "sqr_mom",
        "betas__0": "mom",
        "betas__1": "sqr_mom",
    }


def test_optimwrapper_sgd_like_plies_sgd() -> None:
    sgd = SGD([tensor([1, 2, 3])], lr=1e-3, mom=0.9, wd=1e-2)
    tst_sgd = OptimWrapper([tensor([1, 2, 3])], torch.optim.SGD, lr=1e-3, momentum=0.9, weight_decay=1e-2)
    assert [[p.tolist() for p in ps] for ps in tst_sgd.param_lists] == [[[1, 2, 3]]]
    assert [[p.tolist() for p in ps] for ps in sgd.param_lists] == [[[1, 2, 3]]]
    tst_sgd.param_lists = [[tensor([4, 5, 6])]]
    assert tst_sgd.opt.param_groups[0]["params"][0].tolist() == [4, 5, 6]
    hypers = dict(tst_sgd.hypers[0])
    assert {k: hypers[k] for k in sgd.hypers[0]} == dict(sgd.hypers[0])
    assert (hypers["dampening"], hypers["nesterov"]) == (0, False)
    tst_sgd.set_hyper("mom", 0.95)
    assert tst_sgd.opt.param_groups[0]["momentum"] == 0.95


def test_optimwrapper_adamw_betas_map_to_mom_and_sqr_mom() -> None:
    tst_adam = OptimWrapper([tensor([1.0, 2, 3])], torch.optim.AdamW, lr=1e-2, betas=(0.9, 0.99), eps=1e-5)
    h = tst_adam.hypers[0]
    assert (h["lr"], h["mom"], h["sqr_mom"], h["eps"], h["amsgrad"]) == (1e-2, 0.9, 0.99, 1e-5, False)
    tst_adam.set_hyper("mom", 0.95)
    assert tst_adam.opt.param_groups[0]["betas"] == (0.95, 0.99)
    tst_adam.set_hyper("sqr_mom", 0.9)
    assert tst_adam.opt.param_groups[0]["betas"] == (0.95, 0.9)


def test_optimwrapper_built_optimizer_hp_map_and_convert_groups() -> None:
    built = torch.optim.SGD([torch.zeros(2)], lr=0.1, momentum=0.5)
    wrapped = OptimWrapper(opt=built)
    assert wrapped.opt is built and wrapped.hypers[0]["mom"] == 0.5
    with pytest.raises(ValueError, match="pass opt"):
        OptimWrapper([torch.zeros(2)])
    custom = OptimWrapper([torch.zeros(2)], torch.optim.SGD, {"momentum": "beta"}, lr=0.1, momentum=0.3)
    assert custom.hypers[0]["beta"] == 0.3 and "mom" not in custom.hypers[0]
    custom.set_hyper("beta", 0.6)
    assert custom.opt.param_groups[0]["momentum"] == 0.6
    a, b = torch.zeros(2), torch.zeros(3)
    torch_groups = [{"params": [a], "lr": 0.5}, {"params": [b]}]
    raw = OptimWrapper(torch_groups, torch.optim.SGD, convert_groups=False, lr=0.1)
    assert [h["lr"] for h in raw.hypers] == [0.5, 0.1]
    partial_adamw = OptimWrapper([a], functools.partial(torch.optim.AdamW, betas=(0.8, 0.9)), lr=0.1)
    assert (partial_adamw.hypers[0]["mom"], partial_adamw.hypers[0]["sqr_mom"]) == (0.8, 0.9)
    grouped = OptimWrapper([[a], [b]], torch.optim.SGD, lr=0.1)
    assert len(grouped.param_lists) == 2
    grouped.freeze()
    assert (a.requires_grad, b.requires_grad) == (False, True)


def _mock_train(m: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, opt: object) -> None:
    m.train()
    for i in range(0, 100, 25):
        z = m(x[i : i + 25])
        loss = F.mse_loss(z, y[i : i + 25])
        loss.backward()
        opt.step()  # type: ignore[attr-defined]
        opt.zero_grad()  # type: ignore[attr-defined]


def test_optimwrapper_adamw_matches_plies_adam() -> None:
    torch.manual_seed(0)
    m = torch.nn.Linear(4, 5)
    x, y = torch.randn(100, 3, 4), torch.randn(100, 3, 5)
    start = {k: v.clone() for k, v in m.state_dict().items()}
    opt1 = OptimWrapper(m.parameters(), torch.optim.AdamW, betas=(0.9, 0.99), eps=1e-5, weight_decay=1e-2)
    _mock_train(m, x.clone(), y.clone(), opt1)
    wgt1, bias1 = m.weight.data.clone(), m.bias.data.clone()
    m.load_state_dict(start)
    opt2 = Adam(m.parameters(), 1e-3, wd=1e-2)
    _mock_train(m, x.clone(), y.clone(), opt2)
    assert close(wgt1, m.weight.data, eps=1e-3) and close(bias1, m.bias.data, eps=1e-3)
    assert not torch.equal(wgt1, start["weight"])
    opt1.clear_state()
    assert len(opt1.opt.state) == 0
