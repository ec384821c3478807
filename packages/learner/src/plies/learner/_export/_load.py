"""`load_learner`: rebuild a learner from a pickle-free export (see the package docstring).

Reading validates the archive first (`_archive.py`), checks that every registered name the file
uses is registered in this process (else names the module to import), then rebuilds each part
from its description; nothing is imported and no code named by the file runs unless it is
registered or already imported by this process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from plies.typecore import get_registry
from torch import Tensor, nn

from ._archive import (
    CONFIG,
    TENSORS,
    WEIGHTS,
    is_plies_export,
    load_tensors,
    read_config,
    read_members,
    refuse,
)
from ._codec import SpecError, decode
from ._hypers import build_opt, checked_hypers
from ._model import build_node, build_spec
from ._parts import build_callbacks, build_loss, build_metrics, learner_class

__all__ = ["load_learner"]


def load_learner(
    fname: str | os.PathLike,
    cpu: bool = True,
    pickle: bool = False,
    model: nn.Module | None = None,
    loss_func: Any = None,
) -> Any:
    """Rebuild a `Learner` from a file written by `Learner.export`, without running code from the file.

    Only registered objects and classes or functions already imported by this process (found by
    ``module:qualname``) are created: import the modules that define your model class, transforms
    and getters first, as a deployment script does. `cpu` keeps the model on the CPU (else the
    default device). `model` supplies the architecture when the file holds only weights;
    `loss_func` replaces the exported loss (required when it could not be exported).
    ``pickle=True`` also accepts fastai-style pickle files: ONLY for files you made yourself,
    since unpickling runs arbitrary code.
    """
    from .._learner._learner import Learner

    fname = Path(fname)
    if pickle and not is_plies_export(fname):
        return _from_pickle(fname, cpu)
    members = read_members(fname)
    config = read_config(members[CONFIG], fname)
    minor = config["version"][1]
    if minor >= 1:
        _check_requires(config["requires"], fname)
    tensors = load_tensors(members[TENSORS], TENSORS, fname)
    weights = load_tensors(members[WEIGHTS], WEIGHTS, fname)
    parts = ("model", "loss_func", "metrics", "hypers", "data") + (("callbacks",) if minor >= 1 else ())
    try:
        cfg = {k: decode(config[k], tensors, f"{fname}: {k}") for k in parts}
        net = _build_model(cfg["model"], model, fname, weights)
        lf = loss_func if loss_func is not None else build_loss(cfg["loss_func"], f"{fname}: loss_func")
        metrics = build_metrics(cfg["metrics"], minor, f"{fname}: metrics")
        dls = _data_from_state(cfg["data"], f"{fname}: data") if cfg["data"] is not None else None
        cls = learner_class(config["learner"], f"{fname}: learner") if minor >= 1 else Learner
        cbs = build_callbacks(cfg["callbacks"], f"{fname}: callbacks") if minor >= 1 else []
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
        kwargs["opt_func"] = build_opt(config["opt_func"], fname)
    kwargs.update(checked_hypers(cfg["hypers"], fname))
    try:
        learn = cls(dls, net, **kwargs)
    except TypeError as e:
        raise TypeError(
            f"load_learner: the registered Learner class {cls.__qualname__} cannot be built with the "
            f"Learner's arguments ({', '.join(kwargs)}): {e}"
        ) from e
    learn.add_cbs(cbs)
    if cpu:
        net.cpu()
        if dls is not None and hasattr(dls, "cpu"):
            dls.cpu()
    else:
        from plies.typecore import default_device

        net.to(default_device())
    return learn


def _check_requires(requires: Any, fname: Path) -> None:
    """Every registered name the file uses is registered here; else KeyError naming what to import."""
    import plies.loaders  # noqa: F401  (its registries: loaded lazily by the learner, needed here)

    if not isinstance(requires, list) or not all(
        isinstance(r, list) and len(r) == 3 and all(isinstance(x, str) for x in r) for r in requires
    ):
        raise refuse(fname, "'requires' must be a list of [kind, name, module] strings")
    missing = []
    for kind, name, module in requires:
        try:
            registry = get_registry(kind)
        except KeyError:
            raise refuse(fname, f"'requires' names an unknown kind of registry {kind!r}") from None
        if name not in registry:
            missing.append((kind, name, module))
    if missing:
        modules = sorted({m for _, _, m in missing})
        named = ", ".join(f"the {kind} {name!r}" for kind, name, _ in missing)
        raise KeyError(
            f"load_learner: {fname} needs {named}, not registered in this process: import "
            f"{', '.join(modules)} (where they are registered) before load_learner"
        )


def _data_from_state(state: Any, where: str) -> Any:
    from plies.loaders import DataLoaders

    try:
        return DataLoaders.from_inference_state(state)
    except KeyError as e:
        raise KeyError(f"{where}: {e.args[0] if e.args else e}") from None
    except (TypeError, ValueError) as e:
        raise SpecError(f"{where}: {e}") from None


def _build_described(desc: dict[str, Any], fname: Path) -> nn.Module:
    if desc["kind"] == "spec":
        built = build_spec(desc.get("spec"), f"{fname}: model")
        if not isinstance(built, nn.Module):
            raise refuse(fname, f"the model builder returned a {type(built).__name__}, not an nn.Module")
        return built
    return build_node(desc.get("tree"), f"{fname}: model")


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
    if not isinstance(desc, dict) or desc.get("kind") not in ("spec", "tree", "torch.nn", "user"):
        raise refuse(fname, f"config.json 'model' is not a model description: {desc!r:.100}")
    if desc["kind"] == "user":
        raise ValueError(
            f"load_learner: {fname} holds the weights of a {desc.get('class')!r} model without a build_spec; "
            f"pass model=<an instance of that architecture> (or, before exporting, keep its constructor "
            f"arguments as attributes of the same names, or register its class or function with "
            f"register_builder)"
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
