"""Semantic tensors: `TensorBase` and its subclasses keep their type and metadata through torch ops.

How the type of a result is chosen (the mixing rule): PyTorch offers an operation to the
`__torch_function__` of its tensor arguments, subclasses before their base classes and
otherwise left to right; `TensorBase` handles it at the first offer. So the result takes the
most derived `TensorBase` subclass among the arguments, and when two unrelated subclasses
meet (`TensorImage + TensorMask`) the type of the one that comes first in the arguments wins.
Plain tensors never win over a `TensorBase`.

Metadata (instance attributes such as `img_size`) is copied, shallowly, from the first
`TensorBase` argument that has any (looking into lists and tuples, for `torch.cat([a, b])`).

Speed: a fresh result tensor is re-typed by assigning its `__class__` (cheap) instead of
`Tensor.as_subclass` (which allocates another Python object), and arguments are recognised as
TensorBase by a set lookup of their type rather than `isinstance`; tensors that were arguments of
the call (in-place ops, `out=`, `.to()` returning self) and PyTorch's "no-wrap" attributes
(`.grad`, `._base`) are never re-typed, so no tensor the caller holds changes type.
`tools/bench/typecore.py` compares the handler with the cheapest type-keeping one (goal: 1.1x).
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.overrides import get_default_nowrap_functions

__all__ = ["TensorBase", "TensorCategory", "TensorMultiCategory", "tensor"]

# Runs ops with `__torch_function__` of subclasses disabled, as `torch.Tensor.__torch_function__`
# does; public as `torch.DisableTorchFunctionSubclass` (listed in `torch.__all__`).
_DisableTorchFunctionSubclass = torch.DisableTorchFunctionSubclass
# `.grad`/`._base` return tensors owned elsewhere; `as_subclass` must give exactly the asked type.
_NOWRAP = frozenset(get_default_nowrap_functions()) | {Tensor.as_subclass}
# TensorBase and all its subclasses (filled by `TensorBase.__init_subclass__`). The handler runs for
# every op, and `isinstance` against a tensor class is slow (~100 ns: torch's metaclass sends it down
# the generic `__instancecheck__` path) where a set lookup of `type(a)` takes ~25 ns.
_TENSOR_BASE_TYPES: set[type] = set()


def _in_kwargs(t: Tensor, kwargs: dict) -> bool:
    """Whether `t` was passed as a keyword argument (e.g. `out=`, possibly inside a tuple)."""
    for v in kwargs.values():
        if v is t or (isinstance(v, (tuple, list)) and any(o is t for o in v)):
            return True
    return False


def _metadata(args: Iterable[Any]) -> dict | None:
    """The `__dict__` of the first TensorBase in `args` that has metadata (one level into lists)."""
    for a in args:
        if type(a) in _TENSOR_BASE_TYPES:
            if a.__dict__:
                return a.__dict__
        elif type(a) is list or type(a) is tuple:
            meta = _metadata(a)
            if meta:
                return meta
    return None


class TensorBase(Tensor):
    """A `torch.Tensor` subclass that keeps its type and metadata through torch operations.

    `TensorBase(x, **meta)` accepts a tensor, a numpy array, a list or a number (see `tensor`)
    and stores `meta` as instance attributes (e.g. `TensorBase(x, img_size=(28, 28))`).
    Subclass it for semantic types to dispatch on (the families the apps share, `TensorImage`, `TensorMask`,
    `TensorPoint`..., are declared in `plies.typecore` already).
    Pickling and `torch.save` use torch's subclass support; to read one back with
    `torch.load(..., weights_only=True)`, allow its class with `torch.serialization.safe_globals`.
    """

    def __new__(cls, x: Any, **kwargs: Any) -> Any:
        res = tensor(x)
        meta = res.__dict__ if isinstance(res, TensorBase) else None
        res = res.as_subclass(cls)
        if meta:
            res.__dict__.update(meta)
        for k, v in kwargs.items():
            if hasattr(Tensor, k):
                raise ValueError(f"{cls.__name__}: metadata name {k!r} clashes with a torch.Tensor attribute")
            setattr(res, k, v)
        return res

    def __init__(self, x: Any, **kwargs: Any) -> None:
        """Everything happens in `__new__`; this only accepts the same arguments."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _TENSOR_BASE_TYPES.add(cls)

    @classmethod
    def __torch_function__(
        cls,
        func: Callable[..., Any],
        types: Iterable[type],
        args: tuple = (),
        kwargs: dict | None = None,
    ) -> Any:
        # This runs for every op on a TensorBase: keep the common path (one fresh tensor, no
        # metadata, no kwargs) to a handful of cheap checks.
        with _DisableTorchFunctionSubclass():
            ret = func(*args, **kwargs) if kwargs else func(*args)
        if type(ret) is Tensor:
            if func in _NOWRAP:
                return ret
            meta = None
            for a in args:
                kind = type(a)
                if kind in _TENSOR_BASE_TYPES:  # (never `ret`, whose type is exactly Tensor)
                    if not meta:
                        meta = a.__dict__
                elif a is ret:  # in-place ops and no-op conversions return an argument: keep its type
                    return ret
                elif (kind is list or kind is tuple) and not meta:
                    meta = _metadata(a)
            if kwargs and _in_kwargs(ret, kwargs):
                return ret
            ret.__class__ = cls
            if meta:
                ret.__dict__.update(meta)
            return ret
        if isinstance(ret, (tuple, list)) and func not in _NOWRAP:
            meta = _metadata(args)
            for r in ret:
                fresh = not any(a is r for a in args) and not (kwargs and _in_kwargs(r, kwargs))
                if type(r) is Tensor and fresh:
                    r.__class__ = cls
                    if meta:
                        r.__dict__.update(meta)
        return ret

    def __format__(self, format_spec: str) -> str:
        # torch formats only plain 0-d tensors like numbers; do it for semantic ones too (f"{loss:.4f}").
        if self.dim() == 0:
            return self.item().__format__(format_spec)
        return super().__format__(format_spec)

    def __deepcopy__(self, memo: dict) -> Any:
        if id(self) in memo:
            return memo[id(self)]
        res = self.detach().clone()
        res.requires_grad_(self.requires_grad)
        memo[id(self)] = res
        res.__dict__ = copy.deepcopy(self.__dict__, memo)
        return res


_TENSOR_BASE_TYPES.add(TensorBase)


class TensorCategory(TensorBase):
    """Integer class indices (single-label targets); `default_loss_func` maps it to cross-entropy."""


class TensorMultiCategory(TensorCategory):
    """Multi-label targets (one-hot or index lists); `default_loss_func` maps it to BCE-with-logits."""


def _array_to_tensor(x: np.ndarray) -> Tensor:
    """A tensor from a numpy array (shared memory when possible; uint16 becomes float32)."""
    if x.dtype == np.uint16:
        x = x.astype(np.float32)
    if x.dtype == object:
        raise TypeError(f"tensor: cannot make a tensor from a numpy array of dtype object: {x!r}"[:200])
    if not x.flags.writeable:
        x = x.copy()
    return torch.from_numpy(x)


def tensor(
    x: Any,
    *rest: Any,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Make a tensor from a tensor, numpy array, list, tuple, number or array-like (PIL image, Series).

    Several arguments, or a list of tensors/arrays, are stacked: `tensor(1, 2, 3)` is
    `tensor([1, 2, 3])`. float64 data becomes float32 unless `dtype` is given; a tensor input
    is returned as is (no copy) when no conversion is asked.
    """
    if rest:
        x = (x, *rest)
    res: Tensor
    if isinstance(x, Tensor):
        res = x
    elif isinstance(x, (list, tuple)):
        if x and all(isinstance(o, Tensor) for o in x):
            res = torch.stack(list(x))
        elif x and all(isinstance(o, np.ndarray) for o in x):
            res = _array_to_tensor(np.stack(x))
        else:
            res = torch.tensor(x)
    elif isinstance(x, (numbers.Number, np.generic)):
        res = torch.tensor(x)
    elif isinstance(x, np.ndarray):
        res = _array_to_tensor(x)
    else:
        res = _array_to_tensor(np.asarray(x))
    if dtype is None and res.dtype is torch.float64:
        res = res.float()
    if dtype is not None or device is not None:
        res = res.to(device=device, dtype=dtype)
    if requires_grad:
        res.requires_grad_(True)
    return res
