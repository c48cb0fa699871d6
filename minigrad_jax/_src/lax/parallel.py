"""Collectives over named axes: psum, pmax, pmin, all_gather, psum_scatter, ppermute,
all_to_all and axis_index, one stanza each, with JAX's primitive names and params.

A named axis is bound by ``vmap(axis_name=...)`` or ``shard_map`` (``core.extend_axis_env``).
Under a named vmap a collective over its axis is batched by that vmap's trace (see
``interpreters/batching.py``): ``psum`` becomes a reduction over the batch dimension with
an unmapped result, ``all_gather`` / ``ppermute`` / ``all_to_all`` / ``axis_index`` act along
the batch dimension. A collective over another axis is applied with the batch dimension
accounted for, and reaches the trace (or the shard_map) that owns its axis. Inside
``shard_map`` each primitive lowers to its ``jax.lax`` collective.

Positional (integer) entries of ``axes`` are what JAX's batching rules produce: a
``psum`` over ``(0,)`` is a plain sum over array axis 0, as in JAX's jaxprs.
"""

from __future__ import annotations

import math

import numpy as np
from jax import lax as jlax
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero
from minigrad_jax._src.lax.base import (
    broadcast_in_dim,
    convert_element_type,
    expand_dims,
    full,
    iota,
    reduce_sum,
    reshape,
    transpose,
)
from minigrad_jax._src.lax.elementwise import add, mul, select_n
from minigrad_jax._src.lax.indexing import GatherDimensionNumbers, gather
from minigrad_jax._src.lax.structural import squeeze

__all__ = [
    "all_gather",
    "all_to_all",
    "axis_index",
    "axis_size",
    "pmax",
    "pmean",
    "pmin",
    "ppermute",
    "psum",
    "psum_scatter",
]

# ---------------------------------------------------------------------------
# axis names


def _as_names(axis_name):
    """A collective's axis names as a tuple (one name, or a tuple/list of them)."""
    return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def _named(axes):
    return tuple(a for a in axes if not isinstance(a, int))


def _positional(axes):
    return tuple(a for a in axes if isinstance(a, int))


def _check_bound(names, api):
    """JAX's error for a collective over an axis no vmap or shard_map binds."""
    bound = core.axis_names_in_scope()
    for name in _named(names):
        if name not in bound:
            raise NameError(
                f"Found an unbound axis name: {name}. To fix this, please call {api} under "
                f"`mg.shard_map` or inside `mg.vmap(..., axis_name={name!r})`."
            )


def _names_size(names):
    """The product of the sizes of the named axes in scope (NameError if one is unbound)."""
    return math.prod(core.axis_size(n) for n in names)


def _group_size(names, axis_index_groups):
    if axis_index_groups is not None:
        return len(axis_index_groups[0])
    return _names_size(names)


def _canonical_groups(axis_index_groups):
    if axis_index_groups is None:
        return None
    groups = tuple(tuple(int(i) for i in g) for g in axis_index_groups)
    if len({len(g) for g in groups}) != 1:
        raise ValueError(f"axis_index_groups must all be the same size, got {axis_index_groups}")
    return groups


def _check_public_names(api, names):
    for name in names:
        if isinstance(name, int):
            raise TypeError(
                f"lax.{api}: axis names must name a vmap or shard_map axis, got the "
                f"integer {name} (reduce array axes with lax.reduce_sum and friends)"
            )


def _own_axis(names):
    """Whether the batching rule now running belongs to a vmap over one of ``names``."""
    name = batching.current_axis_name()
    return name is not None and name in names, name


def _no_groups_under_vmap(api, axis_index_groups):
    if axis_index_groups is not None:
        raise NotImplementedError(
            f"{api}: axis_index_groups is not supported for a collective over a vmap axis "
            "(JAX does not support it either); use it under shard_map"
        )


def _one_vmap_axis(api, names, name):
    if names != (name,):
        raise NotImplementedError(
            f"{api} over the axes {names} under vmap: a collective over several axis names "
            f"that include the vmap axis {name!r} is supported for psum, pmean, pmax, pmin "
            "and axis_index only (as in JAX); apply it one axis at a time"
        )


def _register(prim, abstract, lower, api, names_of):
    """Abstract eval, lowering, and an eager impl that checks the names are bound first."""
    core.abstract_eval_rules[prim] = abstract
    lowering.register(prim, lower, impl=False)

    def impl(*args, **params):
        _check_bound(names_of(params), api)
        return lower(*args, **params)

    core.impl_rules[prim] = impl
    batching.collective_axes[prim] = names_of


def _per_example(x, d):
    """The abstract value of one member's ``x`` (batched at ``d``): for the shape checks."""
    aval = core.get_aval(x)
    if d is None:
        return aval
    return aval.update(shape=aval.shape[:d] + aval.shape[d + 1 :])


def _move(x, src, dst):
    return batching.moveaxis(x, src, dst)


def _fold(x, axis):
    """Merge axes ``axis`` and ``axis + 1`` (JAX's ``_foldaxis``)."""
    shape = list(core.get_aval(x).shape)
    shape[axis : axis + 2] = [shape[axis] * shape[axis + 1]]
    return reshape(x, tuple(shape))


def _split(x, axis, factor):
    """Split axis ``axis`` into ``(factor, size // factor)`` (JAX's ``_splitaxis``)."""
    shape = list(core.get_aval(x).shape)
    shape[axis : axis + 1] = [factor, shape[axis] // factor]
    return reshape(x, tuple(shape))


# ---------------------------------------------------------------------------
# psum, pmax, pmin: all-reduces (positional axes reduce locally)

psum_p = Primitive("psum")
pmax_p = Primitive("pmax")
pmin_p = Primitive("pmin")

_LOCAL_REDUCE = {"psum": jlax.reduce_sum, "pmax": jlax.reduce_max, "pmin": jlax.reduce_min}
_ALL_REDUCE = {"psum": jlax.psum, "pmax": jlax.pmax, "pmin": jlax.pmin}


def _allreduce_abstract(name):
    def rule(x, *, axes, axis_index_groups):
        _check_bound(axes, name)
        pos = _positional(axes)
        if any(not 0 <= a < x.ndim for a in pos) or len(set(pos)) != len(pos):
            raise TypeError(f"{name}: positional axes {pos} out of range for shape {x.shape}")
        if pos and axis_index_groups is not None:
            raise ValueError(
                f"axis_index_groups can only be used with reductions over named axes, "
                f"but got: {axes}"
            )
        shape = tuple(d for i, d in enumerate(x.shape) if i not in pos)
        return ShapedArray(shape, x.dtype, False)

    return rule


def _allreduce_lowering(name):
    local, allreduce = _LOCAL_REDUCE[name], _ALL_REDUCE[name]

    def lower(x, *, axes, axis_index_groups):
        pos, named = _positional(axes), _named(axes)
        if pos:
            x = local(x, pos)
        if named:
            x = allreduce(x, named, axis_index_groups=axis_index_groups)
        return x

    return lower


def _allreduce_batch(prim, if_unmapped):
    """JAX's ``_batched_reduction_collective``: over the vmap axis, a reduction over the
    batch dimension (unmapped result); over other axes, the batch dimension kept."""

    def rule(axis_size, args, dims, *, axes, axis_index_groups):
        (x,), (d,) = args, dims
        own, name = _own_axis(axes)
        if own:
            _no_groups_under_vmap(prim.name, axis_index_groups)
        if d is None:
            if not own:
                return prim.bind(x, axes=axes, axis_index_groups=axis_index_groups), None
            rest = tuple(a for a in axes if a != name)
            if rest:
                x = prim.bind(x, axes=rest, axis_index_groups=None)
            return if_unmapped(x, axis_size), None
        if not own and not _positional(axes):
            return prim.bind(x, axes=axes, axis_index_groups=axis_index_groups), d
        # The batch dimension goes first: the vmap axis becomes positional axis 0.
        x = _move(x, d, 0)
        new_axes = tuple(a + 1 if isinstance(a, int) else (0 if a == name else a) for a in axes)
        out = prim.bind(x, axes=new_axes, axis_index_groups=axis_index_groups)
        return out, (None if own else 0)

    return rule


def _psum_transpose(ct, x, *, axes, axis_index_groups):
    if type(ct) is Zero:
        return [None]
    pos, named = _positional(axes), _named(axes)
    if pos:
        shape = x.aval.shape
        ct = broadcast_in_dim(ct, shape, tuple(i for i in range(len(shape)) if i not in pos))
    # As JAX: psum is psum + pbroadcast, so its transpose sums over the named axes again.
    if named:
        ct = psum_p.bind(ct, axes=named, axis_index_groups=axis_index_groups)
    return [ct]


def _axes_of(params):
    return params["axes"]


for _p, _if_unmapped in (
    (psum_p, lambda x, n: mul(n, x)),
    (pmax_p, lambda x, n: x),
    (pmin_p, lambda x, n: x),
):
    _register(_p, _allreduce_abstract(_p.name), _allreduce_lowering(_p.name), _p.name, _axes_of)
    batching.batch_rules[_p] = _allreduce_batch(_p, _if_unmapped)
ad.deflinear(psum_p, _psum_transpose)
# JAX has no derivative for pmax / pmin and raises this error.
ad.jvp_rules[pmax_p] = ad.not_implemented_jvp("pmax")
ad.jvp_rules[pmin_p] = ad.not_implemented_jvp("pmin")


def _constant_reduce(leaf, size, is_sum):
    """A reduction of a value no transform holds: the same on every member (JAX folds it)."""
    if not is_sum:
        return leaf
    if core.is_python_scalar(leaf):
        return type(leaf)(size) * leaf
    return np.asarray(size, core.get_aval(leaf).dtype) * leaf


def _allreduce(prim, x, axis_name, axis_index_groups):
    names = _as_names(axis_name)
    _check_public_names(prim.name, names)
    if not names:
        return x
    groups = _canonical_groups(axis_index_groups)
    leaves, tree = tree_util.tree_flatten(x)
    if prim is psum_p:
        leaves = [
            convert_element_type(v, np.int32) if core.get_aval(v).dtype == np.bool_ else v
            for v in leaves
        ]
    if not any(isinstance(v, core.Tracer) for v in leaves):
        size = _group_size(names, groups)
        out = [_constant_reduce(v, size, prim is psum_p) for v in leaves]
    else:
        out = [prim.bind(v, axes=names, axis_index_groups=groups) for v in leaves]
    return tree_util.tree_unflatten(tree, out)


def psum(x, axis_name, *, axis_index_groups=None):
    """The sum of ``x`` over the named axis (or axes) ``axis_name``, on every member.

    ``x`` may be a pytree (each leaf is summed). A value that does not vary over the
    axis (a Python number, a constant) is multiplied by the axis size, as in JAX.

    Args:
      x: an array or a pytree of arrays.
      axis_name: the name of a ``vmap`` or ``shard_map`` axis, or a tuple of names.
      axis_index_groups: optional groups of axis indices to sum within (shard_map only).

    Returns:
      ``x`` summed over the axis, the same shape as ``x``.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> mg.vmap(lambda x: lax.psum(x, "i"), axis_name="i")(mnp.arange(4.0))
      Array([6., 6., 6., 6.], dtype=float32)
      >>> mg.vmap(lambda x: lax.psum(1, "i"), axis_name="i")(mnp.arange(4.0))
      Array([4, 4, 4, 4], dtype=int32, weak_type=True)
    """
    return _allreduce(psum_p, x, axis_name, axis_index_groups)


def pmax(x, axis_name, *, axis_index_groups=None):
    """The maximum of ``x`` over the named axis ``axis_name`` (not differentiable, as in JAX).

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> mg.vmap(lambda x: lax.pmax(x, "i"), axis_name="i")(mnp.array([1.0, 5.0, 2.0]))
      Array([5., 5., 5.], dtype=float32)
    """
    return _allreduce(pmax_p, x, axis_name, axis_index_groups)


def pmin(x, axis_name, *, axis_index_groups=None):
    """The minimum of ``x`` over the named axis ``axis_name`` (not differentiable, as in JAX).

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> mg.vmap(lambda x: lax.pmin(x, "i"), axis_name="i")(mnp.array([1.0, 5.0, 2.0]))
      Array([1., 1., 1.], dtype=float32)
    """
    return _allreduce(pmin_p, x, axis_name, axis_index_groups)


def pmean(x, axis_name, *, axis_index_groups=None):
    """The mean of ``x`` over the named axis ``axis_name``: ``psum`` divided by its size.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> mg.vmap(lambda x: lax.pmean(x, "i"), axis_name="i")(mnp.arange(4.0))
      Array([1.5, 1.5, 1.5, 1.5], dtype=float32)
    """
    x = psum(x, axis_name, axis_index_groups=axis_index_groups)
    n = _group_size(_as_names(axis_name), _canonical_groups(axis_index_groups))
    # ``v / n`` as JAX writes it: true division (an integer mean is a float).
    return tree_util.tree_map(lambda v: v / n, x)


def axis_size(axis_name):
    """The size of the named axis ``axis_name`` (the product, for a tuple of names).

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> mg.vmap(lambda x: x * lax.axis_size("i"), axis_name="i")(mnp.ones(3))
      Array([3., 3., 3.], dtype=float32)
    """
    return psum(1, axis_name)


# ---------------------------------------------------------------------------
# axis_index

axis_index_p = Primitive("axis_index")


def _axis_index_abstract(*, axis_name):
    _check_bound(_as_names(axis_name), "axis_index")
    return ShapedArray((), np.dtype(np.int32), False)


def _axis_index_batch(axis_size, args, dims, *, axis_name):
    own, _ = _own_axis(_as_names(axis_name))
    if not own:
        return axis_index_p.bind(axis_name=axis_name), None
    return iota(np.int32, axis_size), 0


_register(
    axis_index_p,
    _axis_index_abstract,
    lambda *, axis_name: jlax.axis_index(axis_name),
    "axis_index",
    lambda params: _as_names(params["axis_name"]),
)
batching.batch_rules[axis_index_p] = _axis_index_batch
ad.defnondiff(axis_index_p)


def axis_index(axis_name):
    """This member's index along the named axis ``axis_name`` (an int32 scalar).

    For a tuple of names the index runs over their product, the last name fastest.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> mg.vmap(lambda x: lax.axis_index("i"), axis_name="i")(mnp.zeros(4))
      Array([0, 1, 2, 3], dtype=int32)
    """
    if not isinstance(axis_name, (tuple, list)):
        return axis_index_p.bind(axis_name=axis_name)
    inner, index = 1, 0
    for name in reversed(axis_name):
        index = add(index, mul(axis_index(name), inner))
        inner *= axis_size(name)
    return index


# ---------------------------------------------------------------------------
# all_gather (and psum_scatter, its transpose: JAX's primitive is reduce_scatter)

all_gather_p = Primitive("all_gather")
reduce_scatter_p = Primitive("reduce_scatter")


def _all_gather_abstract(
    x, *, all_gather_dimension, axis_name, axis_index_groups, axis_size, tiled
):
    _check_bound(_as_names(axis_name), "all_gather")
    shape = list(x.shape)
    if not 0 <= all_gather_dimension <= x.ndim - tiled:
        raise ValueError(
            f"all_gather_dimension {all_gather_dimension} is out of bounds for an operand "
            f"of shape {x.shape}"
        )
    if tiled:
        shape[all_gather_dimension] *= axis_size
    else:
        shape.insert(all_gather_dimension, axis_size)
    return x.update(shape=tuple(shape))


def _all_gather_lowering(
    x, *, all_gather_dimension, axis_name, axis_index_groups, axis_size, tiled
):
    return jlax.all_gather(
        x, axis_name, axis_index_groups=axis_index_groups, axis=all_gather_dimension, tiled=tiled
    )


def _all_gather_batch(size, args, dims, *, all_gather_dimension, axis_name, **params):
    (x,), (d,) = args, dims
    names = _as_names(axis_name)
    own, name = _own_axis(names)
    dim, tiled = all_gather_dimension, params["tiled"]
    if not own:
        if d is not None:
            if d <= dim:
                dim += 1
            elif not tiled:  # the gathered axis is a new one before d
                d += 1
        out = all_gather_p.bind(x, all_gather_dimension=dim, axis_name=axis_name, **params)
        return out, d
    _no_groups_under_vmap("all_gather", params["axis_index_groups"])
    _one_vmap_axis("all_gather", names, name)
    if params["axis_size"] != size:
        raise ValueError(
            f"all_gather: axis_size={params['axis_size']} but the axis {name!r} has size {size}"
        )
    if d is None:
        shape = list(core.get_aval(x).shape)
        shape.insert(dim, size)
        y = broadcast_in_dim(x, tuple(shape), tuple(i for i in range(len(shape)) if i != dim))
    else:
        y = _move(x, d, dim)
    return (_fold(y, dim) if tiled else y), None


def _all_gather_transpose(ct, x, *, all_gather_dimension, axis_name, **params):
    if type(ct) is Zero:
        return [None]
    return [
        reduce_scatter_p.bind(
            ct, scatter_dimension=all_gather_dimension, axis_name=axis_name, **params
        )
    ]


def _axis_name_of(params):
    return _as_names(params["axis_name"])


_register(all_gather_p, _all_gather_abstract, _all_gather_lowering, "all_gather", _axis_name_of)
batching.batch_rules[all_gather_p] = _all_gather_batch
ad.deflinear(all_gather_p, _all_gather_transpose)


def _reduce_scatter_abstract(
    x, *, scatter_dimension, axis_name, axis_index_groups, axis_size, tiled
):
    _check_bound(_as_names(axis_name), "reduce_scatter")
    if not 0 <= scatter_dimension < x.ndim:
        raise ValueError(
            f"scatter_dimension {scatter_dimension} is out of bounds for an operand of "
            f"shape {x.shape}"
        )
    shape = list(x.shape)
    n = shape[scatter_dimension]
    if tiled:
        if n % axis_size:
            raise ValueError(
                f"tiled reduce_scatter operand scatter dimension size {n} must be divisible "
                f"by shard_count {axis_size}"
            )
        shape[scatter_dimension] = n // axis_size
    else:
        if n != axis_size:
            raise ValueError(
                f"reduce_scatter operand scatter dimension size {n} must match shard "
                f"count {axis_size}"
            )
        del shape[scatter_dimension]
    return x.update(shape=tuple(shape))


def _reduce_scatter_lowering(
    x, *, scatter_dimension, axis_name, axis_index_groups, axis_size, tiled
):
    return jlax.psum_scatter(
        x,
        axis_name,
        scatter_dimension=scatter_dimension,
        axis_index_groups=axis_index_groups,
        tiled=tiled,
    )


def _reduce_scatter_batch(size, args, dims, *, scatter_dimension, axis_name, **params):
    (x,), (d,) = args, dims
    names = _as_names(axis_name)
    own, name = _own_axis(names)
    dim, tiled = scatter_dimension, params["tiled"]
    if not own:
        if d is not None:
            if d <= dim:
                dim += 1
            elif not tiled:  # the scattered axis disappears before d
                d -= 1
        out = reduce_scatter_p.bind(x, scatter_dimension=dim, axis_name=axis_name, **params)
        return out, d
    _no_groups_under_vmap("psum_scatter", params["axis_index_groups"])
    _one_vmap_axis("psum_scatter", names, name)
    _reduce_scatter_abstract(
        _per_example(x, d), scatter_dimension=dim, axis_name=axis_name, **params
    )
    # Sum over the members; member j keeps block j of the scatter dimension, so that
    # dimension (split into blocks when tiled) becomes the batch dimension.
    y = mul(size, x) if d is None else reduce_sum(x, (d,))
    return (_split(y, dim, size) if tiled else y), dim


def _reduce_scatter_transpose(ct, x, *, scatter_dimension, axis_name, **params):
    if type(ct) is Zero:
        return [None]
    return [
        all_gather_p.bind(ct, all_gather_dimension=scatter_dimension, axis_name=axis_name, **params)
    ]


_register(
    reduce_scatter_p,
    _reduce_scatter_abstract,
    _reduce_scatter_lowering,
    "reduce_scatter",
    _axis_name_of,
)
batching.batch_rules[reduce_scatter_p] = _reduce_scatter_batch
ad.deflinear(reduce_scatter_p, _reduce_scatter_transpose)


def all_gather(x, axis_name, *, axis_index_groups=None, axis=0, tiled=False):
    """Every member's ``x``, stacked along a new axis ``axis`` (concatenated if ``tiled``).

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> mg.vmap(lambda x: lax.all_gather(x, "i"), axis_name="i")(mnp.arange(3.0))
      Array([[0., 1., 2.],
             [0., 1., 2.],
             [0., 1., 2.]], dtype=float32)
    """
    names = _as_names(axis_name)
    _check_public_names("all_gather", names)
    if not names:
        return x
    groups = _canonical_groups(axis_index_groups)
    size = _group_size(names, groups)

    def bind(leaf):
        ndim = core.get_aval(leaf).ndim
        dim = _canonical_dim("all_gather", axis, ndim if tiled else ndim + 1)
        return all_gather_p.bind(
            leaf,
            all_gather_dimension=dim,
            axis_name=names,
            axis_index_groups=groups,
            axis_size=size,
            tiled=bool(tiled),
        )

    return tree_util.tree_map(bind, x)


def psum_scatter(x, axis_name, *, scatter_dimension=0, axis_index_groups=None, tiled=False):
    """``psum(x, axis_name)`` of which each member keeps only its block along
    ``scatter_dimension`` (removed if not ``tiled``, else divided by the axis size).

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> x = mnp.arange(9.0).reshape(3, 3)
      >>> mg.vmap(lambda r: lax.psum_scatter(r, "i"), axis_name="i")(x)
      Array([ 9., 12., 15.], dtype=float32)
    """
    names = _as_names(axis_name)
    _check_public_names("psum_scatter", names)
    if not names:
        return x
    groups = _canonical_groups(axis_index_groups)
    size = _group_size(names, groups)

    def bind(leaf):
        dim = _canonical_dim("psum_scatter", scatter_dimension, core.get_aval(leaf).ndim)
        return reduce_scatter_p.bind(
            leaf,
            axis_name=names,
            scatter_dimension=dim,
            axis_index_groups=groups,
            axis_size=size,
            tiled=bool(tiled),
        )

    return tree_util.tree_map(bind, x)


def _canonical_dim(api, axis, ndim):
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"lax.{api}: axis {axis} is out of bounds for rank {ndim}")
    return axis % ndim


# ---------------------------------------------------------------------------
# ppermute

ppermute_p = Primitive("ppermute")


def _ppermute_abstract(x, *, axis_name, perm):
    _check_bound(_as_names(axis_name), "ppermute")
    return x


def _ppermute_batch(axis_size, args, dims, *, axis_name, perm):
    (x,), (d,) = args, dims
    names = _as_names(axis_name)
    own, name = _own_axis(names)
    if not own:
        return ppermute_p.bind(x, axis_name=axis_name, perm=perm), d
    _one_vmap_axis("ppermute", names, name)
    _check_perm(perm, axis_size)
    full_perm = len(perm) == axis_size
    if d is None and full_perm:
        return x, None  # every member holds the same value
    x = batching.bdim_at_front(x, d, axis_size)
    # Member ``dst`` receives member ``src``'s value; members nobody sends to get zeros.
    src_of = np.zeros((axis_size, 1), np.int32)
    for src, dst in perm:
        src_of[dst, 0] = src
    aval = core.get_aval(x)
    rest = aval.shape[1:]
    dnums = GatherDimensionNumbers(
        offset_dims=tuple(range(1, aval.ndim)), collapsed_slice_dims=(0,), start_index_map=(0,)
    )
    y = gather(x, src_of, dnums, (1, *rest), indices_are_sorted=False, unique_indices=False)
    if not full_perm:
        received = np.zeros(axis_size, bool)
        received[[dst for _, dst in perm]] = True
        mask = broadcast_in_dim(received, aval.shape, (0,))
        y = select_n(mask, full(aval.shape, 0, aval.dtype), y)
    return y, 0


def _check_perm(perm, size):
    srcs, dsts = [s for s, _ in perm], [t for _, t in perm]
    if len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts):
        raise ValueError(f"ppermute sources and destinations must be unique, got {perm}.")
    if size is not None and any(not 0 <= i < size for i in srcs + dsts):
        raise ValueError(
            f"ppermute indices must be in [0, {size}) for an axis of size {size}, got {perm}."
        )


def _ppermute_transpose(ct, x, *, axis_name, perm):
    if type(ct) is Zero:
        return [None]
    return [ppermute_p.bind(ct, axis_name=axis_name, perm=tuple((d, s) for s, d in perm))]


_register(
    ppermute_p,
    _ppermute_abstract,
    lambda x, *, axis_name, perm: jlax.ppermute(x, axis_name, perm),
    "ppermute",
    _axis_name_of,
)
batching.batch_rules[ppermute_p] = _ppermute_batch
ad.deflinear(ppermute_p, _ppermute_transpose)


def ppermute(x, axis_name, perm):
    """Send each member's ``x`` to another: ``perm`` is a list of ``(source, destination)``
    index pairs along ``axis_name``; a member no pair sends to receives zeros.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> shift = lambda x: lax.ppermute(x, "i", [(0, 1), (1, 2), (2, 0)])
      >>> mg.vmap(shift, axis_name="i")(mnp.array([10.0, 20.0, 30.0]))
      Array([30., 10., 20.], dtype=float32)
    """
    names = _as_names(axis_name)
    _check_public_names("ppermute", names)
    perm = tuple((int(s), int(t)) for s, t in perm)
    _check_perm(perm, None)
    return tree_util.tree_map(lambda leaf: ppermute_p.bind(leaf, axis_name=names, perm=perm), x)


# ---------------------------------------------------------------------------
# all_to_all (at the primitive: split_axis is divided by the axis size and concat_axis
# multiplied by it; the wrapper adds and removes the unit axes of the untiled form, as JAX)

all_to_all_p = Primitive("all_to_all")


def _all_to_all_abstract(x, *, axis_name, split_axis, concat_axis, axis_index_groups, tiled):
    names = _as_names(axis_name)
    _check_bound(names, "all_to_all")
    size = _group_size(names, axis_index_groups)
    if not (0 <= split_axis < x.ndim and 0 <= concat_axis < x.ndim):
        raise ValueError(
            f"all_to_all split_axis {split_axis} and concat_axis {concat_axis} must be axes "
            f"of the operand, of shape {x.shape}"
        )
    shape = list(x.shape)
    if shape[split_axis] % size:
        raise ValueError(
            f"The size of all_to_all split_axis ({shape[split_axis]}) has to be divisible by "
            f"the size of the named axis {axis_name} ({size})"
        )
    shape[split_axis] //= size
    shape[concat_axis] *= size
    return ShapedArray(tuple(shape), x.dtype, False)


def _all_to_all_lowering(x, *, axis_name, split_axis, concat_axis, axis_index_groups, tiled):
    # The primitive's shapes are those of jax.lax.all_to_all(tiled=True).
    return jlax.all_to_all(
        x, axis_name, split_axis, concat_axis, axis_index_groups=axis_index_groups, tiled=True
    )


def _all_to_all_batch(axis_size, args, dims, *, axis_name, split_axis, concat_axis, **params):
    (x,), (d,) = args, dims
    names = _as_names(axis_name)
    own, name = _own_axis(names)
    if not own:
        if d is not None:
            split_axis += d <= split_axis
            concat_axis += d <= concat_axis
        out = all_to_all_p.bind(
            x, axis_name=axis_name, split_axis=split_axis, concat_axis=concat_axis, **params
        )
        return out, d
    _no_groups_under_vmap("all_to_all", params["axis_index_groups"])
    _one_vmap_axis("all_to_all", names, name)
    _all_to_all_abstract(
        _per_example(x, d),
        axis_name=axis_name,
        split_axis=split_axis,
        concat_axis=concat_axis,
        **params,
    )
    if d is None:
        x, d = batching.bdim_at_front(x, None, axis_size), 0
    if split_axis == concat_axis:
        # Swap the batch axis with the block index of the split axis (JAX's rule).
        axis = split_axis + (d <= split_axis)
        out_d = d
        x = _split(x, axis, axis_size)
        d += axis <= d
        perm = list(range(core.get_aval(x).ndim))
        perm[d], perm[axis] = perm[axis], perm[d]
        return _fold(transpose(x, tuple(perm)), axis), out_d
    # Senders' blocks concatenated along concat_axis; the split axis's blocks are the
    # receivers, so they become the batch axis.
    x = _fold(_move(x, d, concat_axis), concat_axis)
    return _split(x, split_axis, axis_size), split_axis


def _all_to_all_transpose(ct, x, *, axis_name, split_axis, concat_axis, axis_index_groups, tiled):
    if type(ct) is Zero:
        return [None]
    out = all_to_all_p.bind(
        ct,
        axis_name=axis_name,
        split_axis=concat_axis,
        concat_axis=split_axis,
        axis_index_groups=axis_index_groups,
        tiled=tiled,
    )
    return [out]


_register(all_to_all_p, _all_to_all_abstract, _all_to_all_lowering, "all_to_all", _axis_name_of)
batching.batch_rules[all_to_all_p] = _all_to_all_batch
ad.deflinear(all_to_all_p, _all_to_all_transpose)


def all_to_all(x, axis_name, split_axis, concat_axis, *, axis_index_groups=None, tiled=False):
    """Split ``x`` along ``split_axis`` into one block per member, send block j to member j,
    and concatenate the received blocks along ``concat_axis`` (a new axis unless ``tiled``).

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> x = mnp.arange(9.0).reshape(3, 3)
      >>> mg.vmap(lambda r: lax.all_to_all(r, "i", 0, 0), axis_name="i")(x)
      Array([[0., 3., 6.],
             [1., 4., 7.],
             [2., 5., 8.]], dtype=float32)
    """
    names = _as_names(axis_name)
    _check_public_names("all_to_all", names)
    groups = _canonical_groups(axis_index_groups)
    group_size = _group_size(names, groups)

    def bind(leaf, split_axis=split_axis, concat_axis=concat_axis):
        ndim = core.get_aval(leaf).ndim
        split_axis = _canonical_dim("all_to_all", split_axis, ndim)
        concat_axis = _canonical_dim("all_to_all", concat_axis, ndim)
        n = core.get_aval(leaf).shape[split_axis]
        if tiled:
            if n % group_size:
                raise ValueError(
                    f"The size of all_to_all split_axis ({n}) has to be divisible by the size "
                    f"of the named axis {axis_name} ({group_size})"
                )
        else:
            if n != group_size:
                raise ValueError(
                    "all_to_all requires the size of the mapped axis axis_name to equal "
                    f"x.shape[split_axis], but they are {group_size} and {n} respectively."
                )
            if split_axis < concat_axis:
                concat_axis += 1  # concat_axis is a position after split_axis is removed
                leaf = expand_dims(leaf, (concat_axis,))
            elif concat_axis < split_axis:
                leaf = expand_dims(leaf, (concat_axis,))
                split_axis += 1
        out = all_to_all_p.bind(
            leaf,
            split_axis=split_axis,
            concat_axis=concat_axis,
            axis_name=axis_name,
            axis_index_groups=groups,
            tiled=bool(tiled),
        )
        if not tiled and split_axis != concat_axis:
            out = squeeze(out, (split_axis,))
        return out

    return tree_util.tree_map(bind, x)
