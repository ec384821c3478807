"""AWD-LSTM (Merity et al. 2017): an LSTM language model regularised by dropouts of every kind.

The dropouts: `EmbeddingDropout` drops whole words of the embedding matrix, `RNNDropout` drops
the same units at every time step (on the embeddings and between layers), `WeightDropout`
drops weights of the hidden-to-hidden matrices (DropConnect) once per forward pass. The last
layer has `emb_sz` units so that a language model can tie its decoder to the embedding.

The model is stateful, as a language model trained on a stream needs: the hidden state of the
last batch (detached) starts the next one; `reset()` clears it (the `ModelResetter` callback
does it at the start of training and validation).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from plies.layers import Module
from torch import Tensor, nn

__all__ = [
    "dropout_mask",
    "RNNDropout",
    "WeightDropout",
    "EmbeddingDropout",
    "AWD_LSTM",
    "awd_lstm_lm_split",
    "awd_lstm_clas_split",
]


def dropout_mask(x: Tensor, sz: Sequence[int], p: float) -> Tensor:
    """A dropout mask of size `sz` like `x`: zeros with probability `p`, the rest `1/(1-p)`."""
    return x.new_empty(*sz).bernoulli_(1 - p).div_(1 - p)


class RNNDropout(Module):
    """Dropout with one mask for every time step of a sequence: input (bs, seq_len, n), mask (bs, 1, n)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        return x * dropout_mask(x.data, (x.size(0), 1, *x.shape[2:]), self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class WeightDropout(Module):
    """Drop weights `layer_names` of `module` (an RNN) with probability `weight_p` at each forward pass.

    The raw weights are parameters of this module (`<name>_raw`); the module gets a dropped copy
    before each call (the raw ones in evaluation mode).
    """

    def __init__(
        self, module: nn.Module, weight_p: float, layer_names: str | Sequence[str] = "weight_hh_l0"
    ) -> None:
        self.module, self.weight_p = module, weight_p
        self.layer_names = [layer_names] if isinstance(layer_names, str) else list(layer_names)
        for name in self.layer_names:
            w = getattr(module, name)
            delattr(module, name)  # the module's own parameter goes; a plain tensor takes its place
            self.register_parameter(f"{name}_raw", nn.Parameter(w.data))
        self._release_weights()

    def _set_weights(self) -> None:
        for name in self.layer_names:
            raw = getattr(self, f"{name}_raw")
            # a view, not the Parameter itself (which the module would register as its own parameter)
            w = (
                F.dropout(raw, p=self.weight_p, training=True)
                if self.training and self.weight_p
                else raw.view_as(raw)
            )
            setattr(self.module, name, w)

    def _release_weights(self) -> None:
        # detached raw weights between calls: the module holds no graph, and copy.deepcopy works
        for name in self.layer_names:
            setattr(self.module, name, getattr(self, f"{name}_raw").detach())

    def forward(self, *args: Any) -> Any:
        self._set_weights()
        try:
            with warnings.catch_warnings():
                # on a GPU, cuDNN notes that the dropped weights are not one contiguous block: expected
                warnings.filterwarnings(
                    "ignore", message="RNN module weights are not part of single contiguous"
                )
                return self.module(*args)
        finally:
            self._release_weights()

    def reset(self) -> None:
        """Put the raw weights back in the module (and reset it when it can)."""
        self._release_weights()
        if hasattr(self.module, "reset"):
            self.module.reset()


class EmbeddingDropout(Module):
    """Drop whole rows (words) of the embedding `emb` with probability `embed_p`, the rest scaled up."""

    def __init__(self, emb: nn.Embedding, embed_p: float) -> None:
        self.emb, self.embed_p = emb, embed_p

    def forward(self, words: Tensor, scale: float | None = None) -> Tensor:
        weight = self.emb.weight
        if self.training and self.embed_p != 0:
            weight = weight * dropout_mask(weight.data, (weight.size(0), 1), self.embed_p)
        if scale is not None:
            weight = weight * scale
        pad = self.emb.padding_idx if self.emb.padding_idx is not None else -1
        return F.embedding(
            words,
            weight,
            pad,
            self.emb.max_norm,
            self.emb.norm_type,
            self.emb.scale_grad_by_freq,
            self.emb.sparse,
        )


class AWD_LSTM(Module):  # noqa: N801  (the paper's and fastai's name)
    """The AWD-LSTM encoder: embedding (`emb_sz`), `n_layers` LSTMs of `n_hid` units (the last of
    `emb_sz`), dropouts `embed_p` (words), `input_p` (embeddings), `weight_p` (hidden weights),
    `hidden_p` (between layers). `forward(tokens)` returns the last layer's output (bs, seq_len, emb_sz).
    """

    initrange = 0.1

    def __init__(
        self,
        vocab_sz: int,
        emb_sz: int,
        n_hid: int,
        n_layers: int,
        pad_token: int = 1,
        hidden_p: float = 0.2,
        input_p: float = 0.6,
        embed_p: float = 0.1,
        weight_p: float = 0.5,
        bidir: bool = False,
    ) -> None:
        self.vocab_sz, self.emb_sz, self.n_hid, self.n_layers, self.pad_token = (
            vocab_sz,
            emb_sz,
            n_hid,
            n_layers,
            pad_token,
        )
        self.hidden_p, self.input_p, self.embed_p, self.weight_p, self.bidir = (
            hidden_p,
            input_p,
            embed_p,
            weight_p,
            bidir,
        )
        self.n_dir = 2 if bidir else 1
        self.encoder = nn.Embedding(vocab_sz, emb_sz, padding_idx=pad_token)
        self.encoder_dp = EmbeddingDropout(self.encoder, embed_p)
        sizes = [emb_sz] + [n_hid] * (n_layers - 1) + [emb_sz]
        self.rnns = nn.ModuleList(
            [
                WeightDropout(
                    nn.LSTM(sizes[i], sizes[i + 1] // self.n_dir, batch_first=True, bidirectional=bidir),
                    weight_p,
                    _hh_names(bidir),
                )
                for i in range(n_layers)
            ]
        )
        with torch.no_grad():
            self.encoder.weight.uniform_(-self.initrange, self.initrange)
        self.input_dp = RNNDropout(input_p)
        self.hidden_dps = nn.ModuleList([RNNDropout(hidden_p) for _ in range(n_layers)])
        self.hidden: list[tuple[Tensor, Tensor]] | None = None

    def _zeros(self, bs: int) -> list[tuple[Tensor, Tensor]]:
        w = self.encoder.weight
        sizes = [self.n_hid] * (self.n_layers - 1) + [self.emb_sz]
        return [
            (w.new_zeros(self.n_dir, bs, n // self.n_dir), w.new_zeros(self.n_dir, bs, n // self.n_dir))
            for n in sizes
        ]

    def _hidden_for(self, bs: int) -> list[tuple[Tensor, Tensor]]:
        """The state to start from: zeros after a reset; rows cut (or zeros added) when `bs` changes."""
        w = self.encoder.weight
        if self.hidden is None or self.hidden[0][0].device != w.device or self.hidden[0][0].dtype != w.dtype:
            return self._zeros(bs)
        have = self.hidden[0][0].size(1)
        if have == bs:
            return self.hidden
        if bs < have:
            return [(h[:, :bs], c[:, :bs]) for h, c in self.hidden]
        extra = self._zeros(bs - have)
        return [
            (torch.cat([h, eh], 1), torch.cat([c, ec], 1))
            for (h, c), (eh, ec) in zip(self.hidden, extra, strict=True)
        ]

    def forward(self, inp: Tensor, from_embeds: bool = False) -> Tensor:
        """The last layer's output for the tokens `inp` (bs, seq_len), or embeddings when `from_embeds`."""
        bs = inp.size(0)
        hidden = self._hidden_for(bs)
        output = self.input_dp(inp if from_embeds else self.encoder_dp(inp))
        new_hidden = []
        for i, (rnn, hid_dp) in enumerate(zip(self.rnns, self.hidden_dps, strict=True)):
            output, (h, c) = rnn(output, hidden[i])
            new_hidden.append((h.detach(), c.detach()))
            if i != self.n_layers - 1:
                output = hid_dp(output)
        self.hidden = new_hidden
        return output

    def reset(self) -> None:
        """Forget the hidden state: the next batch starts from zeros."""
        self.hidden = None


def _hh_names(bidir: bool) -> list[str]:
    return ["weight_hh_l0", "weight_hh_l0_reverse"] if bidir else ["weight_hh_l0"]


def awd_lstm_lm_split(model: nn.Module) -> list[list[nn.Parameter]]:
    """Parameter groups of an AWD-LSTM language model for discriminative rates: each LSTM (with its
    dropout), then the embedding and the decoder (tied, so trained together)."""
    enc = model[0]
    groups = [list(rnn.parameters()) for rnn in enc.rnns]
    groups.append(list(enc.encoder.parameters()) + list(model[1].parameters()))
    return _dedup(groups)


def awd_lstm_clas_split(model: nn.Module) -> list[list[nn.Parameter]]:
    """Parameter groups of an AWD-LSTM classifier for gradual unfreezing: embedding, each LSTM, head."""
    enc = model[0].module
    groups = [list(enc.encoder.parameters())] + [list(rnn.parameters()) for rnn in enc.rnns]
    groups.append(list(model[1].parameters()))
    return _dedup(groups)


def _dedup(groups: list[list[nn.Parameter]]) -> list[list[nn.Parameter]]:
    """The groups with each parameter once (a tied weight counts in its first group)."""
    seen: set[int] = set()
    res = []
    for g in groups:
        kept = []
        for p in g:
            if id(p) not in seen:
                seen.add(id(p))
                kept.append(p)
        res.append(kept)
    return res
