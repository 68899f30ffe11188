"""``python -m convanim doctor``: is every tool a figure needs here, and if not, the exact
line that installs it.

A missing toolchain is the most common failure of any LaTeX-based tool, and it shows up
as an error deep inside a render. The doctor checks each piece on its own (pdflatex and
the TeX packages the templates load, poppler, ffmpeg through imageio-ffmpeg, chromium,
numba and a CUDA GPU), then compiles and rasterises one tiny TikZ picture the way the
pipeline does, and exits 1 when figures cannot be drawn. Optional pieces (video, the
browser, the GPU) are reported but never fail it.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .engine.formats import VIDEO_WORDS

#: The formats that need ffmpeg.
_VIDEO = ", ".join(VIDEO_WORDS)
TEX_APT = "sudo apt-get install texlive-latex-base texlive-latex-recommended texlive-pictures"
POPPLER_APT = "sudo apt-get install poppler-utils"
#: Files the templates load (convanim/templates/preamble.tex.j2), and the Debian package of each.
TEX_FILES = {"article.cls": "texlive-latex-base", "graphicx.sty": "texlive-latex-base",
             "tikz.sty": "texlive-pictures", "tikzlibrarycalc.code.tex": "texlive-pictures"}
TINY = r"""\documentclass{article}
\usepackage{tikz}
\usepackage{graphicx}
\usetikzlibrary{calc}
\pagestyle{empty}
\begin{document}
\begin{tikzpicture}\draw[fill=gray] (0,0) rectangle ($(1,1)+(0.5,0)$);\end{tikzpicture}
\end{document}
"""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str           # what was found, or what is missing
    fix: str = ""         # the install line, when not ok
    needed: bool = True   # False: only some outputs need it; never fails the doctor


def _first_line(cmd: list[str]) -> str | None:
    """The first line ``cmd`` writes, or None when it cannot run or does not end within
    30 s (a hung tool is not a working one)."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else ""


def _tool(name: str, fix: str, version: list[str], needed: bool = True,
          purpose: str = "") -> Check:
    path = shutil.which(name)
    if path is None:
        return Check(name, False, f"not found on PATH{purpose}", fix, needed)
    line = _first_line([path, *version])
    if line is None:
        return Check(name, False, f"{path} did not answer {' '.join(version)} within 30 s",
                     fix, needed)
    return Check(name, True, f"{line} ({path})", needed=needed)


def tex_packages() -> Check:
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return Check("TeX packages", False, "kpsewhich not found (no TeX Live)", TEX_APT)
    missing = []
    for file, package in TEX_FILES.items():
        try:
            found = subprocess.run([kpsewhich, file], capture_output=True, text=True,
                                   timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            found = ""
        if not found:
            missing.append((file, package))
    if missing:
        packages = " ".join(dict.fromkeys(p for _, p in missing))
        return Check("TeX packages", False, "missing " + ", ".join(f for f, _ in missing),
                     f"sudo apt-get install {packages}")
    return Check("TeX packages", True, ", ".join(TEX_FILES))


def tiny_figure() -> Check:
    """Compile and rasterise one picture as the pipeline does: what the parts add up to."""
    name = "a TikZ picture"
    pdflatex, pdftoppm = shutil.which("pdflatex"), shutil.which("pdftoppm")
    if pdflatex is None or pdftoppm is None:
        return Check(name, False, "not tried: pdflatex or pdftoppm is missing",
                     f"{TEX_APT}; {POPPLER_APT}")
    with tempfile.TemporaryDirectory(prefix="convanim-doctor-") as work:
        (Path(work) / "tiny.tex").write_text(TINY)
        try:
            tex = subprocess.run([pdflatex, "-no-shell-escape", "-interaction=nonstopmode",
                                  "-halt-on-error", "tiny.tex"], cwd=work, capture_output=True,
                                 text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            return Check(name, False, f"pdflatex did not run: {e}", TEX_APT)
        if tex.returncode != 0:
            error = next((line for line in tex.stdout.splitlines() if line.startswith("!")),
                         f"exit status {tex.returncode}")
            return Check(name, False, f"LaTeX failed: {error}", TEX_APT)
        try:
            ppm = subprocess.run([pdftoppm, "-r", "20", "-png", "tiny.pdf", "tiny"], cwd=work,
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return Check(name, False, f"pdftoppm did not run: {e}", POPPLER_APT)
        if ppm.returncode != 0 or not list(Path(work).glob("tiny*.png")):
            return Check(name, False, f"pdftoppm failed: {ppm.stderr.strip()[:200]}",
                         POPPLER_APT)
    return Check(name, True, "compiled with pdflatex and rasterised with pdftoppm")


def ffmpeg() -> Check:
    fix = "pip install 'convanim[video]'"
    try:
        import imageio_ffmpeg
    except ImportError:
        return Check("ffmpeg", False, f"imageio-ffmpeg is not installed ({_VIDEO})", fix, False)
    try:
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as e:
        return Check("ffmpeg", False, f"imageio-ffmpeg has no ffmpeg: {e}", fix, False)
    from importlib.util import find_spec

    if find_spec("imageio") is None:
        return Check("ffmpeg", False, f"imageio is not installed ({_VIDEO})", fix, False)
    line = _first_line([exe, "-version"])
    if line is None:
        return Check("ffmpeg", False, f"{exe} did not answer -version within 30 s", fix, False)
    return Check("ffmpeg", True, f"{line.split(' Copyright')[0]} ({exe})", needed=False)


def chromium() -> Check:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return _tool(name, "", ["--version"], needed=False)
    return Check("chromium", False, "not found (only the player's browser tests use it)",
                 "sudo apt-get install chromium", False)


def numba_cuda() -> Check:
    """numba.cuda imported for real, in the mode ``auto`` picks: an installed pair that
    cannot start (numba-cuda 0.30 under numpy 2.5) is reported with its fix, like a
    missing one."""
    from importlib.util import find_spec

    from .errors import BackendError
    from .sparse import backend

    fix = "pip install 'convanim[gpu]'"
    if find_spec("numba") is None or find_spec("numba_cuda") is None:
        return Check("numba/CUDA", False, "numba and numba-cuda are not installed (the "
                     "kernels of verify and convanim.sparse; numpy works without)", fix, False)
    mode = backend.resolve("auto")
    try:
        backend.cuda_module(mode)
    except BackendError as e:
        return Check("numba/CUDA", False, f"{e.what} (numpy works without)", e.fix, False)
    gpu = "a CUDA GPU" if mode == "cuda" else \
        "no CUDA GPU (the kernels run on Numba's CUDA simulator)"
    return Check("numba/CUDA", True, f"{backend.versions()}, {gpu}", needed=False)


def checks() -> list[Check]:
    return [
        _tool("pdflatex", TEX_APT, ["--version"]),
        tex_packages(),
        _tool("pdftoppm", POPPLER_APT, ["-v"]),
        _tool("pdfinfo", POPPLER_APT, ["-v"]),
        _tool("pdftocairo", POPPLER_APT, ["-v"], needed=False, purpose=" (svg, html)"),
        tiny_figure(),
        ffmpeg(),
        chromium(),
        numba_cuda(),
    ]


def main(out=sys.stdout) -> int:
    """Print one line per check and the install lines of what is missing; the exit
    status is 1 when figures cannot be drawn."""
    results = checks()
    width = max(len(c.name) for c in results)
    for c in results:
        mark = "ok" if c.ok else ("MISSING" if c.needed else "missing")
        print(f"{mark:<8} {c.name:<{width}}  {c.detail}", file=out)
    fixes = [c for c in results if not c.ok and c.fix]
    if fixes:
        print("\nTo install what is missing:", file=out)
        # each line once, though several checks give it (pdflatex, then the TikZ picture)
        for line in dict.fromkeys(part for c in fixes for part in c.fix.split("; ")):
            print(f"  {line}", file=out)
    broken = [c.name for c in results if c.needed and not c.ok]
    if broken:
        print(f"\nconvanim: figures cannot be drawn here: {', '.join(broken)} "
              f"(or run `make setup` in a checkout)", file=sys.stderr)
        return 1
    print("\nconvanim: figures can be drawn here.", file=out)
    return 0
