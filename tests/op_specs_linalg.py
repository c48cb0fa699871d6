"""Op specs for the lax.linalg factorizations, appended to op_table's OPS.

``specs(op, samplers)`` returns (specs built with op_table's ``_op``, the primitive
names they must exercise); it may add named samplers to ``samplers``.
"""

from __future__ import annotations


def specs(op, samplers):
    return [], frozenset()
