"""Inference and persistence: get_preds, predict, validate, tta, save/load."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from plies.learner import Learner, accuracy
from plies.loaders import Categorize, Datasets
from plies.pipes import Transform
from torch import nn


def to_x(o):
    return torch.tensor([float(o[0]), float(o[0]) ** 2])


def label_of(o):
    return o[1]


def make_dls(n: int = 48):
    values = torch.linspace(-3, 3, n).tolist()
    items = [[v, "pos" if v > 0 else "neg"] for v in values]
    splits = [[i for i in range(n) if i % 4], [i for i in range(n) if i % 4 == 0]]
    dsets = Datasets(items, [[to_x], [label_of, Categorize()]], splits=splits)
    return dsets.dataloaders(bs=8)


def trained_learner(tmp_path) -> Learner:
    torch.manual_seed(0)
    learn = Learner(
        make_dls(),
        nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)),
        metrics=accuracy,
        path=tmp_path,
        lr=3e-2,
    )
    with learn.no_bar(), learn.no_logging():
        learn.fit(4)
    return learn


def _valid_tensors(learn):
    """The validation inputs and targets on the CPU, where get_preds returns its results (as fastai's)."""
    xs, ys = zip(*[(x, y) for x, y in learn.dls.valid], strict=False)
    return torch.cat(xs).cpu(), torch.cat(ys).cpu()


def test_get_preds_values_in_dataset_order(tmp_path):
    learn = trained_learner(tmp_path)
    x, y = _valid_tensors(learn)
    preds, targs = learn.get_preds()
    with torch.no_grad():
        expected = F.softmax(learn.model.eval()(x.to(learn.dls.device)), dim=-1).cpu()
    # the loss's activation (softmax) is applied
    assert preds.device.type == "cpu" and torch.allclose(preds, expected, atol=1e-6)
    assert torch.equal(targs, y) and preds.shape == (12, 2)
    inp, preds2, targs2, decoded, losses = learn.get_preds(with_input=True, with_decoded=True, with_loss=True)
    assert torch.equal(inp, x) and torch.equal(decoded, preds.argmax(-1))
    assert losses.shape == (12,)
    assert torch.allclose(losses, F.cross_entropy(torch.log(expected), y, reduction="none"), atol=1e-5)
    assert learn.loss_func.reduction == "mean"  # restored after with_loss
    raw, _ = learn.get_preds(act=lambda t: t)
    assert torch.allclose(F.softmax(raw, -1), preds, atol=1e-6)


def test_get_preds_on_the_shuffled_training_set_keeps_dataset_order(tmp_path):
    learn = trained_learner(tmp_path)
    inp, _, targs = learn.get_preds(ds_idx=0, with_input=True)
    assert len(targs) == 36
    assert torch.equal(inp[:, 0], torch.sort(inp[:, 0]).values)  # items were generated in increasing order


def test_validate_matches_the_recorder(tmp_path):
    learn = trained_learner(tmp_path)
    valid_loss, acc = learn.validate()
    x, y = _valid_tensors(learn)
    with torch.no_grad():
        out = learn.model.eval()(x.to(learn.dls.device)).cpu()
    assert valid_loss == pytest.approx(float(F.cross_entropy(out, y)), rel=1e-5)
    assert acc == pytest.approx(float((out.argmax(-1) == y).float().mean()))
    assert len(learn.recorder.values) == 4  # validate does not touch the training history
    assert learn.recorder.values[-1][1:] == pytest.approx([valid_loss, acc], rel=1e-5)


def test_predict_decodes_the_label(tmp_path):
    learn = trained_learner(tmp_path)
    label, idx, probs = learn.predict([2.5, "pos"])
    assert label == "pos" and int(idx) == 1
    assert probs.shape == (2,) and float(probs.sum()) == pytest.approx(1.0) and probs[1] > 0.5
    label, idx, probs = learn.predict([-2.0, "?"])
    assert label == "neg" and int(idx) == 0
    inp, label, *_ = learn.predict([1.5, "?"], with_input=True)
    assert inp.tolist() == [1.5, 2.25]


class Jitter(Transform):
    """A training-time batch augmentation (split_idx=0): Gaussian noise on the float inputs; it keeps
    what it produced, so a test can compute the model's predictions on the augmented inputs itself."""

    split_idx = 0

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def encodes(self, x):
        if not torch.is_floating_point(x):  # the targets
            return x
        out = x + torch.randn_like(x)
        self.seen.append(out.detach().cpu().clone())
        return out


def jittered_learner(tmp_path) -> tuple[Learner, Jitter]:
    values = torch.linspace(-3, 3, 48).tolist()
    items = [[v, "pos" if v > 0 else "neg"] for v in values]
    splits = [[i for i in range(48) if i % 4], [i for i in range(48) if i % 4 == 0]]
    jitter = Jitter()
    dls = Datasets(items, [[to_x], [label_of, Categorize()]], splits=splits).dataloaders(
        bs=8, after_batch=[jitter]
    )
    torch.manual_seed(0)
    learn = Learner(dls, nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)), path=tmp_path, lr=3e-2)
    with learn.no_bar(), learn.no_logging():
        learn.fit(2)
    return learn, jitter


def _softmax_preds(learn, x):
    with torch.no_grad():
        return F.softmax(learn.model.eval()(x.to(learn.dls.device)), dim=-1).cpu()


def _augmented_preds(learn, jitter, n: int) -> torch.Tensor:
    """The model's predictions on each of the `n` augmented passes over the 12 validation items."""
    assert len(jitter.seen) == 2 * n  # 2 batches (8 + 4 items) per pass; the plain pass is not jittered
    passes = torch.cat(jitter.seen).view(n, 12, 2)
    return torch.stack([_softmax_preds(learn, p) for p in passes])


def test_tta_blends_the_mean_augmented_predictions_with_the_plain_ones(tmp_path):
    learn, jitter = jittered_learner(tmp_path)
    x, y = _valid_tensors(learn)  # iterating the validation set applies no training transform
    plain = _softmax_preds(learn, x)
    torch.manual_seed(1)
    jitter.seen.clear()
    preds, targs = learn.tta(n=3)  # beta=0.25 by default
    aug = _augmented_preds(learn, jitter, 3)
    assert not torch.allclose(aug[0], aug[1], atol=1e-3)  # each pass draws new noise
    expected = 0.75 * aug.mean(0) + 0.25 * plain  # lerp(aug, plain, beta) = (1 - beta) * aug + beta * plain
    assert torch.equal(targs, y) and preds.shape == (12, 2)
    assert torch.allclose(preds, expected, atol=1e-5)
    assert not torch.allclose(preds, plain, atol=1e-3)  # the augmentation changed the predictions
    jitter.seen.clear()
    preds, _ = learn.tta(n=2, beta=0.6)
    aug = _augmented_preds(learn, jitter, 2)
    assert torch.allclose(preds, 0.4 * aug.mean(0) + 0.6 * plain, atol=1e-5)
    jitter.seen.clear()
    (aug_mean, plain_again), targs = learn.tta(n=2, beta=None)  # no blending: both, as fastai
    assert torch.equal(targs, y)
    assert torch.allclose(aug_mean, _augmented_preds(learn, jitter, 2).mean(0), atol=1e-5)
    assert torch.allclose(plain_again, plain, atol=1e-6)


def test_tta_use_max_takes_the_elementwise_max(tmp_path):
    learn, jitter = jittered_learner(tmp_path)
    x, _ = _valid_tensors(learn)
    plain = _softmax_preds(learn, x)
    torch.manual_seed(2)
    jitter.seen.clear()
    preds, _ = learn.tta(n=4, use_max=True)
    aug = _augmented_preds(learn, jitter, 4)
    expected = torch.maximum(aug.max(0).values, plain)
    assert torch.allclose(preds, expected, atol=1e-6)
    assert not torch.allclose(preds, 0.75 * aug.mean(0) + 0.25 * plain, atol=1e-3)  # not the blend


def test_tta_without_training_transforms_warns_and_equals_plain_predictions(tmp_path):
    learn = trained_learner(tmp_path)
    plain, targs = learn.get_preds()
    with pytest.warns(UserWarning, match="no training-time transforms"):
        preds, targs2 = learn.tta(dl=[b for b in learn.dls.valid], n=2)
    assert torch.equal(targs, targs2) and torch.allclose(preds, plain, atol=1e-6)


def test_save_load_round_trip_with_optimizer_state(tmp_path):
    learn = trained_learner(tmp_path)
    file = learn.save("stage1")
    assert file == tmp_path / "models" / "stage1.safetensors" and file.exists()
    weights = {k: v.clone() for k, v in learn.model.state_dict().items()}
    opt_state = copy.deepcopy(learn.opt.state_dict())  # state_dict() shares the live tensors
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, lr=0.5)
    assert not all(torch.equal(weights[k], v) for k, v in learn.model.state_dict().items())
    learn.load("stage1")
    assert all(torch.equal(weights[k], v) for k, v in learn.model.state_dict().items())
    new_state = learn.opt.state_dict()
    for k, s in opt_state["state"].items():
        for name, v in s.items():
            if torch.is_tensor(v):
                assert torch.equal(v, new_state["state"][k][name])
    assert [g["lr"] for g in new_state["param_groups"]] == [g["lr"] for g in opt_state["param_groups"]]
    # a fresh learner (no optimizer yet) loads both too
    fresh = Learner(make_dls(), nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)), path=tmp_path)
    fresh.load("stage1")
    assert all(torch.equal(weights[k].cpu(), v.cpu()) for k, v in fresh.model.state_dict().items())
    fresh_state = fresh.opt.state_dict()  # the optimizer was created to receive the saved state
    for k, st in opt_state["state"].items():
        for name, v in st.items():
            if torch.is_tensor(v):
                assert torch.equal(v.cpu(), fresh_state["state"][k][name].cpu()), (k, name)
    with pytest.raises(FileNotFoundError, match="nothing"):
        fresh.load("nothing")


def test_save_without_optimizer_and_no_pickle(tmp_path):
    learn = trained_learner(tmp_path)
    file = learn.save("weights_only", with_opt=False)
    assert file.read_bytes()[8:9] == b"{"  # a safetensors header (JSON), not a pickle
    learn2 = Learner(make_dls(), nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)), path=tmp_path)
    learn2.load("weights_only")
    assert learn2.opt is None


def test_show_results_pairs_targets_and_decoded_predictions(tmp_path):
    learn = trained_learner(tmp_path)
    x, y, items, outs = learn.show_results(max_n=4, shuffle=False, show=False)
    assert len(items) == 4 and len(outs) == 4
    assert [o[0] for o in outs] == [it[1] for it in items]  # a trained model: predictions equal targets


def shift_by_ten(x: torch.Tensor) -> torch.Tensor:
    return x + 10.0


def test_tta_applies_the_training_only_item_transforms():
    from plies.pipes import Transform

    n = 48
    values = torch.linspace(-3, 3, n).tolist()
    items = [[v, "pos" if v > 0 else "neg"] for v in values]
    splits = [[i for i in range(n) if i % 4], [i for i in range(n) if i % 4 == 0]]
    augment = Transform(shift_by_ten, split_idx=0)  # a training-time "augmentation" that changes values
    dsets = Datasets(items, [[to_x, augment], [label_of, Categorize()]], splits=splits)
    torch.manual_seed(0)
    learn = Learner(dsets.dataloaders(bs=8), nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)))
    plain_x = torch.stack([to_x(items[i]) for i in splits[1]])
    with torch.no_grad():
        on_plain = F.softmax(learn.model(plain_x), -1)
        on_augmented = F.softmax(learn.model(plain_x + 10.0), -1)
    assert not torch.allclose(on_plain, on_augmented, atol=1e-3)  # the test can tell them apart
    preds, targs = learn.tta(n=2, beta=0.0)  # beta 0: only the augmented predictions
    assert torch.allclose(preds, on_augmented, atol=1e-6)
    preds, _ = learn.tta(n=2, beta=0.25)
    assert torch.allclose(preds, torch.lerp(on_augmented, on_plain, 0.25), atol=1e-6)
    # the validation transforms are back afterwards
    assert torch.allclose(learn.get_preds()[0], on_plain, atol=1e-6)
    assert learn.dls.valid.dataset.split_idx == 1 and learn.dls.valid.dataset.tls[0].tfms.split_idx == 1


class MeanEmbedding(nn.Module):
    """Token ids (bs, seq_len) of any length -> 2 scores: the mean of the tokens' embeddings."""

    def __init__(self) -> None:
        super().__init__()
        self.emb, self.lin = nn.Embedding(10, 3), nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(self.emb(x).mean(1))


class PaddedBatches(list):
    """Batches of padded text, as a text DataLoader yields them: its `pad_idx` is the padding token."""

    pad_idx = 1


def test_get_preds_with_input_pads_ragged_batches():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    lengths, sizes = [5, 3, 7], [4, 4, 2]
    batches = [
        (torch.randint(2, 10, (bs, n), generator=g), torch.randint(0, 2, (bs,), generator=g))
        for bs, n in zip(sizes, lengths, strict=True)
    ]
    learn = Learner(None, MeanEmbedding(), loss_func=nn.CrossEntropyLoss())
    for pad, dl in [(0, list(batches)), (1, PaddedBatches(batches))]:
        inp, preds, targs = learn.get_preds(dl=dl, with_input=True, act=lambda t: t)
        assert inp.shape == (10, 7) and preds.shape == (10, 2) and targs.shape == (10,)
        row = 0
        for x, y in batches:
            bs, n = x.shape
            assert torch.equal(inp[row : row + bs, :n], x)  # each batch's tokens, in order
            assert (inp[row : row + bs, n:] == pad).all()  # then the padding value
            assert torch.equal(targs[row : row + bs], y)
            with torch.no_grad():
                assert torch.allclose(preds[row : row + bs], learn.model(x), atol=1e-6)
            row += bs
