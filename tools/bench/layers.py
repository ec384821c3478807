"""Benchmark plies.layers: Mish implementations (forward + backward) against the naive formula.

Run: .venv/bin/python tools/bench/layers.py   (prints timings and ratios measured in the same run)
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from plies.layers import Mish, MishJit


def naive_mish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.tanh(F.softplus(x))


def bench(fn, x: torch.Tensor, reps: int = 20) -> float:
    """Median seconds of one forward + backward."""
    times = []
    for i in range(reps + 3):
        xi = x.detach().requires_grad_()
        if x.is_cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn(xi).sum().backward()
        if x.is_cuda:
            torch.cuda.synchronize()
        if i >= 3:
            times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.randn(32, 64, 56, 56, device=device)
    base = bench(naive_mish, x)
    print(f"device={device} input={tuple(x.shape)}")
    print(f"naive x*tanh(softplus(x)): {base * 1e3:8.2f} ms  (1.00x)")
    for name, fn in [("Mish (F.mish)", Mish()), ("MishJit (autograd.Function)", MishJit())]:
        t = bench(fn, x)
        print(f"{name:27s}: {t * 1e3:8.2f} ms  (speed-up vs naive: {base / t:.2f}x)")


if __name__ == "__main__":
    main()
