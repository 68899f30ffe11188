"""The command line: ``python -m convanim KIND [NAME] [options]``.

The figure commands are generated from the kinds' option declarations
(:mod:`convanim.options`); parsing and validation happen before anything is
written, so bad input exits 2 with one line and leaves no file behind.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import configargparse

from . import kinds
from .errors import BackendError, SpecError, ToolError, VerifyError
from .options import ANIMATION_FORMATS, Array, Choice, Float, Int, Option, Pair, ValueType
from .version import __version__

#: Bytes of a figure data file: the largest figure's JSON is a few hundred kB.
MAX_JSON = 16 << 20
#: Bytes of a ``-c FILE``: a few dozen ``key = value`` lines.
MAX_CONFIG = 1 << 20
_CONFIG_HELP = ("-c FILE reads options from a file, one per line under their long names "
                "(for example, stride = 2); the command line overrides it.")


def _open_config(path, mode="r"):
    """``-c FILE`` as configargparse opens it: a regular file of at most MAX_CONFIG bytes,
    checked before it is opened for reading, so a FIFO or /dev/zero never blocks it."""
    import io

    from .files import open_regular

    if mode != "r":
        return open(path, mode, encoding="utf-8")
    return io.TextIOWrapper(open_regular(path, MAX_CONFIG), encoding="utf-8")


class _ConfigFile(configargparse.DefaultConfigFileParser):
    """``-c FILE``: ``key = value`` lines (the file opened by :func:`_open_config`), never
    naming another config file (configargparse would silently skip it)."""

    def parse(self, stream):
        items = super().parse(stream)
        if "config" in items or "c" in items:
            raise configargparse.ConfigFileParserException(
                f"{stream.name}: a config file cannot name another (config = ...); give "
                f"each with -c")
        self._values_inside(stream.name, items)
        return items

    def _values_inside(self, name: str, items) -> None:
        """A config file is untrusted as a build config is: the values files it names
        (``input = x.csv``) are read only from inside the current folder."""
        from . import values

        owner = getattr(self, "owner", None)
        given = {}  # configargparse takes a key as "input" and as "--input"
        for key in items:
            given.setdefault(key.lstrip("-"), []).append(key)
        for action in owner._actions if owner is not None else ():
            if isinstance(getattr(action.type, "vtype", None), Array):
                names = {flag.lstrip("-") for flag in action.option_strings} & set(given)
                for key in (k for name in names for k in given[name]):
                    try:
                        values.check_inside(str(items[key]), Path.cwd())
                    except SpecError as e:
                        raise configargparse.ConfigFileParserException(
                            f"{name}: {key}: {e}") from None


#: An unknown ``key = value`` of a config file, as configargparse passes it on.
_UNKNOWN_SETTING = re.compile(r"(?<!\S)(--[^\s=]+)=")


class _Parser(configargparse.ArgumentParser):
    """argparse that reports errors as one ``convanim: error:`` line (raised, not printed)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("config_file_parser_class", _ConfigFile())
        kwargs.setdefault("config_file_open_func", _open_config)
        super().__init__(*args, **kwargs)
        self._config_file_parser.owner = self  # which keys hold values (see above)

    def error(self, message):
        if message.startswith("unrecognized arguments:") and _UNKNOWN_SETTING.search(message):
            keys = list(dict.fromkeys(_UNKNOWN_SETTING.findall(message)))  # never the values:
            more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""  # -c /etc/passwd
            message = f"unrecognized arguments: {', '.join(keys[:5])}{more}"
        raise SpecError(message)


def _argtype(vtype: ValueType):
    """An argparse type from an option's value type: its message, argparse's prefix."""
    def convert(text: str):
        try:
            return vtype.parse(text)
        except SpecError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    convert.vtype = vtype
    return convert


def add_option(parser, opt: Option) -> None:
    """One declared option as argparse has it."""
    if not opt.flags:
        parser.add_argument(opt.name, nargs="?", metavar=opt.name.upper(), help=opt.help_text())
    elif opt.is_flag:
        parser.add_argument(*opt.flags, dest=opt.name, action="store_true", help=opt.help_text())
    else:
        parser.add_argument(*opt.flags, dest=opt.name, type=_argtype(opt.type),
                            default=opt.default, metavar=opt.type.metavar, help=opt.help_text())


def _figure_parser(sub, kind, **kw) -> _Parser:
    p = sub.add_parser(kind.name, add_config_file_help=False, epilog=_CONFIG_HELP, **kw)
    p.add_argument("-c", "--config", is_config_file=True, metavar="FILE",
                   help="read options from this file")
    for opt in kind.Options.options():
        add_option(p, opt)
    return p


_STATS_HELP = ("zeros, sparsity, parameters and MACs of each training phase, for a layer or "
               "a network")
_BUILD_HELP = "many figures from one TOML config, in parallel and incrementally"
_VERIFY_HELP = ("recompute every number of a figure on a real convolution backend (GPU, "
                "CUDA simulator or numpy)")


def build_parser(command: str | None = None) -> _Parser:
    """The whole command line; with ``command`` (the first word given), only that
    subcommand gets its options and the others just their line of help, since a figure
    command pays for every parser built."""
    parser = _Parser(prog="convanim", add_config_file_help=False,
                     description="Figures of convolution arithmetic, drawn with LaTeX/TikZ and "
                                 "checked against the real operation.")
    parser.add_argument("--version", action="version", version=f"convanim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="KIND",
                                parser_class=_Parser)
    wanted = (lambda name: True) if command is None else (lambda name: name == command)
    others = (("stats", _stats_parser, _STATS_HELP), ("build", _build_parser, _BUILD_HELP),
              ("verify", _verify_parser, _VERIFY_HELP), ("doctor", _doctor_parser, _DOCTOR_HELP))
    # the others' lines of help show only in this parser's own --help: when the command
    # names a known subcommand, their kinds (scene modules) need not be loaded
    known = command in (*kinds.names(), *(name for name, _, _ in others))
    for name in kinds.names():
        if wanted(name):
            kind = kinds.get(name)
            p = _figure_parser(sub, kind, help=kind.summary, description=kind.summary)
            p.set_defaults(func=_run_figure, kind=kind)
        else:
            sub.add_parser(name, help=None if known else kinds.get(name).summary,
                           add_config_file_help=False)
    for name, add, help_ in others:
        if wanted(name):
            add(sub)
        else:
            sub.add_parser(name, help=help_, add_config_file_help=False)
    return parser


_DOCTOR_HELP = "check the tools figures need (TeX, poppler, ffmpeg, chromium, numba/CUDA)"


def _doctor_parser(sub) -> None:
    p = sub.add_parser("doctor", add_config_file_help=False, help=_DOCTOR_HELP,
                       description=_DOCTOR_HELP + "; prints the install line of what is "
                       "missing and exits 1 when figures cannot be drawn")
    p.set_defaults(func=_run_doctor)


def _run_doctor(args) -> int:
    from . import doctor

    return doctor.main()


def _verify_parser(sub) -> None:
    verify = sub.add_parser("verify", add_config_file_help=False, help=_VERIFY_HELP)
    figures = verify.add_subparsers(dest="figure", required=True, metavar="KIND",
                                    parser_class=_Parser)
    for name in kinds.names():
        p = _figure_parser(figures, kinds.get(name))
        p.add_argument("--from-json", metavar="FILE",
                       help="check this figure data (from --json) instead of the options")
        p.add_argument("--against", choices=["torch"], action="append", default=[],
                       help="also check against this witness (torch.nn.functional)")
        p.set_defaults(func=_run_verify, kind=kinds.get(name))


def _options(args):
    """The typed options of a parsed figure command."""
    kind = args.kind
    return kind.Options(**{o.name: getattr(args, o.name) for o in kind.Options.options()})


def plan_command(argv: list[str]):
    """The planned figure a figure command would draw (what benchmarks compile bare)."""
    from .figure import plan

    args = build_parser(argv[0] if argv else None).parse_args(argv)
    return plan(args.kind, _options(args))


def _build_parser(sub) -> None:
    from .build import galleries

    p = sub.add_parser("build", add_config_file_help=False, help=_BUILD_HELP,
                       description="Draw every figure of a TOML config (see the README's "
                       "config format) in one process on a thread pool; figures already up "
                       "to date are skipped.")
    p.add_argument("file", nargs="?", metavar="FILE", help="the TOML config")
    p.add_argument("--gallery", choices=galleries(),
                   help="build a config shipped with convanim instead of FILE")
    p.add_argument("--out", metavar="DIR", help="root of the outputs; figures' --out-dir and "
                   "--gif-dir are relative to it (default: FILE's folder; ./gallery for "
                   "--gallery)")
    p.add_argument("-j", "--jobs", type=_argtype(Int(1, 256)), default=os.cpu_count() or 1,
                   help="figures drawn at once (default: the cores)")
    p.add_argument("--format", type=_argtype(Choice(ANIMATION_FORMATS)), metavar="FORMAT",
                   help=f"draw every animation in this format ({', '.join(ANIMATION_FORMATS)}), "
                        "whatever the config says")
    p.add_argument("--check", action="store_true",
                   help="build nothing; exit 1 listing every output missing or out of date")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_build)


def _run_build(args) -> int:
    from . import build

    return build.main(args.file, gallery=args.gallery, out=args.out, jobs=args.jobs,
                      fmt=args.format, check_only=args.check, cache=not args.no_cache,
                      quiet=args.quiet)


def _stats_parser(sub) -> None:
    from .models import MODELS

    count = _argtype(Int(1, 1 << 20))
    p = sub.add_parser("stats", add_config_file_help=False, help=_STATS_HELP,
                       epilog="A 3-D layer (conv3d): -i DxHxW, and -k -s -p -d as N or DxHxW, "
                              "--padding-sides as six sides F,B,T,B,L,R (front, back, top, "
                              "bottom, left, right). " + _CONFIG_HELP)
    p.add_argument("-c", "--config", is_config_file=True, metavar="FILE",
                   help="read options from this file")
    net = p.add_mutually_exclusive_group()
    net.add_argument("--model", choices=sorted(MODELS),
                     help="a built-in network (224x224 input; c3d, a 3-D video network: a "
                          "16x112x112 clip)")
    net.add_argument("--onnx", metavar="FILE", help="the Conv nodes of an ONNX model (2-D "
                     "or 3-D)")
    volumes = Pair(volumes=True)
    p.add_argument("-i", "--input-size", type=_argtype(volumes), metavar=volumes.metavar,
                   help="the layer's input (default 5; DxHxW: a 3-D layer, conv3d), or a "
                        "--model's image (default 224) or clip (c3d: 16x112x112)")
    from dataclasses import replace

    from .options import ChannelOptions, Padding, Sides

    declared = ChannelOptions.by_name()  # a layer's options, as every figure declares them
    as_given = {"kernel_size": (volumes, (3,)), "stride": (volumes, (1,)),
                "dilation": (volumes, (1,)), "padding": (Padding(volumes=True), (0,)),
                "padding_sides": (Sides(), None)}
    for name in ("kernel_size", "stride", "padding", "padding_sides", "padding_mode", "causal",
                 "dilation", "in_channels", "out_channels", "groups"):
        opt = declared[name]
        if name in as_given:  # stats also counts 3-D layers: DxHxW, six sides (metavar)
            vtype, default = as_given[name]
            opt = replace(opt, type=vtype, default=default)
        add_option(p, opt)
    p.add_argument("--batch", type=count, default=1, metavar="N",
                   help="images per batch: MACs and activation bytes scale with it (default 1)")
    p.add_argument("--weight-sparsity", type=_argtype(Float(0.0, float("inf"),
                                                            what="a number such as 0.5")),
                   default=0.0, metavar="F",
                   help="fraction of zero weights, counted in the forward and loss MACs "
                        "(default 0)")
    p.add_argument("--bytes", type=_argtype(Int(1, 16)), default=4, metavar="B",
                   help="bytes per element (default 4)")
    p.add_argument("--csv", metavar="FILE", help="also write every column as CSV")
    p.add_argument("--cfg", metavar="FILE", help="also write the layer config "
                   "(type,Hi,Wi,Ho,Wo,C,D,Kh,Kw,Sh,Sw,Ph,Pw,G,Dh,Dw)")
    p.add_argument("--quiet", action="store_true",
                   help="accepted as by every command (stats draws no progress bar)")
    p.set_defaults(func=_run_stats)


def _run_stats(args) -> int:
    from pathlib import Path

    from . import files, models, stats
    from .options import ChannelOptions
    from .spec import ConvSpec

    if not 0.0 <= args.weight_sparsity < 1.0:
        raise SpecError(f"--weight-sparsity must be in [0, 1), got {args.weight_sparsity}")
    for flag, path in (("--csv", args.csv), ("--cfg", args.cfg)):
        if path == "":
            raise SpecError(f"{flag} needs a file name, got an empty one")
        if path is not None:
            files.target(path)
    if args.model:
        layers = models.MODELS[args.model](_model_size(args.model, args.input_size))
    elif args.onnx:
        try:
            layers = models.from_onnx(args.onnx)
        except SpecError:
            raise  # names the file already
        except (OSError, ValueError, ImportError) as e:
            raise SpecError(f"cannot read {args.onnx}: {e}") from None
        except Exception as e:  # onnx's own parse and shape-inference errors
            raise SpecError(f"cannot read {args.onnx}: {type(e).__name__}: {e}") from None
        if not any(layer.kind == "conv" for layer in layers):
            raise SpecError(f"{args.onnx} has no Conv node")
    else:
        args.input_size = args.input_size or (5,)
        stats.spread_sizes(args)  # N over the layer's axes: two, or three (-i DxHxW ...)
        spec = ConvSpec.from_options(args)
        ChannelOptions(in_channels=args.in_channels, out_channels=args.out_channels,
                       groups=args.groups).check_groups()
        layers = [models.Layer("conv", "conv", spec.input_size, args.in_channels,
                               args.out_channels, spec.kernel_size, spec.stride, spec.padding,
                               spec.dilation, args.groups, padding_mode=spec.padding_mode)]
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


def _model_size(name: str, given) -> tuple[int, ...]:
    """A built-in network's input: an image, or a 3-D network's clip (N: the same on
    every axis); refused where it is too small or has the wrong number of axes."""
    from .models import VOLUME_MODELS

    if name in VOLUME_MODELS:
        size = VOLUME_MODELS[name] if given is None else given * 3 if len(given) == 1 else given
        if len(size) != 3:
            raise SpecError(f"--model {name} takes a clip DxHxW (frames x height x width), got "
                            f"{'x'.join(map(str, size))}")
        if min(size) < 16:
            raise SpecError(f"--model {name} needs a clip of at least 16x16x16, got "
                            f"{'x'.join(map(str, size))}")
        return size
    size = (224, 224) if given is None else given * 2 if len(given) == 1 else given
    if len(size) != 2:
        raise SpecError(f"--model {name} takes an image N or HxW, got "
                        f"{'x'.join(map(str, size))} (c3d takes a clip DxHxW)")
    if min(size) < 32:
        raise SpecError(f"--model needs an image of at least 32x32, got {size[0]}x{size[1]}")
    return size


def _run_verify(args) -> int:
    import json

    from . import verify
    from .figure import plan
    from .sparse.backend import resolve

    kind = args.kind
    for witness in args.against:  # a missing witness fails before any work
        resolve(witness)
    backends = [args.backend, *args.against]
    if args.from_json:
        from .figure import from_data

        kind.require_checks()  # before the file: no data would have any

        from .files import read_regular

        raw = read_regular(args.from_json, MAX_JSON)
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as e:
            reason = "nested too deeply" if isinstance(e, RecursionError) else e
            raise SpecError(f"cannot read {args.from_json}: {reason}") from None
        if not isinstance(data, dict):
            raise SpecError(f"{args.from_json} is not figure data: a JSON object is expected, "
                            f"got {type(data).__name__}")
        if data.get("kind") != kind.name:
            raise SpecError(f"{args.from_json} holds a {str(data.get('kind'))[:40]!r} figure, "
                            f"not {kind.name!r}")
        if kind.name == "arithmetic":
            raise SpecError("an arithmetic figure's JSON has no numbers to check; "
                            "verify it from its options")
        try:
            from_data(kind, data)  # its options pass every check and limit, its shapes fit
        except SpecError as e:
            raise SpecError(f"{args.from_json}: {e}") from None
        try:
            checks = [c for backend in backends for c in kind.checks(data, backend, None)]
        except (KeyError, TypeError, IndexError, ValueError) as e:
            raise SpecError(f"{args.from_json} is not {kind.name} figure data ({e})") from None
    else:
        checks = plan(kind, _options(args)).checks(backends)
    sys.stdout.write(verify.format_checks(checks))
    return 0 if all(c.passed for c in checks) else 1


def _run_figure(args) -> int:
    from .figure import plan

    figure = plan(args.kind, _options(args))
    for line in figure.kind.report(figure.scene()):  # e.g. a stack's receptive fields
        print(line, file=sys.stderr)
    for path in figure.make(progress=figure.shows_progress()):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .interrupt import terminating_like_ctrl_c

    received: list[int] = []
    try:
        with terminating_like_ctrl_c(received):
            words = sys.argv[1:] if argv is None else argv
            args = build_parser(words[0] if words else None).parse_args(argv)
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
