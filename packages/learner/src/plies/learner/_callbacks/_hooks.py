"""Hooks during training: `HookCallback` and `ActivationStats` (the summary table is in `.._summary`).

The hook primitives (`Hook`, `Hooks`, `hook_output`, `hook_outputs`) live in `plies.layers`, which
needs them to size models; `plies.learner` re-exports them so that callback code finds them here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from plies.layers import Hook, Hooks, flatten_model, hook_output, hook_outputs
from plies.typecore import L
from torch import Tensor, nn

from .._callback import Callback, validation_only

__all__ = [
    "Hook",
    "Hooks",
    "hook_output",
    "hook_outputs",
    "HookCallback",
    "ActivationStats",
]

HookFunc = Callable[[nn.Module, Any, Any], Any]


def _has_params(m: nn.Module) -> bool:
    """Whether `m` has at least one parameter."""
    return any(True for _ in m.parameters())


class HookCallback(Callback):
    """Callback registering `hook` on `modules` during `fit` (default: every leaf module with parameters).

    Subclasses define ``hook(self, module, input, output)`` (or pass `hook=`). With `every`, the hooks
    are only active on training batches whose ``train_iter`` is a multiple of `every`.
    """

    def __init__(
        self,
        modules: Iterable[nn.Module] | None = None,
        every: int | None = None,
        remove_end: bool = True,
        is_forward: bool = True,
        detach: bool = True,
        cpu: bool = True,
        include_paramless: bool = False,
        hook: HookFunc | None = None,
    ) -> None:
        super().__init__()
        self.modules = None if modules is None else list(modules)
        self.every, self.remove_end, self.is_forward = every, remove_end, is_forward
        self.detach, self.cpu, self.include_paramless = detach, cpu, include_paramless
        self.hook_func = hook
        self.hooks: Hooks | None = None

    def hook(self, m: nn.Module, i: Any, o: Any) -> Any:
        """Compute what to store for module `m` (override, or pass ``hook=``)."""
        raise NotImplementedError(f"{type(self).__name__}: define `hook(self, m, i, o)` or pass hook=")

    def before_fit(self) -> None:
        """Pick the modules (when not given) and register the hooks unless `every` is set.

        A validate/get_preds pass inside a fit leaves the fit's hooks as they are.
        """
        self._nested = validation_only(self.learn) and self._registered()
        if self._nested:
            return
        if self.modules is None:
            leaves = flatten_model(self.learn.model)
            self.modules = [m for m in leaves if self.include_paramless or _has_params(m)]
        if self.every is None:
            self._register()

    def before_batch(self) -> None:
        """With `every`, register the hooks on the training batches it selects."""
        if self.every is not None and self.learn.training and self.learn.train_iter % self.every == 0:
            self._register()

    def after_batch(self) -> None:
        """With `every`, remove the hooks after the selected training batches."""
        if self.every is not None and self.learn.training and self.learn.train_iter % self.every == 0:
            self._remove()

    def after_fit(self) -> None:
        """Remove the hooks (when `remove_end`)."""
        if self.__dict__.pop("_nested", False):
            return
        if self.remove_end:
            self._remove()

    def _register(self) -> None:
        hook = self.hook_func if self.hook_func is not None else self.hook
        self.hooks = Hooks(self.modules or [], hook, self.is_forward, self.detach, self.cpu)
        self._hooks_on = True

    def _registered(self) -> bool:
        return bool(self.__dict__.get("_hooks_on"))

    def _remove(self) -> None:
        hooks = self.__dict__.get("hooks")  # may be missing when __init__ failed (called from __del__)
        if hooks is not None:
            hooks.remove()
        self.__dict__["_hooks_on"] = False

    def __del__(self) -> None:
        self._remove()


class ActivationStats(HookCallback):
    """Record mean, std and fraction of near-zero activations (≤ 0.05) per layer on every training batch.

    ``stats[batch][layer]`` (an `L` of `L`) is a dict with 'mean', 'std', 'near_zero' (and 'hist',
    a 40-bin histogram of the values in [0, 10], when `with_hist`).
    """

    order = -20

    def __init__(self, with_hist: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.with_hist = with_hist
        self.stats: L = L()

    def before_fit(self) -> None:
        """Start with empty statistics (not in a validate/get_preds pass), then register the hooks."""
        super().before_fit()
        if not validation_only(self.learn):  # validation batches are not recorded: keep the fit's
            self.stats = L()

    def hook(self, m: nn.Module, i: Any, o: Any) -> Any:
        """The statistics of the output `o` (one dict per tensor when it is a tuple)."""
        if isinstance(o, (tuple, list)):
            return [self._stats(t) for t in o]
        return self._stats(o)

    def _stats(self, o: Tensor) -> dict[str, Any]:
        o = o.float()
        res: dict[str, Any] = {
            "mean": o.mean().item(),
            "std": o.std().item(),
            "near_zero": (o <= 0.05).long().sum().item() / o.numel(),
        }
        if self.with_hist:
            res["hist"] = o.histc(40, 0, 10)
        return res

    def after_batch(self) -> None:
        """Keep the hooks' statistics of the training batches (every `every` batches when set)."""
        if self.learn.training and (self.every is None or self.learn.train_iter % self.every == 0):
            self.stats.append(L(self.hooks.stored) if self.hooks is not None else L())
        super().after_batch()

    def layer_stats(self, idx: int) -> L:
        """L(means, stds, near-zero fractions) of layer `idx` over the recorded batches."""
        layer = [batch[idx] for batch in self.stats]
        return L(L(s[k] for s in layer) for k in ("mean", "std", "near_zero"))

    def hist(self, idx: int) -> Tensor:
        """log(1 + histogram counts) of layer `idx`: (40 bins, n_batches); needs ``with_hist=True``."""
        if not self.with_hist:
            raise ValueError(
                "ActivationStats.hist: create the callback with with_hist=True to record histograms"
            )
        return torch.stack([batch[idx]["hist"] for batch in self.stats]).t().float().log1p()

    def color_dim(self, idx: int, figsize: tuple[int, int] = (10, 5), ax: Any = None) -> Any:
        """Plot the histograms of layer `idx` over batches as an image (the 'colorful dimension')."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=figsize)
        ax.imshow(self.hist(idx), origin="lower", aspect="auto")
        ax.set_xlabel("batch")
        ax.set_ylabel("activation bin")
        return ax

    def plot_layer_stats(self, idx: int) -> Any:
        """Plot mean, std and near-zero fraction of layer `idx` over the recorded batches."""
        import matplotlib.pyplot as plt

        _, axs = plt.subplots(1, 3, figsize=(12, 3))
        for ax, values, title in zip(axs, self.layer_stats(idx), ("mean", "std", "% near zero"), strict=True):
            ax.plot(values)
            ax.set_title(title)
        return axs
