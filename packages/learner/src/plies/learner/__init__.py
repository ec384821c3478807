"""plies.learner: `Learner`, two-way callbacks, the Recorder, schedules, `lr_find`, metrics, safe export,
distributed training and checkpoints."""

from plies.layers import default_split, trainable_params

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
from ._callbacks._channels_last import ChannelsLast
from ._callbacks._hooks import ActivationStats, Hook, HookCallback, Hooks, hook_output, hook_outputs
from ._callbacks._logging import CSVLogger, TensorBoardCallback
from ._callbacks._mixed_precision import MixedPrecision
from ._callbacks._mixup import CutMix, MixHandler, MixUp
from ._callbacks._progress import ProgressCallback, ShowGraphCallback
from ._callbacks._recorder import Recorder
from ._callbacks._tracker import EarlyStoppingCallback, ReduceLROnPlateau, SaveModelCallback, TrackerCallback
from ._callbacks._training import (
    BnFreeze,
    GradientAccumulation,
    GradientClip,
    ShortEpochCallback,
    TerminateOnNaNCallback,
)
from ._checkpoint._save import CheckpointCallback, latest_checkpoint
from ._distributed._process import distrib_barrier, rank0_first, setup_distrib, teardown_distrib
from ._distributed._trainer import DistributedTrainer
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
from ._interpret import ClassificationInterpretation, Interpretation, plot_top_losses
from ._learner._learner import Learner
from ._learner._loss import default_loss_func
from ._learner._preds import CollectDataCallback, GatherPredsCallback
from ._metrics._accumulated import (
    AccumMetric,
    ActivationType,
    ExplainedVariance,
    PearsonCorrCoef,
    R2Score,
    SpearmanCorrCoef,
    exp_rmspe,
    rmse,
    skm_to_plies,
)
from ._metrics._functional import (
    acc_segment,
    accuracy,
    accuracy_multi,
    error_rate,
    flatten_check,
    foreground_acc,
    mae,
    mse,
    msle,
    top_k_accuracy,
)
from ._metrics._loss_metrics import LossMetric, LossMetrics, Perplexity, perplexity
from ._metrics._metric import AvgLoss, AvgMetric, AvgSmoothLoss, Metric, ValueMetric, mk_metric
from ._metrics._segmentation import Dice, DiceMulti, JaccardCoeff
from ._metrics._skmetrics import (
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
from ._registries import register_callback, register_learner, register_metric
from ._schedule._lr_finder import LRFinder, minimum, slide, steep, valley
from ._schedule._param_scheduler import ParamScheduler
from ._schedule._scheds import SchedCos, SchedExp, SchedLin, SchedNo, SchedPoly, combine_scheds, combined_cos
from ._summary import PrettyString, layer_info, learner_summary, module_summary

__all__ = [
    "__version__",
    # the learner and its loop (_learner/, _callback, _callbacks/_recorder, _callbacks/_progress)
    "Learner",
    "Callback",
    "event",
    "TrainEvalCallback",
    "Recorder",
    "ProgressCallback",
    "ShowGraphCallback",
    "GatherPredsCallback",
    "CollectDataCallback",
    "default_loss_func",
    "trainable_params",
    "default_split",
    "CancelBatchException",
    "CancelStepException",
    "CancelBackwardException",
    "CancelTrainException",
    "CancelValidException",
    "CancelEpochException",
    "CancelFitException",
    # schedules and the LR finder (_schedule/)
    "SchedLin",
    "SchedCos",
    "SchedNo",
    "SchedExp",
    "SchedPoly",
    "combine_scheds",
    "combined_cos",
    "ParamScheduler",
    "LRFinder",
    "minimum",
    "steep",
    "valley",
    "slide",
    # training callbacks (_callbacks/)
    "MixedPrecision",
    "GradientAccumulation",
    "GradientClip",
    "TerminateOnNaNCallback",
    "ShortEpochCallback",
    "BnFreeze",
    "ChannelsLast",
    "TrackerCallback",
    "EarlyStoppingCallback",
    "SaveModelCallback",
    "ReduceLROnPlateau",
    "CSVLogger",
    "TensorBoardCallback",
    # metric API (_metrics/_metric)
    "Metric",
    "AvgMetric",
    "AvgLoss",
    "AvgSmoothLoss",
    "ValueMetric",
    "mk_metric",
    # concrete metrics (_metrics/)
    "flatten_check",
    "accuracy",
    "error_rate",
    "top_k_accuracy",
    "accuracy_multi",
    "foreground_acc",
    "acc_segment",
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
    # scikit-learn metrics (_metrics/_skmetrics)
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
    # hooks and summary (_callbacks/_hooks, _summary)
    "Hook",
    "Hooks",
    "hook_output",
    "hook_outputs",
    "HookCallback",
    "ActivationStats",
    "PrettyString",
    "layer_info",
    "module_summary",
    "learner_summary",
    # interpretation (_interpret)
    "Interpretation",
    "ClassificationInterpretation",
    "plot_top_losses",
    # MixUp / CutMix (_callbacks/_mixup)
    "MixHandler",
    "MixUp",
    "CutMix",
    # export / load_learner and the registries of what an export names (_export/, _registries)
    "export_learner",
    "load_learner",
    "register_learner",
    "register_callback",
    "register_metric",
    # GANs (_gan)
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
    # distributed training and checkpoints (_distributed/, _checkpoint/)
    "DistributedTrainer",
    "setup_distrib",
    "teardown_distrib",
    "distrib_barrier",
    "rank0_first",
    "CheckpointCallback",
    "latest_checkpoint",
]
