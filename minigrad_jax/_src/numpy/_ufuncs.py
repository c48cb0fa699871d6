"""Elementwise functions of jax.numpy, written with our lax wrappers.

Each follows the jax.numpy implementation of the same name (promotion helper,
then the lax op), so values, dtypes, weak types and jaxprs agree with JAX's.
"""

from __future__ import annotations

import operator

from jax import lax as _jlax

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src.custom_derivatives import custom_jvp
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util

# Enum values only (no computation): JAX's rounding-method parameter.
_TO_NEAREST_EVEN = _jlax.RoundingMethod.TO_NEAREST_EVEN
_AWAY_FROM_ZERO = _jlax.RoundingMethod.AWAY_FROM_ZERO


def _unary_inexact(lax_name, np_name):
    def fn(x, /):
        (x,) = util.promote_args_inexact(np_name, x)
        return getattr(lax, lax_name)(x)

    fn.__name__ = fn.__qualname__ = np_name
    fn.__doc__ = f"Elementwise ``{np_name}`` (promotes integers to float), like jnp.{np_name}."
    return core.jit_when_eager(fn)


def _unary(lax_name, np_name):
    def fn(x, /):
        (x,) = util.promote_args(np_name, x)
        return getattr(lax, lax_name)(x)

    fn.__name__ = fn.__qualname__ = np_name
    fn.__doc__ = f"Elementwise ``{np_name}``, like jnp.{np_name}."
    return core.jit_when_eager(fn)


def _binary(lax_name, np_name, promote=util.promote_args):
    def fn(x1, x2, /):
        x1, x2 = promote(np_name, x1, x2)
        return getattr(lax, lax_name)(x1, x2)

    fn.__name__ = fn.__qualname__ = np_name
    fn.__doc__ = f"Elementwise ``{np_name}`` with numpy broadcasting, like jnp.{np_name}."
    return core.jit_when_eager(fn)


# ---------------------------------------------------------------------------
# unary float functions

exp = _unary_inexact("exp", "exp")
exp2 = _unary_inexact("exp2", "exp2")
expm1 = _unary_inexact("expm1", "expm1")
log = _unary_inexact("log", "log")
log1p = _unary_inexact("log1p", "log1p")
sqrt = _unary_inexact("sqrt", "sqrt")
cbrt = _unary_inexact("cbrt", "cbrt")
sin = _unary_inexact("sin", "sin")
cos = _unary_inexact("cos", "cos")
tan = _unary_inexact("tan", "tan")
arcsin = _unary_inexact("asin", "arcsin")
arccos = _unary_inexact("acos", "arccos")
arctan = _unary_inexact("atan", "arctan")
sinh = _unary_inexact("sinh", "sinh")
cosh = _unary_inexact("cosh", "cosh")
tanh = _unary_inexact("tanh", "tanh")
arcsinh = _unary_inexact("asinh", "arcsinh")
arccosh = _unary_inexact("acosh", "arccosh")
arctanh = _unary_inexact("atanh", "arctanh")
asin, acos, atan = arcsin, arccos, arctan
asinh, acosh, atanh = arcsinh, arccosh, arctanh


@core.jit_when_eager
def log2(x, /):
    """Base-2 logarithm, computed as ``log(x) / log(2)`` like jnp.log2."""
    (x,) = util.promote_args_inexact("log2", x)
    return lax.div(lax.log(x), lax.log(util.const(x, 2)))


@core.jit_when_eager
def log10(x, /):
    """Base-10 logarithm, computed as ``log(x) * (1 / log(10))`` like jnp.log10."""
    (x,) = util.promote_args_inexact("log10", x)
    return lax.mul(lax.log(x), util.const(x, 0.4342944819032518))


@core.jit_when_eager
def reciprocal(x, /):
    """``1 / x`` (as ``integer_pow(x, -1)``, like jnp.reciprocal)."""
    (x,) = util.promote_dtypes_inexact(*util.ensure_arraylike("reciprocal", x))
    return lax.integer_pow(x, -1)


@core.jit_when_eager
def square(x, /):
    """``x * x`` elementwise, like jnp.square."""
    (x,) = util.promote_dtypes_numeric(*util.ensure_arraylike("square", x))
    return lax.square(x)


# ---------------------------------------------------------------------------
# unary, dtype-preserving


@core.jit_when_eager
def negative(x, /):
    """``-x``, like jnp.negative."""
    (x,) = util.promote_args("negative", x)
    return lax.neg(x)


@core.jit_when_eager
def positive(x, /):
    """``+x`` (a copy), like jnp.positive."""
    (x,) = util.promote_args("positive", x)
    return x


@core.jit_when_eager
def absolute(x, /):
    """``|x|``; bools and unsigned integers are returned unchanged, as in JAX."""
    (x,) = util.ensure_arraylike("absolute", x)
    dt = util.dtype_of(x)
    if dt == np.bool_ or _dtypes.is_unsigned(dt):
        return x
    return lax.abs(x)


abs = absolute  # noqa: A001


@core.jit_when_eager
def sign(x, /):
    """-1, 0 or 1 by the sign of ``x``, like jnp.sign.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.sign(mnp.array([-2.0, 0.0, 3.0]))
        Array([-1.,  0.,  1.], dtype=float32)
    """
    (x,) = util.promote_args("sign", x)
    return lax.sign(x)


@core.jit_when_eager
def floor(x, /):
    """Round down; integers and bools are returned as they are, as in JAX."""
    (x,) = util.promote_args("floor", x)
    return x if not _dtypes.is_inexact(util.dtype_of(x)) else lax.floor(x)


@core.jit_when_eager
def ceil(x, /):
    """Round up; integers and bools are returned as they are, as in JAX."""
    (x,) = util.promote_args("ceil", x)
    return x if not _dtypes.is_inexact(util.dtype_of(x)) else lax.ceil(x)


@core.jit_when_eager
def trunc(x, /):
    """Round toward zero, like jnp.trunc."""
    (x,) = util.ensure_arraylike("trunc", x)
    if not _dtypes.is_inexact(util.dtype_of(x)):
        return x
    return where(lax.lt(x, util.const(x, 0)), lax.ceil(x), lax.floor(x))


fix = trunc


def round(a, decimals=0, out=None):  # noqa: A001
    """Round half to even to ``decimals`` places, like jnp.round.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.round(mnp.array([0.5, 1.5, 2.567]), 1)
        Array([0.5      , 1.5      , 2.6000001], dtype=float32)
        >>> mnp.round(mnp.array([0.5, 1.5, 2.5]))
        Array([0., 2., 2.], dtype=float32)
    """
    util.check_no_unsupported("round", out=out)
    (a,) = util.ensure_arraylike("round", a)
    decimals = int(decimals)
    dt = util.dtype_of(a)
    if _dtypes.is_int(dt):
        if decimals < 0:
            raise NotImplementedError("integer np.round not implemented for decimals < 0")
        return a
    if not _dtypes.is_inexact(dt):
        raise TypeError(f"round: unsupported dtype {dt.name}")
    to_even = _TO_NEAREST_EVEN
    if decimals == 0:
        return lax.round(a, to_even)
    if decimals > np.log10(_dtypes.finfo(dt).max):
        return a
    # Like JAX: float16 is scaled and rounded in float32.
    x = util.cast(a, np.float32) if dt == np.float16 else a
    factor = util.const(x, 10**decimals)
    out_ = lax.div(lax.round(lax.mul(x, factor), to_even), factor)
    return util.cast(out_, dt) if dt == np.float16 else out_


around = round


@core.jit_when_eager
def rint(x, /):
    """Round half to even; integers become the default float, like jnp.rint."""
    (x,) = util.ensure_arraylike("rint", x)
    dt = util.dtype_of(x)
    if dt == np.bool_ or _dtypes.is_int(dt):
        return lax.convert_element_type(x, _dtypes.default_float())
    return lax.round(x, _TO_NEAREST_EVEN)


@core.jit_when_eager
def invert(x, /):
    """Bitwise NOT (logical NOT for bools), like jnp.invert."""
    (x,) = util.promote_args("invert", x)
    return lax.bitwise_not(x)


bitwise_not = bitwise_invert = invert


@core.jit_when_eager
def conjugate(x, /):
    """The complex conjugate; real inputs are returned as arrays, as jnp.conjugate.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.conjugate(mnp.array([1 + 2j, 3 - 1j]))
        Array([1.-2.j, 3.+1.j], dtype=complex64)
    """
    (x,) = util.ensure_arraylike("conjugate", x)
    return lax.conj(x) if _dtypes.is_complex(util.dtype_of(x)) else _asarray(x)


@core.jit_when_eager
def conj(x, /):
    """Alias of :func:`conjugate`, as jnp.conj."""
    return conjugate(x)


@core.jit_when_eager
def real(val, /):
    """The real part; real inputs are returned as arrays, as jnp.real.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.real(mnp.array([1 + 2j, 3 - 1j]))
        Array([1., 3.], dtype=float32)
    """
    (val,) = util.ensure_arraylike("real", val)
    return lax.real(val) if _dtypes.is_complex(util.dtype_of(val)) else _asarray(val)


@core.jit_when_eager
def imag(val, /):
    """The imaginary part; zeros (shaped and typed like ``val``) for reals, as jnp.imag.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.imag(mnp.array([1 + 2j, 3 - 1j]))
        Array([ 2., -1.], dtype=float32)
    """
    (val,) = util.ensure_arraylike("imag", val)
    if _dtypes.is_complex(util.dtype_of(val)):
        return lax.imag(val)
    return lax.full_like(val, 0)


def angle(z, deg=False):
    """The argument of ``z`` (``atan2(imag, real)``), in degrees if ``deg``, as jnp.angle.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.angle(mnp.array([1j, -1 + 0j]))
        Array([1.5707964, 3.1415927], dtype=float32)
    """
    (z,) = util.ensure_arraylike("angle", z)
    re, im = real(z), imag(z)
    dtype = util.dtype_of(re)
    z_dtype = util.dtype_of(z)
    if not _dtypes.is_inexact(dtype) or (_dtypes.is_float(z_dtype) and util.ndim_of(z) == 0):
        dtype = _dtypes.default_float()
        re = lax.convert_element_type(re, dtype)
        im = lax.convert_element_type(im, dtype)
    result = lax.atan2(im, re)
    if deg:
        (result,) = util.promote_args_inexact("rad2deg", result)
        return lax.mul(result, util.const(result, 180 / np.pi))
    return result


def to_complex_dtype(dt):
    """JAX's ``dtypes.to_complex_dtype``: complex128 for 64-bit inputs, else complex64."""
    inexact = _dtypes.to_inexact_dtype(dt)
    if inexact in (np.dtype(np.float64), np.dtype(np.complex128)):
        return core.canonical_dtype(np.complex128)
    return np.dtype(np.complex64)


def sort_complex(a):
    """Sort along the last axis (real part, then imaginary part), as complex; jnp.sort_complex.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.sort_complex(mnp.array([1 + 2j, 1 - 1j, -3.0]))
        Array([-3.+0.j,  1.-1.j,  1.+2.j], dtype=complex64)
    """
    (a,) = util.ensure_arraylike("sort_complex", a)
    a = lax.sort(a)
    return lax.convert_element_type(a, to_complex_dtype(util.dtype_of(a)))


def _asarray(x):
    """jax.lax.asarray: a Python scalar becomes a (weakly typed) array; arrays stay."""
    if core.is_python_scalar(x):
        return util.cast(x, util.dtype_of(x), True)
    return x


# ---------------------------------------------------------------------------
# binary arithmetic


@core.jit_when_eager
def add(x1, x2, /):
    """``x1 + x2`` with numpy broadcasting (logical or for bools), like jnp.add."""
    x1, x2 = util.promote_args("add", x1, x2)
    if util.dtype_of(x1) == np.bool_:
        return lax.bitwise_or(x1, x2)
    return lax.add(x1, x2)


@core.jit_when_eager
def multiply(x1, x2, /):
    """``x1 * x2`` with numpy broadcasting (logical and for bools), like jnp.multiply."""
    x1, x2 = util.promote_args("multiply", x1, x2)
    if util.dtype_of(x1) == np.bool_:
        return lax.bitwise_and(x1, x2)
    return lax.mul(x1, x2)


subtract = _binary("sub", "subtract")
maximum = _binary("max", "maximum")
minimum = _binary("min", "minimum")
arctan2 = _binary("atan2", "arctan2", util.promote_args_inexact)
atan2 = arctan2
bitwise_and = _binary("bitwise_and", "bitwise_and")
bitwise_or = _binary("bitwise_or", "bitwise_or")
bitwise_xor = _binary("bitwise_xor", "bitwise_xor")


@core.jit_when_eager
def true_divide(x1, x2, /):
    """``x1 / x2`` in floating point, like jnp.true_divide."""
    x1, x2 = util.promote_args_inexact("true_divide", x1, x2)
    return lax.div(x1, x2)


divide = true_divide


@core.jit_when_eager
def floor_divide(x1, x2, /):
    """``x1 // x2`` (rounding toward -inf), like jnp.floor_divide."""
    x1, x2 = util.promote_args_numeric("floor_divide", x1, x2)
    dt = util.dtype_of(x1)
    if _dtypes.is_unsigned(dt):
        return lax.div(x1, x2)
    if _dtypes.is_int(dt):
        quotient = lax.div(x1, x2)
        select = logical_and(
            lax.ne(lax.sign(x1), lax.sign(x2)), lax.ne(lax.rem(x1, x2), util.const(x1, 0))
        )
        return util.where(select, subtract(quotient, 1), quotient)
    if _dtypes.is_complex(dt):
        raise TypeError("floor_divide does not support complex-valued inputs")
    return _float_divmod(x1, x2)[0]


def _float_divmod(x1, x2):
    # CPython's float_divmod, as in jax.numpy.
    mod = lax.rem(x1, x2)
    x1_corrected = util.where(lax.eq(x2, util.const(x2, 0)), x1, lax.sub(x1, mod))
    div = lax.div(x1_corrected, x2)
    ind = lax.bitwise_and(lax.ne(mod, util.const(mod, 0)), lax.ne(lax.sign(x2), lax.sign(mod)))
    mod = lax.select_n(ind, mod, lax.add(mod, x2))
    div = lax.select_n(ind, div, subtract(div, 1.0))
    return lax.round(div, _AWAY_FROM_ZERO), mod


def divmod(x1, x2, /):  # noqa: A001
    """``(x1 // x2, x1 % x2)``, like jnp.divmod."""
    x1, x2 = util.promote_args_numeric("divmod", x1, x2)
    if _dtypes.is_int(util.dtype_of(x1)):
        return floor_divide(x1, x2), remainder(x1, x2)
    return _float_divmod(x1, x2)


@core.jit_when_eager
def remainder(x1, x2, /):
    """``x1 % x2`` with the sign of ``x2`` (Python's rule), like jnp.remainder."""
    x1, x2 = util.promote_args_numeric("remainder", x1, x2)
    zero = util.const(x1, 0)
    if _dtypes.is_int(util.dtype_of(x2)):
        x2 = util.where(lax.eq(x2, util.const(x2, 0)), util.full_like_internal(x2, 1), x2)
    trunc_mod = lax.rem(x1, x2)
    trunc_mod_not_zero = lax.ne(trunc_mod, zero)
    do_plus = lax.bitwise_and(
        lax.ne(lax.lt(trunc_mod, zero), lax.lt(x2, util.const(x2, 0))), trunc_mod_not_zero
    )
    return lax.select_n(do_plus, trunc_mod, lax.add(trunc_mod, x2))


mod = remainder


@core.jit_when_eager
def fmod(x1, x2, /):
    """C-style remainder (sign of ``x1``), like jnp.fmod."""
    x1, x2 = util.promote_args_numeric("fmod", x1, x2)
    if _dtypes.is_int(util.dtype_of(x2)):
        x2 = util.where(lax.eq(x2, util.const(x2, 0)), util.full_like_internal(x2, 1), x2)
    return lax.rem(x1, x2)


def _static_int(x):
    """``x`` as a Python int when it is a concrete integer scalar, else None."""
    if not util.is_concrete(x):
        return None
    try:
        return operator.index(util.concrete(x))
    except TypeError:
        return None


def power(x1, x2, /):
    """``x1 ** x2``; a concrete integer exponent uses integer_pow, as in jnp.power.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.power(mnp.array([1.0, 2.0]), 3)
        Array([1., 8.], dtype=float32)
        >>> mnp.power(2, mnp.arange(4))
        Array([1, 2, 4, 8], dtype=int32)
    """
    util.check_arraylike("power", x1, x2)
    exponent = _static_int(x2)
    if exponent is not None:
        (x1,) = util.promote_dtypes_numeric(x1)
        return lax.integer_pow(x1, exponent)
    if _dtypes.is_inexact(util.dtype_of(x1)) and _dtypes.is_int(util.dtype_of(x2)):
        # JAX's lax.pow takes the integer exponent as is, so the result's weak
        # type is the base's and the exponent's together; our lax.pow wants one
        # dtype, so the exponent is converted (strongly, like an int array).
        x1, x2 = util.promote_shapes("power", *util.ensure_arraylike("power", x1, x2))
        return lax.pow(x1, util.cast(x2, util.dtype_of(x1), False))
    x1, x2 = util.promote_args_numeric("power", x1, x2)
    if _dtypes.is_int(util.dtype_of(x1)):
        return _pow_int_int(x1, x2)
    return lax.pow(x1, x2)


pow = power  # noqa: A001


def _pow_int_int(x1, x2):
    # Binary exponentiation over 6 bits of the exponent, as in jax.numpy.
    zero, one = util.const(x2, 0), util.const(x2, 1)
    acc = util.where(
        lax.bitwise_and(lax.eq(x1, util.const(x1, 0)), lax.ne(x2, zero)),
        util.full_like_internal(x1, 0),
        util.full_like_internal(x1, 1),
    )
    for _ in range(6):
        bit = lax.ne(lax.bitwise_and(x2, one), zero)
        acc = util.where(bit, lax.mul(acc, x1), acc)
        x1 = lax.mul(x1, x1)
        x2 = lax.shift_right_logical(x2, one)
    return acc


def logaddexp(x1, x2, /):
    """``log(exp(x1) + exp(x2))`` computed stably, like jnp.logaddexp.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.logaddexp(0.0, 0.0)
        Array(0.6931472, dtype=float32, weak_type=True)
        >>> mnp.logaddexp(mnp.array([1000.0]), mnp.array([1000.0]))
        Array([1000.6932], dtype=float32)
    """
    x1, x2 = util.promote_args_inexact("logaddexp", x1, x2)
    return _logaddexp(x1, x2)


# JAX's logaddexp is a custom_jvp: the derivative is exp(x - out), which is 1/2
# for each input at x1 == x2, where differentiating max and abs would give 0 or 1.
# Equations in JAX's order, so that jaxprs compare equal.
def _logaddexp_impl(x1, x2):
    amax = lax.max(x1, x2)
    delta = lax.sub(x1, x2)
    is_nan = lax.ne(delta, delta)
    nan_case = lax.add(x1, x2)
    return lax.select_n(
        is_nan, lax.add(amax, lax.log1p(lax.exp(lax.neg(lax.abs(delta))))), nan_case
    )


_logaddexp_impl.__name__ = "logaddexp"  # the name JAX's custom_jvp_call carries
_logaddexp = custom_jvp(_logaddexp_impl)


@_logaddexp.defjvp
def _logaddexp_jvp(primals, tangents):
    x1, x2 = primals
    t1, t2 = tangents
    out = _logaddexp(x1, x2)
    term1 = lax.mul(t1, lax.exp(lax.sub(_replace_inf(x1), _replace_inf(out))))
    term2 = lax.mul(t2, lax.exp(lax.sub(_replace_inf(x2), _replace_inf(out))))
    return out, lax.add(term1, term2)


def _replace_inf(x):
    """``x`` with +inf replaced by 0 (so that exp(inf - inf) is exp(0), as in JAX)."""
    return lax.select_n(lax.eq(x, util.const(x, np.inf)), x, lax.full_like(x, 0))


@core.jit_when_eager
def hypot(x1, x2, /):
    """``sqrt(x1**2 + x2**2)`` without overflow, like jnp.hypot."""
    x1, x2 = util.promote_args_inexact("hypot", x1, x2)
    x1, x2 = lax.abs(x1), lax.abs(x2)
    inf = util.const(x1, np.inf)
    idx_inf = lax.bitwise_or(lax.eq(x1, inf), lax.eq(x2, inf))
    x1, x2 = maximum(x1, x2), minimum(x1, x2)
    x1_is_zero = lax.eq(x1, util.const(x1, 0))
    safe = util.where(x1_is_zero, util.full_like_internal(x1, 1), x1)
    ratio = lax.square(lax.div(x2, safe))
    x = util.where(x1_is_zero, x1, lax.mul(x1, lax.sqrt(add(1, ratio))))
    return util.where(idx_inf, util.const(x, np.inf), x)


# ---------------------------------------------------------------------------
# shifts and bit counts: lax's primitives, as jax.numpy uses them


@core.jit_when_eager
def left_shift(x1, x2, /):
    """``x1 << x2``, like jnp.left_shift.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.left_shift(mnp.array([1, 2, 3]), 2)
        Array([ 4,  8, 12], dtype=int32)
    """
    x1, x2 = util.promote_args_numeric("left_shift", x1, x2)
    _check_int("left_shift", x1)
    return lax.shift_left(x1, x2)


@core.jit_when_eager
def right_shift(x1, x2, /):
    """``x1 >> x2`` (arithmetic for signed, logical for unsigned), like jnp.right_shift.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.right_shift(mnp.array([-8, 8]), 1)
        Array([-4,  4], dtype=int32)
    """
    x1, x2 = util.promote_args_numeric("right_shift", x1, x2)
    _check_int("right_shift", x1)
    if _dtypes.is_unsigned(util.dtype_of(x1)):
        return lax.shift_right_logical(x1, x2)
    return lax.shift_right_arithmetic(x1, x2)


bitwise_left_shift = left_shift
bitwise_right_shift = right_shift


def bitwise_count(x, /):
    """The number of 1 bits in ``|x|`` (as uint8), like jnp.bitwise_count.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.bitwise_count(mnp.array([0, 7, -8]))
        Array([0, 3, 1], dtype=uint8)
    """
    (x,) = util.promote_args_numeric("bitwise_count", x)
    _check_int("bitwise_count", x)
    return util.cast(lax.population_count(absolute(x)), np.uint8)


def _check_int(name, x):
    if not core.is_integer_or_bool(util.dtype_of(x)):
        raise TypeError(f"{name} requires integer arguments, got {util.dtype_of(x).name}")


# ---------------------------------------------------------------------------
# comparisons and logic

equal = _binary("eq", "equal")
not_equal = _binary("ne", "not_equal")


def _complex_comparison(lax_op, x, y):
    """JAX's ordering of complex values: by real part, then by imaginary part."""
    if _dtypes.is_complex(util.dtype_of(x)):
        same_real = lax.eq(lax.real(x), lax.real(y))
        by_imag = lax_op(lax.imag(x), lax.imag(y))  # JAX's order of equations
        return lax.select_n(same_real, lax_op(lax.real(x), lax.real(y)), by_imag)
    return lax_op(x, y)


def _ordered_comparison(lax_name, np_name):
    def fn(x1, x2, /):
        x1, x2 = util.promote_args(np_name, x1, x2)
        return _complex_comparison(getattr(lax, lax_name), x1, x2)

    fn.__name__ = fn.__qualname__ = np_name
    fn.__doc__ = (
        f"Elementwise ``{np_name}`` with numpy broadcasting (complex values ordered "
        f"by real, then imaginary part), like jnp.{np_name}."
    )
    return core.jit_when_eager(fn)


less = _ordered_comparison("lt", "less")
less_equal = _ordered_comparison("le", "less_equal")
greater = _ordered_comparison("gt", "greater")
greater_equal = _ordered_comparison("ge", "greater_equal")


def _to_bool(x):
    return x if util.dtype_of(x) == np.bool_ else lax.ne(x, util.const(x, 0))


@core.jit_when_eager
def logical_and(x1, x2, /):
    """Elementwise ``x1 and x2`` (nonzero is True), like jnp.logical_and."""
    return lax.bitwise_and(*map(_to_bool, util.promote_args("logical_and", x1, x2)))


@core.jit_when_eager
def logical_or(x1, x2, /):
    """Elementwise ``x1 or x2`` (nonzero is True), like jnp.logical_or."""
    return lax.bitwise_or(*map(_to_bool, util.promote_args("logical_or", x1, x2)))


@core.jit_when_eager
def logical_xor(x1, x2, /):
    """Elementwise ``x1 xor x2`` (nonzero is True), like jnp.logical_xor."""
    return lax.bitwise_xor(*map(_to_bool, util.promote_args("logical_xor", x1, x2)))


@core.jit_when_eager
def logical_not(x, /):
    """Elementwise ``not x`` (nonzero is True), like jnp.logical_not."""
    (x,) = util.promote_args("logical_not", x)
    return lax.bitwise_not(_to_bool(x))


@core.jit_when_eager
def isnan(x, /):
    """True where ``x`` is NaN, like jnp.isnan."""
    (x,) = util.ensure_arraylike("isnan", x)
    return lax.ne(x, x)


@core.jit_when_eager
def isinf(x, /):
    """True where ``x`` is +-inf, like jnp.isinf."""
    (x,) = util.ensure_arraylike("isinf", x)
    if _dtypes.is_float(util.dtype_of(x)):
        return lax.eq(lax.abs(x), util.const(x, np.inf))
    return util.full_like_internal(x, False, np.bool_)


@core.jit_when_eager
def isposinf(x, /):
    (x,) = util.ensure_arraylike("isposinf", x)
    if _dtypes.is_float(util.dtype_of(x)):
        return lax.eq(x, util.const(x, np.inf))
    return util.full_like_internal(x, False, np.bool_)


@core.jit_when_eager
def isneginf(x, /):
    (x,) = util.ensure_arraylike("isneginf", x)
    if _dtypes.is_float(util.dtype_of(x)):
        return lax.eq(x, util.const(x, -np.inf))
    return util.full_like_internal(x, False, np.bool_)


@core.jit_when_eager
def isfinite(x, /):
    """True where ``x`` is neither inf nor NaN, like jnp.isfinite."""
    (x,) = util.ensure_arraylike("isfinite", x)
    if _dtypes.is_float(util.dtype_of(x)):
        return lax.is_finite(x)
    return util.full_like_internal(x, True, np.bool_)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|a - b| <= atol + rtol * |b|`` elementwise (inf and NaN aware), like jnp.isclose."""
    a, b = util.promote_args_inexact("isclose", a, b)
    dt = util.dtype_of(a)
    if _dtypes.is_complex(dt):
        dt = np.array(0, dt).real.dtype
    rtol, atol = lax.convert_element_type(rtol, dt), lax.convert_element_type(atol, dt)
    both_nan = logical_and(isnan(a), isnan(b))
    check_fin = isfinite(b)
    in_range = lax.le(lax.abs(lax.sub(a, b)), lax.add(atol, lax.mul(rtol, lax.abs(b))))
    out = logical_or(lax.eq(a, b), logical_and(check_fin, in_range))
    return logical_or(out, both_nan) if equal_nan else out


def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """``x`` where ``condition`` else ``y`` (numpy broadcasting), like jnp.where.

    The one-argument form needs a data-dependent shape and is not supported.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.where(mnp.array([True, False]), 1.0, 0.0)
        Array([1., 0.], dtype=float32, weak_type=True)
        >>> x = mnp.array([-1.0, 2.0])
        >>> mnp.where(x > 0, x, 0.0)
        Array([0., 2.], dtype=float32)
    """
    if x is None and y is None:
        raise NotImplementedError(
            "mnp.where(condition) with one argument (nonzero) is not "
            "supported: its output shape depends on the data"
        )
    if x is None or y is None:
        raise ValueError(
            "Either both or neither of the x and y arguments should be provided to mnp.where"
        )
    util.check_no_unsupported("where", size=size, fill_value=fill_value)
    return util.where(condition, x, y)


def clip(arr=None, /, min=None, max=None, *, a=None, a_min=None, a_max=None):  # noqa: A002
    """Limit values to ``[min, max]`` (as ``min(max, max(min, x))``), like jnp.clip.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.clip(mnp.arange(5), 1, 3)
        Array([1, 1, 2, 3, 3], dtype=int32)
        >>> mnp.clip(mnp.array([-2.0, 0.5, 2.0]), max=1.0)
        Array([-2. ,  0.5,  1. ], dtype=float32)
    """
    if arr is None:
        arr = a
    if a_min is not None:
        min = a_min  # noqa: A001
    if a_max is not None:
        max = a_max  # noqa: A001
    if arr is None:
        raise TypeError("clip() missing the array argument")
    (arr,) = util.ensure_arraylike("clip", arr)
    if min is not None:
        arr = maximum(min, arr)
    if max is not None:
        arr = minimum(max, arr)
    return arr
