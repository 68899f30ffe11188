"""`convanim build`: one config, a thread pool, incremental, --check, config errors."""
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from helpers import PROJECT, files_under, run

from convanim import build

pytestmark = pytest.mark.usefixtures("tex_tools")

CONFIG = """
title = "Test figures"
index = true

[defaults]
animation = true
quality-animation = 40
labels = true           # arithmetic only: the numerical figure must not get it

[figures.stride2]
kind = "arithmetic"
input-size = 5
stride = 2
description = "A stride-2 conv."

[figures.odd_t]
kind = "arithmetic"
input-size = 6
stride = 2
padding = 1
transposed = true

[figures.maxpool]
kind = "numerical"
input-size = 4
kernel-size = 2
stride = 2
mode = "max"

[figures.single]
kind = "alphabet"
animation = false
type = "svg"
step = 1
input-size = [4, 5]
"""

OUTPUTS = ["gif/maxpool.gif", "gif/odd_t.gif", "gif/stride2.gif", "index.html", "index.md",
           "out/maxpool.pdf", "out/odd_t.pdf", "out/single_01.svg", "out/stride2.pdf"]


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def outputs(root):
    return sorted(str(p) for p in files_under(root) if not p.name.startswith("."))


def mtimes(root):
    return {p: (root / p).stat().st_mtime_ns for p in outputs(root) if p != "figs.toml"}


def test_build_writes_every_figure_and_prints_each_path(workdir, capsys):
    config = write(workdir / "figs.toml", CONFIG)
    status, out, err = run(capsys, "build", "figs.toml", "-j", "2")
    assert status == 0, err
    assert outputs(workdir) == sorted(OUTPUTS + ["figs.toml"])
    assert sorted(str(p) for p in out) == OUTPUTS  # relative to the CWD: the config's folder
    assert Image.open(workdir / "gif/stride2.gif").n_frames == 4
    assert Image.open(workdir / "gif/odd_t.gif").n_frames == 36  # transposed: back to 6x6
    assert Image.open(workdir / "gif/maxpool.gif").n_frames == 4
    assert (workdir / "out/single_01.svg").read_text().lstrip().startswith("<?xml")
    assert err[-1].startswith("convanim: 4 figures, 9 files written, 0 failed")
    umask = os.umask(0o022)
    os.umask(umask)
    assert umask != 0  # threads placing files at once must not leave it cleared
    assert {(workdir / p).stat().st_mode & 0o777 for p in OUTPUTS} == {0o666 & ~umask}


def test_pool_output_is_the_figure_commands_output(workdir, capsys):
    """The in-process pool draws byte for byte what one `convanim` command draws."""
    write(workdir / "figs.toml", CONFIG)
    assert run(capsys, "build", "figs.toml", "-j", "2", "--no-cache")[0] == 0
    cmd = [sys.executable, "-m", "convanim", "arithmetic", "odd_t", "-i", "6", "-s", "2",
           "-p", "1", "-t", "-a", "-qa", "40", "--labels", "--quiet", "--no-cache",
           "--out-dir", "cli", "--gif-dir", "cli"]
    subprocess.run(cmd, cwd=workdir, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert (workdir / "cli/odd_t.gif").read_bytes() == (workdir / "gif/odd_t.gif").read_bytes()


def test_rebuild_is_incremental(workdir, capsys):
    config = write(workdir / "figs.toml", CONFIG)
    assert run(capsys, "build", "figs.toml")[0] == 0
    before = mtimes(workdir)
    manifest = (workdir / ".convanim-build.json").stat().st_mtime_ns
    status, out, err = run(capsys, "build", "figs.toml")
    assert status == 0 and out == []
    assert (workdir / ".convanim-build.json").stat().st_mtime_ns == manifest
    assert err[-1].startswith("convanim: 4 figures, 0 files written")
    assert mtimes(workdir) == before  # nothing rewritten, so docs tools see no change
    # Change one figure: only it (and the index, which shows its parameters) is redrawn.
    config.write_text(config.read_text().replace("input-size = 4\n", "input-size = 6\n"))
    status, out, _ = run(capsys, "build", "figs.toml")
    assert status == 0
    assert sorted(map(str, out)) == ["gif/maxpool.gif", "index.html", "index.md",
                                     "out/maxpool.pdf"]
    assert Image.open(workdir / "gif/maxpool.gif").n_frames == 9
    after = mtimes(workdir)
    assert {p for p in before if before[p] != after[p]} == {
        "gif/maxpool.gif", "index.html", "index.md", "out/maxpool.pdf"}
    # A deleted or edited output is drawn again.
    (workdir / "gif/stride2.gif").unlink()
    (workdir / "out/single_01.svg").write_text("edited")
    status, out, _ = run(capsys, "build", "figs.toml")
    assert status == 0
    assert {"gif/stride2.gif", "out/stride2.pdf", "out/single_01.svg"} <= set(map(str, out))
    assert (workdir / "out/single_01.svg").read_text() != "edited"


@pytest.mark.slow
def test_format_option_and_per_figure_type_choose_the_animation_files(workdir, capsys):
    """``build --format`` sets every animation's format; a figure's own ``type`` another."""
    config = write(workdir / "figs.toml", CONFIG.replace(
        'mode = "max"\n', 'mode = "max"\ntype = "mp4"\n'))
    status, out, err = run(capsys, "build", "figs.toml", "-j", "2")
    assert status == 0, err
    assert "gif/maxpool.mp4" in map(str, out) and "gif/stride2.gif" in map(str, out)
    status, out, err = run(capsys, "build", "figs.toml", "--format", "html", "--check")
    assert status == 1                      # a new format: every animation is missing
    assert {"gif/stride2.html", "gif/odd_t.html", "gif/maxpool.html"} <= set(map(str, out))
    assert "out/single_01.svg" not in map(str, out)   # a single step keeps its type
    status, out, err = run(capsys, "build", "figs.toml", "--format", "webp")
    assert status == 0, err
    assert {"gif/stride2.webp", "gif/odd_t.webp", "gif/maxpool.webp"} <= set(map(str, out))
    with Image.open(workdir / "gif/odd_t.webp") as im:
        assert im.n_frames == 36
    assert run(capsys, "build", "figs.toml", "--format", "webp", "--check")[0] == 0
    md = (workdir / "index.md").read_text()
    assert "![stride2](gif/stride2.webp)" in md
    page = (workdir / "index.html").read_text()
    assert page.count("data:image/webp;base64,") == 3
    status, out, err = run(capsys, "build", "figs.toml", "--format", "html")
    assert status == 0, err
    page = (workdir / "index.html").read_text()
    assert page.count('<iframe class="player"') == 3 and "srcdoc=" in page
    assert "[stride2: interactive player](gif/stride2.html)" in (workdir / "index.md").read_text()
    status, out, err = run(capsys, "build", "figs.toml", "--format", "jpg")
    assert status == 2 and "invalid choice: 'jpg'" in err[0]


def test_check_lists_missing_and_stale_outputs_without_building(workdir, capsys):
    config = write(workdir / "figs.toml", CONFIG)
    status, out, err = run(capsys, "build", "figs.toml", "--check")
    assert status == 1
    assert sorted(map(str, out)) == OUTPUTS
    assert outputs(workdir) == ["figs.toml"]  # built nothing
    assert run(capsys, "build", "figs.toml")[0] == 0
    status, out, err = run(capsys, "build", "figs.toml", "--check")
    assert (status, out) == (0, [])
    assert err == ["convanim: 4 figures, 0 outputs missing or out of date"]
    config.write_text(config.read_text().replace("stride = 2\ndescription", "stride = 1\n"
                                                 "description"))
    status, out, err = run(capsys, "build", "figs.toml", "--check")
    assert status == 1
    assert sorted(map(str, out)) == ["gif/stride2.gif", "index.html", "index.md",
                                     "out/stride2.pdf"]
    assert "convanim: out of date: gif/stride2.gif" in err
    (workdir / "gif" / "stride2.gif").unlink()
    config.write_text(config.read_text().replace("stride = 1\n", "stride = 2\n"))
    run(capsys, "build", "figs.toml")
    (workdir / "out" / "stride2.pdf").unlink()
    status, out, err = run(capsys, "build", "figs.toml", "--check")
    assert (status, [str(p) for p in out]) == (1, ["out/stride2.pdf"])
    assert err[-1] == "convanim: 4 figures, 1 output missing or out of date"


def test_one_failing_figure_does_not_stop_the_others(workdir, capsys):
    (workdir / "blocker").write_text("a file where a folder is needed")
    write(workdir / "figs.toml", """
        [defaults]
        animation = true
        quality-animation = 40
        [figures.good1]
        kind = "arithmetic"
        [figures.bad]
        kind = "arithmetic"
        gif-dir = "blocker/gif"
        [figures.good2]
        kind = "numerical"
        """)
    status, out, err = run(capsys, "build", "figs.toml", "-j", "2")
    assert status == 1
    assert sorted(map(str, out)) == ["gif/good1.gif", "gif/good2.gif", "out/good1.pdf",
                                     "out/good2.pdf"]
    errors = [e for e in err if e.startswith("convanim: error:")]
    assert len(errors) == 1 and errors[0].startswith("convanim: error: figure 'bad': ")
    assert "blocker" in errors[0]
    assert not (workdir / "out/bad.pdf").exists()  # all or none
    # The good ones are up to date; the failed one is still stale.
    status, out, _ = run(capsys, "build", "figs.toml", "--check")
    assert status == 1 and sorted(map(str, out)) == ["blocker/gif/bad.gif", "out/bad.pdf"]


BAD_CONFIGS = [
    ('[figures.a]\nkind = "arithmetic"\nbogus = 1\n',
     "figs.toml:1: figure 'a': unknown option 'bogus' for arithmetic figures"),
    ('[figures.a]\nkind = "histogram"\n',
     "figs.toml:1: figure 'a': unknown kind 'histogram' (choose from arithmetic, numerical"),
    ('\n[figures.a]\nkind = "arithmetic"\n\n[figures.b]\nkind = "arithmetic"\nstride = 0\n',
     "figs.toml:5: figure 'b': stride must be >= 1, got 0"),
    ('[figures.a]\nkind = "arithmetic"\ninput-size = "abc"\n',
     "figure 'a': argument -i/--input-size: expected N, HxW or DxHxW"),
    ('[figures.a]\nkind = "arithmetic"\ntransposed = "yes"\n',
     "figure 'a': argument -t/--transposed: expected true or false, got 'yes'"),
    ('[figures.a]\nkind = "numerical"\nmode = "median"\n',
     "argument -m/--mode: invalid choice: 'median'"),
    ('[figures.a]\ninput-size = 5\n', "figure 'a': no kind"),
    ('[figures.a]\nkind = "arithmetic"\n[figures.b]\nkind = "arithmetic"\nstride = 0\n'
     '[figures.c]\nkind = "arithmetic"\nstride = -1\n', "(1 more bad figures)"),
    ('[figures."../x"]\nkind = "arithmetic"\n', "NAME must be at most 200 letters"),
    ('[defaults]\nlabelz = true\n[figures.a]\nkind = "arithmetic"\n',
     "figs.toml: [defaults]: unknown option 'labelz'"),
    ('[figure.a]\nkind = "arithmetic"\n', "figs.toml: unknown key 'figure'"),
    ('[figures.a\nkind = "arithmetic"\n', "figs.toml: Expected ']' at the end of a table"),
    ('[figures.a]\nkind = "arithmetic"\n[figures.b]\nkind = "arithmetic"\n'
     'out-dir = "gif"\nanimation = true\n[figures.a2]\nkind="arithmetic"\nanimation = true\n'
     'name = "x"\n', "'name' is the table's name"),
]


@pytest.mark.parametrize("text,message", BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_bad_config_is_refused_before_anything_is_built(workdir, capsys, text, message):
    (workdir / "figs.toml").write_text(text)
    status, out, err = run(capsys, "build", "figs.toml")
    assert status == 2 and out == []
    assert len(err) == 1 and err[0].startswith("convanim: error: "), err
    assert message in err[0]
    assert outputs(workdir) == ["figs.toml"]


def test_two_figures_writing_one_file_are_refused(workdir, capsys):
    (workdir / "figs.toml").write_text('[figures.a]\nkind = "arithmetic"\ntype = "pdf"\n'
                                       '[figures.b]\nkind = "numerical"\nout-dir = "x"\n'
                                       '[figures.a_00]\nkind = "alphabet"\nanimation = true\n'
                                       'out-dir = "x/../out"\n')
    status, _, err = run(capsys, "build", "figs.toml")
    assert status == 2
    assert "figure 'a_00': writes out/a_00.pdf" in err[0] and "as figure 'a' does" in err[0]


def test_build_needs_one_source(workdir, capsys):
    status, _, err = run(capsys, "build")
    assert status == 2 and err == ["convanim: error: build needs a FILE or --gallery NAME "
                                   "(not both)"]
    status, _, err = run(capsys, "build", "nope.toml")
    assert status == 2 and err[0].startswith("convanim: error: cannot read nope.toml")


# The original gallery (vdumoulin/conv_arithmetic, bin/generate_makefile): name, kind,
# i, k, s, p, d, transposed, mode -> frames (output cells of the operation drawn).
CLASSIC = {
    "no_padding_no_strides": ("arithmetic", 4, 3, 1, 0, 1, False, None, 4),
    "arbitrary_padding_no_strides": ("arithmetic", 5, 4, 1, 2, 1, False, None, 36),
    "same_padding_no_strides": ("arithmetic", 5, 3, 1, 1, 1, False, None, 25),
    "full_padding_no_strides": ("arithmetic", 5, 3, 1, 2, 1, False, None, 49),
    "no_padding_strides": ("arithmetic", 5, 3, 2, 0, 1, False, None, 4),
    "padding_strides": ("arithmetic", 5, 3, 2, 1, 1, False, None, 9),
    "padding_strides_odd": ("arithmetic", 6, 3, 2, 1, 1, False, None, 9),
    "no_padding_no_strides_transposed": ("arithmetic", 4, 3, 1, 0, 1, True, None, 16),
    "arbitrary_padding_no_strides_transposed": ("arithmetic", 5, 4, 1, 2, 1, True, None, 25),
    "same_padding_no_strides_transposed": ("arithmetic", 5, 3, 1, 1, 1, True, None, 25),
    "full_padding_no_strides_transposed": ("arithmetic", 5, 3, 1, 2, 1, True, None, 25),
    "no_padding_strides_transposed": ("arithmetic", 5, 3, 2, 0, 1, True, None, 25),
    "padding_strides_transposed": ("arithmetic", 5, 3, 2, 1, 1, True, None, 25),
    "padding_strides_odd_transposed": ("arithmetic", 6, 3, 2, 1, 1, True, None, 36),
    "dilation": ("arithmetic", 7, 3, 1, 0, 2, False, None, 9),
    "numerical_no_padding_no_strides": ("numerical", 5, 3, 1, 0, 1, False, "convolution", 9),
    "numerical_padding_strides": ("numerical", 5, 3, 2, 1, 1, False, "convolution", 9),
    "numerical_average_pooling": ("numerical", 5, 3, 1, 0, 1, False, "average", 9),
    "numerical_max_pooling": ("numerical", 5, 3, 1, 0, 1, False, "max", 9),
}


def test_classic_gallery_has_the_original_names_and_parameters(tmp_path):
    config = build.load(build.GALLERY_DIR / "classic.toml", tmp_path)
    entries = {e.name: e for e in config.entries}
    assert set(CLASSIC) <= set(entries)
    extra = sorted(set(entries) - set(CLASSIC))
    assert [entries[n].kind for n in extra] == ["alphabet"] * 2 + ["channels"] * 4 + \
        ["im2col"] * 2 + ["stack", "arithmetic", "numerical", "stack"]
    volumes = {n: entries[n].figure for n in ("volume_no_padding_no_strides",
                                              "volume_numerical")}
    assert {n: (f.spec.input_size, f.spec.kernel_size, len(f.frames))
            for n, f in volumes.items()} == {
        "volume_no_padding_no_strides": ((3, 4, 4), (2, 2, 2), 18),
        "volume_numerical": ((3, 4, 4), (2, 3, 3), 8)}
    assert {n: (entries[n].figure.options.in_channels, entries[n].figure.options.out_channels,
                entries[n].figure.options.groups, len(entries[n].figure.frames))
            for n in ("im2col_channels_grouped", "alphabet_channels_grouped")} == {
        "im2col_channels_grouped": (4, 4, 2, 9), "alphabet_channels_grouped": (2, 4, 2, 16)}
    channels = {n: entries[n].figure for n in extra if entries[n].kind == "channels"}
    assert {n: (f.options.in_channels, f.options.out_channels, f.options.groups,
                f.spec.kernel_size[0], len(f.frames)) for n, f in channels.items()} == {
        "channels_multi": (3, 2, 1, 3, 18), "channels_grouped": (4, 4, 2, 3, 36),
        "channels_depthwise": (3, 3, 3, 3, 27), "channels_pointwise": (3, 2, 1, 1, 18)}
    for name, (kind, i, k, s, p, d, t, mode, frames) in CLASSIC.items():
        f = entries[name].figure
        assert f.kind.name == kind, name
        assert f.spec.args == ((i, i), (k, k), (s, s), (p, p, p, p), (d, d)), name
        assert f.spec.transposed == t and f.options.animation, name
        assert getattr(f.options, "mode", None) == mode, name
        assert len(f.frames) == frames, name
        if t:  # the transposed twin maps the conv's output back to its input
            assert f.spec.output_size == (i, i), name
        assert [str(o.relative_to(tmp_path)) for o in f.outputs()] == \
            [f"out/{name}.pdf", f"gif/{name}.gif"]
    assert entries["padding_strides_odd_transposed"].figure.spec.output_padding == (1, 1)


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    """The classic gallery, built once by the real command."""
    root = tmp_path_factory.mktemp("gallery")
    env = {**os.environ, "PYTHONPATH": str(PROJECT),
           "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache"))}
    proc = subprocess.run([sys.executable, "-m", "convanim", "build", "--gallery", "classic",
                           "--out", str(root), "-j", "2"], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    return root, proc.stdout.splitlines()


def test_the_gallery_depthwise_separable_pair_is_one_computation(tmp_path):
    """The pointwise figure reads what the depthwise figure computes (a depthwise-
    separable conv drawn in two steps), and each output equals a plain loop."""
    import numpy as np

    config = build.load(build.GALLERY_DIR / "classic.toml", tmp_path)
    data = {e.name: e.figure.data() for e in config.entries
            if e.name in ("channels_depthwise", "channels_pointwise")}
    dw, pw = data["channels_depthwise"], data["channels_pointwise"]
    x, w = np.array(dw["input"]), np.array(dw["kernel"])
    assert w.shape == (3, 1, 3, 3) and len(set(map(str, w.tolist()))) == 3  # three filters
    loop = np.zeros((3, 3, 3))
    for c in range(3):
        for i in range(3):
            for j in range(3):
                loop[c, i, j] = (x[c, i:i + 3, j:j + 3] * w[c, 0]).sum()
    assert np.array_equal(np.array(dw["output"]), loop)
    assert np.array_equal(np.array(pw["input"]), loop)
    mix = np.array(pw["kernel"])[:, :, 0, 0]
    assert np.allclose(np.array(pw["output"]), np.einsum("dc,chw->dhw", mix, loop))


@pytest.mark.slow
def test_classic_gallery_builds_every_animation(gallery):
    root, printed = gallery
    for name, (*_, frames) in CLASSIC.items():
        with Image.open(root / "gif" / f"{name}.gif") as gif:
            assert gif.n_frames == frames, name
        assert str(root / "out" / f"{name}.pdf") in printed
    assert len(printed) == 2 * 31 + 2


def test_gallery_index_shows_every_figure_with_its_torch_call(gallery):
    root, _ = gallery
    md = (root / "index.md").read_text()
    page = (root / "index.html").read_text()
    for name in CLASSIC:
        assert f"## {name}\n" in md and f"![{name}](gif/{name}.gif)" in md
        assert f'id="{name}"' in page
    assert ("`torch.nn.ConvTranspose2d(1, 1, kernel_size=3, stride=2, padding=1, "
            "output_padding=1)`") in md
    assert "`torch.nn.Conv2d(1, 1, kernel_size=3, stride=1, padding=0, dilation=2)`" in md
    assert "`torch.nn.MaxPool2d(kernel_size=3, stride=1, padding=0)`" in md
    assert "`torch.nn.AvgPool2d(kernel_size=3, stride=1, padding=0)`" in md
    assert "`torch.nn.Unfold(kernel_size=3, stride=2, padding=1)`" in md
    assert ("`python -m convanim arithmetic padding_strides_odd_transposed -a -i 6 -k 3 -s 2 "
            "-p 1 -t`") in md
    assert "input 6, kernel 3, stride 2, padding 1, dilation 1, output padding 1 (transposed)" \
        "; 3 → 6, 36 steps" in md
    assert '<div class="card wide" id="alphabet_no_padding_no_strides">' in page
    assert '<div class="card" id="dilation">' in page
    # Self-contained: every image inline, nothing fetched.
    assert page.count('<img src="data:image/gif;base64,') == 31
    # the volumes (#34): conv3d's module, and the command that draws each
    assert "`torch.nn.Conv3d(1, 1, kernel_size=2, stride=1, padding=0)`" in md
    assert "`torch.nn.Conv3d(1, 1, kernel_size=(2, 3, 3), stride=1, padding=0)`" in md
    assert ("`python -m convanim numerical volume_numerical -a -i 3x4x4 -k 2x3x3`") in md
    assert "## wavenet_dilated_causal\n" in md and "nn.Conv1d(1, 1, 2, stride=1, dilation=8)" in md
    assert "receptive field 16, jump 1, 4 layers, causal" in md
    assert "## receptive_field_planes\n" in md and "nn.Conv2d(1, 1, 3, stride=1, dilation=2)" in md
    assert "input 8x8, layers k=3 k=3,d=2, receptive field 7x7, jump 1x1, 2-D, 2 layers; " in md
    assert "`torch.nn.Conv2d(4, 4, kernel_size=3, stride=1, padding=0, groups=2)`" in md
    assert "`torch.nn.Conv2d(2, 4, kernel_size=3, stride=1, padding=0, groups=2)`" in md
    assert "`python -m convanim im2col im2col_channels_grouped -a -i 5 -k 3 -s 2 -p 1 " \
        "--in-channels 4 --out-channels 4 --groups 2`" in md
    assert "http" not in page.replace("<!DOCTYPE html>", "")


def test_progress_is_one_bar_over_figures(workdir, capsys):
    write(workdir / "figs.toml", CONFIG)
    config = build.load(workdir / "figs.toml", workdir)
    written, failures = build.build(config, workdir, jobs=2, progress=True)
    assert failures == [] and len(written) == 9
    out, err = capsys.readouterr()
    assert sorted(out.split()) == sorted(str(workdir / p) for p in OUTPUTS)
    counts = re.findall(r"figures: +\d+%\|[^|]*\| (\d+)/(\d+)", err)
    assert counts[0] == ("0", "4") and {total for _, total in counts} == {"4"}
    assert "typesetting" not in err and "rasterising" not in err  # no bar per figure


def test_source_figures_share_the_package_and_a_rebuild_draws_nothing(workdir, capsys):
    """``type = "tex"``: each figure's .tex and the one convanim.sty beside them (written
    by every source figure of the folder: not two writers of one file, and no figure
    stale because another recorded it); a second build writes nothing."""
    from convanim.tex import package
    from test_tex_source import latex

    write(workdir / "figs.toml", """
        [defaults]
        type = "tex"

        [figures.paper]
        kind = "arithmetic"
        width = "columnwidth"
        input-size = 5
        stride = 2

        [figures.vol]
        kind = "numerical"
        input-size = "2x3x3"
        kernel-size = 2
        step = 1

        [figures.png]
        kind = "alphabet"
        type = "png"
        input-size = 3
        kernel-size = 2
        """)
    status, out, err = run(capsys, "build", "figs.toml", "-j", "2")
    assert status == 0, err
    wanted = ["out/convanim.sty", "out/paper.tex", "out/png_00.png", "out/vol.tex"]
    assert sorted(map(str, out)) == wanted  # the package once
    assert err[-1].startswith("convanim: 3 figures, 4 files written, 0 failed")
    assert (workdir / "out/convanim.sty").read_text() == package()
    assert "\\cvbegin{paper}{1}" in (workdir / "out/paper.tex").read_text()
    assert "\\cvbegin{vol}{1}" in (workdir / "out/vol.tex").read_text()
    _, log = latex(workdir / "out", "\\input{paper}\n\n\\input{vol}")
    assert "pdfTeX warning" not in log and "convanim Warning" not in log
    for stem in ("doc.tex", "doc.pdf", "doc.log", "doc.aux"):
        (workdir / "out" / stem).unlink()
    before = mtimes(workdir)
    manifest = (workdir / ".convanim-build.json").read_bytes()
    status, out, err = run(capsys, "build", "figs.toml")
    assert (status, out) == (0, []) and err[-1].startswith("convanim: 3 figures, 0 files")
    assert mtimes(workdir) == before and (workdir / ".convanim-build.json").read_bytes() == manifest
    assert run(capsys, "build", "figs.toml", "--check")[:2] == (0, [])
    (workdir / "out/convanim.sty").unlink()
    status, out, err = run(capsys, "build", "figs.toml", "--check")
    assert (status, out) == (1, [Path("out/convanim.sty")])
    assert "convanim: missing: out/convanim.sty" in err
    assert run(capsys, "build", "figs.toml")[0] == 0
    assert (workdir / "out/convanim.sty").read_text() == package()
    assert run(capsys, "build", "figs.toml")[:2] == (0, [])
