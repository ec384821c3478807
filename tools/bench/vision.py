"""Benchmark: plies.vision's batch augmentation against torchvision.transforms.v2 per item, same run.

(a) `aug_transforms()` (flip, warp, rotate, zoom in ONE grid_sample; brightness and contrast in one
    fused pass) on a 64x3x128x128 float batch, against the equivalent torchvision v2 pipeline
    applied item by item (RandomHorizontalFlip, RandomPerspective(0.2, p=0.75),
    RandomApply([RandomAffine(10 deg, scale 1..1.1)], p=0.75), RandomApply([ColorJitter(0.2, 0.2)],
    p=0.75)) to the same 64 tensors, then stacked. The variants run interleaved (A, B, A, B...)
    and the medians are compared, so a busy machine slows both alike. Prints images/s and the
    ratio plies / torchvision (> 1: plies is faster). Floor from issue 15: >= 2.25x.
(b) `--train`: the digits sample, xresnet18 from scratch, 5 epochs of fit_one_cycle at bs 64 (the
    issue's recipe): wall time and accuracy (fastai 2.8.12: 23.1 s for 99.46 % on a 2-core machine).

    python tools/bench/vision.py [--repeats 7] [--threads 2] [--device cpu] [--train]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torchvision.transforms.v2 as T
from plies.typecore import TensorImage
from plies.vision import aug_transforms

BS, SIZE = 64, 128


def torchvision_pipeline() -> Callable[[torch.Tensor], torch.Tensor]:
    """The per-item torchvision v2 equivalent of aug_transforms' defaults."""
    return T.Compose(
        [
            T.RandomHorizontalFlip(0.5),
            T.RandomPerspective(distortion_scale=0.2, p=0.75),
            T.RandomApply([T.RandomAffine(degrees=10, scale=(1.0, 1.1))], p=0.75),
            T.RandomApply([T.ColorJitter(brightness=0.2, contrast=0.2)], p=0.75),
        ]
    )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_augmentation(repeats: int, device: torch.device) -> None:
    x = torch.rand(BS, 3, SIZE, SIZE, device=device)
    batch = TensorImage(x)
    plies_tfms = aug_transforms()
    tv = torchvision_pipeline()

    def plies_run() -> float:
        sync(device)
        start = time.perf_counter()
        b = (batch,)
        for t in plies_tfms:
            b = t(b, split_idx=0)
        sync(device)
        return time.perf_counter() - start

    def tv_run() -> float:
        sync(device)
        start = time.perf_counter()
        torch.stack([tv(item) for item in x])
        sync(device)
        return time.perf_counter() - start

    runs: dict[str, Callable[[], float]] = {
        "plies aug_transforms (batch)": plies_run,
        "torchvision v2 (per item)": tv_run,
    }
    for f in runs.values():  # warm-up
        f()
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(repeats):
        for name in list(runs)[r % 2 :] + list(runs)[: r % 2]:
            times[name].append(runs[name]())
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"batch augmentation, {BS}x3x{SIZE}x{SIZE} float, device {device}, "
        f"{torch.get_num_threads()} thread(s), median of {repeats}"
    )
    for name, t in med.items():
        print(f"  {name:32s} {t * 1e3:9.1f} ms  {BS / t:9.0f} images/s")
    ratio = med["torchvision v2 (per item)"] / med["plies aug_transforms (batch)"]
    print(f"  ratio plies / torchvision v2 (images/s): {ratio:.2f}x  (floor 2.25x)")


def time_training(device: torch.device, bf16: bool) -> None:
    from plies.layers import xresnet18
    from plies.learner import Learner, accuracy
    from plies.loaders import (
        CategoryBlock,
        DataBlock,
        GrandparentSplitter,
        URLs,
        get_image_files,
        parent_label,
        untar_data,
    )
    from plies.typecore import set_seed
    from plies.vision import ImageBlock, PILImageBW

    set_seed(42)
    path = untar_data(URLs.DIGITS)
    dblock = DataBlock(
        blocks=(ImageBlock(PILImageBW), CategoryBlock),
        get_items=get_image_files,
        splitter=GrandparentSplitter(train_name="train", valid_name="valid"),
        get_y=parent_label,
    )
    start = time.perf_counter()
    dls = dblock.dataloaders(path, bs=64, device=device)
    learn = Learner(dls, xresnet18(c_in=1, n_out=dls.c), metrics=accuracy, path="/tmp")
    if bf16:
        learn.to_bf16()  # autocast: bfloat16 convolutions (avx512_bf16, AMX, tensor cores)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(5, lr_max=1e-2)
    _, acc = learn.validate()
    took = time.perf_counter() - start
    print(
        f"digits, xresnet18 from scratch, 5 epochs one-cycle, bs 64, device {device}, "
        f"{'bf16 mixed precision' if bf16 else 'float32'}: {took:.1f} s, "
        f"accuracy {acc:.4f}"
    )
    print(f"  ratio to fastai 2.8.12's 23.1 s: {took / 23.1:.2f}x (goal <= 0.8x at >= 99 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:n]")
    parser.add_argument("--train", action="store_true", help="also time the digits training recipe")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    time_augmentation(args.repeats, device)
    if args.train:
        for bf16 in (False, True):
            time_training(device, bf16)


if __name__ == "__main__":
    main()
