"""Metrics over the whole validation set: `AccumMetric` stores predictions and targets, then computes.

Metrics that cannot be averaged batch by batch (RMSE, R², correlations, every scikit-learn metric)
accumulate what they need and compute the value once per validation.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._registries import register_metric
from ._functional import flatten_check
from ._metric import Metric, _detach, _learn_y

__all__ = [
    "ActivationType",
    "AccumMetric",
    "skm_to_plies",
    "rmse",
    "exp_rmspe",
    "R2Score",
    "ExplainedVariance",
    "PearsonCorrCoef",
    "SpearmanCorrCoef",
]


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
