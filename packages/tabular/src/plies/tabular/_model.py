"""`TabularModel`: an embedding per categorical column, BatchNorm on the continuous ones, LinBnDrop layers.

Embedding sizes follow fastai's rule (`emb_sz_rule`: min(600, round(1.6 * n^0.56))). The class
is registered with typecore's `register_builder`, so an exported model is rebuilt from its
constructor arguments (plain data) without pickle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from plies.layers import Embedding, LinBnDrop, SigmoidRange
from plies.typecore import register_builder
from torch import nn

__all__ = ["emb_sz_rule", "get_emb_sz", "TabularModel", "tabular_config"]


def emb_sz_rule(n_cat: int) -> int:
    """fastai's rule of thumb for the embedding size of a column with `n_cat` categories."""
    return min(600, round(1.6 * n_cat**0.56))


def get_emb_sz(to: Any, sz_dict: Mapping[str, int] | None = None) -> list[tuple[int, int]]:
    """`(n_categories, size)` for each categorical column of `to` (a TabularPandas or its DataLoaders);
    `sz_dict` overrides the size of named columns."""
    sz_dict = dict(sz_dict or {})
    classes = to.classes
    unknown = set(sz_dict) - set(to.cat_names)
    if unknown:
        raise KeyError(f"get_emb_sz: sz_dict names {sorted(unknown)}, not categorical columns {to.cat_names}")
    missing = [n for n in to.cat_names if n not in classes]
    if missing:
        raise ValueError(
            f"get_emb_sz: categorical column(s) {missing} have no vocab: add Categorify to the procs"
        )
    return [(len(classes[n]), sz_dict.get(n, emb_sz_rule(len(classes[n])))) for n in to.cat_names]


@register_builder
class TabularModel(nn.Module):
    """Embeddings of the categorical codes and BatchNorm'd continuous values, concatenated, then
    `LinBnDrop` layers of sizes `layers` (dropout `ps`, `act_cls` between them) to `out_sz` outputs,
    squashed into `y_range` by a scaled sigmoid when given."""

    def __init__(
        self,
        emb_szs: Sequence[Sequence[int]],
        n_cont: int,
        out_sz: int,
        layers: Sequence[int],
        ps: float | Sequence[float] | None = None,
        embed_p: float = 0.0,
        y_range: Sequence[float] | None = None,
        use_bn: bool = True,
        bn_final: bool = False,
        bn_cont: bool = True,
        act_cls: Any = None,
        lin_first: bool = True,
    ) -> None:
        super().__init__()
        layers = list(layers)
        if ps is None:
            ps = [0.0] * len(layers)
        elif isinstance(ps, (int, float)):
            ps = [float(ps)] * len(layers)
        if len(ps) != len(layers):
            raise ValueError(f"TabularModel: ps has {len(ps)} values for {len(layers)} layers")
        self.embeds = nn.ModuleList([Embedding(ni, nf) for ni, nf in emb_szs])
        self.emb_drop = nn.Dropout(embed_p)
        self.bn_cont = nn.BatchNorm1d(n_cont) if bn_cont and n_cont else None
        self.n_emb = sum(int(nf) for _, nf in emb_szs)
        self.n_cont = n_cont
        sizes = [self.n_emb + n_cont, *layers, out_sz]
        acts = [_activation(act_cls) for _ in range(len(sizes) - 2)] + [None]
        blocks: list[nn.Module] = [
            LinBnDrop(
                sizes[i],
                sizes[i + 1],
                bn=use_bn and (i != len(acts) - 1 or bn_final),
                p=p,
                act=a,
                lin_first=lin_first,
            )
            for i, (p, a) in enumerate(zip([*ps, 0.0], acts, strict=True))
        ]
        if y_range is not None:
            blocks.append(SigmoidRange(*y_range))
        self.layers = nn.Sequential(*blocks)

    def forward(self, x_cat: torch.Tensor, x_cont: torch.Tensor | None = None) -> torch.Tensor:
        parts = []
        if self.n_emb:
            parts.append(self.emb_drop(torch.cat([e(x_cat[:, i]) for i, e in enumerate(self.embeds)], 1)))
        if self.n_cont:
            if x_cont is None:
                raise TypeError(
                    f"TabularModel: built for {self.n_cont} continuous inputs, called without x_cont"
                )
            parts.append(self.bn_cont(x_cont) if self.bn_cont is not None else x_cont)
        return self.layers(parts[0] if len(parts) == 1 else torch.cat(parts, 1))


def _activation(act_cls: Any) -> nn.Module:
    """The activation after a hidden layer: ReLU by default; a module class is instantiated, a module
    instance is used as it is (shared by the layers, as fastai: activations hold no state)."""
    if act_cls is None:
        return nn.ReLU(inplace=True)
    if isinstance(act_cls, type) and issubclass(act_cls, nn.Module):
        return act_cls()
    if isinstance(act_cls, nn.Module):
        return act_cls
    raise TypeError(f"TabularModel: act_cls must be an nn.Module class or instance, found {act_cls!r}")


def tabular_config(
    ps: float | Sequence[float] | None = None,
    embed_p: float = 0.0,
    y_range: Sequence[float] | None = None,
    use_bn: bool = True,
    bn_final: bool = False,
    bn_cont: bool = True,
    act_cls: Any = None,
    lin_first: bool = True,
) -> dict[str, Any]:
    """The keyword arguments of `TabularModel` beyond its sizes, as a dict for `tabular_learner(config=...)`;
    only those given differ from the defaults (so the dict stays plain data for export)."""
    given = dict(
        ps=ps, embed_p=embed_p, y_range=y_range, use_bn=use_bn, bn_final=bn_final, bn_cont=bn_cont,
        act_cls=act_cls, lin_first=lin_first,
    )  # fmt: skip
    defaults = dict(embed_p=0.0, use_bn=True, bn_final=False, bn_cont=True, lin_first=True)
    return {k: v for k, v in given.items() if v is not None and defaults.get(k, object()) != v}
