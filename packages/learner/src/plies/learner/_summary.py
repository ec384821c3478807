"""The model / learner summary: each leaf module's output shape and parameters on a real batch.

`Learner.summary()` prints `learner_summary`; `module_summary` works on any model and batch.
"""

from __future__ import annotations

from typing import Any

import torch
from plies.layers import Hooks, flatten_model
from torch import Tensor, nn

from ._utils import plain_tuple

__all__ = ["PrettyString", "layer_info", "module_summary", "learner_summary"]


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
    return PrettyString("\n".join(line.rstrip() for line in lines) + "\n")


def learner_summary(learn: Any) -> PrettyString:
    """The table of `Learner.summary()`: `module_summary` on a training batch, optimizer, loss, callbacks."""
    if getattr(learn, "dls", None) is None:
        raise ValueError("summary: the learner has no DataLoaders to draw a batch from (learn.dls is None)")
    dl = learn.dls.train
    batch = dl.one_batch()
    n_inp = getattr(learn.dls, "n_inp", None) or getattr(dl, "n_inp", None) or 1
    param = next(learn.model.parameters(), None)
    device = param.device if param is not None else None
    xb = tuple(x.to(device) if isinstance(x, Tensor) and device is not None else x for x in batch[:n_inp])
    res = str(module_summary(learn.model, *plain_tuple(xb)))  # the model sees plain tensors, as in fit
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
