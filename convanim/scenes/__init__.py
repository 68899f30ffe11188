"""Scenes: the per-frame data of each figure kind, plain and JSON-serialisable.

A scene module turns a :class:`~convanim.spec.ConvSpec` into what its template draws
and what ``--json`` reports; it never computes a size itself (that is geometry's job).
"""
from __future__ import annotations

from ..spec import ConvSpec


def figure_data(kind: str, spec: ConvSpec, steps: int) -> dict:
    """The fields every figure's JSON shares (GUIDE, "Figure data")."""
    return {
        "kind": kind,
        "transposed": spec.transposed,
        "input_size": list(spec.input_size),
        "kernel_size": list(spec.kernel_size),
        "stride": list(spec.stride),
        "padding": list(spec.padding),
        "dilation": list(spec.dilation),
        "output_padding": list(spec.output_padding),
        "output_size": list(spec.output_size),
        "steps": steps,
    }
