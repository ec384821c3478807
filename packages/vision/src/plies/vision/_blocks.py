"""Data blocks for vision: images, masks, points and boxes (`ImageBlock`, `MaskBlock`, `PointBlock`,
`BBoxBlock`, `BBoxLblBlock`), and `imagenet_stats`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plies.loaders import IntToFloatTensor, MultiCategorize, TransformBlock
from plies.typecore import TensorBBox, TensorPoint, get_registry

from ._bbox import BBoxLabeler, bb_pad
from ._core import PILImage, PILMask
from ._data_tfms import AddMaskCodes, PointScaler

__all__ = ["ImageBlock", "MaskBlock", "PointBlock", "BBoxBlock", "BBoxLblBlock", "imagenet_stats"]

imagenet_stats = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
"""ImageNet's per-channel mean and standard deviation (pretrained torchvision / timm weights use them)."""

# making points and boxes is a type transform of the data pipeline: export records it by name
# (plies.vision registers them, so a saved pipeline names this package as the one to import)
for _cls in (TensorPoint, TensorBBox):
    get_registry("transform type").register(
        _cls.create, name=f"plies.vision.{_cls.__name__}.create", module="plies.vision"
    )


def ImageBlock(cls: type = PILImage) -> TransformBlock:
    """Block for images opened as `cls` (`PILImage`: RGB, `PILImageBW`: greyscale), scaled to floats."""
    return TransformBlock(type_tfms=cls.create, batch_tfms=IntToFloatTensor)


def MaskBlock(codes: Sequence[Any] | None = None) -> TransformBlock:
    """Block for segmentation masks (`PILMask`: one class code per pixel; `codes` names the classes)."""
    # as a list of str: the codes are a constructor argument an export saves (often a numpy array of str)
    names = None if codes is None else [str(c) for c in codes]
    return TransformBlock(
        type_tfms=PILMask.create, item_tfms=AddMaskCodes(codes=names), batch_tfms=IntToFloatTensor
    )


def PointBlock() -> TransformBlock:
    """Block for points: (x, y) pixel rows (`TensorPoint`), scaled to -1..1 by `PointScaler`."""
    return TransformBlock(type_tfms=TensorPoint.create, item_tfms=PointScaler)


def BBoxBlock() -> TransformBlock:
    """Block for bounding boxes: rows of (x1, y1, x2, y2) pixels (`TensorBBox`), scaled to -1..1; batches
    padded to the item with most boxes (`bb_pad`)."""
    return TransformBlock(
        type_tfms=TensorBBox.create, item_tfms=PointScaler, dls_kwargs={"before_batch": bb_pad}
    )


def BBoxLblBlock(vocab: Sequence[Any] | None = None, add_na: bool = True) -> TransformBlock:
    """Block for the labels of bounding boxes, one per box (`'#na#'` first with `add_na`: the padding)."""
    return TransformBlock(type_tfms=MultiCategorize(vocab=vocab, add_na=add_na), item_tfms=BBoxLabeler)
