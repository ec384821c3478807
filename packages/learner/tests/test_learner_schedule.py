"""Schedules at known points, 1cycle / flat-cos / SGDR curves through a fit, and the LR finder."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from plies.learner import (
    Learner,
    ParamScheduler,
    SchedCos,
    SchedExp,
    SchedLin,
    SchedNo,
    SchedPoly,
    combine_scheds,
    combined_cos,
    minimum,
    slide,
    steep,
    valley,
)
from plies.loaders import DataLoader, DataLoaders
from plies.optim import SGD
from torch import nn


def make_learner(n_train: int = 64, bs: int = 8, **kwargs) -> Learner:
    torch.manual_seed(0)
    x = torch.randn(n_train + 16, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    dls = DataLoaders(
        DataLoader((x[:n_train], y[:n_train]), bs=bs, shuffle=True, seed=1),
        DataLoader((x[n_train:], y[n_train:]), bs=16),
    )
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    return Learner(dls, model, **kwargs)


def test_basic_schedules_at_known_points():
    pos = [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [SchedLin(0, 2)(p) for p in pos] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert [SchedNo(3, 7)(p) for p in pos] == [3] * 5
    assert [SchedCos(0, 2)(p) for p in pos] == pytest.approx([0.0, 0.29289, 1.0, 1.70711, 2.0], abs=1e-5)
    assert [SchedExp(1, 16)(p) for p in pos] == pytest.approx([1, 2, 4, 8, 16])
    assert [SchedPoly(0, 2, 2)(p) for p in pos] == pytest.approx([0, 0.125, 0.5, 1.125, 2])
    arr = SchedLin(np.array([0.0, 10.0]), np.array([1.0, 20.0]))(0.5)
    assert arr.tolist() == [0.5, 15.0]


def test_combine_scheds_and_combined_cos():
    f = combine_scheds([0.3, 0.7], [SchedCos(0.3, 0.6), SchedCos(0.6, 0.2)])
    assert [f(p) for p in [0.0, 0.15, 0.3, 0.65, 1.0]] == pytest.approx([0.3, 0.45, 0.6, 0.4, 0.2])
    g = combined_cos(0.25, 1, 2, 0)
    assert [g(p) for p in [0.0, 0.25, 0.625, 1.0]] == pytest.approx([1, 2, 1, 0])
    with pytest.raises(ValueError, match="sum to 1"):
        combine_scheds([0.3, 0.3], [SchedNo(1), SchedNo(2)])


def one_cycle(pos: float, start: float, middle: float, end: float, pct: float = 0.25) -> float:
    """The 1cycle value at training progress `pos`: half-cosine start->middle over `pct`, then middle->end."""
    if pos < pct:
        start_, end_, p = start, middle, pos / pct
    else:
        start_, end_, p = middle, end, (pos - pct) / (1 - pct)
    return start_ + (end_ - start_) * (1 - math.cos(math.pi * p)) / 2


def test_fit_one_cycle_follows_the_1cycle_policy():
    learn = make_learner()
    learn.fit_one_cycle(2, lr_max=1e-2)
    lrs, moms = np.array(learn.recorder.lrs), np.array(learn.recorder.moms)
    n = len(lrs)
    assert n == 16
    pos = [i / 16 for i in range(16)]  # pct_train before each batch
    assert lrs.tolist() == pytest.approx([one_cycle(p, 1e-2 / 25, 1e-2, 1e-2 / 1e5) for p in pos], rel=1e-6)
    assert moms.tolist() == pytest.approx([one_cycle(p, 0.95, 0.85, 0.95) for p in pos], rel=1e-6)
    peak = int(np.argmax(lrs))
    assert peak == 4 and lrs[peak] == pytest.approx(1e-2)  # pct_start=0.25 of 16 iterations
    assert moms[0] == pytest.approx(0.95) and moms[peak] == pytest.approx(0.85)
    assert int(np.argmin(moms)) == peak
    # momentum climbs back: 0.85 + 0.1 * (1 - cos(pi * 11/12)) / 2 at the last batch, 0.95 at the end
    assert moms[-1] == pytest.approx(0.85 + 0.1 * (1 - math.cos(math.pi * 11 / 12)) / 2) and moms[-1] > 0.945
    assert learn.recorder.hps["lr"] == list(lrs)
    learn.fit_one_cycle(1, lr_max=1e-2, moms=(0.9, 0.8, 0.7), pct_start=0.5)
    pos = [i / 8 for i in range(8)]
    assert learn.recorder.moms == pytest.approx([one_cycle(p, 0.9, 0.8, 0.7, pct=0.5) for p in pos], rel=1e-6)


def test_fit_flat_cos_and_sgdr_shapes():
    learn = make_learner()
    learn.fit_flat_cos(2, lr=1e-2)
    lrs = learn.recorder.lrs
    assert lrs[:12] == pytest.approx([1e-2] * 12)  # flat for 75% of 16 iterations
    assert lrs[-1] == pytest.approx(combined_cos(0.75, 1e-2, 1e-2, 1e-7)(15 / 16))
    learn.fit_sgdr(2, 1, lr_max=1e-2)  # cycles of 1 and 2 epochs: 3 epochs
    lrs = learn.recorder.lrs
    assert len(lrs) == 24
    assert lrs[0] == pytest.approx(1e-2) and lrs[8] == pytest.approx(1e-2)  # restart at epoch 1
    assert lrs[7] < 1e-3 and lrs[23] < 1e-3


def test_param_scheduler_any_hyper_parameter():
    learn = make_learner(opt_func=SGD)
    learn.fit(1, lr=0.01, cbs=ParamScheduler({"wd": SchedLin(0.0, 0.7)}))
    assert learn.recorder.hps["wd"] == pytest.approx([0.7 * i / 8 for i in range(8)])


def test_discriminative_lr_with_slice():
    learn = make_learner(splitter=lambda m: [list(m[:2].parameters()), list(m[2:].parameters())])
    learn.fit(1, lr=slice(1e-4, 1e-2))
    assert [h["lr"] for h in learn.opt.hypers] == pytest.approx([1e-4, 1e-2])
    learn.fit(1, lr=slice(1e-2))
    assert [h["lr"] for h in learn.opt.hypers] == pytest.approx([1e-3, 1e-2])


def test_lr_find_restores_model_and_optimizer_exactly_and_suggests():
    learn = make_learner()
    learn.fit(1, lr=1e-2)  # the optimizer now has state (Adam moving averages)
    model_before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    opt_before = learn.opt.state_dict()
    opt_before_state = {
        k: {n: v.clone() if torch.is_tensor(v) else v for n, v in s.items()}
        for k, s in opt_before["state"].items()
    }
    res = learn.lr_find(num_it=30, show_plot=False, suggest_funcs=(minimum, steep, valley))
    after = learn.model.state_dict()
    assert all(torch.equal(model_before[k], after[k]) for k in model_before)  # incl. BatchNorm running stats
    opt_after = learn.opt.state_dict()
    for k, s in opt_before_state.items():
        for n, v in s.items():
            assert (
                torch.equal(v, opt_after["state"][k][n])
                if torch.is_tensor(v)
                else v == opt_after["state"][k][n]
            )
    assert [g["lr"] for g in opt_after["param_groups"]] == [g["lr"] for g in opt_before["param_groups"]]
    assert res._fields == ("minimum", "steep", "valley")
    assert all(1e-7 <= v <= 10 for v in res)
    lrs = learn.recorder.lrs
    assert lrs[0] == pytest.approx(1e-7) and 1 < len(lrs) <= 30
    assert all(b / a == pytest.approx((10 / 1e-7) ** (1 / 30)) for a, b in zip(lrs, lrs[1:], strict=False))


def test_lr_find_stops_when_the_loss_diverges():
    learn = make_learner()
    learn.lr_find(start_lr=1e-3, end_lr=1e6, num_it=100, show_plot=False)
    assert len(learn.recorder.lrs) < 100
    losses = learn.recorder.losses
    assert losses[-1] > 4 * min(losses) or not math.isfinite(losses[-1])


def test_lr_find_plot_and_sched_plot():
    import matplotlib

    matplotlib.use("Agg")
    learn = make_learner()
    learn.lr_find(num_it=20)
    ax = learn.recorder.plot_lr_find()
    assert ax.get_xscale() == "log"
    learn.fit_one_cycle(1)
    axs = learn.recorder.plot_sched()
    assert [a.get_ylabel() for a in axs[0]] == ["lr", "mom"]
    assert learn.recorder.plot_loss(skip_start=0).get_ylabel() == "loss"


def test_lr_find_default_suggests_valley_and_slide_is_available():
    learn = make_learner()
    res = learn.lr_find(num_it=40, show_plot=False)
    assert type(res).__name__ == "SuggestedLRs" and res._fields == ("valley",)
    both = learn.lr_find(num_it=40, show_plot=False, suggest_funcs=(valley, slide))
    assert both._fields == ("valley", "slide") and 1e-7 <= both.slide <= 10


LRS = torch.logspace(-7, 1, 81, dtype=torch.float64)  # lrs[i] = 10 ** (-7 + i / 10)


def lr_at(i: int) -> float:
    return 10 ** (-7 + i / 10)


def synthetic_curve(last_flat: int, steep_at: int, bottom: int) -> torch.Tensor:
    """81 losses: 3.0 up to index `last_flat`, then falling 0.01 per step down to index `bottom` (the minimum)
    except one drop of 0.5 from `steep_at` to `steep_at + 1`, then rising 0.2 per step."""
    losses, value = [], 3.0
    for i in range(81):
        if last_flat < i <= bottom:
            value -= 0.5 if i == steep_at + 1 else 0.01
        elif i > bottom:
            value += 0.2
        losses.append(value)
    return torch.tensor(losses, dtype=torch.float64)


# (last_flat, steep_at, bottom) and the expected index of each suggestion, by hand:
# minimum: lrs[bottom] / 10; steep: the left end of the biggest drop per log-lr step, lrs[steep_at];
# valley: the longest decreasing stretch is one flat point then indices last_flat+1..bottom; fastai counts
# it from start = last_flat - 1 and suggests the index halfway, start + (bottom - start) / 2.
CURVES = [((19, 35, 60), 18 + 21), ((9, 50, 68), 8 + 30)]


@pytest.mark.parametrize("curve, valley_idx", CURVES)
def test_suggestions_on_known_curves(curve, valley_idx):
    last_flat, steep_at, bottom = curve
    losses = synthetic_curve(*curve)
    lr, (lr_point, loss_point) = minimum(LRS, losses, 100)
    assert lr == pytest.approx(lr_at(bottom) / 10) and lr_point == lr
    assert loss_point == pytest.approx(float(losses.min()))
    lr, (lr_point, loss_point) = steep(LRS, losses, 100)
    assert lr == pytest.approx(lr_at(steep_at)) and lr_point == lr
    assert loss_point == pytest.approx(3.0 - 0.01 * (steep_at - last_flat))
    lr, (lr_point, loss_point) = valley(LRS, losses, 100)
    assert lr == pytest.approx(lr_at(valley_idx)) and lr_point == lr
    assert loss_point == pytest.approx(float(losses[valley_idx]))


def test_suggestions_follow_the_curve():
    a, b = synthetic_curve(*CURVES[0][0]), synthetic_curve(*CURVES[1][0])
    for suggest in (minimum, steep, valley):
        assert suggest(LRS, a, 100)[0] != pytest.approx(suggest(LRS, b, 100)[0]), suggest.__name__


def test_suggestions_on_the_recorded_curve_of_lr_find():
    """lr_find hands the recorded curve, less its first num_it // 10 and last 5 points, to each function."""

    class ScriptedLoss(nn.Module):
        """A model whose loss at iteration i is the i-th point of a synthetic curve (no learning involved)."""

        def __init__(self, losses):
            super().__init__()
            self.w, self.losses, self.i = nn.Parameter(torch.zeros(1)), losses, 0

        def forward(self, x):
            value = self.losses[min(self.i, len(self.losses) - 1)]
            self.i += self.training
            return self.w * 0 + value + 0 * x[:, :1]

    losses = synthetic_curve(19, 35, 60).tolist()
    learn = make_learner(n_train=8 * 100, loss_func=lambda pred, y: pred.mean())
    learn.model = ScriptedLoss(losses)
    learn.recorder.smooth_loss.beta = 0.0  # record the raw losses
    res = learn.lr_find(num_it=80, stop_div=False, show_plot=False, suggest_funcs=(minimum, steep, valley))
    assert learn.recorder.lrs == pytest.approx([lr_at(i) for i in range(80)])  # 1e-7 * (1e8) ** (i / 80)
    assert learn.recorder.losses == pytest.approx(losses[:80])
    # the kept curve is indices 8..74: the same minimum and steepest drop; its valley starts at index 18
    assert res.minimum == pytest.approx(lr_at(60) / 10)
    assert res.steep == pytest.approx(lr_at(35))
    assert res.valley == pytest.approx(lr_at(18 + 21))


def test_slide_on_a_known_curve():
    lrs = torch.logspace(-7, 1, 100, dtype=torch.float64)
    losses = torch.cat([torch.full((60,), 2.0), torch.linspace(2.0, 0.5, 30), torch.linspace(0.5, 5.0, 10)])
    lr, (lr_again, loss) = slide(lrs, losses.double(), 100)
    # walking left from the diverging end, the gradient settles where the descent is steady
    assert lr == lr_again and lrs[60] <= lr <= lrs[89]
    assert 0.5 <= loss <= 2.0
