"""`Module`: an `nn.Module` base without `super().__init__()` boilerplate, and tiny functional layers."""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
from plies.typecore import TensorBase
from torch import nn

__all__ = [
    "Module",
    "module",
    "Lambda",
    "PartialLambda",
    "sequential",
    "Flatten",
    "View",
    "ResizeBatch",
    "Identity",
    "ToTensorBase",
    "Debugger",
    "ParameterModule",
    "children_and_parameters",
    "has_children",
]


class _ModuleMeta(type):
    """Metaclass that runs `nn.Module.__init__` before the class's own `__init__`."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = cls.__new__(cls)  # type: ignore[call-overload]
        if isinstance(obj, cls):
            nn.Module.__init__(obj)
            obj.__init__(*args, **kwargs)
        return obj


class Module(nn.Module, metaclass=_ModuleMeta):
    """An `nn.Module` whose subclasses need no `super().__init__()` call.

    `nn.Module.__init__` runs before the subclass `__init__`, so assigning layers in `__init__` just works.
    Calling `super().__init__()` anyway is harmless: it does nothing.
    """

    def __init__(self) -> None:
        """Nothing to do: the metaclass already initialised `nn.Module`."""


class _PlainSlices(nn.Sequential):
    """An `nn.Sequential` subclass whose slices are plain `nn.Sequential`s.

    `nn.Sequential` slices by calling `type(self)(...)`, which fails for subclasses whose constructor
    takes sizes rather than layers (ConvLayer, XResNet...).
    """

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return nn.Sequential(*list(self._modules.values())[idx])
        return super().__getitem__(idx)


class Lambda(Module):
    """A layer that applies `func` in `forward`."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    def forward(self, x: Any) -> Any:
        return self.func(x)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({getattr(self.func, '__name__', repr(self.func))})"


class PartialLambda(Lambda):
    """A layer that applies `func(x, **kwargs)` in `forward`."""

    def __init__(self, func: Callable[..., Any], **kwargs: Any) -> None:
        self.func, self.kwargs = func, kwargs

    def forward(self, x: Any) -> Any:
        return self.func(x, **self.kwargs)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.__class__.__name__}({getattr(self.func, '__name__', repr(self.func))}, {args})"


class Flatten(Module):
    """Flatten `x` to a single dimension per item (`full=True`: to one dimension overall)."""

    def __init__(self, full: bool = False) -> None:
        self.full = full

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1) if self.full else x.reshape(x.size(0), -1)

    def extra_repr(self) -> str:
        return f"full={self.full}"


class View(Module):
    """Reshape `x` to `size` (the batch dimension included)."""

    def __init__(self, *size: int) -> None:
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(self.size)

    def extra_repr(self) -> str:
        return f"size={self.size}"


class ResizeBatch(Module):
    """Reshape each item of the batch to `size` (the batch dimension is kept)."""

    def __init__(self, *size: int) -> None:
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view((x.size(0),) + self.size)

    def extra_repr(self) -> str:
        return f"size={self.size}"


class Identity(Module):
    """A layer that returns its input unchanged."""

    def forward(self, x: Any) -> Any:
        return x


class ToTensorBase(Module):
    """Cast the output to `tensor_cls` (typecore's `TensorBase`), dropping the input's semantic type.

    A U-Net fed a typed image must not hand back an "image": its output is a prediction.
    """

    def __init__(self, tensor_cls: type = TensorBase) -> None:
        self.tensor_cls = tensor_cls

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.as_subclass(self.tensor_cls)


def module(*flds: str, **defaults: Any) -> Callable[[Callable[..., Any]], type[nn.Module]]:
    """Decorator: make an `nn.Module` class whose `forward` is the decorated function.

    `flds` name the constructor's required arguments and `defaults` its optional ones; each is stored
    as an attribute (`@module('low', 'high') def Clamp(self, x): return x.clamp(self.low, self.high)`).
    """
    names = [*flds, *defaults]
    params = [inspect.Parameter(o, inspect.Parameter.POSITIONAL_OR_KEYWORD) for o in flds] + [
        inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=v) for k, v in defaults.items()
    ]
    signature = inspect.Signature(params)

    def make(f: Callable[..., Any]) -> type[nn.Module]:
        def __init__(self: nn.Module, *args: Any, **kwargs: Any) -> None:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{f.__name__}: {e}") from None
            bound.apply_defaults()
            for k, v in bound.arguments.items():
                setattr(self, k, v)

        def __repr__(self: nn.Module) -> str:
            args = ", ".join(f"{k}={getattr(self, k)!r}" for k in names)
            return f"{f.__name__}({args})"

        cls = type(f.__name__, (Module,), {"__init__": __init__, "forward": f, "__repr__": __repr__})
        cls.__qualname__, cls.__doc__, cls.__module__ = f.__qualname__, f.__doc__, f.__module__
        cls.__signature__ = signature  # type: ignore[attr-defined]
        return cls

    return make


def sequential(*args: Any) -> nn.Sequential:
    """An `nn.Sequential` of `args`, wrapping each plain function in a `Lambda`.

    A single OrderedDict of named layers is passed to `nn.Sequential` as is.
    """
    if len(args) == 1 and isinstance(args[0], OrderedDict):
        return nn.Sequential(args[0])
    layers = []
    for i, o in enumerate(args):
        if isinstance(o, nn.Module):
            layers.append(o)
        elif callable(o):
            layers.append(Lambda(o))
        else:
            raise TypeError(
                f"sequential: item {i} must be an nn.Module or a function, got {type(o).__name__}"
            )
    return nn.Sequential(*layers)


class Debugger(Module):
    """A layer that opens the debugger (`breakpoint()`) in `forward`, then returns its input unchanged."""

    def forward(self, x: Any) -> Any:
        breakpoint()  # noqa: T100  # the point of this layer
        return x


class ParameterModule(Module):
    """Hold a lone parameter `p` (as `val`) so it shows up as a layer; `forward` returns its input."""

    def __init__(self, p: nn.Parameter) -> None:
        self.val = p

    def forward(self, x: Any) -> Any:
        return x


def children_and_parameters(m: nn.Module) -> list[nn.Module]:
    """The children of `m`, then its own parameters that no child holds, each in a `ParameterModule`."""
    children = list(m.children())
    held = {id(p) for c in children for p in c.parameters()}
    for p in m.parameters():
        if id(p) not in held:
            children.append(ParameterModule(p))
    return children


def has_children(m: nn.Module) -> bool:
    """Whether `m` has child modules."""
    return next(m.children(), None) is not None
