"""Describe a learner's model, loss and metrics as plain data, and rebuild them from closed lists only.

Used by `_export.py`. Nothing here imports a module or calls a function named in the data:
every name is looked up in a fixed table (torch.nn layers and losses, plies losses and metrics)
or in typecore's builder registry (`build_from_spec`). Each description is checked at export
time by rebuilding the object and comparing it with the original, so a description that would
not round-trip is never written.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from plies import layers
from torch import Tensor, nn

from ._export_file import SpecError

__all__: list[str] = []  # private module: used by _export.py

# ---------------------------------------------------------------- constructor kwargs from attributes
_SKIP_PARAMS = {"self", "device", "dtype"}


def _params(factory: Callable[..., Any]) -> list[inspect.Parameter]:
    sig = inspect.signature(factory)
    return [
        p
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in _SKIP_PARAMS
        and not p.name.startswith("_")
    ]


def _read_kwargs(obj: Any, factories: list[Callable[..., Any]]) -> dict[str, Any]:
    """Constructor keywords of `obj` read from its attributes (and those of ``obj.func``)."""
    sources = [obj] + ([obj.func] if hasattr(obj, "func") and not inspect.isroutine(obj.func) else [])
    kwargs: dict[str, Any] = {}
    for factory in factories:
        for p in _params(factory):
            if p.name in kwargs:
                continue
            if p.name == "bias" and isinstance(getattr(obj, "bias", None), (Tensor, type(None))):
                kwargs["bias"] = getattr(obj, "bias", None) is not None
                continue
            for src in sources:
                if hasattr(src, p.name):
                    value = getattr(src, p.name)
                    if isinstance(value, nn.Parameter):
                        break  # a learned value (PReLU init...): the weights file restores it
                    kwargs[p.name] = value
                    break
    return kwargs


def same_config(a: Any, b: Any) -> bool:
    """Whether `a` and `b` hold the same configuration (types, attributes, tensors, parameter shapes)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a.cpu(), b.cpu()))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_config(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_config(a[k], b[k]) for k in a)
    if isinstance(a, nn.Module):
        sa, sb = a.state_dict(), b.state_dict()
        if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
            return False
        if repr(a) != repr(b):
            return False
    if hasattr(a, "__dict__") and not isinstance(a, type):
        skip = {"_parameters", "_buffers", "_modules", "training"} if isinstance(a, nn.Module) else set()
        da = {k: v for k, v in vars(a).items() if k not in skip and not k.endswith("_hooks")}
        db = {k: v for k, v in vars(b).items() if k not in skip and not k.endswith("_hooks")}
        if isinstance(a, nn.Module):
            da = {k: v for k, v in da.items() if not k.startswith("_")}
            db = {k: v for k, v in db.items() if not k.startswith("_")}
            return da.keys() == db.keys() and all(_same_value(da[k], db[k]) for k in da)
        return da.keys() == db.keys() and all(same_config(da[k], db[k]) for k in da)
    return bool(a == b) if not isinstance(a, float) else (a == b or (a != a and b != b))


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, (Tensor, nn.Module, list, tuple, dict)):
        return same_config(a, b)
    try:
        return bool(a == b)
    except (TypeError, RuntimeError, ValueError):
        return False


# ---------------------------------------------------------------- torch.nn layers
_TORCH_LAYERS: dict[str, type[nn.Module]] = {
    cls.__name__: cls
    for cls in (
        nn.Linear, nn.Bilinear, nn.Identity, nn.Flatten, nn.Unflatten,
        nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
        nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
        nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, nn.Embedding,
        nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
        nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
        nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Softplus, nn.Tanh, nn.Sigmoid, nn.LogSigmoid,
        nn.Softmax, nn.LogSoftmax,
        nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
        nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
        nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
        nn.Upsample, nn.PixelShuffle, nn.ZeroPad2d,
    )
}  # fmt: skip
_PLAIN_KW = (bool, int, float, str, type(None))


def _check_plain_kwargs(kwargs: dict[str, Any], allowed: set[str], who: str) -> None:
    for k, v in kwargs.items():
        if k not in allowed:
            raise SpecError(
                f"{who}: unexpected constructor argument {k!r} (allowed: {', '.join(sorted(allowed))})"
            )
        values = v if isinstance(v, (tuple, list)) else (v,)
        if not all(isinstance(x, _PLAIN_KW) for x in values):
            raise SpecError(
                f"{who}: argument {k!r} must be a number, string, bool or None (or a tuple of them)"
            )


def describe_torch_tree(m: nn.Module) -> dict[str, Any] | None:
    """Describe an `nn.Sequential` of whitelisted torch.nn layers (nested), or None if it is not one."""
    if type(m) is nn.Sequential:
        children = []
        for name, child in m.named_children():
            node = describe_torch_tree(child)
            if node is None:
                return None
            children.append([name, node])
        return {"type": "Sequential", "children": children}
    cls = _TORCH_LAYERS.get(type(m).__name__)
    if cls is None or type(m) is not cls or len(list(m.children())) > 0:
        return None
    kwargs = _read_kwargs(m, [cls.__init__])
    return {"type": cls.__name__, "kwargs": kwargs}


def build_torch_tree(node: Any, where: str = "model") -> nn.Module:
    """Rebuild a module from `describe_torch_tree`'s description (whitelisted layer names only)."""
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise SpecError(f"{where}: expected {{'type': <layer name>, ...}}, found {node!r:.80}")
    kind = node["type"]
    if kind == "Sequential":
        children = node.get("children")
        if not isinstance(children, list) or set(node) != {"type", "children"}:
            raise SpecError(f"{where}: a Sequential needs exactly 'type' and 'children' (a list)")
        seq = nn.Sequential()
        for i, pair in enumerate(children):
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and pair[0]):
                raise SpecError(f"{where}.children[{i}]: expected [name, layer]")
            if "." in pair[0] or pair[0] in seq._modules:
                raise SpecError(f"{where}.children[{i}]: invalid or repeated child name {pair[0]!r}")
            seq.add_module(pair[0], build_torch_tree(pair[1], f"{where}.{pair[0]}"))
        return seq
    cls = _TORCH_LAYERS.get(kind)
    if cls is None:
        raise SpecError(
            f"{where}: layer type {kind!r} is not one of the torch.nn layers plies rebuilds "
            f"({', '.join(sorted(_TORCH_LAYERS))}); build the model with a function decorated with "
            "typecore's register_builder instead"
        )
    kwargs = node.get("kwargs", {})
    if not isinstance(kwargs, dict) or set(node) - {"type", "kwargs"}:
        raise SpecError(f"{where}: a layer needs 'type' and 'kwargs' (a dict) only")
    _check_plain_kwargs(kwargs, {p.name for p in _params(cls.__init__)}, f"{where} ({kind})")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{where}: cannot build {kind}(**{kwargs!r:.80}): {e}") from e


# ---------------------------------------------------------------- losses
def _loss_factories() -> dict[str, Callable[..., Any]]:
    table: dict[str, Callable[..., Any]] = {}
    for name in (
        "CrossEntropyLossFlat",
        "BCEWithLogitsLossFlat",
        "BCELossFlat",
        "MSELossFlat",
        "L1LossFlat",
        "FocalLossFlat",
        "FocalLoss",
        "LabelSmoothingCrossEntropy",
        "LabelSmoothingCrossEntropyFlat",
        "DiceLoss",
    ):
        if hasattr(layers, name):
            table[f"plies.layers.{name}"] = getattr(layers, name)
    for cls in (
        nn.CrossEntropyLoss,
        nn.NLLLoss,
        nn.MSELoss,
        nn.L1Loss,
        nn.BCELoss,
        nn.BCEWithLogitsLoss,
        nn.SmoothL1Loss,
        nn.HuberLoss,
        nn.KLDivLoss,
        nn.PoissonNLLLoss,
    ):
        table[f"torch.nn.{cls.__name__}"] = cls
    return table  # fmt: skip


_LOSS_FUNCTIONS: dict[str, Callable[..., Any]] = {
    f"torch.nn.functional.{f.__name__}": f
    for f in (
        F.cross_entropy, F.nll_loss, F.mse_loss, F.l1_loss, F.binary_cross_entropy,
        F.binary_cross_entropy_with_logits, F.smooth_l1_loss, F.huber_loss,
    )
}  # fmt: skip


def _factory_params(factory: Callable[..., Any], obj: Any) -> list[Callable[..., Any]]:
    extra = [type(obj.func).__init__] if hasattr(obj, "func") and isinstance(obj.func, nn.Module) else []
    return [factory.__init__ if inspect.isclass(factory) else factory, *extra]


def describe_loss(loss_func: Any) -> dict[str, Any] | None:
    """Plain description of a known loss (checked by rebuilding it), or None."""
    if loss_func is None:
        return None
    spec = getattr(loss_func, "build_spec", None)
    if isinstance(spec, dict):
        return {"kind": "spec", "spec": spec}
    for name, f in _LOSS_FUNCTIONS.items():
        if loss_func is f:
            return {"kind": "function", "name": name}
    for name, factory in _loss_factories().items():
        try:
            probe = factory()
        except TypeError:
            continue
        if type(probe) is not type(loss_func) or type(getattr(probe, "func", None)) is not type(
            getattr(loss_func, "func", None)
        ):
            continue
        kwargs = _read_kwargs(loss_func, _factory_params(factory, loss_func))
        try:
            rebuilt = factory(**kwargs)
        except (TypeError, ValueError):
            continue
        if same_config(rebuilt, loss_func):
            return {"kind": "class", "name": name, "kwargs": kwargs}
    return None


def build_loss(desc: Any, where: str = "loss_func") -> Any:
    """Rebuild a loss from `describe_loss`'s description (fixed tables or registered builders only)."""
    if desc is None:
        return None
    if not isinstance(desc, dict) or desc.get("kind") not in ("spec", "function", "class"):
        raise SpecError(
            f"{where}: expected a dict with kind 'spec', 'function' or 'class', found {desc!r:.80}"
        )
    if desc["kind"] == "spec":
        return build_spec(desc.get("spec"), where)
    name = desc.get("name")
    if desc["kind"] == "function":
        if name not in _LOSS_FUNCTIONS:
            raise SpecError(
                f"{where}: {name!r} is not a loss function plies rebuilds ({', '.join(_LOSS_FUNCTIONS)})"
            )
        return _LOSS_FUNCTIONS[name]
    table = _loss_factories()
    if name not in table:
        raise SpecError(f"{where}: {name!r} is not a loss class plies rebuilds ({', '.join(table)})")
    kwargs = desc.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise SpecError(f"{where}: kwargs must be a dict")
    factory = table[name]
    allowed = {p.name for f in (factory,) for p in _params(f.__init__ if inspect.isclass(f) else f)}
    probe = factory()
    if hasattr(probe, "func") and isinstance(probe.func, nn.Module):
        allowed |= {p.name for p in _params(type(probe.func).__init__)}
    for k, v in kwargs.items():
        if k not in allowed:
            raise SpecError(f"{where}: unexpected argument {k!r} for {name}")
        plain_tuple = isinstance(v, tuple) and all(isinstance(x, _PLAIN_KW) for x in v)
        if not (isinstance(v, (*_PLAIN_KW, Tensor)) or plain_tuple):
            raise SpecError(f"{where}: argument {k!r} of {name} must be plain data or a tensor")
    try:
        return factory(**kwargs)
    except (TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{where}: cannot build {name}: {e}") from e


# ---------------------------------------------------------------- registered builders (typecore)
def build_spec(spec: Any, where: str) -> Any:
    """`typecore.build_from_spec` (registered builders only), with the error naming `where`."""
    from plies.typecore import build_from_spec

    if not isinstance(spec, dict) or not isinstance(spec.get("builder"), str):
        raise SpecError(
            f"{where}: expected a build spec {{'builder': name, 'kwargs': {{...}}}}, found {spec!r:.80}"
        )
    try:
        return build_from_spec(spec)
    except KeyError as e:
        raise KeyError(f"{where}: {e.args[0] if e.args else e}") from None


# ---------------------------------------------------------------- metrics
def _metric_table() -> dict[str, Any]:
    from . import _metrics

    return {
        name: getattr(_metrics, name)
        for name in (
            "accuracy", "error_rate", "top_k_accuracy", "accuracy_multi", "foreground_acc",
            "mse", "mae", "msle", "rmse", "exp_rmspe", "perplexity",
        )
    }  # fmt: skip


def describe_metrics(metrics: list[Any]) -> tuple[list[str], list[str]]:
    """(names of the metrics plies can restore, names of those it cannot)."""
    table = _metric_table()
    kept, dropped = [], []
    for m in metrics:
        func = getattr(m, "func", m)  # AvgMetric wraps a function
        name = next((n for n, f in table.items() if f is func or f is m), None)
        if name is None:
            dropped.append(getattr(m, "name", type(m).__name__))
        else:
            kept.append(name)
    return kept, dropped


def build_metrics(names: Any, where: str = "metrics") -> list[Any]:
    """The metric objects for `describe_metrics`'s names."""
    table = _metric_table()
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SpecError(f"{where}: expected a list of metric names")
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SpecError(f"{where}: unknown metric(s) {unknown} (known: {', '.join(table)})")
    return [table[n] for n in names]
