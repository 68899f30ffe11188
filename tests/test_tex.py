"""TeX escaping in one place, and templates found from the checkout or a wheel."""

import pytest

from convanim import tex
from convanim.scenes import arithmetic
from convanim.spec import ConvSpec
from convanim.scenes.arithmetic import Arithmetic, ArithmeticOptions


@pytest.mark.parametrize("raw,escaped", [
    ("a_b", r"a\_b"), ("50%", r"50\%"), ("x&y", r"x\&y"), ("#1", r"\#1"), ("$5", r"\$5"),
    ("{x}", r"\{x\}"), ("a^b", r"a\textasciicircum{}b"), ("~", r"\textasciitilde{}"), ("\\input", r"$\backslash$input"),
    ("<>", "$<$$>$"), ("plain text", "plain text"),
])
def test_escape(raw, escaped):
    assert tex.escape(raw) == escaped


def test_escape_leaves_numbers_alone():
    assert tex.escape(3) == 3 and tex.escape(0.5) == 0.5


def test_template_dir_holds_the_templates():
    assert (tex.template_dir() / "base.tex.j2").is_file()
    assert (tex.template_dir() / Arithmetic.template).is_file()


def test_a_caption_cannot_inject_tex():
    spec = ConvSpec().validate()
    args = ArithmeticOptions(labels=True, caption=r"\input{/etc/passwd} 100% $x$")
    source = tex.render(Arithmetic.template, scene=Arithmetic().scene(spec, [0, 1], args))
    assert r"\input{/etc" not in source
    assert r"$\backslash$\allowbreak{}i\allowbreak{}n" in source  # a long word may break
    assert r"\allowbreak{}d\allowbreak{}\} 100\% \$x\$" in source
    assert source.count(r"\begin{cvframe}") == 2


def test_user_text_is_escaped_once_and_long_words_may_break_anywhere():
    from markupsafe import Markup

    from convanim.tex import LONG_WORD, escape, text

    short = "a_b [x] *y {z} w\\"
    assert text(short) == r"a\_b [x] *y \{z\} w$\backslash$"
    long = "#" + "q" * (LONG_WORD - 1)
    assert text(f"go {long}") == "go " + r"\allowbreak{}".join([r"\#"] + ["q"] * (LONG_WORD - 1))
    assert isinstance(text(short), Markup) and escape(text(short)) == text(short)


def test_a_wheel_ships_the_templates(tmp_path):
    """The templates are package data: a wheel built from the checkout carries each one."""
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(tex.__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(tmp_path), str(root)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("convanim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    want = {f"convanim/templates/{p.name}" for p in tex.template_dir().glob("*.j2")}
    assert len(want) >= 10 and want <= names
    package = root / "convanim"  # and every module of every subpackage
    modules = {p.relative_to(root).as_posix() for p in package.rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules - names == set()
