"""GAN training with two-way callbacks (the paper's case study).

Batches are ``(noise, real)``. `GANModule` holds generator and critic and runs one of them
depending on ``gen_mode``; `GANLoss` computes the generator or the critic loss the same way.
`GANTrainer` flips both, freezes the model that is not being trained, and in critic mode swaps
``xb``/``yb`` so that the critic sees the real batch and the loss generates the fakes from the
noise. A switcher callback (`FixedGANSwitcher`, `AdaptiveGANSwitcher`) decides when to flip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from plies.typecore import delegates
from torch import Tensor, nn

from ._callback import Callback, TrainEvalCallback, validation_only
from ._learner._learner import Learner
from ._metrics._loss_metrics import LossMetrics
from ._metrics._metric import AvgSmoothLoss

__all__ = [
    "GANModule",
    "GANLoss",
    "AdaptiveLoss",
    "accuracy_thresh_expand",
    "set_freeze_model",
    "GANTrainer",
    "FixedGANSwitcher",
    "AdaptiveGANSwitcher",
    "GANDiscriminativeLR",
    "gan_loss_from_func",
    "GANLearner",
]


class GANModule(nn.Module):
    """Wrap a `generator` and a `critic`; ``forward`` runs the generator when `gen_mode`, else the critic."""

    generator: nn.Module
    critic: nn.Module

    def __init__(
        self, generator: nn.Module | None = None, critic: nn.Module | None = None, gen_mode: bool = False
    ) -> None:
        super().__init__()
        if generator is not None:
            self.generator = generator
        if critic is not None:
            self.critic = critic
        self.gen_mode = gen_mode

    def forward(self, *args: Any) -> Any:
        """The generator's output on noise (gen mode) or the critic's output on images."""
        return self.generator(*args) if self.gen_mode else self.critic(*args)

    def switch(self, gen_mode: bool | None = None) -> None:
        """Set `gen_mode` (toggle it when None)."""
        self.gen_mode = (not self.gen_mode) if gen_mode is None else gen_mode


class GANLoss(GANModule):
    """The generator or critic loss of `gan_model`, following its mode.

    Generator mode: ``gen_loss_func(critic(fake), fake, real)``; critic mode:
    ``crit_loss_func(critic(real), critic(generator(noise)))``. The last values are kept in
    ``gen_loss`` / ``crit_loss``.
    """

    gan_model: GANModule

    def __init__(
        self,
        gen_loss_func: Callable[[Tensor, Tensor, Tensor], Tensor],
        crit_loss_func: Callable[[Tensor, Tensor], Tensor],
        gan_model: GANModule,
    ) -> None:
        super().__init__()
        self.gen_loss_func, self.crit_loss_func = gen_loss_func, crit_loss_func
        self.__dict__["gan_model"] = gan_model  # not a submodule: the model's weights belong to the model
        self.gen_loss: Tensor | None = None
        self.crit_loss: Tensor | None = None

    def forward(self, *args: Any) -> Tensor:
        """`generator` loss in gen mode, else `critic` loss."""
        return self.generator(*args) if self.gen_mode else self.critic(*args)

    def generator(self, output: Tensor, target: Tensor) -> Tensor:  # type: ignore[override]
        """Generator loss: how well the fakes `output` fool the critic (`target` is the real batch)."""
        fake_pred = self.gan_model.critic(output)
        self.gen_loss = self.gen_loss_func(fake_pred, output, target)
        return self.gen_loss

    def critic(self, real_pred: Tensor, input: Tensor) -> Tensor:  # type: ignore[override]
        """Critic loss: its output on the real batch vs its output on fakes made from the `input` noise."""
        fake = self.gan_model.generator(input).detach()  # no gradient flows into the generator
        fake_pred = self.gan_model.critic(fake)
        self.crit_loss = self.crit_loss_func(real_pred, fake_pred)
        return self.crit_loss


class AdaptiveLoss(nn.Module):
    """Apply `crit` after expanding the target to the shape of the output (one label per image)."""

    def __init__(self, crit: Callable[[Tensor, Tensor], Tensor]) -> None:
        super().__init__()
        self.crit = crit

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        """``crit(output, target expanded as output)``."""
        return self.crit(output, target[:, None].expand_as(output).float())


def accuracy_thresh_expand(
    y_pred: Tensor, y_true: Tensor, thresh: float = 0.5, sigmoid: bool = True
) -> Tensor:
    """Accuracy after expanding `y_true` to the size of `y_pred` (critic outputs per patch)."""
    if sigmoid:
        y_pred = y_pred.sigmoid()
    return ((y_pred > thresh).byte() == y_true[:, None].expand_as(y_pred).byte()).float().mean()


def set_freeze_model(m: nn.Module, rg: bool) -> None:
    """Set ``requires_grad`` of every parameter of `m` to `rg`."""
    for p in m.parameters():
        p.requires_grad_(rg)


class GANTrainer(Callback):
    """Alternate generator and critic training (the switch itself is decided by a switcher callback).

    `switch_eval` puts the model that is not trained in eval mode; `clip` clamps the critic's
    weights (WGAN); `beta` smooths the recorded losses; `gen_first` starts with the generator.
    """

    run_after = (TrainEvalCallback,)

    def __init__(
        self,
        switch_eval: bool = False,
        clip: float | None = None,
        beta: float = 0.98,
        gen_first: bool = False,
    ) -> None:
        super().__init__()
        self.switch_eval, self.clip, self.gen_first = switch_eval, clip, gen_first
        self.gen_loss, self.crit_loss = AvgSmoothLoss(beta=beta), AvgSmoothLoss(beta=beta)
        self.gen_mode = gen_first
        self.gen_losses: list[float] = []
        self.crit_losses: list[float] = []
        self.last_gen: Tensor | None = None

    def _set_trainable(self) -> None:
        train_model = self.generator if self.gen_mode else self.critic
        loss_model = self.critic if self.gen_mode else self.generator
        set_freeze_model(train_model, True)
        set_freeze_model(loss_model, False)
        if self.switch_eval:
            train_model.train()
            loss_model.eval()

    def before_fit(self) -> None:
        """Find generator and critic, start in the chosen mode, reset the loss records."""
        model = self.learn.model
        if not isinstance(model, GANModule) or not isinstance(self.learn.loss_func, GANLoss):
            raise TypeError(
                f"GANTrainer: the learner needs a GANModule model and a GANLoss loss, found "
                f"{type(model).__name__} and {type(self.learn.loss_func).__name__} (use GANLearner)"
            )
        self.generator, self.critic = model.generator, model.critic
        if validation_only(self.learn):  # validate/get_preds, maybe inside a fit: back to this mode after
            self._outer_mode = self.gen_mode
            return
        self.switch(self.gen_first)
        self.gen_losses, self.crit_losses = [], []
        self.gen_loss.reset()
        self.crit_loss.reset()

    def before_epoch(self) -> None:
        """Re-apply the current mode (TrainEvalCallback has just put everything in train mode)."""
        self.switch(self.gen_mode)

    def before_train(self) -> None:
        """Re-apply the current mode after the learner set the model to train mode."""
        self.switch(self.gen_mode)

    def before_validate(self) -> None:
        """Validate the generator."""
        self.switch(gen_mode=True)

    def before_batch(self) -> None:
        """Clip the critic's weights (when `clip`); in critic mode feed the real batch to the critic."""
        if self.learn.training and self.clip is not None:
            with torch.no_grad():
                for p in self.critic.parameters():
                    p.clamp_(-self.clip, self.clip)
        if not self.gen_mode:
            self.learn.xb, self.learn.yb = self.learn.yb, self.learn.xb

    def after_batch(self) -> None:
        """Record the generator or critic loss of the training batch."""
        if not self.learn.training:
            return
        if self.gen_mode:
            self.gen_loss.accumulate(self.learn)
            self.gen_losses.append(float(self.gen_loss.value))  # type: ignore[arg-type]
            self.last_gen = self.learn.to_detach(self.learn.pred)
        else:
            self.crit_loss.accumulate(self.learn)
            self.crit_losses.append(float(self.crit_loss.value))  # type: ignore[arg-type]

    def after_fit(self) -> None:
        """After a validate/get_preds pass, go back to the mode the fit (or the learner) was in."""
        if validation_only(self.learn) and "_outer_mode" in self.__dict__:
            self.switch(self.__dict__.pop("_outer_mode"))

    def switch(self, gen_mode: bool | None = None) -> None:
        """Switch model and loss to generator mode (True), critic mode (False), or toggle (None)."""
        self.gen_mode = (not self.gen_mode) if gen_mode is None else gen_mode
        self._set_trainable()
        self.learn.model.switch(self.gen_mode)
        self.learn.loss_func.switch(self.gen_mode)


class FixedGANSwitcher(Callback):
    """Switch after `n_crit` critic and `n_gen` generator batches (ints, or functions of the other count)."""

    run_after = (GANTrainer,)

    def __init__(self, n_crit: int | Callable[[int], int] = 1, n_gen: int | Callable[[int], int] = 1) -> None:
        super().__init__()
        self.n_crit, self.n_gen = n_crit, n_gen
        self.n_c = self.n_g = 0

    def before_train(self) -> None:
        """Reset the counters."""
        self.n_c = self.n_g = 0

    def after_batch(self) -> None:
        """Count the batch and switch when the current phase has had its number of batches."""
        if not self.learn.training:
            return
        trainer = self.learn.gan_trainer
        if trainer.gen_mode:
            self.n_g += 1
            n_iter, n_in, n_out = self.n_gen, self.n_c, self.n_g
        else:
            self.n_c += 1
            n_iter, n_in, n_out = self.n_crit, self.n_g, self.n_c
        target = n_iter if isinstance(n_iter, int) else n_iter(n_in)
        if n_out >= target:
            trainer.switch()
            self.n_c = self.n_g = 0


class AdaptiveGANSwitcher(Callback):
    """Switch when the loss of the current phase drops below its threshold (always, when it is None)."""

    run_after = (GANTrainer,)

    def __init__(self, gen_thresh: float | None = None, critic_thresh: float | None = None) -> None:
        super().__init__()
        self.gen_thresh, self.critic_thresh = gen_thresh, critic_thresh

    def after_batch(self) -> None:
        """Switch if this batch's loss is under the threshold of the current phase."""
        if not self.learn.training:
            return
        trainer = self.learn.gan_trainer
        thresh = self.gen_thresh if trainer.gen_mode else self.critic_thresh
        if thresh is None or self.learn.loss.detach().item() < thresh:
            trainer.switch()


class GANDiscriminativeLR(Callback):
    """Multiply the learning rate by `mult_lr` on critic batches."""

    run_after = (GANTrainer,)

    def __init__(self, mult_lr: float = 5.0) -> None:
        super().__init__()
        self.mult_lr = mult_lr

    def before_batch(self) -> None:
        """Raise the learning rate for a critic training batch."""
        if self.learn.training and not self.learn.gan_trainer.gen_mode:
            self.learn.opt.set_hyper("lr", self.learn.opt.hypers[0]["lr"] * self.mult_lr)

    def after_batch(self) -> None:
        """Restore the learning rate after a critic training batch."""
        if self.learn.training and not self.learn.gan_trainer.gen_mode:
            self.learn.opt.set_hyper("lr", self.learn.opt.hypers[0]["lr"] / self.mult_lr)


def gan_loss_from_func(
    loss_gen: Callable[[Tensor, Tensor], Tensor],
    loss_crit: Callable[[Tensor, Tensor], Tensor],
    weights_gen: Sequence[float] | None = None,
) -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
    """Generator and critic losses from `loss_crit` (critic outputs vs 1/0) and `loss_gen` (output vs target).

    Generator: ``w0 * loss_crit(critic(fake), 1) + w1 * loss_gen(fake, real)`` with `weights_gen` =
    (w0, w1) (default (1, 1)); critic: ``(loss_crit(critic(real), 1) + loss_crit(critic(fake), 0)) / 2``.
    """
    w_crit, w_gen = (1.0, 1.0) if weights_gen is None else tuple(weights_gen)

    def gen_loss(fake_pred: Tensor, output: Tensor, target: Tensor) -> Tensor:
        ones = fake_pred.new_ones(fake_pred.shape)
        return w_crit * loss_crit(fake_pred, ones) + w_gen * loss_gen(output, target)

    def crit_loss(real_pred: Tensor, fake_pred: Tensor) -> Tensor:
        ones, zeros = real_pred.new_ones(real_pred.shape), fake_pred.new_zeros(fake_pred.shape)
        return (loss_crit(real_pred, ones) + loss_crit(fake_pred, zeros)) / 2

    return gen_loss, crit_loss


def _tk_mean(fake_pred: Tensor, output: Tensor, target: Tensor) -> Tensor:
    return fake_pred.mean()


def _tk_diff(real_pred: Tensor, fake_pred: Tensor) -> Tensor:
    return real_pred.mean() - fake_pred.mean()


class GANLearner(Learner):
    """A `Learner` for GANs: wires `GANModule`, `GANLoss`, `GANTrainer` and a switcher (default fixed 1:1).

    Metrics ``gen_loss`` and ``crit_loss`` (the last values of each) are added to `metrics`. Other
    keywords go to `Learner`.
    """

    @delegates(Learner.__init__, but="model,loss_func")
    def __init__(
        self,
        dls: Any,
        generator: nn.Module,
        critic: nn.Module,
        gen_loss_func: Callable[..., Tensor],
        crit_loss_func: Callable[..., Tensor],
        switcher: Callback | None = None,
        gen_first: bool = False,
        switch_eval: bool = True,
        clip: float | None = None,
        cbs: Callback | Sequence[Callback] | None = None,
        metrics: Any = None,
        **kwargs: Any,
    ) -> None:
        gan = GANModule(generator, critic)
        loss_func = GANLoss(gen_loss_func, crit_loss_func, gan)
        trainer = GANTrainer(clip=clip, switch_eval=switch_eval, gen_first=gen_first)
        switcher = FixedGANSwitcher() if switcher is None else switcher
        extra_cbs = [] if cbs is None else ([cbs] if isinstance(cbs, Callback) else list(cbs))
        extra_metrics = (
            [] if metrics is None else (list(metrics) if isinstance(metrics, (list, tuple)) else [metrics])
        )
        super().__init__(
            dls,
            gan,
            loss_func=loss_func,
            cbs=[*extra_cbs, trainer, switcher],
            metrics=[*extra_metrics, *LossMetrics("gen_loss,crit_loss")],
            **kwargs,
        )

    @classmethod
    @delegates(__init__, but="gen_loss_func,crit_loss_func")
    def wgan(
        cls,
        dls: Any,
        generator: nn.Module,
        critic: nn.Module,
        switcher: Callback | None = None,
        clip: float = 0.01,
        switch_eval: bool = False,
        **kwargs: Any,
    ) -> GANLearner:
        """A Wasserstein GAN: score difference as loss, weight clipping, 5 critic steps per generator step."""
        switcher = FixedGANSwitcher(n_crit=5, n_gen=1) if switcher is None else switcher
        return cls(
            dls,
            generator,
            critic,
            _tk_mean,
            _tk_diff,
            switcher=switcher,
            clip=clip,
            switch_eval=switch_eval,
            **kwargs,
        )
