"""Animation formats besides the GIF: frame counts, timing, the CLI shape and the cache."""
import imageio.v2 as imageio
import pytest
from PIL import Image

from convanim import engine
from convanim.engine import encoders, texpool
from convanim.errors import ToolError
from helpers import files_under, run

pytestmark = pytest.mark.usefixtures("tex_tools")

# arithmetic -i 5 -k 3 -s 2: 4 steps
FIGURE = ["arithmetic", "f", "-i", "5", "-k", "3", "-s", "2", "-a", "-qa", "40", "--quiet"]


@pytest.mark.parametrize("fmt,suffix", [("webp", ".webp"), ("apng", ".png")])
def test_webp_and_apng_have_a_frame_per_step_and_the_delay(workdir, capsys, fmt, suffix):
    status, out, _ = run(capsys, *FIGURE, "-y", fmt, "--delay", "250")
    assert status == 0 and [str(p) for p in out] == ["out/f.pdf", f"gif/f{suffix}"]
    with Image.open(workdir / f"gif/f{suffix}") as im:
        assert im.format == {"webp": "WEBP", "apng": "PNG"}[fmt]
        assert im.is_animated and im.n_frames == 4
        assert im.info.get("loop") == 0
        durations, frames = [], []
        for n in range(im.n_frames):
            im.seek(n)
            frames.append(im.convert("RGB").tobytes())  # WebP reads a frame's timing on load
            durations.append(im.info["duration"])
        assert durations == [250] * 4
        assert len(set(frames)) == 4, "every step is its own picture"
    run(capsys, *FIGURE, "-y", "gif", "--delay", "250")
    with Image.open(workdir / "gif/f.gif") as gif, Image.open(workdir / f"gif/f{suffix}") as im:
        assert gif.size == im.size


def test_lossless_webp_keeps_the_colours_exactly(workdir, capsys, tmp_path):
    """WebP is lossless: its first frame is the raster of page 1, pixel for pixel."""
    from pdf2image import convert_from_path

    run(capsys, *FIGURE, "-y", "webp")
    page = convert_from_path(workdir / "out/f.pdf", dpi=40, first_page=1, last_page=1)[0]
    with Image.open(workdir / "gif/f.webp") as im:
        # the frame is the whole pixels the page covers: pdftoppm's raster without the
        # unpainted sliver past the page, its last row and column (issue 31)
        assert page.width - 1 <= im.width <= page.width
        assert page.height - 1 <= im.height <= page.height
        page = page.crop((0, 0, *im.size))
        assert im.convert("RGB").tobytes() == page.convert("RGB").tobytes()


@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_video_has_a_frame_per_step_at_the_delay(workdir, capsys, fmt):
    status, out, _ = run(capsys, *FIGURE, "-y", fmt, "--delay", "250")
    assert status == 0 and [str(p) for p in out] == ["out/f.pdf", f"gif/f.{fmt}"]
    reader = imageio.get_reader(workdir / f"gif/f.{fmt}", format="FFMPEG")
    try:
        meta = reader.get_meta_data()
        assert meta["fps"] == pytest.approx(4.0)           # 1000 ms / 250 ms
        frames = [frame for frame in reader]
        assert len(frames) == 4
        assert meta["duration"] == pytest.approx(1.0, abs=0.05)
        h, w = frames[0].shape[:2]
        assert h % 2 == 0 and w % 2 == 0                   # yuv420p needs even sides
    finally:
        reader.close()
    # the steps differ, so the decoded frames do
    assert len({f.tobytes() for f in frames}) == 4


def test_format_is_an_alias_of_y_and_old_animation_commands_still_make_a_gif(workdir, capsys):
    status, out, _ = run(capsys, *FIGURE, "--format", "webp")
    assert [str(p) for p in out] == ["out/f.pdf", "gif/f.webp"]
    for old in (["-y", "png"], ["-y", "pdf"], []):
        status, out, _ = run(capsys, *FIGURE, *old)
        assert status == 0 and [str(p) for p in out] == ["out/f.pdf", "gif/f.gif"]


def test_transparent_webp_and_apng_keep_an_alpha_channel(workdir, capsys):
    for fmt, name in (("webp", "f.webp"), ("apng", "f.png")):
        run(capsys, *FIGURE, "-y", fmt, "--transparent")
        with Image.open(workdir / "gif" / name) as im:
            rgba = im.convert("RGBA")
            assert rgba.getpixel((0, 0))[3] == 0          # the page shows through
            assert max(a for _, (*_, a) in rgba.getcolors(1 << 20)) == 255


def test_the_format_is_part_of_the_cache_key(workdir, capsys, monkeypatch):
    calls = []
    real = texpool.compile_pdf
    # one call per render (its other shares, if the cores were idle, run in share-N folders)
    monkeypatch.setattr(texpool, "compile_pdf", lambda *a, **k: (
        None if a[1].name.startswith("share-") else calls.append(1)) or real(*a, **k))
    for fmt in ("gif", "webp", "html", "svg", "mp4"):
        run(capsys, *FIGURE, "-y", fmt)
    assert len(calls) == 5, "each format is its own cache entry"
    first = (workdir / "gif/f.html").read_bytes()
    (workdir / "gif/f.html").unlink()
    run(capsys, *FIGURE, "-y", "html")
    assert len(calls) == 5 and (workdir / "gif/f.html").read_bytes() == first


def test_a_failed_video_writes_nothing(workdir, capsys, monkeypatch):
    def broken(*a, **k):
        raise ToolError("ffmpeg failed writing mp4: simulated")

    monkeypatch.setattr(encoders, "_write_video", broken)
    status, out, err = run(capsys, *FIGURE, "-y", "mp4")
    assert status == 1 and out == []
    assert err == ["convanim: error: ffmpeg failed writing mp4: simulated"]
    assert files_under(workdir) == []


def test_video_without_imageio_says_how_to_install_it_before_tex(workdir, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(engine, "have_video", lambda: False)
    monkeypatch.setattr(texpool, "compile_pdf", lambda *a, **k: calls.append(1))
    status, out, err = run(capsys, *FIGURE, "-y", "webm", "--no-cache")
    assert status == 1 and out == [] and calls == []
    assert err == ["convanim: error: webm needs imageio and imageio-ffmpeg: pip install "
                   "'convanim[video]' (or run `make setup`)"]
    assert files_under(workdir) == []
