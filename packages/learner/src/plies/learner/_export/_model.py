"""Describe a model as plain data, and rebuild it without running code named by the data.

A model is described by its `build_spec` (typecore's registered builders), else as a tree:
`nn.Sequential` containers, whitelisted torch.nn layers with their constructor arguments, modules
with a `build_spec`, and modules of the user's own classes found by name (``"module:qualname"``)
with their constructor arguments read from attributes of the same names. Export rebuilds the
description (on the meta device) and compares it with the model, so a description that would
not reproduce it is never written; the model's weights are then saved alone (`load_learner`
needs ``model=``). Loading looks classes up in the whitelist, the builder registry, or modules
the process has already imported (typecore's `find_loaded`): it never imports anything.
"""

from __future__ import annotations

from typing import Any

import torch
from plies.typecore import find_loaded, get_registry, loaded_name
from torch import Tensor, nn

from ._codec import SpecError
from ._spec import PLAIN_KW, check_plain_kwargs, params_of, read_kwargs, same_config

__all__: list[str] = []  # private module of the export package

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
        nn.Upsample, nn.PixelShuffle, nn.ZeroPad2d, nn.RNN, nn.LSTM, nn.GRU,
    )
}  # fmt: skip
_MODULE, _NN_CLASS = "__module__", "__nn_class__"  # markers in a user class's recorded arguments


class NotDescribable(Exception):
    """Internal signal: a module cannot be described (the message says why)."""


# ---------------------------------------------------------------- describe
def describe_model(model: nn.Module) -> tuple[dict[str, Any], str | None]:
    """(description, None), or ({'kind': 'user', ...}, why it cannot be rebuilt) for weights only."""
    spec = getattr(model, "build_spec", None)
    if isinstance(spec, dict):
        note_builders(spec)
        return {"kind": "spec", "spec": spec}, None
    try:
        node = describe_node(model, "model")
        reason = _rebuild_differs(node, model)
    except NotDescribable as e:
        reason = str(e)
    if reason is None:
        return {"kind": "tree", "tree": node}, None
    return {"kind": "user", "class": type(model).__name__}, reason


def describe_node(m: nn.Module, where: str) -> dict[str, Any]:
    """The tree node of `m`: a Sequential, a whitelisted layer, a build spec, or a class found by name."""
    spec = getattr(m, "build_spec", None)
    if isinstance(spec, dict):
        note_builders(spec)
        return {"type": "spec", "spec": spec}
    cls = type(m)
    if cls is nn.Sequential:
        return {
            "type": "Sequential",
            "children": [[n, describe_node(c, f"{where}.{n}")] for n, c in m.named_children()],
        }
    if _TORCH_LAYERS.get(cls.__name__) is cls and not list(m.children()):
        return {"type": cls.__name__, "kwargs": read_kwargs(m, [cls.__init__])}
    if cls.__module__.split(".")[0] == "torch":
        raise NotDescribable(f"{where} is a {cls.__name__}, a torch module plies does not rebuild by itself")
    ref = loaded_name(cls)
    if ref is None:
        raise NotDescribable(
            f"{where}: its class {cls.__qualname__} cannot be found by name in another process (defined "
            f"inside a function, or in the standard library)"
        )
    kwargs: dict[str, Any] = {}
    for p in params_of(cls.__init__):
        value = getattr(m, p.name, _MISSING)
        if value is _MISSING or isinstance(value, Tensor):
            if p.default is p.empty:
                raise NotDescribable(
                    f"{where}: {cls.__qualname__}.__init__ argument {p.name!r} is not kept as an attribute "
                    f"of the same name (self.{p.name} = {p.name})"
                )
            continue  # left to its default: the rebuild check below tells whether that is right
        kwargs[p.name] = _describe_value(value, f"{where}.{p.name}")
    return {"type": "class", "class": ref, "kwargs": kwargs}


_MISSING = object()


def _describe_value(v: Any, where: str) -> Any:
    if isinstance(v, PLAIN_KW) and type(v) in PLAIN_KW:
        return v
    if type(v) in (list, tuple):
        return type(v)(_describe_value(o, where) for o in v)
    if type(v) is dict and all(isinstance(k, str) for k in v) and not {_MODULE, _NN_CLASS} & set(v):
        return {k: _describe_value(o, f"{where}.{k}") for k, o in v.items()}
    if isinstance(v, nn.Module):
        return {_MODULE: describe_node(v, where)}
    if isinstance(v, type) and issubclass(v, nn.Module) and getattr(nn, v.__name__, None) is v:
        return {_NN_CLASS: v.__name__}
    raise NotDescribable(f"{where} is a {type(v).__name__}, not plain data, a module or a torch.nn class")


def _rebuild_differs(node: dict[str, Any], model: nn.Module) -> str | None:
    """None when `node` rebuilds a module with the configuration of `model`, else what differs."""
    try:
        try:
            with torch.device("meta"):  # allocates nothing, even for a large model
                rebuilt = build_node(node, "model")
            same = same_config(rebuilt, model)
        except (RuntimeError, NotImplementedError):  # code that cannot run on the meta device
            rebuilt = build_node(node, "model")
            same = same_config(rebuilt, model)
    except (SpecError, KeyError, TypeError) as e:
        return f"rebuilding it from the recorded arguments failed ({e})"
    if same:
        return None
    return (
        "rebuilding it from the recorded constructor arguments gives a different module (layers, parameter "
        "shapes or attributes differ)"
    )


def note_builders(spec: Any) -> None:
    """Tell typecore's name recorders which registered builders a (nested) build spec uses."""
    if isinstance(spec, dict):
        if isinstance(spec.get("builder"), str):
            get_registry("builder").note_used(spec["builder"])
        for v in spec.values():
            note_builders(v)
    elif isinstance(spec, (list, tuple)):
        for v in spec:
            note_builders(v)


# ---------------------------------------------------------------- build
def build_node(node: Any, where: str = "model") -> nn.Module:
    """Rebuild a module from `describe_node`'s description (whitelist, builders, classes found by name)."""
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise SpecError(f"{where}: expected {{'type': <layer name>, ...}}, found {node!r:.80}")
    kind = node["type"]
    if kind == "Sequential":
        return _build_sequential(node, where)
    if kind == "spec":
        if set(node) != {"type", "spec"}:
            raise SpecError(f"{where}: a spec node needs exactly 'type' and 'spec'")
        built = build_spec(node["spec"], where)
        if not isinstance(built, nn.Module):
            raise SpecError(f"{where}: the builder returned a {type(built).__name__}, not an nn.Module")
        return built
    if kind == "class":
        return _build_class(node, where)
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
    check_plain_kwargs(kwargs, {p.name for p in params_of(cls.__init__)}, f"{where} ({kind})")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{where}: cannot build {kind}(**{kwargs!r:.80}): {e}") from e


def _build_sequential(node: dict[str, Any], where: str) -> nn.Module:
    children = node.get("children")
    if not isinstance(children, list) or set(node) != {"type", "children"}:
        raise SpecError(f"{where}: a Sequential needs exactly 'type' and 'children' (a list)")
    seq = nn.Sequential()
    for i, pair in enumerate(children):
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and pair[0]):
            raise SpecError(f"{where}.children[{i}]: expected [name, layer]")
        if "." in pair[0] or pair[0] in seq._modules:
            raise SpecError(f"{where}.children[{i}]: invalid or repeated child name {pair[0]!r}")
        seq.add_module(pair[0], build_node(pair[1], f"{where}.{pair[0]}"))
    return seq


def _is_module_class(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, nn.Module)


def _build_class(node: dict[str, Any], where: str) -> nn.Module:
    if set(node) != {"type", "class", "kwargs"} or not isinstance(node["kwargs"], dict):
        raise SpecError(f"{where}: a class node needs exactly 'type', 'class' and 'kwargs' (a dict)")
    if isinstance(node["class"], str) and node["class"].partition(".")[0].partition(":")[0] == "torch":
        raise SpecError(
            f"{where}: {node['class']!r}: torch's classes are described as layers, not by reference"
        )
    try:
        cls = find_loaded(node["class"], where, _is_module_class, "an nn.Module class")
    except ValueError as e:
        raise SpecError(str(e)) from None
    allowed = {p.name for p in params_of(cls.__init__)}
    kwargs = {}
    for k, v in node["kwargs"].items():
        if k not in allowed:
            raise SpecError(f"{where}: unexpected constructor argument {k!r} of {cls.__qualname__}")
        kwargs[k] = _build_value(v, f"{where}.{k}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{where}: cannot build {cls.__qualname__}(**{kwargs!r:.80}): {e}") from e


def _build_value(v: Any, where: str) -> Any:
    if isinstance(v, PLAIN_KW):
        return v
    if type(v) in (list, tuple):
        return type(v)(_build_value(o, where) for o in v)
    if type(v) is dict:
        if set(v) == {_MODULE}:
            return build_node(v[_MODULE], where)
        if set(v) == {_NN_CLASS}:
            cls = getattr(nn, v[_NN_CLASS], None) if isinstance(v[_NN_CLASS], str) else None
            if not _is_module_class(cls):
                raise SpecError(f"{where}: {v[_NN_CLASS]!r} is not a layer class of torch.nn")
            return cls
        return {k: _build_value(o, f"{where}.{k}") for k, o in v.items()}
    raise SpecError(f"{where}: unexpected argument value of type {type(v).__name__}")


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
