"""Concrete metrics against scikit-learn / numpy on random data accumulated over uneven batches."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from plies.learner import (
    AccumMetric,
    ActivationType,
    APScoreMulti,
    AvgMetric,
    BalancedAccuracy,
    CohenKappa,
    Dice,
    DiceMulti,
    ExplainedVariance,
    F1Score,
    F1ScoreMulti,
    FBeta,
    HammingLoss,
    Jaccard,
    JaccardCoeff,
    JaccardMulti,
    MatthewsCorrCoef,
    MatthewsCorrCoefMulti,
    PearsonCorrCoef,
    Perplexity,
    Precision,
    PrecisionMulti,
    R2Score,
    Recall,
    RecallMulti,
    RocAuc,
    RocAucBinary,
    RocAucMulti,
    accuracy,
    accuracy_multi,
    error_rate,
    exp_rmspe,
    flatten_check,
    mae,
    mse,
    msle,
    rmse,
    skm_to_plies,
    top_k_accuracy,
)

SIZES = (7, 32, 13, 1)  # uneven batches: a per-batch average would differ from the per-sample one


def run_metric(metric, preds, targs, losses=None):
    """Feed `metric` the data split into uneven batches, as the learner does during validation."""
    metric.reset()
    start = 0
    for size in SIZES:
        sl = slice(start, start + size)
        learn = SimpleNamespace(pred=preds[sl], yb=(targs[sl],))
        if losses is not None:
            learn.loss = losses[sl]
        metric.accumulate(learn)
        start += size
    assert start == len(preds)
    return metric.value


N = sum(SIZES)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def multiclass(gen, c=4):
    return torch.randn(N, c, generator=gen), torch.randint(0, c, (N,), generator=gen)


def test_accuracy_and_error_rate_average_over_samples(gen):
    preds, targs = multiclass(gen)
    expected = skm.accuracy_score(targs.numpy(), preds.argmax(-1).numpy())
    assert float(run_metric(AvgMetric(accuracy), preds, targs)) == pytest.approx(expected, abs=1e-6)
    assert float(run_metric(AvgMetric(error_rate), preds, targs)) == pytest.approx(1 - expected, abs=1e-6)


def test_accuracy_on_known_values():
    preds = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    targs = torch.tensor([1, 0, 0, 0])
    assert float(accuracy(preds, targs)) == pytest.approx(0.75)
    assert float(error_rate(preds, targs)) == pytest.approx(0.25)


def test_top_k_accuracy(gen):
    preds, targs = multiclass(gen, c=6)
    expected = skm.top_k_accuracy_score(targs.numpy(), preds.numpy(), k=3, labels=range(6))
    fn = lambda p, t: top_k_accuracy(p, t, k=3)  # noqa: E731
    fn.__name__ = "top3"
    assert float(run_metric(AvgMetric(fn), preds, targs)) == pytest.approx(expected, abs=1e-6)


def test_accuracy_multi_with_and_without_sigmoid(gen):
    preds = torch.randn(N, 5, generator=gen)
    targs = (torch.rand(N, 5, generator=gen) > 0.5).float()
    expected = ((torch.sigmoid(preds) > 0.5).float() == targs).float().mean()
    assert float(run_metric(AvgMetric(accuracy_multi), preds, targs)) == pytest.approx(
        float(expected), abs=1e-6
    )
    raw = ((preds > 0.2).float() == targs).float().mean()
    assert float(accuracy_multi(preds, targs, thresh=0.2, sigmoid=False)) == pytest.approx(float(raw))


def regression(gen):
    targs = torch.rand(N, generator=gen) * 3 + 0.5
    return targs + 0.3 * torch.randn(N, generator=gen), targs


def test_regression_metrics_against_sklearn(gen):
    preds, targs = regression(gen)
    p, t = preds.numpy(), targs.numpy()
    assert float(run_metric(AvgMetric(mse), preds, targs)) == pytest.approx(
        skm.mean_squared_error(t, p), rel=1e-5
    )
    assert float(run_metric(AvgMetric(mae), preds, targs)) == pytest.approx(
        skm.mean_absolute_error(t, p), rel=1e-5
    )
    assert float(run_metric(AvgMetric(msle), preds, targs)) == pytest.approx(
        skm.mean_squared_log_error(t, p), rel=1e-5
    )
    assert float(run_metric(rmse, preds, targs)) == pytest.approx(
        np.sqrt(skm.mean_squared_error(t, p)), rel=1e-5
    )
    assert run_metric(R2Score(), preds, targs) == pytest.approx(skm.r2_score(t, p), rel=1e-5)
    assert run_metric(ExplainedVariance(), preds, targs) == pytest.approx(
        skm.explained_variance_score(t, p), rel=1e-5
    )
    assert run_metric(PearsonCorrCoef(), preds, targs) == pytest.approx(np.corrcoef(t, p)[0, 1], rel=1e-5)
    ep, et = np.exp(p), np.exp(t)
    assert float(run_metric(exp_rmspe, preds, targs)) == pytest.approx(
        np.sqrt(np.mean(((et - ep) / et) ** 2)), rel=1e-4
    )


def test_rmse_is_not_the_mean_of_batch_rmses(gen):
    preds, targs = regression(gen)
    whole = float(run_metric(rmse, preds, targs))
    batch_mean = float(run_metric(AvgMetric(lambda p, t: torch.sqrt(mse(p, t))), preds, targs))
    assert whole != pytest.approx(batch_mean, rel=1e-4)
    assert rmse.name == "rmse" and exp_rmspe.name == "exp_rmspe"


@pytest.mark.parametrize(
    ("make", "skfunc", "kw"),
    [
        (lambda: F1Score(average="macro"), skm.f1_score, {"average": "macro"}),
        (lambda: FBeta(2.0, average="weighted"), skm.fbeta_score, {"beta": 2.0, "average": "weighted"}),
        (lambda: Precision(average="micro"), skm.precision_score, {"average": "micro"}),
        (lambda: Recall(average="macro"), skm.recall_score, {"average": "macro"}),
        (lambda: Jaccard(average="macro"), skm.jaccard_score, {"average": "macro"}),
        (MatthewsCorrCoef, skm.matthews_corrcoef, {}),
        (BalancedAccuracy, skm.balanced_accuracy_score, {}),
        (lambda: CohenKappa(weights="quadratic"), skm.cohen_kappa_score, {"weights": "quadratic"}),
        (HammingLoss, skm.hamming_loss, {}),
    ],
)
def test_single_label_sklearn_metrics(gen, make, skfunc, kw):
    preds, targs = multiclass(gen)
    metric = make()
    expected = skfunc(targs.numpy(), preds.argmax(-1).numpy(), **kw)
    assert run_metric(metric, preds, targs) == pytest.approx(expected)
    assert metric.name == skfunc.__name__


def test_binary_f1_and_roc_auc_binary(gen):
    preds, targs = multiclass(gen, c=2)
    assert run_metric(F1Score(), preds, targs) == pytest.approx(skm.f1_score(targs, preds.argmax(-1)))
    probs = torch.softmax(preds, -1)[:, 1]
    assert run_metric(RocAucBinary(), preds, targs) == pytest.approx(skm.roc_auc_score(targs, probs))


def test_roc_auc_multiclass_uses_softmax(gen):
    preds, targs = multiclass(gen, c=3)
    probs = torch.softmax(preds, -1).numpy()
    assert run_metric(RocAuc(), preds, targs) == pytest.approx(
        skm.roc_auc_score(targs, probs, multi_class="ovr")
    )
    with pytest.raises(ValueError, match="multi_class must be 'ovr' or 'ovo'"):
        RocAuc(multi_class="raise")


@pytest.mark.parametrize(
    ("make", "skfunc", "kw", "thresh"),
    [
        (F1ScoreMulti, skm.f1_score, {"average": "macro"}, 0.5),
        (lambda: PrecisionMulti(thresh=0.3, average="micro"), skm.precision_score, {"average": "micro"}, 0.3),
        (RecallMulti, skm.recall_score, {"average": "macro"}, 0.5),
        (JaccardMulti, skm.jaccard_score, {"average": "macro"}, 0.5),
    ],
)
def test_multi_label_sklearn_metrics(gen, make, skfunc, kw, thresh):
    preds = torch.randn(N, 4, generator=gen)
    targs = (torch.rand(N, 4, generator=gen) > 0.5).long()
    expected = skfunc(targs.numpy(), (torch.sigmoid(preds) >= thresh).numpy(), **kw)
    assert run_metric(make(), preds, targs) == pytest.approx(expected)


def test_multi_label_flattened_and_probability_metrics(gen):
    preds = torch.randn(N, 4, generator=gen)
    targs = (torch.rand(N, 4, generator=gen) > 0.5).long()
    probs = torch.sigmoid(preds)
    expected = skm.matthews_corrcoef(targs.view(-1), (probs >= 0.5).view(-1))
    assert run_metric(MatthewsCorrCoefMulti(), preds, targs) == pytest.approx(expected)
    assert run_metric(RocAucMulti(), preds, targs) == pytest.approx(skm.roc_auc_score(targs, probs))
    assert run_metric(APScoreMulti(), preds, targs) == pytest.approx(
        skm.average_precision_score(targs, probs)
    )


def test_skm_to_plies_with_any_function_and_threshold(gen):
    preds = torch.randn(N, generator=gen)
    targs = (torch.rand(N, generator=gen) > 0.5).long()
    metric = skm_to_plies(skm.accuracy_score, thresh=0.6)
    assert metric.activation is ActivationType.Sigmoid
    expected = skm.accuracy_score(targs, torch.sigmoid(preds) >= 0.6)
    assert run_metric(metric, preds, targs) == pytest.approx(expected)
    no_act = skm_to_plies(skm.accuracy_score, thresh=0.0, activation=ActivationType.No)
    assert run_metric(no_act, preds, targs) == pytest.approx(skm.accuracy_score(targs, preds >= 0.0))


def test_accum_metric_called_directly_and_empty_value():
    metric = AccumMetric(lambda p, t: (p - t).abs().max(), name="maxerr")
    assert metric.value is None
    assert float(metric(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 0.0]))) == pytest.approx(2.0)
    assert metric.name == "maxerr"


def test_flatten_check_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="6 predictions vs 4 targets"):
        flatten_check(torch.zeros(2, 3), torch.zeros(4))


def segmentation(gen, c=2):
    preds = torch.randn(N, c, 5, 5, generator=gen)
    targs = torch.randint(0, c, (N, 5, 5), generator=gen)
    return preds, targs


def test_dice_and_jaccard_coeff(gen):
    preds, targs = segmentation(gen)
    p, t = preds.argmax(1).view(-1).numpy(), targs.view(-1).numpy()
    assert run_metric(Dice(), preds, targs) == pytest.approx(skm.f1_score(t, p))
    assert run_metric(JaccardCoeff(), preds, targs) == pytest.approx(skm.jaccard_score(t, p))
    empty = Dice()
    empty.reset()
    assert empty.value is None


def test_dice_multi_is_mean_per_class_f1(gen):
    preds, targs = segmentation(gen, c=3)
    p, t = preds.argmax(1).view(-1).numpy(), targs.view(-1).numpy()
    assert run_metric(DiceMulti(), preds, targs) == pytest.approx(skm.f1_score(t, p, average="macro"))


def test_perplexity_is_exp_of_sample_mean_loss(gen):
    losses = torch.rand(N, generator=gen) * 3
    preds, targs = torch.zeros(N, 2), torch.zeros(N, dtype=torch.long)
    batch_losses = []
    start = 0
    for size in SIZES:
        batch_losses += [float(losses[start : start + size].mean())] * size
        start += size
    value = run_metric(Perplexity(), preds, targs, losses=losses)
    assert float(value) == pytest.approx(np.exp(np.mean(batch_losses)), rel=1e-5)
    assert Perplexity().name == "perplexity"


def test_metrics_with_a_learner_built_without_init_as_in_fastai_docs():
    from plies.learner import Learner

    class TstLearner(Learner):
        def __init__(self) -> None:
            self.pred, self.xb, self.yb = None, None, None

    def compute_val(met, x1, x2):
        met.reset()
        vals = [0, 6, 15, 20]
        learn = TstLearner()
        for i in range(3):
            learn.pred, learn.yb = x1[vals[i] : vals[i + 1]], (x2[vals[i] : vals[i + 1]],)
            met.accumulate(learn)
        return met.value

    x1, x2 = torch.randn(20, 5), torch.randint(0, 5, (20,))
    assert float(compute_val(AvgMetric(accuracy), x1, x2)) == pytest.approx(float(accuracy(x1, x2)))
    expected = skm.f1_score(x2, x1.argmax(-1), average="macro")
    assert compute_val(F1Score(average="macro"), x1, x2) == pytest.approx(expected)
    assert float(compute_val(rmse, x1[:, 0], x2.float())) == pytest.approx(
        float(torch.sqrt(mse(x1[:, 0], x2)))
    )


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")  # sklearn, on tiny samples
@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 9), min_size=1, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_avg_and_accum_metrics_do_not_depend_on_the_batch_split(sizes, seed):
    g = torch.Generator().manual_seed(seed)
    n = sum(sizes)
    preds, targs = torch.randn(n, 3, generator=g), torch.randint(0, 3, (n,), generator=g)
    metrics = {
        "acc": AvgMetric(accuracy),
        "mcc": MatthewsCorrCoef(),
        "rmse": AccumMetric(lambda p, t: ((p - t) ** 2).mean().sqrt()),
    }
    for m in metrics.values():
        m.reset()
    start = 0
    for size in sizes:
        learn = SimpleNamespace(pred=preds[start : start + size], yb=(targs[start : start + size],))
        for m in metrics.values():
            if m is metrics["rmse"]:
                learn = SimpleNamespace(
                    pred=preds[start : start + size, 0], yb=(targs[start : start + size].float(),)
                )
            m.accumulate(learn)
        start += size
    assert float(metrics["acc"].value) == pytest.approx(skm.accuracy_score(targs, preds.argmax(-1)), abs=1e-6)
    assert metrics["mcc"].value == pytest.approx(skm.matthews_corrcoef(targs, preds.argmax(-1)), abs=1e-9)
    assert float(metrics["rmse"].value) == pytest.approx(
        float(((preds[:, 0] - targs) ** 2).mean().sqrt()), rel=1e-5
    )


def test_acc_segment_counts_right_pixels_leaving_out_void():
    from plies.learner import acc_segment

    # 2 images of 2x2 pixels, 3 classes; predictions are the argmax over axis 1
    pred = torch.zeros(2, 3, 2, 2)
    pred[0, :, 0, 0] = torch.tensor([5.0, 0, 0])  # class 0
    pred[0, :, 0, 1] = torch.tensor([0, 5.0, 0])  # class 1
    pred[0, :, 1, 0] = torch.tensor([0, 0, 5.0])  # class 2
    pred[0, :, 1, 1] = torch.tensor([5.0, 0, 0])  # class 0
    pred[1] = pred[0]
    targ = torch.tensor([[[0, 1], [1, 0]], [[2, 2], [2, 2]]])
    # right: image 0 pixels (0,0),(0,1),(1,1) = 3; image 1 pixel (1,0) = 1 -> 4 of 8
    assert float(acc_segment(pred, targ)) == pytest.approx(4 / 8)
    # leaving out class 2 (void): image 0 has 4 kept pixels, 3 right; image 1 none kept -> 3 of 4
    assert float(acc_segment(pred, targ, void_code=2)) == pytest.approx(3 / 4)
