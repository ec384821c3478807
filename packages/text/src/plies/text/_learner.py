"""The text learners: `TextLearner` (ULMFiT's encoder transfer), `LMLearner` (generation) and their makers.

`language_model_learner` and `text_classifier_learner` build the model for the data's vocabulary
and use the architecture's splitter (gradual unfreezing, discriminative learning rates). Without
pretrained weights they use the architecture's from-scratch config (smaller, see
`awd_lstm_scratch_lm_config`), the same for both, so that `save_encoder` on the language model and
`load_encoder` on the classifier fit. The encoder file is a safetensors file (no pickle) holding the
encoder's weights and, as metadata, its architecture, config and vocabulary: loading it into a model
built for another vocabulary maps the embeddings (`match_embeds`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from plies.layers import CrossEntropyLossFlat
from plies.learner import Callback, Learner, register_learner
from plies.typecore import check_kwargs
from torch import Tensor, nn

from ._callbacks import ModelResetter, RNNRegularizer
from ._loaders import SortedDL
from ._rules import BOS, PAD, UNK, decode_spec_tokens
from .models._core import arch_meta, get_language_model, get_text_classifier

__all__ = ["TextLearner", "LMLearner", "language_model_learner", "text_classifier_learner", "match_embeds"]

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

    def load_encoder(self, file: str | os.PathLike, device: Any = None, freeze: bool = True) -> TextLearner:
        """Load an encoder saved by `save_encoder` (embeddings mapped to this vocabulary when it differs);
        then `freeze()` the model but its head (`freeze=False` leaves it as it is). Returns the learner."""
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
        if freeze:
            self.freeze()
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
                return self.load_encoder(tmp.resolve(), freeze=False)
            finally:
                tmp.unlink(missing_ok=True)
        return self.load_encoder(file.resolve(), freeze=False)

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


@register_learner
class LMLearner(TextLearner):
    """A `TextLearner` for language models: `predict(text, n_words)` continues a text."""

    @check_kwargs
    def predict(  # type: ignore[override]
        self,
        text: str,
        n_words: int = 1,
        no_unk: bool = True,
        temperature: float = 1.0,
        min_p: float | None = None,
        no_bar: bool = False,
        decoder: Callable[[list[str]], list[str]] = decode_spec_tokens,
        only_last_word: bool = False,
    ) -> str:
        """`text` followed by `n_words` tokens sampled from the model (at `temperature`; 0 picks the most
        likely), decoded with `decoder` (capitals and repetitions restored); `no_unk` never samples `xxunk`,
        `min_p` drops tokens less likely than it. `only_last_word`: return the new tokens only."""
        if not isinstance(n_words, int) or isinstance(n_words, bool) or n_words < 0:
            raise ValueError(f"LMLearner.predict: n_words must be an int >= 0, got {n_words!r}")
        if temperature < 0:
            raise ValueError(f"LMLearner.predict: temperature must be >= 0, got {temperature!r}")
        vocab = _text_vocab(self.dls, "LMLearner.predict")
        ids = self.dls.test_dl([text]).dataset[0][0].as_subclass(Tensor)
        model, device = self.model, next(self.model.parameters()).device
        was_training = model.training
        model.eval()
        model.reset()
        unk = vocab.index(UNK) if UNK in vocab else None
        new: list[int] = []
        try:
            with torch.no_grad():
                inp = ids[None].to(device)
                for _ in range(n_words):
                    logits = model(inp)[0, -1].float()
                    probs = torch.softmax(logits / temperature, -1) if temperature > 0 else None
                    if probs is None:
                        if no_unk and unk is not None:
                            logits[unk] = float("-inf")
                        idx = int(logits.argmax())
                    else:
                        if no_unk and unk is not None:
                            probs[unk] = 0.0
                        if min_p is not None:
                            probs[probs < min_p] = 0.0
                        if float(probs.sum()) <= 0:
                            raise ValueError(
                                f"LMLearner.predict: no token left to sample (min_p={min_p} is too high)"
                            )
                        idx = int(torch.multinomial(probs, 1))
                    new.append(idx)
                    inp = torch.tensor([[idx]], device=device)
        finally:
            model.reset()
            model.train(was_training)
        ids_all = new if only_last_word else ids.tolist() + new
        tokens = [vocab[i] for i in ids_all if vocab[i] not in (BOS, PAD)]
        sep = getattr(_tokenizer_of(self.dls), "sep", " ")
        return sep.join(decoder(tokens))


def _tokenizer_of(dls: Any) -> Any:
    ds = dls.train_ds
    tls = getattr(ds, "tls", [ds])
    for f in getattr(tls[0], "tfms", []):
        if hasattr(f, "sep") and hasattr(f, "job"):
            return f
    return None


def _config(
    arch: Any, config: dict[str, Any] | None, pretrained: bool, kind: str, file: Any
) -> dict[str, Any]:
    """The config: given, else read from a pretrained file, else the architecture's (scratch) default."""
    meta = arch_meta(arch, f"{'language_model' if kind == 'lm' else 'text_classifier'}_learner")
    if config is not None:
        return config
    if file is not None:
        _, file_meta = _read_encoder_file(Path(file))
        saved = json.loads(file_meta.get("config", "{}"))
        base = dict(meta[f"config_{kind}"])
        base.update({k: v for k, v in saved.items() if k in base})
        return base
    return dict(meta[f"config_{kind}"] if pretrained else meta[f"scratch_config_{kind}"])


def _check_pretrained(pretrained: bool, fnames: Any, who: str) -> Any:
    if fnames is not None:
        fnames = [fnames] if isinstance(fnames, (str, os.PathLike)) else list(fnames)
        if not 1 <= len(fnames) <= 2:
            raise ValueError(
                f"{who}: pretrained_fnames is (weights file,) or (weights file, vocab file), got {fnames}"
            )
        return fnames
    if pretrained:
        raise ValueError(
            f"{who}: pretrained=True needs pretrained_fnames=(weights file,) (an encoder saved with "
            f"learn.save_encoder, or with a JSON vocab file beside it); plies downloads no pretrained "
            f"text model"
        )
    return None


def language_model_learner(
    dls: Any,
    arch: Any,
    config: dict[str, Any] | None = None,
    drop_mult: float = 1.0,
    backwards: bool = False,
    pretrained: bool = False,
    pretrained_fnames: Any = None,
    **kwargs: Any,
) -> LMLearner:
    """An `LMLearner` with a language model of `arch` (e.g. `AWD_LSTM`) for the vocabulary of `dls`.

    Without `pretrained_fnames` the model starts from scratch with the architecture's scratch config
    (`config` overrides it); with them it loads those encoder weights (vocabulary mapped) and is frozen
    but its embeddings and decoder. Dropouts are scaled by `drop_mult`. Keywords go to `LMLearner`
    (`metrics`, `lr`...); the loss is `CrossEntropyLossFlat`. `backwards` is the data's business
    (`TextDataLoaders(..., backwards=True)`): accepted for fastai's signature.
    """
    fnames = _check_pretrained(pretrained, pretrained_fnames, "language_model_learner")
    vocab = _text_vocab(dls, "language_model_learner")
    meta = arch_meta(arch, "language_model_learner")
    cfg = _config(arch, config, fnames is not None, "lm", fnames[0] if fnames else None)
    model = get_language_model(arch, len(vocab), config=cfg, drop_mult=drop_mult)
    kwargs.setdefault("loss_func", CrossEntropyLossFlat())
    kwargs.setdefault("splitter", meta["split_lm"])
    learn = LMLearner(dls, model, **kwargs)
    if fnames is not None:
        learn.load_pretrained(*fnames)
        learn.freeze()
    return learn


def text_classifier_learner(
    dls: Any,
    arch: Any,
    seq_len: int = 72,
    config: dict[str, Any] | None = None,
    backwards: bool = False,
    pretrained: bool = False,
    drop_mult: float = 0.5,
    n_out: int | None = None,
    lin_ftrs: Sequence[int] | None = None,
    ps: Sequence[float] | None = None,
    max_len: int | None = 72 * 20,
    y_range: Sequence[float] | None = None,
    pretrained_fnames: Any = None,
    **kwargs: Any,
) -> TextLearner:
    """A `TextLearner` with a classifier of `arch` (e.g. `AWD_LSTM`) for `dls` (`n_out`: `dls.c` by default).

    The encoder reads texts in chunks of `seq_len` tokens and keeps the last `max_len`; the head has
    `lin_ftrs` hidden sizes with dropouts `ps`. Without pretrained weights it uses the scratch config
    (the one a scratch language model's `save_encoder` file fits: `learn.load_encoder(name)`); with
    `pretrained_fnames` it loads them and is frozen but its head. Keywords go to `TextLearner`.
    """
    fnames = _check_pretrained(pretrained, pretrained_fnames, "text_classifier_learner")
    vocab = _text_vocab(dls, "text_classifier_learner")
    meta = arch_meta(arch, "text_classifier_learner")
    if n_out is None:
        n_out = dls.c
    cfg = _config(arch, config, fnames is not None, "clas", fnames[0] if fnames else None)
    model = get_text_classifier(
        arch,
        len(vocab),
        n_out,
        seq_len=seq_len,
        config=cfg,
        drop_mult=drop_mult,
        lin_ftrs=lin_ftrs,
        ps=ps,
        max_len=max_len,
        y_range=y_range,
    )
    kwargs.setdefault("splitter", meta["split_clas"])
    learn = TextLearner(dls, model, **kwargs)
    if fnames is not None:
        learn.load_pretrained(*fnames)
        learn.freeze()
    return learn
