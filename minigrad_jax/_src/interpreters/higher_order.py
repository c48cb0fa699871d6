"""The rule kit for primitives that carry a jaxpr.

A *call* primitive applies its closed jaxpr param to its operands: ``jit``,
``remat2`` (checkpoint), and the fallbacks of the custom-rule primitives.
``def_call_rules`` gives such a primitive its whole rule set, written once:

- abstract eval: the jaxpr's output types;
- jvp: the same primitive over ``jvp_jaxpr`` (primals, nonzero tangents);
- partial eval: the known part bound now (its residuals become outputs), the
  unknown part staged as a second equation of the same primitive;
- transpose: the same primitive over ``transpose_jaxpr``;
- batching: over ``batch_jaxpr``, outputs that stay unmapped stay unmapped;
- dead code: unused outputs (and the inputs only they read) pruned inside.

``params_for(params, how)`` lets a primitive adjust its other params for each
derived equation (checkpoint marks itself differentiated). The control-flow
primitives (cond, while, scan) have rules of their own shape but build them
from the same pieces (``jaxpr_util``), and register them with ``register``.
"""

from __future__ import annotations

from minigrad_jax._src import core
from minigrad_jax._src.interpreters import ad, batching, debug_nans, lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import is_undefined
from minigrad_jax._src.interpreters.jaxpr_util import (
    batch_jaxpr,
    dce_jaxpr,
    forward_residuals,
    hoist_consts,
    jvp_jaxpr,
    merge,
    nonzero_tangents,
    out_dims_of,
    partial_eval_jaxpr,
    select,
    tangents_out,
    transpose_jaxpr,
)


def same_params(params, how):
    return params


def bind_call(prim, closed, args, params):
    """Bind ``prim`` on ``closed`` with its consts as leading operands (as JAX does)."""
    hoisted, consts = hoist_consts(closed)
    return prim.bind(*consts, *args, **dict(params, jaxpr=hoisted))


def unknowns_of(trace, args):
    return [pe.is_unknown(trace, a) for a in args]


def call_abstract_eval(*avals, jaxpr, **_):
    return list(jaxpr.out_avals)


def call_jvp_rule(prim, params_for=same_params):
    def rule(primals, tangents, **params):
        closed = params["jaxpr"]
        nonzeros, nz_tangents = nonzero_tangents(tangents)
        jj, out_nz = jvp_jaxpr(closed, nonzeros)
        outs = bind_call(prim, jj, [*primals, *nz_tangents], params_for(params, "jvp"))
        n = len(closed.out_avals)
        return outs[:n], tangents_out(out_nz, outs[n:], closed.out_avals)

    return rule


def call_partial_eval_rule(prim, params_for=same_params):
    def rule(trace, args, params):
        unknowns = unknowns_of(trace, args)
        known, unknown, out_uk, num_res = partial_eval_jaxpr(params["jaxpr"], unknowns)
        # A residual that is a known input is passed on as it is, not returned (as JAX).
        known, fwd = forward_residuals(known, num_res)
        known_params = params_for(params, "known")
        known_args = select(args, unknowns, False)
        known_outs = core.call_in(trace.parent, bind_call, prim, known, known_args, known_params)
        n_known = len(known_outs) - fwd.count(None)
        computed = iter(known_outs[n_known:])
        residuals = [next(computed) if f is None else known_args[f] for f in fwd]
        hoisted, consts = hoist_consts(unknown)
        staged_params = dict(params_for(params, "unknown"), jaxpr=hoisted)
        staged = trace.stage(prim, [*consts, *residuals, *select(args, unknowns)], staged_params)
        return merge(out_uk, staged, known_outs[:n_known])

    return rule


def call_transpose_rule(prim, params_for=same_params):
    def rule(cts, *args, **params):
        linear = [is_undefined(a) for a in args]
        tj = transpose_jaxpr(params["jaxpr"], linear)
        operands = [*select(args, linear, False), *map(ad.instantiate, cts)]
        cts_in = bind_call(prim, tj, operands, params_for(params, "transpose"))
        return merge(linear, cts_in, [None] * len(args))

    return rule


def call_batch_rule(prim, params_for=same_params):
    def rule(axis_size, args, dims, **params):
        bj, out_batched = batch_jaxpr(params["jaxpr"], axis_size, dims)
        outs = bind_call(prim, bj, args, params_for(params, "batch"))
        return outs, out_dims_of(out_batched)

    return rule


def call_dce_rule(used_outputs, eqn):
    closed, used_in = dce_jaxpr(eqn.params["jaxpr"], used_outputs)
    new = eqn.replace(
        invars=select(eqn.invars, used_in),
        outvars=select(eqn.outvars, used_outputs),
        params=dict(eqn.params, jaxpr=closed),
    )
    return used_in, new


def register(
    prim,
    *,
    abstract_eval,
    lower,
    jvp=None,
    transpose=None,
    partial_eval=None,
    dce=None,
    batch=None,
    staging=None,
    deopt=None,
):
    """Register a higher-order primitive's rules, one table each (None leaves it out).

    ``deopt(args, params)`` re-runs an equation one inner equation at a time under
    debug_nans (a primitive with a ``jaxpr`` param needs none: it is evaluated).
    """
    core.abstract_eval_rules[prim] = abstract_eval
    lowering.register(prim, lower)
    tables = [
        (ad.jvp_rules, jvp),
        (ad.transpose_rules, transpose),
        (pe.partial_eval_rules, partial_eval),
        (pe.dce_rules, dce),
        (batching.batch_rules, batch),
        (pe.staging_rules, staging),
        (debug_nans.deopt_rules, deopt),
    ]
    for table, rule in tables:
        if rule is not None:
            table[prim] = rule


def def_call_rules(prim, lower, params_for=same_params, partial_eval=None):
    """Register the whole call-primitive rule set for ``prim`` (``partial_eval`` overrides)."""
    register(
        prim,
        abstract_eval=call_abstract_eval,
        lower=lower,
        jvp=call_jvp_rule(prim, params_for),
        transpose=call_transpose_rule(prim, params_for),
        partial_eval=partial_eval or call_partial_eval_rule(prim, params_for),
        dce=call_dce_rule,
        batch=call_batch_rule(prim, params_for),
        deopt=debug_nans.call_deopt("jaxpr"),
    )
