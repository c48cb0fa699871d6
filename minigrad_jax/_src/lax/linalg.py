"""dot_general: the one contraction primitive."""

from __future__ import annotations

import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.lax.base import convert_element_type, transpose

dot_general_p = Primitive("dot_general")


def _dot_abstract(x, y, *, dimension_numbers, precision, preferred_element_type, out_sharding):
    (xc, yc), (xb, yb) = dimension_numbers
    if len(xc) != len(yc) or len(xb) != len(yb):
        raise TypeError(
            f"dot_general: dimension_numbers {dimension_numbers} must pair up "
            "contracting and batch dimensions"
        )
    for a, b in list(zip(xc, yc)) + list(zip(xb, yb)):
        if not (0 <= a < x.ndim and 0 <= b < y.ndim) or x.shape[a] != y.shape[b]:
            raise TypeError(
                f"dot_general: incompatible shapes {x.shape} and {y.shape} for "
                f"dimension_numbers {dimension_numbers}"
            )
    if x.dtype != y.dtype and preferred_element_type is None:
        raise TypeError(
            f"dot_general requires operands of the same dtype, got "
            f"{x.dtype.name} and {y.dtype.name}"
        )
    batch = tuple(x.shape[a] for a in xb)
    xfree = tuple(s for i, s in enumerate(x.shape) if i not in xc and i not in xb)
    yfree = tuple(s for i, s in enumerate(y.shape) if i not in yc and i not in yb)
    dtype = x.dtype if preferred_element_type is None else preferred_element_type
    return ShapedArray(batch + xfree + yfree, dtype, x.weak_type and y.weak_type)


def _ranges_like(*xs):
    start = 0
    for x in xs:
        x_len = len(x)
        yield tuple(range(start, start + x_len))
        start += x_len


def _remaining(original, *removed_lists):
    removed = set()
    for r in removed_lists:
        removed.update(r)
    return [i for i in original if i not in removed]


def _dot_transpose_lhs(
    ct,
    x_aval,
    y,
    *,
    dimension_numbers,
    precision=None,
    preferred_element_type=None,
    swap_ans=False,
    **params,
):
    # The rule JAX uses: contract the cotangent with the other operand over its
    # free dimensions, then put the result's axes back in the operand's order.
    x_ndim, y_ndim = x_aval.ndim, core.get_aval(y).ndim
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    x_kept = _remaining(range(x_ndim), x_contract, x_batch)
    y_kept = _remaining(range(y_ndim), y_contract, y_batch)
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(x_batch, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(x_batch, x_kept, y_kept)
    dims = ((ans_y, y_kept), (ans_batch, y_batch))
    x_contract_sorted_by_y = list(np.take(x_contract, np.argsort(y_contract)))
    out_axes = np.argsort(list(x_batch) + x_kept + x_contract_sorted_by_y)
    out = dot_general(ct, y, dims, precision, preferred_element_type)  # as JAX: kept
    out = _transpose(out, tuple(int(a) for a in out_axes))
    # a preferred (wider) result type: the cotangent comes back in the operand's dtype
    return convert_element_type(out, x_aval.dtype)


def _dot_transpose_rhs(ct, x, y_aval, *, dimension_numbers, **params):
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    swapped = ((y_contract, x_contract), (y_batch, x_batch))
    return _dot_transpose_lhs(ct, y_aval, x, dimension_numbers=swapped, swap_ans=True, **params)


def _dot_transpose(ct, x, y, **params):
    if type(ct) is Zero:
        return [None, None]
    if is_undefined(x):
        return [_dot_transpose_lhs(ct, x.aval, y, **params), None]
    return [None, _dot_transpose_rhs(ct, x, y.aval, **params)]


def _dot_batch(axis_size, args, dims, *, dimension_numbers, **params):
    x, y = args
    xd, yd = dims
    (xc, yc), (xb, yb) = dimension_numbers
    if xd is not None and yd is not None:
        # Both mapped: the mapped axis becomes a new leading batch dimension.
        x, y = batching.moveaxis(x, xd, 0), batching.moveaxis(y, yd, 0)
        inc = lambda ds: tuple(d + 1 for d in ds)  # noqa: E731
        dn = ((inc(xc), inc(yc)), ((0,) + inc(xb), (0,) + inc(yb)))
        return dot_general_p.bind(x, y, dimension_numbers=dn, **params), 0
    # One side mapped: its mapped axis is one more free dimension of that side,
    # left where it is (no transpose); only the other indices shift past it.
    if xd is not None:
        dn = ((_shift(xc, xd), yc), (_shift(xb, xd), yb))
        out = dot_general_p.bind(x, y, dimension_numbers=dn, **params)
        return out, len(xb) + _free_before(core.get_aval(x).ndim, dn[0][0], dn[1][0], xd)
    dn = ((xc, _shift(yc, yd)), (xb, _shift(yb, yd)))
    out = dot_general_p.bind(x, y, dimension_numbers=dn, **params)
    x_free = core.get_aval(x).ndim - len(xc) - len(xb)
    return out, len(xb) + x_free + _free_before(core.get_aval(y).ndim, dn[0][1], dn[1][1], yd)


def _shift(dims, bdim):
    return tuple(d + (d >= bdim) for d in dims)


def _free_before(ndim, contract, batch, bdim):
    return sum(1 for i in range(bdim) if i not in contract and i not in batch)


def _transpose(x, perm):
    return x if perm == tuple(range(len(perm))) else transpose(x, perm)


core.abstract_eval_rules[dot_general_p] = _dot_abstract
ad.defbilinear(dot_general_p)
ad.transpose_rules[dot_general_p] = _dot_transpose
batching.batch_rules[dot_general_p] = _dot_batch
lowering.register(
    dot_general_p,
    lambda x, y, *, dimension_numbers, precision, preferred_element_type, out_sharding: (
        jlax.dot_general(x, y, dimension_numbers, precision, preferred_element_type)
    ),
)


def _canon_dn(dn):
    (xc, yc), (xb, yb) = dn
    t = lambda s: tuple(int(i) for i in s)  # noqa: E731
    return ((t(xc), t(yc)), (t(xb), t(yb)))


def canonicalize_precision(precision):
    """JAX's form of a ``precision=`` argument: None, a (lhs, rhs) pair of
    ``lax.Precision`` or a dot algorithm (a string or one Precision means both)."""
    if precision is None or isinstance(precision, (jlax.DotAlgorithm, jlax.DotAlgorithmPreset)):
        return precision
    if isinstance(precision, (str, jlax.Precision)):
        return (jlax.Precision(precision),) * 2
    if (
        isinstance(precision, (tuple, list))
        and len(precision) == 2
        and all(isinstance(p, (str, jlax.Precision)) or p is None for p in precision)
    ):
        if all(p is None for p in precision):
            return None
        return tuple(None if p is None else jlax.Precision(p) for p in precision)
    raise ValueError(
        "precision argument must be None, a string in lax.Precision, a lax.Precision, "
        f"a pair of them or a dot algorithm; got {precision!r}"
    )


def dot_general(
    lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None, *, out_sharding=None
):
    if out_sharding is not None:
        raise NotImplementedError("dot_general: out_sharding other than None is not supported")
    pet = None if preferred_element_type is None else np.dtype(preferred_element_type)
    return dot_general_p.bind(
        lhs,
        rhs,
        dimension_numbers=_canon_dn(dimension_numbers),
        precision=canonicalize_precision(precision),
        preferred_element_type=pet,
        out_sharding=None,
    )


def batch_matmul(lhs, rhs, precision=None):
    """Matrix products over matching leading (batch) dimensions, as jax.lax.batch_matmul.

    Example:
      >>> import minigrad_jax as mg, numpy as np
      >>> mg.lax.batch_matmul(np.ones((2, 3, 4), np.float32), np.ones((2, 4, 5), np.float32)).shape
      (2, 3, 5)
    """
    la, ra = core.get_aval(lhs), core.get_aval(rhs)
    if min(la.ndim, ra.ndim) < 2:
        raise ValueError(f"Arguments to batch_matmul must be at least 2D, got {la.ndim}, {ra.ndim}")
    if la.ndim != ra.ndim:
        raise ValueError(f"Arguments to batch_matmul must have same ndim, got {la.ndim}, {ra.ndim}")
    batch = tuple(range(la.ndim - 2))
    contract = ((la.ndim - 1,), (ra.ndim - 2,))
    return dot_general(lhs, rhs, (contract, (batch, batch)), precision=precision)
