"""PointScaler and PointBlock: pixels to -1..1 by the item's image, back by the decoded image's size."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from plies.loaders import DataBlock, DataLoaders, IndexSplitter
from plies.pipes import Pipeline
from plies.typecore import TensorCategory, TensorImage, TensorPoint
from plies.vision import ImageBlock, PILImage, PointBlock, PointScaler, Resize

W, H = 40, 20  # the test image: 40 pixels wide, 20 high


def pil(w=W, h=H):
    return PILImage.create(np.zeros((h, w, 3), np.uint8))


def test_encodes_scales_pixels_by_the_image_of_the_item():
    img, pts = PointScaler()((pil(), TensorPoint.create([[10, 5], [40, 0]])))
    # x * 2 / width - 1, y * 2 / height - 1
    assert torch.allclose(pts, torch.tensor([[-0.5, -0.5], [1.0, -1.0]]))
    assert isinstance(pts, TensorPoint) and pts.img_size == (W, H) and img.size == (W, H)


def test_image_tensor_sizes_the_points_too_and_boxes_scale_by_corner():
    from plies.typecore import TensorBBox

    img = TensorImage(torch.zeros(3, H, W, dtype=torch.uint8))
    _, boxes = PointScaler()((img, TensorBBox.create([[10, 5, 30, 15]])))
    assert isinstance(boxes, TensorBBox) and boxes.shape == (1, 4)
    assert torch.allclose(boxes, torch.tensor([[-0.5, -0.5, 0.5, 0.5]]))


def test_y_first_and_do_scale():
    _, pts = PointScaler(y_first=True)((pil(), TensorPoint.create([[5, 10]])))  # (y, x)
    assert torch.allclose(pts, torch.tensor([[-0.5, -0.5]]))
    _, pts = PointScaler(do_scale=False)((pil(), TensorPoint.create([[0.25, -0.5]])))
    assert torch.allclose(pts, torch.tensor([[0.25, -0.5]]))


def test_decodes_to_pixels_of_the_image_being_decoded():
    scaler = PointScaler()
    _, pts = scaler((pil(), TensorPoint.create([[10, 5]])))
    # the batch was resized to 80 x 40 since: (x + 1) * 80 / 2, (y + 1) * 40 / 2
    resized = TensorImage(torch.zeros(3, 40, 80))
    _, back = scaler.decode((resized, pts))
    assert torch.allclose(back, torch.tensor([[20.0, 10.0]])) and back.img_size == (80, 40)
    # a model's flat prediction (one row of 2n values) decodes to n points
    _, flat = scaler.decode((resized, TensorPoint(torch.tensor([-0.5, -0.5, 0.0, 0.0]))))
    assert torch.allclose(flat, torch.tensor([[20.0, 10.0], [40.0, 20.0]]))


def test_points_alone_use_their_img_size_and_without_one_the_error_says_what_is_missing():
    pts = PointScaler()(TensorPoint.create([[10, 5]], img_size=(W, H)))
    assert torch.allclose(pts, torch.tensor([[-0.5, -0.5]]))
    with pytest.raises(
        ValueError,
        match=r"PointScaler: cannot scale the TensorPoint .* \(TensorCategory, TensorPoint\) "
        r"holds no PIL image or image tensor",
    ):
        PointScaler()((TensorCategory(1), TensorPoint.create([[10, 5]])))


POINTS = {"a.png": [[10, 5], [30, 15], [20, 10]], "b.png": [[4, 4], [8, 8], [12, 12]]}


def point_of(path):
    return POINTS[path.name]


def block_dls(tmp_path, item_tfms):
    items = []
    for name in POINTS:
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / name)
        items.append(tmp_path / name)
    block = DataBlock(
        blocks=(ImageBlock, PointBlock),
        get_y=point_of,
        splitter=IndexSplitter([1]),
        item_tfms=item_tfms,
    )
    return block.dataloaders(items, bs=1, shuffle=False, device="cpu")


def test_point_block_scales_before_the_resize_and_decodes_after_it(tmp_path):
    # squished to 20 x 10: a point keeps its normalised place; scaling after the resize (by the
    # 20 x 10 image) would put (10, 5) at (0, 0) instead of (-0.5, -0.5)
    dls = block_dls(tmp_path, Resize((10, 20), method="squish"))
    x, y = dls.train.one_batch()
    assert x.shape == (1, 3, 10, 20) and isinstance(y, TensorPoint)
    expected = torch.tensor([[10, 5], [30, 15], [20, 10]]) * 2 / torch.tensor([W, H]) - 1
    assert torch.allclose(y[0], expected)
    img, pts = dls.train.decode_batch((x, y))[0]
    assert torch.allclose(pts, torch.tensor([[5.0, 2.5], [15.0, 7.5], [10.0, 5.0]]))  # pixels of 20 x 10
    assert dls.train.after_item.c == 6  # three (x, y) points: what a model predicts


def test_point_pipeline_saved_as_plain_data_decodes_alike(tmp_path):
    dls = block_dls(tmp_path, Resize((10, 20), method="squish"))
    state = json.loads(json.dumps(dls.inference_state(), default=str))
    assert state["tls"][1]["dropped"] == []  # the getter is a module-level function: saved by name
    kept = [t["args"] for t in state["tls"][1]["tfms"]["transforms"]]
    assert {"__function__": "plies.vision.TensorPoint.create"} in [a[0] for a in kept if a]
    restored = Pipeline.from_state_dict(dls.valid.after_item.state_dict())
    assert [type(t).__name__ for t in restored.fs][:2] == ["PointScaler", "Resize"]
    assert restored.fs[0].c == 6
    rebuilt = DataLoaders.from_inference_state(dls.inference_state(), device="cpu")
    x = rebuilt.test_dl([tmp_path / "b.png"]).one_batch()[0]
    assert x.shape == (1, 3, 10, 20)
