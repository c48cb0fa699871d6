"""Interop with JAX: JAX functions as one minigrad_jax primitive, and back.

``from_jax(jax_fn)`` wraps a function written with JAX (an Optax update,
``jax.random``, ...) so that every minigrad_jax transform sees it as a single
primitive, ``jax_call``, whose params are the flattened function and its
pytree structure. Each rule asks JAX to transform the function and wraps the
result as a new ``jax_call``, so the rules nest to any depth:

- abstract eval: ``jax.eval_shape``;
- eager impl and lowering: call the function on the JAX values;
- JVP: a ``jax_call`` of ``jax.jvp``;
- partial evaluation (linearize/grad): the primal outputs are computed now,
  the tangent map is staged as a ``jax_call`` whose leading inputs are the
  primal inputs (the residuals, passed explicitly);
- transpose: ``jax.linear_transpose`` of the linear map;
- batching: ``jax.vmap``.

``to_jax(mg_fn)`` goes the other way: the returned function can be traced by
``jax.jit`` / ``jax.grad`` / ``jax.vmap`` because our eager evaluation runs each
primitive's jax.lax rule, and those accept JAX tracers.
"""

from __future__ import annotations

import jax
import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api_util import split_static, wraps
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, higher_order, jaxpr_util
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.lax import structural
from minigrad_jax._src.traceback_util import public_function

jax_call_p = Primitive("jax_call", multiple_results=True)


# ---------------------------------------------------------------------------
# the function a jax_call equation carries


class JaxFun:
    """A flat JAX function (list of arrays -> list of arrays), hashable by identity.

    ``call`` is the only thing the rules need; ``name`` is what the printer
    shows. Derived functions (jvp, tangent map, transpose, vmap) are memoized
    on their parent so repeated traces produce equal params.
    """

    __slots__ = ("call", "name", "jvp_spec", "_out", "_derived", "__weakref__")

    def __init__(self, call, name):
        self.call = call
        self.name = name
        self.jvp_spec = None  # (base fun, in avals, nonzeros) for a jvp function
        self._out = {}  # in avals -> (out avals, out ShapeDtypeStructs)
        self._derived = {}

    def __repr__(self):
        return self.name

    def out_avals(self, avals):
        hit = self._out.get(avals)
        if hit is None:
            specs = [jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in avals]
            try:
                outs = jax.eval_shape(lambda *xs: list(self.call(*xs)), *specs)
            except (TypeError, ValueError) as e:  # name the wrapped function and its inputs
                shapes = ", ".join(a.str_short() for a in avals)
                raise type(e)(f"from_jax({self.name}) failed on inputs ({shapes}): {e}") from e
            hit = [ShapedArray(o.shape, o.dtype, getattr(o, "weak_type", False)) for o in outs]
            self._out[avals] = hit
        return hit

    def derived(self, key, make):
        hit = self._derived.get(key)
        if hit is None:
            hit = self._derived[key] = make()
        return hit


def _jax_call_abstract_eval(*avals, fun, out_tree):
    return fun.out_avals(tuple(avals))


def _jax_call_impl(*args, fun, out_tree):
    return list(fun.call(*args))


def bind_jax_call(fun: JaxFun, args, out_tree=None):
    return jax_call_p.bind(*args, fun=fun, out_tree=out_tree)


# ---------------------------------------------------------------------------
# JVP


def _zero_tangent(aval):
    if core.is_float(aval.dtype):
        return jax.numpy.zeros(aval.shape, aval.dtype)
    return np.zeros(aval.shape, jax.dtypes.float0)


def _jvp_fun(fun: JaxFun, in_avals, nonzeros):
    """(primals, nonzero tangents) -> (outputs, tangents of the float outputs)."""

    def make():
        n = len(in_avals)
        out_avals = fun.out_avals(in_avals)
        out_float = [core.is_float(a.dtype) for a in out_avals]

        def call(*args):
            primals, nz = args[:n], iter(args[n:])
            tangents = [
                next(nz) if m else _zero_tangent(a)
                for a, m in zip(in_avals, nonzeros, strict=False)
            ]
            outs, touts = jax.jvp(lambda *p: list(fun.call(*p)), list(primals), tangents)
            return [*outs, *(t for t, fl in zip(touts, out_float, strict=False) if fl)]

        jf = JaxFun(call, f"jvp({fun.name})")
        jf.jvp_spec = (fun, in_avals, tuple(nonzeros))
        return jf, out_float

    return fun.derived(("jvp", in_avals, tuple(nonzeros)), make)


def _tangent_fun(fun: JaxFun, in_avals, nonzeros):
    """(primals, nonzero tangents) -> tangents of the float outputs: linear in the tangents."""

    def make():
        jf, out_float = _jvp_fun(fun, in_avals, nonzeros)
        n_out = len(out_float)

        def call(*args):
            return list(jf.call(*args))[n_out:]

        return JaxFun(call, f"jvp_tangents({fun.name})"), out_float

    return fun.derived(("tangent", in_avals, tuple(nonzeros)), make)


def _jax_call_jvp(primals, tangents, *, fun, out_tree):
    in_avals = tuple(core.get_aval(p) for p in primals)
    nonzeros, nz_tangents = jaxpr_util.nonzero_tangents(tangents)
    jf, out_float = _jvp_fun(fun, in_avals, nonzeros)
    outs = bind_jax_call(jf, [*primals, *nz_tangents])
    n = len(out_float)
    out_avals = [core.get_aval(o) for o in outs[:n]]
    return outs[:n], jaxpr_util.tangents_out(out_float, outs[n:], out_avals)


# ---------------------------------------------------------------------------
# partial evaluation: primal part now, tangent map staged with the primals as residuals


def _jax_call_partial_eval(trace, args, params):
    fun = params["fun"]
    unknown = [isinstance(a, pe.JaxprTracer) and a._trace is trace for a in args]
    spec = fun.jvp_spec
    if spec is not None:
        base, in_avals, nonzeros = spec
        n = len(in_avals)
        if not any(unknown[:n]):
            primals, tangents = args[:n], args[n:]
            outs = core.bind_in(trace.parent, jax_call_p, primals, {"fun": base, "out_tree": None})
            tf, out_float = _tangent_fun(base, in_avals, nonzeros)
            touts = trace.stage(jax_call_p, [*primals, *tangents], {"fun": tf, "out_tree": None})
            return [*outs, *touts]
    return trace.stage(jax_call_p, args, params)


# ---------------------------------------------------------------------------
# transpose: jax.linear_transpose of the map from the linear inputs


def _transpose_fun(fun: JaxFun, in_avals, linear):
    def make():
        lin_avals = [a for a, lin in zip(in_avals, linear, strict=False) if lin]
        n_nonlin = len(in_avals) - len(lin_avals)
        specs = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in lin_avals]

        def call(*args):
            nonlin, cts = args[:n_nonlin], list(args[n_nonlin:])

            def f_lin(*lin):
                it_l, it_n = iter(lin), iter(nonlin)
                full = [next(it_l) if is_lin else next(it_n) for is_lin in linear]
                return list(fun.call(*full))

            return list(jax.linear_transpose(f_lin, *specs)(cts))

        return JaxFun(call, f"transpose({fun.name})")

    return fun.derived(("transpose", in_avals, tuple(linear)), make)


def _jax_call_transpose(cts, *args, fun, out_tree):
    linear = tuple(is_undefined(a) for a in args)
    in_avals = tuple(a.aval if is_undefined(a) else core.get_aval(a) for a in args)
    out_avals = fun.out_avals(in_avals)
    if all(type(c) is Zero for c in cts):
        return [Zero(a) if lin else None for a, lin in zip(in_avals, linear)]
    cts = [_match_dtype(ad.instantiate(c), a) for c, a in zip(cts, out_avals)]
    tf = _transpose_fun(fun, in_avals, linear)
    cts_in = bind_jax_call(tf, [*jaxpr_util.select(args, linear, False), *cts])
    return jaxpr_util.merge(linear, cts_in, [None] * len(args))


def _match_dtype(ct, aval):
    if core.get_aval(ct).dtype == aval.dtype:
        return ct
    return structural.convert_element_type(ct, aval.dtype)


# ---------------------------------------------------------------------------
# batching: jax.vmap


def _mapped_outputs(fun: JaxFun, in_avals, mapped):
    """Which outputs depend on a mapped input: a forward walk over JAX's jaxpr of ``fun``.

    Conservative: every output of an equation that reads a dependent value is
    dependent, so an unmapped output is never wrongly declared unmapped.
    """

    def make():
        specs = [jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in in_avals]
        closed = jax.make_jaxpr(lambda *xs: list(fun.call(*xs)))(*specs)
        jaxpr = closed.jaxpr
        dep = {id(v) for v, m in zip(jaxpr.invars, mapped, strict=False) if m}
        for eqn in jaxpr.eqns:
            if any(id(v) in dep for v in eqn.invars):
                dep.update(id(v) for v in eqn.outvars)
        return [id(v) in dep for v in jaxpr.outvars]

    return fun.derived(("mapped", in_avals, tuple(mapped)), make)


def _batch_fun(fun: JaxFun, dims, axis_size, out_mapped):
    def make():
        out_axes = [0 if m else None for m in out_mapped]

        def call(*args):
            return list(
                jax.vmap(
                    lambda *a: list(fun.call(*a)),
                    in_axes=list(dims),
                    out_axes=out_axes,
                    axis_size=axis_size,
                )(*args)
            )

        return JaxFun(call, f"vmap({fun.name})")

    return fun.derived(("vmap", tuple(dims), axis_size), make)


def _jax_call_batch(axis_size, args, dims, *, fun, out_tree):
    in_avals = tuple(
        core.get_aval(a) if d is None else _unbatched_aval(core.get_aval(a), d)
        for a, d in zip(args, dims, strict=False)
    )
    out_mapped = _mapped_outputs(fun, in_avals, [d is not None for d in dims])
    bf = _batch_fun(fun, dims, axis_size, out_mapped)
    outs = bind_jax_call(bf, args)
    return outs, [0 if m else None for m in out_mapped]


def _unbatched_aval(aval, d):
    return ShapedArray(aval.shape[:d] + aval.shape[d + 1 :], aval.dtype, aval.weak_type)


higher_order.register(
    jax_call_p,
    abstract_eval=_jax_call_abstract_eval,
    jvp=_jax_call_jvp,
    transpose=_jax_call_transpose,
    partial_eval=_jax_call_partial_eval,
    batch=_jax_call_batch,
    lower=_jax_call_impl,
)


# ---------------------------------------------------------------------------
# the public wrappers


def _is_array_leaf(x):
    return isinstance(
        x, (core.Tracer, jax.Array, np.ndarray, np.generic, bool, int, float, complex)
    )


def from_jax(jax_fn, static_argnums=()):
    """Make a JAX function callable inside every minigrad_jax transform, as one primitive.

    The function may take and return pytrees of arrays (an Optax update, a
    ``jax.random`` draw, ...). Under ``mg.grad`` / ``mg.jvp`` / ``mg.vmap`` /
    ``mg.jit`` the JAX function is transformed by JAX itself (``jax.jvp``,
    ``jax.linear_transpose``, ``jax.vmap``) and compiled inline.

    Args:
      jax_fn: a function written with JAX.
      static_argnums: positional arguments passed as hashable Python values
        (shapes, flags); every other leaf must be an array or a Python number.

    Returns:
      A function with the same signature that returns ``jax.Array`` pytrees.

    Example:
      >>> import jax, minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> f = mg.from_jax(jax.numpy.sin)
      >>> mg.grad(f)(0.0)
      Array(1., dtype=float32, weak_type=True)
      >>> mg.jit(mg.grad(lambda x: f(x) * 2.0))(0.0)
      Array(2., dtype=float32, weak_type=True)
      >>> mg.vmap(f)(mnp.arange(3.0))
      Array([0.        , 0.84147096, 0.9092974 ], dtype=float32)
    """
    if not callable(jax_fn):
        raise TypeError(f"from_jax expects a callable, got {type(jax_fn).__name__}")
    name = getattr(jax_fn, "__name__", type(jax_fn).__name__)
    statics_nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    cache = {}

    @public_function
    @wraps(jax_fn)
    def wrapped(*args, **kwargs):
        statics = split_static(args, statics_nums, f"from_jax({name})")
        static_vals = tuple((i, args[i]) for i in statics)
        for i, v in static_vals:
            try:
                hash(v)
            except TypeError:
                raise TypeError(
                    f"from_jax({name}): static argument {i} of type "
                    f"{type(v).__name__} is not hashable"
                ) from None
        dyn = [a for i, a in enumerate(args) if i not in dict(static_vals)]
        flat, in_tree = tree_util.tree_flatten((tuple(dyn), kwargs))
        for x in flat:
            if not _is_array_leaf(x):
                raise TypeError(
                    f"from_jax({name}): argument leaf of type {type(x).__name__} is not an "
                    "array; pass it with static_argnums or close over it"
                )
        key = (in_tree, static_vals)
        entry = cache.get(key)
        if entry is None:
            entry = cache[key] = _make_flat(jax_fn, name, in_tree, static_vals, len(args))
        fun, out_tree = entry
        tree = out_tree(tuple(core.get_aval(x) for x in flat))
        outs = bind_jax_call(fun, flat, tree)
        return tree_util.tree_unflatten(tree, outs)

    wrapped.jax_fn = jax_fn
    return wrapped


def _make_flat(jax_fn, name, in_tree, static_vals, nargs):
    statics = dict(static_vals)
    last_tree = []

    def call(*flat):
        dyn, kwargs = tree_util.tree_unflatten(in_tree, flat)
        it = iter(dyn)
        args = [statics[i] if i in statics else next(it) for i in range(nargs)]
        leaves, tree = tree_util.tree_flatten(jax_fn(*args, **kwargs))
        last_tree[:] = [tree]
        return leaves

    fun = JaxFun(call, name)
    out_trees = {}

    def out_tree(avals):
        tree = out_trees.get(avals)
        if tree is None:
            fun._out.pop(avals, None)
            fun.out_avals(avals)  # traces ``call`` with jax.eval_shape
            tree = out_trees[avals] = last_tree[0]
        return tree

    return fun, out_tree


def to_jax(mg_fn):
    """A minigrad_jax function as a JAX function: ``jax.jit`` / ``jax.grad`` / ``jax.vmap`` work.

    Our eager evaluation runs each primitive's jax.lax rule, and those accept
    JAX tracers, so JAX sees ordinary jax.lax operations. Outputs are
    ``jax.Array``s (or JAX tracers) in the same pytree structure.

    Example:
      >>> import jax, minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> jax.grad(mg.to_jax(lambda x: x * x))(3.0)
      Array(6., dtype=float32, weak_type=True)
      >>> g = mg.to_jax(lambda x: mnp.sin(x) * x)
      >>> jax.jit(g)(1.0)
      Array(0.84147096, dtype=float32, weak_type=True)
      >>> jax.vmap(g)(jax.numpy.arange(3.0))
      Array([0.        , 0.84147096, 1.8185948 ], dtype=float32)
    """
    if not callable(mg_fn):
        raise TypeError(f"to_jax expects a callable, got {type(mg_fn).__name__}")

    @wraps(mg_fn)
    def wrapped(*args, **kwargs):
        leaves = tree_util.tree_leaves((args, kwargs))
        if any(isinstance(x, core.Tracer) for x in leaves):
            return mg_fn(*args, **kwargs)  # called inside one of our transforms
        # JAX's values only (JAX may be tracing them): our eager evaluation, whatever
        # transform of ours happens to be running around the JAX call.
        out = core.call_in(core.EVAL_TRACE, mg_fn, *args, **kwargs)
        return tree_util.tree_map(_as_jax, out)

    return wrapped


def _as_jax(x):
    if isinstance(x, jax.Array) or isinstance(x, jax.core.Tracer):
        return x
    if type(x) is core.WeakArray:
        return jax.numpy.asarray(np.asarray(x).item(), dtype=x.dtype)
    if isinstance(x, (np.ndarray, np.generic, bool, int, float, complex)):
        return jax.numpy.asarray(x)
    return x
