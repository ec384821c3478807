"""The vocabulary (`make_vocab`) and `Numericalize`: tokens to ids and back.

A vocabulary lists the special tokens first (`xxunk` is id 0, `xxpad` id 1), then the tokens seen
at least `min_freq` times, most frequent first, at most `max_vocab` of them; its size is padded
to a multiple of 8 with `xxfake` fillers (matrix sizes that are multiples of 8 run faster on
GPUs). Tokens not in the vocabulary get the id of `xxunk`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from plies.pipes import Transform, register_transform
from plies.typecore import TensorText

from ._rules import UNK, text_spec_tok

__all__ = ["make_vocab", "Numericalize", "FAKE"]

FAKE = "xxfake"


def make_vocab(
    count: Mapping[str, int] | Iterable[str],
    min_freq: int = 3,
    max_vocab: int = 60000,
    special_toks: Sequence[str] | None = None,
) -> list[str]:
    """The vocabulary of the token counts `count`: special tokens first, then the tokens seen at least
    `min_freq` times, most frequent first (ties in first-seen order), cut at `max_vocab`, padded with
    `xxfake` to a multiple of 8."""
    if not isinstance(min_freq, int) or isinstance(min_freq, bool) or min_freq < 1:
        raise ValueError(f"make_vocab: min_freq must be an int >= 1, got {min_freq!r}")
    if not isinstance(max_vocab, int) or isinstance(max_vocab, bool) or max_vocab < 1:
        raise ValueError(f"make_vocab: max_vocab must be an int >= 1, got {max_vocab!r}")
    counts = count if isinstance(count, Mapping) else Counter(count)
    special = list(text_spec_tok if special_toks is None else special_toks)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])  # stable: ties keep their order
    vocab = special + [w for w, c in ranked if c >= min_freq and w not in special]
    vocab = vocab[:max_vocab]
    return vocab + [FAKE] * (-len(vocab) % 8)


@register_transform(name="plies.text.Numericalize")
class Numericalize(Transform):
    """Tokens to a `TensorText` of ids with `vocab` (built from the training tokens when None), and back.

    Decoding gives the tokens again, special tokens included (ids of padding included: remove them
    before, as the text loaders do).
    """

    _state_attrs = ("vocab",)

    def __init__(
        self,
        vocab: Sequence[str] | None = None,
        min_freq: int = 3,
        max_vocab: int = 60000,
        special_toks: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.min_freq, self.max_vocab, self.special_toks = min_freq, max_vocab, special_toks
        self.vocab: list[str] | None = None
        self._set_vocab(vocab)

    def _set_vocab(self, vocab: Sequence[str] | None) -> None:
        if vocab is not None:
            bad = [v for v in list(vocab)[:1000] if not isinstance(v, str)]
            if isinstance(vocab, str) or bad:
                raise TypeError(
                    f"Numericalize: vocab must be a list of token strings, found "
                    f"{type(vocab).__name__ if isinstance(vocab, str) else type(bad[0]).__name__}"
                )
            vocab = list(vocab)
        self.vocab = vocab
        self.o2i: dict[str, int] = {}
        if vocab is not None:
            self.o2i = {w: i for i, w in reversed(list(enumerate(vocab))) if w != FAKE}
            self.unk_idx = self.o2i.get(UNK, 0)

    def setups(self, dsets: Any) -> None:
        """Build the vocabulary from the tokens of `dsets` (the training items) unless one was given."""
        if dsets is None or self.vocab is not None:
            return
        counter: Counter = Counter()
        for toks in dsets:
            counter.update(toks)
        self._set_vocab(make_vocab(counter, self.min_freq, self.max_vocab, self.special_toks))

    def _check_ready(self) -> None:
        if self.vocab is None:
            raise ValueError(
                "Numericalize: no vocab yet; pass vocab= (e.g. make_vocab(counter)) or set it up on training "
                "texts (a DataBlock, Datasets or TextDataLoaders does it)"
            )

    def encodes(self, o: list) -> TensorText:
        """The ids of the tokens `o` (`xxunk`'s for the tokens out of the vocabulary)."""
        self._check_ready()
        get, unk = self.o2i.get, self.unk_idx
        return TensorText(torch.tensor([get(w, unk) for w in o], dtype=torch.long))

    def decodes(self, o: TensorText) -> list:
        """The tokens of the ids `o`."""
        self._check_ready()
        vocab = self.vocab
        assert vocab is not None
        return [vocab[i] for i in o.tolist()]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the vocabulary (the token-to-id map is rebuilt from it)."""
        super().load_state_dict(state)
        self._set_vocab(self.vocab)
