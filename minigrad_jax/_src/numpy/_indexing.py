"""NumPy indexing with JAX's semantics: ``x[idx]``, ``x.at[idx].set(...)``, take.

The strategy is jax.numpy's (jax/_src/numpy/indexing.py): static ints and
slices become ``slice`` (+ ``rev``, ``squeeze``, ``broadcast_in_dim`` for
None); traced scalar indices become ``dynamic_slice``; everything else
(integer arrays, concrete boolean masks, strided slices mixed with arrays) is
one ``gather``, and indexed updates are the matching ``scatter``.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core, errors
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import asarray, iota, ones_like, zeros
from minigrad_jax._src.numpy._shape import broadcast_to, expand_dims, ravel, squeeze, stack
from minigrad_jax._src.numpy._ufuncs import divide, power, remainder


class IndexType(enum.Enum):
    NONE = "none"
    SLICE = "slice"
    ELLIPSIS = "ellipsis"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ARRAY = "array"


class ParsedIndex(NamedTuple):
    index: Any
    typ: IndexType
    consumed_axes: tuple


def _is_array(x) -> bool:
    return isinstance(x, (core.Tracer, jax.Array, np.ndarray))


def _index_type(idx) -> IndexType:
    if idx is None:
        return IndexType.NONE
    if idx is Ellipsis:
        return IndexType.ELLIPSIS
    if isinstance(idx, slice):
        return IndexType.SLICE
    if isinstance(idx, (bool, np.bool_)):
        return IndexType.BOOLEAN
    if isinstance(idx, (int, np.integer)):
        return IndexType.INTEGER
    if _is_array(idx):
        dt = util.dtype_of(idx)
        if dt == np.bool_:
            return IndexType.BOOLEAN
        if _dtypes.is_int(dt):
            return IndexType.ARRAY
        raise TypeError(
            f"Indexer must have integer or boolean type, got indexer with type {dt.name}"
        )
    if isinstance(idx, str):
        raise TypeError(f"JAX does not support string indexing; got idx={idx!r}")
    if isinstance(idx, (float, complex, np.generic)):
        raise TypeError(
            f"Indexer must have integer or boolean type, got indexer with type "
            f"{np.dtype(type(idx)).name}"
        )
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), newaxis (`None`) and "
        f"integer or boolean arrays are valid indices. Got {idx}"
    )


def _sequence_to_array(idx):
    """A list index as an array (``x[[0, 2]]``), typed like numpy would type it."""
    if len(idx) == 0:
        return np.zeros((0,), np.int32)
    if any(isinstance(leaf, core.Tracer) for leaf in _flat(idx)):
        return asarray(idx)
    arr = np.asarray(idx)
    if arr.dtype != np.bool_ and not _dtypes.is_int(arr.dtype):
        raise TypeError(
            f"Indexer must have integer or boolean type, got indexer with type {arr.dtype.name}"
        )
    return util.lift(arr)


def _flat(seq):
    for s in seq:
        if isinstance(s, (list, tuple)):
            yield from _flat(s)
        else:
            yield s


def _to_tuple(idx):
    if isinstance(idx, tuple):
        return idx
    if isinstance(idx, Sequence) and not isinstance(idx, str):
        # As in JAX 0.10: a bare list is ambiguous, so it is rejected.
        raise TypeError(
            "Using a non-tuple sequence for multidimensional indexing is not "
            "allowed; use `arr[array(seq)]` instead of `arr[seq]`."
        )
    return (idx,)


def parse_indices(idx, shape) -> list:
    """Classify each index and record the array axes it consumes (JAX's _parse_indices)."""
    indices = [_sequence_to_array(i) if isinstance(i, (list, tuple)) else i for i in _to_tuple(idx)]
    types = [_index_type(i) for i in indices]
    consumed = []
    ellipses = []
    for k, (i, t) in enumerate(zip(indices, types, strict=False)):
        if t in (IndexType.NONE, IndexType.ELLIPSIS):
            consumed.append(0)
            if t is IndexType.ELLIPSIS:
                ellipses.append(k)
        elif t is IndexType.BOOLEAN:
            consumed.append(util.ndim_of(i) if _is_array(i) else 0)
        else:
            consumed.append(1)
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    total = sum(consumed)
    if total > len(shape):
        raise IndexError(
            f"Too many indices: array is {len(shape)}-dimensional, but {total} were indexed"
        )
    if ellipses:
        consumed[ellipses[0]] = len(shape) - total
    out, dim = [], 0
    for i, t, n in zip(indices, types, consumed, strict=False):
        out.append(ParsedIndex(i, t, tuple(range(dim, dim + n))))
        dim += n
    return out


def _expand_ellipses(indices, shape) -> list:
    """Ellipsis and the implicit trailing dimensions become explicit full slices."""
    out, consumed = [], 0
    for p in indices:
        consumed += len(p.consumed_axes)
        if p.typ is IndexType.ELLIPSIS:
            out.extend(ParsedIndex(slice(None), IndexType.SLICE, (a,)) for a in p.consumed_axes)
        else:
            out.append(p)
    out.extend(ParsedIndex(slice(None), IndexType.SLICE, (a,)) for a in range(consumed, len(shape)))
    return out


def _static_slice_entry(v):
    if v is None:
        return None
    if isinstance(v, core.Tracer):
        val = v.concrete_value()
        if val is None:
            return _NOT_STATIC
        v = val
    try:
        return operator.index(v)
    except TypeError:
        return _NOT_STATIC


_NOT_STATIC = object()


def _static_slice(s: slice, position: int) -> slice:
    entries = [_static_slice_entry(v) for v in (s.start, s.stop, s.step)]
    if any(e is _NOT_STATIC for e in entries):
        raise IndexError(f"Slice entries must be static integers. Got {s} at position {position}")
    if entries[2] == 0:
        raise ValueError("slice step cannot be zero")
    return slice(*entries)


# ---------------------------------------------------------------------------
# x[idx]


def _getitem(x, idx, *, mode=None, fill_value=None, indices_are_sorted=False, unique_indices=False):
    """``x[idx]`` with jax.numpy's semantics (out-of-bound static ints are clamped).

    Example:
        >>> x = mnp.arange(12).reshape(3, 4)
        >>> _getitem(x, (slice(None), -1))   # x[:, -1]
    """
    (x,) = util.ensure_arraylike("getitem", x)
    shape = util.shape_of(x)
    indices = parse_indices(idx, shape)
    indices = [
        p._replace(index=_static_slice(p.index, k)) if p.typ is IndexType.SLICE else p
        for k, p in enumerate(indices)
    ]
    slicing_ok = (
        mode is None
        or mode in ("promise_in_bounds", "clip")
        or (mode in (jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS, jax.lax.GatherScatterMode.CLIP))
    )
    if (
        slicing_ok
        and all(p.typ in _STATIC_TYPES for p in indices)
        and _static_ints_in_bounds(indices, shape)
    ):
        return _static_slice_take(x, _expand_ellipses(indices, shape))
    if slicing_ok and all(_dynamic_ok(p) for p in indices):
        return _dynamic_slice_take(x, _expand_ellipses(indices, shape))
    return _gather_take(x, indices, mode, fill_value, indices_are_sorted, unique_indices)


_STATIC_TYPES = (IndexType.INTEGER, IndexType.ELLIPSIS, IndexType.SLICE, IndexType.NONE)


def _static_ints_in_bounds(indices, shape) -> bool:
    """JAX slices statically only in-bounds ints; others go to dynamic_slice (clamped)."""
    for p in indices:
        if p.typ is IndexType.INTEGER:
            (axis,) = p.consumed_axes
            i = int(p.index)
            if not -shape[axis] <= i < shape[axis]:
                return False
    return True


def _dynamic_ok(p: ParsedIndex) -> bool:
    if p.typ in (IndexType.INTEGER, IndexType.ELLIPSIS, IndexType.NONE):
        return True
    if p.typ is IndexType.SLICE:
        return p.index.step in (None, 1, -1)
    return p.typ is IndexType.ARRAY and util.ndim_of(p.index) == 0


def _finish(result, rev_axes, squeeze_axes, newaxis_dims):
    if rev_axes:
        result = lax.rev(result, tuple(rev_axes))
    if squeeze_axes:
        result = lax.squeeze(result, tuple(squeeze_axes))
    if newaxis_dims:
        result = expand_dims(result, tuple(newaxis_dims))
    return result


def _static_slice_take(x, indices):
    shape = util.shape_of(x)
    starts, limits, strides, rev_axes, squeeze_axes, newaxis_dims = [], [], [], [], [], []
    for p in indices:
        if p.typ is IndexType.NONE:
            newaxis_dims.append(len(starts) - len(squeeze_axes) + len(newaxis_dims))
        elif p.typ is IndexType.INTEGER:
            (axis,) = p.consumed_axes
            if shape[axis] == 0:
                raise IndexError(f"index is out of bounds for axis {axis} with size 0")
            i = int(p.index)
            i = i + shape[axis] if i < 0 else i
            i = min(max(i, 0), shape[axis] - 1)
            starts.append(i)
            limits.append(i + 1)
            strides.append(1)
            squeeze_axes.append(axis)
        else:
            (axis,) = p.consumed_axes
            n = shape[axis]
            start, stop, stride = p.index.indices(n)
            if stride < 0:
                new_start = min(n, stop + 1 + abs(start - stop - 1) % abs(stride))
                starts.append(new_start)
                limits.append(max(new_start, start + 1))
                strides.append(-stride)
                rev_axes.append(axis)
            else:
                starts.append(start)
                limits.append(max(start, stop))
                strides.append(stride)
    trivial = all(s == 1 for s in strides) and all(
        (a, b) == (0, n) for a, b, n in zip(starts, limits, shape, strict=False)
    )
    result = x
    if not trivial:
        result = lax.slice(
            x,
            tuple(starts),
            tuple(limits),
            None if all(s == 1 for s in strides) else tuple(strides),
        )
    return _finish(result, rev_axes, squeeze_axes, newaxis_dims)


def _normalize_start(i, size, dtype, convert):
    """A start index as ``dtype``, negative ones wrapped (JAX's _dynamic_slice_indices).

    Like JAX, several start indices are first all converted to one dtype, which
    turns static ints into constants that are then wrapped by staged ops.
    """
    if isinstance(i, (int, np.integer)) and not convert:
        return i + size if i < 0 else i
    i = util.cast(i, dtype) if util.dtype_of(i) != dtype else i
    if _dtypes.is_unsigned(dtype):
        return i
    return lax.select_n(lax.lt(i, np.asarray(0, dtype)), i, lax.add(i, np.asarray(size, dtype)))


def _dynamic_slice_take(x, indices):
    shape = util.shape_of(x)
    starts, sizes, rev_axes, squeeze_axes, newaxis_dims = [], [], [], [], []
    for p in indices:
        if p.typ is IndexType.NONE:
            newaxis_dims.append(len(starts) - len(squeeze_axes) + len(newaxis_dims))
        elif p.typ in (IndexType.INTEGER, IndexType.ARRAY):
            (axis,) = p.consumed_axes
            if shape[axis] == 0:
                raise IndexError(f"index is out of bounds for axis {axis} with size 0")
            starts.append(p.index)
            sizes.append(1)
            squeeze_axes.append(axis)
        else:
            (axis,) = p.consumed_axes
            start, stop, stride = p.index.indices(shape[axis])
            if stride < 0:
                new_start = stop + 1 + abs(start - stop - 1) % abs(stride)
                starts.append(new_start)
                sizes.append(max(0, start + 1 - new_start))
                rev_axes.append(axis)
            else:
                starts.append(start)
                sizes.append(max(0, stop - start))
    dtypes_ = {util.dtype_of(i) for i in starts if not isinstance(i, (int, np.integer))}
    dt = util.index_dtype(shape) if len(starts) > 1 or not dtypes_ else dtypes_.pop()
    convert = len(starts) > 1
    starts = [_normalize_start(i, n, dt, convert) for i, n in zip(starts, shape, strict=True)]
    result = _dynamic_slice(x, starts, tuple(sizes))
    return _finish(result, rev_axes, squeeze_axes, newaxis_dims)


def _dynamic_slice(x, starts, sizes):
    # The starts are already wrapped above, in JAX's order of operations.
    return lax.dynamic_slice(x, starts, sizes, allow_negative_indices=False)


# ---------------------------------------------------------------------------
# gather (and the indexer shared with scatter)


class _GatherIndexer(NamedTuple):
    slice_shape: tuple
    gather_slice_shape: tuple
    gather_indices: Any
    dnums: Any
    unique_indices: bool
    indices_are_sorted: bool
    reversed_y_dims: tuple
    newaxis_dims: tuple
    scalar_bool_dims: tuple


def _expand_bool_indices(indices, shape) -> list:
    """Concrete boolean masks become integer arrays (np.nonzero), as in JAX."""
    out = []
    for k, p in enumerate(indices):
        if p.typ is not IndexType.BOOLEAN:
            out.append(p)
            continue
        if not _is_array(p.index):
            out.append(p._replace(index=bool(p.index)))  # a scalar: handled as a new axis
            continue
        if not util.is_concrete(p.index):
            raise errors.NonConcreteBooleanIndexError(
                f"Array boolean indices must be concrete; got a traced boolean "
                f"index of type {util.aval(p.index).str_short()} at position {k}. "
                "Use mnp.where(mask, x, y) instead of x[mask]."
            )
        mask = np.asarray(util.concrete(p.index))
        if mask.ndim == 0:
            out.append(p._replace(index=bool(mask)))
            continue
        expected = tuple(shape[a] for a in p.consumed_axes)
        if mask.shape != expected:
            raise IndexError(
                f"boolean index did not match shape of indexed array in index "
                f"{k}: got {mask.shape}, expected {expected}"
            )
        for arr, axis in zip(np.nonzero(mask), p.consumed_axes, strict=False):
            out.append(ParsedIndex(util.lift(arr), IndexType.ARRAY, (axis,)))
    return out


def _expand_scalar_bools(indices, shape):
    """A scalar bool indexes a new size-1 axis with ``arange(int(b))``, as in JAX.

    Returns the indices, the operand's shape with those axes and their positions.
    """
    new, dims, shape, current = [], [], list(shape), 0
    for p in indices:
        if p.typ is IndexType.BOOLEAN:
            shape.insert(current, 1)
            dims.append(current)
            new.append(
                ParsedIndex(np.arange(int(p.index), dtype=np.int32), IndexType.ARRAY, (current,))
            )
            current += 1
        else:
            n = len(p.consumed_axes)
            new.append(p._replace(consumed_axes=tuple(range(current, current + n))))
            current += n
    return new, tuple(shape), tuple(dims)


def _normalize_array_index(i, size):
    if _dtypes.is_unsigned(util.dtype_of(i)):
        return i
    size_c = util.const(i, size)
    return lax.select_n(lax.lt(i, util.const(i, 0)), i, lax.add(i, size_c))


def index_to_gather(shape, indices, normalize_indices=True) -> _GatherIndexer:
    """JAX's _index_to_gather: dimension numbers, indices and shapes for one gather."""
    is_advanced = np.nonzero([p.typ in (IndexType.ARRAY, IndexType.INTEGER) for p in indices])[0]
    advanced_contiguous = bool(np.all(np.diff(is_advanced) == 1))
    indices = _expand_ellipses(indices, shape)
    indices, shape, scalar_bool_dims = _expand_scalar_bools(indices, shape)
    if normalize_indices:
        norm = []
        for p in indices:
            if p.typ is IndexType.INTEGER:
                (axis,) = p.consumed_axes
                i = int(p.index)
                norm.append(p._replace(index=i + shape[axis] if i < 0 else i))
            elif p.typ is IndexType.ARRAY:
                (axis,) = p.consumed_axes
                norm.append(p._replace(index=_normalize_array_index(p.index, shape[axis])))
            else:
                norm.append(p)
        indices = norm

    advanced, idx_adv_axes, x_adv_axes = [], [], []
    if any(p.typ is IndexType.ARRAY and util.ndim_of(p.index) > 0 for p in indices):
        without_none = [(i, p) for i, p in enumerate(indices) if p.typ is not IndexType.NONE]
        for j, (i, p) in enumerate(without_none):
            if p.typ in (IndexType.ARRAY, IndexType.INTEGER):
                advanced.append(asarray(p.index))
                idx_adv_axes.append(i)
                x_adv_axes.append(j)

    index_dtype = util.index_dtype(shape)
    x_axis = y_axis = collapsed_y_axis = 0
    offset_dims, collapsed_slice_dims, start_index_map = [], [], []
    gather_indices, gather_indices_shape = [], []
    slice_shape, newaxis_dims, reversed_y_dims, gather_slice_shape = [], [], [], []

    for idx_pos, p in enumerate(indices):
        if advanced and (
            (advanced_contiguous and idx_pos == idx_adv_axes[0])
            or (not advanced_contiguous and idx_pos == 0)
        ):
            arrs = util.broadcast_arrays(*advanced)
            adv_shape = util.shape_of(arrs[0])
            start_dim = len(gather_indices_shape)
            gather_indices.extend((util.cast(a, index_dtype), start_dim) for a in arrs)
            gather_indices_shape += adv_shape
            start_index_map.extend(x_adv_axes)
            collapsed_slice_dims.extend(x_adv_axes)
            slice_shape.extend(adv_shape)
            y_axis += len(adv_shape)
            collapsed_y_axis += len(adv_shape)
        if idx_pos in idx_adv_axes:
            x_axis += 1
            gather_slice_shape.append(1)
            continue
        if p.typ in (IndexType.INTEGER, IndexType.ARRAY) and _index_ndim(p.index) == 0:
            if shape[x_axis] == 0:
                raise IndexError(f"index is out of bounds for axis {x_axis} with size 0")
            gather_indices.append((util.cast(p.index, index_dtype), len(gather_indices_shape)))
            collapsed_slice_dims.append(x_axis)
            gather_slice_shape.append(1)
            start_index_map.append(x_axis)
            x_axis += 1
        elif p.typ is IndexType.NONE:
            slice_shape.append(1)
            newaxis_dims.append(y_axis)
            y_axis += 1
        elif p.typ is IndexType.SLICE:
            start, step, size = _canonicalize_slice(p.index, shape[x_axis])
            slice_shape.append(size)
            if step == 1:
                if size != shape[x_axis]:
                    gather_indices.append(
                        (np.asarray(start, index_dtype), len(gather_indices_shape))
                    )
                    start_index_map.append(x_axis)
                gather_slice_shape.append(size)
                offset_dims.append(collapsed_y_axis)
            else:
                idx = lax.add(
                    np.asarray(start, index_dtype),
                    lax.mul(np.asarray(step, index_dtype), iota(index_dtype, (size,), 0)),
                )
                if step < 0:
                    reversed_y_dims.append(collapsed_y_axis)
                    idx = lax.rev(idx, (0,))
                gather_slice_shape.append(1)
                gather_indices.append((idx, len(gather_indices_shape)))
                start_index_map.append(x_axis)
                gather_indices_shape.append(size)
                collapsed_slice_dims.append(x_axis)
            collapsed_y_axis += 1
            y_axis += 1
            x_axis += 1
        else:
            raise IndexError(f"Got unsupported indexer at position {idx_pos}: {p.index!r}")

    if not gather_indices:
        gather_indices_array = np.zeros((0,), index_dtype)
    elif len(gather_indices) == 1:
        g, _ = gather_indices[0]
        gather_indices_array = expand_dims(g, (util.ndim_of(g),))
    else:
        last = len(gather_indices_shape)
        full_shape = tuple(gather_indices_shape) + (1,)
        gather_indices_array = lax.concatenate(
            [
                lax.broadcast_in_dim(g, full_shape, tuple(range(i, i + util.ndim_of(g))))
                for g, i in gather_indices
            ],
            last,
        )
    dnums = jax.lax.GatherDimensionNumbers(
        offset_dims=tuple(offset_dims),
        collapsed_slice_dims=tuple(sorted(collapsed_slice_dims)),
        start_index_map=tuple(start_index_map),
    )
    return _GatherIndexer(
        slice_shape=tuple(slice_shape),
        gather_slice_shape=tuple(gather_slice_shape),
        gather_indices=gather_indices_array,
        dnums=dnums,
        unique_indices=not advanced,
        indices_are_sorted=not advanced,
        reversed_y_dims=tuple(reversed_y_dims),
        newaxis_dims=tuple(newaxis_dims),
        scalar_bool_dims=scalar_bool_dims,
    )


def _index_ndim(i) -> int:
    return 0 if isinstance(i, (int, np.integer)) else util.ndim_of(i)


def _canonicalize_slice(s: slice, axis_size):
    """(start, step, size) of a static slice, as jax.core.canonicalize_slice."""
    step = 1 if s.step is None else s.step
    pos = step > 0

    def clamp(i):
        if i >= 0:
            return min(axis_size, i) if pos else min(axis_size - 1, i)
        return max(0, axis_size + i) if pos else max(-1, axis_size + i)

    start = (0 if pos else axis_size - 1) if s.start is None else clamp(s.start)
    stop = (axis_size if pos else -1) if s.stop is None else clamp(s.stop)
    gap = step if pos else -step
    distance = stop - start if pos else start - stop
    return start, step, max(0, distance + gap - 1) // gap


def _gather_take(x, indices, mode, fill_value, indices_are_sorted, unique_indices):
    shape = util.shape_of(x)
    indexer = index_to_gather(shape, _expand_bool_indices(indices, shape))
    if 0 in indexer.slice_shape:
        return zeros(indexer.slice_shape, util.dtype_of(x))
    y = x
    if indexer.scalar_bool_dims:
        y = expand_dims(y, indexer.scalar_bool_dims)
    if util.shape_of(indexer.gather_indices) and 0 not in util.shape_of(indexer.gather_indices):
        y = gather(
            y,
            indexer.gather_indices,
            indexer.dnums,
            indexer.gather_slice_shape,
            unique_indices=unique_indices or indexer.unique_indices,
            indices_are_sorted=indices_are_sorted or indexer.indices_are_sorted,
            mode=mode,
            fill_value=fill_value,
        )
    if indexer.reversed_y_dims:
        y = lax.rev(y, indexer.reversed_y_dims)
    if indexer.newaxis_dims:
        y = expand_dims(y, indexer.newaxis_dims)
    return y


def gather(
    operand,
    indices,
    dnums,
    slice_sizes,
    *,
    unique_indices=False,
    indices_are_sorted=False,
    mode=None,
    fill_value=None,
):
    """lax.gather with JAX's defaults (mode None is PROMISE_IN_BOUNDS; fill NaN/extremes)."""
    if mode is None:
        mode = jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS
    mode = jax.lax.GatherScatterMode.from_any(mode)
    if mode == jax.lax.GatherScatterMode.FILL_OR_DROP:
        if fill_value is None:
            fill_value = _default_fill(util.dtype_of(operand))
    else:
        fill_value = None
    return lax.gather(
        operand,
        indices,
        dnums,
        tuple(slice_sizes),
        unique_indices=bool(unique_indices),
        indices_are_sorted=bool(indices_are_sorted),
        mode=mode,
        fill_value=fill_value,
    )


def _default_fill(dtype):
    if _dtypes.is_inexact(dtype):
        return np.nan
    if _dtypes.is_unsigned(dtype):
        return int(np.iinfo(dtype).max)
    if _dtypes.is_int(dtype):
        return int(np.iinfo(dtype).min)
    return True


# ---------------------------------------------------------------------------
# x.at[idx].set / add / subtract / multiply / divide / power / min / max / apply / get


def _scatter_update(
    x,
    idx,
    y,
    scatter_op,
    indices_are_sorted=False,
    unique_indices=False,
    mode=None,
    normalize_indices=True,
):
    """``x[idx] op= y`` without mutation (JAX's _scatter_update).

    ``scatter_op`` is the lax scatter to bind (``lax.scatter``, ``lax.scatter_add``,
    ``lax.scatter_mul``, ...), called as ``scatter_op(x, indices, y, dnums, **kwargs)``.
    """
    (x,) = util.ensure_arraylike("scatter", x)
    x_aval = util.aval(x)
    if (
        isinstance(y, int)
        and not isinstance(y, bool)
        and _dtypes.is_int(x_aval.dtype)
        and np.iinfo(x_aval.dtype).min <= y <= np.iinfo(x_aval.dtype).max
    ):
        y = asarray(y, dtype=x_aval.dtype)
    else:
        y = asarray(y)
    shape = x_aval.shape
    indices = parse_indices(idx, shape)
    indices = [
        p._replace(index=_static_slice(p.index, k)) if p.typ is IndexType.SLICE else p
        for k, p in enumerate(indices)
    ]
    indexer = index_to_gather(shape, _expand_bool_indices(indices, shape), normalize_indices)
    if 0 in indexer.slice_shape:
        return x
    x, y = util.promote_dtypes(x, y)
    if indexer.scalar_bool_dims:
        x = expand_dims(x, indexer.scalar_bool_dims)
    y = broadcast_to(y, indexer.slice_shape)
    if indexer.newaxis_dims:
        y = squeeze(y, indexer.newaxis_dims)
    if indexer.reversed_y_dims:
        y = lax.rev(y, indexer.reversed_y_dims)
    dnums = jax.lax.ScatterDimensionNumbers(
        update_window_dims=indexer.dnums.offset_dims,
        inserted_window_dims=indexer.dnums.collapsed_slice_dims,
        scatter_dims_to_operand_dims=indexer.dnums.start_index_map,
    )
    out = scatter_op(
        x,
        indexer.gather_indices,
        y,
        dnums,
        indices_are_sorted=indexer.indices_are_sorted or indices_are_sorted,
        unique_indices=indexer.unique_indices or unique_indices,
        mode=jax.lax.GatherScatterMode.from_any(mode),
    )
    if indexer.scalar_bool_dims:
        out = squeeze(out, indexer.scalar_bool_dims)
    return util.cast(out, x_aval.dtype, x_aval.weak_type)


class _IndexUpdateRef:
    """``x.at[idx]``: functional indexed updates, as in JAX."""

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        """``x[idx]`` (with an optional out-of-bounds ``mode``/``fill_value``)."""
        return _getitem(
            self.array,
            self.index,
            mode=mode,
            fill_value=fill_value,
            indices_are_sorted=indices_are_sorted,
            unique_indices=unique_indices,
        )

    def _update(self, values, op, indices_are_sorted, unique_indices, mode, array=None):
        return _scatter_update(
            self.array if array is None else array,
            self.index,
            values,
            op,
            indices_are_sorted,
            unique_indices,
            mode,
        )

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] = values``."""
        return self._update(values, lax.scatter, indices_are_sorted, unique_indices, mode)

    def apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``func`` applied at ``idx`` (repeated indices apply it again), as JAX.

        ``func`` is a unary function of a scalar written with minigrad_jax ops; like
        JAX's, the result is not differentiable.
        """

        def scatter_apply(x, indices, y, dims, **kwargs):
            return lax.scatter_apply(
                x, indices, func, dims, update_shape=util.shape_of(y), **kwargs
            )

        zero = util.full_like_internal(self.array, 0, util.dtype_of(self.array), shape=())
        return self._update(zero, scatter_apply, indices_are_sorted, unique_indices, mode)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] += values`` (repeated indices accumulate)."""
        return self._update(values, lax.scatter_add, indices_are_sorted, unique_indices, mode)

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] -= values`` (JAX's scatter-sub)."""
        return self._update(values, lax.scatter_sub, indices_are_sorted, unique_indices, mode)

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] *= values`` (repeated indices multiply)."""
        return self._update(values, lax.scatter_mul, indices_are_sorted, unique_indices, mode)

    mul = multiply

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] /= values``: ``x / (ones.at[idx].multiply(values))``, as JAX."""
        denom = self._update(
            values,
            lax.scatter_mul,
            indices_are_sorted,
            unique_indices,
            mode,
            array=ones_like(self.array),
        )
        return divide(self.array, denom)

    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] **= values``: ``x ** (ones.at[idx].multiply(values))``, as JAX."""
        exponent = self._update(
            values,
            lax.scatter_mul,
            indices_are_sorted,
            unique_indices,
            mode,
            array=ones_like(self.array),
        )
        return power(self.array, exponent)

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] = minimum(x[idx], values)``."""
        return self._update(values, lax.scatter_min, indices_are_sorted, unique_indices, mode)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] = maximum(x[idx], values)``."""
        return self._update(values, lax.scatter_max, indices_are_sorted, unique_indices, mode)


class _IndexUpdateHelper:
    """The object behind ``x.at``: ``x.at[idx]`` gives an :class:`_IndexUpdateRef`.

    Example:
        >>> x = mnp.zeros(3)
        >>> _IndexUpdateHelper(x)[1].add(2.0)   # x.at[1].add(2.0)
    """

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


# ---------------------------------------------------------------------------
# take / take_along_axis


def take(
    a,
    indices,
    axis=None,
    out=None,
    mode=None,
    unique_indices=False,
    indices_are_sorted=False,
    fill_value=None,
):
    """Elements of ``a`` at ``indices`` along ``axis`` (out of bounds: NaN fill), like jnp.take.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.take(mnp.arange(5.0), mnp.array([0, 4]))
        Array([0., 4.], dtype=float32)
        >>> mnp.take(mnp.arange(6).reshape(2, 3), mnp.array([2, 0]), axis=1)
        Array([[2, 0],
               [5, 3]], dtype=int32)
    """
    util.check_no_unsupported("take", out=out)
    a, indices = util.ensure_arraylike("take", a, indices)

    if axis is None:
        a, axis_idx = ravel(a), 0
    else:
        axis_idx = util.canonicalize_axis(axis, util.ndim_of(a))
    if not _dtypes.is_int(util.dtype_of(indices)):
        raise TypeError(f"take: indices must be integers, got {util.dtype_of(indices).name}")
    n = util.shape_of(a)[axis_idx]
    if mode is None or mode == "fill":
        gather_mode = jax.lax.GatherScatterMode.FILL_OR_DROP
        indices = _normalize_array_index(indices, n)
    elif mode == "raise":
        raise NotImplementedError("The 'raise' mode to mnp.take is not supported.")
    elif mode == "wrap":
        indices = remainder(indices, util.const(indices, n))
        gather_mode = jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS
    elif mode == "clip":
        gather_mode = jax.lax.GatherScatterMode.CLIP
    else:
        raise ValueError(f"Invalid mode '{mode}' for np.take")
    a_shape, idx_shape = util.shape_of(a), util.shape_of(indices)
    if n == 0:
        if util.aval(indices).size:
            raise IndexError("Cannot do a non-empty mnp.take() from an empty axis.")
        return a
    if util.aval(indices).size == 0:
        return zeros(a_shape[:axis_idx] + idx_shape + a_shape[axis_idx + 1 :], util.dtype_of(a))
    slice_sizes = list(a_shape)
    slice_sizes[axis_idx] = 1
    index_dims = len(idx_shape)
    dnums = jax.lax.GatherDimensionNumbers(
        offset_dims=tuple(
            list(range(axis_idx))
            + list(range(axis_idx + index_dims, len(a_shape) + index_dims - 1))
        ),
        collapsed_slice_dims=(axis_idx,),
        start_index_map=(axis_idx,),
    )
    return gather(
        a,
        expand_dims(indices, index_dims),
        dnums,
        slice_sizes,
        mode=gather_mode,
        unique_indices=unique_indices,
        indices_are_sorted=indices_are_sorted,
        fill_value=fill_value,
    )


def take_along_axis(arr, indices, axis=-1, mode=None, fill_value=None):
    """``arr`` indexed by ``indices`` along ``axis`` (shapes broadcast), like jnp.take_along_axis.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> x = mnp.array([[3.0, 1.0], [0.0, 2.0]])
        >>> mnp.take_along_axis(x, mnp.argsort(x, axis=1), axis=1)
        Array([[1., 3.],
               [0., 2.]], dtype=float32)
    """
    a, indices = util.ensure_arraylike("take_along_axis", arr, indices)

    if not _dtypes.is_int(util.dtype_of(indices)):
        raise TypeError(
            f"take_along_axis indices must be of integer type, got {util.dtype_of(indices).name}"
        )
    if axis is None:
        if util.ndim_of(indices) != 1:
            raise ValueError(
                f"take_along_axis indices must be 1D if axis=None, got shape "
                f"{util.shape_of(indices)}"
            )
        a, axis = ravel(a), 0
    rank = util.ndim_of(a)
    if rank != util.ndim_of(indices):
        raise ValueError(
            f"indices and arr must have the same number of dimensions; "
            f"{util.ndim_of(indices)} vs. {rank}"
        )
    axis = util.canonicalize_axis(axis, rank)
    a_shape = util.shape_of(a)
    arr_shape = a_shape[:axis] + (1,) + a_shape[axis + 1 :]
    out_shape = util.broadcast_shapes(util.shape_of(indices), arr_shape)
    if a_shape[axis] == 0:
        return util.full_like_internal(a, 0, shape=out_shape)
    dt = util.index_dtype(a_shape)
    idx = _normalize_array_index(util.cast(indices, dt), a_shape[axis])
    idx = util.broadcast_to_shape(idx, out_shape)
    coords = [
        idx
        if d == axis
        else (iota(dt, out_shape, d) if a_shape[d] != 1 else util.full_like_internal(idx, 0))
        for d in range(rank)
    ]
    gather_indices = stack(coords, axis=-1)
    dnums = jax.lax.GatherDimensionNumbers(
        offset_dims=(), collapsed_slice_dims=tuple(range(rank)), start_index_map=tuple(range(rank))
    )
    return gather(
        a,
        gather_indices,
        dnums,
        (1,) * rank,
        mode="fill" if mode is None else mode,
        fill_value=fill_value,
    )
