"""GAN training through two-way callbacks: mode switching, freezing, and a tiny 2-D GAN that learns."""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F
from plies.learner import (
    AdaptiveGANSwitcher,
    Callback,
    FixedGANSwitcher,
    GANLearner,
    GANLoss,
    GANModule,
    Learner,
    gan_loss_from_func,
)
from plies.loaders import DataLoader, DataLoaders
from plies.optim import Adam
from plies.typecore import set_seed
from torch import nn

TARGET = torch.tensor([2.0, 2.0])


def gan_data(n: int, bs: int) -> DataLoaders:
    """Batches of (noise in R^4, real points around (2, 2) with std 0.3)."""

    def data(k: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(k, 4), TARGET + 0.3 * torch.randn(k, 2)

    return DataLoaders(DataLoader(data(n), bs=bs, shuffle=True), DataLoader(data(64), bs=64), device="cpu")


def nets() -> tuple[nn.Module, nn.Module]:
    gen = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2))
    crit = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1), nn.Flatten(0))
    return gen, crit


def bce_gan_losses():
    no_content = lambda output, target: output.new_zeros(())  # noqa: E731 - a pure adversarial generator loss
    return gan_loss_from_func(no_content, F.binary_cross_entropy_with_logits, weights_gen=(1.0, 0.0))


def make_learner(switcher=None, n=256, bs=32, **kwargs) -> GANLearner:
    gen, crit = nets()
    g_loss, c_loss = bce_gan_losses()
    opt_func = partial(Adam, mom=0.5)
    return GANLearner(
        gan_data(n, bs), gen, crit, g_loss, c_loss, switcher=switcher, opt_func=opt_func, lr=1e-2, **kwargs
    )


def test_gan_module_and_loss_follow_the_mode():
    gen, crit = nets()
    gan = GANModule(gen, crit)
    noise, real = torch.randn(5, 4), torch.randn(5, 2)
    torch.set_grad_enabled(False)
    assert gan(real).shape == (5,)  # critic mode by default
    gan.switch()
    assert gan.gen_mode and gan(noise).shape == (5, 2)
    loss = GANLoss(lambda fp, out, targ: fp.mean(), lambda rp, fp: rp.mean() - fp.mean(), gan)
    loss.switch(gen_mode=True)
    fake = gen(noise)
    assert float(loss(fake, real)) == pytest.approx(float(crit(fake).mean()))
    loss.switch(gen_mode=False)
    expected = crit(real).mean() - crit(gen(noise)).mean()
    assert float(loss(crit(real), noise)) == pytest.approx(float(expected), rel=1e-5)
    assert float(loss.crit_loss) == pytest.approx(float(expected), rel=1e-5)
    torch.set_grad_enabled(True)
    assert list(loss.parameters()) == []  # the loss does not own the model's weights


class ModeLog(Callback):
    """Record, for each training batch, the mode and which sub-model gets gradients."""

    order = 100

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[bool, bool, bool, tuple[int, ...]]] = []

    def after_backward(self) -> None:
        gan = self.learn.model
        gen_grad = any(p.grad is not None and p.requires_grad for p in gan.generator.parameters())
        crit_trainable = all(p.requires_grad for p in gan.critic.parameters())
        self.log.append(
            (self.learn.gan_trainer.gen_mode, gen_grad, crit_trainable, tuple(self.learn.xb[0].shape))
        )


def test_fixed_switcher_alternates_and_freezes_the_other_model():
    set_seed(0)
    learn = make_learner(FixedGANSwitcher(n_crit=2, n_gen=1), n=160, bs=32)
    rec = ModeLog()
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, cbs=rec)
    modes = [m for m, *_ in rec.log]
    assert modes == [False, False, True, False, False]
    for gen_mode, gen_grad, crit_trainable, x_shape in rec.log:
        assert crit_trainable == (not gen_mode)
        assert x_shape == ((32, 4) if gen_mode else (32, 2))  # critic mode feeds the real batch
        if gen_mode:
            assert gen_grad
    assert len(learn.gan_trainer.crit_losses) == 4 and len(learn.gan_trainer.gen_losses) == 1


def test_adaptive_switcher_switches_on_thresholds():
    set_seed(0)
    learn = make_learner(AdaptiveGANSwitcher(gen_thresh=None, critic_thresh=-1.0), n=128, bs=32)
    rec = ModeLog()
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, cbs=rec)
    assert [m for m, *_ in rec.log] == [False, False, False, False]  # a BCE loss never drops below -1

    set_seed(0)
    learn = make_learner(AdaptiveGANSwitcher(gen_thresh=None, critic_thresh=None), n=128, bs=32)
    rec = ModeLog()
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, cbs=rec)
    assert [m for m, *_ in rec.log] == [False, True, False, True]


def test_recorder_shows_gen_and_crit_losses():
    set_seed(0)
    learn = make_learner(n=128, bs=32)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1)
    names = learn.recorder.metric_names
    assert "gen_loss" in names and "crit_loss" in names
    row = dict(zip(names[1:], learn.recorder.values[-1], strict=False))
    assert 0.0 < row["gen_loss"] < 5.0 and 0.0 < row["crit_loss"] < 5.0


def test_gan_trainer_needs_a_gan_model():
    from plies.learner import GANTrainer

    gen, _ = nets()
    learn = Learner(gan_data(64, 32), gen, loss_func=F.mse_loss, cbs=GANTrainer())
    with pytest.raises(TypeError, match="needs a GANModule model and a GANLoss loss"):
        with learn.no_bar(), learn.no_logging():
            learn.fit(1)


@pytest.mark.slow
def test_tiny_gan_moves_samples_toward_the_target():
    set_seed(0)
    learn = make_learner(n=1024, bs=32)
    gen = learn.model.generator
    noise = torch.randn(1000, 4)

    def distance() -> float:
        with torch.no_grad():
            return float((gen(noise).mean(0) - TARGET).norm())

    before = distance()
    with learn.no_bar(), learn.no_logging():
        learn.fit(1)
    after = distance()
    assert before > 2.0
    assert after < 0.5 * before, (before, after)


class FrozenCheck(Callback):
    """Check that each training step changes only the model being trained."""

    order = 100

    def __init__(self) -> None:
        super().__init__()
        self.changed: list[tuple[bool, bool, bool]] = []

    def before_step(self) -> None:
        gan = self.learn.model
        self.before = [p.detach().clone() for p in (*gan.generator.parameters(), *gan.critic.parameters())]

    def after_step(self) -> None:
        gan = self.learn.model
        n_gen = len(list(gan.generator.parameters()))
        now = [p.detach() for p in (*gan.generator.parameters(), *gan.critic.parameters())]
        gen_changed = any(
            not torch.equal(a, b) for a, b in zip(self.before[:n_gen], now[:n_gen], strict=True)
        )
        crit_changed = any(
            not torch.equal(a, b) for a, b in zip(self.before[n_gen:], now[n_gen:], strict=True)
        )
        self.changed.append((self.learn.gan_trainer.gen_mode, gen_changed, crit_changed))


def test_each_step_updates_only_the_model_in_training():
    set_seed(0)
    learn = make_learner(FixedGANSwitcher(n_crit=2, n_gen=2), n=256, bs=32)
    check = FrozenCheck()
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, cbs=check)
    assert len(check.changed) == 8
    assert all(
        gen_changed == gen_mode and crit_changed != gen_mode
        for gen_mode, gen_changed, crit_changed in check.changed
    )


def test_wgan_clips_the_critic_and_takes_five_critic_steps_per_generator_step():
    set_seed(0)
    gen, crit = nets()
    learn = GANLearner.wgan(gan_data(384, 32), gen, crit, opt_func=partial(Adam, mom=0.0), lr=5e-3)
    rec = ModeLog()
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, cbs=rec)
    assert [m for m, *_ in rec.log] == [False] * 5 + [True] + [False] * 5 + [True]
    # clipping happens before each training batch: the critic's last update moved it by at most one step
    assert max(p.abs().max().item() for p in crit.parameters()) <= 0.01 + 5e-3 * 1.01


def test_validate_inside_a_gan_fit_keeps_the_training_mode():
    class ValidateInCriticMode(Callback):
        order = 100

        def after_batch(self):
            trainer = self.learn.gan_trainer
            if self.learn.training and self.learn.train_iter == 1:  # after the first batch
                self.mode_before = trainer.gen_mode
                self.valid = self.learn.validate()
                self.mode_after = trainer.gen_mode
                self.crit_trainable = all(p.requires_grad for p in self.learn.model.critic.parameters())

    set_seed(0)
    learn = make_learner(FixedGANSwitcher(n_crit=2, n_gen=1), n=160, bs=32)
    probe, rec = ValidateInCriticMode(), ModeLog()
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, cbs=[probe, rec])
    assert probe.mode_before is False and probe.mode_after is False and probe.crit_trainable
    assert len(probe.valid) == 3  # valid loss, gen_loss, crit_loss
    assert [m for m, *_ in rec.log] == [False, False, True, False, False]  # the schedule is unchanged
    assert len(learn.gan_trainer.crit_losses) == 4 and len(learn.gan_trainer.gen_losses) == 1
