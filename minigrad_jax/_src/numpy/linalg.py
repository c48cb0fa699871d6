"""``mnp.linalg``: vector and matrix norms (the decompositions are not implemented)."""

from __future__ import annotations

import numpy as np
from minigrad_jax._src.numpy import _reductions as red
from minigrad_jax._src.numpy import _ufuncs as uf
from minigrad_jax._src.numpy import _util as util

__all__ = ["norm", "vector_norm", "matrix_norm"]


def _sum_sq(x, axis, keepdims):
    return uf.sqrt(red.sum(uf.real(uf.multiply(x, uf.conj(x))), axis=axis, keepdims=keepdims))


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):  # noqa: A002
    """The ``ord``-norm of ``x`` over ``axis`` (all elements by default), like JAX's."""
    (x,) = util.ensure_arraylike("linalg.vector_norm", x)
    if ord is None or ord == 2:
        return _sum_sq(x, axis, keepdims)
    if ord == np.inf:
        return red.max(uf.abs(x), axis=axis, keepdims=keepdims, initial=0)
    if ord == -np.inf:
        return red.min(uf.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return red.sum(
            uf.not_equal(x, 0), dtype=np.finfo(util.dtype_of(x)).dtype, axis=axis, keepdims=keepdims
        )
    if ord == 1:
        return red.sum(uf.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid order '{ord}' for vector norm.")
    abs_x = uf.abs(x)
    out = red.sum(uf.power(abs_x, util.const(abs_x, ord)), axis=axis, keepdims=keepdims)
    return uf.power(out, util.const(abs_x, 1.0 / ord))


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """Vector or matrix norm, like jnp.linalg.norm (matrix 2/-2/'nuc' need an SVD).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.norm(mnp.array([3.0, 4.0]))
        Array(5., dtype=float32)
        >>> mnp.linalg.norm(mnp.array([3.0, 4.0]), ord=1)
        Array(7., dtype=float32)
        >>> mnp.linalg.norm(mnp.eye(2))
        Array(1.4142135, dtype=float32)
    """
    (x,) = util.ensure_arraylike("linalg.norm", x)
    (x,) = util.promote_dtypes_inexact(x)
    nd = util.ndim_of(x)
    if axis is None:
        if ord is None:
            return _sum_sq(x, None, keepdims)
        axis = tuple(range(nd))
    elif isinstance(axis, tuple):
        axis = tuple(util.canonicalize_axis(a, nd) for a in axis)
    else:
        axis = (util.canonicalize_axis(axis, nd),)
    if len(axis) == 1:
        return vector_norm(x, ord=2 if ord is None else ord, axis=axis, keepdims=keepdims)
    if len(axis) != 2:
        raise ValueError(
            f"Improper number of axes for norm: axis={axis!r}. Pass one axis "
            "for a vector norm, or two axes for a matrix norm."
        )
    return matrix_norm(x, ord=ord, axis=axis, keepdims=keepdims)


def matrix_norm(x, /, *, keepdims=False, ord="fro", axis=(-2, -1)):  # noqa: A002
    """Frobenius, 1, -1, inf or -inf norm over the two ``axis`` dimensions."""
    (x,) = util.ensure_arraylike("linalg.matrix_norm", x)
    nd = util.ndim_of(x)
    row_axis, col_axis = (util.canonicalize_axis(a, nd) for a in axis)
    if ord is None or (isinstance(ord, str) and ord in ("f", "fro")):
        return _sum_sq(x, (row_axis, col_axis), keepdims)
    if isinstance(ord, str) and ord == "nuc" or ord in (2, -2):
        raise NotImplementedError(
            f"mnp.linalg.norm: ord={ord!r} for a matrix needs a singular "
            "value decomposition, which is not implemented"
        )
    if ord in (1, -1):
        if not keepdims and col_axis > row_axis:
            col_axis -= 1
        inner = red.sum(uf.abs(x), axis=row_axis, keepdims=keepdims)
        if ord == 1:
            return red.max(inner, axis=col_axis, keepdims=keepdims, initial=0)
        return red.min(inner, axis=col_axis, keepdims=keepdims)
    if ord in (np.inf, -np.inf):
        if not keepdims and row_axis > col_axis:
            row_axis -= 1
        inner = red.sum(uf.abs(x), axis=col_axis, keepdims=keepdims)
        if ord == np.inf:
            return red.max(inner, axis=row_axis, keepdims=keepdims, initial=0)
        return red.min(inner, axis=row_axis, keepdims=keepdims)
    raise ValueError(f"Invalid order '{ord}' for matrix norm.")
