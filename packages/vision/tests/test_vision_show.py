"""Displays: points and boxes drawn on their image, batches and results in grids (checked on Agg figures)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba
from PIL import Image
from plies.loaders import DataBlock, IndexSplitter, parent_label
from plies.typecore import TensorBBox, TensorCategory, TensorImage, TensorMask, TensorPoint
from plies.vision import (
    BBoxBlock,
    BBoxLblBlock,
    ImageBlock,
    ImageDataLoaders,
    LabeledBBox,
    MaskBlock,
    PointBlock,
)


def image_axes(w=40, h=20):
    _, ax = plt.subplots()
    ax.imshow(np.zeros((h, w, 3), np.uint8))
    return ax


def test_points_scatter_at_their_pixels_and_keep_the_image_view():
    ax = image_axes()
    limits = (ax.get_xlim(), ax.get_ylim())
    TensorPoint(torch.tensor([[3.0, 4.0], [39.0, 60.0]])).show(ctx=ax)  # the second is off the image
    (scatter,) = ax.collections
    assert np.allclose(scatter.get_offsets(), [[3, 4], [39, 60]])
    assert (ax.get_xlim(), ax.get_ylim()) == limits


def rects(ax):
    return [(p.get_x(), p.get_y(), p.get_width(), p.get_height()) for p in ax.patches]


def test_boxes_are_rectangles_and_padding_is_not_drawn():
    ax = image_axes()
    TensorBBox(torch.tensor([[2.0, 3.0, 12.0, 8.0], [0.0, 0.0, 0.0, 0.0]])).show(ctx=ax)
    assert rects(ax) == [(2.0, 3.0, 10.0, 5.0)]


def test_labelled_boxes_carry_their_label_and_skip_na():
    ax = image_axes()
    boxes = TensorBBox(torch.tensor([[2.0, 3.0, 12.0, 8.0], [5.0, 5.0, 9.0, 9.0], [1.0, 1.0, 4.0, 4.0]]))
    LabeledBBox(boxes, ["cat", "#na#", "dog"]).show(ctx=ax)
    assert rects(ax) == [(2.0, 3.0, 10.0, 5.0), (1.0, 1.0, 3.0, 3.0)]
    assert [t.get_text() for t in ax.texts] == ["cat", "dog"] and ax.texts[1].get_position() == (1.0, 1.0)


COLOURS = {"cat": (255, 0, 0), "dog": (0, 0, 255)}


@pytest.fixture
def class_dls(tmp_path):
    for label, colour in COLOURS.items():
        for i in range(3):
            (tmp_path / label).mkdir(exist_ok=True)
            Image.fromarray(np.full((8, 8, 3), colour, np.uint8)).save(tmp_path / label / f"{i}.png")
    fnames = sorted(tmp_path.glob("*/*.png"))
    return ImageDataLoaders.from_path_func(
        tmp_path, fnames, parent_label, valid_pct=0.0, bs=6, shuffle=False, device="cpu"
    )


def visible(axs):
    return [ax for ax in axs if ax.axison or ax.images]


def test_show_batch_puts_each_image_in_a_grid_cell_titled_with_its_label(class_dls):
    x, y = class_dls.train.one_batch()
    axs = class_dls.show_batch(b=(x, y), max_n=4)
    assert len(axs) == 4 and all(len(ax.images) == 1 for ax in axs)
    assert [ax.get_title() for ax in axs] == [class_dls.vocab[int(i)] for i in y[:4]]
    fig = axs[0].figure
    assert len(fig.axes) == 4  # a 2 x 2 grid


def test_show_results_titles_target_slash_prediction_green_when_right_red_when_wrong(class_dls):
    x, y = class_dls.train.one_batch()
    preds = y.clone()
    preds[1] = 1 - preds[1]
    axs = class_dls.train.show_results((x, y), TensorCategory(preds), max_n=3)
    vocab = class_dls.vocab
    titles = [ax.get_title() for ax in axs]
    assert titles == [f"{vocab[int(t)]}/{vocab[int(p)]}" for t, p in zip(y[:3], preds[:3], strict=True)]
    colours = [to_rgba(ax.title.get_color()) for ax in axs]
    assert colours == [to_rgba("green"), to_rgba("red"), to_rgba("green")]


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def seg_dls(tmp_path):
    rng = np.random.default_rng(0)
    items = []
    for i in range(3):
        save(tmp_path / "masks" / f"{i}.png", rng.integers(0, 3, (6, 8)).astype(np.uint8))
        items.append(save(tmp_path / "images" / f"{i}.png", np.zeros((6, 8, 3), np.uint8)))
    block = DataBlock(
        blocks=(ImageBlock, MaskBlock(["a", "b", "c"])),
        get_y=lambda o: o.parent.parent / "masks" / o.name,
        splitter=IndexSplitter([]),
    )
    return block.dataloaders(items, bs=3, shuffle=False, device="cpu")


def test_segmentation_batch_overlays_the_mask_and_results_show_target_and_prediction(tmp_path):
    dls = seg_dls(tmp_path)
    x, y = dls.train.one_batch()
    axs = dls.show_batch(b=(x, y), max_n=2)
    assert len(axs) == 2 and [len(ax.images) for ax in axs] == [2, 2]
    assert np.array_equal(axs[1].images[1].get_array(), y[1].numpy()) and axs[1].images[1].get_alpha() == 0.5
    preds = TensorMask((y + 1) % 3)
    axs = dls.train.show_results((x, y), preds, max_n=2)
    assert len(axs) == 4 and all(len(ax.images) == 2 for ax in axs)
    left, right = axs[2], axs[3]  # the second sample: target, then prediction
    assert np.array_equal(left.images[1].get_array(), y[1].numpy())
    assert np.array_equal(right.images[1].get_array(), preds[1].numpy())
    assert axs[0].figure._suptitle.get_text() == "Target/Prediction"


POINTS = {"0.png": [[10.0, 5.0]], "1.png": [[30.0, 15.0]]}


def test_point_batches_and_results_scatter_pixels_of_the_batch_image(tmp_path):
    items = [save(tmp_path / n, np.zeros((20, 40, 3), np.uint8)) for n in POINTS]
    block = DataBlock(
        blocks=(ImageBlock, PointBlock), get_y=lambda o: POINTS[o.name], splitter=IndexSplitter([])
    )
    dls = block.dataloaders(items, bs=2, shuffle=False, device="cpu")
    x, y = dls.train.one_batch()
    axs = dls.show_batch(b=(x, y))
    assert [ax.collections[0].get_offsets().tolist() for ax in axs] == [[[10.0, 5.0]], [[30.0, 15.0]]]
    axs = dls.train.show_results((x, y), TensorPoint(torch.zeros(2, 2)))  # predictions at the centre
    assert len(axs) == 4
    assert axs[1].collections[0].get_offsets().tolist() == [[20.0, 10.0]]
    assert axs[2].collections[0].get_offsets().tolist() == [[30.0, 15.0]]


BOXES = {"0.png": ([[4, 2, 20, 10], [30, 10, 38, 18]], ["cat", "dog"]), "1.png": ([[0, 0, 8, 8]], ["dog"])}


def test_box_batches_draw_each_labelled_box_once(tmp_path):
    items = [save(tmp_path / n, np.zeros((20, 40, 3), np.uint8)) for n in BOXES]
    block = DataBlock(
        blocks=(ImageBlock, BBoxBlock, BBoxLblBlock),
        get_y=[lambda o: BOXES[o.name][0], lambda o: BOXES[o.name][1]],
        splitter=IndexSplitter([]),
        n_inp=1,
    )
    dls = block.dataloaders(items, bs=2, shuffle=False, device="cpu")
    axs = dls.show_batch(b=dls.train.one_batch())
    assert [len(ax.images) for ax in axs] == [1, 1]
    assert np.allclose(rects(axs[0]), [(4, 2, 16, 8), (30, 10, 8, 8)]) and np.allclose(
        rects(axs[1]), [(0, 0, 8, 8)]
    )
    assert [t.get_text() for t in axs[0].texts] == ["cat", "dog"] and axs[0].get_title() == ""


def test_image_to_image_batches_show_input_and_target_side_by_side(tmp_path):
    items = [save(tmp_path / f"{i}.png", np.full((6, 8, 3), 50 * i, np.uint8)) for i in range(2)]
    block = DataBlock(blocks=(ImageBlock, ImageBlock), splitter=IndexSplitter([]))
    dls = block.dataloaders(items, bs=2, shuffle=False, device="cpu")
    x, y = dls.train.one_batch()
    assert isinstance(y, TensorImage)
    axs = dls.show_batch(b=(x, y))
    assert len(axs) == 4 and all(len(ax.images) == 1 for ax in axs)
    assert axs[2].images[0].get_array()[0, 0].tolist() == [50, 50, 50]
