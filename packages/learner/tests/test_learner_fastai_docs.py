"""The learner used the way fastai's documentation and tutorials use it (synth_learner, callbacks,
the Recorder, schedules, lr_find, metrics, tracker callbacks, export), checked on real values."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import pytest
import torch
from plies.layers import BaseLoss, CrossEntropyLossFlat, Module, MSELossFlat
from plies.learner import (
    Callback,
    CancelBatchException,
    CSVLogger,
    EarlyStoppingCallback,
    F1Score,
    GradientAccumulation,
    Learner,
    MixedPrecision,
    Recorder,
    ReduceLROnPlateau,
    RocAuc,
    RocAucBinary,
    SaveModelCallback,
    ShowGraphCallback,
    TrainEvalCallback,
    accuracy,
    error_rate,
    load_learner,
    minimum,
    slide,
    steep,
    valley,
)
from plies.loaders import Categorize, DataLoaders, Datasets, TfmdDL
from plies.optim import SGD
from plies.pipes import register_transform
from plies.typecore import TensorBase, TensorCategory
from torch import nn
from torch.utils.data import TensorDataset

# ---- fastai's test_utils, as its docs write them ------------------------------------------------------


class RegModel(Module):
    def __init__(self):
        self.a, self.b = nn.Parameter(torch.randn(1)), nn.Parameter(torch.randn(1))

    def forward(self, x):
        return x * self.a + self.b


def synth_dbunch(a=2, b=3, bs=16, n_train=10, n_valid=2):
    def get_data(n):
        x = torch.randn(bs * n, 1)
        return TensorDataset(x, a * x + b + 0.1 * torch.randn(bs * n, 1))

    train_ds = get_data(n_train)
    valid_ds = get_data(n_valid)
    train_dl = TfmdDL(train_ds, bs=bs, shuffle=True, num_workers=0)
    valid_dl = TfmdDL(valid_ds, bs=bs, num_workers=0)
    return DataLoaders(train_dl, valid_dl)


def synth_learner(n_trn=10, n_val=2, lr=1e-3, data=None, model=None, **kwargs):
    if data is None:
        data = synth_dbunch(n_train=n_trn, n_valid=n_val)
    if model is None:
        model = RegModel()
    return Learner(data, model, lr=lr, loss_func=MSELossFlat(), opt_func=partial(SGD, mom=0.9), **kwargs)


def classif_learner(path=None, n=320, **kwargs):
    """Two Gaussian blobs per class, 3 classes: easy to reach > 90% accuracy."""
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (n,))
    centers = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    x = torch.randn(n, 2) * 0.5 + centers[labels]
    y = TensorCategory(labels)
    n_trn = n * 3 // 4
    dls = DataLoaders.from_dsets(
        TensorDataset(x[:n_trn], y[:n_trn]), TensorDataset(x[n_trn:], y[n_trn:]), bs=32
    )
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    return Learner(dls, model, loss_func=CrossEntropyLossFlat(), path=path, **kwargs)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(42)


# ---- Learner basics ------------------------------------------------------------------------------------


def test_synth_learner_fits_and_the_loss_drops():
    learn = synth_learner(lr=1e-2)
    xb, yb = learn.dls.one_batch()
    init_loss = learn.loss_func(learn.model(xb), yb)
    with learn.no_bar():
        learn.fit(6)
    valid_loss = learn.recorder.values[-1][1]
    assert valid_loss < init_loss.item()
    assert valid_loss < 0.1  # a=2, b=3 are found (noise 0.1)
    assert learn.model.a.item() == pytest.approx(2, abs=0.15) and learn.model.b.item() == pytest.approx(
        3, abs=0.15
    )


def test_learner_attributes_as_in_the_docs(tmp_path):
    learn = synth_learner(path=tmp_path)
    # MSELossFlat is a function returning a BaseLoss (as in fastai); CrossEntropyLossFlat is a class
    assert isinstance(learn.loss_func, BaseLoss) and isinstance(learn.model, RegModel)
    assert isinstance(learn.loss_func.func, nn.MSELoss)
    assert learn.dls.train.bs == 16 and len(learn.dls.train) == 10 and len(learn.dls.valid) == 2
    assert learn.path == Path(tmp_path) and learn.model_dir == Path("models")
    assert isinstance(learn.recorder, Recorder) and isinstance(learn.train_eval, TrainEvalCallback)
    assert [type(cb).__name__ for cb in learn.cbs] == ["TrainEvalCallback", "Recorder", "ProgressCallback"]
    assert learn.opt is None  # created by fit (or create_opt)
    learn.create_opt()
    assert len(learn.opt.param_lists) == 1 and len(learn.opt.param_lists[0]) == 2
    assert learn.opt.hypers[0]["lr"] == 1e-3 and learn.opt.hypers[0]["mom"] == 0.9


def test_recorder_values_losses_lrs_and_metric_names():
    learn = synth_learner(metrics=[nn.functional.mse_loss])
    with learn.no_bar():
        learn.fit(2, lr=1e-2)
    rec = learn.recorder
    assert rec.metric_names == ["epoch", "train_loss", "valid_loss", "mse_loss", "time"]
    assert len(rec.values) == 2 and all(len(v) == 3 for v in rec.values)
    assert rec.values[-1][1] == pytest.approx(rec.values[-1][2], rel=1e-5)  # mse metric == MSE loss
    assert len(rec.losses) == 20 and len(rec.lrs) == 20 and len(rec.iters) == 2
    assert all(lr == 1e-2 for lr in rec.lrs)
    assert learn.validate() == pytest.approx(rec.values[-1][1:], rel=1e-5)


def test_validate_returns_loss_then_metrics_and_get_preds_preds_targs():
    learn = classif_learner(metrics=[accuracy, error_rate])
    with learn.no_bar():
        learn.fit_one_cycle(3, lr_max=1e-2)
    res = learn.validate()
    assert len(res) == 3 and res[1] > 0.9 and res[1] + res[2] == pytest.approx(1.0)
    preds, targs = learn.get_preds()
    assert preds.shape == (80, 3) and targs.shape == (80,)
    assert torch.allclose(preds.sum(1), torch.ones(80), atol=1e-5)  # softmax applied (the loss's activation)
    assert (preds.argmax(1) == targs).float().mean().item() == pytest.approx(res[1], abs=1e-6)
    preds, targs, decoded, losses = learn.get_preds(with_decoded=True, with_loss=True)
    assert torch.equal(decoded, preds.argmax(1)) and losses.shape == (80,)
    assert losses.mean().item() == pytest.approx(res[0], rel=1e-4)


def test_fit_one_cycle_lr_max_and_slice_and_moms():
    learn = synth_learner(lr=1e-3)
    with learn.no_bar():
        learn.fit_one_cycle(2, lr_max=1e-2)
    lrs, moms = learn.recorder.lrs, learn.recorder.moms
    assert max(lrs) == pytest.approx(1e-2, rel=1e-3) and lrs[0] == pytest.approx(1e-2 / 25, rel=1e-3)
    peak = lrs.index(max(lrs))
    assert peak == 5  # 25% of 20 batches of warm-up
    assert all(a > b for a, b in zip(lrs[peak:], lrs[peak + 1 :], strict=False)) and lrs[-1] < 2e-4
    assert moms[0] == pytest.approx(0.95) and min(moms) == pytest.approx(0.85, abs=1e-3)
    # momentum climbs back towards 0.95 after the peak: at the last batch (progress 19/20) it is
    # 0.85 + 0.1 * (1 - cos(pi * t)) / 2 with t = (19/20 - 1/4) / (3/4) = 14/15
    assert all(a < b for a, b in zip(moms[peak:], moms[peak + 1 :], strict=False))
    assert moms[-1] == pytest.approx(0.85 + 0.1 * (1 - math.cos(math.pi * 14 / 15)) / 2)

    learn = synth_learner(lr=1e-3)
    learn.splitter = lambda m: [[m.a], [m.b]]
    with learn.no_bar():
        learn.fit_one_cycle(1, slice(1e-4, 1e-2))
    assert [h["lr"] for h in learn.opt.hypers][0] < [h["lr"] for h in learn.opt.hypers][1]
    assert max(learn.recorder.lrs) == pytest.approx(1e-2, rel=0.02)  # the last group's lr is recorded


def test_lr_find_returns_suggested_lrs_and_restores_the_model():
    learn = synth_learner(n_trn=20)
    before = [p.detach().clone() for p in learn.model.parameters()]
    with learn.no_bar():
        res = learn.lr_find(show_plot=False)
    assert type(res).__name__ == "SuggestedLRs" and res._fields == ("valley",)  # fastai's default
    assert 1e-7 < res.valley < 10 and res.valley == res[0]
    assert all(torch.equal(a, b) for a, b in zip(before, learn.model.parameters(), strict=True))
    assert len(learn.recorder.lrs) <= 100 and learn.recorder.lrs[0] == pytest.approx(1e-7, rel=0.2)
    res = learn.lr_find(suggest_funcs=(minimum, steep, valley, slide), show_plot=False)
    assert res._fields == ("minimum", "steep", "valley", "slide") and all(1e-7 <= v <= 10 for v in res)


def test_freeze_fine_tune_and_param_lists():
    learn = classif_learner(splitter=lambda m: [list(m[0].parameters()), list(m[2].parameters())])
    learn.freeze()
    assert len(learn.opt.param_lists) == 2
    assert [p.requires_grad for p in learn.model.parameters()] == [False, False, True, True]
    learn.unfreeze()
    assert all(p.requires_grad for p in learn.model.parameters())
    body_before = learn.model[0].weight.detach().clone()
    with learn.no_bar():
        learn.fine_tune(1, base_lr=1e-2)
    assert len(learn.recorder.values) == 1  # the recorder holds the last fit (the unfrozen epoch)
    assert not torch.equal(body_before, learn.model[0].weight)
    assert learn.opt.hypers[0]["lr"] < learn.opt.hypers[1]["lr"]  # discriminative lrs after fine_tune


def test_predict_one_item():
    learn = classif_learner()
    with learn.no_bar():
        learn.fit_one_cycle(3, 1e-2)
    x = torch.tensor([2.0, 0.0])  # the centre of class 1
    res = learn.predict(x)
    assert len(res) == 3
    dec, idx, probs = res
    assert int(idx) == 1 and probs.shape == (3,) and probs.argmax().item() == 1
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)


# ---- callbacks -----------------------------------------------------------------------------------------


def test_custom_callback_before_batch_and_cbs_management():
    class CountBatches(Callback):
        def before_fit(self):
            self.n = 0

        def before_batch(self):
            if self.training:
                self.n += 1

    class SkipOddBatches(Callback):
        def before_batch(self):
            if self.training and self.iter % 2 == 1:
                raise CancelBatchException()

    learn = synth_learner(cbs=CountBatches())
    assert learn.count_batches in learn.cbs
    with learn.no_bar():
        learn.fit(1)
    assert learn.count_batches.n == 10
    learn.add_cb(SkipOddBatches())
    assert isinstance(learn.skip_odd_batches, SkipOddBatches)
    with learn.no_bar():
        learn.fit(1)
    assert len(learn.recorder.losses) == 5  # the cancelled batches record nothing
    learn.remove_cb(learn.skip_odd_batches)
    assert not any(isinstance(cb, SkipOddBatches) for cb in learn.cbs)
    learn.remove_cb(CountBatches)
    assert "count_batches" not in learn.__dict__
    with learn.added_cbs(CountBatches()):
        assert any(isinstance(cb, CountBatches) for cb in learn.cbs)
    assert not any(isinstance(cb, CountBatches) for cb in learn.cbs)


def test_callback_passed_to_fit_only_lives_during_that_fit():
    seen = []
    learn = synth_learner()
    with learn.no_bar():
        learn.fit(1, cbs=Callback(after_epoch=lambda cb: seen.append(cb.epoch)))
    assert seen == [0] and len(learn.cbs) == 3


def test_no_bar_removes_progress_and_no_logging_silences(capsys):
    learn = synth_learner()
    with learn.no_bar():
        assert not hasattr(learn, "progress")
    assert hasattr(learn, "progress")
    with learn.no_logging(), learn.no_bar():
        learn.fit(1)
    assert capsys.readouterr().out == ""


def test_early_stopping_callback_docs_example():
    learn = synth_learner(n_trn=2, metrics=nn.functional.mse_loss)
    cb = EarlyStoppingCallback(monitor="mse_loss", min_delta=0.1, patience=2)
    with learn.no_bar():
        learn.fit(n_epoch=200, lr=1e-7, cbs=cb)
    assert len(learn.recorder.values) == 3  # epoch 0 sets the best, 2 epochs without a 0.1 improvement


def test_save_model_callback_monitor_accuracy(tmp_path):
    learn = classif_learner(path=tmp_path, metrics=accuracy)
    with learn.no_bar():
        learn.fit_one_cycle(2, 1e-2, cbs=SaveModelCallback(monitor="accuracy"))
    assert (tmp_path / "models" / "model.safetensors").exists()
    best = max(v[2] for v in learn.recorder.values)
    assert learn.validate()[1] == pytest.approx(best)  # the best model was loaded back


def test_reduce_lr_on_plateau_docs_example():
    learn = synth_learner(n_trn=2)
    with learn.no_bar():
        learn.fit(n_epoch=4, lr=1e-7, cbs=ReduceLROnPlateau(monitor="valid_loss", min_delta=0.1, patience=2))
    assert learn.opt.hypers[-1]["lr"] == pytest.approx(1e-8)


def test_save_model_callback_every_epoch_names(tmp_path):
    learn = synth_learner(path=tmp_path)
    with learn.no_bar():
        learn.fit(n_epoch=2, cbs=SaveModelCallback(every_epoch=True))
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [
        "model_0.safetensors",
        "model_1.safetensors",
    ]


def test_csv_logger_read_log(tmp_path):
    learn = synth_learner(path=tmp_path, cbs=CSVLogger())
    with learn.no_bar():
        learn.fit(3)
    df = learn.csv_logger.read_log()
    assert list(df.columns.values) == learn.recorder.metric_names
    assert (tmp_path / "history.csv").exists() and len(df) == 3
    assert df["valid_loss"].tolist() == pytest.approx([v[1] for v in learn.recorder.values], rel=1e-5)


def test_gradient_accumulation_matches_a_bigger_batch():
    torch.manual_seed(0)
    data = synth_dbunch(bs=16, n_train=4)  # 64 training samples

    def weights(bs, n_acc):
        dls = DataLoaders(TfmdDL(data.train.dataset, bs=bs, shuffle=False, num_workers=0), data.valid)
        torch.manual_seed(1)  # the same initial a and b every time
        learn = synth_learner(data=dls, lr=1e-2, cbs=[GradientAccumulation(n_acc=n_acc)] if n_acc else None)
        with learn.no_bar():
            learn.fit(1)
        return torch.tensor([learn.model.a.item(), learn.model.b.item()])

    big = weights(32, 0)  # two SGD steps on batches of 32
    assert torch.allclose(weights(16, 32), big, atol=1e-6)  # batches of 16, a step every 32 samples
    assert not torch.allclose(weights(16, 0), big, atol=1e-4)  # four steps on batches of 16
    assert torch.allclose(weights(16, 64), weights(64, 0), atol=1e-6)  # one step on all 64 samples
    assert not torch.allclose(weights(16, 64), big, atol=1e-4)


def test_to_fp16_adds_mixed_precision_and_to_fp32_removes_it():
    learn = synth_learner(lr=1e-2)
    learn.to_fp16()
    assert isinstance(learn.mixed_precision, MixedPrecision)
    with learn.no_bar():
        learn.fit(2)
    assert learn.recorder.values[-1][1] < learn.recorder.values[0][1]  # it trains (autocast + GradScaler)
    assert learn.get_preds()[0].dtype == torch.float32
    learn.to_fp32()
    assert not any(isinstance(cb, MixedPrecision) for cb in learn.cbs)


def test_show_graph_callback_draws_the_losses():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    learn = synth_learner(cbs=ShowGraphCallback())
    with learn.no_bar():
        learn.fit(2)
    lines = plt.gcf().axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["train", "valid"]
    assert list(lines[0].get_ydata()) == pytest.approx(learn.recorder.losses)
    plt.close("all")
    with learn.no_bar():
        learn.lr_find(num_it=10, show_plot=False)
        learn.validate()
    assert plt.get_fignums() == []  # nothing drawn for the LR finder's mock training or a validation


def test_summary_and_show_results(tmp_path):
    learn, items = datasets_learner(tmp_path)
    text = learn.summary()
    assert text.startswith("Linear (Input shape: 32 x 2)") and "Total params: 6" in text
    assert "Total trainable params: 6" in text and "Optimizer used: Adam" in text
    with learn.no_bar():
        learn.fit(1, 5e-2)
    x, y, samples, outs = learn.show_results(max_n=4, show=False)
    assert len(samples) == 4 and len(outs) == 4
    assert all(o[0] in ("neg", "pos") for o in outs)  # decoded predictions: labels


class TstLearner(Learner):
    """fastai's metrics docs feed metrics from a bare learner (no __init__, no `dl`)."""

    def __init__(self, dls=None, model=None, **kwargs):
        self.pred, self.xb, self.yb = None, None, None


def compute_val(met, x1, x2):
    met.reset()
    vals = [0, 6, 15, 20]
    learn = TstLearner()
    for i in range(3):
        learn.pred, learn.yb = x1[vals[i] : vals[i + 1]], (x2[vals[i] : vals[i + 1]],)
        met.accumulate(learn)
    return met.value


def test_metrics_on_a_bare_test_learner_as_in_the_metrics_docs():
    from sklearn.metrics import f1_score

    x1, x2 = torch.randn(20, 3), torch.randint(0, 3, (20,))
    assert compute_val(F1Score(average="macro"), x1, x2) == pytest.approx(
        f1_score(x2, x1.argmax(1), average="macro")
    )
    from plies.learner import AvgMetric

    acc = compute_val(AvgMetric(accuracy), x1, x2)
    assert acc == pytest.approx((x1.argmax(1) == x2).float().mean().item())
    assert TstLearner().to_detach(torch.ones(2, requires_grad=True)).requires_grad is False


def test_f1_and_roc_auc_binary_metrics_in_a_fit():
    torch.manual_seed(0)
    x = torch.randn(256, 2)
    y = TensorCategory((x[:, 0] + 0.3 * torch.randn(256) > 0).long())
    dls = DataLoaders.from_dsets(TensorDataset(x[:192], y[:192]), TensorDataset(x[192:], y[192:]), bs=32)
    metrics = [accuracy, F1Score(), RocAucBinary()]
    learn = Learner(dls, nn.Linear(2, 2), loss_func=CrossEntropyLossFlat(), metrics=metrics)
    with learn.no_bar():
        learn.fit_one_cycle(4, 5e-2)
    from sklearn.metrics import f1_score, roc_auc_score

    preds, targs = learn.get_preds()
    assert learn.recorder.metric_names[3:6] == ["accuracy", "f1_score", "roc_auc_score"]  # sklearn's names
    _, acc, f1, auc = learn.validate()
    assert f1 == pytest.approx(f1_score(targs, preds.argmax(1)), rel=1e-6)
    # RocAucBinary takes the sigmoid of the last column... as fastai: only its ranking matters here
    assert auc == pytest.approx(roc_auc_score(targs, preds[:, 1]), rel=1e-6)
    assert auc > 0.9 and acc > 0.8


def test_roc_auc_multiclass():
    learn = classif_learner(metrics=RocAuc())
    with learn.no_bar():
        learn.fit_one_cycle(2, 1e-2)
    from sklearn.metrics import roc_auc_score

    preds, targs = learn.get_preds()
    auc = learn.validate()[1]
    assert auc == pytest.approx(roc_auc_score(targs, preds, multi_class="ovr"), rel=1e-6) and auc > 0.95


# ---- persistence ----------------------------------------------------------------------------------------


def test_save_returns_the_path_and_load_restores(tmp_path):
    learn = synth_learner(path=tmp_path)
    with learn.no_bar():
        learn.fit(1)
    file = learn.save("model1")
    assert file == tmp_path / "models" / "model1.safetensors" and file.exists()
    a = learn.model.a.item()
    with torch.no_grad():
        learn.model.a.fill_(0.0)
    learn.load("model1")
    assert learn.model.a.item() == a


@register_transform
def fastai_docs_features(item: dict) -> TensorBase:
    """The float features of an item."""
    return TensorBase(torch.tensor(item["x"], dtype=torch.float32))


@register_transform
def fastai_docs_label(item: dict) -> str:
    """The label of an item."""
    return item["y"]


def datasets_learner(path):
    torch.manual_seed(0)
    pts = torch.randn(160, 2)
    items = [{"x": [a, b], "y": "pos" if a > 0 else "neg"} for a, b in pts.tolist()]
    dsets = Datasets(
        items,
        tfms=[[fastai_docs_features], [fastai_docs_label, Categorize()]],
        splits=[range(128), range(128, 160)],
    )
    dls = dsets.dataloaders(bs=32)
    return Learner(dls, nn.Linear(2, 2), metrics=error_rate, path=path), items


@pytest.mark.parametrize("fname", [None, "export.pkl"])
def test_export_and_load_learner(tmp_path, fname):
    learn, items = datasets_learner(tmp_path)
    with learn.no_bar():
        learn.fit_one_cycle(3, 5e-2)
    file = learn.export() if fname is None else learn.export(fname)
    assert file == tmp_path / (fname or "export.plies") and file.exists()
    learn2 = load_learner(file)  # the same safe format whatever the suffix
    assert learn2.dls.vocab == ["neg", "pos"] and learn2.path == tmp_path
    dec, idx, probs = learn2.predict(items[0])
    assert dec == items[0]["y"] and learn2.dls.vocab[int(idx)] == dec
    assert torch.allclose(probs, learn.predict(items[0])[2], atol=1e-6)
    test_dl = learn2.dls.test_dl(items[:20])
    preds, _ = learn2.get_preds(dl=test_dl)
    assert preds.shape == (20, 2)


def test_export_of_tensor_data_warns_and_keeps_the_model(tmp_path):
    learn = synth_learner(path=tmp_path)
    with learn.no_bar():
        learn.fit(1)
    with pytest.warns(UserWarning) as record:
        learn.export()
    messages = " | ".join(str(w.message) for w in record)
    assert "data pipeline cannot be exported without pickle" in messages
    assert "RegModel" not in messages  # a module-level class without arguments: rebuilt by name
    learn2 = load_learner(tmp_path / "export.plies")
    assert type(learn2.model) is RegModel
    assert learn2.dls is None and learn2.model.a.item() == learn.model.a.item()
    x = torch.randn(8, 1)
    preds, targs = learn2.get_preds(dl=TfmdDL(TensorDataset(x, 2 * x), bs=4))
    assert torch.allclose(preds, learn.model(x).detach(), atol=1e-6)


def test_tracker_callbacks_stay_idle_during_lr_find_and_nested_validate(tmp_path):
    learn = synth_learner(path=tmp_path, lr=1e-7)
    early = EarlyStoppingCallback(monitor="valid_loss", min_delta=0.1, patience=2)
    learn.add_cbs([early, SaveModelCallback(), ReduceLROnPlateau(patience=1)])
    with learn.no_bar():
        learn.lr_find(end_lr=1e-2, num_it=25, stop_div=False, show_plot=False)  # 3 epochs of 10 batches
    assert len(learn.recorder.lrs) == 25 and not (tmp_path / "models").exists()

    class ValidateEachEpoch(Callback):
        order = 70  # after the tracker callbacks

        busy = False

        def after_epoch(self):
            if not self.busy:  # validate's own pass also has an after_epoch
                self.busy = True
                self.learn.validate()
                self.busy = False

    with learn.no_bar():
        learn.fit(5, lr=1e-7, cbs=ValidateEachEpoch())
    assert len(learn.recorder.values) == 3  # the nested validations did not reset the wait counter
    assert (tmp_path / "models" / "model.safetensors").exists()


def test_tracker_comp_given_as_numpy_ufuncs():
    import numpy as np

    learn = synth_learner(n_trn=2, metrics=nn.functional.mse_loss)
    cb = EarlyStoppingCallback(monitor="mse_loss", comp=np.less, min_delta=0.1, patience=2)
    with learn.no_bar():
        learn.fit(n_epoch=200, lr=1e-7, cbs=cb)
    assert len(learn.recorder.values) == 3  # the 0.1 margin applies downwards, as with the default comp
    save = SaveModelCallback(monitor="valid_loss", comp=np.greater)  # a user's explicit choice is kept
    assert save.comp is np.greater and save.min_delta == 0.0


def test_show_training_loop_lists_events_and_callbacks(capsys):
    learn = synth_learner()
    text = learn.show_training_loop()
    assert capsys.readouterr().out == text + "\n"
    lines = text.splitlines()
    assert lines[0] == "   - before_fit            : [TrainEvalCallback, Recorder, ProgressCallback]"
    assert any(ln.startswith("   - after_batch") and "TrainEvalCallback, Recorder" in ln for ln in lines)


def test_get_preds_inside_a_callback_with_inner_true():
    class PredsAfterEpoch(Callback):
        order = 70

        def after_epoch(self):
            if self.learn.training is False and not hasattr(self, "preds"):
                self.preds = self.learn.get_preds(inner=True)[0]

    cb = PredsAfterEpoch()
    learn = synth_learner()
    with learn.no_bar():
        learn.fit(1, cbs=cb)
    assert cb.preds.shape == (32, 1)
    assert torch.allclose(cb.preds, learn.get_preds()[0])  # the same model: the fit had ended its epoch
    assert len(learn.recorder.values) == 1


def test_validate_mid_epoch_puts_the_model_back_in_training_mode():
    class ValidateMidEpoch(Callback):
        order = 70

        def after_batch(self):
            if self.training and self.iter == 2:
                self.valid = self.learn.validate()
                self.mode_after = self.learn.model.training

        def before_batch(self):
            if self.training and self.iter == 3:
                self.mode_next_batch = self.learn.model.training

    cb = ValidateMidEpoch()
    learn = synth_learner(model=nn.Sequential(nn.Linear(1, 4), nn.Dropout(0.2), nn.Linear(4, 1)))
    with learn.no_bar():
        learn.fit(1, cbs=cb)
    assert len(cb.valid) == 1 and cb.mode_after is True and cb.mode_next_batch is True
    assert len(learn.recorder.values) == 1 and len(learn.recorder.values[0]) == 2


def test_learn_x_and_y_are_the_batch_input_and_target():
    seen = []

    class Peek(Callback):
        def after_pred(self):
            seen.append((self.x is self.learn.xb[0], self.y is self.learn.yb[0], tuple(self.x.shape)))

    learn = synth_learner(n_trn=1, n_val=1, cbs=Peek())
    with learn.no_bar():
        learn.fit(1)
    assert seen == [(True, True, (16, 1)), (True, True, (16, 1))]  # one training, one validation batch
