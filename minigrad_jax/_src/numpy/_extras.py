"""Array manipulation, differences, products, selection and predicates composed
from the existing numpy functions (no primitives of their own).
"""

from __future__ import annotations

import builtins
import operator

import jax.numpy as jnp

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src.api import vmap
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import asarray, iota, linspace, zeros
from minigrad_jax._src.numpy._indexing import _IndexUpdateHelper, take
from minigrad_jax._src.numpy._linalg import diag, matmul
from minigrad_jax._src.numpy._reductions import all as rall
from minigrad_jax._src.numpy._reductions import mean
from minigrad_jax._src.numpy._reductions import sum as rsum
from minigrad_jax._src.numpy._shape import (
    array_split,
    broadcast_arrays,
    concatenate,
    expand_dims,
    flip,
    moveaxis,
    ravel,
    reshape,
    swapaxes,
    transpose,
)
from minigrad_jax._src.numpy._ufuncs import (
    conj,
    imag,
    isnan,
    logical_and,
    logical_or,
    multiply,
    power,
    subtract,
)
from minigrad_jax._src.traceback_util import public_function

# ---------------------------------------------------------------------------
# joining, splitting, reshaping


def append(arr, values, axis=None):
    """``arr`` with ``values`` appended (both flattened when ``axis`` is None), like jnp.append.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.append(mnp.array([1, 2]), mnp.array([[3, 4]]))
        Array([1, 2, 3, 4], dtype=int32)
    """
    arr, values = util.ensure_arraylike("append", arr, values)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], 0)
    return concatenate([arr, values], axis)


def concat(arrays, /, *, axis=0):
    """Join arrays along ``axis`` (the array API name of concatenate), like jnp.concat.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.concat([mnp.zeros(2), mnp.ones(1)])
        Array([0., 0., 1.], dtype=float32)
    """
    return concatenate(arrays, axis)


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple, like jnp.unstack.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.unstack(mnp.array([[1, 2], [3, 4]]))
        (Array([1, 2], dtype=int32), Array([3, 4], dtype=int32))
    """
    (x,) = util.ensure_arraylike("unstack", x)
    if util.ndim_of(x) == 0:
        raise ValueError(
            "Unstack requires arrays with rank > 0, however a scalar array was passed."
        )
    axis = util.canonicalize_axis(axis, util.ndim_of(x))
    n = util.shape_of(x)[axis]
    return tuple(lax.index_in_dim(x, i, axis, keepdims=False) for i in builtins.range(n))


def copy(a, order=None):
    """A copy of ``a`` (arrays are immutable, so ``a`` itself as an array), like jnp.copy.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.copy(mnp.array([1.0, 2.0]))
        Array([1., 2.], dtype=float32)
    """
    util.check_no_unsupported("copy", order=order)
    return asarray(a)


def _split_along(name, ary, indices_or_sections, axis, min_ndim):
    (ary,) = util.ensure_arraylike(name, ary)
    if util.ndim_of(ary) < min_ndim:
        raise ValueError(f"{name} only works on arrays of {min_ndim} or more dimensions")
    if util.ndim_of(ary) == 1 and name == "hsplit":
        axis = 0
    return _split_strict(name, ary, indices_or_sections, axis)


def _split_strict(name, ary, indices_or_sections, axis):
    if isinstance(indices_or_sections, int):
        n = util.shape_of(ary)[axis]
        if n % indices_or_sections:
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def hsplit(ary, indices_or_sections):
    """Split into columns (axis 1, axis 0 for 1-D), like jnp.hsplit.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.hsplit(mnp.arange(4), 2)
        [Array([0, 1], dtype=int32), Array([2, 3], dtype=int32)]
    """
    return _split_along("hsplit", ary, indices_or_sections, 1, 1)


def vsplit(ary, indices_or_sections):
    """Split into rows (axis 0), like jnp.vsplit.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.vsplit(mnp.array([[1, 2], [3, 4]]), 2)
        [Array([[1, 2]], dtype=int32), Array([[3, 4]], dtype=int32)]
    """
    return _split_along("vsplit", ary, indices_or_sections, 0, 2)


def dsplit(ary, indices_or_sections):
    """Split along the third axis, like jnp.dsplit.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> [p.shape for p in mnp.dsplit(mnp.zeros((1, 1, 4)), 2)]
        [(1, 1, 2), (1, 1, 2)]
    """
    return _split_along("dsplit", ary, indices_or_sections, 2, 3)


def _block_depth(x):
    return (
        1 + _block_depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list) else 0)
    )


def block(arrays):
    """Assemble an array from nested lists of blocks (innermost joined last axis), like jnp.block.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.block([[mnp.ones((1, 2)), mnp.zeros((1, 1))], [mnp.zeros((1, 3))]])
        Array([[1., 1., 0.],
               [0., 0., 0.]], dtype=float32)
    """
    if not isinstance(arrays, list):
        return asarray(arrays)
    depth = _block_depth(arrays)

    def leaves(x):
        return [y for item in x for y in leaves(item)] if isinstance(x, list) else [x]

    nd = builtins.max([depth] + [util.ndim_of(util.lift(a)) for a in leaves(arrays)])

    def rec(x, level):
        if not isinstance(x, list):
            (a,) = util.ensure_arraylike("block", x)
            return reshape(a, (1,) * (nd - util.ndim_of(a)) + util.shape_of(a))
        if not x:
            raise ValueError("mnp.block: lists cannot be empty")
        return concatenate([rec(item, level + 1) for item in x], axis=-(depth - level))

    return rec(arrays, 0)


def rollaxis(a, axis, start=0):
    """Move ``axis`` to before position ``start``, like jnp.rollaxis.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.rollaxis(mnp.zeros((2, 3, 4)), 2).shape
        (4, 2, 3)
    """
    (a,) = util.ensure_arraylike("rollaxis", a)
    nd = util.ndim_of(a)
    axis = util.canonicalize_axis(axis, nd)
    if not -nd <= start <= nd:
        raise ValueError(f"start={start} must satisfy {-nd} <= start <= {nd}")
    start = start + nd if start < 0 else start
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start)


def resize(a, new_shape):
    """``a`` flattened and repeated (or cut) to fill ``new_shape``, like jnp.resize.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.resize(mnp.array([1, 2, 3]), (2, 2))
        Array([[1, 2],
               [3, 1]], dtype=int32)
    """
    (a,) = util.ensure_arraylike("resize", a)
    new_shape = (new_shape,) if isinstance(new_shape, int) else tuple(new_shape)
    if builtins.any(d < 0 for d in new_shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    flat = ravel(a)
    total = int(np.prod(new_shape, dtype=np.int64))
    n = util.shape_of(flat)[0]
    if n == 0:
        return zeros(new_shape, util.dtype_of(a))
    reps = -(-total // n)
    flat = concatenate([flat] * reps) if reps > 1 else flat
    return reshape(lax.slice_in_dim(flat, 0, total), new_shape)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, like jnp.rot90.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.rot90(mnp.array([[1, 2], [3, 4]]))
        Array([[2, 4],
               [1, 3]], dtype=int32)
    """
    (m,) = util.ensure_arraylike("rot90", m)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    nd = util.ndim_of(m)
    ax1, ax2 = (util.canonicalize_axis(ax, nd) for ax in axes)
    if ax1 == ax2:
        raise ValueError("Axes must be different")
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, ax1), ax2)
    if k == 1:
        return swapaxes(flip(m, ax2), ax1, ax2)
    return flip(swapaxes(m, ax1, ax2), ax2)


def trim_zeros(filt, trim="fb", axis=None):
    """``filt`` without its leading (``"f"``) and trailing (``"b"``) zeros, like jnp.trim_zeros.

    The result's size depends on the values, so ``filt`` must be concrete.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.trim_zeros(mnp.array([0, 0, 1, 2, 0]))
        Array([1, 2], dtype=int32)
    """
    util.check_no_unsupported("trim_zeros", axis=axis)
    (filt,) = util.ensure_arraylike("trim_zeros", filt)
    if util.ndim_of(filt) != 1:
        raise ValueError("trim_zeros requires a 1-D array")
    nz = lax.ne(filt, util.cast(0, util.dtype_of(filt)))
    if isinstance(nz, core.Tracer):
        nz = nz._concretize("mnp.trim_zeros")
    nz = np.asarray(nz)
    idx = np.flatnonzero(nz)
    if idx.size == 0:
        return lax.slice_in_dim(filt, 0, 0)
    start = int(idx[0]) if "f" in trim.lower() else 0
    stop = int(idx[-1]) + 1 if "b" in trim.lower() else nz.size
    return lax.slice_in_dim(filt, start, stop)


# ---------------------------------------------------------------------------
# differences, integration


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The ``n``-th discrete difference along ``axis``, like jnp.diff.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.diff(mnp.array([1, 4, 9, 16]))
        Array([3, 5, 7], dtype=int32)
        >>> mnp.diff(mnp.array([1, 4, 9, 16]), n=2)
        Array([2, 2], dtype=int32)
    """
    (arr,) = util.ensure_arraylike("diff", a)
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if n == 0:
        return arr
    nd = util.ndim_of(arr)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = util.canonicalize_axis(axis, nd)
    parts = []
    for extra in (prepend, append):
        if extra is None:
            parts.append(None)
            continue
        (e,) = util.ensure_arraylike("diff", extra)
        if util.ndim_of(e) == 0:
            shape = list(util.shape_of(arr))
            shape[axis] = 1
            e = util.broadcast_to_shape(e, tuple(shape))
        parts.append(e)
    if parts[0] is not None or parts[1] is not None:
        arr = concatenate([p for p in (parts[0], arr, parts[1]) if p is not None], axis)
    for _ in builtins.range(n):
        m = util.shape_of(arr)[axis]
        hi = lax.slice_in_dim(arr, 1, m, axis=axis)
        lo = lax.slice_in_dim(arr, 0, builtins.max(m - 1, 0), axis=axis)
        arr = lax.ne(hi, lo) if util.dtype_of(arr) == np.bool_ else subtract(hi, lo)
    return arr


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences of the flattened array, with optional values around them, like jnp.ediff1d.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.ediff1d(mnp.array([1, 2, 4]), to_begin=mnp.array([0]))
        Array([0, 1, 2], dtype=int32)
    """
    (ary,) = util.ensure_arraylike("ediff1d", ary)
    result = diff(ravel(ary))
    parts = []
    if to_begin is not None:
        (b,) = util.ensure_arraylike("ediff1d", to_begin)
        parts.append(util.cast(ravel(b), util.dtype_of(result)))
    parts.append(result)
    if to_end is not None:
        (e,) = util.ensure_arraylike("ediff1d", to_end)
        parts.append(util.cast(ravel(e), util.dtype_of(result)))
    return concatenate(parts) if len(parts) > 1 else result


def gradient(f, *varargs, axis=None, edge_order=None):
    """Central differences inside, one-sided at the edges, like jnp.gradient.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.gradient(mnp.array([1.0, 2.0, 4.0, 7.0]))
        Array([1. , 1.5, 2.5, 3. ], dtype=float32)
    """
    if edge_order is not None and edge_order != 1:
        raise NotImplementedError("mnp.gradient supports edge_order=1 only")
    (f,) = util.promote_args_inexact("gradient", f)
    nd = util.ndim_of(f)
    axes = util.canonicalize_axes(axis, nd)
    if not varargs:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1:
        spacings = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacings = list(varargs)
    else:
        raise TypeError("Invalid number of spacing arguments")
    outs = []
    for ax, h in zip(axes, spacings, strict=True):
        if util.ndim_of(util.lift(h)) != 0:
            raise NotImplementedError("mnp.gradient supports scalar spacings only")
        n = util.shape_of(f)[ax]
        if n < 2:
            raise ValueError("Shape of array too small to calculate a numerical gradient")
        h = util.cast(util.lift(h), util.dtype_of(f))

        def sl(a, b, ax=ax):
            return lax.slice_in_dim(f, a, b, axis=ax)

        inner = lax.div(
            subtract(sl(2, n), sl(0, n - 2)), lax.mul(h, util.cast(2, util.dtype_of(f)))
        )
        first = lax.div(subtract(sl(1, 2), sl(0, 1)), h)
        last = lax.div(subtract(sl(n - 1, n), sl(n - 2, n - 1)), h)
        outs.append(concatenate([first, inner, last], ax))
    return outs[0] if len(outs) == 1 else outs


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of ``y`` by the trapezoidal rule along ``axis``, like jnp.trapezoid.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.trapezoid(mnp.array([1.0, 2.0, 3.0]))
        Array(4., dtype=float32)
    """
    if x is None:
        (y,) = util.promote_args_inexact("trapezoid", y)
        y = moveaxis(y, axis, -1)
        dx_arr = util.cast(util.lift(dx), util.dtype_of(y), util.aval(util.lift(dx)).weak_type)
    else:
        y, x = util.promote_args_inexact("trapezoid", y, x)
        y = moveaxis(y, axis, -1)
        if util.ndim_of(x) == 1:
            dx_arr = diff(x)
        else:
            dx_arr = moveaxis(diff(x, axis=axis), axis, -1)
    n = util.shape_of(y)[-1]
    pair = lax.add(
        lax.slice_in_dim(y, 1, n, axis=-1), lax.slice_in_dim(y, 0, builtins.max(n - 1, 0), axis=-1)
    )
    return lax.mul(util.cast(0.5, util.dtype_of(y)), rsum(multiply(dx_arr, pair), axis=-1))


def unwrap(p, discont=None, axis=-1, period=2 * np.pi):
    """``p`` with jumps larger than ``discont`` reduced by multiples of ``period``, like jnp.unwrap.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.unwrap(mnp.array([0.0, 3.0, 6.5]))
        Array([0.      , 3.      , 0.216815], dtype=float32)
    """
    (p,) = util.promote_args_inexact("unwrap", p)
    dt = util.dtype_of(p)
    period = util.cast(util.lift(period), dt)
    half = lax.div(period, util.cast(2, dt))
    discont = half if discont is None else util.cast(util.lift(discont), dt)
    axis = util.canonicalize_axis(axis, util.ndim_of(p))
    dd = diff(p, axis=axis)
    # (dd + half) mod period - half, with -half mapped to half where dd > 0.
    shifted = lax.add(dd, half)
    r = lax.rem(shifted, period)
    r = util.where(lax.lt(r, util.cast(0, dt)), lax.add(r, period), r)
    ddmod = lax.sub(r, half)
    ddmod = util.where(
        logical_and(lax.eq(ddmod, lax.neg(half)), lax.gt(dd, util.cast(0, dt))), half, ddmod
    )
    correction = lax.sub(ddmod, dd)
    correction = util.where(lax.lt(lax.abs(dd), discont), util.cast(0, dt), correction)
    n = util.shape_of(p)[axis]
    head = lax.slice_in_dim(p, 0, 1, axis=axis)
    tail = lax.add(lax.slice_in_dim(p, 1, n, axis=axis), lax.cumsum(correction, axis))
    return concatenate([head, tail], axis)


# ---------------------------------------------------------------------------
# products


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of (arrays of) 2- or 3-vectors, like jnp.cross.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.cross(mnp.array([1.0, 0.0, 0.0]), mnp.array([0.0, 1.0, 0.0]))
        Array([0., 0., 1.], dtype=float32)
    """
    a, b = util.promote_dtypes(*util.ensure_arraylike("cross", a, b))
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    na, nb = util.shape_of(a)[-1], util.shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("Dimension must be either 2 or 3 for cross product")

    def comp(x, i, n):
        if i < n:
            return lax.index_in_dim(x, i, util.ndim_of(x) - 1, keepdims=False)
        return None

    a0, a1, a2 = (comp(a, i, na) for i in builtins.range(3))
    b0, b1, b2 = (comp(b, i, nb) for i in builtins.range(3))
    if na == 2 and nb == 2:
        return subtract(multiply(a0, b1), multiply(a1, b0))

    def mul(x, y):
        return None if x is None or y is None else multiply(x, y)

    def sub(x, y):
        if x is None and y is None:
            return util.cast(0, util.dtype_of(a))
        if y is None:
            return x
        if x is None:
            return lax.neg(y)
        return subtract(x, y)

    c = [
        sub(mul(a1, b2), mul(a2, b1)),
        sub(mul(a2, b0), mul(a0, b2)),
        sub(mul(a0, b1), mul(a1, b0)),
    ]
    c = broadcast_arrays(*c)
    out = concatenate([expand_dims(ci, -1) for ci in c], -1)
    return moveaxis(out, -1, axisc)


def kron(a, b):
    """The Kronecker product, like jnp.kron.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.kron(mnp.array([1, 2]), mnp.array([1, 10]))
        Array([ 1, 10,  2, 20], dtype=int32)
    """
    a, b = util.promote_dtypes(*util.ensure_arraylike("kron", a, b))
    nd = builtins.max(util.ndim_of(a), util.ndim_of(b))
    a = reshape(a, (1,) * (nd - util.ndim_of(a)) + util.shape_of(a))
    b = reshape(b, (1,) * (nd - util.ndim_of(b)) + util.shape_of(b))
    sa, sb = util.shape_of(a), util.shape_of(b)
    a_ex = reshape(a, tuple(d for s in sa for d in (s, 1)))
    b_ex = reshape(b, tuple(d for s in sb for d in (1, s)))
    return reshape(multiply(a_ex, b_ex), tuple(x * y for x, y in zip(sa, sb, strict=True)))


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """Dot products of vectors along ``axis`` (the first conjugated), like jnp.vecdot.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.vecdot(mnp.array([[1.0, 2.0], [3.0, 4.0]]), mnp.array([1.0, 1.0]))
        Array([3., 7.], dtype=float32)
    """
    util.check_no_unsupported("vecdot", precision=precision)
    x1, x2 = util.promote_args("vecdot", x1, x2)
    x1, x2 = broadcast_arrays(x1, x2)
    x1, x2 = moveaxis(x1, axis, -1), moveaxis(x2, axis, -1)
    out = matmul(
        expand_dims(conj(x1), -2),
        expand_dims(x2, -1),
        preferred_element_type=preferred_element_type,
    )
    return reshape(out, util.shape_of(out)[:-2])


def matvec(x1, x2, /):
    """Batched matrix-vector products, like jnp.matvec.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.matvec(mnp.array([[1.0, 2.0], [3.0, 4.0]]), mnp.array([1.0, 1.0]))
        Array([3., 7.], dtype=float32)
    """
    x1, x2 = util.ensure_arraylike("matvec", x1, x2)
    out = matmul(x1, expand_dims(x2, -1))
    return reshape(out, util.shape_of(out)[:-1])


def vecmat(x1, x2, /):
    """Batched vector-matrix products (the vector conjugated), like jnp.vecmat.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.vecmat(mnp.array([1.0, 1.0]), mnp.array([[1.0, 2.0], [3.0, 4.0]]))
        Array([4., 6.], dtype=float32)
    """
    x1, x2 = util.ensure_arraylike("vecmat", x1, x2)
    out = matmul(expand_dims(conj(x1), -2), x2)
    shape = util.shape_of(out)
    return reshape(out, shape[:-2] + shape[-1:])


def vander(x, N=None, increasing=False):  # noqa: N803
    """The Vandermonde matrix of powers of ``x``, like jnp.vander.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.vander(mnp.array([1, 2, 3]), 3)
        Array([[1, 1, 1],
               [4, 2, 1],
               [9, 3, 1]], dtype=int32)
    """
    (x,) = util.ensure_arraylike("vander", x)
    if util.ndim_of(x) != 1:
        raise ValueError("x must be a one-dimensional array")
    n = util.shape_of(x)[0] if N is None else operator.index(N)
    if n < 0:
        raise ValueError("N must be nonnegative")
    powers = iota(_dtypes.default_int(), (n,), 0)
    if not increasing:
        powers = lax.rev(powers, (0,))
    return power(expand_dims(x, -1), powers)


def _cov_prepare(m, y, rowvar):
    (m,) = util.ensure_arraylike("cov", m)
    if util.ndim_of(m) > 2:
        raise ValueError("m has more than 2 dimensions")
    x = reshape(m, (1, -1)) if util.ndim_of(m) < 2 else m
    if not rowvar and util.shape_of(x)[0] != 1:
        x = transpose(x)
    if y is not None:
        (y,) = util.ensure_arraylike("cov", y)
        yy = reshape(y, (1, -1)) if util.ndim_of(y) < 2 else y
        if not rowvar and util.shape_of(yy)[0] != 1:
            yy = transpose(yy)
        x = concatenate([x, yy], 0)
    return x


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, dtype=None):
    """The covariance matrix of the rows (variables) of ``m``, like jnp.cov.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.cov(mnp.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
        Array([[ 1., -1.],
               [-1.,  1.]], dtype=float32)
    """
    x = _cov_prepare(m, y, rowvar)
    dt = (
        _dtypes.to_inexact_dtype(util.dtype_of(x)) if dtype is None else _dtypes.canonicalize(dtype)
    )
    x = util.cast(x, dt)
    if util.shape_of(x)[0] == 0:
        return reshape(zeros((0, 0), dt), (0, 0))
    if ddof is None:
        ddof = 0 if bias else 1
    n = util.shape_of(x)[1]
    w = None
    if fweights is not None:
        (fw,) = util.ensure_arraylike("cov", fweights)
        w = util.cast(fw, dt)
    if aweights is not None:
        (aw,) = util.ensure_arraylike("cov", aweights)
        aw = util.cast(aw, dt)
        w = aw if w is None else multiply(w, aw)
    if w is None:
        avg = mean(x, axis=1)
        w_sum = np.asarray(n, dt)
        fact = lax.sub(w_sum, util.cast(ddof, dt))
    else:
        w_sum = rsum(w)
        avg = lax.div(rsum(multiply(x, w), axis=1), w_sum)
        if aweights is None:
            fact = lax.sub(w_sum, util.cast(ddof, dt))
        else:
            fact = lax.sub(
                w_sum, lax.div(lax.mul(util.cast(ddof, dt), rsum(multiply(w, aw))), w_sum)
            )
    fact = lax.max(fact, util.cast(0, dt))
    xc = subtract(x, expand_dims(avg, 1))
    xw = xc if w is None else multiply(xc, w)
    c = matmul(xw, conj(transpose(xc)))
    c = lax.div(c, fact)
    return reshape(c, ()) if util.shape_of(c) == (1, 1) else c


def corrcoef(x, y=None, rowvar=True, dtype=None):
    """Pearson correlation coefficients of the rows of ``x``, like jnp.corrcoef.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.corrcoef(mnp.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.5]]))
        Array([[ 1.        , -0.9819805 ],
               [-0.9819805 ,  0.99999994]], dtype=float32)
    """
    c = cov(x, y, rowvar, dtype=dtype)
    if util.ndim_of(c) == 0:
        return lax.div(c, c)
    d = diag(c)
    std = lax.sqrt(d)
    c = lax.div(c, expand_dims(std, 1))
    c = lax.div(c, expand_dims(std, 0))
    one = util.cast(1, util.dtype_of(c))
    return lax.clamp(lax.neg(one), c, one)


# ---------------------------------------------------------------------------
# creation


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``, like jnp.logspace.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.logspace(0.0, 2.0, 3)
        Array([  1.,  10., 100.], dtype=float32)
    """
    if dtype is None:
        dtype = _dtypes.to_inexact_dtype(_dtypes.result_type(start, stop))
    dtype = _dtypes.canonicalize(dtype)
    comp = _dtypes.to_inexact_dtype(dtype)
    lin = linspace(start, stop, num, endpoint=endpoint, dtype=comp, axis=axis)
    out = power(util.cast(util.lift(base), comp), lin)
    return util.cast(out, dtype)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` samples spaced evenly on a log scale from ``start`` to ``stop``, like jnp.geomspace.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.round(mnp.geomspace(1.0, 1000.0, 4), 2)
        Array([   1.,   10.,  100., 1000.], dtype=float32)
    """
    if dtype is None:
        dtype = _dtypes.to_inexact_dtype(_dtypes.result_type(start, stop))
    dtype = _dtypes.canonicalize(dtype)
    comp = _dtypes.to_inexact_dtype(dtype)
    start, stop = util.cast(util.lift(start), comp), util.cast(util.lift(stop), comp)
    sign = lax.sign(start)
    ln10 = np.log(10.0)
    ls = lax.div(lax.log(lax.abs(start)), util.cast(ln10, comp))
    le = lax.div(lax.log(lax.abs(stop)), util.cast(ln10, comp))
    out = logspace(ls, le, num, endpoint=endpoint, base=10.0, dtype=comp, axis=axis)
    if util.ndim_of(sign):
        sign = expand_dims(sign, axis)
    out = multiply(sign, out)
    if num > 0:
        out = _IndexUpdateHelper(out)[(slice(None),) * (axis % util.ndim_of(out)) + (0,)].set(start)
        if endpoint and num > 1:
            out = _IndexUpdateHelper(out)[(slice(None),) * (axis % util.ndim_of(out)) + (-1,)].set(
                stop
            )
    return util.cast(out, dtype)


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """``function`` called with one index array per dimension of ``shape``, like jnp.fromfunction.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.fromfunction(lambda i, j: i + j, (2, 3), dtype=int)
        Array([[0, 1, 2],
               [1, 2, 3]], dtype=int32)
    """
    shape = tuple(operator.index(s) for s in shape)
    dt = _dtypes.canonicalize(dtype)
    args = [iota(dt, shape, d) for d in builtins.range(len(shape))]
    return function(*args, **kwargs)


# ---------------------------------------------------------------------------
# selection


def select(condlist, choicelist, default=0):
    """The first choice whose condition holds, elementwise (else ``default``), like jnp.select.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> x = mnp.arange(5)
        >>> mnp.select([x < 2, x > 3], [x, x * 10], default=-1)
        Array([ 0,  1, -1, -1, 40], dtype=int32)
    """
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"condlist must have length equal to choicelist ({len(condlist)} vs {len(choicelist)})"
        )
    if not condlist:
        raise ValueError("condlist must be non-empty")
    conds = util.ensure_arraylike("select", *condlist)
    choices = util.ensure_arraylike("select", default, *choicelist)
    for c in conds:
        if util.dtype_of(c) != np.bool_:
            raise ValueError("condlist must be boolean arrays")
    out = choices[0]
    for c, v in zip(conds[::-1], choices[1:][::-1], strict=True):
        out = util.where(c, v, out)
    return out


def piecewise(x, condlist, funclist, *args, **kw):
    """``funclist[i](x)`` (or a constant) where ``condlist[i]`` holds, like jnp.piecewise.

    Every function is evaluated on all of ``x`` (as JAX's switch over indices does).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> x = mnp.array([-2.0, 0.5, 3.0])
        >>> mnp.piecewise(x, [x < 0, x >= 0], [lambda v: -v, lambda v: v * 2])
        Array([2., 1., 6.], dtype=float32)
    """
    (x,) = util.ensure_arraylike("piecewise", x)
    if util.is_arraylike(condlist) and util.ndim_of(util.lift(condlist)) <= util.ndim_of(x):
        condlist = [condlist]
    conds = list(util.ensure_arraylike("piecewise", *condlist))
    nc, nf = len(conds), len(funclist)
    if nf == nc + 1:
        funclist = list(funclist)
        otherwise = funclist.pop()
    elif nf == nc:
        otherwise = 0
        funclist = list(funclist)
    else:
        raise ValueError(f"with {nc} condition(s), either {nc} or {nc + 1} functions are expected")
    dt = util.dtype_of(x)

    def value(f):
        v = f(x, *args, **kw) if callable(f) else f
        return util.broadcast_to_shape(util.cast(util.lift(v), dt), util.shape_of(x))

    out = value(otherwise)
    for c, f in zip(conds, funclist, strict=True):
        out = util.where(c, value(f), out)
    return out


def choose(a, choices, out=None, mode="raise"):
    """``choices[a[i]][i]`` elementwise (``mode`` "clip", "wrap" or "raise"), like jnp.choose.

    Indices are not checked under ``mode="raise"`` (as in JAX, out-of-range ones are clipped).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.choose(mnp.array([0, 1, 0]), [mnp.array([1, 2, 3]), mnp.array([10, 20, 30])])
        Array([ 1, 20,  3], dtype=int32)
    """
    util.check_no_unsupported("choose", out=out)
    (a,) = util.ensure_arraylike("choose", a)
    if not _dtypes.is_int(util.dtype_of(a)):
        raise ValueError("`a` array must be integer typed")
    n = len(choices)
    if mode == "wrap":
        a = lax.rem(
            lax.add(lax.rem(a, util.cast(n, util.dtype_of(a))), util.cast(n, util.dtype_of(a))),
            util.cast(n, util.dtype_of(a)),
        )
    elif mode in ("clip", "raise"):
        a = lax.clamp(util.cast(0, util.dtype_of(a)), a, util.cast(n - 1, util.dtype_of(a)))
    else:
        raise ValueError(f"mode={mode!r} not understood. Must be 'raise', 'wrap', or 'clip'")
    chs = util.promote_dtypes(*util.ensure_arraylike("choose", *choices))
    a, *chs = broadcast_arrays(a, *chs)
    out_ = chs[0]
    for i in builtins.range(1, n):
        out_ = util.where(lax.eq(a, util.cast(i, util.dtype_of(a))), chs[i], out_)
    return out_


def place(arr, mask, vals, *, inplace=True):
    """``arr`` with the masked positions filled from ``vals`` in order (cycled), like jnp.place.

    JAX requires ``inplace=False``. ``mask`` must be concrete.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.place(mnp.array([1, 2, 3, 4]), mnp.array([True, False, True, False]),
        ...           mnp.array([9, 8]), inplace=False)
        Array([9, 2, 8, 4], dtype=int32)
    """
    if inplace:
        raise ValueError("mnp.place cannot modify an array in place: pass inplace=False")
    arr, mask, vals = util.ensure_arraylike("place", arr, mask, vals)
    flat_mask = ravel(mask)
    if util.dtype_of(flat_mask) != np.bool_:
        flat_mask = lax.ne(flat_mask, util.cast(0, util.dtype_of(flat_mask)))
    vals = ravel(vals)
    nv = util.shape_of(vals)[0]
    idt = _dtypes.default_int()
    pos = lax.sub(lax.cumsum(lax.convert_element_type(flat_mask, idt), 0), np.asarray(1, idt))
    if nv == 0:
        return arr
    pos = lax.rem(lax.max(pos, np.asarray(0, idt)), np.asarray(nv, idt))
    new = take(vals, pos)
    flat = ravel(arr)
    return reshape(util.where(flat_mask, new, flat), util.shape_of(arr))


def put(a, ind, v, mode=None, *, inplace=True):
    """``a`` with ``a.flat[ind] = v`` (``v`` cycled), like jnp.put (requires ``inplace=False``).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.put(mnp.zeros(4), mnp.array([0, 2]), mnp.array([5.0, 6.0]), inplace=False)
        Array([5., 0., 6., 0.], dtype=float32)
    """
    if inplace:
        raise ValueError("mnp.put cannot modify an array in place: pass inplace=False")
    a, ind, v = util.ensure_arraylike("put", a, ind, v)
    ind, v = ravel(ind), ravel(v)
    ni, nv = util.shape_of(ind)[0], util.shape_of(v)[0]
    if ni == 0 or nv == 0:
        return a
    if nv < ni:
        v = concatenate([v] * (-(-ni // nv)))
    v = lax.slice_in_dim(v, 0, ni)
    size = util.aval(a).size
    if mode == "wrap":
        ind = lax.rem(
            lax.add(
                lax.rem(ind, util.cast(size, util.dtype_of(ind))),
                util.cast(size, util.dtype_of(ind)),
            ),
            util.cast(size, util.dtype_of(ind)),
        )
    elif mode == "clip":
        ind = lax.clamp(
            util.cast(0, util.dtype_of(ind)), ind, util.cast(size - 1, util.dtype_of(ind))
        )
    elif mode not in (None, "raise"):
        raise ValueError(f"mode should be one of 'wrap' or 'clip'; got {mode=}")
    flat = _IndexUpdateHelper(ravel(a))[ind].set(v)
    return reshape(flat, util.shape_of(a))


def put_along_axis(arr, indices, values, axis, inplace=True, *, mode=None):
    """``arr`` with ``values`` put at ``indices`` along ``axis``, like jnp.put_along_axis.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.put_along_axis(mnp.zeros((2, 2)), mnp.array([[1], [0]]), 5.0, axis=1, inplace=False)
        Array([[0., 5.],
               [5., 0.]], dtype=float32)
    """
    if inplace:
        raise ValueError("mnp.put_along_axis cannot modify an array in place: pass inplace=False")
    arr, indices, values = util.ensure_arraylike("put_along_axis", arr, indices, values)
    if axis is None:
        arr_flat = ravel(arr)
        return reshape(
            put_along_axis(arr_flat, ravel(indices), ravel(values), 0, False, mode=mode),
            util.shape_of(arr),
        )
    nd = util.ndim_of(arr)
    axis = util.canonicalize_axis(axis, nd)
    idx_shape = util.shape_of(indices)
    full_shape = tuple(
        idx_shape[d]
        if d == axis
        else builtins.max(idx_shape[d], util.shape_of(arr)[d])
        if idx_shape[d] == 1
        else idx_shape[d]
        for d in builtins.range(nd)
    )
    index = []
    for d in builtins.range(nd):
        if d == axis:
            index.append(util.broadcast_to_shape(indices, full_shape))
        else:
            index.append(iota(util.dtype_of(indices), full_shape, d))
    values = util.broadcast_to_shape(util.cast(values, util.dtype_of(arr)), full_shape)
    return _IndexUpdateHelper(arr)[tuple(index)].set(values, mode=mode)


# ---------------------------------------------------------------------------
# functional


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``func1d`` applied to each 1-D slice along ``axis`` (with vmap), like jnp.apply_along_axis.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.apply_along_axis(lambda v: v[0] + v[-1], 1, mnp.array([[1, 2, 3], [4, 5, 6]]))
        Array([ 4, 10], dtype=int32)
    """
    (arr,) = util.ensure_arraylike("apply_along_axis", arr)
    nd = util.ndim_of(arr)
    axis = util.canonicalize_axis(axis, nd)

    def fn(x):
        return func1d(x, *args, **kwargs)

    for i in builtins.range(1, nd - axis):
        fn = vmap(fn, in_axes=i, out_axes=-1)
    for _ in builtins.range(axis):
        fn = vmap(fn, in_axes=0, out_axes=0)
    return fn(arr)


def apply_over_axes(func, a, axes):
    """``func(a, axis)`` applied for each axis in turn (keeping the rank), like jnp.apply_over_axes.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.apply_over_axes(mnp.sum, mnp.ones((2, 3)), [0, 1])
        Array([[6.]], dtype=float32)
    """
    (a,) = util.ensure_arraylike("apply_over_axes", a)
    for axis in axes:
        b = func(a, axis)
        if util.ndim_of(b) == util.ndim_of(a):
            a = b
        elif util.ndim_of(b) == util.ndim_of(a) - 1:
            a = expand_dims(b, axis)
        else:
            raise ValueError("function is not returning an array of the correct shape")
    return a


class vectorize:  # noqa: N801
    """``pyfunc`` mapped over the leading broadcast dimensions with vmap, like jnp.vectorize.

    ``excluded`` names positional indices or keywords passed through unmapped;
    ``signature`` (core dimensions such as ``"(n),(n)->()"``) keeps those
    trailing dimensions in each call.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> f = mnp.vectorize(lambda x, y: x * 2 + y)
        >>> f(mnp.array([1, 2]), 10)
        Array([12, 14], dtype=int32)
    """

    def __init__(self, pyfunc, *, excluded=frozenset(), signature=None):
        self.pyfunc, self.excluded, self.signature = pyfunc, frozenset(excluded), signature
        self.__doc__ = getattr(pyfunc, "__doc__", None) or vectorize.__doc__

    @public_function
    def __call__(self, *args, **kwargs):
        excluded = self.excluded
        keep_kw = {k: v for k, v in kwargs.items() if k in excluded}
        map_kw = {k: v for k, v in kwargs.items() if k not in excluded}
        names = list(map_kw)
        mapped_pos = [i for i in builtins.range(len(args)) if i not in excluded]
        arrays = [asarray(args[i]) for i in mapped_pos] + [asarray(map_kw[k]) for k in names]
        core_dims = _parse_signature(self.signature, len(arrays))

        def call(*xs):
            full = list(args)
            for i, x in zip(mapped_pos, xs[: len(mapped_pos)], strict=True):
                full[i] = x
            kw = dict(keep_kw)
            kw.update(zip(names, xs[len(mapped_pos) :], strict=True))
            return self.pyfunc(*full, **kw)

        batch_shapes = [
            util.shape_of(x)[: util.ndim_of(x) - nc]
            for x, nc in zip(arrays, core_dims, strict=True)
        ]
        bshape = util.broadcast_shapes(*batch_shapes) if batch_shapes else ()
        arrays = [
            util.broadcast_to_shape(x, bshape + util.shape_of(x)[util.ndim_of(x) - nc :])
            for x, nc in zip(arrays, core_dims, strict=True)
        ]
        fn = call
        for _ in builtins.range(len(bshape)):
            fn = vmap(fn)
        return fn(*arrays)


def _parse_signature(signature, n):
    if signature is None:
        return [0] * n
    inputs = signature.split("->")[0]
    groups = [g.strip() for g in inputs.replace(" ", "").strip("()").split("),(")]
    dims = [0 if not g else len(g.split(",")) for g in groups]
    if len(dims) != n:
        raise TypeError(f"wrong number of positional arguments: expected {len(dims)}, got {n}")
    return dims


# ---------------------------------------------------------------------------
# comparisons and predicates


def array_equal(a1, a2, equal_nan=False):
    """True if the arrays have the same shape and elements, like jnp.array_equal.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.array_equal(mnp.array([1, 2]), mnp.array([1, 2]))
        Array(True, dtype=bool)
    """
    a1, a2 = util.ensure_arraylike("array_equal", a1, a2)
    if util.shape_of(a1) != util.shape_of(a2):
        return asarray(False)
    a1, a2 = util.promote_dtypes(a1, a2)
    eq = lax.eq(a1, a2)
    if equal_nan and _dtypes.is_inexact(util.dtype_of(a1)):
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return rall(eq)


def array_equiv(a1, a2):
    """True if the arrays broadcast to each other with equal elements, like jnp.array_equiv.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.array_equiv(mnp.array([1, 2]), mnp.array([[1, 2], [1, 2]]))
        Array(True, dtype=bool)
    """
    a1, a2 = util.ensure_arraylike("array_equiv", a1, a2)
    try:
        util.broadcast_shapes(util.shape_of(a1), util.shape_of(a2))
    except ValueError:
        return asarray(False)
    a1, a2 = util.promote_args("array_equiv", a1, a2)
    return rall(lax.eq(*util.broadcast_arrays(a1, a2)))


def isscalar(element):
    """True for Python and NumPy scalars and 0-d arrays, like jnp.isscalar.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.isscalar(1.0), mnp.isscalar(mnp.array(1.0)), mnp.isscalar(mnp.ones(2))
        (True, True, False)
    """
    if np.isscalar(element):
        return True
    if (
        isinstance(element, (np.ndarray, core.Tracer))
        or hasattr(element, "__jax_array__")
        or util.is_arraylike(element)
    ):
        return util.is_arraylike(element) and util.ndim_of(util.lift(element)) == 0
    return False


def iterable(y):
    """True if ``iter(y)`` works, like jnp.iterable.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.iterable([1, 2]), mnp.iterable(2)
        (True, False)
    """
    try:
        iter(y)
    except TypeError:
        return False
    return True


def isdtype(dtype, kind):
    """Whether ``dtype`` is of ``kind`` (array API kinds such as ``"integral"``), like jnp.isdtype.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.isdtype(mnp.float32, "real floating"), mnp.isdtype(mnp.int8, "bool")
        (True, False)
    """
    return jnp.isdtype(dtype, kind)


def isrealobj(x):
    """True unless ``x`` has a complex dtype, like jnp.isrealobj.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.isrealobj(mnp.ones(2))
        True
    """
    return not iscomplexobj(x)


def iscomplexobj(x):
    """True if ``x`` has a complex dtype, like jnp.iscomplexobj.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.iscomplexobj(mnp.ones(2))
        False
    """
    if x is None:
        return False
    try:
        dt = util.dtype_of(util.lift(x)) if util.is_arraylike(x) else np.asarray(x).dtype
    except (TypeError, ValueError):
        return False
    return _dtypes.is_complex(dt)


def isreal(x):
    """True where the imaginary part is zero (everywhere for reals), like jnp.isreal.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.isreal(mnp.array([1.0, 2.0]))
        Array([ True,  True], dtype=bool)
    """
    (x,) = util.ensure_arraylike("isreal", x)
    i = imag(x)
    return lax.eq(i, _zero_like_scalar(i))


def _zero_like_scalar(x):
    """A scalar 0 of ``x``'s dtype, weak when ``x`` is (so the result's weak type is JAX's)."""
    a = util.aval(x)
    return core.weak_scalar(0, a.dtype) if a.weak_type else util.const(x, 0)


def iscomplex(x):
    """True where the imaginary part is nonzero (nowhere for reals), like jnp.iscomplex.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.iscomplex(mnp.array([1.0, 2.0]))
        Array([False, False], dtype=bool)
    """
    (x,) = util.ensure_arraylike("iscomplex", x)
    i = imag(x)
    return lax.ne(i, _zero_like_scalar(i))
