"""Everything a training script needs, in one import: `from plies.learner.all import *`.

The public names of typecore, pipes, loaders, optim, layers and learner, plus `torch`, `nn`, `F`
(`torch.nn.functional`), `np` and `Path`. Star imports belong in notebooks and scripts: the
library's own code imports names explicitly, and this module (with the apps' `all`) is the only
place that star-imports. `__version__` here is plies-learner's and is not exported.
"""

from pathlib import Path

import numpy as np
import plies.layers as _layers
import plies.learner as _learner
import plies.loaders as _loaders
import plies.optim as _optim
import plies.pipes as _pipes
import plies.typecore as _typecore
import torch
import torch.nn.functional as F
from plies.layers import *
from plies.learner import *
from plies.loaders import *
from plies.optim import *
from plies.pipes import *
from plies.typecore import *
from torch import nn

from .__about__ import __version__

# a name re-exported by two layers (`Hook`, `Hooks`: layers' and learner's) is listed once
__all__ = list(
    dict.fromkeys(
        ["torch", "nn", "F", "np", "Path"]
        + [
            name
            for package in (_typecore, _pipes, _loaders, _optim, _layers, _learner)
            for name in package.__all__
            if name != "__version__"
        ]
    )
)
