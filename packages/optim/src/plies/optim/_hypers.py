"""Hyper-parameters per parameter group: spreading values over groups, freezing groups (shared base)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

from torch import Tensor

NOT_HYPERS = ("params", "param_names")


def even_mults(start: float, stop: float, n: int) -> list[float]:
    """`n` values from `start` to `stop`, evenly spaced on a log scale (geometric progression)."""
    if n == 1:
        return [stop]
    mult = (stop / start) ** (1 / (n - 1))
    return [start * mult**i for i in range(n)]


def is_per_group(value: Any) -> bool:
    """Whether `value` gives values per group (a slice, list, tuple or array) rather than one value."""
    is_array = hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0
    return is_array or isinstance(value, (slice, list, tuple))


def spread(name: str, value: Any, n_groups: int) -> list[Any]:
    """One value of hyper-parameter `name` per group from a number, a list/tuple per group or a slice.

    `slice(a, b)` gives values log-spaced from a to b; `slice(b)` gives b/10 to every group but the last,
    which gets b.
    """
    if isinstance(value, slice):
        if value.stop is None or value.step is not None:
            raise ValueError(
                f"hyper-parameter {name!r}: expected slice(stop) or slice(start, stop), got {value}"
            )
        if value.start:
            return even_mults(value.start, value.stop, n_groups)
        return [value.stop / 10] * (n_groups - 1) + [value.stop]
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        values = list(value)
        if len(values) == 1:
            values = values * n_groups
        if len(values) != n_groups:
            raise ValueError(
                f"hyper-parameter {name!r}: got {len(values)} values for {n_groups} parameter groups; "
                "pass one value, one value per group, or a slice"
            )
        return values
    return [value] * n_groups


class HyperView(MutableMapping):
    """A live view of one torch param group's hyper-parameters (every key but 'params')."""

    def __init__(self, group: dict[str, Any]) -> None:
        self._group = group

    def __getitem__(self, key: str) -> Any:
        if key in NOT_HYPERS:
            raise KeyError(key)
        return self._group[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key in NOT_HYPERS:
            raise KeyError(f"{key!r} is not a hyper-parameter")
        self._group[key] = value

    def __delitem__(self, key: str) -> None:
        if key in NOT_HYPERS:
            raise KeyError(key)
        del self._group[key]

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._group if k not in NOT_HYPERS)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))


class HyperMixin:
    """set_hyper/set_hypers and freeze/freeze_to/unfreeze for anything with param groups and flags.

    Subclasses provide `param_lists`, `hypers`, `_write_hyper(i, name, value)`, `train_bn` and `state`
    (per-parameter dicts whose `force_train` flag keeps a frozen parameter trainable when `train_bn`).
    """

    train_bn: bool
    frozen_idx: int = 0
    state: Any

    @property
    def param_lists(self) -> list[list[Tensor]]:
        raise NotImplementedError

    @property
    def hypers(self) -> Sequence[MutableMapping[str, Any]]:
        raise NotImplementedError

    def _write_hyper(self, i: int, name: str, value: Any) -> None:
        raise NotImplementedError

    def _flags(self, p: Tensor) -> dict[str, Any]:
        raise NotImplementedError

    def _check_names(self, names: Sequence[str]) -> None:
        hypers = self.hypers
        first = hypers[0] if hypers else {}
        for name in names:
            if name not in first:  # one lookup: this runs for every scheduled batch
                known = list(first)
                raise KeyError(
                    f"unknown hyper-parameter {name!r}; this optimizer's hyper-parameters are "
                    f"{', '.join(repr(k) for k in known)}"
                )

    def set_hyper(self, k: str, v: Any) -> None:
        """Set hyper-parameter `k` for every group: one value, a list (one per group) or a slice."""
        self._check_names([k])
        for i, value in enumerate(spread(k, v, len(self.param_lists))):
            self._write_hyper(i, k, value)

    def set_hypers(self, **kwargs: Any) -> None:
        """Set several hyper-parameters at once (`set_hypers(lr=slice(1e-4, 1e-2), wd=0.1)`)."""
        self._check_names(list(kwargs))
        n = len(self.param_lists)
        values = {k: spread(k, v, n) for k, v in kwargs.items()}
        for k, vals in values.items():
            for i, value in enumerate(vals):
                self._write_hyper(i, k, value)

    def all_params(
        self, n: int | slice = slice(None), with_grad: bool = False
    ) -> list[tuple[Tensor, list[Tensor], dict[str, Any], MutableMapping[str, Any]]]:
        """(parameter, its group's parameters, its state, its group's hypers) for the groups `n`.

        `with_grad`: only the parameters that have a gradient.
        """
        idx = range(len(self.param_lists))[n] if isinstance(n, slice) else [range(len(self.param_lists))[n]]
        lists, hypers = self.param_lists, self.hypers
        found = [(p, lists[i], self.state[p], hypers[i]) for i in idx for p in lists[i]]
        if with_grad:
            found = [o for o in found if getattr(o[0], "grad", None) is not None]
        return found

    def freeze_to(self, n: int) -> None:
        """Make groups before `n` untrainable (requires_grad False) and the others trainable.

        Parameters flagged `state[p]['force_train'] = True` (the learner flags normalisation layers)
        stay trainable in frozen groups when `train_bn` is True.
        """
        n_groups = len(self.param_lists)
        frozen_idx = n if n >= 0 else n_groups + n
        if frozen_idx < 0:
            raise ValueError(f"freeze_to({n}): the optimizer has only {n_groups} parameter groups")
        if frozen_idx >= n_groups:
            warnings.warn(
                f"freeze_to({n}): freezing {frozen_idx} groups but the optimizer has {n_groups}; "
                "the whole model is frozen",
                stacklevel=2,
            )
        self.frozen_idx = frozen_idx
        for i, params in enumerate(self.param_lists):
            for p in params:
                force = self.train_bn and bool(self._flags(p).get("force_train", False))
                p.requires_grad_(i >= frozen_idx or force)

    def freeze(self) -> None:
        """Freeze every group but the last (transfer learning: train the head only)."""
        if len(self.param_lists) < 2:
            raise ValueError(
                "freeze: needs at least 2 parameter groups (all but the last are frozen), found "
                f"{len(self.param_lists)}; pass a list of parameter lists (e.g. from a splitter)"
            )
        self.freeze_to(-1)

    def unfreeze(self) -> None:
        """Make every group trainable."""
        self.freeze_to(0)
