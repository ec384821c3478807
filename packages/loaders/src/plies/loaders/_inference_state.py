"""The validation data pipeline as plain data, and inference-only loaders rebuilt from it (no pickle).

What is kept: the validation loader's class (registered with `register_dataloader`), its batch
pipelines and `bs`, and the dataset: for `Datasets` the per-output pipelines, for a registered
dataset class (`register_dataset`) its own `inference_state()`. Transforms that run only on the
training split (`split_idx == 0`) are never needed at inference and are left out. Leading
transforms of an output that cannot be saved (a lambda getter...) are left out and listed under
`dropped`; one that cannot be saved after a kept one raises, naming it and how to register it.
"""

from __future__ import annotations

from typing import Any

import torch
from plies.pipes import Pipeline
from plies.typecore import default_device

from ._datasets import Datasets, TfmdLists
from ._errors import tfm_name
from ._registries import DATALOADERS, DATASETS
from ._subsets import type_name
from ._tfmddl import _BATCH_TFMS, TfmdDL

__all__: list[str] = []  # private module: DataLoaders.inference_state / from_inference_state

STATE_VERSION = 2
_READS = (1, 2)


def inference_state(dl: Any, path: str) -> dict[str, Any]:
    """The plain-data state of the validation loader `dl` (see the module docstring)."""
    who = "DataLoaders.inference_state"
    if not isinstance(dl, TfmdDL):
        raise TypeError(f"{who}: needs a TfmdDL (batch transforms as Pipelines), got a {type(dl).__name__}")
    ds = dl.dataset
    state: dict[str, Any] = {"version": STATE_VERSION, "dl_type": DATALOADERS.name_of(type(dl), who)}
    if isinstance(ds, Datasets):
        state.update(n_inp=ds.n_inp, tls=[_tl_state(tl, k) for k, tl in enumerate(ds.tls)], dataset=None)
    elif DATASETS.find_name(type(ds)) is not None:
        ds_state = {"type": DATASETS.find_name(type(ds)), "state": ds.inference_state()}
        state.update(n_inp=dl.n_inp, tls=[], dataset=ds_state)
    else:
        raise TypeError(
            f"{who}: the dataset is a {type(ds).__name__}, neither a Datasets nor a registered dataset class "
            f"(decorate it with @plies.loaders.register_dataset, see its docstring)"
        )
    if "_types" not in dl.__dict__ and dl.n:
        dl._one_pass()
    state.update(
        batch_types=_names_of(dl.__dict__.get("_types")),
        bs=dl.bs,
        path=path,
        **{name: _inference_pipeline(getattr(dl, name), name) for name in _BATCH_TFMS},
    )
    return state


def from_inference_state(state: Any, device: Any = None) -> tuple[Any, Any]:
    """(validation loader, path) rebuilt from `inference_state`: only registered or found-by-name code."""
    who = "DataLoaders.from_inference_state"
    if not isinstance(state, dict) or state.get("version") not in _READS:
        found = state.get("version") if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"{who}: expected a state of version {' or '.join(map(str, _READS))}, found {found!r}"
        )
    dl_cls = DATALOADERS.get(state.get("dl_type", "plies.loaders.TfmdDL"), who)
    ds_state = state.get("dataset")
    if ds_state is None:
        tls = [
            TfmdLists([], Pipeline.from_state_dict(t["tfms"]), do_setup=False, split_idx=1, types=t["types"])
            for t in state["tls"]
        ]
        ds = Datasets(tls=tls, n_inp=state["n_inp"])
    else:
        if not isinstance(ds_state, dict) or set(ds_state) != {"type", "state"}:
            raise ValueError(
                f"{who}: 'dataset' must be {{'type': name, 'state': ...}}, found {ds_state!r:.80}"
            )
        ds = DATASETS.get(ds_state["type"], who).from_inference_state(ds_state["state"])
        if getattr(ds, "n_inp", None) is None:  # an empty dataset cannot show how many inputs a batch has
            ds.n_inp = state["n_inp"]
    if device is None:
        device = default_device()
    pipes: dict[str, Any] = {name: Pipeline.from_state_dict(state[name]) for name in _BATCH_TFMS}
    dl = dl_cls(ds, bs=state["bs"], do_setup=False, device=device, **pipes)
    if state.get("batch_types") is not None:  # so decoding re-types model outputs as the targets were
        dl._types = _types_of(state["batch_types"])
    return dl, state.get("path", ".")


def _inference_pipeline(pipe: Pipeline, where: str) -> dict[str, Any]:
    """`pipe`'s state without its training-only transforms; errors name the transform."""
    kept = [f for f in pipe.fs if getattr(f, "split_idx", None) != 0]
    for f in kept:
        _check_saveable(f, f"{where} transform {tfm_name(f)}")
    return Pipeline(kept, split_idx=pipe.split_idx).state_dict()


def _check_saveable(f: Any, where: str) -> None:
    try:
        Pipeline([f]).state_dict()
    except KeyError as e:
        raise KeyError(f"{where}: {e.args[0] if e.args else e}") from None
    except TypeError as e:
        raise TypeError(f"{where}: {e}") from None


def _tl_state(tl: TfmdLists, k: int) -> dict[str, Any]:
    fs, types = list(tl.tfms.fs), [_type_state(t) for t in (tl.types or [])]
    keep = [i for i, f in enumerate(fs) if getattr(f, "split_idx", None) != 0]
    fs = [fs[i] for i in keep]
    types = [types[i] for i in keep] + types[len(tl.tfms.fs) :] if types else []
    errors: list[Exception | None] = []
    for f in fs:
        try:
            _check_saveable(f, f"output {k}, transform {tfm_name(f)}")
            errors.append(None)
        except (KeyError, TypeError) as e:
            errors.append(e)
    start = 0
    while start < len(fs) and errors[start] is not None:
        start += 1  # leading transforms that cannot be saved (getters): items are given past them
    bad = next((e for e in errors[start:] if e is not None), None)
    if bad is not None:
        raise type(bad)(
            f"DataLoaders.inference_state: {bad.args[0] if bad.args else bad} (it comes after a transform "
            f"that is kept, so it cannot be left out)"
        )
    tfms = Pipeline(fs[start:], split_idx=tl.split_idx).state_dict()
    return {"tfms": tfms, "types": types[start:], "dropped": [tfm_name(f) for f in fs[:start]]}


def _type_state(t: Any) -> Any:
    """A type recorded by TfmdLists as plain data: a qualified name, or a list of them (`input_types`)."""
    if isinstance(t, (tuple, list)):
        return [_type_state(o) for o in t]
    return t if isinstance(t, str) else type_name(t)


def _names_of(types: Any) -> Any:
    """Nested batch types as plain data: qualified class names in (nested) lists."""
    if types is None:
        return None
    if isinstance(types, tuple):
        return [_names_of(t) for t in types]
    return type_name(types)


def _loaded_tensor_class(name: str) -> type:
    """The already imported tensor class named `name` (nothing is imported); `object` when none is."""
    todo, seen = [torch.Tensor], set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if type_name(cls) == name:
            return cls
        todo.extend(cls.__subclasses__())
    return object  # retain_type leaves a field alone for `object`


def _types_of(names: Any) -> Any:
    if isinstance(names, list):
        return tuple(_types_of(n) for n in names)
    return _loaded_tensor_class(names)
