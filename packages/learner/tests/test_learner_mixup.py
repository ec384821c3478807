"""MixUp and CutMix: mixed inputs, targets and losses with a fixed seed; no mixing in validation."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from plies.layers import CrossEntropyLossFlat, MSELossFlat
from plies.learner import CutMix, MixUp


def fake_learn(xb, yb, loss_func, training=True):
    return SimpleNamespace(xb=xb, yb=yb, loss_func=loss_func, training=training)


def start(cb, learn):
    cb.learn = learn
    cb.before_train()
    cb.before_batch()


def test_mixup_blends_inputs_with_lambda_at_least_half():
    torch.manual_seed(0)
    x = torch.eye(8) * 10  # row i is 10 * e_i, so the mix is readable
    y = torch.arange(8)
    cb = MixUp(alpha=0.4)
    learn = fake_learn((x,), (y,), CrossEntropyLossFlat())
    start(cb, learn)
    mixed = learn.xb[0]
    lam = cb.lam
    assert lam.shape == (8,) and bool((lam >= 0.5).all()) and bool((lam <= 1).all())
    partner = cb.yb1[0]
    for i in range(8):
        expected = lam[i] * x[i] + (1 - lam[i]) * x[partner[i]]
        assert torch.allclose(mixed[i], expected, atol=1e-6)
    assert torch.equal(learn.yb[0], y)  # integer targets are not blended
    assert sorted(partner.tolist()) == list(range(8))  # a permutation of the batch


def expected_lambda_mean(alpha: float) -> float:
    """E[max(L, 1 - L)] for L ~ Beta(alpha, alpha): 1/2 + E|L - 1/2|.

    The mean absolute deviation of Beta(a, b) about its mean is 2 a^a b^b / (B(a, b) (a+b)^(a+b+1)),
    which for a = b is 1 / (a * 4**a * B(a, a)).
    """
    log_beta = 2 * math.lgamma(alpha) - math.lgamma(2 * alpha)
    return 0.5 + 1 / (alpha * 4**alpha * math.exp(log_beta))


def test_expected_lambda_mean_formula_at_known_points():
    assert expected_lambda_mean(1.0) == pytest.approx(0.75)  # L uniform: E[max(L, 1-L)] = 3/4
    assert expected_lambda_mean(0.1) == pytest.approx(0.9416, abs=1e-4)  # U-shaped: mostly near 0 or 1
    assert expected_lambda_mean(10.0) == pytest.approx(0.5881, abs=1e-4)  # peaked at 1/2


@pytest.mark.parametrize("alpha", [0.1, 1.0, 10.0])
def test_mixup_draws_lambda_from_beta_alpha_alpha(alpha):
    n = 20_000  # one lambda per sample of a big batch: the mean is within ~0.002 of its expectation
    torch.manual_seed(0)
    cb = MixUp(alpha=alpha)
    start(cb, fake_learn((torch.zeros(n, 1),), (torch.zeros(n, dtype=torch.long),), CrossEntropyLossFlat()))
    assert cb.lam.shape == (n,)
    assert float(cb.lam.mean()) == pytest.approx(expected_lambda_mean(alpha), abs=0.01)
    # the same draws as torch's Beta(alpha, alpha) sampler from the same seed, folded onto [1/2, 1]
    torch.manual_seed(0)
    raw = torch.distributions.Beta(torch.tensor(alpha), torch.tensor(alpha)).sample((n,))
    assert torch.allclose(cb.lam, torch.maximum(raw, 1 - raw))


def test_mixup_is_reproducible_with_a_seed():
    x, y = torch.randn(16, 3), torch.randint(0, 4, (16,))
    results = []
    for _ in range(2):
        torch.manual_seed(42)
        learn = fake_learn((x,), (y,), CrossEntropyLossFlat())
        start(MixUp(), learn)
        results.append(learn.xb[0])
    assert torch.equal(results[0], results[1]) and not torch.equal(results[0], x)


def test_mixup_loss_is_lerp_of_the_two_losses_and_is_restored():
    torch.manual_seed(1)
    x, y = torch.randn(10, 3), torch.randint(0, 3, (10,))
    original = CrossEntropyLossFlat()
    cb = MixUp()
    learn = fake_learn((x,), (y,), original)
    start(cb, learn)
    pred = torch.randn(10, 3)
    loss = learn.loss_func(pred, *learn.yb)
    lam, y1 = cb.lam, cb.yb1[0]
    per_sample = lam * F.cross_entropy(pred, y, reduction="none") + (1 - lam) * F.cross_entropy(
        pred, y1, reduction="none"
    )
    assert float(loss) == pytest.approx(float(per_sample.mean()), rel=1e-6)
    assert original.reduction == "mean"
    learn.training = False
    assert float(learn.loss_func(pred, y)) == pytest.approx(float(F.cross_entropy(pred, y)))
    cb.after_train()
    assert learn.loss_func is original


def test_mixup_blends_float_targets_without_changing_the_loss():
    torch.manual_seed(2)
    x, y = torch.randn(6, 2), torch.randn(6, 1)
    lf = MSELossFlat()
    cb = MixUp()
    learn = fake_learn((x,), (y,), lf)
    start(cb, learn)
    lam = cb.lam[:, None]
    assert torch.allclose(learn.yb[0], lam * y + (1 - lam) * cb.yb1[0], atol=1e-6)
    assert learn.loss_func is lf


def test_no_mixing_in_validation():
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 2, (4,))
    for cb in (MixUp(), CutMix()):
        learn = fake_learn((x,), (y,), CrossEntropyLossFlat(), training=False)
        cb.learn = learn
        cb.before_batch()
        assert learn.xb[0] is x and learn.yb[0] is y
    assert MixUp.run_valid is False


def test_cutmix_pastes_a_box_and_lambda_is_the_kept_area():
    torch.manual_seed(3)
    x = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 16, 16).contiguous()  # image i is filled with i
    y = torch.arange(4)
    cb = CutMix(alpha=1.0)
    learn = fake_learn((x,), (y,), CrossEntropyLossFlat())
    start(cb, learn)
    mixed, partner = learn.xb[0], cb.yb1[0]
    for i in range(4):
        kept = (mixed[i] == i).float().mean()
        if partner[i] != i:
            assert float(kept) == pytest.approx(float(cb.lam), abs=1e-6)
        assert set(mixed[i].unique().tolist()) <= {float(i), float(partner[i])}
    assert torch.equal(x[:, :, 0, 0], torch.arange(4.0).view(4, 1))  # the input batch was not modified
    assert 0.0 <= float(cb.lam) <= 1.0


def test_cutmix_rejects_non_image_inputs():
    cb = CutMix()
    learn = fake_learn((torch.randn(4, 3),), (torch.zeros(4, dtype=torch.long),), CrossEntropyLossFlat())
    cb.learn = learn
    with pytest.raises(ValueError, match=r"CutMix: expected image batches .* shape \(4, 3\)"):
        cb.before_batch()


def test_mixup_in_a_real_fit_trains_and_restores_the_loss():
    from plies.learner import Learner
    from plies.loaders import DataLoader, DataLoaders

    torch.manual_seed(0)
    x = torch.randn(96, 4)
    y = (x[:, 0] > 0).long()
    dls = DataLoaders(DataLoader((x[:64], y[:64]), bs=16, shuffle=True), DataLoader((x[64:], y[64:]), bs=16))
    loss_func = CrossEntropyLossFlat()
    seen = []

    from plies.learner import Callback

    class Spy(Callback):
        def after_loss(self):
            seen.append((self.learn.training, self.learn.loss_func is loss_func))

    learn = Learner(dls, torch.nn.Linear(4, 2), loss_func=loss_func, cbs=[MixUp(), Spy()])
    with learn.no_bar(), learn.no_logging():
        learn.fit(2, lr=0.1)
    assert learn.loss_func is loss_func
    assert set(seen) == {(True, False), (False, True)}  # mixed loss in training only
    assert learn.validate()[0] < 0.6


@settings(max_examples=25, deadline=None)
@given(bs=st.integers(2, 12), n_feat=st.integers(1, 5), alpha=st.floats(0.1, 3.0), seed=st.integers(0, 2**16))
def test_mixup_mixes_each_sample_with_its_partner(bs, n_feat, alpha, seed):
    torch.manual_seed(seed)
    x, y = torch.randn(bs, n_feat), torch.randint(0, 3, (bs,))
    cb = MixUp(alpha)
    learn = fake_learn((x,), (y,), CrossEntropyLossFlat())
    start(cb, learn)
    lam, partner_y = cb.lam, cb.yb1[0]
    assert bool((lam >= 0.5).all()) and bool((lam <= 1.0).all())
    # each mixed row lies between x[i] and the row of x whose target is the recorded partner target
    mixed = learn.xb[0]
    for i in range(bs):
        candidates = [j for j in range(bs) if partner_y[i] == y[j]]
        assert any(
            torch.allclose(mixed[i], lam[i] * x[i] + (1 - lam[i]) * x[j], atol=1e-5) for j in candidates
        )
