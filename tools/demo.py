"""End-to-end demo of the landed plies layers on real data (CPU, well under 2 minutes).

A DataBlock over a folder of real handwritten-digit PNGs (tools/demo_data/digits, 330 images, 10
classes) -> a small XResNet from plies.layers -> `fit_one_cycle` with accuracy -> export without
pickle -> `load_learner` -> `predict` on a raw file, checked against the trained learner.
Exits with a non-zero status when any step fails or the results are not what they should be.

    python tools/demo.py [--epochs 4] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from plies.layers import xresnet18
from plies.learner import Learner, accuracy, load_learner
from plies.loaders import (
    CategoryBlock,
    DataBlock,
    GrandparentSplitter,
    TransformBlock,
    get_image_files,
    parent_label,
)
from plies.pipes import register_transform
from plies.typecore import TensorImage, set_seed

DATA = Path(__file__).parent / "demo_data" / "digits"


@register_transform
def load_digit(path: Path) -> TensorImage:
    """Open a greyscale PNG as a 1x28x28 float image in [0, 1] (the model sees it as a plain tensor)."""
    with Image.open(path) as img:
        arr = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    return TensorImage(torch.from_numpy(arr)[None])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (the model is tiny: 1 is fastest)"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    set_seed(42)
    torch.set_num_threads(args.threads)

    digits = DataBlock(
        blocks=(TransformBlock(type_tfms=[load_digit]), CategoryBlock),
        get_items=get_image_files,
        splitter=GrandparentSplitter(train_name="train", valid_name="valid"),
        get_y=parent_label,
    )
    dls = digits.dataloaders(DATA, bs=32)
    print(
        f"data: {len(dls.train_ds)} training and {len(dls.valid_ds)} validation images, "
        f"classes {list(dls.vocab)}"
    )

    model = xresnet18(c_in=1, n_out=len(dls.vocab), stem_szs=(16, 16, 32), widen=0.25)
    with tempfile.TemporaryDirectory() as tmp:
        learn = Learner(dls, model, metrics=accuracy, path=tmp)
        learn.fit_one_cycle(args.epochs, lr_max=1e-2)
        valid_loss, acc = learn.validate()
        print(f"validation: loss {valid_loss:.4f}, accuracy {acc:.3f}")

        file = learn.export()
        print(f"exported to {file.name} ({file.stat().st_size / 1e6:.2f} MB, no pickle)")
        loaded = load_learner(file, cpu=not torch.cuda.is_available())  # on the device it was trained on

        sample = sorted((DATA / "valid" / "7").glob("*.png"))[0]
        label, idx, probs = loaded.predict(sample)
        label_orig, idx_orig, probs_orig = learn.predict(sample)
        print(f"predict({sample.parent.name}/{sample.name}) -> {label!r} (p={float(probs[int(idx)]):.3f})")

        failures = []
        if not torch.allclose(probs, probs_orig, atol=1e-5) or label != label_orig:
            failures.append("the loaded learner's prediction differs from the trained learner's")
        if acc < 0.6:
            failures.append(f"validation accuracy {acc:.3f} is below 0.6 after {args.epochs} epochs")
        if not np.isclose(float(probs.sum()), 1.0, atol=1e-4):
            failures.append("the probabilities do not sum to 1")
    elapsed = time.perf_counter() - start
    print(f"total time {elapsed:.1f} s")
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
