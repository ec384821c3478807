"""The paper's pets and CamVid examples on the shipped samples: they train and beat the trivial answer.

Offline there are no ImageNet weights, so both train from scratch at small sizes; the bars are the
trivial predictors: chance (1/37) for the pets, the majority class's pixel share for CamVid.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from plies.learner import acc_segment, accuracy  # noqa: E402
from plies.loaders import Normalize, URLs, get_image_files, untar_data  # noqa: E402
from plies.typecore import set_seed  # noqa: E402
from plies.vision import (  # noqa: E402
    ImageDataLoaders,
    RandomResizedCrop,
    SegmentationDataLoaders,
    aug_transforms,
    imagenet_stats,
    unet_learner,
    vision_learner,
)


@pytest.mark.slow
def test_pets_with_the_papers_lines_beats_chance_clearly(tmp_path):
    set_seed(0)
    path = untar_data(URLs.PETS_SAMPLE)
    dls = ImageDataLoaders.from_name_re(
        path=path,
        bs=32,
        fnames=get_image_files(path / "images"),
        pat=r"/([^/]+)_\d+.jpg$",  # the paper's regex
        item_tfms=RandomResizedCrop(72, min_scale=0.75),
        batch_tfms=[*aug_transforms(size=64, max_warp=0.0), Normalize.from_stats(*imagenet_stats)],
    )
    assert len(dls.vocab) == 37
    learn = vision_learner(dls, "xresnet18", pretrained=False, metrics=accuracy, path=tmp_path)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(8, 3e-3)
    _, acc = learn.validate()
    print(f"pets_sample, 37 breeds from scratch, 8 epochs: accuracy {acc:.3f} (chance {1 / 37:.3f})")
    assert acc > 3 / 37  # three times chance
    dls.show_batch(max_n=4)
    learn.show_results(max_n=4)
    titles = [ax.get_title() for ax in plt.gcf().axes if ax.get_title()]
    assert len(titles) == 4 and all("/" in t for t in titles)  # target/prediction
    plt.close("all")


@pytest.mark.slow
def test_camvid_unet_beats_the_majority_class_clearly(tmp_path):
    set_seed(0)
    path = untar_data(URLs.CAMVID_TINY)
    codes = np.loadtxt(path / "codes.txt", dtype=str)
    dls = SegmentationDataLoaders.from_label_func(
        path=path,
        bs=8,
        fnames=get_image_files(path / "images"),
        label_func=lambda o: path / "labels" / f"{o.stem}_P{o.suffix}",
        codes=codes,
        valid_pct=0.2,
        seed=0,
        batch_tfms=[*aug_transforms(size=(48, 64)), Normalize.from_stats(*imagenet_stats)],
    )
    targets = torch.cat([y.flatten() for _, y in dls.valid])
    majority = torch.bincount(targets).max().item() / targets.numel()
    learn = unet_learner(dls, "resnet18", pretrained=False, metrics=acc_segment, path=tmp_path)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(8, 3e-3, pct_start=0.9)
    _, acc = learn.validate()
    print(f"camvid_tiny, U-Net on resnet18 from scratch: pixel accuracy {acc:.3f} (majority {majority:.3f})")
    assert acc > majority + 0.1
    learn.show_results(max_n=2)
    plt.close("all")
