"""`export_learner` / `load_learner`: a pickle-free file to rebuild a learner for inference.

The file (default ``export.plies``) is a zip archive with exactly these members, stored uncompressed:

- ``config.json``: format marker and version, how to rebuild the model (a typecore build spec, or a
  description of an `nn.Sequential` of plain torch.nn layers), the loss function and metrics (by
  name from fixed tables), the optimizer name and hyper-parameters, the data pipeline's state
  (plain data from plies.loaders / plies.pipes), `path` and `model_dir`.
- ``model.safetensors``: the model's state dict.
- ``tensors.safetensors``: every tensor referenced by ``config.json`` (``{"__tensor__": key}``),
  e.g. normalisation statistics or class weights of the loss.

Loading never unpickles and never imports or calls anything named in the file: names are looked
up in fixed tables and in the registries (`register_builder`, `register_transform`). Archives with
other members, path-like names, sizes that do not add up, or a safetensors header that lies are
refused with a ValueError naming the file. `pickle=True` (both sides) is the explicit opt-in to
fastai's pickle behaviour, for files you produced yourself.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ._export_file import (
    CONFIG,
    FORMAT,
    TENSORS,
    VERSION,
    WEIGHTS,
    SpecError,
    atomic_writer,
    decode,
    encode,
    is_plies_export,
    load_tensors,
    read_config,
    read_members,
    refuse,
    write_archive,
)
from ._export_spec import (
    build_loss,
    build_metrics,
    build_spec,
    build_torch_tree,
    describe_loss,
    describe_metrics,
    describe_torch_tree,
    same_config,
)

__all__ = ["export_learner", "load_learner"]


# ---------------------------------------------------------------- export
def _describe_model(model: nn.Module) -> dict[str, Any]:
    spec = getattr(model, "build_spec", None)
    if isinstance(spec, dict):
        return {"kind": "spec", "spec": spec}
    tree = describe_torch_tree(model)
    if tree is not None and _rebuilds(tree, model):
        return {"kind": "torch.nn", "tree": tree}
    return {"kind": "user", "class": type(model).__name__}


def _rebuilds(tree: dict[str, Any], model: nn.Module) -> bool:
    try:
        return same_config(build_torch_tree(tree), model)
    except SpecError:
        return False


_OPTIMIZERS = ("SGD", "RMSProp", "Adam", "RAdam", "QHAdam", "Larc", "Lamb", "ranger")


def _optimizer_table() -> dict[str, Any]:
    from plies import optim

    return {name: getattr(optim, name) for name in _OPTIMIZERS if hasattr(optim, name)}


def _describe_opt(opt_func: Any) -> dict[str, Any] | None:
    """{'name', 'kwargs'} for a plies optimizer (or a functools.partial of one with plain keywords)."""
    func, kwargs = getattr(opt_func, "func", opt_func), dict(getattr(opt_func, "keywords", {}) or {})
    if getattr(opt_func, "args", ()):
        return None
    name = next((n for n, f in _optimizer_table().items() if f is func), None)
    plain = all(isinstance(v, (bool, int, float, str, type(None))) for v in kwargs.values())
    return {"name": name, "kwargs": kwargs} if name is not None and plain else None


def _build_opt(desc: Any, fname: Path) -> Any:
    if not (isinstance(desc, dict) and set(desc) == {"name", "kwargs"} and isinstance(desc["kwargs"], dict)):
        raise refuse(
            fname, f"opt_func must be {{'name': ..., 'kwargs': {{...}}}} or null, found {desc!r:.80}"
        )
    table = _optimizer_table()
    if desc["name"] not in table:
        raise refuse(fname, f"unknown optimizer {desc['name']!r} (plies rebuilds {', '.join(table)})")
    kwargs = desc["kwargs"]
    if not all(
        isinstance(k, str) and isinstance(v, (bool, int, float, str, type(None))) for k, v in kwargs.items()
    ):
        raise refuse(fname, "opt_func kwargs must be plain numbers, strings, booleans or null")
    return functools.partial(table[desc["name"]], **kwargs) if kwargs else table[desc["name"]]


def _plain_hypers(learn: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ("lr", "wd", "wd_bn_bias", "train_bn", "moms"):
        v = getattr(learn, k, None)
        if (
            v is None
            or isinstance(v, (bool, int, float))
            or (isinstance(v, tuple) and all(isinstance(x, (int, float)) for x in v))
        ):
            out[k] = v
    return out


def _checked_hypers(hypers: Any, fname: Path) -> dict[str, Any]:
    """The exported hyper-parameters, each of the type the Learner expects (None values dropped)."""
    number: tuple[type, ...] = (int, float)
    expected: dict[str, tuple[type, ...]] = {
        "lr": number, "wd": number, "wd_bn_bias": (bool,), "train_bn": (bool,), "moms": (tuple,),
    }  # fmt: skip
    if not isinstance(hypers, dict) or set(hypers) - set(expected):
        raise refuse(fname, f"hypers must be a dict with keys among {sorted(expected)}, found {hypers!r:.80}")
    out: dict[str, Any] = {k: v for k, v in hypers.items() if v is not None}
    for k, v in out.items():
        ok = isinstance(v, expected[k]) and not (expected[k] is number and isinstance(v, bool))
        if ok and k == "moms":
            ok = all(isinstance(m, number) and not isinstance(m, bool) for m in tuple(v))
        if not ok:
            raise refuse(fname, f"hyper-parameter {k!r} has an unexpected value {v!r:.60}")
    return out


def _data_state(dls: Any) -> Any:
    """Plain-data state of the validation pipeline (`DataLoaders.inference_state`), or None with a warning."""
    state_fn = getattr(dls, "inference_state", None)
    reason = f"{type(dls).__name__} has no inference_state()"
    if callable(state_fn):
        try:
            state = state_fn()
        except (TypeError, KeyError) as e:
            reason = str(e)
        else:
            dropped = [d for tl in state.get("tls", []) for d in tl.get("dropped", [])]
            if dropped:
                warnings.warn(
                    f"export: the data transforms {dropped} are not registered (see "
                    "plies.pipes.register_transform) and are left out: after load_learner, predict/test_dl "
                    "expect items as the first kept transform receives them",
                    stacklevel=3,
                )
            return state
    warnings.warn(
        f"export: the data pipeline cannot be exported without pickle ({reason}); the loaded learner has no "
        f"DataLoaders: predict needs them, get_preds(dl=...) works with a DataLoader you build",
        stacklevel=3,
    )
    return None


def _data_from_state(state: Any, where: str) -> Any:
    from plies.loaders import DataLoaders

    try:
        return DataLoaders.from_inference_state(state)
    except KeyError as e:
        raise KeyError(f"{where}: {e.args[0] if e.args else e}") from None
    except (TypeError, ValueError) as e:
        raise SpecError(f"{where}: {e}") from None


def export_learner(
    learn: Any, fname: str | os.PathLike = "export.plies", pickle: bool = False
) -> Path | None:
    """Write `learn` for inference to ``learn.path / fname`` (rank 0 only); return the path written.

    Pickle-free by default (see the module docstring for the format). A model that has neither a
    ``build_spec`` nor is an `nn.Sequential` of plain torch.nn layers is exported too, but then
    `load_learner` needs ``model=``; a loss or metrics that cannot be described are left out.
    Each of these cases warns. ``pickle=True`` writes fastai's kind of file instead (the whole
    learner pickled with `torch.save`): only for your own use, loading it can run any code.
    """
    from plies.typecore import rank_distrib

    if rank_distrib() != 0:
        return None
    dest = Path(getattr(learn, "path", ".")) / fname
    if pickle:
        _export_pickle(learn, dest)
        return dest
    model_desc = _describe_model(learn.model)
    if model_desc["kind"] == "user":
        warnings.warn(
            f"export: the model ({type(learn.model).__name__}) has no build_spec and is not an nn.Sequential "
            f"of plain torch.nn layers; only its weights are saved, so load_learner will need "
            f"model=<an instance of "
            f"the same architecture> (or build it with a function decorated with register_builder)",
            stacklevel=2,
        )
    loss_desc = describe_loss(learn.loss_func)
    if loss_desc is None and learn.loss_func is not None:
        warnings.warn(
            f"export: the loss function {learn.loss_func!r} cannot be described without pickle; pass "
            f"loss_func= to load_learner (predict uses it to decode predictions)",
            stacklevel=2,
        )
    metric_names, dropped = describe_metrics(list(getattr(learn, "metrics", []) or []))
    if dropped:
        warnings.warn(
            f"export: metrics {dropped} cannot be exported without pickle; the loaded learner will not "
            "have them",
            stacklevel=2,
        )
    opt_desc = _describe_opt(getattr(learn, "opt_func", None))
    if opt_desc is None:
        warnings.warn(
            f"export: the optimizer {getattr(learn, 'opt_func', None)!r} is not a plies optimizer (or a "
            "partial of one with plain keywords); the loaded learner will use Adam if it is trained further",
            stacklevel=2,
        )
    data = _data_state(learn.dls)
    tensors: dict[str, Tensor] = {}
    config = {
        "format": FORMAT,
        "version": VERSION,
        "model": encode(model_desc, tensors, "model"),
        "loss_func": encode(loss_desc, tensors, "loss_func"),
        "metrics": metric_names,
        "opt_func": opt_desc,
        "hypers": encode(_plain_hypers(learn), tensors, "hypers"),
        "data": encode(data, tensors, "data"),
        "path": str(getattr(learn, "path", ".")),
        "model_dir": str(getattr(learn, "model_dir", "models")),
    }
    write_archive(dest, config, dict(learn.model.state_dict()), tensors)
    return dest


def _export_pickle(learn: Any, dest: Path) -> None:
    old_dls, old_opt = learn.dls, getattr(learn, "opt", None)
    new_empty = getattr(old_dls, "new_empty", None)
    try:
        learn.dls = new_empty() if callable(new_empty) else old_dls
        learn.opt = None
        with atomic_writer(dest) as f:
            torch.save(learn, f)
    finally:
        learn.dls, learn.opt = old_dls, old_opt


# ---------------------------------------------------------------- load
def _build_described(desc: dict[str, Any], fname: Path) -> nn.Module:
    if desc["kind"] == "spec":
        built = build_spec(desc.get("spec"), f"{fname}: model")
        if not isinstance(built, nn.Module):
            raise refuse(fname, f"the model builder returned a {type(built).__name__}, not an nn.Module")
        return built
    return build_torch_tree(desc.get("tree"), f"{fname}: model")


def _build_model(desc: Any, model: nn.Module | None, fname: Path, weights: dict[str, Tensor]) -> nn.Module:
    """The model with the exported weights: `model` if given, else built from its description.

    The description is first built on the meta device, which allocates nothing, so a config
    describing a model far larger than the weights file (a memory bomb) is refused before any
    real allocation; when loading the weights replaces every tensor, that module is kept.
    """
    if model is not None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"load_learner: model= must be an nn.Module, found {type(model).__name__}")
        _check_fit(model, weights, fname)
        model.load_state_dict(weights, strict=True)
        return model
    if not isinstance(desc, dict) or desc.get("kind") not in ("spec", "torch.nn", "user"):
        raise refuse(fname, f"config.json 'model' is not a model description: {desc!r:.100}")
    if desc["kind"] == "user":
        raise ValueError(
            f"load_learner: {fname} holds the weights of a {desc.get('class')!r} model without a build_spec; "
            f"pass model=<an instance of that architecture> (or build the model with a function decorated "
            f"with register_builder before exporting)"
        )
    try:
        with torch.device("meta"):
            probe: nn.Module | None = _build_described(desc, fname)
    except (RuntimeError, NotImplementedError):
        probe = None  # a builder whose code cannot run on the meta device: the real build below checks
    if probe is not None:
        _check_fit(probe, weights, fname)
        if _all_state_in_state_dict(probe):
            # no weight initialisation, no copy: the module takes the loaded tensors
            probe.load_state_dict(weights, strict=True, assign=True)
            return probe
    net = _build_described(desc, fname)
    _check_fit(net, weights, fname)
    net.load_state_dict(weights, strict=True)
    return net


def _all_state_in_state_dict(m: nn.Module) -> bool:
    """Whether loading the state dict replaces every tensor of `m` (no non-persistent buffer, tied
    weight or tensor attribute would stay on the meta device)."""
    keys = set(m.state_dict())
    if any(name not in keys for name, _ in m.named_buffers()):
        return False
    if len(list(m.named_parameters(remove_duplicate=False))) != len(list(m.named_parameters())):
        return False
    return not any(isinstance(v, Tensor) for mod in m.modules() for v in vars(mod).values())


def _check_fit(net: nn.Module, weights: dict[str, Tensor], fname: Path) -> None:
    """Raise when the state dict of `net` and `weights` differ in keys or shapes."""
    own = net.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    if missing or unexpected:
        raise ValueError(
            f"load_learner: the weights in {fname} do not fit the model {type(net).__name__}: "
            f"missing keys {missing[:5]}, unexpected keys {unexpected[:5]}"
        )
    wrong = [k for k in own if own[k].shape != weights[k].shape]
    if wrong:
        k = wrong[0]
        raise ValueError(
            f"load_learner: the weights in {fname} do not fit the model {type(net).__name__}: shapes differ "
            f"for {wrong[:5]} (e.g. {k}: file {tuple(weights[k].shape)} vs model {tuple(own[k].shape)})"
        )


def _safe_model_dir(model_dir: Any, fname: Path) -> str:
    """The exported `model_dir` if it is a plain relative folder name (no absolute path, no '..')."""
    if not isinstance(model_dir, str) or Path(model_dir).is_absolute() or ".." in Path(model_dir).parts:
        raise refuse(fname, f"model_dir {model_dir!r} must be a relative folder inside the learner's path")
    return model_dir


def _from_pickle(fname: Path, cpu: bool) -> Any:
    learn = torch.load(fname, map_location="cpu" if cpu else None, weights_only=False)
    if cpu and hasattr(learn, "dls") and hasattr(learn.dls, "cpu"):
        learn.dls.cpu()
    return learn


def load_learner(
    fname: str | os.PathLike,
    cpu: bool = True,
    pickle: bool = False,
    model: nn.Module | None = None,
    loss_func: Any = None,
) -> Any:
    """Rebuild a `Learner` from a file written by `Learner.export`, without running code from the file.

    `cpu` keeps the model on the CPU (else the default device). `model` supplies the architecture
    when the file holds only weights; `loss_func` replaces the exported loss (required when it could
    not be exported). ``pickle=True`` also accepts fastai-style pickle files: ONLY for files you
    made yourself, since unpickling runs arbitrary code.
    """
    from ._learner import Learner

    fname = Path(fname)
    if pickle and not is_plies_export(fname):
        return _from_pickle(fname, cpu)
    members = read_members(fname)
    config = read_config(members[CONFIG], fname)
    tensors = load_tensors(members[TENSORS], TENSORS, fname)
    weights = load_tensors(members[WEIGHTS], WEIGHTS, fname)
    try:
        cfg = {
            k: decode(config[k], tensors, f"{fname}: {k}") for k in ("model", "loss_func", "hypers", "data")
        }
        net = _build_model(cfg["model"], model, fname, weights)
        lf = loss_func if loss_func is not None else build_loss(cfg["loss_func"], f"{fname}: loss_func")
        metrics = build_metrics(config["metrics"], f"{fname}: metrics")
        dls = _data_from_state(cfg["data"], f"{fname}: data") if cfg["data"] is not None else None
    except SpecError as e:
        raise refuse(fname, str(e)) from None
    except RecursionError:
        raise refuse(fname, "config.json is nested too deeply") from None
    if lf is None:
        raise ValueError(
            f"load_learner: {fname} holds no loss function (it could not be exported without pickle); "
            f"pass loss_func= (predict and get_preds use its activation and decodes)"
        )
    kwargs: dict[str, Any] = {
        "loss_func": lf,
        "metrics": metrics,
        "path": fname.parent,  # not the exporting machine's path: a file must not choose where we write
        "model_dir": _safe_model_dir(config["model_dir"], fname),
    }
    if config["opt_func"] is not None:
        kwargs["opt_func"] = _build_opt(config["opt_func"], fname)
    kwargs.update(_checked_hypers(cfg["hypers"], fname))
    learn = Learner(dls, net, **kwargs)
    if cpu:
        net.cpu()
        if dls is not None and hasattr(dls, "cpu"):
            dls.cpu()
    else:
        from plies.typecore import default_device

        net.to(default_device())
    return learn
