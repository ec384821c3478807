"""Benchmark plies.layers: Mish implementations against the naive formula, and one training step of
xresnet50 against torchvision's resnet50 (the extra stem convs and avg-pool shortcuts cost a little).

Run: .venv/bin/python tools/bench/layers.py   (prints timings and ratios measured in the same run)
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from plies.layers import Mish, MishJit, xresnet50


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

    import torchvision  # a dev dependency, only for this comparison

    batch = torch.randn(8, 3, 128, 128, device=device)
    tv = torchvision.models.resnet50(weights=None).to(device)
    ours = xresnet50().to(device)
    t_tv = bench(lambda x: tv(x), batch, reps=5)
    t_ours = bench(lambda x: ours(x), batch, reps=5)
    print(
        f"train step, batch {tuple(batch.shape)}: torchvision resnet50 {t_tv * 1e3:.1f} ms, "
        f"xresnet50 {t_ours * 1e3:.1f} ms (ratio {t_ours / t_tv:.2f}x)"
    )


if __name__ == "__main__":
    main()
