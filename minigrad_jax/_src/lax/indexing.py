"""gather, scatter and scatter-add: XLA's general indexing primitives, as in JAX.

The dimension-number types and the out-of-bounds modes are JAX's own
(``jax.lax.GatherDimensionNumbers`` and friends), so params compare equal to
the ones in a JAX jaxpr. Batching uses the operand/indices batching dims that
XLA's gather and scatter support, as JAX does.
"""

from __future__ import annotations

import weakref

import jax
import numpy as np
from jax import lax as jlax
from jax.lax import GatherDimensionNumbers, GatherScatterMode, ScatterDimensionNumbers

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.lax import elementwise
from minigrad_jax._src.lax.base import (
    broadcast_in_dim,
    convert_element_type,
    full,
    full_like,
    iota,
    reshape,
)
from minigrad_jax._src.lax.elementwise import add, bitwise_and, div, eq, mul, neg, select_n, sub

__all__ = [
    "GatherDimensionNumbers",
    "GatherScatterMode",
    "ScatterDimensionNumbers",
    "gather",
    "scatter",
    "scatter_add",
    "scatter_apply",
    "scatter_max",
    "scatter_min",
    "scatter_mul",
    "scatter_sub",
]

# ---------------------------------------------------------------------------
# shared checks


def _check_dims(name, what, dims, rank, ordered=True):
    if len(set(dims)) != len(dims) or any(not 0 <= d < rank for d in dims):
        raise TypeError(f"{what} {tuple(dims)} must be distinct and in [0, {rank})")
    if ordered and list(dims) != sorted(dims):
        raise TypeError(f"{what} {tuple(dims)} must be sorted")


def _check_indices(name, indices):
    if not jax.numpy.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"{name} indices must have an integer dtype, got {indices.dtype.name}")
    if indices.ndim < 1:
        raise TypeError(
            f"{name} indices must have at least one dimension (the trailing index-vector dimension)"
        )


def _check_batching(name, operand, indices, operand_bdims, indices_bdims):
    _check_dims(name, "operand_batching_dims", operand_bdims, operand.ndim)
    _check_dims(name, "indices batching dims", indices_bdims, indices.ndim - 1, ordered=False)
    if tuple(operand.shape[d] for d in operand_bdims) != tuple(
        indices.shape[d] for d in indices_bdims
    ):
        raise TypeError(
            f"operand batching dims {operand_bdims} and indices batching "
            f"dims {indices_bdims} must have equal sizes, got shapes "
            f"{operand.shape} and {indices.shape}"
        )


# ---------------------------------------------------------------------------
# gather

gather_p = Primitive("gather")


def _gather_abstract(
    operand,
    indices,
    *,
    dimension_numbers,
    slice_sizes,
    unique_indices,
    indices_are_sorted,
    mode,
    fill_value,
):
    dn = dimension_numbers
    _check_indices("gather", indices)
    batch_rank = indices.ndim - 1
    out_rank = len(dn.offset_dims) + batch_rank
    _check_dims("gather", "offset_dims", dn.offset_dims, out_rank)
    _check_dims("gather", "collapsed_slice_dims", dn.collapsed_slice_dims, operand.ndim)
    _check_dims("gather", "start_index_map", dn.start_index_map, operand.ndim, ordered=False)
    _check_batching(
        "gather", operand, indices, dn.operand_batching_dims, dn.start_indices_batching_dims
    )
    if len(dn.start_index_map) != indices.shape[-1]:
        raise TypeError(
            f"start_index_map {dn.start_index_map} must have one entry per "
            f"element of the index vector (indices shape {indices.shape})"
        )
    if set(dn.collapsed_slice_dims) & set(dn.operand_batching_dims) or set(
        dn.start_index_map
    ) & set(dn.operand_batching_dims):
        raise TypeError(
            "operand_batching_dims must be disjoint from collapsed_slice_dims and start_index_map"
        )
    if len(slice_sizes) != operand.ndim or any(
        not 0 <= s <= d for s, d in zip(slice_sizes, operand.shape, strict=True)
    ):
        raise TypeError(
            f"slice_sizes {tuple(slice_sizes)} must give one size per "
            f"operand axis, within the operand shape {operand.shape}"
        )
    squeezed = set(dn.collapsed_slice_dims) | set(dn.operand_batching_dims)
    if any(slice_sizes[d] > 1 for d in squeezed):
        raise TypeError(
            f"collapsed and batching dims must have slice size <= 1, got "
            f"slice_sizes {tuple(slice_sizes)}"
        )
    window = [s for i, s in enumerate(slice_sizes) if i not in squeezed]
    if len(window) != len(dn.offset_dims):
        raise TypeError(
            f"offset_dims {dn.offset_dims} must match the "
            f"{len(window)} uncollapsed slice dimensions"
        )
    batch_shape = iter(indices.shape[:-1])
    window = iter(window)
    shape = [next(window) if i in dn.offset_dims else next(batch_shape) for i in range(out_rank)]
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def _gather_jvp(
    g,
    operand,
    indices,
    *,
    dimension_numbers,
    slice_sizes,
    unique_indices,
    indices_are_sorted,
    mode,
    fill_value,
):
    return gather(
        g,
        indices,
        dimension_numbers,
        slice_sizes,
        unique_indices=unique_indices,
        indices_are_sorted=indices_are_sorted,
        mode=mode,
        fill_value=0,
    )


def _scatter_dnums_of(dn):
    return ScatterDimensionNumbers(
        update_window_dims=dn.offset_dims,
        inserted_window_dims=dn.collapsed_slice_dims,
        scatter_dims_to_operand_dims=dn.start_index_map,
        operand_batching_dims=dn.operand_batching_dims,
        scatter_indices_batching_dims=dn.start_indices_batching_dims,
    )


def _gather_transpose(
    ct,
    operand,
    indices,
    *,
    dimension_numbers,
    slice_sizes,
    unique_indices,
    indices_are_sorted,
    mode,
    fill_value,
):
    if type(ct) is Zero or not is_undefined(operand):
        return [None, None]
    zeros = full(operand.aval.shape, 0, core.get_aval(ct).dtype)
    out = scatter_add(
        zeros,
        indices,
        ct,
        _scatter_dnums_of(dimension_numbers),
        indices_are_sorted=indices_are_sorted,
        unique_indices=unique_indices,
        mode=mode,
    )
    return [out, None]


def _add1(dims):
    return tuple(d + 1 for d in dims)


def gather_batch_rule(axis_size, args, dims, *, dimension_numbers, slice_sizes, **params):
    (operand, indices), (od, idd) = args, dims
    dn = dimension_numbers
    if idd is None:
        # Only the operand is mapped: its mapped axis becomes a full-size window dim.
        operand = batching.moveaxis(operand, od, 0)
        dn = GatherDimensionNumbers(
            offset_dims=(0,) + _add1(dn.offset_dims),
            collapsed_slice_dims=_add1(dn.collapsed_slice_dims),
            start_index_map=_add1(dn.start_index_map),
            operand_batching_dims=_add1(dn.operand_batching_dims),
            start_indices_batching_dims=dn.start_indices_batching_dims,
        )
        out = gather(operand, indices, dn, (axis_size, *slice_sizes), **params)
        return out, 0
    indices = batching.moveaxis(indices, idd, 0)
    if od is None:
        # Only the indices are mapped: one more batch dimension of the result.
        dn = dn._replace(
            offset_dims=_add1(dn.offset_dims),
            start_indices_batching_dims=_add1(dn.start_indices_batching_dims),
        )
        params = dict(params, unique_indices=False, indices_are_sorted=False)
        return gather(operand, indices, dn, slice_sizes, **params), 0
    # Both mapped: pair the mapped axes up as a batching dimension.
    operand = batching.moveaxis(operand, od, 0)
    dn = GatherDimensionNumbers(
        offset_dims=_add1(dn.offset_dims),
        collapsed_slice_dims=_add1(dn.collapsed_slice_dims),
        start_index_map=_add1(dn.start_index_map),
        operand_batching_dims=(0,) + _add1(dn.operand_batching_dims),
        start_indices_batching_dims=(0,) + _add1(dn.start_indices_batching_dims),
    )
    return gather(operand, indices, dn, (int(axis_size > 0), *slice_sizes), **params), 0


def _gather_lower(
    operand,
    indices,
    *,
    dimension_numbers,
    slice_sizes,
    unique_indices,
    indices_are_sorted,
    mode,
    fill_value,
):
    return jlax.gather(
        operand,
        indices,
        dimension_numbers,
        slice_sizes,
        unique_indices=unique_indices,
        indices_are_sorted=indices_are_sorted,
        mode=mode,
        fill_value=fill_value,
    )


core.abstract_eval_rules[gather_p] = _gather_abstract
ad.defjvp(gather_p, _gather_jvp, None)
ad.transpose_rules[gather_p] = _gather_transpose
batching.batch_rules[gather_p] = gather_batch_rule
lowering.register(gather_p, _gather_lower)


def _canon_gather_dnums(dn):
    if not isinstance(dn, GatherDimensionNumbers):
        raise TypeError(
            f"gather dimension_numbers must be a jax.lax.GatherDimensionNumbers, "
            f"got {type(dn).__name__}"
        )
    return GatherDimensionNumbers(*(tuple(int(d) for d in f) for f in dn))


def _default_fill(dtype):
    """JAX's fill for out-of-bounds gathers in FILL_OR_DROP mode."""
    if jax.numpy.issubdtype(dtype, np.inexact):
        return np.nan
    if jax.numpy.issubdtype(dtype, np.signedinteger):
        return int(np.iinfo(dtype).min)
    if jax.numpy.issubdtype(dtype, np.unsignedinteger):
        return int(np.iinfo(dtype).max)
    return True


def gather(
    operand,
    start_indices,
    dimension_numbers,
    slice_sizes,
    *,
    unique_indices=False,
    indices_are_sorted=False,
    mode=None,
    fill_value=None,
):
    """XLA's gather: slices of ``operand`` starting at each index vector.

    Example:
      >>> import minigrad_jax.lax as lax, numpy as np
      >>> dn = lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,),
      ...                                 start_index_map=(0,))
      >>> lax.gather(np.arange(5.0, dtype=np.float32), np.array([[4], [1]]), dn, (1,))
      Array([4., 1.], dtype=float32)
    """
    mode = GatherScatterMode.from_any(GatherScatterMode.PROMISE_IN_BOUNDS if mode is None else mode)
    if mode == GatherScatterMode.FILL_OR_DROP:
        if fill_value is None:
            fill_value = _default_fill(core.get_aval(operand).dtype)
    else:
        fill_value = None
    return gather_p.bind(
        operand,
        start_indices,
        dimension_numbers=_canon_gather_dnums(dimension_numbers),
        slice_sizes=tuple(int(s) for s in slice_sizes),
        unique_indices=bool(unique_indices),
        indices_are_sorted=bool(indices_are_sorted),
        mode=mode,
        fill_value=fill_value,
    )


# ---------------------------------------------------------------------------
# scatter and scatter-add


def _scatter_abstract(name):
    def rule(operand, indices, updates, *, dimension_numbers, **params):
        dn = dimension_numbers
        _check_indices(name, indices)
        if operand.dtype != updates.dtype:
            raise TypeError(
                f"{name} requires updates of the operand's dtype, got "
                f"{updates.dtype.name} and {operand.dtype.name}"
            )
        batch_rank = indices.ndim - 1
        if updates.ndim != batch_rank + len(dn.update_window_dims):
            raise TypeError(
                f"updates must have rank "
                f"{batch_rank + len(dn.update_window_dims)}, got shape "
                f"{updates.shape}"
            )
        _check_dims(name, "update_window_dims", dn.update_window_dims, updates.ndim)
        _check_dims(name, "inserted_window_dims", dn.inserted_window_dims, operand.ndim)
        _check_dims(
            name,
            "scatter_dims_to_operand_dims",
            dn.scatter_dims_to_operand_dims,
            operand.ndim,
            ordered=False,
        )
        _check_batching(
            name, operand, indices, dn.operand_batching_dims, dn.scatter_indices_batching_dims
        )
        if len(dn.scatter_dims_to_operand_dims) != indices.shape[-1]:
            raise TypeError(
                f"scatter_dims_to_operand_dims "
                f"{dn.scatter_dims_to_operand_dims} must have one entry per "
                f"element of the index vector (indices shape {indices.shape})"
            )
        windowed = [
            i
            for i in range(operand.ndim)
            if i not in dn.inserted_window_dims and i not in dn.operand_batching_dims
        ]
        if len(windowed) != len(dn.update_window_dims):
            raise TypeError(
                f"update_window_dims {dn.update_window_dims} must match "
                f"the {len(windowed)} operand window dimensions"
            )
        for od, ud in zip(windowed, dn.update_window_dims, strict=True):
            if updates.shape[ud] > operand.shape[od]:
                raise TypeError(
                    f"the update window {updates.shape} does not fit in the operand {operand.shape}"
                )
        scatter_dims = [d for d in range(updates.ndim) if d not in dn.update_window_dims]
        if tuple(updates.shape[d] for d in scatter_dims) != indices.shape[:-1]:
            raise TypeError(
                f"the scatter dimensions of updates {updates.shape} must "
                f"match the batch dimensions of indices {indices.shape}"
            )
        return ShapedArray(operand.shape, operand.dtype, operand.weak_type)

    return rule


def _gather_dnums_of(dn):
    return GatherDimensionNumbers(
        offset_dims=dn.update_window_dims,
        collapsed_slice_dims=dn.inserted_window_dims,
        start_index_map=dn.scatter_dims_to_operand_dims,
        operand_batching_dims=dn.operand_batching_dims,
        start_indices_batching_dims=dn.scatter_indices_batching_dims,
    )


def _updates_slice_sizes(operand_shape, updates_shape, dn):
    """The gather slice sizes that read back the windows a scatter wrote."""
    sizes, window = [], iter(dn.update_window_dims)
    for i in range(len(operand_shape)):
        squeezed = i in dn.inserted_window_dims or i in dn.operand_batching_dims
        sizes.append(1 if squeezed else updates_shape[next(window)])
    return tuple(sizes)


def _gather_updates(ct, indices, updates_shape, dn, mode):
    """The transpose of scattering updates: gather the cotangent at the same windows."""
    sizes = _updates_slice_sizes(core.get_aval(ct).shape, updates_shape, dn)
    return gather(ct, indices, _gather_dnums_of(dn), sizes, mode=mode, fill_value=0)


def _aval_of(x):
    return x.aval if is_undefined(x) else core.get_aval(x)


# ---------------------------------------------------------------------------
# the scatter family
#
# scatter (overwrite) and the combining scatters (scatter-add, -sub, -mul, -min,
# -max) share one abstract eval, batching rule, lowering and binder; each
# combining scatter carries its combiner as JAX does, an ``update_jaxpr`` of two
# scalars, and gets the JVP JAX gives it.


def scatter_batch_rule(prim):
    def rule(axis_size, args, dims, *, dimension_numbers, **params):
        (operand, indices, updates), (od, idd, ud) = args, dims
        dn = dimension_numbers
        operand = batching.bdim_at_front(operand, od, axis_size)
        updates = batching.bdim_at_front(updates, ud, axis_size)
        if idd is None:
            # Unmapped indices: the mapped axis is one more window dimension.
            dn = dn._replace(
                update_window_dims=(0,) + _add1(dn.update_window_dims),
                inserted_window_dims=_add1(dn.inserted_window_dims),
                operand_batching_dims=_add1(dn.operand_batching_dims),
                scatter_dims_to_operand_dims=_add1(dn.scatter_dims_to_operand_dims),
            )
            return prim.bind(operand, indices, updates, dimension_numbers=dn, **params), 0
        indices = batching.bdim_at_front(indices, idd, axis_size)
        dn = ScatterDimensionNumbers(
            update_window_dims=_add1(dn.update_window_dims),
            inserted_window_dims=_add1(dn.inserted_window_dims),
            scatter_dims_to_operand_dims=_add1(dn.scatter_dims_to_operand_dims),
            operand_batching_dims=(0,) + _add1(dn.operand_batching_dims),
            scatter_indices_batching_dims=(0,) + _add1(dn.scatter_indices_batching_dims),
        )
        return prim.bind(operand, indices, updates, dimension_numbers=dn, **params), 0

    return rule


# What a scatter equation's params hold besides the dimension numbers.
_SCATTER_KW = ("indices_are_sorted", "unique_indices", "mode")


def _scatter_lower(fn):
    def rule(operand, indices, updates, *, update_jaxpr, update_consts, dimension_numbers, **kw):
        return fn(operand, indices, updates, dimension_numbers, **kw)

    return rule


def _register_scatter(prim, lower, jvp, transpose=None):
    core.abstract_eval_rules[prim] = _scatter_abstract(prim.name)
    if jvp is not None:
        ad.jvp_rules[prim] = jvp
    if transpose is not None:
        ad.transpose_rules[prim] = transpose
    batching.batch_rules[prim] = scatter_batch_rule(prim)
    lowering.register(prim, lower)


# update_jaxprs: ``fn`` traced on two scalars, as JAX's ``_reduction_jaxpr``; cached
# per function (weakly) and aval, so the params of equal scatters are equal.
_UPDATE_JAXPRS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _update_jaxpr(fn, aval, what):
    try:
        per_fn = _UPDATE_JAXPRS.setdefault(fn, {})
    except TypeError:  # not weakly referenceable: trace every time
        per_fn = {}
    key = (aval.dtype, aval.weak_type)
    if key not in per_fn:
        closed = pe.trace_to_jaxpr(lambda a, b: [fn(a, b)], [aval, aval], what)
        (out,) = closed.out_avals
        if out.shape != () or out.dtype != aval.dtype:
            raise TypeError(
                f"{what}: the update function must map a {aval.dtype.name}[] scalar to a "
                f"{aval.dtype.name}[] scalar, got {out.str_short()}"
            )
        if any(isinstance(c, core.Tracer) for c in closed.consts):
            raise TypeError(
                f"{what}: the update function must not close over traced values "
                "(pass them as operands instead)"
            )
        per_fn[key] = (closed.jaxpr, tuple(closed.consts))
    return per_fn[key]


def _canon_scatter_dnums(dn):
    if not isinstance(dn, ScatterDimensionNumbers):
        raise TypeError(
            f"scatter dimension_numbers must be a jax.lax.ScatterDimensionNumbers, "
            f"got {type(dn).__name__}"
        )
    return ScatterDimensionNumbers(*(tuple(int(d) for d in f) for f in dn))


def _bind_scatter(
    prim, combiner, operand, indices, updates, dn, indices_are_sorted, unique_indices, mode
):
    if combiner is None:
        update_jaxpr, update_consts = None, ()
    else:
        dtype = core.get_aval(operand).dtype
        update_jaxpr, update_consts = _update_jaxpr(
            combiner, ShapedArray((), dtype), prim.name.replace("-", "_")
        )
    return prim.bind(
        operand,
        indices,
        updates,
        update_jaxpr=update_jaxpr,
        update_consts=update_consts,
        dimension_numbers=_canon_scatter_dnums(dn),
        indices_are_sorted=bool(indices_are_sorted),
        unique_indices=bool(unique_indices),
        mode=GatherScatterMode.from_any(mode),
    )


def _zero_tangent(out):
    return Zero(ad.tangent_aval(core.get_aval(out)))


def _inverse_gather(x, indices, updates_shape, dn, **kw):
    """Gather from ``x`` the windows a scatter with ``dn`` writes (JAX's inverse gather)."""
    sizes = _updates_slice_sizes(core.get_aval(x).shape, updates_shape, dn)
    return gather(x, indices, _gather_dnums_of(dn), sizes, **kw)


# ---- scatter-add and scatter-sub: linear in operand and updates


def _scatter_addsub_jvp(prim):
    def rule(primals, tangents, **params):
        operand, indices, updates = primals
        t_op, _, t_up = tangents
        out = prim.bind(operand, indices, updates, **params)
        if type(t_op) is Zero and type(t_up) is Zero:
            return out, _zero_tangent(out)
        return out, prim.bind(ad.instantiate(t_op), indices, ad.instantiate(t_up), **params)

    return rule


def _scatter_addsub_transpose(negate):
    def rule(ct, operand, indices, updates, *, dimension_numbers, mode, **params):
        if is_undefined(indices):
            raise NotImplementedError("scatter-add/sub is not linear in its indices")
        if type(ct) is Zero:
            return [None, None, None]
        ct_op = ct if is_undefined(operand) else None
        ct_up = None
        if is_undefined(updates):
            ct_up = _gather_updates(ct, indices, updates.aval.shape, dimension_numbers, mode)
            if negate:
                ct_up = neg(ct_up)
        return [ct_op, None, ct_up]

    return rule


scatter_add_p = Primitive("scatter-add")
_register_scatter(
    scatter_add_p,
    _scatter_lower(jlax.scatter_add),
    _scatter_addsub_jvp(scatter_add_p),
    _scatter_addsub_transpose(negate=False),
)

scatter_sub_p = Primitive("scatter-sub")
_register_scatter(
    scatter_sub_p,
    _scatter_lower(jlax.scatter_sub),
    _scatter_addsub_jvp(scatter_sub_p),
    _scatter_addsub_transpose(negate=True),
)


# ---- scatter-mul: linear in the operand


def _scatter_mul_jvp_updates(g, x, i, y, *, dimension_numbers, **params):
    """The updates' tangent term: ``x * d(prod of updates)`` at each target.

    With ``unique_indices`` this is JAX's rule, ``x * scatter_add(0, i, g)``. JAX
    refuses repeated indices; we compute the exact derivative instead: the
    product of the *other* updates aimed at the same element, i.e. the product
    of the nonzero ones divided by ``y`` when none is zero, that product for the
    single zero update when there is exactly one, and 0 otherwise.
    """
    dn = dimension_numbers
    kw = {k: params[k] for k in _SCATTER_KW}
    x_aval = core.get_aval(x)
    zeros = full(x_aval.shape, 0, x_aval.dtype)
    if not kw["unique_indices"]:
        y_aval = core.get_aval(y)
        is_zero = eq(y, full_like(y, 0))
        nonzero_y = select_n(is_zero, y, full_like(y, 1))
        ones = full(x_aval.shape, 1, x_aval.dtype)
        prod = scatter_mul(ones, i, nonzero_y, dn, **kw)
        zeros_hit = scatter_add(zeros, i, convert_element_type(is_zero, x_aval.dtype), dn, **kw)
        at = dict(mode=kw["mode"], fill_value=0)
        prod = _inverse_gather(prod, i, y_aval.shape, dn, **at)
        zeros_hit = _inverse_gather(zeros_hit, i, y_aval.shape, dn, **at)
        only_zero = bitwise_and(is_zero, eq(zeros_hit, full_like(zeros_hit, 1)))
        others = select_n(
            eq(zeros_hit, full_like(zeros_hit, 0)),
            select_n(only_zero, full_like(prod, 0), prod),
            div(prod, nonzero_y),
        )
        g = mul(g, others)
    return mul(x, scatter_add(zeros, i, g, dn, **kw))


def _scatter_mul_transpose(ct, operand, indices, updates, *, dimension_numbers, **params):
    if is_undefined(indices):
        raise NotImplementedError("scatter-mul is not linear in its indices")
    if type(ct) is Zero:
        return [None, None, None]
    if is_undefined(operand) and is_undefined(updates):
        raise NotImplementedError(
            "scatter-mul is linear in its operand or in its updates, not in both"
        )
    kw = {k: params[k] for k in _SCATTER_KW}
    ct_op = ct_up = None
    if is_undefined(operand):
        ct_op = scatter_mul(ct, indices, updates, dimension_numbers, **kw)
    if is_undefined(updates):
        if not kw["unique_indices"]:
            raise NotImplementedError(
                "scatter_mul gradients are only implemented if `unique_indices=True`"
            )
        ct_up = _gather_updates(
            mul(ct, operand), indices, updates.aval.shape, dimension_numbers, kw["mode"]
        )
    return [ct_op, None, ct_up]


scatter_mul_p = Primitive("scatter-mul")
_register_scatter(scatter_mul_p, _scatter_lower(jlax.scatter_mul), None, _scatter_mul_transpose)
ad.defjvp(
    scatter_mul_p,
    lambda g, x, i, y, **params: scatter_mul_p.bind(g, i, y, **params),
    None,
    _scatter_mul_jvp_updates,
)


# ---- scatter-min and scatter-max: JAX's select-based rule


def _select(pred, on_true, on_false):
    """jax.lax.select: its arguments in JAX's order, bound as the select_n it is."""
    return select_n(pred, on_false, on_true)


def _scatter_extremal_jvp(prim):
    def rule(primals, tangents, *, dimension_numbers, **params):
        operand, indices, updates = primals
        t_op, _, t_up = tangents
        dn = dimension_numbers
        kw = {k: params[k] for k in _SCATTER_KW}
        out = prim.bind(operand, indices, updates, dimension_numbers=dn, **params)
        if type(t_op) is Zero and type(t_up) is Zero:
            return out, _zero_tangent(out)
        t_op, t_up = ad.instantiate(t_op), ad.instantiate(t_up)
        up_shape = core.get_aval(updates).shape

        def back(x):
            return _inverse_gather(x, indices, up_shape, dn)

        # As JAX: updates tied for the winning value share its tangent equally
        # (the operand's own value counts as one more contender).
        initial_vals = back(operand)
        target_vals = back(out)
        successful = eq(updates, target_vals)
        retained = eq(initial_vals, target_vals)
        # Written as JAX writes it (lax.select's argument order), so that the
        # equations come out in the same order.
        num_updates = back(
            scatter_add(
                full_like(operand, 0),
                indices,
                _select(successful, full_like(updates, 1), full_like(updates, 0)),
                dn,
            )
        )
        num_refs = back(scatter_add(full_like(operand, 0), indices, full_like(updates, 1), dn))
        updates_normalizer = _select(
            retained, div(1.0, add(num_updates, 1.0)), div(1.0, num_updates)
        )
        updates_coef = _select(successful, updates_normalizer, full_like(updates, 0))
        operand_normalizer = _select(
            retained, div(1.0, add(num_updates, 1.0)), full_like(num_updates, 0)
        )
        operand_coef = div(add(-1.0, operand_normalizer), num_refs)
        tangent_updates = add(mul(back(t_op), operand_coef), mul(t_up, updates_coef))
        return out, scatter_add(t_op, indices, tangent_updates, dn, **kw)

    return rule


scatter_min_p = Primitive("scatter-min")
_register_scatter(
    scatter_min_p, _scatter_lower(jlax.scatter_min), _scatter_extremal_jvp(scatter_min_p)
)
scatter_max_p = Primitive("scatter-max")
_register_scatter(
    scatter_max_p, _scatter_lower(jlax.scatter_max), _scatter_extremal_jvp(scatter_max_p)
)


# ---- scatter: overwrite (update_jaxpr None), or scatter_apply's unary update


def _scatter_jvp(
    primals,
    tangents,
    *,
    update_jaxpr,
    update_consts,
    dimension_numbers,
    indices_are_sorted,
    unique_indices,
    mode,
):
    if update_jaxpr is not None:
        raise NotImplementedError("scatter_apply JVP not implemented")
    operand, indices, updates = primals
    t_op, _, t_up = tangents
    dn = dimension_numbers
    params = dict(
        update_jaxpr=update_jaxpr,
        update_consts=update_consts,
        dimension_numbers=dn,
        indices_are_sorted=indices_are_sorted,
        unique_indices=unique_indices,
        mode=mode,
    )
    if type(t_op) is Zero and type(t_up) is Zero:
        out = scatter_p.bind(operand, indices, updates, **params)
        return out, _zero_tangent(out)
    t_op, t_up = ad.instantiate(t_op), ad.instantiate(t_up)
    if unique_indices:
        return (
            scatter_p.bind(operand, indices, updates, **params),
            scatter_p.bind(t_op, indices, t_up, **params),
        )
    # Overlapping updates: which one wins is unspecified, so (as JAX does) tag
    # each update with an id, scatter the ids, read them back, and keep only the
    # operand entries and updates that won; a scatter-add of those is exact.
    op_aval, up_aval = core.get_aval(operand), core.get_aval(updates)
    ids_shape = list(up_aval.shape)
    for d in dn.update_window_dims:
        ids_shape[d] = 1
    num_ids = int(np.prod(ids_shape, dtype=np.int64))
    id_dtype = np.dtype(np.uint32 if num_ids <= np.iinfo(np.uint32).max else np.uint64)
    ids = reshape(iota(id_dtype, num_ids), ids_shape)
    ones = full(up_aval.shape, 1, id_dtype)
    # JAX lets add broadcast the size-1 window axes; broadcast explicitly.
    update_ids = add(broadcast_in_dim(ids, up_aval.shape, tuple(range(up_aval.ndim))), ones)
    kwargs = dict(indices_are_sorted=indices_are_sorted, unique_indices=unique_indices, mode=mode)
    scattered_ids = scatter(full(op_aval.shape, 0, id_dtype), indices, update_ids, dn, **kwargs)
    gathered_ids = _inverse_gather(scattered_ids, indices, up_aval.shape, dn)

    def zeros(x):
        return full_like(x, 0)

    def keep_operand(x):  # lax.select(pred, x, 0), written as the select_n it is
        return select_n(eq(scattered_ids, zeros(scattered_ids)), zeros(x), x)

    def keep_updates(x):
        return select_n(eq(update_ids, gathered_ids), zeros(x), x)

    out = scatter_add(keep_operand(operand), indices, keep_updates(updates), dn, **kwargs)
    t_out = scatter_add(keep_operand(t_op), indices, keep_updates(t_up), dn, **kwargs)
    return out, t_out


def _scatter_transpose(
    ct,
    operand,
    indices,
    updates,
    *,
    update_jaxpr,
    update_consts,
    dimension_numbers,
    indices_are_sorted,
    unique_indices,
    mode,
):
    if not unique_indices:
        raise NotImplementedError("scatter transpose is only implemented where unique_indices=True")
    if is_undefined(indices):
        raise NotImplementedError("scatter is not linear in its indices")
    if type(ct) is Zero:
        return [None, None, None]
    dn, up_aval = dimension_numbers, _aval_of(updates)
    ct_op = ct_up = None
    if is_undefined(operand):
        # The overwritten entries get no cotangent: scatter zeros over them.
        zeros = full(up_aval.shape, 0, core.get_aval(ct).dtype)
        ct_op = scatter(
            ct,
            indices,
            zeros,
            dn,
            indices_are_sorted=indices_are_sorted,
            unique_indices=True,
            mode=mode,
        )
    if is_undefined(updates):
        ct_up = _gather_updates(ct, indices, up_aval.shape, dn, mode)
    return [ct_op, None, ct_up]


# jax.lax.scatter_apply wants a Python function; one per update_jaxpr, so that
# JAX's own caches (keyed on the function) hit on every eager call.
_APPLY_FNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _apply_fn(update_jaxpr, update_consts):
    fn = _APPLY_FNS.get(update_jaxpr)
    if fn is None:

        def fn(x):
            return lowering.replay(update_jaxpr, list(update_consts), x, x)[0]

        _APPLY_FNS[update_jaxpr] = fn
    return fn


def _scatter_p_lower(operand, indices, updates, *, update_jaxpr, update_consts, **params):
    dn = params.pop("dimension_numbers")
    if update_jaxpr is None:
        return jlax.scatter(operand, indices, updates, dn, **params)
    fn = _apply_fn(update_jaxpr, update_consts)
    return jlax.scatter_apply(operand, indices, fn, dn, update_shape=np.shape(updates), **params)


scatter_p = Primitive("scatter")
_register_scatter(scatter_p, _scatter_p_lower, _scatter_jvp, _scatter_transpose)


# ---- the public wrappers (jax.lax's names and signatures)


def _scatter_wrapper(name, prim, combiner, doc):
    """jax.lax's ``name``: bind ``prim`` with ``combiner``'s scalar ``update_jaxpr``."""

    def wrapper(
        operand,
        scatter_indices,
        updates,
        dimension_numbers,
        *,
        indices_are_sorted=False,
        unique_indices=False,
        mode=None,
    ):
        return _bind_scatter(
            prim,
            combiner,
            operand,
            scatter_indices,
            updates,
            dimension_numbers,
            indices_are_sorted,
            unique_indices,
            mode,
        )

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = doc
    return wrapper


_DN_EXAMPLE = """
    Example:
      >>> import minigrad_jax.lax as lax, numpy as np
      >>> dn = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
      ...                                  scatter_dims_to_operand_dims=(0,))
"""

scatter = _scatter_wrapper(
    "scatter",
    scatter_p,
    None,
    """XLA's scatter: ``operand`` with the indexed windows overwritten by ``updates``.
"""
    + _DN_EXAMPLE
    + """      >>> lax.scatter(np.zeros(3, np.float32), np.array([[2]]), np.ones(1, np.float32), dn)
      Array([0., 0., 1.], dtype=float32)
    """,
)
scatter_add = _scatter_wrapper(
    "scatter_add",
    scatter_add_p,
    add,
    """XLA's scatter with addition: ``operand`` plus ``updates`` added at the indexed windows.
"""
    + _DN_EXAMPLE
    + """      >>> x = np.zeros(3, np.float32)
      >>> lax.scatter_add(x, np.array([[1], [1]]), np.ones(2, np.float32), dn)
      Array([0., 2., 0.], dtype=float32)
    """,
)
scatter_sub = _scatter_wrapper(
    "scatter_sub",
    scatter_sub_p,
    sub,
    "XLA's scatter with subtraction: ``updates`` subtracted at the indexed windows.",
)
scatter_mul = _scatter_wrapper(
    "scatter_mul",
    scatter_mul_p,
    mul,
    """XLA's scatter with multiplication: repeated indices multiply.
"""
    + _DN_EXAMPLE
    + """      >>> x = np.full(3, 2.0, np.float32)
      >>> lax.scatter_mul(x, np.array([[1], [1]]), np.full(2, 3.0, np.float32), dn)
      Array([ 2., 18.,  2.], dtype=float32)
    """,
)
scatter_min = _scatter_wrapper(
    "scatter_min",
    scatter_min_p,
    elementwise.min,
    "XLA's scatter with minimum: each indexed element becomes the min of it and its updates.",
)
scatter_max = _scatter_wrapper(
    "scatter_max",
    scatter_max_p,
    elementwise.max,
    "XLA's scatter with maximum: each indexed element becomes the max of it and its updates.",
)


_APPLY_WRAPPERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def scatter_apply(
    operand,
    scatter_indices,
    func,
    dimension_numbers,
    *,
    update_shape=(),
    indices_are_sorted=False,
    unique_indices=False,
    mode=None,
):
    """``func`` applied to ``operand`` at the indexed windows (again for each repeat).

    As in JAX it is a ``scatter`` whose ``update_jaxpr`` is ``func`` on scalars,
    with zero updates of ``update_shape`` as a placeholder; like JAX's it is not
    differentiable.

    Example:
      >>> import minigrad_jax.lax as lax, numpy as np
      >>> dn = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
      ...                                  scatter_dims_to_operand_dims=(0,))
      >>> x = np.ones(3, np.float32)
      >>> lax.scatter_apply(x, np.array([[0], [0]]), lambda v: v * 3.0, dn, update_shape=(2,))
      Array([9., 1., 1.], dtype=float32)
    """
    if not callable(func):
        raise TypeError(f"scatter_apply: func must be callable, got {type(func).__name__}")
    aval = core.get_aval(operand)
    unused = full(tuple(update_shape), 0, aval.dtype)
    try:
        apply = _APPLY_WRAPPERS.setdefault(func, lambda x, _: func(x))
    except TypeError:  # func is not weakly referenceable
        apply = lambda x, _: func(x)  # noqa: E731
    update_jaxpr, update_consts = _update_jaxpr(
        apply, ShapedArray((), aval.dtype, aval.weak_type), "scatter_apply"
    )
    return scatter_p.bind(
        operand,
        scatter_indices,
        unused,
        update_jaxpr=update_jaxpr,
        update_consts=update_consts,
        dimension_numbers=_canon_scatter_dnums(dimension_numbers),
        indices_are_sorted=bool(indices_are_sorted),
        unique_indices=bool(unique_indices),
        mode=GatherScatterMode.from_any(mode),
    )
