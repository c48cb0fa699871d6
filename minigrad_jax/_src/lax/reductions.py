"""Reductions, index reductions and cumulative ops: one stanza each."""

from __future__ import annotations

import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero


def _reduce_abstract(name):
    def rule(x, *, axes, **params):
        if any(not 0 <= a < x.ndim for a in axes) or len(set(axes)) != len(axes):
            raise TypeError(f"{name}: axes {axes} out of range (or repeated) for an operand "
                            f"of shape {x.shape}")  # fmt: skip
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
        return ShapedArray(shape, x.dtype, x.weak_type)

    return rule


def _reducer_batch(prim):
    def rule(axis_size, args, dims, *, axes, **params):
        (x,), (d,) = args, dims
        new_axes = tuple(a + (a >= d) for a in axes)
        out_dim = d - sum(a < d for a in axes)
        return prim.bind(x, axes=new_axes, **params), out_dim

    return rule


def defreducer(prim):
    core.abstract_eval_rules[prim] = _reduce_abstract(prim.name)
    batching.batch_rules[prim] = _reducer_batch(prim)


# ---------------------------------------------------------------------------
# reduce_sum

reduce_sum_p = Primitive("reduce_sum")


def _reduce_sum_transpose(ct, x, *, axes, out_sharding):
    from minigrad_jax._src.lax.structural import broadcast_in_dim

    if type(ct) is Zero:
        return [None]
    shape = x.aval.shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return [broadcast_in_dim(ct, shape, kept)]


defreducer(reduce_sum_p)
ad.deflinear(reduce_sum_p, _reduce_sum_transpose)
lowering.register(reduce_sum_p, lambda x, *, axes, out_sharding: jlax.reduce_sum(x, axes))


def reduce_sum(x, axes):
    axes = tuple(int(a) for a in axes)
    return reduce_sum_p.bind(x, axes=axes, out_sharding=None)
