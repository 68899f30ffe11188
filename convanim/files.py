"""Atomic file placement: a reader never sees a half-written output."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _replace_via_temp(dest: Path, fill) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(dest: Path, data: bytes) -> Path:
    return _replace_via_temp(Path(dest), lambda f: f.write(data))


def copy_file(src: Path, dest: Path) -> Path:
    def fill(f):
        with open(src, "rb") as s:
            shutil.copyfileobj(s, f)
    return _replace_via_temp(Path(dest), fill)
