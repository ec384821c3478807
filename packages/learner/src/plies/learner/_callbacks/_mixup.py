"""MixUp and CutMix: callbacks that blend pairs of training samples and their targets (or losses)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor
from torch.distributions.beta import Beta

from .._callback import Callback

__all__ = ["MixHandler", "MixUp", "CutMix"]


@contextmanager
def _none_reduce(loss_func: Callable[..., Tensor]) -> Iterator[Callable[..., Tensor]]:
    """`loss_func` with ``reduction='none'`` for the duration of the block."""
    if hasattr(loss_func, "reduction"):
        old = loss_func.reduction
        loss_func.reduction = "none"  # type: ignore[attr-defined]
        try:
            yield loss_func
        finally:
            loss_func.reduction = old  # type: ignore[attr-defined]
    else:
        yield lambda *args: loss_func(*args, reduction="none")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _unsqueeze_to(w: Tensor, ndim: int) -> Tensor:
    """Reshape a per-sample weight (bs,) so that it broadcasts over a tensor with `ndim` dimensions."""
    return w.view(-1, *([1] * (ndim - 1))) if w.dim() == 1 else w


class MixHandler(Callback):
    """Base of `MixUp` and `CutMix`: draws λ from Beta(alpha, alpha) and mixes the losses of the two targets.

    For losses with integer targets (``loss_func.y_int``, e.g. cross-entropy) the targets cannot be
    blended, so during training the loss becomes ``λ·loss(pred, y) + (1-λ)·loss(pred, y_shuffled)``;
    otherwise the targets themselves are blended. Validation is never mixed.
    """

    run_valid = False

    def __init__(self, alpha: float = 0.5) -> None:
        self.alpha = alpha
        self.distrib = Beta(torch.tensor(float(alpha)), torch.tensor(float(alpha)))
        self.stack_y = False
        self.old_lf: Callable[..., Tensor] | None = None
        self.lam: Tensor = torch.tensor(1.0)
        self.yb1: tuple[Tensor, ...] = ()

    def before_train(self) -> None:
        """Swap in the mixing loss when the targets are integers."""
        self.stack_y = bool(getattr(self.learn.loss_func, "y_int", False))
        if self.stack_y:
            self.old_lf, self.learn.loss_func = self.learn.loss_func, self.lf

    def after_train(self) -> None:
        """Restore the original loss function."""
        if self.stack_y and self.old_lf is not None:
            self.learn.loss_func = self.old_lf
            self.old_lf = None

    def after_cancel_train(self) -> None:
        """Restore the loss function when training is cancelled."""
        self.after_train()

    def after_cancel_fit(self) -> None:
        """Restore the loss function when the fit is cancelled."""
        self.after_train()

    def lf(self, pred: Tensor, *yb: Tensor) -> Tensor:
        """The mixed loss: per-sample lerp between the losses on the shuffled and the original targets."""
        if self.old_lf is None:
            raise RuntimeError(
                f"{type(self).__name__}.lf: the mixing loss exists only between before_train and after_train"
            )
        if not self.learn.training:
            return self.old_lf(pred, *yb)
        with _none_reduce(self.old_lf) as lf:
            loss = torch.lerp(lf(pred, *self.yb1), lf(pred, *yb), self.lam)
        return _reduce(loss, getattr(self.old_lf, "reduction", "mean"))

    def _mix_targets(self, shuffle: Tensor) -> None:
        self.yb1 = tuple(y[shuffle] for y in self.learn.yb)
        if not self.stack_y:
            self.learn.yb = tuple(
                torch.lerp(y1.float(), y.float(), _unsqueeze_to(self.lam, y.dim()))
                for y1, y in zip(self.yb1, self.learn.yb, strict=True)
            )


class MixUp(MixHandler):
    """MixUp (Zhang et al. 2017): each input becomes ``λ·x + (1-λ)·x_other``, λ ~ Beta(alpha, alpha) ≥ 0.5."""

    def __init__(self, alpha: float = 0.4) -> None:
        super().__init__(alpha)

    def before_batch(self) -> None:
        """Draw one λ per sample, shuffle the batch, and blend inputs (and float targets)."""
        if not self.learn.training:
            return
        x = self.learn.xb[0]
        bs = x.size(0)
        lam = self.distrib.sample((bs,)).to(x.device)
        self.lam = torch.maximum(lam, 1 - lam)
        shuffle = torch.randperm(bs).to(x.device)
        self.learn.xb = tuple(
            torch.lerp(xi[shuffle], xi, _unsqueeze_to(self.lam, xi.dim()).to(xi.dtype))
            if torch.is_floating_point(xi)
            else xi
            for xi in self.learn.xb
        )
        self._mix_targets(shuffle)


class CutMix(MixHandler):
    """CutMix (Yun et al. 2019): paste a random box of another image into each one; λ = kept area fraction."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(alpha)

    def before_batch(self) -> None:
        """Cut a box from the shuffled batch into the inputs and set λ to the uncovered fraction."""
        if not self.learn.training:
            return
        x = self.learn.xb[0]
        if x.dim() < 3:
            raise ValueError(
                f"CutMix: expected image batches (bs, ..., H, W), found input of shape {tuple(x.shape)}"
            )
        bs, height, width = x.size(0), x.size(-2), x.size(-1)
        lam = self.distrib.sample((1,))
        shuffle = torch.randperm(bs).to(x.device)
        x1, y1, x2, y2 = self.rand_bbox(width, height, lam)
        mixed = x.clone()
        mixed[..., y1:y2, x1:x2] = x[shuffle][..., y1:y2, x1:x2]
        self.learn.xb = (mixed, *self.learn.xb[1:])
        self.lam = torch.tensor(1 - ((x2 - x1) * (y2 - y1)) / float(width * height), device=x.device)
        self._mix_targets(shuffle)

    def rand_bbox(self, width: int, height: int, lam: Tensor) -> tuple[int, int, int, int]:
        """A random box (x1, y1, x2, y2) covering about ``1 - lam`` of the image, clipped to it."""
        cut_rat = float(torch.sqrt(1.0 - lam))
        cut_w, cut_h = round(width * cut_rat), round(height * cut_rat)
        cx = int(torch.randint(0, width, (1,)))
        cy = int(torch.randint(0, height, (1,)))
        x1, x2 = min(max(cx - cut_w // 2, 0), width), min(max(cx + cut_w // 2, 0), width)
        y1, y2 = min(max(cy - cut_h // 2, 0), height), min(max(cy + cut_h // 2, 0), height)
        return x1, y1, x2, y2
