"""Issue #36: the temp sweep removes only work folders this program made (a marker inside,
owned by us), never another user's or another tool's ``convanim-*``."""
import os
import time

from convanim import files

DAY = 24 * 3600


def _age(path, seconds):
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_the_sweep_removes_old_work_folders_of_ours_and_nothing_else(tmp_path):
    notes = tmp_path / "convanim-notes"  # a user's folder, a day and more old
    (notes / "sub").mkdir(parents=True)
    (notes / "sub" / "thesis.tex").write_text("mine")
    venv = tmp_path / "convanim-docs-venv"  # another tool's
    venv.mkdir()
    stray = tmp_path / "convanim-file.txt"  # a plain file
    stray.write_text("x")
    ours = files.work_folder(tmp_path)
    assert ours.name.startswith("convanim-") and files.is_ours(ours)
    (ours / "figure.tex").write_text("left by a kill -9")
    fresh = files.work_folder(tmp_path)  # ours, but young: a render running now
    for path in (notes, venv, stray, ours):
        _age(path, 2 * DAY)
    files.sweep(tmp_path, "convanim-*", DAY)
    assert (notes / "sub" / "thesis.tex").read_text() == "mine"
    assert venv.is_dir() and stray.is_file() and fresh.is_dir()
    assert not ours.exists()


def test_a_marker_someone_else_could_plant_is_not_enough_without_our_uid(tmp_path, monkeypatch):
    ours = files.work_folder(tmp_path)
    _age(ours, 2 * DAY)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(ours).st_uid + 1)
    files.sweep(tmp_path, "convanim-*", DAY)
    assert ours.is_dir()


def test_renders_work_in_marked_folders(monkeypatch, tmp_path):
    from convanim.engine.texpool import TexPool

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    work, runs = TexPool().take_early(None)
    assert runs == [] and work.parent == tmp_path and files.is_ours(work)
