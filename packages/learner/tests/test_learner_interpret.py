"""Interpretation and ClassificationInterpretation: losses by item, confusion matrix, plots (Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from plies.learner import ClassificationInterpretation, Interpretation, Learner, plot_top_losses  # noqa: E402
from plies.loaders import Categorize, DataLoader, DataLoaders, Datasets  # noqa: E402
from plies.typecore import TensorBase  # noqa: E402
from sklearn.metrics import classification_report  # noqa: E402
from torch import nn  # noqa: E402

# (predicted class, actual label, confidence): the model below predicts exactly the first with a
# confidence growing with the third, so the confusion matrix is known by hand
ROWS = [
    (0, "a", 1.0),
    (1, "a", 1.5),
    (1, "a", 2.0),
    (1, "b", 2.5),
    (2, "b", 3.0),
    (0, "c", 3.5),
    (0, "c", 4.0),
    (0, "c", 4.5),
    (2, "c", 5.0),
    (1, "b", 5.5),
]
# rows: actual a, b, c; columns: predicted a, b, c
CONFUSION = [[1, 2, 0], [0, 2, 1], [3, 0, 1]]


class TensorPoint(TensorBase):
    """An input type an application would register its own view for."""


def to_x(row) -> torch.Tensor:
    return F.one_hot(torch.tensor(row[0]), 3).float() * row[2]


def to_point(row) -> TensorPoint:
    return TensorPoint(to_x(row))


def label_of(row) -> str:
    return row[1]


def classifier(get_x=to_x) -> Learner:
    items = [list(r) for r in ROWS + ROWS]  # lists: a tuple item would be transformed element-wise
    dsets = Datasets(
        items, [[get_x], [label_of, Categorize()]], splits=[list(range(10)), list(range(10, 20))]
    )
    model = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(3))  # logits = the input: predicted class = row[0]
    return Learner(dsets.dataloaders(bs=4), model)


def hand_losses() -> torch.Tensor:
    logits = torch.stack([to_x(r) for r in ROWS])
    targets = torch.tensor(["abc".index(r[1]) for r in ROWS])
    return F.cross_entropy(logits, targets, reduction="none")


def test_top_losses_against_losses_computed_by_hand():
    interp = ClassificationInterpretation.from_learner(classifier())
    expected = hand_losses()
    assert torch.allclose(interp.losses, expected, atol=1e-6)
    order = sorted(range(10), key=lambda i: -float(expected[i]))
    values, idx = interp.top_losses(3)
    assert idx.tolist() == order[:3] and torch.allclose(values, expected[order[:3]])
    values, idx = interp.top_losses(2, largest=False)
    assert idx.tolist() == order[::-1][:2]
    assert interp.top_losses()[1].tolist() == order  # k=None: every item
    with pytest.raises(ValueError, match=r"top_losses: k must be from 0 to 10 \(items\), found 11"):
        interp.top_losses(11)
    sub = interp[[order[0], order[1]]]
    assert torch.equal(sub.losses, expected[order[:2]]) and sub.decoded.tolist() == [
        ROWS[i][0] for i in order[:2]
    ]


def test_confusion_matrix_and_most_confused_against_the_hand_counts():
    interp = ClassificationInterpretation.from_learner(classifier())
    assert interp.vocab == ["a", "b", "c"]
    cm = interp.confusion_matrix()
    assert isinstance(cm, np.ndarray) and cm.tolist() == CONFUSION
    assert interp.most_confused() == [("c", "a", 3), ("a", "b", 2), ("b", "c", 1)]
    assert interp.most_confused(min_val=2) == [("c", "a", 3), ("a", "b", 2)]


def test_classification_report_is_sklearn_with_the_class_names(capsys):
    interp = ClassificationInterpretation.from_learner(classifier())
    report = interp.print_classification_report()
    actual = ["abc".index(r[1]) for r in ROWS]
    predicted = [r[0] for r in ROWS]
    assert report == classification_report(actual, predicted, target_names=["a", "b", "c"], zero_division=0)
    assert report in capsys.readouterr().out
    line_a = next(line for line in report.splitlines() if line.strip().startswith("a "))
    assert line_a.split()[1:3] == ["0.25", "0.33"]  # class a: precision 1/4, recall 1/3


def test_plot_confusion_matrix_draws_counts_and_labels():
    interp = ClassificationInterpretation.from_learner(classifier())
    fig = interp.plot_confusion_matrix(figsize=(4, 4))
    (ax,) = fig.axes
    assert (
        ax.get_title() == "Confusion matrix"
        and ax.get_xlabel() == "Predicted"
        and ax.get_ylabel() == "Actual"
    )
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.texts] == [str(v) for row in CONFUSION for v in row]
    plt.close(fig)
    fig = interp.plot_confusion_matrix(normalize=True, title="normalized", norm_dec=2)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == [f"{v / sum(row):.2f}" for row in CONFUSION for v in row]
    assert fig.axes[0].get_title() == "normalized"
    plt.close(fig)


def test_plot_top_losses_titles_prediction_actual_loss_and_probability():
    interp = ClassificationInterpretation.from_learner(classifier())
    expected = hand_losses()
    order = sorted(range(10), key=lambda i: -float(expected[i]))[:3]
    axes = interp.plot_top_losses(3)
    assert len(axes) == 3 and len(axes[0].figure.axes) == 4  # a 2x2 grid, the last one blank
    for ax, i in zip(axes, order, strict=True):
        pred, label, conf = ROWS[i]
        prob = float(F.softmax(to_x(ROWS[i]), -1).max())
        assert ax.get_title() == f"{'abc'[pred]}/{label} / {float(expected[i]):.2f} / {prob:.2f}"
        values = [conf if j == pred else 0.0 for j in range(3)]
        assert ax.texts[0].get_text() == str(values)  # a plain tensor input is written out
    plt.close("all")
    axes = interp.plot_top_losses([1, 2], largest=False)  # ranks in the ascending order
    low = sorted(range(10), key=lambda i: float(expected[i]))
    assert [ax.get_title().split(" / ")[1] for ax in axes] == [f"{float(expected[i]):.2f}" for i in low[1:3]]
    plt.close("all")


def test_plot_top_losses_goes_through_type_dispatch():
    seen = {}

    @plot_top_losses.register
    def _(x: TensorPoint, y: object, samples, outs, raws, losses, **kwargs):
        seen.update(x_type=type(x), n=len(samples), outs=[o[0] for o in outs], losses=losses, kwargs=kwargs)
        return "point view"

    interp = ClassificationInterpretation.from_learner(classifier(get_x=to_point))
    assert interp.plot_top_losses(2, figsize=(2, 2)) == "point view"
    order = sorted(range(10), key=lambda i: -float(hand_losses()[i]))[:2]
    assert seen["x_type"] is TensorPoint and seen["n"] == 2 and seen["kwargs"] == {"figsize": (2, 2)}
    assert seen["outs"] == ["abc"[ROWS[i][0]] for i in order]
    assert torch.allclose(seen["losses"], hand_losses()[order])


def test_interpretation_of_a_regression_averages_per_element_losses():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(12, 3, generator=g), torch.randn(12, 2, generator=g)
    dls = DataLoaders(DataLoader((x[:8], y[:8]), bs=4), DataLoader((x[8:], y[8:]), bs=4))
    learn = Learner(dls, nn.Linear(3, 2), loss_func=nn.MSELoss())
    interp = Interpretation.from_learner(learn)
    with torch.no_grad():
        per_item = ((learn.model(x[8:]) - y[8:]) ** 2).mean(1)
    assert interp.losses.shape == (4,) and torch.allclose(interp.losses, per_item, atol=1e-6)
    assert interp.top_losses(1)[1].item() == int(per_item.argmax())
    with pytest.raises(
        TypeError,
        match="ClassificationInterpretation: expected decoded predictions that are class indices.*float32",
    ):
        ClassificationInterpretation.from_learner(learn)
