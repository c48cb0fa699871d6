"""Windowed reductions (pooling): reduce_window_{sum,max,min}, the generic reduce_window,
and the two primitives max/min pooling's derivatives are made of.

A window slides over the operand (``window_dimensions``, moved by ``window_strides``,
over the operand padded by ``padding`` and dilated by ``base_dilation``; the window's
own taps are ``window_dilation`` apart). Each window is reduced to one output entry.

- ``reduce_window_sum`` is linear; its transpose pads the cotangent (strides become
  interior padding) and sums it over the same windows again.
- ``reduce_window_max``/``_min``: the tangent of each output is the input tangent at
  the window's arg-max (``select_and_gather_add``, linear in the tangent); its
  transpose sends each output cotangent back to that arg-max (``select_and_scatter_add``),
  whose transpose is ``select_and_gather_add`` again.
- ``reduce_window`` applies a user computation (carried as a ``jaxpr`` and its
  ``consts``) to one or more operands at once; it has a JVP (the computation's own JVP
  over the operands and their tangents) but, as in JAX, no transpose.
"""

from __future__ import annotations

import jax
import numpy as np
from jax import lax as jlax
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.ir import eval_jaxpr
from minigrad_jax._src.lax import elementwise
from minigrad_jax._src.lax.base import padtype_to_pads
from minigrad_jax._src.lax.control_flow.common import trace_fun
from minigrad_jax._src.lax.reductions import max_identity, min_identity
from minigrad_jax._src.lax.structural import pad, slice  # noqa: A004

__all__ = ["reduce_window"]

_WINDOW_PARAMS = ("window_dimensions", "window_strides", "padding")
_DILATIONS = ("base_dilation", "window_dilation")

# ---------------------------------------------------------------------------
# shapes


def _check_shapelike(fun, arg, obj, positive=False):
    if not all(isinstance(d, (int, np.integer)) for d in obj):
        raise TypeError(f"{fun} {arg} must be a sequence of integers, got {obj}.")
    if positive and any(d <= 0 for d in obj):
        raise TypeError(f"{fun} {arg} must have every element be positive, got {obj}.")
    if any(d < 0 for d in obj):
        raise TypeError(f"{fun} {arg} must have every element be nonnegative, got {obj}.")


def _dilate(shape, dilation):
    return tuple(0 if d == 0 else 1 + r * (d - 1) for d, r in zip(shape, dilation, strict=True))


def reduce_window_shape_tuple(
    operand_shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    shape = _dilate(operand_shape, base_dilation)
    window = _dilate(window_dimensions, window_dilation)
    padded = [d + lo + hi for d, (lo, hi) in zip(shape, padding, strict=True)]
    return tuple(
        max(0, (p - w) // s + 1) if p >= w else 0
        for p, w, s in zip(padded, window, window_strides, strict=True)
    )


def _window_shape(
    name, operand, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    """The output shape of a window of ``operand`` (JAX's checks and messages)."""
    _check_shapelike(name, "window_dimensions", window_dimensions, positive=True)
    _check_shapelike(name, "window_strides", window_strides, positive=True)
    _check_shapelike(name, "base_dilation", base_dilation, positive=True)
    _check_shapelike(name, "window_dilation", window_dilation, positive=True)
    if operand.ndim != len(window_dimensions):
        raise TypeError(
            f"{name} got the wrong number of window_dimensions for operand: got operand "
            f"shape {operand.shape} with window_dimensions {window_dimensions}."
        )
    for what, value in (
        ("window_strides", window_strides),
        ("base_dilation", base_dilation),
        ("window_dilation", window_dilation),
        ("padding", padding),
    ):
        if len(value) != len(window_dimensions):
            raise TypeError(
                f"{name} got inconsistent {what} and window_dimensions: got {what} "
                f"{value} and window_dimensions {window_dimensions}."
            )
    if not all(len(p) == 2 for p in padding):
        raise TypeError(f"{name} padding must be a sequence of (low, high) pairs, got {padding}.")
    return reduce_window_shape_tuple(
        operand.shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
    )


def _monoid_abstract(name, numeric=False):
    def rule(operand, **params):
        if numeric and (operand.dtype == np.bool_ or not np.issubdtype(operand.dtype, np.number)):
            raise TypeError(
                f"operand to {name} must have a number dtype, got {np.dtype(operand.dtype).name}"
            )
        shape = _window_shape(name, operand, **params)
        return ShapedArray(shape, operand.dtype, operand.weak_type)

    return rule


# ---------------------------------------------------------------------------
# reduce_window_sum, reduce_window_max, reduce_window_min

reduce_window_sum_p = Primitive("reduce_window_sum")
reduce_window_max_p = Primitive("reduce_window_max")
reduce_window_min_p = Primitive("reduce_window_min")


def _window_params(window_dimensions, window_strides, padding, base_dilation, window_dilation):
    return dict(
        window_dimensions=tuple(int(d) for d in window_dimensions),
        window_strides=tuple(int(s) for s in window_strides),
        padding=tuple((int(lo), int(hi)) for lo, hi in padding),
        base_dilation=tuple(int(d) for d in base_dilation),
        window_dilation=tuple(int(d) for d in window_dilation),
    )


def _lhs_vjp_padding(
    in_shape, window_dimensions, window_strides, out_shape, padding, base_dilation, window_dilation
):
    # The (low, high) padding of the stride-dilated cotangent under which a stride-1
    # window over it lines up with the (base-dilated) input: a full correlation.
    in_dilated = _dilate(in_shape, base_dilation)
    window = _dilate(window_dimensions, window_dilation)
    out_dilated = _dilate(out_shape, window_strides)
    pads = []
    for n, w, o, (lo, _) in zip(in_dilated, window, out_dilated, padding, strict=True):
        before = w - lo - 1
        pads.append((before, n + w - 1 - o - before))
    return pads


def _reduce_window_sum_transpose(
    ct, operand, *, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    in_shape = operand.aval.shape
    ct_aval = core.get_aval(ct)
    pads = _lhs_vjp_padding(
        in_shape,
        window_dimensions,
        window_strides,
        ct_aval.shape,
        padding,
        base_dilation,
        window_dilation,
    )
    config = [(lo, hi, s - 1) for (lo, hi), s in zip(pads, window_strides, strict=True)]
    padded = pad(ct, np.zeros((), ct_aval.dtype), config)
    ones = (1,) * len(in_shape)
    out = reduce_window_sum_p.bind(
        padded,
        window_dimensions=window_dimensions,
        window_strides=base_dilation,
        padding=((0, 0),) * len(in_shape),
        base_dilation=ones,
        window_dilation=window_dilation,
    )
    return [out]


def _chooser_jvp(select_prim):
    def jvp(g, operand, **params):
        return select_and_gather_add_p.bind(g, operand, select_prim=select_prim, **params)

    return jvp


def _insert_unit_window(bdim, params):
    """The window params with a window of 1 (no padding, no dilation) on axis ``bdim``."""
    out = {}
    for key, value in params.items():
        unit = (0, 0) if key == "padding" else 1
        out[key] = value[:bdim] + (unit,) + value[bdim:]
    return out


def _monoid_batch(prim):
    def rule(axis_size, args, dims, **params):
        (operand,), (bdim,) = args, dims
        return prim.bind(operand, **_insert_unit_window(bdim, params)), bdim

    return rule


def _monoid_lowering(jax_op, identity):
    # jax.lax.reduce_window recognizes (jax.lax.add, 0), (max, -inf), (min, inf) and
    # binds JAX's own reduce_window_{sum,max,min}: the same HLO as JAX's.
    def lower(x, *, window_dimensions, window_strides, padding, base_dilation, window_dilation):
        x = jax.numpy.asarray(x)
        init = identity(x.dtype)
        return jlax.reduce_window(
            x,
            init,
            jax_op,
            window_dimensions,
            window_strides,
            padding,
            base_dilation,
            window_dilation,
        )

    return lower


core.abstract_eval_rules[reduce_window_sum_p] = _monoid_abstract("reduce_window_sum", True)
core.abstract_eval_rules[reduce_window_max_p] = _monoid_abstract("reduce_window_max")
core.abstract_eval_rules[reduce_window_min_p] = _monoid_abstract("reduce_window_min")
ad.deflinear(reduce_window_sum_p, _reduce_window_sum_transpose)
ad.defjvp(reduce_window_max_p, _chooser_jvp(elementwise.ge_p))
ad.defjvp(reduce_window_min_p, _chooser_jvp(elementwise.le_p))
for _p, _op, _identity in (
    (reduce_window_sum_p, jlax.add, lambda dtype: np.zeros((), dtype)),
    (reduce_window_max_p, jlax.max, max_identity),
    (reduce_window_min_p, jlax.min, min_identity),
):
    batching.batch_rules[_p] = _monoid_batch(_p)
    lowering.register(_p, _monoid_lowering(_op, _identity))


# ---------------------------------------------------------------------------
# select_and_gather_add: each window's tangent at the operand's max (ge) or min (le)

select_and_gather_add_p = Primitive("select_and_gather_add")


def _check_select_prim(name, select_prim):
    if select_prim not in (elementwise.ge_p, elementwise.le_p):
        raise TypeError(f"{name} select_prim must be the ge or le primitive, got {select_prim!r}")


def _select_and_gather_add_abstract(tangents, operand, *, select_prim, **params):
    _check_select_prim("select_and_gather_add", select_prim)
    if tangents.shape != operand.shape:
        raise TypeError(
            "select_and_gather_add tangents and operand shapes must match, "
            f"got {tangents.shape} and {operand.shape}."
        )
    if tangents.dtype != operand.dtype:
        raise TypeError(
            "select_and_gather_add tangents and operand dtypes must match, "
            f"got {tangents.dtype.name} and {operand.dtype.name}."
        )
    shape = _window_shape("select_and_gather_add", operand, **params)
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def _linear_in_first_jvp(prim):
    # Linear in the first operand; the second only chooses positions (no tangent).
    def rule(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        g = tangents[0]
        if type(g) is Zero:
            return out, Zero(ad.tangent_aval(core.get_aval(out)))
        return out, prim.bind(g, primals[1], **params)

    return rule


def _select_and_gather_add_transpose(
    ct,
    tangents,
    operand,
    *,
    select_prim,
    window_dimensions,
    window_strides,
    padding,
    base_dilation,
    window_dilation,
):
    if is_undefined(operand):
        raise NotImplementedError("select_and_gather_add is not linear in its operand")
    if any(d != 1 for d in window_dilation):
        raise NotImplementedError(
            "VJP not implemented for select_and_gather (MaxPool) with window dilation, "
            f"got window_dilation={window_dilation}."
        )
    dilated = any(d != 1 for d in base_dilation)
    if dilated:
        # The holes of the dilated base are never selected: pad them with the identity.
        aval = core.get_aval(operand)
        identity = max_identity if select_prim is elementwise.ge_p else min_identity
        config = tuple((0, 0, d - 1) for d in base_dilation)
        operand = pad(operand, identity(aval.dtype), config)
    out = select_and_scatter_add_p.bind(
        ct,
        operand,
        select_prim=select_prim,
        window_dimensions=window_dimensions,
        window_strides=window_strides,
        padding=padding,
    )
    if dilated:
        shape = core.get_aval(out).shape
        out = slice(out, (0,) * len(shape), shape, base_dilation)
    return [out, None]


def _to_front_batch(prim, dilations):
    # Both operands get the mapped axis in front (an unmapped one is broadcast), and the
    # window a leading 1.
    def rule(axis_size, args, dims, **params):
        args = [batching.bdim_at_front(a, d, axis_size) for a, d in zip(args, dims, strict=True)]
        keys = _WINDOW_PARAMS + (_DILATIONS if dilations else ())
        window = _insert_unit_window(0, {k: params[k] for k in keys})
        return prim.bind(*args, **dict(params, **window)), 0

    return rule


_JAX_SELECT = {"ge": jlax.ge_p, "le": jlax.le_p}
_JAX_GATHER_P = getattr(jlax, "select_and_gather_add_p", None)
_JAX_SCATTER_P = getattr(jlax, "select_and_scatter_add_p", None)


def _chooser_fun(select_prim, params):
    """The max (ge) or min (le) pooling whose derivatives these two primitives are."""
    is_max = select_prim.name == "ge"
    op, identity = (jlax.max, max_identity) if is_max else (jlax.min, min_identity)

    def pool(x):
        return jlax.reduce_window(x, identity(x.dtype), op, **params)

    return pool


def select_and_gather_add_via_jvp(
    tangents,
    operand,
    *,
    select_prim,
    window_dimensions,
    window_strides,
    padding,
    base_dilation,
    window_dilation,
):
    """``select_and_gather_add`` as JAX's public API computes it: the JVP of max pooling."""
    params = dict(
        window_dimensions=window_dimensions,
        window_strides=window_strides,
        padding=padding,
        base_dilation=base_dilation,
        window_dilation=window_dilation,
    )
    pool = _chooser_fun(select_prim, params)
    operand, tangents = jax.numpy.asarray(operand), jax.numpy.asarray(tangents)
    return jax.jvp(pool, (operand,), (tangents,))[1]


def select_and_scatter_add_via_vjp(
    source, operand, *, select_prim, window_dimensions, window_strides, padding
):
    """``select_and_scatter_add`` as JAX's public API computes it: the VJP of max pooling."""
    ones = (1,) * len(window_dimensions)
    params = dict(
        window_dimensions=window_dimensions,
        window_strides=window_strides,
        padding=padding,
        base_dilation=ones,
        window_dilation=ones,
    )
    pool = _chooser_fun(select_prim, params)
    operand, source = jax.numpy.asarray(operand), jax.numpy.asarray(source)
    return jax.vjp(pool, operand)[1](source)[0]


def _select_lowering(jax_prim, fallback):
    # jax.lax exports JAX's select_and_* primitives: bind them (their HLO is JAX's on
    # each platform); without them, JAX's jvp / vjp of reduce_window computes the same.
    def lower(x, operand, *, select_prim, **params):
        if jax_prim is None:
            return fallback(x, operand, select_prim=select_prim, **params)
        return jax_prim.bind(
            jax.numpy.asarray(x),
            jax.numpy.asarray(operand),
            select_prim=_JAX_SELECT[select_prim.name],
            **params,
        )

    return lower


core.abstract_eval_rules[select_and_gather_add_p] = _select_and_gather_add_abstract
ad.jvp_rules[select_and_gather_add_p] = _linear_in_first_jvp(select_and_gather_add_p)
ad.transpose_rules[select_and_gather_add_p] = _select_and_gather_add_transpose
batching.batch_rules[select_and_gather_add_p] = _to_front_batch(select_and_gather_add_p, True)
lowering.register(
    select_and_gather_add_p, _select_lowering(_JAX_GATHER_P, select_and_gather_add_via_jvp)
)


# ---------------------------------------------------------------------------
# select_and_scatter_add: each window's source value added at the operand's max/min

select_and_scatter_add_p = Primitive("select_and_scatter_add")


def _select_and_scatter_add_abstract(
    source, operand, *, select_prim, window_dimensions, window_strides, padding
):
    name = "select_and_scatter_add"
    _check_select_prim(name, select_prim)
    ones = (1,) * len(window_dimensions)
    out = _window_shape(name, operand, window_dimensions, window_strides, padding, ones, ones)
    if source.shape != out:
        raise TypeError(
            f"{name} source shape {source.shape} must be the window output shape {out} of "
            f"operand shape {operand.shape} with window_dimensions {window_dimensions}, "
            f"window_strides {window_strides} and padding {padding}."
        )
    if source.dtype != operand.dtype:
        raise TypeError(
            f"{name} source and operand dtypes must match, "
            f"got {source.dtype.name} and {operand.dtype.name}."
        )
    return ShapedArray(operand.shape, source.dtype, source.weak_type)


def _select_and_scatter_add_transpose(
    ct, source, operand, *, select_prim, window_dimensions, window_strides, padding
):
    if is_undefined(operand):
        raise NotImplementedError("select_and_scatter_add is not linear in its operand")
    ones = (1,) * len(window_dimensions)
    out = select_and_gather_add_p.bind(
        ct,
        operand,
        select_prim=select_prim,
        window_dimensions=window_dimensions,
        window_strides=window_strides,
        padding=padding,
        base_dilation=ones,
        window_dilation=ones,
    )
    return [out, None]


core.abstract_eval_rules[select_and_scatter_add_p] = _select_and_scatter_add_abstract
ad.jvp_rules[select_and_scatter_add_p] = _linear_in_first_jvp(select_and_scatter_add_p)
ad.transpose_rules[select_and_scatter_add_p] = _select_and_scatter_add_transpose
batching.batch_rules[select_and_scatter_add_p] = _to_front_batch(select_and_scatter_add_p, False)
lowering.register(
    select_and_scatter_add_p, _select_lowering(_JAX_SCATTER_P, select_and_scatter_add_via_vjp)
)


# ---------------------------------------------------------------------------
# reduce_window: a user computation over the windows of one or more operands

reduce_window_p = Primitive("reduce_window", multiple_results=True)


def _reduce_window_abstract(*avals, jaxpr, consts, **params):
    n = len(avals) // 2
    operands, inits = avals[:n], avals[n:]
    if not operands or len(inits) != n:
        raise TypeError(f"reduce_window needs as many init_values as operands, got {len(avals)}")
    if any(o.dtype != i.dtype for o, i in zip(operands, inits, strict=True)):
        raise TypeError(
            "reduce_window got inconsistent dtypes for operands and init_values: got operand "
            f"dtypes {[o.dtype.name for o in operands]} and init_value dtypes "
            f"{[i.dtype.name for i in inits]}."
        )
    if any(i.ndim != 0 for i in inits):
        raise TypeError(
            "reduce_window expected init_values to be scalars but init_values have shapes "
            f"{[i.shape for i in inits]}."
        )
    if len({o.shape for o in operands}) != 1:
        raise TypeError(
            f"reduce_window operands must have equal shapes, got {[o.shape for o in operands]}."
        )
    shape = _window_shape("reduce_window", operands[0], **params)
    return [ShapedArray(shape, o.dtype) for o in operands]


def _reduce_window_jvp(primals, tangents, *, jaxpr, consts, **params):
    # As JAX: reduce the operands and their tangents together, with the computation's
    # JVP as the computation (the init values carry no tangent).
    n = len(primals) // 2
    operands, inits = primals[:n], primals[n:]
    if not all(type(t) is Zero for t in tangents[n:]):
        raise TypeError("reduce_window jvp does not support non-zero init_value_tangent.")
    op_tangents = [ad.instantiate(t) for t in tangents[:n]]
    init_tangents = [np.zeros((), t.aval.dtype) for t in tangents[n:]]

    def computation(left, right):
        # Each side is (primals..., tangents...); the JVP of the computation on the
        # primals of both sides, along their tangents.
        outs, touts = ad.jvp_flat(
            lambda *a: eval_jaxpr(jaxpr, consts, *a),
            [*left[:n], *right[:n]],
            [*left[n:], *right[n:]],
        )
        return (*outs, *map(ad.instantiate, touts))

    outs = reduce_window((*operands, *op_tangents), (*inits, *init_tangents), computation, **params)
    return list(outs[:n]), list(outs[n:])


def _reduce_window_partial_eval(trace, args, params):
    # Known primals beside unknown tangents: the JVP's reduce_window under linearize,
    # which (as in JAX) has no transpose; say so instead of handing back tracers.
    n = len(args) // 2
    unknown = [pe.is_unknown(trace, a) for a in args[:n]]
    if any(unknown) and not all(unknown):
        raise ValueError(
            "Linearization failed to produce known values for all output primals: "
            "reduce_window with a general computation supports forward-mode (jvp) but not "
            "reverse-mode differentiation (grad, vjp, linearize), as in JAX; reduce_window "
            "with lax.add, lax.max or lax.min and its identity init value supports both."
        )
    return trace.stage(reduce_window_p, list(args), params)


def _reduce_window_batch(axis_size, args, dims, *, jaxpr, consts, **params):
    n = len(args) // 2
    if any(d is not None for d in dims[n:]):
        raise NotImplementedError("reduce_window batching is not implemented for initial values")
    operands = [batching.bdim_at_front(a, d, axis_size) for a, d in zip(args[:n], dims[:n])]
    window = _insert_unit_window(0, params)
    outs = reduce_window_p.bind(*operands, *args[n:], jaxpr=jaxpr, consts=consts, **window)
    return outs, [0] * n


def _reduce_window_lowering(*args, jaxpr, consts, **params):
    n = len(args) // 2

    def computation(left, right):
        return tuple(lowering.replay(jaxpr, list(consts), *left, *right))

    outs = jlax.reduce_window(tuple(args[:n]), tuple(args[n:]), computation, **params)
    return list(outs)


core.abstract_eval_rules[reduce_window_p] = _reduce_window_abstract
ad.jvp_rules[reduce_window_p] = _reduce_window_jvp
pe.partial_eval_rules[reduce_window_p] = _reduce_window_partial_eval
batching.batch_rules[reduce_window_p] = _reduce_window_batch
lowering.register(reduce_window_p, _reduce_window_lowering)


# ---------------------------------------------------------------------------
# the wrapper


def _is_op(computation, name):
    return computation is getattr(elementwise, name) or computation is getattr(jlax, name)


def _monoid_primitive(computation, inits):
    """reduce_window_{sum,max,min} for (add, 0), (max, its identity), (min, its identity)."""
    if len(inits) != 1 or isinstance(inits[0], core.Tracer):
        return None
    init = inits[0]
    aval = core.get_aval(init)
    if aval.ndim != 0:
        return None
    value = np.asarray(init)
    if _is_op(computation, "add"):
        return reduce_window_sum_p if value == 0 else None
    if _is_op(computation, "max"):
        return reduce_window_max_p if value == max_identity(aval.dtype) else None
    if _is_op(computation, "min"):
        return reduce_window_min_p if value == min_identity(aval.dtype) else None
    return None


def reduce_window(
    operand,
    init_value,
    computation,
    window_dimensions,
    window_strides=None,
    padding="VALID",
    base_dilation=None,
    window_dilation=None,
):
    """Reduce each window of ``operand`` with ``computation``, starting from ``init_value``.

    ``operand`` may be a pytree of equally shaped arrays with a matching tree of scalar
    ``init_value``s; ``computation(x, y)`` then takes and returns such trees.
    ``padding`` is ``'VALID'``, ``'SAME'``, ``'SAME_LOWER'`` or ``(low, high)`` pairs.
    ``lax.add`` with 0, ``lax.max`` with -inf and ``lax.min`` with inf (jax.lax's or
    ours) give the primitives ``reduce_window_sum``/``_max``/``_min``; any other
    computation the generic ``reduce_window``.

    Example:
        >>> import numpy as np
        >>> from minigrad_jax import lax
        >>> x = np.arange(16.0, dtype=np.float32).reshape(4, 4)
        >>> lax.reduce_window(x, -np.inf, lax.max, (2, 2), (2, 2), "VALID")
        Array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
        >>> lax.reduce_window(np.arange(5.0, dtype=np.float32), 1.0, lax.mul, (2,))
        Array([ 0.,  2.,  6., 12.], dtype=float32)
    """
    flat_operands, operand_tree = tree_util.tree_flatten(operand)
    flat_inits, init_tree = tree_util.tree_flatten(init_value)
    if operand_tree != init_tree:
        raise ValueError(
            "Operands must have the same tree structure as init_values: "
            f"{operand_tree} vs. {init_tree}"
        )
    if len(flat_operands) != len(flat_inits):
        raise ValueError(
            "Must have same total number of operands as init_values: "
            f" {len(flat_operands)} vs. {len(flat_inits)}"
        )
    if not flat_operands:
        raise ValueError("reduce_window must have at least one operand.")
    window_dimensions = tuple(window_dimensions)
    rank = len(window_dimensions)
    in_shape = core.get_aval(flat_operands[0]).shape
    if len(in_shape) != rank:
        raise TypeError(
            "reduce_window got the wrong number of window_dimensions for operand: got operand "
            f"shape {in_shape} with window_dimensions {window_dimensions}."
        )
    strides = (1,) * rank if window_strides is None else tuple(window_strides)
    base = (1,) * rank if base_dilation is None else tuple(base_dilation)
    dilation = (1,) * rank if window_dilation is None else tuple(window_dilation)
    for what, value in (
        ("window_strides", strides),
        ("base_dilation", base),
        ("window_dilation", dilation),
    ):
        if len(value) != rank:
            raise TypeError(
                f"reduce_window got inconsistent {what} and window_dimensions: got {what} "
                f"{value} and window_dimensions {window_dimensions}."
            )
    if isinstance(padding, str) or hasattr(padding, "name"):
        _check_shapelike("reduce_window", "window_dimensions", window_dimensions, positive=True)
        _check_shapelike("reduce_window", "window_dilation", dilation, positive=True)
        _check_shapelike("reduce_window", "window_strides", strides, positive=True)
        pads = padtype_to_pads(in_shape, _dilate(window_dimensions, dilation), strides, padding)
    else:
        pads = tuple(tuple(p) for p in padding)
    params = _window_params(window_dimensions, strides, pads, base, dilation)
    prim = _monoid_primitive(computation, flat_inits)
    if prim is not None:
        out = prim.bind(flat_operands[0], **params)
        return tree_util.tree_unflatten(operand_tree, [out])
    return _generic(flat_operands, flat_inits, init_tree, operand_tree, computation, params)


def _generic(flat_operands, flat_inits, init_tree, operand_tree, computation, params):
    init_avals = [core.get_aval(i) for i in flat_inits]
    if any(a.ndim != 0 for a in init_avals):
        raise TypeError(
            "reduce_window expected init_values to be scalars but init_values have shapes "
            f"{[a.shape for a in init_avals]}."
        )
    proto = tree_util.tree_unflatten(init_tree, [0] * init_tree.num_leaves)
    in_tree = tree_util.tree_structure((proto, proto))
    closed, out_tree = trace_fun(computation, in_tree, init_avals * 2, "reduce_window")
    if out_tree != operand_tree:
        raise ValueError(
            "reduce_window output must have the same tree structure as the operands "
            f"{operand_tree} vs. {out_tree}"
        )
    out_avals = closed.out_avals
    if any(o.shape != () or o.dtype != i.dtype for o, i in zip(out_avals, init_avals, strict=True)):
        raise TypeError(
            "reduce_window computation must return scalars of the init_values' dtypes "
            f"{[i.str_short() for i in init_avals]}, got {[o.str_short() for o in out_avals]}"
        )
    if any(isinstance(c, core.Tracer) for c in closed.consts):
        raise NotImplementedError("Reduction computations can't close over Tracers.")
    outs = reduce_window_p.bind(
        *flat_operands,
        *flat_inits,
        jaxpr=closed.jaxpr,
        consts=tuple(closed.consts),
        **params,
    )
    return tree_util.tree_unflatten(operand_tree, outs)
