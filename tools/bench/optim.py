"""Step time of plies.optim optimizers against torch.optim's foreach and fused equivalents.

The parameter list of a model (`--model resnet50`: the 161 tensors of torchvision's resnet50, 25.6M
parameters, built from their shapes; `--model xresnet18`: plies' xresnet18, 62 tensors, 11.2M) with
fixed random gradients; each optimizer takes `--steps` steps, timed in rounds that alternate plies and
torch so that both see the same machine load. Prints the median step time of each and the ratio
plies / torch. plies runs with its defaults (`fused=None`: torch's fused kernel for SGD and Adam(W);
`foreach=None` for the rest: vectorised on accelerators, per tensor on the CPU); `--paths` also times
plies unfused (`fused=False`, what the default was before the fused path), and forced onto the foreach
and the per-tensor paths.
Usage: python tools/bench/optim.py [--model xresnet18] [--device cuda] [--threads 1 --clock cpu] [--paths]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from plies.optim import SGD, Adam, Lamb, Larc, QHAdam, RAdam, RMSProp, ranger


def resnet50_shapes() -> list[tuple[int, ...]]:
    """Parameter shapes of a ResNet-50 (conv weights, BatchNorm weights and biases, final linear layer)."""
    shapes: list[tuple[int, ...]] = [(64, 3, 7, 7), (64,), (64,)]
    inplanes = 64
    for planes, blocks in zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True):
        for b in range(blocks):
            shapes += [(planes, inplanes, 1, 1), (planes,), (planes,)]
            shapes += [(planes, planes, 3, 3), (planes,), (planes,)]
            shapes += [(planes * 4, planes, 1, 1), (planes * 4,), (planes * 4,)]
            if b == 0:
                shapes += [(planes * 4, inplanes, 1, 1), (planes * 4,), (planes * 4,)]
            inplanes = planes * 4
    return shapes + [(1000, 2048), (1000,)]


def xresnet18_shapes() -> list[tuple[int, ...]]:
    """Parameter shapes of plies' xresnet18 with 10 classes (the digits recipe)."""
    from plies.layers import xresnet18

    return [tuple(p.shape) for p in xresnet18(n_out=10).parameters()]


SHAPES = {"resnet50": resnet50_shapes, "xresnet18": xresnet18_shapes}
MODEL_SHAPES: list[tuple[int, ...]] = []


def make_params(device: str) -> list[torch.Tensor]:
    """Fresh parameters with fixed random gradients."""
    gen = torch.Generator().manual_seed(0)
    params = []
    for shape in MODEL_SHAPES:
        p = torch.nn.Parameter(torch.randn(shape, generator=gen).mul_(0.05).to(device))
        p.grad = torch.randn(shape, generator=gen).mul_(1e-3).to(device)
        params.append(p)
    return params


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def time_steps(opt: object, steps: int, device: str, clock: str = "wall") -> float:
    """Mean seconds per step over `steps` steps, by the wall clock or the process's CPU time."""
    now = CLOCKS[clock]
    sync(device)
    start = now()
    for _ in range(steps):
        opt.step()  # type: ignore[attr-defined]
    sync(device)
    return (now() - start) / steps


Factory = Callable[[list[torch.Tensor]], object]

PAIRS: list[tuple[str, Factory, Factory | None]] = [
    ("SGD (no momentum)", lambda ps: SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1, foreach=True)),
    (
        "SGD+mom",
        lambda ps: SGD(ps, lr=0.1, mom=0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, foreach=True),
    ),
    (
        "SGD+mom+wd (L2)",
        lambda ps: SGD(ps, lr=0.1, mom=0.9, wd=1e-4, decouple_wd=False),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-4, foreach=True),
    ),
    (
        "Adam",
        lambda ps: Adam(ps, lr=1e-3, wd=0.0, decouple_wd=False),
        lambda ps: torch.optim.Adam(ps, lr=1e-3, betas=(0.9, 0.99), eps=1e-5, foreach=True),
    ),
    (
        "AdamW",
        lambda ps: Adam(ps, lr=1e-3, wd=0.01),
        lambda ps: torch.optim.AdamW(
            ps, lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01, foreach=True
        ),
    ),
    (
        "AdamW (vs torch fused)",
        lambda ps: Adam(ps, lr=1e-3, wd=0.01),
        lambda ps: torch.optim.AdamW(ps, lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01, fused=True),
    ),
    (
        "SGD+mom (vs torch fused)",
        lambda ps: SGD(ps, lr=0.1, mom=0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, fused=True),
    ),
    (
        "RMSProp",
        lambda ps: RMSProp(ps, lr=1e-3),
        lambda ps: torch.optim.RMSprop(ps, lr=1e-3, alpha=0.99, eps=1e-8, foreach=True),
    ),
    (
        "RAdam",
        lambda ps: RAdam(ps, lr=1e-3, wd=0.0, decouple_wd=False),
        lambda ps: torch.optim.RAdam(ps, lr=1e-3, betas=(0.9, 0.99), eps=1e-5, foreach=True),
    ),
    (
        "QHAdam (vs torch AdamW)",
        lambda ps: QHAdam(ps, lr=1e-3),
        lambda ps: torch.optim.AdamW(ps, lr=1e-3, foreach=True),
    ),
    (
        "Lamb (vs torch AdamW)",
        lambda ps: Lamb(ps, lr=1e-3),
        lambda ps: torch.optim.AdamW(ps, lr=1e-3, foreach=True),
    ),
    (
        "Larc (vs torch SGD+mom)",
        lambda ps: Larc(ps, lr=1e-3),
        lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9, foreach=True),
    ),
    (
        "ranger (vs torch RAdam)",
        lambda ps: ranger(ps, lr=1e-3),
        lambda ps: torch.optim.RAdam(ps, lr=1e-3, foreach=True),
    ),
]


def with_path(factory: Factory, foreach: bool | None) -> Factory:
    """The same plies optimizer unfused, on the foreach (True), per-tensor (False) or default (None) path."""

    def build(ps: list[torch.Tensor]) -> object:
        opt = factory(ps)
        inner = getattr(opt, "opt", opt)
        inner.fused, inner.foreach = False, foreach
        return opt

    return build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", choices=list(SHAPES), default="resnet50", help="whose parameter shapes")
    parser.add_argument("--steps", type=int, default=5, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timed rounds")
    parser.add_argument(
        "--paths", action="store_true", help="also time plies forced onto the foreach and per-tensor paths"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument(
        "--clock", choices=list(CLOCKS), default="wall", help="cpu: process CPU time (steadier when busy)"
    )
    parser.add_argument("--only", default="", help="comma-separated names to run (substring match)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    MODEL_SHAPES[:] = SHAPES[args.model]()
    n = sum(torch.Size(s).numel() for s in MODEL_SHAPES)
    print(
        f"model={args.model} device={args.device} params={n / 1e6:.2f}M tensors={len(MODEL_SHAPES)}"
        f" torch={torch.__version__}"
        f" threads={torch.get_num_threads()} clock={args.clock}"
    )
    print(f"{'optimizer':38s} {'plies ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for name, mine, ref in PAIRS:
        if args.only and not any(o.strip() in name for o in args.only.split(",")):
            continue
        variants = [(name, mine)]
        if args.paths:
            variants += [
                (name + " [fused=False]", with_path(mine, None)),
                (name + " [foreach]", with_path(mine, True)),
                (name + " [per-tensor]", with_path(mine, False)),
            ]
        for label, factory in variants:
            opt_a, opt_b = factory(make_params(args.device)), ref(make_params(args.device))  # type: ignore[misc]
            time_steps(opt_a, 2, args.device)
            time_steps(opt_b, 2, args.device)
            ta, tb = [], []
            for _ in range(args.rounds):
                ta.append(time_steps(opt_a, args.steps, args.device, args.clock))
                tb.append(time_steps(opt_b, args.steps, args.device, args.clock))
            a, b = statistics.median(ta) * 1e3, statistics.median(tb) * 1e3
            print(f"{label:38s} {a:9.2f} {b:9.2f} {a / b:6.2f}")
            del opt_a, opt_b


if __name__ == "__main__":
    main()
