"""Loggers of the per-epoch results: `CSVLogger` (a CSV file), `TensorBoardCallback` (optional dependency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._callback import Callback

__all__ = ["CSVLogger", "TensorBoardCallback"]


def _is_rank0() -> bool:
    from plies.typecore import rank_distrib

    return rank_distrib() == 0


class CSVLogger(Callback):
    """Write the Recorder's per-epoch log to ``learn.path/fname`` (appending when `append`)."""

    order = 60
    run_after = ("Recorder",)

    def __init__(self, fname: str | Path = "history.csv", append: bool = False) -> None:
        self.fname, self.append = Path(fname), append
        self.file: Any = None
        self._old_logger: Any = None
        self._path: Path | None = None

    def _resolve(self) -> Path:
        if self.fname.is_absolute():
            return self.fname
        if self.learn is None:
            raise ValueError(
                f"CSVLogger: {self.fname} is relative and the logger was never attached to a learner"
            )
        return Path(self.learn.path) / self.fname

    @property
    def path(self) -> Path:
        """Where the log is (or was last) written."""
        return self._path if self._path is not None else self._resolve()

    def read_log(self) -> Any:
        """The log as a pandas DataFrame."""
        import pandas as pd

        return pd.read_csv(self.path)

    def before_fit(self) -> None:
        """Open the file (header unless appending to an existing one) and hook into the logger."""
        if self.learn._validation_only or not _is_rank0():
            return
        path = self._path = self._resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_header = not (self.append and path.exists() and path.stat().st_size > 0)
        self.file = open(path, "a" if self.append else "w", encoding="utf-8")
        if write_header:
            self.file.write(",".join(self.learn.recorder.metric_names) + "\n")
            self.file.flush()
        self._old_logger, self.learn.logger = self.learn.logger, self._write_line

    def _write_line(self, log: list[Any]) -> None:
        self.file.write(",".join(str(v) for v in log) + "\n")
        self.file.flush()
        self._old_logger(log)

    def after_fit(self) -> None:
        """Close the file and give the logger back."""
        if self.file is not None and not self.learn._validation_only:
            self.file.close()
            self.file = None
            self.learn.logger = self._old_logger
            self._old_logger = None


class TensorBoardCallback(Callback):
    """Log the training loss and hyper-parameters per batch, and the epoch results, to TensorBoard.

    Needs the optional ``tensorboard`` package (``torch.utils.tensorboard.SummaryWriter``).
    """

    order = 70
    run_after = ("Recorder",)

    def __init__(
        self, log_dir: str | Path | None = None, trace_model: bool = False, log_every: int = 1
    ) -> None:
        self.log_dir, self.trace_model, self.log_every = log_dir, trace_model, max(1, int(log_every))
        self.writer: Any = None

    def before_fit(self) -> None:
        """Open the SummaryWriter (rank 0, not during validation-only passes)."""
        if self.learn._validation_only or not _is_rank0():
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:  # optional dependency
            raise ImportError(
                "TensorBoardCallback needs the 'tensorboard' package: pip install tensorboard"
            ) from e
        log_dir = self.log_dir if self.log_dir is not None else self.learn.path / "runs"
        self.writer = SummaryWriter(log_dir=str(log_dir))
        if self.trace_model:
            self.writer.add_graph(
                self.learn.model, self.learn.dls.train.one_batch()[: getattr(self.learn.dls, "n_inp", 1)]
            )

    def after_batch(self) -> None:
        """Log smoothed loss and hyper-parameters every `log_every` training batches."""
        learn = self.learn
        if self.writer is None or not learn.training or learn.train_iter % self.log_every:
            return
        step = learn.train_iter
        smooth = learn.smooth_loss
        if smooth is not None:
            self.writer.add_scalar("train_loss", float(smooth), step)
        for i, h in enumerate(learn.opt.hypers):
            for k, v in h.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    self.writer.add_scalar(f"{k}_{i}", v, step)

    def after_epoch(self) -> None:
        """Log the epoch's losses and metrics."""
        if self.writer is None or self.learn._validation_only:
            return
        rec = self.learn.recorder
        names = [n for n in rec.metric_names[1:] if n != "time"]
        for name, value in zip(names, rec.values[-1], strict=False):
            if name == "train_loss":  # after_batch logged it (the same smoothed value) at this step
                continue
            if isinstance(value, (int, float)):
                self.writer.add_scalar(name, value, self.learn.train_iter)
        self.writer.flush()

    def after_fit(self) -> None:
        """Close the writer."""
        if self.writer is not None and not self.learn._validation_only:
            self.writer.close()
            self.writer = None
