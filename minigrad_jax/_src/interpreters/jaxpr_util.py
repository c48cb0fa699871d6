"""Whole-jaxpr transforms used by the higher-order primitives (jit, cond, scan, ...).

Each one traces a small function that runs an existing interpreter over the
jaxpr, so there is one definition of jvp, batching and transposition: the
per-primitive rules. Results are memoized on the ClosedJaxpr.
"""

from __future__ import annotations

from minigrad_jax._src import core
from minigrad_jax._src.core import ShapedArray
from minigrad_jax._src.interpreters import ad, batching
from minigrad_jax._src.interpreters.ad import UndefinedPrimal, Zero
from minigrad_jax._src.interpreters.partial_eval import trace_to_jaxpr
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr, eval_jaxpr


def _memo(closed, key, make):
    hit = closed._cache.get(key)
    if hit is None:
        hit = closed._cache[key] = make()
    return hit


def hoist_consts(closed: ClosedJaxpr):
    """(jaxpr whose consts are leading invars, the consts): what an equation carries."""
    if not closed.consts:
        return closed, []

    def make():
        j = closed.jaxpr
        return ClosedJaxpr(Jaxpr([], j.constvars + j.invars, j.outvars, j.eqns), [])

    if any(isinstance(c, core.Tracer) for c in closed.consts):
        return make(), list(closed.consts)
    return _memo(closed, "hoisted", make), list(closed.consts)


def jvp_jaxpr(closed: ClosedJaxpr, nonzeros):
    """Jaxpr of (primals, nonzero tangents) -> (outputs, tangents of float outputs)."""

    def make():
        n = len(closed.in_avals)
        t_avals = [ad.tangent_aval(a) for a, nz in zip(closed.in_avals, nonzeros) if nz]
        out_float = [core.is_float(a.dtype) for a in closed.out_avals]

        def f(*args):
            primals, nz_t = args[:n], iter(args[n:])
            tangents = [
                next(nz_t) if nz else Zero(ad.tangent_aval(a))
                for a, nz in zip(closed.in_avals, nonzeros)
            ]
            outs, touts = ad.jvp_flat(
                lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a), primals, tangents
            )
            return outs + [ad.instantiate(t) for t, fl in zip(touts, out_float) if fl]

        return trace_to_jaxpr(f, list(closed.in_avals) + t_avals, "jvp"), out_float

    return _memo(closed, ("jvp", tuple(nonzeros)), make)


def batched_aval(aval: ShapedArray, dim, axis_size):
    if dim is None:
        return aval
    shape = list(aval.shape)
    shape.insert(dim, axis_size)
    return ShapedArray(shape, aval.dtype, aval.weak_type)


def batch_jaxpr(closed: ClosedJaxpr, axis_size, in_dims, out_dims_at=0):
    """Jaxpr over batched inputs (mapped at ``in_dims``) with every output mapped at 0."""

    def make():
        avals = [batched_aval(a, d, axis_size) for a, d in zip(closed.in_avals, in_dims)]

        def f(*args):
            outs, dims = batching.vmap_flat(
                lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a), args, in_dims, axis_size
            )
            return [batching.matchaxis(o, d, out_dims_at, axis_size) for o, d in zip(outs, dims)]

        return trace_to_jaxpr(f, avals, "vmap")

    return _memo(closed, ("batch", axis_size, tuple(in_dims), out_dims_at), make)


def batch_jaxpr_keep_unmapped(closed: ClosedJaxpr, axis_size, in_dims):
    """Like batch_jaxpr, but outputs that do not depend on a mapped input stay unmapped.

    Returns (jaxpr, out_dims) with out_dims entries 0 or None.
    """

    def make():
        avals = [batched_aval(a, d, axis_size) for a, d in zip(closed.in_avals, in_dims)]
        out_dims = []

        def f(*args):
            outs, dims = batching.vmap_flat(
                lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a), args, in_dims, axis_size
            )
            out_dims.extend(None if d is None else 0 for d in dims)
            return [o if d is None else batching.moveaxis(o, d, 0) for o, d in zip(outs, dims)]

        return trace_to_jaxpr(f, avals, "vmap"), out_dims

    return _memo(closed, ("batch_keep", axis_size, tuple(in_dims)), make)


def transpose_jaxpr(closed: ClosedJaxpr, linear):
    """Jaxpr of (non-linear inputs, output cotangents) -> cotangents of the linear inputs."""

    def make():
        nonlin_avals = [a for a, lin in zip(closed.in_avals, linear) if not lin]
        ct_avals = list(closed.out_avals)

        def f(*args):
            nonlin, cts = iter(args[: len(nonlin_avals)]), args[len(nonlin_avals) :]
            full = [
                UndefinedPrimal(a) if lin else next(nonlin)
                for a, lin in zip(closed.in_avals, linear)
            ]
            cts_in = ad.backward_pass(closed.jaxpr, closed.consts, full, list(cts))
            return [ad.instantiate(ct) for ct, lin in zip(cts_in, linear) if lin]

        return trace_to_jaxpr(f, nonlin_avals + ct_avals, "transpose")

    return _memo(closed, ("transpose", tuple(linear)), make)
