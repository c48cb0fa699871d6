"""Printing and host callbacks under every transform, as JAX's.

Four primitives with JAX's names and params:

- ``debug_print`` (``mg.debug.print``) and ``debug_callback`` (``mg.debug.callback``):
  no outputs, a side effect (``core.effectful``: dead-code elimination keeps them);
- ``pure_callback`` (``mg.pure_callback``): outputs, no effect (dead code may drop it);
- ``io_callback`` (``mg.io_callback``): outputs and a side effect.

Each runs its Python function on host values: eagerly by calling it on the
concrete values (placed on the CPU, as JAX does), under ``jit`` through JAX's host
callbacks (``jax.debug.callback``, ``jax.pure_callback``, ``jax.experimental.io_callback``,
with ``ordered=`` passed on). The rules are JAX's: a debug callback's JVP calls it on
the primals only (so ``grad`` prints the forward values once; ``checkpoint`` prints
them again when the backward pass recomputes them), its transpose drops it, and vmap
unrolls it over the mapped axis (one call per lane, in lane order); ``pure_callback``
and ``io_callback`` raise JAX's errors under differentiation and batch by
``vmap_method`` (``io_callback``: one call per lane, in a scan).
"""

from __future__ import annotations

import dataclasses
import functools
import string
import sys
from collections.abc import Callable

import jax
import numpy as np
from jax import tree_util
from jax.experimental import io_callback as jax_io_callback

from minigrad_jax._src import core, errors
from minigrad_jax._src.core import Primitive, ShapedArray, get_aval
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.lax import base
from minigrad_jax._src.lax import structural as st
from minigrad_jax._src.lax.control_flow.loops import scan
from minigrad_jax._src.traceback_util import api_boundary

__all__ = ["debug_print", "debug_callback", "pure_callback", "io_callback"]


class CallbackResultError(errors.MinigradError, RuntimeError):
    """A callback returned values that do not match its ``result_shape_dtypes``.

    A ``RuntimeError``, as JAX's (which reaches the user as a ``JaxRuntimeError``).
    """


class _Effect:
    """The effect a debug callback carries (printed as JAX prints it: ``effect=Debug``)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


debug_effect = _Effect("Debug")
ordered_debug_effect = _Effect("OrderedDebug")


@dataclasses.dataclass(frozen=True)
class _FlatCallback:
    """``callback_func`` called with flat arrays, returning its result's leaves (JAX's)."""

    callback_func: Callable
    in_tree: tree_util.PyTreeDef  # the (args, kwargs) pytree of callback_func

    def __call__(self, *flat_args):
        args, kwargs = tree_util.tree_unflatten(self.in_tree, flat_args)
        return tree_util.tree_leaves(self.callback_func(*args, **kwargs))


class _ResultAvals(tuple):
    """A callback's result types, printed as JAX's param (``(ShapedArray(float32[3]),)``)."""

    __slots__ = ()

    def __repr__(self):
        items = [f"ShapedArray({a.dtype.name}[{','.join(map(str, a.shape))}])" for a in self]
        return f"({', '.join(items)}{',' if len(items) == 1 else ''})"

    __str__ = __repr__


# ---------------------------------------------------------------------------
# running a Python function on host values


def _cpu_device(what):
    try:
        return jax.local_devices(backend="cpu")[0]
    except RuntimeError as e:
        raise RuntimeError(
            f"{what} needs a local CPU device to place its inputs on: make sure 'cpu' is "
            "listed in --jax_platforms or the JAX_PLATFORMS environment variable"
        ) from e


def _on_host(what, fn, args):
    """``fn(*args)`` with the args as jax.Arrays on the CPU, as JAX calls a callback."""
    cpu = _cpu_device(what)
    args = jax.device_put(list(args), cpu)
    with jax.default_device(cpu):
        return fn(*args)


def _checked_results(what, outs, result_avals):
    """The callback's flat results as numpy arrays of exactly ``result_avals``' types."""
    if len(outs) != len(result_avals):
        want = ", ".join(a.str_short() for a in result_avals) or "nothing"
        raise CallbackResultError(
            f"{what}: the callback returned {len(outs)} array(s), but result_shape_dtypes "
            f"describes {len(result_avals)} ({want})"
        )
    checked = []
    for i, (out, aval) in enumerate(zip(outs, result_avals)):
        out = np.asarray(out)
        dtype = core.canonical_dtype(out.dtype)  # a Python float or float64 reads as JAX's
        out = out.astype(dtype) if dtype != out.dtype else out
        if out.shape != aval.shape or out.dtype != aval.dtype:
            got = ShapedArray(out.shape, out.dtype).str_short()
            raise CallbackResultError(
                f"{what}: the callback's result #{i} is {got} (shape {out.shape}, dtype "
                f"{out.dtype.name}), but result_shape_dtypes says {aval.str_short()} "
                f"(shape {aval.shape}, dtype {aval.dtype.name})"
            )
        checked.append(out)
    return checked


def _host_call(what, callback, result_avals, *args):
    """What a pure or io callback runs on the host: the call and the result check."""
    return tuple(_checked_results(what, callback(*args), result_avals))


# ---------------------------------------------------------------------------
# debug_print and debug_callback: no outputs, an effect


debug_callback_p = Primitive("debug_callback", multiple_results=True)
debug_print_p = Primitive("debug_print", multiple_results=True)
core.effectful.update({debug_callback_p, debug_print_p})


def _print_callback(fmt, np_printoptions, has_placeholders, *args, **kwargs):
    if has_placeholders:
        with np.printoptions(**dict(np_printoptions)):
            msg = fmt.format(*args, **kwargs)
    else:
        msg = " ".join((fmt, *(str(a) for a in args)))
    sys.stdout.write(msg + "\n")


def _merge_args(in_tree, static_args, dyn_args):
    """The (args, kwargs) pytree back from the array leaves and the static ones."""
    static = dict(static_args)
    dyn = iter(dyn_args)
    leaves = [static[i] if i in static else next(dyn) for i in range(in_tree.num_leaves)]
    return tree_util.tree_unflatten(in_tree, leaves)


def _debug_target(prim, params):
    """(flat host function, ordered, partitioned) of a debug_print / debug_callback."""
    if prim is debug_callback_p:
        ordered = params["effect"] is ordered_debug_effect
        return params["callback"], ordered, params["partitioned"]
    printer = functools.partial(
        _print_callback, params["fmt"], params["np_printoptions"], params["has_placeholders"]
    )

    def flat(*dyn_args):
        args, kwargs = _merge_args(params["in_tree"], params["static_args"], dyn_args)
        printer(*args, **kwargs)

    return flat, params["ordered"], params["partitioned"]


def _debug_abstract_eval(*avals, **params):
    return []


def _debug_rules(prim, what):
    def impl(*args, **params):
        fn, _, _ = _debug_target(prim, params)
        _on_host(what, fn, args)
        return []

    def lower(*args, **params):
        fn, ordered, partitioned = _debug_target(prim, params)
        jax.debug.callback(fn, *args, ordered=ordered, partitioned=partitioned)
        return []

    def jvp(primals, tangents, **params):
        prim.bind(*primals, **params)  # the primals only, as JAX
        return [], []

    def transpose(cts, *args, **params):
        return [None] * len(args)  # a backward pass does not call it again (JAX's)

    def batch(axis_size, args, dims, **params):
        # JAX's rule: unroll over the mapped axis, one call per lane, in lane order.
        for i in range(axis_size):
            lane = [x if d is None else st.index_in_dim(x, i, d, False) for x, d in zip(args, dims)]
            prim.bind(*lane, **params)
        return [], []

    core.abstract_eval_rules[prim] = _debug_abstract_eval
    lowering.register(prim, lower, impl=False)
    core.impl_rules[prim] = impl
    ad.jvp_rules[prim] = jvp
    ad.transpose_rules[prim] = transpose
    batching.batch_rules[prim] = batch


_debug_rules(debug_callback_p, "mg.debug.callback")
_debug_rules(debug_print_p, "mg.debug.print")


def _is_array_leaf(x) -> bool:
    """Whether a callback argument is traced (an array or scalar) or passed as is (static)."""
    if isinstance(x, core.Tracer):
        return True
    try:
        aval = get_aval(x)
    except TypeError:
        return False
    return aval.dtype.kind in "biufc" or core.is_extended(aval.dtype)


def _split_callback_args(args, kwargs):
    """(in_tree, array leaves, {position: static leaf}), as JAX splits a callback's args."""
    leaves, in_tree = tree_util.tree_flatten((args, kwargs))
    dyn, static = [], {}
    for i, leaf in enumerate(leaves):
        if _is_array_leaf(leaf):
            dyn.append(leaf)
        else:
            static[i] = leaf
    return in_tree, dyn, static


class _FormatChecker(string.Formatter):
    """Checks a format string against its arguments without formatting anything."""

    def format_field(self, value, format_spec):
        return ""

    def check_unused_args(self, used_args, args, kwargs):
        unused = [a for i, a in enumerate(args) if i not in used_args]
        unused_kw = [k for k in kwargs if k not in used_args]
        if unused:
            raise ValueError(f"Unused positional arguments to `mg.debug.print`: {unused}")
        if unused_kw:
            raise ValueError(
                f"Unused keyword arguments to `mg.debug.print`: {unused_kw}. You may be passing "
                'an f-string (i.e, `f"{x}"`) into `mg.debug.print` and instead should pass in '
                "a regular string."
            )


def _check_format(fmt, args, kwargs):
    if not isinstance(fmt, str):
        raise TypeError(f"mg.debug.print: the format must be a str, got {type(fmt).__name__}")
    try:
        _FormatChecker().format(fmt, *args, **kwargs)
    except IndexError:
        raise IndexError(
            f"mg.debug.print: the format string {fmt!r} has more positional placeholders than "
            f"the {len(args)} positional argument(s) given"
        ) from None
    except KeyError as e:
        raise KeyError(
            f"mg.debug.print: the format string {fmt!r} names {{{e.args[0]}}}, but no keyword "
            f"argument {e.args[0]!r} was given (keywords given: {sorted(kwargs)})"
        ) from None


def _has_placeholders(fmt) -> bool:
    """JAX's test: whether the format string's first piece is a replacement field."""
    if not fmt:
        return False
    _, field_name, *_ = next(iter(string.Formatter().parse(fmt)))
    return field_name is not None


@api_boundary
def debug_print(fmt=None, *args, ordered=False, partitioned=False, **kwargs):
    """Print ``fmt.format(*args, **kwargs)`` with the values the program computes, as
    ``jax.debug.print``: eagerly, under ``jit`` (through JAX's host callbacks) and under
    every transform (per lane under ``vmap``, the primal values under ``grad``/``jvp``,
    once per iteration inside ``scan``, ``while_loop``, ``fori_loop`` and ``cond``).

    Args:
      fmt: a ``str.format`` format string (not an f-string: formatting is delayed until
        the values exist). NumPy's print options at the call apply to the arrays.
      *args, **kwargs: the values to format (pytrees; non-array leaves are passed as is).
      ordered: keep the order of ordered prints and callbacks under ``jit`` (unordered
        ones may be printed in any order there).
      partitioned: print local shards only (passed to ``jax.debug.callback``).

    With no ``fmt`` (``mg.debug.print(ordered=True)``) returns a function taking
    ``(fmt, *args, **kwargs)``, JAX's two-call form.

    Example:
      >>> import jax
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> def f(x):
      ...     mg.debug.print("x = {}", x)
      ...     return mnp.sin(x) * x
      >>> _ = f(mnp.float32(2.0))
      x = 2.0
      >>> _ = mg.vmap(f)(mnp.arange(3.0))
      x = 0.0
      x = 1.0
      x = 2.0
      >>> _ = mg.grad(f)(1.5)
      x = 1.5
      >>> _ = mg.jit(f)(mnp.arange(2.0)); jax.effects_barrier()
      x = [0. 1.]
    """

    def _debug_print(fmt, *c_args, **c_kwargs):
        _check_format(fmt, c_args, c_kwargs)
        in_tree, dyn, static = _split_callback_args(c_args, c_kwargs)
        debug_print_p.bind(
            *dyn,
            fmt=fmt,
            ordered=bool(ordered),
            partitioned=bool(partitioned),
            in_tree=in_tree,
            static_args=tuple(static.items()),
            np_printoptions=tuple(np.get_printoptions().items()),
            has_placeholders=_has_placeholders(fmt),
            logging_record=None,
        )

    if fmt is not None:
        _debug_print(fmt, *args, **kwargs)
        return None
    if args or kwargs:
        raise TypeError(
            f"mg.debug.print received unexpected arguments in the two-call form: {args=} "
            f"{kwargs=} (write mg.debug.print(ordered=True)(fmt, *args, **kwargs))"
        )
    return _debug_print


@api_boundary
def debug_callback(callback=None, *args, ordered=False, partitioned=False, **kwargs):
    """Call ``callback(*args, **kwargs)`` with the values the program computes, as
    ``jax.debug.callback``, under every transform (the same rules as ``mg.debug.print``).

    Args:
      callback: a Python function returning None; it gets jax.Arrays where ``args`` hold
        arrays (or traced values) and every other leaf as passed.
      *args, **kwargs: its arguments (pytrees).
      ordered: keep the order of ordered callbacks under ``jit``.
      partitioned: passed to ``jax.debug.callback``.

    With no ``callback`` (``mg.debug.callback(ordered=True)``) returns a function taking
    ``(callback, *args, **kwargs)``, JAX's two-call form.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> seen = []
      >>> def f(x):
      ...     mg.debug.callback(lambda v, tag: seen.append((tag, v.tolist())), x, tag="x")
      ...     return x * 2.0
      >>> _ = mg.vmap(f)(mnp.arange(3.0))
      >>> seen
      [('x', 0.0), ('x', 1.0), ('x', 2.0)]
    """

    def _debug_callback(callback, *c_args, **c_kwargs):
        if not callable(callback):
            raise TypeError(
                "first argument to mg.debug.callback must be callable, but got an object of "
                f"type {type(callback)}"
            )
        in_tree, dyn, static = _split_callback_args(c_args, c_kwargs)

        def _flat_callback(*dyn_args):
            c_args, c_kwargs = _merge_args(in_tree, tuple(static.items()), dyn_args)
            callback(*c_args, **c_kwargs)
            return ()

        effect = ordered_debug_effect if ordered else debug_effect
        debug_callback_p.bind(
            *dyn, callback=_flat_callback, effect=effect, partitioned=bool(partitioned)
        )

    if callback is not None:
        _debug_callback(callback, *args, **kwargs)
        return None
    if args or kwargs:
        raise TypeError(
            f"mg.debug.callback received unexpected arguments in the two-call form: {args=} "
            f"{kwargs=} (write mg.debug.callback(ordered=True)(fn, *args, **kwargs))"
        )
    return _debug_callback


# ---------------------------------------------------------------------------
# pure_callback and io_callback: outputs of declared types

pure_callback_p = Primitive("pure_callback", multiple_results=True)
io_callback_p = Primitive("io_callback", multiple_results=True)
core.effectful.add(io_callback_p)

_VMAP_METHODS = ("sequential", "sequential_unrolled", "expand_dims", "broadcast_all")
_VMAP_METHODS += ("legacy_vectorized", None)


def _callback_abstract_eval(*avals, result_avals, **params):
    return list(result_avals)


def _pure_impl(*args, callback, result_avals, sharding, vmap_method):
    what = "mg.pure_callback"
    fn = functools.partial(_host_call, what, callback, result_avals)
    return [jax.numpy.asarray(o) for o in _on_host(what, fn, args)]


def _io_impl(*args, callback, result_avals, sharding, ordered):
    what = "mg.io_callback"
    fn = functools.partial(_host_call, what, callback, result_avals)
    return [jax.numpy.asarray(o) for o in _on_host(what, fn, args)]


def _shape_dtypes(result_avals):
    return [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in result_avals]


def _pure_lower(*args, callback, result_avals, sharding, vmap_method):
    fn = functools.partial(_host_call, "mg.pure_callback", callback, result_avals)
    shapes = _shape_dtypes(result_avals)
    return list(jax.pure_callback(fn, shapes, *args, sharding=sharding, vmap_method=vmap_method))


def _io_lower(*args, callback, result_avals, sharding, ordered):
    fn = functools.partial(_host_call, "mg.io_callback", callback, result_avals)
    shapes = _shape_dtypes(result_avals)
    return list(jax_io_callback(fn, shapes, *args, sharding=sharding, ordered=ordered))


def _raise(exc_type, msg):
    def rule(*args, **params):
        raise exc_type(msg)

    return rule


def _batched_avals(result_avals, axis_size):
    return _ResultAvals(ShapedArray((axis_size, *a.shape), a.dtype) for a in result_avals)


def _sequential(prim, args, dims, params, unroll=1):
    """One call per lane, in a scan over the mapped operands (JAX's lax.map)."""
    mapped = [d is not None for d in dims]
    xs = [batching.moveaxis(x, d, 0) for x, d in zip(args, dims) if d is not None]

    def body(carry, lane):
        it = iter(lane)
        return carry, prim.bind(*[next(it) if m else x for x, m in zip(args, mapped)], **params)

    _, outs = scan(body, (), xs, unroll=unroll)
    return list(outs), [0] * len(outs)


def _pure_batch(axis_size, args, dims, **params):
    method = params["vmap_method"]
    if method in ("sequential", "sequential_unrolled"):
        return _sequential(pure_callback_p, args, dims, params, method == "sequential_unrolled")
    if method not in ("expand_dims", "broadcast_all", "legacy_vectorized"):
        raise NotImplementedError(
            "vmap is only supported for the pure_callback primitive when vmap_method is one of "
            "'sequential', 'sequential_unrolled', 'expand_dims', 'broadcast_all', or "
            f"'legacy_vectorized'. Got vmap_method={method!r}: pass "
            "mg.pure_callback(..., vmap_method=...) to say how the callback batches."
        )
    args = [x if d is None else batching.moveaxis(x, d, 0) for x, d in zip(args, dims)]
    if method != "legacy_vectorized":
        size = axis_size if method == "broadcast_all" else 1
        args = [base.broadcast(x, (size,)) if d is None else x for x, d in zip(args, dims)]
    new = dict(params, result_avals=_batched_avals(params["result_avals"], axis_size))
    outs = pure_callback_p.bind(*args, **new)
    return outs, [0] * len(outs)


def _io_batch(axis_size, args, dims, **params):
    if params["ordered"]:
        raise ValueError("Cannot `vmap` ordered IO callback.")
    return _sequential(io_callback_p, args, dims, params)


_PURE_JVP = (
    "Pure callbacks do not support JVP. "
    "Please use `jax.custom_jvp` to use callbacks while taking gradients."
)
_PURE_TRANSPOSE = (
    "Pure callbacks do not support transpose. "
    "Please use `jax.custom_vjp` to use callbacks while taking gradients."
)
for _prim, _impl, _lower, _batch, _jvp_msg, _t_msg in [
    (pure_callback_p, _pure_impl, _pure_lower, _pure_batch, _PURE_JVP, _PURE_TRANSPOSE),
    (
        io_callback_p,
        _io_impl,
        _io_lower,
        _io_batch,
        "IO callbacks do not support JVP.",
        "IO callbacks do not support transpose.",
    ),
]:
    core.abstract_eval_rules[_prim] = _callback_abstract_eval
    lowering.register(_prim, _lower, impl=False)
    core.impl_rules[_prim] = _impl
    ad.jvp_rules[_prim] = _raise(ValueError, _jvp_msg)
    ad.transpose_rules[_prim] = _raise(ValueError, _t_msg)
    batching.batch_rules[_prim] = _batch


def _result_avals(what, result_shape_dtypes):
    """(flat result types, their pytree), checked as JAX checks them."""
    leaves, out_tree = tree_util.tree_flatten(result_shape_dtypes)
    avals = []
    for leaf in leaves:
        shape, dtype = getattr(leaf, "shape", None), getattr(leaf, "dtype", None)
        if shape is None or dtype is None:
            raise TypeError(
                f"{what}: each leaf of result_shape_dtypes needs a shape and a dtype "
                f"(a jax.ShapeDtypeStruct or an array), got {leaf!r}"
            )
        dt = np.dtype(dtype)
        if core.canonical_dtype(dt) != dt:
            raise ValueError(
                f"{what}: result_shape_dtypes cannot specify 64-bit types ({dt.name}) when "
                "`jax_enable_x64` is disabled"
            )
        avals.append(ShapedArray(tuple(shape), dt))
    return _ResultAvals(avals), out_tree


def _check_callable(what, callback):
    if not callable(callback):
        raise TypeError(f"{what}: the callback must be callable, got {type(callback).__name__}")


@api_boundary
def pure_callback(callback, result_shape_dtypes, *args, sharding=None, vmap_method=None, **kwargs):
    """Call a pure Python function on host values, as ``jax.pure_callback``.

    It is treated as functionally pure: it may be called more or fewer times than
    written (dead code drops it, vmap may call it per lane). Differentiating it raises
    JAX's errors (wrap it in ``mg.custom_jvp`` / ``mg.custom_vjp``).

    Args:
      callback: ``callback(*args, **kwargs)`` gets jax.Arrays and returns a pytree of
        arrays matching ``result_shape_dtypes``.
      result_shape_dtypes: a pytree of ``jax.ShapeDtypeStruct`` (anything with shape and
        dtype): the types of the results.
      *args, **kwargs: the callback's arguments (pytrees).
      sharding: passed to ``jax.pure_callback``.
      vmap_method: how ``vmap`` batches it: ``"sequential"`` (one call per lane, in a
        loop), ``"sequential_unrolled"``, ``"expand_dims"`` (one call; unmapped
        arguments get a leading axis of size 1), ``"broadcast_all"`` (one call; every
        argument gets the full leading axis), ``"legacy_vectorized"``; None: vmap
        raises, as JAX's.

    Returns:
      The callback's results, as jax.Arrays in the structure of ``result_shape_dtypes``.
      A result of another shape or dtype raises a ``RuntimeError``.

    Example:
      >>> import jax
      >>> import numpy as np
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> def host_sin(x):
      ...     return np.sin(np.asarray(x))
      >>> def f(x):
      ...     return mg.pure_callback(host_sin, jax.ShapeDtypeStruct(x.shape, x.dtype), x,
      ...                             vmap_method="expand_dims")
      >>> mg.jit(f)(mnp.float32(0.5))
      Array(0.47942555, dtype=float32)
      >>> mg.vmap(f)(mnp.arange(3.0))
      Array([0.       , 0.841471 , 0.9092974], dtype=float32)
    """
    _check_callable("mg.pure_callback", callback)
    if vmap_method not in _VMAP_METHODS:
        raise ValueError(
            f"vmap_method must be on of the allowed methods {list(_VMAP_METHODS)}, but got: "
            f"{vmap_method}"
        )
    result_avals, out_tree = _result_avals("mg.pure_callback", result_shape_dtypes)
    flat, in_tree = tree_util.tree_flatten((args, kwargs))
    outs = pure_callback_p.bind(
        *flat,
        callback=_FlatCallback(callback, in_tree),
        result_avals=result_avals,
        sharding=sharding,
        vmap_method=vmap_method,
    )
    return tree_util.tree_unflatten(out_tree, lowering.as_jax_arrays(outs))


@api_boundary
def io_callback(callback, result_shape_dtypes, *args, sharding=None, ordered=False, **kwargs):
    """Call an impure Python function on host values, as ``jax.experimental.io_callback``.

    Unlike ``pure_callback`` it is never dropped as dead code. Under ``vmap`` it is
    called once per lane, in order (an ordered one cannot be batched, as in JAX);
    differentiating it raises JAX's error.

    Args:
      callback: ``callback(*args, **kwargs)`` returns a pytree of arrays matching
        ``result_shape_dtypes``.
      result_shape_dtypes: a pytree of ``jax.ShapeDtypeStruct``: the results' types.
      *args, **kwargs: the callback's arguments (pytrees of arrays).
      sharding: passed to ``jax.experimental.io_callback``.
      ordered: keep the order of ordered callbacks under ``jit``.

    Returns:
      The callback's results, as jax.Arrays in the structure of ``result_shape_dtypes``.

    Example:
      >>> import jax
      >>> import numpy as np
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> log = []
      >>> def record(x):
      ...     log.append(float(x))
      ...     return np.float32(len(log))
      >>> def f(x):
      ...     return mg.io_callback(record, jax.ShapeDtypeStruct((), np.float32), x)
      >>> mg.vmap(f)(mnp.array([3.0, 4.0]))
      Array([1., 2.], dtype=float32)
      >>> log
      [3.0, 4.0]
    """
    _check_callable("mg.io_callback", callback)
    result_avals, out_tree = _result_avals("mg.io_callback", result_shape_dtypes)
    flat, in_tree = tree_util.tree_flatten((args, kwargs))
    outs = io_callback_p.bind(
        *flat,
        callback=_FlatCallback(callback, in_tree),
        result_avals=result_avals,
        sharding=sharding,
        ordered=bool(ordered),
    )
    return tree_util.tree_unflatten(out_tree, lowering.as_jax_arrays(outs))
