"""The transforms of API.md: make_jaxpr, jvp, linearize, vjp, grad, vmap, ..."""

from __future__ import annotations

import jax
import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api_util import (
    FlatFun,
    avals_of,
    check_hashable,
    flatten_axes,
    flatten_call,
    normalize_argnums,
    split_static,
    wraps,
)
from minigrad_jax._src.core import get_aval
from minigrad_jax._src.interpreters import ad, batching
from minigrad_jax._src.interpreters.ad import JVPTrace, JVPTracer, UndefinedPrimal, Zero
from minigrad_jax._src.interpreters.partial_eval import JaxprTrace, trace_to_jaxpr
from minigrad_jax._src.ir import ClosedJaxpr, eval_jaxpr

# ---------------------------------------------------------------------------
# make_jaxpr and eval_shape


def make_jaxpr(fun, static_argnums=(), return_shape=False):
    """Trace ``fun`` to a ClosedJaxpr, printed in JAX's text format.

    Args:
      fun: the function to trace (pytrees in and out).
      static_argnums: positional arguments kept as Python values (not traced).
      return_shape: also return the output's ShapeDtypeStruct pytree.

    Returns:
      A function of the same arguments returning the ClosedJaxpr.

    Example:
      >>> import minigrad_jax as mg
      >>> print(mg.make_jaxpr(mg.numpy.sin)(1.0))
      { lambda ; a:f32[]. let b:f32[] = sin a in (b,) }
    """
    static_argnums = (static_argnums,) if isinstance(static_argnums, int) else static_argnums

    @wraps(fun)
    def wrapped(*args, **kwargs):
        statics = split_static(args, static_argnums, "make_jaxpr")
        f, dyn = _bind_static(fun, args, statics)
        flat_fun, flat = flatten_call(f, dyn, kwargs)
        closed = trace_to_jaxpr(flat_fun, avals_of(flat), "make_jaxpr")
        if return_shape:
            shapes = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in closed.out_avals]
            return closed, tree_util.tree_unflatten(flat_fun.out_tree, shapes)
        return closed

    return wrapped


def _bind_static(fun, args, statics):
    if not statics:
        return fun, args
    static_vals = {i: args[i] for i in statics}
    dyn = [a for i, a in enumerate(args) if i not in static_vals]

    def f(*dyn_args, **kwargs):
        it = iter(dyn_args)
        full = [static_vals[i] if i in static_vals else next(it) for i in range(len(args))]
        return fun(*full, **kwargs)

    return f, dyn


def eval_shape(fun, *args, **kwargs):
    """Output shapes and dtypes of ``fun`` as jax.ShapeDtypeStruct, without computing it."""

    def to_aval(x):
        return core.ShapedArray(np.shape(x), x.dtype) if hasattr(x, "dtype") else get_aval(x)

    flat, tree = tree_util.tree_flatten((args, kwargs))
    flat_fun = FlatFun(lambda *a, **k: fun(*a, **k), tree)
    closed = trace_to_jaxpr(flat_fun, [to_aval(x) for x in flat], "eval_shape")
    shapes = [
        jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in closed.out_avals
    ]
    return tree_util.tree_unflatten(flat_fun.out_tree, shapes)


# ---------------------------------------------------------------------------
# jvp


def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode derivative: ``(fun(*primals), J @ tangents)``, like jax.jvp.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.jvp(mg.numpy.sin, (0.0,), (1.0,))[1]
      Array(1., dtype=float32, weak_type=True)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "primal and tangent arguments to jvp must be tuples or lists; found "
            f"{type(primals).__name__} and {type(tangents).__name__}."
        )
    flat_p, tree_p = tree_util.tree_flatten(tuple(primals))
    flat_t, tree_t = tree_util.tree_flatten(tuple(tangents))
    if tree_p != tree_t:
        raise TypeError(
            "primal and tangent arguments to jvp must have the same tree structure; "
            f"primals have {tree_p} and tangents have {tree_t}."
        )
    flat_t = [_check_tangent(p, t, "jvp") for p, t in zip(flat_p, flat_t)]
    flat_fun = FlatFun(fun, tree_util.tree_structure((tuple(primals), {})))
    src = core.user_frame_info()
    f = _aux_splitter(flat_fun, has_aux)
    out_p, out_t = ad.jvp_flat(f, flat_p, flat_t, src)
    n = f.n_main if has_aux else len(out_p)
    tree = flat_fun.out_tree
    primal_out = tree_util.tree_unflatten(tree, _materialize(out_p[:n]))
    tangent_out = tree_util.tree_unflatten(tree, [_instantiate_out(t) for t in out_t[:n]])
    if has_aux:
        return (
            primal_out,
            tangent_out,
            tree_util.tree_unflatten(f.aux_tree, _materialize(out_p[n:])),
        )
    return primal_out, tangent_out


def _check_tangent(p, t, name):
    pa = get_aval(p)
    ta = get_aval(t)
    want = ad.tangent_aval(pa)
    if pa.shape != ta.shape:
        raise ValueError(
            f"{name} called with different primal and tangent shapes; got primal shape "
            f"{pa.shape} and tangent shape {ta.shape}"
        )
    if ta.dtype != want.dtype:
        raise TypeError(
            f"primal and tangent arguments to {name} do not match; dtypes must be equal, or "
            f"in case of int/bool primal dtype the tangent dtype must be float0. Got primal "
            f"dtype {pa.dtype.name} and so expected tangent dtype {_dtype_name(want.dtype)}, "
            f"but got tangent dtype {_dtype_name(ta.dtype)} instead."
        )
    return Zero(want) if want.dtype == core.float0 else t


def _dtype_name(dtype):
    return "float0" if dtype == core.float0 else dtype.name


def _aux_splitter(flat_fun, has_aux):
    """With has_aux, outputs are [*main, *aux]; the aux part is not differentiated."""
    if not has_aux:
        return flat_fun

    def f(*args):
        a, kw = tree_util.tree_unflatten(flat_fun.in_tree, args)
        out = flat_fun.fun(*a, **kw)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(
                "has_aux=True requires the function to return a pair (output, aux); "
                f"got {type(out).__name__}"
                + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
            )
        main, aux = out
        flat_main, flat_fun.out_tree = tree_util.tree_flatten(main)
        flat_aux, f.aux_tree = tree_util.tree_flatten(aux)
        f.n_main = len(flat_main)
        return flat_main + flat_aux

    return f


def _materialize(vals):
    """Outputs at the top level are jax.Arrays, as in JAX."""
    if not core.is_top_level():
        return list(vals)
    return [v if isinstance(v, jax.Array) else jax.numpy.asarray(core.jaxable(v)) for v in vals]


def _instantiate_out(t):
    if type(t) is Zero:
        if t.aval.dtype == core.float0:
            return np.zeros(t.aval.shape, core.float0)
        t = ad.zeros_like_aval(t.aval)
    return _materialize([t])[0]


# ---------------------------------------------------------------------------
# linearize and vjp


def linearize_flat(fun, primals, source_info=None):
    """JVP with the tangent part staged: returns (primal outs, linear ClosedJaxpr, mask).

    The linear jaxpr takes the tangents of the floating-point primals (``mask``)
    and returns every output's tangent; its constvars are the residuals.
    """
    pe = JaxprTrace(core.current_trace(), False, "linearize", source_info)
    jt = JVPTrace(pe, "linearize", source_info)
    mask = [core.is_float(get_aval(p).dtype) for p in primals]
    args = [
        JVPTracer(jt, p, pe.new_arg(ad.tangent_aval(get_aval(p)))) if m else p
        for p, m in zip(primals, mask)
    ]
    try:
        with core.new_trace(jt):
            outs = fun(*args)
        out_p, out_t = ad.unpack_outputs(jt, outs)
        out_t = [_zero_tangent_value(t) if type(t) is Zero else t for t in out_t]
        linear = pe.to_jaxpr(out_t, dce=True)
    finally:
        pe.active = False
    return out_p, linear, mask


def _zero_tangent_value(z):
    if z.aval.dtype == core.float0:
        return np.zeros(z.aval.shape, core.float0)
    return ad.zeros_like_aval(z.aval)


def linearize(fun, *primals):
    """``(fun(*primals), f_jvp)`` where f_jvp evaluates the linear (tangent) jaxpr.

    Example:
      >>> import minigrad_jax as mg
      >>> y, f_jvp = mg.linearize(mg.numpy.sin, 0.0)
      >>> f_jvp(2.0)
      Array(2., dtype=float32, weak_type=True)
    """
    flat_fun, flat_p = flatten_call(fun, primals)
    out_p, linear, mask = linearize_flat(flat_fun, flat_p, core.user_frame_info())
    out_tree = flat_fun.out_tree
    in_tree = tree_util.tree_structure(tuple(primals))

    def f_jvp(*tangents):
        flat_t, tree_t = tree_util.tree_flatten(tuple(tangents))
        if tree_t != in_tree:
            raise TypeError(
                f"linearized function expects tangents of structure {in_tree}, got {tree_t}"
            )
        flat_t = [_check_tangent(p, t, "linearize") for p, t in zip(flat_p, flat_t)]
        lin_args = [t for t, m in zip(flat_t, mask) if m]
        outs = eval_jaxpr(linear.jaxpr, linear.consts, *map(ad.instantiate, lin_args))
        return tree_util.tree_unflatten(out_tree, _materialize(outs))

    f_jvp.jaxpr = linear
    return tree_util.tree_unflatten(out_tree, _materialize(out_p)), f_jvp


def vjp_flat(fun, primals, source_info=None):
    out_p, linear, mask = linearize_flat(fun, primals, source_info)

    def f_vjp(cts):
        args = [UndefinedPrimal(v.aval) for v in linear.jaxpr.invars]
        cts_in = ad.backward_pass(linear.jaxpr, linear.consts, args, cts)
        it = iter(cts_in)
        out = []
        for p, m in zip(primals, mask):
            aval = get_aval(p)
            if not m:
                out.append(np.zeros(aval.shape, core.float0))
                continue
            ct = next(it)
            out.append(ad.zeros_like_aval(aval) if type(ct) is Zero else ct)
        return out

    return out_p, f_vjp, linear


def vjp(fun, *primals, has_aux=False):
    """``(fun(*primals), f_vjp[, aux])`` where f_vjp maps output cotangents to inputs'.

    Example:
      >>> import minigrad_jax as mg
      >>> y, f_vjp = mg.vjp(lambda w: (w * 1.0 - 2.0) ** 2, 1.0)
      >>> f_vjp(1.0)
      (Array(-2., dtype=float32, weak_type=True),)
    """
    flat_fun, flat_p = flatten_call(fun, primals)
    f = _aux_splitter(flat_fun, has_aux)
    out_p, f_vjp_flat, _ = vjp_flat(f, flat_p, core.user_frame_info())
    if has_aux:
        out_p, aux = out_p[: f.n_main], out_p[f.n_main :]
    out_tree = flat_fun.out_tree
    in_tree = tree_util.tree_structure(tuple(primals))
    out_avals = [get_aval(o) for o in out_p]

    def f_vjp(ct):
        flat_ct, ct_tree = tree_util.tree_flatten(ct)
        if ct_tree != out_tree:
            raise TypeError(
                f"vjp function expects a cotangent of structure {out_tree}, got {ct_tree}"
            )
        for a, c in zip(out_avals, flat_ct):
            if get_aval(c).shape != a.shape:
                raise ValueError(
                    f"vjp cotangent shape {get_aval(c).shape} does not match the "
                    f"output shape {a.shape}"
                )
        cts = f_vjp_flat(flat_ct)
        return tree_util.tree_unflatten(in_tree, _materialize(cts))

    primal_out = tree_util.tree_unflatten(out_tree, _materialize(out_p))
    if has_aux:
        return primal_out, f_vjp, tree_util.tree_unflatten(f.aux_tree, _materialize(aux))
    return primal_out, f_vjp


# ---------------------------------------------------------------------------
# grad and value_and_grad


def value_and_grad(fun, argnums=0, has_aux=False, allow_int=False):
    """``(fun(*args), d fun / d args[argnums])`` for a scalar-valued ``fun``.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.value_and_grad(lambda w: (w * 1.0 - 2.0) ** 2)(1.0)
      (Array(1., dtype=float32, weak_type=True), Array(-2., dtype=float32, weak_type=True))
    """

    @wraps(fun)
    def wrapped(*args, **kwargs):
        single, nums = normalize_argnums(argnums, len(args), "grad")
        diff_args = tuple(args[i] for i in nums)
        for i in nums:
            _check_grad_input(args[i], i, allow_int)

        def f_diff(*dargs):
            full = list(args)
            for i, a in zip(nums, dargs):
                full[i] = a
            return fun(*full, **kwargs)

        res = vjp(f_diff, *diff_args, has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        _check_scalar_output(out)
        ct = _one_like(out)
        grads = f_vjp(ct)
        g = grads[0] if single else grads
        value = (out, res[2]) if has_aux else out
        return value, g

    return wrapped


def _one_like(out):
    """The seed cotangent 1, weakly typed when the output is (as jax.grad's)."""
    aval = get_aval(out)
    return core.weak_scalar(1, aval.dtype) if aval.weak_type else np.ones((), aval.dtype)


def _check_grad_input(x, i, allow_int):
    for leaf in tree_util.tree_leaves(x):
        dtype = get_aval(leaf).dtype
        if not core.is_float(dtype) and not allow_int:
            raise TypeError(
                f"grad requires real- or complex-valued inputs (input dtype that is a sub-dtype "
                f"of np.inexact), but got {dtype.name} for argument {i}. If you want to use "
                "Boolean- or integer-valued inputs, use vjp or set allow_int to True."
            )


def _check_scalar_output(out):
    leaves = tree_util.tree_leaves(out)
    if len(leaves) != 1:
        raise TypeError(f"Gradient only defined for scalar-output functions. Output was {out!r}.")
    aval = get_aval(leaves[0])
    if aval.shape != ():
        raise TypeError(
            f"Gradient only defined for scalar-output functions. Output had shape: {aval.shape}."
        )
    if not core.is_float(aval.dtype):
        raise TypeError(
            "grad requires real-valued outputs (output dtype that is a sub-dtype of "
            f"np.floating), but got {aval.dtype.name}."
        )


def grad(fun, argnums=0, has_aux=False, allow_int=False):
    """The gradient of a scalar-valued ``fun`` with respect to ``args[argnums]``.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.grad(lambda w: (w * 1.0 - 2.0) ** 2)(1.0)
      Array(-2., dtype=float32, weak_type=True)
    """
    vg = value_and_grad(fun, argnums, has_aux, allow_int)

    @wraps(fun)
    def wrapped(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapped


# ---------------------------------------------------------------------------
# vmap


def vmap(fun, in_axes=0, out_axes=0, axis_size=None):
    """Vectorize ``fun`` over a mapped axis of its arguments, like jax.vmap.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.vmap(lambda x: x * 2.0)(mg.numpy.arange(3.0))
      Array([0., 2., 4.], dtype=float32)
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)

    @wraps(fun)
    def wrapped(*args, **kwargs):
        if kwargs:
            raise NotImplementedError(
                "vmap of a call with keyword arguments; pass them positionally"
            )
        flat, in_tree = tree_util.tree_flatten(args)
        axes = in_axes
        if isinstance(axes, tuple) and len(axes) != len(args):
            raise ValueError(
                f"vmap in_axes must be an int, None, or a tuple of entries corresponding to "
                f"the positional arguments passed to the function, but got len(in_axes)="
                f"{len(axes)}, len(args)={len(args)}"
            )
        in_dims = flatten_axes(
            "vmap", in_tree, axes if isinstance(axes, tuple) else (axes,) * len(args)
        )
        in_dims = [_check_axis(d, x, i) for i, (d, x) in enumerate(zip(in_dims, flat))]
        size = _axis_size(flat, in_dims, axis_size, args, in_tree)
        flat_fun = FlatFun(lambda *a: fun(*a), tree_util.tree_structure((args, {})))
        outs, dims = batching.vmap_flat(flat_fun, flat, in_dims, size, core.user_frame_info())
        out_tree = flat_fun.out_tree
        o_axes = flatten_axes("vmap", out_tree, out_axes, "out_axes")
        outs = [_place_out(o, d, oa, size) for o, d, oa in zip(outs, dims, o_axes)]
        return tree_util.tree_unflatten(out_tree, _materialize(outs))

    return wrapped


def _check_axis(d, x, i):
    if d is None:
        return None
    if not isinstance(d, int):
        raise TypeError(f"vmap in_axes entries must be int or None, got {d!r}")
    nd = get_aval(x).ndim
    if not -nd <= d < nd:
        raise ValueError(
            f"vmap was requested to map its argument along axis {d}, which implies that its "
            f"rank should be at least {max(d + 1, -d)}, but is only {nd} (its shape is "
            f"{get_aval(x).shape}) — flat argument {i}"
        )
    return d % nd


def _axis_size(flat, in_dims, axis_size, args, in_tree):
    sizes = {get_aval(x).shape[d] for x, d in zip(flat, in_dims) if d is not None}
    if axis_size is not None:
        sizes.add(axis_size)
    if not sizes:
        raise ValueError(
            "vmap must have at least one non-None value in in_axes (or pass axis_size)"
        )
    if len(sizes) > 1:
        lines = [
            f"  argument {i} of shape {get_aval(x).shape} has size {get_aval(x).shape[d]} "
            f"along axis {d}"
            for i, (x, d) in enumerate(zip(flat, in_dims))
            if d is not None
        ]
        raise ValueError(
            "vmap got inconsistent sizes for array axes to be mapped:\n" + "\n".join(lines)
        )
    return sizes.pop()


def _place_out(o, d, out_axis, size):
    if out_axis is None:
        if d is not None:
            raise ValueError(
                "vmap has mapped output but out_axes is None: an output that depends on a "
                "mapped input cannot be returned unmapped"
            )
        return o
    nd = get_aval(o).ndim + (d is None)
    return batching.matchaxis(o, d, out_axis % nd, size)


# ---------------------------------------------------------------------------
# jacobians


def jacfwd(fun, argnums=0, has_aux=False):
    """The Jacobian by forward mode: one batched jvp over the input basis."""
    from minigrad_jax._src.jacobians import jacfwd as _jacfwd

    return _jacfwd(fun, argnums, has_aux)


def jacrev(fun, argnums=0, has_aux=False):
    """The Jacobian by reverse mode: one batched vjp over the output basis."""
    from minigrad_jax._src.jacobians import jacrev as _jacrev

    return _jacrev(fun, argnums, has_aux)


def hessian(fun, argnums=0, has_aux=False):
    """jacfwd(jacrev(fun)), as in JAX."""
    return jacfwd(jacrev(fun, argnums, has_aux), argnums, has_aux)


_ = (check_hashable, ClosedJaxpr)
