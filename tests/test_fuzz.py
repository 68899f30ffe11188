"""The command-line contract over random commands: exit 0 with exactly the files printed,
or exit 2 with one ``convanim: error:`` line and nothing written; never anything else.

Bounded for ``make test`` (about a minute on the 2-core machine);
``CONVANIM_FUZZ_EXAMPLES=2000 make test`` runs a nightly-sized search.
"""
import contextlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from convanim.cli import main

pytestmark = pytest.mark.usefixtures("tex_tools")

#: Set for a nightly run: that many random examples. Unset: a fixed (derandomized) set.
NIGHTLY = os.environ.get("CONVANIM_FUZZ_EXAMPLES")
EXAMPLES = int(NIGHTLY or 800)
FIGURES = ["arithmetic", "numerical", "alphabet", "im2col"]

number = st.integers(-1, 7).map(str)
hostile = st.sampled_from(["", "abc", "5x", "x5", "5x7x9", "1.5", "\u0665", "5\u00d77", "9" * 30,
                           "-0", " 3 ", "1_0", "0x3", "-1", "0", "40"])


def rarely(bad, good, one_in: int = 12):
    """``good`` mostly; ``bad`` one time in ``one_in``."""
    return st.integers(1, one_in).flatmap(lambda n: bad if n == one_in else good)


def sized(low: int, high: int):
    """Mostly a valid N or HxW in [low, high]; one time in eight something hostile."""
    valid = st.one_of(st.integers(low, high).map(str), st.tuples(
        st.integers(low, high), st.integers(low, high)).map(lambda hw: f"{hw[0]}x{hw[1]}"))
    return rarely(hostile, valid, one_in=15)


SIZES = {"-i": sized(1, 7), "-k": sized(1, 4), "-s": sized(1, 3), "-p": sized(0, 2),
         "-d": sized(1, 2)}
size = sized(0, 6)
text = st.text(st.characters(min_codepoint=32, max_codepoint=0x2030), max_size=24)
name = rarely(st.one_of(text, st.sampled_from(["../up", "a/b", ".hidden", "n" * 201])),
              st.sampled_from([None, None, "fig", "a.b-c+d", "taken", "dir"]), one_in=6)
folder = st.sampled_from(["out", "out", "nested/deeper", "taken", "taken/below", "", ".",
                          "link", "dir"])


@st.composite
def figure_command(draw):
    kind = draw(st.sampled_from(FIGURES))
    argv = [kind]
    n = draw(name)
    if n is not None:
        argv.append(n)
    for flag, values in SIZES.items():
        if draw(st.booleans()):
            argv += [flag, draw(values)]
    if draw(st.integers(0, 9)) == 9:
        argv += ["-o", draw(size)]
    if draw(st.booleans()):
        argv.append("-t")
    if draw(st.integers(0, 9)) == 9:
        argv += ["--output-padding", draw(sized(0, 2))]
    if draw(st.integers(0, 9)) == 0:
        argv += ["-a", "-qa", "10", "--delay", draw(st.sampled_from(["10", "100", "5"]))]
    if "-a" not in argv:
        argv += ["-y", draw(rarely(st.just("jpg"), st.sampled_from(["pdf"] * 6 + ["svg", "png"])))]
        argv += ["-q", draw(rarely(st.just("9"), st.sampled_from(["20", "40"])))]
        if draw(st.integers(0, 3)) == 0:
            argv += ["-e", draw(st.one_of(st.integers(-1, 12).map(str), hostile))]
    elif draw(st.integers(0, 9)) == 0:
        argv += ["-e", "0"]
    if draw(st.booleans()):
        argv.append("--json")
    if draw(st.integers(0, 2)) == 0:
        argv += ["--caption", draw(st.one_of(text, st.sampled_from(
            ["[a] x", "*s", "{b", "end\\", "\\input{/etc/passwd}", "x" * 1001])))]
    if draw(st.integers(0, 5)) == 5:
        argv += ["--theme", draw(rarely(st.just("sepia"), st.sampled_from(["light", "dark"])))]
    if draw(st.integers(0, 5)) == 5:
        argv.append("--transparent")
    if draw(st.integers(0, 5)) == 5:
        argv += ["--width", draw(rarely(st.sampled_from(["0.5", "nan", "\u0665", "1e9"]),
                                        st.sampled_from(["3", "8.5", "12"])))]
    if draw(st.integers(0, 3)) == 0:
        argv += ["--out-dir", draw(folder)]
    if draw(st.integers(0, 5)) == 0:
        argv += ["--gif-dir", draw(folder)]
    extra = {"arithmetic": ["--labels"], "numerical": ["-m", draw(st.sampled_from(
        ["convolution", "average", "max", "median"])), "--seed", draw(number)],
             "alphabet": [], "im2col": ["--phase", draw(st.sampled_from(
                 ["forward", "loss", "gradient", "backward"]))]}[kind]
    if draw(st.booleans()):
        argv += extra
    if draw(st.integers(0, 15)) == 15:
        argv.append(draw(st.sampled_from(["--labels", "--bogus", "-m", "--phase", "x"])))
    return argv + ["--quiet"]


@st.composite
def stats_command(draw):
    argv = ["stats"]
    if draw(st.integers(0, 9)) == 9:
        argv += ["--model", draw(st.sampled_from(["resnet18", "alexnet", "resnet51"]))]
    for flag, values in SIZES.items():
        if draw(st.booleans()):
            argv += [flag, draw(rarely(st.sampled_from(["100000", "99999", "10" * 10]), values))]
    for flag in ("--in-channels", "--out-channels", "--groups", "--batch"):
        if draw(st.integers(0, 3)) == 0:
            argv += [flag, draw(rarely(hostile, st.sampled_from(["1", "2", "4", "3"])))]
    if draw(st.integers(0, 3)) == 0:
        argv += ["--weight-sparsity", draw(rarely(st.sampled_from(["1", "nan", "-0.1", "\u0665"]),
                                                  st.sampled_from(["0.5", ".9", "0"])))]
    for flag in ("--csv", "--cfg"):
        if draw(st.integers(0, 2)) == 0:
            argv += [flag, draw(rarely(st.sampled_from(["", "taken/x", "dir"]), st.sampled_from(
                ["r.csv", "r.cfg", "d/r.csv", "taken", "link"]), one_in=5))]
    return argv


def snapshot(root: Path) -> dict:
    """Every path under root with its kind and content, to see what a command changed."""
    seen = {}
    for p in sorted(root.rglob("*")):
        key = str(p.relative_to(root))
        if p.is_symlink():
            seen[key] = ("link", os.readlink(p))
        elif p.is_dir():
            seen[key] = ("dir", None)
        else:
            seen[key] = ("file", p.read_bytes())
    return seen


MAGIC = {".pdf": b"%PDF", ".png": b"\x89PNG", ".gif": b"GIF89a"}


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not NIGHTLY,
          suppress_health_check=list(HealthCheck))
@given(st.one_of(figure_command(), figure_command(), figure_command(), stats_command()))
def test_every_command_keeps_the_contract(argv):
    root = Path(tempfile.mkdtemp(prefix="convanim-fuzz-"))
    work, temp = root / "work", root / "tmp"
    work.mkdir(), temp.mkdir()
    (work / "taken").write_text("a file, not a folder\n")
    (work / "dir").mkdir()
    (work / "link").symlink_to("taken")
    before = snapshot(work)
    out, err = io.StringIO(), io.StringIO()
    cwd, tempdir = os.getcwd(), tempfile.tempdir
    try:
        os.chdir(work)
        tempfile.tempdir = str(temp)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
        after = snapshot(work)
        left_in_temp = list(temp.iterdir())
    finally:
        os.chdir(cwd)
        tempfile.tempdir = tempdir
        shutil.rmtree(root, ignore_errors=True)
    lines = out.getvalue().splitlines()
    errors = err.getvalue().splitlines()
    event(f"{argv[0] if argv[0] == 'stats' else 'figure'} exit {status}")
    assert left_in_temp == [], (argv, left_in_temp)
    if status == 2:
        assert len(errors) == 1 and errors[0].startswith("convanim: error: "), (argv, errors)
        assert lines == [], (argv, lines)
        assert after == before, (argv, "exit 2 must write nothing")
        return
    assert status == 0, (argv, status, errors)
    changed = {k for k in after if after[k] != before.get(k)}
    assert set(before) <= set(after), (argv, "a file disappeared")
    if argv[0] == "stats":
        wanted = [argv[n + 1] for n, a in enumerate(argv) if a in ("--csv", "--cfg")]
        assert lines[len(lines) - len(wanted):] == wanted, (argv, lines)
        targets = {str(Path(os.path.normpath(w if w != "link" else "taken"))) for w in wanted}
        assert changed == targets | {str(p) for w in wanted for p in Path(w).parents
                                     if str(p) != "." and str(p) not in before}, (argv, changed)
        return
    printed = [os.path.normpath(x) for x in lines]
    assert len(printed) == len(set(printed)) and printed, (argv, lines)
    folders = {str(p) for x in printed for p in Path(x).parents if str(p) != "."}
    assert changed == set(printed) | (folders - set(before)), (argv, changed, printed)
    for path in printed:
        data = after[path][1]
        suffix = Path(path).suffix
        assert data, (argv, path, "empty")
        if suffix in MAGIC:
            assert data.startswith(MAGIC[suffix]), (argv, path)
        elif suffix == ".svg":
            assert b"<svg" in data[:2000], (argv, path)
        else:
            assert suffix == ".json" and json.loads(data)["kind"] == argv[0], (argv, path)
