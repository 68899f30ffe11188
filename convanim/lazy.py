"""numpy, imported the first time a function of ours uses it.

The arithmetic and alphabet figures draw from a few dozen integers (alphabet's
matrix at most 64x64 entries) and never need numpy; its import was a sixth of the
4-frame animation (60-170 ms on two cores) and a tenth of alphabet's. Modules on
those paths (geometry, the scene helpers, channels' grouping) hold this stand-in
under the name ``np``, so their array code reads as ever and pays for numpy only
when it runs.
"""
from __future__ import annotations

import sys
from importlib import import_module


class LazyModule:
    """A module imported on first attribute access (then looked up in sys.modules)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        module = sys.modules.get(self._name) or import_module(self._name)
        return getattr(module, attr)


np = LazyModule("numpy")


def numpy_types(*names: str) -> tuple:
    """numpy's types of these names, or none while numpy is not imported: no value can be
    of a numpy type before numpy is imported, so an ``isinstance`` needs no import."""
    module = sys.modules.get("numpy")
    return tuple(getattr(module, n) for n in names) if module is not None else ()
