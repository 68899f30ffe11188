"""Convolution geometry: the single source of truth for every size and index.

Every operation convanim draws, counts or verifies is lowered to a *direct*
convolution over a canvas: an operand with zeros inserted between its cells and
padding around it, a kernel whose taps are spaced by the dilation, sliding with a
stride. The forward conv, the transposed conv (which is also the loss phase of
training) and the weight-gradient phase are all of that shape, so one set of index
maps serves the figures, the statistics and the GPU checks alike.

Sizes follow PyTorch: ``o = (i + 2p - d(k-1) - 1) // s + 1`` and, for the
transposed conv, ``(o-1)s - 2p + d(k-1) + a + 1``. Wherever a padding ``p`` is taken it
may be an ``(h, w)`` pair (the same on both sides of an axis) or the four sides
``(top, bottom, left, right)``; ``2p`` is then the sum of an axis's two sides. A volume
(conv3d: depth, rows, columns; :mod:`.volume`) takes a triple or six sides. Padding
cells hold zeros, or (``mode``) a copy of an operand cell: PyTorch's reflect,
replicate and circular padding, in closed form per axis (:func:`pad_index`).
"""
from .conv import (Pair, PAD, INSERTED, DATA, PADDING, INSERTION, PADDING_MODES, Sides,
                   axis_pads, padding_total, same_sides, causal_sides, conv_output_size,
                   auto_output_padding, transposed_output_size, pad_index, mode_index, pad,
                   padding_mode_error, Axis, Lowered, forward_conv, transposed_conv,
                   transposed_from_operand, gradient_conv, PHASES, phase_conv, Grouped,
                   forward_axes, transposed_axes, gradient_axes, phase_axes)  # noqa: F401
from .sides import Sides3, sides_of  # noqa: F401
from .volume import (Volume, forward_conv3, transposed_conv3, gradient_conv3,  # noqa: F401
                     lowering, pad_volume)
from .stack import (StackLayer, receptive_fields, stack_plane_reads,  # noqa: F401
                    stack_plane_sizes, stack_reads, stack_sizes)
