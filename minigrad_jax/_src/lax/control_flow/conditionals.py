"""cond and switch: one primitive, ``cond{branches}``, with an integer index.

Its operands are the index, then every branch's hoisted consts (each branch
takes all of them), then the operands. The rules are built from the kit's
whole-jaxpr transforms: a tangent, an unknown or a batch axis is present on an
output when any branch puts it there, and every branch is made to agree.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, get_aval
from minigrad_jax._src.interpreters import ad, batching, debug_nans, higher_order, lowering
from minigrad_jax._src.interpreters import jaxpr_util as ju
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import is_undefined
from minigrad_jax._src.ir import eval_jaxpr
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import structural as st
from minigrad_jax._src.lax.control_flow.common import avals_str, same_types, trace_fun
from minigrad_jax._src.traceback_util import api_boundary

cond_p = Primitive("cond", multiple_results=True)


def _any(flag_lists):
    return [any(fs) for fs in zip(*flag_lists)]


def _cond_abstract(index, *ops, branches):
    return list(branches[0].out_avals)


def _cond_impl(index, *ops, branches):
    fns = [functools.partial(lowering.replay_closed, b) for b in branches]
    return list(jax.lax.switch(index, fns, *ops))


def bind_cond(index, branches, ops):
    joined, consts = ju.join_consts(branches)
    return cond_p.bind(index, *consts, *ops, branches=tuple(joined))


def _cond_jvp(primals, tangents, *, branches):
    index, ops = primals[0], primals[1:]
    nonzeros, nz_tangents = ju.nonzero_tangents(tangents[1:])
    out_nz = _any([ju.jvp_out_nonzeros(b, nonzeros) for b in branches])
    jbranches = [ju.jvp_jaxpr(b, nonzeros, out_nz)[0] for b in branches]
    outs = bind_cond(index, jbranches, [*ops, *nz_tangents])
    n = len(out_nz)
    return outs[:n], ju.tangents_out(out_nz, outs[n:], branches[0].out_avals)


def _cond_partial_eval(trace, args, params):
    branches = params["branches"]
    index, ops = args[0], args[1:]
    if pe.is_unknown(trace, index):
        return trace.stage(cond_p, args, params)
    unknowns = [pe.is_unknown(trace, a) for a in ops]
    out_uk = _any([ju.out_unknowns(b, unknowns) for b in branches])
    splits = [ju.partial_eval_jaxpr(b, unknowns, out_uk) for b in branches]
    # Every branch returns every branch's residuals (zeros for the others'), so the
    # known cond has one output type; the unknown branches read only their own.
    res_avals = [list(k.out_avals[len(k.out_avals) - nr :]) for k, _, _, nr in splits]
    all_res = [a for r in res_avals for a in r]
    n_known_out = sum(not u for u in out_uk)
    known_b, unknown_b, before = [], [], 0
    for (known, unknown, _, nr), r in zip(splits, res_avals):
        known_b.append(_pad_residuals(known, n_known_out, before, all_res))
        own_only = ju.insert_invars(unknown, nr, all_res[before + nr :])
        unknown_b.append(ju.insert_invars(own_only, 0, all_res[:before]))
        before += len(r)
    known_ops = ju.select(ops, unknowns, False)
    known_outs = core.call_in(trace.parent, bind_cond, index, known_b, known_ops)
    residuals = known_outs[n_known_out:]
    joined, consts = ju.join_consts(unknown_b)
    staged_args = [index, *consts, *residuals, *ju.select(ops, unknowns)]
    staged = trace.stage(cond_p, staged_args, {"branches": tuple(joined)})
    return ju.merge(out_uk, staged, known_outs[:n_known_out])


def _pad_residuals(known, n_out, before, all_res):
    """Known branch: its outputs, then its residuals between zeros for other branches' ones."""
    nr = len(known.out_avals) - n_out

    def f(*args):
        outs = eval_jaxpr(known.jaxpr, known.consts, *args)
        pre = [ad.zeros_like_aval(a) for a in all_res[:before]]
        post = [ad.zeros_like_aval(a) for a in all_res[before + nr :]]
        return [*outs[:n_out], *pre, *outs[n_out:], *post]

    return pe.trace_to_jaxpr(f, list(known.in_avals), "partial_eval")


def _cond_transpose(cts, index, *ops, branches):
    if is_undefined(index):
        raise ValueError("cond: cannot transpose with respect to the branch index")
    linear = [is_undefined(a) for a in ops]
    tbranches = [ju.transpose_jaxpr(b, linear) for b in branches]
    operands = [*ju.select(ops, linear, False), *map(ad.instantiate, cts)]
    cts_in = bind_cond(index, tbranches, operands)
    return [None, *ju.merge(linear, cts_in, [None] * len(ops))]


def _cond_batch(axis_size, args, dims, *, branches):
    index, ops = args[0], args[1:]
    idim, op_dims = dims[0], tuple(dims[1:])
    if idim is None:
        out_b = _any([ju.batch_jaxpr(b, axis_size, op_dims)[1] for b in branches])
        bbranches = [ju.batch_jaxpr(b, axis_size, op_dims, out_b)[0] for b in branches]
        return bind_cond(index, bbranches, ops), ju.out_dims_of(out_b)
    # A batched predicate: every branch runs and select_n picks per lane (as JAX does).
    bbranches = [ju.batch_jaxpr(b, axis_size, op_dims, True)[0] for b in branches]
    index = batching.moveaxis(index, idim, 0)
    per_branch = [eval_jaxpr(b.jaxpr, b.consts, *ops) for b in bbranches]
    outs = [_select_lanes(index, cases) for cases in zip(*per_branch)]
    return outs, [0] * len(outs)


def _select_lanes(index, cases):
    shape = get_aval(cases[0]).shape
    which = st.broadcast_in_dim(index, shape, (0,)) if len(shape) > 1 else index
    return ew.select_n(which, *cases)


def _cond_dce(used_outputs, eqn):
    branches = eqn.params["branches"]
    pruned = [ju.dce_jaxpr(b, used_outputs, prune_invars=False) for b in branches]
    used_in = _any([u for _, u in pruned])
    unused = [not u for u in used_in]
    new_branches = tuple(ju.drop_invars(b, unused) for b, _ in pruned)
    new = eqn.replace(
        invars=[eqn.invars[0], *ju.select(eqn.invars[1:], used_in)],
        outvars=ju.select(eqn.outvars, used_outputs),
        params={"branches": new_branches},
    )
    return [True, *used_in], new


def _cond_deopt(args, params):
    index, *ops = args
    branches = params["branches"]
    i = int(np.clip(int(index), 0, len(branches) - 1))
    with debug_nans.Where(f"branch {i} of cond"):
        debug_nans.eval_deopt(branches[i], ops)


higher_order.register(
    cond_p,
    abstract_eval=_cond_abstract,
    jvp=_cond_jvp,
    transpose=_cond_transpose,
    partial_eval=_cond_partial_eval,
    dce=_cond_dce,
    batch=_cond_batch,
    lower=_cond_impl,
    deopt=_cond_deopt,
)


# ---------------------------------------------------------------------------
# the user-facing functions


def _trace_branches(branches, ops, what, names):
    flat, in_tree = tree_util.tree_flatten(ops)
    avals = [get_aval(x) for x in flat]
    traced = [trace_fun(b, in_tree, avals, what) for b in branches]
    out_trees = [t for _, t in traced]
    out_avals = [list(c.out_avals) for c, _ in traced]
    for i in range(1, len(traced)):
        if out_trees[i] != out_trees[0]:
            raise TypeError(
                f"{what}: {names[0]} and {names[i]} outputs must have the same pytree "
                f"structure, got {out_trees[0]} and {out_trees[i]}"
            )
        if not same_types(out_avals[i], out_avals[0], weak=False):
            raise TypeError(
                f"{what}: {names[0]} and {names[i]} outputs must have identical "
                f"types, got {names[0]} output {avals_str(out_avals[0])} and "
                f"{names[i]} output {avals_str(out_avals[i])}"
            )
    # Branches whose outputs differ only in weak type stay as they are, and the cond
    # takes branch 0's types, as JAX's does.
    return [c for c, _ in traced], out_trees[0], flat


@api_boundary
def switch(index, branches, *operands):
    """Apply ``branches[index](*operands)``; the index is clamped to the valid range.

    Args:
      index: an integer scalar (may be traced).
      branches: a sequence of callables with identical output types.
      *operands: the arguments passed to the chosen branch (pytrees).

    Returns:
      The chosen branch's output.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> float(mg.lax.switch(1, [lambda x: x + 1.0, lambda x: x * 2.0], 3.0))
      6.0
      >>> mg.lax.switch(5, [lambda x: x + 1.0, lambda x: x * 2.0], 3.0)  # clamped to 1
      Array(6., dtype=float32, weak_type=True)
      >>> branches = [lambda v: v + 1.0, lambda v: v * 2.0, lambda v: -v]
      >>> mg.vmap(lambda i, x: mg.lax.switch(i, branches, x))(
      ...     mnp.array([0, 1, 2]), mnp.array([1.0, 2.0, 3.0]))
      Array([ 2.,  4., -3.], dtype=float32)
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


@api_boundary
def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as one primitive.

    Args:
      pred: a boolean (or number) scalar, possibly traced.
      true_fun, false_fun: callables with identical output types.
      *operands: their arguments (pytrees).

    Returns:
      The selected branch's output.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> float(mg.lax.cond(True, lambda x: x + 1.0, lambda x: x * 2.0, 3.0))
      4.0
      >>> mg.lax.cond(True, lambda x, y: x + y, lambda x, y: x - y, 1.0, 2.0)
      Array(3., dtype=float32, weak_type=True)
      >>> mg.grad(lambda x: mg.lax.cond(x > 0.0, mnp.sin, mnp.cos, x))(0.5)
      Array(0.87758255, dtype=float32, weak_type=True)
      >>> mg.vmap(lambda x: mg.lax.cond(x > 0.0, lambda v: v, lambda v: -v, x))(
      ...     mnp.array([-1.0, 2.0]))
      Array([1., 2.], dtype=float32)
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
    outs = bind_cond(index, closeds, flat)
    return tree_util.tree_unflatten(out_tree, lowering.as_jax_arrays(outs))
