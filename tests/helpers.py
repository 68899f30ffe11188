import re
import subprocess
from pathlib import Path

from convanim.cli import main

PROJECT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    """Run the CLI in-process; returns (exit status, stdout lines, stderr lines)."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, [Path(x) for x in out.splitlines() if x.strip()], \
        [x for x in err.splitlines() if x.strip()]


def pdf_pages(path) -> list[tuple[float, float]]:
    """Size in points of every page of a PDF, from pdfinfo."""
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(path)], capture_output=True,
                          text=True, check=True).stdout
    sizes = []
    for line in info.splitlines():
        if line.startswith("Page") and "size:" in line:
            w, _, h = line.split("size:")[1].split()[:3]
            sizes.append((float(w), float(h)))
    return sizes


def files_under(root) -> list[Path]:
    return sorted(p.relative_to(root) for p in Path(root).rglob("*") if p.is_file())


_FILL = re.compile(r"\\path\[([^\]]*)\]\\pgfextra\{((?:\\cvrect(?:\{[-\d.]+\}){4})*)\};")
_CVRECT = re.compile(r"\\cvrect\{([-\d.]+)\}\{([-\d.]+)\}\{([-\d.]+)\}\{([-\d.]+)\}")


def fill_paths(source: str) -> list[tuple[str, list[tuple[float, float, float, float]]]]:
    """Every path the ``fills`` filter wrote in a document: (style, its rectangles as
    (x, y, w, h)), in order."""
    return [(style, [tuple(map(float, r)) for r in _CVRECT.findall(body)])
            for style, body in _FILL.findall(source)]
