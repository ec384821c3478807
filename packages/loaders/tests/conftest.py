import pytest


@pytest.fixture(autouse=True)
def _no_writes_to_the_users_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """untar_data/download_url default to $PLIES_HOME: point it at a temporary folder in every test."""
    monkeypatch.setenv("PLIES_HOME", str(tmp_path_factory.mktemp("plies_home")))
