"""Lowering: each primitive's jax.lax counterpart.

The lowering rule is the one definition of what a primitive computes. Eager
evaluation runs it on concrete ``jax.Array``s; ``jit`` replays a whole jaxpr
with these rules inside ``jax.jit`` so that XLA compiles it for any backend.
"""

from __future__ import annotations

import jax
import numpy as np

from minigrad_jax._src import core
from minigrad_jax._src.ir import Literal

lowering_rules: dict = {}


def register(prim, rule, impl=True):
    """Register ``rule(*jax_values, **params)`` as ``prim``'s lowering (and eager impl)."""
    lowering_rules[prim] = rule
    if impl:
        core.impl_rules[prim] = rule


def replay(jaxpr, consts, *args):
    """Evaluate ``jaxpr`` on JAX values (concrete or JAX tracers) with the lowering rules."""
    env = dict(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        invals = [core.jaxable(a.val) if type(a) is Literal else env[a] for a in eqn.invars]
        try:
            rule = lowering_rules[eqn.primitive]
        except KeyError:
            raise NotImplementedError(f"no XLA lowering for '{eqn.primitive.name}'") from None
        outs = rule(*invals, **eqn.params)
        if eqn.primitive.multiple_results:
            env.update(zip(eqn.outvars, outs))
        else:
            env[eqn.outvars[0]] = outs
    return [core.jaxable(a.val) if type(a) is Literal else env[a] for a in jaxpr.outvars]


def replay_closed(closed, *args):
    return replay(closed.jaxpr, closed.consts, *args)


def as_jax_arrays(outs, keep_python_scalars=False):
    """At the top level, values handed back to the user are ``jax.Array``s, as in JAX.

    A replay may hand back a forwarded Python scalar or one of our numpy constants;
    they become arrays with their weak type kept. With ``keep_python_scalars`` a
    Python scalar (or numpy scalar) passes through untouched, as ``jax.vjp`` and
    ``jax.jvp`` return what a custom rule or an identity gave them.
    """
    if not core.is_top_level():
        return list(outs)
    keep = (jax.Array, np.generic, bool, int, float, complex) if keep_python_scalars else jax.Array
    return [o if isinstance(o, keep) else jax.numpy.asarray(core.jaxable(o)) for o in outs]
