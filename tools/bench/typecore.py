"""Benchmark typecore: TensorBase overhead vs torch.Tensor, and the cost of a typedispatch call.

Run: `.venv/bin/python tools/bench/typecore.py [--device cuda]` (single-threaded torch for stable
numbers; on a GPU the clock is read after a synchronisation, so a ratio there includes kernel launches).
Baseline and subjects are timed in alternation, round after round, and each ratio is the median
of the per-round ratios: robust on a busy machine, where absolute times drift.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from plies.typecore import TensorImage, typedispatch

ROUNDS = 31
DEVICE = torch.device("cpu")


def _sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


class TorchDefaultSubclass(torch.Tensor):
    """Reference: a subclass using torch's stock `__torch_function__` (keeps the type, no metadata)."""


class FloorSubclass(torch.Tensor):
    """Reference floor: the cheapest Python `__torch_function__` that keeps the type (no checks at all)."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        with torch.DisableTorchFunctionSubclass():
            ret = func(*args, **kwargs) if kwargs else func(*args)  # `**(kwargs or {})` costs ~5% more
        if type(ret) is torch.Tensor:
            ret.__class__ = cls
        return ret


class NoHandlerSubclass(torch.Tensor):
    """Reference: `__torch_function__` disabled (torch's documented opt-out): no Python runs, results are
    plain tensors. What torch itself charges an op for a subclass argument, before any handler."""

    __torch_function__ = torch._C._disabled_torch_function_impl


FLOOR_GOAL = 1.10  # issue 14: TensorBase within 10% of the floor at every size


def interleaved(fns: list[Callable[[], object]], number: int) -> tuple[list[float], list[float]]:
    """Time `fns` in alternation for ROUNDS rounds: (median seconds per call, median ratio to fns[0])."""
    seconds, per_round = _rounds(fns, number)
    return seconds, [_median_ratio(ts, per_round[0]) for ts in per_round]


def _median_ratio(times: list[float], base: list[float]) -> float:
    """Median over rounds of the ratio of `times` to `base` measured in the same round."""
    return statistics.median(t / b for t, b in zip(times, base, strict=True))


def _rounds(fns: list[Callable[[], object]], number: int) -> tuple[list[float], list[list[float]]]:
    """Seconds per call of each of `fns`, round by round: (medians, per-round times)."""
    per_round: list[list[float]] = [[] for _ in fns]
    for _ in range(ROUNDS):
        for i, fn in enumerate(fns):
            _sync()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            _sync()
            per_round[i].append((time.perf_counter() - start) / number)
    return [statistics.median(t) for t in per_round], per_round


def small_ops(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A loop body of small everyday ops: arithmetic, indexing, reductions, views, comparisons."""
    z = x + y
    z = z * 2.0
    z = z - x
    row = z[0]
    s = row.sum()
    m = z.mean(0)
    v = z.view(-1)
    mask = v > 0
    r = torch.relu(z)
    c = torch.cat([r, x])
    return s + m.max() + mask.sum() + c[1:].abs().sum()


def bench_tensor_ops() -> None:
    print("(a) TensorBase vs torch.Tensor: a loop of 18 small ops (add, mul, sub, index, sum, mean, view,")
    print("    compare, relu, cat, slice, abs, max...); ratio = TensorBase time / torch.Tensor time.")
    print("    References: 'torch default' = a subclass with torch's stock __torch_function__; 'floor' = the")
    print("    cheapest possible Python __torch_function__ (what any type-keeping subclass must pay).")
    print(
        f"    Goal: TensorBase <= {FLOOR_GOAL:.2f}x the floor at every size ('/floor': TensorBase / floor)."
    )
    print(
        f"    {'shape':<14}{'torch.Tensor':>14}{'TensorBase':>12}{'ratio':>8}{'+metadata':>11}"
        f"{'torch default':>15}{'floor':>7}{'/floor':>8}"
    )
    worst = (0.0, "")
    for shape, number in (((2, 2), 300), ((64, 64), 200), ((64, 3, 32, 32), 10), ((256, 256), 30)):
        x, y = torch.randn(*shape, device=DEVICE), torch.randn(*shape, device=DEVICE)
        bx, by = TensorImage(x), TensorImage(y)
        mx, my = TensorImage(x, img_size=shape[-2:]), TensorImage(y, img_size=shape[-2:])
        assert type(small_ops(bx, by)) is TensorImage and small_ops(mx, my).img_size == shape[-2:]
        dx, dy = x.as_subclass(TorchDefaultSubclass), y.as_subclass(TorchDefaultSubclass)
        fx, fy = x.as_subclass(FloorSubclass), y.as_subclass(FloorSubclass)
        seconds, per_round = _rounds(
            [
                lambda x=x, y=y: small_ops(x, y),
                lambda bx=bx, by=by: small_ops(bx, by),
                lambda mx=mx, my=my: small_ops(mx, my),
                lambda dx=dx, dy=dy: small_ops(dx, dy),
                lambda fx=fx, fy=fy: small_ops(fx, fy),
            ],
            number,
        )
        base, sub = seconds[:2]
        r_sub, r_meta, r_default, r_floor = (_median_ratio(ts, per_round[0]) for ts in per_round[1:])
        to_floor = _median_ratio(per_round[1], per_round[4])
        label = "x".join(map(str, shape))
        worst = max(worst, (to_floor, label))
        print(
            f"    {label:<14}{base * 1e6:>11.1f} us{sub * 1e6:>9.1f} us{r_sub:>7.2f}x{r_meta:>10.2f}x"
            f"{r_default:>14.2f}x{r_floor:>6.2f}x{to_floor:>7.3f}x"
        )
    verdict = "met" if worst[0] <= FLOOR_GOAL else "NOT met"
    print(f"    goal <= {FLOOR_GOAL:.2f}x the floor: {verdict} (worst {worst[0]:.3f}x at {worst[1]})")


ONE_OPS: dict[str, Callable[[torch.Tensor, torch.Tensor], object]] = {
    "x + y": lambda x, y: x + y,
    "x * 2.0": lambda x, y: x * 2.0,
    "x - y": lambda x, y: x - y,
    "x[0]": lambda x, y: x[0],
    "x.sum()": lambda x, y: x.sum(),
    "x.mean(0)": lambda x, y: x.mean(0),
    "x.view(-1)": lambda x, y: x.view(-1),
    "x > 0": lambda x, y: x > 0,
    "torch.relu(x)": lambda x, y: torch.relu(x),
    "torch.cat([x, y])": lambda x, y: torch.cat([x, y]),
    "x[1:]": lambda x, y: x[1:],
    "x.abs()": lambda x, y: x.abs(),
    "x.max()": lambda x, y: x.max(),
}


def bench_one_ops(shape: tuple[int, ...] = (2, 2)) -> None:
    print(f"(a2) One op at a time on {'x'.join(map(str, shape))}: ns per op, and ratio to torch.Tensor.")
    print("    'no handler' = a subclass whose __torch_function__ is disabled (no Python runs, the result is")
    print("    a plain tensor): torch's own price for a subclass argument, a bound no subclass can go under.")
    print(f"    {'op':<20}{'torch.Tensor':>13}{'no handler':>16}{'floor':>16}{'TensorBase':>16}")
    x, y = torch.randn(*shape, device=DEVICE), torch.randn(*shape, device=DEVICE)
    kinds = [(x, y)] + [
        (x.as_subclass(c), y.as_subclass(c)) for c in (NoHandlerSubclass, FloorSubclass, TensorImage)
    ]
    totals = [0.0] * len(kinds)
    for name, op in ONE_OPS.items():
        secs, ratios = interleaved([lambda op=op, a=a, b=b: op(a, b) for a, b in kinds], 1000)
        totals = [t + s for t, s in zip(totals, secs, strict=True)]
        cells = "".join(f"{s * 1e9:>9.0f} {r:>5.2f}x" for s, r in zip(secs[1:], ratios[1:], strict=True))
        print(f"    {name:<20}{secs[0] * 1e9:>10.0f} ns{cells}")
    cells = "".join(f"{t * 1e9:>9.0f} {t / totals[0]:>5.2f}x" for t in totals[1:])
    print(f"    {'all ops, summed':<20}{totals[0] * 1e9:>10.0f} ns{cells}")


def bench_dispatch() -> None:
    @typedispatch
    def one(x: int) -> str:
        return "int"

    @typedispatch
    def one(x: str) -> str:  # noqa: F811
        return "str"

    @typedispatch
    def two(x: int, y: float) -> str:
        return "int-float"

    @typedispatch
    def two(x: int, y: str) -> str:  # noqa: F811
        return "int-str"

    def plain(x: object) -> str:
        return "plain"

    def plain2(x: object, y: object) -> str:
        return "plain"

    assert one(1) == "int" and two(1, 2.0) == "int-float"
    (t_plain, t_one, t_plain2, t_two), _ = interleaved(
        [lambda: plain(1), lambda: one(1), lambda: plain2(1, 2.0), lambda: two(1, 2.0)], 20_000
    )
    print("(b) typedispatch call cost (cached lookup), ns per call, including the lambda wrapper")
    print(f"    plain function, 1 arg : {t_plain * 1e9:7.0f} ns")
    print(
        f"    typedispatch, 1 param : {t_one * 1e9:7.0f} ns  ({t_one / t_plain:.1f}x plain, "
        f"+{(t_one - t_plain) * 1e9:.0f} ns)"
    )
    print(f"    plain function, 2 args: {t_plain2 * 1e9:7.0f} ns")
    print(
        f"    typedispatch, 2 params: {t_two * 1e9:7.0f} ns  ({t_two / t_plain2:.1f}x plain, "
        f"+{(t_two - t_plain2) * 1e9:.0f} ns)"
    )


def main() -> None:
    global DEVICE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="where the tensors of (a) live: cpu or cuda[:n]")
    DEVICE = torch.device(parser.parse_args().device)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, device {DEVICE}, medians over {ROUNDS} interleaved rounds")
    bench_tensor_ops()
    bench_one_ops()
    bench_dispatch()


if __name__ == "__main__":
    main()
