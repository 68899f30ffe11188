"""The command line: ``python -m convanim KIND [NAME] [options]``.

Parsing and validation happen before anything is written, so bad input exits 2
with one line and leaves no file behind.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import configargparse

from . import __version__
from .spec import ConvSpec, SpecError, format_pair, parse_pair

#: Frames one animation may have; beyond it TeX runs for minutes and the GIF is unwatchable.
MAX_FRAMES = 256
#: Options that change where or whether files are written, never what a figure shows.
_NOT_IN_PICTURE = {"name", "config", "out_dir", "gif_dir", "json", "no_cache", "quiet",
                   "func", "module", "type", "quality", "quality_animation", "delay"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


class _Parser(configargparse.ArgumentParser):
    """argparse that reports errors as one ``convanim: error:`` line (raised, not printed)."""

    def error(self, message):
        raise SpecError(message)


def _pair(text: str):
    try:
        return parse_pair(text)
    except SpecError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _int_in(low: int, high: int):
    def check(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= v <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {v}")
        return v
    return check


def _figure_kinds() -> dict:
    from .scenes import arithmetic

    return {"arithmetic": arithmetic}


def build_parser() -> _Parser:
    parser = _Parser(prog="convanim", description="Figures of convolution arithmetic, "
                     "drawn with LaTeX/TikZ and checked against the real operation.")
    parser.add_argument("--version", action="version", version=f"convanim {__version__}")
    sub = parser.add_subparsers(dest="kind", required=True, metavar="KIND",
                                parser_class=_Parser)
    for kind, module in _figure_kinds().items():
        p = sub.add_parser(kind, help=module.__doc__.splitlines()[0],
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        _figure_options(p)
        module.add_arguments(p)
        p.set_defaults(func=_run_figure, module=module)
    return parser


def _figure_options(p) -> None:
    p.add_argument("-c", "--config", is_config_file=True, help="read options from this file")
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="base name of the outputs (default: from kind and parameters)")
    p.add_argument("-i", "--input-size", type=_pair, default=(5, 5), metavar="N|HxW")
    p.add_argument("-k", "--kernel-size", type=_pair, default=(3, 3), metavar="N|HxW")
    p.add_argument("-s", "--stride", type=_pair, default=(1, 1), metavar="N|HxW")
    p.add_argument("-p", "--padding", type=_pair, default=(0, 0), metavar="N|HxW")
    p.add_argument("-d", "--dilation", type=_pair, default=(1, 1), metavar="N|HxW")
    p.add_argument("-o", "--output-size", type=_pair, metavar="N|HxW",
                   help="the conv's output size; an error unless it equals the computed one")
    p.add_argument("-t", "--transposed", action="store_true",
                   help="show the transposed conv of the conv given by -i -k -s -p -d")
    p.add_argument("--output-padding", type=_pair, metavar="N|HxW",
                   help="transposed only (default: so the transposed output is exactly -i)")
    p.add_argument("-e", "--step", type=int, default=0, help="step to draw, 0-based, row-major")
    p.add_argument("-a", "--animation", action="store_true",
                   help="draw every step: OUT/NAME.pdf (one page each) and GIF/NAME.gif")
    p.add_argument("-y", "--type", choices=["pdf", "png", "svg"], default="png",
                   help="file type of a single step")
    p.add_argument("-q", "--quality", type=_int_in(10, 2400), default=600,
                   help="DPI of a single step")
    p.add_argument("-qa", "--quality-animation", type=_int_in(10, 600), default=150,
                   help="DPI of GIF frames")
    p.add_argument("--delay", type=_int_in(10, 60000), default=1000,
                   help="milliseconds per GIF frame")
    p.add_argument("--out-dir", default="out", help="where frames and PDFs go")
    p.add_argument("--gif-dir", default="gif", help="where GIFs go")
    p.add_argument("--json", action="store_true", help="also write OUT/NAME.json, the figure data")
    p.add_argument("--caption", default="", help="text under the figure")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def spec_from_args(args) -> ConvSpec:
    spec = ConvSpec(input_size=args.input_size, kernel_size=args.kernel_size,
                    stride=args.stride, padding=args.padding, dilation=args.dilation,
                    transposed=args.transposed, output_padding_given=args.output_padding)
    return spec.validate(expected_output=args.output_size)


def default_name(kind: str, spec: ConvSpec, extra: list[str]) -> str:
    parts = [kind, *extra] + (["transposed"] if spec.transposed else [])
    parts += [f"{flag}{format_pair(v)}" for flag, v in zip("iks pd".replace(" ", ""), spec.args)]
    if spec.output_padding_given is not None:
        parts.append(f"a{format_pair(spec.output_padding_given)}")
    return "_".join(parts)


def _run_figure(args) -> int:
    from . import render, tex
    from .cache import Cache
    from .scenes import figure_data

    module = args.module
    spec = spec_from_args(args)
    module.check(spec, args)
    steps = spec.lowered().steps
    if args.animation:
        if steps > MAX_FRAMES:
            raise SpecError(f"animation too long: {steps} steps; at most {MAX_FRAMES} frames "
                            f"(draw single steps with -e instead)")
        frames = list(range(steps))
    else:
        if not 0 <= args.step < steps:
            raise SpecError(f"step {args.step} out of range: this figure has {steps} steps "
                            f"(0 to {steps - 1})")
        frames = [args.step]
    reason = module.limits(spec)
    if reason:
        raise SpecError(reason)
    name = args.name or default_name(args.kind, spec, module.name_parts(args))
    if not _NAME.fullmatch(name):
        raise SpecError(f"NAME must be letters, digits and . _ + - (no path), got {name!r}")

    scene = None

    def make_scene():
        nonlocal scene
        if scene is None:
            scene = module.scene(spec, frames, args)
        return scene

    out, gif = Path(args.out_dir), Path(args.gif_dir)
    if args.animation:
        products = [render.Product("pdf", out / f"{name}.pdf"),
                    render.Product("gif", gif / f"{name}.gif")]
    else:
        products = [render.Product(args.type, out / f"{name}_{args.step:02d}.{args.type}")]
    settings = render.Settings(dpi=args.quality, gif_dpi=args.quality_animation,
                               delay_ms=args.delay)
    params = {k: v for k, v in vars(args).items() if k not in _NOT_IN_PICTURE}
    params["frames"] = frames
    written = render.render(lambda: tex.render(module.TEMPLATE, scene=make_scene()),
                            len(frames), products, settings, params=params,
                            cache=None if args.no_cache else Cache(),
                            progress=args.animation and not args.quiet)
    if args.json:
        from . import files

        data = {**figure_data(args.kind, spec, steps), **module.data(spec, make_scene(), args)}
        written.append(files.write_bytes(out / f"{name}.json",
                                         (json.dumps(data, indent=1) + "\n").encode()))
    for path in written:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .render import ToolError

    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SpecError as e:
        print(f"convanim: error: {e}", file=sys.stderr)
        return 2
    except ToolError as e:
        print(f"convanim: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
