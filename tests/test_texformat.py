"""The precompiled preamble: built once, reused, rebuilt when TeX or convanim changes,
safe on concurrent first use, a fallback when the dump fails, and the same PDFs."""
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from convanim import engine, texformat
from convanim.engine import raster, texpool
from convanim.cache import Cache
from convanim.errors import ToolError

from helpers import PROJECT, pdf_pages, run

pytestmark = pytest.mark.usefixtures("tex_tools")

FIGURE = ["arithmetic", "f", "-i", "5", "-k", "3", "-s", "2", "-a", "-qa", "30", "--quiet"]


def figure_tex(*args) -> str:
    from convanim.cli import plan_command

    return plan_command([*args, "--quiet"]).tex()


def formats(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.fmt"))


@pytest.fixture
def folder(tmp_path):
    """A formats folder of its own: the session's shared one stays untouched."""
    return tmp_path / "formats"


@pytest.mark.parametrize("kind", ["arithmetic", "numerical", "alphabet", "im2col"])
def test_every_figure_kind_starts_with_the_common_preamble(kind):
    body = texformat.split(figure_tex(kind))
    assert body is not None and body.lstrip().startswith("\\pagestyle{empty}")


def test_a_figure_command_builds_the_format_in_the_cache_once(workdir, capsys, monkeypatch):
    folder = Cache().root / "formats"
    fmt = texformat.lookup(folder)  # the session's, built by whichever test came first
    assert fmt is not None and fmt.parent == folder and fmt.stat().st_size > 1_000_000
    assert fmt.read_bytes()[:2] != b"\x1f\x8b", "stored uncompressed: it loads 4x faster"
    built = fmt.stat().st_mtime_ns
    used = []
    real = texpool.compile_pdf
    monkeypatch.setattr(texpool, "compile_pdf",
                        lambda *a, **k: used.append(a[4]) or real(*a, **k))
    monkeypatch.setattr(texformat, "_build", lambda *a: pytest.fail("rebuilt a fresh format"))
    assert run(capsys, *FIGURE)[0] == 0
    assert run(capsys, *FIGURE, "--delay", "500")[0] == 0  # another figure, same format
    assert len(used) >= 2 and set(used) == {fmt}  # every share of both figures uses it
    assert fmt.stat().st_mtime_ns == built and formats(folder) == [fmt.name]


def test_no_cache_compiles_with_the_plain_preamble(workdir, capsys, monkeypatch):
    used = []
    real = texpool.compile_pdf
    monkeypatch.setattr(texpool, "compile_pdf",
                        lambda *a, **k: used.append(a[4:]) or real(*a, **k))
    assert run(capsys, *FIGURE, "--no-cache")[0] == 0
    assert used and set(used) == {(None, None)}  # no format, no pdflatex started early


def test_the_format_is_rebuilt_when_convanim_or_tex_changes(folder, monkeypatch):
    first = texformat.lookup(folder)
    assert first is not None
    monkeypatch.setattr(texformat, "__version__", "99.0")
    second = texformat.lookup(folder)
    assert second is not None and second != first  # a new version, a new format
    assert formats(folder) == sorted([first.name, second.name])
    # a file the dump read has changed (TikZ updated): the manifest no longer matches
    manifest = second.with_suffix(".json")
    data = json.loads(manifest.read_text())
    read = {Path(path).name: (size, mtime) for path, size, mtime in data["files"]}
    assert {"tikz.sty", "pdflatex.fmt", "graphicx.sty"} <= set(read)
    for entry in data["files"]:
        if entry[0].endswith("tikz.sty"):
            entry[1] += 1
    manifest.write_text(json.dumps(data))
    before = second.stat().st_mtime_ns
    assert texformat.lookup(folder) == second
    assert second.stat().st_mtime_ns != before, "rebuilt in place"
    again = {Path(p).name: (size, mtime) for p, size, mtime in
             json.loads(manifest.read_text())["files"]}
    assert again == read


def fake_pdflatex(tmp_path, monkeypatch, refuse: str) -> None:
    """pdflatex on PATH that fails whenever its arguments contain ``refuse``."""
    real = subprocess.run(["which", "pdflatex"], capture_output=True, text=True).stdout.strip()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pdflatex").write_text(f'#!/bin/sh\ncase "$*" in *{refuse}*) exit 1;; esac\n'
                                   f'exec {real} "$@"\n')
    (fake / "pdflatex").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")


def test_a_failed_dump_falls_back_to_the_plain_preamble(tmp_path, folder, monkeypatch):
    fake_pdflatex(tmp_path, monkeypatch, refuse="-ini")
    assert texformat.lookup(folder) is None
    failed = list(folder.glob("*.failed"))
    assert len(failed) == 1 and formats(folder) == []
    # the marker holds: the next figure neither dumps again nor waits for it
    monkeypatch.setattr(texformat, "_build", lambda *a: pytest.fail("dumped again"))
    assert texformat.lookup(folder) is None
    work = tmp_path / "w"
    work.mkdir()
    pdf = texpool.compile_pdf(figure_tex("arithmetic", "-e", "2"), work, 1, False, None)
    assert len(pdf_pages(pdf)) == 1


def test_a_failed_dump_is_tried_again_a_day_later(tmp_path, folder, monkeypatch):
    fake_pdflatex(tmp_path, monkeypatch, refuse="-ini")
    assert texformat.lookup(folder) is None
    marker = next(folder.glob("*.failed"))
    old = marker.stat().st_mtime - texformat.RETRY_FAILED_S - 60
    os.utime(marker, (old, old))
    tries = []
    monkeypatch.setattr(texformat, "_build", lambda *a: tries.append(a) or None)
    texformat.lookup(folder)
    assert len(tries) == 1


def test_a_format_pdflatex_refuses_is_dropped_and_the_figure_still_made(tmp_path, folder):
    fmt = texformat.lookup(folder)
    fmt.write_bytes(b"not a format")  # as a format of another pdftex would be refused
    work = tmp_path / "w"
    work.mkdir()
    pdf = texpool.compile_pdf(figure_tex("arithmetic", "-e", "2"), work, 1, False, fmt)
    assert len(pdf_pages(pdf)) == 1
    assert not fmt.exists() and not fmt.with_suffix(".json").exists()
    assert texformat.lookup(folder) == fmt and fmt.stat().st_size > 1_000_000  # built anew


def test_a_tex_error_is_reported_once_with_the_full_documents_line_number(tmp_path, folder):
    fmt = texformat.lookup(folder)
    tex = texformat.preamble() + "\\begin{document}\n\n\\undefinedmacro\n\\end{document}\n"
    lines = []
    for use in (fmt, None):
        work = tmp_path / str(use is None)
        work.mkdir()
        with pytest.raises(ToolError, match=r"^LaTeX failed: ! Undefined control sequence"):
            texpool.compile_pdf(tex, work, 1, False, use)
        log = (work / "figure.log").read_text()
        lines.append([x for x in log.splitlines() if x.startswith("l.")])
    line = tex.splitlines().index("\\undefinedmacro") + 1  # the full document's line
    assert lines[0] == lines[1] == [f"l.{line} \\undefinedmacro"]
    assert fmt.is_file(), "a TeX error is the document's, not the format's"


def rasters(pdf: Path, work: Path) -> list:
    subprocess.run(["pdftoppm", "-r", "40", str(pdf), str(work / "r")], check=True)
    out = []
    for p in sorted(work.glob("r-*.ppm")):
        with Image.open(p) as im:
            out.append(im.convert("RGB"))
    return out


@pytest.mark.parametrize("args", [["arithmetic", "-i", "5", "-k", "3", "-s", "2", "-a"],
                                  ["alphabet", "-i", "4", "-k", "2", "-a", "--theme", "dark"],
                                  ["numerical", "-i", "4", "-k", "3", "-p", "1", "-e", "3",
                                   "--caption", "x_1 & 50%"]])
def test_the_format_makes_the_same_pdf_as_the_plain_preamble(tmp_path, folder, args):
    fmt = texformat.lookup(folder)
    tex = figure_tex(*args)
    made = {}
    for use in (fmt, None):
        work = tmp_path / ("fmt" if use else "plain")
        work.mkdir()
        pdf = texpool.compile_pdf(tex, work, 1, False, use)
        made[use] = (pdf_pages(pdf), rasters(pdf, work))
        assert ("preloaded format=" + fmt.stem in (work / "figure.log").read_text()) == bool(use)
    (pages, images), (plain_pages, plain_images) = made[fmt], made[None]
    assert pages == plain_pages and len(pages) >= 1
    assert len(images) == len(plain_images) == len(pages)
    for a, b in zip(images, plain_images):
        assert a.size == b.size and ImageChops.difference(a, b).getbbox() is None


def test_two_threads_on_first_use_both_draw_and_one_format_is_built(tmp_path, folder,
                                                                    monkeypatch):
    builds = []
    real = texformat._build
    monkeypatch.setattr(texformat, "_build", lambda *a: builds.append(a) or real(*a))
    tex = figure_tex("arithmetic", "-e", "2")
    results, errors = {}, []

    def draw(n):
        try:
            work = tmp_path / f"w{n}"
            work.mkdir()
            pdf = texpool.compile_pdf(tex, work, 1, False, texformat.lookup(folder))
            results[n] = pdf_pages(pdf)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=draw, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results[0] == results[1] and len(results[0]) == 1
    assert len(builds) == 1, "the second waits for nothing: it draws without the format"
    assert len(formats(folder)) == 1 and not list(folder.glob(".tmp-*"))


def test_two_processes_on_first_use_make_the_same_figure(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(PROJECT)}
    procs = []
    for n in range(2):
        (tmp_path / f"p{n}").mkdir()
        procs.append(subprocess.Popen([sys.executable, "-m", "convanim", *FIGURE, "-y", "pdf"],
                                      cwd=tmp_path / f"p{n}", env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    pages = [pdf_pages(tmp_path / f"p{n}" / "out/f.pdf") for n in range(2)]
    assert pages[0] == pages[1] and len(pages[0]) == 4
    folder = cache / "convanim" / "formats"
    assert len(formats(folder)) == 1 and len(list(folder.glob("*.json"))) == 1
    assert not list(folder.glob(".tmp-*")) and not list(folder.glob("*.failed"))


def test_the_page_size_comes_from_the_log_and_matches_pdfinfo(tmp_path, folder, monkeypatch):
    """The raster size check reads the size our documents log; pdfinfo says the same."""
    work = tmp_path / "w"
    work.mkdir()
    pdf = texpool.compile_pdf(figure_tex("alphabet", "-i", "5", "-k", "3", "-a"), work, 9,
                               False, texformat.lookup(folder))
    from_log = raster.page_pixels(pdf, 150)
    (w, h), = set(pdf_pages(pdf))
    assert abs(from_log[0] - w / 72 * 150) <= 1 and abs(from_log[1] - h / 72 * 150) <= 1
    ran = []
    monkeypatch.setattr(raster.subprocess, "run", lambda *a, **k: ran.append(a))
    assert raster.page_pixels(pdf, 150) == from_log and ran == []  # no pdfinfo
    monkeypatch.undo()
    pdf.with_suffix(".log").unlink()  # any other PDF: pdfinfo
    # the whole pixels the page covers (issue 31: no unpainted sliver past the page)
    assert raster.page_pixels(pdf, 150) == (int(w / 72 * 150), int(h / 72 * 150))


def test_pdflatex_starts_before_the_document_is_drawn_and_is_used(workdir, capsys,
                                                                  monkeypatch):
    started, given = [], []
    real_start, real_compile = texpool.start_pdflatex, texpool.compile_pdf
    monkeypatch.setattr(texpool, "start_pdflatex",
                        lambda *a: started.append(real_start(*a)) or started[-1])
    monkeypatch.setattr(texpool, "compile_pdf",
                        lambda *a, **k: given.append(a[5]) or real_compile(*a, **k))
    assert run(capsys, *FIGURE)[0] == 0
    # one for each share the idle cores allowed, each handed to its share's run
    assert started and sorted(map(id, given)) == sorted(map(id, started))
    assert all(p.returncode == 0 and any(a.startswith("-fmt=") for a in p.args)
               for p in started)
    assert len(pdf_pages(workdir / "out/f.pdf")) == 4


def test_a_failure_while_drawing_stops_the_early_pdflatex(tmp_path, monkeypatch):
    started = []
    real_start = texpool.start_pdflatex
    monkeypatch.setattr(texpool, "start_pdflatex",
                        lambda *a: started.append(real_start(*a)) or started[-1])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(engine.tempfile, "tempdir", str(scratch))

    def broken():
        assert started and started[0].poll() is None, "pdflatex waits for its input"
        raise RuntimeError("scene failed")

    products = [engine.Product("pdf", tmp_path / "f.pdf")]
    with pytest.raises(RuntimeError, match="scene failed"):
        engine.render(broken, 1, products, params={"x": 1}, cache=Cache(tmp_path / "c"))
    assert started[0].returncode is not None  # stopped and reaped
    assert list(scratch.iterdir()) == [] and not (tmp_path / "f.pdf").exists()


def test_an_early_pdflatex_is_not_used_for_a_document_of_another_preamble(tmp_path, folder):
    fmt = texformat.lookup(folder)
    work = tmp_path / "w"
    work.mkdir()
    early = texpool.start_pdflatex(work, fmt)
    tex = "\\documentclass{article}\\pagestyle{empty}\\begin{document}x\\end{document}\n"
    pdf = texpool.compile_pdf(tex, work, 1, False, fmt, early)
    assert early.returncode is not None and len(pdf_pages(pdf)) == 1
    assert "preloaded format=" + fmt.stem not in (work / "figure.log").read_text()
