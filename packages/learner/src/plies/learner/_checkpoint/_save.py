"""Checkpoints that resume a run exactly: `CheckpointCallback` writes them, `_resume.resume` (fit) reads.

A checkpoint holds everything the next batch depends on: model weights, optimizer state, the state of
every callback that has one (Recorder history, grad scaler, early-stopping counters...), the schedule
position (epoch, batches done, train_iter), the RNG states of every rank (python, numpy, torch, each
CUDA device) and the training DataLoader's position, so a run killed mid-epoch continues with the same
batch order and reaches the same weights. The file format is in `_file`.
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

from .._callback import Callback, validation_only
from .._distributed._collectives import all_gather_objects, all_reduce_max_flag
from .._distributed._process import _rank, _world, distrib_barrier
from .._distributed._trainer import unwrap_model
from .._schedule._lr_finder import LRFinder
from ._file import FORMAT, SUFFIX, header_metadata, read_checkpoint, write_checkpoint

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
