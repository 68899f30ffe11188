"""convanim: correct, fast figures of convolution arithmetic.

Importing the package is cheap on purpose: numba, pdf2image and Pillow load only
where they are used.
"""
from .version import __version__

__all__ = ["__version__", "render"]


def __getattr__(name):
    """``convanim.render(kind, name=None, **options)``, the Python API, imported on first use."""
    if name == "render":
        from .api import render

        return render
    raise AttributeError(f"module 'convanim' has no attribute {name!r}")
