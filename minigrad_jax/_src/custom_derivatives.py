"""custom_jvp and custom_vjp: user-written derivative rules.

``custom_jvp_call`` carries the function (as a ``FunJaxpr``: traced to a jaxpr
only when a transform needs one) and a Python callable for the rule. As in
JAX, each trace runs just what it needs: evaluation calls the function,
differentiation calls only the rule (which is ordinary traceable code, so
linearize/grad and higher order go through it), staging traces the function
once. ``custom_vjp_call`` runs ``fwd`` under differentiation and emits
``custom_lin``, a primitive linear in the tangents whose transpose rule calls
``bwd`` on the saved residuals.
"""

from __future__ import annotations

import functools

from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api_util import wraps
from minigrad_jax._src.core import Primitive, get_aval
from minigrad_jax._src.interpreters import (
    ad,
    batching,
    debug_nans,
    higher_order,
    jaxpr_util,
    lowering,
)
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import Zero
from minigrad_jax._src.ir import ClosedJaxpr, eval_jaxpr
from minigrad_jax._src.traceback_util import api_boundary

__all__ = ["custom_jvp", "custom_vjp", "custom_jvp_call_p", "custom_vjp_call_p", "custom_lin_p"]


class FunJaxpr:
    """A flat function standing for a call jaxpr, traced only when a transform needs it.

    Evaluation calls ``fun`` directly and differentiation calls only the rule,
    so the function runs as often as in JAX (prints in it appear once).
    """

    __slots__ = ("fun", "in_avals", "name", "_closed")

    def __init__(self, fun, in_avals, name):
        self.fun, self.in_avals, self.name, self._closed = fun, list(in_avals), name, None

    def closed(self) -> ClosedJaxpr:
        if self._closed is None:
            self._closed = pe.trace_to_jaxpr(self.fun, self.in_avals, self.name)
        return self._closed

    @property
    def out_avals(self):
        return self.closed().out_avals

    def __str__(self):
        return str(self.closed())


def call_fun(call_jaxpr):
    """The flat function a ``call_jaxpr`` param stands for."""
    if type(call_jaxpr) is FunJaxpr:
        return call_jaxpr.fun
    return lambda *args: eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)


def _impl(*args, call_jaxpr, **_):
    if type(call_jaxpr) is FunJaxpr:
        return list(call_jaxpr.fun(*args))  # raw outputs, as JAX returns them eagerly
    return lowering.replay_closed(call_jaxpr, *args)


def _abstract_eval(*avals, call_jaxpr, **_):
    return list(call_jaxpr.out_avals)


def _staging_rule(prim):
    """Staged, the function becomes a jaxpr; values it closes over become leading operands."""

    def rule(trace, args, params):
        call_jaxpr = params["call_jaxpr"]
        if type(call_jaxpr) is not FunJaxpr:
            return trace.stage(prim, args, params)
        hoisted, consts = jaxpr_util.hoist_consts(call_jaxpr.closed())
        staged = dict(params, call_jaxpr=hoisted, num_consts=params["num_consts"] + len(consts))
        return trace.stage(prim, [*consts, *args], staged)

    return rule


def _register(prim, jvp_rule, batch_rule):
    higher_order.register(
        prim,
        abstract_eval=_abstract_eval,
        lower=_impl,
        jvp=jvp_rule,
        batch=batch_rule,
        staging=_staging_rule(prim),
        deopt=debug_nans.call_deopt("call_jaxpr"),
    )


def _record_tree(store, tree, name):
    """The output tree, from whichever of the function and its rule ran first."""
    known = store.get("tree")
    if known is None:
        store["tree"] = tree
    elif known != tree:
        raise TypeError(
            f"{name}: the custom rule's primal output has pytree structure {tree}, "
            f"but the function's output has {known}"
        )


def _named(fn, rule):
    fn.__name__ = fn.__qualname__ = getattr(rule, "__name__", type(rule).__name__)
    return fn


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
    nd, d = dict(zip(nondiff_argnums, nondiff)), iter(diff)
    return [nd[i] if i in nd else next(d) for i in range(len(nondiff) + len(diff))]


def _check_tree(what, got, want, name):
    if got != want:
        raise TypeError(
            f"{name}: {what} must have the same pytree structure as the primal "
            f"output {want}, got {got}"
        )


def _vmap_to_front(fun, args, dims, axis_size, force=None):
    """vmap ``fun`` over ``args`` mapped at ``dims``; mapped outputs at axis 0.

    Returns (outputs, out_batched); ``force`` (True, or per output) broadcasts unmapped ones.
    """
    outs, odims = batching.vmap_flat(fun, args, dims, axis_size)
    force = [bool(force)] * len(outs) if force in (None, True) else force
    batched = [d is not None or f for d, f in zip(odims, force)]
    moved = [
        batching.matchaxis(o, d, 0, axis_size) if b else o for o, d, b in zip(outs, odims, batched)
    ]
    return moved, batched


# ---------------------------------------------------------------------------
# custom_jvp


custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)


def _cjvp_jvp(primals, tangents, *, call_jaxpr, jvp, num_consts, symbolic_zeros, name):
    # Tangents of closed-over values (the consts) are not seen by the rule, as in JAX.
    return jvp(list(primals[num_consts:]), list(tangents[num_consts:]))


def _cjvp_batch(axis_size, args, dims, *, call_jaxpr, jvp, num_consts, symbolic_zeros, name):
    """Unmapped outputs stay unmapped; the batched function and the batched rule record
    which outputs are mapped when the parent trace runs one of them (during the bind)."""
    fun, n = call_fun(call_jaxpr), len(args) - num_consts
    out_batched = []

    def batched_fun(*xs):
        outs, out_batched[:] = _vmap_to_front(fun, xs, dims, axis_size)
        return outs

    def batched_jvp(primals, tangents):
        p_dims = list(dims[num_consts:])
        nz = [type(t) is not Zero for t in tangents]
        t_dims = [d for d, z in zip(p_dims, nz) if z]

        def f(*pt):
            ts = iter(pt[n:])
            t_in = [next(ts) if z else Zero(ad.tangent_aval(get_aval(p))) for p, z in zip(pt, nz)]
            out, t_out = jvp(list(pt[:n]), t_in)
            return [*out, *(ad.instantiate(t) for t in t_out)]

        nz_t = [t for t in tangents if type(t) is not Zero]
        outs, b = _vmap_to_front(f, [*primals, *nz_t], p_dims + t_dims, axis_size)
        k = len(outs) // 2
        both = [x or y for x, y in zip(b[:k], b[k:])]
        if out_batched:  # the function's outputs were staged first: agree with them
            both = [x or y for x, y in zip(both, out_batched)]
        outs = [
            batching.matchaxis(o, 0 if ob else None, 0, axis_size) if want else o
            for o, ob, want in zip(outs, b, both + both)
        ]
        out_batched[:] = both
        return outs[:k], [_zero_if_f0(t, o) for t, o in zip(outs[k:], outs[:k])]

    in_avals = [get_aval(a) for a in args]
    outs = custom_jvp_call_p.bind(
        *args,
        call_jaxpr=FunJaxpr(batched_fun, in_avals, name),
        jvp=_named(batched_jvp, jvp),
        num_consts=num_consts,
        symbolic_zeros=symbolic_zeros,
        name=name,
    )
    return outs, jaxpr_util.out_dims_of(out_batched)


def _zero_if_f0(t, o):
    return Zero(ad.tangent_aval(get_aval(o))) if get_aval(t).dtype == core.float0 else t


_register(custom_jvp_call_p, _cjvp_jvp, _cjvp_batch)


class _CustomFunction:
    """What custom_jvp and custom_vjp share: the wrapped function, its
    non-differentiable arguments, and the flat call the primitive carries."""

    kind = "custom"

    def __init__(self, fun, nondiff_argnums=()):
        if not callable(fun):
            raise TypeError(f"{self.kind} expects a callable, got {type(fun).__name__}")
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        wraps(fun)(self)

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def _flat_call(self, args, kwargs, rule, what):
        """(nondiff, flat args, in_tree, FunJaxpr of the function, out-tree store, name)."""
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
        store = {}

        def primal(*leaves):
            d = tree_util.tree_unflatten(in_tree, leaves)
            out = self.fun(*_merge(self.nondiff_argnums, nondiff, d))
            flat_out, tree = tree_util.tree_flatten(out)
            _record_tree(store, tree, name)
            for leaf in flat_out:
                get_aval(leaf)  # a clear TypeError for a non-array output
            return flat_out

        fun = FunJaxpr(primal, [get_aval(x) for x in flat], name)
        return nondiff, flat, in_tree, fun, store, name


class custom_jvp(_CustomFunction):  # noqa: N801  (JAX's name)
    """A function with a custom JVP rule, like jax.custom_jvp.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> @mg.custom_jvp
      ... def f(x):
      ...     return x * x
      >>> _ = f.defjvp(lambda primals, tangents: (f(*primals), 10.0 * tangents[0]))
      >>> float(f(3.0)), float(mg.grad(f)(3.0))
      (9.0, 10.0)

      ``defjvp`` also works as a decorator; here a numerically stable derivative
      for ``log(1 + exp(x))``, whose naive derivative is ``nan`` at 100:

      >>> @mg.custom_jvp
      ... def log1pexp(x):
      ...     return mnp.log(1.0 + mnp.exp(x))
      >>> @log1pexp.defjvp
      ... def log1pexp_jvp(primals, tangents):
      ...     (x,), (t,) = primals, tangents
      ...     return log1pexp(x), t * (1.0 - 1.0 / (1.0 + mnp.exp(x)))
      >>> mg.grad(log1pexp)(100.0)
      Array(1., dtype=float32, weak_type=True)
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
            for fn, t in zip(jvps, tangents):
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

    @api_boundary
    def __call__(self, *args, **kwargs):
        nondiff, flat, in_tree, fun, store, name = self._flat_call(args, kwargs, self.jvp, "JVP")
        rule = functools.partial(self._flat_jvp, nondiff, in_tree, store, name)
        outs = custom_jvp_call_p.bind(
            *flat,
            call_jaxpr=fun,
            jvp=_named(rule, self.jvp),
            num_consts=0,
            symbolic_zeros=False,
            name=name,
        )
        return tree_util.tree_unflatten(store["tree"], outs)

    def _flat_jvp(self, nondiff, in_tree, store, name, primals, tangents):
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
        _record_tree(store, tree_o, name)
        _check_tree("the custom_jvp rule's tangent output", tree_t, tree_o, name)
        return flat_out, [_checked_tangent(o, t, name) for o, t in zip(flat_out, flat_t)]


def _checked_tangent(out, t, name):
    a, ta = get_aval(out), get_aval(t)
    want = ad.tangent_aval(a)
    if ta.shape != a.shape or (ta.dtype != want.dtype and core.is_float(a.dtype)):
        raise TypeError(  # JAX's class and wording
            f"Custom JVP rule {name} must produce primal and tangent outputs with "
            f"corresponding shapes and dtypes. Expected {want.str_short()} (tangent type of "
            f"{a.str_short()}) but got {ta.str_short()}."
        )
    return t if core.is_float(a.dtype) else Zero(want)


# ---------------------------------------------------------------------------
# custom_vjp


custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_lin_p = Primitive("custom_lin", multiple_results=True)


def _cvjp_jvp(primals, tangents, *, call_jaxpr, fwd, bwd, num_consts, symbolic_zeros, name):
    args, targs = primals[num_consts:], tangents[num_consts:]
    out, res = fwd(list(args))
    mask = tuple(core.is_float(get_aval(a).dtype) for a in args)
    tin = [ad.instantiate(t) for t, m in zip(targs, mask) if m]
    out_avals = [get_aval(o) for o in out]
    out_float = [core.is_float(a.dtype) for a in out_avals]
    touts = custom_lin_p.bind(
        *res,
        *tin,
        num_res=len(res),
        bwd=bwd,
        mask=mask,
        in_avals=tuple(get_aval(a) for a in args),
        out_avals=tuple(ad.tangent_aval(a) for a, f in zip(out_avals, out_float) if f),
        name=name,
    )
    return out, jaxpr_util.tangents_out(out_float, touts, out_avals)


def _lin_impl(*args, num_res, bwd, mask, in_avals, out_avals, name):
    # custom_lin is only ever evaluated (or batched, under jacfwd) when tangents are pushed
    # forward through it: forward mode, which a custom_vjp function does not support.
    raise TypeError(f"can't apply forward-mode autodiff (jvp) to a custom_vjp function ({name}).")


def _lin_batch(axis_size, args, dims, **params):
    return _lin_impl(*args, **params)


def _lin_transpose(cts, *args, num_res, bwd, mask, in_avals, out_avals, name):
    res = list(args[:num_res])
    # bwd is user code: our numpy constants (the seed 1.0) reach it as jax.Arrays
    cts = lowering.as_jax_arrays([ad.instantiate(c) for c in cts], keep_python_scalars=True)
    cts_in = bwd(res, cts)
    return [None] * num_res + [c for c, m in zip(cts_in, mask) if m]


core.abstract_eval_rules[custom_lin_p] = lambda *a, out_avals, **_: list(out_avals)
ad.transpose_rules[custom_lin_p] = _lin_transpose
batching.batch_rules[custom_lin_p] = _lin_batch
lowering.register(custom_lin_p, _lin_impl)


def _cvjp_batch(axis_size, args, dims, *, call_jaxpr, fwd, bwd, num_consts, symbolic_zeros, name):
    # Every operand gets the batch axis, so bwd's cotangents are all batched: an unmapped
    # operand is a broadcast, whose transpose sums its cotangent over the batch.
    args = [batching.bdim_at_front(a, d, axis_size) for a, d in zip(args, dims)]
    fun, in_dims = call_fun(call_jaxpr), [0] * len(args)

    def batched_fun(*xs):
        return _vmap_to_front(fun, xs, in_dims, axis_size, True)[0]

    def fwd_b(primals):
        n_out = []

        def f(*p):
            out, res = fwd(list(p))
            n_out.append(len(out))
            return [*out, *res]

        outs, _ = _vmap_to_front(f, primals, [0] * len(primals), axis_size, True)
        return outs[: n_out[0]], outs[n_out[0] :]

    def bwd_b(res, cts):
        k = len(res)
        f = lambda *a: bwd(list(a[:k]), list(a[k:]))
        return _vmap_to_front(f, [*res, *cts], [0] * (k + len(cts)), axis_size, True)[0]

    in_avals = [get_aval(a) for a in args]
    outs = custom_vjp_call_p.bind(
        *args,
        call_jaxpr=FunJaxpr(batched_fun, in_avals, name),
        fwd=_named(fwd_b, fwd),
        bwd=_named(bwd_b, bwd),
        num_consts=num_consts,
        symbolic_zeros=symbolic_zeros,
        name=name,
    )
    return outs, [0] * len(outs)


_register(custom_vjp_call_p, _cvjp_jvp, _cvjp_batch)


class custom_vjp(_CustomFunction):  # noqa: N801  (JAX's name)
    """A function with a custom VJP (fwd/bwd) rule, like jax.custom_vjp.

    ``fwd(*args) -> (out, residuals)``; ``bwd(*nondiff_args, residuals, out_ct)``
    returns a tuple with one cotangent per (differentiable) argument.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> @mg.custom_vjp
      ... def f(x):
      ...     return x * x
      >>> f.defvjp(lambda x: (f(x), x), lambda x, g: (3.0 * g,))
      >>> float(f(2.0)), float(mg.grad(f)(2.0))
      (4.0, 3.0)

      The identity in the forward pass, with its gradient clipped to [-1, 1]:

      >>> @mg.custom_vjp
      ... def clip_gradient(x):
      ...     return x
      >>> clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (mnp.clip(g, -1.0, 1.0),))
      >>> mg.grad(lambda x: 5.0 * clip_gradient(x))(2.0)
      Array(1., dtype=float32, weak_type=True)
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

    @api_boundary
    def __call__(self, *args, **kwargs):
        nondiff, flat, in_tree, fun, store, name = self._flat_call(args, kwargs, self.fwd, "VJP")
        ctx = (nondiff, in_tree, [get_aval(x) for x in flat], name, store)
        outs = custom_vjp_call_p.bind(
            *flat,
            call_jaxpr=fun,
            fwd=_named(functools.partial(self._flat_fwd, ctx), self.fwd),
            bwd=_named(functools.partial(self._flat_bwd, ctx), self.bwd),
            num_consts=0,
            symbolic_zeros=False,
            name=name,
        )
        return tree_util.tree_unflatten(store["tree"], outs)

    def _flat_fwd(self, ctx, primals):
        nondiff, in_tree, _, name, store = ctx
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
        _record_tree(store, tree_o, name)
        flat_res, store["res_tree"] = tree_util.tree_flatten(residuals)
        return flat_out, flat_res

    def _flat_bwd(self, ctx, res, cts):
        nondiff, in_tree, in_avals, name, store = ctx
        r = tree_util.tree_unflatten(store["res_tree"], res)
        g = tree_util.tree_unflatten(store["tree"], cts)
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
