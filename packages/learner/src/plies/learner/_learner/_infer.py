"""Part of `Learner`: validation and prediction passes (validate, get_preds, predict, tta, show_results),
save / load of weights, export and the summary.

`LearnerInferenceMixin` only makes sense mixed into `Learner` (which inherits it); it is split out
to keep each module to one concept. Its methods are documented and called as ``Learner`` methods.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from .._callback import Callback
from .._utils import as_list, detach_cpu
from ._args import learner_method
from ._preds import (
    GatherPredsCallback,
    blend_tta,
    decode_prediction,
    finish_preds,
    loss_not_reduced,
    training_transforms,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["LearnerInferenceMixin"]


class LearnerInferenceMixin:
    """Part of `Learner`: validation and prediction passes, weights on disk, export and summary."""

    if TYPE_CHECKING:  # provided by Learner
        dls: Any
        model: nn.Module
        opt: Any
        loss_func: Callable[..., Tensor]
        path: Path
        model_dir: Path
        final_record: Any
        cbs: Any
        epoch: int
        n_epoch: int
        _validation_only: bool

        def create_opt(self) -> None: ...
        def no_logging(self) -> contextlib.AbstractContextManager[Any]: ...
        def added_cbs(self, cbs: Any) -> contextlib.AbstractContextManager[Any]: ...
        def __call__(self, event_name: str) -> None: ...
        def _do_epoch_validate(self, ds_idx: int = 1, dl: Any = None) -> None: ...

    def to_detach(self, b: Any, cpu: bool = True, gather: bool = True) -> Any:
        """Detach `b` (to the CPU when `cpu`); the DataLoader's own `to_detach` (distributed gather) wins."""
        dl_detach = getattr(getattr(self, "dl", None), "to_detach", None)  # a bare subclass may have no `dl`
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
    def validation_context(
        self, cbs: Callback | Sequence[Callback] | None = None, inner: bool = False
    ) -> Iterator[Self]:
        """Context manager for a validation-only pass (no logging, extra `cbs`, fit/epoch events around it).

        The loop state and the model's train/eval mode are restored afterwards, so `validate` /
        `get_preds` also work inside a fit. With `inner` (fastai's flag for a pass made from a callback)
        the callbacks see no fit/epoch events, only the validation phase (the Recorder still opens and
        closes the pass's own log line): a callback may then call it from any event.
        """
        saved = {k: getattr(self, k) for k in self._LOOP_STATE}
        model_training = self.model.training
        old_flag = self._validation_only
        self._validation_only = True
        rec = self.__dict__.get("recorder")

        def fire(name: str) -> None:
            if not inner:
                self(name)
                return
            f = getattr(rec, name, None) if rec is not None and rec in self.cbs else None
            if f is not None:
                f()

        with self.no_logging(), self.added_cbs(cbs):
            self.epoch, self.n_epoch = 0, 1
            try:
                fire("before_fit")
                fire("before_epoch")
                yield self
                fire("after_epoch")
                fire("after_fit")
            finally:
                self._validation_only = old_flag
                for k, v in saved.items():
                    setattr(self, k, v)
                self.model.train(model_training)

    @contextlib.contextmanager
    def loss_not_reduced(self) -> Iterator[Self]:
        """Context manager: the loss function returns one value per item (``reduction='none'``)."""
        with loss_not_reduced(self):
            yield self

    @learner_method
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

    @learner_method
    def get_preds(
        self,
        ds_idx: int = 1,
        dl: Any = None,
        with_input: bool = False,
        with_decoded: bool = False,
        with_loss: bool = False,
        act: Callable[[Tensor], Tensor] | None = None,
        inner: bool = False,
        reorder: bool = True,
        cbs: Callback | Sequence[Callback] | None = None,
    ) -> tuple[Any, ...]:
        """Predictions and targets on ``dls[ds_idx]`` (or `dl`), in dataset order.

        Returns ``(inputs?, preds, targets, decoded?, losses?)``: preds go through `act` (default: the
        loss function's ``activation``), decoded through its ``decodes``; losses are per item. Preds and
        decoded are plain ``torch.Tensor`` (never a semantic class on probabilities); inputs and targets
        keep the batch's semantic types (e.g. ``TensorImage``, ``TensorCategory``) for decoding.
        Batches whose tensors differ in size beyond the first dimension (padded text of different
        lengths) are padded at the end to the largest size with the DataLoader's ``pad_idx`` when it
        has one, else 0.
        Inside a running fit the loop state is restored after the pass and callbacks skip their per-fit
        bookkeeping; `inner=True` (as fastai, for a call from a callback) also skips the fit/epoch events.
        """
        if dl is None:
            dl = self.dls[ds_idx]
        if reorder:
            dl = self._unshuffled(dl)
        cb = GatherPredsCallback(with_input=with_input, with_loss=with_loss)
        with contextlib.ExitStack() as stack:
            if with_loss:
                stack.enter_context(loss_not_reduced(self))
            with self.validation_context(cbs=[cb, *as_list(cbs)], inner=inner):
                self._do_epoch_validate(dl=dl)
            res = cb.all_tensors(pad_value=getattr(dl, "pad_idx", 0))
        return finish_preds(self.loss_func, res, with_input, with_decoded, act)

    @learner_method
    def predict(self, item: Any, rm_type_tfms: Any = None, with_input: bool = False) -> tuple[Any, ...]:
        """Predict one raw `item`: ``(decoded prediction, decoded tensor, activations)`` (+ input first).

        The decoded prediction is what the target pipeline decodes to (e.g. a `Category`); the decoded
        tensor and the activations are plain ``torch.Tensor``; the input, with `with_input`, is decoded.
        """
        dl = self.dls.test_dl([item], rm_type_tfms=rm_type_tfms)
        inp, preds, _, dec_preds = self.get_preds(dl=dl, with_input=True, with_decoded=True)
        return decode_prediction(self.dls, inp, preds, dec_preds, with_input)

    @learner_method
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
                    "set_split_idx); the augmented predictions equal the plain ones",
                    stacklevel=3,  # the caller of Learner.tta (through check_kwargs' wrapper)
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

    def _model_file(self, file: str | Path) -> Path:
        file = Path(file)
        if file.suffix != ".safetensors":
            file = file.with_name(file.name + ".safetensors")
        return file if file.is_absolute() else self.path / self.model_dir / file

    @learner_method
    def save(self, file: str | Path, with_opt: bool = True) -> Path:
        """Save model weights (and optimizer state) to ``path/model_dir/file.safetensors`` (no pickle).

        Under torch.distributed only rank 0 writes, and every rank waits until the file is complete
        (so every rank must call it); all ranks return the file's path.
        """
        from .._checkpoint._file import write_checkpoint
        from .._distributed._process import _rank, distrib_barrier

        target = self._model_file(file)
        if _rank() == 0:
            state = {
                "model": self.model.state_dict(),
                "opt": self.opt.state_dict() if with_opt and self.opt is not None else None,
            }
            write_checkpoint(state, target)
        distrib_barrier()
        return target

    @learner_method
    def load(self, file: str | Path, device: Any = None, with_opt: bool = True, strict: bool = True) -> Self:
        """Load what `save` wrote: weights (onto the model's device) and optimizer state (`with_opt`)."""
        from .._checkpoint._file import read_checkpoint

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
        from .._export import export_learner

        return export_learner(self, fname, pickle=pickle)

    def summary(self) -> str:
        """Per-layer output shapes, parameter counts and trainability (a printable table)."""
        from .._summary import learner_summary

        return learner_summary(self)


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")
