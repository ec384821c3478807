"""The batch geometry: matrices, their grid, point mapping, and one interpolation beating two."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from plies.vision import (
    dihedral_mat,
    flip_mat,
    homography_grid,
    perspective_mat,
    rotate_mat,
    sample_batch,
    warp_points,
    zoom_mat,
)


def test_rotation_by_a_quarter_turn_moves_the_right_edge_to_the_top():
    m = rotate_mat(torch.tensor([90.0]))
    # counter-clockwise on screen (y points down): the middle of the right edge goes to the top middle
    assert torch.allclose(
        warp_points(m, torch.tensor([[[1.0, 0.0]]])), torch.tensor([[[0.0, -1.0]]]), atol=1e-6
    )
    img = torch.zeros(1, 1, 4, 4)
    img[0, 0, 1, 3] = 1  # row 1, column 3
    out = sample_batch(img, m, mode="nearest")
    # (x, y) pixel (3, 1) -> rotated about the centre (1.5, 1.5) by -90 deg in screen terms -> (1, 0)
    assert torch.nonzero(out[0, 0]).tolist() == [[0, 1]]


def test_flip_and_the_eight_dihedral_symmetries():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert torch.equal(sample_batch(x, flip_mat(torch.tensor([True])), mode="nearest"), x.flip(-1))
    assert torch.equal(sample_batch(x, flip_mat(torch.tensor([False])), mode="nearest"), x)
    expected = [x, x.flip(-1), x.flip(-2), x.flip(-1, -2)]
    expected += [e.transpose(-1, -2) for e in expected]
    got = [sample_batch(x, dihedral_mat(torch.tensor([k])), mode="nearest") for k in range(8)]
    for k in range(4):  # the first four are flips; the last four the same after a transpose
        assert torch.equal(got[k], expected[k]), k
    assert len({tuple(g.flatten().tolist()) for g in got}) == 8


def test_zoom_magnifies_around_its_centre_and_keeps_the_window_inside():
    m = zoom_mat(torch.tensor([2.0]), torch.tensor([0.5]), torch.tensor([0.5]))
    # output corners read the input at half the distance from the centre
    assert torch.allclose(
        warp_points(torch.linalg.inv(m), torch.tensor([[[1.0, 1.0]]])), torch.tensor([[[0.5, 0.5]]])
    )
    for col in (0.0, 1.0):  # extreme centres: the window touches the border but stays inside
        m = zoom_mat(torch.tensor([2.0]), torch.tensor([col]), torch.tensor([col]))
        corners = torch.tensor([[[-1.0, -1.0], [1.0, 1.0]]])
        read = corners @ m[0, :2, :2].T + m[0, :2, 2]
        assert read.abs().max() <= 1 + 1e-6 and math.isclose(read.abs().max().item(), 1.0, abs_tol=1e-6)


def test_perspective_maps_the_four_points_exactly():
    src = torch.tensor([[[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]])
    dst = src + torch.tensor([[[0.1, -0.05], [-0.2, 0.0], [0.05, 0.1], [0.0, -0.1]]])
    h = perspective_mat(src, dst)
    coords = torch.cat([src, torch.ones(1, 4, 1)], -1) @ h[0].T
    assert torch.allclose(coords[..., :2] / coords[..., 2:], dst, atol=1e-5)
    # points go the other way through the inverse: the output points of the input `dst` are `src`
    assert torch.allclose(warp_points(h, dst), src, atol=1e-5)


def test_affine_grid_matches_torch_affine_grid():
    m = rotate_mat(torch.tensor([20.0, -35.0])) @ zoom_mat(torch.tensor([1.3, 1.1]))
    ours = homography_grid(m, (5, 7))
    theirs = F.affine_grid(m[:, :2], (2, 1, 5, 7), align_corners=False)
    assert torch.allclose(ours, theirs, atol=1e-6)
    ours = homography_grid(m, (5, 7), align_corners=True)
    assert torch.allclose(ours, F.affine_grid(m[:, :2], (2, 1, 5, 7), align_corners=True), atol=1e-6)


def _analytic(h: int, w: int, mats: torch.Tensor | None = None) -> torch.Tensor:
    """A smooth, detailed image f(x, y) = sin(7x + 3y) cos(5y - 2x) sampled at pixel centres, after `mats`."""
    grid = homography_grid(torch.eye(3)[None] if mats is None else mats, (h, w))
    x, y = grid[..., 0], grid[..., 1]
    return (torch.sin(7 * x + 3 * y) * torch.cos(5 * y - 2 * x))[:, None]


def test_one_interpolation_is_closer_to_the_exact_transform_than_two():
    # the paper's point: rotate + zoom composed into one resampling lose less detail than two in a row
    h = w = 48
    img = _analytic(h, w)
    rot, zoom = rotate_mat(torch.tensor([23.0])), zoom_mat(torch.tensor([1.35]))
    exact = _analytic(h, w, rot @ zoom)  # the analytic image read through the composed transform
    once = sample_batch(img, rot @ zoom, pad_mode="border")
    twice = sample_batch(sample_batch(img, rot, pad_mode="border"), zoom, pad_mode="border")
    inner = (slice(None), slice(None), slice(10, -10), slice(10, -10))  # away from the padded borders
    err_once = (once - exact)[inner].pow(2).mean()
    err_twice = (twice - exact)[inner].pow(2).mean()
    assert err_once < 0.7 * err_twice, (err_once, err_twice)


def test_masks_are_sampled_nearest_and_keep_their_dtype():
    mask = torch.randint(0, 5, (2, 1, 16, 16))
    out = sample_batch(mask, rotate_mat(torch.tensor([17.0, -40.0])))
    assert out.dtype == torch.int64 and set(out.unique().tolist()) <= set(range(5))


def test_sample_batch_changes_the_size_in_the_same_resampling():
    x = torch.rand(3, 3, 20, 30)
    out = sample_batch(x, torch.eye(3).expand(3, 3, 3), size=(10, 15))
    assert out.shape == (3, 3, 10, 15)
    # the identity at half size averages 2x2 blocks with bilinear sampling at the block centres
    assert torch.allclose(out, F.avg_pool2d(x, 2), atol=1e-6)


def test_affine_mat_needs_six_rows():
    with pytest.raises(ValueError, match="expected 6 coefficient tensors, found 2"):
        from plies.vision import affine_mat

        affine_mat(torch.ones(1), torch.ones(1))
