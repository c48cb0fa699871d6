"""Lowering: each primitive's jax.lax counterpart.

The lowering rule is the one definition of what a primitive computes. Eager
evaluation runs it on concrete ``jax.Array``s; ``jit`` replays a whole jaxpr
with these rules inside ``jax.jit`` so that XLA compiles it for any backend.

A replay walks a plan made once per jaxpr (the rule of each equation looked
up in advance). The plan lowers ``transpose(dot_general(a, b))``, where the
transpose only swaps the free dimensions of a and b, as ``dot_general(b, a)``;
the jaxpr keeps JAX's equations.
"""

from __future__ import annotations

import weakref

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
    plan = _plans.get(jaxpr)
    if plan is None:
        plan = _plans[jaxpr] = _plan(jaxpr)
    env = dict(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for rule, invars, outvars, params, multiple in plan:
        ins = [core.jaxable(a.val) if type(a) is Literal else env[a] for a in invars]
        outs = rule(*ins, **params)
        if multiple:
            env.update(zip(outvars, outs))
        else:
            env[outvars[0]] = outs
    return [core.jaxable(a.val) if type(a) is Literal else env[a] for a in jaxpr.outvars]


# Jaxpr -> its replay steps, (rule, invars, outvars, params, multiple_results) per
# equation: looked up once per jaxpr, not once per equation per replay.
_plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _plan(jaxpr):
    steps, dots, pairs = [], {}, []
    for eqn in jaxpr.eqns:
        prim = eqn.primitive
        rule = lowering_rules.get(prim)
        if rule is None:
            raise NotImplementedError(f"no XLA lowering for '{prim.name}'")
        if prim.name == "dot_general":
            dots[eqn.outvars[0]] = len(steps)
        elif prim.name == "transpose" and eqn.invars[0] in dots:
            pairs.append((dots[eqn.invars[0]], len(steps)))
        steps.append((rule, eqn.invars, eqn.outvars, eqn.params, prim.multiple_results))
    if pairs:
        _fuse_dot_transposes(jaxpr, steps, pairs)
    return [s for s in steps if s is not None]


def _fuse_dot_transposes(jaxpr, steps, pairs):
    """``transpose(dot_general(a, b))`` that only swaps the free dimensions of a and b is
    ``dot_general(b, a)``; where the transpose is the product's one use, lower it so.

    The transpose rule of dot_general leaves such pairs (JAX's does too). XLA folds
    them for matrices, but batched (per-example gradients) it lays the product out
    transposed and copies it back; lowered as one dot, it comes out in place.
    """
    uses = {}
    for v in [a for e in jaxpr.eqns for a in e.invars] + jaxpr.outvars:
        if type(v) is not Literal:
            uses[v] = uses.get(v, 0) + 1
    for d, t in pairs:
        dot, tr = jaxpr.eqns[d], jaxpr.eqns[t]
        params = _swapped_dot_params(dot, tr.params["permutation"])
        if params is not None and uses[dot.outvars[0]] == 1:
            a, b = dot.invars
            steps[d] = None
            steps[t] = (lowering_rules[dot.primitive], [b, a], tr.outvars, params, False)


def _swapped_dot_params(dot, permutation):
    """dot_general's params with its operands swapped, if that turns its output into
    ``transpose(output, permutation)``; else None."""
    if dot.params.get("out_sharding") is not None:
        return None
    a, b = dot.invars
    (ac, bc), (ab, bb) = dot.params["dimension_numbers"]
    nb = len(ab)
    na = len(a.aval.shape) - len(ac) - nb
    nf = len(b.aval.shape) - len(bc) - len(bb)
    swap = (*range(nb), *range(nb + na, nb + na + nf), *range(nb, nb + na))
    if tuple(permutation) != swap:
        return None
    precision = dot.params["precision"]
    if type(precision) is tuple:  # (lhs, rhs)
        precision = precision[::-1]
    return dict(dot.params, dimension_numbers=((bc, ac), (bb, ab)), precision=precision)


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
