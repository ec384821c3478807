"""The two-way callback loop: event order, Cancel* control flow, callbacks changing the loop's state."""

from __future__ import annotations

import pytest
import torch
from plies.learner import (
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidException,
    Learner,
    ProgressCallback,
    Recorder,
    TrainEvalCallback,
    event,
)
from plies.loaders import DataLoader, DataLoaders
from torch import nn


def regression_dls(n_train: int = 8, n_valid: int = 4, bs: int = 4, seed: int = 0) -> DataLoaders:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train + n_valid, 2, generator=g)
    y = x @ torch.tensor([[2.0], [-1.0]]) + 0.5
    return DataLoaders(
        DataLoader((x[:n_train], y[:n_train]), bs=bs, shuffle=True, seed=seed),
        DataLoader((x[n_train:], y[n_train:]), bs=bs),
    )


def make_learner(**kwargs) -> Learner:
    torch.manual_seed(0)
    return Learner(regression_dls(), nn.Linear(2, 1), lr=0.1, **kwargs)


class Rec(Callback):
    """Records every event it sees, plus a 'train'/'valid' marker on batch events."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        for e in event:
            setattr(self, e, self._recorder(e))

    def _recorder(self, name: str):
        return lambda: self.seen.append(name)


BATCH_TRAIN = [
    "before_batch",
    "after_pred",
    "after_loss",
    "before_backward",
    "after_backward",
    "before_step",
    "after_step",
    "after_batch",
]
BATCH_VALID = ["before_batch", "after_pred", "after_loss", "after_batch"]


def test_full_fit_sees_every_event_in_order():
    learn = make_learner()
    rec = Rec()
    learn.fit(1, cbs=rec)
    expected = (
        ["before_fit", "before_epoch", "before_train"]
        + BATCH_TRAIN * 2
        + ["after_train", "before_validate"]
        + BATCH_VALID
        + ["after_validate", "after_epoch", "after_fit"]
    )
    assert rec.seen == expected
    assert rec not in learn.cbs  # fit(cbs=...) callbacks are removed after the fit


def _raiser(ev: str, exc: type[Exception], when=lambda learn: True) -> Callback:
    def raise_it(cb):
        if when(cb.learn):
            raise exc()

    return Callback(**{ev: raise_it})


def _weights(learn):
    return [p.detach().clone() for p in learn.model.parameters()]


def test_cancel_batch_skips_loss_backward_and_step():
    learn = make_learner()
    rec = Rec()
    before = _weights(learn)
    learn.fit(1, cbs=[rec, _raiser("after_pred", CancelBatchException, lambda lr: lr.training)])
    train_part = rec.seen[rec.seen.index("before_train") + 1 : rec.seen.index("after_train")]
    assert train_part == ["before_batch", "after_pred", "after_cancel_batch", "after_batch"] * 2
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(learn), strict=False))


def test_cancel_step_skips_the_step_but_zeroes_gradients():
    learn = make_learner()
    rec = Rec()
    before = _weights(learn)
    learn.fit(1, cbs=[rec, _raiser("before_step", CancelStepException)])
    train_part = rec.seen[rec.seen.index("before_train") + 1 : rec.seen.index("after_train")]
    assert (
        train_part
        == [
            "before_batch",
            "after_pred",
            "after_loss",
            "before_backward",
            "after_backward",
            "before_step",
            "after_cancel_step",
            "after_step",
            "after_batch",
        ]
        * 2
    )
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(learn), strict=False))
    assert all(p.grad is None or not p.grad.any() for p in learn.model.parameters())


def test_cancel_backward_skips_backward_and_leaves_nothing_to_step():
    learn = make_learner()
    rec = Rec()
    before = _weights(learn)
    learn.fit(1, cbs=[rec, _raiser("before_backward", CancelBackwardException)])
    train_part = rec.seen[rec.seen.index("before_train") + 1 : rec.seen.index("after_train")]
    assert train_part[:7] == [
        "before_batch",
        "after_pred",
        "after_loss",
        "before_backward",
        "after_cancel_backward",
        "after_backward",
        "before_step",
    ]
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(learn), strict=False))


def test_cancel_train_goes_straight_to_validation():
    learn = make_learner()
    rec = Rec()
    learn.fit(1, cbs=[rec, _raiser("before_batch", CancelTrainException, lambda lr: lr.training)])
    assert rec.seen[:6] == [
        "before_fit",
        "before_epoch",
        "before_train",
        "before_batch",
        "after_cancel_train",
        "after_train",
    ]
    assert rec.seen[6:] == ["before_validate"] + BATCH_VALID + ["after_validate", "after_epoch", "after_fit"]


def test_cancel_validate_skips_validation_batches():
    learn = make_learner()
    rec = Rec()
    learn.fit(1, cbs=[rec, _raiser("before_validate", CancelValidException)])
    assert rec.seen[-6:] == [
        "after_train",
        "before_validate",
        "after_cancel_validate",
        "after_validate",
        "after_epoch",
        "after_fit",
    ]


def test_cancel_epoch_skips_the_rest_of_the_epoch_only():
    learn = make_learner()
    rec = Rec()
    learn.fit(2, cbs=[rec, _raiser("after_train", CancelEpochException)])
    assert rec.seen.count("before_epoch") == 2
    assert "before_validate" not in rec.seen
    assert rec.seen.count("after_cancel_epoch") == 2
    i = rec.seen.index("after_cancel_epoch")
    assert rec.seen[i : i + 3] == ["after_cancel_epoch", "after_epoch", "before_epoch"]


def test_cancel_fit_stops_after_the_first_epoch():
    learn = make_learner()
    rec = Rec()
    stopper = _raiser("after_epoch", CancelFitException)
    stopper.order = 99  # after the Recorder has stored the epoch
    learn.fit(3, cbs=[rec, stopper])
    assert rec.seen.count("before_epoch") == 1
    assert rec.seen[-3:] == ["after_epoch", "after_cancel_fit", "after_fit"]
    assert len(learn.recorder.values) == 1


def test_a_callback_replacing_yb_changes_training():
    class ZeroTargets(Callback):
        def before_batch(self):
            self.learn.yb = (torch.zeros_like(self.learn.yb[0]),)

    learn = make_learner()
    learn.fit(30, cbs=ZeroTargets())
    preds = learn.model(torch.randn(16, 2)).detach()
    assert preds.abs().max() < 0.2  # learned to predict the replaced (all-zero) targets


def test_a_callback_replacing_loss_changes_training():
    class NoLoss(Callback):
        def after_loss(self):
            self.learn.loss = self.learn.loss * 0.0

    learn = make_learner(wd=0.0)  # Adam's default weight decay would move the weights without a loss
    before = _weights(learn)
    learn.fit(2, cbs=NoLoss())
    assert all(torch.allclose(a, b) for a, b in zip(before, _weights(learn), strict=False))
    assert learn.recorder.values[-1][0] == 0.0  # the recorded training loss is the replaced one


def test_callbacks_read_through_to_the_learner():
    seen = {}

    class Peek(Callback):
        def after_pred(self):
            seen["same_pred"] = self.pred is self.learn.pred
            seen["n_epoch"] = self.n_epoch

    learn = make_learner()
    learn.fit(1, cbs=Peek())
    assert seen == {"same_pred": True, "n_epoch": 1}
    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        _ = Peek().not_there


def test_default_callbacks_and_their_names():
    learn = make_learner()
    assert [type(c) for c in learn.cbs] == [TrainEvalCallback, Recorder, ProgressCallback]
    assert (
        learn.train_eval is learn.cbs[0] and learn.recorder is learn.cbs[1] and learn.progress is learn.cbs[2]
    )
    assert make_learner(default_cbs=False).cbs == []


def test_order_run_before_and_run_after():
    class A(Callback):
        order = 5

    class B(Callback):
        order = 1
        run_after = (A,)

    class C(Callback):
        order = 100
        run_before = ("A",)

    learn = make_learner(default_cbs=False, cbs=[B(), A(), C()])
    assert [type(c).__name__ for c in learn.cbs] == ["C", "A", "B"]

    class D(Callback):
        run_after = (B,)

    class E(Callback):
        run_before = (D,)
        run_after = (D,)

    with pytest.raises(ValueError, match="cycle"):
        make_learner(default_cbs=False, cbs=[D(), E()])


def test_add_remove_and_context_managers():
    learn = make_learner()
    rec = Rec()
    with learn.added_cbs(rec):
        assert learn.rec is rec and rec.learn is learn
    assert rec not in learn.cbs and not hasattr(learn, "rec")
    with learn.removed_cbs(learn.recorder):
        assert not any(isinstance(c, Recorder) for c in learn.cbs)
    assert isinstance(learn.recorder, Recorder)
    with learn.no_bar():
        assert not any(isinstance(c, ProgressCallback) for c in learn.cbs)
    assert any(isinstance(c, ProgressCallback) for c in learn.cbs)
    learn.remove_cb(ProgressCallback)
    assert [type(c) for c in learn.cbs] == [TrainEvalCallback, Recorder]
    with pytest.raises(TypeError, match="expected a Callback"):
        learn.add_cb(42)


def test_no_logging_silences_the_epoch_log():
    learn = make_learner(default_cbs=False, cbs=[TrainEvalCallback(), Recorder()])
    lines = []
    learn.logger = lines.append
    learn.fit(2)
    assert [line[0] for line in lines] == [0, 1]
    lines.clear()
    with learn.no_logging():
        learn.fit(1)
    assert lines == []


def test_run_flags_disable_callbacks():
    learn = make_learner()
    rec = Rec()
    rec.run_valid = False
    learn.fit(1, cbs=rec)
    assert rec.seen.count("before_batch") == 2  # training batches only
    rec2 = Rec()
    learn.add_cb(rec2)
    rec2.run = False
    learn.fit(1)
    assert rec2.seen == []


def test_constructor_keywords_are_checked():
    with pytest.raises(TypeError, match="shufle"):
        Learner(regression_dls(), nn.Linear(2, 1), shufle=True)
    with pytest.raises(TypeError, match="before_fitt"):
        Callback(before_fitt=lambda self: None)


def test_callback_setting_learner_state_on_itself_warns():
    class Bad(Callback):
        def before_batch(self):
            self.xb = ()

    with pytest.warns(UserWarning, match="self.learn.xb"):
        make_learner().fit(1, cbs=Bad())


def test_unknown_event_is_an_error():
    with pytest.raises(ValueError, match="unknown event 'before_lunch'"):
        make_learner()("before_lunch")


def test_a_callback_named_like_a_learner_attribute_does_not_replace_it():
    class LR(Callback):
        pass

    learn = make_learner()
    with pytest.warns(UserWarning, match="not reachable as `learn.lr`"):
        learn.add_cb(LR())
    assert learn.lr == 0.1 and any(isinstance(c, LR) for c in learn.cbs)


def test_validate_and_get_preds_inside_a_fit_leave_the_loop_untouched():
    seen = []

    class ValidateEachEpoch(Callback):
        order = 99
        busy = False  # its own events also fire during the passes it starts

        def after_epoch(self):
            if not self.busy:
                self.busy = True
                seen.append((self.learn.validate()[0], len(self.learn.get_preds()[0])))
                self.busy = False

        def after_batch(self):
            if self.learn.training and self.learn.iter == 0:
                self.busy = True
                self.learn.get_preds()  # mid-epoch too
                self.busy = False

    learn = make_learner()
    rec = Rec()
    learn.fit(2, cbs=[ValidateEachEpoch(), rec])
    assert len(learn.recorder.values) == 2 and learn.epoch == 1
    assert [v for v, _ in seen] == pytest.approx([row[1] for row in learn.recorder.values])
    assert [n for _, n in seen] == [4, 4]
    assert rec.seen.count("before_fit") == 1 + 2 + 2 + 2  # the fit, then each validate/get_preds pass
    assert learn.train_iter == 4
