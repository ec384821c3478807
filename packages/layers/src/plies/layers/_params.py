"""Model parameter utilities: parameter lists and counts, the default body/head split, frozen BatchNorm.

These are fastai's `params`, `one_param`, `total_params`, `trainable_params`, `default_split` and
`set_bn_eval`; the learner uses them as its default splitter and in `BnFreeze`.
"""

from __future__ import annotations

from torch import nn

__all__ = [
    "params",
    "one_param",
    "total_params",
    "trainable_params",
    "default_split",
    "bn_types",
    "set_bn_eval",
]

bn_types = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def params(m: nn.Module) -> list[nn.Parameter]:
    """Every parameter of `m` (as a list)."""
    return list(m.parameters())


def one_param(m: nn.Module) -> nn.Parameter:
    """The first parameter of `m` (to read the model's device or dtype)."""
    for p in m.parameters():
        return p
    raise ValueError(f"one_param: the module {type(m).__name__} has no parameters")


def total_params(m: nn.Module) -> tuple[int, bool]:
    """``(number of parameters of m, whether its first parameter is trainable)``, as fastai returns them.

    A module without parameters gives ``(0, False)``.
    """
    ps = list(m.parameters())
    return sum(p.numel() for p in ps), (ps[0].requires_grad if ps else False)


def trainable_params(m: nn.Module) -> list[nn.Parameter]:
    """The parameters of `m` that require a gradient (the learner's default splitter: one group)."""
    return [p for p in m.parameters() if p.requires_grad]


def default_split(m: nn.Module) -> list[list[nn.Parameter]]:
    """Split a model built as ``Sequential(body, head...)`` in two parameter groups: ``m[0]`` and the rest.

    The splitter for transfer learning (``Learner(..., splitter=default_split)``): `freeze` then trains
    the head only. Applications add their own splitters for models of other shapes.
    """
    if not isinstance(m, nn.Sequential) or len(m) < 2:
        found = f"nn.Sequential of {len(m)} modules" if isinstance(m, nn.Sequential) else type(m).__name__
        raise TypeError(
            f"default_split: expected a model built as nn.Sequential(body, head) (at least 2 children), "
            f"found {found}; write a splitter returning [body_params, head_params] for this model"
        )
    return [params(m[0]), [p for child in list(m)[1:] for p in child.parameters()]]


def set_bn_eval(m: nn.Module) -> None:
    """Put every BatchNorm layer of `m` whose parameters are frozen (no gradient) in eval mode.

    Their running statistics then stay as they are while the rest of the model trains (`BnFreeze`).
    A BatchNorm without affine parameters gives no sign of being frozen and is left alone.
    """
    for layer in m.children():
        if isinstance(layer, bn_types):
            first = next(layer.parameters(), None)
            if first is not None and not first.requires_grad:
                layer.eval()
        set_bn_eval(layer)
