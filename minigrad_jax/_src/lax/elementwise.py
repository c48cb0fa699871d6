"""Elementwise primitives: one stanza per primitive registering all its rules."""

from __future__ import annotations

import jax
import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core, errors
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero, defjvp, defjvp2, defnondiff, is_undefined
from minigrad_jax._src.lax import base

# ---------------------------------------------------------------------------
# the family's shape and dtype rules


def _is_complex(dtype):
    return jax.numpy.issubdtype(dtype, np.complexfloating)


def _is_real_float(dtype):
    return jax.numpy.issubdtype(dtype, np.floating)


# JAX's dtype sets: "float" is its ``_float | _complex`` (inexact), "real" its
# ``_float``; "ordered" excludes complex (lt/le/gt/ge), "real_number" is rem's.
_KIND_CHECKS = {
    "float": (core.is_float, "a floating-point or complex"),
    "real": (_is_real_float, "a (real) floating-point"),
    "complex": (_is_complex, "a complex"),
    "complex_elem": (lambda d: d in (np.float32, np.float64), "a float32 or float64"),
    "conj": (
        lambda d: d in (np.float32, np.float64) or _is_complex(d),
        "a float32, float64 or complex",
    ),
    "ordered": (lambda d: not _is_complex(d), "a non-complex"),
    "real_number": (lambda d: d != np.bool_ and not _is_complex(d), "an integer or floating-point"),
    "number": (lambda d: d != np.bool_, "a numeric"),
    "int": (lambda d: jax.numpy.issubdtype(d, np.integer), "an integer"),
    "int_or_bool": (core.is_integer_or_bool, "an integer or boolean"),
    "any": (lambda d: True, "any"),
}


def _check_kind(name, dtype, kind):
    ok, want = _KIND_CHECKS[kind]
    if not ok(dtype):
        raise TypeError(f"{name} requires {want} dtype, got {np.dtype(dtype).name}")


def broadcast_shapes_lax(name, *avals):
    """lax's rule: rank-0 operands broadcast; otherwise equal ranks, sizes equal or 1."""
    shapes = [a.shape for a in avals if a.ndim]
    if not shapes:
        return ()
    if len({len(s) for s in shapes}) > 1:
        raise TypeError(
            f"{name}: arrays must have the same number of dimensions, got "
            + ", ".join(str(a.shape) for a in avals)
        )
    out = []
    for sizes in zip(*shapes):
        big = {d for d in sizes if d != 1}
        if len(big) > 1:
            raise TypeError(
                f"{name} got incompatible shapes for broadcasting: "
                + ", ".join(str(a.shape) for a in avals)
            )
        out.append(big.pop() if big else 1)
    return tuple(out)


def _same_dtypes(name, avals):
    if len({a.dtype for a in avals}) > 1:
        raise TypeError(
            f"{name} requires arguments to have the same dtypes, got "
            + ", ".join(a.dtype.name for a in avals)
        )


def complex_basetype(dtype):
    """The real dtype of a complex dtype (complex64 -> float32); others unchanged."""
    dtype = np.dtype(dtype)
    return np.finfo(dtype).dtype if _is_complex(dtype) else dtype


def complex_dtype(dtype):
    """The complex dtype of a float dtype (float32 -> complex64), as JAX's rule."""
    return (np.zeros((), dtype) + np.zeros((), np.complex64)).dtype


def _scalars(x, y):
    """lax accepts Python scalars beside arrays: they take the array's dtype."""
    if core.is_python_scalar(x) and not core.is_python_scalar(y):
        return _scalar_like(x, core.get_aval(y).dtype), y
    if core.is_python_scalar(y) and not core.is_python_scalar(x):
        return x, _scalar_like(y, core.get_aval(x).dtype)
    return x, y


def _scalar_like(v, dtype):
    """Python scalar ``v`` as a weak constant of ``dtype`` (the other operand's), where
    its value survives; a scalar of another kind (a complex beside reals, a float
    beside integers, a bool beside numbers or a number beside bools) or an integer out
    of the dtype's range raises, as JAX's lax raises for it."""
    t, kind = type(v), np.dtype(dtype).kind
    bad = (
        (t is _PY_COMPLEX and kind != "c")
        or (t is float and kind in "iub")
        or ((t is bool) != (kind == "b"))
    )
    if not bad and t is int and kind in "iu":
        info = np.iinfo(dtype)
        bad = not info.min <= v <= info.max
    if bad:
        raise errors.scalar_dtype_error(v, np.dtype(dtype), core.user_frame_info())
    return core.weak_scalar(v, dtype)


_PY_COMPLEX = type(0j)  # (``complex`` here is lax.complex)


def unop(name, kind, lower, dtype_rule=None):
    """A unary elementwise primitive: same shape and (unless ``dtype_rule``) dtype out."""
    prim = Primitive(name)

    def abstract(x, **params):
        _check_kind(name, x.dtype, kind)
        if dtype_rule is not None:
            return x.update(dtype=dtype_rule(x.dtype))
        return x

    core.abstract_eval_rules[prim] = abstract
    batching.defvectorized(prim)
    lowering.register(prim, lower)
    return prim


def naryop(name, kind, lower, out_dtype=None):
    """An n-ary elementwise primitive with lax's dtype and scalar-broadcast rules."""
    prim = Primitive(name)

    def abstract(*avals, **params):
        for a in avals:
            _check_kind(name, a.dtype, kind)
        _same_dtypes(name, avals)
        shape = broadcast_shapes_lax(name, *avals)
        if out_dtype is not None:  # comparisons: weak only if every operand is (as JAX)
            return ShapedArray(shape, out_dtype, all(a.weak_type for a in avals))
        return ShapedArray(shape, avals[0].dtype, all(a.weak_type for a in avals))

    core.abstract_eval_rules[prim] = abstract
    batching.defbroadcasting(prim)
    lowering.register(prim, lower)
    return prim


def _acc(fn):
    """Lowering for the ops JAX gives an ``accuracy`` param."""
    return lambda x, accuracy=None: fn(x, accuracy=accuracy)


def _plain(fn):
    return lambda *args, **params: fn(*args)


# ---------------------------------------------------------------------------
# unary, non-differentiable (piecewise constant or integer)

sign_p = unop("sign", "number", _plain(jlax.sign))
floor_p = unop("floor", "real", _plain(jlax.floor))
ceil_p = unop("ceil", "real", _plain(jlax.ceil))
round_p = unop("round", "real", lambda x, rounding_method=0: jlax.round(x, rounding_method))
not_p = unop("not", "int_or_bool", _plain(jlax.bitwise_not))
is_finite_p = unop("is_finite", "real", _plain(jlax.is_finite))
core.abstract_eval_rules[is_finite_p] = lambda x: x.update(dtype=np.bool_, weak_type=False)
for _p in (sign_p, floor_p, ceil_p, round_p, not_p, is_finite_p):
    defnondiff(_p)


sign = core.binder(sign_p, 1)


floor = core.binder(floor_p, 1)


ceil = core.binder(ceil_p, 1)


def round(x, rounding_method=jlax.RoundingMethod.AWAY_FROM_ZERO):  # noqa: A001
    return round_p.bind(x, rounding_method=jlax.RoundingMethod(rounding_method))


bitwise_not = core.binder(not_p, 1, name="bitwise_not")


is_finite = core.binder(is_finite_p, 1)


# ---------------------------------------------------------------------------
# unary, differentiable

neg_p = unop("neg", "number", _plain(jlax.neg))
ad.deflinear(neg_p, lambda ct, x: [neg(ct)])


neg = core.binder(neg_p, 1)


abs_p = unop("abs", "number", _plain(jlax.abs), complex_basetype)


def _abs_jvp(g, ans, x):
    if _is_complex(core.get_aval(x).dtype):
        # JAX's rule: re(g * conj(x) / |x|), with |x| = 0 replaced by 1.
        dtype = core.get_aval(x).dtype
        return real(mul(g, div(conj(x), _replace_zero(base.convert_element_type(ans, dtype)))))
    # The tangent flips sign where x < 0 (a select, not a multiply by sign(x)),
    # so the derivative at 0 is 1, not 0.
    return select_n(ge(x, _const(x, 0)), neg(g), g)


defjvp2(abs_p, _abs_jvp)


def _replace_zero(x):
    """``x`` with its zeros replaced by ones (JAX's ``_replace_zero``)."""
    return select_n(eq(x, _const(x, 0)), x, _full_like(x, 1))


abs = core.binder(abs_p, 1)  # noqa: A001


exp_p = unop("exp", "float", _acc(jlax.exp))
defjvp2(exp_p, lambda g, ans, x, **p: mul(g, ans))


exp = core.binder(exp_p, 1, accuracy=None)


exp2_p = unop("exp2", "float", _acc(jlax.exp2))
defjvp2(exp2_p, lambda g, ans, x, **p: mul(g, mul(_const(x, np.log(2.0)), ans)))


exp2 = core.binder(exp2_p, 1, accuracy=None)


log_p = unop("log", "float", _acc(jlax.log))
defjvp(log_p, lambda g, x, **p: div(g, x))


log = core.binder(log_p, 1, accuracy=None)


log1p_p = unop("log1p", "float", _acc(jlax.log1p))
defjvp(log1p_p, lambda g, x, **p: div(g, add(x, _const(x, 1))))


log1p = core.binder(log1p_p, 1, accuracy=None)


expm1_p = unop("expm1", "float", _acc(jlax.expm1))
defjvp2(expm1_p, lambda g, ans, x, **p: mul(g, add(ans, _const(ans, 1))))


expm1 = core.binder(expm1_p, 1, accuracy=None)


sqrt_p = unop("sqrt", "float", _acc(jlax.sqrt))
defjvp2(sqrt_p, lambda g, ans, x, **p: mul(g, div(_const(x, 0.5), ans)))


sqrt = core.binder(sqrt_p, 1, accuracy=None)


rsqrt_p = unop("rsqrt", "float", _acc(jlax.rsqrt))
defjvp2(rsqrt_p, lambda g, ans, x, **p: mul(g, mul(_const(x, -0.5), div(ans, x))))


rsqrt = core.binder(rsqrt_p, 1, accuracy=None)


cbrt_p = unop("cbrt", "real", _acc(jlax.cbrt))
defjvp2(cbrt_p, lambda g, ans, x, **p: mul(g, mul(_const(x, 1 / 3), integer_pow(ans, -2))))


cbrt = core.binder(cbrt_p, 1, accuracy=None)


sin_p = unop("sin", "float", _acc(jlax.sin))
defjvp(sin_p, lambda g, x, **p: mul(g, cos(x)))


sin = core.binder(sin_p, 1, accuracy=None)


cos_p = unop("cos", "float", _acc(jlax.cos))
defjvp(cos_p, lambda g, x, **p: neg(mul(g, sin(x))))


cos = core.binder(cos_p, 1, accuracy=None)


tan_p = unop("tan", "float", _acc(jlax.tan))
defjvp2(tan_p, lambda g, ans, x, **p: mul(g, add(_const(x, 1), integer_pow(ans, 2))))


tan = core.binder(tan_p, 1, accuracy=None)


asin_p = unop("asin", "float", _plain(jlax.asin))
defjvp(asin_p, lambda g, x: mul(g, rsqrt(sub(_const(x, 1), integer_pow(x, 2)))))


asin = core.binder(asin_p, 1)


acos_p = unop("acos", "float", _plain(jlax.acos))
defjvp(acos_p, lambda g, x: mul(g, neg(rsqrt(sub(_const(x, 1), integer_pow(x, 2))))))


acos = core.binder(acos_p, 1)


atan_p = unop("atan", "float", _plain(jlax.atan))
defjvp(atan_p, lambda g, x: div(g, add(_const(x, 1), integer_pow(x, 2))))


atan = core.binder(atan_p, 1)


sinh_p = unop("sinh", "float", _plain(jlax.sinh))
defjvp(sinh_p, lambda g, x: mul(g, cosh(x)))


sinh = core.binder(sinh_p, 1)


cosh_p = unop("cosh", "float", _plain(jlax.cosh))
defjvp(cosh_p, lambda g, x: mul(g, sinh(x)))


cosh = core.binder(cosh_p, 1)


tanh_p = unop("tanh", "float", _acc(jlax.tanh))
# JAX's form: (g + g*ans) * (1 - ans) = g * (1 - ans**2)
defjvp2(tanh_p, lambda g, ans, x, **p: mul(add(g, mul(g, ans)), sub(_const(x, 1), ans)))


tanh = core.binder(tanh_p, 1, accuracy=None)


asinh_p = unop("asinh", "float", _plain(jlax.asinh))
defjvp(asinh_p, lambda g, x: mul(g, rsqrt(add(integer_pow(x, 2), _const(x, 1)))))


asinh = core.binder(asinh_p, 1)


acosh_p = unop("acosh", "float", _plain(jlax.acosh))
defjvp(acosh_p, lambda g, x: mul(g, rsqrt(sub(integer_pow(x, 2), _const(x, 1)))))


acosh = core.binder(acosh_p, 1)


atanh_p = unop("atanh", "float", _plain(jlax.atanh))
defjvp(atanh_p, lambda g, x: div(g, sub(_const(x, 1), integer_pow(x, 2))))


atanh = core.binder(atanh_p, 1)


logistic_p = unop("logistic", "float", _acc(jlax.logistic))
defjvp2(logistic_p, lambda g, ans, x, **p: mul(g, mul(ans, sub(_const(ans, 1), ans))))


logistic = core.binder(logistic_p, 1, accuracy=None)


erf_p = unop("erf", "real", _plain(jlax.erf))
defjvp(erf_p, lambda g, x: mul(g, mul(_const(x, 2 / np.sqrt(np.pi)), exp(neg(square(x))))))


erf = core.binder(erf_p, 1)


erfc_p = unop("erfc", "real", _plain(jlax.erfc))
defjvp(erfc_p, lambda g, x: mul(g, mul(_const(x, -2 / np.sqrt(np.pi)), exp(neg(square(x))))))


erfc = core.binder(erfc_p, 1)


erf_inv_p = unop("erf_inv", "real", _plain(jlax.erf_inv))
defjvp2(erf_inv_p, lambda g, ans, x: mul(g, mul(_const(x, np.sqrt(np.pi) / 2), exp(square(ans)))))


erf_inv = core.binder(erf_inv_p, 1)


digamma_p = unop("digamma", "real", _plain(jlax.digamma))
lgamma_p = unop("lgamma", "real", _plain(jlax.lgamma))
defjvp(lgamma_p, lambda g, x: mul(g, digamma(x)))


lgamma = core.binder(lgamma_p, 1)


digamma = core.binder(digamma_p, 1)


polygamma_p = naryop("polygamma", "real", _plain(jlax.polygamma))


def _polygamma_grad_m(g, m, x):
    raise ValueError("polygamma gradient with respect to m is not supported")  # as JAX


defjvp(polygamma_p, _polygamma_grad_m, lambda g, m, x: mul(g, polygamma(add(m, _const(m, 1)), x)))
defjvp(digamma_p, lambda g, x: mul(g, polygamma(_const(x, 1), x)))


def polygamma(m, x):
    return polygamma_p.bind(*_scalars(m, x))


square_p = unop("square", "number", _plain(jlax.square))
defjvp(square_p, lambda g, x: mul(g, mul(_const(x, 2), x)))


square = core.binder(square_p, 1)


integer_pow_p = unop("integer_pow", "number", lambda x, y: jlax.integer_pow(x, y))


def _integer_pow_jvp(g, x, *, y):
    if y == 0:
        return mul(g, _const(x, 0))
    if y == 1:
        return mul(g, _const(x, 1))
    d = mul(_const(x, y), x if y == 2 else integer_pow(x, y - 1))
    return mul(g, d)


defjvp(integer_pow_p, _integer_pow_jvp)


def integer_pow(x, y):
    return integer_pow_p.bind(x, y=int(y))


# ---------------------------------------------------------------------------
# complex numbers: real, imag, conj, complex (JAX's names, params and rules)

real_p = unop("real", "complex", _plain(jlax.real), complex_basetype)
imag_p = unop("imag", "complex", _plain(jlax.imag), complex_basetype)


def _strong_zero(t):
    """A strongly typed scalar 0 of ``t``'s dtype (JAX's ``np.zeros((), dtype)``)."""
    return np.zeros((), core.get_aval(t).dtype)


# real's transpose is complex(t, 0); imag's is complex(0, -t), as in JAX.
ad.deflinear(real_p, lambda t, x: [None if type(t) is Zero else complex(t, _strong_zero(t))])
ad.deflinear(imag_p, lambda t, x: [None if type(t) is Zero else complex(_strong_zero(t), neg(t))])


def real(x):
    """The real part of ``x`` (complex), as jax.lax.real."""
    return real_p.bind(x)


def imag(x):
    """The imaginary part of ``x`` (complex), as jax.lax.imag."""
    return imag_p.bind(x)


complex_p = naryop("complex", "complex_elem", _plain(jlax.complex))
_complex_real_abstract = core.abstract_eval_rules[complex_p]


def _complex_abstract(x, y):
    out = _complex_real_abstract(x, y)
    return out.update(dtype=complex_dtype(out.dtype))


def _complex_transpose(t, x, y):
    if type(t) is Zero:
        return [None, None]
    return [
        unbroadcast(x.aval, real(t)) if is_undefined(x) else None,
        unbroadcast(y.aval, imag(neg(t))) if is_undefined(y) else None,
    ]


core.abstract_eval_rules[complex_p] = _complex_abstract
ad.deflinear(complex_p, _complex_transpose)


def complex(x, y):  # noqa: A001
    """``x + 1j * y`` from real ``x`` and ``y``, as jax.lax.complex."""
    return complex_p.bind(*_scalars(x, y))


conj_p = unop("conj", "conj", lambda x, input_dtype: jlax.conj(x), complex_dtype)


def _conj_transpose(t, x, *, input_dtype):
    if type(t) is Zero:
        return [None]
    if _is_complex(input_dtype):
        return [conj(t)]
    return [real(t)]


ad.deflinear(conj_p, _conj_transpose)


def conj(x):
    """The complex conjugate of ``x`` (a real ``x`` becomes complex), as jax.lax.conj."""
    return conj_p.bind(x, input_dtype=core.get_aval(x).dtype)


# ---------------------------------------------------------------------------
# binary


add_p = naryop("add", "number", _plain(jlax.add))
sub_p = naryop("sub", "number", _plain(jlax.sub))
mul_p = naryop("mul", "number", _plain(jlax.mul))
div_p = naryop("div", "number", _plain(jlax.div))
rem_p = naryop("rem", "real_number", _plain(jlax.rem))
pow_p = naryop("pow", "float", _plain(jlax.pow))
max_p = naryop("max", "any", _plain(jlax.max))
min_p = naryop("min", "any", _plain(jlax.min))
atan2_p = naryop("atan2", "float", _plain(jlax.atan2))
nextafter_p = naryop("nextafter", "real", _plain(jlax.nextafter))
ad.jvp_rules[nextafter_p] = ad.not_implemented_jvp("nextafter")


def unbroadcast(aval, ct):
    """Sum a cotangent down to the shape of an operand that lax broadcast."""
    if type(ct) is Zero:
        return ct
    ct_shape = core.get_aval(ct).shape
    if ct_shape == aval.shape:
        return ct
    if aval.ndim == 0:
        return base.reduce_sum(ct, tuple(range(len(ct_shape))))
    axes = tuple(i for i, (a, c) in enumerate(zip(aval.shape, ct_shape)) if a == 1 and c != 1)
    return base.reshape(base.reduce_sum(ct, axes), aval.shape)


def _bcast_tangent(g, other):
    """A tangent must take the op's output shape when lax broadcast its operand."""
    g_aval, o_aval = core.get_aval(g), core.get_aval(other)
    shape = broadcast_shapes_lax("broadcast", g_aval, o_aval)
    if g_aval.shape == shape:
        return g
    dims = tuple(range(g_aval.ndim)) if g_aval.ndim else ()
    return base.broadcast_in_dim(g, shape, dims)


def _add_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    out = add(x, y)
    if type(tx) is Zero:
        return out, _bcast_tangent(ty, x)
    if type(ty) is Zero:
        return out, _bcast_tangent(tx, y)
    return out, add(_bcast_tangent(tx, y), _bcast_tangent(ty, x))  # JAX emits add, not add_any


def _add_transpose(ct, x, y):
    return [
        unbroadcast(x.aval, ct) if is_undefined(x) else None,
        unbroadcast(y.aval, ct) if is_undefined(y) else None,
    ]


ad.jvp_rules[add_p] = _add_jvp
ad.transpose_rules[add_p] = _add_transpose


def _sub_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    out = sub(x, y)
    if type(ty) is Zero:
        return out, _bcast_tangent(tx, y)
    nty = neg(_bcast_tangent(ty, x))
    if type(tx) is Zero:
        return out, nty
    return out, sub(_bcast_tangent(tx, y), _bcast_tangent(ty, x))


def _sub_transpose(ct, x, y):
    if type(ct) is Zero:
        return [None, None]
    return [
        unbroadcast(x.aval, ct) if is_undefined(x) else None,
        unbroadcast(y.aval, neg(ct)) if is_undefined(y) else None,
    ]


ad.jvp_rules[sub_p] = _sub_jvp
ad.transpose_rules[sub_p] = _sub_transpose

defjvp(mul_p, lambda g, x, y, **p: mul(g, y), lambda g, x, y, **p: mul(x, g))


def _mul_transpose(ct, x, y, **params):
    if is_undefined(x) and is_undefined(y):
        raise NotImplementedError("mul is not linear in both operands; cannot transpose")
    if is_undefined(x):
        return [unbroadcast(x.aval, mul(ct, y)), None]
    return [None, unbroadcast(y.aval, mul(x, ct))]


ad.transpose_rules[mul_p] = _mul_transpose

defjvp(div_p, lambda g, x, y: div(g, y), lambda g, x, y: mul(mul(neg(g), x), integer_pow(y, -2)))


def _div_transpose(ct, x, y):
    if is_undefined(y):
        raise NotImplementedError("div is not linear in its divisor; cannot transpose")
    return [unbroadcast(x.aval, div(ct, y)), None]


ad.transpose_rules[div_p] = _div_transpose

defjvp(
    rem_p,
    lambda g, x, y: _bcast_tangent(g, y),
    lambda g, x, y: mul(neg(g), mul(sign(div(x, y)), floor(abs(div(x, y))))),
)


def _pow_jvp_x(g, ans, x, y):
    dtype = core.get_aval(ans).dtype  # JAX computes the jacobian strongly typed
    x, y = base.convert_element_type(x, dtype), base.convert_element_type(y, dtype)
    return mul(g, mul(y, pow(x, sub(y, _full_like(y, 1)))))


def _pow_jvp_y(g, ans, x, y):
    # JAX's convention: d/dy x**y = log(x) * x**y, with log(1) = 0 taken where x == 0.
    safe_x = select_n(eq(x, _full_like(x, 0)), x, _full_like(x, 1))
    return mul(g, mul(log(safe_x), ans))


defjvp2(pow_p, _pow_jvp_x, _pow_jvp_y)


def _balanced_eq(x, ans, y):
    """JAX's weight of ``x``'s tangent in max/min: 1 where x is the answer, 1/2 on a tie.

    Written as JAX writes it (selects of constants shaped like ``ans``, then a
    division), so values, weak types and equations all agree with JAX's.
    """
    hit = eq(x, ans)
    one, zero = _full_like(ans, 1), _full_like(ans, 0)
    num = select_n(hit, zero, one)
    tie = eq(y, ans)
    two, one = _full_like(ans, 2), _full_like(ans, 1)
    return div(num, select_n(tie, one, two))


for _p in (max_p, min_p):
    defjvp2(
        _p,
        lambda g, ans, x, y: mul(g, _balanced_eq(x, ans, y)),
        lambda g, ans, x, y: mul(g, _balanced_eq(y, ans, x)),
    )


def _atan2_jvp_x(g, x, y):
    return mul(g, div(y, add(square(x), square(y))))


def _atan2_jvp_y(g, x, y):
    return mul(g, div(neg(x), add(square(x), square(y))))


defjvp(atan2_p, _atan2_jvp_x, _atan2_jvp_y)


add = core.binder(add_p, 2, _scalars)


sub = core.binder(sub_p, 2, _scalars)


# jax 0.10 gives mul an ``out_dtype`` param (None unless mixed-dtype); mirror
# whatever the installed JAX does so jaxprs compare equal param for param.
_MUL_PARAMS = dict(jax.make_jaxpr(jlax.mul)(1.0, 1.0).eqns[0].params)


mul = core.binder(mul_p, 2, _scalars, **_MUL_PARAMS)


div = core.binder(div_p, 2, _scalars)


rem = core.binder(rem_p, 2, _scalars)


pow = core.binder(pow_p, 2, _scalars)  # noqa: A001


max = core.binder(max_p, 2, _scalars)  # noqa: A001


min = core.binder(min_p, 2, _scalars)  # noqa: A001


atan2 = core.binder(atan2_p, 2, _scalars)


nextafter = core.binder(nextafter_p, 2, _scalars)


# ---------------------------------------------------------------------------
# comparisons and logic (boolean or integer results: not differentiable)

eq_p = naryop("eq", "any", _plain(jlax.eq), np.bool_)
ne_p = naryop("ne", "any", _plain(jlax.ne), np.bool_)
lt_p = naryop("lt", "ordered", _plain(jlax.lt), np.bool_)
le_p = naryop("le", "ordered", _plain(jlax.le), np.bool_)
gt_p = naryop("gt", "ordered", _plain(jlax.gt), np.bool_)
ge_p = naryop("ge", "ordered", _plain(jlax.ge), np.bool_)
and_p = naryop("and", "int_or_bool", _plain(jlax.bitwise_and))
or_p = naryop("or", "int_or_bool", _plain(jlax.bitwise_or))
xor_p = naryop("xor", "int_or_bool", _plain(jlax.bitwise_xor))
shift_left_p = naryop("shift_left", "int", _plain(jlax.shift_left))
shift_right_arithmetic_p = naryop(
    "shift_right_arithmetic", "int", _plain(jlax.shift_right_arithmetic)
)
shift_right_logical_p = naryop("shift_right_logical", "int", _plain(jlax.shift_right_logical))
population_count_p = unop("population_count", "int", _plain(jlax.population_count))
clz_p = unop("clz", "int", _plain(jlax.clz))
for _p in (
    eq_p,
    ne_p,
    lt_p,
    le_p,
    gt_p,
    ge_p,
    and_p,
    or_p,
    xor_p,
    shift_left_p,
    shift_right_arithmetic_p,
    shift_right_logical_p,
    population_count_p,
    clz_p,
):
    defnondiff(_p)


def shift_left(x, y):
    """``x << y`` elementwise (0 once ``y`` reaches the bit width), as jax.lax.shift_left."""
    return shift_left_p.bind(*_scalars(x, y))


def shift_right_arithmetic(x, y):
    """``x >> y`` filling with the sign bit, as jax.lax.shift_right_arithmetic."""
    return shift_right_arithmetic_p.bind(*_scalars(x, y))


def shift_right_logical(x, y):
    """``x >> y`` filling with zeros, as jax.lax.shift_right_logical.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.shift_right_logical(mnp.int32(-8), 1)
        Array(2147483644, dtype=int32)
    """
    return shift_right_logical_p.bind(*_scalars(x, y))


def population_count(x):
    """The number of set bits of each element, as jax.lax.population_count."""
    return population_count_p.bind(x)


def clz(x):
    """The number of leading zero bits of each element, as jax.lax.clz."""
    return clz_p.bind(x)


eq = core.binder(eq_p, 2, _scalars)


ne = core.binder(ne_p, 2, _scalars)


lt = core.binder(lt_p, 2, _scalars)


le = core.binder(le_p, 2, _scalars)


gt = core.binder(gt_p, 2, _scalars)


ge = core.binder(ge_p, 2, _scalars)


bitwise_and = core.binder(and_p, 2, _scalars, name="bitwise_and")


bitwise_or = core.binder(or_p, 2, _scalars, name="bitwise_or")


bitwise_xor = core.binder(xor_p, 2, _scalars, name="bitwise_xor")


# ---------------------------------------------------------------------------
# select_n and clamp

select_n_p = Primitive("select_n")


def _select_n_abstract(which, *cases):
    if not cases:
        raise TypeError("select_n requires at least one case")
    if which.dtype != np.bool_ and which.dtype != np.int32:
        raise TypeError(f"select_n's selector must be bool or int32, got {which.dtype.name}")
    if len(cases) > 2 and which.dtype == np.bool_:
        raise TypeError("select_n with a bool selector takes exactly two cases")
    _same_dtypes("select_n", cases)
    if len({c.shape for c in cases}) > 1:
        raise TypeError(
            "select_n cases must have the same shapes, got "
            + ", ".join(str(c.shape) for c in cases)
        )
    if which.ndim and which.shape != cases[0].shape:
        raise TypeError(
            f"select_n selector shape {which.shape} must be scalar or equal "
            f"to the case shape {cases[0].shape}"
        )
    return ShapedArray(cases[0].shape, cases[0].dtype, all(c.weak_type for c in cases))


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    out = select_n(which, *cases)
    case_t = tangents[1:]
    if all(type(t) is Zero for t in case_t):
        return out, Zero(ad.tangent_aval(core.get_aval(out)))
    return out, select_n(which, *map(ad.instantiate, case_t))


def _select_n_transpose(ct, which, *cases):
    if is_undefined(which):
        raise NotImplementedError("select_n is not linear in its selector")
    if type(ct) is Zero:
        return [None] * (1 + len(cases))
    zeros = _full_like(ct, 0)  # keeps ct's weak type, as JAX's zeros do
    out = [None]
    for i, c in enumerate(cases):
        if is_undefined(c):
            picks = [zeros] * len(cases)
            picks[i] = ct
            out.append(select_n(which, *picks))
        else:
            out.append(None)
    return out


def _select_n_batch(axis_size, args, dims):
    which, *cases = args
    wdim, *cdims = dims
    waval = core.get_aval(which)
    if wdim is None and waval.ndim == 0:
        first = next(d for d in cdims if d is not None)
        cases = [batching.matchaxis(c, d, first, axis_size) for c, d in zip(cases, cdims)]
        return select_n(which, *cases), first
    cases = [batching.bdim_at_front(c, d, axis_size) for c, d in zip(cases, cdims)]
    shape = core.get_aval(cases[0]).shape
    which = batching.bdim_at_front(which, wdim, axis_size) if wdim is not None else which

    wa = core.get_aval(which)
    if wdim is None or wa.ndim < len(shape):
        dims_ = tuple(range(1, wa.ndim + 1)) if wdim is None else tuple(range(wa.ndim))
        which = base.broadcast_in_dim(which, shape, dims_)
    return select_n(which, *cases), 0


core.abstract_eval_rules[select_n_p] = _select_n_abstract
ad.jvp_rules[select_n_p] = _select_n_jvp
ad.transpose_rules[select_n_p] = _select_n_transpose
batching.batch_rules[select_n_p] = _select_n_batch
lowering.register(select_n_p, lambda which, *cases: jlax.select_n(which, *cases))


def select_n(which, *cases):
    return select_n_p.bind(which, *cases)


clamp_p = Primitive("clamp")


def _clamp_abstract(lo, x, hi):
    _same_dtypes("clamp", [lo, x, hi])
    for b in (lo, hi):
        if b.ndim and b.shape != x.shape:
            raise TypeError(
                f"clamp bounds must be scalars or shaped like the operand {x.shape}, got {b.shape}"
            )
    return x


# JAX's conventions: x's tangent passes strictly inside (lo, hi) only, so it is
# zero at either bound; lo's passes where lo > x and lo < hi; hi's where hi < x.
# The zeros are shaped and weakly typed like x, as JAX's are.


def _clamp_jvp_lo(g, lo, x, hi):
    active = bitwise_and(gt(lo, x), lt(lo, hi))
    return select_n(_bcast_sel(active, x), _full_like(x, 0), _bt(g, x))


def _clamp_jvp_x(g, lo, x, hi):
    inside = bitwise_and(gt(x, lo), lt(x, hi))
    return select_n(_bcast_sel(inside, g), _full_like(x, 0), g)


def _clamp_jvp_hi(g, lo, x, hi):
    return select_n(_bcast_sel(lt(hi, x), x), _full_like(x, 0), _bt(g, x))


def _bcast_sel(pred, like):
    pa, la = core.get_aval(pred), core.get_aval(like)
    return base.broadcast_in_dim(pred, la.shape, ()) if pa.ndim < la.ndim else pred


core.abstract_eval_rules[clamp_p] = _clamp_abstract
defjvp(clamp_p, _clamp_jvp_lo, _clamp_jvp_x, _clamp_jvp_hi)


def _clamp_batch(axis_size, args, dims):
    # clamp takes scalar bounds or bounds shaped exactly like x (no size-1
    # broadcasting), so every non-scalar operand gets the full batched shape.

    avals = [core.get_aval(a) for a in args]
    shapes = [
        a.shape[:d] + a.shape[d + 1 :] if d is not None else a.shape for a, d in zip(avals, dims)
    ]
    full = (axis_size, *sorted(shapes, key=len)[-1])  # (this module's max is lax.max)
    out = []
    for a, shape, d in zip(args, shapes, dims):
        if d is None and not shape:
            out.append(a)
            continue
        a = batching.bdim_at_front(a, d, axis_size)
        keep = (0,) if not shape else tuple(range(len(full)))
        out.append(base.broadcast_in_dim(a, full, keep))
    return clamp_p.bind(*out), 0


batching.batch_rules[clamp_p] = _clamp_batch
lowering.register(clamp_p, lambda lo, x, hi: jlax.clamp(lo, x, hi))


def _bt(g, like):
    return _bcast_tangent(g, like)


def clamp(min, x, max):  # noqa: A002  (jax.lax's parameter names)
    x_dtype = core.get_aval(x).dtype
    lo, hi = (_scalar_as(v, x_dtype) for v in (min, max))
    return clamp_p.bind(lo, x, hi)


# ---------------------------------------------------------------------------
# helpers


def _scalar_as(v, dtype):
    if core.is_python_scalar(v):
        return core.weak_scalar(v, dtype)
    return v


def _const(like, value):
    """A weakly typed scalar constant of ``like``'s dtype (a literal in jaxprs)."""
    return core.weak_scalar(value, core.get_aval(like).dtype)


def _zeros_like(x):
    a = core.get_aval(x)
    return base.full(a.shape, 0, a.dtype)


def _full_like(x, value):
    """``value`` shaped and typed like ``x``, weak type included (JAX's ``full_like``)."""
    return base.full_like(x, value)
