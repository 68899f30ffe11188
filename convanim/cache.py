"""Content-addressed cache of compiled figures, so an unchanged figure never runs TeX.

The key hashes everything that decides the bytes of the outputs: the figure's
parameters, the products and their settings, the templates and convanim's own code
(so an edited template or scene never serves a stale figure) and its version. It is
computed from the inputs, so a hit needs neither Jinja nor TeX. Entries are directories written in full and then renamed into
place, so a crash leaves no half entry behind.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from .version import __version__


#: Each entry's file of its files' SHA-256 digests, checked before anything is served.
DIGESTS = "digests.json"


def _digest(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "convanim"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of every template and module that shapes a figure."""
    from .tex import template_dir

    h = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted([*package.rglob("*.py"), *template_dir().glob("*.j2")]):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def key(params: dict) -> str:
    """Cache key of a figure: ``params`` must be JSON-serialisable."""
    blob = json.dumps({"version": __version__, "code": code_fingerprint(), **params},
                      sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()


class Cache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else cache_root()

    def _entry(self, k: str) -> Path:
        return self.root / k[:2] / k

    def get(self, k: str, names: list[str]) -> dict[str, Path] | None:
        """The entry's files, if every one is there with the digest it was stored with.

        A damaged entry (a truncated or deleted file, a digest that differs) is removed
        with one warning, so the figure is drawn again and stored whole: the cache heals.
        """
        entry = self._entry(k)
        if not entry.is_dir():
            return None
        files = {name: entry / name for name in names}
        try:
            digests = json.loads((entry / DIGESTS).read_text())
            bad = next((n for n, path in files.items() if digests.get(n) != _digest(path)),
                       None)
        except (OSError, ValueError, AttributeError) as e:
            bad = f"{DIGESTS}: {getattr(e, 'strerror', None) or e}"
        if bad is None:
            return files
        print(f"convanim: warning: a cached figure was damaged ({bad} in {entry}); drawing "
              f"it again", file=sys.stderr)
        shutil.rmtree(entry, ignore_errors=True)
        return None

    def put(self, k: str, files: dict[str, Path]) -> None:
        """Store ``files`` (name -> path); a cache that cannot be written is only a warning."""
        entry = self._entry(k)
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".tmp-"))
            try:
                for name, path in files.items():
                    shutil.copyfile(path, tmp / name)
                digests = {name: _digest(tmp / name) for name in files}
                (tmp / DIGESTS).write_text(json.dumps(digests))
                try:
                    os.rename(tmp, entry)
                except OSError:  # another process stored it first
                    shutil.rmtree(tmp, ignore_errors=True)
            except BaseException:  # a full disk, an interrupt: no half entry stays
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        except OSError as e:
            print(f"convanim: warning: cannot write the cache at {self.root}: {e}", file=sys.stderr)
