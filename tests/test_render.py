"""The one-pass pipeline: pages, frames, atomic outputs, the cache, tool and TeX errors."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from convanim import engine
from convanim.engine import encoders, raster, texpool, tools
from convanim import theme
from convanim.errors import ToolError

pytestmark = pytest.mark.usefixtures("tex_tools")

from helpers import PROJECT, files_under, pdf_pages, run


def test_animation_has_one_page_and_one_frame_per_step(workdir, capsys):
    status, out, _ = run(capsys, "arithmetic", "anim", "-i", "5", "-k", "3", "-s", "2", "-a",
                         "--quiet", "-qa", "40", "--delay", "250")
    assert status == 0
    assert [str(p) for p in out] == ["out/anim.pdf", "gif/anim.gif"]
    pages = pdf_pages(workdir / "out/anim.pdf")
    assert len(pages) == 4
    assert len(set(pages)) == 1, "every frame must have the same page size"
    with Image.open(workdir / "gif/anim.gif") as gif:
        assert gif.n_frames == 4
        assert gif.info["loop"] == 0
        assert gif.info["duration"] == 250
        # the page's own background at the corner (it was the white strip of the border
        # fault before: the page was drawn one border too low)
        bg = theme.palette("print")["background"]  # the default theme
        assert gif.convert("RGB").getpixel((0, 0)) == tuple(int(bg[i:i + 2], 16)
                                                            for i in (0, 2, 4))


def test_transposed_animation_steps_over_every_output_cell(workdir, capsys):
    status, out, _ = run(capsys, "arithmetic", "t", "-i", "6", "-k", "3", "-s", "2", "-p", "1",
                         "-t", "-a", "--quiet", "-qa", "30")
    assert status == 0
    assert len(pdf_pages(workdir / "out/t.pdf")) == 36  # output padding 1 brings 3x3 back to 6x6
    with Image.open(workdir / "gif/t.gif") as gif:
        assert gif.n_frames == 36


def test_png_frame_follows_the_requested_dpi(workdir, capsys):
    run(capsys, "arithmetic", "lo", "-q", "50", "--quiet")
    run(capsys, "arithmetic", "hi", "-q", "100", "--quiet")
    with Image.open(workdir / "out/lo_00.png") as lo, Image.open(workdir / "out/hi_00.png") as hi:
        assert abs(hi.width - 2 * lo.width) <= 2 and abs(hi.height - 2 * lo.height) <= 2


def test_svg_frame(workdir, capsys):
    status, out, _ = run(capsys, "arithmetic", "v", "-e", "2", "-y", "svg", "--quiet")
    assert status == 0 and [p.name for p in out] == ["v_02.svg"]
    assert b"<svg" in (workdir / "out/v_02.svg").read_bytes()[:2000]


def test_outputs_appear_whole_and_leave_no_temporary_files(workdir, capsys):
    run(capsys, "arithmetic", "a", "-a", "--quiet", "-qa", "30", "--json")
    assert files_under(workdir) == [Path("gif/a.gif"), Path("out/a.json"), Path("out/a.pdf")]


def test_a_failed_render_leaves_earlier_outputs_untouched(workdir, capsys, monkeypatch):
    (workdir / "out").mkdir()
    (workdir / "out/x_00.png").write_bytes(b"earlier")

    def broken(*a, **k):
        raise ToolError("LaTeX failed: ! simulated")

    monkeypatch.setattr(texpool, "compile_pdf", broken)
    temp = workdir.parent / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    status, out, err = run(capsys, "arithmetic", "x", "--quiet")
    assert status == 1 and out == []
    assert err == ["convanim: error: LaTeX failed: ! simulated"]
    assert (workdir / "out/x_00.png").read_bytes() == b"earlier"
    assert files_under(workdir) == [Path("out/x_00.png")]
    assert list(temp.iterdir()) == []  # no log to keep: no work folder kept


def test_an_unchanged_figure_is_served_from_the_cache_without_tex(workdir, capsys, monkeypatch):
    run(capsys, "arithmetic", "c", "-a", "--quiet", "-qa", "30")
    first = (workdir / "gif/c.gif").read_bytes()
    (workdir / "gif/c.gif").unlink()

    def no_tex(*a, **k):
        raise AssertionError("pdflatex ran on a cache hit")

    monkeypatch.setattr(texpool, "compile_pdf", no_tex)
    status, _, _ = run(capsys, "arithmetic", "c", "-a", "--quiet", "-qa", "30")
    assert status == 0 and (workdir / "gif/c.gif").read_bytes() == first
    # another name for the same picture is still a hit; another picture is not
    assert run(capsys, "arithmetic", "other-name", "-a", "--quiet", "-qa", "30")[0] == 0
    with pytest.raises(AssertionError, match="pdflatex ran"):
        run(capsys, "arithmetic", "c", "-a", "--quiet", "-qa", "30", "--delay", "500")


def test_no_cache_always_compiles(workdir, capsys, monkeypatch):
    run(capsys, "arithmetic", "n", "--quiet", "-q", "30")
    calls = []
    real = texpool.compile_pdf
    monkeypatch.setattr(texpool, "compile_pdf",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    run(capsys, "arithmetic", "n", "--quiet", "-q", "30", "--no-cache")
    assert calls == [1]


def test_tex_error_names_the_first_bang_line_and_the_log(tmp_path):
    bad = r"\documentclass{article}\begin{document}\undefinedmacro\end{document}"
    with pytest.raises(ToolError) as e:
        texpool.compile_pdf(bad, tmp_path, 1, progress=False)
    message = str(e.value)
    assert message.startswith("LaTeX failed: ! Undefined control sequence.")
    log = message.split("(log: ")[1].rstrip(")")
    assert os.path.isfile(log)


def test_missing_pdflatex_says_how_to_install_it(workdir):
    env = {**os.environ, "PATH": str(workdir), "PYTHONPATH": str(PROJECT)}  # no TeX, no poppler
    proc = subprocess.run([sys.executable, "-m", "convanim", "arithmetic", "--no-cache",
                           "--quiet"], cwd=workdir, env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("convanim: error: pdflatex not found: install TeX Live")
    assert "apt-get install" in lines[0]
    assert files_under(workdir) == []


def test_gif_frames_of_different_sizes_are_padded_onto_one_canvas(tmp_path):
    frames = [Image.new("RGB", (20, 10), "blue"), Image.new("RGB", (16, 12), "red")]
    encoders.write_gif([frames, frames[:1], frames[1:]], tmp_path / "f.gif", 100)
    with Image.open(tmp_path / "f.gif") as gif:
        assert gif.size == (20, 12) and gif.n_frames == 2
        gif.seek(1)
        rgb = gif.convert("RGB")
        assert rgb.getpixel((0, 0)) == (255, 0, 0)
        assert rgb.getpixel((19, 11)) == (255, 255, 255)


def test_an_unwritable_folder_is_one_line_and_leaves_nothing(workdir, capsys):
    status, out, err = run(capsys, "arithmetic", "u", "-a", "-qa", "30", "--quiet",
                           "--gif-dir", "/proc/convanim-test/gif")
    assert status == 1 and out == []
    assert len(err) == 1 and err[0].startswith("convanim: error: ")
    assert files_under(workdir) == [] and not (workdir / "out").exists()


def test_work_folders_are_removed_unless_tex_failed(workdir, capsys, monkeypatch, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(engine.tempfile, "tempdir", str(scratch))
    assert run(capsys, "arithmetic", "w", "--quiet", "-q", "30")[0] == 0
    assert list(scratch.iterdir()) == []

    def broken(*a, **k):
        raise RuntimeError("raster failed")

    monkeypatch.setattr(engine, "_WRITERS", dict.fromkeys(engine._WRITERS, broken))
    with pytest.raises(RuntimeError):
        run(capsys, "arithmetic", "w", "--quiet", "-q", "30", "--no-cache")
    assert list(scratch.iterdir()) == []
    def tex_failed(tex, work, *a, **k):
        (work / "figure.log").write_text("! simulated\n")
        raise ToolError("LaTeX failed")

    monkeypatch.setattr(texpool, "compile_pdf", tex_failed)
    run(capsys, "arithmetic", "w", "--quiet", "-q", "30", "--no-cache")
    kept = list(scratch.iterdir())
    assert len(kept) == 1 and (kept[0] / "figure.log").is_file()  # kept for its log


def test_tex_error_message_keeps_its_continuation_lines(tmp_path):
    bad = r"\documentclass{article}\begin{document}\begin{tabular}\end{document}"
    with pytest.raises(ToolError) as e:
        texpool.compile_pdf(bad, tmp_path, 1, progress=False)
    assert "LaTeX failed: !" in str(e.value) and "(log: " in str(e.value)


def test_a_gif_beyond_the_pixel_budget_is_refused(workdir, capsys, monkeypatch):
    monkeypatch.setattr(raster, "MAX_GIF_PIXELS", 1000)
    status, out, err = run(capsys, "arithmetic", "big", "-a", "--quiet")
    assert status == 2 and out == []
    assert err[0].startswith("convanim: error: GIF too large: 9 frames of ")
    assert files_under(workdir) == []


@pytest.mark.parametrize("change", [["--labels"], ["--caption", "other"], ["-e", "1"], ["-s", "2"]])
def test_what_changes_the_picture_changes_the_cache_key(workdir, capsys, monkeypatch, change):
    run(capsys, "arithmetic", "k", "--quiet", "-q", "30")
    calls = []
    real = texpool.compile_pdf
    monkeypatch.setattr(texpool, "compile_pdf",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    run(capsys, "arithmetic", "k", "--quiet", "-q", "30", *change)
    assert calls == [1]


def test_palette_sample_and_chunks_never_share_file_names(tmp_path, monkeypatch):
    """At -qa 10 the half-resolution sample ran at the chunks' DPI and wrote the same
    p00001-10*.ppm names from another thread: frames were read half-written or deleted."""
    calls = []
    real = tools.run

    def record(cmd):
        if cmd[0] == "pdftoppm":
            calls.append((Path(cmd[-1]).name, cmd[cmd.index("-f") + 1], cmd[cmd.index("-l") + 1]))
        return real(cmd)

    monkeypatch.setattr(tools, "run", record)
    monkeypatch.setattr(raster, "SMALL_PIXELS", 0)  # rasterised as a large figure is
    work = tmp_path / "w"
    work.mkdir()
    tex = texpool.compile_pdf(r"\documentclass{article}\pagestyle{empty}\begin{document}"
                             + r"x\newpage " * 25 + r"\end{document}", work, 25, False)
    chunks = list(raster.raster_chunks(tex, work, 25, 10, False))
    assert [len(c) for c in chunks] == [3, 12, 12, 1]  # sample of 3, then every page
    names = [name for name, *_ in calls]
    assert len(set(names)) == len(names), calls
    assert not any(work.glob("*.ppm"))
