"""Tracker callbacks (EarlyStopping, SaveModel, ReduceLROnPlateau), TerminateOnNaN, CSVLogger, TensorBoard."""

from __future__ import annotations

import pytest
import torch
from plies.learner import (
    Callback,
    CSVLogger,
    EarlyStoppingCallback,
    Learner,
    ParamScheduler,
    ReduceLROnPlateau,
    SaveModelCallback,
    SchedLin,
    TensorBoardCallback,
    TerminateOnNaNCallback,
    mae,
)
from plies.loaders import DataLoader, DataLoaders
from plies.optim import SGD
from torch import nn


def make_learner(tmp_path, **kwargs) -> Learner:
    torch.manual_seed(0)
    x = torch.randn(40, 2)
    y = x @ torch.tensor([[1.0], [2.0]])
    dls = DataLoaders(
        DataLoader((x[:32], y[:32]), bs=8, shuffle=True, seed=0), DataLoader((x[32:], y[32:]), bs=8)
    )
    return Learner(dls, nn.Linear(2, 1), path=tmp_path, opt_func=SGD, lr=0.05, **kwargs)


class ScriptedValidLoss(Callback):
    """Replace the recorded valid_loss of each epoch by a scripted value (after the Recorder)."""

    order = 55

    def __init__(self, values):
        self.values = list(values)

    def after_epoch(self):
        self.learn.recorder.values[-1][1] = self.values[self.learn.epoch]


def test_early_stopping_after_patience_epochs(tmp_path, capsys):
    learn = make_learner(tmp_path)
    with learn.no_bar():
        learn.fit(
            10, cbs=[ScriptedValidLoss([5, 4, 4.5, 4.2, 3, 1, 1, 1, 1, 1]), EarlyStoppingCallback(patience=2)]
        )
    assert len(learn.recorder.values) == 4  # epochs 0..3: no improvement at epochs 2 and 3
    assert "No improvement since epoch 1: early stopping" in capsys.readouterr().out


def test_early_stopping_on_a_metric_to_maximise_with_min_delta(tmp_path):
    learn = make_learner(tmp_path, metrics=[lambda p, t: (p - t).abs().mean()])
    learn.metrics[0].func.__name__ = "score"
    with learn.no_bar():
        learn.fit(5, cbs=[EarlyStoppingCallback(monitor="score", min_delta=10.0, patience=1)])
    assert len(learn.recorder.values) == 2  # "score" is maximised; no epoch improves by 10
    with pytest.raises(ValueError, match="monitor 'nope' is not recorded"):
        learn.fit(1, cbs=EarlyStoppingCallback(monitor="nope"))


def test_save_model_keeps_and_reloads_the_best_epoch(tmp_path, capsys):
    learn = make_learner(tmp_path)
    snapshots = []

    class Snap(Callback):
        order = 56

        def after_epoch(self):
            snapshots.append(self.learn.model.weight.detach().clone())

    with learn.no_bar():
        learn.fit(4, cbs=[ScriptedValidLoss([3, 1, 2, 2.5]), Snap(), SaveModelCallback(fname="best")])
    assert (tmp_path / "models" / "best.safetensors").exists()
    assert torch.equal(learn.model.weight, snapshots[1])  # the best epoch's weights were loaded back
    assert "Better model found at epoch 1 with valid_loss value: 1." in capsys.readouterr().out


def test_save_model_every_epoch(tmp_path):
    learn = make_learner(tmp_path)
    with learn.no_bar():
        learn.fit(3, cbs=SaveModelCallback(fname="ep", every_epoch=True))
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [
        "ep_0.safetensors",
        "ep_1.safetensors",
        "ep_2.safetensors",
    ]


def test_reduce_lr_on_plateau(tmp_path, capsys):
    learn = make_learner(tmp_path)
    lrs = []

    class LRWatch(Callback):
        order = 70

        def after_epoch(self):
            lrs.append(self.learn.opt.hypers[0]["lr"])

    with learn.no_bar():
        learn.fit(
            5,
            cbs=[
                ScriptedValidLoss([3, 3, 3, 2, 2]),
                ReduceLROnPlateau(patience=2, factor=5, min_lr=1e-3),
                LRWatch(),
            ],
        )
    assert lrs == pytest.approx([0.05, 0.05, 0.01, 0.01, 0.01])
    assert "Epoch 2: reducing lr to 0.01" in capsys.readouterr().out


def test_terminate_on_nan(tmp_path):
    class Poison(Callback):
        def after_loss(self):
            if self.learn.training and self.learn.iter == 2:
                self.learn.loss = self.learn.loss * float("nan")

    learn = make_learner(tmp_path)
    with learn.no_bar():
        learn.fit(3, cbs=[Poison(), TerminateOnNaNCallback()])
    assert learn.recorder.values == []  # stopped inside the first epoch
    assert learn.train_iter == 3


def test_csv_logger_writes_every_epoch(tmp_path):
    learn = make_learner(tmp_path)
    with learn.no_bar():
        learn.fit(2, cbs=CSVLogger())
        first = [row[:2] for row in learn.recorder.values]
        logger = CSVLogger(append=True)
        learn.fit(1, cbs=logger)
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,valid_loss,time"
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1", "0"]
    frame = logger.read_log()
    assert frame["valid_loss"].tolist() == pytest.approx(
        [r[1] for r in first] + [learn.recorder.values[0][1]]
    )


def read_scalars(log_dir) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the TensorBoard event file(s) of `log_dir`: tag -> [(step, value)] in write order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})  # 0: keep every event
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_callback_logs_the_recorded_values(tmp_path):
    pytest.importorskip("tensorboard")
    learn = make_learner(tmp_path, metrics=mae)
    with learn.no_bar(), learn.no_logging():
        learn.fit(
            2,
            lr=[0.05],
            cbs=[TensorBoardCallback(log_dir=tmp_path / "tb"), ParamScheduler({"lr": SchedLin(0.05, 0.01)})],
        )
    assert len(list((tmp_path / "tb").glob("events.out.tfevents*"))) == 1
    scalars = read_scalars(tmp_path / "tb")
    rec = learn.recorder
    assert len(rec.losses) == 8 and len(rec.values) == 2  # 4 batches per epoch
    assert sorted(scalars) == ["lr_0", "mae", "mom_0", "train_loss", "valid_loss", "wd_0"]
    # after each training batch (steps 1..8): the smoothed loss and the hyper-parameters the Recorder saw
    assert [step for step, _ in scalars["train_loss"]] == list(range(1, 9))
    assert [v for _, v in scalars["train_loss"]] == pytest.approx(rec.losses, rel=1e-6)
    assert [v for _, v in scalars["lr_0"]] == pytest.approx(rec.lrs, rel=1e-6)
    assert [v for _, v in scalars["lr_0"]] == pytest.approx([0.05 - 0.04 * i / 8 for i in range(8)], rel=1e-6)
    assert scalars["mom_0"] == scalars["wd_0"] == [(i, 0.0) for i in range(1, 9)]  # plain SGD
    # after each epoch (steps 4 and 8): the validation loss and metrics of the Recorder's table
    assert [step for step, _ in scalars["valid_loss"]] == [4, 8] == [step for step, _ in scalars["mae"]]
    assert [v for _, v in scalars["valid_loss"]] == pytest.approx([row[1] for row in rec.values], rel=1e-6)
    assert [v for _, v in scalars["mae"]] == pytest.approx([row[2] for row in rec.values], rel=1e-6)
