"""convanim: correct, fast figures of convolution arithmetic.

Importing the package is cheap on purpose: numba, pdf2image and Pillow load only
where they are used.
"""
from .version import __version__

__all__ = ["__version__", "render", "from_torch"]


def __getattr__(name):
    """``convanim.render(kind, name=None, **options)`` and ``convanim.from_torch(layer,
    ...)``, the Python API, imported on first use."""
    if name in ("render", "from_torch"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'convanim' has no attribute {name!r}")
