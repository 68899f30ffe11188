"""SIGTERM and SIGHUP (timeout, CI runners, make) end a command as cleanly as Ctrl-C."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import PROJECT

pytestmark = pytest.mark.usefixtures("tex_tools")

# A stand-in for a slow tool: records its pid, then sleeps with the tool's arguments
# (exec: the pid stays; the arguments name the work folder, as the real tool's do).
# A version query (pdf2image asks pdftoppm -v) goes to the real tool.
SLOW = ("#!/bin/sh\n[ \"$1\" = -v ] && exec {real} -v\necho $$ > \"{pids}/$$\"\n"
        "exec {python} -c 'import time; time.sleep(60)' \"$@\"\n")


def start(tmp_path, tool, args):
    """The command, with ``tool`` replaced by a slow stand-in; waits until it runs."""
    fake, pids, temp, work = (tmp_path / n for n in ("bin", "pids", "tmp", "work"))
    for d in (fake, pids, temp, work):
        d.mkdir()
    (fake / tool).write_text(SLOW.format(pids=pids, python=sys.executable,
                                         real=shutil.which(tool)))
    (fake / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(temp),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(PROJECT), "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "convanim", *args, "--quiet"], cwd=work,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(pids.iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the slow tool never started"
        time.sleep(0.05)
    return proc, pids, temp, work


def gone(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True  # a zombie writes nothing; its parent is gone or reaping
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_tex_runs_stops_it_and_leaves_nothing(tmp_path, sig):
    proc, pids, temp, work = start(tmp_path, "pdflatex", ["arithmetic", "-y", "pdf",
                                                          "--no-cache"])
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        raise AssertionError(proc.communicate())
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert out == "" and "Traceback" not in err, err
    assert list(temp.iterdir()) == [], "the TeX work folder must be removed"
    assert list(work.iterdir()) == []
    assert all(gone(int(p.name)) for p in pids.iterdir()), "pdflatex must be stopped too"


def test_sigterm_while_frames_are_rasterised_on_threads(tmp_path):
    # 25 frames: more than one chunk, so pdftoppm runs on worker threads
    proc, pids, temp, work = start(tmp_path, "pdftoppm", ["arithmetic", "-i", "5", "-k", "1",
                                                          "-a", "-qa", "20", "--no-cache"])
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        raise AssertionError(proc.communicate())
    assert proc.returncode == 143, (proc.returncode, err)
    assert out == "" and "Traceback" not in err, err
    assert list(temp.iterdir()) == []
    assert list(work.iterdir()) == []
    assert all(gone(int(p.name)) for p in pids.iterdir())
    assert not list((tmp_path / "cache").rglob("*.*")), "no half cache entry"


def test_sigterm_during_a_build_stops_it_at_once_and_keeps_its_manifest_true(tmp_path):
    """A figure built before stays recorded; the ones being drawn are stopped, nothing is
    placed after the signal, and the command exits 143 within 2 s."""
    import json

    root = tmp_path / "site"
    root.mkdir()
    figs = root / "figs.toml"
    figs.write_text('[figures.done]\nkind = "arithmetic"\ntype = "pdf"\n')
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(PROJECT),
           "PYTHONFAULTHANDLER": "1"}
    subprocess.run([sys.executable, "-m", "convanim", "build", str(figs), "--quiet"], env=env,
                   check=True)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    figs.write_text(figs.read_text() + "".join(
        f'[figures.slow{n}]\nkind = "numerical"\nanimation = true\ninput-size = {4 + n}\n'
        for n in range(3)))
    fake, pids, temp = (tmp_path / n for n in ("bin", "pids", "tmp"))
    for d in (fake, pids, temp):
        d.mkdir()
    (fake / "pdflatex").write_text(SLOW.format(pids=pids, python=sys.executable,
                                               real=shutil.which("pdflatex")))
    (fake / "pdflatex").chmod(0o755)
    env.update(PATH=f"{fake}{os.pathsep}{os.environ['PATH']}", TMPDIR=str(temp))
    proc = subprocess.Popen([sys.executable, "-m", "convanim", "build", str(figs), "-j", "2",
                             "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while len(list(pids.iterdir())) < 2:  # both workers are in TeX
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the slow tool never started"
        time.sleep(0.05)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        raise AssertionError(proc.communicate())
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 143, (proc.returncode, err)
    assert out == "" and "Traceback" not in err, err
    assert all(gone(int(p.name)) for p in pids.iterdir()), "pdflatex must be stopped"
    after = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    assert {p: t for p, t in before.items() if p.name != "figs.toml"} == \
        {p: t for p, t in after.items() if p.name != "figs.toml"}
    outputs = json.loads((root / ".convanim-build.json").read_text())["outputs"]
    assert list(outputs) == ["out/done_00.pdf"]
    assert outputs["out/done_00.pdf"]["size"] == (root / "out/done_00.pdf").stat().st_size
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize("pages", [25, 9])  # chunks beside a sample; a share per core
def test_an_interrupt_between_two_submits_still_stops_the_tool_already_running(
        monkeypatch, tmp_path, pages):
    """A signal can land while the raster jobs are still being handed to the workers:
    the first pdftoppm already runs, and nothing but the clean-up would ever stop it
    (the pool's exit waits for it forever)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from convanim.engine import raster, tools

    running, release, stopped = threading.Event(), threading.Event(), []

    def slow_tool(cmd):
        running.set()
        release.wait(10)

    def stop(work):
        stopped.append(work)
        release.set()

    real_submit = ThreadPoolExecutor.submit
    submits = []

    def submit(self, fn, *args):
        submits.append(fn)
        if len(submits) == 2:  # the signal arrives while the second job is handed over
            running.wait(10)
            raise KeyboardInterrupt
        return real_submit(self, fn, *args)

    monkeypatch.setattr(raster, "page_pixels", lambda pdf, dpi: (10, 10))
    monkeypatch.setattr(tools, "run", slow_tool)
    monkeypatch.setattr(tools, "stop_tools", stop)
    monkeypatch.setattr(ThreadPoolExecutor, "submit", submit)
    with pytest.raises(KeyboardInterrupt):
        list(raster.raster_chunks(tmp_path / "figure.pdf", tmp_path, pages, 20, False))
    assert stopped and set(stopped) == {tmp_path}
