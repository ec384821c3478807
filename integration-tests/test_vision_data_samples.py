"""Vision data on the shipped sample sets (plies-samples, nothing downloaded): pets, CamVid, COCO, points.

Small batches and sizes keep each test to a few seconds on two CPU cores.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image
from plies.loaders import DataBlock, RandomSplitter, URLs, get_image_files, untar_data
from plies.typecore import (
    TensorBBox,
    TensorCategory,
    TensorImage,
    TensorMask,
    TensorMultiCategory,
    TensorPoint,
    set_seed,
)
from plies.vision import (
    AffineCoordTfm,
    BBoxBlock,
    BBoxLblBlock,
    Flip,
    ImageBlock,
    ImageDataLoaders,
    PointBlock,
    RandomResizedCrop,
    Resize,
    SegmentationDataLoaders,
    aug_transforms,
    get_annotations,
)

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _seeded_and_closed():
    """Same random augmentations each run (the checks hold for any seed); figures closed after."""
    set_seed(0)
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def test_pets_from_name_re_gives_the_37_breeds_and_augmented_batches():
    path = untar_data(URLs.PETS_SAMPLE)
    fnames = get_image_files(path / "images")
    dls = ImageDataLoaders.from_name_re(
        path,
        fnames,
        pat=r"^(.*)_\d+.jpg$",  # the paper's
        item_tfms=RandomResizedCrop(48, min_scale=0.5),
        batch_tfms=aug_transforms(),
        bs=8,
        seed=0,
        device="cpu",
    )
    assert len(dls.vocab) == 37 and "Abyssinian" in dls.vocab and "yorkshire_terrier" in dls.vocab
    assert len(dls.train_ds) + len(dls.valid_ds) == len(fnames) == 370 and len(dls.valid_ds) == 74
    x, y = dls.one_batch()
    assert isinstance(x, TensorImage) and x.shape == (8, 3, 48, 48) and x.dtype == torch.float32
    assert isinstance(y, TensorCategory) and 0 <= int(y.min()) and int(y.max()) < 37
    assert dls.valid.one_batch()[0].shape == (8, 3, 48, 48)  # the validation centre crop
    # each label is the breed in the file name
    for fname, (_, label) in zip(dls.train_ds.items[:5], [dls.train_ds[i] for i in range(5)], strict=True):
        assert fname.name.startswith(dls.vocab[int(label)] + "_")
    axs = dls.show_batch(max_n=4)
    assert len(axs) == 4 and all(len(ax.images) == 1 and ax.get_title() in dls.vocab for ax in axs)


def camvid_dls(batch_tfms):
    path = untar_data(URLs.CAMVID_TINY)
    codes = np.loadtxt(path / "codes.txt", dtype=str)
    return SegmentationDataLoaders.from_label_func(
        path,
        get_image_files(path / "images"),
        label_func=lambda o: path / "labels" / f"{o.stem}_P{o.suffix}",
        codes=codes,
        item_tfms=Resize((48, 64)),
        batch_tfms=batch_tfms,
        bs=4,
        seed=0,
        device="cpu",
    ), codes


def interior(mask: torch.Tensor) -> torch.Tensor:
    """Pixels whose 3x3 neighbourhood has one class (bilinear interpolation leaves their value exact)."""
    padded = torch.nn.functional.pad(mask[:, None].float(), (1, 1, 1, 1), mode="replicate")
    lo = -torch.nn.functional.max_pool2d(-padded, 3, stride=1)[:, 0]
    hi = torch.nn.functional.max_pool2d(padded, 3, stride=1)[:, 0]
    return lo == hi


def test_camvid_masks_stay_aligned_with_their_images_through_aug_transforms():
    dls, codes = camvid_dls(aug_transforms())
    x, y = dls.one_batch()
    assert isinstance(y, TensorMask) and y.shape == (4, 48, 64) and y.dtype == torch.int64
    assert x.shape == (4, 3, 48, 64) and int(y.max()) < len(codes)
    assert dls.train.decode_batch((x, y))[0][1].codes == list(codes)
    # an image drawn from its own mask (class k -> grey k / 31) goes through the same geometric pass
    geometric = next(t for t in dls.train.after_batch.fs if isinstance(t, AffineCoordTfm))
    torch.manual_seed(0)
    mask = y.clone()
    image = TensorImage((mask.float() / 31)[:, None].expand(-1, 3, -1, -1).contiguous())
    aug_image, aug_mask = geometric((image, mask), split_idx=0)
    assert not torch.equal(aug_mask, mask)  # the batch did move
    inside = interior(aug_mask)
    assert inside.float().mean() > 0.3
    read_back = (aug_image[:, 0] * 31).round().long()
    # (a one-pixel-wide stripe can fall between the mask's nearest samples and still tint the image's
    # bilinear ones: a few pixels in a thousand)
    assert (read_back[inside] == aug_mask[inside]).float().mean() > 0.99
    # the check has teeth: the mask flipped alone would not agree
    assert (read_back[inside] == aug_mask.flip(-1)[inside]).float().mean() < 0.9


def test_camvid_show_batch_overlays_each_mask():
    dls, _ = camvid_dls(aug_transforms())
    axs = dls.show_batch(max_n=2)
    assert len(axs) == 2 and all(len(ax.images) == 2 for ax in axs)


def coco_dls(batch_tfms):
    coco = untar_data(URLs.COCO_TINY)
    images, lbl_bbox = get_annotations(coco / "train.json")
    img2bbox = dict(zip(images, lbl_bbox, strict=True))
    block = DataBlock(
        blocks=(ImageBlock, BBoxBlock, BBoxLblBlock),
        get_items=get_image_files,
        splitter=RandomSplitter(seed=0),
        get_y=[lambda o: img2bbox[o.name][0], lambda o: img2bbox[o.name][1]],
        item_tfms=Resize(64),
        batch_tfms=batch_tfms,
        n_inp=1,
    )
    return block.dataloaders(coco, bs=4, device="cpu")


def test_coco_batches_are_padded_and_boxes_follow_a_flip():
    dls = coco_dls(aug_transforms())
    assert dls.vocab[0] == "#na#" and len(dls.vocab) == 7
    x, boxes, labels = dls.one_batch()
    assert isinstance(boxes, TensorBBox) and isinstance(labels, TensorMultiCategory)
    assert boxes.shape[:2] == labels.shape and boxes.shape[0] == 4 and boxes.shape[2] == 4
    assert (boxes.abs() <= 1).all()
    padding = labels == 0
    assert padding.any() and (boxes[padding] == 0).all()  # boxes padded with zeros, labels with #na#
    # a flip of the validation batch: boxes (x1, y1, x2, y2) -> (-x2, y1, -x1, y2), images mirrored
    x, boxes, labels = dls.valid.one_batch()
    fx, fboxes, flabels = Flip(p=1.0)((x, boxes, labels), split_idx=0)
    real = labels != 0
    expected = torch.stack([-boxes[..., 2], boxes[..., 1], -boxes[..., 0], boxes[..., 3]], -1)
    assert torch.allclose(fboxes[real], expected[real], atol=1e-5)
    assert torch.allclose(fx, x.flip(-1), atol=1e-5) and torch.equal(flabels, labels)


def test_coco_show_batch_draws_each_labelled_box():
    dls = coco_dls(None)
    x, boxes, labels = dls.valid.one_batch()
    axs = dls.valid.show_batch(b=(x, boxes, labels), max_n=4)
    for ax, sample_labels in zip(axs, labels, strict=True):
        assert len(ax.patches) == int((sample_labels != 0).sum()) > 0
        assert [t.get_text() for t in ax.texts] == [dls.vocab[int(i)] for i in sample_labels if i != 0]


def test_points_stay_on_the_drawn_keypoint_through_resize_and_aug_transforms(tmp_path):
    rng = np.random.default_rng(0)
    keypoints = {}
    for i in range(16):
        w, h = int(rng.integers(60, 100)), int(rng.integers(50, 90))
        cx, cy = int(rng.integers(w // 3, 2 * w // 3)), int(rng.integers(h // 3, 2 * h // 3))
        img = np.zeros((h, w, 3), np.uint8)
        img[cy - 2 : cy + 3, cx - 2 : cx + 3] = 255  # a bright 5x5 dot centred on pixel (cx, cy)
        Image.fromarray(img).save(tmp_path / f"{i}.png")
        keypoints[f"{i}.png"] = [[cx + 0.5, cy + 0.5]]  # the centre of that pixel
    block = DataBlock(
        blocks=(ImageBlock, PointBlock),
        get_items=get_image_files,
        get_y=lambda o: keypoints[o.name],
        splitter=RandomSplitter(valid_pct=0.25, seed=0),
        item_tfms=Resize(48),
        batch_tfms=aug_transforms(),
    )
    dls = block.dataloaders(tmp_path, bs=8, device="cpu")
    for x, y in (dls.train.one_batch(), dls.valid.one_batch()):
        assert isinstance(y, TensorPoint) and y.shape[1:] == (1, 2)
        checked = 0
        for img, pt in zip(x.mean(1), y[:, 0], strict=True):
            px, py = ((pt + 1) * 48 / 2).tolist()  # normalised -> pixels of the 48 x 48 batch image
            if not (4 <= px <= 44 and 4 <= py <= 44):
                continue  # a crop or a rotation took the dot (and its point) to the edge
            c, r = int(px), int(py)
            window = img[r - 3 : r + 4, c - 3 : c + 4]
            bright = (window > 0.5 * img.max()).float()
            ys, xs = torch.meshgrid(
                torch.arange(r - 3, r + 4) + 0.5, torch.arange(c - 3, c + 4) + 0.5, indexing="ij"
            )
            centre = ((bright * xs).sum() / bright.sum(), (bright * ys).sum() / bright.sum())
            assert img[r, c] > 0.5 * img.max()  # the point is on the dot...
            assert abs(centre[0] - px) < 1 and abs(centre[1] - py) < 1  # ...at its centre
            checked += 1
        assert checked >= len(x) - 2
    axs = dls.show_batch(max_n=2)
    offsets = axs[0].collections[0].get_offsets()[0]
    assert 0 <= offsets[0] <= 48 and 0 <= offsets[1] <= 48
