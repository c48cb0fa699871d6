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
from minigrad_jax._src.interpreters import higher_order, jaxpr_util, lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.traceback_util import api_boundary

__all__ = ["checkpoint", "remat", "checkpoint_p"]

checkpoint_p = Primitive("remat2", multiple_results=True)  # JAX calls this remat_p


def _bind(closed, args, prevent_cse, differentiated, policy):
    params = {"prevent_cse": prevent_cse, "differentiated": differentiated, "policy": policy}
    return higher_order.bind_call(checkpoint_p, closed, args, params)


def _impl(*args, jaxpr, prevent_cse, differentiated, policy):
    fn = functools.partial(lowering.replay_closed, jaxpr)
    return list(jax.checkpoint(fn, prevent_cse=prevent_cse, policy=policy)(*args))


def _params_for(params, how):
    return dict(params, differentiated=True) if how == "jvp" else params


def _partial_eval(trace, args, params):
    """Save nothing but the inputs: the unknown side recomputes the forward pass."""
    closed = params["jaxpr"]
    unknowns = higher_order.unknowns_of(trace, args)
    known, _, out_uk, num_res = jaxpr_util.partial_eval_jaxpr(closed, unknowns)
    # Known side: the primal outputs only; its residuals are dropped (policy=None saves nothing).
    n_known = len(known.out_avals) - num_res
    known_only, _ = jaxpr_util.dce_jaxpr(known, [True] * n_known + [False] * num_res, False)
    known_args = jaxpr_util.select(args, unknowns, False)
    known_outs = core.call_in(
        trace.parent, higher_order.bind_call, checkpoint_p, known_only, known_args, params
    )
    # Unknown side: the whole computation again, reading every input (known ones too).
    recompute, _ = jaxpr_util.dce_jaxpr(closed, out_uk, False)
    staged = trace.stage(checkpoint_p, list(args), dict(params, jaxpr=recompute))
    return jaxpr_util.merge(out_uk, staged, known_outs)


higher_order.def_call_rules(checkpoint_p, _impl, _params_for, _partial_eval)


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
      >>> import minigrad_jax.numpy as mnp
      >>> float(mg.grad(mg.checkpoint(lambda x: x * x))(3.0))
      6.0
      >>> mg.grad(mg.checkpoint(lambda x: mnp.sin(x) * x))(0.0)
      Array(0., dtype=float32, weak_type=True)
      >>> mg.vmap(mg.checkpoint(mnp.sin))(mnp.zeros(2))
      Array([0., 0.], dtype=float32)
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
    @api_boundary
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
        outs = lowering.as_jax_arrays(_bind(closed, flat, prevent_cse, False, policy))
        return tree_util.tree_unflatten(out_store["tree"], outs)

    return wrapped


remat = checkpoint
