"""Model introspection with forward hooks: output sizes, channel counts, a dummy forward pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from ._module import children_and_parameters, has_children

__all__ = [
    "Hook",
    "Hooks",
    "hook_output",
    "hook_outputs",
    "dummy_eval",
    "model_sizes",
    "num_features_model",
    "in_channels",
    "flatten_model",
]


def _detach(x: Any, cpu: bool) -> Any:
    if isinstance(x, torch.Tensor):
        x = x.detach()
        return x.cpu() if cpu else x
    if isinstance(x, (list, tuple)):
        return type(x)(_detach(o, cpu) for o in x)
    return x


class Hook:
    """Register `hook_func(module, input, output)` on `m` and keep its result in `.stored`.

    `detach` detaches input/output before `hook_func` sees them (`cpu` also moves them). Use as a
    context manager, or call `remove()` when done.
    """

    def __init__(
        self,
        m: nn.Module,
        hook_func: Callable[[nn.Module, Any, Any], Any],
        is_forward: bool = True,
        detach: bool = True,
        cpu: bool = False,
    ) -> None:
        self.hook_func, self.detach, self.cpu = hook_func, detach, cpu
        self.stored: Any = None
        self.removed = False
        register = m.register_forward_hook if is_forward else m.register_full_backward_hook
        self.handle = register(self._hook)

    def _hook(self, module: nn.Module, inp: Any, out: Any) -> None:
        if self.detach:
            inp, out = _detach(inp, self.cpu), _detach(out, self.cpu)
        self.stored = self.hook_func(module, inp, out)

    def remove(self) -> None:
        """Remove the hook from the module."""
        if not self.removed:
            self.handle.remove()
            self.removed = True

    def __enter__(self) -> Hook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _output(module: nn.Module, inp: Any, out: Any) -> Any:
    return out


def _grad_output(module: nn.Module, grad_in: Any, grad_out: Any) -> Any:
    return grad_out


def hook_output(module: nn.Module, detach: bool = True, cpu: bool = False, grad: bool = False) -> Hook:
    """A `Hook` that stores the output (or, with `grad`, the output gradient) of `module`."""
    return Hook(module, _grad_output if grad else _output, is_forward=not grad, detach=detach, cpu=cpu)


class Hooks:
    """One `Hook` per module of `ms`: indexable, iterable, `.stored` lists their results."""

    def __init__(
        self,
        ms: Iterable[nn.Module],
        hook_func: Callable[[nn.Module, Any, Any], Any],
        is_forward: bool = True,
        detach: bool = True,
        cpu: bool = False,
    ) -> None:
        self.hooks = [Hook(m, hook_func, is_forward, detach, cpu) for m in ms]

    def __getitem__(self, i: int) -> Hook:
        return self.hooks[i]

    def __len__(self) -> int:
        return len(self.hooks)

    def __iter__(self) -> Iterator[Hook]:
        return iter(self.hooks)

    @property
    def stored(self) -> list[Any]:
        """What each hook stored, in order."""
        return [h.stored for h in self.hooks]

    def remove(self) -> None:
        """Remove every hook."""
        for h in self.hooks:
            h.remove()

    def __enter__(self) -> Hooks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def hook_outputs(
    modules: Iterable[nn.Module], detach: bool = True, cpu: bool = False, grad: bool = False
) -> Hooks:
    """`Hooks` that store the outputs (or output gradients) of `modules`."""
    return Hooks(modules, _grad_output if grad else _output, is_forward=not grad, detach=detach, cpu=cpu)


def flatten_model(m: nn.Module) -> list[nn.Module]:
    """The leaf modules of `m`, in order; a parameter held directly by a non-leaf module (the `gamma` of an
    attention layer) appears as a `ParameterModule` after that module's children.

    A weight-normed (parametrized) conv is one leaf.
    """
    if not has_children(m) or parametrize.is_parametrized(m):
        return [m]
    return [leaf for c in children_and_parameters(m) for leaf in flatten_model(c)]


def in_channels(m: nn.Module) -> int:
    """The number of input channels of the first conv layer of `m`."""
    for layer in flatten_model(m):
        if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            return int(layer.in_channels)
        weight = getattr(layer, "weight", None)
        if weight is not None and weight.dim() in (3, 4, 5):
            return int(weight.shape[1])
    raise ValueError(f"in_channels: no convolution layer found in {type(m).__name__}")


def _first_param(m: nn.Module) -> torch.Tensor:
    for p in m.parameters():
        return p
    raise ValueError(f"{type(m).__name__} has no parameters: cannot tell its device and dtype")


def dummy_eval(m: nn.Module, size: tuple[int, ...] = (64, 64)) -> Any:
    """Run a batch of one random input of spatial `size` through `m` in eval mode, without gradients.

    The input has `in_channels(m)` channels and `m`'s device and dtype; `m`'s training mode is restored.
    """
    p = _first_param(m)
    x = torch.empty(1, in_channels(m), *size, device=p.device, dtype=p.dtype).uniform_(-1.0, 1.0)
    was_training = m.training
    m.eval()
    try:
        with torch.no_grad():
            return m(x)
    finally:
        m.train(was_training)


def model_sizes(m: nn.Module, size: tuple[int, ...] = (64, 64)) -> list[torch.Size]:
    """The output shape of each child of `m` for a dummy input of spatial `size`."""
    with hook_outputs(list(m.children())) as hooks:
        dummy_eval(m, size=size)
        return [h.stored.shape for h in hooks]


def num_features_model(m: nn.Module) -> int:
    """The number of channels (features) output by `m`, found with dummy inputs of growing size."""
    sz = 32
    ndim = max(1, _first_conv_ndim(m))
    while True:
        try:
            return int(model_sizes(m, (sz,) * ndim)[-1][1])
        except RuntimeError:
            # too small an input for this model's downsampling: retry with a bigger one
            sz *= 2
            if sz > 2048:
                raise


def _first_conv_ndim(m: nn.Module) -> int:
    for layer in flatten_model(m):
        weight = getattr(layer, "weight", None)
        if weight is not None and weight.dim() in (3, 4, 5):
            return weight.dim() - 2
    return 2
