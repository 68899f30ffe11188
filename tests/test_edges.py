"""The page colour reaches every edge pixel (issue 31): pdftoppm and pdftocairo round a
page up to whole pixels and leave the part of the last row and column past the page
unpainted, a white line along the bottom and right of a dark page. Every raster is
cropped to the whole pixels the page covers, the PNG as the frames of the animations."""
import math

import pytest
from PIL import Image

from convanim import theme

from helpers import pdf_pages, run

DPIS = (97, 150, 300)
KINDS = {
    "arithmetic": ["arithmetic", "-i", "6", "-k", "3", "-s", "2", "-p", "1", "-t"],
    "numerical": ["numerical", "-i", "4", "-k", "3", "-p", "1", "-s", "2"],
    "channels": ["channels", "-i", "3", "-k", "2", "--in-channels", "2"],
}


def background(name: str) -> tuple[int, int, int]:
    hex_ = theme.palette(name)["background"]
    return tuple(int(hex_[i:i + 2], 16) for i in (0, 2, 4))


def edges(im: Image.Image) -> set:
    """Every pixel of the two outermost rows and columns on each side."""
    w, h = im.size
    px = im.load()
    rows = {px[x, y] for x in range(w) for y in (0, 1, h - 2, h - 1)}
    return rows | {px[x, y] for y in range(h) for x in (0, 1, w - 2, w - 1)}


def floor_size(pdf, dpi: int) -> tuple[int, int]:
    (w, h), = set(pdf_pages(pdf))
    return math.floor(w / 72 * dpi + 1e-6), math.floor(h / 72 * dpi + 1e-6)


def only(folder):
    (path,) = folder.iterdir()
    return path


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["print", "light", "dark"])
@pytest.mark.usefixtures("tex_tools")
def test_every_edge_pixel_of_a_png_and_a_gif_frame_is_the_page(workdir, capsys, name, kind):
    page = background(name)
    for dpi in DPIS:
        args = [*KINDS[kind], "--theme", name, "--quiet"]
        status, _, err = run(capsys, *args, "-q", str(dpi), "-y", "png", "--out-dir", f"png{dpi}")
        assert status == 0, err
        with Image.open(only(workdir / f"png{dpi}")) as im:
            assert edges(im.convert("RGB")) == {page}, (dpi, im.size)
        status, _, err = run(capsys, *args, "-a", "-qa", str(dpi), "--out-dir", f"pdf{dpi}",
                             "--gif-dir", f"gif{dpi}")
        assert status == 0, err
        size = floor_size(only(workdir / f"pdf{dpi}"), dpi)
        with Image.open(only(workdir / f"gif{dpi}")) as gif:
            assert gif.size == size
            for n in range(gif.n_frames):
                gif.seek(n)
                assert edges(gif.convert("RGB")) == {page}, (dpi, n)


@pytest.mark.parametrize("name", ["print", "dark"])
@pytest.mark.usefixtures("tex_tools")
def test_a_transparent_png_is_transparent_to_every_edge_and_as_large_as_the_opaque_one(
        workdir, capsys, name):
    for dpi in DPIS:
        args = [*KINDS["arithmetic"], "--theme", name, "--quiet", "-q", str(dpi), "-y", "png"]
        assert run(capsys, *args, "--transparent", "--out-dir", f"t{dpi}")[0] == 0
        assert run(capsys, *args, "--out-dir", f"o{dpi}")[0] == 0
        assert run(capsys, *args, "-y", "pdf", "--out-dir", f"p{dpi}")[0] == 0
        size = floor_size(only(workdir / f"p{dpi}"), dpi)
        with Image.open(only(workdir / f"t{dpi}")) as t, Image.open(only(workdir / f"o{dpi}")) as o:
            assert t.size == o.size == size
            assert {p[3] for p in edges(t.convert("RGBA"))} == {0}, dpi
