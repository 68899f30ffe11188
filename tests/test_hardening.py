"""Untrusted docs builds: configs, pages and cached files from a pull request.

Each test is one fault a hostile review reproduced; the contract is the CLI's: exit 0
with exactly the printed files, or exit 2 with one `convanim: error:` line and nothing
written, and never a write outside the build's output root.
"""
import json
import os
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from convanim import build, cache, index
from helpers import files_under, run

pytestmark = pytest.mark.usefixtures("tex_tools")


def config(path, text):
    path.write_text(textwrap.dedent(text))
    return path


# --- a build writes only under its output root ----------------------------------------------

@pytest.mark.parametrize("line,message", [
    ('out-dir = "../victim"\njson = true', "out-dir '../victim' leaves the output root"),
    ('out-dir = "/dev"', "out-dir '/dev' is an absolute path"),
    ('gif-dir = "../../x"\nanimation = true', "gif-dir '../../x' leaves the output root"),
    ('out-dir = "a/../../b"', "out-dir 'a/../../b' leaves the output root"),
    ('out-dir = "link"', "out-dir 'link' leads outside the output root"),
])
def test_a_config_cannot_write_outside_its_root(tmp_path, capsys, line, message):
    root = tmp_path / "site"
    root.mkdir()
    (tmp_path / "victim").mkdir()
    (root / "link").symlink_to(tmp_path / "victim")
    config(root / "figs.toml", f'[figures.a]\nkind = "arithmetic"\ntype = "pdf"\n{line}\n')
    before = files_under(tmp_path)
    status, out, err = run(capsys, "build", str(root / "figs.toml"))
    assert status == 2 and out == [] and len(err) == 1, err
    assert message in err[0] and "figure 'a'" in err[0]
    assert files_under(tmp_path) == before


def test_a_committed_symlink_out_of_the_root_is_refused(tmp_path, capsys):
    root = tmp_path / "site"
    (root / "out").mkdir(parents=True)
    secret = tmp_path / "bashrc"
    secret.write_text("mine\n")
    (root / "out/a_00.pdf").symlink_to(secret)
    config(root / "figs.toml", '[figures.a]\nkind = "arithmetic"\ntype = "pdf"\n')
    status, out, err = run(capsys, "build", str(root / "figs.toml"))
    assert status == 2 and "outside the output root" in err[0]
    assert secret.read_text() == "mine\n"


def test_inside_the_root_a_symlink_to_a_file_is_written_through(workdir, capsys):
    (workdir / "out").mkdir()
    (workdir / "real.pdf").write_bytes(b"old")
    (workdir / "out/a_00.pdf").symlink_to(workdir / "real.pdf")
    config(workdir / "figs.toml", '[figures.a]\nkind = "arithmetic"\ntype = "pdf"\n')
    status, _, err = run(capsys, "build", "figs.toml", "--quiet")
    assert status == 0, err
    assert (workdir / "out/a_00.pdf").is_symlink()
    assert (workdir / "real.pdf").read_bytes()[:5] == b"%PDF-"


# --- collisions ------------------------------------------------------------------------------

def test_a_figure_cannot_overwrite_the_index_page(workdir, capsys):
    config(workdir / "figs.toml", """
        index = true
        [figures.index]
        kind = "arithmetic"
        animation = true
        type = "html"
        gif-dir = "."
        """)
    status, out, err = run(capsys, "build", "figs.toml")
    assert status == 2 and "writes index.html, as the index page does" in err[0]
    assert files_under(workdir) == [Path("figs.toml")]


def test_two_folders_reaching_one_through_a_symlink_collide(workdir, capsys):
    (workdir / "real").mkdir()
    (workdir / "alias").symlink_to(workdir / "real")
    # real/a_00.pdf and alias/a_00.pdf are one file
    config(workdir / "two.toml", """
        [figures.a]
        kind = "arithmetic"
        type = "pdf"
        out-dir = "real"
        [figures."a_00"]
        kind = "arithmetic"
        animation = true
        out-dir = "alias"
        gif-dir = "g"
        """)
    status, out, err = run(capsys, "build", "two.toml")
    assert status == 2 and out == []
    assert "figure 'a_00': writes alias/a_00.pdf, as figure 'a' does" in err[0]


def test_an_empty_figure_name_is_refused(workdir, capsys):
    config(workdir / "figs.toml", '[figures.""]\nkind = "arithmetic"\n')
    status, _, err = run(capsys, "build", "figs.toml")
    assert status == 2 and "a figure needs a name" in err[0]


# --- configs and manifests that are not what they claim ----------------------------------------

@pytest.mark.parametrize("text,message", [
    ('[figures.a]\nkind = ["arithmetic"]\n', "unknown kind ['arithmetic']"),
    ('[figures.a]\nkind = "arithmetic"\nout-dir = "a\\u0000b"\n', "a path cannot hold '\\x00'"),
    ('[figures.a]\nkind = "arithmetic"\nout-dir = "a\\nb"\n', "a path cannot hold '\\n'"),
    ('[figures.a]\nkind = "arithmetic"\ndelay = 15\nanimation = true\n',
     "--delay 15: a GIF stores delays in hundredths of a second"),
])
def test_hostile_config_values_exit_2(workdir, capsys, text, message):
    (workdir / "figs.toml").write_text(text)
    status, out, err = run(capsys, "build", "figs.toml")
    assert status == 2 and out == [] and len(err) == 1 and message in err[0], err
    assert files_under(workdir) == [Path("figs.toml")]


@pytest.mark.parametrize("source", ["/dev/zero", "fifo", "."])
def test_a_config_that_is_not_a_file_is_refused(workdir, capsys, source):
    if source == "fifo":
        os.mkfifo(workdir / "fifo")
    status, _, err = run(capsys, "build", source)
    assert status == 2 and len(err) == 1
    assert "not a regular file" in err[0] or "Is a directory" in err[0]


def test_a_foreign_manifest_is_rebuilt(workdir, capsys):
    config(workdir / "figs.toml", '[figures.a]\nkind = "arithmetic"\ntype = "pdf"\n')
    (workdir / ".convanim-build.json").write_text('{"outputs": []}')
    status, out, err = run(capsys, "build", "figs.toml", "--quiet")
    assert status == 0 and [str(p) for p in out] == ["out/a_00.pdf"], err
    assert list(json.loads((workdir / ".convanim-build.json").read_text())["outputs"]) == \
        ["out/a_00.pdf"]


def test_concurrent_builds_keep_each_others_manifest_entries(workdir):
    import subprocess
    import sys

    from helpers import PROJECT

    for n in range(6):
        config(workdir / f"f{n}.toml", f'[figures.f{n}]\nkind = "arithmetic"\ntype = "pdf"\n'
                                       f'input-size = {3 + n}\n')
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    procs = [subprocess.Popen([sys.executable, "-m", "convanim", "build", f"f{n}.toml",
                               "--quiet"], cwd=workdir, env=env) for n in range(6)]
    assert [p.wait(timeout=240) for p in procs] == [0] * 6
    outputs = json.loads((workdir / ".convanim-build.json").read_text())["outputs"]
    assert sorted(outputs) == [f"out/f{n}_00.pdf" for n in range(6)]


# --- the index page shows text, never runs it ------------------------------------------------

def test_the_index_page_escapes_what_a_config_says(workdir, capsys):
    config(workdir / "figs.toml", """
        title = "<script>alert(1)</script>"
        index = true
        [figures.a]
        kind = "arithmetic"
        type = "pdf"
        description = "<img src=x onerror=alert(1)> [click](javascript:alert(1))"
        caption = "x;touch${IFS}PWNED;#`oops`"
        """)
    status, _, err = run(capsys, "build", "figs.toml", "--quiet")
    assert status == 0, err
    md = (workdir / "index.md").read_text()
    assert "<script>" not in md and "<img" not in md and "](javascript" not in md
    assert "&lt;script&gt;" in md and "\\[click\\]\\(javascript:alert\\(1\\)\\)" in md
    command = next(line for line in md.splitlines() if "python -m convanim" in line)
    assert command == "- `` python -m convanim arithmetic a -y pdf --caption " \
                      "'x;touch${IFS}PWNED;#`oops`' ``"
    page = (workdir / "index.html").read_text()
    assert "<script>alert" not in page and "<img src=x" not in page
    import shlex

    words = shlex.split(command[5:-3])  # what a shell would run: convanim, one caption
    assert words[:3] == ["python", "-m", "convanim"] and words[-1] == "x;touch${IFS}PWNED;#`oops`"


def test_markdown_helpers():
    assert index.md_code("a ``b`` c") == "``` a ``b`` c ```"
    assert index.md_text("1. not a list *nor* _this_") == "1\\. not a list \\*nor\\* \\_this\\_"


# --- the cache checks what it serves ------------------------------------------------------------

@pytest.mark.parametrize("damage", ["truncate", "delete", "garble"])
def test_a_damaged_cache_entry_is_redrawn_and_healed(workdir, capsys, damage):
    args = ["arithmetic", "f", "-a", "-qa", "20", "--quiet"]
    assert run(capsys, *args)[0] == 0
    good = (workdir / "gif/f.gif").read_bytes()
    (entry,) = [p for p in cache.cache_root().rglob("figure.gif")]
    if damage == "truncate":
        entry.write_bytes(good[:100])
    elif damage == "delete":
        entry.unlink()
    else:
        entry.write_bytes(good[:-10] + b"\0" * 10)
    (workdir / "gif/f.gif").unlink()
    status, out, err = run(capsys, *args)
    assert status == 0 and [str(p) for p in out] == ["out/f.pdf", "gif/f.gif"]
    assert len(err) == 1 and "warning: a cached figure was damaged" in err[0]
    assert (workdir / "gif/f.gif").read_bytes() == good
    assert Image.open(workdir / "gif/f.gif").n_frames == 9
    status, out, err = run(capsys, *args)  # healed: served again without a warning
    assert status == 0 and err == [] and entry.read_bytes() == good


# --- verify --from-json trusts nothing it reads ---------------------------------------------

@pytest.fixture
def figure_json(workdir, capsys):
    assert run(capsys, "numerical", "f", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "-y", "pdf",
               "--json", "--quiet")[0] == 0
    return json.loads((workdir / "out/f.json").read_text())


@pytest.mark.parametrize("change,message", [
    (lambda d: [], "is not figure data: a JSON object is expected, got list"),
    (lambda d: "x", "is not figure data: a JSON object is expected, got str"),
    (lambda d: None, "got NoneType"),
    (lambda d: {**d, "input": [[1, 2], [3]]}, "input should be a list of 5"),
    (lambda d: {**d, "input": "abc"}, "input should be a list of 5"),
    (lambda d: {**d, "input": [[True] * 5] * 5}, "input[0][0] should be a number"),
    (lambda d: {**d, "kernel": None}, "kernel should be a list of 3"),
    (lambda d: {**d, "input_size": [200000, 200000]}, "figure too large"),
    (lambda d: {**d, "input_size": [4, 4, 4]},
     "--padding-sides 1,1,1,1 gives four sides, but -i 4x4x4 is 3-D"),
    (lambda d: {**d, "input_size": [4, 4, 4, 4]},
     "expected a number, a string, an (h, w) pair or a (d, h, w) triple"),
    (lambda d: {**d, "transposed": "no"}, "expected true or false, got 'no'"),
    (lambda d: {**d, "mode": "bogus"}, "invalid choice: 'bogus'"),
    (lambda d: {**d, "steps": 7}, "steps is 7, but its options give 9"),
])
def test_verify_refuses_data_no_figure_could_write(workdir, capsys, figure_json, change,
                                                   message):
    path = workdir / "bad.json"
    path.write_text(json.dumps(change(figure_json)))
    status, out, err = run(capsys, "verify", "numerical", "--from-json", str(path),
                           "--backend", "numpy")
    assert status == 2 and out == [] and len(err) == 1 and message in err[0], err


def test_verify_refuses_deeply_nested_json(workdir, capsys):
    (workdir / "deep.json").write_text("[" * 50000 + "]" * 50000)
    status, _, err = run(capsys, "verify", "numerical", "--from-json", "deep.json")
    assert status == 2 and err == ["convanim: error: cannot read deep.json: nested too deeply"]


# --- ONNX layers are checked like the command line's -------------------------------------------

@pytest.mark.parametrize("attrs,message", [
    (dict(strides=[0, 0]), "stride must be >= 1"),
    (dict(dilations=[0, 1]), "dilation must be >= 1"),
    (dict(pads=[-2, -2, -2, -2]), "padding must be >= 0"),
    (dict(group=0), ""),
])
def test_hostile_onnx_layers_exit_2(workdir, capsys, attrs, message):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((4, 3, 3, 3), dtype=np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c", **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 3, 8, 8])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], [w])
    onnx.save(helper.make_model(graph), str(workdir / "m.onnx"))
    status, out, err = run(capsys, "stats", "--onnx", "m.onnx")
    assert status == 2 and out == [] and len(err) == 1 and "cannot read m.onnx" in err[0]
    assert message in err[0]


def test_an_onnx_kernel_larger_than_its_input_is_refused(workdir, capsys):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((4, 3, 25, 25), dtype=np.float32), "w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 4])  # a lie
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], "g",
                              [x], [y], [w])
    model = helper.make_model(graph)
    onnx.save(model, str(workdir / "m.onnx"))
    status, out, err = run(capsys, "stats", "--onnx", "m.onnx")
    assert status == 2 and out == [] and "cannot read m.onnx" in err[0], err


# --- -c FILE -----------------------------------------------------------------------------------

def test_a_config_file_error_never_echoes_its_content(workdir, capsys):
    (workdir / "secret.cfg").write_text("password = hunter2\ntoken = s3cr3t\n")
    status, out, err = run(capsys, "arithmetic", "-c", "secret.cfg", "-y", "pdf")
    assert status == 2 and err == ["convanim: error: unrecognized arguments: --password, --token"]


def test_a_config_file_cannot_name_another(workdir, capsys):
    (workdir / "a.cfg").write_text("config = b.cfg\nstride = 2\n")
    status, _, err = run(capsys, "arithmetic", "-c", "a.cfg", "-y", "pdf")
    assert status == 2 and "a config file cannot name another" in err[0]
    assert files_under(workdir) == [Path("a.cfg")]


# --- smaller faults ----------------------------------------------------------------------------

@pytest.mark.parametrize("delay,ok", [("10", False), ("15", False), ("20", True), ("25", False),
                                      ("1000", True)])
def test_gif_delays_are_what_browsers_play(workdir, capsys, delay, ok):
    status, out, err = run(capsys, "arithmetic", "d", "-i", "4", "-k", "3", "-a", "-qa", "20",
                           "--delay", delay, "--quiet")
    assert (status == 0) == ok, err
    if ok:
        with Image.open(workdir / "gif/d.gif") as im:
            assert im.info["duration"] == int(delay)


def test_webp_takes_any_delay(workdir, capsys):
    status, _, err = run(capsys, "arithmetic", "w", "-i", "4", "-a", "-qa", "20", "-y", "webp",
                         "--delay", "15", "--quiet")
    assert status == 0, err


def test_leftovers_of_a_killed_run_are_swept(workdir, capsys, tmp_path, monkeypatch):
    import tempfile
    import time

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    (workdir / "out").mkdir()
    old = time.time() - 2 * 86400
    stale_tmp, fresh_tmp = workdir / "out/.convanim-x.tmp", workdir / "out/.convanim-y.tmp"
    stale_work = scratch / "convanim-dead"  # a work folder of ours: marked as made
    stale_work.mkdir()
    (stale_work / ".convanim-work").touch()
    for p in (stale_tmp, fresh_tmp):
        p.write_bytes(b"half")
    for p in (stale_tmp, stale_work):
        os.utime(p, (old, old))
    assert run(capsys, "arithmetic", "a", "-y", "pdf", "-i", "4", "--quiet")[0] == 0
    assert not stale_tmp.exists() and not stale_work.exists()
    assert fresh_tmp.exists()  # perhaps another run's, still writing


def test_an_index_that_cannot_be_written_does_not_hide_the_figures(workdir, capsys, monkeypatch):
    config(workdir / "figs.toml", """
        index = true
        [figures.a]
        kind = "arithmetic"
        type = "pdf"
        [figures.b]
        kind = "arithmetic"
        type = "pdf"
        stride = 0
        """.replace("stride = 0", "step = 1"))

    def full(*a, **k):
        raise OSError(28, "No space left on device", str(workdir / "index.md"))

    monkeypatch.setattr(index, "write", full)
    status, out, err = run(capsys, "build", "figs.toml", "--quiet")
    assert status == 1
    assert sorted(str(p) for p in out) == ["out/a_00.pdf", "out/b_01.pdf"]
    assert err == [f"convanim: error: the index page: No space left on device: "
                   f"{workdir / 'index.md'}"]
    saved = json.loads((workdir / ".convanim-build.json").read_text())["outputs"]
    assert sorted(saved) == ["out/a_00.pdf", "out/b_01.pdf"]


def test_a_full_disk_names_the_file(tmp_path, monkeypatch):
    from convanim import files

    real_open = open

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def write(self, data):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr("builtins.open", lambda p, mode="r", *a, **k: Full(real_open(p, mode))
                        if mode == "wb" else real_open(p, mode, *a, **k))
    with pytest.raises(OSError) as e:
        files.place_all([(b"data", tmp_path / "x.pdf")])
    assert e.value.filename == str(tmp_path / "x.pdf") and e.value.errno == 28
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_tex_reads_nothing_outside_its_folder(tmp_path):
    from convanim.engine import texpool
    from convanim.errors import ToolError

    doc = (r"\documentclass{article}\begin{document}\input{/etc/hostname}x\end{document}")
    with pytest.raises(ToolError, match="not found"):
        texpool.compile_pdf(doc, tmp_path, 1, progress=False)


def test_a_pixel_budget_stops_tex_at_its_first_page(tmp_path):
    """The GIF and PNG pixel limits need the page size, which TeX knows at its first page:
    it is stopped there, not after typesetting every frame."""
    from convanim.engine import texpool
    from convanim.errors import SpecError

    pages = "".join(r"\begin{cvframe}\rule{3cm}{2cm}\end{cvframe}" for _ in range(200))
    base = (r"\documentclass{article}\newsavebox\cvbox\newcounter{cvpage}"
            r"\newenvironment{cvframe}{\begin{lrbox}{\cvbox}}{\end{lrbox}"
            r"\pdfpagewidth=\wd\cvbox\pdfpageheight=\ht\cvbox\shipout\hbox{\usebox\cvbox}"
            r"\stepcounter{cvpage}\typeout{convanim-page \arabic{cvpage} "
            r"\the\pdfpagewidth\space\the\pdfpageheight}}\begin{document}")
    seen = []

    def budget(w, h):
        seen.append((round(w), round(h)))
        return "too large"

    with pytest.raises(SpecError, match="too large"):
        texpool.compile_pdf(base + pages + r"\end{document}", tmp_path, 200, False,
                             check_page=budget)
    assert seen == [(85, 57)]  # 3 cm x 2 cm in PDF points, seen once
    assert "convanim-page 200" not in (tmp_path / "figure.log").read_text(errors="replace")
