"""The Python API: the command's options as Python values, the command's errors."""
import base64

import pytest
from PIL import Image

import convanim
from convanim.errors import SpecError
from helpers import files_under, run
from test_cli import BAD

pytestmark = pytest.mark.usefixtures("tex_tools")


def test_render_writes_what_the_command_writes(workdir):
    result = convanim.render("arithmetic", input_size=5, stride=2, animation=True, quiet=True)
    assert [str(p) for p in result] == ["out/arithmetic_i5_k3_s2_p0_d1.pdf",
                                        "gif/arithmetic_i5_k3_s2_p0_d1.gif"]
    assert Image.open(workdir / result[1]).n_frames == 4
    html = result._repr_html_()
    assert html.startswith('<img src="data:image/gif;base64,')
    gif = base64.b64decode(html.split("base64,")[1].split('"')[0])
    assert gif == (workdir / result[1]).read_bytes()
    assert result._repr_png_() is None


def test_notebooks_show_every_animation_format_inline(workdir):
    player = convanim.render("arithmetic", "p", animation=True, type="html", quiet=True)
    assert [str(p) for p in player] == ["out/p.pdf", "gif/p.html"]
    html = player._repr_html_()
    assert html.startswith('<iframe class="convanim" srcdoc="')  # runs where scripts do not
    import html as html_

    page = html_.unescape(html.split('srcdoc="')[1].split('"')[0])
    assert page == (workdir / "gif/p.html").read_text() and 'data-frames="9"' in page
    video = convanim.render("arithmetic", "v", animation=True, format="mp4",
                            quality_animation=30, quiet=True)
    assert video._repr_html_().startswith('<video src="data:video/mp4;base64,')
    still = convanim.render("arithmetic", "w", animation=True, type="webp",
                            quality_animation=30, quiet=True)
    data = base64.b64decode(still._repr_html_().split("base64,")[1].split('"')[0])
    assert data == (workdir / "gif/w.webp").read_bytes()


def test_render_takes_python_values(workdir):
    result = convanim.render("numerical", "pool", input_size=(5, 7), kernel_size=[3, 2],
                             mode="max", step=2, quality=50)
    assert [str(p) for p in result] == ["out/pool_02.png"]
    png = result._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == (workdir / "out/pool_02.png").read_bytes()
    assert result._repr_html_().startswith('<img src="data:image/png;base64,')
    assert convanim.render("alphabet", transposed=True, input_size=4, json=True, type="svg",
                           out_dir="elsewhere")[1].name == "alphabet_transposed_i4_k3_s1_p0_d1.json"


def _as_python(argv):
    """A BAD command line of test_cli as API keyword arguments."""
    from convanim.scenes.arithmetic import ArithmeticOptions

    actions = {f: o for o in ArithmeticOptions.options() for f in o.flags}
    name, options, words = None, {}, list(argv)
    while words:
        word = words.pop(0)
        if word not in actions:
            name = word
        elif actions[word].is_flag:
            options[actions[word].name] = True
        else:
            options[actions[word].name] = words.pop(0)
    return name, options


@pytest.mark.parametrize("args,message", [b for b in BAD if b[0] != ["--bogus"]],
                         ids=[" ".join(a) for a, _ in BAD if a != ["--bogus"]])
def test_api_errors_are_the_commands_errors(workdir, capsys, args, message):
    status, _, err = run(capsys, "arithmetic", *args)
    name, options = _as_python(args)
    with pytest.raises(SpecError) as e:
        convanim.render("arithmetic", name, **options)
    assert f"convanim: error: {e.value}" == err[0]
    assert message in str(e.value)
    assert files_under(workdir) == []


@pytest.mark.parametrize("kind,options,message", [
    ("histogram", {}, "unknown kind 'histogram' (choose from arithmetic, numerical, alphabet, "
                      "im2col, channels, stack)"),
    ("arithmetic", {"bogus": 1}, "unknown option 'bogus' for arithmetic figures (known: "),
    ("arithmetic", {"mode": "max"}, "unknown option 'mode' for arithmetic figures"),
    ("arithmetic", {"transposed": "yes"}, "argument -t/--transposed: expected true or false"),
    ("arithmetic", {"input_size": True}, "argument -i/--input-size: expected a number"),
    ("stack", {"input_size": (5, 5, 5)},
     "-i 5x5x5: stack figures draw 1-D and 2-D convolutions; a volume (3-D) is drawn by "
     "arithmetic, numerical, alphabet, im2col and channels, and counted by stats"),
    ("arithmetic", {"padding": -1}, "padding must be >= 0, got -1"),
    ("numerical", {"mode": "median"}, "argument -m/--mode: invalid choice: 'median'"),
])
def test_api_refuses_bad_options(workdir, kind, options, message):
    with pytest.raises(SpecError) as e:
        convanim.render(kind, **options)
    assert message in str(e.value)
    assert files_under(workdir) == []


def test_render_is_an_ordinary_function_of_the_package():
    """`convanim.render` is the API's function; the render engine is `convanim.engine`."""
    import inspect

    from convanim import api, engine, render

    assert render is convanim.render is api.render and inspect.isfunction(render)
    assert engine.Product.__module__ == "convanim.engine"


def test_tex_source_is_not_shown_as_an_image(workdir):
    """-y tex writes source a LaTeX document typesets: a notebook shows nothing of it
    (never a broken <img>), and the index page leaves it out."""
    from convanim import index

    source = convanim.render("arithmetic", "src", type="tex", quiet=True)
    assert [p.suffix for p in source] == [".tex", ".sty"]
    assert source._repr_html_() is None
    assert ".tex" not in index._SHOWN
