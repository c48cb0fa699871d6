"""mg.checkpoint / mg.remat: recompute a function's forward pass in the backward pass.

The primitive carries the function's jaxpr and a *policy* (see
``checkpoint_policies.py``): which intermediate values the forward pass may save
for the backward pass. Under reverse mode its partial-evaluation rule splits the
(jvp) jaxpr with the kit's ``partial_eval_jaxpr`` into a known jaxpr (primal
outputs, then residuals) and an unknown one, then sorts the residuals:

- a residual the policy allows (the output of an equation ``policy(prim,
  *in_avals, **params)`` approves, or an input of the checkpoint) is saved: an
  output of the known part, or the input itself;
- any other residual is recomputed: the slice of the known jaxpr that computes
  it from saveable values (cut there) runs again in front of the unknown jaxpr,
  inside the staged (backward) checkpoint equation; the saveable values that
  slice reads are saved too.

As in JAX, the known part runs in line (it is no checkpoint equation), saved
float intermediates go through ``reduce_precision``, and the saved values reach
the backward equation in the order it first reads them, so ``make_jaxpr`` of a
gradient prints as JAX's. ``policy=None`` is ``nothing_saveable``: only inputs
are saved. The policy judges the equations inside a ``jit`` in the checkpoint
(its body is inlined in the known part); a residual made by an inner checkpoint
is judged by the equation that made it inside (an inner checkpoint's own policy
already chose what it saves: unlike JAX, which applies the outer policy inside
it). JAX 0.10 prints this primitive as ``remat2``.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
from jax import numpy as jnp
from jax import tree_util

from minigrad_jax._src import checkpoint_policies as cp
from minigrad_jax._src import core
from minigrad_jax._src.api_util import wraps
from minigrad_jax._src.core import Primitive, get_aval
from minigrad_jax._src.interpreters import higher_order, jaxpr_util, lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Var, eval_jaxpr
from minigrad_jax._src.lax.special import reduce_precision_p
from minigrad_jax._src.pjit import jit_p
from minigrad_jax._src.traceback_util import api_boundary

__all__ = ["checkpoint", "remat", "checkpoint_p"]

checkpoint_p = Primitive("remat2", multiple_results=True)  # JAX calls this remat_p


def _bind(closed, args, prevent_cse, differentiated, policy):
    params = {"prevent_cse": prevent_cse, "differentiated": differentiated, "policy": policy}
    return higher_order.bind_call(checkpoint_p, closed, args, params)


def _impl(*args, jaxpr, prevent_cse, differentiated, policy):
    fn = functools.partial(lowering.replay_closed, jaxpr)
    if differentiated and prevent_cse:
        # As JAX's lowering: keep XLA from merging the recomputation with the forward pass.
        at = [i for i, a in enumerate(args) if isinstance(a, jax.Array)]
        fenced = jax.lax.optimization_barrier([args[i] for i in at])
        args = list(args)
        for i, a in zip(at, fenced):
            args[i] = a
    jax_policy = cp.to_jax(policy)
    return list(jax.checkpoint(fn, prevent_cse=prevent_cse, policy=jax_policy)(*args))


def _params_for(params, how):
    return dict(params, differentiated=True) if how == "jvp" else params


# ---------------------------------------------------------------------------
# partial evaluation under a policy

_CALLS = (jit_p, checkpoint_p)  # equations whose outputs are their inner jaxpr's outputs


def _producers(jaxpr):
    return {v: (eqn, i) for eqn in jaxpr.eqns for i, v in enumerate(eqn.outvars)}


def _forwarded(v, producers):
    """The value ``v`` stands for: through calls that only forward an input, that input."""
    while type(v) is Var and v in producers:
        eqn, i = producers[v]
        if eqn.primitive not in _CALLS:
            break
        inner = eqn.params["jaxpr"].jaxpr
        iv = inner.outvars[i]
        if not (type(iv) is Var and iv in inner.invars):
            break
        v = eqn.invars[inner.invars.index(iv)]
    return v


def _saveable(v, producers, policy):
    """Whether ``policy`` lets ``v`` (an atom of the jaxpr ``producers`` maps) be saved."""
    made = producers.get(v) if type(v) is Var else None
    if made is None:
        return True  # an input, a const or a literal: available to the backward pass as is
    eqn, i = made
    if eqn.primitive in _CALLS:
        inner = eqn.params["jaxpr"].jaxpr
        iv = inner.outvars[i]
        if type(iv) is Var and iv in inner.invars:  # forwarded: judge what came in
            return _saveable(eqn.invars[inner.invars.index(iv)], producers, policy)
        return _saveable(iv, _producers(inner), policy)  # judged by its maker inside
    return bool(policy(eqn.primitive, *[a.aval for a in eqn.invars], **eqn.params))


def _inline_jits(jaxpr: Jaxpr) -> Jaxpr:
    """``jaxpr`` with its ``jit`` equations replaced by their bodies (in fresh variables), so
    a policy judges, and a recomputation cuts at, the equations inside them (as JAX's)."""
    if not any(e.primitive is jit_p for e in jaxpr.eqns):
        return jaxpr

    def read(env, a):
        return env.get(a, a) if type(a) is Var else a

    def emit(eqns, env, fresh, out):
        for e in eqns:
            ins = [read(env, a) for a in e.invars]
            inner = e.params.get("jaxpr") if e.primitive is jit_p else None
            if inner is not None and not inner.consts:
                ij = inner.jaxpr
                inner_env = dict(zip(ij.invars, ins))
                emit(ij.eqns, inner_env, True, out)
                env.update(zip(e.outvars, [read(inner_env, a) for a in ij.outvars]))
                continue
            outs = [Var(v.aval) for v in e.outvars] if fresh else e.outvars
            env.update(zip(e.outvars, outs))
            out.append(e.replace(invars=ins, outvars=outs))
        return out

    env = {}
    eqns = emit(jaxpr.eqns, env, False, [])
    return Jaxpr(jaxpr.constvars, jaxpr.invars, [read(env, a) for a in jaxpr.outvars], eqns)


def _round_saved(eqns, saved):
    """JAX's guard against excess precision: each saved float intermediate that the
    forward pass reads too goes through ``reduce_precision`` to its own format, so the
    forward and backward passes read the same value however XLA keeps it."""
    out = []
    for eqn in eqns:
        rounded = []
        for v in eqn.outvars:
            if v in saved and np.issubdtype(v.aval.dtype, np.floating):
                finfo = jnp.finfo(v.aval.dtype)
                params = {"exponent_bits": int(finfo.nexp), "mantissa_bits": int(finfo.nmant)}
                if eqn.primitive is reduce_precision_p and eqn.params == params:
                    continue
                rounded.append((v, Var(v.aval), params))
        if not rounded:
            out.append(eqn)
            continue
        new = {v: raw for v, raw, _ in rounded}
        out.append(eqn.replace(outvars=[new.get(v, v) for v in eqn.outvars]))
        for v, raw, params in rounded:
            out.append(JaxprEqn([raw], [v], reduce_precision_p, params, eqn.source_info))
    return out


def _replayed(eqn, jaxpr, policy):
    """Whether a debug print or callback (an effect, no outputs) runs again in the
    recomputation, by JAX's rule for them: yes unless the policy would save it; if it
    would, only when it reads nothing but the checkpoint's inputs."""
    if eqn.outvars or eqn.primitive not in core.effectful:
        return False
    if not policy(eqn.primitive, *[a.aval for a in eqn.invars], **eqn.params):
        return True
    inputs = set(jaxpr.invars) | set(jaxpr.constvars)
    return all(type(a) is not Var or a in inputs for a in eqn.invars)


def _first_read(kj, uj, residuals, recompute, source, saved):
    """The saved intermediates in the order the backward pass first reads them, as JAX
    orders them: JAX's jvp jaxpr interleaves each primal equation with its tangent
    equations, so each unknown equation is placed right after the last known equation
    whose residual it reads (and after the unknown equations before it)."""
    index = {id(e): k for k, e in enumerate(kj.eqns)}
    made_at = {v: k for k, e in enumerate(kj.eqns) for v in e.outvars}
    res_of = dict(zip(uj.invars[: len(residuals)], map(source, residuals)))
    reads, t = [], -1
    for e in recompute:
        reads.append((index[id(e)], 0, [source(a) for a in e.invars]))
    for n, e in enumerate(uj.eqns):
        mine = [res_of[a] for a in e.invars if type(a) is Var and a in res_of]
        t = max([t] + [made_at.get(r, -1) for r in mine])
        reads.append((t, 1 + n, mine))
    reads.sort(key=lambda r: r[:2])
    order = [a for _, _, vs in reads for a in vs if type(a) is Var and a in saved]
    order += [a for a in map(source, residuals) if type(a) is Var and a in saved]  # U's outputs
    return list(dict.fromkeys(order))


def _plan(known, unknown, n_known, policy):
    """(known checkpoint jaxpr, where each saved residual comes from, unknown jaxpr).

    A saved residual's source is ("out", k) (the known part's output k after the
    primal outputs), ("const", c) (a value the known jaxpr closes over) or ("arg", i)
    (the i-th known input). The unknown jaxpr takes the saved residuals, then the
    unknown inputs, and recomputes the residuals that were not saved.
    """
    kj, uj = _inline_jits(known.jaxpr), unknown.jaxpr
    producers = _producers(kj)
    residuals = kj.outvars[n_known:]
    saveable = {}

    def source(a):
        return _forwarded(a, producers) if type(a) is Var else a

    def ok(v):
        if v not in saveable:
            saveable[v] = _saveable(v, producers, policy)
        return saveable[v]

    # Walk back from the residuals that may not be saved, cutting at saveable values.
    # (A value a call only forwards is read where it came from.)
    needed, saved = set(), set()
    for a in map(source, residuals):
        if type(a) is Var:
            (saved if ok(a) else needed).add(a)
    recompute = []
    for eqn in reversed(kj.eqns):
        if not any(v in needed for v in eqn.outvars) and not _replayed(eqn, kj, policy):
            continue
        recompute.append(eqn)
        for a in map(source, eqn.invars):
            if type(a) is Var:
                (saved if ok(a) else needed).add(a)
    recompute.reverse()

    args = [v for v in kj.invars if v in saved]
    consts = [v for v in kj.constvars if v in saved]
    made = {v for e in kj.eqns for v in e.outvars}
    outs = _first_read(kj, uj, residuals, recompute, source, saved & made)
    arg_pos = {v: i for i, v in enumerate(kj.invars)}
    const_pos = {v: i for i, v in enumerate(kj.constvars)}
    sources = (  # in JAX's order: saved intermediates, then inputs
        [("out", k) for k in range(len(outs))]
        + [("const", known.consts[const_pos[v]]) for v in consts]
        + [("arg", arg_pos[v]) for v in args]
    )
    read_here = {a for e in kj.eqns for a in e.invars if type(a) is Var}
    known_eqns = _round_saved(kj.eqns, set(outs) & read_here)
    known_jaxpr = pe.dce_jaxpr(
        Jaxpr(kj.constvars, kj.invars, kj.outvars[:n_known] + outs, known_eqns)
    )
    kept = set(known_jaxpr.constvars)
    known_consts = [c for v, c in zip(kj.constvars, known.consts) if v in kept]
    known_closed = ClosedJaxpr(known_jaxpr, known_consts)

    # The unknown jaxpr with the recomputation in front, in variables of its own.
    num_res = len(residuals)
    saved_order = outs + consts + args
    env = {v: Var(v.aval) for v in saved_order}
    env.update(zip(uj.invars[num_res:], [Var(v.aval) for v in uj.invars[num_res:]]))

    def read(a):
        return env[source(a)] if type(a) is Var else a

    def copy(eqn):
        invars = [read(a) for a in eqn.invars]
        outvars = [Var(v.aval) for v in eqn.outvars]
        env.update(zip(eqn.outvars, outvars))
        return eqn.replace(invars=invars, outvars=outvars)

    eqns = [copy(e) for e in recompute]
    env.update(zip(uj.invars[:num_res], [read(r) for r in residuals]))
    eqns += [copy(e) for e in uj.eqns]
    invars = [env[v] for v in saved_order + uj.invars[num_res:]]
    staged = ClosedJaxpr(Jaxpr([], invars, [read(a) for a in uj.outvars], eqns), [])
    return known_closed, sources, staged


def _partial_eval(trace, args, params):
    """Known side: the primal outputs and the saveable residuals; unknown side: the rest."""
    closed = params["jaxpr"]
    policy = cp.nothing_saveable if params["policy"] is None else params["policy"]
    unknowns = higher_order.unknowns_of(trace, args)
    known, unknown, out_uk, num_res = jaxpr_util.partial_eval_jaxpr(closed, unknowns)
    n_known = len(known.out_avals) - num_res

    def make():
        return _plan(known, unknown, n_known, policy)

    try:
        key = ("remat_pe", tuple(unknowns), policy)
        hash(key)
    except TypeError:  # a policy that cannot be a cache key: plan every time
        known_closed, sources, staged = make()
    else:
        known_closed, sources, staged = jaxpr_util.memo(closed, key, make)

    known_args = jaxpr_util.select(args, unknowns, False)
    # As JAX's, the known part is not a checkpoint: its equations run (or are staged) one
    # level down, in line.
    known_outs = core.call_in(
        trace.parent, eval_jaxpr, known_closed.jaxpr, known_closed.consts, *known_args
    )
    res_vals = []
    for kind, where in sources:
        if kind == "arg":
            res_vals.append(known_args[where])
        elif kind == "const":
            res_vals.append(where)
        else:
            res_vals.append(known_outs[n_known + where])
    staged_params = dict(params, jaxpr=staged, differentiated=True)
    outs = trace.stage(checkpoint_p, [*res_vals, *jaxpr_util.select(args, unknowns)], staged_params)
    return jaxpr_util.merge(out_uk, outs, known_outs[:n_known])


higher_order.def_call_rules(checkpoint_p, _impl, _params_for, _partial_eval)


def _static_argnums(static_argnums):
    if type(static_argnums) is int:
        return (static_argnums,)
    if type(static_argnums) in (tuple, list) and all(type(d) is int for d in static_argnums):
        return tuple(static_argnums)
    raise TypeError(
        f"checkpoint: static_argnums must be an int or a tuple of ints, got {static_argnums!r}"
    )


def _prevent_cse(prevent_cse):
    if isinstance(prevent_cse, bool):
        return prevent_cse
    if isinstance(prevent_cse, (tuple, list)):
        flags = tree_util.tree_leaves(prevent_cse)
        if all(isinstance(f, bool) for f in flags):
            return any(flags)
    raise TypeError(
        f"checkpoint: prevent_cse must be a bool or a tuple of bools, got {prevent_cse!r}"
    )


def checkpoint(fun=None, *, prevent_cse=True, policy=None, static_argnums=()):
    """Make ``fun`` recompute its forward pass during differentiation.

    Under reverse mode (``grad``, ``vjp``, ``linearize``) the forward pass saves
    for the backward pass only the inputs and what ``policy`` allows, and the
    backward pass recomputes the other intermediate values it needs.

    Args:
      fun: the function (pytrees in and out).
      prevent_cse: whether the lowering keeps XLA from merging the recomputation
        with the forward pass (an optimization barrier, as JAX's). A tuple of
        bools (JAX's per-argument form) is accepted and means ``any`` of them.
      policy: None (save nothing but the inputs) or a policy
        ``policy(prim, *in_avals, **params) -> bool``: one of
        ``mg.checkpoint_policies`` or the user's own, called on this package's
        primitives. JAX's own policy objects (``jax.checkpoint_policies.dots_saveable``,
        ``save_only_these_names(...)``, ...) are read as ours.
      static_argnums: positional arguments passed as Python values (an int or a
        tuple of ints; negative counts from the end).

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
      >>> def f(w, x):
      ...     return mnp.sum(mnp.tanh(mnp.dot(mnp.tanh(mnp.dot(x, w)), w)))
      >>> w, x = mnp.ones((3, 3)) / 3, mnp.ones((2, 3))
      >>> saves_dots = mg.checkpoint(f, policy=mg.checkpoint_policies.dots_saveable)
      >>> [c.shape for c in mg.linearize(saves_dots, w, x)[1].jaxpr.consts]
      [(2, 3), (2, 3), (3, 3), (2, 3)]
      >>> [c.shape for c in mg.linearize(mg.checkpoint(f), w, x)[1].jaxpr.consts]
      [(3, 3), (2, 3)]
    """
    if fun is None:
        return functools.partial(
            checkpoint, prevent_cse=prevent_cse, policy=policy, static_argnums=static_argnums
        )
    if not callable(fun):
        raise TypeError(f"checkpoint expects a callable, got {type(fun).__name__}")
    if policy is not None and not callable(policy):
        raise TypeError(
            "checkpoint: policy must be None or a callable policy(prim, *avals, **params) "
            f"-> bool (see mg.checkpoint_policies), got {type(policy).__name__}: {policy!r}"
        )
    policy = cp.from_jax(policy)
    prevent_cse = _prevent_cse(prevent_cse)
    statics = _static_argnums(static_argnums)

    @wraps(fun)
    @api_boundary
    def wrapped(*args, **kwargs):
        n = len(args)
        if not all(-n <= d < n for d in statics):
            raise ValueError(
                f"checkpoint: static_argnums {statics} out of range for {n} positional argument(s)"
            )
        static = {d % n for d in statics}
        dyn = [a for i, a in enumerate(args) if i not in static]
        flat, in_tree = tree_util.tree_flatten((dyn, kwargs))
        out_store = {}

        def flat_fun(*leaves):
            d, kw = tree_util.tree_unflatten(in_tree, leaves)
            it = iter(d)
            full = [args[i] if i in static else next(it) for i in range(n)]
            out_leaves, out_store["tree"] = tree_util.tree_flatten(fun(*full, **kw))
            return out_leaves

        closed = pe.trace_to_jaxpr(flat_fun, [get_aval(x) for x in flat], "checkpoint")
        outs = lowering.as_jax_arrays(_bind(closed, flat, prevent_cse, False, policy))
        return tree_util.tree_unflatten(out_store["tree"], outs)

    return wrapped


remat = checkpoint
