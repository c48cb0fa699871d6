"""Op specs for reduce_window family and select_and_scatter_add, appended to op_table's OPS.

``specs(op, samplers)`` returns (specs built with op_table's ``_op``, the primitive
names they must exercise); it may add named samplers to ``samplers``.

``L.max``/``L.add`` are the matching side's functions, so the monoid detection of
``reduce_window`` picks the same primitive on both sides. Max/min pooling samples
distinct values (``distinct``) so that no window has a tie and the arg-max, hence
the gradient, is the same on both sides.
"""

from __future__ import annotations

import jax
import numpy as np

import minigrad_jax as mg
from minigrad_jax import lax as mlax

_INF = np.inf


def _distinct(rng, shape, dtype):
    n = int(np.prod(shape))
    return ((rng.permutation(n).reshape(shape) - n / 2) / max(n, 1) * 4).astype(dtype)


def _maxpool(L, x):
    return L.reduce_window(x, -_INF, L.max, (1, 2, 2), (1, 2, 2), "VALID")


def _maxpool_vjp(L, x, ct):
    # The gradient of max pooling as a program: select_and_scatter_add in the jaxpr.
    vjp = mg.vjp if L is mlax else jax.vjp
    return vjp(lambda x: _maxpool(L, x), x)[1](ct)[0]


def _maxpool_jvp(L, x, t):
    # The tangent of max pooling as a program: select_and_gather_add in the jaxpr.
    jvp = mg.jvp if L is mlax else jax.jvp
    return jvp(lambda x: _maxpool(L, x), (x,), (t,))[1]


def _sum_and_prod(L, x, y):
    def comp(a, b):
        return L.add(a[0], b[0]), L.mul(a[1], b[1])

    return L.reduce_window((x, y), (0.0, 1.0), comp, (2, 2), (1, 1), "VALID")


def specs(op, samplers):
    samplers["distinct"] = _distinct
    table = [
        op("maxpool_2x2", _maxpool_2x2, [(2, 4, 4, 3)], domains=["distinct"]),
        op(
            "maxpool_same_overlap",
            lambda L, x: L.reduce_window(x, -_INF, L.max, (1, 3, 3), (1, 2, 2), "SAME"),
            [(2, 5, 5)],
            domains=["distinct"],
        ),
        op(
            "minpool_explicit_pad",
            lambda L, x: L.reduce_window(x, _INF, L.min, (2, 2), (1, 1), [(1, 0), (0, 1)]),
            [(4, 5)],
            domains=["distinct"],
        ),
        op(
            "maxpool_base_dilation",
            lambda L, x: L.reduce_window(
                x, -_INF, L.max, (3, 2), (1, 2), [(1, 1), (0, 0)], base_dilation=(2, 1)
            ),
            [(3, 4)],
            domains=["distinct"],
        ),
        op(
            "maxpool_1d",
            lambda L, x: L.reduce_window(x, -_INF, L.max, (3,), (1,), "VALID"),
            [(6,)],
            domains=["distinct"],
        ),
        op(
            "sumpool_2x2",
            lambda L, x: L.reduce_window(x, 0.0, L.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"),
            [(2, 4, 4, 3)],
        ),
        op(
            "sumpool_dilations",
            lambda L, x: L.reduce_window(
                x, 0.0, L.add, (2, 2), (1, 2), [(1, 1), (0, 1)], (2, 1), (1, 2)
            ),
            [(3, 5)],
        ),
        op(
            "sumpool_3d",
            lambda L, x: L.reduce_window(x, 0.0, L.add, (2, 2, 2), (2, 1, 2), "SAME"),
            [(3, 4, 4)],
        ),
        # JAX cannot transpose the generic reduce_window (grad=False; its JVP is
        # compared in test_windowed_reductions.py).
        op(
            "prodpool_generic",
            lambda L, x: L.reduce_window(x, 1.0, L.mul, (2, 2), (1, 1), "VALID"),
            [(3, 4)],
            grad=False,
        ),
        op("sum_and_prod_pool", _sum_and_prod, [(3, 4), (3, 4)], grad=False),
        # jaxpr=False: select_prim is each side's own ge primitive, which the table's
        # param comparison cannot equate (test_windowed_reductions.py compares by name).
        op(
            "maxpool_vjp",
            _maxpool_vjp,
            [(2, 4, 4), (2, 2, 2)],
            domains=["distinct", "real"],
            jaxpr=False,
        ),
        op(
            "maxpool_jvp",
            _maxpool_jvp,
            [(2, 4, 4), (2, 4, 4)],
            domains=["distinct", "real"],
            jaxpr=False,
        ),
    ]
    prims = frozenset(
        """
        reduce_window_sum reduce_window_max reduce_window_min reduce_window
        select_and_scatter_add select_and_gather_add
        """.split()
    )
    return table, prims


def _maxpool_2x2(L, x):
    return L.reduce_window(x, -_INF, L.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
