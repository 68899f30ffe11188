"""Atomic file placement: a reader never sees a half-written output, nor half a set."""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where the system allows.

    os.umask can only be read by setting it; ``build`` places files from several
    threads, and two interleaved set-and-restore pairs could leave the umask at 0.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0)
        os.umask(mask)
    return mask


def _make_folders(folders) -> list[Path]:
    """Create missing folders; on failure remove those created. Returns the created ones."""
    made: list[Path] = []
    try:
        for folder in sorted(folders):
            missing = [p for p in [folder, *folder.parents] if not p.exists()]
            folder.mkdir(parents=True, exist_ok=True)
            made += reversed(missing)
    except OSError:
        for p in reversed(made):
            p.rmdir()
        raise
    return made


def place_all(files: list[tuple[Path | bytes, Path]]) -> list[Path]:
    """Put each source (a file or bytes) at its destination, all or none.

    Every source is first copied to a temporary file beside its destination; only
    when all copies succeeded are they renamed into place, each rename atomic.
    """
    temps: list[Path] = []
    made = _make_folders({Path(dest).parent for _, dest in files})
    try:
        for src, dest in files:
            dest = Path(dest)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".convanim-", suffix=".tmp")
            temps.append(Path(tmp))
            with os.fdopen(fd, "wb") as f:
                if isinstance(src, bytes):
                    f.write(src)
                else:
                    with open(src, "rb") as s:
                        shutil.copyfileobj(s, f)
            os.chmod(tmp, 0o666 & ~_umask())
        for tmp, (_, dest) in zip(temps, files):
            os.replace(tmp, dest)
        made = []
    finally:
        for folder in reversed(made):  # failed: remove the folders this call created
            folder.rmdir()
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    return [Path(dest) for _, dest in files]
