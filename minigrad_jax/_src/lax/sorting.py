"""sort: a multi-operand primitive sorting all operands by the first ``num_keys``."""

from __future__ import annotations

import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero
from minigrad_jax._src.lax import indexing
from minigrad_jax._src.lax.base import broadcast_in_dim, broadcasted_iota, expand_dims

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
