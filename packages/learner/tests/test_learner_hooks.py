"""Hooks, HookCallback, ActivationStats and the model/learner summary."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from plies.layers import flatten_model
from plies.learner import (
    ActivationStats,
    Hook,
    HookCallback,
    Hooks,
    hook_output,
    hook_outputs,
    layer_info,
    learner_summary,
    module_summary,
)
from torch import nn


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 3), nn.BatchNorm1d(3)))


def test_hook_output_stores_detached_output_and_removes():
    model = mlp()
    x = torch.randn(5, 4)
    with hook_output(model[0]) as hook:
        model(x)
        expected = model[0](x)
        assert torch.allclose(hook.stored, expected)
        assert not hook.stored.requires_grad
    model(torch.randn(2, 4))
    assert hook.stored.shape == (5, 8)  # removed: a later forward does not overwrite it
    hook.remove()  # a second remove is harmless


def test_hook_without_detach_keeps_graph_and_custom_func():
    model = mlp()
    hook = Hook(model[0], lambda m, i, o: (i[0].shape, o), detach=False)
    model(torch.randn(3, 4))
    in_shape, out = hook.stored
    assert in_shape == (3, 4) and out.requires_grad
    hook.remove()


def test_backward_hook_stores_output_gradient():
    model = mlp()
    x = torch.randn(6, 4, requires_grad=True)
    with hook_output(model[0], grad=True) as hook:
        out = model[0](x)
        out.sum().backward()
        (grad_out,) = hook.stored
        assert torch.equal(grad_out, torch.ones(6, 8))


def test_hooks_on_several_modules_and_cpu():
    model = mlp()
    with hook_outputs(flatten_model(model), cpu=True) as hooks:
        model(torch.randn(7, 4))
        assert [tuple(s.shape) for s in hooks.stored] == [(7, 8), (7, 8), (7, 3), (7, 3)]
        assert len(hooks) == 4 and hooks[2].stored.device.type == "cpu"
    assert all(h.removed for h in hooks)


def test_hooks_with_func_and_flatten_model():
    model = mlp()
    leaves = flatten_model(model)
    assert [type(m).__name__ for m in leaves] == ["Linear", "ReLU", "Linear", "BatchNorm1d"]
    with Hooks(leaves, lambda m, i, o: o.mean().item()) as hooks:
        model(torch.randn(4, 4))
        assert hooks.stored[3] == pytest.approx(0.0, abs=1e-5)  # BatchNorm output in training mode


def fake_learn(model, training=True):
    return SimpleNamespace(model=model, training=training, train_iter=0)


def drive(cb, learn, n_batches, x):
    """Run the callback events of a short training loop by hand."""
    cb.learn = learn
    cb.before_fit()
    for i in range(n_batches):
        learn.train_iter = i
        cb.before_batch()
        learn.model(x)
        cb.after_batch()
    cb.after_fit()


def test_activation_stats_values_per_layer_and_batch():
    model = mlp()
    x = torch.randn(16, 4)
    cb = ActivationStats(with_hist=True)
    drive(cb, fake_learn(model), 3, x)
    assert len(cb.stats) == 3 and len(cb.stats[0]) == 3  # three layers with parameters
    out0 = model[0](x)
    assert cb.stats[1][0]["mean"] == pytest.approx(out0.mean().item(), rel=1e-5)
    assert cb.stats[1][0]["std"] == pytest.approx(out0.std().item(), rel=1e-5)
    assert cb.stats[1][0]["near_zero"] == pytest.approx((out0 <= 0.05).float().mean().item())
    means, stds, near_zero = cb.layer_stats(2)
    assert len(means) == 3 and means[0] == pytest.approx(0.0, abs=1e-5) and stds[0] > 0.9
    assert cb.hist(0).shape == (40, 3)
    assert cb.hooks is not None and all(h.removed for h in cb.hooks)


def test_activation_stats_every_and_no_hist():
    model = mlp()
    cb = ActivationStats(every=2)
    drive(cb, fake_learn(model), 5, torch.randn(8, 4))
    assert len(cb.stats) == 3  # batches 0, 2, 4
    with pytest.raises(ValueError, match="with_hist=True"):
        cb.hist(0)


def test_activation_stats_skips_validation_batches():
    model = mlp()
    cb = ActivationStats()
    drive(cb, fake_learn(model, training=False), 2, torch.randn(8, 4))
    assert cb.stats == []


def test_hook_callback_with_hook_function_and_modules():
    model = mlp()
    cb = HookCallback(modules=[model[1]], hook=lambda m, i, o: o.shape, remove_end=False)
    drive(cb, fake_learn(model), 1, torch.randn(3, 4))
    assert cb.hooks.stored == [(3, 8)]
    cb.hooks.remove()
    with pytest.raises(NotImplementedError, match="define `hook"):
        HookCallback().hook(model, None, None)


def test_layer_info_and_module_summary_values():
    model = mlp()
    model[2][0].requires_grad_(False)
    rows = layer_info(model, torch.randn(1, 4))
    assert rows == [
        ("Linear", 40, True, (1, 8)),
        ("ReLU", None, None, (1, 8)),
        ("Linear", 27, False, (1, 3)),
        ("BatchNorm1d", 6, True, (1, 3)),
    ]
    text = module_summary(model, torch.randn(64, 4))
    assert text.startswith("Sequential (Input shape: 64 x 4)")
    assert "64 x 8" in text and "Total params: 73" in text
    assert "Total trainable params: 46" in text and "Total non-trainable params: 27" in text
    assert repr(text) == str(text)
    assert model.training  # restored after the eval-mode pass


def test_learner_summary_lists_optimizer_loss_and_callbacks():
    model = mlp()
    batch = (torch.randn(32, 4), torch.randint(0, 3, (32,)))

    class Recorder:
        order = 50

    class TrainEval:
        order = -10

    learn = SimpleNamespace(
        model=model,
        dls=SimpleNamespace(train=SimpleNamespace(one_batch=lambda: batch), n_inp=1),
        opt_func=torch.optim.SGD,
        loss_func=nn.CrossEntropyLoss(),
        opt=SimpleNamespace(frozen_idx=0),
        cbs=[Recorder(), TrainEval()],
    )
    text = learner_summary(learn)
    assert "Input shape: 32 x 4" in text and "Total params: 73" in text
    assert "Optimizer used: SGD" in text and "Loss function: CrossEntropyLoss()" in text
    assert "Model unfrozen" in text
    assert text.index("- TrainEval") < text.index("- Recorder")


def tiny_learner(cbs=None):
    from plies.learner import Learner
    from plies.loaders import DataLoader, DataLoaders

    torch.manual_seed(0)
    x = torch.randn(96, 4)
    y = (x[:, 0] > 0).long()
    dls = DataLoaders(DataLoader((x[:64], y[:64]), bs=16, shuffle=True), DataLoader((x[64:], y[64:]), bs=16))
    return Learner(dls, mlp(), loss_func=nn.CrossEntropyLoss(), cbs=cbs)


def test_activation_stats_during_a_real_fit():
    cb = ActivationStats(every=2)
    learn = tiny_learner(cbs=cb)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1)
    assert len(cb.stats) == 2  # 4 training batches, every 2nd one, no validation batch
    assert all(len(batch) == 3 for batch in cb.stats)
    assert learn.activation_stats is cb


def test_learn_summary_on_a_real_learner():
    learn = tiny_learner()
    text = learn.summary()
    assert "Sequential (Input shape: 16 x 4)" in text
    assert "Total params: 73" in text and "Loss function: CrossEntropyLoss()" in text
    assert "- TrainEvalCallback" in text and "- Recorder" in text


def test_summary_without_data_says_why():
    with pytest.raises(ValueError, match="no DataLoaders"):
        learner_summary(SimpleNamespace(dls=None, model=mlp()))


def test_activation_stats_keep_recording_across_a_validate_inside_the_fit():
    from plies.learner import Callback

    class ValidateAfterBatch1(Callback):
        order = 100

        def after_batch(self):
            if self.learn.training and self.learn.train_iter == 1:
                self.valid = self.learn.validate()

    cb, probe = ActivationStats(), ValidateAfterBatch1()
    learn = tiny_learner(cbs=[cb, probe])
    with learn.no_bar(), learn.no_logging():
        learn.fit(1)
    assert len(probe.valid) == 1
    assert len(cb.stats) == 4  # all 4 training batches: the nested pass neither reset nor removed the hooks
    last = learn.model[0](learn.dls.train.one_batch()[0]).detach()  # hooks are gone after the fit
    assert cb.stats[-1][0]["mean"] != pytest.approx(float(last.mean()), abs=0)
    learn.validate()  # a validate after the fit keeps the fit's statistics
    assert len(cb.stats) == 4
