"""Shardings inside a program: ``lax.with_sharding_constraint`` and ``device_put``.

Both are primitives with JAX's names (``sharding_constraint``, ``device_put``) that
compute the identity: under jvp the tangent gets the same constraint (placement),
under transposition the cotangent does (``device_put`` sends it back to its
source), and under vmap the batch dimension is left unsharded (None inserted in
the ``PartitionSpec`` of a ``NamedSharding``). Their lowerings are JAX's own
functions, so XLA's SPMD partitioner sees the same annotations it would from JAX.
"""

from __future__ import annotations

import jax
from jax import tree_util
from jax.sharding import NamedSharding, PartitionSpec, Sharding

from minigrad_jax._src import core
from minigrad_jax._src.api_util import flatten_axes
from minigrad_jax._src.core import Primitive, Tracer
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero
from minigrad_jax._src.traceback_util import api_boundary

__all__ = ["device_put", "device_put_p", "sharding_constraint_p", "with_sharding_constraint"]

sharding_constraint_p = Primitive("sharding_constraint")
device_put_p = Primitive("device_put", multiple_results=True)


def _spec_fits(sharding, aval, what):
    spec = sharding.spec if isinstance(sharding, NamedSharding) else sharding
    if isinstance(spec, PartitionSpec) and len(spec) > aval.ndim:
        raise ValueError(
            f"{what}: the sharding's spec {spec} has length {len(spec)}, but the value has "
            f"shape {aval.str_short()} (rank {aval.ndim}); a spec may be no longer than the "
            "rank of its value"
        )


def entry_axes(entry):
    """The mesh axis names of one PartitionSpec entry (a name, a tuple of them, None)."""
    if isinstance(entry, tuple):
        return entry
    return (entry,) if isinstance(entry, str) else ()


def spec_axes(spec):
    """The mesh axis names a PartitionSpec uses, in order."""
    return [n for e in spec for n in entry_axes(e)] if isinstance(spec, PartitionSpec) else []


def axes_entry(names):
    """The spec entry of a dimension split over the mesh axes ``names`` (a tuple, such
    as a vmap's spmd_axis_name): the name for one axis, the tuple for several, None
    for none."""
    if not names:
        return None
    return names[0] if len(names) == 1 else tuple(names)


def with_batch_dim(sharding, d, entry=None):
    """``sharding`` (or a PartitionSpec) for the value with a new dimension at ``d``
    (a batch dimension): ``entry`` inserted into the spec there (None: unsharded)."""
    spec = sharding.spec if isinstance(sharding, NamedSharding) else sharding
    if isinstance(spec, PartitionSpec):
        entries = list(spec) + [None] * max(0, d - len(spec))
        entries.insert(d, entry)
        new = PartitionSpec(*entries)
        if isinstance(sharding, NamedSharding):
            return NamedSharding(sharding.mesh, new, memory_kind=sharding.memory_kind)
        return new
    if sharding is None or not isinstance(sharding, Sharding) or sharding.is_fully_replicated:
        return sharding  # a device, a replicated or single-device sharding: rank-independent
    raise NotImplementedError(
        f"vmap of a value placed by a {type(sharding).__name__} (only NamedSharding, "
        "PartitionSpec and replicated shardings can take a batch dimension)"
    )


# ---------------------------------------------------------------------------
# with_sharding_constraint


def _check_sharding(s, i):
    if isinstance(s, (Sharding, PartitionSpec)):
        return s
    raise TypeError(
        "with_sharding_constraint: shardings must be jax.sharding.Sharding or PartitionSpec "
        f"instances (a pytree prefix of x), but shardings[{i}] is {s!r} of type "
        f"{type(s).__name__}"
    )


def _unconstrained(sharding):
    spec = sharding.spec if isinstance(sharding, NamedSharding) else sharding
    if not isinstance(spec, PartitionSpec):
        return frozenset()
    return frozenset(i for i, e in enumerate(spec) if e is PartitionSpec.UNCONSTRAINED)


@api_boundary
def with_sharding_constraint(x, shardings):
    """Ask XLA to lay ``x`` out as ``shardings`` at this point of the program.

    As ``jax.lax.with_sharding_constraint``: the value is unchanged; inside
    ``jit`` the SPMD partitioner places it as asked (and propagates from there).
    Under ``grad`` the cotangent gets the same constraint; under ``vmap`` the
    batch dimension is left unsharded.

    Args:
      x: an array or pytree of arrays.
      shardings: a ``jax.sharding.Sharding`` (``NamedSharding``) or a
        ``PartitionSpec`` (which needs a mesh context, ``jax.set_mesh``), or a
        pytree prefix of ``x`` of them.

    Returns:
      ``x``, constrained.

    Example:
      >>> import jax, numpy as np
      >>> import minigrad_jax as mg
      >>> from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
      >>> s = NamedSharding(Mesh(np.array(jax.devices()[:1]), ('i',)), P('i'))
      >>> f = lambda x: mg.lax.with_sharding_constraint(x * 2, s)
      >>> mg.jit(f)(np.ones(4, np.float32))
      Array([2., 2., 2., 2.], dtype=float32)
      >>> print(mg.make_jaxpr(f)(np.ones(4, np.float32)))
      { lambda ; a:f32[4]. let
          b:f32[4] = mul a 2.0:f32[]
          c:f32[4] = sharding_constraint[
            layout=None
            sharding=NamedSharding(mesh=Mesh('i': 1, ...), spec=P('i',), memory_kind=device)
            unconstrained_dims=frozenset({})
          ] b
        in (c,) }
    """
    flat, tree = tree_util.tree_flatten(x)
    shs = flatten_axes("with_sharding_constraint", tree, shardings, "shardings")
    outs = []
    for i, (leaf, s) in enumerate(zip(flat, shs)):
        s = _check_sharding(s, i)
        _spec_fits(s, core.get_aval(leaf), "with_sharding_constraint")
        outs.append(sharding_constraint_p.bind(leaf, **_wsc_params(s)))
    return tree_util.tree_unflatten(tree, lowering.as_jax_arrays(outs))


def _wsc_params(s):
    return {"sharding": s, "layout": None, "unconstrained_dims": _unconstrained(s)}


def _wsc_abstract_eval(aval, *, sharding, layout, unconstrained_dims):
    return aval


def _wsc_transpose(ct, x, **params):
    return [sharding_constraint_p.bind(ct, **params)]


def _wsc_batch(axis_size, args, dims, *, sharding, layout, unconstrained_dims):
    """As JAX: the batch dimension is left to XLA (UNCONSTRAINED), or split over the
    mesh axes of ``vmap(spmd_axis_name=)``, which the spec may not already use."""
    (x,), (d,) = args, dims
    spmd = batching.current_spmd_axis_name()
    if spmd is None:
        entry = PartitionSpec.UNCONSTRAINED
    else:
        spec = sharding.spec if isinstance(sharding, NamedSharding) else sharding
        used = set(spec_axes(spec)) & set(spmd)
        if used:
            raise ValueError(
                f"vmap spmd_axis_name {axes_entry(spmd)!r} cannot appear in "
                f"with_sharding_constraint spec, but got spec {spec}"
            )
        entry = axes_entry(spmd)
    return sharding_constraint_p.bind(x, **_wsc_params(with_batch_dim(sharding, d, entry))), d


def _wsc_lower(x, *, sharding, layout, unconstrained_dims):
    return jax.lax.with_sharding_constraint(x, sharding)


core.abstract_eval_rules[sharding_constraint_p] = _wsc_abstract_eval
ad.deflinear(sharding_constraint_p, _wsc_transpose)
batching.batch_rules[sharding_constraint_p] = _wsc_batch
lowering.register(sharding_constraint_p, _wsc_lower)


# ---------------------------------------------------------------------------
# device_put


def _check_device(d, what, i):
    if d is None or isinstance(d, (Sharding, PartitionSpec, jax.Device)):
        return d
    if hasattr(d, "sharding") and hasattr(d, "layout"):  # a jax.Format (layout + sharding)
        return d
    raise TypeError(
        f"device_put: {what} must be None, a jax.Device, a jax.sharding.Sharding or a "
        f"PartitionSpec (or a pytree prefix of x of them), but {what}[{i}] is {d!r} of type "
        f"{type(d).__name__}"
    )


@api_boundary
def device_put(x, device=None, *, src=None, donate=False, may_alias=None):
    """Place ``x`` on ``device`` (a ``jax.Device`` or a ``jax.sharding.Sharding``).

    Outside any transform this is ``jax.device_put``. Under ``jit``, ``grad`` or
    ``vmap`` it is the ``device_put`` primitive, the identity on values: inside
    ``jit`` a sharding acts as a sharding constraint (as in JAX), the tangent is
    placed the same way, the cotangent goes back to ``src``.

    Args:
      x: an array or pytree of arrays.
      device: None (the default device), a ``jax.Device``, a ``Sharding``, a
        ``PartitionSpec`` under a mesh context, or a pytree prefix of ``x`` of them.
      src, donate, may_alias: as in ``jax.device_put`` (donate and may_alias only
        outside transforms).

    Returns:
      ``x`` on ``device``.

    Example:
      >>> import jax, numpy as np
      >>> import minigrad_jax as mg
      >>> from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
      >>> s = NamedSharding(Mesh(np.array(jax.devices()[:1]), ('i',)), P('i'))
      >>> y = mg.device_put(np.arange(4.0, dtype=np.float32), s)
      >>> y.sharding == s
      True
      >>> mg.grad(lambda x: (mg.device_put(x, s) ** 2).sum())(np.ones(4, np.float32))
      Array([2., 2., 2., 2.], dtype=float32)
    """
    flat, tree = tree_util.tree_flatten(x)
    if core.is_top_level() and not any(isinstance(leaf, Tracer) for leaf in flat):
        return jax.device_put(x, device, src=src, donate=donate, may_alias=may_alias)
    devices = flatten_axes("device_put", tree, device, "device")
    srcs = flatten_axes("device_put", tree, src, "src")
    devices = tuple(_check_device(d, "device", i) for i, d in enumerate(devices))
    srcs = tuple(_check_device(d, "src", i) for i, d in enumerate(srcs))
    for leaf, d in zip(flat, devices):
        _spec_fits(d, core.get_aval(leaf), "device_put")
    outs = device_put_p.bind(*flat, devices=devices, srcs=srcs)
    return tree_util.tree_unflatten(tree, lowering.as_jax_arrays(outs))


def _dp_abstract_eval(*avals, devices, srcs):
    return list(avals)


def _dp_jvp(primals, tangents, *, devices, srcs):
    outs = device_put_p.bind(*primals, devices=devices, srcs=srcs)
    nz = [type(t) is not Zero for t in tangents]
    if not any(nz):
        return outs, list(tangents)
    pick = [i for i, n in enumerate(nz) if n]
    placed = device_put_p.bind(
        *[tangents[i] for i in pick],
        devices=tuple(devices[i] for i in pick),
        srcs=tuple(srcs[i] for i in pick),
    )
    out_t = list(tangents)
    for i, t in zip(pick, placed):
        out_t[i] = t
    return outs, out_t


def _dp_transpose(cts, *args, devices, srcs):
    back = [i for i, (ct, s) in enumerate(zip(cts, srcs)) if s is not None and type(ct) is not Zero]
    out = list(cts)
    if back:
        moved = device_put_p.bind(
            *[cts[i] for i in back],
            devices=tuple(srcs[i] for i in back),
            srcs=tuple(devices[i] for i in back),
        )
        for i, m in zip(back, moved):
            out[i] = m
    return out


def _dp_batch(axis_size, args, dims, *, devices, srcs):
    devices = tuple(d if b is None else with_batch_dim(d, b) for d, b in zip(devices, dims))
    srcs = tuple(s if b is None else with_batch_dim(s, b) for s, b in zip(srcs, dims))
    return device_put_p.bind(*args, devices=devices, srcs=srcs), list(dims)


def _dp_lower(*xs, devices, srcs):
    return [jax.device_put(x, d, src=s) for x, d, s in zip(xs, devices, srcs)]


core.abstract_eval_rules[device_put_p] = _dp_abstract_eval
ad.jvp_rules[device_put_p] = _dp_jvp
ad.transpose_rules[device_put_p] = _dp_transpose
batching.batch_rules[device_put_p] = _dp_batch
lowering.register(device_put_p, _dp_lower)
