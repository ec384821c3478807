"""The Recorder's history and smoothed loss, the progress table, and the default loss choice."""

from __future__ import annotations

import pytest
import torch
from plies.learner import (
    AvgSmoothLoss,
    Learner,
    Recorder,
    TrainEvalCallback,
    ValueMetric,
    default_loss_func,
    event,
    mse,
)
from plies.loaders import DataLoader, DataLoaders
from plies.typecore import TensorBase, TensorCategory, TensorMultiCategory
from torch import nn


def make_dls(y=None, n: int = 40, bs: int = 8) -> DataLoaders:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    y = x.sum(1, keepdim=True) if y is None else y
    return DataLoaders(
        DataLoader((x[:32], y[:32]), bs=bs, shuffle=True, seed=0), DataLoader((x[32:], y[32:]), bs=bs)
    )


def test_recorder_smooth_loss_is_the_debiased_moving_average():
    torch.manual_seed(0)
    learn = Learner(make_dls(), nn.Linear(3, 1), metrics=mse, lr=1e-2)
    with learn.no_bar():
        learn.fit(2)
    rec = learn.recorder
    raw, beta = rec.raw_losses, 0.98
    avg, expected = 0.0, []
    for i, v in enumerate(raw, 1):
        avg = beta * avg + (1 - beta) * v
        expected.append(avg / (1 - beta**i))
    assert len(raw) == 8 and rec.losses == pytest.approx(expected, rel=1e-5)
    assert float(learn.smooth_loss) == pytest.approx(expected[-1], rel=1e-5)
    assert [row[0] for row in rec.values] == pytest.approx([expected[3], expected[7]], rel=1e-5)
    assert rec.iters == [4, 8] and len(rec.lrs) == len(rec.moms) == 8
    assert rec.metric_names == ["epoch", "train_loss", "valid_loss", "mse", "time"]
    assert learn.final_record == rec.values[-1]


def test_avg_smooth_loss_metric_directly():
    m = AvgSmoothLoss(beta=0.5)
    for v in (4.0, 2.0):
        m.add(torch.tensor(v))
    assert float(m.value) == pytest.approx((0.5 * 0.5 * 4 + 0.5 * 2) / (1 - 0.25))
    m.reset()
    assert m.value is None


def test_recorder_train_metrics_and_value_metric():
    torch.manual_seed(0)
    learn = Learner(
        make_dls(),
        nn.Linear(3, 1),
        metrics=[mse, ValueMetric(lambda: 42.0, "answer")],
        default_cbs=False,
        cbs=[TrainEvalCallback(), Recorder(train_metrics=True)],
    )
    learn.logger = lambda log: None
    learn.fit(1)
    assert learn.recorder.metric_names == [
        "epoch",
        "train_loss",
        "train_mse",
        "train_answer",
        "valid_loss",
        "valid_mse",
        "valid_answer",
        "time",
    ]
    row = learn.recorder.values[0]
    assert row[2] == 42.0 and row[5] == 42.0 and row[1] > 0 and row[4] > 0


def test_progress_prints_a_metrics_table(capsys):
    torch.manual_seed(0)
    learn = Learner(make_dls(), nn.Linear(3, 1), metrics=mse)
    learn.fit(2)
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["epoch", "train_loss", "valid_loss", "mse", "time"]
    assert [line.split()[0] for line in out[1:3]] == ["0", "1"]
    assert float(out[2].split()[2]) == pytest.approx(learn.recorder.values[1][1], abs=1e-6)
    learn.fit(1)
    assert capsys.readouterr().out.splitlines()[0].startswith("epoch")  # a new table per fit


def test_default_loss_follows_the_target_type():
    assert "MSELoss" in repr(default_loss_func(torch.randn(4, 1)))
    assert "CrossEntropy" in repr(default_loss_func(TensorCategory([0, 1])))
    assert "CrossEntropy" in repr(default_loss_func(torch.tensor([0, 1])))
    assert "BCEWithLogits" in repr(default_loss_func(TensorMultiCategory([[0, 1]])))
    assert "BCEWithLogits" in repr(default_loss_func(torch.tensor([True, False])))
    with pytest.raises(TypeError, match="cannot choose a default loss for targets of type str"):
        default_loss_func("label")


class TensorRank(TensorBase):
    """A target type of a (hypothetical) application."""


def test_a_registered_target_type_gets_its_loss():
    sentinel = nn.L1Loss()

    @default_loss_func.register
    def _rank_loss(y: TensorRank):
        return sentinel

    learn = Learner(make_dls(y=TensorRank(torch.randn(40, 1))), nn.Linear(3, 1))
    assert learn.loss_func is sentinel


def test_no_loss_and_no_target_is_a_clear_error():
    x = torch.randn(16, 3)
    dls = DataLoaders(DataLoader((x,), bs=4), DataLoader((x,), bs=4))
    with pytest.raises(TypeError, match="no loss_func given and the data has no target"):
        Learner(dls, nn.Linear(3, 1))


def test_event_namespace():
    assert event.before_fit == "before_fit" and event.after_cancel_step == "after_cancel_step"
    assert len(event) == 23 and "after_fit" in event
