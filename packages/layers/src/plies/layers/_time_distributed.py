"""`TimeDistributed`: apply a module identically to every step of a sequence of inputs."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ._module import Module

__all__ = ["TimeDistributed"]


def _stack_tups(tuples: list[tuple[torch.Tensor, ...]], stack_dim: int = 1) -> tuple[torch.Tensor, ...]:
    """Stack a list of tuples of tensors entry by entry along `stack_dim`."""
    return tuple(torch.stack([t[i] for t in tuples], dim=stack_dim) for i in range(len(tuples[0])))


class TimeDistributed(Module):
    """Apply `module` to every step along dimension `tdim` of its inputs, e.g. a CNN to each video frame.

    Inputs are (bs, seq_len, ...) for `tdim=1`: by default the steps are folded into the batch and the
    module runs once; `low_mem=True` (or `tdim != 1`) runs it step by step instead. Tuple outputs are
    handled entry by entry.
    """

    def __init__(self, module: nn.Module, low_mem: bool = False, tdim: int = 1) -> None:
        self.module, self.low_mem, self.tdim = module, low_mem, tdim

    def forward(self, *tensors: torch.Tensor, **kwargs: Any) -> Any:
        if self.low_mem or self.tdim != 1:
            return self.low_mem_forward(*tensors, **kwargs)
        bs, seq_len = tensors[0].shape[0], tensors[0].shape[1]
        out = self.module(*[x.reshape(bs * seq_len, *x.shape[2:]) for x in tensors], **kwargs)
        return self.format_output(out, bs, seq_len)

    def low_mem_forward(self, *tensors: torch.Tensor, **kwargs: Any) -> Any:
        """Run the module on one step at a time and stack the results along `tdim`."""
        seq_len = tensors[0].shape[self.tdim]
        steps = [torch.unbind(x, dim=self.tdim) for x in tensors]
        out = [self.module(*[s[i] for s in steps], **kwargs) for i in range(seq_len)]
        if isinstance(out[0], tuple):
            return _stack_tups(out, stack_dim=self.tdim)
        return torch.stack(out, dim=self.tdim)

    def format_output(self, out: Any, bs: int, seq_len: int) -> Any:
        """Unfold the (bs * seq_len, ...) output(s) back to (bs, seq_len, ...)."""
        if isinstance(out, tuple):
            return tuple(o.view(bs, seq_len, *o.shape[1:]) for o in out)
        return out.view(bs, seq_len, *out.shape[1:])

    def __repr__(self) -> str:
        return f"TimeDistributed({self.module})"
