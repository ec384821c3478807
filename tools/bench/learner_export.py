"""Benchmark: pickle-free `Learner.export` / `load_learner` against `torch.save` / `torch.load` of the model.

Also times the per-batch cost of accumulating a scikit-learn metric (`F1Score`) against a plain
averaged one (`accuracy`) during validation. Not a test: prints timings and ratios measured in this run.

    python tools/bench/learner_export.py
"""

from __future__ import annotations

import io
import tempfile
import time
import warnings
from pathlib import Path

import torch
from plies.layers import xresnet18
from plies.learner import AvgMetric, F1Score, Learner, accuracy, load_learner
from plies.loaders import DataLoader, DataLoaders
from plies.typecore import TensorCategory


def best_of(f, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 3, 32, 32)
    y = TensorCategory(torch.randint(0, 10, (64,)))
    dls = DataLoaders(DataLoader((x, y), bs=32), DataLoader((x, y), bs=32), device="cpu")
    path = Path(tempfile.mkdtemp())
    learn = Learner(dls, xresnet18(n_out=10), path=path)
    n_params = sum(p.numel() for p in learn.model.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tensor DataLoaders have no pipeline state to export
        export_s = best_of(lambda: learn.export("bench.plies"))
    load_s = best_of(lambda: load_learner(path / "bench.plies"))
    buf = io.BytesIO()

    def pickle_save() -> None:
        buf.seek(0)
        buf.truncate()
        torch.save(learn.model, buf)

    save_s = best_of(pickle_save)

    def pickle_load() -> None:
        buf.seek(0)
        torch.load(buf, weights_only=False)

    torch_load_s = best_of(pickle_load)
    size = (path / "bench.plies").stat().st_size
    print(f"xresnet18 ({n_params / 1e6:.1f}M params), export file {size / 2**20:.1f} MiB")
    print(f"export       {export_s * 1e3:8.1f} ms   torch.save(model) {save_s * 1e3:8.1f} ms   "
          f"ratio {export_s / save_s:.2f}")  # fmt: skip
    print(f"load_learner {load_s * 1e3:8.1f} ms   torch.load(model) {torch_load_s * 1e3:8.1f} ms   "
          f"ratio {load_s / torch_load_s:.2f}")  # fmt: skip

    preds = torch.randn(256, 10)
    targs = TensorCategory(torch.randint(0, 10, (256,)))

    class FakeLearn:
        def __init__(self, i: int) -> None:
            self.pred, self.yb = preds[i * 32 : (i + 1) * 32], (targs[i * 32 : (i + 1) * 32],)

    batches = [FakeLearn(i) for i in range(8)]

    def run(metric) -> None:
        metric.reset()
        for b in batches:
            metric.accumulate(b)
        _ = metric.value

    avg_s = best_of(lambda: run(AvgMetric(accuracy)), 20)
    f1 = F1Score(average="macro")
    f1_s = best_of(lambda: run(f1), 20)
    print(
        f"8 batches: AvgMetric(accuracy) {avg_s * 1e3:.2f} ms, F1Score (sklearn) {f1_s * 1e3:.2f} ms, "
        f"ratio {f1_s / avg_s:.1f}"
    )


if __name__ == "__main__":
    main()
