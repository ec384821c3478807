"""`Learner`: data, model, loss and optimizer together, and the two-way callback training loop.

The loop (one screen, as in the paper) calls an event before and after every step; each
callback's methods for an event are bound once, in `_refresh_events` (`_cbs.py`), whenever the
callbacks change, so a batch costs a handful of list iterations on top of the model's own work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
from plies.layers import trainable_params
from plies.optim import Adam
from plies.typecore import L, check_kwargs, to_device
from torch import Tensor, nn

from .._callback import (
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidException,
    TrainEvalCallback,
)
from .._callbacks._progress import ProgressCallback
from .._callbacks._recorder import Recorder
from .._metrics._metric import Metric, mk_metric
from .._registries import register_learner
from .._utils import first_tensor, norm_bias_params, plain_tuple
from ._args import check_count, check_dls, check_lr, check_number
from ._cbs import LearnerCallbacksMixin
from ._fit import LearnerScheduleMixin
from ._infer import LearnerInferenceMixin
from ._loss import default_loss_func

__all__ = ["Learner"]


_PHASE_EVENTS = {
    p: (f"before_{p}", f"after_cancel_{p}", f"after_{p}")
    for p in ("fit", "epoch", "train", "validate", "batch", "backward", "step")
}


@register_learner
class Learner(LearnerCallbacksMixin, LearnerScheduleMixin, LearnerInferenceMixin):
    """Group data, model and loss to train with `opt_func`, driven by two-way callbacks.

    Adding and removing callbacks and running events are written in `_cbs.py`; the scheduled
    fits, `lr_find` and freezing in `_fit.py`; validation, prediction, save/load and export in
    `_infer.py` (mixins this class inherits).

    `dls` provides ``train`` / ``valid`` DataLoaders (and ``device``); `splitter(model)` returns
    the parameter groups (a list of tensors, or a list of lists for discriminative learning rates
    and freezing). With no `loss_func`, `default_loss_func` picks one from the data's target type.
    """

    @check_kwargs
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
        check_dls(dls)
        check_lr("Learner", lr, allow_none=False)
        check_number("Learner", wd, "wd", allow_none=True)
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
        if dls is None:
            raise TypeError(
                "Learner: no dls and no loss_func; pass loss_func= (a learner without data predicts on "
                "the DataLoaders passed to get_preds) or dls=DataLoaders(train_dl, valid_dl)"
            )
        b = dls.train.one_batch()
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

    @property
    def x(self) -> Any:
        """The current batch's input: ``xb[0]`` when there is one input, else the tuple ``xb``."""
        return self.xb[0] if len(self.xb) == 1 else self.xb

    @property
    def y(self) -> Any:
        """The current batch's target: ``yb[0]`` when there is one target, else the tuple ``yb``."""
        return self.yb[0] if len(self.yb) == 1 else self.yb

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
        # the model and the loss see plain tensors (views): no subclass dispatch on their every op;
        # `self.xb`/`self.yb` keep their semantic types for callbacks, metrics and decoding
        self.pred = self.model(*plain_tuple(self.xb))
        fns = self._fns[self.training]
        for g in fns["after_pred"]:
            g()
        loss = None
        if self.yb:
            loss = self.loss_grad = self.loss = self.loss_func(self.pred, *plain_tuple(self.yb))
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
            b = to_device(b, move, non_blocking=True)
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

    @check_kwargs
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
        same call where the checkpoint left off (see `CheckpointCallback`), and says where it restarts.
        """
        check_count("fit()", n_epoch, "n_epoch")
        check_lr("fit()", lr)
        check_number("fit()", wd, "wd", allow_none=True)
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
                from .._checkpoint._resume import resume  # helper module, imported only when resuming

                self._resuming = resume(self, resume_from) is not None  # None: no checkpoint, fresh start
                state = self.dls.train.state_dict() if hasattr(self.dls.train, "state_dict") else {}
                if state.get("epoch", self.start_epoch) == self.start_epoch:
                    self._skip_iters = int(state.get("batches_done", 0) or 0)
            try:
                self._with_events(self._do_fit, "fit", CancelFitException, self._end_cleanup)
            finally:
                self._resuming = False

    def distrib_ctx(
        self,
        sync_bn: bool = False,
        backend: str | None = None,
        find_unused_parameters: bool = False,
        timeout: timedelta | None = None,
    ) -> contextlib.AbstractContextManager[Any]:
        """Context manager for data-parallel training under torchrun (see `DistributedTrainer`)."""
        from .._distributed._trainer import distrib_ctx

        return distrib_ctx(
            self,
            sync_bn=sync_bn,
            backend=backend,
            find_unused_parameters=find_unused_parameters,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"Learner(model={type(self.model).__name__}, loss_func={self.loss_func!r}, cbs={self.cbs!r})"
