"""`Interpretation` / `ClassificationInterpretation`: what a trained model gets wrong, item by item.

`from_learner` runs one prediction pass (inputs, predictions, targets, decoded predictions and
per-item losses); the losses rank the items, the confusion matrix counts the classes mixed up.
Showing items goes through the `plot_top_losses` type dispatch: the default here draws each item's
own view (or its values as text) with a title, and applications register views for their types
(``@plot_top_losses.register`` on e.g. an image tensor type).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from plies.typecore import to_device, typedispatch
from torch import Tensor

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Interpretation", "ClassificationInterpretation", "plot_top_losses"]


def _tuple(o: Any) -> tuple[Any, ...]:
    return o if isinstance(o, tuple) else (o,)


def _class_indices(t: Any) -> Tensor:
    """`t` as a flat plain tensor of int64 class indices."""
    t = torch.as_tensor(t)
    return t.as_subclass(Tensor).flatten().long()


def _text(o: Any) -> str:
    """A short text for one decoded element (a label, a number, a small tensor's values)."""
    if isinstance(o, (tuple, list)):
        return ", ".join(_text(e) for e in o)
    if isinstance(o, Tensor):
        if o.numel() == 1:
            v = o.item()
            return f"{v:.4g}" if isinstance(v, float) else str(v)
        if o.numel() <= 8:
            return str([round(v, 4) if isinstance(v, float) else v for v in o.flatten().tolist()])
        return f"{type(o).__name__}{list(o.shape)}"
    return str(o)


@typedispatch
def plot_top_losses(
    x: object,
    y: object,
    samples: Sequence[Any],
    outs: Sequence[Any],
    raws: Tensor,
    losses: Tensor,
    nrows: int | None = None,
    ncols: int | None = None,
    figsize: tuple[float, float] | None = None,
    **kwargs: Any,
) -> Any:
    """Default view of `Interpretation.plot_top_losses`: one matplotlib Axes per item.

    An input that can show itself (``.show(ctx=ax)``) draws on its Axes, any other is written as
    text; the title reads ``prediction/actual / loss / probability`` (the probability: the highest
    activation, for class scores). Returns the Axes, one per item. Apps register views for their
    types with ``@plot_top_losses.register``.
    """
    import matplotlib.pyplot as plt

    n = len(samples)
    ncols = ncols or min(n, math.ceil(math.sqrt(n))) or 1
    nrows = nrows or math.ceil(n / ncols) or 1
    fig, axs = plt.subplots(nrows, ncols, figsize=figsize or (3 * ncols, 3 * nrows), squeeze=False, **kwargs)
    n_inp = len(x) if isinstance(x, tuple) else 1
    axes = list(axs.flatten())
    for ax in axes[n:]:
        ax.axis("off")
    for ax, sample, out, raw, loss in zip(axes, samples, outs, raws, losses, strict=False):
        for inp in sample[:n_inp]:
            if hasattr(inp, "show"):
                inp.show(ctx=ax)
            else:
                ax.text(0.5, 0.5, _text(inp), ha="center", va="center", wrap=True, transform=ax.transAxes)
        title = f"{_text(out)}/{_text(sample[n_inp:])} / {float(loss):.2f}"
        if isinstance(raw, Tensor) and raw.numel() > 1:
            title += f" / {float(raw.max()):.2f}"
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    return axes[:n]


class Interpretation:
    """A prediction pass of a learner over one dataset, to rank and show the items by loss.

    Build it with `from_learner`; ``inputs``, ``preds`` (activations), ``targs``, ``decoded`` and
    ``losses`` (one per item) are in dataset order.
    """

    def __init__(
        self, learn: Any, dl: Any, inputs: Any, preds: Any, targs: Any, decoded: Any, losses: Tensor
    ) -> None:
        self.learn, self.dl = learn, dl
        self.inputs, self.preds, self.targs, self.decoded = inputs, preds, targs, decoded
        self.losses = losses

    @classmethod
    def from_learner(
        cls, learn: Any, ds_idx: int = 1, dl: Any = None, act: Callable[[Tensor], Tensor] | None = None
    ) -> Self:
        """Predict on ``learn.dls[ds_idx]`` (or `dl`) with inputs, decoded predictions and per-item losses.

        Losses that come per element (a pixel, a token) are averaged per item.
        """
        if dl is None:
            dl = learn.dls[ds_idx]
        inputs, preds, targs, decoded, losses = learn.get_preds(
            dl=dl, with_input=True, with_decoded=True, with_loss=True, act=act
        )
        n = len(_tuple(preds)[0])
        if losses is None:
            raise ValueError(f"{cls.__name__}.from_learner: the data has no targets, so there are no losses")
        if losses.ndim != 1 or len(losses) != n:
            losses = losses.reshape(n, -1).float().mean(1)
        return cls(learn, dl, inputs, preds, targs, decoded, losses)

    def __getitem__(self, idxs: Any) -> Self:
        """The same interpretation restricted to the items `idxs` (an int, a list or a tensor of indices)."""
        idxs = torch.as_tensor([idxs] if isinstance(idxs, int) else idxs, dtype=torch.long)

        def take(o: Any) -> Any:
            return tuple(take(e) for e in o) if isinstance(o, tuple) else o[idxs]

        return type(self)(
            self.learn,
            self.dl,
            take(self.inputs),
            take(self.preds),
            take(self.targs),
            take(self.decoded),
            self.losses[idxs],
        )

    def top_losses(self, k: int | None = None, largest: bool = True) -> tuple[Tensor, Tensor]:
        """The `k` largest losses (all when None; the smallest when not `largest`) and their item indices."""
        n = len(self.losses)
        k = n if k is None else k
        if not 0 <= k <= n:
            raise ValueError(f"{type(self).__name__}.top_losses: k must be from 0 to {n} (items), found {k}")
        return self.losses.topk(k, largest=largest)

    def plot_top_losses(self, k: int | Sequence[int], largest: bool = True, **kwargs: Any) -> Any:
        """Show the `k` items with the largest losses (`k` a list: those ranks) with prediction and target.

        The display is the `plot_top_losses` dispatch on the decoded input and target types; extra
        keywords go to it (``nrows``, ``ncols``, ``figsize``...). Returns what it returns (the Axes).
        """
        if isinstance(k, int):
            losses, idx = self.top_losses(k, largest)
        else:
            losses, idx = self.top_losses(None, largest)
            ranks = torch.as_tensor(list(k), dtype=torch.long)
            losses, idx = losses[ranks], idx[ranks]
        batch = tuple(o[idx] for o in _tuple(self.inputs)) + tuple(o[idx] for o in _tuple(self.targs))
        decoded = tuple(o[idx] for o in _tuple(self.decoded))
        device = getattr(self.dl, "device", None)
        if device is not None:  # decoding transforms (Normalize...) hold their statistics there
            batch, decoded = to_device(batch, device), to_device(decoded, device)
        out = decoded if len(decoded) > 1 else decoded[0]
        x, y, samples, outs = self.dl.show_results(batch, out, max_n=len(idx), show=False)
        raws = _tuple(self.preds)[0][idx]
        return plot_top_losses(x, y, samples, outs, raws, losses, **kwargs)


class ClassificationInterpretation(Interpretation):
    """`Interpretation` of a single-label classifier: confusion matrix, most confused pairs, report.

    The class names are the DataLoader's ``vocab`` when it has one, else the class indices.
    """

    def __init__(
        self, learn: Any, dl: Any, inputs: Any, preds: Any, targs: Any, decoded: Any, losses: Tensor
    ) -> None:
        super().__init__(learn, dl, inputs, preds, targs, decoded, losses)
        if not isinstance(decoded, Tensor) or decoded.is_floating_point() or decoded.dtype == torch.bool:
            found = type(decoded).__name__ if not isinstance(decoded, Tensor) else f"a {decoded.dtype} tensor"
            raise TypeError(
                "ClassificationInterpretation: expected decoded predictions that are class indices (one "
                f"integer per item, single-label classification), found {found}; use Interpretation"
            )
        vocab = getattr(dl, "vocab", None)  # None too when its property raises AttributeError (no vocab)
        n_classes = _tuple(preds)[0].shape[-1]
        self.vocab: list[Any] = list(vocab) if vocab is not None else list(range(n_classes))

    def confusion_matrix(self) -> np.ndarray:
        """Counts of (actual class, predicted class): row `i` holds the items of class `i`."""
        n = len(self.vocab)
        targs, decoded = _class_indices(self.targs), _class_indices(self.decoded)
        cm = torch.zeros(n, n, dtype=torch.long)
        cm.index_put_((targs, decoded), torch.ones_like(targs), accumulate=True)
        return cm.numpy()

    def most_confused(self, min_val: int = 1) -> list[tuple[Any, Any, int]]:
        """``(actual, predicted, count)`` of the mix-ups seen `min_val` times or more, most frequent first."""
        cm = self.confusion_matrix()
        pairs = [
            (self.vocab[i], self.vocab[j], int(cm[i, j]))
            for i in range(len(cm))
            for j in range(len(cm))
            if i != j and cm[i, j] >= min_val
        ]
        return sorted(pairs, key=lambda p: p[2], reverse=True)  # stable: ties stay in row order

    def plot_confusion_matrix(
        self,
        normalize: bool = False,
        title: str = "Confusion matrix",
        cmap: str = "Blues",
        norm_dec: int = 2,
        plot_txt: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Draw the confusion matrix (rows: actual, columns: predicted; `normalize`: fractions per row).

        Extra keywords go to ``plt.figure`` (``figsize``, ``dpi``). Returns the figure.
        """
        import matplotlib.pyplot as plt

        cm = self.confusion_matrix()
        if normalize:
            cm = cm.astype("float") / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        fig = plt.figure(**kwargs)
        ax = fig.add_subplot()
        ax.imshow(cm, interpolation="nearest", cmap=cmap)
        ax.set_title(title)
        ticks = np.arange(len(self.vocab))
        names = [str(v) for v in self.vocab]
        ax.set_xticks(ticks, names, rotation=90)
        ax.set_yticks(ticks, names, rotation=0)
        if plot_txt:
            thresh = cm.max() / 2.0
            for i in range(cm.shape[0]):
                for j in range(cm.shape[1]):
                    text = f"{cm[i, j]:.{norm_dec}f}" if normalize else f"{cm[i, j]}"
                    color = "white" if cm[i, j] > thresh else "black"
                    ax.text(j, i, text, horizontalalignment="center", verticalalignment="center", color=color)
        ax.set_ylabel("Actual")
        ax.set_xlabel("Predicted")
        ax.grid(False)
        fig.tight_layout()
        return fig

    def print_classification_report(self) -> str:
        """Print (and return) scikit-learn's per-class precision, recall and F1 with the class names."""
        from sklearn.metrics import classification_report

        report = classification_report(
            _class_indices(self.targs).numpy(),
            _class_indices(self.decoded).numpy(),
            labels=list(range(len(self.vocab))),
            target_names=[str(v) for v in self.vocab],
            zero_division=0,
        )
        print(report)
        return report
