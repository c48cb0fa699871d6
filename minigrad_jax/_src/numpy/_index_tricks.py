"""Index helpers and grids composed from the existing numpy functions: ``r_``,
``c_``, ``mgrid``, ``ogrid``, ``ix_``, ``meshgrid``, ``indices``, the
``*_indices`` families, ``unravel_index`` / ``ravel_multi_index``,
``fill_diagonal``, ``diagflat``, ``insert`` and ``delete``.

Shapes must be static (Python ints), as in JAX; functions whose result size
depends on values need concrete values and raise ConcretizationError under a
transform.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import arange, array, asarray, iota, linspace, ones, zeros
from minigrad_jax._src.numpy._indexing import _IndexUpdateHelper, take
from minigrad_jax._src.numpy._linalg import diag
from minigrad_jax._src.numpy._setops import nonzero, searchsorted
from minigrad_jax._src.numpy._shape import (
    broadcast_to,
    concatenate,
    moveaxis,
    ravel,
    reshape,
    stack,
    transpose,
)
from minigrad_jax._src.numpy._sorting import argsort, sort

# numpy's index-expression builders are pure Python (tuples of slices).
s_ = np.s_
index_exp = np.index_exp


def _concrete(x, what):
    """The numpy value of ``x``; ConcretizationError for an abstract tracer."""
    if isinstance(x, core.Tracer):
        return np.asarray(x._concretize(what))
    return np.asarray(x)


def _static(x, what):
    if x is None or isinstance(x, (int, float, complex)):
        return x
    return _concrete(x, what).item()


def _grid_1d(s, what):
    """The 1-D grid a slice stands for: arange, or linspace for a complex step."""
    start = _static(s.start, what)
    stop = _static(s.stop, what)
    step = _static(s.step, what)
    start = 0 if start is None else start
    step = 1 if step is None else step
    if isinstance(step, complex) or np.iscomplexobj(step):
        return linspace(start, stop, int(builtins.abs(step)))
    return arange(start, stop, step)


# ---------------------------------------------------------------------------
# grids


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate grids from 1-D coordinate arrays, like jnp.meshgrid.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.meshgrid(mnp.array([1, 2]), mnp.array([3, 4, 5]))
        [Array([[1, 2],
               [1, 2],
               [1, 2]], dtype=int32), Array([[3, 3],
               [4, 4],
               [5, 5]], dtype=int32)]
    """
    del copy
    args = util.ensure_arraylike("meshgrid", *xi)
    args = [asarray(a) for a in args]
    if any(util.ndim_of(a) != 1 for a in args):
        raise ValueError(
            f"Arguments to mnp.meshgrid must be 1D, got shapes {[util.shape_of(a) for a in args]}"
        )
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Valid values for indexing are 'xy' and 'ij', got {indexing}")
    swap = indexing == "xy" and len(args) >= 2
    if swap:
        args[0], args[1] = args[1], args[0]
    full = tuple(util.shape_of(a)[0] for a in args)
    out = []
    for i, a in enumerate(args):
        shape = tuple(d if j == i else 1 for j, d in enumerate(full)) if sparse else full
        out.append(lax.broadcast_in_dim(a, shape, (i,)))
    if swap:
        out[0], out[1] = out[1], out[0]
    return out


def indices(dimensions, dtype=None, sparse=False):
    """An array of the index grids of a given shape, like jnp.indices.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.indices((2, 3))
        Array([[[0, 0, 0],
                [1, 1, 1]],
        <BLANKLINE>
               [[0, 1, 2],
                [0, 1, 2]]], dtype=int32)
    """
    dims = tuple(operator.index(d) for d in dimensions)
    dtype = _dtypes.canonicalize(dtype, "indices") or _dtypes.default_int()
    nd = len(dims)
    grids = []
    for i, d in enumerate(dims):
        shape = tuple(d if j == i else 1 for j in range(nd)) if sparse else dims
        grids.append(iota(dtype, shape, i))
    if sparse:
        return tuple(grids)
    return stack(grids, 0) if grids else zeros((0,), dtype)


class _Grid:
    def __init__(self, sparse, name):
        self.sparse = sparse
        self.name = name

    def __getitem__(self, key):
        what = f"mnp.{self.name}"
        if isinstance(key, slice):
            return _grid_1d(key, what)
        grids = [_grid_1d(k, what) for k in key]
        if not grids:
            return [] if self.sparse else zeros((0,), _dtypes.default_int())
        dt = _dtypes.result_type(*grids)
        grids = [util.cast(g, dt) for g in grids]
        out = meshgrid(*grids, indexing="ij", sparse=self.sparse)
        return out if self.sparse else stack(out, 0)


mgrid = _Grid(False, "mgrid")
mgrid.__doc__ = """Dense grids from slices (complex steps are counts), like jnp.mgrid.

Example:
    >>> import minigrad_jax.numpy as mnp
    >>> mnp.mgrid[0:2, 0:3]
    Array([[[0, 0, 0],
            [1, 1, 1]],
    <BLANKLINE>
           [[0, 1, 2],
            [0, 1, 2]]], dtype=int32)
"""
ogrid = _Grid(True, "ogrid")
ogrid.__doc__ = """Open (broadcastable) grids from slices, like jnp.ogrid.

Example:
    >>> import minigrad_jax.numpy as mnp
    >>> mnp.ogrid[0:1:3j]
    Array([0. , 0.5, 1. ], dtype=float32)
"""


class _AxisConcatenator:
    """``r_`` / ``c_``: concatenate slices (as ranges), scalars and arrays."""

    def __init__(self, axis, ndmin, trans1d, name):
        self.axis, self.ndmin, self.trans1d, self.name = axis, ndmin, trans1d, name

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        if key and isinstance(key[0], str):
            directive, key = key[0], key[1:]
            if directive in ("r", "c"):
                raise NotImplementedError(
                    f"mnp.{self.name}: the matrix directive {directive!r} is not supported"
                )
            parts = [int(p) for p in directive.split(",")]
            if len(parts) > 3:
                raise ValueError(f"mnp.{self.name}: bad directive {directive!r}")
            axis, ndmin, trans1d = (parts + [ndmin, trans1d][len(parts) - 1 :])[:3]
        items = []
        for item in key:
            if isinstance(item, slice):
                item = _grid_1d(item, f"mnp.{self.name}")
            elif isinstance(item, str):
                raise ValueError(f"mnp.{self.name}: string directive must be the first item")
            else:
                (item,) = util.ensure_arraylike(self.name, item)
            items.append(self._to_ndmin(array(item, copy=False, ndmin=1), ndmin, trans1d))
        if not items:
            return zeros((0,), _dtypes.default_float())
        return concatenate(items, axis)

    @staticmethod
    def _to_ndmin(a, ndmin, trans1d):
        nd = util.ndim_of(a)
        if nd >= ndmin:
            return a
        k2 = ndmin - nd
        k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
        a = reshape(a, (1,) * k2 + util.shape_of(a))
        axes = list(range(ndmin))
        return transpose(a, axes[:k1] + axes[k2:] + axes[k1:k2])


r_ = _AxisConcatenator(0, 1, -1, "r_")
r_.__doc__ = """Concatenate along the first axis (slices become ranges), like jnp.r_.

Example:
    >>> import minigrad_jax.numpy as mnp
    >>> mnp.r_[1:4, 0, mnp.array([7, 8])]
    Array([1, 2, 3, 0, 7, 8], dtype=int32)
"""
c_ = _AxisConcatenator(-1, 2, 0, "c_")
c_.__doc__ = """Stack 1-D arrays as columns (concatenate on the last axis), like jnp.c_.

Example:
    >>> import minigrad_jax.numpy as mnp
    >>> mnp.c_[mnp.array([1, 2]), mnp.array([3, 4])]
    Array([[1, 3],
           [2, 4]], dtype=int32)
"""


def ix_(*args):
    """Open-mesh index arrays from 1-D sequences, like jnp.ix_.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> [i.shape for i in mnp.ix_(mnp.array([0, 1]), mnp.array([2, 3, 4]))]
        [(2, 1), (1, 3)]
    """
    args = util.ensure_arraylike("ix_", *args)
    n = len(args)
    out = []
    for i, a in enumerate(args):
        a = asarray(a)
        if util.ndim_of(a) != 1:
            raise ValueError(f"Arguments to mnp.ix_ must be 1-dimensional, got shape {a.shape}")
        if util.dtype_of(a) == np.bool_:
            raise NotImplementedError("Boolean arguments to mnp.ix_ are not implemented")
        shape = [1] * n
        shape[i] = util.shape_of(a)[0]
        out.append(lax.broadcast_in_dim(a, tuple(shape), (i,)))
    return tuple(out)


# ---------------------------------------------------------------------------
# flat and multi-dimensional indices


def _shape_arg(shape):
    return (operator.index(shape),) if np.ndim(shape) == 0 else tuple(map(operator.index, shape))


def unravel_index(indices, shape):
    """Flat indices as coordinate arrays (out of range is clipped), like jnp.unravel_index.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.unravel_index(mnp.array([1, 5]), (2, 3))
        (Array([0, 1], dtype=int32), Array([1, 2], dtype=int32))
    """
    (idx,) = util.ensure_arraylike("unravel_index", indices)
    idx = asarray(idx)
    shape = _shape_arg(shape)
    if not shape:
        raise ValueError("mnp.unravel_index: shape must be non-empty")
    dt = util.dtype_of(idx)
    if not _dtypes.is_int(dt):
        raise TypeError("only int indices permitted")
    size = math.prod(shape)
    idx = lax.clamp(util.cast(-size, dt), idx, util.cast(size - 1, dt)) if size else idx
    idx = util.where(lax.lt(idx, util.cast(0, dt)), lax.add(idx, util.cast(size, dt)), idx)
    out = []
    for d in shape[::-1]:
        out.append(lax.rem(idx, util.cast(builtins.max(d, 1), dt)))
        idx = lax.div(idx, util.cast(builtins.max(d, 1), dt))
    return tuple(out[::-1])


def ravel_multi_index(multi_index, dims, mode="raise", order="C", *, dtype=None):
    """Coordinate arrays as flat indices, like jnp.ravel_multi_index.

    ``mode="raise"`` checks the bounds, so it needs concrete indices.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.ravel_multi_index((mnp.array([0, 1]), mnp.array([2, 0])), (2, 3))
        Array([2, 3], dtype=int32)
    """
    dims = _shape_arg(dims)
    if len(multi_index) != len(dims):
        raise ValueError(f"parameter multi_index must be a sequence of length {len(dims)}")
    if order not in ("C", "F"):
        raise ValueError("only 'C' or 'F' order is permitted")
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"invalid mode={mode!r}. Expected 'raise', 'wrap', or 'clip'")
    idxs = util.ensure_arraylike("ravel_multi_index", *multi_index)
    for i in idxs:
        if not _dtypes.is_int(util.dtype_of(i)):
            raise TypeError("only int indices permitted")
    dt = _dtypes.canonicalize(dtype, "ravel_multi_index") or _dtypes.result_type(*idxs)
    idxs = [util.cast(i, dt) for i in idxs]
    if mode == "raise":
        for i, d in zip(idxs, dims, strict=True):
            v = _concrete(i, "The error arose in mnp.ravel_multi_index with mode='raise'")
            if np.any((v < 0) | (v >= d)):
                raise ValueError("invalid entry in coordinates array")
    elif mode == "clip":
        idxs = [lax.clamp(util.cast(0, dt), i, util.cast(d - 1, dt)) for i, d in zip(idxs, dims)]
    else:
        idxs = [_wrap(i, d, dt) for i, d in zip(idxs, dims, strict=True)]
    order_dims = list(zip(idxs, dims, strict=True))
    if order == "F":
        order_dims = order_dims[::-1]
    total = None
    for i, d in order_dims:
        total = i if total is None else lax.add(lax.mul(total, util.cast(d, dt)), i)
    return util.broadcast_arrays(*(asarray(t) for t in [total] + idxs))[0]


def _wrap(i, d, dt):
    r = lax.rem(i, util.cast(d, dt))
    return util.where(lax.lt(r, util.cast(0, dt)), lax.add(r, util.cast(d, dt)), r)


def diag_indices(n, ndim=2):
    """The main diagonal's indices in an ``ndim``-D ``n``-cube, like jnp.diag_indices.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.diag_indices(3)
        (Array([0, 1, 2], dtype=int32), Array([0, 1, 2], dtype=int32))
    """
    n = operator.index(n)
    ndim = operator.index(ndim)
    if n < 0:
        raise ValueError(f"n argument to diag_indices must be nonnegative, got {n}")
    if ndim < 0:
        raise ValueError(f"ndim argument to diag_indices must be nonnegative, got {ndim}")
    return (iota(_dtypes.default_int(), (n,), 0),) * ndim


def diag_indices_from(arr):
    """``diag_indices`` for the shape of ``arr`` (all dimensions equal), like jnp.diag_indices_from.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.diag_indices_from(mnp.zeros((2, 2)))
        (Array([0, 1], dtype=int32), Array([0, 1], dtype=int32))
    """
    (arr,) = util.ensure_arraylike("diag_indices_from", arr)
    shape = util.shape_of(arr)
    if len(shape) < 2:
        raise ValueError("input array must be at least 2-d")
    if len(set(shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    return diag_indices(shape[0], len(shape))


def _tri_indices(name, n, k, m, lower):
    n = operator.index(n)
    k = operator.index(k)
    m = n if m is None else operator.index(m)
    rows, cols = np.indices((n, m))
    mask = (cols - rows <= k) if lower else (cols - rows >= k)
    i, j = np.nonzero(mask)
    dt = _dtypes.default_int()
    return util.constant(i, dt), util.constant(j, dt)


def tril_indices(n, k=0, m=None):
    """Row and column indices of the lower triangle of an (n, m) array, like jnp.tril_indices.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.tril_indices(2)
        (Array([0, 1, 1], dtype=int32), Array([0, 0, 1], dtype=int32))
    """
    return _tri_indices("tril_indices", n, k, m, True)


def triu_indices(n, k=0, m=None):
    """Row and column indices of the upper triangle of an (n, m) array, like jnp.triu_indices.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.triu_indices(2)
        (Array([0, 0, 1], dtype=int32), Array([0, 1, 1], dtype=int32))
    """
    return _tri_indices("triu_indices", n, k, m, False)


def _from_shape(name, arr):
    shape = arr.shape if hasattr(arr, "shape") else util.shape_of(util.lift(arr))
    if len(shape) != 2:
        raise ValueError(f"{name} requires a 2-dimensional array, got shape {tuple(shape)}")
    return shape


def tril_indices_from(arr, k=0):
    """``tril_indices`` for the shape of the 2-D ``arr``, like jnp.tril_indices_from.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.tril_indices_from(mnp.zeros((2, 3)), k=1)
        (Array([0, 0, 1, 1, 1], dtype=int32), Array([0, 1, 0, 1, 2], dtype=int32))
    """
    n, m = _from_shape("tril_indices_from", arr)
    return tril_indices(n, k, m)


def triu_indices_from(arr, k=0):
    """``triu_indices`` for the shape of the 2-D ``arr``, like jnp.triu_indices_from.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.triu_indices_from(mnp.zeros((2, 3)), k=1)
        (Array([0, 0, 1], dtype=int32), Array([1, 2, 2], dtype=int32))
    """
    n, m = _from_shape("triu_indices_from", arr)
    return triu_indices(n, k, m)


def mask_indices(n, mask_func, k=0, *, size=None):
    """The indices where ``mask_func(ones((n, n)), k)`` is nonzero, like jnp.mask_indices.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.mask_indices(2, mnp.triu)
        (Array([0, 0, 1], dtype=int32), Array([0, 1, 1], dtype=int32))
    """
    i, j = nonzero(mask_func(ones((n, n), _dtypes.default_int()), k), size=size)
    return i, j


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """``a`` with its main diagonal set to ``val`` (repeated as needed), like jnp.fill_diagonal.

    Arrays are immutable: pass ``inplace=False``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.fill_diagonal(mnp.zeros((2, 3)), 5.0, inplace=False)
        Array([[5., 0., 0.],
               [0., 5., 0.]], dtype=float32)
    """
    if inplace:
        raise NotImplementedError(
            "mnp.fill_diagonal: arrays are immutable; pass inplace=False to get a new array"
        )
    if wrap:
        raise NotImplementedError("wrap=True is not implemented, must use wrap=False")
    a, val = util.ensure_arraylike("fill_diagonal", a, val)
    shape = util.shape_of(a)
    if len(shape) < 2:
        raise ValueError("array must be at least 2-d")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    size = math.prod(shape)
    if len(shape) == 2:
        step = shape[1] + 1
        end = builtins.min(size, shape[1] * shape[1])
    else:
        step = 1 + int(np.cumprod(shape[:-1]).sum())
        end = size
    positions = np.arange(0, end, step)
    val = ravel(util.cast(val, util.dtype_of(a)))
    nval = util.shape_of(val)[0]
    if nval == 0 or positions.size == 0:
        return a
    vals = take(val, util.constant(np.arange(positions.size) % nval, np.int32))
    flat = _IndexUpdateHelper(ravel(a))[util.constant(positions, np.int32)].set(vals)
    return reshape(flat, shape)


def diagflat(v, k=0):
    """A 2-D array with the flattened ``v`` on diagonal ``k``, like jnp.diagflat.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.diagflat(mnp.array([[1, 2]]))
        Array([[1, 0],
               [0, 2]], dtype=int32)
    """
    (v,) = util.ensure_arraylike("diagflat", v)
    return diag(ravel(v), k)


# ---------------------------------------------------------------------------
# insert and delete


def _along(axis, ndim, index):
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` inserted before the indices ``obj`` along ``axis``, like jnp.insert.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.insert(mnp.array([1, 2, 3]), 1, 9)
        Array([1, 9, 2, 3], dtype=int32)
    """
    (arr,) = util.ensure_arraylike("insert", arr)
    arr = asarray(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    nd = util.ndim_of(arr)
    axis = util.canonicalize_axis(axis, nd)
    n = util.shape_of(arr)[axis]
    idt = _dtypes.default_int()
    if isinstance(obj, slice):
        idx = util.constant(np.arange(*obj.indices(n)), idt)
    else:
        (idx,) = util.ensure_arraylike("insert", obj)
        idx = asarray(idx)
        if not _dtypes.is_int(util.dtype_of(idx)):
            if util.shape_of(idx) == (0,):
                idx = util.cast(idx, idt)
            else:
                raise ValueError("mnp.insert(): index array must be integer typed")
        if util.ndim_of(idx) > 1:
            raise ValueError("mnp.insert(): obj must be a slice, a 1-D array or a scalar")
        idx = util.cast(idx, idt)
    values = array(values, dtype=util.dtype_of(arr), copy=False, ndmin=nd)
    if util.ndim_of(idx) == 0:
        values = moveaxis(values, 0, axis)
        k = util.shape_of(values)[axis]
        idx = lax.broadcast_in_dim(idx, (k,), ())
    k = util.shape_of(idx)[0]
    target = tuple(k if d == axis else s for d, s in enumerate(util.shape_of(arr)))
    values = broadcast_to(values, target)
    idx = util.where(lax.lt(idx, util.cast(0, idt)), lax.add(idx, util.cast(n, idt)), idx)
    idx = lax.clamp(util.cast(0, idt), idx, util.cast(n, idt))
    order = argsort(idx, stable=True)
    sidx = take(idx, order)
    new_pos = lax.add(sidx, iota(idt, (k,), 0))
    old_pos = lax.add(iota(idt, (n,), 0), searchsorted(sidx, iota(idt, (n,), 0), side="right"))
    out_shape = tuple(n + k if d == axis else s for d, s in enumerate(util.shape_of(arr)))
    out = zeros(out_shape, util.dtype_of(arr))
    out = _IndexUpdateHelper(out)[_along(axis, nd, old_pos)].set(arr)
    sorted_values = take(values, order, axis=axis)
    return _IndexUpdateHelper(out)[_along(axis, nd, new_pos)].set(sorted_values)


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    """``arr`` without the entries ``obj`` along ``axis``, like jnp.delete.

    The result's size depends on ``obj``, so ``obj`` must be concrete unless
    ``assume_unique_indices=True``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.delete(mnp.array([1, 2, 3, 4]), mnp.array([0, 2]))
        Array([2, 4], dtype=int32)
    """
    (arr,) = util.ensure_arraylike("delete", arr)
    arr = asarray(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    nd = util.ndim_of(arr)
    axis = util.canonicalize_axis(axis, nd)
    n = util.shape_of(arr)[axis]
    idt = _dtypes.default_int()
    if isinstance(obj, slice):
        keep = np.ones(n, bool)
        keep[np.arange(*obj.indices(n))] = False
        return take(arr, util.constant(np.nonzero(keep)[0], idt), axis=axis)
    (obj,) = util.ensure_arraylike("delete", obj)
    if assume_unique_indices:
        idx = util.cast(asarray(obj), idt)
        if util.ndim_of(idx) > 1:
            raise ValueError("mnp.delete(): obj must be a slice, a 1-D array or a scalar")
        idx = ravel(idx)
        k = util.shape_of(idx)[0]
        idx = util.where(lax.lt(idx, util.cast(0, idt)), lax.add(idx, util.cast(n, idt)), idx)
        mark = _IndexUpdateHelper(zeros((n,), idt))[idx].set(1)
        kept = sort(lax.add(lax.mul(mark, util.cast(n, idt)), iota(idt, (n,), 0)))
        kept = lax.slice_in_dim(kept, 0, n - k)
        return take(arr, kept, axis=axis)
    v = _concrete(obj, "mnp.delete(arr, obj) needs a concrete obj; pass assume_unique_indices=True")
    keep = np.ones(n, bool)
    if v.dtype == np.bool_:
        if v.shape != (n,):
            raise ValueError(
                f"boolean array argument obj to delete must be one dimensional and match "
                f"the axis length of {n}"
            )
        keep = ~v
    else:
        if not np.issubdtype(v.dtype, np.integer):
            if v.size:
                raise IndexError("arrays used as indices must be of integer (or boolean) type")
            v = v.astype(int)
        v = v.ravel()
        if np.any((v < -n) | (v >= n)):
            raise IndexError(f"index out of bounds for axis {axis} with size {n}")
        keep[v] = False
    return take(arr, util.constant(np.nonzero(keep)[0], idt), axis=axis)
