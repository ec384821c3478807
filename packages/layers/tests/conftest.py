"""Shared setup for the plies.layers tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Run each test module on one intra-op thread, restoring the previous count afterwards.

    The tests push tiny batches through many small layers: a second thread buys nothing there, and on
    a busy machine (several suites at once on 2 cores) torch's thread pool thrashes — the suite measured
    42 s on one thread against 210 s on the default two under the same load.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
