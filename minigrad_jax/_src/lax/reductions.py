"""Reductions, index reductions and cumulative ops: one stanza each.

reduce_sum and the family's shared rules (``defreducer``) are in base.py, the bottom
layer, because broadcast_in_dim's transpose needs reduce_sum; reduce_sum is re-exported.
"""

from __future__ import annotations

import jax
import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero
from minigrad_jax._src.lax import elementwise
from minigrad_jax._src.lax.associative_scan import associative_scan
from minigrad_jax._src.lax.base import (
    check_dtype,
    convert_element_type,
    defreducer,
    full,
    full_like,
    ints,
    reduce_sum,
    reducer_batch,
    reshape,
)
from minigrad_jax._src.lax.elementwise import (
    add,
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    div,
    eq,
    exp,
    log1p,
    mul,
    ne,
    neg,
    select_n,
    sub,
)
from minigrad_jax._src.lax.elementwise import max as lax_max
from minigrad_jax._src.lax.elementwise import min as lax_min
from minigrad_jax._src.lax.structural import pad, slice_in_dim, squeeze

# ---------------------------------------------------------------------------
# reduce_max and reduce_min: the tangent is averaged over the tied maxima, as in JAX


def _chooser_jvp(g, ans, x, *, axes):
    # As JAX does: ``ans`` gets size-1 axes back (a reshape) and eq broadcasts them.
    shape = core.get_aval(x).shape
    location = eq(x, reshape(ans, tuple(1 if i in axes else d for i, d in enumerate(shape))))
    location = convert_element_type(location, core.get_aval(g).dtype)
    counts = reduce_sum(location, axes)
    return div(reduce_sum(mul(g, location), axes), counts)


reduce_max_p = Primitive("reduce_max")
defreducer(reduce_max_p, "any")
ad.defjvp2(reduce_max_p, _chooser_jvp)
lowering.register(reduce_max_p, lambda x, *, axes: jlax.reduce_max(x, axes))

reduce_min_p = Primitive("reduce_min")
defreducer(reduce_min_p, "any")
ad.defjvp2(reduce_min_p, _chooser_jvp)
lowering.register(reduce_min_p, lambda x, *, axes: jlax.reduce_min(x, axes))


def reduce_max(operand, axes):
    """The maximum over ``axes``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.reduce_max(mnp.array([[1.0, 5.0], [7.0, 2.0]]), axes=(0,))
        Array([7., 5.], dtype=float32)
    """
    return reduce_max_p.bind(operand, axes=ints(axes))


def reduce_min(operand, axes):
    """The minimum over ``axes``."""
    return reduce_min_p.bind(operand, axes=ints(axes))


# ---------------------------------------------------------------------------
# reduce_prod: JVP by a pairwise product tree (exact with zeros), as in JAX

reduce_prod_p = Primitive("reduce_prod")


def _reduce_prod_jvp(primals, tangents, *, axes):
    (x,), (t,) = primals, tangents
    shape = core.get_aval(x).shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    new_shape, perm = (n,) + tuple(shape[i] for i in kept), tuple(axes) + kept
    x, t = reshape(x, new_shape, perm), reshape(ad.instantiate(t), new_shape, perm)
    (out,), (t_out,) = ad.jvp_flat(lambda y: [_product_tree(y)], [x], [t])
    return out, t_out


def _product_tree(x):
    """Multiply along axis 0 by halving; an odd half is padded with a 1."""
    aval = core.get_aval(x)
    one = np.ones((), aval.dtype)
    while core.get_aval(x).shape[0] > 1:
        n = core.get_aval(x).shape[0]
        n1 = (n + 1) // 2
        x1, x2 = slice_in_dim(x, 0, n1), slice_in_dim(x, n1, None)
        if n - n1 != n1:
            x2 = pad(x2, one, [(0, 1, 0)] + [(0, 0, 0)] * (aval.ndim - 1))
        x = mul(x1, x2)
    if core.get_aval(x).shape[0] == 0:
        return full(aval.shape[1:], 1, aval.dtype)
    return squeeze(x, (0,))


defreducer(reduce_prod_p)
ad.jvp_rules[reduce_prod_p] = _reduce_prod_jvp
lowering.register(reduce_prod_p, lambda x, *, axes: jlax.reduce_prod(x, axes))


def reduce_prod(operand, axes):
    """The product over ``axes``."""
    return reduce_prod_p.bind(operand, axes=ints(axes))


# ---------------------------------------------------------------------------
# reduce_and, reduce_or, reduce_xor (boolean/integer: not differentiable)

reduce_and_p = Primitive("reduce_and")
reduce_or_p = Primitive("reduce_or")
reduce_xor_p = Primitive("reduce_xor")
for _p, _fn in (
    (reduce_and_p, jlax.reduce_and),
    (reduce_or_p, jlax.reduce_or),
    (reduce_xor_p, jlax.reduce_xor),
):
    defreducer(_p, "int_or_bool", keep_weak=False)
    ad.defnondiff(_p)
    lowering.register(_p, lambda x, *, axes, _fn=_fn: _fn(x, axes))


def reduce_and(operand, axes):
    """Logical (bitwise) AND over ``axes``."""
    return reduce_and_p.bind(operand, axes=ints(axes))


def reduce_or(operand, axes):
    """Logical (bitwise) OR over ``axes``."""
    return reduce_or_p.bind(operand, axes=ints(axes))


def reduce_xor(operand, axes):
    """Logical (bitwise) XOR over ``axes``."""
    return reduce_xor_p.bind(operand, axes=ints(axes))


# ---------------------------------------------------------------------------
# argmax and argmin (integer outputs: not differentiable)


def _argminmax_abstract(name):
    def rule(x, *, axes, index_dtype):
        if len(axes) != 1 or not 0 <= axes[0] < x.ndim:
            raise ValueError(f"invalid axis {axes} for an operand of shape {x.shape}")
        if x.shape[axes[0]] < 1:
            raise ValueError(
                f"{name} requires a non-empty reduced dimension, got shape "
                f"{x.shape} and axis {axes[0]}"
            )
        if not jax.numpy.issubdtype(index_dtype, np.integer):
            raise TypeError(
                f"index_dtype must be an integer type, got {np.dtype(index_dtype).name}"
            )
        shape = tuple(s for i, s in enumerate(x.shape) if i != axes[0])
        return ShapedArray(shape, index_dtype, False)

    return rule


argmax_p = Primitive("argmax")
argmin_p = Primitive("argmin")
for _p, _fn in ((argmax_p, jlax.argmax), (argmin_p, jlax.argmin)):
    core.abstract_eval_rules[_p] = _argminmax_abstract(_p.name)
    batching.batch_rules[_p] = reducer_batch(_p)
    ad.defnondiff(_p)
    lowering.register(_p, lambda x, *, axes, index_dtype, _fn=_fn: _fn(x, axes[0], index_dtype))


def argmax(operand, axis, index_dtype):
    """The index of the (first) maximum along ``axis``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.argmax(mnp.array([1.0, 3.0, 3.0]), 0, mnp.int32)
        Array(1, dtype=int32)
    """
    return argmax_p.bind(operand, axes=(int(axis),), index_dtype=_index_dtype(index_dtype))


def argmin(operand, axis, index_dtype):
    """The index of the (first) minimum along ``axis``."""
    return argmin_p.bind(operand, axes=(int(axis),), index_dtype=_index_dtype(index_dtype))


def _index_dtype(dtype):
    return core.canonical_dtype(np.dtype(dtype))


# ---------------------------------------------------------------------------
# cumulative reductions: cumsum is linear; cumprod/cummax/cummin/cumlogsumexp are
# differentiated through an associative scan, as JAX does.


def _cumulative_abstract(name):
    def rule(x, *, axis, reverse):
        check_dtype(name, x.dtype, "number")
        if not 0 <= axis < x.ndim:
            raise ValueError(f"axis {axis} is out of bounds for an array of shape {x.shape}")
        return x

    return rule


def _cumulative_batch(prim):
    def rule(axis_size, args, dims, *, axis, reverse):
        (x,), (d,) = args, dims
        return prim.bind(x, axis=axis + (axis >= d), reverse=reverse), d

    return rule


def _cumulative(name, lower):
    prim = Primitive(name)
    core.abstract_eval_rules[prim] = _cumulative_abstract(name)
    batching.batch_rules[prim] = _cumulative_batch(prim)
    lowering.register(prim, lambda x, *, axis, reverse: lower(x, axis, reverse))
    return prim


cumsum_p = _cumulative("cumsum", jlax.cumsum)
cumprod_p = _cumulative("cumprod", jlax.cumprod)
cummax_p = _cumulative("cummax", jlax.cummax)
cummin_p = _cumulative("cummin", jlax.cummin)
cumlogsumexp_p = _cumulative("cumlogsumexp", jlax.cumlogsumexp)

ad.deflinear(
    cumsum_p,
    lambda ct, x, *, axis, reverse: [None if type(ct) is Zero else cumsum(ct, axis, not reverse)],
)


def _scan_jvp(combine):
    def rule(primals, tangents, *, axis, reverse):
        (x,), (t,) = primals, tangents
        fn = lambda y: [associative_scan(combine, y, reverse, axis)]  # noqa: E731
        (out,), (t_out,) = ad.jvp_flat(fn, [x], [ad.instantiate(t)])
        return out, t_out

    return rule


ad.jvp_rules[cumprod_p] = _scan_jvp(mul)
ad.jvp_rules[cummax_p] = _scan_jvp(elementwise.max)
ad.jvp_rules[cummin_p] = _scan_jvp(elementwise.min)


def _logaddexp(x1, x2):
    """jax.lax's logaddexp for real floats: ``max + log1p(exp(-|x1 - x2|))``, NaN-safe."""
    amax = elementwise.max(x1, x2)
    delta = sub(x1, x2)
    return select_n(
        ne(delta, delta), add(amax, log1p(exp(neg(elementwise.abs(delta))))), add(x1, x2)
    )


def _replace_inf(x):
    return select_n(eq(x, np.inf), x, full_like(x, 0))


def _cumlogsumexp_jvp(primals, tangents, *, axis, reverse):
    # JAX differentiates the scan of logaddexp, whose custom JVP is
    # t1 * exp(x1 - out) + t2 * exp(x2 - out) (infinities replaced by 0). We scan
    # (value, tangent) pairs with that combiner: the same formula, computed as one
    # scan, and linear in the tangents.
    (x,), (t,) = primals, tangents
    if not core.is_float(core.get_aval(x).dtype):
        raise TypeError(
            f"cumlogsumexp is differentiable only for floating inputs, got "
            f"{core.get_aval(x).dtype.name}"
        )

    def combine(a, b):
        (x1, t1), (x2, t2) = a, b
        out = _logaddexp(x1, x2)
        r_out = _replace_inf(out)
        t_out = add(
            mul(t1, exp(sub(_replace_inf(x1), r_out))),
            mul(t2, exp(sub(_replace_inf(x2), r_out))),
        )
        return out, t_out

    return associative_scan(combine, (x, ad.instantiate(t)), reverse, axis)


ad.jvp_rules[cumlogsumexp_p] = _cumlogsumexp_jvp


def cumsum(operand, axis=0, reverse=False):
    """Running sum along ``axis`` (from the end when ``reverse``).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.cumsum(mnp.array([1.0, 2.0, 3.0]))
        Array([1., 3., 6.], dtype=float32)
        >>> lax.cumsum(mnp.array([1.0, 2.0, 3.0]), reverse=True)
        Array([6., 5., 3.], dtype=float32)
    """
    return cumsum_p.bind(operand, axis=int(axis), reverse=bool(reverse))


def cumprod(operand, axis=0, reverse=False):
    """Running product along ``axis``."""
    return cumprod_p.bind(operand, axis=int(axis), reverse=bool(reverse))


def cummax(operand, axis=0, reverse=False):
    """Running maximum along ``axis``."""
    return cummax_p.bind(operand, axis=int(axis), reverse=bool(reverse))


def cummin(operand, axis=0, reverse=False):
    """Running minimum along ``axis``."""
    return cummin_p.bind(operand, axis=int(axis), reverse=bool(reverse))


def cumlogsumexp(operand, axis=0, reverse=False):
    """Running ``log(sum(exp(x)))`` along ``axis``, computed stably.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.cumlogsumexp(mnp.array([0.0, 0.0, 0.0]))
        Array([0.       , 0.6931472, 1.0986123], dtype=float32)
    """
    return cumlogsumexp_p.bind(operand, axis=int(axis), reverse=bool(reverse))


def reduce(operands, init_values, computation, dimensions):  # noqa: A001
    """``computation`` folded over ``dimensions`` of ``operands``, starting from
    ``init_values``, as jax.lax.reduce, where the computation is a monoid with its
    identity as the init value: ``lax.add`` from 0, ``lax.mul`` from 1, ``lax.max`` /
    ``lax.min`` from the dtype's lowest / highest value, and ``lax.bitwise_or`` /
    ``bitwise_and`` / ``bitwise_xor`` on booleans from False / True / False. These
    are JAX's reduce_sum, reduce_prod, reduce_max... equations. Any other
    computation raises NotImplementedError (JAX stages it as a general ``reduce``).

    Example:
      >>> import minigrad_jax as mg, numpy as np
      >>> mg.lax.reduce(np.arange(6.0, dtype=np.float32).reshape(2, 3), 0.0, mg.lax.add, (0,))
      Array([3., 5., 7.], dtype=float32)
    """
    flat_ops, op_tree = jax.tree_util.tree_flatten(operands)
    flat_inits, init_tree = jax.tree_util.tree_flatten(init_values)
    if op_tree != init_tree:
        raise ValueError("Operands must have the same tree structure as init_values")
    dimensions = tuple(int(d) for d in dimensions)
    reducer = _monoid_reducer(computation, flat_inits)
    if reducer is None:
        raise NotImplementedError(
            f"lax.reduce with computation {getattr(computation, '__name__', computation)!r} "
            f"and init values {flat_inits!r}: only the monoids are supported (lax.add from 0, "
            "lax.mul from 1, lax.max/lax.min from the dtype's lowest/highest value, "
            "bitwise_or/and/xor on booleans); use mnp's reductions or lax.scan for others"
        )
    weak = all(core.get_aval(x).weak_type for x in (*flat_ops, *flat_inits))
    out = reducer(flat_ops[0], dimensions)
    aval = core.get_aval(out)
    return out if aval.weak_type == weak else convert_element_type(out, aval.dtype, weak)


def _monoid_reducer(computation, inits):
    """The reduce_* function that ``computation`` from ``inits`` is, else None."""
    if len(inits) != 1:
        return None
    x = inits[0]
    if isinstance(x, core.Tracer):
        x = x.concrete_value()
        if x is None:
            return None
    if np.shape(x) != ():
        return None
    dtype = core.get_aval(inits[0]).dtype
    val = np.asarray(x)
    is_bool = dtype == np.bool_
    if computation is add:
        return reduce_sum if val == 0 else None
    if computation is mul:
        return reduce_prod if val == 1 else None
    if computation is lax_max:
        return reduce_max if val == max_identity(dtype) else None
    if computation is lax_min:
        return reduce_min if val == min_identity(dtype) else None
    if computation is bitwise_or and is_bool:
        return reduce_or if not val else None
    if computation is bitwise_and and is_bool:
        return reduce_and if val else None
    if computation is bitwise_xor and is_bool:
        return reduce_xor if not val else None
    return None


def max_identity(dtype):
    """The identity of max over ``dtype``: its lowest value (False, the least integer, -inf)."""
    return _extreme(dtype, highest=False)


def min_identity(dtype):
    """The identity of min over ``dtype``: its highest value (True, the greatest integer, inf)."""
    return _extreme(dtype, highest=True)


def _extreme(dtype, highest):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.array(highest)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.array(info.max if highest else info.min, dtype)
    return np.array(np.inf if highest else -np.inf, dtype)
