"""Atomic file placement: a reader never sees a half-written output, nor half a set.

Placement replaces only regular files: a symlink is followed to the file it names
(the link stays a link), and a folder, device or pipe at a destination is refused
before any work, so ``--csv /dev/full`` can never turn a device into a file.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

from .errors import SpecError


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


def _what(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a pipe"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def target(dest: Path | str) -> Path:
    """The file to write for ``dest``; :class:`SpecError` if placing there would be wrong.

    Checked before any work so bad destinations exit 2 with nothing written: an
    empty path, a destination that is not a regular file, a symlink to nothing, a
    folder on the way that is really a file.
    """
    if str(dest) == "":
        raise SpecError("an output path is empty")
    dest = Path(dest)
    real = dest
    if dest.is_symlink():
        real = Path(os.path.realpath(dest))
        if not real.exists():
            raise SpecError(f"{dest} is a symlink to {real}, which does not exist")
    try:
        mode = real.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # the folders below say which
        mode = None
    except OSError as e:
        raise SpecError(f"cannot use {dest}: {e.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise SpecError(f"{dest} exists and is {_what(mode)}; refusing to replace it")
    for parent in real.parents:  # the nearest existing folder on the way must be a folder
        if parent.exists():
            if not parent.is_dir():
                raise SpecError(f"cannot write {dest}: {parent} is a file, not a folder")
            break
    return real


def _make_folders(folders) -> list[Path]:
    """Create missing folders; on failure remove those created. Returns the created ones."""
    made: list[Path] = []
    try:
        for folder in sorted(folders):
            missing = [p for p in [folder, *folder.parents] if not p.exists()]
            folder.mkdir(parents=True, exist_ok=True)
            made += reversed(missing)
    except OSError:
        _remove_folders(made)
        raise
    return made


def _remove_folders(made: list[Path]) -> None:
    """Best effort: a folder someone else filled meanwhile stays (and hides no error)."""
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:
            pass


def _temp_beside(dest: Path) -> Path:
    try:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".convanim-", suffix=".tmp")
    except OSError as e:
        raise OSError(e.errno, f"cannot write {dest}: {e.strerror}") from None
    os.close(fd)
    return Path(tmp)


def place_all(files: list[tuple[Path | bytes, Path]]) -> list[Path]:
    """Put each source (a file or bytes) at its destination, all or none.

    Every source is first copied to a temporary file beside its destination; only
    when all copies succeeded are they renamed into place, each rename atomic. If
    a rename fails, the ones done are undone (earlier files restored), so on any
    failure nothing new is left: no temporary file, no folder this call created.
    Returns the destinations as given.
    """
    reals = [target(dest) for _, dest in files]
    if len(set(reals)) != len(reals):
        raise SpecError("two outputs name the same file: "
                        + ", ".join(str(d) for _, d in files))
    temps: list[Path] = []
    backups: list[tuple[Path, Path | None]] = []  # (destination, its old content or None)
    made: list[Path] = []
    try:
        made = _make_folders({real.parent for real in reals})
        for (src, _), real in zip(files, reals):
            tmp = _temp_beside(real)
            temps.append(tmp)
            with open(tmp, "wb") as f:
                if isinstance(src, bytes):
                    f.write(src)
                else:
                    with open(src, "rb") as s:
                        shutil.copyfileobj(s, f)
            os.chmod(tmp, 0o666 & ~_umask())
        for tmp, real in zip(temps, reals):
            old = None
            if real.exists():  # keep its content until the whole set is placed
                old = _temp_beside(real)
                backups.append((real, old))
                shutil.copy2(real, old)
            else:
                backups.append((real, None))
            os.replace(tmp, real)
    except BaseException:
        done = {tmp for tmp in temps if not tmp.exists()}  # renamed into place
        for (real, old), tmp in reversed(list(zip(backups, temps))):
            try:
                if tmp not in done:
                    if old is not None:
                        old.unlink(missing_ok=True)
                elif old is None:
                    real.unlink(missing_ok=True)
                else:
                    os.replace(old, real)
            except OSError:
                pass
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        _remove_folders(made)
        raise
    for _, old in backups:
        if old is not None:
            old.unlink(missing_ok=True)
    return [Path(dest) for _, dest in files]
