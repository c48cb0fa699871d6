"""The transforms of API.md: make_jaxpr, jvp, linearize, vjp, grad, vmap, ..."""

from __future__ import annotations

import jax
import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api_util import (
    FlatFun,
    avals_of,
    flatten_axes,
    flatten_call,
    normalize_argnums,
    split_static,
    wraps,
)
from minigrad_jax._src.core import get_aval
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import JVPTrace, JVPTracer, UndefinedPrimal, Zero
from minigrad_jax._src.interpreters.partial_eval import JaxprTrace, trace_to_jaxpr
from minigrad_jax._src.ir import eval_jaxpr
from minigrad_jax._src.traceback_util import api_boundary


def _check_callable(fun):
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun!r}")


# ---------------------------------------------------------------------------
# make_jaxpr and eval_shape


@api_boundary
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
      >>> import minigrad_jax.numpy as mnp
      >>> print(mg.make_jaxpr(mnp.sin)(1.0))
      { lambda ; a:f32[]. let b:f32[] = sin a in (b,) }
      >>> print(mg.make_jaxpr(lambda x: mnp.sum(x ** 2))(mnp.ones(3)))
      { lambda ; a:f32[3]. let
          b:f32[3] = integer_pow[y=2] a
          c:f32[] = reduce_sum[axes=(0,) out_sharding=None] b
        in (c,) }
      >>> print(mg.make_jaxpr(lambda x, n: x ** n, static_argnums=1)(2.0, 3))
      { lambda ; a:f32[]. let b:f32[] = integer_pow[y=3] a in (b,) }

      The jaxpr of a gradient is the forward pass followed by the backward one:

      >>> print(mg.make_jaxpr(mg.grad(lambda x: mnp.sin(x) * x))(1.0))
      { lambda ; a:f32[]. let
          b:f32[] = sin a
          c:f32[] = cos a
          _:f32[] = mul b a
          d:f32[] = mul b 1.0:f32[]
          e:f32[] = mul 1.0:f32[] a
          f:f32[] = mul e c
          g:f32[] = add_any d f
        in (g,) }
    """
    _check_callable(fun)
    static_argnums = (static_argnums,) if isinstance(static_argnums, int) else static_argnums

    @wraps(fun)
    @api_boundary
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


def typeof(x):
    """The abstract value (type) of ``x``, as jax.typeof: of one of our traced values
    its aval (shape, dtype, weak type); of anything else JAX's own (with its sharding).

    Example:
      >>> import minigrad_jax as mg
      >>> out = []
      >>> _ = mg.jit(lambda x: out.append(str(mg.typeof(x))) or x)(1.0)
      >>> out
      ['~float32[]']
    """
    return x.aval if isinstance(x, core.Tracer) else jax.typeof(x)


@api_boundary
def eval_shape(fun, *args, **kwargs):
    """Output shapes and dtypes of ``fun`` as jax.ShapeDtypeStruct, without computing it.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> mg.eval_shape(lambda x: mnp.dot(x, x.T), mnp.ones((2, 3)))
      ShapeDtypeStruct(shape=(2, 2), dtype=float32)
      >>> mg.eval_shape(lambda x: {"sum": x.sum(axis=0)}, mnp.ones((2, 3)))
      {'sum': ShapeDtypeStruct(shape=(3,), dtype=float32)}
    """

    _check_callable(fun)

    flat, tree = tree_util.tree_flatten((args, kwargs))
    flat_fun = FlatFun(lambda *a, **k: fun(*a, **k), tree)
    closed = trace_to_jaxpr(flat_fun, [core.shaped_abstractify(x) for x in flat], "eval_shape")
    shapes = [
        jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in closed.out_avals
    ]
    return tree_util.tree_unflatten(flat_fun.out_tree, shapes)


# ---------------------------------------------------------------------------
# jvp


@api_boundary
def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode derivative: ``(fun(*primals), J @ tangents)``, like jax.jvp.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> mg.jvp(mnp.sin, (0.0,), (1.0,))[1]
      Array(1., dtype=float32, weak_type=True)
      >>> mg.jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))
      (Array(6., dtype=float32, weak_type=True), Array(3., dtype=float32, weak_type=True))
    """
    _check_callable(fun)
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
    """What jvp/vjp/linearize hand back: arrays, but a user's scalar passes through (JAX)."""
    return lowering.as_jax_arrays(vals, keep_python_scalars=True)


def _instantiate_out(t):
    if type(t) is Zero:
        if t.aval.dtype == core.float0:
            return np.zeros(t.aval.shape, core.float0)
        t = ad.zeros_like_aval(t.aval)
    return _materialize([t])[0]


# ---------------------------------------------------------------------------
# linearize and vjp


def linearize_flat(fun, primals, source_info=None, name="linearize"):
    """JVP with the tangent part staged: returns (primal outs, linear ClosedJaxpr, mask).

    The linear jaxpr takes the tangents of the floating-point primals (``mask``)
    and returns every output's tangent; its constvars are the residuals. ``name``
    is the transform errors and tracers name (``linearize``, ``vjp``, ``grad``).
    """
    pe = JaxprTrace(core.current_trace(), False, name, source_info)
    jt = JVPTrace(pe, name, source_info)
    mask = [core.is_float(get_aval(p).dtype) for p in primals]
    args = [
        JVPTracer(jt, p, pe.new_arg(ad.tangent_aval(get_aval(p)))) if m else p
        for p, m in zip(primals, mask)
    ]
    try:
        with core.gc_paused(), core.new_trace(jt):
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


@api_boundary
def linearize(fun, *primals):
    """``(fun(*primals), f_jvp)`` where f_jvp evaluates the linear (tangent) jaxpr.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> y, f_jvp = mg.linearize(mnp.sin, 0.0)
      >>> f_jvp(2.0)
      Array(2., dtype=float32, weak_type=True)
      >>> y, f_jvp = mg.linearize(lambda x: x ** 3, 2.0)
      >>> y, f_jvp(1.0)
      (Array(8., dtype=float32, weak_type=True), Array(12., dtype=float32, weak_type=True))
    """
    _check_callable(fun)
    flat_fun, flat_p = flatten_call(fun, primals)
    out_p, linear, mask = linearize_flat(flat_fun, flat_p, core.user_frame_info())
    out_tree = flat_fun.out_tree
    in_tree = tree_util.tree_structure(tuple(primals))

    @api_boundary
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


def vjp_flat(fun, primals, source_info=None, name="vjp"):
    out_p, linear, mask = linearize_flat(fun, primals, source_info, name)

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


@api_boundary
def vjp(fun, *primals, has_aux=False):
    """``(fun(*primals), f_vjp[, aux])`` where f_vjp maps output cotangents to inputs'.

    Example:
      >>> import minigrad_jax as mg
      >>> y, f_vjp = mg.vjp(lambda w: (w * 1.0 - 2.0) ** 2, 1.0)
      >>> f_vjp(1.0)
      (Array(-2., dtype=float32, weak_type=True),)
      >>> y, f_vjp, aux = mg.vjp(lambda x: (x * 2.0, x + 1.0), 1.0, has_aux=True)
      >>> y, aux
      (Array(2., dtype=float32, weak_type=True), Array(2., dtype=float32, weak_type=True))
    """
    _check_callable(fun)
    return _vjp(fun, primals, has_aux, "vjp", core.user_frame_info())


def _vjp(fun, primals, has_aux, name, source_info):
    flat_fun, flat_p = flatten_call(fun, primals)
    f = _aux_splitter(flat_fun, has_aux)
    out_p, f_vjp_flat, _ = vjp_flat(f, flat_p, source_info, name)
    if has_aux:
        out_p, aux = out_p[: f.n_main], out_p[f.n_main :]
    out_tree = flat_fun.out_tree
    in_tree = tree_util.tree_structure(tuple(primals))
    out_avals = [get_aval(o) for o in out_p]

    @api_boundary
    def f_vjp(ct):
        flat_ct, ct_tree = tree_util.tree_flatten(ct)
        if ct_tree != out_tree:
            raise ValueError(  # JAX raises ValueError here
                f"unexpected tree structure of the cotangent passed to the VJP function: "
                f"expected {out_tree} (the function's output), got {ct_tree}"
            )
        for i, (a, c) in enumerate(zip(out_avals, flat_ct)):
            _check_cotangent(a, get_aval(c), i)
        cts = f_vjp_flat(flat_ct)
        return tree_util.tree_unflatten(in_tree, _materialize(cts))

    primal_out = tree_util.tree_unflatten(out_tree, _materialize(out_p))
    if has_aux:
        return primal_out, f_vjp, tree_util.tree_unflatten(f.aux_tree, _materialize(aux))
    return primal_out, f_vjp


def _check_cotangent(out_aval, ct_aval, i):
    want = ad.tangent_aval(out_aval)
    bad_dtype = not ct_aval.weak_type and want.dtype not in (ct_aval.dtype, core.float0)
    if ct_aval.shape != out_aval.shape or bad_dtype:
        raise ValueError(
            "unexpected type for the cotangent passed to the VJP function: got "
            f"{ct_aval.str_short()} (shape {ct_aval.shape}) for output {i}, but expected "
            f"{want.str_short()} (shape {want.shape}) because that output of the function "
            f"is {out_aval.str_short()}"
        )


# ---------------------------------------------------------------------------
# grad and value_and_grad


@api_boundary
def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """``(fun(*args), d fun / d args[argnums])`` for a scalar-valued ``fun``.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.value_and_grad(lambda w: (w * 1.0 - 2.0) ** 2)(1.0)
      (Array(1., dtype=float32, weak_type=True), Array(-2., dtype=float32, weak_type=True))
      >>> value, (dx, dy) = mg.value_and_grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0)
      >>> float(value), float(dx), float(dy)
      (6.0, 3.0, 2.0)

    ``holomorphic=True`` differentiates a complex-valued ``fun`` of complex inputs
    (the cotangent 1 pulled back: ``f'(z)``), as jax.value_and_grad does.
    """
    _check_callable(fun)

    @wraps(fun)
    @api_boundary
    def wrapped(*args, **kwargs):
        single, nums = normalize_argnums(argnums, len(args), "grad")
        diff_args = tuple(args[i] for i in nums)
        for i in nums:
            _check_grad_input(args[i], i, allow_int, holomorphic)

        def f_diff(*dargs):
            full = list(args)
            for i, a in zip(nums, dargs):
                full[i] = a
            return fun(*full, **kwargs)

        res = _vjp(f_diff, diff_args, has_aux, "grad", core.user_frame_info())
        out, f_vjp = res[0], res[1]
        _check_scalar_output(out, holomorphic)
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


def _check_grad_input(x, i, allow_int, holomorphic=False):
    for leaf in tree_util.tree_leaves(x):
        dtype = get_aval(leaf).dtype
        if holomorphic and not _is_complex(dtype):
            raise TypeError(
                "grad with holomorphic=True requires inputs with complex dtype, "
                f"but got {dtype.name} for argument {i}."
            )
        if not core.is_float(dtype) and not allow_int:
            raise TypeError(
                f"grad requires real- or complex-valued inputs (input dtype that is a sub-dtype "
                f"of np.inexact), but got {dtype.name} for argument {i}. If you want to use "
                "Boolean- or integer-valued inputs, use vjp or set allow_int to True."
            )


def _is_complex(dtype):
    return np.issubdtype(dtype, np.complexfloating)


def _check_scalar_output(out, holomorphic=False):
    leaves = tree_util.tree_leaves(out)
    if len(leaves) != 1:
        raise TypeError(f"Gradient only defined for scalar-output functions. Output was {out!r}.")
    aval = get_aval(leaves[0])
    if aval.shape != ():
        raise TypeError(
            f"Gradient only defined for scalar-output functions. Output had shape: {aval.shape}."
        )
    if holomorphic:
        if not _is_complex(aval.dtype):
            raise TypeError(
                "grad with holomorphic=True requires outputs with complex dtype, "
                f"but got {aval.dtype.name}."
            )
    elif _is_complex(aval.dtype):
        raise TypeError(
            "grad requires real-valued outputs (output dtype that is a sub-dtype of "
            f"np.floating), but got {aval.dtype.name}. For holomorphic differentiation, "
            "pass holomorphic=True. For differentiation of non-holomorphic functions "
            "involving complex outputs, use jax.vjp directly."
        )
    elif not core.is_float(aval.dtype):
        raise TypeError(
            "grad requires real-valued outputs (output dtype that is a sub-dtype of "
            f"np.floating), but got {aval.dtype.name}. For differentiation of functions "
            "with integer outputs, use jax.vjp directly."
        )


@api_boundary
def grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """The gradient of a scalar-valued ``fun`` with respect to ``args[argnums]``.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.grad(lambda w: (w * 1.0 - 2.0) ** 2)(1.0)
      Array(-2., dtype=float32, weak_type=True)
      >>> mg.grad(lambda x, y: x * y, argnums=1)(2.0, 3.0)
      Array(2., dtype=float32, weak_type=True)
      >>> mg.grad(lambda p: p["w"] * 2.0 + p["b"])({"w": 1.0, "b": 0.5})
      {'b': Array(1., dtype=float32, weak_type=True), 'w': Array(2., dtype=float32, weak_type=True)}
      >>> g, aux = mg.grad(lambda x: (x ** 2, x * 2.0), has_aux=True)(3.0)
      >>> float(g), float(aux)
      (6.0, 6.0)
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @wraps(fun)
    @api_boundary
    def wrapped(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapped


# ---------------------------------------------------------------------------
# vmap


@api_boundary
def vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None, spmd_axis_name=None):
    """Vectorize ``fun`` over a mapped axis of its arguments, like jax.vmap.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> mg.vmap(lambda x: x * 2.0)(mnp.arange(3.0))
      Array([0., 2., 4.], dtype=float32)
      >>> mg.vmap(lambda x, y: x * y, in_axes=(0, None))(mnp.arange(3.0), 2.0)
      Array([0., 2., 4.], dtype=float32)
      >>> mg.vmap(lambda x: x.sum(), in_axes=1)(mnp.ones((2, 3)))
      Array([2., 2., 2.], dtype=float32)
      >>> mg.vmap(lambda x: mnp.stack([x, 2.0 * x]), out_axes=1)(mnp.arange(3.0))
      Array([[0., 1., 2.],
             [0., 2., 4.]], dtype=float32)

    ``axis_name`` names the mapped axis for the collectives in ``fun``
    (``lax.psum``, ``lax.all_gather``, ``lax.axis_index``, ...), as in JAX:

      >>> from minigrad_jax import lax
      >>> mg.vmap(lambda x: x / lax.psum(x, "i"), axis_name="i")(mnp.arange(4.0))
      Array([0.        , 0.16666667, 0.33333334, 0.5       ], dtype=float32)
      >>> mg.vmap(lambda x: lax.axis_index("i") * x, axis_name="i")(mnp.ones(3, mnp.int32))
      Array([0, 1, 2], dtype=int32)

    ``spmd_axis_name`` (a mesh axis name, or a tuple of them) says that the mapped
    axis is split over those mesh axes, as in JAX: the ``with_sharding_constraint``
    and ``shard_map`` inside ``fun`` get it in their specs at the batch dimension
    (without it, a constraint leaves the batch dimension to XLA and a shard_map
    leaves it unsharded).
    """
    _check_callable(fun)
    _check_axis_name(axis_name, spmd_axis_name)
    if spmd_axis_name is not None and not isinstance(spmd_axis_name, tuple):
        spmd_axis_name = (spmd_axis_name,)
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)  # a list of axes means one per argument, as in JAX
    _check_axes_spec(in_axes, "in_axes")
    _check_axes_spec(out_axes, "out_axes")

    @wraps(fun)
    @api_boundary
    def wrapped(*args, **kwargs):
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(
                f"vmap in_axes must be an int, None, or a tuple of entries corresponding to "
                f"the positional arguments passed to the function, but got len(in_axes)="
                f"{len(in_axes)}, len(args)={len(args)}"
            )
        flat, in_tree = tree_util.tree_flatten((args, kwargs))
        args_tree, kwargs_tree = in_tree.children()
        # keyword arguments are always mapped along axis 0, as in JAX
        in_dims = flatten_axes("vmap", args_tree, in_axes) + [0] * kwargs_tree.num_leaves
        in_dims = [_check_axis(d, flat, i, in_tree) for i, d in enumerate(in_dims)]
        size = _axis_size(flat, in_dims, axis_size, in_tree)
        flat_fun = FlatFun(fun, in_tree)
        outs, dims = batching.vmap_flat(
            flat_fun, flat, in_dims, size, core.user_frame_info(), axis_name, spmd_axis_name
        )
        out_tree = flat_fun.out_tree
        o_axes = flatten_axes("vmap", out_tree, out_axes, "out_axes")
        outs = [
            _place_out(outs, d, oa, size, i, out_tree)
            for i, (d, oa) in enumerate(zip(dims, o_axes))
        ]
        return tree_util.tree_unflatten(out_tree, _materialize(outs))

    return wrapped


def _check_axis_name(axis_name, spmd_axis_name):
    try:
        hash(axis_name)
    except TypeError:
        raise TypeError(f"vmap axis_name must be hashable, got {axis_name!r}") from None
    spmd = spmd_axis_name if isinstance(spmd_axis_name, tuple) else (spmd_axis_name,)
    if spmd_axis_name is not None and not all(isinstance(n, str) for n in spmd):
        raise TypeError(
            "vmap spmd_axis_name must be a mesh axis name (a string) or a tuple of them, "
            f"got {spmd_axis_name!r}"
        )


def _check_axes_spec(axes, kind):
    """As jax.vmap checks in_axes / out_axes when the function is vmapped."""
    if kind == "in_axes" and not (axes is None or type(axes) in (int, tuple)):
        raise TypeError(
            "vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
            f"positional arguments passed to the function, but got {axes!r}."
        )
    if not all(type(leaf) is int for leaf in tree_util.tree_leaves(axes)):
        raise TypeError(
            f"vmap {kind} must be an int, None, or (nested) container with those types as "
            f"leaves, but got {axes!r}."
        )


def _leaf_path(tree, flat, i):
    """The key path of the i-th leaf, for messages (the tree rebuilt from its real leaves)."""
    return tree_util.tree_flatten_with_path(tree_util.tree_unflatten(tree, flat))[0][i][0]


def _out_name(out_tree, outs, i):
    return f"output{tree_util.keystr(_leaf_path(out_tree, outs, i))}"


def _arg_name(in_tree, flat, i):
    """``args[0]['w']`` or ``kwargs['x']`` for the i-th leaf of ``(args, kwargs)``."""
    path = _leaf_path(in_tree, flat, i)
    return ("args" if path[0].idx == 0 else "kwargs") + tree_util.keystr(path[1:])


def _check_axis(d, flat, i, in_tree):
    if d is None:
        return None
    aval = get_aval(flat[i])
    if not -aval.ndim <= d < aval.ndim:
        raise ValueError(
            f"vmap was requested to map its argument along axis {d}, which implies that its "
            f"rank should be at least {max(d + 1, -d)}, but is only {aval.ndim} (its shape "
            f"is {aval.shape}): argument {_arg_name(in_tree, flat, i)}"
        )
    return d % aval.ndim


def _axis_size(flat, in_dims, axis_size, in_tree):
    sizes = {get_aval(x).shape[d] for x, d in zip(flat, in_dims) if d is not None}
    if axis_size is not None:
        sizes.add(axis_size)
    if not sizes:
        raise ValueError(
            "vmap wrapped function must be passed at least one argument containing an array "
            "mapped along an axis (an in_axes entry that is not None), or axis_size must be "
            "specified"
        )
    if len(sizes) > 1:
        lines = [
            f"  argument {_arg_name(in_tree, flat, i)} of type {get_aval(x).str_short()} has size "
            f"{get_aval(x).shape[d]} along axis {d}"
            for i, (x, d) in enumerate(zip(flat, in_dims))
            if d is not None
        ]
        if axis_size is not None:
            lines.append(f"  axis_size={axis_size}")
        raise ValueError(
            "vmap got inconsistent sizes for array axes to be mapped:\n" + "\n".join(lines)
        )
    return sizes.pop()


def _place_out(outs, d, out_axis, size, i, out_tree):
    """Put output i (batched along ``d``, or unmapped) where out_axes says, as JAX does."""
    o = outs[i]
    if out_axis is None:
        if d is not None:
            raise ValueError(
                f"at vmap out_axes, got axis spec None but {_out_name(out_tree, outs, i)} was "
                f"batched on axis {d}: an output that depends on a mapped input cannot be "
                "returned unmapped (its out_axes is None)"
            )
        return o
    rank = get_aval(o).ndim + (d is None)  # the rank of the batched output
    if not -rank <= out_axis < rank:
        per_example = get_aval(o).shape if d is None else _drop(get_aval(o).shape, d)
        raise ValueError(
            f"vmap out_axes={out_axis} is out of bounds for {_out_name(out_tree, outs, i)}: "
            f"each example's output has shape {per_example}, so the batched output has rank "
            f"{rank} and out_axes must be in [{-rank}, {rank})"
        )
    return batching.matchaxis(o, d, out_axis % rank, size)


def _drop(shape, d):
    return shape[:d] + shape[d + 1 :]
