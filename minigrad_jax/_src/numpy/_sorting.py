"""sort and argsort (lax.sort, with an iota as the second operand for argsort)."""

from __future__ import annotations

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import iota
from minigrad_jax._src.numpy._shape import ravel


def _check_sort_args(name, kind, order):
    if kind is not None:
        raise NotImplementedError(
            f"The 'kind' argument to mnp.{name} is not supported (got "
            f"kind={kind!r}); use stable=True or stable=False."
        )
    if order is not None:
        raise NotImplementedError(f"The 'order' argument to mnp.{name} is not supported.")


def _prepare(name, a, axis):
    (arr,) = util.ensure_arraylike(name, a)
    if axis is None:
        arr, axis = ravel(arr), 0
    return arr, util.canonicalize_axis(axis, util.ndim_of(arr))


def sort(a, axis=-1, *, kind=None, order=None, stable=True, descending=False):
    """``a`` sorted along ``axis`` (NaNs last), like jnp.sort.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.sort(mnp.array([3.0, 1.0, 2.0]))
        Array([1., 2., 3.], dtype=float32)
        >>> mnp.sort(mnp.array([[3, 1], [0, 2]]), axis=0)
        Array([[0, 1],
               [3, 2]], dtype=int32)
    """
    _check_sort_args("sort", kind, order)
    arr, dim = _prepare("sort", a, axis)
    result = lax.sort(arr, dimension=dim, is_stable=stable)
    return lax.rev(result, (dim,)) if descending else result


def argsort(a, axis=-1, *, kind=None, order=None, stable=True, descending=False, dtype=None):
    """Indices that sort ``a`` along ``axis``, like jnp.argsort.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.argsort(mnp.array([3.0, 1.0, 2.0]))
        Array([1, 2, 0], dtype=int32)
        >>> mnp.argsort(mnp.array([3.0, 1.0, 2.0]), descending=True)
        Array([0, 2, 1], dtype=int32)
    """
    _check_sort_args("argsort", kind, order)
    arr, dim = _prepare("argsort", a, axis)
    if dtype is not None:
        idx_dtype = _dtypes.canonicalize(dtype, "argsort")
    else:
        idx_dtype = util.index_dtype(util.shape_of(arr)[dim : dim + 1])
        if idx_dtype == np.dtype(np.int32):
            idx_dtype = _dtypes.default_int()
    indices = iota(idx_dtype, util.shape_of(arr), dim)
    if descending and stable:
        arr, indices = lax.rev(arr, (dim,)), lax.rev(indices, (dim,))
    _, indices = lax.sort((arr, indices), dimension=dim, is_stable=stable, num_keys=1)
    return lax.rev(indices, (dim,)) if descending else indices
