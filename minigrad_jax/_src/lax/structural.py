"""Shape-changing primitives (squeeze, rev, pad, concatenate, split, slice, dynamic_slice,
...) and wrappers: one stanza each. The basic ones (broadcast_in_dim, reshape, transpose,
convert_element_type, iota, full) are in base.py, below elementwise, and re-exported here.
"""

from __future__ import annotations

import builtins

import jax
import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.lax import indexing

# The basic shape primitives live in base (the bottom layer). Those marked
# re-exported are not used here: callers find every shape primitive here.
from minigrad_jax._src.lax.base import (
    broadcast,
    broadcast_in_dim,
    broadcasted_iota,  # noqa: F401  (re-exported)
    canonical_axis,
    convert_element_type,  # noqa: F401  (re-exported)
    expand_dims,
    full,
    full_like,
    ints,
    iota,  # noqa: F401  (re-exported)
    is_array,
    no_sharding,
    reduce_sum,
    reshape,
    transpose,  # noqa: F401  (re-exported)
)
from minigrad_jax._src.lax.elementwise import add, lt, select_n, sub
from minigrad_jax._src.lax.linalg import dot_general

# ---------------------------------------------------------------------------
# squeeze (and expand_dims, which JAX writes as a broadcast_in_dim)

squeeze_p = Primitive("squeeze")


def _squeeze_abstract(x, *, dimensions):
    _check_axes("squeeze", dimensions, x.ndim)
    if any(x.shape[d] != 1 for d in dimensions):
        raise ValueError(
            f"cannot squeeze axes {dimensions} of an array of shape {x.shape}: "
            "only axes of size 1 can be squeezed"
        )
    shape = tuple(s for i, s in enumerate(x.shape) if i not in dimensions)
    return ShapedArray(shape, x.dtype, x.weak_type)


def _squeeze_batch(axis_size, args, dims, *, dimensions):
    x = batching.moveaxis(args[0], dims[0], 0)
    return squeeze(x, tuple(d + 1 for d in dimensions)), 0


core.abstract_eval_rules[squeeze_p] = _squeeze_abstract
ad.deflinear(
    squeeze_p,
    lambda ct, x, *, dimensions: [None if type(ct) is Zero else expand_dims(ct, dimensions)],
)
batching.batch_rules[squeeze_p] = _squeeze_batch
lowering.register(squeeze_p, lambda x, *, dimensions: jlax.squeeze(x, dimensions))


def squeeze(array, dimensions):
    """Remove the given axes (each of size 1).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.squeeze(mnp.ones((1, 3, 1)), (0, 2)).shape
        (3,)
    """
    ndim = core.get_aval(array).ndim
    dimensions = tuple(sorted(canonical_axis("squeeze", d, ndim) for d in dimensions))
    if not dimensions and is_array(array):
        return array
    return squeeze_p.bind(array, dimensions=dimensions)


# ---------------------------------------------------------------------------
# rev

rev_p = Primitive("rev")


def _rev_abstract(x, *, dimensions):
    _check_axes("rev", dimensions, x.ndim)
    return x


def _rev_batch(axis_size, args, dims, *, dimensions):
    (x,), (d,) = args, dims
    return rev(x, tuple(a + (a >= d) for a in dimensions)), d


core.abstract_eval_rules[rev_p] = _rev_abstract
ad.deflinear(
    rev_p, lambda ct, x, *, dimensions: [None if type(ct) is Zero else rev(ct, dimensions)]
)
batching.batch_rules[rev_p] = _rev_batch
lowering.register(rev_p, lambda x, *, dimensions: jlax.rev(x, dimensions))


def rev(operand, dimensions):
    """Reverse the order of elements along ``dimensions``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.rev(mnp.arange(4), (0,))
        Array([3, 2, 1, 0], dtype=int32)
    """
    return rev_p.bind(operand, dimensions=ints(dimensions))


# ---------------------------------------------------------------------------
# pad: low/high padding (negative trims) and interior padding; linear in both inputs

pad_p = Primitive("pad")


def _pad_abstract(x, padding_value, *, padding_config):
    if padding_value.ndim != 0:
        raise ValueError(f"padding_value must be a scalar, got shape {padding_value.shape}")
    if x.dtype != padding_value.dtype:
        raise TypeError(
            f"pad operand and padding_value must have the same dtype, got "
            f"{x.dtype.name} and {padding_value.dtype.name}"
        )
    if len(padding_config) != x.ndim:
        raise ValueError(
            f"padding_config {padding_config} must have one (low, high, "
            f"interior) entry per operand axis (shape {x.shape})"
        )
    if any(i < 0 for _, _, i in padding_config):
        raise ValueError(f"interior padding must be non-negative, got {padding_config}")
    shape = tuple(
        lo + hi + (d + (d - 1) * i if d else 0)
        for (lo, hi, i), d in zip(padding_config, x.shape, strict=True)
    )
    if any(d < 0 for d in shape):
        raise ValueError(
            f"padding_config {padding_config} gives a negative size {shape} "
            f"for an operand of shape {x.shape}"
        )
    return ShapedArray(shape, x.dtype, x.weak_type and padding_value.weak_type)


def _pad_transpose(ct, x, padding_value, *, padding_config):
    if type(ct) is Zero:
        return [None, None]
    lo, hi, interior = zip(*padding_config, strict=True) if padding_config else ((), (), ())
    # Undo the low/high padding (negative padding trims, so negating re-grows
    # with zeros), then take every (interior + 1)-th element.
    unpadded = pad(ct, _zero_scalar(ct), [(-a, -b, 0) for a, b in zip(lo, hi, strict=True)])
    ct_x = slice(
        unpadded, (0,) * len(lo), core.get_aval(unpadded).shape, tuple(i + 1 for i in interior)
    )
    ct_pv = None
    if is_undefined(padding_value):
        total = lambda v: reduce_sum(v, tuple(range(core.get_aval(v).ndim)))  # noqa: E731
        ct_pv = sub(total(ct), total(ct_x))
    return [ct_x if is_undefined(x) else None, ct_pv]


def _pad_batch(axis_size, args, dims, *, padding_config):
    (x, pv), (xd, pvd) = args, dims
    if xd is None:
        x, xd = broadcast(x, (axis_size,)), 0
    config = list(padding_config)
    config.insert(xd, (0, 0, 0))
    if pvd is None:
        return pad(x, pv, config), xd
    # A mapped padding value: pad with zeros, then select the padding per batch element.
    out = pad(x, _zero_scalar(x), config)
    out_shape = core.get_aval(out).shape
    mask = pad(full(core.get_aval(x).shape, True, np.bool_), np.asarray(False), config)
    pv = broadcast_in_dim(pv, out_shape, (xd,))
    return select_n(mask, pv, out), xd


core.abstract_eval_rules[pad_p] = _pad_abstract
ad.deflinear(pad_p, _pad_transpose)
batching.batch_rules[pad_p] = _pad_batch
lowering.register(pad_p, lambda x, pv, *, padding_config: jlax.pad(x, pv, padding_config))


def pad(operand, padding_value, padding_config):
    """Pad with ``padding_value``: ``padding_config`` has one (low, high, interior) per axis.

    Example:
      >>> import minigrad_jax.lax as lax, numpy as np
      >>> lax.pad(np.arange(3.0, dtype=np.float32), 0.0, [(1, -1, 1)])
      Array([0., 0., 0., 1., 0.], dtype=float32)
    """
    config = tuple(ints(c) for c in padding_config)
    return pad_p.bind(operand, padding_value, padding_config=config)


# ---------------------------------------------------------------------------
# concatenate

concatenate_p = Primitive("concatenate")


def _concatenate_abstract(*xs, dimension):
    if not xs:
        raise TypeError("concatenate expects at least one operand, got 0")
    if len({x.ndim for x in xs}) != 1:
        raise TypeError(
            "cannot concatenate arrays with different numbers of dimensions: "
            + ", ".join(str(x.shape) for x in xs)
        )
    if not 0 <= dimension < xs[0].ndim:
        raise TypeError(
            f"concatenate dimension {dimension} out of bounds for shapes "
            + ", ".join(str(x.shape) for x in xs)
        )
    rest = {x.shape[:dimension] + x.shape[dimension + 1 :] for x in xs}
    if len(rest) != 1:
        raise TypeError(
            f"cannot concatenate along dimension {dimension} arrays whose other "
            "dimensions differ: " + ", ".join(str(x.shape) for x in xs)
        )
    if len({x.dtype for x in xs}) != 1:
        raise TypeError(
            "concatenate requires operands of the same dtype, got "
            + ", ".join(x.dtype.name for x in xs)
        )
    shape = list(xs[0].shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return ShapedArray(shape, xs[0].dtype, all(x.weak_type for x in xs))


def _concatenate_transpose(ct, *xs, dimension):
    if type(ct) is Zero:
        return [None] * len(xs)
    sizes = [(x.aval if is_undefined(x) else core.get_aval(x)).shape[dimension] for x in xs]
    return split(ct, sizes, dimension)


def _concatenate_batch(axis_size, args, dims, *, dimension):
    xs = [batching.bdim_at_front(x, d, axis_size) for x, d in zip(args, dims, strict=True)]
    return concatenate(xs, dimension + 1), 0


core.abstract_eval_rules[concatenate_p] = _concatenate_abstract
ad.deflinear(concatenate_p, _concatenate_transpose)
batching.batch_rules[concatenate_p] = _concatenate_batch
lowering.register(concatenate_p, lambda *xs, dimension: jlax.concatenate(xs, dimension))


def concatenate(operands, dimension):
    """Concatenate arrays along ``dimension``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.concatenate([mnp.zeros(2), mnp.ones(1)], 0)
        Array([0., 0., 1.], dtype=float32)
    """
    operands = list(operands)
    if not operands:
        raise ValueError("concatenate requires a non-empty sequence of arrays")
    if len(operands) == 1 and is_array(operands[0]):
        return operands[0]
    return concatenate_p.bind(*operands, dimension=int(dimension))


# ---------------------------------------------------------------------------
# split: the transpose of concatenate

split_p = Primitive("split", multiple_results=True)


def _split_abstract(x, *, sizes, axis):
    if not 0 <= axis < x.ndim:
        raise ValueError(f"split axis {axis} is out of bounds for shape {x.shape}")
    if any(s < 0 for s in sizes) or sum(sizes) != x.shape[axis]:
        raise ValueError(
            f"split sizes {sizes} must be non-negative and sum to the size "
            f"{x.shape[axis]} of axis {axis} (shape {x.shape})"
        )
    shapes = [x.shape[:axis] + (s,) + x.shape[axis + 1 :] for s in sizes]
    return [ShapedArray(shape, x.dtype, x.weak_type) for shape in shapes]


def _split_transpose(cts, x, *, sizes, axis):
    if all(type(ct) is Zero for ct in cts):
        return [None]
    return [concatenate([ad.instantiate(ct) for ct in cts], axis)]


def _split_batch(axis_size, args, dims, *, sizes, axis):
    (x,), (d,) = args, dims
    outs = split_p.bind(x, sizes=sizes, axis=axis + (axis >= d))
    return outs, [d] * len(outs)


def _split_jvp(primals, tangents, *, sizes, axis):
    (x,), (t,) = primals, tangents
    return split_p.bind(x, sizes=sizes, axis=axis), split_p.bind(t, sizes=sizes, axis=axis)


core.abstract_eval_rules[split_p] = _split_abstract
ad.jvp_rules[split_p] = _split_jvp
ad.transpose_rules[split_p] = _split_transpose
batching.batch_rules[split_p] = _split_batch
lowering.register(split_p, lambda x, *, sizes, axis: list(jlax.split(x, sizes, axis)))


def split(operand, sizes, axis=0):
    """Split ``operand`` along ``axis`` into pieces of the given ``sizes``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.split(mnp.arange(5), (2, 3))
        [Array([0, 1], dtype=int32), Array([2, 3, 4], dtype=int32)]
    """
    axis = canonical_axis("split", axis, core.get_aval(operand).ndim)
    return split_p.bind(operand, sizes=ints(sizes), axis=axis)


# ---------------------------------------------------------------------------
# slice

slice_p = Primitive("slice")


def _slice_shape(shape, start, limit, strides):
    if not len(start) == len(limit) == len(shape):
        raise TypeError(
            f"slice start_indices {start} and limit_indices {limit} must have "
            f"one entry per operand axis (shape {shape})"
        )
    if strides is not None and (len(strides) != len(shape) or any(s <= 0 for s in strides)):
        raise TypeError(f"slice strides {strides} must be positive, one per axis of {shape}")
    for s, lim, d in zip(start, limit, shape, strict=True):
        if not 0 <= s <= lim <= d:
            raise TypeError(
                f"slice start_indices {start} and limit_indices {limit} must "
                f"satisfy 0 <= start <= limit <= size for shape {shape}"
            )
    strides = strides or (1,) * len(shape)
    return tuple(-(-(lim - s) // st) for s, lim, st in zip(start, limit, strides, strict=True))


def _slice_abstract(x, *, start_indices, limit_indices, strides):
    shape = _slice_shape(x.shape, start_indices, limit_indices, strides)
    return ShapedArray(shape, x.dtype, x.weak_type)


def _slice_transpose(ct, x, *, start_indices, limit_indices, strides):
    if type(ct) is Zero:
        return [None]
    shape, ct_shape = x.aval.shape, core.get_aval(ct).shape
    if strides is None or all(s == 1 for s in strides):
        config = [
            (s, d - lim, 0) for s, lim, d in zip(start_indices, limit_indices, shape, strict=True)
        ]
    else:
        real_limits = [
            s + (0 if n == 0 else (n - 1) * st + 1)
            for s, n, st in zip(start_indices, ct_shape, strides, strict=True)
        ]
        config = [
            (s, d - lim, st - 1)
            for s, lim, d, st in zip(start_indices, real_limits, shape, strides, strict=True)
        ]
    return [pad(ct, _zero_scalar(ct), config)]


def _slice_batch(axis_size, args, dims, *, start_indices, limit_indices, strides):
    (x,), (d,) = args, dims
    start, limit = list(start_indices), list(limit_indices)
    start.insert(d, 0)
    limit.insert(d, axis_size)
    if strides is not None:
        strides = list(strides)
        strides.insert(d, 1)
    return slice(x, start, limit, strides), d


core.abstract_eval_rules[slice_p] = _slice_abstract
ad.deflinear(slice_p, _slice_transpose)
batching.batch_rules[slice_p] = _slice_batch
lowering.register(
    slice_p,
    lambda x, *, start_indices, limit_indices, strides: jlax.slice(
        x, start_indices, limit_indices, strides
    ),
)


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001
    """Static slice ``operand[start:limit:stride]`` on every axis.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.slice(mnp.arange(10), (1,), (8,), (3,))
        Array([1, 4, 7], dtype=int32)
    """
    return slice_p.bind(
        operand,
        start_indices=ints(start_indices),
        limit_indices=ints(limit_indices),
        strides=None if strides is None else ints(strides),
    )


# ---------------------------------------------------------------------------
# dynamic_slice and dynamic_update_slice (start indices are scalar operands)

dynamic_slice_p = Primitive("dynamic_slice")


def _check_start_indices(name, x, idxs):
    if len(idxs) != x.ndim:
        raise TypeError(
            f"{name} needs one start index per operand axis ({x.ndim}), got {len(idxs)}"
        )
    if any(i.ndim != 0 for i in idxs):
        raise TypeError(
            f"{name} start indices must be scalars, got shapes "
            + ", ".join(str(i.shape) for i in idxs)
        )
    if idxs and (
        len({i.dtype for i in idxs}) != 1 or not jax.numpy.issubdtype(idxs[0].dtype, np.integer)
    ):
        raise TypeError(
            f"{name} start indices must be integers of one dtype, got "
            + ", ".join(i.dtype.name for i in idxs)
        )


def _dynamic_slice_abstract(x, *idxs, slice_sizes):
    _check_start_indices("dynamic_slice", x, idxs)
    if len(slice_sizes) != x.ndim or any(
        not 0 <= s <= d for s, d in zip(slice_sizes, x.shape, strict=True)
    ):
        raise TypeError(
            f"dynamic_slice slice_sizes {slice_sizes} must be within the operand shape {x.shape}"
        )
    return ShapedArray(slice_sizes, x.dtype, x.weak_type)


def _dynamic_slice_jvp(g, x, *idxs, slice_sizes):
    return dynamic_slice_p.bind(g, *idxs, slice_sizes=slice_sizes)


def _dynamic_slice_transpose(ct, x, *idxs, slice_sizes):
    if type(ct) is Zero or not is_undefined(x):
        return [None] * (1 + len(idxs))
    zeros = full(x.aval.shape, 0, x.aval.dtype)
    return [dynamic_update_slice_p.bind(zeros, ct, *idxs)] + [None] * len(idxs)


def _batch_start_indices(idxs, dims, axis_size):
    """Stack scalar start indices into one index vector (batched along axis 0 if any is)."""
    if not idxs:
        return np.zeros((0,), np.int32), None
    if all(d is None for d in dims):
        return concatenate([broadcast(i, (1,)) for i in idxs], 0), None
    cols = [
        broadcast_in_dim(i, (axis_size, 1), (0,) if d is not None else ())
        for i, d in zip(idxs, dims, strict=True)
    ]
    return concatenate(cols, 1), 0


def _dynamic_slice_batch(axis_size, args, dims, *, slice_sizes):
    # A dynamic slice is a gather with one start-index vector; batch it as one (as JAX does).

    (x, *idxs), (xd, *idims) = args, dims
    nd = len(slice_sizes)
    dnums = indexing.GatherDimensionNumbers(
        offset_dims=tuple(range(nd)), collapsed_slice_dims=(), start_index_map=tuple(range(nd))
    )
    index, index_d = _batch_start_indices(idxs, idims, axis_size)
    return indexing.gather_batch_rule(
        axis_size,
        [x, index],
        [xd, index_d],
        dimension_numbers=dnums,
        slice_sizes=slice_sizes,
        unique_indices=True,
        indices_are_sorted=True,
        mode=indexing.GatherScatterMode.CLIP,
        fill_value=None,
    )


core.abstract_eval_rules[dynamic_slice_p] = _dynamic_slice_abstract
ad.defjvp(dynamic_slice_p, _dynamic_slice_jvp)
ad.transpose_rules[dynamic_slice_p] = _dynamic_slice_transpose
batching.batch_rules[dynamic_slice_p] = _dynamic_slice_batch
# The wrapper already wrapped negative starts (as JAX's equations do): XLA must
# only clamp, not wrap a second time.
lowering.register(
    dynamic_slice_p,
    lambda x, *idxs, slice_sizes: jlax.dynamic_slice(
        x, idxs, slice_sizes, allow_negative_indices=False
    ),
)


def _start_indices(x, start_indices, allow_negative_indices=True):
    """JAX's normalization: negative start indices count from the end (on the spot if static)."""
    shape = core.get_aval(x).shape
    if not isinstance(start_indices, (list, tuple)):
        aval = core.get_aval(start_indices)
        if aval.ndim != 1:
            raise ValueError(f"slice indices must be a 1-D sequence, got shape {aval.shape}")
        start_indices = [
            squeeze(slice(start_indices, (k,), (k + 1,)), (0,)) for k in range(aval.shape[0])
        ]
    if len(start_indices) != len(shape):
        raise ValueError(
            f"length of slice indices ({len(start_indices)}) must match the "
            f"number of operand dimensions (shape {shape})"
        )
    if isinstance(allow_negative_indices, bool):
        allow_negative_indices = [allow_negative_indices] * len(shape)
    out = []
    for i, d, neg in zip(start_indices, shape, allow_negative_indices, strict=True):
        if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            if i < 0 and not neg:
                raise ValueError(
                    f"index {i} is out of bounds for dimension {d} with "
                    "allow_negative_indices=False"
                )
            dtype = core.get_aval(i).dtype
            out.append(np.asarray(i + d if i < 0 else i, dtype))
            continue
        dtype = core.get_aval(i).dtype
        if not neg or jax.numpy.issubdtype(dtype, np.unsignedinteger):
            out.append(i)
            continue
        # A numpy index compares on the spot (as JAX's ``i < 0`` does); a traced one is staged.
        if isinstance(i, (np.ndarray, np.generic)):
            negative = np.less(i, 0)
        else:
            negative = lt(i, np.zeros((), dtype))
        out.append(select_n(negative, i, add(i, np.asarray(d, dtype))))
    return out


def dynamic_slice(operand, start_indices, slice_sizes, *, allow_negative_indices=True):
    """``operand[start:start + size]`` with traced starts (clamped to stay in bounds).

    Example:
      >>> import minigrad_jax.lax as lax, numpy as np
      >>> lax.dynamic_slice(np.arange(5.0, dtype=np.float32), (3,), (3,))
      Array([2., 3., 4.], dtype=float32)
    """
    idxs = _start_indices(operand, start_indices, allow_negative_indices)
    return dynamic_slice_p.bind(operand, *idxs, slice_sizes=ints(slice_sizes))


dynamic_update_slice_p = Primitive("dynamic_update_slice")


def _dus_abstract(x, update, *idxs):
    _check_start_indices("dynamic_update_slice", x, idxs)
    if update.ndim != x.ndim or any(u > d for u, d in zip(update.shape, x.shape, strict=True)):
        raise TypeError(
            f"dynamic_update_slice update shape {update.shape} must have the "
            f"operand's rank and fit in its shape {x.shape}"
        )
    if update.dtype != x.dtype:
        raise TypeError(
            f"dynamic_update_slice requires the update's dtype to equal the "
            f"operand's, got {update.dtype.name} and {x.dtype.name}"
        )
    return ShapedArray(
        x.shape, x.dtype, x.weak_type and update.weak_type and all(i.weak_type for i in idxs)
    )


def _dus_jvp(primals, tangents):
    x, update, *idxs = primals
    tx, tu = tangents[:2]
    out = dynamic_update_slice_p.bind(x, update, *idxs)
    if type(tx) is Zero and type(tu) is Zero:
        return out, Zero(ad.tangent_aval(core.get_aval(out)))
    return out, dynamic_update_slice_p.bind(ad.instantiate(tx), ad.instantiate(tu), *idxs)


def _dus_transpose(ct, x, update, *idxs):
    none = [None] * len(idxs)
    if type(ct) is Zero:
        return [None, None] + none
    u_aval = update.aval if is_undefined(update) else core.get_aval(update)
    ct_x = ct_u = None
    if is_undefined(x):
        zeros = full(u_aval.shape, 0, core.get_aval(ct).dtype)
        ct_x = dynamic_update_slice_p.bind(ct, zeros, *idxs)
    if is_undefined(update):
        ct_u = dynamic_slice_p.bind(ct, *idxs, slice_sizes=u_aval.shape)
    return [ct_x, ct_u] + none


def _dus_batch(axis_size, args, dims):
    # A dynamic update slice is a scatter with one start-index vector (as in JAX).

    (x, update, *idxs), (xd, ud, *idims) = args, dims
    nd = core.get_aval(x).ndim - (xd is not None)
    dnums = indexing.ScatterDimensionNumbers(
        update_window_dims=tuple(range(nd)),
        inserted_window_dims=(),
        scatter_dims_to_operand_dims=tuple(range(nd)),
    )
    index, index_d = _batch_start_indices(idxs, idims, axis_size)
    rule = indexing.scatter_batch_rule(indexing.scatter_p)
    return rule(
        axis_size,
        [x, index, update],
        [xd, index_d, ud],
        update_jaxpr=None,
        update_consts=(),
        dimension_numbers=dnums,
        indices_are_sorted=True,
        unique_indices=True,
        mode=indexing.GatherScatterMode.CLIP,
    )


core.abstract_eval_rules[dynamic_update_slice_p] = _dus_abstract
ad.jvp_rules[dynamic_update_slice_p] = _dus_jvp
ad.transpose_rules[dynamic_update_slice_p] = _dus_transpose
batching.batch_rules[dynamic_update_slice_p] = _dus_batch
lowering.register(
    dynamic_update_slice_p,
    lambda x, u, *idxs: jlax.dynamic_update_slice(x, u, idxs, allow_negative_indices=False),
)


def dynamic_update_slice(operand, update, start_indices, *, allow_negative_indices=True):
    """Write ``update`` into ``operand`` at traced start indices (clamped to fit).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.dynamic_update_slice(mnp.zeros(5), mnp.ones(2), (1,))
        Array([0., 1., 1., 0., 0.], dtype=float32)
        >>> lax.dynamic_update_slice(mnp.zeros(5), mnp.ones(2), (4,))
        Array([0., 0., 0., 1., 1.], dtype=float32)
    """
    idxs = _start_indices(operand, start_indices, allow_negative_indices)
    return dynamic_update_slice_p.bind(operand, update, *idxs)


# ---------------------------------------------------------------------------
# stop_gradient: the identity with a zero derivative

stop_gradient_p = Primitive("stop_gradient")

core.abstract_eval_rules[stop_gradient_p] = lambda x: x
ad.jvp_rules[stop_gradient_p] = ad.make_zero_jvp(stop_gradient_p)
batching.defvectorized(stop_gradient_p)
# jax.lax.stop_gradient passes Python scalars through (as a TypedFloat): make an array first.
lowering.register(stop_gradient_p, lambda x: jlax.stop_gradient(jax.numpy.asarray(x)))


def stop_gradient(x):
    """The identity on every leaf of ``x``, treated as a constant by differentiation.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.grad(lambda x: mg.lax.stop_gradient(x) * x)(3.0)
      Array(3., dtype=float32, weak_type=True)
    """
    return jax.tree_util.tree_map(stop_gradient_p.bind, x)


# ---------------------------------------------------------------------------
# convenience wrappers (no primitives of their own), named as in jax.lax


def zeros_like_array(x):
    return full_like(x, 0)


def collapse(operand, start_dimension, stop_dimension=None):
    """Merge axes ``[start_dimension, stop_dimension)`` into one."""
    shape = core.get_aval(operand).shape
    lo, hi, _ = builtins.slice(start_dimension, stop_dimension).indices(len(shape))
    if hi < lo:
        raise ValueError(
            f"invalid dimension range passed to collapse: {shape}"
            f"[{start_dimension}:{stop_dimension}]"
        )
    size = int(np.prod(shape[lo:hi], dtype=np.int64))
    return reshape(operand, shape[:lo] + (size,) + shape[hi:])


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """``operand[..., start:limit:stride]`` along ``axis``."""
    shape = core.get_aval(operand).shape
    axis = int(axis)
    n = shape[axis]
    start = 0 if start_index is None else int(start_index)
    limit = n if limit_index is None else int(limit_index)
    start, limit = start + n if start < 0 else start, limit + n if limit < 0 else limit
    starts, limits, strides = [0] * len(shape), list(shape), [1] * len(shape)
    starts[axis], limits[axis], strides[axis] = start, limit, int(stride)
    return slice(operand, starts, limits, strides)


def index_in_dim(operand, index, axis=0, keepdims=True):
    """``operand[..., index]`` along ``axis`` for a static ``index``."""
    index, axis = int(index), int(axis)
    n = core.get_aval(operand).shape[axis]
    wrapped = index + n if index < 0 else index
    if not 0 <= wrapped < n:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {n}")
    out = slice_in_dim(operand, wrapped, wrapped + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


def _axis_starts(operand, start_index, axis, allow_negative_indices):
    nd = core.get_aval(operand).ndim
    zero = np.asarray(0, core.get_aval(start_index).dtype)
    starts = [zero] * nd
    starts[axis] = start_index
    allow = [False] * nd
    allow[axis] = allow_negative_indices
    return starts, allow


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0, *, allow_negative_indices=True):
    """``operand[..., start:start + slice_size]`` along ``axis`` with a traced start."""
    axis = int(axis)
    starts, allow = _axis_starts(operand, start_index, axis, allow_negative_indices)
    sizes = list(core.get_aval(operand).shape)
    sizes[axis] = int(slice_size)
    return dynamic_slice(operand, starts, sizes, allow_negative_indices=allow)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True, *, allow_negative_indices=True):
    """``operand[..., index]`` along ``axis`` with a traced index.

    JAX wraps this one in a ``jit``; here it is inlined (same equations inside).
    """
    out = dynamic_slice_in_dim(
        operand, index, 1, axis, allow_negative_indices=allow_negative_indices
    )
    return out if keepdims else squeeze(out, (int(axis),))


def dynamic_update_slice_in_dim(operand, update, start_index, axis, *, allow_negative_indices=True):
    """Write ``update`` into ``operand`` at a traced start along ``axis``."""
    starts, allow = _axis_starts(operand, start_index, int(axis), allow_negative_indices)
    return dynamic_update_slice(operand, update, starts, allow_negative_indices=allow)


def dynamic_update_index_in_dim(operand, update, index, axis, *, allow_negative_indices=True):
    """Write ``update`` (with or without the ``axis``) into ``operand[..., index]``."""
    axis = int(axis)
    if core.get_aval(update).ndim != core.get_aval(operand).ndim:
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(
        operand, update, index, axis, allow_negative_indices=allow_negative_indices
    )


def select(pred, on_true, on_false):
    """``on_true`` where ``pred`` else ``on_false``: a select_n with the cases swapped.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.select(mnp.array([True, False]), mnp.ones(2), mnp.zeros(2))
        Array([1., 0.], dtype=float32)
    """
    return select_n(pred, on_false, on_true)


def dot(
    lhs,
    rhs,
    *,
    dimension_numbers=None,
    precision=None,
    preferred_element_type=None,
    out_sharding=None,
):
    """Matrix/vector products; other contractions need ``dimension_numbers``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.dot(mnp.ones((2, 3)), mnp.ones(3))
        Array([3., 3.], dtype=float32)
    """
    no_sharding("dot", out_sharding)

    ls, rs = core.get_aval(lhs).shape, core.get_aval(rhs).shape
    if dimension_numbers is None:
        if not (1 <= len(ls) <= 2 and 1 <= len(rs) <= 2 and ls[-1] == rs[0]):
            raise ValueError(
                "lax.dot: dimension_numbers must be given unless this is a plain "
                f"matrix/vector product; got shapes {ls} and {rs}"
            )
        dimension_numbers = (((len(ls) - 1,), (0,)), ((), ()))
    return dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type)


# ---------------------------------------------------------------------------
# helpers


def _check_axes(name, axes, ndim):
    if len(set(axes)) != len(axes) or any(not 0 <= a < ndim for a in axes):
        raise TypeError(f"{name} dimensions {tuple(axes)} must be unique and in [0, {ndim})")


def _zero_scalar(x):
    return np.zeros((), core.get_aval(x).dtype)
