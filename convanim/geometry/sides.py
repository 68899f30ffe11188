"""Paddings as sides: the four sides of a 2-D operand, the six of a volume.

A padding is given as one value per axis (the same on both sides of each axis,
PyTorch's ``padding``) or as every side; the number of values says which, and how many
axes: a pair or four sides is 2-D, a triple or six sides is 3-D.
"""
from __future__ import annotations

from typing import NamedTuple

Pair = tuple[int, int]


class Sides(NamedTuple):
    """A padding: cells of padding on the top, bottom, left and right.

    The one form a resolved padding takes (``-p N``, ``HxW``, ``same``, ``valid``,
    ``--padding-sides`` and ``--causal`` all become one, in :mod:`convanim.spec`).
    A tuple, so ``t, b, l, r = sides`` and JSON (a list of four) work as they are.
    """

    top: int
    bottom: int
    left: int
    right: int

    @classmethod
    def of(cls, p) -> "Sides":
        """The sides of a padding given as an ``(h, w)`` pair (the same on both sides of
        an axis, PyTorch's ``padding``) or as four sides."""
        if isinstance(p, cls):
            return p
        if isinstance(p, str):
            raise ValueError(f"padding {p!r} is not resolved to sides (see convanim.spec)")
        p = tuple(int(v) for v in p)
        if len(p) == 4:
            return cls(*p)
        if len(p) != 2:
            raise ValueError(f"a padding is an (h, w) pair or four sides, got {p!r}")
        return cls(p[0], p[0], p[1], p[1])

    @property
    def symmetric(self) -> bool:
        """Both sides of each axis equal: a padding PyTorch's ``padding=(h, w)`` gives."""
        return self.top == self.bottom and self.left == self.right

    @property
    def pair(self) -> Pair:
        """``(top, left)``: PyTorch's ``padding`` (the padding itself where symmetric)."""
        return (self.top, self.left)

    @property
    def axes(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((top, bottom), (left, right))``: the two sides of each axis."""
        return (self.top, self.bottom), (self.left, self.right)

    @property
    def total(self) -> Pair:
        """Cells of padding per axis, both sides together (``2p`` when symmetric)."""
        return (self.top + self.bottom, self.left + self.right)

    def format(self) -> str:
        """As the command line spells it: ``1`` or ``1x2`` (``-p``) where symmetric, else
        ``0,0,2,0`` (``--padding-sides``)."""
        if not self.symmetric:
            return ",".join(str(v) for v in self)
        h, w = self.pair
        return str(h) if h == w else f"{h}x{w}"


class Sides3(NamedTuple):
    """The padding of a volume: cells on the front, back (depth), top, bottom (height),
    left and right (width), in the axes' order as :class:`Sides` has them. PyTorch's
    ``F.pad`` takes the same six values last axis first: ``(left, right, top, bottom,
    front, back)`` (:attr:`f_pad`)."""

    front: int
    back: int
    top: int
    bottom: int
    left: int
    right: int

    @classmethod
    def of(cls, p) -> "Sides3":
        """The sides of a padding given as a ``(d, h, w)`` triple or as six sides."""
        if isinstance(p, cls):
            return p
        if isinstance(p, str):
            raise ValueError(f"padding {p!r} is not resolved to sides (see convanim.spec)")
        p = tuple(int(v) for v in p)
        if len(p) == 6:
            return cls(*p)
        if len(p) != 3:
            raise ValueError(f"a volume's padding is a (d, h, w) triple or six sides, got {p!r}")
        return cls(p[0], p[0], p[1], p[1], p[2], p[2])

    @property
    def axes(self) -> tuple[tuple[int, int], ...]:
        """``((front, back), (top, bottom), (left, right))``."""
        return (self.front, self.back), (self.top, self.bottom), (self.left, self.right)

    @property
    def symmetric(self) -> bool:
        return all(lo == hi for lo, hi in self.axes)

    @property
    def triple(self) -> tuple[int, int, int]:
        """``(front, top, left)``: PyTorch's ``padding`` (the padding itself where symmetric)."""
        return (self.front, self.top, self.left)

    @property
    def total(self) -> tuple[int, int, int]:
        return tuple(lo + hi for lo, hi in self.axes)

    @property
    def f_pad(self) -> tuple[int, ...]:
        """The six values of ``F.pad``: last axis first."""
        return (self.left, self.right, self.top, self.bottom, self.front, self.back)

    def format(self) -> str:
        """``1`` or ``1x2x2`` where symmetric, else the six sides ``0,0,1,1,1,1``."""
        if not self.symmetric:
            return ",".join(str(v) for v in self)
        d, h, w = self.triple
        return str(d) if d == h == w else f"{d}x{h}x{w}"


def sides_of(p) -> Sides | Sides3:
    """The sides of any padding: a pair or four sides (2-D), a triple or six sides (3-D)."""
    if isinstance(p, (Sides, Sides3)):
        return p
    if not isinstance(p, str) and len(p) in (3, 6):
        return Sides3.of(p)
    return Sides.of(p)


def axis_pads(p) -> tuple[tuple[int, int], ...]:
    """``((lo, hi), ...)`` per axis of any padding (:func:`sides_of`)."""
    return sides_of(p).axes


def padding_total(p) -> tuple[int, ...]:
    """Cells of padding per axis, both sides together (``2p`` when symmetric)."""
    return sides_of(p).total
