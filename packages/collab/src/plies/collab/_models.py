"""Collaborative-filtering models: a biased dot product of embeddings, or a small network on them.

Both take a batch of `(user code, item code)` pairs (`x[:, 0]`, `x[:, 1]`). Code 0 is `#na#`: a
user or item not seen in training gets that row's (untrained, near-zero) embedding and bias, so
its prediction rests on the other side's bias. `bias` / `weight` look items or users up by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from plies.layers import Embedding, sigmoid_range
from plies.tabular import TabularModel
from plies.typecore import register_builder
from torch import nn

__all__ = ["EmbeddingDotBias", "EmbeddingNN"]


@register_builder
class EmbeddingDotBias(nn.Module):
    """`dot(user factors, item factors) + user bias + item bias`, squashed into `y_range` when given.

    `classes` ({user column: vocab, item column: vocab}, as `from_classes` records it) lets `bias`
    and `weight` take names rather than codes.
    """

    def __init__(
        self,
        n_factors: int,
        n_users: int,
        n_items: int,
        y_range: Sequence[float] | None = None,
        classes: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        super().__init__()
        self.y_range = None if y_range is None else tuple(y_range)
        self.classes = None if classes is None else {k: list(v) for k, v in classes.items()}
        self.u_weight, self.i_weight = Embedding(n_users, n_factors), Embedding(n_items, n_factors)
        self.u_bias, self.i_bias = Embedding(n_users, 1), Embedding(n_items, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        users, items = x[:, 0], x[:, 1]
        dot = (self.u_weight(users) * self.i_weight(items)).sum(1)
        res = dot + self.u_bias(users).squeeze(1) + self.i_bias(items).squeeze(1)
        return res if self.y_range is None else sigmoid_range(res, *self.y_range)

    @classmethod
    def from_classes(
        cls,
        n_factors: int,
        classes: Mapping[str, Sequence[Any]],
        user: str | None = None,
        item: str | None = None,
        y_range: Sequence[float] | None = None,
    ) -> EmbeddingDotBias:
        """Sized from `classes` (`dls.classes`): the first key is the user column, the second the item
        one unless `user`/`item` name them."""
        names = list(classes)
        user = names[0] if user is None else user
        item = names[1] if item is None else item
        kept = {user: list(classes[user]), item: list(classes[item])}
        kwargs: dict[str, Any] = {"classes": kept}
        if y_range is not None:
            kwargs["y_range"] = tuple(float(v) for v in y_range)
        return cls(n_factors, len(kept[user]), len(kept[item]), **kwargs)

    def _get_idx(self, names: Sequence[Any], is_item: bool) -> torch.Tensor:
        if self.classes is None:
            raise ValueError(
                "EmbeddingDotBias: no classes recorded (built without from_classes); look codes up in "
                "dls.classes and index the embeddings directly"
            )
        column = list(self.classes)[1 if is_item else 0]
        index = {v: i for i, v in enumerate(self.classes[column])}
        unknown = [n for n in names if n not in index or n == "#na#"]
        if unknown:
            raise KeyError(
                f"EmbeddingDotBias: {len(unknown)} {column} value(s) not seen in training: {unknown[:5]!r}"
            )
        return torch.tensor([index[n] for n in names], device=self.u_bias.weight.device)

    def bias(self, names: Sequence[Any], is_item: bool = True) -> torch.Tensor:
        """The learned biases of these items (users with `is_item=False`), looked up by name."""
        layer = self.i_bias if is_item else self.u_bias
        with torch.no_grad():
            return layer(self._get_idx(names, is_item)).squeeze(1).cpu()

    def weight(self, names: Sequence[Any], is_item: bool = True) -> torch.Tensor:
        """The learned factors of these items (users with `is_item=False`), one row per name."""
        layer = self.i_weight if is_item else self.u_weight
        with torch.no_grad():
            return layer(self._get_idx(names, is_item)).cpu()


@register_builder
class EmbeddingNN(TabularModel):
    """A TabularModel on the user and item embeddings only (no continuous inputs), one output."""

    def __init__(self, emb_szs: Sequence[Sequence[int]], layers: Sequence[int], **kwargs: Any) -> None:
        super().__init__(emb_szs, n_cont=0, out_sz=1, layers=layers, **kwargs)
