"""Checks of what users pass to the `Learner` and its fit methods, with errors that say what to do.

Each check names the entry point and the argument, what it expects and what it found, so a
mistake (a DataBlock where DataLoaders belong, ``lr="1e-3"``) fails at the call, not deep inside
the optimizer or the loop.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from plies.typecore import check_kwargs

F = TypeVar("F", bound=Callable[..., Any])


def learner_name(f: F) -> F:
    """Name a method of `Learner` written in one of its mixins as users call it, ``Learner.add_cb``.

    Python's errors for wrong arguments then name ``Learner.add_cb()``, not the mixin class. Put it
    under a wrapping decorator such as `contextlib.contextmanager`, which copies the name it gives.
    """
    f.__qualname__ = f"Learner.{f.__name__}"
    return f


def learner_method(f: F) -> F:
    """`check_kwargs` for a method of `Learner` written in one of its mixins.

    The error then names ``Learner.fit_one_cycle()``, the method as users call it, not the mixin
    class it is written in.
    """
    return check_kwargs(learner_name(f))


def _found(value: Any) -> str:
    return f"{type(value).__name__} ({value!r})"


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_lr(who: str, value: Any, name: str = "lr", allow_none: bool = True) -> None:
    """Raise TypeError unless `value` is a learning rate: a number, a slice of numbers, or a list of them."""
    if value is None and allow_none:
        return
    if _is_real(value):
        return
    if isinstance(value, slice):
        if all(v is None or _is_real(v) for v in (value.start, value.stop)) and value.stop is not None:
            return
    elif isinstance(value, (list, tuple, np.ndarray)) and len(value) and all(_is_real(v) for v in value):
        return
    hint = f"; write {name}={value} without quotes" if isinstance(value, str) else ""
    raise TypeError(
        f"{who}: {name} must be a number, a slice(start, stop) of numbers or a list of numbers (one per "
        f"parameter group), found {_found(value)}{hint}"
    )


def check_number(who: str, value: Any, name: str, allow_none: bool = False) -> None:
    """Raise TypeError unless `value` is a real number (or None when `allow_none`)."""
    if (value is None and allow_none) or _is_real(value):
        return
    hint = f"; write {name}={value} without quotes" if isinstance(value, str) else ""
    raise TypeError(
        f"{who}: {name} must be a number{' or None' if allow_none else ''}, found {_found(value)}{hint}"
    )


def check_count(who: str, value: Any, name: str, minimum: int = 0) -> None:
    """Raise TypeError unless `value` is an int, ValueError when it is below `minimum`."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be an int, found {_found(value)}")
    if value < minimum:
        raise ValueError(f"{who}: {name} must be >= {minimum}, found {value}")


def check_dls(dls: Any) -> None:
    """Raise TypeError unless `dls` looks like `DataLoaders` (it has a ``train`` DataLoader) or is None.

    None makes a learner without data, which predicts on the DataLoaders passed to it (what
    `load_learner` builds when the data pipeline was not exported). The message says how to get
    DataLoaders from what was passed (a DataBlock, Datasets, a single DataLoader, a torch Dataset,
    a list...).
    """
    loaders = sys.modules.get("plies.loaders")  # a DataBlock or Datasets means it is imported already
    unbatched = (loaders.DataBlock, loaders.Datasets, loaders.TfmdLists) if loaders is not None else ()
    not_batched = isinstance(dls, unbatched)
    if dls is None or (hasattr(dls, "train") and not not_batched):  # Datasets have a `train` subset too
        return
    raise TypeError(f"Learner: dls must be DataLoaders (with `train` and `valid`), found {_dls_advice(dls)}")


def _dls_advice(dls: Any) -> str:
    from plies.loaders import DataBlock, DataLoader, Datasets, TfmdLists
    from torch.utils.data import DataLoader as TorchDataLoader
    from torch.utils.data import Dataset as TorchDataset

    name = type(dls).__name__
    if isinstance(dls, DataBlock):
        return (
            "a DataBlock (a recipe, without data); call `dblock.dataloaders(source)` and pass the "
            "DataLoaders it returns"
        )
    if isinstance(dls, (Datasets, TfmdLists)):
        return f"a {name}; call `dsets.dataloaders(bs=64)` and pass the DataLoaders it returns"
    if isinstance(dls, (DataLoader, TorchDataLoader)):
        return (
            f"a single {name}; the learner trains on one and validates on another: pass "
            "DataLoaders(train_dl, valid_dl) (plies.loaders)"
        )
    if isinstance(dls, TorchDataset):
        return (
            f"a torch Dataset ({name}); batch it: DataLoaders(DataLoader(train_ds, bs=64, shuffle=True), "
            "DataLoader(valid_ds, bs=128)) (plies.loaders)"
        )
    if isinstance(dls, (list, tuple)):
        return (
            f"a {name} of {len(dls)} items; pass DataLoaders(train_dl, valid_dl) (plies.loaders), built "
            "from DataLoader(dataset, bs=...) for each subset"
        )
    return f"{name}; pass DataLoaders(train_dl, valid_dl) (plies.loaders)"
