"""`TextLearner`: a Learner for recurrent text models, with ULMFiT's encoder transfer.

The encoder file that `save_encoder` writes is a safetensors file (no pickle) holding the
encoder's weights and, as metadata, its architecture, config and vocabulary: `load_encoder` into
a model built for another vocabulary maps the embeddings (`match_embeds`). Predictions of a
`SortedDL` (which batches texts by length) are put back in the order of its dataset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from plies.learner import Callback, Learner, register_learner
from plies.typecore import check_kwargs, delegates
from torch import Tensor, nn

from ._callbacks import ModelResetter, RNNRegularizer
from ._loaders import SortedDL

__all__ = ["TextLearner", "match_embeds"]

ENCODER_FORMAT = "plies.text.encoder"


def match_embeds(
    old_wgts: dict[str, Tensor], old_vocab: Sequence[str], new_vocab: Sequence[str]
) -> dict[str, Tensor]:
    """Weights for `new_vocab` from weights trained with `old_vocab`: the embedding rows (and a tied
    decoder's rows and bias) of the tokens both know are copied, the others get the mean row."""
    old_idx = {w: i for i, w in enumerate(old_vocab)}
    rows = torch.tensor([old_idx.get(w, -1) for w in new_vocab])
    known = rows >= 0
    res = dict(old_wgts)
    for k, w in old_wgts.items():
        is_emb = k.endswith(("encoder.weight", "encoder_dp.emb.weight", "decoder.weight", "decoder.bias"))
        if not is_emb or w.size(0) != len(old_vocab):
            continue
        new = w.mean(0, keepdim=True).repeat(len(new_vocab), *([1] * (w.dim() - 1)))
        new[known] = w[rows[known]]
        res[k] = new
    return res


def _text_vocab(dls: Any, who: str) -> list[str]:
    """The vocabulary of the texts (the first input's `Numericalize`), not the labels'."""
    ds = dls.train_ds
    tls = getattr(ds, "tls", [ds])
    try:
        return list(tls[0].vocab)
    except AttributeError:
        raise ValueError(
            f"{who}: the DataLoaders' inputs have no vocabulary (they are not numericalized texts)"
        ) from None


def _encoder_of(model: nn.Module) -> nn.Module:
    enc = model[0]
    return getattr(enc, "module", enc)  # the classifier's SentenceEncoder wraps the encoder


def _read_encoder_file(file: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    from safetensors import safe_open

    if not file.is_file():
        raise FileNotFoundError(
            f"load_encoder: no encoder file {str(file)!r} (save one with learn.save_encoder)"
        )
    with safe_open(str(file), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != ENCODER_FORMAT:
            raise ValueError(f"load_encoder: {str(file)!r} is not an encoder file written by save_encoder")
        return {k: f.get_tensor(k) for k in f.keys()}, meta


@register_learner
@delegates()  # the signature shows Learner's keywords: a misspelt one is refused, naming the closest
class TextLearner(Learner):
    """A Learner for recurrent text models: a `ModelResetter` and an `RNNRegularizer(alpha, beta)`, the
    1cycle momentums of ULMFiT (0.8, 0.7, 0.8), and the encoder's save and load for transfer learning.

    Other keywords go to `Learner`. Predictions of a `SortedDL` (which batches texts by length)
    come back in the order of the dataset.
    """

    def __init__(
        self,
        dls: Any,
        model: nn.Module,
        alpha: float = 2.0,
        beta: float = 1.0,
        moms: tuple[float, ...] = (0.8, 0.7, 0.8),
        **kwargs: Any,
    ) -> None:
        super().__init__(dls, model, moms=moms, **kwargs)
        self.add_cbs([ModelResetter(), RNNRegularizer(alpha=alpha, beta=beta)])

    def add_cb(self, cb: Callback | type) -> Any:
        """Add a callback; a second `ModelResetter` or `RNNRegularizer` replaces the first (one of each)."""
        new = cb() if isinstance(cb, type) else cb
        for kind in (ModelResetter, RNNRegularizer):
            if isinstance(new, kind):
                self.remove_cb(kind)
        return super().add_cb(new)

    # ---- encoder transfer (ULMFiT) ----------------------------------------------------------------
    def _encoder_path(self, file: str | os.PathLike) -> Path:
        file = Path(file)
        if file.suffix != ".safetensors":
            file = file.with_name(file.name + ".safetensors")
        return file if file.is_absolute() or file.parent != Path(".") else self.path / self.model_dir / file

    def save_encoder(self, file: str | os.PathLike) -> Path:
        """Save the encoder's weights, with its architecture, config and vocabulary, to
        `path/model_dir/file.safetensors`; returns the path."""
        from safetensors.torch import save_file

        enc = _encoder_of(self.model)
        target = self._encoder_path(file)
        target.parent.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous().clone() for k, v in enc.state_dict().items()}
        meta = {
            "format": ENCODER_FORMAT,
            "arch": type(enc).__name__,
            "config": json.dumps({k: getattr(enc, k) for k in _ENCODER_ARGS if hasattr(enc, k)}),
            "vocab": json.dumps(_text_vocab(self.dls, "save_encoder") if self.dls is not None else None),
        }
        save_file(tensors, str(target), metadata=meta)
        return target

    def load_encoder(self, file: str | os.PathLike, device: Any = None) -> TextLearner:
        """Load an encoder saved by `save_encoder` into this model (embeddings mapped to this vocabulary
        when it differs). Nothing is frozen: call `freeze()` / `freeze_to(n)` for gradual unfreezing.
        Returns the learner."""
        target = self._encoder_path(file)
        wgts, meta = _read_encoder_file(target)
        enc = _encoder_of(self.model)
        old_vocab = json.loads(meta.get("vocab", "null"))
        new_vocab = _text_vocab(self.dls, "load_encoder") if self.dls is not None else None
        if old_vocab is not None and new_vocab is not None and list(old_vocab) != new_vocab:
            wgts = match_embeds(wgts, old_vocab, new_vocab)
        own = enc.state_dict()
        wrong = [k for k in own if k in wgts and own[k].shape != wgts[k].shape]
        missing, unexpected = [k for k in own if k not in wgts], [k for k in wgts if k not in own]
        if wrong or missing or unexpected:
            detail = (
                f"shapes differ for {wrong[:3]}"
                if wrong
                else f"missing {missing[:3]}, unexpected {unexpected[:3]}"
            )
            raise ValueError(
                f"load_encoder: the encoder in {str(target)!r} (config {meta.get('config')}) does not fit "
                f"this model "
                f"({detail}); build the learner with the same config (language_model_learner and "
                f"text_classifier_learner without pretrained weights both use the architecture's scratch "
                f"config)"
            )
        target_device = device if device is not None else next(enc.parameters()).device
        enc.load_state_dict({k: v.to(target_device) for k, v in wgts.items()})
        return self

    def load_pretrained(
        self, wgts_fname: str | os.PathLike, vocab_fname: str | os.PathLike | None = None
    ) -> TextLearner:
        """Load pretrained encoder weights (a `save_encoder` file), mapping the embeddings to this vocabulary;
        `vocab_fname`: a JSON list of the tokens, for a file that holds no vocabulary."""
        file = Path(wgts_fname)
        if vocab_fname is not None:
            wgts, meta = _read_encoder_file(file)
            meta = {**meta, "vocab": Path(vocab_fname).read_text(encoding="utf-8")}
            tmp = self.path / self.model_dir / f".{file.stem}_with_vocab.safetensors"
            tmp.parent.mkdir(parents=True, exist_ok=True)
            from safetensors.torch import save_file

            save_file(wgts, str(tmp), metadata=meta)
            try:
                return self.load_encoder(tmp.resolve())
            finally:
                tmp.unlink(missing_ok=True)
        return self.load_encoder(file.resolve())

    # ---- predictions in dataset order -------------------------------------------------------------
    @check_kwargs
    def get_preds(
        self, ds_idx: int = 1, dl: Any = None, reorder: bool = True, **kwargs: Any
    ) -> tuple[Any, ...]:
        """`Learner.get_preds`; a `SortedDL`'s predictions are put back in the order of its dataset."""
        if dl is None:
            dl = self.dls[ds_idx]
        if not (reorder and isinstance(dl, SortedDL)):
            return super().get_preds(ds_idx=ds_idx, dl=dl, reorder=reorder, **kwargs)
        dl = dl.new(shuffle=False, drop_last=False) if (dl.shuffle or dl.drop_last) else dl
        order = list(dl.get_idxs())
        fixed = dl.new(get_idxs=lambda: order)
        res = super().get_preds(dl=fixed, reorder=False, **kwargs)
        inverse = torch.tensor(order).argsort()
        return tuple(_reorder(r, inverse) for r in res)


def _reorder(x: Any, idx: Tensor) -> Any:
    if isinstance(x, Tensor) and x.dim() > 0 and x.size(0) == len(idx):
        return x[idx.to(x.device)]
    if isinstance(x, tuple):
        return tuple(_reorder(o, idx) for o in x)
    return x


_ENCODER_ARGS = (
    "vocab_sz",
    "emb_sz",
    "n_hid",
    "n_layers",
    "pad_token",
    "hidden_p",
    "input_p",
    "embed_p",
    "weight_p",
    "bidir",
)
