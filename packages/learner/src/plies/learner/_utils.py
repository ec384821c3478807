"""Small tensor helpers used on the learner's hot path (detaching, batch size, parameter lists)."""

from __future__ import annotations

from typing import Any

import torch
from plies.typecore import TensorBase
from torch import Tensor, nn


def detach_cpu(b: Any, cpu: bool = True) -> Any:
    """Detach every tensor of a (nested) tuple/list/dict, moving it to the CPU when `cpu`."""
    if isinstance(b, Tensor):
        b = b.detach()
        return b.cpu() if cpu else b
    if isinstance(b, tuple):
        return tuple(detach_cpu(o, cpu) for o in b)
    if isinstance(b, list):
        return [detach_cpu(o, cpu) for o in b]
    if isinstance(b, dict):
        return {k: detach_cpu(v, cpu) for k, v in b.items()}
    return b


def plain_tuple(b: tuple[Any, ...]) -> tuple[Any, ...]:
    """`b` with each semantic tensor (`TensorBase`) viewed as a plain `torch.Tensor` (a view, no copy).

    Models and losses run on plain tensors, so torch ops skip the subclass dispatch. One pass over
    the tuple; `b` itself, untouched, when none of its elements is a `TensorBase`. Other tensor
    subclasses (parameters, torch's own) are left as they are.
    """
    for o in b:
        if isinstance(o, TensorBase):
            return tuple(x.as_subclass(Tensor) if isinstance(x, TensorBase) else x for x in b)
    return b


def plain(o: Any) -> Any:
    """`o` with every `TensorBase` in it (nested tuples, lists, dicts) viewed as a plain `torch.Tensor`."""
    if isinstance(o, Tensor):
        return o.as_subclass(Tensor) if isinstance(o, TensorBase) else o
    if isinstance(o, (tuple, list)):
        return type(o)(plain(x) for x in o) if not hasattr(o, "_fields") else type(o)(*(plain(x) for x in o))
    if isinstance(o, dict):
        return {k: plain(v) for k, v in o.items()}
    return o


def first_tensor(b: Any) -> Tensor | None:
    """The first tensor found depth-first in `b`, or None."""
    if isinstance(b, Tensor):
        return b
    if isinstance(b, (tuple, list)):
        for o in b:
            t = first_tensor(o)
            if t is not None:
                return t
    if isinstance(b, dict):
        for o in b.values():
            t = first_tensor(o)
            if t is not None:
                return t
    return None


def batch_size(b: Any) -> int:
    """Number of items in a batch: the first dimension of its first tensor (1 when none)."""
    t = first_tensor(b)
    return t.shape[0] if t is not None and t.ndim > 0 else 1


_NORM_TYPES = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
)


def norm_bias_params(model: nn.Module, with_bias: bool = True) -> list[Tensor]:
    """Parameters of normalisation layers (BatchNorm, LayerNorm...), plus every bias if `with_bias`."""
    seen: set[int] = set()
    out: list[Tensor] = []
    for m in model.modules():
        if isinstance(m, _NORM_TYPES):
            ps = list(m.parameters(recurse=False))
        elif with_bias and getattr(m, "bias", None) is not None and isinstance(m.bias, nn.Parameter):
            ps = [m.bias]
        else:
            continue
        for p in ps:
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def concat_batches(items: list[Any], pad_value: float = 0) -> Any:
    """Concatenate a list of batches (tensors, or tuples/lists/dicts of them) along the first dimension.

    Tensors whose other dimensions differ from batch to batch (padded text of different lengths) are
    padded at the end of each such dimension with `pad_value` to the largest size.
    """
    first = items[0]
    if isinstance(first, Tensor):
        if first.ndim == 0:
            return torch.stack(items)
        return torch.cat(_pad_to_same(items, pad_value))
    if isinstance(first, (tuple, list)):
        return type(first)(concat_batches([it[i] for it in items], pad_value) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: concat_batches([it[k] for it in items], pad_value) for k in first}
    return items


def _pad_to_same(tensors: list[Tensor], pad_value: float) -> list[Tensor]:
    """`tensors` padded at the end of every dimension but the first to the largest size among them."""
    shapes = {t.shape[1:] for t in tensors}
    if len(shapes) == 1:
        return tensors
    if len({t.ndim for t in tensors}) > 1:
        raise ValueError(
            "concat_batches: cannot concatenate batches of tensors with different numbers of dimensions "
            f"({', '.join(str(tuple(t.shape)) for t in tensors[:4])}...)"
        )
    target = [max(sizes) for sizes in zip(*shapes, strict=True)]
    out = []
    for t in tensors:
        if t.shape[1:] == tuple(target):
            out.append(t)
            continue
        padded = t.new_full((t.shape[0], *target), pad_value)
        padded[(slice(None), *(slice(0, n) for n in t.shape[1:]))] = t
        out.append(padded)
    return out


def as_list(o: Any) -> list[Any]:
    """`o` as a list: None is empty, a list or tuple is copied, anything else is wrapped."""
    if o is None:
        return []
    if isinstance(o, (list, tuple)):
        return list(o)
    return [o]
