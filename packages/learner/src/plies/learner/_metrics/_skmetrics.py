"""Classification metrics from scikit-learn, wrapped with `skm_to_plies` (fastai's names and defaults).

Single-label metrics arg-max the predictions along `axis`; the ``*Multi`` variants (multi-label)
apply a sigmoid (when `sigmoid`) and threshold at `thresh`. scikit-learn is imported only when a
metric is created.
"""

from __future__ import annotations

from typing import Any

from ._accumulated import AccumMetric, ActivationType, skm_to_plies

__all__ = [
    "APScoreBinary",
    "BalancedAccuracy",
    "BrierScore",
    "CohenKappa",
    "F1Score",
    "FBeta",
    "HammingLoss",
    "Jaccard",
    "Precision",
    "Recall",
    "RocAuc",
    "RocAucBinary",
    "MatthewsCorrCoef",
    "APScoreMulti",
    "BrierScoreMulti",
    "F1ScoreMulti",
    "FBetaMulti",
    "HammingLossMulti",
    "JaccardMulti",
    "MatthewsCorrCoefMulti",
    "PrecisionMulti",
    "RecallMulti",
    "RocAucMulti",
]


def _skm() -> Any:
    import sklearn.metrics as skm

    return skm


def _sig(sigmoid: bool) -> ActivationType:
    return ActivationType.Sigmoid if sigmoid else ActivationType.No


def APScoreBinary(
    axis: int = -1, average: str = "macro", pos_label: int = 1, sample_weight: Any = None
) -> AccumMetric:
    """Average precision of a binary classifier (probability of the last class via softmax)."""
    return skm_to_plies(
        _skm().average_precision_score,
        axis=axis,
        activation=ActivationType.BinarySoftmax,
        average=average,
        pos_label=pos_label,
        sample_weight=sample_weight,
    )


def BalancedAccuracy(axis: int = -1, sample_weight: Any = None, adjusted: bool = False) -> AccumMetric:
    """Balanced accuracy (mean per-class recall) of a single-label classifier."""
    return skm_to_plies(
        _skm().balanced_accuracy_score, axis=axis, sample_weight=sample_weight, adjusted=adjusted
    )


def BrierScore(axis: int = -1, sample_weight: Any = None, pos_label: Any = None) -> AccumMetric:
    """Brier score of a binary classifier (on the arg-max prediction, as fastai)."""
    return skm_to_plies(_skm().brier_score_loss, axis=axis, sample_weight=sample_weight, pos_label=pos_label)


def CohenKappa(
    axis: int = -1, labels: Any = None, weights: str | None = None, sample_weight: Any = None
) -> AccumMetric:
    """Cohen's kappa (agreement beyond chance); `weights` may be 'linear' or 'quadratic'."""
    return skm_to_plies(
        _skm().cohen_kappa_score, axis=axis, labels=labels, weights=weights, sample_weight=sample_weight
    )


def F1Score(
    axis: int = -1, labels: Any = None, pos_label: int = 1, average: str = "binary", sample_weight: Any = None
) -> AccumMetric:
    """F1 score of a single-label classifier (``average='macro'`` etc. for more than two classes)."""
    return skm_to_plies(
        _skm().f1_score,
        axis=axis,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
    )


def FBeta(
    beta: float,
    axis: int = -1,
    labels: Any = None,
    pos_label: int = 1,
    average: str = "binary",
    sample_weight: Any = None,
) -> AccumMetric:
    """F-beta score of a single-label classifier."""
    return skm_to_plies(
        _skm().fbeta_score,
        axis=axis,
        beta=beta,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
    )


def HammingLoss(axis: int = -1, sample_weight: Any = None) -> AccumMetric:
    """Hamming loss (fraction of wrong labels) of a single-label classifier."""
    return skm_to_plies(_skm().hamming_loss, axis=axis, sample_weight=sample_weight)


def Jaccard(
    axis: int = -1, labels: Any = None, pos_label: int = 1, average: str = "binary", sample_weight: Any = None
) -> AccumMetric:
    """Jaccard score of a single-label classifier."""
    return skm_to_plies(
        _skm().jaccard_score,
        axis=axis,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
    )


def Precision(
    axis: int = -1, labels: Any = None, pos_label: int = 1, average: str = "binary", sample_weight: Any = None
) -> AccumMetric:
    """Precision of a single-label classifier."""
    return skm_to_plies(
        _skm().precision_score,
        axis=axis,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
    )


def Recall(
    axis: int = -1, labels: Any = None, pos_label: int = 1, average: str = "binary", sample_weight: Any = None
) -> AccumMetric:
    """Recall of a single-label classifier."""
    return skm_to_plies(
        _skm().recall_score,
        axis=axis,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
    )


def RocAuc(
    axis: int = -1,
    average: str = "macro",
    sample_weight: Any = None,
    max_fpr: float | None = None,
    multi_class: str = "ovr",
) -> AccumMetric:
    """ROC AUC of a single-label multi-class classifier (softmax probabilities, one-vs-rest or one-vs-one)."""
    if multi_class not in ("ovr", "ovo"):
        raise ValueError(f"RocAuc: multi_class must be 'ovr' or 'ovo', got {multi_class!r}")
    return skm_to_plies(
        _skm().roc_auc_score,
        axis=axis,
        activation=ActivationType.Softmax,
        flatten=False,
        average=average,
        sample_weight=sample_weight,
        max_fpr=max_fpr,
        multi_class=multi_class,
    )


def RocAucBinary(
    axis: int = -1,
    average: str = "macro",
    sample_weight: Any = None,
    max_fpr: float | None = None,
    multi_class: str = "raise",
) -> AccumMetric:
    """ROC AUC of a binary classifier (softmax probability of the last class)."""
    return skm_to_plies(
        _skm().roc_auc_score,
        axis=axis,
        activation=ActivationType.BinarySoftmax,
        average=average,
        sample_weight=sample_weight,
        max_fpr=max_fpr,
        multi_class=multi_class,
    )


def MatthewsCorrCoef(axis: int = -1, sample_weight: Any = None) -> AccumMetric:
    """Matthews correlation coefficient of a single-label classifier."""
    return skm_to_plies(_skm().matthews_corrcoef, axis=axis, sample_weight=sample_weight)


def APScoreMulti(
    sigmoid: bool = True, average: str = "macro", pos_label: int = 1, sample_weight: Any = None
) -> AccumMetric:
    """Average precision of a multi-label classifier."""
    return skm_to_plies(
        _skm().average_precision_score,
        activation=_sig(sigmoid),
        flatten=False,
        average=average,
        pos_label=pos_label,
        sample_weight=sample_weight,
    )


def BrierScoreMulti(
    thresh: float = 0.5, sigmoid: bool = True, sample_weight: Any = None, pos_label: Any = None
) -> AccumMetric:
    """Brier score of a multi-label classifier (thresholded predictions, flattened)."""
    return skm_to_plies(
        _skm().brier_score_loss,
        thresh=thresh,
        activation=_sig(sigmoid),
        flatten=True,
        sample_weight=sample_weight,
        pos_label=pos_label,
    )


def F1ScoreMulti(
    thresh: float = 0.5,
    sigmoid: bool = True,
    labels: Any = None,
    pos_label: int = 1,
    average: str = "macro",
    sample_weight: Any = None,
) -> AccumMetric:
    """F1 score of a multi-label classifier."""
    return skm_to_plies(
        _skm().f1_score,
        thresh=thresh,
        activation=_sig(sigmoid),
        flatten=False,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
    )


def FBetaMulti(
    beta: float,
    thresh: float = 0.5,
    sigmoid: bool = True,
    labels: Any = None,
    pos_label: int = 1,
    average: str = "macro",
    sample_weight: Any = None,
) -> AccumMetric:
    """F-beta score of a multi-label classifier."""
    return skm_to_plies(
        _skm().fbeta_score,
        thresh=thresh,
        activation=_sig(sigmoid),
        flatten=False,
        beta=beta,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
    )


def HammingLossMulti(thresh: float = 0.5, sigmoid: bool = True, sample_weight: Any = None) -> AccumMetric:
    """Hamming loss of a multi-label classifier."""
    return skm_to_plies(
        _skm().hamming_loss,
        thresh=thresh,
        activation=_sig(sigmoid),
        flatten=False,
        sample_weight=sample_weight,
    )


def JaccardMulti(
    thresh: float = 0.5,
    sigmoid: bool = True,
    labels: Any = None,
    pos_label: int = 1,
    average: str = "macro",
    sample_weight: Any = None,
) -> AccumMetric:
    """Jaccard score of a multi-label classifier."""
    return skm_to_plies(
        _skm().jaccard_score,
        thresh=thresh,
        activation=_sig(sigmoid),
        flatten=False,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
    )


def MatthewsCorrCoefMulti(
    thresh: float = 0.5, sigmoid: bool = True, sample_weight: Any = None
) -> AccumMetric:
    """Matthews correlation coefficient of a multi-label classifier (over all flattened labels)."""
    return skm_to_plies(
        _skm().matthews_corrcoef,
        thresh=thresh,
        activation=_sig(sigmoid),
        flatten=True,
        sample_weight=sample_weight,
    )


def PrecisionMulti(
    thresh: float = 0.5,
    sigmoid: bool = True,
    labels: Any = None,
    pos_label: int = 1,
    average: str = "macro",
    sample_weight: Any = None,
) -> AccumMetric:
    """Precision of a multi-label classifier."""
    return skm_to_plies(
        _skm().precision_score,
        thresh=thresh,
        activation=_sig(sigmoid),
        flatten=False,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
    )


def RecallMulti(
    thresh: float = 0.5,
    sigmoid: bool = True,
    labels: Any = None,
    pos_label: int = 1,
    average: str = "macro",
    sample_weight: Any = None,
) -> AccumMetric:
    """Recall of a multi-label classifier."""
    return skm_to_plies(
        _skm().recall_score,
        thresh=thresh,
        activation=_sig(sigmoid),
        flatten=False,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
    )


def RocAucMulti(
    sigmoid: bool = True, average: str = "macro", sample_weight: Any = None, max_fpr: float | None = None
) -> AccumMetric:
    """ROC AUC of a multi-label classifier (sigmoid probabilities)."""
    return skm_to_plies(
        _skm().roc_auc_score,
        activation=_sig(sigmoid),
        flatten=False,
        average=average,
        sample_weight=sample_weight,
        max_fpr=max_fpr,
    )
