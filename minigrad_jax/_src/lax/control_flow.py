"""Structured control flow: cond, switch, while_loop, fori_loop, scan, map.

Each construct is a higher-order primitive carrying closed jaxprs (hoisted:
their consts are leading operands), with the same rule set as ``jit``: jvp,
partial evaluation, transposition, batching and a lowering to the jax.lax
control-flow function, so XLA sees a loop or a conditional, never an unrolled
program. Primitive names and params are JAX's: ``cond{branches}``,
``while{cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts}`` and
``scan{jaxpr, length, reverse, num_consts, num_carry, unroll}``.
"""

from __future__ import annotations

import builtins
import functools
import operator

import jax
import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray, get_aval
from minigrad_jax._src.interpreters import ad, batching, jaxpr_util, lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr, Var, eval_jaxpr
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import reductions as red
from minigrad_jax._src.lax import structural as st

__all__ = [
    "cond",
    "switch",
    "while_loop",
    "fori_loop",
    "scan",
    "map",
    "cond_p",
    "while_p",
    "scan_p",
]

_WHILE_GRAD_ERROR = (
    "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with "
    "dynamic start/stop values. Try using lax.scan, or lax.fori_loop with constant start/stop."
)

# ---------------------------------------------------------------------------
# shared helpers: tracing user functions and reshaping jaxprs


def _trace(fun, in_tree, in_avals, what):
    """Trace ``fun`` over pytree args (flattened as ``in_tree``): (ClosedJaxpr, out_tree)."""
    store = {}

    def flat(*args):
        out = fun(*tree_util.tree_unflatten(in_tree, args))
        leaves, store["tree"] = tree_util.tree_flatten(out)
        for leaf in leaves:
            get_aval(leaf)  # a clear TypeError for a non-array output
        return leaves

    closed = pe.trace_to_jaxpr(flat, list(in_avals), what)
    return closed, store["tree"]


def _avals_str(avals):
    return "(" + ", ".join(a.str_short() + ("{weak}" if a.weak_type else "") for a in avals) + ")"


def _same_types(a, b, weak=True):
    return len(a) == len(b) and all(
        x.shape == y.shape and x.dtype == y.dtype and (not weak or x.weak_type == y.weak_type)
        for x, y in zip(a, b, strict=False)
    )


def _with_invars(closed: ClosedJaxpr, before, after=()):
    """A jaxpr taking extra unused inputs of avals ``before`` (leading) and ``after``."""
    j = closed.jaxpr
    pre = [Var(a) for a in before]
    post = [Var(a) for a in after]
    return ClosedJaxpr(Jaxpr(j.constvars, pre + j.invars + post, j.outvars, j.eqns), closed.consts)


def _permute(closed: ClosedJaxpr, in_order=None, out_order=None):
    """Reorder a jaxpr's inputs/outputs: new position k holds old ``order[k]``."""
    j = closed.jaxpr
    invars = j.invars if in_order is None else [j.invars[i] for i in in_order]
    outvars = j.outvars if out_order is None else [j.outvars[i] for i in out_order]
    return ClosedJaxpr(Jaxpr(j.constvars, invars, outvars, j.eqns), closed.consts)


def _join_consts(closeds):
    """Hoist each jaxpr's consts; every jaxpr then takes all of them (leading, in order)."""
    hoisted = [jaxpr_util.hoist_consts(c) for c in closeds]
    all_consts = [c for _, cs in hoisted for c in cs]
    avals = [get_aval(c) for c in all_consts]
    out, start = [], 0
    for h, cs in hoisted:
        n = len(cs)
        body = ClosedJaxpr(Jaxpr([], h.jaxpr.invars[n:], h.jaxpr.outvars, h.jaxpr.eqns), [])
        pre = ClosedJaxpr(Jaxpr([], h.jaxpr.invars[:n], [], []), [])
        widened = _with_invars(body, avals[:start])
        j = widened.jaxpr
        invars = j.invars[:start] + pre.jaxpr.invars + [Var(a) for a in avals[start + n :]]
        out.append(ClosedJaxpr(Jaxpr([], invars + j.invars[start:], j.outvars, j.eqns), []))
        start += n
    return out, all_consts


def _hoist(closed):
    """(jaxpr with consts as leading invars, consts)."""
    (j,), consts = _join_consts([closed])
    return j, consts


def _jvp_jaxpr(closed: ClosedJaxpr, nonzeros, instantiate):
    """(primals, nonzero tangents) -> (outputs, nonzero output tangents), and which are nonzero.

    ``instantiate[i]`` forces a (float) output's tangent to be present.
    """
    key = ("cf_jvp", tuple(nonzeros), tuple(instantiate))
    hit = closed._cache.get(key)
    if hit is not None:
        return hit
    n = len(closed.in_avals)
    t_avals = [ad.tangent_aval(a) for a, nz in zip(closed.in_avals, nonzeros, strict=False) if nz]
    out_nz = []

    def f(*args):
        primals, nz_t = args[:n], iter(args[n:])
        tangents = [
            next(nz_t) if nz else Zero(ad.tangent_aval(a))
            for a, nz in zip(closed.in_avals, nonzeros, strict=False)
        ]
        outs, touts = ad.jvp_flat(
            lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a), primals, tangents
        )
        out_nz[:] = [
            core.is_float(get_aval(o).dtype) and (inst or type(t) is not Zero)
            for o, t, inst in zip(outs, touts, instantiate, strict=False)
        ]
        return list(outs) + [ad.instantiate(t) for t, nz in zip(touts, out_nz, strict=False) if nz]

    jj = pe.trace_to_jaxpr(f, list(closed.in_avals) + t_avals, "jvp")
    hit = closed._cache[key] = (jj, list(out_nz))
    return hit


def _instantiate_zeros(tangents, nonzeros):
    return [ad.instantiate(t) for t, nz in zip(tangents, nonzeros, strict=False) if nz]


def _nonzero(t):
    return type(t) is not Zero


def _zeros(aval):
    return ad.zeros_like_aval(aval)


# ---------------------------------------------------------------------------
# cond / switch


cond_p = Primitive("cond", multiple_results=True)


def _cond_abstract(index, *ops, branches):
    return list(branches[0].out_avals)


def _cond_impl(index, *ops, branches):
    fns = [functools.partial(lowering.replay_closed, b) for b in branches]
    return list(jax.lax.switch(index, fns, *ops))


def _bind_cond(index, branches, ops):
    joined, consts = _join_consts(branches)
    return cond_p.bind(index, *consts, *ops, branches=tuple(joined))


def _cond_jvp(primals, tangents, *, branches):
    index, ops = primals[0], primals[1:]
    nonzeros = [_nonzero(t) for t in tangents[1:]]
    outs_nz = [False] * len(branches[0].out_avals)
    for b in branches:  # a tangent is present if any branch makes one
        _, nz = _jvp_jaxpr(b, nonzeros, [False] * len(outs_nz))
        outs_nz = [a or c for a, c in zip(outs_nz, nz, strict=False)]
    jbranches = [_jvp_jaxpr(b, nonzeros, outs_nz)[0] for b in branches]
    outs = _bind_cond(index, jbranches, [*ops, *_instantiate_zeros(tangents[1:], nonzeros)])
    n = len(outs_nz)
    ts = iter(outs[n:])
    out_t = [
        next(ts) if nz else Zero(ad.tangent_aval(a))
        for nz, a in zip(outs_nz, branches[0].out_avals, strict=False)
    ]
    return outs[:n], out_t


def _is_unknown(trace, x):
    return isinstance(x, pe.JaxprTracer) and x._trace is trace


def _cond_partial_eval(trace, args, params):
    branches = params["branches"]
    index, ops = args[0], args[1:]
    if _is_unknown(trace, index):
        return trace.stage(cond_p, args, params)
    unknowns = [_is_unknown(trace, a) for a in ops]
    out_uk = [False] * len(branches[0].out_avals)
    for b in branches:
        out_uk = [
            x or y for x, y in zip(out_uk, pe.partial_eval_jaxpr(b, unknowns)[2], strict=False)
        ]
    splits = [pe.partial_eval_jaxpr(b, unknowns, instantiate=out_uk) for b in branches]
    res_avals = [list(k.out_avals[len(k.out_avals) - nr :]) for k, _, _, nr in splits]
    all_res = [a for r in res_avals for a in r]
    n_known_out = sum(not u for u in out_uk)
    known_b, unknown_b = [], []
    for i, (known, unknown, _, nr) in enumerate(splits):
        before = sum(len(r) for r in res_avals[:i])
        known_b.append(_pad_residuals(known, n_known_out, before, all_res))
        unknown_b.append(_with_invars_at(unknown, before, all_res, nr))
    known_ops = [a for a, u in zip(ops, unknowns, strict=False) if not u]
    known_outs = core.call_in(trace.parent, _bind_cond, index, known_b, known_ops)
    residuals = known_outs[n_known_out:]
    joined, consts = _join_consts(unknown_b)
    uk_ops = [a for a, u in zip(ops, unknowns, strict=False) if u]
    unknown_outs = iter(
        trace.stage(cond_p, [index, *consts, *residuals, *uk_ops], {"branches": tuple(joined)})
    )
    kv = iter(known_outs[:n_known_out])
    return [next(unknown_outs) if u else next(kv) for u in out_uk]


def _pad_residuals(known: ClosedJaxpr, n_out, before, all_res):
    """Known branch: its outputs, then its residuals between zeros for other branches' ones."""
    nr = len(known.out_avals) - n_out

    def f(*args):
        outs = eval_jaxpr(known.jaxpr, known.consts, *args)
        pre = [_zeros(a) for a in all_res[:before]]
        post = [_zeros(a) for a in all_res[before + nr :]]
        return [*outs[:n_out], *pre, *outs[n_out:], *post]

    return pe.trace_to_jaxpr(f, list(known.in_avals), "partial_eval")


def _with_invars_at(unknown: ClosedJaxpr, before, all_res, nr):
    """Unknown branch taking every branch's residuals, reading only its own."""
    j = unknown.jaxpr
    own, rest = j.invars[:nr], j.invars[nr:]
    pre = [Var(a) for a in all_res[:before]]
    post = [Var(a) for a in all_res[before + nr :]]
    return ClosedJaxpr(
        Jaxpr(j.constvars, pre + own + post + rest, j.outvars, j.eqns), unknown.consts
    )


def _cond_transpose(cts, index, *ops, branches):
    if is_undefined(index):
        raise ValueError("cond: cannot transpose with respect to the branch index")
    linear = [is_undefined(a) for a in ops]
    tbranches = [jaxpr_util.transpose_jaxpr(b, tuple(linear)) for b in branches]
    nonlin = [a for a in ops if not is_undefined(a)]
    outs = iter(_bind_cond(index, tbranches, [*nonlin, *builtins.map(ad.instantiate, cts)]))
    return [None] + [next(outs) if lin else None for lin in linear]


def _cond_batch(axis_size, args, dims, *, branches):
    index, ops = args[0], args[1:]
    idim, op_dims = dims[0], tuple(dims[1:])
    bbranches = [jaxpr_util.batch_jaxpr(b, axis_size, op_dims) for b in branches]
    if idim is None:
        outs = _bind_cond(index, bbranches, ops)
        return outs, [0] * len(outs)
    # A batched predicate: every branch runs and select_n picks per lane (as JAX does).
    index = batching.moveaxis(index, idim, 0)
    per_branch = [eval_jaxpr(b.jaxpr, b.consts, *ops) for b in bbranches]
    outs = []
    for cases in zip(*per_branch, strict=False):
        shape = get_aval(cases[0]).shape
        which = st.broadcast_in_dim(index, shape, (0,)) if len(shape) > 1 else index
        outs.append(ew.select_n(which, *cases))
    return outs, [0] * len(outs)


core.abstract_eval_rules[cond_p] = _cond_abstract
ad.jvp_rules[cond_p] = _cond_jvp
ad.transpose_rules[cond_p] = _cond_transpose
pe.partial_eval_rules[cond_p] = _cond_partial_eval
batching.batch_rules[cond_p] = _cond_batch
lowering.register(cond_p, _cond_impl)


def _trace_branches(branches, ops, what, names):
    flat, in_tree = tree_util.tree_flatten(ops)
    avals = [get_aval(x) for x in flat]
    traced = [_trace(b, in_tree, avals, what) for b in branches]
    out_trees = [t for _, t in traced]
    out_avals = [list(c.out_avals) for c, _ in traced]
    for i in range(1, len(traced)):
        if out_trees[i] != out_trees[0]:
            raise TypeError(
                f"{what}: {names[0]} and {names[i]} outputs must have the same pytree "
                f"structure, got {out_trees[0]} and {out_trees[i]}"
            )
        if not _same_types(out_avals[i], out_avals[0], weak=False):
            raise TypeError(
                f"{what}: {names[0]} and {names[i]} outputs must have identical "
                f"types, got {names[0]} output {_avals_str(out_avals[0])} and "
                f"{names[i]} output {_avals_str(out_avals[i])}"
            )
    if any(not _same_types(o, out_avals[0]) for o in out_avals):
        # Weak types differ: make every branch's outputs strongly typed, as JAX does.
        traced = [_trace(_strong_outputs(b), in_tree, avals, what) for b in branches]
    return [c for c, _ in traced], out_trees[0], flat


def _strong_outputs(fun):
    def f(*args):
        out = fun(*args)
        return tree_util.tree_map(
            lambda x: st.convert_element_type(x, get_aval(x).dtype, weak_type=False), out
        )

    return f


def switch(index, branches, *operands):
    """Apply ``branches[index](*operands)``; the index is clamped to the valid range.

    Args:
      index: an integer scalar (may be traced).
      branches: a sequence of callables with identical output types.
      *operands: the arguments passed to the chosen branch (pytrees).

    Returns:
      The chosen branch's output.

    Example:
      >>> from minigrad_jax._src.lax.control_flow import switch
      >>> float(switch(1, [lambda x: x + 1.0, lambda x: x * 2.0], 3.0))
      6.0
    """
    branches = list(branches)
    if not branches:
        raise ValueError("switch: empty branch sequence")
    if not all(callable(b) for b in branches):
        raise TypeError("switch: branches must be a sequence of callables")
    aval = get_aval(index)
    if aval.shape != () or not jax.numpy.issubdtype(aval.dtype, np.integer):
        raise TypeError(f"switch: index must be a scalar integer, got {aval.str_short()}")
    index = st.convert_element_type(index, np.int32)
    index = ew.clamp(np.int32(0), index, np.int32(len(branches) - 1))
    names = [f"branch {i}" for i in range(len(branches))]
    return _cond_call(index, branches, operands, "switch", names)


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as one primitive.

    Args:
      pred: a boolean (or number) scalar, possibly traced.
      true_fun, false_fun: callables with identical output types.
      *operands: their arguments (pytrees).

    Returns:
      The selected branch's output.

    Example:
      >>> from minigrad_jax._src.lax.control_flow import cond
      >>> float(cond(True, lambda x: x + 1.0, lambda x: x * 2.0, 3.0))
      4.0
    """
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError("cond: true_fun and false_fun arguments must be callable")
    aval = get_aval(pred)
    if aval.shape != ():
        raise TypeError(f"cond: pred must be a scalar, got {aval.str_short()}")
    if aval.dtype != np.bool_:
        pred = ew.ne(pred, st.full((), 0, aval.dtype))
    index = st.convert_element_type(pred, np.int32)
    return _cond_call(index, [false_fun, true_fun], operands, "cond", ["false_fun", "true_fun"])


def _cond_call(index, branches, operands, what, names):
    closeds, out_tree, flat = _trace_branches(branches, operands, what, names)
    outs = _bind_cond(index, closeds, flat)
    return tree_util.tree_unflatten(out_tree, _top(outs))


def _top(outs):
    if not core.is_top_level():
        return list(outs)
    return [o if isinstance(o, jax.Array) else jax.numpy.asarray(o) for o in outs]


# ---------------------------------------------------------------------------
# while


while_p = Primitive("while", multiple_results=True)


def _while_abstract(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    return list(body_jaxpr.out_avals)


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cc = args[:cond_nconsts]
    bc = args[cond_nconsts : cond_nconsts + body_nconsts]
    init = tuple(args[cond_nconsts + body_nconsts :])
    out = jax.lax.while_loop(
        lambda c: lowering.replay_closed(cond_jaxpr, *cc, *c)[0],
        lambda c: tuple(lowering.replay_closed(body_jaxpr, *bc, *c)),
        init,
    )
    return list(out)


def _bind_while(cond_closed, body_closed, cond_consts, body_consts, init):
    cj, cc = _hoist(cond_closed)
    bj, bc = _hoist(body_closed)
    return while_p.bind(
        *cc,
        *cond_consts,
        *bc,
        *body_consts,
        *init,
        cond_jaxpr=cj,
        body_jaxpr=bj,
        cond_nconsts=len(cc) + len(cond_consts),
        body_nconsts=len(bc) + len(body_consts),
    )


def _split_while(args, cond_nconsts, body_nconsts):
    return (
        list(args[:cond_nconsts]),
        list(args[cond_nconsts : cond_nconsts + body_nconsts]),
        list(args[cond_nconsts + body_nconsts :]),
    )


def _while_jvp(primals, tangents, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cc, bc, init = _split_while(primals, cond_nconsts, body_nconsts)
    _, bct, initt = _split_while(tangents, cond_nconsts, body_nconsts)
    bc_nz = [_nonzero(t) for t in bct]
    carry_nz = [_nonzero(t) for t in initt]
    while True:  # fixpoint: which carries get a nonzero tangent
        _, out_nz = _jvp_jaxpr(body_jaxpr, bc_nz + carry_nz, [False] * len(init))
        new = [a or b for a, b in zip(carry_nz, out_nz, strict=False)]
        if new == carry_nz:
            break
        carry_nz = new
    jj, _ = _jvp_jaxpr(body_jaxpr, bc_nz + carry_nz, carry_nz)
    nb, nc, nbt = len(bc), len(init), sum(bc_nz)
    # jvp order (bc, carry, bct, carry_t) -> while order (bc, bct, carry, carry_t)
    order = [
        *range(nb),
        *range(nb + nc, nb + nc + nbt),
        *range(nb, nb + nc),
        *range(nb + nc + nbt, len(jj.in_avals)),
    ]
    body = _permute(jj, order)
    t_avals = [
        ad.tangent_aval(a) for a, nz in zip(body_jaxpr.out_avals, carry_nz, strict=False) if nz
    ]
    cond2 = _with_invars(cond_jaxpr, (), t_avals)
    bt = _instantiate_zeros(bct, bc_nz)
    it = _instantiate_zeros(initt, carry_nz)
    outs = _bind_while(cond2, body, cc, [*bc, *bt], [*init, *it])
    ts = iter(outs[nc:])
    out_t = [
        next(ts) if nz else Zero(ad.tangent_aval(a))
        for nz, a in zip(carry_nz, body_jaxpr.out_avals, strict=False)
    ]
    return outs[:nc], out_t


def _while_partial_eval(trace, args, params):
    """Known carries run in a known loop; the whole loop is also staged for the unknown ones.

    The staged loop cannot be transposed (its trip count is dynamic): grad of it
    raises the error JAX gives, from the transpose rule.
    """
    cj, bj = params["cond_jaxpr"], params["body_jaxpr"]
    ncc, nbc = params["cond_nconsts"], params["body_nconsts"]
    cc, bc, init = _split_while(args, ncc, nbc)
    unknowns = [_is_unknown(trace, a) for a in args]
    cc_uk, bc_uk, carry_uk = _split_while(unknowns, ncc, nbc)
    while True:
        out_uk = pe.partial_eval_jaxpr(bj, bc_uk + carry_uk)[2]
        new = [a or b for a, b in zip(carry_uk, out_uk, strict=False)]
        if new == carry_uk:
            break
        carry_uk = new
    staged = trace.stage(while_p, args, params)
    cond_used = pe.dce_jaxpr(cj.jaxpr, prune_invars=True)[1]
    cond_uk = any(u and used for u, used in zip(cc_uk + carry_uk, cond_used, strict=False))
    if cond_uk or all(carry_uk):
        return staged
    known_body = _known_while_body(bj, bc_uk + carry_uk, carry_uk)
    known_cond = _drop_invars(cj, cc_uk + carry_uk)
    kcc = [a for a, u in zip(cc, cc_uk, strict=False) if not u]
    kbc = [a for a, u in zip(bc, bc_uk, strict=False) if not u]
    kinit = [a for a, u in zip(init, carry_uk, strict=False) if not u]
    kouts = iter(core.call_in(trace.parent, _bind_while, known_cond, known_body, kcc, kbc, kinit))
    return [s if u else next(kouts) for s, u in zip(staged, carry_uk, strict=False)]


def _known_while_body(bj, unknowns, carry_uk):
    known, _, _, _ = pe.partial_eval_jaxpr(bj, unknowns, instantiate=carry_uk)
    n = sum(not u for u in carry_uk)
    j = pe.dce_jaxpr(known.jaxpr, [True] * n + [False] * (len(known.out_avals) - n))
    return ClosedJaxpr(j, known.consts)


def _drop_invars(closed, drop):
    j = closed.jaxpr
    invars = [v for v, d in zip(j.invars, drop, strict=False) if not d]
    return ClosedJaxpr(Jaxpr(j.constvars, invars, j.outvars, j.eqns), closed.consts)


def _while_transpose(cts, *args, **params):
    raise ValueError(_WHILE_GRAD_ERROR)


def _while_batch(axis_size, args, dims, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cc, bc, init = _split_while(args, cond_nconsts, body_nconsts)
    ccd, bcd, _ = _split_while(dims, cond_nconsts, body_nconsts)
    # Every carry is batched (simple and always correct; unbatched ones are broadcast).
    init = [
        batching.bdim_at_front(x, d, axis_size)
        for x, d in zip(init, dims[len(cc) + len(bc) :], strict=False)
    ]
    carry_dims = (0,) * len(init)
    pred_batched = _pred_batched(cond_jaxpr, axis_size, tuple(ccd) + carry_dims)
    bbody = jaxpr_util.batch_jaxpr(body_jaxpr, axis_size, tuple(bcd) + carry_dims)
    if not pred_batched:
        bcond = _batch_keep_dims(cond_jaxpr, axis_size, tuple(ccd) + carry_dims)
        outs = _bind_while(bcond, bbody, cc, bc, init)
        return outs, [0] * len(outs)
    bcond = jaxpr_util.batch_jaxpr(cond_jaxpr, axis_size, tuple(ccd) + carry_dims)
    nc = len(cc)
    avals = [get_aval(x) for x in [*cc, *bc, *init]]

    def any_cond(*a):  # run while any lane's predicate holds
        (p,) = eval_jaxpr(bcond.jaxpr, bcond.consts, *a[:nc], *a[nc + len(bc) :])
        n = red.reduce_sum(st.convert_element_type(p, np.int32), (0,))
        return [ew.gt(n, np.int32(0))]

    def body(*a):  # finished lanes keep their carry
        carry = a[nc + len(bc) :]
        (p,) = eval_jaxpr(bcond.jaxpr, bcond.consts, *a[:nc], *carry)
        new = eval_jaxpr(bbody.jaxpr, bbody.consts, *a[nc : nc + len(bc)], *carry)
        return [_select_lanes(p, n, o) for n, o in zip(new, carry, strict=False)]

    c2 = pe.trace_to_jaxpr(any_cond, avals, "vmap")
    b2 = pe.trace_to_jaxpr(body, avals, "vmap")
    outs = _bind_while(c2, b2, [*cc, *bc], [*cc, *bc], init)
    return outs, [0] * len(outs)


def _select_lanes(pred, new, old):
    shape = get_aval(new).shape
    which = st.broadcast_in_dim(pred, shape, (0,)) if len(shape) > 1 else pred
    return ew.select_n(which, old, new)


def _pred_batched(closed, axis_size, in_dims):
    avals = [
        jaxpr_util.batched_aval(a, d, axis_size)
        for a, d in zip(closed.in_avals, in_dims, strict=False)
    ]
    found = []

    def f(*args):
        outs, dims = batching.vmap_flat(
            lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a), args, in_dims, axis_size
        )
        found.append(dims[0] is not None)
        return outs

    pe.trace_to_jaxpr(f, avals, "vmap")
    return found[0]


def _batch_keep_dims(closed, axis_size, in_dims):
    """Batch a jaxpr whose outputs stay unmapped (an unbatched predicate)."""
    avals = [
        jaxpr_util.batched_aval(a, d, axis_size)
        for a, d in zip(closed.in_avals, in_dims, strict=False)
    ]

    def f(*args):
        return batching.vmap_flat(
            lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a), args, in_dims, axis_size
        )[0]

    return pe.trace_to_jaxpr(f, avals, "vmap")


core.abstract_eval_rules[while_p] = _while_abstract
ad.jvp_rules[while_p] = _while_jvp
ad.transpose_rules[while_p] = _while_transpose
pe.partial_eval_rules[while_p] = _while_partial_eval
batching.batch_rules[while_p] = _while_batch
lowering.register(while_p, _while_impl)


def while_loop(cond_fun, body_fun, init_val):
    """Repeat ``val = body_fun(val)`` while ``cond_fun(val)``; lowered to an XLA while.

    Forward-mode differentiable and batchable; reverse mode raises (as in JAX).

    Example:
      >>> from minigrad_jax._src.lax import elementwise as ew
      >>> from minigrad_jax._src.lax.control_flow import while_loop
      >>> float(while_loop(lambda x: ew.lt(x, 10.0), lambda x: x * 2.0, 1.0))
      16.0
    """
    if not (callable(cond_fun) and callable(body_fun)):
        raise TypeError("while_loop: cond_fun and body_fun must be callable")
    flat, in_tree = tree_util.tree_flatten(init_val)
    avals = [get_aval(x) for x in flat]
    body, flat, avals, _ = _trace_carry(
        body_fun,
        in_tree,
        flat,
        avals,
        "while_loop body_fun",
        lambda *a: a,
        lambda o: (o, None),
        extra_tree=lambda t: tree_util.tree_structure((init_val,)),
    )
    args_tree = tree_util.tree_structure((init_val,))
    cond_closed, _ = _trace(cond_fun, args_tree, avals, "while_loop cond_fun")
    outs = cond_closed.out_avals
    if len(outs) != 1 or outs[0].shape != () or outs[0].dtype != np.bool_:
        raise TypeError(
            "while_loop: cond_fun must return a boolean scalar, but got output type(s) "
            f"{_avals_str(outs)}"
        )
    out = _bind_while(cond_closed, body, [], [], flat)
    return tree_util.tree_unflatten(in_tree, _top(out))


def _trace_carry(
    fun, in_tree, flat, avals, what, make_args, split_out, extra_avals=(), extra_tree=None
):
    """Trace a loop body whose carry out must match carry in; retrace once for weak types."""
    for _ in range(2):
        full_avals = [*avals, *extra_avals]
        tree = in_tree if extra_tree is None else extra_tree(in_tree)
        closed, out_tree = _trace(lambda *a: fun(*make_args(*a)), tree, full_avals, what)
        n = len(avals)
        carry_tree = _carry_tree(out_tree, split_out, n)
        out_avals = list(closed.out_avals[:n])
        if carry_tree != in_tree:
            raise TypeError(
                f"{what}: the carry output must have the same pytree structure as "
                f"the carry input, got {carry_tree} and {in_tree}"
            )
        if not _same_types(out_avals, avals, weak=False):
            raise TypeError(
                f"{what}: the carry output and carry input must have equal types; "
                f"the input carry is {_avals_str(avals)} but the output carry is "
                f"{_avals_str(out_avals)}"
            )
        if _same_types(out_avals, avals):
            return closed, flat, avals, out_tree
        # JAX promotes a weakly typed carry to the body's strong output type.
        flat = [
            st.convert_element_type(x, a.dtype, weak_type=False)
            if a.weak_type != o.weak_type
            else x
            for x, a, o in zip(flat, avals, out_avals, strict=False)
        ]
        avals = [get_aval(x) for x in flat]
    return closed, flat, avals, out_tree


def _carry_tree(out_tree, split_out, n):
    dummy = tree_util.tree_unflatten(out_tree, [0] * out_tree.num_leaves)
    carry, _ = split_out(dummy)
    return tree_util.tree_structure(carry)


# ---------------------------------------------------------------------------
# scan


scan_p = Primitive("scan", multiple_results=True)


def _scan_abstract(*args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    outs = jaxpr.out_avals
    ys = [ShapedArray((length, *a.shape), a.dtype, a.weak_type) for a in outs[num_carry:]]
    return [*outs[:num_carry], *ys]


def _scan_impl(*args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    consts = args[:num_consts]
    init = tuple(args[num_consts : num_consts + num_carry])
    xs = tuple(args[num_consts + num_carry :])

    def body(c, x):
        outs = lowering.replay_closed(jaxpr, *consts, *c, *x)
        return tuple(outs[:num_carry]), tuple(outs[num_carry:])

    c, ys = jax.lax.scan(body, init, xs, length=length, reverse=reverse, unroll=unroll)
    return [*c, *ys]


def _bind_scan(closed, consts, init, xs, *, length, reverse, unroll):
    hj, hc = _hoist(closed)
    return scan_p.bind(
        *hc,
        *consts,
        *init,
        *xs,
        jaxpr=hj,
        length=length,
        reverse=reverse,
        num_consts=len(hc) + len(consts),
        num_carry=len(init),
        unroll=unroll,
    )


def _split_scan(args, num_consts, num_carry):
    return (
        list(args[:num_consts]),
        list(args[num_consts : num_consts + num_carry]),
        list(args[num_consts + num_carry :]),
    )


def _scan_jvp(primals, tangents, *, jaxpr, length, reverse, num_consts, num_carry, unroll):
    consts, init, xs = _split_scan(primals, num_consts, num_carry)
    ct, it, xt = _split_scan(tangents, num_consts, num_carry)
    c_nz, carry_nz, x_nz = ([_nonzero(t) for t in g] for g in (ct, it, xt))
    n_out = len(jaxpr.out_avals)
    while True:
        _, out_nz = _jvp_jaxpr(jaxpr, c_nz + carry_nz + x_nz, [False] * n_out)
        new = [a or b for a, b in zip(carry_nz, out_nz[:num_carry], strict=False)]
        if new == carry_nz:
            break
        carry_nz = new
    inst = carry_nz + [False] * (n_out - num_carry)
    jj, out_nz = _jvp_jaxpr(jaxpr, c_nz + carry_nz + x_nz, inst)
    nc, nk, nx = len(consts), len(init), len(xs)
    nct, nkt = sum(c_nz), sum(carry_nz)
    t0 = nc + nk + nx
    in_order = [
        *range(nc),
        *range(t0, t0 + nct),
        *range(nc, nc + nk),
        *range(t0 + nct, t0 + nct + nkt),
        *range(nc + nk, t0),
        *range(t0 + nct + nkt, len(jj.in_avals)),
    ]
    ys_nz = out_nz[num_carry:]
    nyt = sum(ys_nz)
    ny = n_out - num_carry
    out_order = [
        *range(num_carry),
        *range(n_out, n_out + nkt),
        *range(num_carry, n_out),
        *range(n_out + nkt, n_out + nkt + nyt),
    ]
    body = _permute(jj, in_order, out_order)
    outs = _bind_scan(
        body,
        [*consts, *_instantiate_zeros(ct, c_nz)],
        [*init, *_instantiate_zeros(it, carry_nz)],
        [*xs, *_instantiate_zeros(xt, x_nz)],
        length=length,
        reverse=reverse,
        unroll=unroll,
    )
    carry_out, carry_t = outs[:nk], iter(outs[nk : nk + nkt])
    ys, ys_t = outs[nk + nkt : nk + nkt + ny], iter(outs[nk + nkt + ny :])
    avals = _scan_abstract(
        jaxpr=jaxpr,
        length=length,
        reverse=reverse,
        num_consts=num_consts,
        num_carry=num_carry,
        unroll=unroll,
    )
    tangents_out = [
        next(carry_t) if nz else Zero(ad.tangent_aval(a))
        for nz, a in zip(carry_nz, avals[:nk], strict=False)
    ]
    tangents_out += [
        next(ys_t) if nz else Zero(ad.tangent_aval(a))
        for nz, a in zip(ys_nz, avals[nk:], strict=False)
    ]
    return [*carry_out, *ys], tangents_out


def _scan_partial_eval(trace, args, params):
    jaxpr, num_consts, num_carry = params["jaxpr"], params["num_consts"], params["num_carry"]
    length, reverse, unroll = params["length"], params["reverse"], params["unroll"]
    unknowns = [_is_unknown(trace, a) for a in args]
    c_uk, carry_uk, x_uk = _split_scan(unknowns, num_consts, num_carry)
    while True:
        out_uk = pe.partial_eval_jaxpr(jaxpr, c_uk + carry_uk + x_uk)[2]
        new = [a or b for a, b in zip(carry_uk, out_uk[:num_carry], strict=False)]
        if new == carry_uk:
            break
        carry_uk = new
    n_out = len(jaxpr.out_avals)
    inst = carry_uk + [False] * (n_out - num_carry)
    known, unknown, out_uk, nres = pe.partial_eval_jaxpr(jaxpr, c_uk + carry_uk + x_uk, inst)
    consts, init, xs = _split_scan(args, num_consts, num_carry)
    # Loop-carried inputs that were known but become unknown are instantiated.
    init = [
        _instantiate_unknown(trace, a) if u and not _is_unknown(trace, a) else a
        for a, u in zip(init, carry_uk, strict=False)
    ]
    kc = [a for a, u in zip(consts, c_uk, strict=False) if not u]
    ki = [a for a, u in zip(init, carry_uk, strict=False) if not u]
    kx = [a for a, u in zip(xs, x_uk, strict=False) if not u]
    # known body: (kc, ki, kx) -> (known carry, known ys, residuals as extra ys)
    kouts = core.call_in(
        trace.parent, _bind_scan, known, kc, ki, kx, length=length, reverse=reverse, unroll=unroll
    )
    n_known_out = len(known.out_avals) - nres
    res = kouts[n_known_out:]
    # unknown body: (res, uc, ui, ux) -> reorder to (uc, ui, res, ux)
    nuc, nui = sum(c_uk), sum(carry_uk)
    nux = len(unknown.in_avals) - nres - nuc - nui
    order = [
        *range(nres, nres + nuc + nui),
        *range(nres),
        *range(nres + nuc + nui, nres + nuc + nui + nux),
    ]
    ubody = _permute(unknown, order)
    uc = [a for a, u in zip(consts, c_uk, strict=False) if u]
    ui = [a for a, u in zip(init, carry_uk, strict=False) if u]
    ux = [a for a, u in zip(xs, x_uk, strict=False) if u]
    hj, hc = _hoist(ubody)
    staged = trace.stage(
        scan_p,
        [*hc, *uc, *ui, *res, *ux],
        dict(
            jaxpr=hj,
            length=length,
            reverse=reverse,
            unroll=unroll,
            num_consts=len(hc) + nuc,
            num_carry=nui,
        ),
    )
    staged, kvals = iter(staged), iter(kouts[:n_known_out])
    return [next(staged) if u else next(kvals) for u in out_uk]


def _instantiate_unknown(trace, x):
    return pe._force_unknown(trace, x)


def _scan_transpose(cts, *args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    consts, init, xs = _split_scan(args, num_consts, num_carry)
    c_lin = [is_undefined(a) for a in consts]
    x_lin = [is_undefined(a) for a in xs]
    # Every carry is treated as linear (a known one is an instantiated zero tangent).
    init_lin = [is_undefined(a) for a in init]
    ct_carry = [ad.instantiate(c) for c in cts[:num_carry]]
    ct_ys = [ad.instantiate(c) for c in cts[num_carry:]]
    linear = tuple(c_lin + [True] * num_carry + x_lin)
    tj = jaxpr_util.transpose_jaxpr(jaxpr, linear)
    nl_consts = [a for a in consts if not is_undefined(a)]
    nl_xs = [a for a in xs if not is_undefined(a)]
    lin_c_avals = [a.aval for a in consts if is_undefined(a)]
    ct_carry = [
        ad.instantiate(c) if type(c) is not Zero else _zeros(get_aval_or(a))
        for c, a in zip(cts[:num_carry], init, strict=False)
    ]
    nnc, nlc, nnx = len(nl_consts), len(lin_c_avals), len(nl_xs)

    def body(*a):  # (nl consts, ct consts acc, ct carry, nl xs, ct ys)
        ncs, acc = a[:nnc], a[nnc : nnc + nlc]
        ctc = a[nnc + nlc : nnc + nlc + num_carry]
        nxs, cty = (
            a[nnc + nlc + num_carry : nnc + nlc + num_carry + nnx],
            a[nnc + nlc + num_carry + nnx :],
        )
        outs = eval_jaxpr(tj.jaxpr, tj.consts, *ncs, *nxs, *ctc, *cty)
        ct_c, ct_k, ct_x = outs[:nlc], outs[nlc : nlc + num_carry], outs[nlc + num_carry :]
        return [*builtins.map(_acc, acc, ct_c), *ct_k, *ct_x]

    # transpose_jaxpr takes non-linear inputs in their original order: (nl consts, nl xs).
    x_avals = [
        ShapedArray(get_aval(a).shape[1:], get_aval(a).dtype, get_aval(a).weak_type) for a in nl_xs
    ]
    ct_y_avals = [
        ShapedArray(get_aval(c).shape[1:], get_aval(c).dtype, get_aval(c).weak_type) for c in ct_ys
    ]
    avals = [
        *builtins.map(get_aval, nl_consts),
        *lin_c_avals,
        *builtins.map(get_aval, ct_carry),
        *x_avals,
        *ct_y_avals,
    ]
    tbody = pe.trace_to_jaxpr(body, avals, "transpose")
    acc0 = [_zeros(a) for a in lin_c_avals]
    outs = _bind_scan(
        tbody,
        nl_consts,
        [*acc0, *ct_carry],
        [*nl_xs, *ct_ys],
        length=length,
        reverse=not reverse,
        unroll=unroll,
    )
    ct_consts, ct_init, ct_xs = (
        iter(outs[:nlc]),
        outs[nlc : nlc + num_carry],
        iter(outs[nlc + num_carry :]),
    )
    return (
        [next(ct_consts) if lin else None for lin in c_lin]
        + [c if lin else None for c, lin in zip(ct_init, init_lin, strict=False)]
        + [next(ct_xs) if lin else None for lin in x_lin]
    )


def _acc(acc, ct):
    # ew.add rather than add_any: add_any's shape rule ignores lax's scalar broadcasting,
    # which its batching rule relies on (an unmapped scalar beside a mapped array).
    return acc if type(ct) is Zero else ew.add(acc, ct)


def get_aval_or(x):
    return x.aval if is_undefined(x) else get_aval(x)


def _scan_batch(axis_size, args, dims, *, jaxpr, length, reverse, num_consts, num_carry, unroll):
    consts, init, xs = _split_scan(args, num_consts, num_carry)
    cd, _, xd = _split_scan(dims, num_consts, num_carry)
    init = [
        batching.bdim_at_front(x, d, axis_size)
        for x, d in zip(init, dims[num_consts : num_consts + num_carry], strict=False)
    ]
    xs = [x if d is None else batching.moveaxis(x, d, 1) for x, d in zip(xs, xd, strict=False)]
    body_dims = (*cd, *(0,) * num_carry, *(None if d is None else 0 for d in xd))
    bj = jaxpr_util.batch_jaxpr(jaxpr, axis_size, body_dims)
    outs = _bind_scan(bj, consts, init, xs, length=length, reverse=reverse, unroll=unroll)
    return outs, [0] * num_carry + [1] * (len(outs) - num_carry)


core.abstract_eval_rules[scan_p] = _scan_abstract
ad.jvp_rules[scan_p] = _scan_jvp
ad.transpose_rules[scan_p] = _scan_transpose
pe.partial_eval_rules[scan_p] = _scan_partial_eval
batching.batch_rules[scan_p] = _scan_batch
lowering.register(scan_p, _scan_impl)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``, stacking the ys.

    Args:
      f: ``(carry, x) -> (carry, y)``; pytrees; the carry keeps its type.
      init: the initial carry.
      xs: a pytree of arrays scanned along axis 0 (or None with ``length``).
      length: the trip count when ``xs`` is None (checked against ``xs`` otherwise).
      reverse: scan from the end.
      unroll: passed to XLA's loop (an int or bool).

    Returns:
      ``(final carry, stacked ys)``.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax._src.lax.control_flow import scan
      >>> scan(lambda c, x: (c + x, c), 0.0, np.arange(3.0, dtype=np.float32))[0]
      Array(3., dtype=float32)
    """
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {type(f).__name__}")
    flat_xs, xs_tree = tree_util.tree_flatten(xs)
    x_avals = [get_aval(x) for x in flat_xs]
    if any(a.ndim == 0 for a in x_avals):
        raise ValueError("scan got value with no leading axis to scan over: " + _avals_str(x_avals))
    lengths = {a.shape[0] for a in x_avals}
    if length is not None:
        length = operator.index(length)
        lengths.add(length)
    if len(lengths) != 1:
        msg = (
            "scan got no values to scan over and `length` not provided"
            if not lengths
            else (
                "scan got values with different leading axis sizes: "
                + ", ".join(str(a.shape[0]) for a in x_avals)
                + ("" if length is None else f" and length={length}")
            )
        )
        raise ValueError(msg)
    (length,) = lengths
    flat_init, init_tree = tree_util.tree_flatten(init)
    init_avals = [get_aval(x) for x in flat_init]
    slice_avals = [ShapedArray(a.shape[1:], a.dtype, a.weak_type) for a in x_avals]
    nx = len(flat_xs)

    def make_args(*a):
        n = len(a) - nx
        return (
            tree_util.tree_unflatten(init_tree, a[:n]),
            tree_util.tree_unflatten(xs_tree, a[n:]),
        )

    def split_out(o):
        if not isinstance(o, tuple) or len(o) != 2:
            raise TypeError(f"scan body output must be a pair (carry, y), got {type(o).__name__}")
        return o

    closed, flat_init, init_avals, full_tree = _trace_carry(
        lambda *a: split_out(f(*a)),
        init_tree,
        flat_init,
        init_avals,
        "scan body",
        make_args,
        split_out,
        slice_avals,
        lambda t: tree_util.tree_structure((0,) * t.num_leaves + (0,) * nx),
    )
    dummy = tree_util.tree_unflatten(full_tree, [0] * full_tree.num_leaves)
    out_tree = tree_util.tree_structure(dummy[1])
    outs = _bind_scan(
        closed, [], flat_init, flat_xs, length=length, reverse=bool(reverse), unroll=unroll
    )
    outs = _top(outs)
    n = len(flat_init)
    return (
        tree_util.tree_unflatten(init_tree, outs[:n]),
        tree_util.tree_unflatten(out_tree, outs[n:]),
    )


def map(f, xs):  # noqa: A001
    """``stack([f(x) for x in xs])`` as a scan (sequential, compiled once).

    Example:
      >>> import numpy as np
      >>> from minigrad_jax._src.lax.control_flow import map
      >>> map(lambda x: x * 2.0, np.arange(3.0, dtype=np.float32))
      Array([0., 2., 4.], dtype=float32)
    """
    _, ys = scan(lambda c, x: (c, f(x)), (), xs)
    return ys


# ---------------------------------------------------------------------------
# fori_loop


def _static_int(x):
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x)
    return None


def fori_loop(lower, upper, body_fun, init_val, *, unroll=None):
    """``for i in range(lower, upper): val = body_fun(i, val)``.

    With Python/numpy int bounds this is a scan (so reverse-mode differentiable);
    with traced bounds a while_loop.

    Example:
      >>> from minigrad_jax._src.lax.control_flow import fori_loop
      >>> float(fori_loop(0, 3, lambda i, x: x * 2.0, 1.0))
      8.0
    """
    lo, hi = _static_int(lower), _static_int(upper)
    if lo is not None and hi is not None:
        start = np.int32(lo)

        def step(carry, _):
            i, x = carry
            return (ew.add(i, np.int32(1)), body_fun(i, x)), None

        (_, out), _ = scan(
            step,
            (start, init_val),
            None,
            length=max(hi - lo, 0),
            unroll=1 if unroll is None else unroll,
        )
        return out
    lower = st.convert_element_type(lower, np.int32)
    upper = st.convert_element_type(upper, np.int32)

    def body(c):
        i, u, x = c
        return ew.add(i, np.int32(1)), u, body_fun(i, x)

    _, _, out = while_loop(lambda c: ew.lt(c[0], c[1]), body, (lower, upper, init_val))
    return out
