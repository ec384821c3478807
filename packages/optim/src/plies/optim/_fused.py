"""Fused steps: torch's fused kernels run on plies' own state for the stats and steppers they compute.

A `FusedRun` names the stats and steppers that end an optimizer's `cbs` (e.g. Adam's `average_grad`
with dampening, `average_sqr_grad`, `step_stat`, `adam_step`) and a kernel doing the same math in one
pass through torch's public functional API (`torch.optim.adam.adam`, `torch.optim.sgd.sgd` with
`fused=True`). The kernel updates the tensors in `opt.state[p]` in place (`grad_avg`, `sqr_avg`) and
keeps `step` a Python int, so state dicts, checkpoints and the unfused paths are unchanged by it.
A `weight_decay` just before Adam's run is done by the kernel too (AdamW), honouring `do_wd` flags.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.optim.adam import adam as torch_adam
from torch.optim.sgd import sgd as torch_sgd

from ._stats import average_grad, average_sqr_grad, step_stat
from ._steppers import adam_step, momentum_step, sgd_step, weight_decay

FUSED_DEVICES = ("cpu", "cuda")

Kernel = Callable[[list[Tensor], list[Tensor], list[dict[str, Any]], dict[str, Any], bool], None]


@dataclass(frozen=True)
class FusedRun:
    """Stats and steppers (`cbs`, in order) that `kernel` computes in one fused pass.

    `state`: the state tensors the kernel reads and writes (their dtype, device and strides must be
    the parameter's). `reserved`: names that, given as hyper-parameters, would change what the cbs do
    (a group holding one is stepped the unfused way). `absorbs_wd`: the kernel also does a
    `weight_decay` that comes just before `cbs`.
    """

    name: str
    cbs: tuple[Callable[..., Any], ...]
    kernel: Kernel
    state: tuple[str, ...]
    reserved: frozenset[str]
    absorbs_wd: bool = False


@dataclass(frozen=True)
class FusedPlan:
    """How to step an optimizer's cbs: `before` the usual way, then `run.kernel` (with the weight decay
    when `with_wd`)."""

    before: list[Callable[..., Any]]
    run: FusedRun
    with_wd: bool


def _zeros(t: Tensor) -> Tensor:
    return torch.zeros_like(t, memory_format=torch.preserve_format)


def _state_tensors(states: list[dict[str, Any]], grads: list[Tensor], key: str) -> list[Tensor]:
    """State `key` of each parameter, created as zeros like the gradient where missing (as the stats do)."""
    found = []
    for state, grad in zip(states, grads, strict=True):
        t = state.get(key)
        if t is None:
            t = state[key] = _zeros(grad)
        found.append(t)
    return found


def _step_tensors(ps: list[Tensor], steps: list[int]) -> list[Tensor]:
    """One 0-d float32 tensor per parameter holding its step, on its device (one fill per device and
    value, so no host-to-device copy waits for the GPU)."""
    out: list[Tensor | None] = [None] * len(ps)
    buckets: dict[tuple[torch.device, int], list[int]] = {}
    for i, (p, s) in enumerate(zip(ps, steps, strict=True)):
        buckets.setdefault((p.device, s), []).append(i)
    for (device, s), idx in buckets.items():
        views = torch.full((len(idx),), float(s), dtype=torch.float32, device=device).unbind(0)
        for i, view in zip(idx, views, strict=True):
            out[i] = view
    return out  # type: ignore[return-value]


def _fused_adam(
    ps: list[Tensor], grads: list[Tensor], states: list[dict[str, Any]], hyper: dict[str, Any], with_wd: bool
) -> None:
    """Adam (plies' `adam_step` with dampened averages), decoupled weight decay when `with_wd`."""
    avgs = _state_tensors(states, grads, "grad_avg")
    sqrs = _state_tensors(states, grads, "sqr_avg")
    steps = [state.get("step") or 0 for state in states]
    wd = hyper["wd"] if with_wd else 0.0
    decayed = [bool(state.get("do_wd", True)) for state in states] if wd != 0 else []
    if wd != 0 and not all(decayed):
        parts = [
            ([i for i, d in enumerate(decayed) if d], wd),
            ([i for i, d in enumerate(decayed) if not d], 0.0),
        ]
    else:
        parts = [(list(range(len(ps))), wd)]
    step_tensors = _step_tensors(ps, steps)
    for idx, part_wd in parts:
        if not idx:
            continue
        torch_adam(
            [ps[i] for i in idx],
            [grads[i] for i in idx],
            [avgs[i] for i in idx],
            [sqrs[i] for i in idx],
            [],
            [step_tensors[i] for i in idx],
            fused=True,
            decoupled_weight_decay=True,
            amsgrad=False,
            beta1=hyper["mom"],
            beta2=hyper["sqr_mom"],
            lr=hyper["lr"],
            weight_decay=part_wd,
            eps=hyper["eps"],
            maximize=False,
        )
    for state, s in zip(states, steps, strict=True):
        state["step"] = s + 1


def _fused_momentum(
    ps: list[Tensor], grads: list[Tensor], states: list[dict[str, Any]], hyper: dict[str, Any], with_wd: bool
) -> None:
    """SGD with momentum: `grad_avg = mom * grad_avg + grad; p -= lr * grad_avg`."""
    avgs = _state_tensors(states, grads, "grad_avg")
    mom = hyper["mom"]
    # torch's kernel keeps no buffer without momentum; `average_grad` would make grad_avg the gradient
    torch_sgd(
        ps,
        grads,
        avgs if mom != 0 else [None] * len(ps),
        fused=True,
        weight_decay=0.0,
        momentum=mom,
        lr=hyper["lr"],
        dampening=0.0,
        nesterov=False,
        maximize=False,
    )
    if mom == 0:
        for avg, grad in zip(avgs, grads, strict=True):
            avg.copy_(grad)


def _fused_sgd(
    ps: list[Tensor], grads: list[Tensor], states: list[dict[str, Any]], hyper: dict[str, Any], with_wd: bool
) -> None:
    """Plain SGD: `p -= lr * grad`."""
    torch_sgd(
        ps,
        grads,
        [None] * len(ps),
        fused=True,
        weight_decay=0.0,
        momentum=0.0,
        lr=hyper["lr"],
        dampening=0.0,
        nesterov=False,
        maximize=False,
    )


_damped_avg_grad = functools.partial(average_grad, dampening=True)

FUSED_RUNS: tuple[FusedRun, ...] = (
    FusedRun(
        "Adam",
        (_damped_avg_grad, average_sqr_grad, step_stat, adam_step),
        _fused_adam,
        state=("grad_avg", "sqr_avg"),
        reserved=frozenset({"dampening", "grad_avg", "sqr_avg", "step", "do_wd"}),
        absorbs_wd=True,
    ),
    FusedRun(
        "SGD with momentum",
        (average_grad, momentum_step),
        _fused_momentum,
        state=("grad_avg",),
        reserved=frozenset({"dampening", "grad_avg"}),
    ),
    FusedRun("SGD", (sgd_step,), _fused_sgd, state=(), reserved=frozenset()),
)


def _same_cb(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """The same stat or stepper: the same function, or partials of it with the same arguments."""
    if a is b:
        return True
    if isinstance(a, functools.partial) and isinstance(b, functools.partial):
        return a.func is b.func and a.args == b.args and a.keywords == b.keywords
    return False


def fused_plan(cbs: Sequence[Callable[..., Any]]) -> FusedPlan | None:
    """The fused kernel that computes the end of `cbs`, and the cbs to run before it; None if none does."""
    for run in FUSED_RUNS:
        n = len(run.cbs)
        if len(cbs) < n or not all(_same_cb(a, b) for a, b in zip(cbs[-n:], run.cbs, strict=True)):
            continue
        before = list(cbs[:-n])
        with_wd = run.absorbs_wd and bool(before) and before[-1] is weight_decay
        return FusedPlan(before[:-1] if with_wd else before, run, with_wd)
    return None


def unfusable(
    run: FusedRun, ps: list[Tensor], grads: list[Tensor], states: list[dict[str, Any]], hyper: dict[str, Any]
) -> str | None:
    """Why `run`'s kernel cannot step these parameters exactly (None: it can).

    The kernel needs dense floating point parameters on the CPU or CUDA, and each parameter's gradient
    and state tensors to match it in device, dtype and memory layout (strides): torch's fused kernels
    walk the tensors' memory in one order, so mixed layouts would pair up the wrong entries.
    """
    clash = run.reserved.intersection(hyper)
    if clash:
        return f"the hyper-parameter {sorted(clash)[0]!r} changes what the stats compute"
    strided = torch.strided
    for i, (p, g, state) in enumerate(zip(ps, grads, states, strict=True)):
        # this runs every step on every parameter: cheap attributes first, the message only on failure
        dtype, device = p.dtype, p.get_device()
        if (
            not (p.is_cpu or p.is_cuda)
            or not dtype.is_floating_point
            or p.layout is not strided
            or g.layout is not strided
            or g.dtype is not dtype
            or g.get_device() != device
        ):
            return _tensor_mismatch(i, p, g, "gradient")
        stride = p.stride()
        if g.stride() != stride:
            return _tensor_mismatch(i, p, g, "gradient")
        for key in run.state:
            t = state.get(key)
            if t is not None and (t.dtype is not dtype or t.get_device() != device or t.stride() != stride):
                return _tensor_mismatch(i, p, t, f"state {key!r}")
    return None


def _tensor_mismatch(i: int, p: Tensor, t: Tensor, what: str) -> str:
    """What keeps parameter `i` (and its gradient or state `t`) off the fused kernel."""
    if p.device.type not in FUSED_DEVICES:
        return f"parameter {i} is on {p.device.type}; fused kernels run on {' and '.join(FUSED_DEVICES)}"
    if not p.is_floating_point():
        return f"parameter {i} is {p.dtype}; fused kernels need floating point parameters"
    if p.layout is not torch.strided or t.layout is not torch.strided:
        layout = "sparse" if t.is_sparse else str(t.layout)
        return (
            f"parameter {i} has a {layout} {what}"
            if t.layout is not torch.strided
            else f"parameter {i} is {p.layout}"
        )
    if t.dtype != p.dtype or t.device != p.device:
        return f"parameter {i} is {p.dtype} on {p.device} but its {what} is {t.dtype} on {t.device}"
    return f"parameter {i} has strides {p.stride()} but its {what} {t.stride()}"


def fused_names() -> str:
    """The optimizers that have a fused kernel, for error messages."""
    return ", ".join(run.name for run in FUSED_RUNS)
