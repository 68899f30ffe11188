import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty figure cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty current directory, as a user running the command would have."""
    d = tmp_path / "work"
    d.mkdir()
    monkeypatch.chdir(d)
    return d


@pytest.fixture(scope="session")
def tex_tools():
    """The pipeline tests need TeX and poppler; `make test` installs them. Fail, never skip."""
    missing = [t for t in ("pdflatex", "pdftoppm", "pdfinfo", "pdftocairo") if not shutil.which(t)]
    assert not missing, f"missing {missing}: run `make setup` (installs TeX Live and poppler)"
