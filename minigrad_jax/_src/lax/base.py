"""The bottom layer of lax: the primitives every other rule is written with.

convert_element_type, broadcast_in_dim, reshape, transpose, reduce_sum and iota
(with the wrappers full, full_like, broadcast and expand_dims) build the
zeros, broadcasts and sums that the JVP, transpose and batching rules of every
other primitive need. Their own rules need only each other (broadcast_in_dim
and reduce_sum are each other's transposes), so they live together here and
the rest of lax is layered above: elementwise, then indexing, then structural,
then reductions.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, array_ops, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero

# ---------------------------------------------------------------------------
# convert_element_type

convert_element_type_p = Primitive("convert_element_type")


def _convert_abstract(x, *, new_dtype, weak_type, sharding):
    return ShapedArray(x.shape, new_dtype, weak_type)


def _convert_jvp(primals, tangents, *, new_dtype, weak_type, sharding):
    (x,), (t,) = primals, tangents
    params = dict(new_dtype=new_dtype, weak_type=weak_type, sharding=sharding)
    out = convert_element_type_p.bind(x, **params)
    # Only float -> float conversions carry a tangent; the rest are piecewise constant.
    if type(t) is Zero or not (core.is_float(new_dtype) and core.is_float(core.get_aval(t).dtype)):
        return out, Zero(ad.tangent_aval(core.get_aval(out)))
    return out, convert_element_type_p.bind(t, **params)


def _convert_transpose(ct, x, *, new_dtype, weak_type, sharding):
    if type(ct) is Zero or not core.is_float(x.aval.dtype):
        return [None]
    # The wrapper, as in JAX: a constant cotangent (the seed 1.0) converts on the spot.
    return [_convert(ct, x.aval.dtype, x.aval.weak_type)]


core.abstract_eval_rules[convert_element_type_p] = _convert_abstract
ad.jvp_rules[convert_element_type_p] = _convert_jvp
ad.transpose_rules[convert_element_type_p] = _convert_transpose
batching.defvectorized(convert_element_type_p)
_JAX_CONVERT_P = getattr(jlax, "convert_element_type_p", None)


def _convert_lowering(x, *, new_dtype, weak_type, sharding):
    # jax.lax.convert_element_type always gives a strong type; JAX's own
    # primitive (exported by jax.lax) takes the weak-type flag, where present.
    if _JAX_CONVERT_P is None:
        return jlax.convert_element_type(x, new_dtype)
    return _JAX_CONVERT_P.bind(x, new_dtype=new_dtype, weak_type=weak_type, sharding=None)


lowering.register(convert_element_type_p, _convert_lowering)


def convert_element_type(operand, new_dtype, weak_type=False):
    """``operand`` as ``new_dtype`` (``weak_type`` is internal: JAX's weak-type flag).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.convert_element_type(mnp.array([1.7, -1.7]), mnp.int32)
        Array([ 1, -1], dtype=int32)
    """
    new_dtype = core.canonical_dtype(np.dtype(new_dtype))
    aval = core.get_aval(operand)
    if aval.dtype.kind == "c" and new_dtype.kind != "c":
        warnings.warn(
            "Casting complex values to real discards the imaginary part",
            np.exceptions.ComplexWarning,
            stacklevel=2,
        )
    return _convert(operand, new_dtype, weak_type, aval)


def _convert(x, new_dtype, weak_type, aval=None):
    aval = core.get_aval(x) if aval is None else aval
    if not isinstance(x, core.Tracer) and not hasattr(x, "aval") and not aval.shape:
        # Python and numpy scalars convert on the spot (a literal), as in JAX;
        # at the top level the user gets the jax.Array JAX returns.
        if weak_type:
            return core.weak_scalar(x, new_dtype)
        val = np.asarray(x, new_dtype)
        return jax.device_put(val) if core.is_top_level() else val
    if aval.dtype == new_dtype and aval.weak_type == weak_type:
        return x
    return convert_element_type_p.bind(
        x, new_dtype=new_dtype, weak_type=bool(weak_type), sharding=None
    )


# ---------------------------------------------------------------------------
# broadcast_in_dim

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def _bid_abstract(x, *, shape, broadcast_dimensions, sharding):
    if len(broadcast_dimensions) != x.ndim:
        raise TypeError(
            f"broadcast_dimensions {broadcast_dimensions} must "
            f"have one entry per operand dimension ({x.ndim})"
        )
    for i, d in enumerate(broadcast_dimensions):
        if not 0 <= d < len(shape) or x.shape[i] not in (1, shape[d]):
            raise TypeError(
                f"operand shape {x.shape} cannot be broadcast "
                f"to {shape} with broadcast_dimensions {broadcast_dimensions}"
            )
    if list(broadcast_dimensions) != sorted(broadcast_dimensions):
        raise TypeError("broadcast_dimensions must be strictly increasing")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _bid_transpose(ct, x, *, shape, broadcast_dimensions, sharding):
    # JAX's rule: sum over the broadcast axes, then re-insert the operand's unit axes.
    if type(ct) is Zero:
        return [None]
    unit = [i for i, s in enumerate(x.aval.shape) if s == 1]
    kept = [d for i, d in enumerate(broadcast_dimensions) if i not in unit]
    summed = tuple(i for i in range(len(shape)) if i not in kept)
    return [expand_dims(reduce_sum(ct, summed), unit)]


def _bid_batch(axis_size, args, dims, *, shape, broadcast_dimensions, sharding):
    (x,), (d,) = args, dims
    x = batching.moveaxis(x, d, 0)
    new_dims = (0,) + tuple(b + 1 for b in broadcast_dimensions)
    return broadcast_in_dim(x, (axis_size, *shape), new_dims), 0


core.abstract_eval_rules[broadcast_in_dim_p] = _bid_abstract
ad.deflinear(broadcast_in_dim_p, _bid_transpose)
batching.batch_rules[broadcast_in_dim_p] = _bid_batch
lowering.register(
    broadcast_in_dim_p,
    lambda x, *, shape, broadcast_dimensions, sharding: jlax.broadcast_in_dim(
        x, shape, broadcast_dimensions
    ),
)


def broadcast_in_dim(operand, shape, broadcast_dimensions, *, out_sharding=None):
    """Broadcast ``operand`` to ``shape``; its axis i becomes axis broadcast_dimensions[i].

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.broadcast_in_dim(mnp.array([1.0, 2.0]), (3, 2), (1,))
        Array([[1., 2.],
               [1., 2.],
               [1., 2.]], dtype=float32)
        >>> lax.broadcast_in_dim(mnp.array([1.0, 2.0]), (2, 3), (0,))
        Array([[1., 1., 1.],
               [2., 2., 2.]], dtype=float32)
    """
    no_sharding("broadcast_in_dim", out_sharding)
    shape, bd = ints(shape), ints(broadcast_dimensions)
    if core.get_aval(operand).shape == shape and bd == tuple(range(len(shape))):
        return operand
    return broadcast_in_dim_p.bind(operand, shape=shape, broadcast_dimensions=bd, sharding=None)


def broadcast_to_rank(x, rank):
    """``x`` with leading dimensions of size 1 up to ``rank``, as jax.lax.broadcast_to_rank."""
    ndim = core.get_aval(x).ndim
    if ndim == rank:
        return x
    return broadcast(x, (1,) * (rank - ndim))


def broadcast(operand, sizes, *, out_sharding=None):
    """Add leading axes of the given ``sizes``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.broadcast(mnp.array([1, 2]), (2,))
        Array([[1, 2],
               [1, 2]], dtype=int32)
    """
    no_sharding("broadcast", out_sharding)
    aval = core.get_aval(operand)
    nd = len(sizes)
    return broadcast_in_dim(operand, tuple(sizes) + aval.shape, tuple(range(nd, nd + aval.ndim)))


def full(shape, fill_value, dtype=None, *, sharding=None):
    """An array filled with a scalar: a broadcast of a literal, as in JAX.

    Without ``dtype`` the result takes the fill value's dtype and weak type.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.full((2,), 3.0)
        Array([3., 3.], dtype=float32, weak_type=True)
        >>> lax.full((2, 2), 1, mnp.int32)
        Array([[1, 1],
               [1, 1]], dtype=int32)
    """
    no_sharding("full", sharding)
    aval = core.get_aval(fill_value)
    if aval.ndim:
        raise TypeError(f"full must be called with a scalar fill_value, got shape {aval.shape}")
    if dtype is None:
        dtype, weak = aval.dtype, aval.weak_type
    else:
        dtype, weak = core.canonical_dtype(np.dtype(dtype)), False
    val = convert_element_type(fill_value, dtype, weak)
    shape = ints(shape)
    if not shape:
        return val if isinstance(val, core.Tracer) else lowering_scalar(val)
    return broadcast_in_dim_p.bind(val, shape=shape, broadcast_dimensions=(), sharding=None)


def lowering_scalar(val):
    """A 0-d constant: a jax.Array at the top level, a literal while tracing.

    A weakly typed constant stays weak (as ``jax.lax.full`` of a weak value does):
    ``jnp.asarray`` alone would make the numpy constant strong.
    """
    if not core.is_top_level():
        return val
    if type(val) is core.WeakArray:
        return _convert_lowering(
            np.asarray(val), new_dtype=val.dtype, weak_type=True, sharding=None
        )
    return jax.numpy.asarray(val)


# ---------------------------------------------------------------------------
# reshape

reshape_p = Primitive("reshape")


def _reshape_abstract(x, *, new_sizes, dimensions, sharding):
    if any(s < 0 for s in new_sizes):
        raise TypeError(f"new_sizes {tuple(new_sizes)} must be non-negative")
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise TypeError(
            f"cannot reshape array of shape {x.shape} (size {x.size}) into shape {tuple(new_sizes)}"
        )
    if dimensions is not None and sorted(dimensions) != list(range(x.ndim)):
        raise TypeError(
            f"dimensions {dimensions} must be a permutation of the "
            f"operand's {x.ndim} axes (shape {x.shape})"
        )
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


def _reshape_transpose(ct, x, *, new_sizes, dimensions, sharding):
    if type(ct) is Zero:
        return [None]
    if dimensions is None:
        return [reshape(ct, x.aval.shape)]
    out = reshape(ct, tuple(x.aval.shape[d] for d in dimensions))
    return [transpose(out, tuple(int(p) for p in np.argsort(dimensions)))]


def _reshape_batch(axis_size, args, dims, *, new_sizes, dimensions, sharding):
    x = batching.moveaxis(args[0], dims[0], 0)
    if dimensions is not None:
        dimensions = (0,) + tuple(d + 1 for d in dimensions)
    return reshape(x, (axis_size, *new_sizes), dimensions), 0


core.abstract_eval_rules[reshape_p] = _reshape_abstract
ad.deflinear(reshape_p, _reshape_transpose)
batching.batch_rules[reshape_p] = _reshape_batch
lowering.register(
    reshape_p, lambda x, *, new_sizes, dimensions, sharding: jlax.reshape(x, new_sizes, dimensions)
)


def reshape(operand, new_sizes, dimensions=None, *, out_sharding=None):
    """lax.reshape: ``dimensions`` (a permutation) transposes the operand first.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.reshape(mnp.arange(6), (2, 3))
        Array([[0, 1, 2],
               [3, 4, 5]], dtype=int32)
        >>> lax.reshape(mnp.arange(6).reshape(2, 3), (6,), dimensions=(1, 0))
        Array([0, 3, 1, 4, 2, 5], dtype=int32)
    """
    no_sharding("reshape", out_sharding)
    x = operand
    new_sizes = ints(new_sizes)
    aval = core.get_aval(x)
    dims = None if dimensions is None else ints(dimensions)
    same_dims = dims is None or dims == tuple(range(aval.ndim))
    if aval.shape and aval.shape == new_sizes and same_dims and is_array(x):
        return x
    return reshape_p.bind(
        x, new_sizes=new_sizes, dimensions=None if same_dims else dims, sharding=None
    )


# ---------------------------------------------------------------------------
# transpose

transpose_p = Primitive("transpose")


def _transpose_abstract(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise TypeError(
            f"transpose permutation {permutation} is not a permutation of the "
            f"operand's {x.ndim} axes (shape {x.shape})"
        )
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


def _transpose_transpose(ct, x, *, permutation):
    if type(ct) is Zero:
        return [None]
    return [transpose(ct, tuple(int(p) for p in np.argsort(permutation)))]


def _transpose_batch(axis_size, args, dims, *, permutation):
    # One transpose that also brings the mapped axis to the front (as JAX does).
    (x,), (d,) = args, dims
    return transpose(x, (d,) + tuple(p + (p >= d) for p in permutation)), 0


core.abstract_eval_rules[transpose_p] = _transpose_abstract
ad.deflinear(transpose_p, _transpose_transpose)
batching.batch_rules[transpose_p] = _transpose_batch
lowering.register(transpose_p, lambda x, *, permutation: jlax.transpose(x, permutation))


def transpose(operand, permutation):
    """Permute the axes: result axis i is operand axis permutation[i].

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.transpose(mnp.ones((2, 3, 4)), (2, 0, 1)).shape
        (4, 2, 3)
    """
    permutation = ints(permutation)
    if permutation == tuple(range(core.get_aval(operand).ndim)) and is_array(operand):
        return operand  # JAX drops identity transposes too
    return transpose_p.bind(operand, permutation=permutation)


# ---------------------------------------------------------------------------
# expand_dims: a broadcast_in_dim, as JAX writes it


def expand_dims(array, dimensions):
    """Insert axes of size 1 at ``dimensions`` (of the result): a broadcast_in_dim, as in JAX."""
    dimensions = tuple(dimensions)
    aval = core.get_aval(array)
    ndim_out = aval.ndim + len(dimensions)
    dims = {canonical_axis("expand_dims", d, ndim_out) for d in dimensions}
    if len(dims) != len(dimensions):
        raise ValueError(f"repeated axis in lax.expand_dims: {dimensions}")
    shape = list(aval.shape)
    for d in sorted(dims):
        shape.insert(d, 1)
    return broadcast_in_dim(array, shape, [i for i in range(ndim_out) if i not in dims])


# ---------------------------------------------------------------------------
# the reductions' shape/dtype and batching rules (reduce_sum's here, the rest in reductions)

_DTYPE_KINDS = {
    "number": (lambda d: d != np.bool_, "a numeric"),
    "int_or_bool": (core.is_integer_or_bool, "a boolean or integer"),
    "any": (lambda d: True, "any"),
}


def check_dtype(name, dtype, kind):
    ok, want = _DTYPE_KINDS[kind]
    if not ok(dtype):
        raise TypeError(f"{name} requires {want} dtype, got {np.dtype(dtype).name}")


def _reduce_abstract(name, kind="number", keep_weak=True):
    def rule(x, *, axes, **params):
        check_dtype(name, x.dtype, kind)
        if any(not 0 <= a < x.ndim for a in axes) or len(set(axes)) != len(axes):
            raise TypeError(
                f"axes {axes} out of range (or repeated) for an operand of shape {x.shape}"
            )
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
        return ShapedArray(shape, x.dtype, x.weak_type and keep_weak)

    return rule


def reducer_batch(prim):
    def rule(axis_size, args, dims, *, axes, **params):
        (x,), (d,) = args, dims
        new_axes = tuple(a + (a >= d) for a in axes)
        out_dim = d - sum(a < d for a in axes)
        return prim.bind(x, axes=new_axes, **params), out_dim

    return rule


def defreducer(prim, kind="number", keep_weak=True):
    core.abstract_eval_rules[prim] = _reduce_abstract(prim.name, kind, keep_weak)
    batching.batch_rules[prim] = reducer_batch(prim)


# ---------------------------------------------------------------------------
# reduce_sum

reduce_sum_p = Primitive("reduce_sum")


def _reduce_sum_transpose(ct, x, *, axes, out_sharding):
    if type(ct) is Zero:
        return [None]
    shape = x.aval.shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return [broadcast_in_dim(ct, shape, kept)]


defreducer(reduce_sum_p)
ad.deflinear(reduce_sum_p, _reduce_sum_transpose)
lowering.register(reduce_sum_p, lambda x, *, axes, out_sharding: jlax.reduce_sum(x, axes))


def reduce_sum(operand, axes, *, out_sharding=None):
    """The sum over ``axes``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.reduce_sum(mnp.ones((2, 3)), axes=(1,))
        Array([3., 3.], dtype=float32)
        >>> lax.reduce_sum(mnp.arange(6).reshape(2, 3), axes=(0, 1))
        Array(15, dtype=int32)
    """
    if out_sharding is not None:
        raise NotImplementedError("lax.reduce_sum: out_sharding is not supported")
    return reduce_sum_p.bind(operand, axes=ints(axes), out_sharding=None)


# ---------------------------------------------------------------------------
# iota (no operands: nothing to differentiate or batch)

iota_p = Primitive("iota")


def _iota_abstract(*, dtype, shape, dimension, sharding):
    if not jax.numpy.issubdtype(dtype, np.number):
        raise TypeError(f"iota does not accept dtype {np.dtype(dtype).name}")
    if any(s < 0 for s in shape) or not 0 <= dimension < len(shape):
        raise ValueError(
            f"iota dimension must be between 0 and len(shape), got "
            f"dimension={dimension} for shape={shape}"
        )
    return ShapedArray(shape, dtype, False)


core.abstract_eval_rules[iota_p] = _iota_abstract
ad.defnondiff(iota_p)
# Never reached: a primitive without operands has nothing mapped.
batching.batch_rules[iota_p] = lambda axis_size, args, dims, **params: (iota_p.bind(**params), None)
lowering.register(
    iota_p,
    lambda *, dtype, shape, dimension, sharding: jlax.broadcasted_iota(dtype, shape, dimension),
)


def broadcasted_iota(dtype, shape, dimension, *, out_sharding=None):
    """An array of ``shape`` counting 0, 1, ... along ``dimension``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.broadcasted_iota(mnp.int32, (2, 3), 1)
        Array([[0, 1, 2],
               [0, 1, 2]], dtype=int32)
    """
    no_sharding("broadcasted_iota", out_sharding)
    dtype = core.canonical_dtype(np.dtype(dtype))
    return iota_p.bind(dtype=dtype, shape=ints(shape), dimension=int(dimension), sharding=None)


def iota(dtype, size):
    """``[0, 1, ..., size - 1]`` of the given dtype.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.iota(mnp.int32, 4)
        Array([0, 1, 2, 3], dtype=int32)
        >>> lax.iota(mnp.float32, 3)
        Array([0., 1., 2.], dtype=float32)
    """
    return broadcasted_iota(dtype, (size,), 0)


# ---------------------------------------------------------------------------
# full_like (a wrapper, named as in jax.lax)


def full_like(x, fill_value, dtype=None, shape=None, sharding=None):
    """An array shaped like ``x`` (or ``shape``) filled with ``fill_value``."""
    no_sharding("full_like", sharding)
    aval = core.get_aval(x)
    weak = dtype is None and aval.weak_type
    dtype = aval.dtype if dtype is None else core.canonical_dtype(np.dtype(dtype))
    fill_shape = aval.shape if shape is None else ints(shape)
    return full(fill_shape, convert_element_type(fill_value, dtype, weak))


# ---------------------------------------------------------------------------
# helpers shared by the lax modules


def ints(xs):
    return tuple(int(x) for x in xs)


def no_sharding(name, sharding):
    # Sharding arguments are accepted for JAX compatibility; only None is supported.
    if sharding is not None:
        raise NotImplementedError(
            f"lax.{name}: sharding arguments are not supported "
            f"(got {sharding!r}); use mg.jit's in/out_shardings"
        )


def is_array(x):
    """JAX skips no-op wrappers only for arrays (jax.Array or a tracer), not numpy values."""
    return isinstance(x, (core.Tracer, jax.Array))


def canonical_axis(name, axis, ndim):
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for rank {ndim}")
    return axis % ndim


# The interpreters emit these themselves (zeros, batch axes) without importing lax.
array_ops.register(
    full=full, transpose=transpose, broadcast_in_dim=broadcast_in_dim, reshape=reshape
)


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """Explicit ``(low, high)`` pads for a padding name, as jax.lax.padtype_to_pads.

    ``'VALID'`` pads nothing; ``'SAME'`` pads so the output has ``ceil(n / stride)``
    entries, the odd element going to the high side (``'SAME_LOWER'``: the low side).

    Example:
        >>> from minigrad_jax import lax
        >>> lax.padtype_to_pads((5, 6), (3, 3), (2, 1), "SAME")
        [(1, 1), (1, 1)]
        >>> lax.padtype_to_pads((4,), (3,), (1,), "SAME_LOWER")
        [(1, 1)]
    """
    name = getattr(padding, "name", padding)
    if isinstance(name, str):
        name = name.upper()
    if name == "VALID":
        return [(0, 0)] * len(in_shape)
    if name not in ("SAME", "SAME_LOWER"):
        raise RuntimeError(f"Unrecognized padding type: expected 'VALID' or 'SAME', got {padding}.")
    pads = []
    for n, w, s in zip(in_shape, window_shape, window_strides, strict=True):
        out = -(-int(n) // int(s))
        total = max((out - 1) * int(s) + int(w) - int(n), 0)
        low, high = total // 2, total - total // 2
        pads.append((high, low) if name == "SAME_LOWER" else (low, high))
    return pads
