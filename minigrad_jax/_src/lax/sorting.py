"""sort: a multi-operand primitive sorting all operands by the first ``num_keys``."""

from __future__ import annotations

import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero
from minigrad_jax._src.lax import indexing
from minigrad_jax._src.lax.base import broadcast_in_dim, broadcasted_iota, expand_dims, reshape

sort_p = Primitive("sort", multiple_results=True)


def _sort_abstract(*avals, dimension, is_stable, num_keys):
    if not avals:
        raise TypeError("sort requires at least one operand")
    if len({a.shape for a in avals}) != 1:
        raise TypeError(
            "sort operands must have equal shapes, got " + ", ".join(str(a.shape) for a in avals)
        )
    if not 0 <= dimension < avals[0].ndim:
        raise ValueError(f"sort dimension {dimension} is out of bounds for shape {avals[0].shape}")
    if not 1 <= num_keys <= len(avals):
        raise ValueError(
            f"sort num_keys={num_keys} must be between 1 and the number of operands ({len(avals)})"
        )
    return list(avals)


def _sort_jvp(primals, tangents, *, dimension, is_stable, num_keys):
    # Sort an iota along with the operands to learn the permutation, then
    # gather every tangent with it (as JAX does).

    shape = core.get_aval(primals[0]).shape
    index_dtype = np.uint64 if any(d > np.iinfo(np.uint32).max for d in shape) else np.uint32
    iota = broadcasted_iota(index_dtype, shape, dimension)
    *outs, perm = sort_p.bind(
        *primals, iota, dimension=dimension, is_stable=is_stable, num_keys=num_keys
    )
    batch_dims = tuple(i for i in range(len(shape)) if i != dimension)
    dnums = indexing.GatherDimensionNumbers(
        offset_dims=(),
        collapsed_slice_dims=(dimension,),
        start_index_map=(dimension,),
        operand_batching_dims=batch_dims,
        start_indices_batching_dims=batch_dims,
    )
    idx = expand_dims(perm, (len(shape),))
    mode = indexing.GatherScatterMode.PROMISE_IN_BOUNDS
    tangents_out = [
        t if type(t) is Zero else indexing.gather(t, idx, dnums, (1,) * len(shape), mode=mode)
        for t in tangents
    ]
    return outs, tangents_out


def _sort_batch(axis_size, args, dims, *, dimension, is_stable, num_keys):
    # Unmapped operands are broadcast so that all share the mapped axis.

    proto, bdim = next((a, d) for a, d in zip(args, dims, strict=True) if d is not None)
    shape = core.get_aval(proto).shape
    new_args = []
    for a, d in zip(args, dims, strict=True):
        if d is None:
            kept = tuple(i for i in range(len(shape)) if i != bdim)
            a = broadcast_in_dim(a, shape, kept)
        else:
            a = batching.moveaxis(a, d, bdim)
        new_args.append(a)
    outs = sort_p.bind(
        *new_args, dimension=dimension + (bdim <= dimension), is_stable=is_stable, num_keys=num_keys
    )
    return outs, [bdim] * len(outs)


core.abstract_eval_rules[sort_p] = _sort_abstract
ad.jvp_rules[sort_p] = _sort_jvp
batching.batch_rules[sort_p] = _sort_batch
lowering.register(
    sort_p,
    lambda *xs, dimension, is_stable, num_keys: list(
        jlax.sort(xs, dimension=dimension, is_stable=is_stable, num_keys=num_keys)
    ),
)


def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """Sort ``operand`` (an array, or a sequence sorted together by its first ``num_keys``).

    Example:
      >>> import minigrad_jax.lax as lax, numpy as np
      >>> lax.sort(np.array([3.0, 1.0, 2.0], np.float32))
      Array([1., 2., 3.], dtype=float32)
    """
    if isinstance(operand, (list, tuple)):
        if not operand:
            raise TypeError("sort requires at least one operand")
        if not 1 <= num_keys <= len(operand):
            raise ValueError(
                f"num_keys={num_keys} must be between 1 and len(operand)={len(operand)}"
            )
        dimension = _canonical_axis(dimension, core.get_aval(operand[0]).ndim)
        return tuple(
            sort_p.bind(
                *operand, dimension=dimension, is_stable=bool(is_stable), num_keys=int(num_keys)
            )
        )
    if num_keys != 1:
        raise ValueError(f"num_keys={num_keys} must equal 1 for a single operand")
    dimension = _canonical_axis(dimension, core.get_aval(operand).ndim)
    return sort_p.bind(operand, dimension=dimension, is_stable=bool(is_stable), num_keys=1)[0]


def sort_key_val(keys, values, dimension=-1, is_stable=True):
    """Sort ``keys`` along ``dimension`` and apply the same permutation to ``values``."""
    dimension = _canonical_axis(dimension, core.get_aval(keys).ndim)
    k, v = sort_p.bind(keys, values, dimension=dimension, is_stable=bool(is_stable), num_keys=1)
    return k, v


def _canonical_axis(axis, ndim):
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"sort: axis {axis} is out of bounds for rank {ndim}")
    return axis % ndim


# ---------------------------------------------------------------------------
# top_k: the k largest entries along ``axis`` and their int32 indices, as in JAX

top_k_p = Primitive("top_k", multiple_results=True)


def _top_k_abstract(operand, *, k, axis):
    if np.issubdtype(operand.dtype, np.complexfloating):
        raise ValueError("top_k is not compatible with complex inputs.")
    if k < 0:
        raise ValueError(f"k argument to top_k must be nonnegative, got {k}")
    if operand.ndim == 0:
        raise TypeError(f"top_k operand must have >= 1 dimension, got {operand.shape}")
    if not 0 <= axis < operand.ndim:
        raise ValueError(
            f"axis argument out of range: axis={axis} for operand.shape={operand.shape}"
        )
    shape = list(operand.shape)
    if shape[axis] < k:
        raise ValueError(
            "k argument to top_k must be no larger than size along axis; "
            f"got k={k} with shape={operand.shape} and axis={axis}"
        )
    if shape[axis] > np.iinfo(np.int32).max + 1:
        raise ValueError(
            "top_k returns int32 indices, which will overflow for array dimensions "
            f"larger than the maximum int32; got operand.shape={operand.shape}"
        )
    shape[axis] = k
    return [
        core.ShapedArray(shape, operand.dtype, operand.weak_type),
        core.ShapedArray(shape, np.dtype(np.int32), False),
    ]


def _top_k_jvp(primals, tangents, *, k, axis):
    # The tangent is gathered at the chosen indices (as JAX does).
    (operand,), (tangent,) = primals, tangents
    values, idxs = top_k_p.bind(operand, k=k, axis=axis)
    idx_aval = core.get_aval(idxs)
    if type(tangent) is Zero:
        t_values = Zero(ad.tangent_aval(core.get_aval(values)))
    else:
        rank = idx_aval.ndim
        batch_dims = tuple(i for i in range(rank) if i != axis)
        dnums = indexing.GatherDimensionNumbers(
            offset_dims=(),
            collapsed_slice_dims=(axis,),
            start_index_map=(axis,),
            operand_batching_dims=batch_dims,
            start_indices_batching_dims=batch_dims,
        )
        gather_indices = reshape(idxs, idx_aval.shape + (1,))
        t_values = indexing.gather(tangent, gather_indices, dnums, (1,) * rank)
    return [values, idxs], [t_values, Zero(ad.tangent_aval(idx_aval))]


def _top_k_batch(axis_size, args, dims, *, k, axis):
    (operand,), (bdim,) = args, dims
    return top_k_p.bind(operand, k=k, axis=axis + (bdim <= axis)), [bdim, bdim]


core.abstract_eval_rules[top_k_p] = _top_k_abstract
ad.jvp_rules[top_k_p] = _top_k_jvp
batching.batch_rules[top_k_p] = _top_k_batch
lowering.register(top_k_p, lambda x, *, k, axis: list(jlax.top_k(x, k, axis=axis)))


def top_k(operand, k, *, axis=-1):
    """The ``k`` largest entries along ``axis`` (default the last) and their indices.

    Ties keep the lower index first, as jax.lax.top_k.

    Example:
      >>> import minigrad_jax.lax as lax, numpy as np
      >>> values, indices = lax.top_k(np.array([9.0, 3.0, 6.0, 4.0, 10.0], np.float32), 3)
      >>> values
      Array([10.,  9.,  6.], dtype=float32)
      >>> indices
      Array([4, 0, 2], dtype=int32)
    """
    k = int(k)
    if k < 0:
        raise ValueError(f"k argument to top_k must be nonnegative, got {k}")
    ndim = core.get_aval(operand).ndim
    if ndim == 0:
        raise TypeError("top_k operand must have >= 1 dimension, got ()")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for top_k of an array of rank {ndim}")
    # JAX's ValueErrors, raised before binding (abstract evaluation raises TypeErrors).
    aval = core.get_aval(operand)
    if np.issubdtype(aval.dtype, np.complexfloating):
        raise ValueError(f"top_k is not compatible with complex inputs, got {aval.str_short()}")
    if aval.shape[axis % ndim] < k:
        raise ValueError(
            "k argument to top_k must be no larger than size along axis; "
            f"got k={k} with shape={aval.shape} and axis={axis % ndim}"
        )
    return list(top_k_p.bind(operand, k=k, axis=axis % ndim))  # a list, as JAX's
