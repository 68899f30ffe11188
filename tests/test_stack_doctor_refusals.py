"""Issue #36, round three: a stack refuses what it cannot draw (pooling windows over
padding only, -t, -o that disagrees), verify says a stack has no numbers, and the
doctor neither calls a hung tool ok nor repeats an install line."""
import io
import subprocess

import pytest

from convanim import doctor
from helpers import run


@pytest.mark.parametrize("argv, words", [
    (["--layers", "pool,k=2", "-p", "3"], "layer 1: pooling: with this padding and dilation "
                                          "some windows read only padding"),
    (["--layers", "k=3 pool,k=2", "-p", "2"], "layer 2: pooling: "),
    (["--layers", "pool,k=2", "-i", "4x4", "-p", "2"], "some windows read only padding"),
    (["-t"], "stack figures draw forward convolutions only"),
    (["--output-padding", "1"], "stack figures draw forward convolutions only"),
    (["--layers", "k=3", "-i", "8", "-o", "5"], "-o 5: the last layer's output is 6"),
])
def test_a_stack_refuses_what_it_cannot_draw_in_one_line(workdir, capsys, argv, words):
    status, out, err = run(capsys, "stack", *argv, "-y", "pdf")
    assert status == 2 and out == [] and len(err) == 1 and words in err[0], err
    assert not any(workdir.iterdir())


def test_a_stack_takes_an_output_size_that_agrees(workdir, capsys):
    from convanim.cli import plan_command

    figure = plan_command(["stack", "--layers", "k=3", "-i", "8", "-o", "6"])
    assert figure is not None


def test_verify_from_json_says_a_stack_has_no_numbers(workdir, capsys):
    (workdir / "s.json").write_text('{"kind": "stack", "input_size": [1, 16]}')
    status, out, err = run(capsys, "verify", "stack", "--from-json", "s.json")
    assert status == 2 and err == ["convanim: error: stack figures have no numbers to verify"]


def test_the_doctor_does_not_call_a_tool_that_timed_out_ok(monkeypatch):
    real = subprocess.run

    def hung(cmd, *a, **k):
        if cmd[-1] == "--version" and cmd[0].endswith("pdflatex"):
            raise subprocess.TimeoutExpired(cmd, 30)
        return real(cmd, *a, **k)

    monkeypatch.setattr(doctor.subprocess, "run", hung)
    check = doctor._tool("pdflatex", doctor.TEX_APT, ["--version"])
    assert not check.ok and "did not answer" in check.detail and check.fix == doctor.TEX_APT


def test_the_doctor_gives_each_install_line_once(monkeypatch):
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)  # nothing installed
    out = io.StringIO()
    assert doctor.main(out) == 1
    lines = [line.strip() for line in out.getvalue().split("To install what is missing:")[1]
             .splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), lines
    assert sum(doctor.TEX_APT in line for line in lines) == 1, lines
