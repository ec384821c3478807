"""Benchmark: items/s of plies' DataLoader against torch.utils.data.DataLoader, measured in the same run.

Rows (bs 64 everywhere):
(a) in-memory tensors: a TensorDataset of 3x32x32 floats + int labels, and one of 20-feature rows,
    each with num_workers 0 and 2, at torch's intra-op thread count (`--threads`, default torch's own);
(a') the 3x32x32 row again while a background process spins on one core ("a busy second core": the
    case where a batch-sized copy that wakes torch's thread pool waits for a thread that cannot run),
    and with a single intra-op thread;
(b) a folder of ~2000 small PNGs (copied from the real digits / mnist_tiny samples in
    /work/shared/data) decoded with PIL and resized to 32x32, with num_workers 0 and 2, and the same
    through `Datasets` + `TfmdDL`.
The two loaders run epoch for epoch in alternation (a busy machine slows both alike); each row prints
the median items/s of both and the ratio plies/torch (>1 means plies is faster).

    python tools/bench/loaders.py [--epochs 5] [--threads 2] [--skip-pngs]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def _spin(core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})
    while True:
        pass


@contextmanager
def busy_core() -> Iterator[str]:
    """Keep one core busy (the last one, when affinity can be set) with a spinning process."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    core = cores[-1] if len(cores) > 1 else None
    proc = mp.get_context("spawn").Process(target=_spin, args=(core,), daemon=True)
    proc.start()
    time.sleep(0.2)  # let it start spinning
    try:
        yield f"core {core}" if core is not None else "one core"
    finally:
        proc.terminate()
        proc.join()


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
    print(f"{name:<50} torch {t:>9,.0f} items/s   plies {p:>9,.0f} items/s   ratio {p / t:5.2f}x", flush=True)
    return p / t


def compare_tensors(name: str, tds: TensorDataset, nw: int, epochs: int) -> float:
    return compare(
        name,
        TorchDataLoader(tds, batch_size=64, num_workers=nw),
        DataLoader(tds, bs=64, num_workers=nw),
        len(tds),
        epochs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    parser.add_argument("--n-tensors", type=int, default=20_000)
    parser.add_argument("--n-pngs", type=int, default=2_000)
    parser.add_argument("--skip-pngs", action="store_true", help="only the in-memory rows")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} intra-op thread(s), {os.cpu_count()} CPUs, bs 64")
    ratios = {}

    g = torch.Generator().manual_seed(0)
    n = args.n_tensors
    images = TensorDataset(torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g))
    rows = TensorDataset(torch.randn(5 * n, 20, generator=g), torch.randint(0, 10, (5 * n,), generator=g))
    for nw in (0, 2):
        name = f"(a) in-memory 3x32x32, nw={nw}"
        ratios[f"3x32x32 nw={nw}"] = compare_tensors(name, images, nw, args.epochs)
    for nw in (0, 2):
        ratios[f"20 features nw={nw}"] = compare_tensors(
            f"(a) in-memory 20-feature rows, nw={nw}", rows, nw, args.epochs
        )
    with busy_core() as where:
        ratios["3x32x32 busy core"] = compare_tensors(
            f"(a') 3x32x32, nw=0, {where} busy", images, 0, args.epochs
        )
    torch.set_num_threads(1)
    ratios["3x32x32 1 thread"] = compare_tensors("(a') 3x32x32, nw=0, 1 thread", images, 0, args.epochs)
    torch.set_num_threads(args.threads)

    if not args.skip_pngs:
        with tempfile.TemporaryDirectory() as tmp:
            files = make_png_folder(Path(tmp), args.n_pngs)
            ds = PngFolder(files)
            for nw in (0, 2):
                ratios[f"pngs nw={nw}"] = compare(
                    f"(b) {len(files)} PNGs decoded+resized, nw={nw}",
                    TorchDataLoader(ds, batch_size=64, num_workers=nw),
                    DataLoader(ds, bs=64, num_workers=nw),
                    len(ds),
                    args.epochs,
                )
            dsets = Datasets(files, [[open_png], [lambda f: int(f.parent.name)]])
            compare(
                "(b') same via Datasets + TfmdDL, nw=0",
                TorchDataLoader(ds, batch_size=64),
                TfmdDL(dsets, bs=64),
                len(ds),
                args.epochs,
            )

    print("\nratios plies/torch (goal >= 0.95): " + ", ".join(f"{k}: {v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
