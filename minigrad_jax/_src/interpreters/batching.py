"""Batching (vmap): each primitive's rule for one extra mapped axis.

``batch_rules[prim](axis_size, args, dims, **params) -> (out, out_dim)`` where
each ``dims`` entry is the mapped axis of that argument or ``None`` (not
mapped). Unmapped operands stay unmapped wherever the rule allows, so vmap
does not materialize broadcasts it does not need.

Named axes: ``vmap(axis_name=...)`` makes a trace with an ``axis_name``, bound
(``core.extend_axis_env``) while its body runs. A collective naming it (a
primitive in ``collective_axes``) is that trace's to batch even when its
operand is not one of its tracers (``psum`` of an unmapped ``x`` is ``x *
size``), and so is a primitive carrying a jaxpr with such a collective inside.
While a rule runs, ``current_axis_name()`` is the name of the trace running it
(JAX passes its ``AxisData`` to the rule): collective rules read it, and
``batch_jaxpr`` / ``vmap_flat`` called by a rule batch inner jaxprs over it.
``current_spmd_axis_name()`` is that trace's ``vmap(spmd_axis_name=)``: the mesh
axes the batch dimension is split over, which the rules of the sharding
primitives (``sharding_constraint``, ``shard_map``) write into their specs.
"""

from __future__ import annotations

import threading

from minigrad_jax._src import core
from minigrad_jax._src.core import Tracer
from minigrad_jax._src.interpreters.array_ops import ops
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr

batch_rules: dict = {}
not_mapped = None

# Collective primitives: ``collective_axes[prim](params)`` is the tuple of axis
# names (and positional axes, ints) it reduces or communicates over.
collective_axes: dict = {}


class _RuleContext(threading.local):
    axis_name = None  # the axis name of the vmap whose batching rule is running
    spmd_axis_name = None  # and its spmd_axis_name: mesh axes, a tuple, or None


_rule_context = _RuleContext()


def current_axis_name():
    """The axis name of the vmap trace whose batching rule is running (None if unnamed)."""
    return _rule_context.axis_name


def current_spmd_axis_name():
    """The ``spmd_axis_name`` of the vmap trace whose batching rule is running: a
    tuple of mesh axis names, or None."""
    return _rule_context.spmd_axis_name


def names_axis(prim, params, name) -> bool:
    """Whether ``prim`` (or a jaxpr among its params) communicates over the axis ``name``."""
    names = collective_axes.get(prim)
    if names is not None:
        return name in names(params)
    return any(name in jaxpr_axis_names(v) for v in params.values())


def jaxpr_axis_names(v) -> frozenset:
    """The axis names the collectives in ``v`` (a jaxpr, or a tuple of them) use."""
    t = type(v)
    if t is ClosedJaxpr:
        hit = v._cache.get("axis_names")
        if hit is None:
            hit = v._cache["axis_names"] = jaxpr_axis_names(v.jaxpr)
        return hit
    if t is Jaxpr:
        names = set()
        for eqn in v.eqns:
            axes = collective_axes.get(eqn.primitive)
            if axes is not None:
                names.update(a for a in axes(eqn.params) if not isinstance(a, int))
            for p in eqn.params.values():
                names |= jaxpr_axis_names(p)
        return frozenset(names)
    if (t is tuple or t is list) and v and type(v[0]) in (ClosedJaxpr, Jaxpr):
        return frozenset().union(*map(jaxpr_axis_names, v))  # cond's branches
    return _NO_NAMES


_NO_NAMES = frozenset()


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace, val, bdim):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self):
        a = core.get_aval(self.val)
        if self.bdim is None:
            return a
        shape = a.shape[: self.bdim] + a.shape[self.bdim + 1 :]
        return core.ShapedArray(shape, a.dtype, a.weak_type)

    def concrete_value(self):
        if self.bdim is not None:
            return None
        v = self.val
        return v.concrete_value() if isinstance(v, Tracer) else v

    def _const_inner(self):
        return self.val if self.bdim is None else core.NOT_CONST


class BatchTrace(core.Trace):
    __slots__ = ("axis_size", "axis_name", "spmd_axis_name")

    def __init__(self, parent, axis_size, source_info=None, axis_name=None, spmd_axis_name=None):
        super().__init__(parent, "vmap", source_info)
        self.axis_size = axis_size
        self.axis_name = axis_name
        self.spmd_axis_name = spmd_axis_name

    def process_primitive(self, prim, args, params):
        vals, dims, mapped = [], [], False
        for a in args:
            if isinstance(a, BatchTracer) and a._trace is self:
                vals.append(a.val)
                dims.append(a.bdim)
                mapped = mapped or a.bdim is not None
            else:
                vals.append(self.check_foreign(a) if isinstance(a, Tracer) else a)
                dims.append(None)
        if not mapped and (self.axis_name is None or not names_axis(prim, params, self.axis_name)):
            out = core.bind_in(self.parent, prim, vals, params)
            if prim.multiple_results:
                return [BatchTracer(self, o, None) for o in out]
            return BatchTracer(self, out, None)
        rule = batch_rules.get(prim)
        if rule is None:
            raise NotImplementedError(f"Batching rule for '{prim.name}' not implemented")
        ctx = _rule_context
        prev = ctx.axis_name, ctx.spmd_axis_name
        ctx.axis_name, ctx.spmd_axis_name = self.axis_name, self.spmd_axis_name
        try:
            out, out_dim = core.call_in(self.parent, rule, self.axis_size, vals, dims, **params)
        finally:
            ctx.axis_name, ctx.spmd_axis_name = prev
        if prim.multiple_results:
            return [self.wrap(o, d) for o, d in zip(out, out_dim)]
        return self.wrap(out, out_dim)

    def wrap(self, val, bdim):
        return BatchTracer(self, val, bdim)

    def lift(self, x):
        return BatchTracer(self, x, None)


# ---------------------------------------------------------------------------
# helpers every rule uses


def moveaxis(x, src, dst):
    nd = core.get_aval(x).ndim
    src, dst = src % nd, dst % nd
    if src == dst:
        return x
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return ops.transpose(x, tuple(perm))


def bdim_at_front(x, bdim, axis_size):
    """Put the mapped axis first, broadcasting an unmapped value to ``axis_size``."""
    if bdim is None:
        aval = core.get_aval(x)
        return ops.broadcast_in_dim(x, (axis_size, *aval.shape), tuple(range(1, aval.ndim + 1)))
    return moveaxis(x, bdim, 0)


def expand_dims_batcher(prim):
    """JAX's batcher for primitives that take leading batch dimensions: every operand
    gets the mapped axis in front (broadcast if unmapped), and so does every output."""

    def rule(axis_size, args, dims, **params):
        args = [bdim_at_front(x, d, axis_size) for x, d in zip(args, dims)]
        out = prim.bind(*args, **params)
        return out, ([0] * len(out) if prim.multiple_results else 0)

    return rule


def matchaxis(x, src, dst, axis_size):
    """Move (or create by broadcasting) the mapped axis of ``x`` from src to dst."""
    if src is None:
        return (
            bdim_at_front(x, None, axis_size)
            if dst == 0
            else moveaxis(bdim_at_front(x, None, axis_size), 0, dst)
        )
    return moveaxis(x, src, dst)


def vectorized_rule(prim):
    def rule(axis_size, args, dims, **params):
        return prim.bind(*args, **params), dims[0]

    return rule


# Elementwise primitives (those with the two rules below, and add_any).
elementwise: set = set()


def defvectorized(prim):
    """Unary elementwise: apply as is; the mapped axis stays where it is."""
    batch_rules[prim] = vectorized_rule(prim)
    elementwise.add(prim)


def broadcasting_rule(prim):
    def rule(axis_size, args, dims, **params):
        avals = [core.get_aval(a) for a in args]
        first = next(d for d in dims if d is not None)
        mapped_ranks = {a.ndim for a, d in zip(avals, dims) if d is not None}
        if (
            all(d in (first, None) for d in dims)
            and len(mapped_ranks) == 1
            and all(a.ndim == 0 for a, d in zip(avals, dims) if d is None)
        ):
            return prim.bind(*args, **params), first
        shapes = [
            a.shape[:d] + a.shape[d + 1 :] if d is not None else a.shape
            for a, d in zip(avals, dims)
        ]
        rank = max(len(s) for s in shapes)
        return prim.bind(
            *[_to_front(a, s, d, rank) for a, s, d in zip(args, shapes, dims)], **params
        ), 0

    return rule


def _to_front(x, shape, bdim, rank):
    """Mapped axis first, at full rank. Unmapped operands get a size-1 batch axis (lax
    broadcasts it, nothing is materialized); unmapped scalars stay scalars."""
    if bdim is None:
        if not shape:
            return x
        return ops.broadcast_in_dim(x, (1, *shape), tuple(range(1, len(shape) + 1)))
    x = moveaxis(x, bdim, 0)
    if len(shape) < rank:  # a mapped scalar beside mapped arrays
        x = ops.reshape(x, (core.get_aval(x).shape[0],) + (1,) * rank)
    return x


def defbroadcasting(prim):
    """N-ary elementwise with lax's scalar broadcasting."""
    batch_rules[prim] = broadcasting_rule(prim)
    elementwise.add(prim)


_CURRENT = object()


def vmap_flat(
    fun, args, in_dims, axis_size, source_info=None, axis_name=_CURRENT, spmd_axis_name=_CURRENT
):
    """Run ``fun`` (flat -> flat list) with the given mapped axes; returns (outs, out_dims).

    ``axis_name`` names the mapped axis (bound while ``fun`` runs); by default it is
    the axis of the batching rule now running (``current_axis_name()``), so a rule
    that batches an inner function batches it over the same named axis. So does
    ``spmd_axis_name`` (a tuple of mesh axes or None).
    """
    if axis_name is _CURRENT:
        axis_name = _rule_context.axis_name
    if spmd_axis_name is _CURRENT:
        spmd_axis_name = _rule_context.spmd_axis_name
    trace = BatchTrace(core.current_trace(), axis_size, source_info, axis_name, spmd_axis_name)
    tracers = [a if d is None else BatchTracer(trace, a, d) for a, d in zip(args, in_dims)]
    if axis_name is None:
        with core.new_trace(trace):
            outs = fun(*tracers)
    else:
        with core.extend_axis_env([(axis_name, axis_size)]), core.new_trace(trace):
            outs = fun(*tracers)
    vals, dims = [], []
    for o in outs:
        if isinstance(o, BatchTracer) and o._trace is trace:
            vals.append(o.val)
            dims.append(o.bdim)
        else:
            vals.append(o)
            dims.append(None)
    return vals, dims
