"""`LMLearner`: a `TextLearner` for language models, whose `predict` continues a text (generation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from plies.learner import register_learner
from plies.typecore import check_kwargs
from torch import Tensor

from ._rules import BOS, PAD, UNK, decode_spec_tokens
from ._text_learner import TextLearner, _text_vocab

__all__ = ["LMLearner"]


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
