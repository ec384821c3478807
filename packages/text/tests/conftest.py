import pytest
import torch


@pytest.fixture(autouse=True)
def _no_writes_to_the_users_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """The tokenization cache lives under $PLIES_HOME: point it at a temporary folder in every test."""
    monkeypatch.setenv("PLIES_HOME", str(tmp_path_factory.mktemp("plies_home")))


@pytest.fixture(autouse=True)
def _one_thread():
    """Small recurrent models run fastest on one thread (and the machine is shared)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
