"""The ``jit`` primitive: a call of a closed jaxpr that XLA compiles as one unit.

JAX calls this primitive pjit; it prints as ``jit``. Its rules come from the
shared kit for jaxpr-carrying primitives (``interpreters/higher_order.py``).
"""

from __future__ import annotations

import functools

import jax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive
from minigrad_jax._src.interpreters import ad, batching, jaxpr_util, lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.ir import ClosedJaxpr

# ---------------------------------------------------------------------------
# the jit primitive

jit_p = Primitive("jit", multiple_results=True)  # JAX calls this pjit; it prints as jit


def _compiled(closed: ClosedJaxpr):
    fn = closed._cache.get("xla")
    if fn is None:
        fn = closed._cache["xla"] = jax.jit(functools.partial(lowering.replay_closed, closed))
    return fn


def _jit_impl(*args, jaxpr, name):
    return _compiled(jaxpr)(*args)


def bind_jit(closed: ClosedJaxpr, args, name):
    """Bind jit with the jaxpr's consts passed as leading arguments (as JAX does)."""
    hoisted, consts = jaxpr_util.hoist_consts(closed)
    return jit_p.bind(*consts, *args, name=name, jaxpr=hoisted)


def _jit_jvp(primals, tangents, *, jaxpr, name):
    nonzeros = [type(t) is not Zero for t in tangents]
    jj, out_float = jaxpr_util.jvp_jaxpr(jaxpr, nonzeros)
    nz = [t for t in tangents if type(t) is not Zero]
    outs = bind_jit(jj, [*primals, *nz], f"jvp({name})")
    n = len(jaxpr.out_avals)
    ts = iter(outs[n:])
    out_t = [
        next(ts) if fl else Zero(ad.tangent_aval(a)) for fl, a in zip(out_float, jaxpr.out_avals)
    ]
    return outs[:n], out_t


def _jit_partial_eval(trace, args, params):
    jaxpr, name = params["jaxpr"], params["name"]
    unknowns = [isinstance(a, pe.JaxprTracer) and a._trace is trace for a in args]
    known, unknown, out_unknowns, num_res = pe.partial_eval_jaxpr(jaxpr, unknowns)
    known_args = [a for a, u in zip(args, unknowns) if not u]
    known_outs = core.call_in(trace.parent, bind_jit, known, known_args, name)
    n_known = len(known_outs) - num_res
    residuals = known_outs[n_known:]
    unknown_args = [*residuals, *(a for a, u in zip(args, unknowns) if u)]
    hoisted, consts = jaxpr_util.hoist_consts(unknown)
    unknown_outs = iter(
        trace.stage(jit_p, [*consts, *unknown_args], {"name": name, "jaxpr": hoisted})
    )
    known_vals = iter(known_outs[:n_known])
    return [next(unknown_outs) if u else next(known_vals) for u in out_unknowns]


def _jit_transpose(cts, *args, jaxpr, name):
    linear = tuple(is_undefined(a) for a in args)
    tj = jaxpr_util.transpose_jaxpr(jaxpr, linear)
    nonlin = [a for a in args if not is_undefined(a)]
    outs = iter(bind_jit(tj, [*nonlin, *map(ad.instantiate, cts)], f"transpose({name})"))
    return [next(outs) if lin else None for lin in linear]


def _jit_batch(axis_size, args, dims, *, jaxpr, name):
    bj, out_dims = jaxpr_util.batch_jaxpr_keep_unmapped(jaxpr, axis_size, tuple(dims))
    return bind_jit(bj, args, name), out_dims


core.abstract_eval_rules[jit_p] = lambda *avals, name, jaxpr: list(jaxpr.out_avals)
ad.jvp_rules[jit_p] = _jit_jvp
ad.transpose_rules[jit_p] = _jit_transpose
pe.partial_eval_rules[jit_p] = _jit_partial_eval
batching.batch_rules[jit_p] = _jit_batch
lowering.register(jit_p, _jit_impl)
