"""Placement of outputs: all or none, the real cause named, only regular files replaced."""
import os
import tempfile
from pathlib import Path

import pytest

from convanim import files
from convanim.errors import SpecError

from helpers import files_under, run


def entries(root) -> list[str]:
    """Every file and folder under root, hidden ones included."""
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


# ---------------------------------------------------------------- all or none

def test_a_folder_that_cannot_be_written_leaves_nothing_and_is_named(workdir, monkeypatch):
    (workdir / "gif").mkdir()
    real_mkstemp = tempfile.mkstemp

    def refuse_in_gif(*a, dir=None, **kw):  # root ignores permissions: refuse like EACCES
        if Path(dir).name == "gif":
            raise PermissionError(13, "Permission denied", str(Path(dir) / ".convanim-x.tmp"))
        return real_mkstemp(*a, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", refuse_in_gif)
    with pytest.raises(PermissionError, match=r"cannot write gif/a.gif: Permission denied"):
        files.place_all([(b"pdf", Path("newout/a.pdf")), (b"gif", Path("gif/a.gif"))])
    assert entries(workdir) == ["gif"]  # no newout/, no newout/.convanim-*.tmp


def test_a_failed_rename_undoes_the_renames_before_it(workdir, monkeypatch):
    (workdir / "out").mkdir()
    (workdir / "out/a.pdf").write_bytes(b"old pdf")
    real_replace, calls = os.replace, []

    def fail_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_second)
    with pytest.raises(OSError, match="No space left"):
        files.place_all([(b"new pdf", Path("out/a.pdf")), (b"json", Path("out/a.json")),
                         (b"gif", Path("gif/a.gif"))])
    assert entries(workdir) == ["out", "out/a.pdf"]
    assert (workdir / "out/a.pdf").read_bytes() == b"old pdf"


@pytest.mark.usefixtures("tex_tools")
def test_the_cli_names_the_real_cause_and_leaves_nothing(workdir, capsys, monkeypatch):
    (workdir / "gif").mkdir()
    real_mkstemp = tempfile.mkstemp
    monkeypatch.setattr(tempfile, "mkstemp", lambda *a, dir=None, **kw: (
        (_ for _ in ()).throw(PermissionError(13, "Permission denied")) if Path(dir).name == "gif"
        else real_mkstemp(*a, dir=dir, **kw)))
    status, out, err = run(capsys, "arithmetic", "x", "-i", "3", "-k", "2", "-a", "-qa", "20",
                           "--quiet", "--out-dir", "newout")
    assert status == 1 and out == []
    assert err == ["convanim: error: cannot write gif/x.gif: Permission denied"]
    assert entries(workdir) == ["gif"]


def test_a_folder_where_the_json_goes_is_refused_before_any_work(workdir, capsys):
    (workdir / "out/x.json").mkdir(parents=True)
    status, out, err = run(capsys, "arithmetic", "x", "-i", "3", "-k", "2", "-a", "--json")
    assert status == 2 and out == []
    assert err == ["convanim: error: out/x.json exists and is a folder; refusing to replace it"]
    assert entries(workdir) == ["out", "out/x.json"]  # no PDF placed beside it


# ---------------------------------------------------------------- what may be replaced

def test_a_symlink_is_written_through_to_the_file_it_names(workdir, capsys):
    (workdir / "real.csv").write_text("old\n")
    (workdir / "link.csv").symlink_to("real.csv")
    status, out, err = run(capsys, "stats", "-i", "6", "--csv", "link.csv")
    assert status == 0 and str(out[-1]) == "link.csv" and err == []
    assert (workdir / "link.csv").is_symlink()
    assert (workdir / "real.csv").read_text().startswith("name,input_size,output_size")
    assert entries(workdir) == ["link.csv", "real.csv"]


@pytest.mark.parametrize("make,message", [
    (lambda w: (w / "t.csv").mkdir(), "t.csv exists and is a folder; refusing to replace it"),
    (lambda w: os.mkfifo(w / "t.csv"), "t.csv exists and is a pipe; refusing to replace it"),
    (lambda w: (w / "t.csv").symlink_to("missing.csv"),
     "t.csv is a symlink to {w}/missing.csv, which does not exist"),
    (lambda w: (w / "f").write_text("x"), None),
])
def test_stats_refuses_what_is_not_a_regular_file(workdir, capsys, make, message):
    make(workdir)
    before = entries(workdir)
    modes = {p: os.lstat(workdir / p).st_mode for p in before}
    path = "f/x.csv" if message is None else "t.csv"
    message = message or "cannot write f/x.csv: f is a file, not a folder"
    status, out, err = run(capsys, "stats", "-i", "6", "--csv", path)
    assert status == 2 and out == []
    assert err == [f"convanim: error: {message.format(w=workdir)}"]
    assert {p: os.lstat(workdir / p).st_mode for p in entries(workdir)} == modes


@pytest.mark.parametrize("flag", ["--csv", "--cfg"])
def test_an_empty_output_path_is_an_error(workdir, capsys, flag):
    status, out, err = run(capsys, "stats", flag, "")
    assert status == 2 and out == []
    assert err == [f"convanim: error: {flag} needs a file name, got an empty one"]
    assert entries(workdir) == []


def test_two_outputs_to_one_file_are_refused(workdir, capsys):
    status, _, err = run(capsys, "stats", "--csv", "a", "--cfg", "a")
    assert status == 2 and err == ["convanim: error: two outputs name the same file: a, a"]
    assert entries(workdir) == []


def test_target_of_a_regular_file_or_a_new_path_is_itself(tmp_path):
    (tmp_path / "f").write_text("x")
    assert files.target(tmp_path / "f") == tmp_path / "f"
    assert files.target(tmp_path / "new/deeper/g") == tmp_path / "new/deeper/g"
    with pytest.raises(SpecError, match="is a character device"):
        files.target("/dev/null")
