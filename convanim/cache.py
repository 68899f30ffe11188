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
        entry = self._entry(k)
        files = {name: entry / name for name in names}
        if all(p.is_file() for p in files.values()):
            return files
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
                try:
                    os.rename(tmp, entry)
                except OSError:  # another process stored it first
                    shutil.rmtree(tmp, ignore_errors=True)
            except BaseException:  # a full disk, an interrupt: no half entry stays
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        except OSError as e:
            print(f"convanim: warning: cannot write the cache at {self.root}: {e}", file=sys.stderr)
