"""Resuming from a checkpoint: `resume` (called by `fit(resume_from=...)`) restores what
`CheckpointCallback` wrote and says where the run restarts.

It finds the file (a path, a name under the model dir, or 'latest'), checks that it fits the learner,
loads the weights, optimizer and callback states, the RNG states and the DataLoaders' positions, and
sets the epoch and batch the loop starts from.
"""

from __future__ import annotations

import os
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._callback import Callback, noop_logger
from .._distributed._collectives import all_gather_objects
from .._distributed._process import _rank, _world
from .._distributed._trainer import unwrap_model
from ._file import SUFFIX, read_checkpoint
from ._save import _callback_keys, latest_checkpoint


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `get_rng_state` returned."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    npst = state["numpy"]
    np.random.set_state(
        ("MT19937", npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"], npst["cached"])
    )
    torch.set_rng_state(state["torch"])
    cuda = state["cuda"]
    if cuda:
        if not torch.cuda.is_available() or torch.cuda.device_count() != len(cuda):
            found = torch.cuda.device_count() if torch.cuda.is_available() else 0
            warnings.warn(
                f"checkpoint: CUDA RNG states of {len(cuda)} devices not restored, this process sees "
                f"{found}; GPU random draws (dropout...) will differ from the interrupted run",
                stacklevel=3,
            )
        else:
            torch.cuda.set_rng_state_all(cuda)


def _resolve(learn: Any, resume_from: str | os.PathLike) -> Path | None:
    model_dir = Path(learn.path) / learn.model_dir
    if str(resume_from) == "latest":
        choice = latest_checkpoint(model_dir) if _rank() == 0 else None
        # every rank resumes from the file rank 0 chose (they may see the directory at different moments)
        name = all_gather_objects(None if choice is None else str(choice))[0]
        return None if name is None else Path(name)
    p = Path(resume_from)
    tried = [p, model_dir / p, model_dir / f"{p}{SUFFIX}"]
    for f in tried:
        if f.is_file():
            return f
    raise FileNotFoundError(
        f"resume_from={str(resume_from)!r}: no checkpoint file at {', '.join(map(str, tried))}"
    )


def resume(learn: Any, resume_from: str | os.PathLike) -> Path | None:
    """Restore `learn` from a checkpoint (a path, a name under the model dir, or 'latest'); return its path.

    With 'latest' and no valid checkpoint, nothing changes and None is returned (a fresh start).
    Sets ``learn.start_epoch``, ``learn.train_iter`` and the training DataLoader's position, and
    prints where the run restarts (rank 0, unless logging is off).
    """
    file = _resolve(learn, resume_from)
    if file is None:
        _say(
            learn,
            f"resume_from='latest': no valid checkpoint in {Path(learn.path) / learn.model_dir}; "
            "training starts from the beginning",
        )
        return None
    state = read_checkpoint(file)
    if "progress" not in state:
        raise ValueError(
            f"checkpoint {file}: holds weights only (written by Learner.save?), not a resumable "
            "checkpoint; write those with CheckpointCallback"
        )
    try:
        _apply(learn, state)
    except _Mismatch as e:
        raise ValueError(f"checkpoint {file}: {e}") from None
    _say(learn, _where(learn, file))
    return file


def _where(learn: Any, file: Path) -> str:
    """Where a resumed fit restarts, numbered as the progress bar numbers epochs (from 1)."""
    if learn.start_epoch >= learn.n_epoch:
        return f"resuming from {file}: the run had finished its {learn.n_epoch} epochs, nothing left to train"
    train = learn.dls.train
    n_batches = len(train) if hasattr(train, "__len__") else "?"
    return (
        f"resuming from {file}: epoch {learn.start_epoch + 1}/{learn.n_epoch}, "
        f"after batch {learn._skip_iters} of {n_batches}"
    )


def _say(learn: Any, text: str) -> None:
    """Print a line about the run on rank 0, as the metrics table is; silent under `no_logging`."""
    if _rank() == 0 and learn.logger is not noop_logger:
        print(text)


class _Mismatch(ValueError):
    """The checkpoint's content does not fit the learner it is loaded into."""


def _apply(learn: Any, state: dict[str, Any]) -> None:
    prog = state["progress"]
    world = _world()
    if state["world_size"] != world:
        raise _Mismatch(
            f"written by a run of {state['world_size']} processes, this run has "
            f"{world}; resume with the same number of processes"
        )
    if prog["epoch"] + int(prog["epoch_done"]) > learn.n_epoch:
        raise _Mismatch(
            f"at epoch {prog['epoch']} of {prog['n_epoch']}, beyond this fit's "
            f"n_epoch={learn.n_epoch}; call fit with the same arguments as the interrupted run"
        )
    model = unwrap_model(learn.model)
    try:
        model.load_state_dict(state["model"])
        params = dict(model.named_parameters())
        grads = state["grads"]
        for n, g in grads[_rank() if len(grads) > _rank() else 0].items():
            params[n].grad = g.to(params[n].device)
        if state["opt"] is not None:
            learn.opt.load_state_dict(state["opt"])
    except (KeyError, RuntimeError, ValueError) as e:
        raise _Mismatch(
            f"does not match this learner's model or optimizer ({type(e).__name__}: {e})"
        ) from None
    if state["scaler"] is not None:
        if not isinstance(getattr(learn, "scaler", None), torch.amp.GradScaler):
            device = next(iter(model.parameters())).device
            learn.scaler = torch.amp.GradScaler(
                device.type
            )  # MixedPrecision.before_fit keeps an existing one
        learn.scaler.load_state_dict(state["scaler"])
    cbs = dict(_callback_keys(learn))
    restore = []
    for key, cb_state in state["callbacks"].items():
        if key not in cbs:
            warnings.warn(
                f"checkpoint: state of callback {key!r} not restored, this learner has no such "
                f"callback (it has: {', '.join(cbs)})",
                stacklevel=4,
            )
            continue
        cbs[key].load_state_dict(cb_state)
        restore.append((cbs[key], cb_state))
    if restore:
        learn.add_cb(_RestoreCallbackStates(restore))
    loaders = list(learn.dls.loaders)
    if len(loaders) != len(state["dls"]):
        raise _Mismatch(
            f"holds the state of {len(state['dls'])} DataLoaders, this learner's dls has {len(loaders)}"
        )
    for i, (dl, dl_state) in enumerate(zip(loaders, state["dls"], strict=True)):
        if dl_state is not None and hasattr(dl, "load_state_dict"):
            dl.load_state_dict(dl_state)
        elif i == 0 and not prog["epoch_done"] and not hasattr(dl, "load_state_dict"):
            warnings.warn(
                f"checkpoint: the training DataLoader {dl!r} cannot save its position (no "
                "state_dict); the interrupted epoch restarts from its first batch with a new order",
                stacklevel=4,
            )
    rng = state["rng"]
    set_rng_state(rng[_rank()] if len(rng) > _rank() else rng[0])
    learn.start_epoch = prog["epoch"] + int(prog["epoch_done"])
    learn.train_iter = prog["train_iter"]
    # batches of the resumed epoch already done (the DataLoader skips them; the loop numbers from there)
    learn._skip_iters = 0 if prog["epoch_done"] else prog["batches_done"]


class _RestoreCallbackStates(Callback):
    """Load the checkpointed callback states again after every `before_fit` ran, then leave.

    Callbacks reset their counters in `before_fit` (a new fit starts from zero); when resuming, the
    checkpoint's values must win.
    """

    order = 10_000

    def __init__(self, states: list[tuple[Callback, dict[str, Any]]]) -> None:
        super().__init__()
        self.states = states

    def before_fit(self) -> None:
        for cb, cb_state in self.states:
            cb.load_state_dict(cb_state)
        self.learn.remove_cb(self)
