"""Lookahead (Zhang et al. 2019): wraps any optimizer; slow weights follow the fast ones every k steps."""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import torch
from torch import Tensor

from ._optimizers import RAdam


class Lookahead:
    """Run the wrapped optimizer `opt` (the fast weights); every `k` steps move the slow weights
    `alpha` of the way toward the fast ones and restart the fast weights from there.

    Everything else (hypers, param_groups, freezing, zero_grad) is the wrapped optimizer's.
    """

    def __init__(self, opt: Any, k: int = 6, alpha: float = 0.5) -> None:
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"Lookahead: k must be a positive int, got {k!r}")
        self.opt, self.k, self.alpha = opt, k, alpha
        self.count = 0
        self.slow_weights: list[list[Tensor]] | None = None

    def __getattr__(self, name: str) -> Any:
        # anything else (all_params, foreach, cbs, ...) is the wrapped optimizer's
        if name == "opt" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.opt, name)

    @property
    def param_lists(self) -> list[list[Tensor]]:
        """The parameters of each group (settable)."""
        return self.opt.param_lists

    @param_lists.setter
    def param_lists(self, value: list[list[Tensor]]) -> None:
        self.opt.param_lists = value

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The wrapped optimizer's torch-style param groups."""
        return self.opt.param_groups

    @property
    def hypers(self) -> list[MutableMapping[str, Any]]:
        """The hyper-parameters of each group."""
        return self.opt.hypers

    @property
    def state(self) -> Any:
        """The wrapped optimizer's per-parameter state."""
        return self.opt.state

    @property
    def train_bn(self) -> bool:
        """Whether flagged normalisation parameters stay trainable in frozen groups."""
        return self.opt.train_bn

    @property
    def frozen_idx(self) -> int:
        """Index of the first trainable group."""
        return self.opt.frozen_idx

    def set_hyper(self, k: str, v: Any) -> None:
        """Set hyper-parameter `k` in the wrapped optimizer."""
        self.opt.set_hyper(k, v)

    def set_hypers(self, **kwargs: Any) -> None:
        """Set several hyper-parameters in the wrapped optimizer."""
        self.opt.set_hypers(**kwargs)

    def freeze_to(self, n: int) -> None:
        """Freeze the groups before `n`."""
        self.opt.freeze_to(n)

    def freeze(self) -> None:
        """Freeze every group but the last."""
        self.opt.freeze()

    def unfreeze(self) -> None:
        """Make every group trainable."""
        self.opt.unfreeze()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients."""
        self.opt.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """A step of the wrapped optimizer, then every `k` steps the lookahead update."""
        if self.slow_weights is None:
            self.slow_weights = [[p.detach().clone() for p in ps] for ps in self.param_lists]
        loss = self.opt.step(closure)
        self.count += 1
        if self.count % self.k == 0:
            for slows, fasts in zip(self.slow_weights, self.param_lists, strict=True):
                for slow, fast in zip(slows, fasts, strict=True):
                    slow.add_(fast - slow, alpha=self.alpha)
                    fast.copy_(slow)
        return loss

    def clear_state(self) -> None:
        """Forget the wrapped optimizer's stats, the step count and the slow weights."""
        self.opt.clear_state()
        self.count, self.slow_weights = 0, None

    def state_dict(self) -> dict[str, Any]:
        """The wrapped optimizer's state dict plus `count` and `slow_weights`."""
        sd = dict(self.opt.state_dict())
        sd.update(count=self.count, slow_weights=self.slow_weights)
        return sd

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        """Load a `state_dict()` (tensors are copied)."""
        sd = dict(sd)
        missing = [k for k in ("count", "slow_weights") if k not in sd]
        if missing:
            raise KeyError(f"Lookahead.load_state_dict: missing {missing}; expected a Lookahead state_dict()")
        self.count = int(sd.pop("count"))
        slow = sd.pop("slow_weights")
        self.slow_weights = None if slow is None else [[t.detach().clone() for t in ts] for ts in slow]
        self.opt.load_state_dict(sd)

    def __repr__(self) -> str:
        return f"Lookahead(k={self.k}, alpha={self.alpha}, opt={self.opt!r})"


def ranger(
    params: Iterable[Any],
    lr: Any,
    mom: Any = 0.95,
    wd: Any = 0.01,
    eps: Any = 1e-6,
    k: int = 6,
    alpha: float = 0.5,
    sqr_mom: Any = 0.99,
    beta: Any = 0.0,
    decouple_wd: bool = True,
    *,
    foreach: bool | None = None,
) -> Lookahead:
    """Ranger: Lookahead over RAdam."""
    opt = RAdam(
        params,
        lr=lr,
        mom=mom,
        sqr_mom=sqr_mom,
        eps=eps,
        wd=wd,
        beta=beta,
        decouple_wd=decouple_wd,
        foreach=foreach,
    )
    return Lookahead(opt, k=k, alpha=alpha)
