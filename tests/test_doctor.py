"""`convanim doctor`: each tool checked, the install line of what is missing, exit 1 when
figures cannot be drawn. Tools are hidden by running it with a PATH of chosen links."""
import os
import shutil
import subprocess
import sys

from helpers import PROJECT


def doctor(path=None):
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    if path is not None:
        env["PATH"] = str(path)
    return subprocess.run([sys.executable, "-m", "convanim", "doctor"], capture_output=True,
                          text=True, env=env, timeout=300)


def bin_with(tmp_path, tools, fakes=None):
    """A folder of links to the real ``tools`` (and scripts named in ``fakes``)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        (folder / tool).symlink_to(shutil.which(tool))
    for name, script in (fakes or {}).items():
        (folder / name).write_text("#!/bin/sh\n" + script)
        (folder / name).chmod(0o755)
    return folder


TEX = ["pdflatex", "kpsewhich", "pdftoppm", "pdfinfo", "pdftocairo"]


def test_everything_here(tex_tools):
    proc = doctor()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = {line.split()[1]: line for line in proc.stdout.splitlines() 
             if line.startswith(("ok ", "missing ", "MISSING "))}
    for name in ("pdflatex", "TeX", "pdftoppm", "pdfinfo", "a", "ffmpeg", "numba/CUDA"):
        assert lines[name].startswith("ok "), proc.stdout
    assert "compiled with pdflatex and rasterised with pdftoppm" in proc.stdout
    assert "tikz.sty" in lines["TeX"] and "pdfTeX" in lines["pdflatex"]
    assert "figures can be drawn here" in proc.stdout


def test_no_pdflatex_prints_the_install_line_and_fails(tmp_path, tex_tools):
    proc = doctor(bin_with(tmp_path, [t for t in TEX if t != "pdflatex"]))
    assert proc.returncode == 1
    assert any(line.startswith("MISSING") and "pdflatex" in line
               for line in proc.stdout.splitlines()), proc.stdout
    assert ("  sudo apt-get install texlive-latex-base texlive-latex-recommended "
            "texlive-pictures") in proc.stdout
    assert "figures cannot be drawn here: pdflatex, a TikZ picture" in proc.stderr
    # chromium is not on this PATH either: reported, with its line, but it fails nothing
    assert any(line.startswith("missing") and "chromium" in line
               for line in proc.stdout.splitlines())
    assert "  sudo apt-get install chromium" in proc.stdout


def test_a_missing_tex_package_names_its_debian_package(tmp_path, tex_tools):
    real = shutil.which("kpsewhich")
    fake = {"kpsewhich": f'case "$1" in tikz*) exit 1;; *) exec {real} "$@";; esac\n'}
    proc = doctor(bin_with(tmp_path, [t for t in TEX if t != "kpsewhich"], fake))
    assert proc.returncode == 1
    assert "missing tikz.sty, tikzlibrarycalc.code.tex" in proc.stdout
    assert "  sudo apt-get install texlive-pictures\n" in proc.stdout


def test_no_poppler_fails(tmp_path, tex_tools):
    proc = doctor(bin_with(tmp_path, ["pdflatex", "kpsewhich"]))
    assert proc.returncode == 1
    assert "  sudo apt-get install poppler-utils" in proc.stdout
    assert "pdftoppm" in proc.stderr
