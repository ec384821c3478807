"""Models run on plain tensors: the learner strips semantic types before the forward pass and the loss,
keeps them on `learn.xb`/`learn.yb` for callbacks and decoding, and returns plain predictions."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from plies.learner import Callback, Learner, default_loss_func
from plies.loaders import Categorize, Category, DataLoader, DataLoaders, Datasets, IntToFloatTensor, Normalize
from plies.typecore import TensorBase, TensorCategory, TensorImage, TensorMask
from torch import nn


def to_image(o):
    """A 1x4x4 uint8 image: bright for 'light', dark for 'dark' (with a little noise)."""
    g = torch.Generator().manual_seed(int(o[0]))
    base = 200 if o[1] == "light" else 40
    return TensorImage((base + torch.randint(0, 30, (1, 4, 4), generator=g)).to(torch.uint8))


def label_of(o):
    return o[1]


def make_dls():
    items = [[i, "light" if i % 2 else "dark"] for i in range(40)]
    splits = [list(range(32)), list(range(32, 40))]
    dsets = Datasets(items, [[to_image], [label_of, Categorize()]], splits=splits)
    return dsets.dataloaders(bs=8, after_batch=[IntToFloatTensor(), Normalize()], device="cpu")


class PlainOnly(nn.Module):
    """A model that refuses semantic tensors and remembers what it was given."""

    def __init__(self, to_type: type | None = None) -> None:
        super().__init__()
        self.lin = nn.Linear(16, 2)
        self.to_type, self.seen = to_type, []

    def forward(self, x):
        if type(x) is not torch.Tensor:
            raise TypeError(f"PlainOnly: expected a plain torch.Tensor, got {type(x).__name__}")
        self.seen.append(x)
        out = self.lin(x.flatten(1))
        return out if self.to_type is None else self.to_type(out)  # e.g. DynamicUnet ends in ToTensorBase


class RecordTypes(Callback):
    """What callbacks see: the batch's semantic types, and the model's input as a view of `learn.xb`."""

    def __init__(self) -> None:
        self.types, self.shares_memory, self.same_object = set(), [], []

    def after_pred(self) -> None:
        learn = self.learn
        self.same_object.append(learn.model.seen[-1] is learn.xb[0])
        if learn.yb:  # predict runs batches without targets
            self.types.add((type(learn.xb[0]), type(learn.yb[0]), type(learn.pred)))
        self.shares_memory.append(learn.model.seen[-1].data_ptr() == learn.xb[0].data_ptr())


class PlainLoss:
    """Cross-entropy that refuses semantic targets; softmax activation and argmax decoding."""

    def __call__(self, pred, targ):
        if type(targ) is not torch.Tensor:
            raise TypeError(f"PlainLoss: expected a plain target, got {type(targ).__name__}")
        return F.cross_entropy(pred, targ)

    def activation(self, x):
        return F.softmax(x, dim=-1)

    def decodes(self, x):
        return x.argmax(dim=-1)


def trained(model=None):
    torch.manual_seed(0)
    rec = RecordTypes()
    learn = Learner(make_dls(), model or PlainOnly(), loss_func=PlainLoss(), cbs=rec, lr=0.1)
    with learn.no_bar(), learn.no_logging():
        learn.fit(3)
    return learn, rec


def test_model_and_loss_see_plain_views_callbacks_see_types():
    learn, rec = trained()
    assert rec.types == {(TensorImage, TensorCategory, torch.Tensor)}
    assert all(rec.shares_memory) and len(rec.shares_memory) == 3 * (4 + 1)  # views: no copy
    assert learn.recorder.values[-1][1] < 0.1  # it trained (validation loss)


def test_a_plain_batch_reaches_the_model_as_is():
    x, y = torch.rand(16, 1, 4, 4), torch.randint(0, 2, (16,))
    dls = DataLoaders(DataLoader((x, y), bs=8), DataLoader((x, y), bs=8), device="cpu")
    rec = RecordTypes()
    learn = Learner(dls, PlainOnly(), loss_func=PlainLoss(), cbs=rec)
    learn.validate()
    assert rec.same_object == [True, True]  # nothing to strip: the batch's own tensor, no new object
    assert rec.types == {(torch.Tensor, torch.Tensor, torch.Tensor)}


def test_get_preds_returns_plain_predictions_typed_inputs_and_targets():
    learn, _ = trained()
    inp, preds, targs, decoded = learn.get_preds(with_input=True, with_decoded=True)
    assert type(preds) is torch.Tensor and type(decoded) is torch.Tensor
    assert type(inp) is TensorImage and type(targs) is TensorCategory  # kept for decoding
    assert torch.allclose(preds.sum(1), torch.ones(8)) and torch.equal(decoded, preds.argmax(1))
    assert torch.equal(decoded, targs.as_subclass(torch.Tensor))  # an easy task, trained


def test_predictions_are_plain_even_when_the_model_returns_a_tensorbase():
    learn, rec = trained(PlainOnly(to_type=TensorBase))
    assert {t[2] for t in rec.types} == {TensorBase}  # callbacks see what the model returned
    preds, _ = learn.get_preds()
    assert type(preds) is torch.Tensor


def test_predict_and_show_results_decode_with_the_types():
    learn, _ = trained()
    assert learn.predict([8, "dark"])[0] == "dark"
    label, idx, probs = learn.predict([7, "light"])  # a bright image
    assert type(label) is Category and label == "light"
    assert type(idx) is torch.Tensor and type(probs) is torch.Tensor and int(idx) == 1
    x, y, samples, outs = learn.show_results(max_n=3, shuffle=False, show=False)
    assert type(x) is TensorImage and type(y) is TensorCategory
    assert type(samples[0][0]) is TensorImage and samples[0][0].dtype == torch.int64  # decoded to 0..255
    assert [type(o[0]) for o in outs] == [Category] * 3 and [o[0] for o in outs] == [s[1] for s in samples]


def test_summary_runs_the_model_on_plain_tensors():
    learn = Learner(make_dls(), PlainOnly(), loss_func=PlainLoss())
    assert "Linear" in learn.summary()


def test_default_loss_of_a_mask_target_takes_classes_on_the_channels():
    loss = default_loss_func(TensorMask(torch.zeros(2, 4, 4, dtype=torch.long)))
    pred, targ = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    assert torch.allclose(loss(pred, targ), F.cross_entropy(pred, targ))  # (B, C, H, W) logits
