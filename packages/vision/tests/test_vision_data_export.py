"""Learners on the vision factories export without pickle, lambda labellers included (targets only)."""

import numpy as np
import pytest
import torch
from PIL import Image
from plies.layers import CrossEntropyLossFlat
from plies.learner import Learner, load_learner
from plies.loaders import Category, DataBlock, get_image_files
from plies.typecore import TensorMask
from plies.vision import ImageBlock, ImageDataLoaders, MaskBlock, Resize, SegmentationDataLoaders
from torch import nn


def make_images(folder, n=6):
    rng = np.random.default_rng(0)
    for i in range(n):
        mask = rng.integers(0, 3, (8, 8)).astype(np.uint8)
        (folder / "masks").mkdir(parents=True, exist_ok=True)
        (folder / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(folder / "masks" / f"{i}_P.png")
        Image.fromarray(rng.integers(0, 255, (10, 12, 3)).astype(np.uint8)).save(
            folder / "images" / f"{i}.png"
        )
    return get_image_files(folder / "images")


def test_segmentation_with_a_lambda_label_func_exports_and_predicts_alike(tmp_path):
    fnames = make_images(tmp_path)
    dls = SegmentationDataLoaders.from_label_func(
        tmp_path,
        fnames,
        lambda o: tmp_path / "masks" / f"{o.stem}_P.png",  # cannot be saved: only the targets need it
        codes=np.array(["a", "b", "c"]),  # as np.loadtxt(codes.txt, dtype=str) gives them
        item_tfms=Resize(8),
        bs=2,
        device="cpu",
    )
    state = dls.inference_state()
    assert state["tls"][1]["dropped"] == ["<lambda>"] and state["tls"][0]["dropped"] == []
    learn = Learner(dls, nn.Conv2d(3, 3, 1), loss_func=CrossEntropyLossFlat(axis=1), path=tmp_path)
    before = learn.predict(fnames[0])
    path = learn.export("seg.plies")  # no warning: plies' warnings are errors in this suite
    loaded = load_learner(path)
    mask, decoded, probs = loaded.predict(fnames[0])
    assert isinstance(mask, TensorMask) and mask.shape == (8, 8) and probs.shape == (3, 8, 8)
    assert torch.allclose(probs, before[2]) and torch.equal(decoded, before[1])
    assert mask.codes == ["a", "b", "c"]


def test_classifier_from_name_func_with_a_lambda_exports_and_predicts_a_category(tmp_path):
    fnames = make_images(tmp_path)
    dls = ImageDataLoaders.from_name_func(
        tmp_path, fnames, lambda name: "even" if int(name[0]) % 2 == 0 else "odd", item_tfms=Resize(8), bs=2
    )
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    learn = Learner(dls.cpu(), model, loss_func=CrossEntropyLossFlat(), path=tmp_path)
    before = learn.predict(fnames[1])
    loaded = load_learner(learn.export("cls.plies"))
    label, idx, probs = loaded.predict(fnames[1])
    assert isinstance(label, Category) and label in ("even", "odd") and torch.allclose(probs, before[2])
    assert label == before[0]


def test_an_input_getter_that_cannot_be_saved_still_warns_at_export(tmp_path):
    fnames = make_images(tmp_path)
    block = DataBlock(
        blocks=(ImageBlock, MaskBlock(["a", "b", "c"])),
        get_x=lambda o: o,  # an input getter: predict would need it
        get_y=lambda o: tmp_path / "masks" / f"{o.stem}_P.png",
        item_tfms=Resize(8),
    )
    dls = block.dataloaders(fnames, bs=2, device="cpu")
    learn = Learner(dls, nn.Conv2d(3, 3, 1), loss_func=CrossEntropyLossFlat(axis=1), path=tmp_path)
    with pytest.warns(UserWarning, match=r"export: the data transforms \['<lambda>'\] cannot be saved"):
        learn.export("seg.plies")
