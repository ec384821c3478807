"""Concrete metrics: functional ones (averaged over samples by `AvgMetric`) and accumulative ones.

A plain function ``f(pred, targ) -> Tensor`` passed in ``Learner(metrics=...)`` is wrapped by the
learner in an `AvgMetric`, which averages it over *samples* (each batch weighted by its size).
Metrics that cannot be averaged batch by batch (RMSE, R², Dice, every scikit-learn metric) are
`Metric` subclasses that accumulate what they need and compute the value once per validation.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from plies.typecore import to_detach
from torch import Tensor

from .._registries import register_metric
from ._metric import AvgLoss, AvgMetric, Metric

__all__ = [
    "flatten_check",
    "accuracy",
    "error_rate",
    "top_k_accuracy",
    "accuracy_multi",
    "foreground_acc",
    "mse",
    "mae",
    "msle",
    "rmse",
    "exp_rmspe",
    "ActivationType",
    "AccumMetric",
    "skm_to_plies",
    "R2Score",
    "ExplainedVariance",
    "PearsonCorrCoef",
    "SpearmanCorrCoef",
    "Dice",
    "DiceMulti",
    "JaccardCoeff",
    "Perplexity",
    "perplexity",
    "LossMetric",
    "LossMetrics",
]


def _learn_y(learn: Any) -> Any:
    """The target of the current batch: ``yb[0]`` when there is one target, else the tuple."""
    yb = learn.yb
    return yb[0] if len(yb) == 1 else yb


def _detach(learn: Any, x: Any) -> Any:
    """Detach `x` to the CPU: through the learner's ``to_detach`` when it runs a loop (its DataLoader
    drops distributed padding), else typecore's `to_detach` (which gathers across processes too)."""
    if learn is not None and callable(getattr(learn, "to_detach", None)):
        return learn.to_detach(x)
    return to_detach(x)


def flatten_check(inp: Tensor, targ: Tensor) -> tuple[Tensor, Tensor]:
    """Flatten `inp` and `targ` to 1-D and check they have the same number of elements."""
    inp, targ = inp.contiguous().view(-1), targ.contiguous().view(-1)
    if len(inp) != len(targ):
        raise ValueError(
            f"flatten_check: predictions and targets differ in size once flattened: "
            f"{len(inp)} predictions vs {len(targ)} targets"
        )
    return inp, targ


@register_metric
def accuracy(inp: Tensor, targ: Tensor, axis: int = -1) -> Tensor:
    """Fraction of samples whose arg-max prediction along `axis` equals the target."""
    pred, targ = flatten_check(inp.argmax(dim=axis), targ)
    return (pred == targ).float().mean()


@register_metric
def error_rate(inp: Tensor, targ: Tensor, axis: int = -1) -> Tensor:
    """1 - `accuracy`."""
    return 1 - accuracy(inp, targ, axis=axis)


@register_metric
def top_k_accuracy(inp: Tensor, targ: Tensor, k: int = 5, axis: int = -1) -> Tensor:
    """Fraction of samples whose target is among the `k` highest predictions."""
    top = inp.topk(k=k, dim=axis)[1]
    targ = targ.unsqueeze(dim=axis).expand_as(top)
    return (top == targ).sum(dim=-1).float().mean()


@register_metric
def accuracy_multi(inp: Tensor, targ: Tensor, thresh: float = 0.5, sigmoid: bool = True) -> Tensor:
    """Multi-label accuracy: fraction of (sample, label) pairs where ``pred > thresh`` equals the target."""
    inp, targ = flatten_check(inp, targ)
    if sigmoid:
        inp = inp.sigmoid()
    return ((inp > thresh) == targ.bool()).float().mean()


@register_metric
def foreground_acc(inp: Tensor, targ: Tensor, bkg_idx: int = 0, axis: int = 1) -> Tensor:
    """Segmentation accuracy over the pixels whose target is not the background class `bkg_idx`."""
    targ = targ.squeeze(1) if targ.dim() == inp.dim() else targ
    mask = targ != bkg_idx
    return (inp.argmax(dim=axis)[mask] == targ[mask]).float().mean()


@register_metric
def mse(inp: Tensor, targ: Tensor) -> Tensor:
    """Mean squared error."""
    inp, targ = flatten_check(inp, targ)
    return F.mse_loss(inp.float(), targ.float())


@register_metric
def mae(inp: Tensor, targ: Tensor) -> Tensor:
    """Mean absolute error."""
    inp, targ = flatten_check(inp, targ)
    return torch.abs(inp.float() - targ.float()).mean()


@register_metric
def msle(inp: Tensor, targ: Tensor) -> Tensor:
    """Mean squared logarithmic error: MSE of ``log(1 + x)``."""
    inp, targ = flatten_check(inp, targ)
    return F.mse_loss(torch.log1p(inp.float()), torch.log1p(targ.float()))


class ActivationType(str, enum.Enum):
    """Activation an `AccumMetric` applies to the predictions before storing them."""

    No = "No"
    Sigmoid = "Sigmoid"
    Softmax = "Softmax"
    BinarySoftmax = "BinarySoftmax"


class AccumMetric(Metric):
    """Store predictions and targets (on the CPU) over the epoch, then compute `func` on all of them.

    Preprocessing of the predictions, in order: `activation` (softmax / sigmoid along `dim_argmax`;
    ``BinarySoftmax`` keeps the last column), else arg-max along `dim_argmax` when given; then
    ``pred >= thresh`` when `thresh` is given. `to_np` passes numpy arrays to `func`; `invert_arg`
    calls ``func(targs, preds)`` (scikit-learn's order); `flatten` flattens both before storing.
    Extra keyword arguments go to `func`.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        dim_argmax: int | None = None,
        activation: ActivationType | str = ActivationType.No,
        thresh: float | None = None,
        to_np: bool = False,
        invert_arg: bool = False,
        flatten: bool = True,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.func, self.dim_argmax, self.thresh, self.flatten = func, dim_argmax, thresh, flatten
        self.activation = ActivationType(activation)
        self.to_np, self.invert_arg, self.kwargs = to_np, invert_arg, kwargs
        inner = getattr(func, "func", func)  # functools.partial keeps the function in .func
        self._name = name if name is not None else getattr(inner, "__name__", type(inner).__name__)
        self.reset()

    def reset(self) -> None:
        """Clear the stored predictions and targets."""
        self.preds: list[Tensor] = []
        self.targs: list[Tensor] = []

    def accumulate(self, learn: Any) -> None:
        """Store the (preprocessed) predictions and targets of ``learn``'s current batch."""
        pred = learn.pred
        if self.activation in (ActivationType.Softmax, ActivationType.BinarySoftmax):
            pred = F.softmax(pred, dim=-1 if self.dim_argmax is None else self.dim_argmax)
            if self.activation == ActivationType.BinarySoftmax:
                pred = pred[:, -1]
        elif self.activation == ActivationType.Sigmoid:
            pred = torch.sigmoid(pred)
        elif self.dim_argmax is not None:
            pred = pred.argmax(dim=self.dim_argmax)
        if self.thresh is not None:
            pred = pred >= self.thresh
        self.accum_values(pred, _learn_y(learn), learn)

    def accum_values(self, preds: Tensor, targs: Tensor, learn: Any = None) -> None:
        """Store `preds` and `targs` (already preprocessed) for the final computation."""
        preds, targs = _detach(learn, preds), _detach(learn, targs)
        if self.flatten:
            preds, targs = flatten_check(preds, targs)
        self.preds.append(preds)
        self.targs.append(targs)

    def __call__(self, preds: Tensor, targs: Tensor) -> Any:
        """Compute the metric on one batch of already-preprocessed predictions."""
        self.reset()
        self.accum_values(preds, targs)
        return self.value

    @property
    def value(self) -> Any:
        """`func` on every stored prediction and target (None before any batch)."""
        if len(self.preds) == 0:
            return None
        preds: Any = torch.cat(self.preds)
        targs: Any = torch.cat(self.targs)
        if self.to_np:
            preds, targs = preds.numpy(), targs.numpy()
        if self.invert_arg:
            return self.func(targs, preds, **self.kwargs)
        return self.func(preds, targs, **self.kwargs)

    @property
    def name(self) -> str:
        """Name shown in the Recorder's table (the function's name unless `name=` was given)."""
        return self._name


def skm_to_plies(
    func: Callable[..., Any],
    is_class: bool = True,
    thresh: float | None = None,
    axis: int = -1,
    activation: ActivationType | str | None = None,
    **kwargs: Any,
) -> AccumMetric:
    """Turn a scikit-learn metric ``func(y_true, y_pred, **kwargs)`` into a plies `AccumMetric`.

    fastai calls this `skm_to_fastai`. For classification (`is_class`) without `thresh` the
    predictions are arg-maxed along `axis`; with `thresh` they go through a sigmoid (unless
    `activation` says otherwise) and are compared with `thresh`. `flatten=False` keeps the
    (n_samples, n_classes) shape (multi-label or probability-based metrics).
    """
    dim_argmax = axis if is_class and thresh is None else None
    if activation is None:
        activation = ActivationType.Sigmoid if (is_class and thresh is not None) else ActivationType.No
    return AccumMetric(
        func,
        dim_argmax=dim_argmax,
        activation=activation,
        thresh=thresh,
        to_np=True,
        invert_arg=True,
        **kwargs,
    )


def _rmse(inp: Tensor, targ: Tensor) -> Tensor:
    return torch.sqrt(F.mse_loss(inp.float(), targ.float()))


def _exp_rmspe(inp: Tensor, targ: Tensor) -> Tensor:
    inp, targ = torch.exp(inp.float()), torch.exp(targ.float())
    return torch.sqrt(((targ - inp) / targ).pow(2).mean())


rmse = register_metric(AccumMetric(_rmse, name="rmse"), name="plies.learner.rmse")
"""Root mean squared error over the whole validation set."""
exp_rmspe = register_metric(AccumMetric(_exp_rmspe, name="exp_rmspe"), name="plies.learner.exp_rmspe")
"""Root mean squared percentage error of ``exp(pred)`` vs ``exp(targ)`` (log-scale targets)."""


def R2Score(sample_weight: Any = None) -> AccumMetric:
    """Coefficient of determination R² (scikit-learn's r2_score) over the whole validation set."""
    import sklearn.metrics as skm

    return skm_to_plies(skm.r2_score, is_class=False, sample_weight=sample_weight)


def ExplainedVariance(sample_weight: Any = None) -> AccumMetric:
    """Explained variance regression score (scikit-learn's explained_variance_score)."""
    import sklearn.metrics as skm

    return skm_to_plies(skm.explained_variance_score, is_class=False, sample_weight=sample_weight)


def _pearsonr(targ: np.ndarray, pred: np.ndarray) -> float:
    return float(np.corrcoef(targ, pred)[0, 1])


def _spearmanr(targ: np.ndarray, pred: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(targ, pred)[0])


def PearsonCorrCoef() -> AccumMetric:
    """Pearson correlation coefficient between predictions and targets."""
    return skm_to_plies(_pearsonr, is_class=False)


def SpearmanCorrCoef() -> AccumMetric:
    """Spearman rank correlation between predictions and targets (needs scipy)."""
    return skm_to_plies(_spearmanr, is_class=False)


@register_metric
class Dice(Metric):
    """Dice coefficient ``2·|A∩B| / (|A|+|B|)`` of a binary segmentation (the paper's example)."""

    def __init__(self, axis: int = 1) -> None:
        self.axis = axis
        self.reset()

    def reset(self) -> None:
        """Zero the intersection and union counts."""
        self.inter, self.union = 0.0, 0.0

    def accumulate(self, learn: Any) -> None:
        """Add the batch's intersection and union counts."""
        pred, targ = flatten_check(learn.pred.argmax(dim=self.axis), _learn_y(learn))
        self.inter += (pred * targ).float().sum().item()
        self.union += (pred + targ).float().sum().item()

    @property
    def value(self) -> float | None:
        """The Dice coefficient, None when there is no positive pixel at all."""
        return 2.0 * self.inter / self.union if self.union > 0 else None


@register_metric
class JaccardCoeff(Dice):
    """Jaccard coefficient (IoU) ``|A∩B| / |A∪B|`` of a binary segmentation."""

    @property
    def value(self) -> float | None:
        """The Jaccard coefficient, None when there is no positive pixel at all."""
        return self.inter / (self.union - self.inter) if self.union > 0 else None


@register_metric
class DiceMulti(Metric):
    """Dice coefficient averaged over the classes present (multi-class segmentation)."""

    def __init__(self, axis: int = 1) -> None:
        self.axis = axis
        self.reset()

    def reset(self) -> None:
        """Forget the per-class counts."""
        self.inter: dict[int, float] = {}
        self.union: dict[int, float] = {}

    def accumulate(self, learn: Any) -> None:
        """Add the batch's per-class intersection and union counts."""
        pred, targ = flatten_check(learn.pred.argmax(dim=self.axis), _learn_y(learn))
        for c in range(learn.pred.shape[self.axis]):
            p, t = pred == c, targ == c
            self.inter[c] = self.inter.get(c, 0.0) + (p & t).float().sum().item()
            self.union[c] = self.union.get(c, 0.0) + (p.float().sum() + t.float().sum()).item()

    @property
    def value(self) -> float | None:
        """Mean over classes with a non-empty union of ``2·inter/union``."""
        scores = [2.0 * self.inter[c] / u for c, u in self.union.items() if u > 0]
        return float(np.mean(scores)) if scores else None


@register_metric
class Perplexity(AvgLoss):
    """Perplexity: ``exp`` of the average validation loss (language models)."""

    @property
    def value(self) -> Any:
        """exp(mean loss), None before any batch."""
        if self.count == 0:
            return None
        return float(torch.exp(torch.as_tensor(self.total / self.count)))

    @property
    def name(self) -> str:
        """Always ``'perplexity'``."""
        return "perplexity"


perplexity = register_metric(Perplexity(), name="plies.learner.perplexity")
"""A ready-made `Perplexity` instance (fastai's ``perplexity``)."""


class LossMetric(AvgMetric):
    """Sample-weighted average of ``learn.loss_func.<attr>`` (a loss component such as ``gen_loss``)."""

    def __init__(self, attr: str, nm: str | None = None) -> None:
        super().__init__(lambda *args: None)
        self.attr, self.nm = attr, nm

    def accumulate(self, learn: Any) -> None:
        """Add the loss function's current `attr` times the batch size (skipped while it is None)."""
        value = getattr(learn.loss_func, self.attr, None)
        if value is None:
            return
        bs = len(learn.yb[0]) if learn.yb and isinstance(learn.yb[0], Tensor) and learn.yb[0].dim() > 0 else 1
        value = _detach(learn, value)
        self.total = self.total + (value.float() if isinstance(value, Tensor) else value) * bs
        self.count += bs

    @property
    def name(self) -> str:
        """`nm` if given, else `attr`."""
        return self.attr if self.nm is None else self.nm


def LossMetrics(attrs: str | list[str], nms: str | list[str] | None = None) -> list[LossMetric]:
    """One `LossMetric` per attribute name in `attrs` (comma-separated string or list), named by `nms`."""
    attr_list = attrs.split(",") if isinstance(attrs, str) else list(attrs)
    names = attr_list if nms is None else (nms.split(",") if isinstance(nms, str) else list(nms))
    if len(names) != len(attr_list):
        raise ValueError(f"LossMetrics: {len(attr_list)} attributes but {len(names)} names")
    return [LossMetric(a, n) for a, n in zip(attr_list, names, strict=True)]
