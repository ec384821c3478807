"""Data blocks for vision: `ImageBlock`, `MaskBlock` (points and boxes: see below), `imagenet_stats`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plies.loaders import IntToFloatTensor, TransformBlock

from ._core import PILImage, PILMask
from ._data_tfms import AddMaskCodes

__all__ = ["ImageBlock", "MaskBlock", "imagenet_stats"]

imagenet_stats = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
"""ImageNet's per-channel mean and standard deviation (pretrained torchvision / timm weights use them)."""


def ImageBlock(cls: type = PILImage) -> TransformBlock:
    """Block for images opened as `cls` (`PILImage`: RGB, `PILImageBW`: greyscale), scaled to floats."""
    return TransformBlock(type_tfms=cls.create, batch_tfms=IntToFloatTensor)


def MaskBlock(codes: Sequence[Any] | None = None) -> TransformBlock:
    """Block for segmentation masks (`PILMask`: one class code per pixel; `codes` names the classes)."""
    return TransformBlock(
        type_tfms=PILMask.create, item_tfms=AddMaskCodes(codes=codes), batch_tfms=IntToFloatTensor
    )
