"""Shape manipulation: reshape, transpose, concatenate, split, tile, pad, roll, ..."""

from __future__ import annotations

import operator

import jax

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import array, asarray
from minigrad_jax._src.numpy._ufuncs import remainder

# ---------------------------------------------------------------------------
# shape queries


def ndim(a):
    """Number of dimensions of ``a``, like jnp.ndim."""
    return util.ndim_of(a) if util.is_arraylike(a) else np.ndim(a)


def shape(a):
    """Shape of ``a``, like jnp.shape."""
    return util.shape_of(a) if util.is_arraylike(a) else np.shape(a)


def size(a, axis=None):
    """Number of elements of ``a`` (along ``axis`` if given), like jnp.size."""
    s = shape(a)
    if axis is None:
        return int(np.prod(s, dtype=np.int64))
    return s[util.canonicalize_axis(axis, len(s))]


def _index_tuple(x):
    try:
        return (operator.index(x),)
    except TypeError:
        return tuple(operator.index(i) for i in x)


# ---------------------------------------------------------------------------
# reshape / transpose family


def _compute_newshape(a, newshape):
    newshape = _index_tuple(newshape)
    total = util.aval(a).size
    if sum(1 for d in newshape if d == -1) > 1:
        raise ValueError(f"can only specify one unknown dimension, got shape {newshape}")
    if -1 in newshape:
        known = int(np.prod([d for d in newshape if d != -1], dtype=np.int64))
        if known == 0 or total % known:
            raise TypeError(
                f"cannot reshape array of shape {util.shape_of(a)} (size {total}) "
                f"into shape {newshape}"
            )
        newshape = tuple(total // known if d == -1 else d for d in newshape)
    if any(d < 0 for d in newshape) or int(np.prod(newshape, dtype=np.int64)) != total:
        raise TypeError(
            f"cannot reshape array of shape {util.shape_of(a)} (size {total}) into shape {newshape}"
        )
    return newshape


def reshape(a, shape=None, order="C", *, copy=None):  # noqa: A002
    """``a`` with a new shape (one dimension may be -1), like jnp.reshape.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.reshape(mnp.arange(6), (2, -1))
        Array([[0, 1, 2],
               [3, 4, 5]], dtype=int32)
        >>> mnp.arange(6).reshape(3, 2).shape
        (3, 2)
    """
    if shape is None:
        raise TypeError("reshape() missing the required argument 'shape'")
    (a,) = util.ensure_arraylike("reshape", a)
    newshape = _compute_newshape(a, shape)
    if order == "C":
        return lax.reshape(a, newshape)
    if order == "F":
        dims = tuple(range(util.ndim_of(a)))[::-1]
        return transpose(lax.reshape(a, newshape[::-1], dims))
    raise NotImplementedError(f"mnp.reshape: order={order!r} is not supported (use 'C' or 'F')")


def ravel(a, order="C"):
    """``a`` flattened to one dimension, like jnp.ravel."""
    if order == "K":
        raise NotImplementedError("mnp.ravel: order='K' is not supported.")
    (a,) = util.ensure_arraylike("ravel", a)
    return reshape(a, (util.aval(a).size,), order)


flatten = ravel  # the array method ``x.flatten()``


def transpose(a, axes=None):
    """``a`` with its axes permuted (reversed by default), like jnp.transpose.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.transpose(mnp.arange(6).reshape(2, 3))
        Array([[0, 3],
               [1, 4],
               [2, 5]], dtype=int32)
        >>> mnp.transpose(mnp.ones((2, 3, 4)), (1, 0, 2)).shape
        (3, 2, 4)
    """
    (a,) = util.ensure_arraylike("transpose", a)
    nd = util.ndim_of(a)
    perm = tuple(range(nd))[::-1] if axes is None else _index_tuple(axes)
    perm = tuple(util.canonicalize_axis(i, nd) for i in perm)
    return lax.transpose(a, perm)  # a non-permutation is lax's TypeError, as in JAX


def permute_dims(a, /, axes):
    return transpose(a, axes)


def matrix_transpose(x, /):
    """Swap the last two axes, like jnp.matrix_transpose."""
    nd = ndim(x)
    if nd < 2:
        raise ValueError(f"x must be at least two-dimensional for matrix_transpose; got {nd=}")
    return swapaxes(x, -1, -2)


def swapaxes(a, axis1, axis2):
    """``a`` with two axes exchanged, like jnp.swapaxes."""
    (a,) = util.ensure_arraylike("swapaxes", a)
    nd = util.ndim_of(a)
    perm = list(range(nd))
    i, j = util.canonicalize_axis(axis1, nd), util.canonicalize_axis(axis2, nd)
    perm[i], perm[j] = perm[j], perm[i]
    return lax.transpose(a, tuple(perm))


def moveaxis(a, source, destination):
    """``a`` with axes moved from ``source`` to ``destination``, like jnp.moveaxis."""
    (a,) = util.ensure_arraylike("moveaxis", a)
    source, destination = _index_tuple(source), _index_tuple(destination)
    if len(source) != len(destination):
        raise ValueError(f"Inconsistent number of elements: {len(source)} vs {len(destination)}")
    nd = util.ndim_of(a)
    source = tuple(util.canonicalize_axis(i, nd) for i in source)
    destination = tuple(util.canonicalize_axis(i, nd) for i in destination)
    perm = [i for i in range(nd) if i not in source]
    for dest, src in sorted(zip(destination, source, strict=False)):
        perm.insert(dest, src)
    return lax.transpose(a, tuple(perm))


def expand_dims(a, axis):
    """``a`` with size-1 axes inserted at ``axis`` (a broadcast_in_dim, as in JAX).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.expand_dims(mnp.ones(3), 0).shape
        (1, 3)
        >>> mnp.expand_dims(mnp.ones(3), (0, 2)).shape
        (1, 3, 1)
    """
    (a,) = util.ensure_arraylike("expand_dims", a)
    axes = _index_tuple(axis)
    nd_out = util.ndim_of(a) + len(axes)
    dims = [util.canonicalize_axis(i, nd_out) for i in axes]
    if len(set(dims)) != len(dims):
        raise ValueError(f"repeated axis in expand_dims: {dims}")
    new_shape = list(util.shape_of(a))
    for i in sorted(dims):
        new_shape.insert(i, 1)
    kept = tuple(i for i in range(nd_out) if i not in dims)
    return lax.broadcast_in_dim(a, tuple(new_shape), kept)


def squeeze(a, axis=None):
    """``a`` without the given (or all) size-1 axes, like jnp.squeeze.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.squeeze(mnp.ones((1, 3, 1))).shape
        (3,)
    """
    (a,) = util.ensure_arraylike("squeeze", a)
    s = util.shape_of(a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(s) if d == 1)
    else:
        axes = tuple(sorted({util.canonicalize_axis(i, len(s)) for i in _index_tuple(axis)}))
        if any(s[i] != 1 for i in axes):
            raise ValueError(
                "cannot select an axis to squeeze out which has size not equal "
                f"to one, got shape={s} and dimensions={axes}"
            )
    if not axes:
        return a
    return lax.squeeze(a, axes)


def broadcast_to(array, shape):
    """``array`` broadcast to ``shape`` (numpy rules), like jnp.broadcast_to.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.broadcast_to(mnp.array([1, 2]), (2, 2))
        Array([[1, 2],
               [1, 2]], dtype=int32)
    """
    (array,) = util.ensure_arraylike("broadcast_to", array)
    return util.broadcast_to_shape(array, _index_tuple(shape))


def broadcast_arrays(*args):
    """The arguments broadcast against each other, like jnp.broadcast_arrays."""
    args = util.ensure_arraylike("broadcast_arrays", *args)
    shapes = [util.shape_of(a) for a in args]
    if not shapes or all(s == shapes[0] for s in shapes):
        return [_as_array(a) for a in args]
    result = util.broadcast_shapes(*shapes)
    return [util.broadcast_to_shape(a, result) for a in args]


def broadcast_shapes(*shapes):
    return util.broadcast_shapes(*(_index_tuple(s) if s != () else () for s in shapes))


def _as_array(a):
    return asarray(a)


def atleast_1d(*arys):
    """Each input with at least one dimension, like jnp.atleast_1d."""
    out = [array(a, copy=False, ndmin=1) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """Each input with at least two dimensions, like jnp.atleast_2d."""
    out = [array(a, copy=False, ndmin=2) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    """Each input with at least three dimensions (numpy's placement), like jnp.atleast_3d."""
    out = []
    for a in arys:
        a = _as_array(a)
        nd = util.ndim_of(a)
        if nd < 3:
            a = expand_dims(a, {0: (0, 1, 2), 1: (0, 2), 2: (2,)}[nd])
        out.append(a)
    return out[0] if len(out) == 1 else out


def astype(x, dtype, /, *, copy=False, device=None):
    """``x`` converted to ``dtype``, like jnp.astype / ``x.astype``."""
    util.check_no_unsupported("astype", device=device)
    x = _as_array(x)
    dtype = _dtypes.canonicalize(dtype, "astype")
    if dtype is None:
        raise TypeError("astype: a dtype is required")
    return util.cast(x, dtype)


# ---------------------------------------------------------------------------
# joining and splitting


def _concatenate_array(arr, axis, dtype=None):
    arr = _as_array(arr) if dtype is None else util.cast(_as_array(arr), dtype)
    s = util.shape_of(arr)
    if len(s) == 0 or s[0] == 0:
        raise ValueError("Need at least one array to concatenate.")
    if axis is None:
        return lax.reshape(arr, (util.aval(arr).size,))
    if len(s) == 1:
        raise ValueError("Zero-dimensional arrays cannot be concatenated.")
    axis = util.canonicalize_axis(axis, len(s) - 1)
    new_shape = s[1 : axis + 1] + (s[0] * s[axis + 1],) + s[axis + 2 :]
    dims = (*range(1, axis + 1), 0, *range(axis + 1, len(s)))
    return lax.reshape(arr, new_shape, dims)


def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis, like jnp.concatenate.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.concatenate([mnp.zeros(2), mnp.ones(3)])
        Array([0., 0., 1., 1., 1.], dtype=float32)
        >>> mnp.concatenate([mnp.zeros((1, 2)), mnp.ones((1, 2))], axis=1)
        Array([[0., 0., 1., 1.]], dtype=float32)
    """
    if isinstance(arrays, (core.Tracer, jax.Array, np.ndarray)):
        return _concatenate_array(arrays, axis, dtype)
    arrays = util.ensure_arraylike("concatenate", *arrays)
    if not arrays:
        raise ValueError("Need at least one array to concatenate.")
    if util.ndim_of(arrays[0]) == 0:
        raise ValueError("Zero-dimensional arrays cannot be concatenated.")
    if axis is None:
        return concatenate([ravel(a) for a in arrays], 0, dtype)
    nd = util.ndim_of(arrays[0])
    axis = util.canonicalize_axis(axis, nd)
    for a in arrays:
        s0, s = util.shape_of(arrays[0]), util.shape_of(a)
        if len(s) != nd:
            raise TypeError(
                "Cannot concatenate arrays with different numbers of dimensions: got "
                + ", ".join(str(util.shape_of(x)) for x in arrays)
            )
        if s[:axis] + s[axis + 1 :] != s0[:axis] + s0[axis + 1 :]:
            raise TypeError(  # JAX's class
                f"mnp.concatenate: all input array dimensions other than axis "
                f"{axis} must match, got shapes "
                f"{[util.shape_of(x) for x in arrays]}"
            )
    if dtype is None:
        arrays = util.promote_dtypes(*arrays)
    else:
        dtype = _dtypes.canonicalize(dtype)
        arrays = [util.cast(a, dtype) for a in arrays]
    if len(arrays) == 1:
        return _as_array(arrays[0])
    return util.concatenate_chunked(arrays, axis)


def stack(arrays, axis=0, out=None, dtype=None):
    """Join arrays along a new axis, like jnp.stack.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.stack([mnp.zeros(2), mnp.ones(2)])
        Array([[0., 0.],
               [1., 1.]], dtype=float32)
        >>> mnp.stack([mnp.zeros(2), mnp.ones(2)], axis=1)
        Array([[0., 1.],
               [0., 1.]], dtype=float32)
    """
    util.check_no_unsupported("stack", out=out)
    if isinstance(arrays, (core.Tracer, jax.Array, np.ndarray)):
        a = _as_array(arrays)
        axis = util.canonicalize_axis(axis, util.ndim_of(a))
        return concatenate(expand_dims(a, axis + 1), axis=axis, dtype=dtype)
    if not len(arrays):
        raise ValueError("Need at least one array to stack.")
    arrays = util.ensure_arraylike("stack", *arrays)
    shape0 = util.shape_of(arrays[0])
    axis = util.canonicalize_axis(axis, len(shape0) + 1)
    if any(util.shape_of(a) != shape0 for a in arrays):
        raise ValueError("All input arrays must have the same shape.")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, dtype=dtype)


def hstack(tup, dtype=None):
    """Stack arrays column-wise (along axis 1, or 0 for 1-D), like jnp.hstack."""
    arrs = [atleast_1d(m) for m in tup]
    axis = 0 if arrs and util.ndim_of(arrs[0]) == 1 else 1
    return concatenate(arrs, axis, dtype)


def vstack(tup, dtype=None):
    """Stack arrays row-wise (along axis 0 of their 2-D views), like jnp.vstack."""
    return concatenate([atleast_2d(m) for m in tup], 0, dtype)


def dstack(tup, dtype=None):
    """Stack arrays along the third axis, like jnp.dstack."""
    return concatenate([atleast_3d(m) for m in tup], 2, dtype)


def column_stack(tup):
    """Stack 1-D arrays as columns of a 2-D array, like jnp.column_stack."""
    arrs = []
    for m in tup:
        m = _as_array(m)
        arrs.append(reshape(m, (-1, 1)) if util.ndim_of(m) < 2 else m)
    return concatenate(arrs, 1)


def slice_in_dim(a, start, stop, axis, stride=1):
    """lax.slice_in_dim: ``a[..., start:stop:stride, ...]`` along ``axis``."""
    s = util.shape_of(a)
    starts = [0] * len(s)
    limits = list(s)
    strides = [1] * len(s)
    starts[axis], limits[axis], strides[axis] = start, stop, stride
    return lax.slice(a, tuple(starts), tuple(limits), None if stride == 1 else tuple(strides))


def _split(name, ary, indices_or_sections, axis):
    (ary,) = util.ensure_arraylike(name, ary)
    axis = util.canonicalize_axis(axis, util.ndim_of(ary))
    n = util.shape_of(ary)[axis]
    if isinstance(indices_or_sections, (tuple, list, np.ndarray, core.Tracer, jax.Array)) and (
        np.ndim(indices_or_sections) > 0
    ):
        points = (
            [0]
            + [
                min(max(operator.index(i) if i >= 0 else operator.index(i) + n, 0), n)
                for i in np.asarray(indices_or_sections)
            ]
            + [n]
        )
    else:
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        part, rest = divmod(n, sections)
        if rest and name == "split":
            raise ValueError(f"array split does not result in an equal division: rest is {rest}")
        sizes = [part + 1] * rest + [part] * (sections - rest)
        points = list(np.cumsum([0] + sizes))
    bounds = zip(points[:-1], points[1:], strict=True)
    return [slice_in_dim(ary, int(lo), int(max(lo, hi)), axis) for lo, hi in bounds]


def split(ary, indices_or_sections, axis=0):
    """Split into equal sections or at indices, like jnp.split (returns a list)."""
    return _split("split", ary, indices_or_sections, axis)


def array_split(ary, indices_or_sections, axis=0):
    """Like :func:`split`, allowing unequal sections, like jnp.array_split."""
    return _split("array_split", ary, indices_or_sections, axis)


def tile(A, reps):  # noqa: N803
    """``A`` repeated ``reps`` times along each axis, like jnp.tile.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.tile(mnp.array([1, 2]), 2)
        Array([1, 2, 1, 2], dtype=int32)
        >>> mnp.tile(mnp.array([1, 2]), (2, 1))
        Array([[1, 2],
               [1, 2]], dtype=int32)
    """
    (A,) = util.ensure_arraylike("tile", A)  # noqa: N806
    reps = _index_tuple(reps)
    nd = max(util.ndim_of(A), len(reps))
    reps = (1,) * (nd - len(reps)) + reps
    s = (1,) * (nd - util.ndim_of(A)) + util.shape_of(A)
    A = lax.reshape(A, s)  # noqa: N806
    interleaved = tuple(d for pair in zip(reps, s, strict=False) for d in pair)
    out = lax.broadcast_in_dim(A, interleaved, tuple(range(1, 2 * nd, 2)))
    return lax.reshape(out, tuple(r * d for r, d in zip(reps, s, strict=False)))


def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    """Repeat each element ``repeats`` times along ``axis``, like jnp.repeat.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.repeat(mnp.array([1, 2]), 2)
        Array([1, 1, 2, 2], dtype=int32)
        >>> mnp.repeat(mnp.array([[1, 2]]), 2, axis=0)
        Array([[1, 2],
               [1, 2]], dtype=int32)
    """
    (a,) = util.ensure_arraylike("repeat", a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = util.canonicalize_axis(axis, util.ndim_of(a))
    if isinstance(repeats, core.Tracer) and repeats.concrete_value() is None:
        raise NotImplementedError("mnp.repeat with traced (non-concrete) repeats is not supported")
    reps = np.asarray(util.concrete(repeats))
    s = util.shape_of(a)
    if reps.ndim == 0:
        r = int(reps)
        if total_repeat_length is not None and total_repeat_length != r * s[axis]:
            raise NotImplementedError(
                "mnp.repeat: total_repeat_length different from the "
                "repeated length is not supported"
            )
        wide = s[: axis + 1] + (r,) + s[axis + 1 :]
        dims = tuple(i for i in range(len(wide)) if i != axis + 1)
        out = lax.broadcast_in_dim(a, wide, dims)
        return lax.reshape(out, s[:axis] + (s[axis] * r,) + s[axis + 1 :])
    if reps.shape != (s[axis],):
        raise ValueError(f"repeats shape {reps.shape} does not match the axis size {s[axis]}")
    idx = np.repeat(np.arange(s[axis]), reps)
    if total_repeat_length is not None and total_repeat_length != idx.size:
        raise NotImplementedError(
            "mnp.repeat: total_repeat_length different from the repeated length is not supported"
        )
    return take_static(a, idx, axis)


def take_static(a, idx, axis):
    """``take(a, idx, axis)`` for concrete indices, as slices of runs (no gather)."""
    idx = [int(i) for i in np.asarray(idx).reshape(-1)]
    if not idx:
        return slice_in_dim(a, 0, 0, axis)
    pieces, i = [], 0
    while i < len(idx):
        j = i + 1
        step = idx[j] - idx[i] if j < len(idx) and abs(idx[j] - idx[i]) == 1 else 0
        while step and j < len(idx) and idx[j] - idx[j - 1] == step:
            j += 1
        if step >= 0:
            piece = slice_in_dim(a, idx[i], idx[j - 1] + 1, axis)
        else:
            piece = lax.rev(slice_in_dim(a, idx[j - 1], idx[i] + 1, axis), (axis,))
        pieces.append(piece)
        i = j
    return pieces[0] if len(pieces) == 1 else concatenate(pieces, axis)


def flip(m, axis=None):
    """``m`` with the order of elements reversed along ``axis``, like jnp.flip.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.flip(mnp.arange(3))
        Array([2, 1, 0], dtype=int32)
        >>> mnp.flip(mnp.arange(4).reshape(2, 2), axis=0)
        Array([[2, 3],
               [0, 1]], dtype=int32)
    """
    (m,) = util.ensure_arraylike("flip", m)
    nd = util.ndim_of(m)
    axes = tuple(range(nd)) if axis is None else _index_tuple(axis)
    axes = tuple(util.canonicalize_axis(i, nd) for i in axes)
    return lax.rev(m, axes) if axes else m


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


def roll(a, shift, axis=None):
    """Elements shifted cyclically along ``axis``, like jnp.roll.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.roll(mnp.arange(5), 2)
        Array([3, 4, 0, 1, 2], dtype=int32)
    """
    (a,) = util.ensure_arraylike("roll", a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), util.shape_of(a))
    axes = tuple(util.canonicalize_axis(i, util.ndim_of(a)) for i in _index_tuple(axis))
    if isinstance(shift, core.Tracer) and shift.concrete_value() is None:
        return _roll_dynamic(a, shift, axes)
    shifts = _index_tuple(np.asarray(util.concrete(shift)).tolist())
    for ax, s in zip(*np.broadcast_arrays(axes, shifts), strict=False):
        ax, n = int(ax), util.shape_of(a)[int(ax)]
        if n == 0:
            continue
        i = int(-s % n)
        a = concatenate([slice_in_dim(a, i, n, ax), slice_in_dim(a, 0, i, ax)], ax)
    return a


def _roll_dynamic(a, shift, axes):
    shift = _as_array(shift)
    shifts = [shift] if util.ndim_of(shift) == 0 else [shift[i] for i in range(len(shift))]
    for ax, s in zip(*_broadcast_lists(list(axes), shifts), strict=False):
        n = util.shape_of(a)[ax]
        s = remainder(util.cast(s, np.int32), np.int32(max(n, 1)))
        doubled = lax.concatenate([a, a], ax)
        starts = [np.int32(0)] * util.ndim_of(a)
        starts[ax] = lax.sub(np.int32(n), s)
        a = lax.dynamic_slice(doubled, starts, util.shape_of(a))
    return a


def _broadcast_lists(xs, ys):
    if len(xs) == len(ys):
        return xs, ys
    if len(xs) == 1:
        return xs * len(ys), ys
    if len(ys) == 1:
        return xs, ys * len(xs)
    raise ValueError("'shift' and 'axis' arguments to roll must be scalars or 1D arrays")


def _pad_pairs(pad_width, nd, name="pad_width"):
    arr = np.asarray(pad_width)
    if arr.dtype.kind not in "iu" and arr.size:
        raise TypeError(f"`{name}` must be of integral type, got {pad_width!r}")
    try:
        pairs = np.broadcast_to(arr.astype(np.int64), (nd, 2))
    except ValueError:
        raise ValueError(f"{name} given unexpected structure: {pad_width!r}") from None
    if (pairs < 0).any():
        raise ValueError(f"index can't contain negative values, got {name}={pad_width!r}")
    return [(int(lo), int(hi)) for lo, hi in pairs]


_INDEX_PAD_MODES = ("edge", "wrap", "reflect", "symmetric")


def pad(array, pad_width, mode="constant", **kwargs):
    """Pad ``array`` (modes constant, edge, wrap, reflect, symmetric), like jnp.pad.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.pad(mnp.ones((2, 2)), 1)
        Array([[0., 0., 0., 0.],
               [0., 1., 1., 0.],
               [0., 1., 1., 0.],
               [0., 0., 0., 0.]], dtype=float32)
        >>> mnp.pad(mnp.array([1, 2]), (1, 2), constant_values=9)
        Array([9, 1, 2, 9, 9], dtype=int32)
    """
    (array,) = util.ensure_arraylike("pad", array)
    nd = util.ndim_of(array)
    pairs = _pad_pairs(pad_width, nd)
    if callable(mode) or mode not in ("constant",) + _INDEX_PAD_MODES:
        raise NotImplementedError(
            f"mnp.pad: mode={mode!r} is not supported; supported modes "
            f"are {('constant',) + _INDEX_PAD_MODES}"
        )
    unknown = set(kwargs) - ({"constant_values"} if mode == "constant" else set())
    if unknown:
        raise NotImplementedError(
            f"mnp.pad: argument(s) {sorted(unknown)} not supported for mode={mode!r}"
        )
    if mode == "constant":
        return _pad_constant(array, pairs, kwargs.get("constant_values", 0))
    for ax, (lo, hi) in enumerate(pairs):
        n = util.shape_of(array)[ax]
        if lo == hi == 0:
            continue
        if n == 0:
            raise ValueError(f"mnp.pad: can't extend empty axis {ax} using mode={mode!r}")
        idx = np.pad(np.arange(n), (lo, hi), mode=mode)
        array = take_static(array, idx, ax)
    return array


def _pad_constant(array, pairs, constant_values):
    weak = util.aval(array).weak_type
    cv = constant_values
    if util.is_arraylike(cv) and util.ndim_of(util.lift(cv)) == 0:
        value = util.cast(util.lift(cv), util.dtype_of(array), weak)
        return lax.pad(array, value, tuple((lo, hi, 0) for lo, hi in pairs))
    values = np.broadcast_to(np.asarray(util.concrete(cv)), (len(pairs), 2))
    for i, (lo, hi) in enumerate(pairs):
        for side, width in ((0, lo), (1, hi)):
            if width:
                config = [(0, 0, 0)] * len(pairs)
                config[i] = (width, 0, 0) if side == 0 else (0, width, 0)
                value = util.cast(values[i, side].item(), util.dtype_of(array), weak)
                array = lax.pad(array, value, tuple(config))
    return array
