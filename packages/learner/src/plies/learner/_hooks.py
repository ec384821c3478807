"""PyTorch hooks made easy: `Hook`, `Hooks`, `HookCallback`, `ActivationStats` and the learner summary."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import Tensor, nn

from ._callback import Callback

__all__ = [
    "Hook",
    "Hooks",
    "hook_output",
    "hook_outputs",
    "has_params",
    "flatten_model",
    "model_sizes",
    "HookCallback",
    "ActivationStats",
    "PrettyString",
    "layer_info",
    "module_summary",
    "learner_summary",
]

HookFunc = Callable[[nn.Module, Any, Any], Any]


def _detach(x: Any, cpu: bool) -> Any:
    """Detach every tensor in `x` (nested tuples/lists/dicts), optionally moving them to the CPU."""
    if isinstance(x, Tensor):
        x = x.detach()
        return x.cpu() if cpu else x
    if isinstance(x, (tuple, list)):
        return type(x)(_detach(o, cpu) for o in x)
    if isinstance(x, dict):
        return {k: _detach(v, cpu) for k, v in x.items()}
    return x


class Hook:
    """Register `hook_func(module, input, output)` on `m`; its result is kept in `.stored`.

    With ``is_forward=False`` the hook runs during the backward pass and receives the gradients
    (``grad_input``, ``grad_output``). `detach` detaches inputs and outputs first, `cpu` moves them to
    the CPU. Use as a context manager to remove the hook on exit.
    """

    def __init__(
        self,
        m: nn.Module,
        hook_func: HookFunc,
        is_forward: bool = True,
        detach: bool = True,
        cpu: bool = False,
    ) -> None:
        self.hook_func, self.detach, self.cpu = hook_func, detach, cpu
        self.stored: Any = None
        self.removed = False
        if is_forward:
            self.hook = m.register_forward_hook(self.hook_fn)
        else:
            self.hook = m.register_full_backward_hook(self.hook_fn)

    def hook_fn(self, module: nn.Module, input: Any, output: Any) -> None:
        """Apply `hook_func` (on detached values when `detach`) and store the result."""
        if self.detach:
            input, output = _detach(input, self.cpu), _detach(output, self.cpu)
        self.stored = self.hook_func(module, input, output)

    def remove(self) -> None:
        """Remove the hook from the module (safe to call twice)."""
        if not self.removed:
            self.hook.remove()
            self.removed = True

    def __enter__(self) -> Hook:
        return self

    def __exit__(self, *args: Any) -> None:
        self.remove()


def _hook_inner(m: nn.Module, i: Any, o: Any) -> Any:
    return o if isinstance(o, (Tensor, list)) else list(o)


def hook_output(module: nn.Module, detach: bool = True, cpu: bool = False, grad: bool = False) -> Hook:
    """A `Hook` that stores the output of `module` (its output gradients when `grad`)."""
    return Hook(module, _hook_inner, detach=detach, cpu=cpu, is_forward=not grad)


class Hooks:
    """A `Hook` on each module of `ms`; `.stored` lists their results; a context manager."""

    def __init__(
        self,
        ms: Iterable[nn.Module],
        hook_func: HookFunc,
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
        """The stored value of each hook, in module order."""
        return [h.stored for h in self.hooks]

    def remove(self) -> None:
        """Remove every hook."""
        for h in self.hooks:
            h.remove()

    def __enter__(self) -> Hooks:
        return self

    def __exit__(self, *args: Any) -> None:
        self.remove()


def hook_outputs(
    modules: Iterable[nn.Module], detach: bool = True, cpu: bool = False, grad: bool = False
) -> Hooks:
    """`Hooks` storing the output (or output gradients when `grad`) of each of `modules`."""
    return Hooks(modules, _hook_inner, detach=detach, cpu=cpu, is_forward=not grad)


def has_params(m: nn.Module) -> bool:
    """Whether `m` has at least one parameter."""
    return any(True for _ in m.parameters())


def flatten_model(m: nn.Module) -> list[nn.Module]:
    """The leaf modules of `m` (modules without children), in registration order; `[m]` if it is a leaf."""
    children = list(m.children())
    if not children:
        return [m]
    return [leaf for c in children for leaf in flatten_model(c)]


def model_sizes(m: nn.Module, size: tuple[int, ...] = (64, 64), ch_in: int = 3) -> list[torch.Size]:
    """Output shape of each child of `m` on a dummy batch of one ``(ch_in, *size)`` input."""
    param = next(m.parameters(), None)
    x = torch.empty(1, ch_in, *size, device=None if param is None else param.device).uniform_(-1.0, 1.0)
    was_training = m.training
    with hook_outputs(list(m.children())) as hooks, torch.no_grad():
        m.eval()(x)
        m.train(was_training)
        return [h.stored.shape for h in hooks]


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
        self.modules = None if modules is None else list(modules)
        self.every, self.remove_end, self.is_forward = every, remove_end, is_forward
        self.detach, self.cpu, self.include_paramless = detach, cpu, include_paramless
        if hook is not None:
            self.hook = hook
        self.hooks: Hooks | None = None

    def hook(self, m: nn.Module, i: Any, o: Any) -> Any:
        """Compute what to store for module `m` (override, or pass ``hook=``)."""
        raise NotImplementedError(f"{type(self).__name__}: define `hook(self, m, i, o)` or pass hook=")

    def before_fit(self) -> None:
        """Pick the modules (when not given) and register the hooks unless `every` is set."""
        if self.modules is None:
            leaves = flatten_model(self.learn.model)
            self.modules = [m for m in leaves if self.include_paramless or has_params(m)]
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
        if self.remove_end:
            self._remove()

    def _register(self) -> None:
        self.hooks = Hooks(self.modules or [], self.hook, self.is_forward, self.detach, self.cpu)

    def _remove(self) -> None:
        if self.hooks is not None:
            self.hooks.remove()

    def __del__(self) -> None:
        self._remove()


class ActivationStats(HookCallback):
    """Record mean, std and fraction of near-zero activations (≤ 0.05) per layer on every training batch.

    ``stats[batch][layer]`` is a dict with 'mean', 'std', 'near_zero' (and 'hist', a 40-bin histogram
    of the values in [0, 10], when `with_hist`).
    """

    order = -20

    def __init__(self, with_hist: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.with_hist = with_hist
        self.stats: list[list[Any]] = []

    def before_fit(self) -> None:
        """Start with empty statistics, then register the hooks."""
        super().before_fit()
        self.stats = []

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
            self.stats.append(self.hooks.stored if self.hooks is not None else [])
        super().after_batch()

    def layer_stats(self, idx: int) -> tuple[list[float], list[float], list[float]]:
        """(means, stds, near-zero fractions) of layer `idx` over the recorded batches."""
        layer = [batch[idx] for batch in self.stats]
        return tuple([s[k] for s in layer] for k in ("mean", "std", "near_zero"))  # type: ignore[return-value]

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


class PrettyString(str):
    """A `str` whose repr is itself, so that a summary displays as a table in a notebook."""

    def __repr__(self) -> str:
        return str(self)


def _shapes(o: Any) -> Any:
    if isinstance(o, Tensor):
        return tuple(o.shape)
    if isinstance(o, (tuple, list)):
        return [_shapes(t) for t in o]
    return None


def layer_info(model: nn.Module, *xb: Tensor) -> list[tuple[str, int | None, bool | None, Any]]:
    """(type name, #params or None, trainable or None, output shape) of each leaf module on `xb`.

    Runs `model` once in eval mode without gradients (restoring its training mode afterwards).
    Leaves that are called several times appear once per call.
    """
    records: list[tuple[str, int | None, bool | None, Any]] = []

    def _track(m: nn.Module, i: Any, o: Any) -> None:
        params = list(m.parameters())
        n = sum(p.numel() for p in params) if params else None
        trainable = any(p.requires_grad for p in params) if params else None
        records.append((type(m).__name__, n, trainable, _shapes(o)))

    was_training = model.training
    with Hooks(flatten_model(model), _track), torch.no_grad():
        model.eval()
        try:
            model(*xb)
        finally:
            model.train(was_training)
    return records


def _fmt_shape(shape: Any, bs: int) -> str:
    if isinstance(shape, tuple):
        return " x ".join(str(s) for s in (bs, *shape[1:])) if shape else "scalar"
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s, bs) for s in shape)
    return ""


def module_summary(model: nn.Module, *xb: Tensor) -> PrettyString:
    """A table of the leaf modules of `model` on the batch `xb`: output shape, #params, trainable; totals."""
    bs = len(xb[0]) if xb and isinstance(xb[0], Tensor) and xb[0].dim() > 0 else 1
    first = tuple(x[:1] if isinstance(x, Tensor) and x.dim() > 0 else x for x in xb)
    rows = layer_info(model, *first)
    inp = ", ".join(_fmt_shape(tuple(x.shape), bs) for x in xb if isinstance(x, Tensor))
    width = 70
    lines = [f"{type(model).__name__} (Input shape: {inp})", "=" * width]
    lines.append(f"{'Layer (type)':<22}{'Output Shape':<24}{'Param #':<12}{'Trainable':<10}")
    lines.append("=" * width)
    for name, n, trainable, shape in rows:
        n_txt = "" if n is None else f"{n:,}"
        tr_txt = "" if trainable is None else str(trainable)
        lines.append(f"{name:<22}{_fmt_shape(shape, bs):<24}{n_txt:<12}{tr_txt:<10}")
        lines.append("_" * width)
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable_total = sum(p.numel() for p in params if p.requires_grad)
    lines += [
        "",
        f"Total params: {total:,}",
        f"Total trainable params: {trainable_total:,}",
        f"Total non-trainable params: {total - trainable_total:,}",
    ]
    return PrettyString("\n".join(lines) + "\n")


def learner_summary(learn: Any) -> PrettyString:
    """The table of `Learner.summary()`: `module_summary` on a training batch, optimizer, loss, callbacks."""
    dl = learn.dls.train
    batch = dl.one_batch()
    n_inp = getattr(learn.dls, "n_inp", None) or getattr(dl, "n_inp", None) or 1
    param = next(learn.model.parameters(), None)
    device = param.device if param is not None else None
    xb = tuple(x.to(device) if isinstance(x, Tensor) and device is not None else x for x in batch[:n_inp])
    res = module_summary(learn.model, *xb)
    opt_func = getattr(learn, "opt_func", None)
    opt_name = getattr(opt_func, "__name__", repr(opt_func))
    res += f"\nOptimizer used: {opt_name}\nLoss function: {learn.loss_func!r}\n"
    opt = getattr(learn, "opt", None)
    frozen_idx = getattr(opt, "frozen_idx", None)
    if frozen_idx is not None:
        state = "unfrozen" if frozen_idx == 0 else f"frozen up to parameter group #{frozen_idx}"
        res += f"\nModel {state}\n"
    cbs = sorted(getattr(learn, "cbs", []), key=lambda cb: getattr(cb, "order", 0))
    res += "\nCallbacks:\n" + "\n".join(f"  - {type(cb).__name__}" for cb in cbs) + "\n"
    return PrettyString(res)
