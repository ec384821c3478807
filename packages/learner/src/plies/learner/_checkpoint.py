"""Checkpoints that resume a run exactly: `CheckpointCallback` writes them, `resume` (called by fit) reads.

A checkpoint holds everything the next batch depends on: model weights, optimizer state, the state of
every callback that has one (Recorder history, grad scaler, early-stopping counters...), the schedule
position (epoch, batches done, train_iter), the RNG states of every rank (python, numpy, torch, each
CUDA device) and the training DataLoader's position, so a run killed mid-epoch continues with the same
batch order and reaches the same weights. The file format is in `_checkpoint_file`.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import warnings
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import torch

from ._callback import Callback, validation_only
from ._checkpoint_file import FORMAT, SUFFIX, header_metadata, read_checkpoint, write_checkpoint
from ._distributed import (
    _rank,
    _world,
    all_gather_objects,
    all_reduce_max_flag,
    distrib_barrier,
    unwrap_model,
)
from ._schedule import LRFinder

__all__ = ["CheckpointCallback", "latest_checkpoint"]

RESUME = "resume"  # the `kind` of CheckpointCallback's files


def get_rng_state() -> dict[str, Any]:
    """The state of every random generator training uses: python, numpy, torch CPU and each CUDA device."""
    version, py_state, gauss = random.getstate()
    _, keys, pos, has_gauss, cached = np.random.get_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    return {
        "python": {"version": version, "state": torch.tensor(py_state, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": list(cuda),
    }


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


def _callback_keys(learn: Any) -> list[tuple[str, Callback]]:
    seen: dict[str, int] = {}
    keys = []
    for cb in learn.cbs:
        n = seen.get(cb.name, 0)
        seen[cb.name] = n + 1
        keys.append((cb.name if n == 0 else f"{cb.name}_{n}", cb))
    return keys


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    # Only when a step is pending (gradient accumulation): after a step they are zero or None.
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    return grads if any(bool(g.any()) for g in grads.values()) else {}


def _loader_state(dl: Any) -> dict[str, Any] | None:
    """`dl.state_dict()`, or None for a loader without one or one that has not drawn its seed yet.

    A plies DataLoader with ``seed=None`` draws its seed from torch's RNG on first use (its state
    says `seed: None` until then); such a loader, never iterated, is left to draw on first use so
    the resumed run's RNG stream matches the interrupted one's.
    """
    if not hasattr(dl, "state_dict"):
        return None
    state = dl.state_dict()
    return None if state.get("seed", 0) is None else state


def checkpoint_state(learn: Any, epoch_done: bool) -> dict[str, Any]:
    """The checkpoint of `learn` now (a collective under torch.distributed: every rank must call it)."""
    dls = [_loader_state(dl) for dl in learn.dls.loaders]
    model = unwrap_model(learn.model)
    rng = all_gather_objects(get_rng_state())
    grads = all_gather_objects(_grads(model))  # per rank: under DDP's no_sync they differ
    if _rank() != 0:
        return {}
    n_iter = len(learn.dls.train)
    scaler = getattr(learn, "scaler", None)  # MixedPrecision's GradScaler (fp16)
    extra = {"fit_phase": learn.fit_phase} if isinstance(getattr(learn, "fit_phase", None), int) else {}
    return {
        **extra,
        "progress": {
            "epoch": learn.epoch,
            "n_epoch": learn.n_epoch,
            "train_iter": learn.train_iter,
            "batches_done": n_iter if epoch_done else learn.iter + 1,
            "epoch_done": epoch_done,
        },
        "world_size": _world(),
        "model": model.state_dict(),
        "grads": grads,
        "opt": learn.opt.state_dict() if learn.opt is not None else None,
        "scaler": scaler.state_dict() if isinstance(scaler, torch.amp.GradScaler) else None,
        "callbacks": {k: s for k, cb in _callback_keys(learn) if (s := cb.state_dict())},
        "dls": dls,
        "rng": rng,
    }


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The newest valid checkpoint directly under `directory`, or None (invalid ones: skipped, warned).

    Only `CheckpointCallback`'s files count (not the weights `Learner.save` writes).
    """
    directory = Path(directory)
    if not directory.is_dir():
        return None
    found = []
    for f in directory.iterdir():
        if f.name.startswith(".") or not f.name.endswith(SUFFIX) or not f.is_file():
            continue
        try:
            meta = header_metadata(f)
        except (OSError, ValueError) as e:
            warnings.warn(f"resume_from='latest': skipping {f}: {e}", stacklevel=3)
            continue
        if meta.get("format") != FORMAT or meta.get("kind") != RESUME:
            continue  # another safetensors file (learn.save's weights, an export...)
        found.append((float(meta.get("saved_at", 0)), f.stat().st_mtime, f))
    for _, _, f in sorted(found, reverse=True):
        try:
            read_checkpoint(f)
        except ValueError as e:
            warnings.warn(f"resume_from='latest': skipping {f}: {e}", stacklevel=3)
            continue
        return f
    return None


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
    Sets ``learn.start_epoch``, ``learn.train_iter`` and the training DataLoader's position.
    """
    file = _resolve(learn, resume_from)
    if file is None:
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
    return file


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


class CheckpointCallback(Callback):
    """Write a resumable checkpoint to ``learn.path/learn.model_dir/{fname}.safetensors`` (rank 0 only).

    Every epoch (``every_epoch``) and/or every ``every_n_batches`` training batches; on SIGTERM
    (a preemption notice) a final checkpoint is written at the next batch boundary and the process
    exits with status 143 (a second SIGTERM terminates at once).
    Resume with ``learn.fit(..., resume_from=path)`` or ``resume_from='latest'``.
    """

    order = 90  # after the Recorder and schedulers, so the checkpoint sees this batch's records
    run_valid = False

    def __init__(
        self,
        fname: str = "checkpoint",
        every_n_batches: int | None = None,
        every_epoch: bool = True,
        on_sigterm: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(fname, str) or not fname or "/" in fname or fname.startswith("."):
            raise ValueError(
                f"CheckpointCallback: fname must be a file name without '/' and not starting "
                f"with '.', got {fname!r}"
            )
        if every_n_batches is not None and (not isinstance(every_n_batches, int) or every_n_batches < 1):
            raise ValueError(
                f"CheckpointCallback: every_n_batches must be None or an int >= 1, got {every_n_batches!r}"
            )
        self.fname, self.every_n_batches, self.every_epoch = fname, every_n_batches, every_epoch
        self.on_sigterm = on_sigterm
        self._stop, self._active = False, True
        self._old_handler: Any = None

    @property
    def file(self) -> Path:
        """Where the checkpoint is written."""
        return Path(self.learn.path) / self.learn.model_dir / f"{self.fname}{SUFFIX}"

    def save(self, epoch_done: bool) -> None:
        """Write the checkpoint now (every rank must call this under torch.distributed)."""
        state = checkpoint_state(self.learn, epoch_done)
        if _rank() == 0:
            write_checkpoint(state, self.file, kind=RESUME)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self._stop:  # a second SIGTERM (or a fit that crashed and left this handler): terminate now
            signal.signal(signal.SIGTERM, self._old_handler or signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)
            return
        self._stop = True

    def before_fit(self) -> None:
        """Install the SIGTERM handler (main thread only); stay idle during `lr_find`'s mock training."""
        if validation_only(self.learn):  # validate/get_preds, maybe inside a fit: not a training run
            return
        self._stop = False
        self._active = not any(isinstance(cb, LRFinder) for cb in self.learn.cbs)
        if self._active and self.on_sigterm and threading.current_thread() is threading.main_thread():
            old = signal.getsignal(signal.SIGTERM)
            owner = getattr(old, "__self__", None)
            if isinstance(owner, CheckpointCallback):  # left by a fit that crashed: chain to what it replaced
                old = owner._old_handler
            self._old_handler = old
            signal.signal(signal.SIGTERM, self._on_sigterm)

    def _stop_requested(self) -> bool:
        return all_reduce_max_flag(self._stop) if self.on_sigterm else False

    def _exit(self) -> None:
        distrib_barrier()  # rank 0 has finished writing before any rank leaves
        raise SystemExit(128 + signal.SIGTERM)

    def after_batch(self) -> None:
        """Checkpoint every `every_n_batches` batches, or now and exit after a SIGTERM."""
        if not self._active:
            return
        if self._stop_requested():
            self.save(epoch_done=False)  # even after the epoch's last batch: its validation has not run
            self._exit()
        if self.every_n_batches and self.learn.train_iter % self.every_n_batches == 0:
            self.save(epoch_done=False)

    def after_epoch(self) -> None:
        """Checkpoint at the end of each epoch (if `every_epoch`), or now and exit after a SIGTERM."""
        if not self._active or validation_only(self.learn):  # a validation pass's epoch trains nothing
            return
        stop = self._stop_requested()
        if self.every_epoch or stop:
            self.save(epoch_done=True)
        if stop:
            self._exit()

    def after_fit(self) -> None:
        """Put back the SIGTERM handler that was there before the fit."""
        if validation_only(self.learn):  # the end of a nested validation: the fit goes on
            return
        if self._old_handler is not None:
            if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
                signal.signal(signal.SIGTERM, self._old_handler)
            self._old_handler = None
