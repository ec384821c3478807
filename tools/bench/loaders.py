"""Benchmark: items/s of plies' DataLoader against torch.utils.data.DataLoader, measured in the same run.

Settings: (a) in-memory tensors (a TensorDataset of 3x32x32 floats + int labels), bs 64;
(b) a folder of ~2000 small PNGs (copied from the real digits / mnist_tiny samples in
/work/shared/data) decoded with PIL and resized to 32x32, bs 64. Each with num_workers 0 and 2.
Prints items/s for both loaders and the ratio plies/torch (>1 means plies is faster).

    python tools/bench/loaders.py [--epochs 5] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from plies.loaders import DataLoader, Datasets, TfmdDL
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import Dataset, TensorDataset

SHARED = Path("/work/shared/data")


class PngFolder(Dataset):
    """Decode a PNG with PIL, resize it to 32x32 and return (uint8 tensor 1x32x32, label)."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self.labels = [int(f.parent.name) for f in files]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        return open_png(self.files[i]), self.labels[i]


def open_png(path: Path) -> torch.Tensor:
    img = Image.open(path).convert("L").resize((32, 32), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy())[None]


def make_png_folder(dest: Path, n: int) -> list[Path]:
    """Copy `n` real digit PNGs (digits, then mnist_tiny) into `dest/<label>/`."""
    sources = sorted((SHARED / "digits").glob("*/*/*.png")) + sorted(
        (SHARED / "mnist_tiny").glob("*/*/*.png")
    )
    if len(sources) < n:
        raise SystemExit(f"only {len(sources)} PNGs found under {SHARED}")
    files = []
    for i, src in enumerate(sources[:n]):
        target = dest / src.parent.name / f"{i}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        files.append(target)
    return files


def epoch_seconds(loader, n_items: int) -> float:
    """Wall time of one full pass over `loader` (checking that every item came)."""
    start = time.perf_counter()
    count = 0
    for b in loader:
        count += len(b[1])
    elapsed = time.perf_counter() - start
    assert count == n_items, (count, n_items)
    return elapsed


def compare(name: str, torch_loader, plies_loader, n_items: int, epochs: int) -> float:
    """Items/s of both loaders, epochs interleaved (a busy machine slows both alike); returns the ratio."""
    epoch_seconds(torch_loader, n_items), epoch_seconds(plies_loader, n_items)  # warm-up
    t_times, p_times = [], []
    for _ in range(epochs):
        t_times.append(epoch_seconds(torch_loader, n_items))
        p_times.append(epoch_seconds(plies_loader, n_items))
    t, p = n_items / statistics.median(t_times), n_items / statistics.median(p_times)
    print(f"{name:<44} torch {t:>9,.0f} items/s   plies {p:>9,.0f} items/s   ratio {p / t:5.2f}x", flush=True)
    return p / t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--n-tensors", type=int, default=20_000)
    parser.add_argument("--n-pngs", type=int, default=2_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ratios = {}

    x, y = torch.randn(args.n_tensors, 3, 32, 32), torch.randint(0, 10, (args.n_tensors,))
    tds = TensorDataset(x, y)
    for nw in (0, 2):
        ratios[f"tensors nw={nw}"] = compare(
            f"(a) in-memory tensors, bs 64, nw={nw}",
            TorchDataLoader(tds, batch_size=64, num_workers=nw),
            DataLoader(tds, bs=64, num_workers=nw),
            len(tds),
            args.epochs,
        )

    with tempfile.TemporaryDirectory() as tmp:
        files = make_png_folder(Path(tmp), args.n_pngs)
        ds = PngFolder(files)
        epochs = args.epochs
        for nw in (0, 2):
            ratios[f"pngs nw={nw}"] = compare(
                f"(b) {len(files)} PNGs decoded+resized, nw={nw}",
                TorchDataLoader(ds, batch_size=64, num_workers=nw),
                DataLoader(ds, bs=64, num_workers=nw),
                len(ds),
                epochs,
            )
        dsets = Datasets(files, [[open_png], [lambda f: int(f.parent.name)]])
        compare(
            "(b') same via Datasets + TfmdDL, nw=0",
            TorchDataLoader(ds, batch_size=64),
            TfmdDL(dsets, bs=64),
            len(ds),
            epochs,
        )

    print("\nratios plies/torch (goal >= 0.95): " + ", ".join(f"{k}: {v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
