"""while_loop, fori_loop, scan and map: the while and scan primitives and their rules.

``while{cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts}`` takes
(cond consts, body consts, carry); ``scan{jaxpr, length, reverse, num_consts,
num_carry, unroll}`` takes (consts, carry, xs) and its body maps
(consts, carry, x) to (carry, y). The operand groups are named with
``jaxpr_util.Groups``. Facts that travel around the loop (a carry has a
tangent, is unknown, is batched, is used) are found with ``fixpoint``.
"""

from __future__ import annotations

import operator

import jax
import numpy as np
from jax import tree_util

from minigrad_jax._src import core, dtypes
from minigrad_jax._src.core import Primitive, ShapedArray, get_aval
from minigrad_jax._src.interpreters import ad, batching, debug_nans, higher_order, lowering
from minigrad_jax._src.interpreters import jaxpr_util as ju
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.interpreters.jaxpr_util import Groups, fixpoint, merge, select
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr, Var, eval_jaxpr, jaxpr_has_effects
from minigrad_jax._src.lax import base
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import reductions as red
from minigrad_jax._src.lax import structural as st
from minigrad_jax._src.lax.control_flow.common import avals_str, same_types, trace_fun
from minigrad_jax._src.traceback_util import api_boundary

WHILE_GRAD_ERROR = (
    "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with "
    "dynamic start/stop values. Try using lax.scan, or lax.fori_loop with constant start/stop."
)


def _dims(flags):
    return [0 if f else None for f in flags]


def _not(flags):
    return [not f for f in flags]


# ---------------------------------------------------------------------------
# while

while_p = Primitive("while", multiple_results=True)


def _while_groups(cond_nconsts, body_nconsts, n):
    return Groups(cc=cond_nconsts, bc=body_nconsts, carry=n - cond_nconsts - body_nconsts)


def _while_abstract(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    return list(body_jaxpr.out_avals)


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    g = _while_groups(cond_nconsts, body_nconsts, len(args)).split(args)
    out = jax.lax.while_loop(
        lambda c: lowering.replay_closed(cond_jaxpr, *g["cc"], *c)[0],
        lambda c: tuple(lowering.replay_closed(body_jaxpr, *g["bc"], *c)),
        tuple(g["carry"]),
    )
    return list(out)


def bind_while(cond_closed, body_closed, cond_consts, body_consts, init):
    cj, cc = ju.hoist_consts(cond_closed)
    bj, bc = ju.hoist_consts(body_closed)
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


def _while_jvp(primals, tangents, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    groups = _while_groups(cond_nconsts, body_nconsts, len(primals))
    p, t = groups.split(primals), groups.split(tangents)
    bc_nz, bct = ju.nonzero_tangents(t["bc"])
    carry_nz = fixpoint(
        lambda nz: ju.jvp_out_nonzeros(body_jaxpr, bc_nz + nz), ju.nonzero_tangents(t["carry"])[0]
    )
    jj, _ = ju.jvp_jaxpr(body_jaxpr, bc_nz + carry_nz, carry_nz)
    carry_t = [ad.instantiate(x) for x, nz in zip(t["carry"], carry_nz) if nz]
    layout = Groups(bc=len(p["bc"]), carry=len(p["carry"]), bct=len(bct), carryt=len(carry_t))
    body = ju.permute(jj, layout.order(["bc", "bct", "carry", "carryt"]))
    cond = ju.with_invars(cond_jaxpr, (), [get_aval(x) for x in carry_t])
    outs = bind_while(cond, body, p["cc"], [*p["bc"], *bct], [*p["carry"], *carry_t])
    n = len(p["carry"])
    return outs[:n], ju.tangents_out(carry_nz, outs[n:], body_jaxpr.out_avals)


def _while_partial_eval(trace, args, params):
    """Known carries run in a known loop; the whole loop is also staged for the unknown ones.

    The staged loop cannot be transposed (its trip count is dynamic): grad of it
    raises the error JAX gives, from the transpose rule.
    """
    cj, bj = params["cond_jaxpr"], params["body_jaxpr"]
    groups = _while_groups(params["cond_nconsts"], params["body_nconsts"], len(args))
    a = groups.split(args)
    uk = groups.split([pe.is_unknown(trace, x) for x in args])
    carry_uk = fixpoint(lambda u: ju.out_unknowns(bj, uk["bc"] + u), uk["carry"])
    staged = trace.stage(while_p, args, params)
    cond_used = ju.dce_jaxpr(cj, [True])[1]
    cond_uk = any(u and used for u, used in zip(uk["cc"] + carry_uk, cond_used))
    if cond_uk or all(carry_uk):
        return staged
    known, _, _, _ = ju.partial_eval_jaxpr(bj, uk["bc"] + carry_uk, carry_uk)
    n_known = sum(_not(carry_uk))
    known_body, _ = ju.dce_jaxpr(
        known, [True] * n_known + [False] * (len(known.out_avals) - n_known), False
    )
    known_cond = ju.drop_invars(cj, uk["cc"] + carry_uk)
    known_outs = core.call_in(
        trace.parent,
        bind_while,
        known_cond,
        known_body,
        select(a["cc"], uk["cc"], False),
        select(a["bc"], uk["bc"], False),
        select(a["carry"], carry_uk, False),
    )
    return merge(carry_uk, select(staged, carry_uk), known_outs)


def _while_transpose(cts, *args, **params):
    raise ValueError(WHILE_GRAD_ERROR)


def _while_batch(axis_size, args, dims, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    groups = _while_groups(cond_nconsts, body_nconsts, len(args))
    a, d = groups.split(args), groups.split(dims)

    def body_batched(carry_b):
        return ju.batch_jaxpr(body_jaxpr, axis_size, d["bc"] + _dims(carry_b))[1]

    carry_b = fixpoint(body_batched, [x is not None for x in d["carry"]])
    pred_b = ju.batch_jaxpr(cond_jaxpr, axis_size, d["cc"] + _dims(carry_b))[1][0]
    if pred_b:  # lanes finish at different times: every carry needs its own lanes
        carry_b = [True] * len(carry_b)
    init = [
        batching.matchaxis(x, xd, 0, axis_size) if b else x
        for x, xd, b in zip(a["carry"], d["carry"], carry_b)
    ]
    carry_dims = _dims(carry_b)
    bbody, _ = ju.batch_jaxpr(body_jaxpr, axis_size, d["bc"] + carry_dims, carry_b)
    bcond, _ = ju.batch_jaxpr(cond_jaxpr, axis_size, d["cc"] + carry_dims)
    if not pred_b:
        return bind_while(bcond, bbody, a["cc"], a["bc"], init), carry_dims
    return _while_any_lane(bcond, bbody, a["cc"], a["bc"], init), carry_dims


def _while_any_lane(bcond, bbody, cc, bc, init):
    """Run while any lane's predicate holds; finished lanes keep their carry."""
    layout = Groups(cc=len(cc), bc=len(bc), carry=len(init))
    avals = [get_aval(x) for x in [*cc, *bc, *init]]

    def any_cond(*args):
        g = layout.split(args)
        (p,) = eval_jaxpr(bcond.jaxpr, bcond.consts, *g["cc"], *g["carry"])
        n = red.reduce_sum(st.convert_element_type(p, np.int32), (0,))
        return [ew.gt(n, np.int32(0))]

    def body(*args):
        g = layout.split(args)
        (p,) = eval_jaxpr(bcond.jaxpr, bcond.consts, *g["cc"], *g["carry"])
        new = eval_jaxpr(bbody.jaxpr, bbody.consts, *g["bc"], *g["carry"])
        return [_select_lanes(p, n, o) for n, o in zip(new, g["carry"])]

    c2 = pe.trace_to_jaxpr(any_cond, avals, "vmap")
    b2 = pe.trace_to_jaxpr(body, avals, "vmap")
    return bind_while(c2, b2, [*cc, *bc], [*cc, *bc], init)


def _select_lanes(pred, new, old):
    if new is old:  # a carry the body hands back unchanged
        return old
    shape = get_aval(new).shape
    which = st.broadcast_in_dim(pred, shape, (0,)) if len(shape) > 1 else pred
    return ew.select_n(which, old, new)


def _while_dce(used_outputs, eqn):
    p = eqn.params
    cj, bj = p["cond_jaxpr"], p["body_jaxpr"]
    groups = _while_groups(p["cond_nconsts"], p["body_nconsts"], len(eqn.invars))
    nbc = p["body_nconsts"]
    cond_uses = ju.dce_jaxpr(cj, [True])[1]
    cc_used, cond_carry = cond_uses[: p["cond_nconsts"]], cond_uses[p["cond_nconsts"] :]
    start = [u or c for u, c in zip(used_outputs, cond_carry)]
    used = fixpoint(lambda u: ju.dce_jaxpr(bj, u, False)[1][nbc:], start)
    body, body_in = ju.dce_jaxpr(bj, used, False)
    bc_used = body_in[:nbc]
    new_body = ju.drop_invars(body, _not(bc_used + used))
    new_cond = ju.drop_invars(cj, _not(cc_used + used))
    v = groups.split(eqn.invars)
    new = eqn.replace(
        invars=[*select(v["cc"], cc_used), *select(v["bc"], bc_used), *select(v["carry"], used)],
        outvars=select(eqn.outvars, used),
        params=dict(
            p,
            cond_jaxpr=new_cond,
            body_jaxpr=new_body,
            cond_nconsts=sum(cc_used),
            body_nconsts=sum(bc_used),
        ),
    )
    return [*cc_used, *bc_used, *used], new


def _while_deopt(args, params):
    g = _while_groups(params["cond_nconsts"], params["body_nconsts"], len(args)).split(args)
    carry, i = g["carry"], 0
    while bool(debug_nans.eval_deopt(params["cond_jaxpr"], [*g["cc"], *carry])[0]):
        with debug_nans.Where(f"iteration {i} of while"):
            carry = debug_nans.eval_deopt(params["body_jaxpr"], [*g["bc"], *carry])
        i += 1


higher_order.register(
    while_p,
    abstract_eval=_while_abstract,
    jvp=_while_jvp,
    transpose=_while_transpose,
    partial_eval=_while_partial_eval,
    dce=_while_dce,
    batch=_while_batch,
    lower=_while_impl,
    deopt=_while_deopt,
)


# ---------------------------------------------------------------------------
# scan

scan_p = Primitive("scan", multiple_results=True)


def _scan_groups(num_consts, num_carry, n):
    return Groups(consts=num_consts, carry=num_carry, xs=n - num_consts - num_carry)


def _scan_abstract(*args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    outs = jaxpr.out_avals
    ys = [ShapedArray((length, *a.shape), a.dtype, a.weak_type) for a in outs[num_carry:]]
    return [*outs[:num_carry], *ys]


def _scan_impl(*args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    g = _scan_groups(num_consts, num_carry, len(args)).split(args)

    def body(c, x):
        outs = lowering.replay_closed(jaxpr, *g["consts"], *c, *x)
        return tuple(outs[:num_carry]), tuple(outs[num_carry:])

    c, ys = jax.lax.scan(
        body, tuple(g["carry"]), tuple(g["xs"]), length=length, reverse=reverse, unroll=unroll
    )
    return [*c, *ys]


def bind_scan(closed, consts, init, xs, *, length, reverse, unroll):
    hj, hc = ju.hoist_consts(closed)
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


def _scan_jvp(primals, tangents, *, jaxpr, length, reverse, num_consts, num_carry, unroll):
    groups = _scan_groups(num_consts, num_carry, len(primals))
    p, t = groups.split(primals), groups.split(tangents)
    c_nz, ct = ju.nonzero_tangents(t["consts"])
    x_nz, xt = ju.nonzero_tangents(t["xs"])
    n_ys = len(jaxpr.out_avals) - num_carry
    carry_nz = fixpoint(
        lambda nz: ju.jvp_out_nonzeros(jaxpr, c_nz + nz + x_nz)[:num_carry],
        ju.nonzero_tangents(t["carry"])[0],
    )
    jj, out_nz = ju.jvp_jaxpr(jaxpr, c_nz + carry_nz + x_nz, carry_nz + [False] * n_ys)
    ys_nz = out_nz[num_carry:]
    kt = [_carry_tangent(x) for x, nz in zip(t["carry"], carry_nz) if nz]
    ins = Groups(c=num_consts, k=num_carry, x=len(p["xs"]), ct=len(ct), kt=len(kt), xt=len(xt))
    outs = Groups(k=num_carry, y=n_ys, kt=len(kt), yt=sum(ys_nz))
    body = ju.permute(
        jj, ins.order(["c", "ct", "k", "kt", "x", "xt"]), outs.order(["k", "kt", "y", "yt"])
    )
    res = bind_scan(
        body,
        [*p["consts"], *ct],
        [*p["carry"], *kt],
        [*p["xs"], *xt],
        length=length,
        reverse=reverse,
        unroll=unroll,
    )
    r = Groups(k=num_carry, kt=len(kt), y=n_ys, yt=sum(ys_nz)).split(res)
    avals = _scan_abstract(
        jaxpr=jaxpr,
        length=length,
        reverse=reverse,
        num_consts=num_consts,
        num_carry=num_carry,
        unroll=unroll,
    )
    t_out = ju.tangents_out(carry_nz + ys_nz, [*r["kt"], *r["yt"]], avals)
    return [*r["k"], *r["y"]], t_out


def _carry_tangent(t):
    """A carry tangent, a symbolic zero made concrete.

    Under linearize (a partial-evaluation trace current) the zero is made on the
    staged, tangent side, as JAX's linearize makes it: a known zero array would
    become a residual of the linear jaxpr, saved for the backward pass.
    """
    if type(t) is not Zero:
        return t
    trace = core.current_trace()
    if (
        not (isinstance(trace, pe.JaxprTrace) and not trace.stage_all)
        or t.aval.dtype == core.float0
    ):
        return ad.instantiate(t)
    aval = t.aval
    zero = core.weak_scalar(0, aval.dtype) if aval.weak_type else np.zeros((), aval.dtype)
    zero = pe.force_unknown(trace, zero)  # a literal of the staged jaxpr
    return st.broadcast_in_dim(zero, aval.shape, ()) if aval.shape else zero


def _scan_partial_eval(trace, args, params):
    """Known part run now (a scan), unknown part staged (a scan reading the residuals).

    As in JAX, a residual is saved per iteration only when it has to be: a known
    const the unknown body reads is passed to it as a const, a known ``xs`` slice
    as that ``xs``, and a residual computed from the known consts alone (a loop
    invariant) is computed once, before the loop, and passed as a const. The
    unknown scan takes (invariant residuals, unknown consts, unknown carry,
    unknown xs, per-iteration residuals), JAX's layout.
    """
    jaxpr, num_consts, num_carry = params["jaxpr"], params["num_consts"], params["num_carry"]
    loop = {k: params[k] for k in ("length", "reverse", "unroll")}
    groups = _scan_groups(num_consts, num_carry, len(args))
    a = groups.split(args)
    uk = groups.split([pe.is_unknown(trace, x) for x in args])
    carry_uk = fixpoint(
        lambda u: ju.out_unknowns(jaxpr, uk["consts"] + u + uk["xs"])[:num_carry], uk["carry"]
    )
    split = _scan_split(jaxpr, num_consts, num_carry, uk["consts"] + carry_uk + uk["xs"])
    # A known initial carry that the loop makes unknown becomes a staged value.
    init = [
        pe.force_unknown(trace, x) if u and not pe.is_unknown(trace, x) else x
        for x, u in zip(a["carry"], carry_uk)
    ]
    kc = select(a["consts"], uk["consts"], False)
    kk, kx = select(init, carry_uk, False), select(a["xs"], uk["xs"], False)
    # Before the loop: the loop invariants, and what the known body reads of the consts.
    hoist = split.hoist
    pre = core.call_in(trace.parent, eval_jaxpr, hoist.jaxpr, hoist.consts, *kc)
    hoisted, body_consts = pre[: split.n_hoisted], pre[split.n_hoisted :]
    # The known loop: (consts it reads, known carry, xs) -> (known carry, known ys,
    # per-iteration residuals as extra ys).
    if split.known.out_avals or jaxpr_has_effects(split.known.jaxpr):
        known_outs = core.call_in(trace.parent, bind_scan, split.known, body_consts, kk, kx, **loop)
    else:
        known_outs = []
    n_known_out = len(known_outs) - split.n_ext
    per_iter, hoisted = iter(known_outs[n_known_out:]), iter(hoisted)
    operands = {"c": kc, "x": kx}
    res = [
        next(hoisted) if f == "hoisted" else next(per_iter) if f is None else operands[f[0]][f[1]]
        for f in split.res_from
    ]
    int_res, ext_res = select(res, split.res_ext, False), select(res, split.res_ext)
    hj, hc = ju.hoist_consts(split.unknown)
    uc = select(a["consts"], uk["consts"])
    staged = trace.stage(
        scan_p,
        [*hc, *int_res, *uc, *select(init, carry_uk), *select(a["xs"], uk["xs"]), *ext_res],
        dict(
            params,
            jaxpr=hj,
            num_consts=len(hc) + len(int_res) + len(uc),
            num_carry=sum(carry_uk),
        ),
    )
    return merge(split.out_uk, staged, known_outs[:n_known_out])


class _ScanSplit:
    """A scan body split for partial evaluation (see ``_scan_split``)."""

    __slots__ = ("hoist", "n_hoisted", "known", "n_ext", "unknown", "out_uk", "res_from", "res_ext")


def _scan_split(jaxpr, num_consts, num_carry, unknowns):
    """Split a scan body by its unknown inputs, keeping per iteration only what must be.

    - ``hoist``: known consts -> (loop-invariant residuals, the known body's consts);
    - ``known``: the known body, (its consts, known carry, known xs) -> (known carry,
      known ys, ``n_ext`` per-iteration residuals);
    - ``unknown``: (invariant residuals, unknown consts, carry, xs, per-iteration
      residuals) -> (unknown carry, unknown ys);
    - ``res_from``: for each residual of ``pe.partial_eval_jaxpr``'s order, where its
      value comes from: ("c", i) the i-th known const, ("x", i) the i-th known xs,
      "hoisted" computed before the loop, None a per-iteration output of ``known``;
      ``res_ext``: whether the unknown body reads it per iteration (an xs).
    """

    def make():
        n_ys = len(jaxpr.out_avals) - num_carry
        g = _scan_groups(num_consts, num_carry, len(unknowns)).split(unknowns)
        known, unknown, out_uk, nres = ju.partial_eval_jaxpr(
            jaxpr, unknowns, g["carry"] + [False] * n_ys
        )
        nkc, nkk = g["consts"].count(False), g["carry"].count(False)
        n_known_out = len(known.out_avals) - nres
        # Residuals that are known consts or xs: that const or that xs itself.
        n_in = len(known.in_avals)
        body, fwd = ju.forward_residuals(
            known, nres, [not nkc <= i < nkc + nkk for i in range(n_in)]
        )
        res_from = [
            None if i is None else ("c", i) if i < nkc else ("x", i - nkc - nkk) for i in fwd
        ]
        n_computed = fwd.count(None)
        kj = known.jaxpr
        # Residuals computed from the known consts alone are loop invariants: split the
        # known body again, the consts known and the carry and xs not. A body with a side
        # effect (a print) is kept whole, so that it runs once per iteration.
        rest = len(kj.invars) - nkc
        if jaxpr_has_effects(kj):
            h_uk = [True] * len(body.out_avals)
            hoist = _forward([v.aval for v in kj.invars[:nkc]])
        else:
            hoist, body, h_uk, _ = ju.partial_eval_jaxpr(
                body, [False] * nkc + [True] * rest, [True] * n_known_out + [False] * n_computed
            )
        it = iter(h_uk[n_known_out:])
        res_from = [("hoisted" if not next(it) else None) if f is None else f for f in res_from]
        res_ext = [f is None or f[0] == "x" for f in res_from]
        # unknown: (residuals, unknown consts, carry, xs) -> JAX's layout above
        n_uc, n_uk = g["consts"].count(True), g["carry"].count(True)
        layout = Groups(res=nres, c=n_uc, k=n_uk, x=len(unknown.in_avals) - nres - n_uc - n_uk)
        order = layout.positions()
        res_pos = order["res"]
        in_order = [
            *select(res_pos, res_ext, False),
            *order["c"],
            *order["k"],
            *order["x"],
            *select(res_pos, res_ext),
        ]
        s = _ScanSplit()
        s.hoist, s.n_hoisted = hoist, sum(f == "hoisted" for f in res_from)
        s.known, s.n_ext = body, sum(f is None for f in res_from)
        s.unknown, s.out_uk = ju.permute(unknown, in_order), out_uk
        s.res_from, s.res_ext = res_from, res_ext
        return s

    return ju.memo(jaxpr, ("scan_split", num_consts, num_carry, tuple(unknowns)), make)


def _forward(avals):
    """The identity jaxpr on inputs of ``avals`` (nothing hoisted: the consts pass through)."""
    invars = [Var(a) for a in avals]
    return ClosedJaxpr(Jaxpr([], invars, list(invars), []), [])


def _scan_transpose(cts, *args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    groups = _scan_groups(num_consts, num_carry, len(args))
    a = groups.split(args)
    c_lin = [is_undefined(x) for x in a["consts"]]
    x_lin = [is_undefined(x) for x in a["xs"]]
    # Every carry is treated as linear (a known one is an instantiated zero tangent).
    tj = ju.transpose_jaxpr(jaxpr, c_lin + [True] * num_carry + x_lin)
    nl_consts, nl_xs = select(a["consts"], c_lin, False), select(a["xs"], x_lin, False)
    lin_c_avals = [x.aval for x in select(a["consts"], c_lin)]
    ct_carry = [
        ad.instantiate(c) if type(c) is not Zero else ad.zeros_like_aval(_aval(x))
        for c, x in zip(cts[:num_carry], a["carry"])
    ]
    ct_ys = [ad.instantiate(c) for c in cts[num_carry:]]
    # JAX's layout: consts (non-linear consts), carry (const cotangents, carry
    # cotangents), xs (ys cotangents, non-linear xs).
    layout = Groups(
        nc=len(nl_consts), acc=len(lin_c_avals), k=num_carry, y=len(ct_ys), nx=len(nl_xs)
    )

    def body(*args):  # (nl consts, ct consts acc, ct carry, ct ys, nl xs)
        g = layout.split(args)
        outs = eval_jaxpr(tj.jaxpr, tj.consts, *g["nc"], *g["nx"], *g["k"], *g["y"])
        o = Groups(c=len(lin_c_avals), k=num_carry, x=sum(x_lin)).split(outs)
        return [*(_acc(x, c) for x, c in zip(g["acc"], o["c"])), *o["k"], *o["x"]]

    avals = [
        *(get_aval(x) for x in nl_consts),
        *lin_c_avals,
        *(get_aval(x) for x in ct_carry),
        *(_unstacked(get_aval(c)) for c in ct_ys),
        *(_unstacked(get_aval(x)) for x in nl_xs),
    ]
    tbody = pe.trace_to_jaxpr(body, avals, "transpose")
    acc0 = [ad.zeros_like_aval(av) for av in lin_c_avals]
    outs = bind_scan(
        tbody,
        nl_consts,
        [*acc0, *ct_carry],
        [*ct_ys, *nl_xs],
        length=length,
        reverse=not reverse,
        unroll=unroll,
    )
    o = Groups(c=len(lin_c_avals), k=num_carry, x=sum(x_lin)).split(outs)
    ct_init = [c if is_undefined(x) else None for c, x in zip(o["k"], a["carry"])]
    return [
        *merge(c_lin, o["c"], [None] * num_consts),
        *ct_init,
        *merge(x_lin, o["x"], [None] * len(x_lin)),
    ]


def _unstacked(aval):
    return ShapedArray(aval.shape[1:], aval.dtype, aval.weak_type)


def _acc(acc, ct):
    # ew.add rather than add_any: add_any's shape rule ignores lax's scalar broadcasting,
    # which its batching rule relies on (an unmapped scalar beside a mapped array).
    return acc if type(ct) is Zero else ew.add(acc, ct)


def _aval(x):
    return x.aval if is_undefined(x) else get_aval(x)


def _scan_batch(axis_size, args, dims, *, jaxpr, length, reverse, num_consts, num_carry, unroll):
    groups = _scan_groups(num_consts, num_carry, len(args))
    a, d = groups.split(args), groups.split(dims)
    x_dims = [None if xd is None else 0 for xd in d["xs"]]  # inside the body, per step
    n_ys = len(jaxpr.out_avals) - num_carry

    def body_batched(carry_b):
        in_dims = d["consts"] + _dims(carry_b) + x_dims
        return ju.batch_jaxpr(jaxpr, axis_size, in_dims)[1][:num_carry]

    carry_b = fixpoint(body_batched, [x is not None for x in d["carry"]])
    in_dims = d["consts"] + _dims(carry_b) + x_dims
    bj, out_b = ju.batch_jaxpr(jaxpr, axis_size, in_dims, carry_b + [False] * n_ys)
    init = [
        batching.matchaxis(x, xd, 0, axis_size) if b else x
        for x, xd, b in zip(a["carry"], d["carry"], carry_b)
    ]
    xs = [x if xd is None else batching.moveaxis(x, xd, 1) for x, xd in zip(a["xs"], d["xs"])]
    outs = bind_scan(bj, a["consts"], init, xs, length=length, reverse=reverse, unroll=unroll)
    ys_dims = [1 if b else None for b in out_b[num_carry:]]
    return outs, [*_dims(carry_b), *ys_dims]


def _scan_dce(used_outputs, eqn):
    p = eqn.params
    jaxpr, nc, nk = p["jaxpr"], p["num_consts"], p["num_carry"]
    groups = _scan_groups(nc, nk, len(eqn.invars))
    used_ys = list(used_outputs[nk:])
    used_k = fixpoint(
        lambda u: ju.dce_jaxpr(jaxpr, u + used_ys, False)[1][nc : nc + nk], used_outputs[:nk]
    )
    body, used_in = ju.dce_jaxpr(jaxpr, used_k + used_ys, False)
    u = groups.split(used_in)
    u["carry"] = used_k
    new_body = ju.drop_invars(body, _not(u["consts"] + used_k + u["xs"]))
    v = groups.split(eqn.invars)
    new = eqn.replace(
        invars=[
            *select(v["consts"], u["consts"]),
            *select(v["carry"], used_k),
            *select(v["xs"], u["xs"]),
        ],
        outvars=select(eqn.outvars, used_k + used_ys),
        params=dict(p, jaxpr=new_body, num_consts=sum(u["consts"]), num_carry=sum(used_k)),
    )
    return [*u["consts"], *used_k, *u["xs"]], new


def _scan_deopt(args, params):
    g = _scan_groups(params["num_consts"], params["num_carry"], len(args)).split(args)
    carry, length = g["carry"], params["length"]
    for i in reversed(range(length)) if params["reverse"] else range(length):
        with debug_nans.Where(f"iteration {i} of scan"):
            outs = debug_nans.eval_deopt(
                params["jaxpr"], [*g["consts"], *carry, *(x[i] for x in g["xs"])]
            )
        carry = outs[: params["num_carry"]]


higher_order.register(
    scan_p,
    abstract_eval=_scan_abstract,
    jvp=_scan_jvp,
    transpose=_scan_transpose,
    partial_eval=_scan_partial_eval,
    dce=_scan_dce,
    batch=_scan_batch,
    lower=_scan_impl,
    deopt=_scan_deopt,
)


# ---------------------------------------------------------------------------
# the user-facing functions


def _trace_carry(
    fun, in_tree, flat, avals, what, make_args, split_out, extra_avals=(), extra_tree=None
):
    """Trace a loop body whose carry out must match carry in in structure, shape and dtype.

    A weak-typed carry may come out strongly typed: as in JAX, the body keeps its weak
    input and the loop's carry output takes the body's (strong) type. A weak-typed
    carry whose dtype the body changes (an int 1 multiplied by 1.5) is promoted to
    the dtypes' join, strongly typed, and the body traced again, as JAX does.
    """
    tree = in_tree if extra_tree is None else extra_tree(in_tree)
    closed, out_tree = trace_fun(lambda *a: fun(*make_args(*a)), tree, [*avals, *extra_avals], what)
    carry_tree = _carry_tree(out_tree, split_out, len(avals))
    out_avals = list(closed.out_avals[: len(avals)])
    if carry_tree == in_tree and not same_types(out_avals, avals, weak=False):
        promote = [
            i
            for i, (a, o) in enumerate(zip(avals, out_avals))
            if a.weak_type and a.shape == o.shape and a.dtype != o.dtype
        ]
        if promote:
            flat, avals = list(flat), list(avals)
            for i in promote:
                dtype, _ = dtypes.result_type(flat[i], out_avals[i])
                flat[i] = st.convert_element_type(flat[i], dtype, weak_type=False)
                avals[i] = get_aval(flat[i])
            return _trace_carry(
                fun, in_tree, flat, avals, what, make_args, split_out, extra_avals, extra_tree
            )
    if carry_tree != in_tree:
        raise TypeError(
            f"{what}: the carry output must have the same pytree structure as "
            f"the carry input, got {carry_tree} and {in_tree}"
        )
    if not same_types(out_avals, avals, weak=False):
        raise TypeError(
            f"{what}: the carry output and carry input must have equal types; "
            f"the input carry is {avals_str(avals)} but the output carry is "
            f"{avals_str(out_avals)}"
        )
    return closed, flat, avals, out_tree


def _carry_tree(out_tree, split_out, n):
    dummy = tree_util.tree_unflatten(out_tree, [0] * out_tree.num_leaves)
    carry, _ = split_out(dummy)
    return tree_util.tree_structure(carry)


@api_boundary
def while_loop(cond_fun, body_fun, init_val):
    """Repeat ``val = body_fun(val)`` while ``cond_fun(val)``; lowered to an XLA while.

    Forward-mode differentiable and batchable; reverse mode raises (as in JAX).

    Example:
      >>> import minigrad_jax as mg
      >>> float(mg.lax.while_loop(lambda x: x < 10.0, lambda x: x * 2.0, 1.0))
      16.0
      >>> mg.lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 2.0), (0, 1.0))
      (Array(5, dtype=int32, weak_type=True), Array(32., dtype=float32, weak_type=True))
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
    cond_closed, _ = trace_fun(cond_fun, args_tree, avals, "while_loop cond_fun")
    outs = cond_closed.out_avals
    if len(outs) != 1 or outs[0].shape != () or outs[0].dtype != np.bool_:
        raise TypeError(
            "while_loop: cond_fun must return a boolean scalar, but got output type(s) "
            f"{avals_str(outs)}"
        )
    return tree_util.tree_unflatten(in_tree, _bind_while_forwarding(cond_closed, body, flat))


def _bind_while_forwarding(cond, body, init):
    """bind_while, with the carries the body hands back unchanged and the predicate does
    not read passed as body consts instead (as JAX's while_loop does): a loop invariant
    then stays out of the carry, so vmap with a batched predicate leaves it unbatched.
    As in JAX, such a carry comes out as it went in (a Python scalar stays one)."""
    j = body.jaxpr
    cond_used = ju.dce_jaxpr(cond, [True])[1]
    invariant = [o is v and not u for o, v, u in zip(j.outvars, j.invars, cond_used)]
    if not any(invariant):
        return lowering.as_jax_arrays(bind_while(cond, body, [], [], init))
    kept_body, _ = ju.dce_jaxpr(body, _not(invariant), False)
    n = len(init)
    order = [i for i in range(n) if invariant[i]] + [i for i in range(n) if not invariant[i]]
    outs = bind_while(
        ju.drop_invars(cond, invariant),
        ju.permute(kept_body, order),
        [],
        select(init, invariant),
        select(init, invariant, False),
    )
    return merge(invariant, select(init, invariant), lowering.as_jax_arrays(outs))


@api_boundary
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
      >>> import minigrad_jax as mg
      >>> mg.lax.scan(lambda c, x: (c + x, c), 0.0, np.arange(3.0, dtype=np.float32))[0]
      Array(3., dtype=float32)
      >>> import minigrad_jax.numpy as mnp
      >>> mg.lax.scan(lambda c, x: (c + x, c + x), 0.0, mnp.arange(4.0))  # a cumulative sum
      (Array(6., dtype=float32), Array([0., 1., 3., 6.], dtype=float32))
      >>> mg.lax.scan(lambda c, x: (c + x, c + x), 0.0, mnp.arange(4.0), reverse=True)
      (Array(6., dtype=float32), Array([6., 6., 5., 3.], dtype=float32))
      >>> mg.lax.scan(lambda c, _: (c + 1, c), 0, None, length=3)
      (Array(3, dtype=int32, weak_type=True), Array([0, 1, 2], dtype=int32, weak_type=True))
      >>> mg.grad(lambda x: mg.lax.scan(lambda c, xi: (c * xi, None), 1.0, x)[0])(
      ...     mnp.array([1.0, 2.0, 3.0]))
      Array([6., 3., 2.], dtype=float32)
    """
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {type(f).__name__}")
    flat_xs, xs_tree = tree_util.tree_flatten(xs)
    x_avals = [get_aval(x) for x in flat_xs]
    if any(a.ndim == 0 for a in x_avals):
        raise ValueError("scan got value with no leading axis to scan over: " + avals_str(x_avals))
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
    outs = bind_scan(
        closed, [], flat_init, flat_xs, length=length, reverse=bool(reverse), unroll=unroll
    )
    outs = lowering.as_jax_arrays(outs)
    n = len(flat_init)
    return (
        tree_util.tree_unflatten(init_tree, outs[:n]),
        tree_util.tree_unflatten(out_tree, outs[n:]),
    )


@api_boundary
def map(f, xs, *, batch_size=None):  # noqa: A001
    """``stack([f(x) for x in xs])`` as a scan (sequential, compiled once).

    With ``batch_size``, as jax.lax.map: a scan over batches of that many elements,
    each batch through ``vmap(f)``, then the remaining elements through one more
    ``vmap(f)``.

    Example:
      >>> import numpy as np
      >>> import minigrad_jax as mg
      >>> mg.lax.map(lambda x: x * 2.0, np.arange(3.0, dtype=np.float32))
      Array([0., 2., 4.], dtype=float32)
      >>> mg.lax.map(lambda x: x.sum(), np.ones((3, 2), np.float32))
      Array([2., 2., 2.], dtype=float32)
      >>> mg.lax.map(lambda p: p[0] * p[1], (np.arange(3.0), np.arange(3.0)))
      Array([0., 1., 4.], dtype=float32)
      >>> mg.lax.map(lambda x: x.sum(), np.ones((5, 2), np.float32), batch_size=2)
      Array([2., 2., 2., 2., 2.], dtype=float32)
    """
    if batch_size is None:
        _, ys = scan(lambda c, x: (c, f(x)), (), xs)
        return ys
    batch_size = operator.index(batch_size)
    if batch_size < 1:
        raise ValueError(f"lax.map: batch_size must be a positive integer, got {batch_size}")
    leaves, tree = tree_util.tree_flatten(xs)
    if not leaves:
        raise ValueError("lax.map: xs must have at least one array to map over")
    n = get_aval(leaves[0]).shape[0]
    full, rest = divmod(n, batch_size)
    out_tree = []
    if not full:  # fewer elements than one batch: vmap(f) over all of xs, as JAX
        outs = _vmap_leading(f, tree, leaves, n, out_tree)
        return tree_util.tree_unflatten(out_tree[0], outs)
    split = full * batch_size
    # JAX's order: the slices, the scan over whole batches, the remainder, the joins
    batches = [
        base.reshape(_rows(x, 0, split) if rest else x, (full, batch_size, *_tail(x)))
        for x in leaves
    ]
    remainder = [_rows(x, split, n) for x in leaves] if rest else None
    _, ys = scan(lambda c, b: (c, _vmap_leading(f, tree, b, batch_size, out_tree)), (), batches)
    rs = (
        [None] * len(ys) if remainder is None else _vmap_leading(f, tree, remainder, rest, out_tree)
    )
    outs = []
    for y, r in zip(ys, rs):
        y = base.reshape(y, (split, *_tail(y, 2)))
        outs.append(y if r is None else st.concatenate([y, r], 0))
    return tree_util.tree_unflatten(out_tree[0], outs)


def _rows(x, start, stop):
    shape = get_aval(x).shape
    return st.slice(x, (start, *[0] * (len(shape) - 1)), (stop, *shape[1:]))


def _tail(x, k=1):
    return get_aval(x).shape[k:]


def _vmap_leading(f, tree, leaves, size, out_tree):
    """The leaves of ``vmap(f)`` over the leading axis of ``leaves``; its tree is
    appended to ``out_tree``."""

    def flat(*ls):
        o_leaves, t = tree_util.tree_flatten(f(tree_util.tree_unflatten(tree, ls)))
        out_tree.append(t)
        return o_leaves

    vals, dims = batching.vmap_flat(flat, leaves, [0] * len(leaves), size, axis_name=None)
    return [batching.matchaxis(v, d, 0, size) for v, d in zip(vals, dims)]


def _static_int(x):
    """A loop bound known now (a Python or NumPy int, a concrete integer array or a
    tracer with a concrete value, as JAX's ``int(bound)`` test), else None."""
    if isinstance(x, core.Tracer):
        x = x.concrete_value()
    if isinstance(x, jax.core.Tracer) or isinstance(x, bool) or x is None:
        return None
    if isinstance(x, (int, np.integer)):
        return int(x)
    if np.ndim(x) == 0 and np.issubdtype(getattr(x, "dtype", np.float32), np.integer):
        return int(x)
    return None


@api_boundary
def fori_loop(lower, upper, body_fun, init_val, *, unroll=None):
    """``for i in range(lower, upper): val = body_fun(i, val)``.

    With Python/numpy int bounds this is a scan (so reverse-mode differentiable);
    with traced bounds a while_loop.

    Example:
      >>> import minigrad_jax as mg
      >>> float(mg.lax.fori_loop(0, 3, lambda i, x: x * 2.0, 1.0))
      8.0
      >>> mg.lax.fori_loop(0, 3, lambda i, x: x * 2.0, 1.0)
      Array(8., dtype=float32, weak_type=True)
      >>> int(mg.lax.fori_loop(0, 5, lambda i, s: s + i, 0))
      10
      >>> float(mg.grad(lambda x: mg.lax.fori_loop(0, 3, lambda i, c: c * x, 1.0))(2.0))
      12.0
    """
    lo_aval, hi_aval = core.get_aval(lower), core.get_aval(upper)
    if lo_aval.dtype != hi_aval.dtype and not lo_aval.weak_type and not hi_aval.weak_type:
        raise TypeError(
            "lower and upper arguments to fori_loop must have equal types, "
            f"got {lo_aval.dtype} and {hi_aval.dtype}"
        )
    lo, hi = _static_int(lower), _static_int(upper)
    if lo is not None and hi is not None:
        start = core.weak_scalar(lo, np.int32)  # JAX's loop index is weakly typed

        def step(carry, _):
            i, x = carry
            return (ew.add(i, core.weak_scalar(1, np.int32)), body_fun(i, x)), None

        (_, out), _ = scan(
            step,
            (start, init_val),
            None,
            length=max(hi - lo, 0),
            unroll=1 if unroll is None else unroll,
        )
        return out
    lower = st.convert_element_type(lower, np.int32, weak_type=True)
    upper = st.convert_element_type(upper, np.int32, weak_type=True)

    def body(c):
        i, u, x = c
        return ew.add(i, core.weak_scalar(1, np.int32)), u, body_fun(i, x)

    _, _, out = while_loop(lambda c: ew.lt(c[0], c[1]), body, (lower, upper, init_val))
    return out
