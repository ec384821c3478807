"""Batch augmentation: one resampling for every geometric transform, masks/points/boxes follow, lighting."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from plies.pipes import Pipeline
from plies.typecore import (
    TensorBBox,
    TensorCategory,
    TensorImage,
    TensorMask,
    TensorMultiCategory,
    TensorPoint,
)
from plies.vision import (
    AffineCoordTfm,
    Brightness,
    Contrast,
    Dihedral,
    Flip,
    Hue,
    LightingTfm,
    RandomErasing,
    RandomResizedCropGPU,
    Rotate,
    Saturation,
    Warp,
    Zoom,
    aug_transforms,
)


def blocks_batch(bs: int = 4, size: int = 64, n_cls: int = 4) -> tuple[TensorImage, TensorMask]:
    """Images of large coloured blocks and the masks of their classes (class k has colour k / n_cls)."""
    g = torch.Generator().manual_seed(0)
    coarse = torch.randint(0, n_cls, (bs, 1, 4, 4), generator=g)
    mask = F.interpolate(coarse.float(), size=(size, size), mode="nearest").long()[:, 0]
    img = (mask.float() / n_cls)[:, None].expand(bs, 3, size, size).contiguous()
    return TensorImage(img), TensorMask(mask)


def dot_batch(points: list[tuple[float, float]], size: int = 64) -> tuple[TensorImage, TensorPoint]:
    """One image per point: a bright 3x3 dot at the (x, y) pixel, and the point in -1..1 coordinates."""
    img = torch.zeros(len(points), 3, size, size)
    for i, (x, y) in enumerate(points):
        img[i, :, int(y) - 1 : int(y) + 2, int(x) - 1 : int(x) + 2] = 1.0
    pts = torch.tensor([[[(x + 0.5) * 2 / size - 1, (y + 0.5) * 2 / size - 1]] for x, y in points])
    return TensorImage(img), TensorPoint(pts)


def brightest(img: torch.Tensor) -> torch.Tensor:
    """(bs, 2) pixel-centre coordinates (-1..1) of each image's brightness centroid."""
    bs, _, h, w = img.shape
    weight = img.as_subclass(torch.Tensor).sum(1).clamp_min(0) ** 4
    ys = (torch.arange(h) * 2 + 1) / h - 1
    xs = (torch.arange(w) * 2 + 1) / w - 1
    total = weight.sum((1, 2))
    return torch.stack([(weight * xs).sum((1, 2)) / total, (weight * ys[:, None]).sum((1, 2)) / total], 1)


def test_geometric_transforms_run_on_the_training_split_only():
    x, m = blocks_batch()
    for t in (Flip(p=1.0), Rotate(p=1.0), Zoom(max_zoom=2.0, p=1.0), Warp(p=1.0), Dihedral(p=1.0)):
        out = t((x, m), split_idx=1)
        assert out[0] is x and out[1] is m, type(t).__name__
        train = t((x, m), split_idx=0)
        assert not torch.equal(train[0], x), type(t).__name__
    assert torch.equal(Brightness(p=1.0)((x,), split_idx=1)[0], x)


def test_a_mask_stays_aligned_with_its_image_under_the_full_aug_transforms():
    torch.manual_seed(1)
    x, m = blocks_batch(bs=8)
    tfms = Pipeline(aug_transforms(max_rotate=30, max_zoom=1.5, max_warp=0.3, max_lighting=0.0, p_affine=1.0))
    assert len(tfms) == 1  # flip, warp, rotate and zoom fused into one transform
    xa, ma = tfms((x, m), split_idx=0)
    assert isinstance(xa, TensorImage) and isinstance(ma, TensorMask) and ma.dtype == torch.int64
    cls_of_image = (xa[:, 0] * 4).round().long()  # the class the image's colour says
    # away from block edges (where bilinear blends two colours) the colour and the mask agree
    interior = (xa[:, 0] * 4 - (xa[:, 0] * 4).round()).abs() < 0.05
    assert interior.float().mean() > 0.8
    assert (cls_of_image[interior] == ma[interior]).float().mean() > 0.995
    assert not torch.equal(ma, m)  # the geometry did change


def test_every_geometric_transform_resamples_once(monkeypatch):
    calls = []
    real = F.grid_sample

    def counting(*args, **kwargs):
        calls.append(args[0].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(F, "grid_sample", counting)
    x, m = blocks_batch()
    pipe = Pipeline(
        [Flip(p=1.0), Rotate(p=1.0), Zoom(p=1.0), Warp(p=1.0), RandomResizedCropGPU(32, min_scale=0.5)]
    )
    xa, ma = pipe((x, m), split_idx=0)
    assert len(pipe) == 1 and len(calls) == 2  # one resampling for the images, one for the masks
    assert xa.shape == (4, 3, 32, 32) and ma.shape == (4, 32, 32)


def test_points_follow_the_geometry():
    torch.manual_seed(2)
    pixels = [(20.0, 30.0), (44.0, 12.0), (32.0, 50.0), (10.0, 10.0)]
    x, p = dot_batch(pixels)
    t = AffineCoordTfm(
        [*Rotate(max_deg=40, p=1.0).sources, *Zoom(max_zoom=1.3, p=1.0).sources, *Flip(p=0.5).sources]
    )
    xa, pa = t((x, p), split_idx=0)
    assert isinstance(pa, TensorPoint) and pa.shape == p.shape
    # the moved point sits on the moved dot (within a pixel: 2 / 64 in normalised units)
    assert torch.allclose(pa[:, 0], brightest(xa), atol=2 / 64)
    assert not torch.allclose(pa, p, atol=0.05)


def test_points_follow_a_perspective_warp():
    torch.manual_seed(3)
    x, p = dot_batch([(16.0, 16.0), (48.0, 20.0), (24.0, 44.0)])
    xa, pa = Warp(magnitude=0.4, p=1.0)((x, p), split_idx=0)
    assert torch.allclose(pa[:, 0], brightest(xa), atol=2 / 64)


def test_boxes_follow_a_flip_and_lose_their_labels_when_pushed_out():
    img = TensorImage(torch.rand(2, 3, 32, 32))
    boxes = TensorBBox(torch.tensor([[[-0.8, -0.6, -0.2, 0.4], [0.0, 0.0, 0.0, 0.0]]] * 2))
    labels = TensorMultiCategory(torch.tensor([[3, 0], [3, 0]]))
    _, bf, lf = Flip(p=1.0)((img, boxes, labels), split_idx=0)
    # a horizontal flip maps x to -x: the box [x1, y1, x2, y2] becomes [-x2, y1, -x1, y2]
    assert torch.allclose(bf[:, 0], torch.tensor([0.2, -0.6, 0.8, 0.4]).expand(2, 4), atol=1e-6)
    assert torch.equal(bf[:, 1], torch.zeros(2, 4)) and lf.tolist() == [
        [3, 0],
        [3, 0],
    ]  # padding stays padding
    # zoomed far into the right half: the left box leaves the image, becomes padding, its label 0
    far = AffineCoordTfm(Zoom(min_zoom=4.0, max_zoom=4.0, p=1.0).sources)
    far.sources[0].draw = lambda bs, device, size: torch.tensor(
        [[0.25, 0, 0.75], [0, 0.25, 0], [0, 0, 1.0]]
    ).expand(bs, 3, 3)
    _, bz, lz = far((img, boxes, labels), split_idx=0)
    assert torch.equal(bz[:, 0], torch.zeros(2, 4)) and lz.tolist() == [[0, 0], [0, 0]]


def test_boxes_are_the_bounding_box_of_the_rotated_corners_clipped():
    img = TensorImage(torch.rand(1, 3, 32, 32))
    box = TensorBBox(torch.tensor([[[-0.5, -0.5, 0.5, 0.5]]]))
    t = AffineCoordTfm(Rotate(max_deg=45, p=1.0).sources)
    t.sources[0].draw = lambda bs, device, size: torch.tensor(
        [
            [math.cos(math.pi / 4), -math.sin(math.pi / 4), 0],
            [math.sin(math.pi / 4), math.cos(math.pi / 4), 0],
            [0, 0, 1.0],
        ]
    ).expand(bs, 3, 3)
    _, b = t((img, box), split_idx=0)
    r = 0.5 * math.sqrt(2)  # a square of half-side 0.5 turned by 45 degrees reaches 0.707 on each axis
    assert torch.allclose(b[0, 0], torch.tensor([-r, -r, r, r]), atol=1e-5)


def test_batch_true_draws_one_transform_for_the_whole_batch():
    torch.manual_seed(4)
    x = TensorImage(torch.rand(1, 3, 16, 16).expand(6, 3, 16, 16).contiguous())
    same = Rotate(max_deg=30, p=1.0, batch=True)((x,), split_idx=0)[0]
    assert all(torch.allclose(same[0], same[i]) for i in range(6))
    differ = Rotate(max_deg=30, p=1.0)((x,), split_idx=0)[0]
    assert not torch.allclose(differ[0], differ[1])


def test_p_is_the_share_of_items_transformed():
    torch.manual_seed(5)
    x = TensorImage(torch.rand(400, 1, 4, 4))
    out = Flip(p=0.3)((x,), split_idx=0)[0]
    flipped = (out - x.flip(-1)).abs().amax((1, 2, 3)) < 1e-6
    assert 0.22 < flipped.float().mean() < 0.38
    with pytest.raises(ValueError, match="p must be a probability in"):
        Flip(p=1.5)


def test_size_resizes_in_the_same_resampling_and_bad_modes_are_named():
    x, m = blocks_batch()
    xa, ma = Rotate(p=1.0, size=(24, 40))((x, m), split_idx=0)
    assert xa.shape == (4, 3, 24, 40) and ma.shape == (4, 24, 40)
    with pytest.raises(ValueError, match="pad_mode must be 'zeros', 'border' or 'reflection', found 'wrap'"):
        Rotate(pad_mode="wrap")
    with pytest.raises(ValueError, match="need 0 < min_zoom <= max_zoom"):
        Zoom(min_zoom=1.2, max_zoom=1.1)


def logit(x: torch.Tensor) -> torch.Tensor:
    return torch.logit(x.as_subclass(torch.Tensor), eps=1e-3)


def test_brightness_shifts_and_contrast_scales_each_item_in_logit_space():
    torch.manual_seed(6)
    x = TensorImage(torch.rand(32, 3, 8, 8) * 0.9 + 0.05)
    (b,) = Brightness(max_lighting=0.4, p=1.0)((x,), split_idx=0)
    shift = (logit(b) - logit(x)).flatten(1)
    # one constant shift per item, within [logit(0.3), logit(0.7)]
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-3)
    lo, hi = math.log(0.3 / 0.7), math.log(0.7 / 0.3)
    assert shift[:, 0].min() >= lo - 1e-4 and shift[:, 0].max() <= hi + 1e-4 and shift[:, 0].std() > 0.1
    (c,) = Contrast(max_lighting=0.4, p=1.0)((x,), split_idx=0)
    ratio = (logit(c) / logit(x)).flatten(1)
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-2)
    assert ratio[:, 0].min() >= 0.6 - 1e-4 and ratio[:, 0].max() <= 1 / 0.6 + 1e-4


def test_lighting_transforms_fuse_and_compose_brightness_then_contrast():
    torch.manual_seed(7)
    pipe = Pipeline([Brightness(max_lighting=0.4, p=1.0), Contrast(max_lighting=0.4, p=1.0)])
    assert len(pipe) == 1 and isinstance(pipe[0], LightingTfm)
    x = TensorImage(torch.rand(16, 3, 8, 8) * 0.9 + 0.05)
    (y,) = pipe((x,), split_idx=0)
    # logit(y) = c * (logit(x) + s): a straight line per item in logit space, slope c in [0.6, 1/0.6]
    lx, ly = logit(x).flatten(1), logit(y).flatten(1)
    slope = ((lx - lx.mean(1, keepdim=True)) * (ly - ly.mean(1, keepdim=True))).sum(1) / (
        (lx - lx.mean(1, keepdim=True)) ** 2
    ).sum(1)
    resid = ly - (slope[:, None] * (lx - lx.mean(1, keepdim=True)) + ly.mean(1, keepdim=True))
    assert resid.abs().max() < 1e-2 and slope.min() >= 0.6 - 1e-3 and slope.max() <= 1 / 0.6 + 1e-3


def test_saturation_and_hue_keep_greys_and_change_colours():
    torch.manual_seed(8)
    grey = torch.full((4, 3, 4, 4), 0.4)
    colour = torch.tensor([0.6, 0.45, 0.35])[None, :, None, None].expand(4, 3, 4, 4).contiguous()
    x = TensorImage(torch.cat([grey, colour]))
    for t in (Saturation(max_lighting=0.5, p=1.0), Hue(max_hue=0.3, p=1.0)):
        (y,) = t((x,), split_idx=0)
        assert torch.allclose(y[:4], grey, atol=1e-5), type(t).__name__  # a grey has no saturation or hue
        assert not torch.allclose(y[4:], colour, atol=1e-3), type(t).__name__
    (h,) = Hue(max_hue=0.3, p=1.0)((x,), split_idx=0)
    luma = torch.tensor([0.299, 0.587, 0.114])[None, :, None, None]
    assert torch.allclose((h[4:] * luma).sum(1), (colour * luma).sum(1), atol=2e-2)  # hue keeps brightness


def test_lighting_refuses_integer_images():
    with pytest.raises(
        TypeError, match="expected float images in \\[0, 1\\] \\(put IntToFloatTensor before it\\)"
    ):
        Brightness(p=1.0)((TensorImage(torch.zeros(1, 3, 2, 2, dtype=torch.uint8)),), split_idx=0)


def test_random_erasing_fills_a_rectangle_of_the_allowed_area():
    torch.manual_seed(9)
    x = TensorImage(torch.full((50, 3, 20, 20), 7.0))
    (y,) = RandomErasing(p=1.0, sl=0.1, sh=0.3, max_count=1)((x,), split_idx=0)
    erased = (y != 7.0).any(1).flatten(1).float().mean(1)
    assert erased.min() >= 0.07 and erased.max() <= 0.33 and (y[x == 7.0] != 7.0).any()
    assert torch.equal(RandomErasing(p=1.0)((x,), split_idx=1)[0], x)


def test_aug_transforms_defaults_and_options():
    tfms = aug_transforms()
    assert [type(t).__name__ for t in tfms] == ["AffineCoordTfm", "LightingTfm"]
    assert [type(s).__name__ for s in tfms[0].sources] == [
        "_FlipSource",
        "_WarpSource",
        "_RotateSource",
        "_ZoomSource",
    ]
    tfms = aug_transforms(flip_vert=True, max_warp=0.0, max_lighting=0.0, size=32, min_scale=0.5)
    assert [type(s).__name__ for s in tfms[0].sources][0] == "_DihedralSource" and len(tfms) == 1
    x = TensorImage(torch.rand(2, 3, 64, 48))
    assert tfms[0]((x,), split_idx=0)[0].shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="min_scale < 1 crops at random and needs the output size="):
        aug_transforms(min_scale=0.5)
    # targets that are neither images nor geometry pass through untouched
    y = TensorCategory(torch.tensor([1, 0]))
    assert aug_transforms()[0]((x, y), split_idx=0)[1] is y


def test_a_size_resizes_the_validation_split_too_without_randomness():
    x, m = blocks_batch(size=64)
    t = Pipeline(aug_transforms(size=32, max_lighting=0.0))
    xv, mv = t((x, m), split_idx=1)
    # the validation batch is the plain resize: bilinear at half size averages 2x2 blocks
    assert xv.shape == (4, 3, 32, 32) and mv.shape == (4, 32, 32)
    assert torch.allclose(xv, F.avg_pool2d(x.as_subclass(torch.Tensor), 2), atol=1e-6)
    assert torch.equal(t((x, m), split_idx=1)[0], xv)  # deterministic
    # a random resized crop takes the centre crop of the output's aspect ratio on validation
    wide = TensorImage(torch.rand(2, 3, 32, 64))
    (c,) = RandomResizedCropGPU((32, 32), min_scale=0.5)((wide,), split_idx=1)
    assert torch.allclose(c, wide[..., 16:48].as_subclass(torch.Tensor), atol=1e-5)


def test_fused_augmentations_are_plain_data_and_round_trip():
    import json

    pipe = Pipeline(aug_transforms(size=24, flip_vert=True, min_scale=0.5))
    state = json.loads(json.dumps(pipe.state_dict()))  # plain data: survives JSON
    rebuilt = Pipeline.from_state_dict(state)
    assert [type(t).__name__ for t in rebuilt] == ["AffineCoordTfm", "LightingTfm"]
    assert [repr(s) for s in rebuilt[0].sources] == [repr(s) for s in pipe[0].sources]
    assert rebuilt[0].size == (24, 24) and repr(rebuilt[1].sources) == repr(pipe[1].sources)
    x = TensorImage(torch.rand(2, 3, 48, 32))
    # deterministic on validation: the same resize from the original and the rebuilt pipeline
    assert torch.equal(rebuilt((x,), split_idx=1)[0], pipe((x,), split_idx=1)[0])
    with pytest.raises(TypeError, match="sources\\[0\\] must be a source or its spec dict"):
        AffineCoordTfm([{"kind": "Spin"}])
