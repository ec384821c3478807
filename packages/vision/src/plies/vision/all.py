"""Everything a vision script needs, in one import: `from plies.vision.all import *`.

What `plies.learner.all` exports (the lower layers' public names, `torch`, `nn`, `F`, `np`,
`Path`), the public names of plies.vision, and torchvision's classifier constructors that
`vision_learner` / `unet_learner` take as `arch` (`resnet34`, ...), as fastai's `vision.all` does.
`__version__` here is plies-vision's and is not exported.
"""

import plies.vision as _vision
from plies.learner.all import *
from plies.learner.all import __all__ as _learner_all
from plies.vision import *
from torchvision.models import (
    alexnet,
    convnext_small,
    convnext_tiny,
    densenet121,
    densenet161,
    densenet169,
    densenet201,
    efficientnet_b0,
    efficientnet_b1,
    efficientnet_b2,
    efficientnet_b3,
    mobilenet_v2,
    mobilenet_v3_large,
    mobilenet_v3_small,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    resnext50_32x4d,
    resnext101_32x8d,
    squeezenet1_0,
    squeezenet1_1,
    vgg11_bn,
    vgg13_bn,
    vgg16_bn,
    vgg19_bn,
    wide_resnet50_2,
)

from .__about__ import __version__

_ARCHS = [
    "alexnet", "convnext_small", "convnext_tiny", "densenet121", "densenet161", "densenet169",
    "densenet201", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
    "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "resnet18", "resnet34", "resnet50",
    "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d", "squeezenet1_0", "squeezenet1_1",
    "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "wide_resnet50_2",
]  # fmt: skip
__all__ = list(
    dict.fromkeys([*_learner_all, *(name for name in _vision.__all__ if name != "__version__"), *_ARCHS])
)
