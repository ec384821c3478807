"""`export_learner`: write a learner for inference to a pickle-free file (see the package docstring).

Each part is described as plain data and checked by rebuilding it; a part that cannot be
described is left out with a warning that names it and says how to register it (or what to
pass to `load_learner`). The registered names the file uses are listed under ``requires``
with the module that registers each, so `load_learner` can say what to import.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from plies.typecore import recording_names
from torch import Tensor

from ._archive import FORMAT, VERSION, atomic_writer, write_archive
from ._codec import encode
from ._hypers import describe_opt, plain_hypers
from ._model import describe_model
from ._parts import (
    describe_callbacks,
    describe_learner_class,
    describe_loss,
    describe_metrics,
    note_callbacks,
)

__all__ = ["export_learner"]


def export_learner(
    learn: Any, fname: str | os.PathLike = "export.plies", pickle: bool = False
) -> Path | None:
    """Write `learn` for inference to ``learn.path / fname`` (rank 0 only); return the path written.

    Pickle-free by default (see `plies.learner` export docs for the format). What cannot be
    described is left out with a warning naming it: a model that is neither built by a registered
    builder, nor made of torch.nn layers and classes found by name with their constructor
    arguments kept as attributes, is saved as weights only (`load_learner` then needs ``model=``);
    unregistered losses, metrics, Learner subclasses likewise. ``pickle=True`` writes fastai's kind
    of file instead (the whole learner pickled with `torch.save`): only for your own use, loading
    it can run any code.
    """
    from plies.typecore import rank_distrib

    if rank_distrib() != 0:
        return None
    dest = Path(getattr(learn, "path", ".")) / fname
    if pickle:
        _export_pickle(learn, dest)
        return dest
    tensors: dict[str, Tensor] = {}
    with recording_names() as used:
        config = {
            "format": FORMAT,
            "version": VERSION,
            "model": encode(_model(learn.model), tensors, "model"),
            "loss_func": encode(_loss(learn.loss_func), tensors, "loss_func"),
            "metrics": encode(_metrics(list(getattr(learn, "metrics", []) or [])), tensors, "metrics"),
            "opt_func": _opt(getattr(learn, "opt_func", None)),
            "hypers": encode(plain_hypers(learn), tensors, "hypers"),
            "data": encode(_data_state(learn.dls), tensors, "data"),
            "path": str(getattr(learn, "path", ".")),
            "model_dir": str(getattr(learn, "model_dir", "models")),
            "learner": _learner_class(learn),
            "callbacks": encode(_callbacks(learn.cbs), tensors, "callbacks"),
        }
    config["requires"] = [list(r) for r in sorted(used)]
    write_archive(dest, config, dict(learn.model.state_dict()), tensors)
    return dest


def _warn(message: str) -> None:
    warnings.warn(f"export: {message}", stacklevel=3)


def _model(model: Any) -> dict[str, Any]:
    desc, why = describe_model(model)
    if why is not None:
        _warn(
            f"the model ({type(model).__name__}) has no build_spec and cannot be rebuilt from the file: "
            f"{why}. "
            f"Only its weights are saved, so load_learner will need model=<an instance of the same "
            f"architecture>. To make it rebuildable, keep its constructor arguments as attributes of the "
            f"same names (self.n_out = n_out), or decorate its class or constructor function with "
            f"@plies.typecore.register_builder"
        )
    return desc


def _loss(loss_func: Any) -> Any:
    desc = describe_loss(loss_func)
    if desc is None and loss_func is not None:
        _warn(
            f"the loss function {loss_func!r} cannot be described without pickle (register its function or "
            f"class with @plies.layers.register_loss); pass loss_func= to load_learner (predict uses it to "
            f"decode predictions)"
        )
    return desc


def _metrics(metrics: list[Any]) -> list[dict[str, Any]]:
    descs, dropped = describe_metrics(metrics)
    if dropped:
        _warn(
            f"metrics {dropped} cannot be exported without pickle (register them with "
            f"@plies.learner.register_metric); the loaded learner will not have them"
        )
    return descs


def _opt(opt_func: Any) -> Any:
    desc = describe_opt(opt_func)
    if desc is None:
        _warn(
            f"the optimizer {opt_func!r} is not a plies optimizer (or a partial of one with plain keywords); "
            f"the loaded learner will use Adam if it is trained further"
        )
    return desc


def _learner_class(learn: Any) -> str:
    name = describe_learner_class(learn)
    if name is None:
        _warn(
            f"the learner's class {type(learn).__qualname__} is not registered (decorate it with "
            f"@plies.learner.register_learner); load_learner will return a plain Learner"
        )
        return "plies.learner.Learner"
    return name


def _callbacks(cbs: Any) -> list[dict[str, Any]]:
    descs, problems = describe_callbacks(cbs)
    kept = []
    for d in descs:
        try:
            encode(d, {}, f"callback {d['type']}")  # a dry run: is it plain data?
        except TypeError as e:
            problems.append(f"{d['type']} ({e})")
        else:
            kept.append(d)
    if problems:
        _warn(f"the inference callbacks {problems} cannot be exported; the loaded learner will not have them")
    note_callbacks(kept)
    return kept


def _data_state(dls: Any) -> Any:
    """Plain-data state of the validation pipeline (`DataLoaders.inference_state`), or None with a warning."""
    state_fn = getattr(dls, "inference_state", None)
    reason = f"{type(dls).__name__} has no inference_state()"
    if callable(state_fn):
        try:
            state = state_fn()
        except (TypeError, KeyError) as e:
            reason = str(e.args[0] if isinstance(e, KeyError) and e.args else e)
        else:
            # only the inputs' pipelines run at inference (predict, test_dl): a target's getter left out
            # (SegmentationDataLoaders.from_label_func(label_func=lambda ...)) is never missed
            inputs = state.get("tls", [])[: state.get("n_inp") or 0]
            dropped = [d for tl in inputs for d in tl.get("dropped", [])]
            if dropped:
                _warn(
                    f"the data transforms {dropped} cannot be saved (lambdas or functions defined inside a "
                    f"function; see plies.pipes.register_transform) and are left out: after load_learner, "
                    f"predict/test_dl expect items as the first kept transform receives them"
                )
            return state
    _warn(
        f"the data pipeline cannot be exported without pickle ({reason}); the loaded learner has no "
        f"DataLoaders: predict needs them, get_preds(dl=...) works with a DataLoader you build"
    )
    return None


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
