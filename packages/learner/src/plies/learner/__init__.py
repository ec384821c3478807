"""plies.learner: `Learner`, two-way callbacks, the Recorder, schedules, `lr_find`, metrics, safe export, distributed training and checkpoints."""

from .__about__ import __version__
from ._callback import (
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidException,
    TrainEvalCallback,
    event,
)
from ._callbacks_train import GradientAccumulation, GradientClip, TerminateOnNaNCallback
from ._checkpoint import CheckpointCallback, latest_checkpoint
from ._distributed import DistributedTrainer, distrib_barrier, rank0_first, setup_distrib, teardown_distrib
from ._export import export_learner, load_learner
from ._gan import (
    AdaptiveGANSwitcher,
    AdaptiveLoss,
    FixedGANSwitcher,
    GANDiscriminativeLR,
    GANLearner,
    GANLoss,
    GANModule,
    GANTrainer,
    accuracy_thresh_expand,
    gan_loss_from_func,
    set_freeze_model,
)
from ._hooks import (
    ActivationStats,
    Hook,
    HookCallback,
    Hooks,
    PrettyString,
    hook_output,
    hook_outputs,
    layer_info,
    learner_summary,
    module_summary,
)
from ._inference import GatherPredsCallback
from ._learner import Learner
from ._logging import CSVLogger, TensorBoardCallback
from ._loss import default_loss_func
from ._metric import AvgLoss, AvgMetric, AvgSmoothLoss, Metric, ValueMetric, mk_metric
from ._metrics import (
    AccumMetric,
    ActivationType,
    Dice,
    DiceMulti,
    ExplainedVariance,
    JaccardCoeff,
    LossMetric,
    LossMetrics,
    PearsonCorrCoef,
    Perplexity,
    R2Score,
    SpearmanCorrCoef,
    accuracy,
    accuracy_multi,
    error_rate,
    exp_rmspe,
    flatten_check,
    foreground_acc,
    mae,
    mse,
    msle,
    perplexity,
    rmse,
    skm_to_plies,
    top_k_accuracy,
)
from ._mixed_precision import MixedPrecision
from ._mixup import CutMix, MixHandler, MixUp
from ._progress import ProgressCallback, ShowGraphCallback
from ._recorder import Recorder
from ._schedule import (
    LRFinder,
    ParamScheduler,
    SchedCos,
    SchedExp,
    SchedLin,
    SchedNo,
    SchedPoly,
    combine_scheds,
    combined_cos,
    minimum,
    steep,
    valley,
)
from ._skmetrics import (
    APScoreBinary,
    APScoreMulti,
    BalancedAccuracy,
    BrierScore,
    BrierScoreMulti,
    CohenKappa,
    F1Score,
    F1ScoreMulti,
    FBeta,
    FBetaMulti,
    HammingLoss,
    HammingLossMulti,
    Jaccard,
    JaccardMulti,
    MatthewsCorrCoef,
    MatthewsCorrCoefMulti,
    Precision,
    PrecisionMulti,
    Recall,
    RecallMulti,
    RocAuc,
    RocAucBinary,
    RocAucMulti,
)
from ._tracker import EarlyStoppingCallback, ReduceLROnPlateau, SaveModelCallback, TrackerCallback

__all__ = [
    "__version__",
    # the learner and its loop (_learner, _callback, _recorder, _progress, _inference, _loss)
    "Learner", "Callback", "event", "TrainEvalCallback", "Recorder", "ProgressCallback", "ShowGraphCallback",
    "GatherPredsCallback", "default_loss_func",
    "CancelBatchException", "CancelStepException", "CancelBackwardException", "CancelTrainException",
    "CancelValidException", "CancelEpochException", "CancelFitException",
    # schedules and the LR finder (_schedule)
    "SchedLin", "SchedCos", "SchedNo", "SchedExp", "SchedPoly", "combine_scheds", "combined_cos",
    "ParamScheduler", "LRFinder", "minimum", "steep", "valley",
    # training callbacks (_mixed_precision, _callbacks_train, _tracker, _logging)
    "MixedPrecision", "GradientAccumulation", "GradientClip", "TerminateOnNaNCallback", "TrackerCallback",
    "EarlyStoppingCallback", "SaveModelCallback", "ReduceLROnPlateau", "CSVLogger", "TensorBoardCallback",
    # metric API (_metric)
    "Metric", "AvgMetric", "AvgLoss", "AvgSmoothLoss", "ValueMetric", "mk_metric",
    # concrete metrics (_metrics)
    "flatten_check", "accuracy", "error_rate", "top_k_accuracy", "accuracy_multi", "foreground_acc",
    "mse", "mae", "msle", "rmse", "exp_rmspe", "ActivationType", "AccumMetric", "skm_to_plies",
    "R2Score", "ExplainedVariance", "PearsonCorrCoef", "SpearmanCorrCoef", "Dice", "DiceMulti",
    "JaccardCoeff", "Perplexity", "perplexity", "LossMetric", "LossMetrics",
    # scikit-learn metrics (_skmetrics)
    "APScoreBinary", "BalancedAccuracy", "BrierScore", "CohenKappa", "F1Score", "FBeta", "HammingLoss",
    "Jaccard", "Precision", "Recall", "RocAuc", "RocAucBinary", "MatthewsCorrCoef", "APScoreMulti",
    "BrierScoreMulti", "F1ScoreMulti", "FBetaMulti", "HammingLossMulti", "JaccardMulti",
    "MatthewsCorrCoefMulti", "PrecisionMulti", "RecallMulti", "RocAucMulti",
    # hooks and summary (_hooks)
    "Hook", "Hooks", "hook_output", "hook_outputs", "HookCallback", "ActivationStats", "PrettyString",
    "layer_info", "module_summary", "learner_summary",
    # MixUp / CutMix (_mixup)
    "MixHandler", "MixUp", "CutMix",
    # export / load_learner (_export)
    "export_learner", "load_learner",
    # GANs (_gan)
    "GANModule", "GANLoss", "AdaptiveLoss", "accuracy_thresh_expand", "set_freeze_model", "GANTrainer",
    "FixedGANSwitcher", "AdaptiveGANSwitcher", "GANDiscriminativeLR", "gan_loss_from_func", "GANLearner",
    # distributed training and checkpoints (_distributed, _checkpoint)
    "DistributedTrainer", "setup_distrib", "teardown_distrib", "distrib_barrier", "rank0_first",
    "CheckpointCallback", "latest_checkpoint",
]
