"""Hostile files and text as values (issue #36): through the command line, a build config,
the Sphinx directive, the MkDocs plugin and the API. Each is refused with one line (exit 2,
or a :class:`SpecError`), nothing written, never a traceback, a hang, a program run on the
user's file, or the content of a file echoed. Parsing is timed per case: a backtracking
regex over a long token is a hang."""
import io
import os
import struct
import subprocess
import sys
import textwrap
import time
import zlib

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image

from convanim import build, values
from convanim.errors import SpecError
from convanim.figure import figure, plan
from convanim.options import Float

from helpers import PROJECT, files_under, run

EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 4 4\n"
       b"(/tmp/x) (w) file dup (x) writestring closefile\nshowpage\n%%EOF\n")
SECRET = "CI_DEPLOY_TOKEN=ghp_SECRETSECRETSECRET\n"
#: Seconds a refusal may take; generous, a backtracking parse takes many times more.
BOUND = 2.0


def png_header(w: int, h: int) -> bytes:
    """A PNG claiming ``w`` x ``h`` pixels in a few dozen bytes (no real pixel data)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def npy_claiming(shape) -> bytes:
    """A .npy file whose header claims ``shape`` and which holds no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()


def cli(*argv, timeout=60, cwd=None):
    """The command in a fresh process: (status, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    p = subprocess.run([sys.executable, "-m", "convanim", *argv], capture_output=True,
                       text=True, env=env, timeout=timeout, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def one_line_refusal(capsys, *argv):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == [] and len(err) == 1, (status, out, err)
    assert err[0].startswith("convanim: error: ")
    assert "Traceback" not in err[0]
    return err[0]


@pytest.fixture
def no_ghostscript(monkeypatch):
    """Fails the test if Pillow's EPS plugin is ever asked to open a file."""
    asked = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open",
                        lambda self: asked.append(self) or (_ for _ in ()).throw(
                            AssertionError("EPS opened")))
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript",
                        lambda *a, **k: asked.append(a) or (_ for _ in ()).throw(
                            AssertionError("Ghostscript run")))
    yield asked
    assert asked == [], "Pillow's EPS plugin was asked to open a user's file"


# --- 1. images by content, from an allow-list, pixel limit from the header ------------------

def test_an_eps_file_named_png_is_refused_by_its_content(capsys, workdir, no_ghostscript):
    (workdir / "evil.png").write_bytes(EPS)
    line = one_line_refusal(capsys, "channels", "--input", "evil.png", "-k", "1")
    assert "evil.png" in line and "PNG" in line  # names the formats it takes
    with pytest.raises(SpecError, match="evil.png"):
        figure("numerical", None, input="evil.png")
    with pytest.raises(SpecError, match="evil.png"):
        values.from_python(workdir / "evil.png")
    (workdir / "figures.toml").write_text('[figures.a]\nkind = "channels"\ninput = "evil.png"\n')
    with pytest.raises(SpecError, match="evil.png"):
        build.load(workdir / "figures.toml", workdir)
    assert [str(p) for p in files_under(workdir)] == ["evil.png", "figures.toml"]


def test_the_image_formats_are_one_allow_list_without_postscript():
    assert set(values.IMAGE_FORMATS) <= {"PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM"}
    assert not {"EPS", "PS", "PDF"} & set(values.IMAGE_FORMATS)


def test_the_pixel_limit_is_checked_from_the_header_before_decoding(capsys, workdir,
                                                                    monkeypatch):
    """A 4096 x 4096 PNG is refused from its header; no pixel is decoded."""
    Image.new("L", (4096, 4096)).save(workdir / "wide.png")
    decoded = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self.size)
                        or real_load(self))
    line = one_line_refusal(capsys, "numerical", "--input", "wide.png")
    assert "4096x4096" in line and decoded == []
    assert [str(p) for p in files_under(workdir)] == ["wide.png"]


def test_a_decompression_bomb_is_one_line_without_pillows_warning(workdir):
    """Past 89 million pixels Pillow warns (two lines on stderr); past twice that it
    raises: either way one line of ours."""
    (workdir / "bomb.png").write_bytes(png_header(10000, 10000))
    (workdir / "bigger.png").write_bytes(png_header(20000, 20000))
    for name in ("bomb.png", "bigger.png"):
        status, out, err = cli("numerical", "--input", name, cwd=workdir)
        assert status == 2 and out == ""
        assert err.strip().count("\n") == 0 and err.startswith("convanim: error: "), err
    assert "10000x10000" in cli("numerical", "--input", "bomb.png", cwd=workdir)[2]


# --- 2. values paths stay inside the root of an untrusted front end -------------------------

def _outside(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    (tmp_path / "secret.csv").write_text("1,2\n3,4\n")
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "link.txt").symlink_to(secret)
    (root / "sub" / "ok.csv").write_text("1,2\n3,4\n")
    return root


@pytest.mark.parametrize("given,why", [
    ("{tmp}/secret.csv", "absolute"),
    ("../../secret.csv", "outside"),
    ("link.txt", "outside"),
])
def test_build_configs_read_values_only_inside_their_folder(tmp_path, given, why):
    root = _outside(tmp_path)
    (root / "sub" / "figures.toml").write_text(
        f'[figures.a]\nkind = "numerical"\ninput = "{given.format(tmp=tmp_path)}"\n')
    with pytest.raises(SpecError, match=why) as e:
        build.load(root / "sub" / "figures.toml", root / "sub")
    assert "ghp_" not in str(e.value) and "CI_DEPLOY" not in str(e.value)
    (root / "sub" / "good.toml").write_text(
        '[figures.a]\nkind = "numerical"\ninput = "ok.csv"\nkernel = "1 0; 0 1"\n')
    assert build.load(root / "sub" / "good.toml", root / "sub").entries[0].name == "a"


def test_a_config_nested_too_deeply_is_refused(tmp_path):
    (tmp_path / "figures.toml").write_text(
        '[figures.a]\nkind = "numerical"\ninput = ' + "[" * 900 + "1" + "]" * 900 + "\n")
    with pytest.raises(SpecError, match="nested too deeply"):
        build.load(tmp_path / "figures.toml", tmp_path)


def test_the_command_line_with_a_config_file_reads_values_only_inside_the_folder(
        capsys, tmp_path, monkeypatch):
    root = _outside(tmp_path)
    monkeypatch.chdir(root / "sub")
    for given in (f"{tmp_path}/secret.csv", "../../secret.csv", "link.txt"):
        # configargparse takes a key spelled as the long flag too ("--input = ...")
        for key in ("input", "--input", "kernel", "--kernel"):
            (root / "sub" / "opts.txt").write_text(f"{key} = {given}\n")
            line = one_line_refusal(capsys, "numerical", "-c", "opts.txt")
            assert "outside" in line or "absolute" in line, (key, line)
            assert "ghp_" not in line
    # given on the command line itself, the user's own path is read (not echoed)
    line = one_line_refusal(capsys, "numerical", "--input", "link.txt")
    assert "link.txt" in line and "ghp_" not in line and "CI_DEPLOY" not in line


def test_values_file_errors_never_echo_the_files_content(tmp_path):
    for name in ("secret.txt", "secret.csv"):
        (tmp_path / name).write_text("1 2\n" + SECRET if name.endswith("txt")
                                     else "1,2\n" + SECRET.replace("=", ","))
        with pytest.raises(SpecError) as e:
            figure("numerical", None, input=str(tmp_path / name))
        assert name in str(e.value) and ":2:" in str(e.value)
        assert "ghp_" not in str(e.value) and "CI_DEPLOY" not in str(e.value), e.value


def test_only_regular_files_are_read(tmp_path):
    """A FIFO is refused at once (reading it would wait for a writer forever)."""
    os.mkfifo(tmp_path / "x.csv")
    start = time.monotonic()
    status, out, err = cli("numerical", "--input", "x.csv", cwd=tmp_path, timeout=30)
    assert status == 2 and out == "" and err.count("\n") == 1 and "x.csv" in err, err
    assert time.monotonic() - start < 20


@pytest.mark.usefixtures("tex_tools")
def test_sphinx_reads_values_only_inside_the_source_folder(tmp_path):
    from test_sphinx import CONF, sphinx

    src = _outside(tmp_path)
    (src / "conf.py").write_text(CONF)
    (src / "index.rst").write_text(textwrap.dedent(f"""
        Tiny
        ====

        .. convanim:: numerical abs
           :input: {tmp_path}/secret.csv

        .. convanim:: numerical up
           :input: ../secret.csv

        .. convanim:: numerical link
           :input: sub/link.txt
        """))
    proc = sphinx(src, "html", tmp_path / "html", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 3, proc.stderr
    assert all("outside" in w or "absolute" in w for w in warnings), warnings
    assert "ghp_" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.usefixtures("tex_tools")
def test_mkdocs_page_blocks_read_values_beside_the_page_and_inside_the_docs(tmp_path):
    from test_mkdocs import make_site, mkdocs

    site = make_site(tmp_path)
    guide = site / "docs" / "guide"
    guide.mkdir()
    (tmp_path / "secret.txt").write_text(SECRET)
    (guide / "link.txt").symlink_to(tmp_path / "secret.txt")
    (guide / "x.csv").write_text("1,2,3\n4,5,6\n7,8,9\n")
    (guide / "page.md").write_text(textwrap.dedent("""\
        # Page

        ```convanim
        kind = "numerical"
        name = "mine"
        input = "x.csv"
        kernel = "1 0; 0 1"
        ```

        ```convanim
        kind = "numerical"
        input = "nowhere.csv"
        ```

        ```convanim
        kind = "numerical"
        input = "link.txt"
        ```
        """))
    proc = mkdocs(site)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 2, proc.stderr
    assert "block 2" in warnings[0] and os.path.join("guide", "nowhere.csv") in warnings[0]
    assert "block 3" in warnings[1] and "outside" in warnings[1]
    assert "ghp_" not in proc.stderr and "Traceback" not in proc.stderr
    assert list((site / "site" / "convanim").glob("mine*.png")), proc.stderr


# --- 3. linear parsing ------------------------------------------------------------------

def _timed_refusal(call):
    start = time.monotonic()
    with pytest.raises(SpecError):
        call()
    took = time.monotonic() - start
    assert took < BOUND, f"{took:.1f} s"


def test_a_long_token_in_a_csv_is_refused_in_linear_time(tmp_path):
    (tmp_path / "long.csv").write_text("1" * 20_000 + "x\n")
    _timed_refusal(lambda: values.parse(str(tmp_path / "long.csv")))


@pytest.mark.parametrize("text", ["1 " * 64_000 + "a", "1" * 20_000 + "x", "1" * 20_000 + ";x",
                                  "1." * 10_000 + "e"])
def test_long_inline_values_are_refused_in_linear_time(text):
    _timed_refusal(lambda: values.parse(text))


def test_a_long_inline_value_in_a_build_config_is_refused_in_linear_time(tmp_path):
    (tmp_path / "figures.toml").write_text(
        f'[figures.a]\nkind = "numerical"\ninput = "{"1 " * 64_000}a"\n')
    _timed_refusal(lambda: build.load(tmp_path / "figures.toml", tmp_path))


def test_a_long_number_option_is_refused_in_linear_time():
    _timed_refusal(lambda: Float(0, 100).parse("1" * 16_000 + "x"))
    _timed_refusal(lambda: Float(0, 100).parse("1" * 16_000))


def test_numbers_still_parse():
    assert values.parse("1 -2.5; .5 3e2").array.tolist() == [[1, -2.5], [0.5, 300]]
    assert Float(0, 100).parse(" 8.25 ") == 8.25 and Float(0, 1e9).parse("1e3") == 1000


# --- 8. tracebacks ------------------------------------------------------------------------

def test_an_npz_named_npy_is_refused(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.ones((2, 2)))
    os.rename(tmp_path / "a.npz", tmp_path / "a.npy")
    with pytest.raises(SpecError, match="a.npy"):
        values.parse(str(tmp_path / "a.npy"))


def test_an_npy_header_claiming_a_huge_shape_is_refused_before_allocating(tmp_path):
    import tracemalloc

    (tmp_path / "huge.npy").write_bytes(npy_claiming((100_000, 100_000)))
    assert (tmp_path / "huge.npy").stat().st_size <= 128
    tracemalloc.start()
    try:
        with pytest.raises(SpecError, match="huge.npy"):
            values.parse(str(tmp_path / "huge.npy"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20, f"{peak:,} bytes"


@pytest.mark.parametrize("text", ["[[" + "1" * 400 + "]]", "[" * 30_000, "[" * 900 + "1" + "]" * 900,
                                  "[[1e999]]", "[[" + "9" * 5000 + "]]"])
def test_huge_and_deep_inline_values_are_refused(text):
    _timed_refusal(lambda: values.parse(text))


def test_huge_and_deep_python_values_are_refused():
    deep = 1
    for _ in range(900):
        deep = [deep]
    for value in ([[10 ** 400]], deep):
        with pytest.raises(SpecError):
            values.from_python(value)


def test_a_long_word_as_input_is_one_line(capsys, workdir):
    line = one_line_refusal(capsys, "numerical", "--input", "w" * 300)
    assert "neither a named kernel" in line
    one_line_refusal(capsys, "numerical", "--input", "w" * 300 + ".png")
    one_line_refusal(capsys, "numerical", "--input", "w/" * 3000 + "x.csv")


def test_ctrl_c_while_importing_exits_130_without_a_traceback(tmp_path):
    """A KeyboardInterrupt before main() installs its handlers (here: raised by the import
    of the command line, deterministically)."""
    hook = textwrap.dedent("""
        import builtins, runpy, sys
        real = builtins.__import__
        def imp(name, globals=None, locals=None, fromlist=(), level=0):
            if name == "cli" and level == 1:
                raise KeyboardInterrupt
            return real(name, globals, locals, fromlist, level)
        builtins.__import__ = imp
        sys.argv = ["convanim", "arithmetic"]
        runpy.run_module("convanim", run_name="__main__", alter_sys=True)
        """)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    p = subprocess.run([sys.executable, "-c", hook], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=60)
    assert p.returncode == 130 and "Traceback" not in p.stderr, (p.returncode, p.stderr)
    assert list(tmp_path.iterdir()) == []


# --- 9. one image path for the command line and the API -----------------------------------

def test_16_bit_and_float_images_keep_their_values_from_files_and_from_python(tmp_path):
    a16 = np.array([[0, 1000], [65535, 7]], dtype=np.uint16)
    img16 = Image.fromarray(a16)  # mode I;16
    img16.save(tmp_path / "a16.png")
    f = Image.fromarray(np.array([[0.25, -1.5], [3.0, 0.0]], dtype=np.float32))  # mode F
    f.save(tmp_path / "f.tif")
    i32 = Image.fromarray(np.array([[70000, -3], [0, 1]], dtype=np.int32))  # mode I
    for img, want in ((img16, [[0, 1000], [65535, 7]]), (f, [[0.25, -1.5], [3.0, 0.0]]),
                      (i32, [[70000, -3], [0, 1]])):
        assert values.from_python(img).array.tolist() == want, img.mode
    assert values.parse(str(tmp_path / "a16.png")).array.tolist() == [[0, 1000], [65535, 7]]
    assert values.parse(str(tmp_path / "f.tif")).array.tolist() == [[0.25, -1.5], [3.0, 0.0]]


def test_greyscale_palette_images_are_greyscale(tmp_path):
    grey = np.array([[0, 64], [128, 255]], dtype=np.uint8)
    p = Image.fromarray(grey).convert("P")  # a palette of greys
    p.save(tmp_path / "g.png")
    p.save(tmp_path / "g.gif")
    for v in (values.from_python(p), values.parse(str(tmp_path / "g.png")),
              values.parse(str(tmp_path / "g.gif"))):
        assert v.array.tolist() == grey.tolist()
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    colour = Image.fromarray(rgb).quantize(4)
    colour.save(tmp_path / "c.png")
    for v in (values.from_python(colour), values.parse(str(tmp_path / "c.png"))):
        assert v.shape == (3, 2, 2) and v.array[:, 0, 0].tolist() == [255, 0, 0]


# --- 11. messages -------------------------------------------------------------------------

def test_in_channels_against_the_inputs_planes_names_in_channels(capsys, workdir):
    line = one_line_refusal(capsys, "channels", "--input", "1 2; 3 4 | 5 6; 7 8", "--kernel",
                            "1", "--in-channels", "3")
    assert "--in-channels 3" in line and "2 planes" in line and "--groups" not in line, line


# --- the fuzz: hostile files through every front end ------------------------------------------

def _hostile_files(folder):
    """name -> how to make it, each a values file some user was handed."""
    folder.mkdir(exist_ok=True)
    (folder / "eps.png").write_bytes(EPS)
    (folder / "loop.png").write_bytes(EPS.replace(b"(/tmp/x)", b"{ } loop (/tmp/x)"))
    buf = io.BytesIO()
    np.savez(buf, x=np.ones(2))
    (folder / "npz.npy").write_bytes(buf.getvalue())
    (folder / "huge.npy").write_bytes(npy_claiming((100_000, 100_000)))
    (folder / "deep.npy").write_bytes(npy_claiming((1,) * 30))
    (folder / "long.csv").write_text("1" * 20_000 + "x")
    (folder / "bomb.png").write_bytes(png_header(30000, 30000))
    (folder / "secret.txt").write_text(SECRET)
    os.mkfifo(folder / "fifo.csv")
    (folder.parent / "outside.txt").write_text(SECRET)
    (folder / "out.txt").symlink_to(folder.parent / "outside.txt")
    return ["eps.png", "loop.png", "npz.npy", "huge.npy", "deep.npy", "long.csv", "bomb.png",
            "secret.txt", "fifo.csv", "out.txt", "w" * 300, "[" * 30_000,
            "[[" + "1" * 400 + "]]", "1 " * 64_000 + "z", "[" * 900 + "1" + "]" * 900]


def test_hostile_values_through_the_api_and_a_build_config(tmp_path, no_ghostscript):
    names = _hostile_files(tmp_path / "in")
    for name in names:
        for kind in ("numerical", "channels"):
            start = time.monotonic()
            with pytest.raises(SpecError) as e:
                plan(*figure(kind, None, input=str(tmp_path / "in" / name)
                             if len(name) < 200 and (tmp_path / "in" / name).exists() else name))
            assert "\n" not in str(e.value) and "ghp_" not in str(e.value)
            assert time.monotonic() - start < BOUND, name[:20]
            config = tmp_path / "in" / "figures.toml"
            config.write_text(f'[figures.a]\nkind = "{kind}"\ninput = "{name}"\n')
            start = time.monotonic()
            with pytest.raises(SpecError) as e:
                build.load(config, tmp_path / "in")
            assert "ghp_" not in str(e.value)
            assert time.monotonic() - start < BOUND, name[:20]
    assert not os.path.exists("/tmp/x") or os.path.getmtime("/tmp/x") < time.time() - 600


@pytest.mark.slow
def test_hostile_values_through_the_command_line_and_build_check(tmp_path):
    names = _hostile_files(tmp_path / "in")
    before = files_under(tmp_path)
    for name in names:
        start = time.monotonic()
        status, out, err = cli("numerical", "--input", name, cwd=tmp_path / "in", timeout=30)
        assert status == 2 and out == "" and err.count("\n") == 1, (name[:20], err)
        assert "Traceback" not in err and "ghp_" not in err
        assert time.monotonic() - start < 15, name[:20]
    (tmp_path / "in" / "figures.toml").write_text(
        '[figures.a]\nkind = "channels"\ninput = "loop.png"\n')
    status, out, err = cli("build", "--check", "figures.toml", cwd=tmp_path / "in", timeout=30)
    assert status == 2 and err.count("\n") == 1 and "loop.png" in err, err
    (tmp_path / "in" / "figures.toml").unlink()
    assert files_under(tmp_path) == before
