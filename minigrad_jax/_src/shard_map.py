"""mg.shard_map: a function written per shard, run on every device of a mesh.

The ``shard_map`` primitive carries the body's jaxpr traced on *per-shard* avals
(each global dimension divided by the sizes of the mesh axes its spec names),
with the mesh's axes bound as named axes (``core.extend_axis_env``) so the
collectives inside it type-check. Its params are JAX's: ``mesh``, ``in_specs``
and ``out_specs`` (one ``PartitionSpec`` per operand / output), ``check_vma``,
``newly_manual_axes``. The rules come from the kit (``jaxpr_util``) with the
specs adjusted for each derived equation:

- abstract eval: the body's out avals, multiplied back to global shapes;
- jvp: tangents take their primals' specs;
- partial eval: a known shard_map computes the residuals, which leave it (and
  enter the unknown one) with their leading axis sharded over every mesh axis,
  a scalar residual made a 1-vector first (as JAX does with ``check_vma=False``;
  the unknown equation has ``check_vma=False``, as its residuals look varying
  over every axis);
- transpose: as JAX's shard_map transpose without replication checking (the
  transposed equation has ``check_vma=False``): the cotangent of an output whose
  spec leaves mesh axes unmentioned is divided by their sizes, the cotangent of an
  input is psummed over the axes its spec leaves unmentioned;
- batching: the batch dimension is unsharded (None inserted in the specs);
- dead code: unused outputs and inputs pruned with their specs;
- lowering: ``jax.shard_map`` over the body replayed with the lowering rules.
"""

from __future__ import annotations

import functools
import math

import jax
import numpy as np
from jax import tree_util
from jax.sharding import PartitionSpec

from minigrad_jax._src import core
from minigrad_jax._src.api_util import flatten_axes, wraps
from minigrad_jax._src.core import Primitive, get_aval
from minigrad_jax._src.interpreters import ad, batching, higher_order, lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.interpreters.jaxpr_util import (
    batch_jaxpr,
    dce_jaxpr,
    forward_residuals,
    hoist_consts,
    jvp_jaxpr,
    memo,
    merge,
    nonzero_tangents,
    out_dims_of,
    partial_eval_jaxpr,
    select,
    tangents_out,
    transpose_jaxpr,
)
from minigrad_jax._src.ir import eval_jaxpr
from minigrad_jax._src.lax.base import broadcast_in_dim
from minigrad_jax._src.lax.elementwise import div
from minigrad_jax._src.lax.parallel import psum
from minigrad_jax._src.lax.structural import squeeze
from minigrad_jax._src.sharding import axes_entry, entry_axes, spec_axes, with_batch_dim
from minigrad_jax._src.traceback_util import api_boundary

__all__ = ["shard_map", "shard_map_p"]

shard_map_p = Primitive("shard_map", multiple_results=True)

_REPLICATED = PartitionSpec()


class _Infer:
    """in_specs left out (JAX then reads them from the arguments' shardings)."""

    def __repr__(self):
        return "Infer"


_INFER = _Infer()


# ---------------------------------------------------------------------------
# specs and avals


def _axis_sizes(mesh):
    return dict(mesh.shape)


def _unmentioned(spec, mesh):
    """The mesh axes ``spec`` does not name, in mesh order: the value is the same on them."""
    named = set(spec_axes(spec))
    return tuple(n for n in mesh.axis_names if n not in named)


def _all_axes_spec(mesh):
    """A leading axis sharded over every mesh axis (how residuals leave a shard_map)."""
    return PartitionSpec(axes_entry(tuple(mesh.axis_names)))


def _check_spec(spec, aval, mesh, kind, what):
    """ValueError naming ``what`` unless ``spec`` (one of the ``kind`` specs) fits ``aval``."""
    sizes = _axis_sizes(mesh)
    names = spec_axes(spec)
    for n in names:
        if n not in sizes:
            raise ValueError(
                f"shard_map {kind} refers to mesh axis {n!r}, which the mesh does not have "
                f"(its axes: {tuple(mesh.axis_names)}); {what} is {spec}"
            )
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(
            f"shard_map {kind}: {what} is {spec}, which names mesh axis {dup[0]!r} more than once"
        )
    if len(spec) > aval.ndim:
        raise ValueError(
            f"shard_map {kind}: {what} is {spec}, which has length {len(spec)}, but the value "
            f"has shape {aval.str_short()} (rank {aval.ndim}); a spec may be no longer than "
            "the rank of its value (use P() for a scalar)"
        )


def _shard_aval(aval, spec, mesh, what):
    """The per-shard aval of a global ``aval`` laid out by ``spec``."""
    _check_spec(spec, aval, mesh, "in_specs", f"the spec of {what}")
    sizes, shape = _axis_sizes(mesh), list(aval.shape)
    for d, entry in enumerate(spec):
        n = math.prod(sizes[a] for a in entry_axes(entry))
        if shape[d] % n:
            axes = ", ".join(f"{a!r} (of size {sizes[a]})" for a in entry_axes(entry))
            raise ValueError(
                f"shard_map: {what} of shape {aval.str_short()} has spec {spec}, which maps "
                f"array axis {d} (of size {shape[d]}) to mesh axis {axes}, but {n} does not "
                f"evenly divide {shape[d]}"
            )
        shape[d] //= n
    return aval.update(shape=tuple(shape))


def _unshard_aval(aval, spec, mesh):
    """The global aval of the per-shard ``aval`` laid out by ``spec``."""
    sizes, shape = _axis_sizes(mesh), list(aval.shape)
    for d, entry in enumerate(spec):
        shape[d] *= math.prod(sizes[a] for a in entry_axes(entry))
    return aval.update(shape=tuple(shape))


def _as_spec(s, what):
    if s is None:
        return _REPLICATED  # as JAX: a None in in_specs replicates its arguments
    if not isinstance(s, PartitionSpec):
        raise TypeError(
            f"shard_map {what.split('[')[0]} must be a pytree of jax.sharding.PartitionSpec "
            f"instances, but {what} is {s!r} of type {type(s).__name__}"
        )
    if any(e is PartitionSpec.UNCONSTRAINED for e in s):
        raise ValueError(f"shard_map: {what} is {s}; P.UNCONSTRAINED is not allowed here")
    return s


def _axes(mesh):
    """The mesh's axes as named axes, while a body is traced or transformed."""
    return core.extend_axis_env(tuple(_axis_sizes(mesh).items()))


# ---------------------------------------------------------------------------
# binding


def _bind(closed, args, in_specs, out_specs, params):
    """Bind shard_map on ``closed``; its consts become leading replicated operands."""
    hoisted, consts = hoist_consts(closed)
    return shard_map_p.bind(
        *consts,
        *args,
        **dict(
            params,
            jaxpr=hoisted,
            in_specs=(_REPLICATED,) * len(consts) + tuple(in_specs),
            out_specs=tuple(out_specs),
        ),
    )


def _abstract_eval(*avals, jaxpr, out_specs, mesh, **_):
    return [_unshard_aval(a, s, mesh) for a, s in zip(jaxpr.out_avals, out_specs)]


def _as_array(x):
    return x if isinstance(x, jax.Array) else jax.numpy.asarray(core.jaxable(x))


def _lower(*args, jaxpr, in_specs, out_specs, mesh, check_vma, newly_manual_axes):
    key = ("shard_map", mesh, in_specs, out_specs, check_vma)
    fn = jaxpr._cache.get(key)
    if fn is None:

        def body(*xs):
            return tuple(_as_array(o) for o in lowering.replay_closed(jaxpr, *xs))

        sm = jax.shard_map(
            body, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=check_vma
        )
        fn = jaxpr._cache[key] = jax.jit(sm)
    return list(fn(*args))


# ---------------------------------------------------------------------------
# jvp


def _jvp(primals, tangents, *, jaxpr, in_specs, out_specs, **params):
    nonzeros, nz_tangents = nonzero_tangents(tangents)
    with _axes(params["mesh"]):
        jj, out_nz = jvp_jaxpr(jaxpr, nonzeros)
    outs = _bind(
        jj,
        [*primals, *nz_tangents],
        in_specs + tuple(select(in_specs, nonzeros)),
        out_specs + tuple(select(out_specs, out_nz)),
        params,
    )
    n = len(out_specs)
    out_avals = _abstract_eval(jaxpr=jaxpr, out_specs=out_specs, mesh=params["mesh"])
    return outs[:n], tangents_out(out_nz, outs[n:], out_avals)


# ---------------------------------------------------------------------------
# partial evaluation


def _promote_residuals(known, n_out, mesh):
    """``known`` whose scalar residual outputs are 1-vectors (a leading axis to shard)."""

    def make():
        def f(*args):
            outs = eval_jaxpr(known.jaxpr, known.consts, *args)
            res = [broadcast_in_dim(r, (1,), ()) if np.ndim(r) == 0 else r for r in outs[n_out:]]
            return [*outs[:n_out], *res]

        with _axes(mesh):
            return pe.trace_to_jaxpr(f, known.in_avals, "shard_map")

    return memo(known, ("promote_res", n_out), make)


def _demote_residuals(unknown, positions, mesh):
    """``unknown`` taking the scalar residuals at ``positions`` as 1-vectors."""

    def make():
        avals = list(unknown.in_avals)
        for p in positions:
            avals[p] = avals[p].update(shape=(1,))

        def f(*args):
            args = list(args)
            for p in positions:
                args[p] = squeeze(args[p], (0,))
            return eval_jaxpr(unknown.jaxpr, unknown.consts, *args)

        with _axes(mesh):
            return pe.trace_to_jaxpr(f, avals, "shard_map")

    return memo(unknown, ("demote_res", tuple(positions)), make)


def _partial_eval(trace, args, params):
    params = dict(params)
    closed, in_specs = params.pop("jaxpr"), params.pop("in_specs")
    out_specs, mesh = params.pop("out_specs"), params["mesh"]
    unknowns = higher_order.unknowns_of(trace, args)
    with _axes(mesh):
        known, unknown, out_uk, num_res = partial_eval_jaxpr(closed, unknowns)
    # A residual that is a known input enters the unknown shard_map with its own spec.
    known, fwd = forward_residuals(known, num_res)
    n_known = len(known.out_avals) - fwd.count(None)
    computed_at = [r for r, f in enumerate(fwd) if f is None]
    scalar = [r for r, a in zip(computed_at, known.out_avals[n_known:]) if a.ndim == 0]
    if scalar:
        known = _promote_residuals(known, n_known, mesh)
        unknown = _demote_residuals(unknown, scalar, mesh)
    res_spec = _all_axes_spec(mesh)
    known_args = select(args, unknowns, False)
    known_specs = select(in_specs, unknowns, False)
    known_out_specs = select(out_specs, out_uk, False) + [res_spec] * len(computed_at)
    known_outs = []
    if known.out_avals:
        known_outs = core.call_in(
            trace.parent, _bind, known, known_args, known_specs, known_out_specs, params
        )
    computed = iter(known_outs[n_known:])
    residuals = [next(computed) if f is None else known_args[f] for f in fwd]
    res_specs = [res_spec if f is None else known_specs[f] for f in fwd]
    hoisted, consts = hoist_consts(unknown)
    # A residual enters sharded over every axis, so JAX's replication types would take it
    # for a value that varies over all of them: the unknown part is not checked.
    staged_params = dict(
        params,
        check_vma=False,
        jaxpr=hoisted,
        in_specs=(_REPLICATED,) * len(consts)
        + tuple(res_specs)
        + tuple(select(in_specs, unknowns)),
        out_specs=tuple(select(out_specs, out_uk)),
    )
    operands = [*consts, *residuals, *select(args, unknowns)]
    staged = trace.stage(shard_map_p, operands, staged_params)
    return merge(out_uk, staged, known_outs[:n_known])


# ---------------------------------------------------------------------------
# transposition


def _scaled_down(ct, spec, mesh):
    """An output cotangent divided by the sizes of the axes its spec leaves unmentioned:
    every shard holds it whole, and the psum of the inputs' cotangents adds them up."""
    n = math.prod(_axis_sizes(mesh)[a] for a in _unmentioned(spec, mesh))
    if type(ct) is Zero or n == 1 or not np.issubdtype(get_aval(ct).dtype, np.inexact):
        return ct
    return div(ct, np.asarray(n, get_aval(ct).dtype))


def _psummed(closed, specs, mesh):
    """``closed`` whose outputs are psummed over the axes their ``specs`` leave unmentioned."""
    axes = [_unmentioned(s, mesh) for s in specs]
    if not any(axes):
        return closed

    def make():
        def f(*args):
            outs = eval_jaxpr(closed.jaxpr, closed.consts, *args)
            return [psum(o, a) if a else o for o, a in zip(outs, axes)]

        with _axes(mesh):
            return pe.trace_to_jaxpr(f, closed.in_avals, "transpose")

    return memo(closed, ("psum_cts", tuple(specs)), make)


def _transpose(cts, *args, jaxpr, in_specs, out_specs, **params):
    mesh = params["mesh"]
    linear = [is_undefined(a) for a in args]
    cts = [ad.instantiate(_scaled_down(ct, s, mesh)) for ct, s in zip(cts, out_specs)]
    lin_specs = select(in_specs, linear)
    with _axes(mesh):
        tj = _psummed(transpose_jaxpr(jaxpr, linear), lin_specs, mesh)
    operands = [*select(args, linear, False), *cts]
    specs = select(in_specs, linear, False) + list(out_specs)
    # The transposed body is written without replication types (JAX's transpose under
    # check_vma=False): a cotangent may vary over some of the axes a psum sums over.
    cts_in = _bind(tj, operands, specs, lin_specs, dict(params, check_vma=False))
    return merge(linear, cts_in, [None] * len(args))


# ---------------------------------------------------------------------------
# batching and dead code


def _batch(axis_size, args, dims, *, jaxpr, in_specs, out_specs, **params):
    """The batch dimension is unsharded (None in the specs), or, under
    ``vmap(spmd_axis_name=)``, split over those mesh axes: then each device's body
    is batched over its block of the batch, as JAX does. A residual (its leading
    axis over every mesh axis) keeps the other axes on that axis."""
    mesh = params["mesh"]
    spmd = batching.current_spmd_axis_name()
    if spmd is None:
        entry, inner, respec = None, axis_size, lambda s: s
    else:
        residual = _all_axes_spec(mesh)
        rest = tuple(n for n in spec_axes(residual) if n not in spmd)
        batched_residual = PartitionSpec(axes_entry(rest))
        _check_spmd_axes(spmd, mesh, in_specs, out_specs, axis_size, residual)
        over = batching.jaxpr_axis_names(jaxpr) & set(spmd)
        if over:
            raise NotImplementedError(
                f"vmap(spmd_axis_name={axes_entry(spmd)!r}) of a shard_map whose body "
                f"communicates over {sorted(over)}: with the batch split over those axes "
                "the collective would mix batch elements. This is what the gradient of a "
                "shard_map whose inputs are replicated over them does (its transpose "
                "psums over them), so take the gradient outside the vmap: grad(vmap(f)), "
                "not vmap(grad(f))"
            )
        entry = axes_entry(spmd)
        inner = axis_size // math.prod(_axis_sizes(mesh)[n] for n in spmd)
        respec = lambda s: batched_residual if s == residual else s  # noqa: E731
    with _axes(mesh):
        bj, out_batched = batch_jaxpr(jaxpr, inner, dims)
    new_in = [
        s if d is None else with_batch_dim(respec(s), d, entry) for s, d in zip(in_specs, dims)
    ]
    new_out = [
        with_batch_dim(respec(s), 0, entry) if b else s for s, b in zip(out_specs, out_batched)
    ]
    outs = _bind(bj, args, new_in, new_out, params)
    return outs, out_dims_of(out_batched)


def _check_spmd_axes(spmd, mesh, in_specs, out_specs, axis_size, residual):
    sizes = _axis_sizes(mesh)
    missing = [n for n in spmd if n not in sizes]
    if missing:
        raise ValueError(
            f"vmap spmd_axis_name {axes_entry(spmd)!r} names mesh axes {missing} that the "
            f"shard_map's mesh does not have (its axes: {tuple(sizes)})"
        )
    for kind, specs in (("in_specs", in_specs), ("out_specs", out_specs)):
        for s in specs:
            if s != residual and set(spec_axes(s)) & set(spmd):
                raise ValueError(
                    f"vmap spmd_axis_name {axes_entry(spmd)!r} cannot appear in shard_map "
                    f"{kind}, but got spec {s}"
                )
    n = math.prod(sizes[a] for a in spmd)
    if axis_size % n:
        raise ValueError(
            f"vmap spmd_axis_name {axes_entry(spmd)!r}: the batch size {axis_size} is not "
            f"divisible by the size {n} of those mesh axes"
        )


def _dce(used_outputs, eqn):
    closed, used_in = dce_jaxpr(eqn.params["jaxpr"], used_outputs)
    params = dict(
        eqn.params,
        jaxpr=closed,
        in_specs=tuple(select(eqn.params["in_specs"], used_in)),
        out_specs=tuple(select(eqn.params["out_specs"], used_outputs)),
    )
    new = eqn.replace(
        invars=select(eqn.invars, used_in),
        outvars=select(eqn.outvars, used_outputs),
        params=params,
    )
    return used_in, new


higher_order.register(
    shard_map_p,
    abstract_eval=_abstract_eval,
    lower=_lower,
    jvp=_jvp,
    transpose=_transpose,
    partial_eval=_partial_eval,
    dce=_dce,
    batch=_batch,
)


# ---------------------------------------------------------------------------
# the public function


def _context_mesh():
    """The mesh of ``jax.set_mesh(...)`` in effect, for a shard_map made without one:
    the concrete mesh, or inside ``jax.jit`` (where JAX offers only that) the
    abstract one."""
    try:
        mesh = jax.sharding.get_mesh()
    except ValueError:  # JAX: get_mesh cannot be used inside jax.jit
        mesh = jax.sharding.get_abstract_mesh()
    if mesh is None or mesh.empty:
        raise TypeError(
            "shard_map was made without mesh=, and no mesh is set: pass mesh= a "
            "jax.sharding.Mesh, or call it under `with jax.set_mesh(mesh):`"
        )
    return mesh


def _check_mesh(mesh, axis_names):
    if not isinstance(mesh, (jax.sharding.Mesh, jax.sharding.AbstractMesh)):
        raise TypeError(
            "shard_map requires mesh= a jax.sharding.Mesh (for example "
            f"jax.make_mesh((8,), ('i',))) or, left out, the mesh of jax.set_mesh; got "
            f"{type(mesh).__name__}: {mesh!r}"
        )
    names = frozenset(axis_names)
    if names and names != frozenset(mesh.axis_names):
        raise NotImplementedError(
            f"shard_map: axis_names={set(names)} (manual over only some of the mesh axes "
            f"{tuple(mesh.axis_names)}) is not supported; leave axis_names out"
        )


def shard_map(
    f=None, /, *, out_specs, in_specs=_INFER, mesh=None, axis_names=frozenset(), check_vma=True
):
    """Map ``f`` over the shards of its arguments, one shard per device of ``mesh``.

    As ``jax.shard_map``: each argument is split into blocks by its
    ``PartitionSpec`` (dimension ``d`` over the mesh axes ``spec[d]`` names),
    ``f`` runs on each device with that device's blocks, and the outputs are
    put back together by ``out_specs``. Inside ``f`` the mesh axis names are
    bound, so collectives (``mg.lax.psum(x, 'i')``, ...) can use them. It
    composes with ``jit``, ``grad``, ``jvp`` and ``vmap``, and lowers to
    ``jax.shard_map``.

    Args:
      f: the per-shard function (pytrees in and out); left out, ``shard_map``
        returns a decorator.
      out_specs: a ``PartitionSpec`` per output (a pytree prefix of the outputs).
        An output whose spec leaves a mesh axis out must be the same on every
        device along it.
      in_specs: a ``PartitionSpec`` per positional argument (a pytree prefix of
        the argument tuple; None means replicated). Required: inferring the
        specs from the arguments' shardings is not supported.
      mesh: a ``jax.sharding.Mesh``; left out, the mesh set by ``jax.set_mesh``
        when the function is called.
      axis_names: the mesh axes ``f`` is manual over; only all of them (the
        default) is supported.
      check_vma: passed to ``jax.shard_map`` (JAX checks, when it lowers the
        body, that an output is the same along the axes its spec leaves out).

    Returns:
      The global function. Called outside any transform it keeps the body it
      traced per argument types (as ``jit`` does), so the body's Python runs
      once per types, not on every call as with JAX's eager ``shard_map``.

    Example:
      >>> import jax, numpy as np
      >>> import minigrad_jax as mg
      >>> from jax.sharding import Mesh, PartitionSpec as P
      >>> mesh = Mesh(np.array(jax.devices()[:1]), ('i',))
      >>> f = mg.shard_map(lambda x: 2 * x, mesh=mesh, in_specs=P('i'), out_specs=P('i'))
      >>> f(np.arange(4.0, dtype=np.float32))
      Array([0., 2., 4., 6.], dtype=float32)
      >>> mg.grad(lambda x: f(x).sum())(np.ones(4, np.float32))
      Array([2., 2., 2., 2.], dtype=float32)
    """
    if f is None:
        return functools.partial(
            shard_map,
            out_specs=out_specs,
            in_specs=in_specs,
            mesh=mesh,
            axis_names=axis_names,
            check_vma=check_vma,
        )
    if not callable(f):
        raise TypeError(f"shard_map expects a callable, got {type(f).__name__}")
    if mesh is not None:
        _check_mesh(mesh, axis_names)
    if in_specs is _INFER:
        raise TypeError(
            "shard_map: pass in_specs (inferring them from the arguments' shardings is not "
            "supported)"
        )
    fixed_mesh = mesh
    # (mesh, in_tree, per-shard avals) -> (closed jaxpr, out tree, out specs)
    traced = {}

    @wraps(f)
    @api_boundary
    def wrapped(*args):
        mesh = fixed_mesh
        if mesh is None:
            mesh = _context_mesh()
            _check_mesh(mesh, axis_names)
        params = {
            "mesh": mesh,
            "check_vma": bool(check_vma),
            "newly_manual_axes": frozenset(mesh.axis_names),
        }
        flat, in_tree = tree_util.tree_flatten(args)
        specs = flatten_axes("shard_map", in_tree, in_specs, "in_specs")
        specs = [_as_spec(s, f"in_specs[{i}]") for i, s in enumerate(specs)]
        in_avals = [
            _shard_aval(get_aval(x), s, mesh, f"args[{i}]")
            for i, (x, s) in enumerate(zip(flat, specs))
        ]
        # Called eagerly (no trace, no named axes in scope), the traced body is
        # cached per wrapper on the argument types, as jit caches: JAX's eager
        # shard_map traces and compiles the body on every call.
        eager = core.is_top_level() and not core.axis_names_in_scope()
        key = (mesh, in_tree, tuple(in_avals))
        hit = traced.get(key) if eager else None
        if hit is None:
            hit = _trace_body(f, in_tree, in_avals, out_specs, mesh)
            if eager:
                traced[key] = hit
        closed, out_tree, outs_specs = hit
        outs = _bind(closed, flat, specs, outs_specs, params)
        return tree_util.tree_unflatten(out_tree, lowering.as_jax_arrays(outs))

    return wrapped


def _trace_body(f, in_tree, in_avals, out_specs, mesh):
    """The body's closed jaxpr on the per-shard avals, its output tree and out specs."""
    store = {}

    def flat_fun(*leaves):
        out = f(*tree_util.tree_unflatten(in_tree, leaves))
        out_leaves, store["tree"] = tree_util.tree_flatten(out)
        return out_leaves

    with _axes(mesh):
        closed = pe.trace_to_jaxpr(flat_fun, in_avals, "shard_map")
    out_tree = store["tree"]
    outs_specs = flatten_axes("shard_map", out_tree, out_specs, "out_specs")
    outs_specs = [
        _check_out_spec(s, a, mesh, i) for i, (s, a) in enumerate(zip(outs_specs, closed.out_avals))
    ]
    return closed, out_tree, outs_specs


def _check_out_spec(spec, aval, mesh, i):
    if spec is None:
        raise TypeError(
            f"shard_map out_specs must be a pytree of jax.sharding.PartitionSpec instances, "
            f"but out_specs[{i}] is None (use P() for a replicated output)"
        )
    spec = _as_spec(spec, f"out_specs[{i}]")
    _check_spec(spec, aval, mesh, "out_specs", f"out_specs[{i}]")
    return spec
