"""Each loss against its torch functional equivalent, plus its activation and decodes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from plies.layers import (
    BaseLoss,
    BCELossFlat,
    BCEWithLogitsLossFlat,
    CrossEntropyLossFlat,
    DiceLoss,
    FocalLoss,
    FocalLossFlat,
    L1LossFlat,
    LabelSmoothingCrossEntropy,
    LabelSmoothingCrossEntropyFlat,
    MSELossFlat,
    register_loss,
)
from plies.typecore import get_registry


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_cross_entropy_flat_matches_functional() -> None:
    out, targ = torch.randn(8, 5), torch.randint(0, 5, (8,))
    loss = CrossEntropyLossFlat()
    assert torch.allclose(loss(out, targ), F.cross_entropy(out, targ))
    assert loss.y_int is True
    assert torch.allclose(loss.activation(out), F.softmax(out, dim=-1))
    assert torch.equal(loss.decodes(out), out.argmax(-1))


def test_cross_entropy_flat_segmentation_axis() -> None:
    out, targ = torch.randn(2, 4, 3, 5), torch.randint(0, 4, (2, 3, 5))
    loss = CrossEntropyLossFlat(axis=1)
    assert torch.allclose(loss(out, targ), F.cross_entropy(out, targ), atol=1e-6)
    assert loss.decodes(out).shape == (2, 3, 5)
    assert torch.allclose(loss.activation(out).sum(1), torch.ones(2, 3, 5))


def test_cross_entropy_flat_sequence_and_int32_targets() -> None:
    out, targ = torch.randn(2, 6, 5), torch.randint(0, 5, (2, 6), dtype=torch.int32)
    expected = F.cross_entropy(out.view(-1, 5), targ.view(-1).long())
    assert torch.allclose(CrossEntropyLossFlat()(out, targ), expected)


def test_cross_entropy_flat_kwargs_and_reduction() -> None:
    out, targ = torch.randn(6, 3), torch.tensor([0, 1, 2, -100, 1, 0])
    w = torch.tensor([1.0, 2.0, 0.5])
    loss = CrossEntropyLossFlat(weight=w)
    assert torch.allclose(loss(out, targ), F.cross_entropy(out, targ, weight=w))
    loss.reduction = "none"
    assert loss.reduction == "none"
    assert loss(out, targ).shape == (6,)
    assert "FlattenedLoss of CrossEntropyLoss" in repr(loss)


def test_unknown_keyword_is_rejected() -> None:
    with pytest.raises(TypeError, match="reductoin"):
        CrossEntropyLossFlat(reductoin="sum")


def test_bce_with_logits_flat() -> None:
    out, targ = torch.randn(4, 3), torch.randint(0, 2, (4, 3))
    loss = BCEWithLogitsLossFlat(thresh=0.7)
    assert torch.allclose(loss(out, targ), F.binary_cross_entropy_with_logits(out, targ.float()))
    assert torch.allclose(loss.activation(out), torch.sigmoid(out))
    probs = torch.tensor([[0.5, 0.71, 0.9]])
    assert loss.decodes(probs).tolist() == [[False, True, True]]
    assert loss.y_int is False


def test_bce_with_logits_pos_weight() -> None:
    out, targ = torch.randn(4, 3), torch.randint(0, 2, (4, 3)).float()
    pw = torch.tensor([1.0, 2.0, 3.0])
    loss = BCEWithLogitsLossFlat(pos_weight=pw)
    assert torch.allclose(loss(out, targ), F.binary_cross_entropy_with_logits(out, targ, pos_weight=pw))
    with pytest.raises(ValueError, match="flatten must be False"):
        BCEWithLogitsLossFlat(pos_weight=pw, flatten=True)


def test_bce_flat() -> None:
    p, targ = torch.rand(4, 3), torch.randint(0, 2, (4, 3))
    assert torch.allclose(BCELossFlat()(p, targ), F.binary_cross_entropy(p, targ.float()))


@pytest.mark.parametrize(("make", "ref"), [(MSELossFlat, F.mse_loss), (L1LossFlat, F.l1_loss)])
def test_regression_losses(make, ref) -> None:
    out, targ = torch.randn(5, 1), torch.randint(0, 10, (5,))
    loss = make()
    assert torch.allclose(loss(out, targ), ref(out.view(-1), targ.float()))
    assert torch.equal(loss.activation(out), out) and torch.equal(loss.decodes(out), out)


def test_focal_loss_formula_and_gamma_zero() -> None:
    out, targ = torch.randn(10, 4), torch.randint(0, 4, (10,))
    ce = F.cross_entropy(out, targ, reduction="none")
    expected = ((1 - torch.exp(-ce)) ** 2 * ce).mean()
    assert torch.allclose(FocalLoss()(out, targ), expected)
    assert torch.allclose(FocalLossFlat(gamma=0.0)(out, targ), F.cross_entropy(out, targ))
    flat = FocalLossFlat(axis=1)
    seg, seg_t = torch.randn(2, 4, 3, 3), torch.randint(0, 4, (2, 3, 3))
    ce_seg = F.cross_entropy(seg, seg_t, reduction="none")
    assert torch.allclose(flat(seg, seg_t), ((1 - torch.exp(-ce_seg)) ** 2 * ce_seg).mean(), atol=1e-6)
    assert torch.equal(flat.decodes(seg), seg.argmax(1))
    assert torch.allclose(flat.activation(seg), F.softmax(seg, 1))
    with pytest.raises(ValueError, match="reduction must be"):
        FocalLoss(reduction="avg")(out, targ)


def test_label_smoothing_against_torch() -> None:
    out, targ = torch.randn(10, 4), torch.randint(0, 4, (10,))
    for reduction in ("mean", "sum", "none"):
        ours = LabelSmoothingCrossEntropy(eps=0.1, reduction=reduction)(out, targ)
        ref = F.cross_entropy(out, targ, label_smoothing=0.1, reduction=reduction)
        assert torch.allclose(ours, ref, atol=1e-6), reduction
    flat = LabelSmoothingCrossEntropyFlat(eps=0.2)
    seq, seq_t = torch.randn(2, 3, 4), torch.randint(0, 4, (2, 3))
    ref = F.cross_entropy(seq.view(-1, 4), seq_t.view(-1), label_smoothing=0.2)
    assert torch.allclose(flat(seq, seq_t), ref, atol=1e-6)
    assert torch.equal(flat.decodes(seq), seq.argmax(-1))
    assert torch.allclose(LabelSmoothingCrossEntropy().activation(out), F.softmax(out, -1))


def test_dice_loss_value() -> None:
    pred, targ = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    probs = F.softmax(pred, 1)
    onehot = F.one_hot(targ, 3).permute(0, 3, 1, 2).float()
    inter = (probs * onehot).sum((2, 3))
    union = (probs + onehot).sum((2, 3))
    expected = (1 - (2 * inter + 1e-6) / (union + 1e-6)).sum()
    loss = DiceLoss()
    assert torch.allclose(loss(pred, targ), expected)
    assert torch.equal(loss.decodes(pred), pred.argmax(1))
    assert torch.allclose(loss.activation(pred), probs)
    perfect = onehot * 100
    assert DiceLoss(reduction="mean")(perfect, targ).item() == pytest.approx(0.0, abs=1e-5)


def test_dice_loss_shape_error() -> None:
    with pytest.raises(ValueError, match="not one-hot"):
        DiceLoss()(torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 3, 4, 4)))


def test_base_loss_with_any_loss_class_and_subclass_tensors() -> None:
    class MyTensor(torch.Tensor):
        pass

    out, targ = torch.randn(4, 2).as_subclass(MyTensor), torch.randn(4, 2).as_subclass(MyTensor)
    loss = BaseLoss(torch.nn.SmoothL1Loss, is_2d=False, beta=0.5)
    value = loss(out, targ)
    assert type(value) is torch.Tensor
    assert torch.allclose(
        value, F.smooth_l1_loss(out.as_subclass(torch.Tensor), targ.as_subclass(torch.Tensor), beta=0.5)
    )


def test_loss_to_moves_weights() -> None:
    loss = FocalLossFlat(weight=torch.ones(3))
    assert loss.to("cpu") is loss
    assert loss.func.weight.device.type == "cpu"


def test_flat_loss_size_mismatch_names_the_shapes_given_and_the_fix() -> None:
    # the example: 2 outputs per item against one target value per item
    with pytest.raises(
        ValueError, match=r"MSELossFlat: prediction of shape \(32, 2\) and target of shape \(32,\)"
    ):
        MSELossFlat()(torch.randn(32, 2), torch.randn(32))
    with pytest.raises(
        ValueError, match=r"outputs 2 value\(s\) per item and the target has 1.*nn.Linear\(n_in, 1\)"
    ):
        MSELossFlat()(torch.randn(32, 2), torch.randn(32))
    with pytest.raises(ValueError, match=r"L1LossFlat: .*32 predictions and 16 targets"):
        L1LossFlat()(torch.randn(32, 2), torch.randn(16, 2))
    with pytest.raises(
        ValueError,
        match=r"CrossEntropyLossFlat: .*\(32, 3\).*32 target class indices, found 96.*BCEWithLogitsLossFlat",
    ):
        CrossEntropyLossFlat()(torch.randn(32, 3), torch.randint(0, 3, (32, 3)))
    # segmentation (classes on axis 1): the shapes reported are the ones passed, not the transposed ones
    with pytest.raises(
        ValueError, match=r"prediction of shape \(2, 3, 4, 4\) and target of shape \(2, 5, 5\).*32 rows of 3"
    ):
        CrossEntropyLossFlat(axis=1)(torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 5, 5)))
    # matching sizes still compute (a (bs, 1) output against (bs,) targets flattens to the same size)
    pred, targ = torch.randn(4, 1), torch.randn(4)
    assert torch.allclose(MSELossFlat()(pred, targ), F.mse_loss(pred.view(-1), targ))


def test_losses_are_registered_under_public_names_for_exports() -> None:
    losses = get_registry("loss")
    assert losses.get("plies.layers.CrossEntropyLossFlat", "test") is CrossEntropyLossFlat
    assert losses.get("plies.layers.MSELossFlat", "test") is MSELossFlat  # a factory function
    assert losses.get("torch.nn.functional.cross_entropy", "test") is torch.nn.functional.cross_entropy
    assert losses.module_of("torch.nn.HuberLoss") == "plies.layers"  # importing plies.layers registers it

    def pinball(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        return (pred - targ).abs().mean()

    assert register_loss(name="tests.pinball")(pinball) is pinball
    assert losses.find_name(pinball) == "tests.pinball"
    with pytest.raises(TypeError, match="expected a function or class defined with a name"):
        register_loss(lambda p, t: p)
