"""Shape-changing primitives and array constructors: one stanza each."""

from __future__ import annotations

import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero, is_undefined

# ---------------------------------------------------------------------------
# convert_element_type

convert_element_type_p = Primitive("convert_element_type")


def _convert_abstract(x, *, new_dtype, weak_type, sharding):
    return ShapedArray(x.shape, new_dtype, weak_type)


def _convert_jvp(primals, tangents, *, new_dtype, weak_type, sharding):
    (x,), (t,) = primals, tangents
    out = convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type,
                                      sharding=sharding)  # fmt: skip
    if type(t) is Zero or not core.is_float(new_dtype) or not core.is_float(t.aval.dtype
                                                                            if hasattr(t, "aval") else core.get_aval(t).dtype):  # noqa: E501
        return out, Zero(ad.tangent_aval(core.get_aval(out)))
    return out, convert_element_type_p.bind(t, new_dtype=new_dtype, weak_type=weak_type,
                                            sharding=sharding)  # fmt: skip


def _convert_transpose(ct, x, *, new_dtype, weak_type, sharding):
    if type(ct) is Zero or not core.is_float(x.aval.dtype):
        return [None]
    return [convert_element_type_p.bind(ct, new_dtype=x.aval.dtype, weak_type=x.aval.weak_type,
                                        sharding=None)]  # fmt: skip


core.abstract_eval_rules[convert_element_type_p] = _convert_abstract
ad.jvp_rules[convert_element_type_p] = _convert_jvp
ad.transpose_rules[convert_element_type_p] = _convert_transpose
batching.defvectorized(convert_element_type_p)
lowering.register(convert_element_type_p,
                  lambda x, *, new_dtype, weak_type, sharding: jlax.convert_element_type(
                      x, new_dtype))  # fmt: skip


def convert_element_type(x, new_dtype, weak_type=False):
    new_dtype = core.canonical_dtype(np.dtype(new_dtype))
    aval = core.get_aval(x)
    if not isinstance(x, core.Tracer) and not hasattr(x, "aval") and np.ndim(x) == 0:
        # Python and numpy scalars convert on the spot (a literal), as in JAX.
        return core.weak_scalar(x, new_dtype) if weak_type else np.asarray(x, new_dtype)
    if aval.dtype == new_dtype and aval.weak_type == weak_type:
        return x
    return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=bool(weak_type),
                                       sharding=None)  # fmt: skip


# ---------------------------------------------------------------------------
# broadcast_in_dim

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def _bid_abstract(x, *, shape, broadcast_dimensions, sharding):
    if len(broadcast_dimensions) != x.ndim:
        raise TypeError(f"broadcast_in_dim: broadcast_dimensions {broadcast_dimensions} must "
                        f"have one entry per operand dimension ({x.ndim})")  # fmt: skip
    for i, d in enumerate(broadcast_dimensions):
        if not 0 <= d < len(shape) or x.shape[i] not in (1, shape[d]):
            raise TypeError(f"broadcast_in_dim: operand shape {x.shape} cannot be broadcast "
                            f"to {shape} with broadcast_dimensions {broadcast_dimensions}")
    if list(broadcast_dimensions) != sorted(broadcast_dimensions):
        raise TypeError("broadcast_in_dim: broadcast_dimensions must be strictly increasing")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _bid_transpose(ct, x, *, shape, broadcast_dimensions, sharding):
    from minigrad_jax._src.lax.reductions import reduce_sum

    if type(ct) is Zero:
        return [None]
    in_shape = x.aval.shape
    summed = tuple(i for i in range(len(shape)) if i not in broadcast_dimensions)
    expanded = tuple(i for i, d in enumerate(broadcast_dimensions)
                     if in_shape[i] == 1 and shape[d] != 1)  # fmt: skip
    out = reduce_sum(ct, summed) if summed else ct
    if expanded:
        kept = [d for d in range(len(shape)) if d not in summed]
        axes = tuple(kept.index(broadcast_dimensions[i]) for i in expanded)
        out = reduce_sum(out, axes)
        out = reshape(out, in_shape)
    return [out]


def _bid_batch(axis_size, args, dims, *, shape, broadcast_dimensions, sharding):
    (x,), (d,) = args, dims
    x = batching.moveaxis(x, d, 0)
    new_dims = (0,) + tuple(b + 1 for b in broadcast_dimensions)
    return broadcast_in_dim(x, (axis_size, *shape), new_dims), 0


core.abstract_eval_rules[broadcast_in_dim_p] = _bid_abstract
ad.deflinear(broadcast_in_dim_p, _bid_transpose)
batching.batch_rules[broadcast_in_dim_p] = _bid_batch
lowering.register(broadcast_in_dim_p,
                  lambda x, *, shape, broadcast_dimensions, sharding: jlax.broadcast_in_dim(
                      x, shape, broadcast_dimensions))  # fmt: skip


def broadcast_in_dim(x, shape, broadcast_dimensions):
    shape, bd = tuple(int(s) for s in shape), tuple(int(d) for d in broadcast_dimensions)
    if core.get_aval(x).shape == shape and bd == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=bd, sharding=None)


def broadcast(x, sizes):
    aval = core.get_aval(x)
    nd = len(sizes)
    return broadcast_in_dim(x, tuple(sizes) + aval.shape, tuple(range(nd, nd + aval.ndim)))


def full(shape, fill_value, dtype=None):
    """An array filled with a scalar: a broadcast of a literal, as in JAX."""
    dtype = core.get_aval(fill_value).dtype if dtype is None else core.canonical_dtype(dtype)
    if isinstance(fill_value, core.Tracer) or hasattr(fill_value, "aval"):
        val = convert_element_type(fill_value, dtype)
    else:
        val = np.asarray(fill_value, dtype)
    shape = tuple(int(s) for s in shape)
    if not shape:
        return val if isinstance(val, core.Tracer) else lowering_scalar(val)
    return broadcast_in_dim_p.bind(val, shape=shape, broadcast_dimensions=(), sharding=None)


def lowering_scalar(val):
    """A 0-d constant: a jax.Array at the top level, a literal while tracing."""
    if core.is_top_level():
        import jax.numpy as jnp

        return jnp.asarray(val)
    return val


# ---------------------------------------------------------------------------
# reshape

reshape_p = Primitive("reshape")


def _reshape_abstract(x, *, new_sizes, dimensions, sharding):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise TypeError(f"reshape: cannot reshape array of shape {x.shape} (size {x.size}) "
                        f"into shape {tuple(new_sizes)}")  # fmt: skip
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


def _reshape_batch(axis_size, args, dims, *, new_sizes, dimensions, sharding):
    x = batching.moveaxis(args[0], dims[0], 0)
    return reshape(x, (axis_size, *new_sizes)), 0


core.abstract_eval_rules[reshape_p] = _reshape_abstract
ad.deflinear(reshape_p, lambda ct, x, **p: [None if type(ct) is Zero
                                            else reshape(ct, x.aval.shape)])  # fmt: skip
batching.batch_rules[reshape_p] = _reshape_batch
lowering.register(reshape_p, lambda x, *, new_sizes, dimensions, sharding: jlax.reshape(
    x, new_sizes, dimensions))  # fmt: skip


def reshape(x, new_sizes, dimensions=None):
    new_sizes = tuple(int(s) for s in new_sizes)
    if dimensions is None and core.get_aval(x).shape == new_sizes:
        return x
    if dimensions is not None:
        x = transpose(x, tuple(dimensions))
    return reshape_p.bind(x, new_sizes=new_sizes, dimensions=None, sharding=None)


# ---------------------------------------------------------------------------
# transpose

transpose_p = Primitive("transpose")


def _transpose_abstract(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise TypeError(f"transpose permutation {permutation} is not a permutation of the "
                        f"operand's {x.ndim} axes (shape {x.shape})")  # fmt: skip
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


def _transpose_transpose(ct, x, *, permutation):
    if type(ct) is Zero:
        return [None]
    return [transpose(ct, tuple(np.argsort(permutation)))]


def _transpose_batch(axis_size, args, dims, *, permutation):
    x = batching.moveaxis(args[0], dims[0], 0)
    return transpose(x, (0,) + tuple(p + 1 for p in permutation)), 0


core.abstract_eval_rules[transpose_p] = _transpose_abstract
ad.deflinear(transpose_p, _transpose_transpose)
batching.batch_rules[transpose_p] = _transpose_batch
lowering.register(transpose_p, lambda x, *, permutation: jlax.transpose(x, permutation))


def transpose(x, permutation):
    permutation = tuple(int(p) for p in permutation)
    return transpose_p.bind(x, permutation=permutation)
