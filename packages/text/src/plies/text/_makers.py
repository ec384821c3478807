"""`language_model_learner` and `text_classifier_learner`: a model for the data's vocabulary, its learner.

They use the architecture's splitter (gradual unfreezing, discriminative learning rates). Without
pretrained weights they use the architecture's from-scratch config (smaller, see
`awd_lstm_scratch_lm_config`), the same sizes for both, so that `save_encoder` on the language
model and `load_encoder` on the classifier fit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plies.layers import CrossEntropyLossFlat
from plies.typecore import check_kwargs, delegates

from ._lm_learner import LMLearner
from ._text_learner import TextLearner, _read_encoder_file, _text_vocab
from .models._core import arch_meta, get_language_model, get_text_classifier

__all__ = ["language_model_learner", "text_classifier_learner"]


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


@check_kwargs
@delegates(TextLearner.__init__, but=["dls", "model"])
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


@check_kwargs
@delegates(TextLearner.__init__, but=["dls", "model"])
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
