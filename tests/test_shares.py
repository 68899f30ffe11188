"""An animation's frames typeset by several pdflatex runs side by side (one per idle core)
make the very pages one run makes, and fail, count and stop as one run does."""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from convanim import kinds
from convanim.cache import cache_root
from convanim.engine import raster, texpool
from convanim.engine.texpool import POOL, TexPool
from convanim.cli import plan_command
from convanim.errors import SpecError, ToolError
from helpers import PROJECT, pdf_pages
from test_signals import SLOW, gone

pytestmark = pytest.mark.usefixtures("tex_tools")


def typeset_in(tmp_path, tex, pages, shares, **kw):
    folders = [tmp_path] + [tmp_path / f"share-{n}" for n in range(1, shares)]
    for folder in folders[1:]:
        folder.mkdir()
    return texpool.typeset(tex, folders, pages, False, **kw)


def frames(doc, work, pages):
    chunks = list(raster.raster_chunks(doc, work, pages, 24, False))[1:]
    return [hashlib.sha1(im.tobytes()).hexdigest() for chunk in chunks for im in chunk]


@pytest.mark.parametrize("argv", [
    "arithmetic -i 5 -k 3 -s 2 -p 1 -t -a",            # see-through window, inserted zeros
    "numerical -i 4 -k 3 --padding-mode reflect -p 1 -a",
    "im2col -i 4 -k 3 --phase gradient -a",
])
def test_shared_typesetting_draws_every_page_as_one_run_does(tmp_path, argv):
    figure = plan_command(argv.split())
    tex, pages = figure.tex(), figure.steps
    (tmp_path / "one").mkdir()
    (tmp_path / "three").mkdir()
    one = typeset_in(tmp_path / "one", tex, pages, 1)
    three = typeset_in(tmp_path / "three", tex, pages, 3)
    assert [n for _, n in three.shares] == [pages * (k + 1) // 3 - pages * k // 3
                                            for k in range(3)]
    want = frames(one, tmp_path / "one", pages)
    assert len(want) == pages and len(set(want)) > 1  # the frames differ from each other
    assert frames(three, tmp_path / "three", pages) == want
    whole = three.whole()
    assert len(pdf_pages(whole)) == pages
    assert frames(texpool.Typeset([(whole, pages)], tmp_path), tmp_path, pages) == want


def test_each_share_keeps_the_documents_lines_and_numbers_its_pages():
    tex = ("\\documentclass{article}\n\\newcounter{cvpage}\n\\begin{document}\n"
           + "".join(f"\\begin{{cvframe}}\nframe {n}\n\\end{{cvframe}}\n" for n in range(7))
           + "\\end{document}\n")
    parts = texpool.share_frames(tex, 7, 3)
    assert [count for _, count in parts] == [2, 2, 3]
    for text, _ in parts:
        assert text.count("\n") == tex.count("\n")  # an error's line is the document's
    kept = [re.findall(r"frame (\d)", text) for text, _ in parts]
    assert kept == [["0", "1"], ["2", "3"], ["4", "5", "6"]]
    assert "setcounter" not in parts[0][0]
    assert "\\setcounter{cvpage}{2}\\begin{cvframe}" in parts[1][0]
    assert "\\setcounter{cvpage}{4}\\begin{cvframe}" in parts[2][0]
    # not one frame per page: typeset whole
    assert texpool.share_frames(tex, 8, 2) is None


def children() -> set[int]:
    me, found = os.getpid(), set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == me and fields[0] != "Z":
                found.add(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_an_error_in_a_later_share_names_the_documents_line_and_stops_every_run(tmp_path):
    figure = plan_command("arithmetic -i 4 -k 3 -a".split())
    tex, pages = figure.tex(), figure.steps
    lines = tex.splitlines(keepends=True)
    last = max(n for n, line in enumerate(lines) if line.startswith("\\begin{cvframe}"))
    lines.insert(last + 1, "\\undefinedmacro\n")
    bad = "".join(lines)
    before = children()
    with pytest.raises(ToolError) as error:
        typeset_in(tmp_path, bad, pages, 2)
    assert "Undefined control sequence" in str(error.value)
    assert "share-1" in str(error.value)  # the log it points at is the share's
    log = (tmp_path / "share-1" / "figure.log").read_text(errors="replace")
    assert re.search(rf"^l\.{last + 2} \\undefinedmacro", log, re.M), log[-500:]
    assert children() <= before


def test_a_size_refused_on_page_one_stops_the_other_shares_at_once(tmp_path):
    figure = plan_command("numerical -i 7 -k 3 -p 1 -a".split())
    before, start = children(), time.monotonic()
    with pytest.raises(SpecError, match="too big"):
        typeset_in(tmp_path, figure.tex(), figure.steps, 2,
                   check_page=lambda w, h: "too big")
    assert children() <= before
    assert time.monotonic() - start < 20


def test_renders_of_one_process_share_the_cores(monkeypatch):
    pool = TexPool(cores=lambda: 4, busy=lambda: 0)
    monkeypatch.delenv("CONVANIM_TEX_JOBS", raising=False)
    assert pool.claim(49, False) == 4
    try:
        assert pool.claim(49, False) == 2   # a second figure of a build
        pool.release()
        few = 2 * texpool.SHARE_PAGES - 1   # a share has SHARE_PAGES pages at least
        assert pool.claim(few, False) == 1
        pool.release()
        assert pool.claim(few + 1, False) == 2
        pool.release()
    finally:
        pool.release()
    assert pool.renders == 0


def test_cores_busy_with_other_programs_are_left_to_them_unless_asked(monkeypatch):
    busy = 0
    pool = TexPool(cores=lambda: 4, busy=lambda: busy)
    monkeypatch.delenv("CONVANIM_TEX_JOBS", raising=False)
    for busy, shares in [(0, 4), (1, 3), (3, 1), (9, 1)]:
        assert pool.claim(49, False) == shares
        pool.release()
    monkeypatch.setenv("CONVANIM_TEX_JOBS", "3")
    assert pool.claim(49, False) == 3  # busy or not
    pool.release()
    assert pool.claim(2, False) == 2   # never more runs than pages
    pool.release()
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("CONVANIM_TEX_JOBS", bad)
        with pytest.raises(SpecError, match="CONVANIM_TEX_JOBS must be a whole number"):
            pool.claim(49, False)
    assert pool.renders == 0


def test_a_pool_of_its_own_leaves_the_process_pool_alone(monkeypatch):
    """Pools are objects: one a test (or a program) makes claims nothing of another's."""
    monkeypatch.delenv("CONVANIM_TEX_JOBS", raising=False)
    mine = TexPool(cores=lambda: 2, busy=lambda: 0)
    assert mine.claim(10, False) == 2 and mine.renders == 1 and POOL.renders == 0
    mine.release()


def test_the_instant_load_is_read_without_this_process(tmp_path):
    loadavg = tmp_path / "loadavg"
    for text, busy in [("2.95 1.10 0.40 3/120 4567\n", 2), ("0.00 0.00 0.00 1/80 12\n", 0),
                       ("garbage\n", 0)]:
        loadavg.write_text(text)
        assert texpool.busy_elsewhere(str(loadavg)) == busy
    assert texpool.busy_elsewhere(str(tmp_path / "none")) == 0  # not Linux: all cores


def test_a_pdflatex_stopped_by_a_signal_is_not_blamed_on_the_format(tmp_path):
    """A share stopped because another failed must not make the format be thrown away."""
    fmt = Path(subprocess.run(["kpsewhich", "-engine=pdftex", "pdflatex.fmt"],
                              capture_output=True, text=True).stdout.strip())
    proc = texpool.start_pdflatex(tmp_path, fmt)
    threading.Timer(0.5, proc.kill).start()
    with pytest.raises(ToolError, match="stopped"):  # TeX loops until killed
        texpool.run_pdflatex("\\def\\x{\\x}\\x\n", tmp_path, 1, False, fmt, proc)


def test_sigterm_while_shares_typeset_stops_every_pdflatex(tmp_path):
    fake, pids, temp, work = (tmp_path / n for n in ("bin", "pids", "tmp", "work"))
    for d in (fake, pids, temp, work):
        d.mkdir()
    (fake / "pdflatex").write_text(SLOW.format(pids=pids, python=sys.executable,
                                               real=shutil.which("pdflatex")))
    (fake / "pdflatex").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(temp),
           "PYTHONPATH": str(PROJECT), "CONVANIM_TEX_JOBS": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "convanim", "numerical", "-i", "7", "-k",
                             "3", "-a", "--no-cache", "--quiet"], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(list(pids.iterdir())) < 2:  # one pdflatex per share
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the shares never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and out == ""
    assert list(temp.iterdir()) == [] and list(work.iterdir()) == []
    assert all(gone(int(p.name)) for p in pids.iterdir())


def _programs(monkeypatch) -> list[str]:
    """"start NAME" and "end NAME" of the programs a render runs, in order, from now on
    (an end: its output read to the last byte)."""
    events = []
    start, communicate = subprocess.Popen.__init__, subprocess.Popen.communicate

    def init(self, args, *a, **k):
        events.append(f"start {Path(args[0]).name}")
        start(self, args, *a, **k)

    def read(self, *a, **k):
        out = communicate(self, *a, **k)
        events.append(f"end {Path(self.args[0]).name}")
        return out

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    monkeypatch.setattr(subprocess.Popen, "communicate", read)
    return events


def test_the_shares_are_joined_while_the_frames_are_rasterised(tmp_path, monkeypatch):
    """pdfunite runs beside the first pdftoppm, not before it, and the PDF it makes holds
    every page."""
    monkeypatch.setenv("CONVANIM_TEX_JOBS", "2")
    monkeypatch.chdir(tmp_path)
    figure = plan_command("arithmetic -i 5 -k 3 -s 2 -a -qa 20 --no-cache --quiet".split())
    events = _programs(monkeypatch)
    pdf, gif = figure.make()
    assert events.count("start pdfunite") == 1
    assert events.index("start pdftoppm") < events.index("end pdfunite")
    assert len(pdf_pages(pdf)) == figure.steps == 4
    assert gif.suffix == ".gif" and gif.stat().st_size > 0


def test_a_pdfunite_failure_is_a_tool_error_and_places_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVANIM_TEX_JOBS", "2")
    monkeypatch.chdir(tmp_path)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pdfunite").write_text("#!/bin/sh\necho 'Syntax Error: broken' >&2\nexit 1\n")
    (fake / "pdfunite").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    figure = plan_command("arithmetic -i 5 -k 3 -s 2 -a -qa 20 --no-cache --quiet".split())
    with pytest.raises(ToolError, match="pdfunite failed: Syntax Error: broken"):
        figure.make()
    assert not any(p.suffix in (".pdf", ".gif") for p in tmp_path.rglob("*"))


@pytest.fixture
def built_format(workdir, capsys):
    """The session's format, built if this is the first test to need it."""
    from convanim import texformat
    from convanim.cache import cache_root

    plan_command("arithmetic -i 3 -k 3 --quiet -y pdf".split()).make()
    fmt = texformat.ready(cache_root() / "formats")
    assert fmt is not None
    yield fmt
    POOL.drop_early()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_figure_command_starts_tex_before_it_draws_and_the_render_takes_it(
        built_format, monkeypatch):
    monkeypatch.setenv("CONVANIM_TEX_JOBS", "2")
    POOL.start_early(cache_root() / "formats")
    fmt, work, runs = POOL.early
    assert fmt == built_format and len(runs) == 1 and runs[0].poll() is None
    assert Path(runs[0].args[0]).name == "pdflatex"
    figure = plan_command("arithmetic -i 5 -k 3 -s 2 -a -qa 20 --quiet".split())
    events = _programs(monkeypatch)
    monkeypatch.setattr(type(figure), "tex", lambda self, real=type(figure).tex: (
        events.append("draw"), real(self))[1])
    pdf, gif = figure.make()
    # the one started early typesets the first share; the second share's run starts
    # before the document is drawn, to load its format meanwhile
    assert events[:2] == ["start pdflatex", "draw"] and events.count("start pdflatex") == 1
    assert runs[0].returncode == 0
    assert POOL.early is None and not work.exists()
    assert len(pdf_pages(pdf)) == 4 and gif.stat().st_size > 0


@pytest.mark.parametrize("words", ["stats -i 5 -k 3", "build", "verify arithmetic -i 5",
                                   "doctor", "--version", "arithmetic --help",
                                   "arithmetic -i 5 --no-cache", ""])
def test_no_tex_starts_for_a_command_that_draws_nothing(built_format, words):
    assert not kinds.figure_command(words.split())


@pytest.mark.parametrize("words", ["arithmetic -i 5", "stack --layers conv,k=3", "alphabet -a"])
def test_a_figure_command_starts_tex_early(words):
    assert kinds.figure_command(words.split())


def test_no_tex_starts_without_a_built_format(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # an empty cache
    POOL.start_early(cache_root() / "formats")
    assert POOL.early is None
    assert not (tmp_path / "convanim" / "formats").exists()  # and none is built now


def test_runs_started_for_another_format_are_stopped_not_used(built_format, monkeypatch):
    monkeypatch.setenv("CONVANIM_TEX_JOBS", "1")
    POOL.start_early(cache_root() / "formats")
    _, work, runs = POOL.early
    got, none = POOL.take_early(built_format.with_name("other.fmt"))
    assert none == [] and got != work and got.is_dir()
    texpool.tools.remove_tree(got)
    assert runs[0].poll() is not None and not work.exists()


START_AND_LEAVE = """
import sys
from convanim.cache import cache_root
from convanim.engine.texpool import POOL
POOL.start_early(cache_root() / "formats")
fmt, work, runs = POOL.early
print(work, *(r.pid for r in runs))
"""


def test_runs_never_taken_are_stopped_at_exit(built_format):
    out = subprocess.run([sys.executable, "-c", START_AND_LEAVE], cwd=PROJECT, check=True,
                         capture_output=True, text=True, env={**os.environ,
                         "CONVANIM_TEX_JOBS": "2"}).stdout.split()
    work, pids = Path(out[0]), [int(p) for p in out[1:]]
    assert len(pids) == 1
    assert not work.exists()
    assert not any(_alive(pid) for pid in pids)


def _open_files(pid: int) -> list[str]:
    """What process ``pid`` has open (Linux's /proc)."""
    out = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    return out


def _opened(pid: int, name: str) -> None:
    """Wait until process ``pid`` has a file ending in ``name`` open."""
    deadline = time.monotonic() + 20
    while not any(f.endswith(name) for f in _open_files(pid)):
        assert _alive(pid) and time.monotonic() < deadline, "TeX never opened it"
        time.sleep(0.02)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc")
def test_a_started_pdflatex_loads_its_format_before_it_has_the_document(built_format, tmp_path):
    """TeX loads its format only once it has its file's name: a started run is given
    the name of a FIFO at once, so it loads the format and opens the file while Python
    draws; the document fed in later is typeset as from a file, and left as one."""
    proc = texpool.start_pdflatex(tmp_path, built_format)
    fifo = tmp_path / "figure.tex"
    _opened(proc.pid, "/figure.tex")  # past the format: never so before it had the name
    assert proc.poll() is None
    tex = plan_command("arithmetic -i 5 -k 3 -s 2 -a --quiet".split()).tex()
    pdf = texpool.compile_pdf(tex, tmp_path, 4, False, built_format, proc)
    assert proc.returncode == 0 and len(pdf_pages(pdf)) == 4
    assert fifo.is_file() and _as_typeset(fifo, tex)  # a file, as the log counts its lines


def test_a_document_larger_than_the_pipe_reaches_tex_whole(built_format, tmp_path):
    head = plan_command("arithmetic -i 3 -k 3 --quiet -y pdf".split()).tex()
    filler = ("%" + "x" * 99 + "\n") * 30000  # 3 MB of comments before the page
    at = head.index("\\begin{document}")
    tex = head[:at] + filler + head[at:]
    proc = texpool.start_pdflatex(tmp_path, built_format)
    pdf = texpool.compile_pdf(tex, tmp_path, 1, False, built_format, proc)
    assert len(pdf_pages(pdf)) == 1 and proc.returncode == 0


def test_a_tex_error_from_a_started_run_keeps_the_document_as_a_file(built_format, tmp_path):
    head = plan_command("arithmetic -i 3 -k 3 --quiet -y pdf".split()).tex()
    tex = head.replace("\\end{document}", "\\undefinedcommand\n\\end{document}")
    proc = texpool.start_pdflatex(tmp_path, built_format)
    with pytest.raises(ToolError, match="Undefined control sequence"):
        texpool.compile_pdf(tex, tmp_path, 1, False, built_format, proc)
    assert _as_typeset(tmp_path / "figure.tex", tex)


def _as_typeset(path: Path, tex: str) -> bool:
    """``path`` holds ``tex`` as typeset from the format: its preamble's lines blank."""
    from convanim import texformat

    text = path.read_text(encoding="utf-8")
    return text.count("\n") == tex.count("\n") and text.endswith(texformat.split(tex))


KILLED_WHILE_TEX_WAITS = """
import os, signal, sys, time
from pathlib import Path
from convanim.cache import cache_root
from convanim.engine.texpool import POOL
POOL.start_early(cache_root() / "formats")
fmt, work, runs = POOL.early
print(runs[0].pid, flush=True)
sys.stdin.readline()  # the test has seen TeX open the FIFO
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc")
def test_a_started_pdflatex_ends_by_itself_when_python_is_killed(built_format):
    """No clean-up runs after SIGKILL: TeX, reading the FIFO only this process held open
    for writing, meets the end of the file and stops."""
    child = subprocess.Popen([sys.executable, "-c", KILLED_WHILE_TEX_WAITS], cwd=PROJECT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = int(child.stdout.readline())
    _opened(pid, "/figure.tex")
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.wait(timeout=20) == -signal.SIGKILL
    deadline = time.monotonic() + 20
    while _alive(pid):
        assert time.monotonic() < deadline, "TeX outlived its killed Python"
        time.sleep(0.05)
