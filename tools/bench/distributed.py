"""Throughput of data-parallel training with plies: 1 process vs 2 processes (gloo on the CPU, DDP).

A small CNN on synthetic 3x32x32 images, `Learner.fit` inside `learn.distrib_ctx()`, batch size 64
per process. Each configuration runs one warm-up epoch, then times `--epochs` epochs; throughput is
training samples per second over all processes. The baseline (1 process) is measured in the same run.

    .venv/bin/python tools/bench/distributed.py [--n 2048] [--epochs 2] [--reps 3]

On a GPU machine it also times one process on the GPU (nccl needs one GPU per process: with a single
GPU there is no 2-process figure).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn


def small_cnn() -> nn.Module:
    def block(ni: int, nf: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(ni, nf, 3, stride=2, padding=1), nn.BatchNorm2d(nf), nn.ReLU())

    return nn.Sequential(
        block(3, 16), block(16, 32), block(32, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)
    )


def worker(args: argparse.Namespace) -> None:
    """One process: train and write the timing (rank 0) to args.result."""
    from plies.learner import Learner
    from plies.loaders import DataLoader, DataLoaders

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (args.n,), generator=g)
    dls = DataLoaders(
        DataLoader((x, y), bs=args.bs, shuffle=True, seed=1),
        DataLoader((x[:256], y[:256]), bs=args.bs),
        device=args.device,
    )
    learn = Learner(dls, small_cnn(), loss_func=nn.CrossEntropyLoss())
    with learn.distrib_ctx(), learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)  # warm-up
        if args.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        learn.fit(args.epochs, 1e-3)
        if args.device == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
    if int(os.environ.get("RANK", "0")) == 0:
        Path(args.result).write_text(json.dumps({"seconds": elapsed}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(n_proc: int, threads: int, args: argparse.Namespace, device: str = "cpu") -> float:
    """Samples per second of a run with `n_proc` processes of `threads` threads each."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            "--threads",
            str(threads),
            "--n",
            str(args.n),
            "--bs",
            str(args.bs),
            "--epochs",
            str(args.epochs),
            "--result",
            str(result),
            "--device",
            device,
        ]
        env = {
            **os.environ,
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(free_port()),
            "WORLD_SIZE": str(n_proc),
            "OMP_NUM_THREADS": str(threads),
        }
        if sys.platform.startswith("linux"):
            env["GLOO_SOCKET_IFNAME"] = "lo"
        if n_proc == 1:
            env.pop("WORLD_SIZE")
        procs = [
            subprocess.Popen(cmd, cwd=tmp, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)})
            for r in range(n_proc)
        ]
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"a worker failed (exit {p.returncode})")
        seconds = json.loads(result.read_text())["seconds"]
    return args.n * args.epochs / seconds


def best_of(reps: int, configs: dict[str, tuple[int, int]], args: argparse.Namespace) -> dict[str, float]:
    """Best throughput of each config over `reps` rounds (configs interleaved, so a burst of outside
    load hits them alike; the best run is the least disturbed one)."""
    best = dict.fromkeys(configs, 0.0)
    for _ in range(reps):
        for name, (n_proc, threads) in configs.items():
            best[name] = max(best[name], run(n_proc, threads, args))
    return best


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n", type=int, default=2048)
    p.add_argument("--bs", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--result", default="")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    cores = os.cpu_count() or 1
    per = max(1, cores // 2)
    print(
        f"small CNN, {args.n} samples of 3x32x32, bs {args.bs} per process, {args.epochs} timed epochs, best "
        f"of {args.reps}; {cores} CPU cores; torch {torch.__version__}"
    )
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        print(f"load average before the runs: {load:.1f} (other work on the cores skews the figures)")
    configs = {"1x1": (1, 1), f"1x{cores}": (1, cores), f"2x{per}": (2, per)}
    best = best_of(args.reps, configs, args)
    base = best["1x1"]
    print(f"CPU  1 process  x 1 thread   : {base:8.1f} samples/s   (baseline)")
    print(
        f"CPU  1 process  x {cores} threads  : {best[f'1x{cores}']:8.1f} samples/s   "
        f"({best[f'1x{cores}'] / base:.2f}x)"
    )
    print(
        f"CPU  2 processes x {per} thread  : {best[f'2x{per}']:8.1f} samples/s   "
        f"({best[f'2x{per}'] / base:.2f}x the baseline, {best[f'2x{per}'] / best[f'1x{cores}']:.2f}x one "
        f"process on all cores; gloo DDP, global batch 2 x bs)"
    )
    if torch.cuda.is_available():
        gpu = run(1, 1, args, device="cuda")
        print(f"GPU  1 process  ({torch.cuda.get_device_name()}): {gpu:8.1f} samples/s   ({gpu / base:.2f}x)")
        if torch.cuda.device_count() >= 2:
            gpu2 = run(2, 1, args, device="cuda")
            print(f"GPU  2 processes (nccl): {gpu2:8.1f} samples/s   ({gpu2 / gpu:.2f}x 1 GPU)")
        else:
            print("GPU  2 processes: needs 2 GPUs (nccl takes one GPU per process); this machine has 1")
    else:
        print("GPU: none on this machine (no CUDA device), no GPU figures")


if __name__ == "__main__":
    main()
