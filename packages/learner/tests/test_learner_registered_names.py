"""The names that export files and checkpoints record stay the same whatever the modules' layout.

Registries save an object under its module path minus the `_private` parts, so moving a learner
module into a private sub-package must change none of them. The expected names are written out here
(not read from the code under test); a name that changes on purpose is a format change of the files.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import plies.learner
from plies.typecore import get_registry, public_name

_LAYERS, _LOADERS, _PIPES, _LEARNER = "plies.layers", "plies.loaders", "plies.pipes", "plies.learner"
_XRESNETS = [
    "xresnet101", "xresnet152", "xresnet18", "xresnet18_deep", "xresnet18_deeper", "xresnet34",
    "xresnet34_deep", "xresnet34_deeper", "xresnet50", "xresnet50_deep", "xresnet50_deeper",
    "xresnext101", "xresnext18", "xresnext34", "xresnext50", "xse_resnet101", "xse_resnet152",
    "xse_resnet18", "xse_resnet34", "xse_resnet50", "xse_resnext101", "xse_resnext18",
    "xse_resnext18_deep", "xse_resnext18_deeper", "xse_resnext34", "xse_resnext34_deep",
    "xse_resnext34_deeper", "xse_resnext50", "xse_resnext50_deep", "xse_resnext50_deeper", "xsenet154",
]  # fmt: skip
_TORCH_LOSSES = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss", "MSELoss",
    "NLLLoss", "PoissonNLLLoss", "SmoothL1Loss", "functional.binary_cross_entropy",
    "functional.binary_cross_entropy_with_logits", "functional.cross_entropy", "functional.huber_loss",
    "functional.l1_loss", "functional.mse_loss", "functional.nll_loss", "functional.smooth_l1_loss",
]  # fmt: skip
_PLIES_LOSSES = [
    "BCELossFlat", "BCEWithLogitsLossFlat", "CrossEntropyLossFlat", "DiceLoss", "FocalLoss", "FocalLossFlat",
    "L1LossFlat", "LabelSmoothingCrossEntropy", "LabelSmoothingCrossEntropyFlat", "MSELossFlat",
]  # fmt: skip
_LOADERS_TRANSFORMS = [
    "AttrGetter", "Categorize", "ColReader", "EncodedMultiCategorize", "IntToFloatTensor", "ItemGetter",
    "MultiCategorize", "Normalize", "OneHotEncode", "RegexLabeller", "RegressionSetup", "ToTensor",
    "parent_label",
]  # fmt: skip
_PIPES_TRANSFORMS = ["DisplayedTransform", "InplaceTransform", "ItemTransform", "Transform", "using_attr"]
_METRICS = [
    "Dice", "DiceMulti", "JaccardCoeff", "Perplexity", "acc_segment", "accuracy", "accuracy_multi",
    "error_rate", "exp_rmspe", "foreground_acc", "mae", "mse", "msle", "perplexity", "rmse", "top_k_accuracy",
]  # fmt: skip


def _in(module: str, names: list[str], prefix: str | None = None) -> list[list[str]]:
    """[name, module to import] pairs for `names` defined under `prefix` (default: `module`)."""
    return [[f"{prefix or module}.{n}", module] for n in names]


# every registry the learner's export and checkpoints name things through: [registered name, module]
EXPECTED = {
    "builder": _in(_LAYERS, ["_dynamic_unet_arguments", "_rebuild_dynamic_unet", "create_body", *_XRESNETS]),
    "transform type": _in(_LOADERS, _LOADERS_TRANSFORMS) + _in(_PIPES, _PIPES_TRANSFORMS),
    "DataLoader class": _in(_LOADERS, ["TfmdDL"]),
    "dataset class": [],
    "loss": _in(_LAYERS, _PLIES_LOSSES) + _in(_LAYERS, _TORCH_LOSSES, prefix="torch.nn"),
    "Learner class": _in(_LEARNER, ["Learner"]),
    "inference callback": [],
    "metric": _in(_LEARNER, _METRICS),
}

# A fresh process: the test suite's own registrations (test metrics, learners...) are not counted
_LIST_REGISTRIES = """
import json, sys
import plies.typecore, plies.pipes, plies.loaders, plies.optim, plies.layers, plies.learner
from plies.typecore import get_registry
kinds = json.loads(sys.argv[1])
print(json.dumps({k: [[n, get_registry(k).module_of(n)] for n in get_registry(k).names()] for k in kinds}))
"""


def test_every_registered_name_is_unchanged() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _LIST_REGISTRIES, json.dumps(sorted(EXPECTED))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    for kind, expected in EXPECTED.items():
        assert found[kind] == sorted(expected), f"registry {kind!r}"


def test_learner_registrations_are_its_public_names() -> None:
    # each name a file records for a learner object is that object's public path, plies.learner.<name>
    for kind in ("Learner class", "metric"):
        for name, obj in get_registry(kind).items():
            module, _, attr = name.rpartition(".")
            if module == _LEARNER:
                assert getattr(plies.learner, attr) is obj, name


def test_public_classes_and_functions_are_named_by_the_package() -> None:
    # what a registry would save for any learner class or function: the public path, no private parts
    for attr in plies.learner.__all__:
        obj = getattr(plies.learner, attr)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__.startswith(_LEARNER):
            assert public_name(obj) == f"{_LEARNER}.{attr}", attr
