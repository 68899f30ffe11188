"""convanim: correct, fast figures of convolution arithmetic.

Importing the package is cheap on purpose: numba, pdf2image and Pillow load only
where they are used.
"""
__version__ = "0.1.0"


def __getattr__(name):
    """``convanim.render(kind, name=None, **options)``, the Python API, imported on first use."""
    if name == "render":
        import importlib

        return importlib.import_module(".render", __name__)
    raise AttributeError(f"module 'convanim' has no attribute {name!r}")
