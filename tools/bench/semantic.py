"""Benchmark: a training step on a semantic-typed batch (TensorImage, TensorCategory) against the same
batch as plain tensors, in the same run.

The learner strips the semantic subclasses before the forward pass and the loss (plain views, no
copy), so the model pays no `__torch_function__` dispatch on its every op; the goal is a typed step
within 1.02x of a plain one. Rows (a small conv net: two 3x3 convs, pooling and a linear head, batch
`--bs` x 3 x 32 x 32, plies' SGD with momentum):
- raw step, plain batch: `loss_func(model(x), y).backward(); opt.step(); opt.zero_grad()` (the baseline);
- raw step, typed batch: the same loop fed the TensorImage/TensorCategory batch directly, i.e. the model
  running on subclasses as fastai's does (what the stripping saves);
- Learner, plain batch / typed batch: `Learner.fit` over a loader that yields the same batch
  `--steps` times (bar and logging off), so the difference is the typed batch alone.
Variants run interleaved (the order rotated each round), `--repeats` rounds after a warm-up; each
one's best (minimum) time is printed, and each typed/plain ratio both from the best times and as the
median of the rounds' ratios (robust on a shared machine): process CPU time on the CPU (one thread),
wall time after a synchronisation on a GPU.

    python tools/bench/semantic.py [--repeats 9] [--steps 40] [--bs 32] [--threads 1] [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from functools import partial

import torch
from plies.learner import Learner
from plies.loaders import DataLoaders
from plies.optim import SGD
from plies.typecore import TensorCategory, TensorImage
from torch import nn

DEVICE = torch.device("cpu")
RAW_PLAIN, RAW_TYPED = "raw step, plain batch", "raw step, typed batch (model on subclasses)"
FIT_PLAIN, FIT_TYPED = "Learner.fit, plain batch", "Learner.fit, typed batch"


def clock() -> float:
    """Process CPU time on the CPU; wall time after a synchronisation on a GPU."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)
        return time.perf_counter()
    return time.process_time()


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    ).to(DEVICE)


class Repeat:
    """A loader yielding the same batch `n` times (no data loading cost in the timing)."""

    def __init__(self, batch: tuple[torch.Tensor, ...], n: int) -> None:
        self.batch, self.n = batch, n

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for _ in range(self.n):
            yield self.batch

    def __len__(self) -> int:
        return self.n

    def one_batch(self) -> tuple[torch.Tensor, ...]:
        return self.batch

    def to(self, device: torch.device) -> Repeat:
        """The batch is made on the device already."""
        return self


def raw_steps(batch: tuple[torch.Tensor, ...], steps: int) -> float:
    model = make_model()
    opt = SGD(list(model.parameters()), lr=0.01, mom=0.9)
    loss_func = nn.CrossEntropyLoss()
    x, y = batch
    start = clock()
    for _ in range(steps):
        loss = loss_func(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return clock() - start


def learner_steps(batch: tuple[torch.Tensor, ...], steps: int) -> float:
    dls = DataLoaders(Repeat(batch, steps), Repeat(batch, 0), device=DEVICE)
    opt_func = partial(SGD, mom=0.9)
    learn = Learner(dls, make_model(), loss_func=nn.CrossEntropyLoss(), opt_func=opt_func, lr=0.01)
    learn.create_opt()
    start = clock()
    with learn.no_bar(), learn.no_logging():
        learn.fit(1)
    return clock() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--steps", type=int, default=40, help="training steps per timed run")
    parser.add_argument("--bs", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: stable timings)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:n]")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.bs, 3, 32, 32, generator=g).to(DEVICE)
    y = torch.randint(0, 10, (args.bs,), generator=g).to(DEVICE)
    plain, typed = (x, y), (TensorImage(x), TensorCategory(y))
    variants: dict[str, Callable[[], float]] = {
        RAW_PLAIN: lambda: raw_steps(plain, args.steps),
        RAW_TYPED: lambda: raw_steps(typed, args.steps),
        FIT_PLAIN: lambda: learner_steps(plain, args.steps),
        FIT_TYPED: lambda: learner_steps(typed, args.steps),
    }
    for f in variants.values():  # warm-up
        f()
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.repeats):  # interleaved, the order rotated each round: no variant always runs first
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(variants[name]())
    best = {name: min(ts) for name, ts in times.items()}
    base = best[RAW_PLAIN]
    print(
        f"small conv net, batch {args.bs}x3x32x32, {args.steps} steps per run, best "
        f"{'wall' if DEVICE.type == 'cuda' else 'CPU'} time of {args.repeats}, "
        f"{args.threads} thread(s), device {DEVICE}"
    )
    for name, t in best.items():
        print(f"{name:44s} {t / args.steps * 1e3:8.3f} ms/step  ratio to raw plain {t / base:5.3f}")
    pairs = (
        ("model on subclasses (raw loop)", RAW_TYPED, RAW_PLAIN, ""),
        ("Learner (models see plain tensors)", FIT_TYPED, FIT_PLAIN, "  (goal <= 1.02)"),
    )
    for label, typed_name, plain_name, goal in pairs:
        # the median of each round's ratio: the two runs of a round share the machine's load at the time
        paired = statistics.median(t / p for t, p in zip(times[typed_name], times[plain_name], strict=True))
        print(
            f"typed / plain, {label}: best {best[typed_name] / best[plain_name]:5.3f}, "
            f"median of rounds {paired:5.3f}{goal}"
        )


if __name__ == "__main__":
    main()
