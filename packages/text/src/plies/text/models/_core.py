"""The pieces around a text encoder: language-model decoder, classifier head, and the model builders.

A language model is `SequentialRNN(encoder, LinearDecoder)` (the decoder tied to the embedding);
a classifier is `SequentialRNN(SentenceEncoder(encoder), PoolingLinearClassifier)`: the encoder
reads a long document in chunks of `bptt` tokens, and the head pools the outputs (the last
token's, the maximum and the mean) into a few linear layers. `get_language_model` and
`get_text_classifier` build them from an architecture and a config, through registered
builders, so an exported model is rebuilt from plain data.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from plies.layers import LinBnDrop, Module, SigmoidRange
from plies.typecore import register_builder
from torch import Tensor, nn

from ._awdlstm import AWD_LSTM, RNNDropout, awd_lstm_clas_split, awd_lstm_lm_split

__all__ = [
    "LinearDecoder",
    "SequentialRNN",
    "SentenceEncoder",
    "masked_concat_pool",
    "PoolingLinearClassifier",
    "get_language_model",
    "get_text_classifier",
    "awd_lstm_lm_config",
    "awd_lstm_clas_config",
    "awd_lstm_scratch_lm_config",
    "awd_lstm_scratch_clas_config",
    "text_arch_meta",
]


class LinearDecoder(Module):
    """The language-model head: `RNNDropout(output_p)` then a linear layer to the `n_out` tokens,
    its weight tied to `tie_encoder`'s (an embedding) when given."""

    initrange = 0.1

    def __init__(
        self,
        n_out: int,
        n_hid: int,
        output_p: float = 0.1,
        tie_encoder: nn.Module | None = None,
        bias: bool = True,
    ) -> None:
        self.decoder = nn.Linear(n_hid, n_out, bias=bias)
        with torch.no_grad():
            self.decoder.weight.uniform_(-self.initrange, self.initrange)
            if bias:
                self.decoder.bias.zero_()
        self.output_dp = RNNDropout(output_p)
        if tie_encoder is not None:
            self.decoder.weight = tie_encoder.weight

    def forward(self, inp: Tensor) -> Tensor:
        return self.decoder(self.output_dp(inp))


class SequentialRNN(nn.Sequential):
    """An `nn.Sequential` whose `reset()` resets every child that has one (the hidden states)."""

    def reset(self) -> None:
        """Reset the children's states."""
        for c in self.children():
            reset = getattr(c, "reset", None)
            if callable(reset):
                reset()


class SentenceEncoder(Module):
    """Run `module` (a stateful encoder) over a batch of long texts in chunks of `bptt` tokens.

    Texts are padded at the end with `pad_idx` (what `Pad_Input` does). Each chunk is run on the
    texts not finished yet, carrying the hidden state; the outputs of the last `max_len` tokens of
    each text are kept (earlier chunks run without gradients where no text needs them). Returns
    `(outputs, mask)`: outputs (bs, longest, n_hid), mask true where there is no kept token.
    """

    def __init__(self, bptt: int, module: nn.Module, pad_idx: int = 1, max_len: int | None = None) -> None:
        self.bptt, self.module, self.pad_idx, self.max_len = bptt, module, pad_idx, max_len

    def forward(self, inp: Tensor) -> tuple[Tensor, Tensor]:
        bs = inp.size(0)
        lengths = (inp != self.pad_idx).sum(1)
        order = lengths.argsort(descending=True, stable=True)
        x, lens = inp[order], lengths[order].tolist()
        longest = max(lens[0] if lens else 0, 1)
        self.module.reset()
        outs = []
        for i in range(0, longest, self.bptt):
            n_active = sum(1 for n in lens if n > i)
            if n_active == 0:
                break
            chunk = x[:n_active, i : min(i + self.bptt, longest)]
            needed = self.max_len is None or i + self.bptt > lens[n_active - 1] - self.max_len
            with torch.set_grad_enabled(torch.is_grad_enabled() and needed):
                o = self.module(chunk)
            if n_active < bs:
                o = torch.cat([o, o.new_zeros(bs - n_active, *o.shape[1:])])
            outs.append(o)
        out = torch.cat(outs, dim=1)
        pos = torch.arange(out.size(1), device=inp.device)[None]
        lens_t = torch.tensor(lens, device=inp.device)[:, None]
        mask = pos >= lens_t
        if self.max_len is not None:
            mask = mask | (pos < lens_t - self.max_len)
        unsort = order.argsort()
        return out[unsort], mask[unsort]


def masked_concat_pool(output: Tensor, mask: Tensor) -> Tensor:
    """Concatenate, for each text, the output at its last kept token, the max and the mean over its kept
    tokens (`mask` true where a token is not kept): (bs, seq, n) -> (bs, 3n)."""
    keep = (~mask).unsqueeze(-1)
    n_kept = keep.sum(1).clamp(min=1)
    avg_pool = output.masked_fill(~keep, 0).sum(1) / n_kept
    max_pool = output.masked_fill(~keep, float("-inf")).max(1).values
    max_pool = torch.where(
        torch.isinf(max_pool), torch.zeros_like(max_pool), max_pool
    )  # a text with no token
    last = (~mask).long().cumsum(1).argmax(1)  # the last kept position
    last_out = output[torch.arange(output.size(0), device=output.device), last]
    return torch.cat([last_out, max_pool, avg_pool], 1)


class PoolingLinearClassifier(Module):
    """The classifier head: `masked_concat_pool` of the encoder's outputs, then `LinBnDrop` layers of
    sizes `dims` with dropouts `ps` (ReLU between them), and `SigmoidRange(*y_range)` when given."""

    def __init__(
        self, dims: Sequence[int], ps: Sequence[float], bptt: int, y_range: Sequence[float] | None = None
    ):
        if len(ps) != len(dims) - 1:
            raise ValueError(
                f"PoolingLinearClassifier: {len(dims)} sizes make {len(dims) - 1} layers, but {len(ps)} "
                f"dropouts "
                f"(ps) were given"
            )
        self.dims, self.ps, self.bptt, self.y_range = list(dims), list(ps), bptt, y_range
        acts: list[nn.Module | None] = [nn.ReLU(inplace=True) for _ in range(len(dims) - 2)] + [None]
        layers: list[nn.Module] = [
            LinBnDrop(i, o, p=p, act=a) for i, o, p, a in zip(dims[:-1], dims[1:], ps, acts, strict=True)
        ]
        if y_range is not None:
            layers.append(SigmoidRange(*y_range))
        self.layers = nn.Sequential(*layers)

    def forward(self, inp: tuple[Tensor, Tensor]) -> Tensor:
        out, mask = inp
        return self.layers(masked_concat_pool(out, mask))


# ---------------------------------------------------------------- configs and builders
awd_lstm_lm_config: dict[str, Any] = dict(
    emb_sz=400,
    n_hid=1152,
    n_layers=3,
    pad_token=1,
    bidir=False,
    output_p=0.1,
    hidden_p=0.15,
    input_p=0.25,
    embed_p=0.02,
    weight_p=0.2,
    tie_weights=True,
    out_bias=True,
)
"""fastai's AWD-LSTM language model config (the size of the WikiText-103 pretrained weights)."""

awd_lstm_clas_config: dict[str, Any] = dict(
    emb_sz=400,
    n_hid=1152,
    n_layers=3,
    pad_token=1,
    bidir=False,
    output_p=0.4,
    hidden_p=0.3,
    input_p=0.4,
    embed_p=0.05,
    weight_p=0.5,
)
"""fastai's AWD-LSTM classifier config (to load an encoder of `awd_lstm_lm_config`'s size)."""

awd_lstm_scratch_lm_config: dict[str, Any] = dict(
    emb_sz=256,
    n_hid=512,
    n_layers=2,
    pad_token=1,
    bidir=False,
    output_p=0.1,
    hidden_p=0.15,
    input_p=0.25,
    embed_p=0.02,
    weight_p=0.2,
    tie_weights=True,
    out_bias=True,
)
"""The AWD-LSTM language model config used without pretrained weights: small enough to learn from a few
thousand texts on a CPU (the recipe and the figures are in docs/text.md)."""

awd_lstm_scratch_clas_config: dict[str, Any] = dict(
    emb_sz=256,
    n_hid=512,
    n_layers=2,
    pad_token=1,
    bidir=False,
    output_p=0.4,
    hidden_p=0.3,
    input_p=0.4,
    embed_p=0.05,
    weight_p=0.5,
)
"""The AWD-LSTM classifier config used without pretrained weights (same sizes as the scratch LM's encoder)."""

text_arch_meta: dict[type, dict[str, Any]] = {
    AWD_LSTM: {
        "name": "AWD_LSTM",
        "hid_name": "emb_sz",
        "config_lm": awd_lstm_lm_config,
        "config_clas": awd_lstm_clas_config,
        "scratch_config_lm": awd_lstm_scratch_lm_config,
        "scratch_config_clas": awd_lstm_scratch_clas_config,
        "split_lm": awd_lstm_lm_split,
        "split_clas": awd_lstm_clas_split,
    }
}
"""What the learners know of each text architecture: configs (pretrained size, scratch), splitters."""


def _arch_by_name(name: str) -> type:
    for arch, meta in text_arch_meta.items():
        if meta["name"] == name:
            return arch
    raise KeyError(
        f"no text architecture named {name!r}; known: {[m['name'] for m in text_arch_meta.values()]}"
    )


def arch_meta(arch: Any, who: str) -> dict[str, Any]:
    """The meta of `arch` (a class of `text_arch_meta`, or its name); KeyError naming the known ones."""
    if isinstance(arch, str):
        arch = _arch_by_name(arch)
    meta = text_arch_meta.get(arch)
    if meta is None:
        known = ", ".join(m["name"] for m in text_arch_meta.values())
        raise KeyError(
            f"{who}: {getattr(arch, '__name__', arch)!r} is not a known text architecture ({known}); "
            f"add it to "
            f"plies.text.text_arch_meta with its configs and splitters"
        )
    return meta


def _scaled(config: dict[str, Any], drop_mult: float) -> dict[str, Any]:
    return {k: v * drop_mult if k.endswith("_p") else v for k, v in config.items()}


@register_builder(name="plies.text.language_model")
def _language_model(arch: str, vocab_sz: int, config: dict[str, Any]) -> SequentialRNN:
    """The language model of architecture `arch` (a name in `text_arch_meta`) with the final `config`."""
    meta = arch_meta(arch, "get_language_model")
    config = dict(config)
    tie_weights, output_p, out_bias = (config.pop(k) for k in ("tie_weights", "output_p", "out_bias"))
    encoder = _arch_by_name(meta["name"])(vocab_sz, **config)
    tie = encoder.encoder if tie_weights else None
    decoder = LinearDecoder(vocab_sz, config[meta["hid_name"]], output_p, tie_encoder=tie, bias=out_bias)
    return SequentialRNN(encoder, decoder)


def get_language_model(
    arch: Any, vocab_sz: int, config: dict[str, Any] | None = None, drop_mult: float = 1.0
) -> SequentialRNN:
    """A language model `SequentialRNN(arch encoder, LinearDecoder)` for `vocab_sz` tokens.

    `config` defaults to the architecture's language-model config (`awd_lstm_lm_config`); every
    dropout (`*_p`) is multiplied by `drop_mult`.
    """
    meta = arch_meta(arch, "get_language_model")
    full = {**meta["config_lm"], **(config or {})} if config is not None else dict(meta["config_lm"])
    return _language_model(meta["name"], vocab_sz, _scaled(copy.deepcopy(full), drop_mult))


@register_builder(name="plies.text.text_classifier")
def _text_classifier(
    arch: str,
    vocab_sz: int,
    n_class: int,
    config: dict[str, Any],
    seq_len: int = 72,
    lin_ftrs: list[int] | None = None,
    ps: list[float] | None = None,
    pad_idx: int = 1,
    max_len: int | None = 72 * 20,
    y_range: list[float] | None = None,
) -> SequentialRNN:
    """The classifier of architecture `arch` (a name in `text_arch_meta`) with the final `config`."""
    meta = arch_meta(arch, "get_text_classifier")
    config = dict(config)
    lin_ftrs = [50] if lin_ftrs is None else list(lin_ftrs)
    ps = [0.1] * len(lin_ftrs) if ps is None else list(ps)
    dims = [config[meta["hid_name"]] * 3, *lin_ftrs, n_class]
    ps = [config.pop("output_p"), *ps]
    encoder = SentenceEncoder(
        seq_len, _arch_by_name(meta["name"])(vocab_sz, **config), pad_idx=pad_idx, max_len=max_len
    )
    return SequentialRNN(encoder, PoolingLinearClassifier(dims, ps, bptt=seq_len, y_range=y_range))


def get_text_classifier(
    arch: Any,
    vocab_sz: int,
    n_class: int,
    seq_len: int = 72,
    config: dict[str, Any] | None = None,
    drop_mult: float = 1.0,
    lin_ftrs: Sequence[int] | None = None,
    ps: Sequence[float] | None = None,
    pad_idx: int = 1,
    max_len: int | None = 72 * 20,
    y_range: Sequence[float] | None = None,
) -> SequentialRNN:
    """A classifier `SequentialRNN(SentenceEncoder(encoder), PoolingLinearClassifier)` of `n_class` outputs.

    `config` defaults to the architecture's classifier config (`awd_lstm_clas_config`), dropouts
    times `drop_mult`; `lin_ftrs` (default [50]) and `ps` (default 0.1 each) size the head's hidden
    layers; the encoder keeps the outputs of the last `max_len` tokens of each text.
    """
    meta = arch_meta(arch, "get_text_classifier")
    full = {**meta["config_clas"], **config} if config is not None else dict(meta["config_clas"])
    if len(list(ps or [])) not in (0, len(list(lin_ftrs or [50]))) and ps is not None:
        raise ValueError(
            f"get_text_classifier: {len(list(ps))} dropouts (ps) for {len(list(lin_ftrs or [50]))} layers"
        )
    return _text_classifier(
        meta["name"],
        vocab_sz,
        n_class,
        _scaled(copy.deepcopy(full), drop_mult),
        seq_len=seq_len,
        lin_ftrs=None if lin_ftrs is None else list(lin_ftrs),
        ps=None if ps is None else list(ps),
        pad_idx=pad_idx,
        max_len=max_len,
        y_range=None if y_range is None else list(y_range),
    )
