"""The shared semantic families: fastai's hierarchy, constructors, the `show` hook and its error."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from plies.typecore import (
    LMTensorText,
    TensorBase,
    TensorBBox,
    TensorCategory,
    TensorImage,
    TensorImageBase,
    TensorImageBW,
    TensorMask,
    TensorPoint,
    TensorText,
    show_tensor,
    typedispatch,
)


def test_hierarchy_is_fastais() -> None:
    parents = {
        TensorImageBase: TensorBase,
        TensorImage: TensorImageBase,
        TensorImageBW: TensorImage,
        TensorMask: TensorImageBase,
        TensorPoint: TensorBase,
        TensorBBox: TensorPoint,
        TensorText: TensorBase,
        LMTensorText: TensorText,
    }
    for cls, parent in parents.items():
        assert cls.__bases__ == (parent,), cls
    assert not issubclass(TensorMask, TensorImage)  # a mask is not an image: transforms tell them apart
    assert not issubclass(TensorCategory, TensorImageBase)


def test_families_dispatch_apart() -> None:
    @typedispatch
    def family(x: TensorImage) -> str:
        return "image"

    @typedispatch
    def family(x: TensorMask) -> str:
        return "mask"

    @typedispatch
    def family(x: TensorPoint) -> str:
        return "points"

    @typedispatch
    def family(x: TensorBase) -> str:
        return "other"

    x = torch.zeros(1, 2, 2)
    got = [
        family(c(x)) for c in (TensorImage, TensorImageBW, TensorMask, TensorPoint, TensorBBox, TensorText)
    ]
    assert got == ["image", "image", "mask", "points", "points", "other"]


def test_point_and_bbox_create() -> None:
    pts = TensorPoint.create([1, 2, 3, 4], img_size=(28, 28))
    assert type(pts) is TensorPoint and pts.shape == (2, 2) and pts.dtype == torch.float32
    assert pts.tolist() == [[1.0, 2.0], [3.0, 4.0]] and pts.img_size == (28, 28)
    box = TensorBBox.create([[0, 1, 10, 12]])
    assert type(box) is TensorBBox and box.shape == (1, 4) and box.img_size is None
    assert type(box * 2) is TensorBBox and (box * 2).tolist() == [[0.0, 2.0, 20.0, 24.0]]
    with pytest.raises(ValueError, match=r"TensorPoint.create: expected \(x, y\) pairs, got 3 values"):
        TensorPoint.create([1, 2, 3])
    with pytest.raises(
        ValueError, match=r"TensorBBox.create: expected \(x1, y1, x2, y2\) boxes, got 6 values"
    ):
        TensorBBox.create([1, 2, 3, 4, 5, 6])


class TensorTweet(TensorText):
    """A type only this test registers a display for."""


@show_tensor.register
def _show_tweet(x: TensorTweet, ctx=None, **kwargs):
    ctx = [] if ctx is None else ctx
    ctx.append(f"tweet of {x.numel()} tokens{kwargs.get('suffix', '')}")
    return ctx


def test_show_goes_through_the_registered_display() -> None:
    t = TensorTweet(torch.arange(5))
    assert t.show() == ["tweet of 5 tokens"]
    assert t.show(ctx=["before"], suffix="!") == ["before", "tweet of 5 tokens!"]


def test_show_without_a_display_names_the_package_to_import() -> None:
    # a fresh interpreter with only typecore imported: nothing has registered any display yet
    code = (
        "import sys, torch\n"
        "from plies.typecore import TensorImage, TensorMask, TensorBBox, LMTensorText\n"
        "assert 'matplotlib' not in sys.modules\n"
        "for cls in (TensorImage, TensorMask, TensorBBox, LMTensorText):\n"
        "    try:\n"
        "        cls(torch.zeros(1, 2)).show()\n"
        "    except TypeError as e:\n"
        "        print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(
        "TensorImage.show: no display is registered for TensorImage; import plies.loaders"
    )
    assert "TensorMask; import plies.loaders" in lines[1]
    assert "TensorBBox; import plies.vision" in lines[2] and "LMTensorText; import plies.text" in lines[3]
    assert all("@plies.typecore.show_tensor.register" in line for line in lines)
