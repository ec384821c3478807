"""Item transforms: one window per item, cut and resized once; masks nearest; points and boxes follow."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from plies.typecore import TensorBBox, TensorImage, TensorMask, TensorPoint
from plies.vision import CropPad, PILImage, PILMask, RandomCrop, RandomResizedCrop, Resize


def img(w: int, h: int, seed: int = 0) -> PILImage:
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return PILImage.create(arr)


def mask(w: int, h: int) -> PILMask:
    arr = (np.arange(w * h).reshape(h, w) % 5).astype(np.uint8)
    return PILMask.create(Image.fromarray(arr))


def to_norm(px: float, py: float, w: int, h: int) -> list[float]:
    return [px * 2 / w - 1, py * 2 / h - 1]


@pytest.mark.parametrize("method", ["crop", "pad", "squish"])
def test_resize_gives_the_size_on_both_splits(method):
    for split_idx in (0, 1):
        out = Resize((20, 30), method=method)(img(60, 30), split_idx=split_idx)
        assert isinstance(out, PILImage) and out.size == (30, 20)


def test_resize_crop_is_centred_on_validation_and_random_on_training():
    im = img(80, 40)
    a, b = (Resize(40)(im, split_idx=1) for _ in range(2))
    centre = np.asarray(im)[:, 20:60]
    assert np.array_equal(np.asarray(a), centre) and np.array_equal(np.asarray(a), np.asarray(b))
    crops = {np.asarray(Resize(40)(im, split_idx=0)).tobytes() for _ in range(20)}
    assert len(crops) > 5  # the window moves on the training set


def test_points_and_boxes_follow_the_window():
    w, h = 80, 40
    # a point at pixel (50, 10) of the original; the validation crop keeps columns 20..60
    pt = TensorPoint(torch.tensor([to_norm(50, 10, w, h)]))
    box = TensorBBox(torch.tensor([to_norm(30, 5, w, h) + to_norm(70, 25, w, h)]))
    out_img, out_pt, out_box = Resize(20)((img(w, h), pt, box), split_idx=1)
    assert out_img.size == (20, 20)
    # in the 40x40 window scaled to 20x20: pixel (50-20, 10) -> (15, 5) of 20
    assert torch.allclose(out_pt, torch.tensor([to_norm(15, 5, 20, 20)]), atol=1e-5)
    # the box (30..70, 5..25) becomes (10..50, 5..25) in the window, clipped to 40: (5..20, 2.5..12.5) of 20
    assert torch.allclose(
        out_box, torch.tensor([to_norm(5, 2.5, 20, 20) + to_norm(20, 12.5, 20, 20)]), atol=1e-5
    )


def test_padding_keeps_the_whole_image_and_points():
    w, h = 60, 20
    pt = TensorPoint(torch.tensor([to_norm(60, 20, w, h)]))  # the bottom-right corner
    out_img, out_pt = Resize(30, method="pad", pad_mode="zeros")((img(w, h), pt), split_idx=1)
    arr = np.asarray(out_img)
    # the 60x20 image fits 30 wide as 30x10, centred vertically: rows 0..10 and 20..30 are padding (zeros;
    # the row next to the image blends with it, as a resize does)
    assert arr[:9].max() == 0 and arr[21:].max() == 0 and arr[11:19].min(axis=(0, 1)).max() > 0
    assert torch.allclose(out_pt, torch.tensor([to_norm(30, 20, 30, 30)]), atol=1e-5)


def test_masks_are_resized_nearest():
    m = mask(40, 20)
    for t in (Resize(16), Resize(16, method="pad"), RandomResizedCrop(16), CropPad(48)):
        out = t(m, split_idx=0)
        assert isinstance(out, PILMask)
        assert set(np.unique(np.asarray(out))) <= set(range(5)), type(t).__name__
    im, mk = Resize(13, method="squish")((img(40, 20), m), split_idx=0)
    assert im.size == mk.size == (13, 13)


def test_crop_pad_and_random_crop_keep_the_pixel_scale():
    im = img(30, 30)
    out = CropPad(10)(im, split_idx=1)
    assert np.array_equal(np.asarray(out), np.asarray(im)[10:20, 10:20])
    out = CropPad(40, pad_mode="zeros")(im, split_idx=1)
    arr = np.asarray(out)
    assert arr.shape == (40, 40, 3) and arr[:5].max() == 0 and np.array_equal(arr[5:35, 5:35], np.asarray(im))
    # a random crop is a sub-array of the image
    big = np.asarray(im)
    out = np.asarray(RandomCrop(12)(im, split_idx=0))
    found = any(np.array_equal(big[y : y + 12, x : x + 12], out) for y in range(19) for x in range(19))
    assert found
    assert np.array_equal(np.asarray(RandomCrop(12)(im, split_idx=1)), big[9:21, 9:21])


def test_random_resized_crop_area_and_validation_centre():
    im = img(100, 100)
    t = RandomResizedCrop(20, min_scale=0.3, ratio=(1.0, 1.0))
    areas = []
    for _ in range(50):
        t(im, split_idx=0)
        x0, y0, x1, y1 = t.window
        areas.append((x1 - x0) * (y1 - y0) / 100**2)
        assert 0 <= x0 and x1 <= 100 and 0 <= y0 and y1 <= 100
    assert 0.3 - 1e-6 <= min(areas) and max(areas) <= 1 + 1e-6 and max(areas) - min(areas) > 0.3
    t(im, split_idx=1)
    side = 100 / 1.14  # the centre square less val_xtra of the size
    assert np.allclose(t.window, ((100 - side) / 2, (100 - side) / 2, (100 + side) / 2, (100 + side) / 2))
    with pytest.raises(ValueError, match="need 0 < min_scale <= max_scale <= 1"):
        RandomResizedCrop(10, min_scale=0)


def test_tensor_images_and_masks_are_resized_too():
    x = TensorImage(torch.randint(0, 256, (3, 40, 20), dtype=torch.uint8))
    m = TensorMask(torch.randint(0, 4, (40, 20)))
    xo, mo = Resize(10, method="squish")((x, m), split_idx=1)
    assert xo.shape == (3, 10, 10) and xo.dtype == torch.uint8 and isinstance(xo, TensorImage)
    assert mo.shape == (10, 10) and set(mo.unique().tolist()) <= {0, 1, 2, 3}


def test_bad_arguments_are_named():
    with pytest.raises(
        ValueError, match="Resize: size must be a positive int or \\(height, width\\), found -3"
    ):
        Resize(-3)
    with pytest.raises(ValueError, match="Resize: method must be 'crop', 'pad' or 'squish', found 'fit'"):
        Resize(10, method="fit")
    with pytest.raises(ValueError, match="Resize: pad_mode must be one of"):
        Resize(10, pad_mode="wrap")
