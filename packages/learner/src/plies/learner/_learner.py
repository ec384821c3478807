"""`Learner`: data, model, loss and optimizer together, and the two-way callback training loop.

The loop (one screen, as in the paper) calls an event before and after every step; each
callback's methods for an event are bound once, in `_refresh_events`, whenever the callbacks
change, so a batch costs a handful of list iterations on top of the model's own work.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
from plies.optim import Adam
from plies.typecore import L
from torch import Tensor, nn

from ._callback import (
    _EVENTS,
    INNER_EVENTS,
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidException,
    TrainEvalCallback,
    noop_logger,
    sort_by_run,
)
from ._inference import (
    GatherPredsCallback,
    blend_tta,
    decode_prediction,
    finish_preds,
    loss_not_reduced,
    training_transforms,
)
from ._loss import default_loss_func
from ._metric import Metric, mk_metric
from ._progress import ProgressCallback
from ._recorder import Recorder
from ._schedule import (
    LRFinder,
    ParamScheduler,
    SchedCos,
    combine_scheds,
    combined_cos,
    minimum,
    steep,
    suggest_lrs,
    valley,
)
from ._utils import detach_cpu, first_tensor, norm_bias_params, to_device_fast, trainable_params

__all__ = ["Learner"]


_PHASE_EVENTS = {
    p: (f"before_{p}", f"after_cancel_{p}", f"after_{p}")
    for p in ("fit", "epoch", "train", "validate", "batch", "backward", "step")
}


class Learner:
    """Group data, model and loss to train with `opt_func`, driven by two-way callbacks.

    `dls` provides ``train`` / ``valid`` DataLoaders (and ``device``); `splitter(model)` returns
    the parameter groups (a list of tensors, or a list of lists for discriminative learning rates
    and freezing). With no `loss_func`, `default_loss_func` picks one from the data's target type.
    """

    def __init__(
        self,
        dls: Any,
        model: nn.Module,
        loss_func: Callable[..., Tensor] | None = None,
        opt_func: Callable[..., Any] = Adam,
        lr: float | slice = 1e-3,
        splitter: Callable[[nn.Module], Any] = trainable_params,
        cbs: Callback | Sequence[Callback] | None = None,
        metrics: Any = None,
        path: str | Path | None = None,
        model_dir: str | Path = "models",
        wd: float | None = None,
        wd_bn_bias: bool = False,
        train_bn: bool = True,
        moms: tuple[float, ...] = (0.95, 0.85, 0.95),
        default_cbs: bool = True,
    ) -> None:
        self.dls, self.model = dls, model
        self.path = Path(path) if path is not None else Path(getattr(dls, "path", "."))
        self.model_dir = Path(model_dir)
        self.loss_func = loss_func if loss_func is not None else self._default_loss(dls)
        self.opt_func, self.lr, self.splitter = opt_func, lr, splitter
        self.wd, self.wd_bn_bias, self.train_bn, self.moms = wd, wd_bn_bias, train_bn, moms
        self.opt: Any = None
        self.scaler: Any = None  # set by MixedPrecision (fp16)
        self.logger: Callable[..., Any] = print
        self.training = False
        self.epoch = self.start_epoch = self.iter = self.n_iter = self.train_iter = 0
        self.n_epoch, self.pct_train = 1, 0.0
        self.xb: tuple[Any, ...] = ()
        self.yb: tuple[Any, ...] = ()
        self.pred: Any = None
        self.loss: Any = None
        self.loss_grad: Any = None
        self.dl: Any = None
        self.final_record: Any = None
        self._skip_iters = 0
        self._validation_only = False
        self._resuming = False
        self.fit_phase = 0
        self._smooth_loss: Any = None
        self._move_batches: Any = None
        self._n_inp: int | None = None
        self.cbs: L = L()
        self._fns: dict[bool, dict[str, list[Callable[[], Any]]]] = {True: {}, False: {}}
        self._refresh_events()
        self.metrics = metrics
        if default_cbs:
            self.add_cbs([TrainEvalCallback(), Recorder(), ProgressCallback()])
        self.add_cbs(cbs)

    # ---- setup -------------------------------------------------------------------------------
    @staticmethod
    def _default_loss(dls: Any) -> Callable[..., Tensor]:
        loss = getattr(dls, "loss_func", None)
        if loss is not None:
            return loss
        b = dls.train.one_batch() if hasattr(dls, "train") else dls.one_batch()
        n_inp = getattr(dls, "n_inp", 1 if len(b) == 1 else len(b) - 1)
        if len(b) <= n_inp:
            raise TypeError(
                "Learner: no loss_func given and the data has no target to choose a default from "
                f"(batches hold {len(b)} tensors, {n_inp} of them inputs); pass loss_func="
            )
        return default_loss_func(b[n_inp])

    @property
    def metrics(self) -> list[Metric]:
        """The validation metrics (functions are wrapped in `AvgMetric`)."""
        return self._metrics

    @metrics.setter
    def metrics(self, value: Any) -> None:
        if value is None:
            value = []
        elif not isinstance(value, (list, tuple)):
            value = [value]
        self._metrics = [mk_metric(m) for m in value]

    @property
    def smooth_loss(self) -> Any:
        """The moving average of the training loss (from the Recorder)."""
        rec = self.__dict__.get("recorder")
        return rec.smooth_loss.value if rec is not None else self._smooth_loss

    @smooth_loss.setter
    def smooth_loss(self, value: Any) -> None:
        rec = self.__dict__.get("recorder")
        if rec is not None:
            rec.smooth_loss.value = value
        else:
            self._smooth_loss = value

    def create_opt(self) -> None:
        """Build the optimizer from `opt_func(splitter(model), lr=lr)` and flag norm/bias parameters."""
        opt_func = self.opt_func
        keywords = getattr(opt_func, "keywords", None)
        if isinstance(keywords, dict) and "lr" in keywords:
            self.lr = keywords["lr"]
        lr = self.lr if not isinstance(self.lr, slice) else self.lr.stop
        self.opt = opt_func(self.splitter(self.model), lr=lr)
        if isinstance(self.lr, slice):
            self.opt.set_hyper("lr", self.lr)
        state = getattr(self.opt, "state", None)
        if state is None:
            return
        if not self.wd_bn_bias:
            for p in norm_bias_params(self.model, with_bias=True):
                state[p]["do_wd"] = False
        if self.train_bn:
            for p in norm_bias_params(self.model, with_bias=False):
                state[p]["force_train"] = True

    def _place_model(self) -> None:
        device = getattr(self.dls, "device", None)
        if device is not None:
            self.model.to(device)

    # ---- callbacks ---------------------------------------------------------------------------
    def _refresh_events(self) -> None:
        """Bind, per event and per phase, the methods of the active callbacks that define it."""
        fns: dict[bool, dict[str, list[Callable[[], Any]]]] = {True: {}, False: {}}
        for training in (True, False):
            for name in _EVENTS:
                lst = []
                for cb in self.cbs:
                    if not cb.run:
                        continue
                    if name in INNER_EVENTS and not (cb.run_train if training else cb.run_valid):
                        continue
                    f = getattr(cb, name, None)
                    if f is not None:
                        lst.append(f)
                fns[training][name] = lst
        self._fns = fns

    def add_cb(self, cb: Callback | type) -> Learner:
        """Add a callback (an instance, or a class to instantiate); it becomes ``learn.<cb.name>``."""
        if isinstance(cb, type):
            cb = cb()
        if not isinstance(cb, Callback):
            raise TypeError(
                f"add_cb: expected a Callback instance or class, found {type(cb).__name__} ({cb!r})"
            )
        object.__setattr__(cb, "learn", self)
        current = self.__dict__.get(cb.name, getattr(type(self), cb.name, None))
        if current is None or isinstance(current, Callback):
            setattr(self, cb.name, cb)
        else:
            warnings.warn(
                f"add_cb: {type(cb).__name__} is not reachable as `learn.{cb.name}`, which is the "
                f"learner's own attribute; find it in `learn.cbs`",
                stacklevel=2,
            )
        self.cbs = L(sort_by_run([*self.cbs, cb]))
        self._refresh_events()
        return self

    def add_cbs(self, cbs: Callback | Iterable[Callback] | None) -> Learner:
        """Add several callbacks."""
        for cb in _as_list(cbs):
            self.add_cb(cb)
        return self

    def remove_cb(self, cb: Callback | type) -> Learner:
        """Remove a callback instance, or every callback of a class."""
        if isinstance(cb, type):
            doomed = [c for c in self.cbs if isinstance(c, cb) and isinstance(c, Callback)]
            for c in doomed:
                self.remove_cb(c)
            return self
        if cb in self.cbs:
            self.cbs = L(c for c in self.cbs if c is not cb)
            if self.__dict__.get(cb.name) is cb:
                delattr(self, cb.name)
            object.__setattr__(cb, "learn", None)
            self._refresh_events()
        return self

    def remove_cbs(self, cbs: Callback | Iterable[Callback] | None) -> Learner:
        """Remove several callbacks."""
        for cb in _as_list(cbs):
            self.remove_cb(cb)
        return self

    @contextlib.contextmanager
    def added_cbs(self, cbs: Callback | Iterable[Callback] | None) -> Iterator[Learner]:
        """Context manager: add `cbs` for the duration of the block."""
        cbs = _as_list(cbs)
        self.add_cbs(cbs)
        try:
            yield self
        finally:
            self.remove_cbs(cbs)

    @contextlib.contextmanager
    def removed_cbs(self, cbs: Callback | Iterable[Callback] | None) -> Iterator[Learner]:
        """Context manager: remove `cbs` for the duration of the block, then put them back."""
        cbs = [c for c in _as_list(cbs) if c in self.cbs]
        self.remove_cbs(cbs)
        try:
            yield self
        finally:
            self.add_cbs(cbs)

    @contextlib.contextmanager
    def no_logging(self) -> Iterator[Learner]:
        """Context manager: silence the per-epoch log (the metrics table)."""
        old, self.logger = self.logger, noop_logger
        try:
            yield self
        finally:
            self.logger = old

    @contextlib.contextmanager
    def no_bar(self) -> Iterator[Learner]:
        """Context manager: train without the progress bar."""
        with self.removed_cbs([c for c in self.cbs if isinstance(c, ProgressCallback)]):
            yield self

    def __call__(self, event_name: str | Iterable[str]) -> None:
        """Run the callbacks' methods for one event (or a list of events)."""
        if isinstance(event_name, str):
            fns = self._fns[self.training].get(event_name)
            if fns is None:
                raise ValueError(f"Learner: unknown event {event_name!r}; events are {', '.join(_EVENTS)}")
            for f in fns:
                f()
        else:
            for e in event_name:
                self(e)

    # ---- the loop ----------------------------------------------------------------------------
    def _with_events(
        self,
        f: Callable[[], Any],
        event_type: str,
        ex: type[Exception],
        final: Callable[[], Any] | None = None,
    ) -> None:
        before, cancel, after = _PHASE_EVENTS[event_type]
        try:
            for g in self._fns[self.training][before]:
                g()
            f()
        except ex:
            for g in self._fns[self.training][cancel]:
                g()
        for g in self._fns[self.training][after]:
            g()
        if final is not None:
            final()

    def _backward(self) -> None:
        self.loss_grad.backward()

    def _step(self) -> None:
        self.opt.step()

    def _do_one_batch(self) -> None:
        self.pred = self.model(*self.xb)
        fns = self._fns[self.training]
        for g in fns["after_pred"]:
            g()
        loss = None
        if self.yb:
            loss = self.loss_grad = self.loss = self.loss_func(self.pred, *self.yb)
        for g in self._fns[self.training]["after_loss"]:
            g()
        if not self.training or not self.yb:
            return
        if self.loss_grad is loss and self.loss is not loss:
            self.loss_grad = self.loss  # a callback replaced `loss`: train on the replacement
        self._with_events(self._backward, "backward", CancelBackwardException)
        self._with_events(self._step, "step", CancelStepException)
        self.opt.zero_grad()

    def _split(self, b: Any) -> None:
        if not isinstance(b, (tuple, list)):
            b = (b,)
        n_inp = self._n_inp
        if n_inp is None:
            n_inp = 1 if len(b) == 1 else len(b) - 1
        self.xb, self.yb = tuple(b[:n_inp]), tuple(b[n_inp:])

    def one_batch(self, i: int, b: Any) -> None:
        """Run one batch `b` (index `i` in the epoch) through the loop with its events."""
        self.iter = i
        move = self._move_batches
        if move is None:
            move = self._move_batches = self._needs_move(b)
        if move is not False:
            b = to_device_fast(b, move)
        self._split(b)
        self.pred = self.loss = None
        self._with_events(self._do_one_batch, "batch", CancelBatchException)

    def _needs_move(self, b: Any) -> Any:
        device = getattr(self.dls, "device", None)
        t = first_tensor(b)
        if device is None or t is None:
            return False
        want = torch.device(device)
        if t.device.type == want.type and (want.index is None or t.device.index == want.index):
            return False  # 'cuda' matches 'cuda:0': no per-batch move
        return device

    def all_batches(self) -> None:
        """Iterate over `self.dl`, running `one_batch` on each batch."""
        self.n_iter = len(self.dl)
        self._move_batches = None
        self._n_inp = getattr(self.dls, "n_inp", None)  # read once per phase, not per batch
        start = self._skip_iters if self.training else 0
        for i, b in enumerate(self.dl, start):
            self.one_batch(i, b)

    def _do_epoch_train(self) -> None:
        self.dl = self.dls.train
        self._with_events(self.all_batches, "train", CancelTrainException)
        self._skip_iters = 0

    def _do_epoch_validate(self, ds_idx: int = 1, dl: Any = None) -> None:
        self.dl = self.dls[ds_idx] if dl is None else dl
        with torch.no_grad():
            self._with_events(self.all_batches, "validate", CancelValidException)

    def _do_epoch(self) -> None:
        self._do_epoch_train()
        self._do_epoch_validate()

    def _do_fit(self) -> None:
        for epoch in range(self.start_epoch, self.n_epoch):
            self.epoch = epoch
            self._with_events(self._do_epoch, "epoch", CancelEpochException)

    def _end_cleanup(self) -> None:
        self.dl, self.xb, self.yb, self.pred, self.loss, self.loss_grad = None, (), (), None, None, None

    def fit(
        self,
        n_epoch: int,
        lr: float | slice | Sequence[float] | None = None,
        wd: float | None = None,
        cbs: Callback | Sequence[Callback] | None = None,
        reset_opt: bool = False,
        start_epoch: int = 0,
        resume_from: str | Path | None = None,
    ) -> None:
        """Train for `n_epoch` epochs at learning rate `lr` (default ``self.lr``), with extra `cbs`.

        `resume_from` (a checkpoint path, or ``'latest'``) continues an interrupted run of the
        same call where the checkpoint left off (see `CheckpointCallback`).
        """
        with self.added_cbs(cbs):
            if reset_opt or self.opt is None:
                self.create_opt()
            wd = self.wd if wd is None else wd
            if wd is not None:
                self.opt.set_hypers(wd=wd)
            self.opt.set_hypers(lr=self.lr if lr is None else lr)
            self.n_epoch, self.start_epoch = n_epoch, start_epoch
            self.train_iter, self._skip_iters = 0, 0
            if resume_from is not None:
                from ._checkpoint import resume  # helper module, imported only when resuming

                self._resuming = resume(self, resume_from) is not None  # None: no checkpoint, fresh start
                state = self.dls.train.state_dict() if hasattr(self.dls.train, "state_dict") else {}
                if state.get("epoch", self.start_epoch) == self.start_epoch:
                    self._skip_iters = int(state.get("batches_done", 0) or 0)
            try:
                self._with_events(self._do_fit, "fit", CancelFitException, self._end_cleanup)
            finally:
                self._resuming = False

    # ---- schedules -----------------------------------------------------------------------------
    def _current_lrs(self, lr: Any) -> np.ndarray:
        if self.opt is None:
            self.create_opt()
        self.opt.set_hyper("lr", self.lr if lr is None else lr)
        return np.array([h["lr"] for h in self.opt.hypers])

    def fit_one_cycle(
        self,
        n_epoch: int,
        lr_max: float | slice | None = None,
        div: float = 25.0,
        div_final: float = 1e5,
        pct_start: float = 0.25,
        wd: float | None = None,
        moms: tuple[float, ...] | None = None,
        cbs: Callback | Sequence[Callback] | None = None,
        reset_opt: bool = False,
        start_epoch: int = 0,
        resume_from: str | Path | None = None,
    ) -> None:
        """Train with the 1cycle policy: lr warms up from lr_max/div to lr_max (cosine) over `pct_start`
        of training then anneals to lr_max/div_final, while momentum goes the opposite way (`moms`)."""
        if reset_opt:
            self.create_opt()
        lr_max_arr = self._current_lrs(lr_max)
        moms = self.moms if moms is None else moms
        scheds: dict[str, Any] = {
            "lr": combined_cos(pct_start, lr_max_arr / div, lr_max_arr, lr_max_arr / div_final)
        }
        if "mom" in self.opt.hypers[0]:
            scheds["mom"] = combined_cos(pct_start, *moms)
        self.fit(
            n_epoch,
            cbs=[ParamScheduler(scheds), *_as_list(cbs)],
            reset_opt=False,
            wd=wd,
            start_epoch=start_epoch,
            resume_from=resume_from,
        )

    def fit_flat_cos(
        self,
        n_epoch: int,
        lr: float | slice | None = None,
        div_final: float = 1e5,
        pct_start: float = 0.75,
        wd: float | None = None,
        cbs: Callback | Sequence[Callback] | None = None,
        reset_opt: bool = False,
        start_epoch: int = 0,
        resume_from: str | Path | None = None,
    ) -> None:
        """Train at a flat `lr` for `pct_start` of training, then cosine-anneal to lr/div_final."""
        if reset_opt:
            self.create_opt()
        lrs = self._current_lrs(lr)
        scheds = {"lr": combined_cos(pct_start, lrs, lrs, lrs / div_final)}
        self.fit(
            n_epoch,
            cbs=[ParamScheduler(scheds), *_as_list(cbs)],
            reset_opt=False,
            wd=wd,
            start_epoch=start_epoch,
            resume_from=resume_from,
        )

    def fit_sgdr(
        self,
        n_cycles: int,
        cycle_len: int,
        lr_max: float | slice | None = None,
        cycle_mult: int = 2,
        cbs: Callback | Sequence[Callback] | None = None,
        reset_opt: bool = False,
        wd: float | None = None,
        start_epoch: int = 0,
        resume_from: str | Path | None = None,
    ) -> None:
        """SGD with warm restarts: `n_cycles` cosine cycles from lr_max to 0, each `cycle_mult` x longer."""
        if reset_opt:
            self.create_opt()
        lrs = self._current_lrs(lr_max)
        n_epoch = (
            cycle_len * (cycle_mult**n_cycles - 1) // (cycle_mult - 1)
            if cycle_mult != 1
            else cycle_len * n_cycles
        )
        pcts = [cycle_len * cycle_mult**i / n_epoch for i in range(n_cycles)]
        scheds = {"lr": combine_scheds(pcts, [SchedCos(lrs, lrs * 0) for _ in range(n_cycles)])}
        self.fit(
            n_epoch,
            cbs=[ParamScheduler(scheds), *_as_list(cbs)],
            reset_opt=False,
            wd=wd,
            start_epoch=start_epoch,
            resume_from=resume_from,
        )

    def fine_tune(
        self,
        epochs: int,
        base_lr: float = 2e-3,
        freeze_epochs: int = 1,
        lr_mult: float = 100,
        pct_start: float = 0.3,
        div: float = 5.0,
        div_final: float = 1e5,
        wd: float | None = None,
        moms: tuple[float, ...] | None = None,
        cbs: Callback | Sequence[Callback] | None = None,
        reset_opt: bool = False,
        resume_from: str | Path | None = None,
    ) -> None:
        """Transfer learning: `freeze_epochs` of 1cycle on the head (body frozen), then `epochs` of
        1cycle on the whole model with discriminative rates slice(base_lr/2/lr_mult, base_lr/2)."""
        kw: dict[str, Any] = {"div_final": div_final, "wd": wd, "moms": moms, "cbs": cbs}
        phase = 0
        if resume_from is not None:
            phase = _checkpoint_fit_phase(self, resume_from, freeze_epochs, epochs)
        if phase == 0 and freeze_epochs > 0:
            self.fit_phase = 0
            self.freeze()
            self.fit_one_cycle(
                freeze_epochs,
                slice(base_lr),
                pct_start=0.99,
                reset_opt=reset_opt,
                resume_from=resume_from,
                **kw,
            )
            resume_from = None
        self.fit_phase = 1
        base_lr /= 2
        self.unfreeze()
        self.fit_one_cycle(
            epochs,
            slice(base_lr / lr_mult, base_lr),
            pct_start=pct_start,
            div=div,
            resume_from=resume_from,
            **kw,
        )

    def lr_find(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10,
        num_it: int = 100,
        stop_div: bool = True,
        show_plot: bool = True,
        suggest_funcs: Sequence[Callable[..., Any]] = (minimum, steep, valley),
    ) -> Any:
        """Mock-train with an exponentially growing lr over `num_it` batches, restore the model and the
        optimizer, and return the suggested learning rates as a named tuple (one field per function)."""
        n_epoch = num_it // len(self.dls.train) + 1
        cb = LRFinder(start_lr=start_lr, end_lr=end_lr, num_it=num_it, stop_div=stop_div)
        if self.opt is None:
            self.create_opt()
        current_lrs = [h["lr"] for h in self.opt.hypers]  # fit must not change the hypers LRFinder restores
        with self.no_logging():
            self.fit(n_epoch, lr=current_lrs, cbs=cb)
        rec = self.__dict__.get("recorder")
        if rec is None or not suggest_funcs:
            return None
        return suggest_lrs(rec, num_it, suggest_funcs, show_plot)

    # ---- transfer learning ---------------------------------------------------------------------
    def freeze_to(self, n: int) -> None:
        """Freeze the parameter groups before `n` (normalisation layers stay trainable when `train_bn`)."""
        if self.opt is None:
            self.create_opt()
        self.opt.freeze_to(n)
        self.opt.clear_state()

    def freeze(self) -> None:
        """Freeze every parameter group but the last."""
        self.freeze_to(-1)

    def unfreeze(self) -> None:
        """Make every parameter group trainable."""
        self.freeze_to(0)

    # ---- inference -----------------------------------------------------------------------------
    def to_detach(self, b: Any, cpu: bool = True, gather: bool = True) -> Any:
        """Detach `b` (to the CPU when `cpu`); the DataLoader's own `to_detach` (distributed gather) wins."""
        dl_detach = getattr(self.dl, "to_detach", None)
        if dl_detach is not None:
            return dl_detach(b, cpu, gather)
        return detach_cpu(b, cpu)

    _LOOP_STATE = (
        "epoch",
        "n_epoch",
        "iter",
        "n_iter",
        "dl",
        "xb",
        "yb",
        "pred",
        "loss",
        "loss_grad",
        "training",
        "pct_train",
        "_skip_iters",
        "_move_batches",
        "_n_inp",
    )

    @contextlib.contextmanager
    def validation_context(self, cbs: Callback | Sequence[Callback] | None = None) -> Iterator[Learner]:
        """Context manager for a validation-only pass (no logging, extra `cbs`, fit/epoch events around it).

        The loop state is restored afterwards, so `validate` / `get_preds` also work inside a fit.
        """
        saved = {k: getattr(self, k) for k in self._LOOP_STATE}
        old_flag = self._validation_only
        self._validation_only = True
        with self.no_logging(), self.added_cbs(cbs):
            self.epoch, self.n_epoch = 0, 1
            try:
                self("before_fit")
                self("before_epoch")
                yield self
                self("after_epoch")
                self("after_fit")
            finally:
                self._validation_only = old_flag
                for k, v in saved.items():
                    setattr(self, k, v)

    @contextlib.contextmanager
    def loss_not_reduced(self) -> Iterator[Learner]:
        """Context manager: the loss function returns one value per item (``reduction='none'``)."""
        with loss_not_reduced(self):
            yield self

    def validate(
        self, ds_idx: int = 1, dl: Any = None, cbs: Callback | Sequence[Callback] | None = None
    ) -> list[Any]:
        """Validation loss and metrics on ``dls[ds_idx]`` (or `dl`)."""
        with self.validation_context(cbs=cbs):
            self._do_epoch_validate(ds_idx, dl)
        return self.final_record

    def _unshuffled(self, dl: Any) -> Any:
        if hasattr(dl, "new") and (getattr(dl, "shuffle", False) or getattr(dl, "drop_last", False)):
            return dl.new(shuffle=False, drop_last=False)
        return dl

    def get_preds(
        self,
        ds_idx: int = 1,
        dl: Any = None,
        with_input: bool = False,
        with_decoded: bool = False,
        with_loss: bool = False,
        act: Callable[[Tensor], Tensor] | None = None,
        reorder: bool = True,
        cbs: Callback | Sequence[Callback] | None = None,
    ) -> tuple[Any, ...]:
        """Predictions and targets on ``dls[ds_idx]`` (or `dl`), in dataset order.

        Returns ``(inputs?, preds, targets, decoded?, losses?)``: preds go through `act` (default: the
        loss function's ``activation``), decoded through its ``decodes``; losses are per item.
        """
        if dl is None:
            dl = self.dls[ds_idx]
        if reorder:
            dl = self._unshuffled(dl)
        cb = GatherPredsCallback(with_input=with_input, with_loss=with_loss)
        with contextlib.ExitStack() as stack:
            if with_loss:
                stack.enter_context(loss_not_reduced(self))
            with self.validation_context(cbs=[cb, *_as_list(cbs)]):
                self._do_epoch_validate(dl=dl)
            res = cb.all_tensors()
        return finish_preds(self.loss_func, res, with_input, with_decoded, act)

    def predict(self, item: Any, rm_type_tfms: Any = None, with_input: bool = False) -> tuple[Any, ...]:
        """Predict one raw `item`: ``(decoded prediction, decoded tensor, activations)`` (+ input first)."""
        dl = self.dls.test_dl([item], rm_type_tfms=rm_type_tfms)
        inp, preds, _, dec_preds = self.get_preds(dl=dl, with_input=True, with_decoded=True)
        return decode_prediction(self.dls, inp, preds, dec_preds, with_input)

    def tta(
        self,
        ds_idx: int = 1,
        dl: Any = None,
        n: int = 4,
        beta: float | None = 0.25,
        use_max: bool = False,
    ) -> tuple[Any, Any]:
        """Test-time augmentation: average `n` predictions with the training transforms, blended with
        the plain prediction by `beta` (or the max when `use_max`)."""
        if dl is None:
            dl = self.dls[ds_idx]
        dl = self._unshuffled(dl)
        with training_transforms(dl) as has_tfms:
            if not has_tfms:
                warnings.warn(
                    "tta: the data has no training-time transforms to apply (its dataset has no "
                    "split_idx); the augmented predictions equal the plain ones",
                    stacklevel=2,
                )
            aug_preds = torch.stack([self.get_preds(dl=dl, reorder=False)[0] for _ in range(n)])
        preds, targs = self.get_preds(dl=dl, reorder=False)[:2]
        return blend_tta(aug_preds, preds, beta, use_max), targs

    def show_results(
        self, ds_idx: int = 1, dl: Any = None, max_n: int = 9, shuffle: bool = True, **kwargs: Any
    ) -> Any:
        """Show `max_n` items of one batch of ``dls[ds_idx]`` with their targets and decoded predictions.

        Extra keywords go to the DataLoader's ``show_results`` (``show=False`` returns what would be shown).
        """
        if dl is None:
            dl = self.dls[ds_idx].new(shuffle=shuffle) if shuffle else self.dls[ds_idx]
        b = dl.one_batch()
        _, _, decoded = self.get_preds(dl=[b], with_decoded=True, reorder=False)
        return dl.show_results(b, decoded, max_n=max_n, **kwargs)

    # ---- persistence ---------------------------------------------------------------------------
    def _model_file(self, file: str | Path) -> Path:
        file = Path(file)
        if file.suffix != ".safetensors":
            file = file.with_name(file.name + ".safetensors")
        return file if file.is_absolute() else self.path / self.model_dir / file

    def save(self, file: str | Path, with_opt: bool = True) -> Path:
        """Save model weights (and optimizer state) to ``path/model_dir/file.safetensors`` (no pickle)."""
        from ._checkpoint_file import write_checkpoint

        state = {
            "model": self.model.state_dict(),
            "opt": self.opt.state_dict() if with_opt and self.opt is not None else None,
        }
        return write_checkpoint(state, self._model_file(file))

    def load(
        self, file: str | Path, device: Any = None, with_opt: bool = True, strict: bool = True
    ) -> Learner:
        """Load what `save` wrote: weights (onto the model's device) and optimizer state (`with_opt`)."""
        from ._checkpoint_file import read_checkpoint

        state = read_checkpoint(self._model_file(file))
        target = device if device is not None else _model_device(self.model)
        model_sd = {k: v.to(target) if isinstance(v, Tensor) else v for k, v in state["model"].items()}
        self.model.load_state_dict(model_sd, strict=strict)
        if with_opt and state.get("opt") is not None:
            if self.opt is None:
                self.create_opt()
            self.opt.load_state_dict(state["opt"])
        return self

    def export(self, fname: str | Path = "export.plies", pickle: bool = False) -> Path | None:
        """Export model, data pipeline and config for inference (see `load_learner`); None off rank 0."""
        from ._export import export_learner

        return export_learner(self, fname, pickle=pickle)

    def summary(self) -> str:
        """Per-layer output shapes, parameter counts and trainability (a printable table)."""
        from ._hooks import learner_summary

        return learner_summary(self)

    def distrib_ctx(
        self,
        sync_bn: bool = False,
        backend: str | None = None,
        find_unused_parameters: bool = False,
        timeout: timedelta | None = None,
    ) -> contextlib.AbstractContextManager[Any]:
        """Context manager for data-parallel training under torchrun (see `DistributedTrainer`)."""
        from ._distributed import distrib_ctx

        return distrib_ctx(
            self,
            sync_bn=sync_bn,
            backend=backend,
            find_unused_parameters=find_unused_parameters,
            timeout=timeout,
        )

    # ---- mixed precision -----------------------------------------------------------------------
    def to_fp16(self, **kwargs: Any) -> Learner:
        """Train in float16 mixed precision with a gradient scaler (`MixedPrecision`)."""
        from ._mixed_precision import MixedPrecision

        self.remove_cb(MixedPrecision)
        return self.add_cb(MixedPrecision(amp_mode="fp16", **kwargs))

    def to_bf16(self) -> Learner:
        """Train in bfloat16 mixed precision (no scaler needed)."""
        from ._mixed_precision import MixedPrecision

        self.remove_cb(MixedPrecision)
        return self.add_cb(MixedPrecision(amp_mode="bf16"))

    def to_fp32(self) -> Learner:
        """Back to full float32 precision (removes `MixedPrecision`)."""
        from ._mixed_precision import MixedPrecision

        return self.remove_cb(MixedPrecision)

    def __repr__(self) -> str:
        return f"Learner(model={type(self.model).__name__}, loss_func={self.loss_func!r}, cbs={self.cbs!r})"


def _checkpoint_fit_phase(learn: Learner, resume_from: Any, freeze_epochs: int, epochs: int) -> int:
    """Which `fine_tune` phase (0: frozen, 1: unfrozen) a checkpoint belongs to (0 when there is none)."""
    from ._checkpoint import _resolve
    from ._checkpoint_file import read_checkpoint

    file = _resolve(learn, resume_from)
    if file is None:
        return 0
    state = read_checkpoint(file)
    if "fit_phase" in state:
        return int(state["fit_phase"])
    n_epoch = state["progress"]["n_epoch"]
    if freeze_epochs == epochs:
        raise ValueError(
            f"fine_tune(resume_from={str(resume_from)!r}): the checkpoint does not record its phase "
            f"and both phases have {epochs} epochs"
        )
    return 0 if n_epoch == freeze_epochs else 1


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _as_list(cbs: Any) -> list[Any]:
    if cbs is None:
        return []
    if isinstance(cbs, (list, tuple)):
        return list(cbs)
    return [cbs]
