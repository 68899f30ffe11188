"""What the benchmark scripts share."""
import csv
import os
import subprocess
import sys
from pathlib import Path


def write_csv(path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


#: What convanim keeps in its cache once per installation, not per figure: the
#: preamble's pdflatex format and the compiled templates.
INSTALLATION = ("formats", "templates")


def byte_compile(tree: Path) -> None:
    """Write the package's .pyc files, as pip does on install; PYTHONDONTWRITEBYTECODE
    (set on some machines) would make every run compile convanim's modules again."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "convanim")],
                   env=env, check=True, stdout=subprocess.DEVNULL)


def warm_installation(tree: Path, shared: Path, commands: list[list[str]]) -> None:
    """Fill ``shared`` (an XDG_CACHE_HOME) with what ``tree``'s convanim keeps per
    installation, by running each command once."""
    env = {**os.environ, "XDG_CACHE_HOME": str(shared), "PYTHONPATH": str(tree)}
    for cmd in commands:
        subprocess.run([sys.executable, "-m", "convanim", *cmd, "--quiet"], cwd=shared,
                       env=env, check=True, stdout=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL)


def prepare_trees(trees: dict, installed: Path, commands: list[list[str]]) -> dict:
    """Byte-compile each source tree and warm its per-installation cache under
    ``installed``; returns the cache folder of each tree by name."""
    shared = {}
    for name, tree in trees.items():
        byte_compile(tree)
        shared[name] = Path(installed) / name
        shared[name].mkdir()
        warm_installation(tree, shared[name], commands)
    return shared


def cold_cache(shared: Path | None, dest: Path) -> Path:
    """An empty figure cache at ``dest``, sharing only ``shared``'s per-installation
    folders (none if ``shared`` is None: a first run ever)."""
    (dest / "convanim").mkdir(parents=True)
    for sub in INSTALLATION if shared is not None else ():
        if (shared / "convanim" / sub).is_dir():
            (dest / "convanim" / sub).symlink_to(shared / "convanim" / sub,
                                                 target_is_directory=True)
    return dest
