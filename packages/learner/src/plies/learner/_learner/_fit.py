"""Part of `Learner`: the scheduled fits (1cycle, flat-cos, SGDR, fine_tune), `lr_find`, freezing and
mixed precision.

`LearnerScheduleMixin` only makes sense mixed into `Learner` (which inherits it); it is split out
to keep each module to one concept. Its methods are documented and called as ``Learner`` methods.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._callback import Callback
from .._schedule._lr_finder import LRFinder, suggest_lrs, valley
from .._schedule._param_scheduler import ParamScheduler
from .._schedule._scheds import SchedCos, combine_scheds, combined_cos
from .._utils import as_list
from ._args import check_count, check_lr, check_number, learner_method

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["LearnerScheduleMixin"]


class LearnerScheduleMixin:
    """Part of `Learner`: scheduled training, the LR finder, freezing and mixed precision."""

    if TYPE_CHECKING:  # provided by Learner
        opt: Any
        model: torch.nn.Module
        splitter: Callable[..., Any]
        lr: float | slice
        moms: tuple[float, ...]
        dls: Any
        fit_phase: int

        def create_opt(self) -> None: ...
        def fit(
            self,
            n_epoch: int,
            lr: float | slice | Sequence[float] | None = None,
            wd: float | None = None,
            cbs: Callback | Sequence[Callback] | None = None,
            reset_opt: bool = False,
            start_epoch: int = 0,
            resume_from: str | Path | None = None,
        ) -> None: ...
        def no_logging(self) -> AbstractContextManager[Any]: ...
        def add_cb(self, cb: Callback | type) -> Any: ...
        def remove_cb(self, cb: Callback | type) -> Any: ...

    def _current_lrs(self, lr: Any) -> np.ndarray:
        if self.opt is None:
            self.create_opt()
        self.opt.set_hyper("lr", self.lr if lr is None else lr)
        return np.array([h["lr"] for h in self.opt.hypers])

    @learner_method
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
        _check_fit("fit_one_cycle()", n_epoch, lr_max, wd, "lr_max")
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
            cbs=[ParamScheduler(scheds), *as_list(cbs)],
            reset_opt=False,
            wd=wd,
            start_epoch=start_epoch,
            resume_from=resume_from,
        )

    @learner_method
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
        _check_fit("fit_flat_cos()", n_epoch, lr, wd)
        if reset_opt:
            self.create_opt()
        lrs = self._current_lrs(lr)
        scheds = {"lr": combined_cos(pct_start, lrs, lrs, lrs / div_final)}
        self.fit(
            n_epoch,
            cbs=[ParamScheduler(scheds), *as_list(cbs)],
            reset_opt=False,
            wd=wd,
            start_epoch=start_epoch,
            resume_from=resume_from,
        )

    @learner_method
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
        check_count("fit_sgdr()", n_cycles, "n_cycles", minimum=1)
        check_count("fit_sgdr()", cycle_len, "cycle_len", minimum=1)
        check_count("fit_sgdr()", cycle_mult, "cycle_mult", minimum=1)
        _check_fit("fit_sgdr()", 1, lr_max, wd, "lr_max")
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
            cbs=[ParamScheduler(scheds), *as_list(cbs)],
            reset_opt=False,
            wd=wd,
            start_epoch=start_epoch,
            resume_from=resume_from,
        )

    @learner_method
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
        check_count("fine_tune()", epochs, "epochs")
        check_number("fine_tune()", base_lr, "base_lr")
        check_number("fine_tune()", wd, "wd", allow_none=True)
        check_count("fine_tune()", freeze_epochs, "freeze_epochs")
        check_number("fine_tune()", lr_mult, "lr_mult")
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

    @learner_method
    def lr_find(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10,
        num_it: int = 100,
        stop_div: bool = True,
        show_plot: bool = True,
        suggest_funcs: Sequence[Callable[..., Any]] = (valley,),
    ) -> Any:
        """Mock-train with an exponentially growing lr over `num_it` batches, restore the model and the
        optimizer, and return the suggested learning rates as a named tuple (one field per function:
        ``SuggestedLRs(valley=...)`` by default, as fastai; also `minimum`, `steep`, `slide`)."""
        check_number("lr_find()", start_lr, "start_lr")
        check_number("lr_find()", end_lr, "end_lr")
        check_count("lr_find()", num_it, "num_it", minimum=1)
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

    def freeze_to(self, n: int) -> None:
        """Freeze the parameter groups before `n` (normalisation layers stay trainable when `train_bn`)."""
        if self.opt is None:
            self.create_opt()
        self.opt.freeze_to(n)
        self.opt.clear_state()

    def freeze(self) -> None:
        """Freeze every parameter group but the last (needs a splitter that returns several groups)."""
        if self.opt is None:
            self.create_opt()
        n_groups = len(self.opt.param_lists)
        if n_groups < 2:
            name = getattr(self.splitter, "__qualname__", None) or repr(self.splitter)
            raise ValueError(
                f"Learner.freeze: the splitter {name} returns {n_groups} parameter group, so there is "
                "no body to freeze (freeze trains the last group only); pass a splitter that returns "
                "[body_params, head_params]: Learner(..., splitter=default_split) for a model built as "
                "nn.Sequential(body, head), or your own function of the model"
            )
        self.freeze_to(-1)

    def unfreeze(self) -> None:
        """Make every parameter group trainable."""
        self.freeze_to(0)

    def to_fp16(self, **kwargs: Any) -> Self:
        """Train in float16 mixed precision with a gradient scaler (`MixedPrecision`)."""
        from .._callbacks._mixed_precision import MixedPrecision

        self.remove_cb(MixedPrecision)
        return self.add_cb(MixedPrecision(amp_mode="fp16", **kwargs))

    def to_bf16(self) -> Self:
        """Train in bfloat16 mixed precision (no scaler needed)."""
        from .._callbacks._mixed_precision import MixedPrecision

        self.remove_cb(MixedPrecision)
        return self.add_cb(MixedPrecision(amp_mode="bf16"))

    def to_fp32(self) -> Self:
        """Back to full float32 precision (removes `MixedPrecision`)."""
        from .._callbacks._mixed_precision import MixedPrecision

        return self.remove_cb(MixedPrecision)

    def to_channelslast(self, use_amp: bool = True, amp_mode: str = "fp16", **kwargs: Any) -> Self:
        """Train with the model and its 4-d inputs in channels-last memory format (`ChannelsLast`).

        As fastai, mixed precision comes with it unless `use_amp` is False (`amp_mode` and `kwargs`
        go to `MixedPrecision`): channels-last pays off on GPUs with tensor cores, in fp16 or bf16.
        """
        from .._callbacks._channels_last import ChannelsLast
        from .._callbacks._mixed_precision import MixedPrecision

        self.remove_cb(ChannelsLast)
        self.add_cb(ChannelsLast())
        if use_amp:
            self.remove_cb(MixedPrecision)
            self.add_cb(MixedPrecision(amp_mode=amp_mode, **kwargs))
        return self

    def to_contiguous(self, to_fp32: bool = False) -> Self:
        """Back to the contiguous memory format (removes `ChannelsLast`); `to_fp32`: mixed precision too."""
        from .._callbacks._channels_last import ChannelsLast

        self.remove_cb(ChannelsLast)
        self.model.to(memory_format=torch.contiguous_format)
        return self.to_fp32() if to_fp32 else self


def _checkpoint_fit_phase(learn: Any, resume_from: Any, freeze_epochs: int, epochs: int) -> int:
    """Which `fine_tune` phase (0: frozen, 1: unfrozen) a checkpoint belongs to (0 when there is none)."""
    from .._checkpoint._file import read_checkpoint
    from .._checkpoint._resume import _resolve

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


def _check_fit(
    who: str,
    n_epoch: Any,
    lr: Any,
    wd: Any,
    lr_name: str = "lr",
) -> None:
    """Check the arguments every scheduled fit shares, naming the entry point the user called."""
    check_count(who, n_epoch, "n_epoch")
    check_lr(who, lr, lr_name)
    check_number(who, wd, "wd", allow_none=True)
