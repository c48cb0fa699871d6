"""custom_jvp and custom_vjp: user-written derivative rules.

``custom_jvp_call`` carries the function's jaxpr (what evaluation, jit and
batching run) and a Python callable for the rule; its JVP rule calls the user's
rule, which is ordinary traceable code, so linearize/grad and higher order go
through it. ``custom_vjp_call`` runs ``fwd`` under differentiation and emits
``custom_lin``, a primitive linear in the tangents whose transpose rule calls
``bwd`` on the saved residuals.
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
from minigrad_jax._src.interpreters.ad import Zero

__all__ = ["custom_jvp", "custom_vjp", "custom_jvp_call_p", "custom_vjp_call_p", "custom_lin_p"]


def _top(outs):
    if not core.is_top_level():
        return list(outs)
    return [o if isinstance(o, jax.Array) else jax.numpy.asarray(o) for o in outs]


def _split_args(args, nondiff_argnums, name):
    for i in nondiff_argnums:
        if i >= len(args):
            raise TypeError(
                f"{name}: nondiff_argnums={nondiff_argnums} but called with "
                f"{len(args)} positional arguments"
            )
    nondiff = [args[i] for i in nondiff_argnums]
    diff = [a for i, a in enumerate(args) if i not in nondiff_argnums]
    return nondiff, diff


def _merge(nondiff_argnums, nondiff, diff):
    nd, d = dict(zip(nondiff_argnums, nondiff, strict=False)), iter(diff)
    return [nd[i] if i in nd else next(d) for i in range(len(nondiff) + len(diff))]


def _trace_flat(fun, flat, in_tree, name):
    store = {}

    def f(*leaves):
        out = fun(*tree_util.tree_unflatten(in_tree, leaves))
        leaves_out, store["tree"] = tree_util.tree_flatten(out)
        return leaves_out

    closed = pe.trace_to_jaxpr(f, [get_aval(x) for x in flat], name)
    return closed, store["tree"]


def _avals(xs):
    return "(" + ", ".join(get_aval(x).str_short() for x in xs) + ")"


def _check_tree(what, got, want, name):
    if got != want:
        raise TypeError(
            f"{name}: {what} must have the same pytree structure as the primal "
            f"output {want}, got {got}"
        )


# ---------------------------------------------------------------------------
# custom_jvp


custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)


def _cjvp_impl(*args, call_jaxpr, jvp, num_consts, symbolic_zeros, name):
    return lowering.replay_closed(call_jaxpr, *args)


def _cjvp_jvp(primals, tangents, *, call_jaxpr, jvp, num_consts, symbolic_zeros, name):
    # Tangents of closed-over values (the consts) are not seen by the rule, as in JAX.
    out, out_t = jvp(list(primals[num_consts:]), list(tangents[num_consts:]))
    return out, out_t


def _cjvp_batch(axis_size, args, dims, *, call_jaxpr, jvp, num_consts, symbolic_zeros, name):
    args = [batching.bdim_at_front(a, d, axis_size) for a, d in zip(args, dims, strict=False)]
    bj = jaxpr_util.batch_jaxpr(call_jaxpr, axis_size, (0,) * len(args))
    n_in = len(args) - num_consts

    def batched_jvp(primals, tangents):
        n_out = []

        def f(*pt):
            o, t = jvp(
                list(pt[:n_in]),
                [
                    Zero(ad.tangent_aval(get_aval(p))) if _is_f0(x) else x
                    for p, x in zip(pt[:n_in], pt[n_in:], strict=False)
                ],
            )
            n_out.append(len(o))
            return [*o, *builtins_map_instantiate(t)]

        tangents = [ad.instantiate(t) for t in tangents]
        outs, odims = batching.vmap_flat(
            f, [*primals, *tangents], [0] * len(primals) + [_tdim(t) for t in tangents], axis_size
        )
        outs = [
            batching.matchaxis(o, d, 0, axis_size) if not _is_f0(o) else o
            for o, d in zip(outs, odims, strict=False)
        ]
        n = n_out[0]
        return outs[:n], [_zero_if_f0(t, o) for t, o in zip(outs[n:], outs[:n], strict=False)]

    outs = custom_jvp_call_p.bind(
        *args,
        call_jaxpr=bj,
        jvp=batched_jvp,
        num_consts=num_consts,
        symbolic_zeros=symbolic_zeros,
        name=name,
    )
    return outs, [0] * len(outs)


def _is_f0(x):
    return get_aval(x).dtype == core.float0


def _tdim(t):
    return None if _is_f0(t) else 0


def _zero_if_f0(t, o):
    return Zero(ad.tangent_aval(get_aval(o))) if _is_f0(t) else t


def builtins_map_instantiate(ts):
    return [ad.instantiate(t) for t in ts]


core.abstract_eval_rules[custom_jvp_call_p] = lambda *a, call_jaxpr, **_: list(call_jaxpr.out_avals)
ad.jvp_rules[custom_jvp_call_p] = _cjvp_jvp
batching.batch_rules[custom_jvp_call_p] = _cjvp_batch
lowering.register(custom_jvp_call_p, _cjvp_impl)


class _CustomFunction:
    """What custom_jvp and custom_vjp share: the wrapped function, its
    non-differentiable arguments, and tracing a call to a closed jaxpr."""

    kind = "custom"

    def __init__(self, fun, nondiff_argnums=()):
        if not callable(fun):
            raise TypeError(f"{self.kind} expects a callable, got {type(fun).__name__}")
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        wraps(fun)(self)

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def _trace_call(self, args, kwargs, rule, what):
        """(nondiff, flat args, in_tree, closed, out_tree, hoisted jaxpr, consts, name)."""
        name = getattr(self.fun, "__name__", self.kind)
        if kwargs:
            raise TypeError(
                f"{self.kind} function {name}: keyword arguments are not supported; "
                "pass them positionally"
            )
        if rule is None:
            raise AttributeError(
                f"No {what} defined for {self.kind} function {name} using def{what.lower()}."
            )
        nondiff, diff = _split_args(args, self.nondiff_argnums, name)
        flat, in_tree = tree_util.tree_flatten(tuple(diff))

        def primal(*d):
            return self.fun(*_merge(self.nondiff_argnums, nondiff, d))

        closed, out_tree = _trace_flat(primal, flat, in_tree, name)
        hoisted, consts = jaxpr_util.hoist_consts(closed)
        return nondiff, flat, in_tree, closed, out_tree, hoisted, consts, name


class custom_jvp(_CustomFunction):  # noqa: N801  (JAX's name)
    """A function with a custom JVP rule, like jax.custom_jvp.

    Example:
      >>> import minigrad_jax as mg
      >>> from minigrad_jax._src.custom_derivatives import custom_jvp
      >>> @custom_jvp
      ... def f(x):
      ...     return x * x
      >>> _ = f.defjvp(lambda primals, tangents: (f(*primals), 10.0 * tangents[0]))
      >>> float(mg.grad(f)(3.0))
      10.0
    """

    kind = "custom_jvp"

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp, symbolic_zeros=False):
        """Set the rule ``jvp(*nondiff_args, primals, tangents) -> (out, tangent_out)``."""
        if symbolic_zeros:
            raise NotImplementedError("custom_jvp.defjvp: symbolic_zeros=True is not supported")
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        """One rule per argument: ``fn(g, ans, *primals)``; None where the input has no tangent."""
        if self.nondiff_argnums:
            raise TypeError("custom_jvp.defjvps is not supported with nondiff_argnums")

        def jvp(primals, tangents):
            ans = self(*primals)
            t_out = None
            for fn, t in zip(jvps, tangents, strict=False):
                if fn is None:
                    continue
                term = fn(t, ans, *primals)
                t_out = (
                    term if t_out is None else tree_util.tree_map(lambda a, b: a + b, t_out, term)
                )
            if t_out is None:
                t_out = tree_util.tree_map(lambda a: ad.zeros_like_aval(get_aval(a)), ans)
            return ans, t_out

        self.defjvp(jvp)

    def __call__(self, *args, **kwargs):
        nondiff, flat, in_tree, closed, out_tree, hoisted, consts, name = self._trace_call(
            args, kwargs, self.jvp, "JVP"
        )
        rule = functools.partial(self._flat_jvp, nondiff, in_tree, out_tree, closed, name)
        outs = custom_jvp_call_p.bind(
            *consts,
            *flat,
            call_jaxpr=hoisted,
            jvp=rule,
            num_consts=len(consts),
            symbolic_zeros=False,
            name=name,
        )
        return tree_util.tree_unflatten(out_tree, _top(outs))

    def _flat_jvp(self, nondiff, in_tree, out_tree, closed, name, primals, tangents):
        p = tree_util.tree_unflatten(in_tree, primals)
        t = tree_util.tree_unflatten(in_tree, [ad.instantiate(x) for x in tangents])
        res = self.jvp(*nondiff, tuple(p), tuple(t))
        if not isinstance(res, (tuple, list)) or len(res) != 2:
            raise TypeError(
                f"custom_jvp rule of {name} must return a pair (primal_out, "
                f"tangent_out), got {type(res).__name__}"
            )
        out, tout = res
        flat_out, tree_o = tree_util.tree_flatten(out)
        flat_t, tree_t = tree_util.tree_flatten(tout)
        _check_tree("the custom_jvp rule's primal output", tree_o, out_tree, name)
        _check_tree("the custom_jvp rule's tangent output", tree_t, out_tree, name)
        ts = []
        for o, a, t in zip(flat_out, closed.out_avals, flat_t, strict=False):
            if get_aval(o).shape != a.shape or get_aval(t).shape != a.shape:
                raise ValueError(
                    f"custom_jvp rule of {name}: output shapes must match the "
                    f"function's {a.str_short()}, got primal "
                    f"{get_aval(o).str_short()} and tangent "
                    f"{get_aval(t).str_short()}"
                )
            ts.append(t if core.is_float(a.dtype) else Zero(ad.tangent_aval(a)))
        return flat_out, ts


# ---------------------------------------------------------------------------
# custom_vjp


custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_lin_p = Primitive("custom_lin", multiple_results=True)


def _cvjp_impl(*args, call_jaxpr, fwd, bwd, num_consts, symbolic_zeros, name):
    return lowering.replay_closed(call_jaxpr, *args)


def _cvjp_jvp(primals, tangents, *, call_jaxpr, fwd, bwd, num_consts, symbolic_zeros, name):
    args, targs = primals[num_consts:], tangents[num_consts:]
    out, res = fwd(list(args))
    mask = tuple(core.is_float(get_aval(a).dtype) for a in args)
    tin = [ad.instantiate(t) for t, m in zip(targs, mask, strict=False) if m]
    out_float = [core.is_float(a.dtype) for a in call_jaxpr.out_avals]
    out_avals = tuple(a for a, f in zip(call_jaxpr.out_avals, out_float, strict=False) if f)
    in_avals = tuple(get_aval(a) for a in args)
    touts = iter(
        custom_lin_p.bind(
            *res,
            *tin,
            num_res=len(res),
            bwd=bwd,
            mask=mask,
            in_avals=in_avals,
            out_avals=out_avals,
            name=name,
        )
    )
    out_t = [
        next(touts) if f else Zero(ad.tangent_aval(a))
        for f, a in zip(out_float, call_jaxpr.out_avals, strict=False)
    ]
    return out, out_t


def _lin_impl(*args, num_res, bwd, mask, in_avals, out_avals, name):
    raise TypeError(f"can't apply forward-mode autodiff (jvp) to a custom_vjp function ({name}).")


def _lin_transpose(cts, *args, num_res, bwd, mask, in_avals, out_avals, name):
    res = list(args[:num_res])
    cts = [ad.instantiate(c) for c in cts]
    cts_in = bwd(res, cts)
    return [None] * num_res + [c for c, m in zip(cts_in, mask, strict=False) if m]


core.abstract_eval_rules[custom_lin_p] = lambda *a, out_avals, **_: list(out_avals)
ad.transpose_rules[custom_lin_p] = _lin_transpose
lowering.register(custom_lin_p, _lin_impl)


def _cvjp_batch(axis_size, args, dims, *, call_jaxpr, fwd, bwd, num_consts, symbolic_zeros, name):
    args = [batching.bdim_at_front(a, d, axis_size) for a, d in zip(args, dims, strict=False)]
    bj = jaxpr_util.batch_jaxpr(call_jaxpr, axis_size, (0,) * len(args))
    n_out = len(call_jaxpr.out_avals)

    def vmapped(f, vals):
        outs, odims = batching.vmap_flat(f, vals, [0] * len(vals), axis_size)
        return [batching.matchaxis(o, d, 0, axis_size) for o, d in zip(outs, odims, strict=False)]

    def fwd_b(primals):
        outs = vmapped(lambda *p: [*(r := fwd(list(p)))[0], *r[1]], primals)
        return outs[:n_out], outs[n_out:]

    def bwd_b(res, cts):
        n = len(res)
        return vmapped(lambda *a: bwd(list(a[:n]), list(a[n:])), [*res, *cts])

    outs = custom_vjp_call_p.bind(
        *args,
        call_jaxpr=bj,
        fwd=fwd_b,
        bwd=bwd_b,
        num_consts=num_consts,
        symbolic_zeros=symbolic_zeros,
        name=name,
    )
    return outs, [0] * len(outs)


core.abstract_eval_rules[custom_vjp_call_p] = lambda *a, call_jaxpr, **_: list(call_jaxpr.out_avals)
ad.jvp_rules[custom_vjp_call_p] = _cvjp_jvp
batching.batch_rules[custom_vjp_call_p] = _cvjp_batch
lowering.register(custom_vjp_call_p, _cvjp_impl)


class custom_vjp(_CustomFunction):  # noqa: N801  (JAX's name)
    """A function with a custom VJP (fwd/bwd) rule, like jax.custom_vjp.

    ``fwd(*args) -> (out, residuals)``; ``bwd(*nondiff_args, residuals, out_ct)``
    returns a tuple with one cotangent per (differentiable) argument.

    Example:
      >>> import minigrad_jax as mg
      >>> from minigrad_jax._src.custom_derivatives import custom_vjp
      >>> @custom_vjp
      ... def f(x):
      ...     return x * x
      >>> f.defvjp(lambda x: (f(x), x), lambda x, g: (3.0 * g,))
      >>> float(mg.grad(f)(2.0))
      3.0
    """

    kind = "custom_vjp"

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd, symbolic_zeros=False):
        """Set ``fwd(*args) -> (out, res)`` and ``bwd(*nondiff_args, res, g) -> tuple``."""
        if symbolic_zeros:
            raise NotImplementedError("custom_vjp.defvjp: symbolic_zeros=True is not supported")
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        nondiff, flat, in_tree, _, out_tree, hoisted, consts, name = self._trace_call(
            args, kwargs, self.fwd, "VJP"
        )
        ctx = (nondiff, in_tree, out_tree, [get_aval(x) for x in flat], name, {})
        outs = custom_vjp_call_p.bind(
            *consts,
            *flat,
            call_jaxpr=hoisted,
            fwd=functools.partial(self._flat_fwd, ctx),
            bwd=functools.partial(self._flat_bwd, ctx),
            num_consts=len(consts),
            symbolic_zeros=False,
            name=name,
        )
        return tree_util.tree_unflatten(out_tree, _top(outs))

    def _flat_fwd(self, ctx, primals):
        nondiff, in_tree, out_tree, _, name, store = ctx
        d = tree_util.tree_unflatten(in_tree, primals)
        res = self.fwd(*_merge(self.nondiff_argnums, nondiff, d))
        if not isinstance(res, (tuple, list)) or len(res) != 2:
            raise TypeError(
                f"Custom VJP fwd rule {name} must produce a pair (list or tuple of "
                f"length two) representing primal outputs and residuals, got "
                f"{type(res).__name__}"
            )
        out, residuals = res
        flat_out, tree_o = tree_util.tree_flatten(out)
        _check_tree("the custom_vjp fwd rule's primal output", tree_o, out_tree, name)
        flat_res, store["res_tree"] = tree_util.tree_flatten(residuals)
        return flat_out, flat_res

    def _flat_bwd(self, ctx, res, cts):
        nondiff, in_tree, out_tree, in_avals, name, store = ctx
        r = tree_util.tree_unflatten(store["res_tree"], res)
        g = tree_util.tree_unflatten(out_tree, cts)
        out = self.bwd(*nondiff, r, g)
        n = len(tree_util.tree_unflatten(in_tree, [0] * in_tree.num_leaves))
        if not isinstance(out, tuple) or len(out) != n:
            got = type(out).__name__ + (f" of length {len(out)}" if isinstance(out, tuple) else "")
            raise TypeError(
                f"Custom VJP bwd rule {name} must produce a tuple with one entry per "
                f"differentiable argument of the primal function ({n}), got {got}"
            )
        return _flatten_bwd_out(out, in_tree, in_avals, name)


def _flatten_bwd_out(out, in_tree, in_avals, name):
    primal_args = tree_util.tree_unflatten(in_tree, list(range(in_tree.num_leaves)))
    flat = []
    for i, (arg, ct) in enumerate(zip(primal_args, out, strict=False)):
        idx = tree_util.tree_leaves(arg)
        if ct is None:
            flat += [ad.zeros_like_aval(ad.tangent_aval(in_avals[j])) for j in idx]
            continue
        leaves, tree = tree_util.tree_flatten(ct)
        if tree != tree_util.tree_structure(arg):
            raise TypeError(
                f"Custom VJP bwd rule {name}: output entry {i} has pytree structure "
                f"{tree}, but the primal input has {tree_util.tree_structure(arg)}"
            )
        for j, leaf in zip(idx, leaves, strict=False):
            want, got = in_avals[j], get_aval(leaf)
            if got.shape != want.shape:
                raise ValueError(
                    f"Custom VJP bwd rule {name} must produce cotangents with the "
                    f"shapes of the primal inputs: entry {i} expected shape "
                    f"{want.str_short()} but got {got.str_short()}"
                )
            flat.append(leaf)
    return flat
