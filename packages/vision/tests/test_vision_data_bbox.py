"""Boxes and their labels: get_annotations, clip_remove_empty, bb_pad, BBoxLabeler, the box blocks."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from plies.loaders import DataBlock, DataLoaders, IndexSplitter, MultiCategory
from plies.typecore import TensorBBox, TensorImage, TensorMultiCategory
from plies.vision import (
    BBoxBlock,
    BBoxLabeler,
    BBoxLblBlock,
    ImageBlock,
    LabeledBBox,
    Resize,
    bb_pad,
    clip_remove_empty,
    get_annotations,
)

COCO = {
    "categories": [{"id": 1, "name": "cat"}, {"id": 7, "name": "dog"}],
    "images": [
        {"id": 10, "file_name": "a.jpg"},
        {"id": 11, "file_name": "b.jpg"},
        {"id": 12, "file_name": "c.jpg"},  # no annotation: left out
    ],
    "annotations": [
        {"image_id": 10, "bbox": [1, 2, 3, 4], "category_id": 7},
        {"image_id": 11, "bbox": [0, 0, 5, 5], "category_id": 1},
        {"image_id": 10, "bbox": [5, 5, 1, 1], "category_id": 1},
    ],
}


def test_get_annotations_reads_coco_boxes_as_corners(tmp_path):
    f = tmp_path / "train.json"
    f.write_text(json.dumps(COCO))
    names, targets = get_annotations(f)
    assert names == ["a.jpg", "b.jpg"]
    # (x, y, width, height) -> (x1, y1, x1 + width, y1 + height)
    assert targets == [([[1, 2, 4, 6], [5, 5, 6, 6]], ["dog", "cat"]), ([[0, 0, 5, 5]], ["cat"])]
    assert get_annotations(f, prefix="imgs/")[0] == ["imgs/a.jpg", "imgs/b.jpg"]
    assert get_annotations(f, prefix=tmp_path)[0] == [tmp_path / "a.jpg", tmp_path / "b.jpg"]


def test_get_annotations_errors_name_the_file_and_the_annotation(tmp_path):
    with pytest.raises(FileNotFoundError, match="get_annotations: no such file: .*missing.json"):
        get_annotations(tmp_path / "missing.json")
    bad = dict(COCO, annotations=[{"image_id": 10, "bbox": [1, 2, 3, 4], "category_id": 3}])
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(
        KeyError, match=r"annotation 0 of .*bad.json has category_id 3, not among the categories \[1, 7\]"
    ):
        get_annotations(tmp_path / "bad.json")


def test_clip_remove_empty_clips_and_drops_boxes_without_area_with_their_labels():
    boxes = TensorBBox(torch.tensor([[-1.5, -0.5, 0.5, 0.5], [0.2, 0.2, 0.2, 0.9], [0.5, 0.5, 2.0, 2.0]]))
    labels = TensorMultiCategory(torch.tensor([1, 2, 3]))
    kept, kept_labels = clip_remove_empty(boxes, labels)
    assert torch.equal(kept, torch.tensor([[-1.0, -0.5, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]]))
    assert kept_labels.tolist() == [1, 3] and isinstance(kept, TensorBBox)


def sample(boxes, labels):
    return (
        TensorImage(torch.zeros(3, 4, 4)),
        TensorBBox(torch.tensor(boxes, dtype=torch.float32).view(-1, 4)),
        TensorMultiCategory(torch.tensor(labels, dtype=torch.long)),
    )


def test_bb_pad_pads_boxes_with_zeros_and_labels_with_pad_idx_after_dropping_empty_ones():
    box = [-0.5, -0.5, 0.5, 0.5]
    empty = [0.1, 0.1, 0.1, 0.3]
    samples = [sample([box, box], [1, 2]), sample([box, empty], [3, 4]), sample([], [])]
    out = bb_pad(samples, pad_idx=5)
    assert [o[1].shape for o in out] == [(2, 4)] * 3 and [o[2].shape for o in out] == [(2,)] * 3
    assert out[1][2].tolist() == [3, 5] and torch.equal(out[1][1][1], torch.zeros(4))  # empty box dropped
    assert out[2][2].tolist() == [5, 5] and not out[2][1].any()
    assert out[0][2].tolist() == [1, 2] and isinstance(out[0][1], TensorBBox)
    assert isinstance(out[2][2], TensorMultiCategory) and out[2][2].dtype == torch.long
    # boxes without labels (BBoxBlock alone) are padded too
    alone = bb_pad([s[:2] for s in samples])
    assert [len(o) for o in alone] == [2, 2, 2] and alone[1][1].shape == (2, 4)


def test_bb_pad_names_the_sample_without_boxes_and_passes_batches_of_inputs_only():
    image = TensorImage(torch.zeros(3, 4, 4))
    with pytest.raises(
        TypeError, match=r"bb_pad: sample 1 has no TensorBBox \(types \['TensorImage'\]\) while"
    ):
        bb_pad([sample([[0, 0, 1, 1]], [1]), (image,)])
    assert bb_pad([(image,), (image,)]) == [(image,), (image,)]  # a test_dl's batch at inference


def test_bbox_labeler_checks_alignment_and_decodes_labelled_boxes():
    labeler = BBoxLabeler()
    with pytest.raises(ValueError, match="BBoxLabeler: the item has 2 boxes but 1 labels"):
        labeler(sample([[0, 0, 1, 1], [0, 0, 2, 2]], [1]))
    item = sample([[0, 0, 1, 1], [0, 0, 2, 2]], [2, 0])
    with pytest.raises(ValueError, match="BBoxLabeler: no vocab"):
        labeler.decode(item)
    labeler.vocab = ["#na#", "cat", "dog"]
    img, boxes, labels = labeler.decode(item)
    assert isinstance(boxes, LabeledBBox) and boxes.lbl == ["dog", "#na#"] and boxes.bbox is item[1]
    assert labels is item[2]  # left for the label pipeline to decode
    with pytest.raises(IndexError, match=r"label indices \[7\] outside the vocab of 3 labels"):
        labeler.decode(sample([[0, 0, 1, 1]], [7]))


TARGETS = {"a.png": ([[10, 5, 30, 15], [0, 0, 4, 2]], ["dog", "cat"]), "b.png": ([[4, 4, 8, 8]], ["cat"])}


def boxes_of(path):
    return TARGETS[path.name][0]


def labels_of(path):
    return TARGETS[path.name][1]


def bbox_dls(tmp_path):
    items = []
    for name in TARGETS:
        Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(tmp_path / name)
        items.append(tmp_path / name)
    block = DataBlock(
        blocks=(ImageBlock, BBoxBlock, BBoxLblBlock),
        get_y=[boxes_of, labels_of],
        splitter=IndexSplitter([]),
        item_tfms=Resize((10, 20), method="squish"),
        n_inp=1,
    )
    return block.dataloaders(items, bs=2, shuffle=False, device="cpu")


def test_box_blocks_pad_batches_and_decode_to_labelled_pixel_boxes(tmp_path):
    dls = bbox_dls(tmp_path)
    assert list(dls.vocab) == ["#na#", "cat", "dog"]
    x, boxes, labels = dls.train.one_batch()
    assert x.shape == (2, 3, 10, 20) and boxes.shape == (2, 2, 4) and labels.shape == (2, 2)
    # normalised by the 40 x 20 image: x * 2 / 40 - 1, y * 2 / 20 - 1; b.png padded with zeros and '#na#'
    assert torch.allclose(boxes[0], torch.tensor([[-0.5, -0.5, 0.5, 0.5], [-1.0, -1.0, -0.8, -0.8]]))
    assert torch.allclose(boxes[1], torch.tensor([[-0.8, -0.6, -0.6, -0.2], [0.0, 0.0, 0.0, 0.0]]))
    assert labels.tolist() == [[2, 1], [1, 0]]
    img, labelled, names = dls.train.decode_batch((x, boxes, labels))[0]
    assert isinstance(labelled, LabeledBBox) and labelled.lbl == ["dog", "cat"]
    # back to pixels of the 20 x 10 batch image: half of each coordinate in the 40 x 20 original
    assert torch.allclose(labelled.bbox, torch.tensor([[5.0, 2.5, 15.0, 7.5], [0.0, 0.0, 2.0, 1.0]]))
    assert isinstance(names, MultiCategory) and list(names) == ["dog", "cat"]


def test_box_pipeline_exports_with_bb_pad_and_the_labeler_vocab(tmp_path):
    dls = bbox_dls(tmp_path)
    state = dls.inference_state()
    json.dumps(state)  # plain data
    (entry,) = state["before_batch"]["transforms"]
    assert entry["args"] == [{"__function__": "plies.vision.bb_pad"}]
    rebuilt = DataLoaders.from_inference_state(state, device="cpu")
    labeler = next(t for t in rebuilt.valid.after_item.fs if isinstance(t, BBoxLabeler))
    assert labeler.vocab == ["#na#", "cat", "dog"]
    assert rebuilt.valid.before_batch.fs[0].name == "bb_pad"
    x = rebuilt.test_dl([Path(tmp_path / "a.png")]).one_batch()[0]
    assert x.shape == (1, 3, 10, 20)
