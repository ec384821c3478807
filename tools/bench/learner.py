"""Benchmark: per-batch overhead of `Learner.fit` against a hand-written PyTorch loop, in the same run.

Both train the same tiny MLP (20 -> 64 -> 2) with Adam (bs 64, ~300 training batches, one epoch of
training plus validation over 20% more data):
- raw: torch DataLoader over a TensorDataset, `model(x); loss.backward(); opt.step(); opt.zero_grad()`,
  then a `torch.no_grad()` validation loop accumulating the loss;
- plies: `Learner(dls, model, opt_func=Adam)` on plies DataLoaders over the same in-memory tensors
  (one index operation per batch), `fit(1)` with the progress bar off (`no_bar`) and on;
- the raw loop with plies' Adam, and the learner over the same torch DataLoaders: these two differ only
  by the learner's loop, so their difference is the per-batch overhead of the callbacks and events.
Each variant runs `--repeats` times (fresh model each time, after one warm-up run); the best (minimum)
process CPU time is reported (everything runs in this process with one thread, and CPU time is far
less disturbed than wall time on a shared machine) with the ratio to the raw loop (< 1: plies is faster).

With `--device cuda` the model lives on the GPU and time is wall time (the GPU synchronised before
each clock read): both loops read pinned host batches (`pin_memory=True`) and copy them with
`non_blocking=True`; an extra row runs the learner on data already on the GPU (one index op per batch).

    python tools/bench/learner.py [--repeats 7] [--threads 1] [--device cuda]
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from contextlib import redirect_stderr

import torch
from plies.learner import Learner
from plies.loaders import DataLoader, DataLoaders
from plies.optim import Adam
from torch import nn
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import TensorDataset

N_TRAIN, N_VALID, BS = 300 * 64, 60 * 64, 64
DEVICE = torch.device("cpu")


def clock() -> float:
    """Process CPU time on the CPU; wall time after a synchronisation on a GPU."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)
        return time.perf_counter()
    return time.process_time()


def make_data() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_TRAIN + N_VALID, 20, generator=g)
    y = (x[:, :2].sum(1) > 0).long()
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))


def raw_loop(data: tuple[torch.Tensor, ...], plies_opt: bool = False) -> float:
    xt, yt, xv, yv = data
    pin = DEVICE.type == "cuda"
    train = TorchDataLoader(TensorDataset(xt, yt), batch_size=BS, shuffle=True, pin_memory=pin)
    valid = TorchDataLoader(TensorDataset(xv, yv), batch_size=BS, pin_memory=pin)
    model = make_model().to(DEVICE)
    if plies_opt:
        opt = Adam(list(model.parameters()), lr=1e-3)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
    loss_func = nn.CrossEntropyLoss()
    start = clock()
    model.train()
    for xb, yb in train:
        xb, yb = xb.to(DEVICE, non_blocking=pin), yb.to(DEVICE, non_blocking=pin)
        loss = loss_func(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    total, count = torch.zeros((), device=DEVICE), 0
    with torch.no_grad():
        for xb, yb in valid:
            xb, yb = xb.to(DEVICE, non_blocking=pin), yb.to(DEVICE, non_blocking=pin)
            total += loss_func(model(xb), yb) * len(yb)
            count += len(yb)
    float(total / count)
    return clock() - start


def _learner(dls: DataLoaders) -> Learner:
    return Learner(dls, make_model(), loss_func=nn.CrossEntropyLoss(), opt_func=Adam, lr=1e-3)


def plies_fit(
    data: tuple[torch.Tensor, ...], bar: bool, torch_data: bool = False, on_device: bool = False
) -> float:
    xt, yt, xv, yv = data
    pin = DEVICE.type == "cuda" and not on_device
    if on_device:
        xt, yt, xv, yv = (t.to(DEVICE) for t in data)
    if torch_data:
        dls = DataLoaders(
            TorchDataLoader(TensorDataset(xt, yt), batch_size=BS, shuffle=True, pin_memory=pin),
            TorchDataLoader(TensorDataset(xv, yv), batch_size=BS, pin_memory=pin),
            device=DEVICE,
        )
    else:
        dls = DataLoaders(
            DataLoader((xt, yt), bs=BS, shuffle=True, pin_memory=pin),
            DataLoader((xv, yv), bs=BS, pin_memory=pin),
            device=DEVICE,
        )
    learn = _learner(dls)
    learn.create_opt()  # both loops time training only, not the optimizer's construction
    start = clock()
    with learn.no_logging(), redirect_stderr(io.StringIO()):
        if bar:
            learn.fit(1)
        else:
            with learn.no_bar():
                learn.fit(1)
    return clock() - start


def best_time(f: Callable[[], float], repeats: int) -> float:
    f()  # warm-up
    return min(f() for _ in range(repeats))  # min: the least disturbed run (shared CPUs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: stable timings)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:n]")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)
    data = make_data()
    n_batches = N_TRAIN // BS + N_VALID // BS
    raw = best_time(lambda: raw_loop(data), args.repeats)
    rows = [
        ("raw PyTorch loop (torch DataLoader)", raw),
        (
            "Learner.fit, bar off (plies DataLoader)",
            best_time(lambda: plies_fit(data, bar=False), args.repeats),
        ),
        (
            "Learner.fit, bar on  (plies DataLoader)",
            best_time(lambda: plies_fit(data, bar=True), args.repeats),
        ),
    ]
    raw_plies_opt = best_time(lambda: raw_loop(data, plies_opt=True), args.repeats)
    fit_torch_data = best_time(lambda: plies_fit(data, bar=False, torch_data=True), args.repeats)
    rows += [
        ("raw loop with plies' Adam (torch DataLoader)", raw_plies_opt),
        ("Learner.fit, bar off (torch DataLoader)", fit_torch_data),
    ]
    if DEVICE.type == "cuda":
        on_dev = best_time(lambda: plies_fit(data, bar=False, on_device=True), args.repeats)
        rows.append(("Learner.fit, bar off (plies DL, data on GPU)", on_dev))
    print(
        f"tiny MLP, bs {BS}, {N_TRAIN // BS} train + {N_VALID // BS} valid batches, "
        f"best {'wall' if DEVICE.type == 'cuda' else 'CPU'} time of {args.repeats}, "
        f"{args.threads} thread(s), device {DEVICE}"
    )
    for name, t in rows:
        print(f"{name:46s} {t * 1000:8.1f} ms  {t / n_batches * 1e6:7.1f} us/batch  ratio {t / raw:5.3f}")
    overhead = (fit_torch_data - raw_plies_opt) / n_batches * 1e6
    print(
        f"loop overhead alone (same data path and optimizer): {overhead:+.1f} us/batch, "
        f"ratio {fit_torch_data / raw_plies_opt:5.3f}"
    )


if __name__ == "__main__":
    main()
