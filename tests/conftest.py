import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def shared_formats(tmp_path_factory):
    """One folder for the preamble's pdflatex format, built once for the whole session."""
    return tmp_path_factory.mktemp("formats")


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch, shared_formats):
    """Every test gets its own empty figure cache, with the session's preamble format
    (as a user's cache keeps it: it is built once per TeX installation)."""
    xdg = tmp_path_factory.mktemp("xdg-cache")
    (xdg / "convanim").mkdir()
    (xdg / "convanim" / "formats").symlink_to(shared_formats, target_is_directory=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty current directory, as a user running the command would have."""
    d = tmp_path / "work"
    d.mkdir()
    monkeypatch.chdir(d)
    return d


#: Markers a test gets from the fixtures it uses: pdflatex and poppler, a browser.
_MARKED_BY_FIXTURE = {"tex_tools": "tex", "browser": "browser"}


def pytest_collection_modifyitems(config, items):
    """`pytest -m "not tex and not browser"` runs the quick tests: a test that uses the
    TeX fixture is marked ``tex``, one that uses the browser fixture ``browser``."""
    for item in items:
        for fixture, marker in _MARKED_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@pytest.fixture(scope="session")
def tex_tools():
    """The pipeline tests need TeX and poppler; `make test` installs them. Fail, never skip."""
    missing = [t for t in ("pdflatex", "pdftoppm", "pdfinfo", "pdftocairo") if not shutil.which(t)]
    assert not missing, f"missing {missing}: run `make setup` (installs TeX Live and poppler)"
