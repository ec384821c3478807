"""`from plies.learner.all import *` gives a script everything: the lower layers' public names, the
learner's, torch, nn, F, np and Path."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LOWER = ["typecore", "pipes", "loaders", "optim", "layers", "learner"]


def star(module: str) -> dict:
    namespace: dict = {}
    exec(f"from {module} import *", namespace)
    namespace.pop("__builtins__")
    return namespace


def test_a_script_gets_the_usual_names():
    ns = star("plies.learner.all")
    from plies.learner import Learner
    from plies.loaders import DataBlock, untar_data
    from plies.typecore import L

    assert ns["Learner"] is Learner and ns["DataBlock"] is DataBlock and ns["L"] is L
    assert ns["untar_data"] is untar_data
    assert (ns["torch"], ns["nn"], ns["F"], ns["np"], ns["Path"]) == (torch, nn, F, np, Path)


def test_every_public_name_of_every_lower_package_is_there_and_the_same_object():
    ns = star("plies.learner.all")
    expected = {"torch", "nn", "F", "np", "Path"}
    for name in LOWER:
        package = importlib.import_module(f"plies.{name}")
        for attr in package.__all__:
            if attr == "__version__":
                continue
            expected.add(attr)
            assert ns[attr] is getattr(package, attr), f"plies.{name}.{attr} is shadowed in plies.learner.all"
    assert set(ns) == expected  # nothing more (no __version__, no private helper)
    import plies.learner.all as umbrella

    assert len(umbrella.__all__) == len(set(umbrella.__all__))  # no name exported twice
    assert umbrella.__version__ == importlib.import_module("plies.learner").__version__
