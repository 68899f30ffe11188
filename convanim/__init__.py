"""convanim: correct, fast figures of convolution arithmetic.

Importing the package is cheap on purpose: numba, pdf2image and Pillow load only
where they are used.
"""
__version__ = "0.1.0"
