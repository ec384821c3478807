"""Plotting helpers: show_image (tensors, arrays, PIL, one channel), subplots, get_grid, the show hook."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image
from plies.loaders import get_grid, show_image, subplots
from plies.typecore import TensorImage, TensorImageBW, TensorMask

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def drawn(ax) -> np.ndarray:
    """The image data on an Axes (what imshow received)."""
    (im,) = ax.images
    return np.asarray(im.get_array())


def test_importing_loaders_does_not_import_matplotlib():
    code = "import sys, plies.loaders\nprint('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_show_image_chw_tensor_is_drawn_channel_last_with_title():
    x = torch.rand(3, 5, 7)
    ax = show_image(x, title="cat")
    assert np.allclose(drawn(ax), x.permute(1, 2, 0).numpy())
    assert ax.get_title() == "cat" and not ax.axison


def test_show_image_hwc_tensor_array_and_pil():
    hwc = torch.randint(0, 256, (6, 8, 3), dtype=torch.uint8)
    assert np.array_equal(drawn(show_image(hwc)), hwc.numpy())  # first dim >= 5: already channel-last
    arr = np.random.default_rng(0).random((6, 8, 3))
    assert np.array_equal(drawn(show_image(arr)), arr)
    chw_arr = np.ascontiguousarray(arr.transpose(2, 0, 1))
    assert np.array_equal(drawn(show_image(chw_arr)), arr)
    pil = Image.fromarray(hwc.numpy())
    assert np.array_equal(drawn(show_image(pil)), hwc.numpy())


def test_show_image_one_channel_uses_a_grey_colour_map():
    x = torch.randint(0, 256, (1, 6, 6), dtype=torch.uint8)
    ax = show_image(x)
    assert drawn(ax).shape == (6, 6) and np.array_equal(drawn(ax), x[0].numpy())
    assert ax.images[0].get_cmap().name == "gray"
    ax = show_image(x, cmap="viridis")
    assert ax.images[0].get_cmap().name == "viridis"
    assert show_image(np.ones((6, 6, 1))).images[0].get_cmap().name == "gray"


def test_show_image_on_a_given_axes_and_default_figsize():
    fig, ax = plt.subplots()
    assert show_image(torch.rand(3, 4, 4), ctx=ax) is ax and len(ax.images) == 1
    ax2 = show_image(torch.rand(3, 64, 160))  # one inch per 32 pixels, 1 to 5: (width, height)
    assert tuple(ax2.figure.get_size_inches()) == (5.0, 2.0)
    assert tuple(show_image(torch.rand(3, 64, 64), figsize=(3, 4)).figure.get_size_inches()) == (3.0, 4.0)


def test_show_image_errors_name_what_was_expected():
    with pytest.raises(
        TypeError, match=r"show_image: cannot draw on a ctx of type list; expected a matplotlib Axes"
    ):
        show_image(torch.rand(3, 4, 4), ctx=[])
    with pytest.raises(
        ValueError, match=r"show_image: expected an image of shape .* got shape \(2, 3, 4, 5\)"
    ):
        show_image(torch.rand(2, 3, 4, 5))


def test_tensor_show_uses_the_registered_displays():
    img = TensorImage(torch.rand(3, 4, 4))
    ax = img.show(title="x")
    assert np.allclose(drawn(ax), img.permute(1, 2, 0).numpy()) and ax.get_title() == "x"
    bw = TensorImageBW(torch.rand(1, 4, 4))
    assert bw.show().images[0].get_cmap().name == "Greys"
    mask = TensorMask(torch.tensor([[0, 1], [2, 1]]), codes=["bg", "cat", "dog", "sky"])
    _, ax = plt.subplots()
    assert mask.show(ctx=ax) is ax
    shown = ax.images[0]
    assert shown.get_cmap().name == "tab20" and shown.get_alpha() == 0.5
    assert shown.norm.vmin == 0 and shown.norm.vmax == 4  # spread over the codes, not the values present
    assert mask.show(alpha=0.8).images[0].get_alpha() == 0.8  # keywords override the defaults


def test_subplots_shapes_and_sizes():
    fig, axs = subplots(2, 3)
    assert axs.shape == (2, 3) and tuple(fig.get_size_inches()) == (9.0, 6.0)
    fig, axs = subplots(imsize=2)
    assert isinstance(axs, np.ndarray) and axs.shape == (1,) and tuple(fig.get_size_inches()) == (2.0, 2.0)
    fig, _ = subplots(1, 2, imsize=2, suptitle="t")
    assert tuple(fig.get_size_inches()) == (4.0, 2.6) and fig._suptitle.get_text() == "t"


def test_get_grid_returns_n_axes_and_hides_the_extras():
    fig, axs = get_grid(5, return_fig=True, title="five")
    assert len(axs) == 5 and len(fig.axes) == 6  # 2 rows x 3 columns
    assert [ax.axison for ax in fig.axes] == [True] * 5 + [False]
    assert fig._suptitle.get_text() == "five"
    fig, axs = get_grid(5, ncols=4, return_fig=True)
    assert len(axs) == 5 and len(fig.axes) == 8 and sum(not ax.axison for ax in fig.axes) == 3
    assert len(get_grid(5, nrows=1)) == 5
    fig, axs = get_grid(3, double=True, return_fig=True)
    assert len(axs) == 6 and len(fig.axes) == 6  # two Axes per item
    grid = get_grid(4, flatten=False)
    assert grid.shape == (2, 2)
    with pytest.raises(ValueError, match="get_grid: n must be at least 1, got 0"):
        get_grid(0)
