"""`collab_learner`: a TabularLearner with an EmbeddingDotBias (or EmbeddingNN with `use_nn`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plies.layers import MSELossFlat
from plies.learner import Learner
from plies.tabular import TabularLearner, get_emb_sz, tabular_adam, tabular_config
from plies.typecore import delegates

from ._models import EmbeddingDotBias, EmbeddingNN

__all__ = ["collab_learner"]


@delegates(Learner.__init__, but="dls,model,loss_func")
def collab_learner(
    dls: Any,
    n_factors: int = 50,
    use_nn: bool = False,
    emb_szs: Any = None,
    layers: Sequence[int] | None = None,
    config: dict[str, Any] | None = None,
    y_range: Sequence[float] | None = None,
    loss_func: Any = None,
    **kwargs: Any,
) -> TabularLearner:
    """A learner for ratings: EmbeddingDotBias with `n_factors`, or with `use_nn` an EmbeddingNN
    (`emb_szs` overriding sizes by column, `layers`, `config` from `tabular_config`); predictions
    stay inside `y_range`. The loss is MSE; other keywords go to the learner (`opt_func` defaults to
    `tabular_adam`, the vectorised Adam)."""
    if use_nn:
        config = dict(config or tabular_config())
        if y_range is not None:
            config["y_range"] = tuple(float(v) for v in y_range)
        model: Any = EmbeddingNN(get_emb_sz(dls.train_ds, emb_szs), list(layers or [50]), **config)
    else:
        model = EmbeddingDotBias.from_classes(n_factors, dls.classes, y_range=y_range)
    kwargs.setdefault("opt_func", tabular_adam)
    return TabularLearner(
        dls, model, loss_func=loss_func if loss_func is not None else MSELossFlat(), **kwargs
    )
