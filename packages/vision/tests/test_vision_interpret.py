"""Image views of the interpretation: top losses and their titles, the confusion matrix, masks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from plies.learner import ClassificationInterpretation  # noqa: E402
from plies.loaders import CategoryBlock, DataBlock, GrandparentSplitter, get_image_files, parent_label  # noqa: E402
from plies.vision import ImageBlock, MaskBlock, SegmentationInterpretation, unet_learner, vision_learner  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
    plt.close("all")


def write_images(root: Path, n: int = 6, size: int = 16) -> Path:
    """Three classes of flat images: dark, grey, light (with noise)."""
    rng = np.random.default_rng(0)
    for split in ("train", "valid"):
        for label, level in (("dark", 40), ("grey", 128), ("light", 215)):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                img = np.clip(level + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(folder / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory):
    path = write_images(tmp_path_factory.mktemp("levels"))
    dblock = DataBlock(
        blocks=(ImageBlock(), CategoryBlock),
        get_items=get_image_files,
        splitter=GrandparentSplitter(train_name="train", valid_name="valid"),
        get_y=parent_label,
    )
    torch.manual_seed(0)
    learn = vision_learner(dblock.dataloaders(path, bs=6), "xresnet18", pretrained=False)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)
    return learn


def test_top_losses_titles_are_prediction_actual_loss_probability(classifier) -> None:
    interp = ClassificationInterpretation.from_learner(classifier)
    vocab = list(classifier.dls.vocab)
    probs, targs = interp.preds, interp.targs.as_subclass(torch.Tensor)
    hand_losses = -torch.log(probs[torch.arange(len(targs)), targs])  # cross entropy from the probabilities
    assert torch.allclose(interp.losses, hand_losses, atol=1e-4)
    axs = interp.plot_top_losses(4)
    assert len(axs) == 4
    order = torch.argsort(hand_losses, descending=True)[:4]
    expected = [
        f"{vocab[int(probs[i].argmax())]}/{vocab[int(targs[i])]} / {float(hand_losses[i]):.2f} / "
        f"{float(probs[i].max()):.2f}"
        for i in order
    ]
    assert [ax.get_title() for ax in axs] == expected
    assert all(len(ax.get_images()) == 1 for ax in axs)  # each item drawn as an image
    plt.close("all")


def test_confusion_matrix_on_the_vocab(classifier) -> None:
    interp = ClassificationInterpretation.from_learner(classifier)
    decoded = interp.preds.argmax(1).numpy()
    targs = interp.targs.as_subclass(torch.Tensor).numpy()
    hand = np.zeros((3, 3), int)
    for t, d in zip(targs, decoded, strict=True):
        hand[t, d] += 1
    assert (interp.confusion_matrix() == hand).all() and hand.sum() == 18
    fig = interp.plot_confusion_matrix()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["dark", "grey", "light"]
    plt.close("all")


# ---------------------------------------------------------------- segmentation
def write_halves(root: Path, n: int = 4, size: int = 16) -> Path:
    """Images whose left part (random width) is bright; masks 1 there."""
    rng = np.random.default_rng(1)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in range(n):
        w = int(rng.integers(4, 12))
        img = rng.integers(0, 50, (size, size, 3)).astype(np.uint8)
        img[:, :w] = 220
        mask = np.zeros((size, size), np.uint8)
        mask[:, :w] = 1
        Image.fromarray(img).save(root / "images" / f"{i}.png")
        Image.fromarray(mask).save(root / "labels" / f"{i}.png")
    return root


def label_of(path: Path) -> Path:
    return path.parent.parent / "labels" / path.name


@pytest.fixture(scope="module")
def segmenter(tmp_path_factory: pytest.TempPathFactory):
    path = write_halves(tmp_path_factory.mktemp("halves"))
    dblock = DataBlock(
        blocks=(ImageBlock(), MaskBlock(codes=["dark", "bright"])),
        get_items=get_image_files,
        get_y=label_of,
        splitter=lambda items: ([0, 1], [2, 3]),
    )
    dls = dblock.dataloaders(path / "images", bs=2)
    torch.manual_seed(0)
    learn = unet_learner(dls, "xresnet18", pretrained=False)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)
    return learn


def test_segmentation_top_losses_show_input_target_prediction(segmenter) -> None:
    interp = SegmentationInterpretation.from_learner(segmenter)
    assert interp.codes == ["dark", "bright"]
    probs, targs = interp.preds, interp.targs.as_subclass(torch.Tensor)
    pixel = -torch.log(torch.gather(probs, 1, targs[:, None]))[:, 0]
    hand = pixel.flatten(1).mean(1)
    assert torch.allclose(interp.losses, hand, atol=1e-4)
    axs = interp.plot_top_losses(2)
    assert len(axs) == 6  # a row of three per item
    top = torch.argsort(hand, descending=True)
    titles = [ax.get_title() for ax in axs]
    assert titles == [
        "input", "target", f"pred; loss = {float(hand[top[0]]):.4f}",
        "input", "target", f"pred; loss = {float(hand[top[1]]):.4f}",
    ]  # fmt: skip
    assert len(axs[1].get_images()) == 2  # the mask drawn over its image
    plt.close("all")


def test_segmentation_pixel_confusion_matrix(segmenter) -> None:
    interp = SegmentationInterpretation.from_learner(segmenter)
    targs = interp.targs.as_subclass(torch.Tensor).flatten().numpy()
    decoded = interp.preds.argmax(1).flatten().numpy()
    cm = interp.confusion_matrix()
    assert cm.sum() == 2 * 16 * 16
    for t in range(2):
        for d in range(2):
            assert cm[t, d] == int(((targs == t) & (decoded == d)).sum())
    acc = interp.per_class_accuracy()
    assert acc == {c: float(cm[i, i] / cm[i].sum()) for i, c in enumerate(["dark", "bright"]) if cm[i].sum()}


def test_segmentation_interpretation_refuses_class_predictions(classifier) -> None:
    with pytest.raises(
        TypeError, match="SegmentationInterpretation: expected decoded predictions that are masks"
    ):
        SegmentationInterpretation.from_learner(classifier)
