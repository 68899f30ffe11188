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


SIZES = {"-i": sized(1, 7), "-k": sized(1, 4), "-s": sized(1, 3),
         "-p": st.one_of(sized(0, 2), st.sampled_from(["same", "valid"])), "-d": sized(1, 2)}
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
    if draw(st.integers(0, 7)) == 0:
        argv += draw(st.sampled_from([["--causal"], ["--padding-sides", "0,2,1,0"], [
            "--padding-sides", "1,1,0,0"], ["--padding-sides", "1,-1,0,0"]]))
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
@pytest.mark.slow
def test_every_command_keeps_the_contract(argv):
    status, _ = cli_contract(argv)
    event(f"{argv[0] if argv[0] == 'stats' else 'figure'} exit {status}")


def cli_contract(argv) -> tuple[int, list[str]]:
    """Run the command in a fresh folder; assert the contract; (exit status, stderr lines)."""
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
    assert left_in_temp == [], (argv, left_in_temp)
    if status == 2:
        assert len(errors) == 1 and errors[0].startswith("convanim: error: "), (argv, errors)
        assert lines == [], (argv, lines)
        assert after == before, (argv, "exit 2 must write nothing")
        return status, errors
    assert status == 0, (argv, status, errors)
    changed = {k for k in after if after[k] != before.get(k)}
    assert set(before) <= set(after), (argv, "a file disappeared")
    if argv[0] == "stats":
        wanted = [argv[n + 1] for n, a in enumerate(argv) if a in ("--csv", "--cfg")]
        assert lines[len(lines) - len(wanted):] == wanted, (argv, lines)
        targets = {str(Path(os.path.normpath(w if w != "link" else "taken"))) for w in wanted}
        assert changed == targets | {str(p) for w in wanted for p in Path(w).parents
                                     if str(p) != "." and str(p) not in before}, (argv, changed)
        return status, errors
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
    return status, errors


# --- build configs, figure data and the Python API under the same contract ------------------

BUILD_EXAMPLES = int(NIGHTLY or 40)
DATA_EXAMPLES = int(NIGHTLY or 150)
API_EXAMPLES = int(NIGHTLY or 60)
toml_text = text.map(json.dumps)  # a TOML basic string is a JSON string


@st.composite
def build_config(draw):
    lines = []
    if draw(st.booleans()):
        lines.append(f"title = {draw(rarely(st.just(json.dumps('<script>x</script>')), toml_text))}")
    lines.append(f"index = {draw(st.sampled_from(['true', 'false', '1']))}")
    for n in range(draw(st.integers(1, 3))):
        name = draw(rarely(st.sampled_from(['""', '"index"', '"a b"', '"../x"', '"x.gif"']),
                           st.sampled_from([f"f{n}", f'"g{n}"'])))
        lines.append(f"[figures.{name}]")
        lines.append("kind = " + draw(rarely(
            st.sampled_from(['["arithmetic"]', '"histogram"', "3", "{a = 1}"]),
            st.sampled_from(['"arithmetic"', '"numerical"', '"alphabet"', '"im2col"']))))
        if draw(st.booleans()):
            lines.append("input-size = " + draw(rarely(
                st.sampled_from(["0", '"5x"', "[5, 5, 5]", "true", "1e3", "9" * 25]),
                st.sampled_from(["3", "4", '"4x5"', "[4, 3]"]))))
        animated = draw(st.integers(0, 4)) == 0
        if animated:
            lines += ["animation = true", "quality-animation = 10",
                      f"delay = {draw(st.sampled_from(['100', '15', '20']))}"]
        else:
            lines += ["quality = 20", "type = " + draw(rarely(
                st.sampled_from(['"html"', '"jpg"', "1"]), st.sampled_from(['"pdf"', '"svg"'])))]
        for key in ("out-dir", "gif-dir"):
            if draw(st.integers(0, 2)) == 0:
                lines.append(f"{key} = " + draw(rarely(
                    st.sampled_from(['"../victim"', '"/tmp"', '"a\\u0000b"', '"a\\nb"',
                                     '"outside"', '"outside/deeper"', '"."', '"taken"']),
                    st.sampled_from(['"out"', '"figs/out"', '"dir"']), one_in=3)))
        if draw(st.integers(0, 4)) == 0:
            lines.append("description = " + draw(st.one_of(toml_text, st.just('"<img onerror=x>"'))))
        if draw(st.integers(0, 4)) == 0:
            lines.append("caption = " + draw(st.one_of(toml_text, st.just('"x;touch${IFS}P;#"'))))
        if draw(st.integers(0, 6)) == 0:
            lines += ["verify = true", 'backend = "numpy"']
        if draw(st.integers(0, 6)) == 0:
            lines.append("json = true")
        if draw(st.integers(0, 12)) == 0:
            lines.append(draw(st.sampled_from(["bogus = 1", 'name = "x"', "labels = true"])))
    return "\n".join(lines) + "\n"


@settings(max_examples=BUILD_EXAMPLES, deadline=None, derandomize=not NIGHTLY,
          suppress_health_check=list(HealthCheck))
@given(build_config())
def test_every_build_config_keeps_the_contract(toml):
    status, _ = build_contract(toml)
    event(f"build exit {status}")


def build_contract(toml: str) -> tuple[int, list[str]]:
    """Exit 2: one line, nothing written anywhere. Exit 0 or 1 (a figure failed, named on
    its own line): only the printed files, the manifest and their folders change, and
    never anything outside the build's root. Returns (exit status, stderr lines)."""
    top = Path(tempfile.mkdtemp(prefix="convanim-fuzz-"))
    root, victim, temp = top / "site", top / "victim", top / "tmp"
    for d in (root, victim, temp):
        d.mkdir()
    (root / "figs.toml").write_text(toml)
    (root / "taken").write_text("a file, not a folder\n")
    (root / "dir").mkdir()
    (root / "outside").symlink_to(victim)
    (victim / "package.json").write_text("{}\n")
    before, outside = snapshot(root), snapshot(victim)
    out, err = io.StringIO(), io.StringIO()
    cwd, tempdir = os.getcwd(), tempfile.tempdir
    try:
        os.chdir(root)
        tempfile.tempdir = str(temp)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["build", "figs.toml", "--quiet", "-j", "1"])
        after, outside_after = snapshot(root), snapshot(victim)
        left_in_temp = list(temp.iterdir())
    finally:
        os.chdir(cwd)
        tempfile.tempdir = tempdir
        shutil.rmtree(top, ignore_errors=True)
    lines, errors = out.getvalue().splitlines(), err.getvalue().splitlines()
    assert outside_after == outside, (toml, "a build wrote outside its root")
    assert left_in_temp == [], (toml, left_in_temp)
    if status == 2:
        assert len(errors) == 1 and errors[0].startswith("convanim: error: "), (toml, errors)
        assert lines == [] and after == before, (toml, "exit 2 must write nothing")
        return status, errors
    assert status in (0, 1), (toml, status, errors)
    assert all(e.startswith("convanim: error: ") for e in errors), (toml, errors)
    assert (status == 1) == bool(errors), (toml, status, errors)
    printed = [os.path.normpath(x) for x in lines]
    own = {".convanim-build.json", ".convanim-build.lock"}
    changed = {k for k in after if after[k] != before.get(k)} - own
    folders = {str(p) for x in printed for p in Path(x).parents if str(p) != "."}
    assert changed <= set(printed) | (folders - set(before)), (toml, changed, printed)
    assert set(printed) <= changed, (toml, "a printed file was not written")
    for path in printed:
        assert after[path][0] == "file" and after[path][1], (toml, path)
    return status, errors


def _figure_data(kind, values):
    from convanim.figure import figure, plan

    return plan(*figure(kind, None, type="pdf", **values)).data()


def _paths(value, at=()):
    """Every place in a JSON value, as a path of keys and indexes."""
    yield at
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, at + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, at + (i,))


@st.composite
def figure_data(draw):
    kind, values = draw(st.sampled_from([
        ("numerical", {"input_size": 4, "stride": 2, "padding": 1}),
        ("numerical", {"input_size": 5, "mode": "max", "kernel_size": 2, "stride": 2}),
        ("numerical", {"input_size": 4, "transposed": True, "stride": 2}),
        ("alphabet", {"input_size": 4}),
        ("alphabet", {"input_size": 4, "transposed": True, "stride": 2, "padding": 1}),
        ("im2col", {"input_size": 4, "phase": "gradient", "stride": 2}),
        ("im2col", {"input_size": 5, "phase": "loss", "padding": 1}),
        ("channels", {"input_size": 4, "in_channels": 2, "out_channels": 4, "groups": 2}),
        ("channels", {"input_size": 4, "in_channels": 2, "out_channels": 2, "transposed": True,
                      "stride": 2})]))
    data = _figure_data(kind, values)
    places = list(_paths(data))[1:]
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(places))
        hostile_value = draw(st.one_of(
            st.sampled_from([None, "x", [], {}, True, 1e300, -1, [200000, 200000], [4, 4, 4],
                             "no", "bogus", [[1, 2], [3]], [[[]]]]),
            st.integers(-3, 9), st.floats(allow_nan=False, allow_infinity=False)))
        target = data
        try:
            for step in where[:-1]:
                target = target[step]
            if draw(st.integers(0, 9)) == 0 and isinstance(target, dict):
                target.pop(where[-1], None)
            else:
                target[where[-1]] = hostile_value
        except (KeyError, IndexError, TypeError):
            pass
    if draw(st.integers(0, 15)) == 0:
        return kind, draw(st.sampled_from(["[]", '"x"', "null", "[" * 5000 + "]" * 5000, "{",
                                           "1e999999"]))
    return kind, json.dumps(data)


@settings(max_examples=DATA_EXAMPLES, deadline=None, derandomize=not NIGHTLY,
          suppress_health_check=list(HealthCheck))
@given(figure_data())
def test_verify_from_json_keeps_the_contract(case):
    """Exit 0 (the numbers hold), 1 (they do not: a table, and one line) or 2 (one line:
    not figure data); never a traceback, and never more memory than the figure limits."""
    kind, text_ = case
    path = Path(tempfile.mkdtemp(prefix="convanim-fuzz-")) / "f.json"
    path.write_text(text_)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["verify", kind, "--from-json", str(path), "--backend", "numpy"])
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    errors = err.getvalue().splitlines()
    event(f"verify exit {status}")
    assert status in (0, 1, 2), (text_[:200], status)
    if status == 2:
        assert len(errors) == 1 and errors[0].startswith("convanim: error: "), errors
        assert out.getvalue() == ""
    else:
        assert errors == [] and out.getvalue().splitlines()[0].split()[:2] == ["check", "backend"]
        assert ("FAIL" in out.getvalue()) == (status == 1)


api_value = st.one_of(
    st.integers(-2, 6), st.sampled_from([True, False, None, "5", "3x4", "abc", 2.5, float("nan"),
                                         (4, 3), [3, 3], (1, 2, 3), b"5"]),
    st.integers(1, 6).map(lambda n: __import__("numpy").int64(n)),
    st.sampled_from(["out", "dir", "taken", "nested/x", ""]).map(Path))
API_KEYS = ["input_size", "kernel_size", "stride", "padding", "dilation", "transposed", "step",
            "quality", "out_dir", "gif_dir", "json", "caption", "theme", "width", "format",
            "mode", "phase", "labels", "bogus", "input-size", "verify"]


@settings(max_examples=API_EXAMPLES, deadline=None, derandomize=not NIGHTLY,
          suppress_health_check=list(HealthCheck))
@given(st.sampled_from(FIGURES + ["histogram"]), st.dictionaries(
    st.sampled_from(API_KEYS), api_value, max_size=4), st.sampled_from([None, "fig", 5, "../x"]))
def test_the_api_keeps_the_contract(kind, options, name):
    result = api_contract(kind, {"quality": 20, **options, "backend": "numpy"}, name)
    event(f"api {'error' if isinstance(result, Exception) else 'ok'}")


def api_contract(kind, options, name=None):
    """convanim.render returns exactly the files it wrote, or raises SpecError (a one-line
    message) having written nothing; returns the paths or the error."""
    import convanim
    from convanim.errors import SpecError

    root = Path(tempfile.mkdtemp(prefix="convanim-fuzz-"))
    work = root / "work"
    work.mkdir()
    (work / "taken").write_text("a file, not a folder\n")
    (work / "dir").mkdir()
    before = snapshot(work)
    cwd = os.getcwd()
    try:
        os.chdir(work)
        try:
            result = convanim.render(kind, name, type="pdf", quiet=True, **options) \
                if "format" not in options else convanim.render(kind, name, quiet=True, **options)
        except SpecError as e:
            result = e
        after = snapshot(work)
    finally:
        os.chdir(cwd)
        shutil.rmtree(root, ignore_errors=True)
    if isinstance(result, Exception):
        assert "\n" not in str(result) and str(result), (kind, options, result)
        assert after == before, (kind, options, "a refused call wrote")
        return result
    changed = {k for k in after if after[k] != before.get(k)}
    printed = {os.path.normpath(str(p)) for p in result}
    folders = {str(p) for x in printed for p in Path(x).parents if str(p) != "."}
    assert changed == printed | (folders - set(before)), (kind, options, changed, printed)
    return result


# --- every form of padding, with values or without, from every front end (#35) --------------

#: The forms of padding: command-line arguments, and the same as config/API values.
PADDING_FORMS = {
    "none": ([], {}),
    "N": (["-p", "1"], {"padding": 1}),
    "HxW": (["-p", "2x1"], {"padding": "2x1"}),
    "same": (["-p", "same"], {"padding": "same"}),
    "valid": (["-p", "valid"], {"padding": "valid"}),
    "sides": (["--padding-sides", "0,2,1,0"], {"padding_sides": [0, 2, 1, 0]}),
    "causal": (["--causal"], {"causal": True}),  # a sequence's: 1-D sizes and values below
}
#: --input / --kernel, 2-D and (for --causal) 1-D, for the kinds that take values.
VALUES = {2: {"input": "1 2 3; 4 5 6; 7 8 9", "kernel": "1 0; 0 -1"},
          1: {"input": "1 2 3 4 5 6", "kernel": "1 0 -1"}}
VALUE_KINDS = ("numerical", "channels")


def padding_cases(kind: str):
    """(id, options as Python values) of every padding form x --input / --kernel given or
    not (the kinds that take values) x -t."""
    for form, (_, values) in PADDING_FORMS.items():
        given = ([(), ("input",), ("kernel",), ("input", "kernel")] if kind in VALUE_KINDS
                 else [()])
        dims = 1 if form == "causal" else 2
        for names in given:
            for transposed in (False, True):
                options = dict(values)
                if dims == 1 and kind != "stack":
                    options.update({"input_size": "1x8", "kernel_size": "1x3"})
                for n in names:
                    options[n] = VALUES[dims][n]
                    options.pop(f"{n}_size", None)  # the sizes follow the values
                if transposed:
                    options["transposed"] = True
                yield f"{form}-{'+'.join(names) or 'sizes'}{'-t' if transposed else ''}", options


def cli_args(kind: str, options: dict) -> list[str]:
    argv = [kind]
    for key, value in options.items():
        if key == "causal":
            argv.append("--causal")
        elif key == "transposed":
            argv.append("-t")
        else:
            flag = "--" + key.replace("_", "-")
            argv += [flag, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    return argv + ["-y", "pdf", "--quiet"]


def toml_of(kind: str, options: dict) -> str:
    lines = ["index = true", "[figures.f]", f'kind = "{kind}"', 'type = "pdf"']
    lines += [f"{key.replace('_', '-')} = {json.dumps(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind", FIGURES + ["channels", "stack"])
def test_every_padding_form_keeps_the_contract(kind):
    """Each form of padding x values given or not x -t, from the command line, a build
    config and the API: drawn, or refused in one line (SpecError from the API) with
    nothing written; the three agree, and refuse with the same reason. (One cache for
    the three: the config and the API draw what the command drew.)"""
    from convanim.errors import SpecError

    for case, options in padding_cases(kind):
        status, errors = cli_contract(cli_args(kind, options))
        assert status in (0, 2), (case, status, errors)
        result = api_contract(kind, dict(options))
        refused = isinstance(result, SpecError)
        assert refused == (status == 2), (case, errors, result)
        if refused:
            assert errors == [f"convanim: error: {result}"], (case, errors, result)
        built, build_errors = build_contract(toml_of(kind, options))
        assert built == (0 if status == 0 else 2), (case, errors, build_errors)
