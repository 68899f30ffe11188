"""The command line: ``python -m convanim KIND [NAME] [options]``.

Parsing and validation happen before anything is written, so bad input exits 2
with one line and leaves no file behind.
"""
from __future__ import annotations

import argparse
import sys

import configargparse

from . import __version__
from .errors import BackendError, SpecError, ToolError, VerifyError
from .figure import FORMATS
from .spec import float_in, fraction_arg, int_arg, int_in, pair_arg


class _Parser(configargparse.ArgumentParser):
    """argparse that reports errors as one ``convanim: error:`` line (raised, not printed)."""

    def error(self, message):
        raise SpecError(message)


def _figure_kinds() -> dict:
    from .scenes import alphabet, arithmetic, im2col, numerical

    return {"arithmetic": arithmetic, "numerical": numerical, "alphabet": alphabet,
            "im2col": im2col}


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
    _stats_parser(sub)
    from .build import add_parser as _build_parser

    _build_parser(sub)
    verify = sub.add_parser("verify", help="recompute every number of a figure on a real "
                            "convolution backend (GPU, CUDA simulator or numpy)")
    kinds = verify.add_subparsers(dest="figure", required=True, metavar="KIND",
                                  parser_class=_Parser)
    for kind, module in _figure_kinds().items():
        p = kinds.add_parser(kind, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        _figure_options(p)
        module.add_arguments(p)
        p.add_argument("--from-json", metavar="FILE",
                       help="check this figure data (from --json) instead of the options")
        p.add_argument("--against", choices=["torch"], action="append", default=[],
                       help="also check against this witness (torch.nn.functional)")
        p.set_defaults(func=_run_verify, module=module, kind=kind)
    return parser


def figure_parser(kind: str) -> _Parser:
    """The options of one figure kind, as the figure command has them.

    The build config, the Python API and the Sphinx directive read option names,
    types and checks from here, so an option added to the command is accepted by
    all of them with the same validation.
    """
    kinds = _figure_kinds()
    if kind not in kinds:
        raise SpecError(f"unknown kind {kind!r} (choose from {', '.join(kinds)})")
    p = _Parser(prog=f"convanim {kind}")
    _figure_options(p)
    kinds[kind].add_arguments(p)
    p.set_defaults(func=_run_figure, module=kinds[kind], kind=kind)
    return p


def _stats_parser(sub) -> None:
    from .models import MODELS

    p = sub.add_parser("stats", help="zeros, sparsity, parameters and MACs of each training "
                       "phase, for a layer or a network",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-c", "--config", is_config_file=True, help="read options from this file")
    net = p.add_mutually_exclusive_group()
    net.add_argument("--model", choices=sorted(MODELS), help="a built-in network (224x224 input)")
    net.add_argument("--onnx", metavar="FILE", help="the Conv nodes of an ONNX model")
    p.add_argument("-i", "--input-size", type=pair_arg, metavar="N|HxW",
                   help="the layer's input (default 5), or a --model's image (default 224)")
    p.add_argument("-k", "--kernel-size", type=pair_arg, default=(3, 3), metavar="N|HxW")
    p.add_argument("-s", "--stride", type=pair_arg, default=(1, 1), metavar="N|HxW")
    p.add_argument("-p", "--padding", type=pair_arg, default=(0, 0), metavar="N|HxW")
    p.add_argument("-d", "--dilation", type=pair_arg, default=(1, 1), metavar="N|HxW")
    p.add_argument("--in-channels", type=int_in(1, 1 << 20), default=1)
    p.add_argument("--out-channels", type=int_in(1, 1 << 20), default=1)
    p.add_argument("--groups", type=int_in(1, 1 << 20), default=1)
    p.add_argument("--batch", type=int_in(1, 1 << 20), default=1,
                   help="images per batch (MACs and activation bytes scale with it)")
    p.add_argument("--weight-sparsity", type=fraction_arg, default=0.0, metavar="F",
                   help="fraction of zero weights, counted in the forward and loss MACs")
    p.add_argument("--bytes", type=int_in(1, 16), default=4, help="bytes per element")
    p.add_argument("--csv", metavar="FILE", help="also write every column as CSV")
    p.add_argument("--cfg", metavar="FILE", help="also write the layer config "
                   "(type,Hi,Wi,Ho,Wo,C,D,Kh,Kw,Sh,Sw,Ph,Pw,G,Dh,Dw)")
    p.set_defaults(func=_run_stats)


def _run_stats(args) -> int:
    from pathlib import Path

    from . import files, models, stats
    from .spec import ConvSpec

    if not 0.0 <= args.weight_sparsity < 1.0:
        raise SpecError(f"--weight-sparsity must be in [0, 1), got {args.weight_sparsity}")
    for flag, path in (("--csv", args.csv), ("--cfg", args.cfg)):
        if path == "":
            raise SpecError(f"{flag} needs a file name, got an empty one")
        if path is not None:
            files.target(path)
    if args.model:
        size = args.input_size or (224, 224)
        if min(size) < 32:
            raise SpecError(f"--model needs an image of at least 32x32, got {size[0]}x{size[1]}")
        layers = models.MODELS[args.model](size)
    elif args.onnx:
        try:
            layers = models.from_onnx(args.onnx)
        except (OSError, ValueError, ImportError) as e:
            raise SpecError(f"cannot read {args.onnx}: {e}") from None
        except Exception as e:  # onnx's own parse and shape-inference errors
            raise SpecError(f"cannot read {args.onnx}: {type(e).__name__}: {e}") from None
        if not any(layer.kind == "conv" for layer in layers):
            raise SpecError(f"{args.onnx} has no Conv node")
    else:
        spec = ConvSpec(args.input_size or (5, 5), args.kernel_size, args.stride, args.padding,
                        args.dilation).validate()
        for what, n in (("--in-channels", args.in_channels), ("--out-channels", args.out_channels)):
            if n % args.groups:
                raise SpecError(f"{what} {n} is not divisible by --groups {args.groups}")
        layers = [models.Layer("conv", "conv", spec.input_size, args.in_channels,
                               args.out_channels, spec.kernel_size, spec.stride, spec.padding,
                               spec.dilation, args.groups)]
    rows, totals = stats.network_stats(layers, batch=args.batch,
                                       weight_sparsity=args.weight_sparsity,
                                       bytes_per_element=args.bytes)
    outputs = []
    if args.csv:
        outputs.append((stats.to_csv(rows, totals if len(rows) > 1 else None).encode(),
                        Path(args.csv)))
    if args.cfg:
        outputs.append((stats.to_cfg(layers).encode(), Path(args.cfg)))
    written = files.place_all(outputs)
    sys.stdout.write(stats.format_table(rows, totals if len(rows) > 1 else None))
    if len(rows) > 1:
        print(f"parameters of all layers (conv, batch norm, fully connected): "
              f"{totals['all_params']:,}")
    for path in written:  # as the figure commands: every path written, on stdout
        print(path)
    return 0


def _figure_options(p) -> None:
    p.add_argument("-c", "--config", is_config_file=True, help="read options from this file")
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="base name of the outputs (default: from kind and parameters)")
    p.add_argument("-i", "--input-size", type=pair_arg, default=(5, 5), metavar="N|HxW")
    p.add_argument("-k", "--kernel-size", type=pair_arg, default=(3, 3), metavar="N|HxW")
    p.add_argument("-s", "--stride", type=pair_arg, default=(1, 1), metavar="N|HxW")
    p.add_argument("-p", "--padding", type=pair_arg, default=(0, 0), metavar="N|HxW")
    p.add_argument("-d", "--dilation", type=pair_arg, default=(1, 1), metavar="N|HxW")
    p.add_argument("-o", "--output-size", type=pair_arg, metavar="N|HxW",
                   help="the conv's output size; an error unless it equals the computed one")
    p.add_argument("-t", "--transposed", action="store_true",
                   help="show the transposed conv of the conv given by -i -k -s -p -d")
    p.add_argument("--output-padding", type=pair_arg, metavar="N|HxW",
                   help="transposed only (default: so the transposed output is exactly -i)")
    p.add_argument("-e", "--step", type=int_arg, help="step to draw, 0-based, row-major "
                   "(default 0; not with -a)")
    p.add_argument("-a", "--animation", action="store_true",
                   help="draw every step: OUT/NAME.pdf (one page each) and the animation, "
                        "GIF/NAME.gif (or -y's format)")
    p.add_argument("-y", "--type", "--format", dest="type", choices=FORMATS, default=None,
                   metavar="TYPE",
                   help="a single step: png (default), pdf or svg; with -a the animation: "
                        "gif (default), webp, apng, mp4, webm, html (interactive player) or "
                        "svg (animated, no script)")
    p.add_argument("-q", "--quality", type=int_in(10, 2400), default=600,
                   help="DPI of a single step")
    p.add_argument("-qa", "--quality-animation", type=int_in(10, 600), default=150,
                   help="DPI of the frames of a raster animation (gif, webp, apng, video)")
    p.add_argument("--delay", type=int_in(10, 60000), default=1000,
                   help="milliseconds per animation frame")
    p.add_argument("--out-dir", default="out", help="where frames and PDFs go")
    p.add_argument("--gif-dir", default="gif", help="where animations (of any format) go")
    p.add_argument("--json", action="store_true", help="also write OUT/NAME.json, the figure data")
    p.add_argument("--caption", default="", help="text under the figure")
    p.add_argument("--theme", choices=["light", "dark"], default="light",
                   help="Solarized light, or dark for dark-mode pages")
    p.add_argument("--transparent", action="store_true",
                   help="no page background (PDF, PNG and GIF)")
    p.add_argument("--width", type=float_in(1.0, 100.0), metavar="CM",
                   help="scale every page to this width (default: the natural size, "
                        "at which text is at least 7 pt)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verify", action="store_true",
                   help="first recompute the figure's numbers on --backend; stop if they differ")
    p.add_argument("--backend", choices=["auto", "cuda", "simulator", "numpy", "torch"],
                   default="auto",
                   help="where verify runs: a GPU if present, else the CUDA simulator")


def _figure_checks(figure, backends: list[str]):
    """The verify checks of a planned figure, over all of its steps, on each backend."""
    from . import verify

    everything = figure.with_all_steps()
    data, scene = everything.data(), everything.scene()
    return [c for backend in backends
            for c in verify.check_figure(figure.kind, data, backend, scene)]


def _run_verify(args) -> int:
    import json

    from . import verify
    from .figure import plan
    from .sparse.backend import resolve

    for witness in args.against:  # a missing witness fails before any work
        resolve(witness)

    if args.from_json:
        try:
            with open(args.from_json, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise SpecError(f"cannot read {args.from_json}: {e}") from None
        if data.get("kind") != args.kind:
            raise SpecError(f"{args.from_json} holds a {data.get('kind')!r} figure, not "
                            f"{args.kind!r}")
        if args.kind == "arithmetic":
            raise SpecError("an arithmetic figure's JSON has no numbers to check; "
                            "verify it from its options")
        try:
            checks = [c for backend in [args.backend, *args.against]
                      for c in verify.check_figure(args.kind, data, backend)]
        except (KeyError, TypeError, IndexError) as e:
            raise SpecError(f"{args.from_json} is not {args.kind} figure data ({e})") from None
    else:
        checks = _figure_checks(plan(args), [args.backend, *args.against])
    sys.stdout.write(verify.format_checks(checks))
    return 0 if all(c.passed for c in checks) else 1


def _run_figure(args) -> int:
    from .cache import Cache
    from .figure import plan

    figure = plan(args)
    if args.verify:
        from . import verify

        checks = _figure_checks(figure, [args.backend])
        if not all(c.passed for c in checks):
            sys.stderr.write(verify.format_checks(checks))
            raise VerifyError("the figure's numbers differ from the backend's; nothing written")
    written = figure.make(cache=None if args.no_cache else Cache(),
                          progress=args.animation and not args.quiet)
    for path in written:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .interrupt import terminating_like_ctrl_c

    received: list[int] = []
    try:
        with terminating_like_ctrl_c(received):
            args = build_parser().parse_args(argv)
            return args.func(args)
    except SpecError as e:
        print(f"convanim: error: {e}", file=sys.stderr)
        return 2
    except (ToolError, VerifyError, BackendError) as e:
        print(f"convanim: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # an output folder that cannot be written, a full disk
        where = f": {e.filename}" if e.filename else ""
        print(f"convanim: error: {e.strerror or e}{where}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as e:
        print(f"convanim: error: a config file is not UTF-8 text ({e.reason})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGHUP passed on as one
        return 128 + (received[0] if received else 2)
