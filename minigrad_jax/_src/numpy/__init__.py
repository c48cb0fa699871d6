"""jax.numpy-like functions built only on our lax wrappers (minimal core for now)."""

from __future__ import annotations

from minigrad_jax._src import core
from minigrad_jax._src.dtypes import promote, to_inexact
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import reductions as red


def _binary(lax_fn):
    def f(x, y):
        return lax_fn(*promote(x, y))

    return f


add = _binary(ew.add)
subtract = _binary(ew.sub)
multiply = _binary(ew.mul)


def true_divide(x, y):
    x, y = promote(x, y)
    return ew.div(to_inexact(x), to_inexact(y))


divide = true_divide


def power(x, y):
    if isinstance(y, int) and not isinstance(y, bool):
        return ew.integer_pow(x, y)
    return ew.pow(*promote(x, y))


def negative(x):
    return ew.neg(x)


def sin(x):
    return ew.sin(to_inexact(x))


def sum(x, axis=None):  # noqa: A001
    nd = core.get_aval(x).ndim
    axes = tuple(range(nd)) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    return red.reduce_sum(x, tuple(a % nd for a in axes))
