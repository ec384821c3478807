"""plies.optim: a generic optimizer built from stats and steppers, and `OptimWrapper` for torch.optim."""

from .__about__ import __version__
from ._layerwise import lamb_step, larc_layer_lr, larc_step
from ._lookahead import Lookahead, ranger
from ._optimizer import Optimizer
from ._optimizers import SGD, Adam, Lamb, Larc, QHAdam, RAdam, RMSProp
from ._stats import average_grad, average_sqr_grad, step_stat
from ._steppers import (
    adam_step,
    debias,
    l2_reg,
    momentum_step,
    qhadam_step,
    radam_step,
    rms_prop_step,
    sgd_step,
    weight_decay,
)
from ._wrapper import OptimWrapper, detuplify_pg, pytorch_hp_map, set_item_pg

__all__: list[str] = [
    "__version__",
    "Optimizer",
    "SGD",
    "RMSProp",
    "Adam",
    "RAdam",
    "QHAdam",
    "Larc",
    "Lamb",
    "Lookahead",
    "ranger",
    "OptimWrapper",
    "pytorch_hp_map",
    "detuplify_pg",
    "set_item_pg",
    "average_grad",
    "average_sqr_grad",
    "step_stat",
    "debias",
    "weight_decay",
    "l2_reg",
    "sgd_step",
    "momentum_step",
    "rms_prop_step",
    "adam_step",
    "radam_step",
    "qhadam_step",
    "larc_layer_lr",
    "larc_step",
    "lamb_step",
]
