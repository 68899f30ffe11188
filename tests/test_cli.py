"""The command line as users and scripts meet it."""
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.usefixtures("tex_tools")

from helpers import PROJECT, files_under, pdf_pages, run

BAD = [
    (["-i", "abc"], "argument -i/--input-size: expected N, HxW or DxHxW"),
    (["-i", "5x"], "expected N, HxW or DxHxW"),
    (["-i", "0"], "input size must be >= 1"),
    (["-k", "0"], "kernel size must be >= 1"),
    (["-s", "0"], "stride must be >= 1"),
    (["-p", "-1"], "padding must be >= 0"),
    (["-d", "0"], "dilation must be >= 1"),
    (["-i", "2", "-k", "5"], "more than the padded input"),
    (["-o", "7"], "output size 7 does not match the computed 3"),
    (["-e", "9"], "step 9 out of range: this figure has 9 steps (0 to 8)"),
    (["-e", "-1"], "step -1 out of range"),
    (["--output-padding", "1"], "transposed conv only"),
    (["-t", "-s", "2", "--output-padding", "2"], "smaller than stride or dilation"),
    (["-i", "40"], "figure too large: the padded input is 40x40 cells; arithmetic figures "
                   "draw at most 32 cells per axis"),
    (["-i", "20", "-k", "1", "-a"], "animation too long: 400 steps; at most 256 frames"),
    (["-q", "5"], "argument -q/--quality: must be between 10 and 2400"),
    (["-y", "jpg"], "argument -y/--type/--format: invalid choice: 'jpg'"),
    (["-y", "html"], "-y html is an animation format: add -a (a single step is png, pdf, svg, tex)"),
    (["--format", "mp4"], "-y mp4 is an animation format: add -a"),
    (["-a", "-y", "webm", "--transparent"], "--transparent: webm video has no alpha channel"),
    (["../escape"], "NAME must be at most 200 letters, digits"),
    (["n" * 201], "NAME must be at most 200"),
    (["--caption", "\u4e2d"], "--caption must be printable ASCII"),
    (["-i", "5", "-k", "3", "-p", "3", "-t"], "figures need padding <= d(k-1)"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    # ASCII digits and x only: other scripts' digits and the multiplication sign are refused
    (["-i", "\u0665"], "argument -i/--input-size: expected N, HxW or DxHxW (e.g. 5, 5x7 or 4x5x5), got '\u0665'"),
    (["-i", "5\u00d77"], "argument -i/--input-size: expected N, HxW or DxHxW"),
    (["-e", "\u0663"], "argument -e/--step: expected an integer, got '\u0663'"),
    (["-q", "1_000"], "argument -q/--quality: expected an integer"),
    (["--width", "\u0665"], "argument --width: expected a number, got '\u0665'"),
    (["-e", "1", "-a"], "-e/--step draws one step and -a/--animation all of them: give only one"),
    (["-i", "30", "-p", "1", "-q", "2400"], "px at -q 2400 exceeds 120 Mpx; lower -q, or use "
                                            "-y pdf or svg"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(workdir, capsys, args, message):
    status, out, err = run(capsys, "arithmetic", *args)
    assert status == 2
    assert out == []
    assert len(err) == 1 and err[0].startswith("convanim: error: "), err
    assert message in err[0]
    assert files_under(workdir) == []


@pytest.mark.parametrize("kind", ["arithmetic", "stats"])
def test_a_huge_number_is_not_echoed_whole_and_the_option_is_named(workdir, capsys, kind):
    status, out, err = run(capsys, kind, "-i", "5" * 5000)
    assert status == 2 and out == []
    assert err == ["convanim: error: argument -i/--input-size: '555555555555555555555555'... "
                   "(5000 characters) is too large (at most 9223372036854775807)"]


def test_unknown_kind_is_refused(capsys):
    status, _, err = run(capsys, "histogram")
    assert status == 2 and err[0].startswith("convanim: error: argument KIND: invalid choice")


# The arithmetic commands of the seed's README, with the same flags.
SEED = [
    ("arithmetic -i 5 -p 1 -k 3 -s 2 -e 0 arithmetic_conv", ["out/arithmetic_conv_00.png"]),
    ("arithmetic -i 5 -p 1 -k 3 -s 2 -e 1 -t arithmetic_transposed_conv",
     ["out/arithmetic_transposed_conv_01.png"]),
    ("arithmetic -i 5 -p 1 -k 3 -s 2 arithmetic_conv -a",
     ["out/arithmetic_conv.pdf", "gif/arithmetic_conv.gif"]),
    ("arithmetic -i 5 -p 1 -k 3 -s 2 -t arithmetic_transposed_conv -a",
     ["out/arithmetic_transposed_conv.pdf", "gif/arithmetic_transposed_conv.gif"]),
]


@pytest.mark.parametrize("command,expect", SEED, ids=[c for c, _ in SEED])
def test_seed_readme_commands_work(workdir, capsys, command, expect):
    status, out, err = run(capsys, *command.split(), "--quiet")
    assert status == 0, err
    assert [str(p) for p in out] == expect
    assert all((workdir / p).stat().st_size > 0 for p in expect)


def test_default_name_says_kind_and_parameters(workdir, capsys):
    status, out, _ = run(capsys, "arithmetic", "-i", "5x7", "-k", "3", "-s", "2", "-t", "-e", "1",
                         "-y", "pdf", "--quiet")
    assert status == 0
    assert [str(p) for p in out] == ["out/arithmetic_transposed_i5x7_k3_s2_p0_d1_01.pdf"]


def test_json_reports_the_figure(workdir, capsys):
    status, out, _ = run(capsys, "arithmetic", "j", "-i", "6", "-k", "3", "-s", "2", "-p", "1",
                         "-t", "-y", "pdf", "--json", "--quiet", "-o", "3")
    assert status == 0
    assert [str(p) for p in out] == ["out/j_00.pdf", "out/j.json"]
    data = json.loads((workdir / "out/j.json").read_text())
    assert data == {"kind": "arithmetic", "transposed": True, "input_size": [6, 6],
                    "kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1],
                    "padding_sides": [1, 1, 1, 1], "padding_mode": "zeros",
                    "dilation": [1, 1], "output_padding": [1, 1], "output_size": [6, 6],
                    "steps": 36}


def test_out_and_gif_dirs_are_respected(workdir, capsys):
    status, out, _ = run(capsys, "arithmetic", "d", "-a", "-qa", "30", "--quiet",
                         "--out-dir", "frames", "--gif-dir", "anim")
    assert status == 0 and [str(p) for p in out] == ["frames/d.pdf", "anim/d.gif"]


def test_options_from_a_config_file(workdir, capsys):
    (workdir / "fig.cfg").write_text("input-size = 4\nkernel-size = 2\nstride = 2\n")
    status, out, _ = run(capsys, "arithmetic", "cfg", "-c", "fig.cfg", "-a", "-qa", "30",
                         "--quiet")
    assert status == 0
    assert len(pdf_pages(workdir / "out/cfg.pdf")) == 4  # 4x4 input, 2x2 kernel, stride 2


def test_dilated_and_per_axis_figures_render(workdir, capsys):
    assert run(capsys, "arithmetic", "dil", "-i", "7", "-k", "3", "-d", "2", "-a", "-qa", "30",
               "--quiet", "--labels")[0] == 0
    assert len(pdf_pages(workdir / "out/dil.pdf")) == 9
    assert run(capsys, "arithmetic", "pa", "-i", "5x7", "-k", "3x2", "-s", "2x1", "-p", "1x0",
               "-a", "-qa", "30", "--quiet", "-t", "--labels")[0] == 0
    assert len(pdf_pages(workdir / "out/pa.pdf")) == 35  # transposed output is 5x7


def test_progress_goes_to_stderr_and_paths_to_stdout(workdir):
    """Paths on stdout; a progress bar only where stderr is a terminal (a log, a CI runner
    or a notebook gets none)."""
    import fcntl
    import pty
    import struct
    import termios
    import threading

    env = {**__import__("os").environ, "PYTHONPATH": str(PROJECT)}
    proc = subprocess.run([sys.executable, "-m", "convanim", "arithmetic", "p", "-a", "-qa", "30"],
                          cwd=workdir, capture_output=True, text=True, env=env)
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == ["out/p.pdf", "gif/p.gif"]
    assert proc.stderr == ""
    leader, follower = pty.openpty()  # a terminal of 80 columns (tqdm draws nothing in 0)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "convanim", "arithmetic", "q", "-a", "-qa",
                             "30", "-i", "4"], cwd=workdir, stdout=subprocess.PIPE, stderr=follower, env=env)
    __import__("os").close(follower)
    shown = bytearray()

    def read():  # as it comes, so a full terminal buffer never blocks the command
        try:
            while chunk := __import__("os").read(leader, 4096):
                shown.extend(chunk)
        except OSError:  # the terminal closed
            pass

    reader = threading.Thread(target=read)
    reader.start()
    stdout = proc.communicate(timeout=120)[0]
    reader.join(10)
    __import__("os").close(leader)
    assert proc.returncode == 0 and stdout.decode().splitlines() == ["out/q.pdf", "gif/q.gif"]
    assert b"typesetting" in shown


@pytest.mark.parametrize("module,allowed", [("convanim", ()), ("convanim.cli", ())])
def test_importing_convanim_loads_nothing_heavy(module, allowed):
    heavy = ("numba", "numpy", "jinja2", "PIL", "pdf2image", "tqdm")
    code = f"import sys, {module}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(PROJECT)})
    assert proc.stdout.strip() == str(sorted(allowed)), proc.stdout + proc.stderr


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        from convanim.cli import main
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("convanim ")


def test_a_figure_command_builds_only_its_own_parser():
    """Every subcommand's options cost a figure command time (build's and stats' imports
    too): only the one named is built, the others list their line of help."""
    code = ("import sys; from convanim import cli; "
            "args = cli.build_parser('arithmetic').parse_args(['arithmetic', '-i', '4']); "
            "print(args.input_size, 'convanim.build' in sys.modules, "
            "'convanim.models' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(PROJECT)})
    assert proc.stdout.split() == ["(4,", "4)", "False", "False"], proc.stderr
    full = subprocess.run([sys.executable, "-m", "convanim", "--help"], capture_output=True,
                          text=True, env={**__import__("os").environ, "PYTHONPATH": str(PROJECT)})
    for name in ("arithmetic", "channels", "stats", "build", "verify"):
        assert f"    {name}" in full.stdout
