"""gather, scatter and scatter-add: XLA's general indexing primitives, as in JAX.

The dimension-number types and the out-of-bounds modes are JAX's own
(``jax.lax.GatherDimensionNumbers`` and friends), so params compare equal to
the ones in a JAX jaxpr. Batching uses the operand/indices batching dims that
XLA's gather and scatter support, as JAX does.
"""

from __future__ import annotations

import jax
import numpy as np
from jax import lax as jlax
from jax.lax import GatherDimensionNumbers, GatherScatterMode, ScatterDimensionNumbers

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.ir import Jaxpr, JaxprEqn, Var
from minigrad_jax._src.lax.base import broadcast_in_dim, full, full_like, iota, reshape
from minigrad_jax._src.lax.elementwise import add, add_p, eq, select_n

__all__ = [
    "GatherDimensionNumbers",
    "GatherScatterMode",
    "ScatterDimensionNumbers",
    "gather",
    "scatter",
    "scatter_add",
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


scatter_add_p = Primitive("scatter-add")


def _scatter_add_jvp(primals, tangents, **params):
    operand, indices, updates = primals
    t_op, _, t_up = tangents
    out = scatter_add_p.bind(operand, indices, updates, **params)
    if type(t_op) is Zero and type(t_up) is Zero:
        return out, Zero(ad.tangent_aval(core.get_aval(out)))
    return out, scatter_add_p.bind(ad.instantiate(t_op), indices, ad.instantiate(t_up), **params)


def _scatter_add_transpose(ct, operand, indices, updates, *, dimension_numbers, mode, **params):
    if is_undefined(indices):
        raise NotImplementedError("scatter-add is not linear in its indices")
    if type(ct) is Zero:
        return [None, None, None]
    ct_op = ct if is_undefined(operand) else None
    ct_up = None
    if is_undefined(updates):
        ct_up = _gather_updates(ct, indices, updates.aval.shape, dimension_numbers, mode)
    return [ct_op, None, ct_up]


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


def _scatter_lower(fn):
    def rule(
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
        return fn(
            operand,
            indices,
            updates,
            dimension_numbers,
            indices_are_sorted=indices_are_sorted,
            unique_indices=unique_indices,
            mode=mode,
        )

    return rule


core.abstract_eval_rules[scatter_add_p] = _scatter_abstract("scatter-add")
ad.jvp_rules[scatter_add_p] = _scatter_add_jvp
ad.transpose_rules[scatter_add_p] = _scatter_add_transpose
batching.batch_rules[scatter_add_p] = scatter_batch_rule(scatter_add_p)
lowering.register(scatter_add_p, _scatter_lower(jlax.scatter_add))

_ADD_JAXPRS: dict = {}


def _add_jaxpr(dtype):
    """The ``update_jaxpr`` param JAX gives scatter-add: ``lambda a, b: a + b`` on scalars."""
    jaxpr = _ADD_JAXPRS.get(dtype)
    if jaxpr is None:
        a, b, c = (Var(ShapedArray((), dtype)) for _ in range(3))
        jaxpr = _ADD_JAXPRS[dtype] = Jaxpr([], [a, b], [c], [JaxprEqn([a, b], [c], add_p, {})])
    return jaxpr


def _canon_scatter_dnums(dn):
    if not isinstance(dn, ScatterDimensionNumbers):
        raise TypeError(
            f"scatter dimension_numbers must be a jax.lax.ScatterDimensionNumbers, "
            f"got {type(dn).__name__}"
        )
    return ScatterDimensionNumbers(*(tuple(int(d) for d in f) for f in dn))


def scatter_add(
    operand,
    scatter_indices,
    updates,
    dimension_numbers,
    *,
    indices_are_sorted=False,
    unique_indices=False,
    mode=None,
):
    """XLA's scatter with addition: ``operand`` plus ``updates`` added at the indexed windows.

    Example:
      >>> import minigrad_jax.lax as lax, numpy as np
      >>> dn = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
      ...                                  scatter_dims_to_operand_dims=(0,))
      >>> x = np.zeros(3, np.float32)
      >>> lax.scatter_add(x, np.array([[1], [1]]), np.ones(2, np.float32), dn)
      Array([0., 2., 0.], dtype=float32)
    """
    dtype = core.get_aval(operand).dtype
    return scatter_add_p.bind(
        operand,
        scatter_indices,
        updates,
        update_jaxpr=_add_jaxpr(dtype),
        update_consts=(),
        dimension_numbers=_canon_scatter_dnums(dimension_numbers),
        indices_are_sorted=bool(indices_are_sorted),
        unique_indices=bool(unique_indices),
        mode=GatherScatterMode.from_any(mode),
    )


scatter_p = Primitive("scatter")


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
        return out, Zero(ad.tangent_aval(core.get_aval(out)))
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
    sizes = _updates_slice_sizes(op_aval.shape, up_aval.shape, dn)
    gathered_ids = gather(scattered_ids, indices, _gather_dnums_of(dn), sizes)

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


core.abstract_eval_rules[scatter_p] = _scatter_abstract("scatter")
ad.jvp_rules[scatter_p] = _scatter_jvp
ad.transpose_rules[scatter_p] = _scatter_transpose
batching.batch_rules[scatter_p] = scatter_batch_rule(scatter_p)
lowering.register(scatter_p, _scatter_lower(jlax.scatter))


def scatter(
    operand,
    scatter_indices,
    updates,
    dimension_numbers,
    *,
    indices_are_sorted=False,
    unique_indices=False,
    mode=None,
):
    """XLA's scatter: ``operand`` with the indexed windows overwritten by ``updates``.

    Example:
      >>> import minigrad_jax.lax as lax, numpy as np
      >>> dn = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
      ...                                  scatter_dims_to_operand_dims=(0,))
      >>> lax.scatter(np.zeros(3, np.float32), np.array([[2]]), np.ones(1, np.float32), dn)
      Array([0., 0., 1.], dtype=float32)
    """
    return scatter_p.bind(
        operand,
        scatter_indices,
        updates,
        update_jaxpr=None,
        update_consts=(),
        dimension_numbers=_canon_scatter_dnums(dimension_numbers),
        indices_are_sorted=bool(indices_are_sorted),
        unique_indices=bool(unique_indices),
        mode=GatherScatterMode.from_any(mode),
    )
