"""Sphinx extension: ``extensions = ["convanim.sphinx"]`` adds a ``convanim`` directive.

.. code-block:: rst

    .. convanim:: arithmetic stride2
       :input-size: 5
       :stride: 2
       :caption: A stride-2 convolution.
       :width: 300px

The directive takes the figure command's options under their long names (flags
without a value), plus ``:caption:``, ``:alt:`` and ``:width:`` of the figure, and
``:format:``, the animation's file type (``convanim_format`` in conf.py for every
figure; gif by default). HTML builders get the animation as a file of the build, copied
to its image folder like any image: gif, svg (animated, no script) and apng as an image
Sphinx picks itself; webp as an ``<img>``, the videos as a ``<video>`` and html (the
interactive player) as an ``<iframe>`` of the copied player page (Sphinx's HTML builder
takes no webp, video or page as an image, so the directive registers the file with the
environment's images and points at the copy). LaTeX builders get one step as a PDF
(a PDF cannot hold a GIF), ``:step:`` or by default the last, where the whole
output is drawn. Both are drawn into the build's doctree folder, through the
figure cache. A figure that cannot be drawn is a warning with the reason (an error
under ``-W``).

LaTeX builders can take the figure as TikZ source instead (``-y tex``), typeset in the
document's fonts at its width: ``:format: tex`` for one figure,
``convanim_latex_format = "tex"`` in conf.py for every one. The LaTeX build then
``\\input``s ``convanim/NAME.tex`` (copied into its output folder, ``convanim.sty``
beside the main file) and loads ``\\usepackage{convanim}``; the step drawn is the PDF's
(``:step:`` or the last), for ``convanim_latex_width`` (``--width``): textwidth by
default, as Sphinx's documents have one column (there \\columnwidth is \\textwidth);
columnwidth lays a figure out narrower, for a two-column ``latex_elements``. Other
builders show such a figure as without it (``convanim_format``'s animation in HTML, the
PDF elsewhere), so that one page serves ``make html`` and ``make latexpdf``; a
``convanim_format`` of tex is refused in one line naming ``convanim_latex_format``.

The extension's ``env_version`` is derived from convanim's version and code, so an
upgrade re-reads every page (and redraws its figures). Reading in parallel is safe:
each reader draws its own figures into files placed atomically, and the names each
saw are merged (and checked) afterwards. Writing in parallel is safe: the copies are
registered in the main process (``doctree-resolved``) and copied by Sphinx itself.
"""
from __future__ import annotations

import hashlib
import html
import os
import posixpath
from collections.abc import Mapping
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .engine import formats
from .version import __version__

logger = logging.getLogger(__name__)

#: Figure options the directive decides itself (where files go, which file type).
_OWN = {"out_dir", "gif_dir", "animation", "type", "json", "quiet", "caption"}
#: Animation formats shown as an image (Sphinx copies the file), and those the directive
#: registers for copying itself and points at with its own HTML (Sphinx's HTML builder
#: takes no webp, video or page as an image).
_AS_IMAGE = ("gif", "svg", "apng")
_MEDIA = tuple(w for w in formats.ANIMATION_WORDS
               if w not in _AS_IMAGE and w not in formats.SOURCE_WORDS)


class convanim_media(nodes.General, nodes.Element):
    """A webp, video or player file of the build: becomes HTML pointing at its copy."""


class convanim_source(nodes.General, nodes.Element):
    """A figure whose LaTeX is its TikZ source (``src``, drawn): LaTeX builders input
    it, the others show its children (the image or media nodes)."""


def _format(argument):
    return directives.choice(argument, _AS_IMAGE + _MEDIA + formats.SOURCE_WORDS)


def _converter(opts: list):
    """The option's own converter as docutils calls it, so a bad value is reported at
    its option (``invalid option value: (option: "stride"; value: 'x') argument
    -s/--stride: ...``). The text is kept: the figure converts it again, where values
    files are read beside the page. ``opts``: every kind's declaration of the name;
    where they differ, the figure's kind decides (its message, a warning)."""
    from .errors import SpecError
    from .options import Array

    opt = opts[0]
    if all(o.is_flag for o in opts):
        return directives.flag
    if any(o != opt for o in opts) or isinstance(opt.type, Array):
        return directives.unchanged

    def convert(argument):
        text = directives.unchanged_required(argument)
        try:
            opt.convert(text)
        except SpecError as e:
            raise ValueError(str(e)) from None
        return text

    return convert


class _OptionSpec(Mapping):
    """Every registered kind's options under their long names, plus the figure's own;
    read live, so a kind registered after this module loaded has its options too."""

    def _spec(self) -> dict:
        from . import kinds

        declared: dict[str, list] = {}
        for name in kinds.names():
            for key, opt in kinds.get(name).Options.by_name().items():
                if opt.name not in _OWN and opt.name != "name":
                    declared.setdefault(key.replace("_", "-"), []).append(opt)
        spec = {key: _converter(opts) for key, opts in declared.items()}
        spec.update(caption=directives.unchanged, alt=directives.unchanged,
                    width=directives.length_or_percentage_or_unitless, format=_format)
        return spec

    def __getitem__(self, key):
        return self._spec()[key]

    def __iter__(self):
        return iter(self._spec())

    def __len__(self):
        return len(self._spec())


class ConvanimDirective(SphinxDirective):
    """``.. convanim:: KIND [NAME]`` with the figure command's options."""

    required_arguments = 1
    optional_arguments = 1
    has_content = False
    option_spec = _OptionSpec()

    def run(self) -> list[nodes.Node]:
        from .errors import BackendError, SpecError, ToolError, VerifyError

        fmt = self.options.get("format") or self.config.convanim_format
        source = fmt in formats.SOURCE_WORDS or self.config.convanim_latex_format != "pdf"
        if fmt in formats.SOURCE_WORDS:  # the source in LaTeX, the animation elsewhere
            fmt = self.config.convanim_format
        try:
            if fmt not in _AS_IMAGE + _MEDIA:
                raise SpecError(f"convanim_format must be one of "
                                f"{', '.join(_AS_IMAGE + _MEDIA)}, got {fmt!r}" + (
                                    f" (the TikZ source in LaTeX: convanim_latex_format = "
                                    f"{fmt!r})" if fmt in formats.SOURCE_WORDS else ""))
            if self.config.convanim_latex_format not in ("pdf", *formats.SOURCE_WORDS):
                raise SpecError(f"convanim_latex_format must be pdf or tex, got "
                                f"{self.config.convanim_latex_format!r}")
            path = self._draw(fmt, source)
        except (SpecError, ToolError, VerifyError, BackendError, OSError) as e:
            reason = f"{e.strerror}: {e.filename}" if isinstance(e, OSError) and e.strerror \
                else str(e)
            logger.warning("convanim: %s", reason, location=self.get_location(),
                           type="convanim")
            return []
        uri = "/" + Path(os.path.relpath(path, self.env.srcdir)).as_posix()
        alt = self.options.get("alt", path.name)
        image = nodes.image(uri=uri + ".*", alt=alt)
        if "width" in self.options:
            image["width"] = self.options["width"]
        shown = [image]
        if fmt in _MEDIA:  # HTML pages point at the copied file, other builders get the PDF
            image["uri"] = uri + ".pdf"
            web = addnodes.only(expr="html")
            media = Path(f"{path}{formats.of_word(fmt, True).suffix}")
            src = os.path.relpath(media, self.env.srcdir)
            self.env.images.add_file(self.env.docname, src)  # purged and merged by Sphinx
            size = None
            if fmt == "html":
                from .engine.web import player_size

                size = player_size(media.read_text(encoding="utf-8"))
            web += convanim_media(src=src, fmt=fmt, alt=alt, width=self.options.get("width"),
                                  size=size)
            other = addnodes.only(expr="not html")
            other += image
            shown = [web, other]
        if source:
            shown = [convanim_source("", *shown, src=f"{path}.tex", name=path.name)]
        if "caption" not in self.options:
            return shown
        figure = nodes.figure("", *shown)
        text, messages = self.state.inline_text(self.options["caption"], self.lineno)
        figure += nodes.caption(self.options["caption"], "", *text)
        return [figure, *messages]

    def _draw(self, fmt: str = "gif", source: bool = False) -> Path:
        """Draw the animation and the one-step PDF (or take them from the cache).

        Returns ``FOLDER/STEM``: the animation (``STEM.gif`` or another ``fmt``) and
        ``STEM.pdf`` both exist, and the image node's ``STEM.*`` lets each builder
        pick the type it supports. Both are drawn while reading because Sphinx reads
        a document once for all builders sharing a doctree folder (``make html
        latexpdf``). With ``source``, ``STEM.tex`` too, the PDF's step drawn as TikZ
        source for the LaTeX document's column, and ``convanim.sty`` beside it.
        """
        from . import files, values
        from .figure import figure, plan, renamed

        kind, name = self.arguments[0], (self.arguments[1] if len(self.arguments) > 1 else None)
        options = {k: v for k, v in self.config.convanim_defaults.items()
                   if k.replace("-", "_") not in _OWN}
        for key, value in self.options.items():
            if key in ("caption", "alt", "width", "format"):
                continue
            options[key] = True if value is None else value  # a flag given
        folder = Path(self.env.app.doctreedir) / "convanim"
        step = options.pop("step", None)
        page = Path(self.env.doc2path(self.env.docname)).parent
        # --input photo.png: beside the page, and only from inside the source folder
        with values.relative_to(page, root=Path(self.env.srcdir)):
            animation = plan(*figure(kind, name, **options, animation=True,
                                     out_dir=folder / "pages", gif_dir=folder, type=fmt))
            last = animation.steps - 1
            single = plan(*figure(kind, name, **options, type="pdf", out_dir=folder / "step",
                                  step=last if step is None else step))
            tex = plan(*figure(kind, name, **options, type="tex", out_dir=folder / "source",
                               width=self.config.convanim_latex_width,
                               step=last if step is None else step)) \
                if source else None
        key = f"{animation.key()}{single.key()}"
        if name is None:  # options outside the default name (labels, seed...) must not collide
            name = f"{animation.name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        else:
            self._claim(name, key)
        for out in (*renamed(animation, name).outputs(), *renamed(single, name).outputs()):
            files.check_output_inside(folder, out)  # a symlink in the build folder
        _, made = renamed(animation, name).make()
        (pdf,) = renamed(single, name).make()
        placed = [(pdf, folder / f"{name}.pdf")]
        if tex is not None:
            drawn = {f.name: f for f in renamed(tex, name).make()}
            placed += [(drawn[f"{name}.tex"], folder / f"{name}.tex"),
                       (drawn["convanim.sty"], folder / "convanim.sty")]
        files.place_all(placed)
        for old in folder.glob(f"{name}.*"):  # another format drawn before (NAME has no
            #                                   glob characters):
            if old.suffix not in (made.suffix, ".pdf", ".tex"):  # STEM.* must not pick it
                old.unlink(missing_ok=True)
        return folder / name

    def _claim(self, name: str, key: str) -> None:
        """Refuse a NAME that another directive of the project draws differently."""
        from .errors import SpecError

        names = getattr(self.env, "convanim_names", None)
        if names is None:
            names = self.env.convanim_names = {}
        other = names.get(name)
        if other is not None and other[0] != key:
            raise SpecError(f"NAME {name!r} is already drawn with other options at "
                            f"{other[1]}:{other[2]}")
        names[name] = (key, self.env.docname, self.lineno)


def _media_html(node, uri: str) -> str:
    """The HTML of a copied webp, video or player file at ``uri``."""
    fmt, alt, width = node["fmt"], html.escape(node["alt"]), node["width"]
    style = f' style="width: {html.escape(width)};"' if width else ""
    src = html.escape(uri)
    if fmt == "webp":
        return f'<img src="{src}" alt="{alt}"{style}>'
    if fmt == "html":
        w, h = node["size"]
        size = f"width: {html.escape(width)}; " if width else f"width: {w}px; "
        return (f'<iframe class="convanim" src="{src}" title="{alt}" style="{size}'
                f'max-width: 100%; height: {h}px; border: 0;" loading="lazy"></iframe>')
    return (f'<video src="{src}" autoplay loop muted playsinline controls '
            f'aria-label="{alt}"{style}></video>')


def _resolve_media(app, doctree, docname) -> None:
    """Point each media node at its copy in the builder's image folder (HTML builders;
    Sphinx copies every file of ``builder.images`` at the end)."""
    builder = app.builder
    for node in list(doctree.findall(convanim_media)):
        src = node["src"]
        if builder.format != "html" or src not in app.env.images:
            node.parent.remove(node)
            continue
        dest = builder.images[src] = app.env.images[src][1]
        from sphinx.util.osutil import relative_uri

        folder = relative_uri(builder.get_target_uri(docname), builder.imagedir)
        node.replace_self(nodes.raw("", _media_html(node, posixpath.join(folder, dest)),
                                    format="html"))


def _resolve_source(app, doctree, docname) -> None:
    """LaTeX builders: each source figure becomes ``\\input{convanim/NAME}``, the file
    and convanim.sty copied into the output folder, the package loaded (the preamble
    is written after this event); other builders show the figure's children."""
    latex = app.builder.format == "latex"
    for node in list(doctree.findall(convanim_source)):
        if not latex:
            node.replace_self(node.children or [])
            continue
        src = Path(node["src"])
        out = Path(app.builder.outdir)
        for file, dest in ((src, out / "convanim" / src.name),
                           (src.with_name("convanim.sty"), out / "convanim.sty")):
            if not dest.is_file() or dest.read_bytes() != file.read_bytes():
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(file.read_bytes())
        if not app.registry.has_latex_package("convanim"):
            app.add_latex_package("convanim")
        node.replace_self(nodes.raw("", f"\\noindent\\input{{convanim/{node['name']}}}\n",
                                    format="latex"))


def _purge(app, env, docname) -> None:
    names = getattr(env, "convanim_names", {})
    for name in [n for n, (_, doc, _) in names.items() if doc == docname]:
        del names[name]


def _merge(app, env, docnames, other) -> None:
    """Join a parallel reader's names; one NAME drawn with two sets of options (each
    reader saw only its own) is the same mistake as in one reader, and warned of."""
    names = getattr(env, "convanim_names", None)
    if names is None:
        names = env.convanim_names = {}
    for name, (key, doc, line) in getattr(other, "convanim_names", {}).items():
        mine = names.get(name)
        if mine is not None and mine[0] != key:
            logger.warning("convanim: NAME %r is drawn with other options at %s:%s; the "
                           "two share one file", name, mine[1], mine[2],
                           location=(doc, line), type="convanim")
        names[name] = (key, doc, line)


def setup(app):
    app.add_config_value("convanim_defaults", {}, "env", types=[dict])
    app.add_config_value("convanim_format", "gif", "env", types=[str])
    app.add_config_value("convanim_latex_format", "pdf", "env", types=[str])
    app.add_config_value("convanim_latex_width", "textwidth", "env", types=[str])
    app.add_node(convanim_media)
    app.add_node(convanim_source)
    app.add_directive("convanim", ConvanimDirective)
    app.connect("doctree-resolved", _resolve_media)
    app.connect("doctree-resolved", _resolve_source)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": __version__, "env_version": env_version(),
            "parallel_read_safe": True, "parallel_write_safe": True}


def env_version() -> int:
    """An integer that changes with convanim's version and code: Sphinx re-reads every
    page when an extension's ``env_version`` differs from the pickled environment's."""
    from .cache import code_fingerprint

    digest = hashlib.sha256(f"{__version__}:{code_fingerprint()}".encode()).hexdigest()
    return int(digest[:12], 16)
