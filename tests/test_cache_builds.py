"""Issue #36, round three: the cache and builds recover from what a foreign format, a kill
during a dump, concurrent builds and a full disk leave behind."""
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from convanim import build, files, texformat
from convanim.cli import plan_command
from helpers import PROJECT, files_under, run


def _config(path, text):
    path.write_text(text)


# --- a foreign format in the cache ------------------------------------------------------------

@pytest.mark.usefixtures("tex_tools")
def test_a_foreign_format_in_the_cache_is_dropped_and_the_figure_made(tmp_path, monkeypatch):
    """A valid pdflatex format that is not ours (LaTeX's own, say) under our name: the
    first figure fails on the preamble's macros, is made without it, and drops it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # not the session's formats
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    formats = tmp_path / "xdg" / "convanim" / "formats"
    formats.mkdir(parents=True)
    stem = texformat.name()
    system = subprocess.run(["kpsewhich", "-engine=pdftex", "pdflatex.fmt"],
                            capture_output=True, text=True).stdout.strip()
    shutil.copy(system, formats / f"{stem}.fmt")
    (formats / f"{stem}.json").write_text('{"files": []}')
    assert texformat.ready(formats) == formats / f"{stem}.fmt"
    monkeypatch.chdir(tmp_path)
    for n in range(2):
        paths = plan_command(f"arithmetic a{n} -i 3 -k 3 --quiet -y pdf".split()).make()
        assert [p.name for p in paths] == [f"a{n}_00.pdf"] and paths[0].stat().st_size > 0
    fmt = formats / f"{stem}.fmt"
    assert not fmt.exists() or fmt.read_bytes() != Path(system).read_bytes()
    assert list(temp.iterdir()) == []  # no log folder kept, per run or at all


# --- a dump killed in the middle ----------------------------------------------------------------

def test_a_killed_dumps_temporary_folder_is_swept_at_lookup(tmp_path, monkeypatch):
    folder = tmp_path / "formats"
    old, young = folder / ".tmp-killed", folder / ".tmp-running"
    for d in (old, young):
        d.mkdir(parents=True)
        (d / "preamble.fmt").write_bytes(b"\0" * 1000)
    hours = time.time() - 2 * 3600
    os.utime(old, (hours, hours))
    monkeypatch.setattr(texformat, "_build", lambda *a, **k: None)  # no TeX needed here
    texformat.lookup(folder)
    assert not old.exists() and young.is_dir()


# --- builds running at once into one root --------------------------------------------------------

def test_a_manifest_saved_late_keeps_the_entry_of_the_file_on_disk(tmp_path):
    """Builds A and B of one config write out/a.pdf, B after A; A saves its manifest last.
    The manifest must describe the file as it is (B's), else ``--check`` reports a change."""
    out = tmp_path / "out" / "a.pdf"
    out.parent.mkdir()
    a, b = build.Manifest(tmp_path), build.Manifest(tmp_path)
    out.write_bytes(b"%PDF A")
    a.record([out], "key")
    time.sleep(0.01)
    out.write_bytes(b"%PDF B!")
    b.record([out], "key")
    b.save()
    a.save()
    assert build.Manifest(tmp_path).stale([out], "key") == []


@pytest.mark.usefixtures("tex_tools")
def test_concurrent_builds_of_two_configs_into_one_root_leave_a_true_manifest(workdir):
    _config(workdir / "one.toml", '[figures.a]\nkind = "arithmetic"\ntype = "pdf"\n'
                                  '[figures.b]\nkind = "arithmetic"\ntype = "pdf"\ninput-size = 4\n')
    _config(workdir / "two.toml", '[figures.c]\nkind = "arithmetic"\ntype = "pdf"\n'
                                  'input-size = 6\n')
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    for _ in range(4):
        for out in (workdir / "out").glob("*"):
            out.unlink()
        procs = [subprocess.Popen([sys.executable, "-m", "convanim", "build", name, "--quiet"],
                                  cwd=workdir, env=env)
                 for name in ("one.toml", "two.toml", "one.toml")]
        assert [p.wait(timeout=240) for p in procs] == [0, 0, 0]
        for name in ("one.toml", "two.toml"):
            check = subprocess.run([sys.executable, "-m", "convanim", "build", name, "--check"],
                                   cwd=workdir, env=env, capture_output=True, text=True,
                                   timeout=120)
            assert check.returncode == 0, check.stderr


# --- a full disk -------------------------------------------------------------------------------

@pytest.mark.usefixtures("tex_tools")
def test_a_full_disk_reports_every_figure_and_leaves_no_empty_folder(workdir, capsys,
                                                                      monkeypatch):
    _config(workdir / "figs.toml", '[figures.a]\nkind = "arithmetic"\ntype = "pdf"\n'
                                   'out-dir = "deep/a"\n'
                                   '[figures.b]\nkind = "arithmetic"\ntype = "pdf"\n'
                                   'out-dir = "deep/b"\ninput-size = 4\n')

    def full(pairs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(pairs[0][1]))

    monkeypatch.setattr(files, "place_all", full)
    status, out, err = run(capsys, "build", "figs.toml", "--quiet")
    assert status == 1 and out == []
    assert sum("figure 'a'" in line and "No space left" in line for line in err) == 1, err
    assert sum("figure 'b'" in line and "No space left" in line for line in err) == 1, err
    assert any(".convanim-build.json" in line for line in err), err
    assert files_under(workdir) == [Path(build.LOCK), Path("figs.toml")], files_under(workdir)
    assert [p for p in workdir.rglob("*") if p.is_dir()] == []
