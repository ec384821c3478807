"""Benchmark: per-batch overhead of `Learner.fit` against a hand-written PyTorch loop, in the same run.

Two models, each trained for one epoch (plus validation over 20% more data) with Adam, bs 64:
- `--model mlp`: a tiny MLP (20 -> 64 -> 2) on 20-feature rows, 300 + 60 batches;
- `--model cnn`: a small CNN (two 3x3 convs, 8 and 16 channels, pooling, a linear head) on in-memory
  3x32x32 tensors, 100 + 20 batches.
Rows:
- raw: torch DataLoader over a TensorDataset, `model(x); loss.backward(); opt.step(); opt.zero_grad()`,
  then a `torch.no_grad()` validation loop accumulating the loss;
- the same raw loop over plies' DataLoaders (one index operation per batch): the data path alone;
- plies: `Learner(dls, model, opt_func=Adam)` on plies DataLoaders, `fit(1)` with the progress bar off
  (`no_bar`) and on, and `fit_one_cycle(1)` (bar off);
- the raw loop with plies' Adam, and the learner over the same torch DataLoaders: these two differ only
  by the learner's loop, so their difference is the per-batch overhead of the callbacks and events.
The variants run in alternation, round after round (`--repeats` rounds after one warm-up round, a fresh
model each time); each row prints the median time and the median of the per-round ratios to the raw
loop (< 1: plies is faster), so load on a shared machine cancels out. The clock is process CPU time
with one thread on the CPU (least disturbed by other processes), wall time otherwise (with several
threads CPU time would count the thread pool's spinning; on a GPU after a synchronisation).

With `--device cuda` the model lives on the GPU: both loops read pinned host batches (`pin_memory=True`)
and copy them with `non_blocking=True`; an extra row runs the learner on data already on the GPU.

    python tools/bench/learner.py [--model mlp|cnn|both] [--repeats 7] [--threads 1] [--device cuda]
"""

from __future__ import annotations

import argparse
import io
import statistics
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

BS = 64
BATCHES = {"mlp": (300, 60), "cnn": (100, 20)}  # train, valid
DEVICE = torch.device("cpu")
WALL = False


def clock() -> float:
    """Process CPU time with one CPU thread; wall time otherwise (after a synchronisation on a GPU)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)
    return time.perf_counter() if WALL else time.process_time()


def make_data(kind: str) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    n_train, n_valid = (n * BS for n in BATCHES[kind])
    shape = (20,) if kind == "mlp" else (3, 32, 32)
    x = torch.randn(n_train + n_valid, *shape, generator=g)
    y = (x.flatten(1)[:, :2].sum(1) > 0).long()
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def make_model(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 2),
    )


def torch_loaders(data: tuple[torch.Tensor, ...], pin: bool) -> tuple[TorchDataLoader, TorchDataLoader]:
    xt, yt, xv, yv = data
    return (
        TorchDataLoader(TensorDataset(xt, yt), batch_size=BS, shuffle=True, pin_memory=pin),
        TorchDataLoader(TensorDataset(xv, yv), batch_size=BS, pin_memory=pin),
    )


def plies_loaders(data: tuple[torch.Tensor, ...], pin: bool) -> tuple[DataLoader, DataLoader]:
    xt, yt, xv, yv = data
    return DataLoader((xt, yt), bs=BS, shuffle=True, pin_memory=pin), DataLoader(
        (xv, yv), bs=BS, pin_memory=pin
    )


def raw_loop(
    kind: str, data: tuple[torch.Tensor, ...], plies_opt: bool = False, plies_data: bool = False
) -> float:
    pin = DEVICE.type == "cuda"
    train, valid = (plies_loaders if plies_data else torch_loaders)(data, pin)
    model = make_model(kind).to(DEVICE)
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


def plies_fit(
    kind: str,
    data: tuple[torch.Tensor, ...],
    bar: bool = False,
    torch_data: bool = False,
    on_device: bool = False,
    one_cycle: bool = False,
) -> float:
    pin = DEVICE.type == "cuda" and not on_device
    if on_device:
        data = tuple(t.to(DEVICE) for t in data)
    dls = DataLoaders(*(torch_loaders if torch_data else plies_loaders)(data, pin), device=DEVICE)
    learn = Learner(dls, make_model(kind), loss_func=nn.CrossEntropyLoss(), opt_func=Adam, lr=1e-3)
    learn.create_opt()  # both loops time training only, not the optimizer's construction
    start = clock()
    with learn.no_logging(), redirect_stderr(io.StringIO()):
        fit = (lambda: learn.fit_one_cycle(1, lr_max=1e-3)) if one_cycle else (lambda: learn.fit(1))
        if bar:
            fit()
        else:
            with learn.no_bar():
                fit()
    return clock() - start


def interleaved(
    variants: dict[str, Callable[[], float]], repeats: int
) -> dict[str, tuple[float, list[float]]]:
    """Run every variant once per round (one warm-up round first): {name: (median time, quartiles of the
    per-round ratios to the first variant)}."""
    for f in variants.values():
        f()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, f in variants.items():
            times[name].append(f())
    base = next(iter(times.values()))
    return {
        name: (statistics.median(ts), quartiles([t / b for t, b in zip(ts, base, strict=True)]))
        for name, ts in times.items()
    }


def quartiles(values: list[float]) -> list[float]:
    """[first quartile, median, third quartile] (all three the value itself for a single value)."""
    return statistics.quantiles(values, n=4) if len(values) > 1 else values * 3


def bench(kind: str, repeats: int, threads: int) -> None:
    data = make_data(kind)
    n_batches = sum(BATCHES[kind])
    variants: dict[str, Callable[[], float]] = {
        "raw PyTorch loop (torch DataLoader)": lambda: raw_loop(kind, data),
        "raw PyTorch loop (plies DataLoader)": lambda: raw_loop(kind, data, plies_data=True),
        "Learner.fit, bar off (plies DataLoader)": lambda: plies_fit(kind, data),
        "Learner.fit, bar on  (plies DataLoader)": lambda: plies_fit(kind, data, bar=True),
        "fit_one_cycle, bar off (plies DataLoader)": lambda: plies_fit(kind, data, one_cycle=True),
        "raw loop with plies' Adam (torch DataLoader)": lambda: raw_loop(kind, data, plies_opt=True),
        "Learner.fit, bar off (torch DataLoader)": lambda: plies_fit(kind, data, torch_data=True),
    }
    if DEVICE.type == "cuda":
        variants["Learner.fit, bar off (plies DL, data on GPU)"] = lambda: plies_fit(
            kind, data, on_device=True
        )
    results = interleaved(variants, repeats)
    model = "tiny MLP on 20 features" if kind == "mlp" else "small CNN on 3x32x32"
    print(
        f"{model}, bs {BS}, {BATCHES[kind][0]} train + {BATCHES[kind][1]} valid batches, medians of "
        f"{repeats} interleaved rounds, {'wall' if WALL else 'CPU'} time, {threads} thread(s), "
        f"device {DEVICE}"
    )
    print(f"  {'':46s} {'median':>11s} {'per batch':>17s}  ratio to raw (quartiles over rounds)")
    for name, (t, (q1, ratio, q3)) in results.items():
        print(
            f"  {name:46s} {t * 1000:8.1f} ms  {t / n_batches * 1e6:8.1f} us/batch  "
            f"ratio {ratio:5.3f}  [{q1:5.3f} - {q3:5.3f}]"
        )
    raw_opt, fit_torch = (
        results[k]
        for k in ("raw loop with plies' Adam (torch DataLoader)", "Learner.fit, bar off (torch DataLoader)")
    )
    overhead = (fit_torch[0] - raw_opt[0]) / n_batches * 1e6
    print(
        f"  loop overhead alone (same data path and optimizer): {overhead:+.1f} us/batch, "
        f"ratio {fit_torch[0] / raw_opt[0]:5.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mlp", "cnn", "both"), default="both")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: 1 for the MLP, 2 for the CNN)",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:n]")
    args = parser.parse_args()
    global DEVICE, WALL
    DEVICE = torch.device(args.device)
    for kind in ("mlp", "cnn") if args.model == "both" else (args.model,):
        threads = args.threads or (1 if kind == "mlp" else 2)
        torch.set_num_threads(threads)
        WALL = DEVICE.type == "cuda" or threads > 1
        bench(kind, args.repeats, threads)


if __name__ == "__main__":
    main()
