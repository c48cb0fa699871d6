"""mg.checkpoint / mg.remat: recompute a function's forward pass in the backward pass.

The primitive carries the function's jaxpr. Its partial-evaluation rule keeps
nothing but the inputs: the known side computes the primal outputs, and the
whole (jvp) computation is staged again on the unknown side, so the backward
pass recomputes the intermediates instead of saving them as residuals.
JAX 0.10 prints this primitive as ``remat2``.
"""

from __future__ import annotations

import functools

import jax
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api_util import wraps
from minigrad_jax._src.core import Primitive, get_aval
from minigrad_jax._src.interpreters import ad, batching, jaxpr_util, lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr

__all__ = ["checkpoint", "remat", "checkpoint_p"]

checkpoint_p = Primitive("remat2", multiple_results=True)  # JAX calls this remat_p


def _bind(closed, args, prevent_cse, differentiated, policy):
    hoisted, consts = jaxpr_util.hoist_consts(closed)
    return checkpoint_p.bind(
        *consts,
        *args,
        jaxpr=hoisted,
        prevent_cse=prevent_cse,
        differentiated=differentiated,
        policy=policy,
    )


def _impl(*args, jaxpr, prevent_cse, differentiated, policy):
    fn = functools.partial(lowering.replay_closed, jaxpr)
    return list(jax.checkpoint(fn, prevent_cse=prevent_cse, policy=policy)(*args))


def _jvp(primals, tangents, *, jaxpr, prevent_cse, differentiated, policy):
    nonzeros = [type(t) is not Zero for t in tangents]
    jj, out_float = jaxpr_util.jvp_jaxpr(jaxpr, nonzeros)
    nz = [t for t in tangents if type(t) is not Zero]
    outs = _bind(jj, [*primals, *nz], prevent_cse, True, policy)
    n = len(jaxpr.out_avals)
    ts = iter(outs[n:])
    out_t = [
        next(ts) if fl else Zero(ad.tangent_aval(a))
        for fl, a in zip(out_float, jaxpr.out_avals, strict=False)
    ]
    return outs[:n], out_t


def _partial_eval(trace, args, params):
    jaxpr = params["jaxpr"]
    unknowns = [isinstance(a, pe.JaxprTracer) and a._trace is trace for a in args]
    known, _, out_unknowns, num_res = pe.partial_eval_jaxpr(jaxpr, unknowns)
    # Known side: the primal outputs only; its residuals are dropped (policy=None saves nothing).
    n_known = len(known.out_avals) - num_res
    kj = pe.dce_jaxpr(known.jaxpr, [True] * n_known + [False] * num_res)
    known_args = [a for a, u in zip(args, unknowns, strict=False) if not u]
    known_outs = iter(
        core.call_in(
            trace.parent,
            _bind,
            ClosedJaxpr(kj, known.consts),
            known_args,
            params["prevent_cse"],
            params["differentiated"],
            params["policy"],
        )
    )
    # Unknown side: the whole computation again, reading every input (known ones are residuals).
    j = jaxpr.jaxpr
    uj = pe.dce_jaxpr(Jaxpr(j.constvars, j.invars, j.outvars, j.eqns), out_unknowns)
    staged = iter(
        trace.stage(checkpoint_p, list(args), dict(params, jaxpr=ClosedJaxpr(uj, jaxpr.consts)))
    )
    return [next(staged) if u else next(known_outs) for u in out_unknowns]


def _transpose(cts, *args, jaxpr, prevent_cse, differentiated, policy):
    linear = tuple(is_undefined(a) for a in args)
    tj = jaxpr_util.transpose_jaxpr(jaxpr, linear)
    nonlin = [a for a in args if not is_undefined(a)]
    outs = iter(
        _bind(tj, [*nonlin, *map(ad.instantiate, cts)], prevent_cse, differentiated, policy)
    )
    return [next(outs) if lin else None for lin in linear]


def _batch(axis_size, args, dims, *, jaxpr, prevent_cse, differentiated, policy):
    bj = jaxpr_util.batch_jaxpr(jaxpr, axis_size, tuple(dims))
    outs = _bind(bj, args, prevent_cse, differentiated, policy)
    return outs, [0] * len(outs)


core.abstract_eval_rules[checkpoint_p] = lambda *avals, jaxpr, **_: list(jaxpr.out_avals)
ad.jvp_rules[checkpoint_p] = _jvp
ad.transpose_rules[checkpoint_p] = _transpose
pe.partial_eval_rules[checkpoint_p] = _partial_eval
batching.batch_rules[checkpoint_p] = _batch
lowering.register(checkpoint_p, _impl)


def checkpoint(fun=None, *, prevent_cse=True, policy=None, static_argnums=()):
    """Make ``fun`` recompute its forward pass during differentiation (save no residuals).

    Args:
      fun: the function (pytrees in and out).
      prevent_cse: passed to jax.checkpoint in the lowering.
      policy: only None (save nothing) is supported.
      static_argnums: positional arguments passed as Python values.

    Returns:
      A function with the same values and gradients as ``fun``.

    Example:
      >>> import minigrad_jax as mg
      >>> from minigrad_jax._src.checkpoint import checkpoint
      >>> float(mg.grad(checkpoint(lambda x: x * x))(3.0))
      6.0
    """
    if fun is None:
        return functools.partial(
            checkpoint, prevent_cse=prevent_cse, policy=policy, static_argnums=static_argnums
        )
    if not callable(fun):
        raise TypeError(f"checkpoint expects a callable, got {type(fun).__name__}")
    if policy is not None:
        raise NotImplementedError("checkpoint: only policy=None (save nothing) is supported")
    statics = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @wraps(fun)
    def wrapped(*args, **kwargs):
        dyn = [a for i, a in enumerate(args) if i not in statics]
        flat, in_tree = tree_util.tree_flatten((dyn, kwargs))
        out_store = {}

        def flat_fun(*leaves):
            d, kw = tree_util.tree_unflatten(in_tree, leaves)
            it = iter(d)
            full = [args[i] if i in statics else next(it) for i in range(len(args))]
            out_leaves, out_store["tree"] = tree_util.tree_flatten(fun(*full, **kw))
            return out_leaves

        closed = pe.trace_to_jaxpr(flat_fun, [get_aval(x) for x in flat], "checkpoint")
        outs = _bind(closed, flat, prevent_cse, False, policy)
        if core.is_top_level():
            outs = [jax.numpy.asarray(o) for o in outs]
        return tree_util.tree_unflatten(out_store["tree"], outs)

    return wrapped


remat = checkpoint
