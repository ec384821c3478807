"""Throughput of data-parallel training with plies: 1 process vs 2 processes (gloo on the CPU, DDP).

A small CNN on synthetic 3x32x32 images, `Learner.fit` inside `learn.distrib_ctx()`, batch size 64
per process. Each configuration runs one warm-up epoch, then times `--epochs` epochs; throughput is
training samples per second over all processes. The baseline (1 process) is measured in the same run.

    .venv/bin/python tools/bench/distributed.py [--n 4096] [--epochs 2]

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

    return nn.Sequential(block(3, 16), block(16, 32), block(32, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(64, 10))


def worker(args: argparse.Namespace) -> None:
    """One process: train and write the timing (rank 0) to args.result."""
    from plies.learner import Learner
    from plies.loaders import DataLoader, DataLoaders

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (args.n,), generator=g)
    dls = DataLoaders(DataLoader((x, y), bs=args.bs, shuffle=True, seed=1),
                      DataLoader((x[:256], y[:256]), bs=args.bs), device=args.device)
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
        cmd = [sys.executable, __file__, "--worker", "--threads", str(threads), "--n", str(args.n), "--bs",
               str(args.bs), "--epochs", str(args.epochs), "--result", str(result), "--device", device]
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
               "WORLD_SIZE": str(n_proc), "OMP_NUM_THREADS": str(threads)}
        if sys.platform.startswith("linux"):
            env["GLOO_SOCKET_IFNAME"] = "lo"
        if n_proc == 1:
            env.pop("WORLD_SIZE")
        procs = [subprocess.Popen(cmd, cwd=tmp, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)})
                 for r in range(n_proc)]
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"a worker failed (exit {p.returncode})")
        seconds = json.loads(result.read_text())["seconds"]
    return args.n * args.epochs / seconds


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n", type=int, default=4096)
    p.add_argument("--bs", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--result", default="")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    cores = os.cpu_count() or 1
    print(f"small CNN, {args.n} samples of 3x32x32, bs {args.bs} per process, {args.epochs} timed epochs; "
          f"{cores} CPU cores; torch {torch.__version__}")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        print(f"load average before the runs: {load:.1f} (other work on the cores skews the figures)")
    base = run(1, 1, args)
    print(f"CPU  1 process  x 1 thread : {base:8.1f} samples/s   (baseline)")
    if cores >= 2:
        one_two = run(1, 2, args)
        print(f"CPU  1 process  x 2 threads: {one_two:8.1f} samples/s   ({one_two / base:.2f}x)")
    per = max(1, cores // 2)
    two = run(2, per, args)
    print(f"CPU  2 processes x {per} thread : {two:8.1f} samples/s   ({two / base:.2f}x the baseline; "
          "gloo DDP, global batch 2 x bs)")
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
