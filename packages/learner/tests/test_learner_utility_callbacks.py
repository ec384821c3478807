"""Utility callbacks: run_before/run_after with a single class, ShortEpochCallback, BnFreeze,
CollectDataCallback and ChannelsLast (`to_channelslast`)."""

from __future__ import annotations

import math

import pytest
import torch
from plies.learner import (
    BnFreeze,
    Callback,
    ChannelsLast,
    CollectDataCallback,
    Learner,
    MixedPrecision,
    ProgressCallback,
    Recorder,
    ShortEpochCallback,
    TrainEvalCallback,
    default_split,
)
from plies.loaders import DataLoader, DataLoaders
from torch import nn


def dls(n_train: int = 64, n_valid: int = 32, bs: int = 8, shuffle: bool = True) -> DataLoaders:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n_train + n_valid, 2, generator=g)
    y = x.sum(1, keepdim=True)
    return DataLoaders(
        DataLoader((x[:n_train], y[:n_train]), bs=bs, shuffle=shuffle, seed=0),
        DataLoader((x[n_train:], y[n_train:]), bs=bs),
    )


def learner(model: nn.Module | None = None, **kwargs) -> Learner:
    torch.manual_seed(0)
    learn = Learner(
        kwargs.pop("dls", None) or dls(), model or nn.Linear(2, 1), loss_func=nn.MSELoss(), **kwargs
    )
    learn.remove_cb(ProgressCallback)
    return learn


class CountBatches(Callback):
    def before_fit(self):
        self.train, self.valid = 0, 0

    def before_batch(self):
        if self.learn.training:
            self.train += 1
        else:
            self.valid += 1


# ---- run_after / run_before ------------------------------------------------------------------------


def test_run_after_and_run_before_accept_a_single_class_or_name():
    class AfterRecorder(Callback):
        order = -100  # by order alone it would run first
        run_after = Recorder  # a single class, as fastai's callbacks write it

    class BeforeTrainEval(Callback):
        order = 100
        run_before = "TrainEvalCallback"  # a single name

    class AfterBoth(Callback):
        order = -100
        run_after = [Recorder, "BeforeTrainEval"]

    learn = learner(cbs=[AfterRecorder(), BeforeTrainEval(), AfterBoth()])
    names = [type(cb).__name__ for cb in learn.cbs]
    assert names.index("AfterRecorder") > names.index("Recorder")
    assert names.index("BeforeTrainEval") < names.index("TrainEvalCallback")
    assert names.index("AfterBoth") > max(names.index("Recorder"), names.index("BeforeTrainEval"))
    learn.fit(1)  # and the loop runs with them

    class Bad(Callback):
        run_after = 3

    with pytest.raises(
        TypeError,
        match=r"Bad.run_after: expected a Callback class, a callback name or a list of them, found int \(3\)",
    ):
        learner(cbs=Bad())


# ---- ShortEpochCallback -----------------------------------------------------------------------------


@pytest.mark.parametrize(("pct", "short_valid"), [(0.25, True), (0.3, False), (0.01, True), (1.0, True)])
def test_short_epoch_runs_a_fraction_of_the_batches(pct, short_valid):
    learn = learner()  # 8 training batches, 4 validation batches
    counter = CountBatches()
    learn.fit(2, cbs=[ShortEpochCallback(pct=pct, short_valid=short_valid), counter])
    expected_train = max(1, math.ceil(pct * 8)) * 2
    expected_valid = (max(1, math.ceil(pct * 4)) if short_valid else 4) * 2
    assert (counter.train, counter.valid) == (expected_train, expected_valid)
    assert len(learn.recorder.values) == 2
    assert len(learn.recorder.losses) == expected_train  # the Recorder saw the last batch of each phase


def test_short_epoch_checks_pct():
    with pytest.raises(ValueError, match=r"ShortEpochCallback: pct must be in \(0, 1\], got 0"):
        ShortEpochCallback(pct=0)


# ---- BnFreeze -------------------------------------------------------------------------------------


def body_head() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU()), nn.Linear(8, 1))


@pytest.mark.parametrize("with_bn_freeze", [True, False])
def test_bn_freeze_keeps_the_frozen_body_running_stats(with_bn_freeze):
    learn = learner(body_head(), splitter=default_split, train_bn=False)
    learn.freeze()
    bn = learn.model[0][1]
    mean, var, weight = bn.running_mean.clone(), bn.running_var.clone(), bn.weight.detach().clone()
    learn.fit(1, lr=0.1, cbs=BnFreeze() if with_bn_freeze else None)
    assert torch.equal(bn.weight, weight)  # train_bn=False: the frozen BatchNorm's weights stay
    stats_kept = torch.equal(bn.running_mean, mean) and torch.equal(bn.running_var, var)
    assert stats_kept is with_bn_freeze  # without BnFreeze, training mode updates the statistics


def test_bn_freeze_runs_after_train_eval():
    learn = learner(body_head(), cbs=BnFreeze())
    names = [type(cb).__name__ for cb in learn.cbs]
    assert names.index("BnFreeze") > names.index("TrainEvalCallback")
    assert BnFreeze.run_after is TrainEvalCallback


# ---- CollectDataCallback --------------------------------------------------------------------------


def test_collect_data_keeps_every_batch_seen():
    data = dls(shuffle=False)
    learn = learner(dls=data)
    collect = CollectDataCallback()
    learn.fit(1, lr=0.1, cbs=collect)
    collected = collect.data
    assert len(collected) == 8 + 4  # training then validation batches
    xb, yb, pred, loss = collected[0]
    first_x, first_y = next(iter(data.train))
    assert torch.equal(xb[0], first_x) and torch.equal(yb[0], first_y)
    xb, yb, pred, loss = collected[-1]  # the last validation batch, seen by the trained model
    last_x, last_y = list(data.valid)[-1]
    with torch.no_grad():
        expected = learn.model(last_x)
    assert torch.allclose(pred, expected) and float(loss) == pytest.approx(
        float(((expected - last_y) ** 2).mean())
    )
    assert not pred.requires_grad and pred.device.type == "cpu"
    learn.add_cb(collect)
    learn.fit(1)
    learn.fit(1)
    assert len(learn.collect_data.data) == 12  # it starts empty at each fit


# ---- ChannelsLast ---------------------------------------------------------------------------------


def image_dls() -> DataLoaders:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(24, 3, 5, 5, generator=g)
    y = x.mean((1, 2, 3)).unsqueeze(1)
    return DataLoaders(DataLoader((x[:16], y[:16]), bs=8), DataLoader((x[16:], y[16:]), bs=8))


def conv_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1)
    )


class SeeInputFormat(Callback):
    order = ChannelsLast.order + 1

    def before_fit(self):
        self.formats = []

    def before_batch(self):
        x = self.learn.xb[0]
        self.formats.append(
            (
                x.is_contiguous(memory_format=torch.channels_last),
                x.is_contiguous(memory_format=torch.contiguous_format),
            )
        )


def test_to_channelslast_converts_model_and_inputs_and_to_contiguous_undoes_it():
    learn = learner(conv_net(), dls=image_dls())
    plain_preds = learn.get_preds()[0]
    assert learn.to_channelslast(use_amp=False) is learn
    assert [type(cb) for cb in learn.cbs if isinstance(cb, (ChannelsLast, MixedPrecision))] == [ChannelsLast]
    seen = SeeInputFormat()
    learn.fit(1, lr=0.0, cbs=seen)  # lr 0: the weights stay, only their memory format changes
    assert seen.formats == [(True, False)] * 3  # 2 training + 1 validation batches, all channels-last
    assert learn.model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not learn.model[0].weight.is_contiguous()
    assert torch.allclose(learn.get_preds()[0], plain_preds, atol=1e-6)  # same values, other strides
    learn.to_contiguous()
    assert not any(isinstance(cb, ChannelsLast) for cb in learn.cbs)
    assert learn.model[0].weight.is_contiguous()
    learn.to_channelslast()  # as fastai: mixed precision (fp16) comes with it by default
    assert [cb.amp_mode for cb in learn.cbs if isinstance(cb, MixedPrecision)] == ["fp16"]
    learn.to_contiguous(to_fp32=True)
    assert not any(isinstance(cb, (ChannelsLast, MixedPrecision)) for cb in learn.cbs)


def test_channels_last_leaves_other_inputs_alone():
    learn = learner()  # 2-d tabular inputs
    seen = SeeInputFormat()
    learn.to_channelslast(use_amp=False)
    learn.fit(1, cbs=seen)
    assert seen.formats[0] == (False, True)  # a (bs, 2) tensor: unchanged
