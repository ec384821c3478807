"""Training end to end: convergence on synthetic data, freezing with BatchNorm, fine_tune, mixed precision,
gradient accumulation and clipping."""

from __future__ import annotations

import pytest
import torch
from plies.learner import (
    Callback,
    GradientAccumulation,
    GradientClip,
    Learner,
    MixedPrecision,
    accuracy,
    mse,
)
from plies.loaders import DataLoader, DataLoaders
from plies.optim import SGD
from plies.typecore import TensorCategory
from torch import nn


def regression_dls(n: int = 512, bs: int = 32) -> DataLoaders:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.tensor([[1.0], [-0.5], [0.25], [0.0]]) + 0.3 * torch.sin(x[:, :1])
    cut = n * 3 // 4
    return DataLoaders(
        DataLoader((x[:cut], y[:cut]), bs=bs, shuffle=True, drop_last=True, seed=0),
        DataLoader((x[cut:], y[cut:]), bs=bs * 2),
    )


def classification_dls(n: int = 600, bs: int = 32) -> DataLoaders:
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 4, (n,), generator=g)
    centers = torch.tensor([[-1.5, -1.5], [-1.5, 1.5], [1.5, -1.5], [1.5, 1.5]])
    x = centers[labels] + 0.6 * torch.randn(n, 2, generator=g)  # four blobs, a little overlap
    y = TensorCategory(labels)
    cut = n * 3 // 4
    return DataLoaders(
        DataLoader((x[:cut], y[:cut]), bs=bs, shuffle=True, drop_last=True, seed=0),
        DataLoader((x[cut:], y[cut:]), bs=bs * 2),
    )


def mlp(n_in: int, n_out: int, bn: bool = True) -> nn.Sequential:
    torch.manual_seed(0)
    layers = [nn.Linear(n_in, 64)] + ([nn.BatchNorm1d(64)] if bn else []) + [nn.ReLU(), nn.Linear(64, n_out)]
    return nn.Sequential(*layers)


def test_synthetic_regression_reaches_mse_below_0_05():
    learn = Learner(regression_dls(), mlp(4, 1), metrics=mse)
    assert type(learn.loss_func).__name__ == "BaseLoss" or "MSE" in repr(learn.loss_func)
    with learn.no_bar():
        learn.fit_one_cycle(8, lr_max=1e-2)
    valid_loss, valid_mse = learn.recorder.values[-1][1:]
    assert valid_mse < 0.05 and valid_loss == pytest.approx(valid_mse, rel=1e-4)


def test_synthetic_classification_reaches_accuracy_above_0_95():
    learn = Learner(classification_dls(), mlp(2, 4), metrics=accuracy)
    assert "CrossEntropy" in repr(learn.loss_func)  # default loss from the TensorCategory target
    with learn.no_bar():
        learn.fit_one_cycle(5, lr_max=1e-2)
    assert learn.recorder.metric_names == ["epoch", "train_loss", "valid_loss", "accuracy", "time"]
    assert learn.recorder.values[-1][2] > 0.95
    assert learn.validate()[1] == pytest.approx(learn.recorder.values[-1][2])


def _body_head_splitter(m: nn.Sequential) -> list[list[nn.Parameter]]:
    return [list(m[:3].parameters()), list(m[3:].parameters())]


def test_frozen_body_keeps_batchnorm_trainable_and_updating():
    learn = Learner(classification_dls(), mlp(2, 4), splitter=_body_head_splitter, lr=1e-2)
    learn.freeze()
    lin, bn = learn.model[0], learn.model[1]
    assert not lin.weight.requires_grad and bn.weight.requires_grad and bn.bias.requires_grad
    lin_w, bn_w, bn_mean = lin.weight.clone(), bn.weight.clone(), bn.running_mean.clone()
    head_w = learn.model[3].weight.clone()
    with learn.no_bar():
        learn.fit(1)
    assert torch.equal(lin.weight, lin_w)  # frozen
    assert not torch.equal(bn.weight, bn_w)  # BatchNorm trained
    assert not torch.equal(bn.running_mean, bn_mean)  # running statistics updated
    assert not torch.equal(learn.model[3].weight, head_w)
    learn.unfreeze()
    assert all(p.requires_grad for p in learn.model.parameters())


def test_frozen_batchnorm_stays_frozen_without_train_bn():
    learn = Learner(classification_dls(), mlp(2, 4), splitter=_body_head_splitter, train_bn=False)
    learn.freeze()
    assert not learn.model[1].weight.requires_grad


def test_no_weight_decay_on_batchnorm_and_bias_unless_asked():
    class NoGradient(GradientClip):  # zero loss: only weight decay moves the parameters
        def after_loss(self):
            self.learn.loss = self.learn.loss * 0.0

    for wd_bn_bias in (False, True):
        learn = Learner(classification_dls(), mlp(2, 4), opt_func=SGD, wd=0.5, lr=0.1, wd_bn_bias=wd_bn_bias)
        bn, lin = learn.model[1], learn.model[0]
        w0, b0, bn0 = lin.weight.clone(), lin.bias.clone(), bn.weight.clone()
        with learn.no_bar():
            learn.fit(1, cbs=NoGradient())
        assert not torch.equal(lin.weight, w0)  # decayed
        assert torch.equal(lin.bias, b0) is not wd_bn_bias
        assert torch.equal(bn.weight, bn0) is not wd_bn_bias


def test_fine_tune_trains_the_head_frozen_then_everything():
    learn = Learner(classification_dls(), mlp(2, 4), splitter=_body_head_splitter, metrics=accuracy)
    body_w = learn.model[0].weight.clone()
    phases = []

    class Watch(GradientClip):  # any callback class: records what is trainable at each fit
        def before_fit(self):
            self.first = True

        def after_batch(self):  # the lrs the scheduler set for the first batch of each fit
            if self.first and self.learn.training:
                self.first = False
                phases.append(
                    (self.learn.model[0].weight.requires_grad, [h["lr"] for h in self.learn.opt.hypers])
                )

    with learn.no_bar():
        learn.fine_tune(2, base_lr=2e-3, freeze_epochs=1, cbs=Watch(max_norm=100.0))
    assert [p[0] for p in phases] == [False, True]
    assert phases[0][1] == pytest.approx([2e-4 / 25, 2e-3 / 25])  # slice(base_lr), 1cycle start lr_max/div
    assert phases[1][1] == pytest.approx([1e-5 / 5, 1e-3 / 5])  # slice(base_lr/2/lr_mult, base_lr/2), div=5
    assert len(learn.recorder.values) == 2  # the last fit_one_cycle's epochs
    assert not torch.equal(learn.model[0].weight, body_w)


def test_mixed_precision_bf16_on_cpu():
    learn = Learner(regression_dls(), mlp(4, 1), lr=1e-2)
    learn.to_bf16()
    assert isinstance(learn.mixed_precision, MixedPrecision)
    dtypes = []

    class Spy(GradientClip):
        def after_pred(self):
            dtypes.append(self.learn.model[0](self.learn.xb[0]).dtype)

    untrained = learn.validate()[0]
    with learn.no_bar():
        learn.fit_one_cycle(3, lr_max=1e-2, cbs=Spy(max_norm=1e9))
    assert torch.bfloat16 in dtypes  # the forward ran under autocast
    assert learn.recorder.values[-1][1] < untrained / 2
    assert learn.model[0].weight.dtype == torch.float32  # master weights stay float32
    learn.to_fp32()
    assert not any(isinstance(c, MixedPrecision) for c in learn.cbs)


def test_mixed_precision_fp16_scaler_on_cpu():
    learn = Learner(regression_dls(), mlp(4, 1, bn=False), lr=1e-2)
    learn.to_fp16(init_scale=2.0**8)
    with learn.no_bar():
        learn.fit(1)
    assert isinstance(learn.scaler, torch.amp.GradScaler)
    assert learn.scaler.get_scale() == 2.0**8  # 12 finite steps: no overflow, no growth (every 2000 steps)
    assert learn.recorder.values[-1][1] < 1.0
    with pytest.raises(ValueError, match="amp_mode"):
        MixedPrecision(amp_mode="fp8")


def test_fp16_overflow_skips_the_step_and_halves_the_scale():
    class Overflow(Callback):
        """Make the gradients of training batch 3 infinite; record the scale and weights after each batch."""

        order = 100

        def __init__(self):
            super().__init__()
            self.scales, self.weights = [], []

        def after_loss(self):
            if self.learn.training and self.learn.iter == 3:
                self.learn.loss_grad = self.learn.loss_grad * float("inf")

        def after_batch(self):
            if self.learn.training:
                self.scales.append(self.learn.scaler.get_scale())
                self.weights.append(self.learn.model[0].weight.detach().clone())

    learn = Learner(regression_dls(), mlp(4, 1, bn=False), lr=1e-2)
    learn.to_fp16(init_scale=2.0**8, growth_interval=3)  # the scale doubles after 3 finite steps in a row
    spy = Overflow()
    with learn.no_bar():
        learn.fit(1, cbs=spy)
    # batches 0-2 finite: 512 after batch 2; batch 3 overflows: halved to 256 (backoff 0.5), counter reset;
    # 4-6 finite: 512; 7-9: 1024; 10-11: two finite steps, no growth yet
    assert spy.scales == [256, 256, 512, 256, 256, 256, 512, 512, 512, 1024, 1024, 1024]
    assert torch.equal(spy.weights[3], spy.weights[2])  # the overflowing step was skipped
    assert not torch.equal(spy.weights[4], spy.weights[3])
    assert all(torch.isfinite(w).all() for w in spy.weights)


def test_gradient_accumulation_equals_a_bigger_batch():
    def run(bs: int, cbs) -> list[torch.Tensor]:
        g = torch.Generator().manual_seed(3)
        x, y = torch.randn(64, 4, generator=g), torch.randn(64, 1, generator=g)
        dls = DataLoaders(DataLoader((x, y), bs=bs), DataLoader((x[:8], y[:8]), bs=8))
        learn = Learner(dls, mlp(4, 1, bn=False), opt_func=SGD, lr=0.1, cbs=cbs)
        with learn.no_bar():
            learn.fit(1)
        return [p.detach().clone() for p in learn.model.parameters()]

    big = run(32, None)
    acc = run(8, GradientAccumulation(n_acc=32))
    small = run(8, None)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(big, acc, strict=False))
    assert not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(big, small, strict=False))


def test_gradient_clip_bounds_the_gradient_norm():
    norms = []

    class Norm(GradientClip):
        order = 30

        def before_step(self):
            norms.append(torch.nn.utils.get_total_norm([p.grad for p in self.learn.model.parameters()]))

    learn = Learner(regression_dls(), mlp(4, 1), lr=1e-2, cbs=[GradientClip(max_norm=0.01), Norm()])
    with learn.no_bar():
        learn.fit(1)
    assert max(float(n) for n in norms) <= 0.01 + 1e-6


def test_fp16_composes_with_gradient_accumulation_and_clipping():
    learn = Learner(
        regression_dls(),
        mlp(4, 1, bn=False),
        lr=1e-2,
        cbs=[GradientAccumulation(n_acc=64), GradientClip(max_norm=1.0)],
    )
    learn.to_fp16()
    steps = []

    class CountSteps(GradientClip):
        order = 30

        def after_step(self):
            steps.append(self.learn.iter)

    with learn.no_bar():
        learn.fit(2, cbs=CountSteps())
    assert len(steps) == 12  # 12 batches of 32 per epoch, one step per 64 samples
    assert learn.recorder.values[-1][1] < learn.recorder.values[0][1] or learn.recorder.values[-1][1] < 1.0
