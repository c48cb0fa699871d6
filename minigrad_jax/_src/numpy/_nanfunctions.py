"""NaN-ignoring reductions, order statistics (median, quantile) and partition.

Everything here composes the existing reductions, ``sort`` and indexing: a
NaN-ignoring reduction masks the NaNs out with ``where=``; a quantile sorts
along the reduced axes and gathers the neighbouring order statistics.
"""

from __future__ import annotations

import operator

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _reductions as red
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import iota
from minigrad_jax._src.numpy._indexing import take_along_axis
from minigrad_jax._src.numpy._shape import moveaxis, reshape
from minigrad_jax._src.numpy._sorting import argsort, sort
from minigrad_jax._src.numpy._ufuncs import isnan, logical_and, logical_not

# ---------------------------------------------------------------------------
# NaN-ignoring reductions


def _not_nan(name, a, where):
    (a,) = util.ensure_arraylike(name, a)
    keep = logical_not(isnan(a))
    if where is not None:
        (where,) = util.ensure_arraylike(name, where)
        keep = logical_and(keep, where)
    return a, keep


def _is_inexact(a):
    return _dtypes.is_inexact(util.dtype_of(a))


def _nan_masked(name, reducer, a, where, *args, **kwargs):
    """``reducer`` over the non-NaN entries of ``a`` (and ``where``): NaNs are masked out."""
    a, keep = _not_nan(name, a, where)
    return reducer(a, *args, where=keep if _is_inexact(a) else where, **kwargs)


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Sum over ``axis`` treating NaNs as zero, like jnp.nansum.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nansum(mnp.array([1.0, mnp.nan, 3.0]))
        Array(4., dtype=float32)
    """
    return _nan_masked("nansum", red.sum, a, where, axis, dtype, out, keepdims, initial)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Product over ``axis`` treating NaNs as one, like jnp.nanprod.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanprod(mnp.array([2.0, mnp.nan, 3.0]))
        Array(6., dtype=float32)
    """
    return _nan_masked("nanprod", red.prod, a, where, axis, dtype, out, keepdims, initial)


def _nan_extremum(name, reducer, fill, a, axis, out, keepdims, initial, where):
    a, keep = _not_nan(name, a, where)
    if not _is_inexact(a):
        return reducer(a, axis, out, keepdims, initial, where)
    masked = util.where(keep, a, util.const(a, fill))
    result = reducer(masked, axis, out, keepdims, initial, where)
    some = red.any(keep, axis, keepdims=keepdims)
    if initial is not None:
        return result
    return util.where(some, result, util.const(result, np.nan))


def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """Maximum over ``axis`` ignoring NaNs (NaN where all are NaN), like jnp.nanmax.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanmax(mnp.array([[1.0, mnp.nan], [mnp.nan, mnp.nan]]), axis=1)
        Array([ 1., nan], dtype=float32)
    """
    return _nan_extremum("nanmax", red.max, -np.inf, a, axis, out, keepdims, initial, where)


def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """Minimum over ``axis`` ignoring NaNs (NaN where all are NaN), like jnp.nanmin.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanmin(mnp.array([3.0, mnp.nan, 2.0]))
        Array(2., dtype=float32)
    """
    return _nan_extremum("nanmin", red.min, np.inf, a, axis, out, keepdims, initial, where)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """Mean over ``axis`` of the non-NaN values, like jnp.nanmean.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanmean(mnp.array([1.0, mnp.nan, 3.0]))
        Array(2., dtype=float32)
    """
    return _nan_masked("nanmean", red.mean, a, where, axis, dtype, out, keepdims)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    """Variance over ``axis`` of the non-NaN values, like jnp.nanvar.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanvar(mnp.array([1.0, mnp.nan, 3.0]))
        Array(1., dtype=float32)
    """
    util.check_no_unsupported("nanvar", mean=mean)
    return _nan_masked("nanvar", red.var, a, where, axis, dtype, out, ddof, keepdims)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    """Standard deviation over ``axis`` of the non-NaN values, like jnp.nanstd.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanstd(mnp.array([1.0, mnp.nan, 3.0]))
        Array(1., dtype=float32)
    """
    util.check_no_unsupported("nanstd", mean=mean)
    return lax.sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where))


def _nan_arg(name, reducer, fill, a, axis, out, keepdims):
    util.check_no_unsupported(name, out=out)
    (a,) = util.ensure_arraylike(name, a)
    if not _is_inexact(a):
        return reducer(a, axis, keepdims=keepdims)
    nan = isnan(a)
    result = reducer(util.where(nan, util.const(a, fill), a), axis, keepdims=keepdims)
    return util.where(red.all(nan, axis, keepdims=keepdims), util.const(result, -1), result)


def nanargmax(a, axis=None, out=None, keepdims=None):
    """Index of the maximum ignoring NaNs (-1 where all are NaN), like jnp.nanargmax.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanargmax(mnp.array([1.0, mnp.nan, 3.0]))
        Array(2, dtype=int32)
    """
    return _nan_arg("nanargmax", red.argmax, -np.inf, a, axis, out, keepdims)


def nanargmin(a, axis=None, out=None, keepdims=None):
    """Index of the minimum ignoring NaNs (-1 where all are NaN), like jnp.nanargmin.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanargmin(mnp.array([mnp.nan, 2.0, 1.0]))
        Array(2, dtype=int32)
    """
    return _nan_arg("nanargmin", red.argmin, np.inf, a, axis, out, keepdims)


def _nan_cumulative(name, fn, fill, a, axis, dtype, out):
    util.check_no_unsupported(name, out=out)
    (a,) = util.ensure_arraylike(name, a)
    if _is_inexact(a):
        a = util.where(isnan(a), util.const(a, fill), a)
    return fn(a, axis, dtype)


def nancumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum treating NaNs as zero, like jnp.nancumsum.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nancumsum(mnp.array([1.0, mnp.nan, 3.0]))
        Array([1., 1., 4.], dtype=float32)
    """
    return _nan_cumulative("nancumsum", red.cumsum, 0, a, axis, dtype, out)


def nancumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product treating NaNs as one, like jnp.nancumprod.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nancumprod(mnp.array([2.0, mnp.nan, 3.0]))
        Array([2., 2., 6.], dtype=float32)
    """
    return _nan_cumulative("nancumprod", red.cumprod, 1, a, axis, dtype, out)


# ---------------------------------------------------------------------------
# quantiles

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, a, q, axis, method, keepdims, ignore_nan, out, overwrite_input, weights):
    util.check_no_unsupported(name, out=out, weights=weights)
    if overwrite_input not in (False, True):
        raise ValueError("overwrite_input must be a bool")
    if method not in _METHODS:
        raise ValueError(f"{name}: method must be one of {list(_METHODS)}, got {method!r}")
    util.check_arraylike(name, a, q)
    a, q = util.promote_dtypes_inexact(a, q)
    shape = util.shape_of(a)
    nd = len(shape)
    if util.ndim_of(q) > 1:
        raise ValueError(f"q must be zero- or one-dimensional, got {util.ndim_of(q)} dimensions")
    dims = util.canonicalize_axes(axis, nd)
    kept = [d for d in range(nd) if d not in dims]
    # The reduced axes become one trailing axis.
    a = lax.transpose(a, tuple(kept) + tuple(sorted(dims))) if nd else a
    n = int(np.prod([shape[d] for d in dims], dtype=np.int64))
    a = lax.reshape(a, tuple(shape[d] for d in kept) + (n,))
    keep_shape = tuple(1 if d in dims else shape[d] for d in range(nd))
    dt = util.dtype_of(a)
    nan = isnan(a)
    if ignore_nan:
        count = red.sum(logical_not(nan), axis=-1, keepdims=True, dtype=dt)
    else:
        a = util.where(red.any(nan, axis=-1, keepdims=True), util.const(a, np.nan), a)
        count = np.asarray(n, dt)
    a = sort(a, axis=-1)
    qs = q if util.ndim_of(q) else lax.reshape(q, (1,))
    nq = util.shape_of(qs)[0]
    # positions: (..., nq)
    qb = lax.broadcast_in_dim(qs, util.shape_of(a)[:-1] + (nq,), (len(util.shape_of(a)) - 1,))
    top = lax.sub(count, np.asarray(1, dt))
    pos = lax.mul(qb, top)
    zero, upper = np.asarray(0, dt), lax.max(top, np.asarray(0, dt))

    def clip(x):
        return lax.min(lax.max(x, zero), upper)

    low, high = clip(lax.floor(pos)), clip(lax.ceil(pos))
    frac = lax.sub(pos, lax.floor(pos))
    idx_dt = _dtypes.default_int()
    if method == "nearest":  # halfway rounds down, as in JAX
        near = util.where(lax.le(frac, util.const(frac, 0.5)), low, high)
        idx = lax.convert_element_type(near, idx_dt)
        result = take_along_axis(a, idx, axis=-1)
    else:
        lo = take_along_axis(a, lax.convert_element_type(low, idx_dt), axis=-1)
        hi = take_along_axis(a, lax.convert_element_type(high, idx_dt), axis=-1)
        if method == "lower":
            result = lo
        elif method == "higher":
            result = hi
        elif method == "midpoint":
            result = lax.mul(lax.add(lo, hi), np.asarray(0.5, dt))
        else:
            result = lax.add(lax.mul(lo, lax.sub(np.asarray(1, dt), frac)), lax.mul(hi, frac))
    if ignore_nan:
        result = util.where(lax.eq(count, np.asarray(0, dt)), util.const(result, np.nan), result)
    # (..., nq) -> (nq, ...) with the kept dimensions, then keepdims.
    result = moveaxis(result, -1, 0)
    if keepdims:
        result = reshape(result, (nq,) + keep_shape)
    if not util.ndim_of(q):
        result = lax.reshape(result, util.shape_of(result)[1:])
    return result


def quantile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    *,
    weights=None,
):
    """The ``q``-th quantiles (``0 <= q <= 1``) over ``axis``, like jnp.quantile.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.quantile(mnp.array([1.0, 2.0, 3.0, 4.0]), mnp.array([0.25, 0.5]))
        Array([1.75, 2.5 ], dtype=float32)
    """
    return _quantile("quantile", a, q, axis, method, keepdims, False, out, overwrite_input, weights)


def nanquantile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    *,
    weights=None,
):
    """The ``q``-th quantiles over ``axis`` ignoring NaNs, like jnp.nanquantile.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanquantile(mnp.array([1.0, mnp.nan, 3.0]), 0.5)
        Array(2., dtype=float32)
    """
    return _quantile(
        "nanquantile", a, q, axis, method, keepdims, True, out, overwrite_input, weights
    )


def _percent(name, q):
    (q,) = util.promote_dtypes_inexact(q)
    return lax.div(q, util.const(q, 100))


def percentile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    *,
    weights=None,
    out_sharding=None,
):
    """The ``q``-th percentiles (``0 <= q <= 100``) over ``axis``, like jnp.percentile.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.percentile(mnp.array([1.0, 2.0, 3.0, 4.0]), 50)
        Array(2.5, dtype=float32)
    """
    util.check_no_unsupported("percentile", out_sharding=out_sharding)
    util.check_arraylike("percentile", a, q)
    a, q = util.promote_dtypes_inexact(a, q)
    q = _percent("percentile", q)
    return quantile(a, q, axis, out, overwrite_input, method, keepdims, weights=weights)


def nanpercentile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    *,
    weights=None,
):
    """The ``q``-th percentiles over ``axis`` ignoring NaNs, like jnp.nanpercentile.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanpercentile(mnp.array([1.0, mnp.nan, 3.0, 4.0]), 50)
        Array(3., dtype=float32)
    """
    util.check_arraylike("nanpercentile", a, q)
    a, q = util.promote_dtypes_inexact(a, q)
    q = _percent("nanpercentile", q)
    return nanquantile(a, q, axis, out, overwrite_input, method, keepdims, weights=weights)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median over ``axis`` (the 0.5 quantile, NaN if any is NaN), like jnp.median.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.median(mnp.array([[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]]), axis=1)
        Array([2., 3.], dtype=float32)
    """
    return quantile(a, 0.5, axis, out, overwrite_input, "midpoint", keepdims)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median over ``axis`` ignoring NaNs, like jnp.nanmedian.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nanmedian(mnp.array([1.0, mnp.nan, 3.0, 7.0]))
        Array(3., dtype=float32)
    """
    return nanquantile(a, 0.5, axis, out, overwrite_input, "midpoint", keepdims)


# ---------------------------------------------------------------------------
# partition


def _partition_args(name, a, kth, axis):
    (a,) = util.ensure_arraylike(name, a)
    if util.ndim_of(a) == 0:
        raise TypeError(f"{name} requires an array with at least one dimension")
    axis = util.canonicalize_axis(axis, util.ndim_of(a))
    n = util.shape_of(a)[axis]
    kth = operator.index(kth)
    if not -n <= kth < n:
        raise ValueError(f"kth={kth} is out of bounds for axis of size {n}")
    return a, kth % n, axis, n


def partition(a, kth, axis=-1):
    """``a`` along ``axis`` with the ``kth`` element in sorted position, like jnp.partition.

    The smaller elements come first in ascending order and the larger ones
    after it in descending order, as JAX returns them.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.partition(mnp.array([5, 1, 4, 2, 3, 0]), 2)
        Array([0, 1, 2, 5, 4, 3], dtype=int32)
    """
    a, kth, axis, n = _partition_args("partition", a, kth, axis)
    s = sort(a, axis=axis)
    bottom = lax.slice_in_dim(s, 0, kth + 1, axis=axis)
    top = lax.rev(lax.slice_in_dim(s, kth + 1, n, axis=axis), (axis,))
    return lax.concatenate([bottom, top], axis)


def argpartition(a, kth, axis=-1):
    """Indices that partition ``a`` along ``axis`` at ``kth``, like jnp.argpartition.

    The indices of the ``kth + 1`` smallest elements come first (sorted by
    value), then the others in increasing order, as JAX returns them.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.argpartition(mnp.array([5, 1, 4, 2, 3, 0]), 2)
        Array([5, 1, 3, 0, 2, 4], dtype=int32)
    """
    a, kth, axis, n = _partition_args("argpartition", a, kth, axis)
    order = argsort(a, axis=axis)
    bottom = lax.slice_in_dim(order, 0, kth + 1, axis=axis)
    # rank of each position in sorted order: the bottom ones have rank <= kth.
    shape = util.shape_of(order)
    idx = iota(util.dtype_of(order), shape, axis)
    _, rank = lax.sort((order, idx), dimension=axis, num_keys=1)  # the inverse permutation
    is_bottom = lax.le(rank, np.asarray(kth, util.dtype_of(order)))
    rest = argsort(lax.convert_element_type(is_bottom, np.int32), axis=axis)
    rest = lax.slice_in_dim(rest, 0, n - kth - 1, axis=axis)
    return lax.concatenate([bottom, lax.convert_element_type(rest, util.dtype_of(bottom))], axis)
