"""Products and contractions (dot, matmul, tensordot) and diagonals (einsum: _einsum.py).

All of them lower to the one contraction primitive, ``dot_general``, with
``preferred_element_type`` set to the promoted dtype as jax.numpy does.
"""

from __future__ import annotations

import operator

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src import dtypes as _promotion
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import eye, zeros_like
from minigrad_jax._src.numpy._reductions import sum as rsum
from minigrad_jax._src.numpy._shape import expand_dims, moveaxis, ravel, reshape, slice_in_dim
from minigrad_jax._src.numpy._ufuncs import conj, multiply


def _result_dtype(name, a, b, preferred_element_type):
    if preferred_element_type is None:
        return _promotion.result_type(a, b)
    return _dtypes.canonicalize(preferred_element_type, name), False


def _dot_general(a, b, dims, precision, dtype):
    a, b = util.cast(a, dtype), util.cast(b, dtype)
    return lax.dot_general(a, b, dims, precision=precision, preferred_element_type=dtype)


@core.jit_when_eager(static_argnames=("precision", "preferred_element_type"))
def dot(a, b, *, precision=None, preferred_element_type=None):
    """numpy's ``dot``: contracts the last axis of ``a`` with the second-to-last of ``b``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.dot(mnp.ones((2, 3)), mnp.ones(3))
        Array([3., 3.], dtype=float32)
        >>> mnp.dot(mnp.array([1.0, 2.0]), mnp.array([3.0, 4.0]))
        Array(11., dtype=float32)
    """
    a, b = util.ensure_arraylike("dot", a, b)
    dtype, weak = _result_dtype("dot", a, b, preferred_element_type)
    a_nd, b_nd = util.ndim_of(a), util.ndim_of(b)
    if a_nd == 0 or b_nd == 0:
        contract = ((), ())
    elif b_nd == 1:
        contract = ((a_nd - 1,), (0,))
    else:
        contract = ((a_nd - 1,), (b_nd - 2,))
    out = _dot_general(a, b, (contract, ((), ())), precision, dtype)
    return util.cast(out, dtype, weak)


@core.jit_when_eager(static_argnames=("precision", "preferred_element_type"))
def matmul(a, b, *, precision=None, preferred_element_type=None):
    """``a @ b`` with numpy's batch broadcasting, like jnp.matmul (JAX's lowering).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.matmul(mnp.ones((2, 3)), mnp.ones((3, 2)))
        Array([[3., 3.],
               [3., 3.]], dtype=float32)
        >>> mnp.matmul(mnp.ones((4, 2, 3)), mnp.ones((3,))).shape
        (4, 2)
    """
    a, b = util.ensure_arraylike("matmul", a, b)
    for i, x in enumerate((a, b)):
        if util.ndim_of(x) < 1:
            raise ValueError(
                f"matmul input operand {i} must have ndim at least 1, but it has "
                f"ndim {util.ndim_of(x)}"
            )
    dtype, weak = _result_dtype("matmul", a, b, preferred_element_type)
    a_shape, b_shape = util.shape_of(a), util.shape_of(b)
    a_is_mat, b_is_mat = len(a_shape) > 1, len(b_shape) > 1
    a_batch = a_shape[:-2] if a_is_mat else ()
    b_batch = b_shape[:-2] if b_is_mat else ()
    nb = max(len(a_batch), len(b_batch))
    a_batch = (None,) * (nb - len(a_batch)) + a_batch
    b_batch = (None,) * (nb - len(b_batch)) + b_batch
    a_squeeze, b_squeeze, both_squeeze = [], [], []
    a_bdims, b_bdims, idx_batch, idx_a_other, idx_b_other = [], [], [], [], []
    for i, (ba, bb) in enumerate(zip(a_batch, b_batch, strict=False)):
        if ba is None:
            idx_b_other.append(i)
        elif bb is None:
            idx_a_other.append(i)
        elif ba == 1 and bb == 1:
            a_squeeze.append(len(idx_batch) + len(idx_a_other) + len(a_squeeze))
            b_squeeze.append(len(idx_batch) + len(idx_b_other) + len(b_squeeze))
            both_squeeze.append(i)
        elif ba == 1:
            idx_b_other.append(i)
            a_squeeze.append(len(idx_batch) + len(idx_a_other) + len(a_squeeze))
        elif bb == 1:
            idx_a_other.append(i)
            b_squeeze.append(len(idx_batch) + len(idx_b_other) + len(b_squeeze))
        elif ba == bb:
            a_bdims.append(len(idx_batch) + len(idx_a_other))
            b_bdims.append(len(idx_batch) + len(idx_b_other))
            idx_batch.append(i)
        else:
            raise ValueError(f"Incompatible shapes for matmul arguments: {a_shape} and {b_shape}")
    if a_is_mat:
        idx_a_other.append(nb)
    if b_is_mat:
        idx_b_other.append(nb + a_is_mat)
    order = [*idx_batch, *idx_a_other, *idx_b_other]
    perm = tuple(sorted(range(len(order)), key=order.__getitem__))  # argsort
    if a_squeeze:
        a = lax.squeeze(a, tuple(a_squeeze))
    if b_squeeze:
        b = lax.squeeze(b, tuple(b_squeeze))
    if a_shape[-1] != b_shape[-1 - b_is_mat]:
        raise ValueError(
            f"matmul: contracting dimensions differ for shapes {a_shape} and {b_shape}"
        )
    dims = (
        ((util.ndim_of(a) - 1,), (util.ndim_of(b) - 1 - b_is_mat,)),
        (tuple(a_bdims), tuple(b_bdims)),
    )
    out = _dot_general(a, b, dims, precision, dtype)
    if perm != tuple(range(len(perm))):
        out = lax.transpose(out, perm)
    if both_squeeze:
        out = expand_dims(out, tuple(both_squeeze))
    return util.cast(out, dtype, weak)


@core.jit_when_eager(static_argnames=("precision", "preferred_element_type"))
def vdot(a, b, *, precision=None, preferred_element_type=None):
    """Dot product of the flattened inputs (``a`` conjugated), like jnp.vdot."""
    a, b = util.ensure_arraylike("vdot", a, b)
    return dot(
        ravel(conj(a)), ravel(b), precision=precision, preferred_element_type=preferred_element_type
    )


@core.jit_when_eager(static_argnames=("axes", "precision", "preferred_element_type"))
def tensordot(a, b, axes=2, *, precision=None, preferred_element_type=None):
    """Contract ``axes`` of ``a`` with ``axes`` of ``b``, like jnp.tensordot.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.tensordot(mnp.ones((2, 3)), mnp.ones((3, 4)), axes=1)
        Array([[3., 3., 3., 3.],
               [3., 3., 3., 3.]], dtype=float32)
    """
    a, b = util.ensure_arraylike("tensordot", a, b)
    a_nd, b_nd = util.ndim_of(a), util.ndim_of(b)
    dtype, weak = _result_dtype("tensordot", a, b, preferred_element_type)
    if type(axes) is int:
        if axes > min(a_nd, b_nd):
            raise TypeError(
                f"Number of tensordot axes (axes {axes}) exceeds input ranks "
                f"({util.shape_of(a)} and {util.shape_of(b)})"
            )
        contract = (tuple(range(a_nd - axes, a_nd)), tuple(range(axes)))
    elif isinstance(axes, (tuple, list)) and len(axes) == 2:
        ax1, ax2 = axes
        if isinstance(ax1, int) and isinstance(ax2, int):
            contract = ((util.canonicalize_axis(ax1, a_nd),), (util.canonicalize_axis(ax2, b_nd),))
        elif isinstance(ax1, (tuple, list)) and isinstance(ax2, (tuple, list)):
            if len(ax1) != len(ax2):
                raise TypeError(
                    f"tensordot requires axes lists to have equal length, got {ax1} and {ax2}."
                )
            contract = (
                tuple(util.canonicalize_axis(i, a_nd) for i in ax1),
                tuple(util.canonicalize_axis(i, b_nd) for i in ax2),
            )
        else:
            raise TypeError(
                "tensordot requires both axes lists to be either ints, tuples or "
                f"lists, got {ax1} and {ax2}"
            )
    else:
        raise TypeError(
            "tensordot axes argument must be an int, a pair of ints, or a pair of "
            "lists/tuples of ints."
        )
    out = _dot_general(a, b, (contract, ((), ())), precision, dtype)
    return util.cast(out, dtype, weak)


@core.jit_when_eager(static_argnames=("precision", "preferred_element_type"))
def inner(a, b, *, precision=None, preferred_element_type=None):
    """Sum product over the last axes, like jnp.inner."""
    a, b = util.ensure_arraylike("inner", a, b)
    if util.ndim_of(a) == 0 or util.ndim_of(b) == 0:
        if preferred_element_type is not None:
            a, b = util.cast(a, preferred_element_type), util.cast(b, preferred_element_type)
        return multiply(a, b)
    return tensordot(
        a, b, (-1, -1), precision=precision, preferred_element_type=preferred_element_type
    )


@core.jit_when_eager(static_argnames=("out",))
def outer(a, b, out=None):
    """All products ``a[i] * b[j]`` of the flattened inputs, like jnp.outer.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.outer(mnp.array([1.0, 2.0]), mnp.array([1.0, 10.0, 100.0]))
        Array([[  1.,  10., 100.],
               [  2.,  20., 200.]], dtype=float32)
    """
    util.check_no_unsupported("outer", out=out)

    a, b = util.promote_dtypes(*util.ensure_arraylike("outer", a, b))
    return multiply(expand_dims(ravel(a), 1), expand_dims(ravel(b), 0))


# ---------------------------------------------------------------------------
# diagonals and trace


@core.jit_when_eager(static_argnames=("offset", "axis1", "axis2"))
def diagonal(a, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal over ``axis1``/``axis2`` (moved last), like jnp.diagonal.

    Computed as one strided ``slice`` of the flattened matrix dimensions, so no
    gather is needed.
    """
    (a,) = util.ensure_arraylike("diagonal", a)
    if util.ndim_of(a) < 2:
        raise ValueError("diagonal requires an array of at least two dimensions.")
    k = operator.index(offset)
    shape = util.shape_of(a)
    nd = len(shape)
    i1, i2 = util.canonicalize_axis(axis1, nd), util.canonicalize_axis(axis2, nd)
    if i1 == i2:
        raise ValueError(f"axis1 and axis2 cannot be the same, got {axis1} and {axis2}")
    n, m = shape[i1], shape[i2]
    a = moveaxis(a, (i1, i2), (-2, -1))
    batch = util.shape_of(a)[:-2]
    size = max(0, min(n + min(k, 0), m - max(k, 0)))
    flat = reshape(a, batch + (n * m,))
    start = k if k >= 0 else -k * m
    if size == 0:
        return slice_in_dim(flat, 0, 0, len(batch))
    return slice_in_dim(flat, start, start + (size - 1) * (m + 1) + 1, len(batch), m + 1)


def diag(v, k=0):
    """The ``k``-th diagonal of a 2-D ``v``, or a 2-D array with 1-D ``v`` on it (jnp.diag)."""
    (v,) = util.ensure_arraylike("diag", v)
    k = operator.index(k)
    nd = util.ndim_of(v)
    if nd == 1:
        n = util.shape_of(v)[0] + abs(k)
        zero = np.zeros((), util.dtype_of(v))
        v = lax.pad(v, zero, ((max(0, k), max(0, -k), 0),))
        return util.where(eye(n, k=k, dtype=bool), v, zeros_like(v))
    if nd == 2:
        return diagonal(v, offset=k)
    raise ValueError("diag input must be 1d or 2d")


@core.jit_when_eager(static_argnames=("offset", "axis1", "axis2", "dtype", "out"))
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Sum along the ``offset`` diagonal, like jnp.trace (a masked sum, as in JAX).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.trace(mnp.arange(9.0).reshape(3, 3))
        Array(12., dtype=float32)
    """
    util.check_no_unsupported("trace", out=out)
    (a,) = util.ensure_arraylike("trace", a)
    nd = util.ndim_of(a)
    if nd < 2:
        raise ValueError("trace requires an array of at least two dimensions.")
    i1, i2 = util.canonicalize_axis(axis1, nd), util.canonicalize_axis(axis2, nd)
    if i1 == i2:
        raise ValueError(f"axis1 and axis2 can not be same. axis1={axis1} and axis2={axis2}")
    shape = util.shape_of(a)
    a = moveaxis(a, (i1, i2), (-2, -1))
    mask = eye(shape[i1], shape[i2], k=offset, dtype=bool)
    a = util.where(mask, a, zeros_like(a))
    return rsum(a, axis=(-2, -1), dtype=dtype)
