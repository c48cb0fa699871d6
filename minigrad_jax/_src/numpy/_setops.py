"""Set operations, unique, nonzero, searching, counting and histograms.

Results whose size depends on the data (``unique``, ``nonzero``,
``setdiff1d``... without ``size=``) need concrete values: eagerly they are
read off the input; under a transform they raise ConcretizationError, as JAX
raises ConcretizationTypeError. With ``size=`` everything is traceable: the
kept elements are moved to the front by one stable sort on "kept first",
then the first ``size`` are taken and the rest padded with ``fill_value``.
"""

from __future__ import annotations

import builtins
import operator
from typing import NamedTuple

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import asarray, iota, linspace, zeros
from minigrad_jax._src.numpy._indexing import _getitem, _IndexUpdateHelper, take
from minigrad_jax._src.numpy._reductions import all as rall
from minigrad_jax._src.numpy._reductions import any as rany
from minigrad_jax._src.numpy._reductions import max as rmax
from minigrad_jax._src.numpy._reductions import min as rmin
from minigrad_jax._src.numpy._reductions import sum as rsum
from minigrad_jax._src.numpy._shape import concatenate, moveaxis, ravel, reshape, stack
from minigrad_jax._src.numpy._sorting import argsort
from minigrad_jax._src.numpy._ufuncs import isnan, logical_not

# ---------------------------------------------------------------------------
# helpers


def _concrete_int(x, what):
    """``int(x)`` for a concrete ``x``; ConcretizationError for an abstract tracer."""
    if isinstance(x, core.Tracer):
        return int(np.asarray(x._concretize(what)))
    return int(np.asarray(x))


def _size_arg(size, name):
    if size is None:
        return None
    size = operator.index(size)
    if size < 0:
        raise ValueError(f"mnp.{name}: size must be non-negative, got {size}")
    return size


def _front(keep, *operands):
    """Stable sort of ``operands`` (along axis 0) putting the ``keep`` rows first."""
    key = lax.convert_element_type(logical_not(keep), np.int32)
    outs = lax.sort((key, *operands), dimension=0, num_keys=1)
    return outs[1:]


def _take_front(x, size, count, fill):
    """The first ``size`` rows of ``x`` (padded), rows from ``count`` on set to ``fill``."""
    n = util.shape_of(x)[0]
    if size > n:
        pad = [(0, size - n, 0)] + [(0, 0, 0)] * (util.ndim_of(x) - 1)
        x = lax.pad(x, util.cast(0, util.dtype_of(x)), pad)
    else:
        x = lax.slice_in_dim(x, 0, size, axis=0)
    if fill is None:
        return x
    valid = lax.lt(iota(util.dtype_of(count), util.shape_of(x), 0), count)
    return util.where(valid, x, util.cast(util.lift(fill), util.dtype_of(x)))


def _count(keep, name, size):
    count = rsum(keep, dtype=_dtypes.default_int())
    if size is None:
        size = _concrete_int(count, f"mnp.{name} without size=")
    return count, size


# ---------------------------------------------------------------------------
# unique


class _UniqueAllResult(NamedTuple):
    values: object
    indices: object
    inverse_indices: object
    counts: object


class _UniqueCountsResult(NamedTuple):
    values: object
    counts: object


class _UniqueInverseResult(NamedTuple):
    values: object
    inverse_indices: object


def _unique_rows(data, equal_nan, size, fill_value, name):
    """Unique rows of the 2-D ``data`` (sorted): values, first indices, inverse, counts."""
    n, r = util.shape_of(data)
    idt = _dtypes.default_int()
    perm = iota(idt, (n,), 0)
    cols = [lax.reshape(lax.slice_in_dim(data, j, j + 1, axis=1), (n,)) for j in range(r)]
    *cols, perm = lax.sort((*cols, perm), dimension=0, num_keys=max(r, 1)) if r else (perm,)
    s = stack(cols, axis=1) if r else data
    if n:
        a, b = lax.slice_in_dim(s, 1, n, axis=0), lax.slice_in_dim(s, 0, n - 1, axis=0)
        same = lax.eq(a, b)
        if equal_nan and _dtypes.is_inexact(util.dtype_of(s)):
            same = lax.bitwise_or(same, lax.bitwise_and(isnan(a), isnan(b)))
        new = logical_not(rall(same, axis=1))
        mask = concatenate([np.ones((1,), np.bool_), new])
    else:
        mask = zeros((0,), np.bool_)
    count, size = _count(mask, name, size)
    group = lax.sub(lax.cumsum(lax.convert_element_type(mask, idt), 0), np.asarray(1, idt))
    (starts,) = _front(mask, iota(idt, (n,), 0))
    starts = _take_front(starts, size, count, None)
    starts = util.where(lax.lt(iota(idt, (size,), 0), count), starts, np.asarray(0, idt))
    if n:
        values = take(s, starts, axis=0)
        indices = take(perm, starts)
    else:
        values = zeros((size, r), util.dtype_of(data))
        indices = zeros((size,), idt)
    if fill_value is None:
        fill_value = _getitem(values, 0) if n and size else 0
    values = _take_front(values, size, count, fill_value)
    # inverse: the group of each original row.
    _, inverse = lax.sort((perm, group), dimension=0, num_keys=1)
    counts = _IndexUpdateHelper(zeros((size,), idt))[group].add(np.int32(1), mode="drop")
    return values, indices, inverse, counts


def _unique(ar, return_index, return_inverse, return_counts, axis, equal_nan, size, fill_value):
    (ar,) = util.ensure_arraylike("unique", ar)
    size = _size_arg(size, "unique")
    shape = util.shape_of(ar)
    if axis is None:
        data = lax.reshape(ar, (int(np.prod(shape, dtype=np.int64)), 1))
    else:
        axis = util.canonicalize_axis(axis, len(shape))
        moved = moveaxis(ar, axis, 0)
        data = reshape(moved, (shape[axis], -1))
    values, indices, inverse, counts = _unique_rows(data, equal_nan, size, fill_value, "unique")
    if axis is None:
        values = lax.reshape(values, util.shape_of(values)[:1])
        inverse = lax.reshape(inverse, shape)
    else:
        rest = tuple(d for i, d in enumerate(shape) if i != axis)
        values = moveaxis(reshape(values, (util.shape_of(values)[0],) + rest), 0, axis)
    return values, indices, inverse, counts


def unique(
    ar,
    return_index=False,
    return_inverse=False,
    return_counts=False,
    axis=None,
    *,
    equal_nan=True,
    size=None,
    fill_value=None,
    sorted=True,  # noqa: A002
):
    """The sorted unique elements (or slices along ``axis``), like jnp.unique.

    With ``size=`` the result has that length, padded with ``fill_value``
    (default: the smallest value); without it the input must be concrete.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.unique(mnp.array([3, 1, 3, 2, 1]))
        Array([1, 2, 3], dtype=int32)
        >>> mnp.unique(mnp.array([3, 1, 3]), size=4, fill_value=-1)
        Array([ 1,  3, -1, -1], dtype=int32)
    """
    if not sorted:
        raise NotImplementedError("mnp.unique(sorted=False) is not supported")
    values, indices, inverse, counts = _unique(
        ar, return_index, return_inverse, return_counts, axis, equal_nan, size, fill_value
    )
    extra = [
        out
        for flag, out in (
            (return_index, indices),
            (return_inverse, inverse),
            (return_counts, counts),
        )
        if flag
    ]
    return (values, *extra) if extra else values


def unique_values(x, /, *, size=None, fill_value=None):
    """The sorted unique values of ``x`` (flattened), like jnp.unique_values.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.unique_values(mnp.array([[2, 1], [2, 5]]))
        Array([1, 2, 5], dtype=int32)
    """
    return _unique(x, False, False, False, None, False, size, fill_value)[0]


def unique_counts(x, /, *, size=None, fill_value=None):
    """The unique values of ``x`` and how often each occurs, like jnp.unique_counts.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.unique_counts(mnp.array([2, 1, 2]))
        _UniqueCountsResult(values=Array([1, 2], dtype=int32), counts=Array([1, 2], dtype=int32))
    """
    values, _, _, counts = _unique(x, False, False, True, None, False, size, fill_value)
    return _UniqueCountsResult(values, counts)


def unique_inverse(x, /, *, size=None, fill_value=None):
    """The unique values of ``x`` and each element's index into them, like jnp.unique_inverse.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> r = mnp.unique_inverse(mnp.array([2, 1, 2]))
        >>> r.values, r.inverse_indices
        (Array([1, 2], dtype=int32), Array([1, 0, 1], dtype=int32))
    """
    values, _, inverse, _ = _unique(x, False, True, False, None, False, size, fill_value)
    return _UniqueInverseResult(values, inverse)


def unique_all(x, /, *, size=None, fill_value=None):
    """Unique values, first indices, inverse indices and counts, like jnp.unique_all.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> r = mnp.unique_all(mnp.array([2, 1, 2]))
        >>> r.values, r.indices, r.counts
        (Array([1, 2], dtype=int32), Array([1, 0], dtype=int32), Array([1, 2], dtype=int32))
    """
    values, indices, inverse, counts = _unique(x, True, True, True, None, False, size, fill_value)
    return _UniqueAllResult(values, indices, inverse, counts)


# ---------------------------------------------------------------------------
# set operations (1-D, flattened)


def _unique_valid(ar, name):
    flat = ravel(ar)
    n = util.shape_of(flat)[0]
    data = lax.reshape(flat, (n, 1))
    values, indices, _, counts = _unique_rows(data, True, n, 0, name)
    return lax.reshape(values, (n,)), indices, lax.gt(counts, np.int32(0))


def _compact(name, keep, size, fill_value, values, *others, default_fill="min"):
    count, size = _count(keep, name, size)
    values, *others = _front(keep, values, *others)
    out = _take_front(values, size, count, None)
    if fill_value is None:
        if default_fill == "min":
            fill_value = _getitem(out, 0) if size and util.shape_of(values)[0] else 0
        else:
            fill_value = default_fill
    out = _take_front(out, size, count, fill_value)
    return out, [_take_front(o, size, count, None) for o in others], count


def _isin_flat(x, test):
    test = ravel(test)
    if util.shape_of(test)[0] == 0:
        return util.full_like_internal(x, False, np.bool_)
    nd = util.ndim_of(x)
    test = lax.reshape(test, (1,) * nd + util.shape_of(test))
    eq = lax.eq(lax.expand_dims(x, (nd,)), test)
    return rany(eq, axis=-1)


def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    """Whether each element of ``element`` occurs in ``test_elements``, like jnp.isin.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.isin(mnp.array([1, 2, 3, 4]), mnp.array([2, 4]))
        Array([False,  True, False,  True], dtype=bool)
    """
    del assume_unique, method
    element, test_elements = util.promote_dtypes(
        *util.ensure_arraylike("isin", element, test_elements)
    )
    out = _isin_flat(element, test_elements)
    return logical_not(out) if invert else out


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """The sorted unique values in either array, like jnp.union1d.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.union1d(mnp.array([3, 1]), mnp.array([2, 1]))
        Array([1, 2, 3], dtype=int32)
    """
    ar1, ar2 = util.promote_dtypes(*util.ensure_arraylike("union1d", ar1, ar2))
    both = concatenate([ravel(ar1), ravel(ar2)])
    return unique(both, size=_size_arg(size, "union1d"), fill_value=fill_value)


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted unique values of ``ar1`` not in ``ar2``, like jnp.setdiff1d.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.setdiff1d(mnp.array([1, 2, 3, 4]), mnp.array([2, 5]))
        Array([1, 3, 4], dtype=int32)
    """
    del assume_unique
    ar1, ar2 = util.ensure_arraylike("setdiff1d", ar1, ar2)
    size = _size_arg(size, "setdiff1d")
    values, _, valid = _unique_valid(ar1, "setdiff1d")
    keep = lax.bitwise_and(valid, logical_not(_isin_flat(values, ar2)))
    out, _, _ = _compact("setdiff1d", keep, size, fill_value, values, default_fill=0)
    return out


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted values in exactly one of the arrays, like jnp.setxor1d.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.setxor1d(mnp.array([1, 2, 3]), mnp.array([2, 5]))
        Array([1, 3, 5], dtype=int32)
    """
    del assume_unique
    ar1, ar2 = util.promote_dtypes(*util.ensure_arraylike("setxor1d", ar1, ar2))
    size = _size_arg(size, "setxor1d")
    u1, _, v1 = _unique_valid(ar1, "setxor1d")
    u2, _, v2 = _unique_valid(ar2, "setxor1d")
    k1 = lax.bitwise_and(v1, logical_not(_isin_flat(u1, ar2)))
    k2 = lax.bitwise_and(v2, logical_not(_isin_flat(u2, ar1)))
    values, keep = concatenate([u1, u2]), concatenate([k1, k2])
    # sort the candidates by value first, so the kept ones come out in order.
    values, keep = lax.sort((values, keep), dimension=0, num_keys=1)
    out, _, _ = _compact("setxor1d", keep, size, fill_value, values)
    return out


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None, fill_value=None):
    """The sorted unique values in both arrays (and where they first occur), like jnp.intersect1d.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.intersect1d(mnp.array([3, 1, 4]), mnp.array([4, 1, 5]))
        Array([1, 4], dtype=int32)
    """
    del assume_unique
    ar1, ar2 = util.promote_dtypes(*util.ensure_arraylike("intersect1d", ar1, ar2))
    size = _size_arg(size, "intersect1d")
    u1, i1, v1 = _unique_valid(ar1, "intersect1d")
    flat2 = ravel(ar2)
    n2 = util.shape_of(flat2)[0]
    keep = lax.bitwise_and(v1, _isin_flat(u1, flat2))
    if n2:
        hits = lax.eq(lax.expand_dims(u1, (1,)), lax.reshape(flat2, (1, n2)))
        i2 = lax.argmax(hits, 1, _dtypes.default_int())
    else:
        i2 = zeros(util.shape_of(u1), _dtypes.default_int())
    out, (i1, i2), count = _compact("intersect1d", keep, size, fill_value, u1, i1, i2)
    if not return_indices:
        return out
    n = util.shape_of(out)[0]
    valid = lax.lt(iota(util.dtype_of(count), (n,), 0), count)
    n1 = util.shape_of(ravel(ar1))[0]
    i1 = util.where(valid, i1, np.asarray(n1, util.dtype_of(i1)))
    i2 = util.where(valid, i2, np.asarray(n2, util.dtype_of(i2)))
    return out, i1, i2


# ---------------------------------------------------------------------------
# nonzero and friends


def nonzero(a, *, size=None, fill_value=None):
    """The indices of the nonzero elements, one array per dimension, like jnp.nonzero.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nonzero(mnp.array([[0, 1], [2, 0]]))
        (Array([0, 1], dtype=int32), Array([1, 0], dtype=int32))
        >>> mnp.nonzero(mnp.array([0, 3, 0]), size=2)
        (Array([1, 0], dtype=int32),)
    """
    (a,) = util.ensure_arraylike("nonzero", a)
    shape = util.shape_of(a)
    if not shape:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use mnp.atleast_1d(a).")
    size = _size_arg(size, "nonzero")
    keep = ravel(a)
    if util.dtype_of(keep) != np.bool_:
        keep = lax.ne(keep, util.cast(0, util.dtype_of(keep)))
    idt = _dtypes.default_int()
    n = util.shape_of(keep)[0]
    count, size = _count(keep, "nonzero", size)
    (flat,) = _front(keep, iota(idt, (n,), 0))
    flat = _take_front(flat, size, count, None)
    valid = lax.lt(iota(idt, (size,), 0), count)
    fills = fill_value if isinstance(fill_value, (tuple, list)) else (fill_value,) * len(shape)
    if len(fills) != len(shape):
        raise ValueError(f"fill_value must be a scalar or a tuple of length {len(shape)}")
    out = []
    stride = n
    for dim, fill in zip(shape, fills, strict=True):
        stride = stride // dim if dim else 0
        idx = lax.div(flat, np.asarray(max(stride, 1), idt))
        idx = lax.rem(idx, np.asarray(max(dim, 1), idt))
        out.append(util.where(valid, idx, util.cast(0 if fill is None else fill, idt)))
    return tuple(out)


def flatnonzero(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements of the flattened ``a``, like jnp.flatnonzero.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.flatnonzero(mnp.array([[0, 1], [2, 0]]))
        Array([1, 2], dtype=int32)
    """
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    """The indices of the nonzero elements, one row each, like jnp.argwhere.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.argwhere(mnp.array([[0, 1], [2, 0]]))
        Array([[0, 1],
               [1, 0]], dtype=int32)
    """
    (a,) = util.ensure_arraylike("argwhere", a)
    if util.ndim_of(a) == 0:
        (idx,) = nonzero(lax.reshape(a, (1,)), size=size, fill_value=fill_value)
        return lax.slice_in_dim(lax.expand_dims(idx, (1,)), 0, 0, axis=1)
    return stack(nonzero(a, size=size, fill_value=fill_value), -1)


def compress(condition, a, axis=None, *, size=None, fill_value=0, out=None):
    """The slices of ``a`` along ``axis`` where ``condition`` is true, like jnp.compress.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.compress(mnp.array([True, False, True]), mnp.array([1, 2, 3]))
        Array([1, 3], dtype=int32)
    """
    util.check_no_unsupported("compress", out=out)
    condition, a = util.ensure_arraylike("compress", condition, a)
    if util.ndim_of(condition) != 1:
        raise ValueError("condition must be a 1D array")
    if axis is None:
        a, axis = ravel(a), 0
    axis = util.canonicalize_axis(axis, util.ndim_of(a))
    n = util.shape_of(a)[axis]
    if util.shape_of(condition)[0] > n:
        condition = lax.slice_in_dim(condition, 0, n)
    keep = (
        condition
        if util.dtype_of(condition) == np.bool_
        else lax.ne(condition, util.cast(0, util.dtype_of(condition)))
    )
    size = _size_arg(size, "compress")
    count, size = _count(keep, "compress", size)
    (idx,) = nonzero(keep, size=size)
    result = take(a, idx, axis=axis)
    valid_shape = [1] * util.ndim_of(result)
    valid_shape[axis] = size
    valid = lax.reshape(lax.lt(iota(util.dtype_of(count), (size,), 0), count), tuple(valid_shape))
    return util.where(valid, result, util.cast(util.lift(fill_value), util.dtype_of(result)))


def extract(condition, arr, *, size=None, fill_value=0):
    """The elements of ``arr`` where ``condition`` is true (both flattened), like jnp.extract.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.extract(mnp.array([[True, False], [False, True]]), mnp.array([[1, 2], [3, 4]]))
        Array([1, 4], dtype=int32)
    """
    condition, arr = util.ensure_arraylike("extract", condition, arr)
    return compress(ravel(condition), ravel(arr), size=size, fill_value=fill_value)


# ---------------------------------------------------------------------------
# searching and counting


def _lt_total(x, y):
    """``x < y`` in sort order (NaNs last)."""
    lt = lax.lt(x, y)
    if not _dtypes.is_inexact(util.dtype_of(x)):
        return lt
    return lax.bitwise_or(lt, lax.bitwise_and(isnan(y), logical_not(isnan(x))))


def searchsorted(a, v, side="left", sorter=None, *, method="scan"):
    """Insertion indices of ``v`` into the sorted 1-D ``a`` (NaNs sort last), like jnp.searchsorted.

    Every ``method`` computes the same result here (by comparing all pairs).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.searchsorted(mnp.array([1, 2, 2, 3]), mnp.array([2, 0, 5]))
        Array([1, 0, 4], dtype=int32)
        >>> mnp.searchsorted(mnp.array([1, 2, 2, 3]), 2, side="right")
        Array(3, dtype=int32)
    """
    if side not in ("left", "right"):
        raise ValueError(f"{side!r} is an invalid value for keyword 'side'")
    if method not in ("scan", "scan_unrolled", "sort", "compare_all"):
        raise ValueError(f"{method!r} is an invalid value for keyword 'method'")
    a, v = util.ensure_arraylike("searchsorted", a, v)
    if util.ndim_of(a) != 1:
        raise ValueError("a should be 1-dimensional")
    if sorter is not None:
        a = take(a, sorter)
    a, v = util.promote_dtypes(a, v)
    idt = _dtypes.default_int()
    if util.shape_of(a)[0] == 0:
        return zeros(util.shape_of(v), idt)
    vv = lax.expand_dims(v, (util.ndim_of(v),))
    a = lax.reshape(a, (1,) * util.ndim_of(v) + util.shape_of(a))
    before = _lt_total(a, vv) if side == "left" else logical_not(_lt_total(vv, a))
    return rsum(before, axis=-1, dtype=idt)


def digitize(x, bins, right=False, *, method=None):
    """The bin of each element of ``x`` (bins increasing or decreasing), like jnp.digitize.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.digitize(mnp.array([0.5, 1.5, 3.0]), mnp.array([0.0, 1.0, 2.0]))
        Array([1, 2, 3], dtype=int32)
    """
    x, bins = util.ensure_arraylike("digitize", x, bins)
    if util.ndim_of(bins) != 1:
        raise ValueError(f"digitize: bins must be a 1-dimensional array; got bins={bins}")
    n = util.shape_of(bins)[0]
    idt = _dtypes.default_int()
    if n == 0:
        return zeros(util.shape_of(x), idt)
    side = "left" if right else "right"
    kw = {} if method is None else {"method": method}
    up = searchsorted(bins, x, side=side, **kw)
    down = lax.sub(np.asarray(n, idt), searchsorted(lax.rev(bins, (0,)), x, side=side, **kw))
    increasing = lax.ge(_getitem(bins, -1), _getitem(bins, 0))
    return util.where(increasing, up, down)


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of ``(xp, fp)`` at ``x``, like jnp.interp.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> xp, fp = mnp.array([0.0, 1.0, 2.0]), mnp.array([1.0, 3.0, 0.0])
        >>> mnp.interp(mnp.array([0.5, -1.0, 9.0]), xp, fp)
        Array([2., 1., 0.], dtype=float32)
    """
    util.check_arraylike("interp", x, xp, fp)
    x, xp, fp = util.promote_dtypes_inexact(x, xp, fp)
    if util.ndim_of(xp) != 1 or util.ndim_of(fp) != 1:
        raise ValueError("xp and fp must be one-dimensional")
    if util.shape_of(xp) != util.shape_of(fp):
        raise ValueError("xp and fp must have the same length")
    if period is not None:
        if left is not None or right is not None:
            raise ValueError("left and right must be None when period is given")
        (period,) = util.promote_dtypes_inexact(period)
        period = lax.abs(util.cast(period, util.dtype_of(x)))
        x = _mod(x, period)
        xp = _mod(xp, period)
        order = argsort(xp)
        xp, fp = take(xp, order), take(fp, order)
        xp = concatenate(
            [
                lax.sub(_getitem(xp, slice(-1, None)), period),
                xp,
                lax.add(_getitem(xp, slice(0, 1)), period),
            ]
        )
        fp = concatenate([_getitem(fp, slice(-1, None)), fp, _getitem(fp, slice(0, 1))])
    n = util.shape_of(xp)[0]
    idt = _dtypes.default_int()
    i = lax.clamp(
        np.asarray(1, idt), searchsorted(xp, x, side="right"), np.asarray(max(n - 1, 1), idt)
    )
    im1 = lax.sub(i, np.asarray(1, idt))
    x_lo, x_hi = take(xp, im1), take(xp, i)
    f_lo, f_hi = take(fp, im1), take(fp, i)
    dx = lax.sub(x_hi, x_lo)
    zero_dx = lax.eq(dx, util.cast(0, util.dtype_of(dx)))
    safe = util.where(zero_dx, util.cast(1, util.dtype_of(dx)), dx)
    f = lax.add(f_lo, lax.mul(lax.div(lax.sub(x, x_lo), safe), lax.sub(f_hi, f_lo)))
    f = util.where(zero_dx, f_hi, f)
    if period is None:
        if not (isinstance(left, str) and left == "extrapolate"):
            lval = _getitem(fp, 0) if left is None else util.cast(util.lift(left), util.dtype_of(f))
            f = util.where(lax.lt(x, _getitem(xp, 0)), lval, f)
        if not (isinstance(right, str) and right == "extrapolate"):
            rval = (
                _getitem(fp, -1) if right is None else util.cast(util.lift(right), util.dtype_of(f))
            )
            f = util.where(lax.gt(x, _getitem(xp, -1)), rval, f)
    return f


def _mod(x, p):
    r = lax.rem(x, p)
    zero = util.cast(0, util.dtype_of(r))
    fix = lax.bitwise_and(lax.ne(r, zero), lax.ne(lax.lt(r, zero), lax.lt(p, zero)))
    return util.where(fix, lax.add(r, p), r)


def bincount(x, weights=None, minlength=0, *, length=None, out_sharding=None):
    """Counts (or summed ``weights``) of each non-negative integer in ``x``, like jnp.bincount.

    ``length`` fixes the output size; without it ``x`` must be concrete.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.bincount(mnp.array([0, 1, 1, 3]))
        Array([1, 2, 0, 1], dtype=int32)
        >>> mnp.bincount(mnp.array([0, 1, 1, 3]), length=6)
        Array([1, 2, 0, 1, 0, 0], dtype=int32)
    """
    util.check_no_unsupported("bincount", out_sharding=out_sharding)
    (x,) = util.ensure_arraylike("bincount", x)
    if not _dtypes.is_int(util.dtype_of(x)):
        raise TypeError(f"x argument to bincount must have an integer type; got {util.dtype_of(x)}")
    if util.ndim_of(x) != 1:
        raise ValueError("only 1-dimensional input supported.")
    minlength = operator.index(minlength)
    if length is None:
        top = rmax(x, initial=-1)
        length = max(minlength, _concrete_int(top, "mnp.bincount without length=") + 1)
    length = operator.index(length)
    if weights is None:
        weights = np.asarray(1, _dtypes.default_int())
        dt = _dtypes.default_int()
    else:
        (weights,) = util.ensure_arraylike("bincount", weights)
        dt = util.dtype_of(weights)
        if dt == np.bool_:
            dt = _dtypes.default_int()
            weights = util.cast(weights, dt)
    idx = lax.max(x, util.cast(0, util.dtype_of(x)))
    return _IndexUpdateHelper(zeros((length,), dt))[idx].add(weights, mode="drop")


def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002
    """The bin edges ``histogram`` uses, like jnp.histogram_bin_edges.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.histogram_bin_edges(mnp.array([0.0, 1.0, 3.0]), bins=3)
        Array([0., 1., 2., 3.], dtype=float32)
    """
    del weights
    (a,) = util.ensure_arraylike("histogram_bin_edges", a)
    if not isinstance(bins, int) and (isinstance(bins, (list, tuple)) or util.ndim_of(bins) == 1):
        return asarray(bins)
    dt = _dtypes.to_inexact_dtype(util.dtype_of(a))
    a = util.cast(a, dt)
    if range is None:
        lo, hi = rmin(a), rmax(a)
    else:
        lo, hi = (util.cast(util.lift(r), dt) for r in range)
    same = lax.eq(lo, hi)
    lo = util.where(same, lax.sub(lo, np.asarray(0.5, dt)), lo)
    hi = util.where(same, lax.add(hi, np.asarray(0.5, dt)), hi)
    return linspace(lo, hi, operator.index(bins) + 1, dtype=dt)


def histogram(a, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """Counts (or summed weights) of ``a`` in each bin, and the bin edges, like jnp.histogram.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.histogram(mnp.array([0.0, 1.0, 1.0, 3.0]), bins=3)
        (Array([1., 2., 1.], dtype=float32), Array([0., 1., 2., 3.], dtype=float32))
    """
    (a,) = util.ensure_arraylike("histogram", a)
    edges = histogram_bin_edges(a, bins, range, weights)
    dt = util.dtype_of(edges)
    a = ravel(a)
    if weights is None:
        w = util.full_like_internal(a, 1, dt)
    else:
        (w,) = util.ensure_arraylike("histogram", weights)
        w = ravel(w)
        if util.shape_of(w) != util.shape_of(a):
            raise ValueError("weights should have the same shape as a.")
    n = util.shape_of(edges)[0]
    idx = searchsorted(edges, a, side="right")
    idx = util.where(
        lax.eq(util.cast(a, dt), _getitem(edges, -1)), np.asarray(n - 1, util.dtype_of(idx)), idx
    )
    counts = _IndexUpdateHelper(zeros((n + 1,), util.dtype_of(w)))[idx].add(w)
    counts = lax.slice_in_dim(counts, 1, n)
    if density:
        widths = lax.sub(lax.slice_in_dim(edges, 1, n), lax.slice_in_dim(edges, 0, n - 1))
        counts = lax.div(lax.div(counts, rsum(counts)), util.cast(widths, util.dtype_of(counts)))
    return counts, edges


def lexsort(keys, axis=-1):
    """The indices that sort by several keys, the last key first, like jnp.lexsort.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.lexsort([mnp.array([1, 0, 1]), mnp.array([2, 2, 1])])
        Array([2, 1, 0], dtype=int32)
    """
    keys = tuple(keys) if not util.is_arraylike(keys) else tuple(keys[i] for i in range(len(keys)))
    if not keys:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    keys = util.ensure_arraylike("lexsort", *keys)
    keys = util.broadcast_arrays(*keys)
    shape = util.shape_of(keys[0])
    if not shape:
        raise TypeError("lexsort keys must be arrays with at least one dimension")
    axis = util.canonicalize_axis(axis, len(shape))
    perm = iota(_dtypes.default_int(), shape, axis)
    return lax.sort((*keys[::-1], perm), dimension=axis, num_keys=len(keys))[-1]


def histogramdd(sample, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """The multi-dimensional histogram of ``sample`` (shape ``(N, D)``), like jnp.histogramdd.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> hist, edges = mnp.histogramdd(mnp.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), bins=2)
        >>> hist
        Array([[0, 1],
               [1, 1]], dtype=int32)
    """
    (sample,) = util.ensure_arraylike("histogramdd", sample)
    if util.ndim_of(sample) != 2:
        raise ValueError("mnp.histogramdd: sample must be a 2-D array of shape (N, D)")
    n, d = util.shape_of(sample)
    if weights is not None:
        (weights,) = util.ensure_arraylike("histogramdd", weights)
        if util.shape_of(weights) != (n,):
            raise ValueError("should have one weight for each sample.")
    if isinstance(bins, int) or (util.is_arraylike(bins) and util.ndim_of(util.lift(bins)) == 0):
        bins = [bins] * d
    if len(bins) != d:
        raise ValueError("should be a bin for each dimension.")
    ranges = [None] * d if range is None else list(range)
    if len(ranges) != d:
        raise ValueError("should be a range for each dimension.")
    edges, flat, shape = [], None, []
    for k in builtins.range(d):
        col = lax.index_in_dim(sample, k, 1, keepdims=False)
        e = histogram_bin_edges(col, bins[k], ranges[k], weights)
        m = util.shape_of(e)[0]
        idx = searchsorted(e, col, side="right")
        idt = util.dtype_of(idx)
        last = lax.eq(util.cast(col, util.dtype_of(e)), _getitem(e, -1))
        idx = util.where(last, np.asarray(m - 1, idt), idx)
        flat = idx if flat is None else lax.add(lax.mul(flat, np.asarray(m + 1, idt)), idx)
        edges.append(e)
        shape.append(m + 1)
    total = 1
    for s in shape:
        total *= s
    hist = bincount(flat, weights, length=total)
    hist = reshape(hist, tuple(shape))
    for k, s in enumerate(shape):
        hist = lax.slice_in_dim(hist, 1, s - 1, axis=k)
    if density:
        (hist,) = util.promote_dtypes_inexact(hist)
        hist = lax.div(hist, rsum(hist))
        for k, e in enumerate(edges):
            m = util.shape_of(e)[0]
            widths = lax.sub(lax.slice_in_dim(e, 1, m), lax.slice_in_dim(e, 0, m - 1))
            widths = util.cast(widths, util.dtype_of(hist))
            dims = tuple(m - 1 if j == k else 1 for j in builtins.range(d))
            hist = lax.div(hist, lax.broadcast_in_dim(widths, dims, (k,)))
    return hist, edges


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """The 2-D histogram of the points ``(x, y)``, like jnp.histogram2d.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.histogram2d(mnp.array([0.0, 1.0, 1.0]), mnp.array([1.0, 0.0, 1.0]), bins=2)[0]
        Array([[0, 1],
               [1, 1]], dtype=int32)
    """
    x, y = util.ensure_arraylike("histogram2d", x, y)
    try:
        nb = len(bins)
    except TypeError:
        nb = 1
    if nb not in (1, 2):
        bins = [asarray(bins)] * 2
    hist, edges = histogramdd(stack([x, y], axis=1), bins, range, weights, density)
    return hist, edges[0], edges[1]
