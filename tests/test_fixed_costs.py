"""What small figures no longer pay for: compiled templates kept in the cache, and a
subsampled palette sample that quantizes as well as the full one."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from convanim import tex
from convanim.cache import code_fingerprint
from convanim.engine import encoders, raster, texpool, tools
from convanim.cache import Cache

from helpers import PROJECT, run

FIGURE = ["arithmetic", "f", "-i", "5", "-k", "3", "-s", "2", "-a", "-qa", "30", "--quiet"]


def figure(*args):
    from convanim.cli import plan_command

    return plan_command([*args, "--quiet"])


@pytest.fixture
def fresh_environment():
    """A Jinja environment with nothing compiled in memory, as a new process has."""
    tex.environment.cache_clear()
    yield
    tex.environment.cache_clear()


def test_compiled_templates_are_loaded_not_compiled_again(tmp_path, fresh_environment,
                                                          monkeypatch):
    import jinja2

    f = figure("alphabet", "-i", "4", "-k", "2", "-a")
    with tex.compiled_templates_in(tmp_path):
        first = f.tex()
    stored = sorted(p.name for p in tmp_path.iterdir())
    # base, preamble, macros and alphabet itself; no temporary file left
    assert len(stored) == 4 and all(n.endswith(".cache") for n in stored)
    tex.environment.cache_clear()
    monkeypatch.setattr(jinja2.Environment, "compile",
                        lambda *a, **k: pytest.fail("compiled a stored template"))
    with tex.compiled_templates_in(tmp_path):
        assert f.tex() == first


def test_a_damaged_or_stale_compiled_template_is_compiled_anew(tmp_path, fresh_environment):
    f = figure("arithmetic", "-e", "2")
    with tex.compiled_templates_in(tmp_path):
        first = f.tex()
    for p in tmp_path.iterdir():
        p.write_bytes(b"j2" + b"\x00" * 10)
    tex.environment.cache_clear()
    with tex.compiled_templates_in(tmp_path):
        assert f.tex() == first
    assert all(p.stat().st_size > 100 for p in tmp_path.iterdir()), "stored again, whole"


def test_outside_the_block_nothing_is_stored(tmp_path, fresh_environment):
    with tex.compiled_templates_in(tmp_path / "c"):
        pass
    figure("arithmetic", "-e", "2").tex()
    assert not (tmp_path / "c").exists()


@pytest.mark.usefixtures("tex_tools")
def test_a_figure_command_keeps_its_compiled_templates_in_the_cache(workdir, capsys,
                                                                   fresh_environment):
    assert run(capsys, *FIGURE)[0] == 0
    stored = list((Cache().root / "templates").rglob("*.cache"))
    assert len(stored) == 4
    assert {p.parent.name for p in stored} == {code_fingerprint()[:16]}


@pytest.mark.usefixtures("tex_tools")
def test_no_cache_stores_no_compiled_template(workdir, capsys, fresh_environment):
    assert run(capsys, *FIGURE, "--no-cache")[0] == 0
    assert not (Cache().root / "templates").exists()


def gif_error(pdf: Path, work: Path, limit: int, monkeypatch) -> float:
    """Worst frame's mean difference from the full-colour pages, palette sampled with
    PALETTE_PIXELS = ``limit``."""
    subprocess.run(["pdftoppm", "-r", "150", str(pdf), str(work / "d")], check=True)
    frames = []
    for p in sorted(work.glob("d-*.ppm")):
        with Image.open(p) as im:
            frames.append(im.convert("RGB"))
    picks = sorted({1, (len(frames) + 1) // 2, len(frames)})
    monkeypatch.setattr(encoders, "PALETTE_PIXELS", limit)
    encoders.write_gif([[frames[p - 1] for p in picks], frames], work / "o.gif", 100)
    worst = 0.0
    with Image.open(work / "o.gif") as gif:
        assert gif.n_frames == len(frames)
        for n, f in enumerate(frames):
            gif.seek(n)
            diff = ImageChops.difference(f, gif.convert("RGB"))
            worst = max(worst, sum(ImageStat.Stat(diff).mean) / 3)
    return worst


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("args", [["alphabet", "-i", "5", "-k", "3", "-a"],
                                  ["arithmetic", "-i", "5", "-k", "3", "-s", "2", "-a",
                                   "--theme", "dark"]])
def test_a_subsampled_palette_sample_quantizes_as_well_as_the_full_one(tmp_path, monkeypatch,
                                                                       args):
    work = tmp_path / "tex"
    work.mkdir()
    pdf = texpool.compile_pdf(figure(*args).tex(), work, 1, False)
    w, h = raster.page_pixels(pdf, 150)
    assert 3 * w * h > encoders.PALETTE_PIXELS, "the sample is subsampled"
    full = gif_error(pdf, work, 10**12, monkeypatch)
    sub = gif_error(pdf, work, encoders.PALETTE_PIXELS, monkeypatch)
    assert sub <= full * 1.05 + 0.05, (sub, full)
    assert full < 4  # a few antialiased edge pixels off, the flat colours exact
    assert sub < 1  # under one level of 255 on average


THREADS_AFTER_CLI = """
import os, sys
sys.argv = ["convanim", "--version"]
try:
    import convanim.__main__
except SystemExit:
    pass
import numpy  # as a kind that computes values imports it, after the command's start
print(len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="OpenBLAS starts no thread on one core")
@pytest.mark.parametrize("setting, threads", [(None, 1), ("2", 2)])
def test_the_command_starts_no_blas_thread_pool_unless_the_user_asks(setting, threads):
    """numpy's OpenBLAS starts a thread per core at import (tens of ms of a 4-frame
    figure); the command's arrays are tiny. A user's own setting is kept."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if setting:
        env["OPENBLAS_NUM_THREADS"] = setting
    out = subprocess.run([sys.executable, "-c", THREADS_AFTER_CLI], env=env, cwd=PROJECT,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[-1:] == [str(threads)]


SCENES_AFTER_PARSE = """
import sys
from convanim.cli import build_parser
build_parser(sys.argv[1]).parse_args(sys.argv[1:])
print(*sorted(m for m in sys.modules if m.startswith("convanim.scenes.")))
"""


@pytest.mark.parametrize("command, loaded", [
    (["arithmetic", "-i", "5"], ["convanim.scenes.arithmetic"]),
    (["numerical", "-i", "5"], ["convanim.scenes.numerical"]),
    # alphabet draws grouped convolutions with channels' planes
    (["alphabet", "-i", "5"], ["convanim.scenes.alphabet", "convanim.scenes.alphabet_channels",
                               "convanim.scenes.channels", "convanim.scenes.channels_layout"]),
])
def test_a_figure_command_loads_only_its_own_scene(command, loaded):
    """Six scene modules take tens of ms to import; a figure command needs one."""
    out = subprocess.run([sys.executable, "-c", SCENES_AFTER_PARSE, *command], cwd=PROJECT,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == loaded


def test_the_top_level_help_still_has_every_kinds_line():
    from convanim import kinds

    out = subprocess.run([sys.executable, "-m", "convanim", "--help"], cwd=PROJECT,
                         capture_output=True, text=True, check=True).stdout
    for name in kinds.names():
        first_words = " ".join(kinds.get(name).summary.split()[:4])
        assert first_words in " ".join(out.split()), name


NUMPY_AFTER_ARITHMETIC = """
import runpy, sys
sys.argv = ["convanim", *sys.argv[1:], "--no-cache", "--quiet"]
try:
    runpy.run_module("convanim", run_name="__main__")
except SystemExit as e:
    assert not e.code, e.code
print("numpy" in sys.modules)
"""


@pytest.mark.parametrize("argv", ["arithmetic -i 5 -k 3 -s 2 -a -qa 20",
                                  "arithmetic -i 5 -k 3 -p 1 --padding-mode reflect --copies "
                                  "--labels -y pdf",
                                  "arithmetic -i 1x9 -k 1x3 --causal -t -y pdf",
                                  "alphabet -i 5 -k 3 -a -qa 20",
                                  "alphabet -i 5 -k 3 -s 2 -t -y pdf",
                                  "alphabet -i 4 -k 3 --in-channels 2 --out-channels 4 "
                                  "--groups 2 -y pdf"])
@pytest.mark.usefixtures("tex_tools")
def test_the_arithmetic_and_alphabet_figures_never_import_numpy(tmp_path, argv):
    """Their scenes are a few dozen integers (alphabet's matrix at most 64x64 entries);
    numpy's import was a sixth of the 4-frame animation's command (60-170 ms)."""
    out = subprocess.run([sys.executable, "-c", NUMPY_AFTER_ARITHMETIC, *argv.split()],
                         cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(PROJECT)},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[-1] == "False"


@pytest.mark.usefixtures("tex_tools")
def test_frames_of_few_pixels_take_their_palette_sample_from_themselves(tmp_path, monkeypatch):
    """Past CHUNK pages, a figure of few pixels in all (16 frames of alphabet with groups:
    4.3 Mpx) is held whole, so it needs no sample rasterised at half the DPI first: three
    pdftoppm runs one after another, 0.1 s of a 0.9 s command. Its frames are the same."""
    fig = figure("alphabet", "-i", "4", "-k", "3", "--in-channels", "2", "--out-channels", "4",
                 "--groups", "2", "-a")
    pages = fig.steps
    assert pages > raster.CHUNK
    pdf = texpool.compile_pdf(fig.tex(), tmp_path, pages, False)
    calls = []
    real_run = tools.run
    monkeypatch.setattr(tools, "run", lambda cmd: (calls.append(cmd), real_run(cmd))[1])

    def rasterised(small_pixels):
        monkeypatch.setattr(raster, "SMALL_PIXELS", small_pixels)
        calls.clear()
        sample, *chunks = raster.raster_chunks(pdf, tmp_path, pages, 40, False)
        return ([c[c.index("-r") + 1] for c in calls], [im.tobytes() for im in sample],
                [im.tobytes() for chunk in chunks for im in chunk])

    dpis, sample, frames = rasterised(raster.SMALL_PIXELS)
    assert set(dpis) == {"40"}
    picks = sorted({1, (pages + 1) // 2, pages})
    assert sample == [frames[p - 1] for p in picks]
    big_dpis, _, big_frames = rasterised(0)  # as a large figure: a half-DPI sample first
    assert big_dpis.count("20") == 3 and big_frames == frames
