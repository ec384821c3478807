"""Train a tiny classifier with plies; used by the distributed and checkpoint tests.

Runs as a script (one process, or one rank under torchrun / RANK+WORLD_SIZE env vars) or through
`main(argv)` in-process. Writes the final parameters of each rank to ``OUT/rank{r}.safetensors`` and
the Recorder's history to ``OUT/rank{r}.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from plies.learner import (
    Callback,
    CheckpointCallback,
    GradientAccumulation,
    Learner,
    SaveModelCallback,
    accuracy,
)
from plies.loaders import DataLoader, DataLoaders
from plies.typecore import set_seed
from safetensors.torch import save_file
from torch import nn


def make_data(
    n_train: int, n_valid: int
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """A 3-class problem on 4 features (fixed: the same on every rank and every run)."""
    g = torch.Generator().manual_seed(0)
    n = n_train + n_valid
    x = torch.randn(n, 4, generator=g)
    logits = x @ torch.randn(4, 3, generator=g) + 0.5 * torch.randn(n, 3, generator=g)
    y = logits.argmax(1)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


class Crash(RuntimeError):
    """The simulated crash of `--crash-at`."""


class Progress(Callback):
    """Print the global batch count after each training batch (the tests watch for it), sleep to pace
    the run, and crash after batch `crash_at` (after CheckpointCallback had its turn)."""

    order = 95

    def __init__(self, sleep: float, verbose: bool, crash_at: int) -> None:
        super().__init__()
        self.sleep, self.verbose, self.crash_at = sleep, verbose, crash_at

    def after_batch(self) -> None:
        if self.learn.training:
            if self.verbose:
                print(f"BATCH {self.learn.train_iter}", flush=True)
            if self.learn.train_iter == self.crash_at:
                raise Crash(f"simulated crash after batch {self.crash_at}")
            if self.sleep:
                time.sleep(self.sleep)


def main(argv: list[str] | None = None) -> Learner:
    p = argparse.ArgumentParser()
    p.add_argument("--path", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--bs", type=int, default=8)
    p.add_argument("--n-train", type=int, default=96)
    p.add_argument("--n-valid", type=int, default=37)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--seed-per-rank", action="store_true", help="seed rank r with seed + r")
    p.add_argument("--dl-seed", type=int, default=None)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--ckpt-every", type=int, default=0)
    p.add_argument("--resume", default=None)
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--print-batches", action="store_true")
    p.add_argument("--crash-at", type=int, default=-1)
    p.add_argument("--path-per-rank", action="store_true", help="learn.path = PATH-r{rank}")
    p.add_argument("--get-preds", action="store_true")
    p.add_argument("--lr-find", action="store_true")
    p.add_argument("--accum", type=int, default=0, help="GradientAccumulation(n_acc=ACCUM)")
    p.add_argument("--save-best", action="store_true", help="SaveModelCallback(monitor='accuracy')")
    p.add_argument(
        "--fit", default="one_cycle", choices=["one_cycle", "fit", "flat_cos", "sgdr", "fine_tune"]
    )
    args = p.parse_args(argv)

    rank = int(os.environ.get("RANK", "0"))
    path = f"{args.path}-r{rank}" if args.path_per_rank else args.path
    set_seed(args.seed + (rank if args.seed_per_rank else 0))
    train, valid = make_data(args.n_train, args.n_valid)
    dls = DataLoaders(
        DataLoader(train, bs=args.bs, shuffle=True, seed=args.dl_seed), DataLoader(valid, bs=args.bs)
    )
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(args.dropout), nn.Linear(16, 3))
    cbs: list[Callback] = [Progress(args.sleep, args.print_batches, args.crash_at)]
    if args.ckpt_every:
        cbs.append(CheckpointCallback(every_n_batches=args.ckpt_every))
    if args.accum:
        cbs.append(GradientAccumulation(n_acc=args.accum))
    if args.save_best:
        cbs.append(SaveModelCallback(monitor="accuracy"))
    learn = Learner(dls, model, loss_func=nn.CrossEntropyLoss(), metrics=accuracy, path=path, cbs=cbs)
    extra: dict[str, torch.Tensor] = {}
    history: dict = {}
    with learn.distrib_ctx(), learn.no_bar():
        if args.lr_find:
            before = [p.detach().clone() for p in learn.model.parameters()]
            history["lr_find"] = list(learn.lr_find(num_it=20, show_plot=False))
            after = list(learn.model.parameters())
            history["lr_find_restored"] = all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
        if args.fit == "one_cycle":
            learn.fit_one_cycle(args.epochs, 1e-2, resume_from=args.resume)
        elif args.fit == "fit":
            learn.fit(args.epochs, 1e-2, resume_from=args.resume)
        elif args.fit == "flat_cos":
            learn.fit_flat_cos(args.epochs, 1e-2, resume_from=args.resume)
        elif args.fit == "sgdr":
            learn.fit_sgdr(2, 1, 1e-2, resume_from=args.resume)
        else:
            learn.splitter = lambda m: [list(m[0].parameters()), list(m[3].parameters())]
            learn.fine_tune(args.epochs, 1e-2, freeze_epochs=1, resume_from=args.resume)
        if args.get_preds:
            extra["preds"], extra["targs"] = learn.get_preds()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().contiguous() for k, v in learn.model.state_dict().items()}
    save_file({**weights, **extra}, out / f"rank{rank}.safetensors")
    history["values"] = [[float(v) for v in row] for row in learn.recorder.values]
    history["losses"] = [float(v) for v in learn.recorder.losses]
    (out / f"rank{rank}.json").write_text(json.dumps(history))
    return learn


if __name__ == "__main__":
    main(sys.argv[1:])
