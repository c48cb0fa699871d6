"""Elementwise functions composed from the ufuncs: angles, NaN-aware extrema, sign
and exponent manipulation, gcd/lcm, nan_to_num, i0, and the window functions.
"""

from __future__ import annotations

import operator

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src.api import jvp
from minigrad_jax._src.custom_derivatives import custom_jvp
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import arange, ones, zeros
from minigrad_jax._src.numpy._dtypes import finfo
from minigrad_jax._src.numpy._reductions import any as rany
from minigrad_jax._src.numpy._ufuncs import (
    absolute,
    cos,
    exp2,
    floor,
    floor_divide,
    isinf,
    isnan,
    left_shift,
    log2,
    logaddexp,
    logical_or,
    multiply,
    power,
    remainder,
    right_shift,
    sin,
    trunc,
)


def _k(x, value):
    """``value`` as a constant of ``x``'s dtype and weak type (so weak inputs stay weak)."""
    return util.cast(value, util.dtype_of(x), util.aval(x).weak_type)


# ---------------------------------------------------------------------------
# angles


def deg2rad(x, /):
    """Degrees to radians, like jnp.deg2rad.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.deg2rad(mnp.array([90.0, 180.0]))
        Array([1.5707964, 3.1415927], dtype=float32)
    """
    (x,) = util.promote_args_inexact("deg2rad", x)
    return lax.mul(x, _k(x, np.pi / 180))


def rad2deg(x, /):
    """Radians to degrees, like jnp.rad2deg.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.rad2deg(mnp.array([mnp.pi / 2]))
        Array([90.], dtype=float32)
    """
    (x,) = util.promote_args_inexact("rad2deg", x)
    return lax.mul(x, _k(x, 180 / np.pi))


def radians(x, /):
    """Degrees to radians (the same as deg2rad), like jnp.radians.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.radians(mnp.array([180.0]))
        Array([3.1415927], dtype=float32)
    """
    return deg2rad(x)


def degrees(x, /):
    """Radians to degrees (the same as rad2deg), like jnp.degrees.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.degrees(mnp.array([mnp.pi]))
        Array([180.], dtype=float32)
    """
    return rad2deg(x)


# ---------------------------------------------------------------------------
# NaN-aware extrema, abs, logaddexp2, sinc


def fmax(x1, x2):
    """Elementwise maximum that ignores NaNs (NaN only where both are), like jnp.fmax.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.fmax(mnp.array([1.0, mnp.nan, 3.0]), mnp.array([2.0, 0.0, mnp.nan]))
        Array([2., 0., 3.], dtype=float32)
    """
    x1, x2 = util.promote_args("fmax", x1, x2)
    x1, x2 = util.broadcast_arrays(x1, x2)
    take1 = logical_or(lax.gt(x1, x2), isnan(x2))
    return util.where(take1, x1, x2)


def fmin(x1, x2):
    """Elementwise minimum that ignores NaNs (NaN only where both are), like jnp.fmin.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.fmin(mnp.array([1.0, mnp.nan, 3.0]), mnp.array([2.0, 0.0, mnp.nan]))
        Array([1., 0., 3.], dtype=float32)
    """
    x1, x2 = util.promote_args("fmin", x1, x2)
    x1, x2 = util.broadcast_arrays(x1, x2)
    take1 = logical_or(lax.lt(x1, x2), isnan(x2))
    return util.where(take1, x1, x2)


def fabs(x, /):
    """Absolute value as a float, like jnp.fabs.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.fabs(mnp.array([-2, 3]))
        Array([2., 3.], dtype=float32)
    """
    (x,) = util.promote_args_inexact("fabs", x)
    return lax.abs(x)


def logaddexp2(x1, x2, /):
    """``log2(2**x1 + 2**x2)`` without overflow, like jnp.logaddexp2.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.logaddexp2(mnp.array([1.0, 2.0]), mnp.array([1.0, 2.0]))
        Array([2., 3.], dtype=float32)
    """
    x1, x2 = util.promote_args_inexact("logaddexp2", x1, x2)
    ln2 = _k(x1, np.log(2))
    return lax.div(logaddexp(lax.mul(x1, ln2), lax.mul(x2, ln2)), ln2)


def sinc(x, /):
    """``sin(pi x) / (pi x)``, 1 at 0, like jnp.sinc.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.sinc(mnp.array([0.0, 0.5, 1.0]))
        Array([ 1.0000000e+00,  6.3661975e-01, -2.7827534e-08], dtype=float32)
    """
    (x,) = util.promote_args_inexact("sinc", x)
    zero = lax.eq(x, _k(x, 0))
    safe = util.where(zero, _k(x, 1), x)
    pix = lax.mul(safe, _k(x, np.pi))
    return util.where(zero, _k(x, 1), lax.div(sin(pix), pix))


# ---------------------------------------------------------------------------
# sign and exponent manipulation


def signbit(x, /):
    """True where the sign is negative (``-0.0`` included), like jnp.signbit.

    The sign of a NaN is not inspected (reported False): that needs a bitcast.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.signbit(mnp.array([-1.0, -0.0, 0.0, 2.0]))
        Array([ True,  True, False, False], dtype=bool)
    """
    (x,) = util.ensure_arraylike("signbit", x)
    dt = util.dtype_of(x)
    if dt == np.bool_:
        return util.full_like_internal(x, False, np.bool_)
    if _dtypes.is_unsigned(dt):
        return util.full_like_internal(x, False, np.bool_)
    if not _dtypes.is_float(dt):
        return util.cast(lax.lt(x, _k(x, 0)), np.bool_)
    zero = _k(x, 0)
    neg_zero = lax.lt(lax.div(_k(x, 1), x), zero)
    return logical_or(lax.lt(x, zero), lax.bitwise_and(lax.eq(x, zero), neg_zero))


def copysign(x1, x2, /):
    """``|x1|`` with the sign of ``x2``, like jnp.copysign.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.copysign(mnp.array([1.0, -2.0, 3.0]), mnp.array([-1.0, 1.0, -0.0]))
        Array([-1.,  2., -3.], dtype=float32)
    """
    x1, x2 = util.promote_args_inexact("copysign", x1, x2)
    x1, x2 = util.broadcast_arrays(x1, x2)
    mag = lax.abs(x1)
    return util.where(signbit(x2), lax.neg(mag), mag)


def heaviside(x1, x2, /):
    """The Heaviside step: 0 below zero, ``x2`` at zero, 1 above, like jnp.heaviside.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.heaviside(mnp.array([-1.0, 0.0, 2.0]), 0.5)
        Array([0. , 0.5, 1. ], dtype=float32)
    """
    x1, x2 = util.promote_args_inexact("heaviside", x1, x2)
    x1, x2 = util.broadcast_arrays(x1, x2)
    zero = _k(x1, 0)
    step = util.where(lax.gt(x1, zero), _k(x1, 1), zero)
    step = util.where(isnan(x1), x1, step)
    return util.where(lax.eq(x1, zero), x2, step)


def float_power(x, y, /):
    """``x ** y`` computed in the widest float type, like jnp.float_power.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.float_power(mnp.array([2, 3]), 2)
        Array([4., 9.], dtype=float32)
    """
    x, y = util.promote_args_numeric("float_power", x, y)
    dt = util.dtype_of(x)
    if not _dtypes.is_complex(dt):
        wide = _dtypes.to_inexact_dtype(_dtypes.default_float())
        x, y = (
            util.cast(x, wide, util.aval(x).weak_type),
            util.cast(y, wide, util.aval(y).weak_type),
        )
    return power(x, y)


def _exp2_split(e, dt):
    """``2.0 ** e`` for an integer-valued float ``e``, as two factors that never overflow."""
    half = lax.floor(lax.div(e, _k(e, 2)))
    return exp2(half), exp2(lax.sub(e, half))


def ldexp(x1, x2, /):
    """``x1 * 2**x2`` (``x2`` an integer), like jnp.ldexp.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.ldexp(mnp.array([1.0, 3.0]), mnp.array([2, -1]))
        Array([4. , 1.5], dtype=float32)
    """
    util.check_arraylike("ldexp", x1, x2)
    (x2,) = util.ensure_arraylike("ldexp", x2)
    if not _dtypes.is_int(util.dtype_of(x2)):
        raise ValueError(f"x2 argument to ldexp must be of integer dtype, got {util.dtype_of(x2)}")
    (x1,) = util.promote_args_inexact("ldexp", x1)
    x1, x2 = util.broadcast_arrays(x1, x2)
    e = util.cast(x2, util.dtype_of(x1))
    a, b = _exp2_split(e, util.dtype_of(x1))
    return lax.mul(lax.mul(x1, a), b)


def frexp(x, /):
    """Mantissa in ``[0.5, 1)`` and integer exponent with ``x = m * 2**e``, like jnp.frexp.

    Subnormal inputs are not treated specially.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> m, e = mnp.frexp(mnp.array([1.0, 3.0, -5.0]))
        >>> m, e
        (Array([ 0.5  ,  0.75 , -0.625], dtype=float32), Array([1, 2, 3], dtype=int32))
    """
    (x,) = util.promote_args_inexact("frexp", x)
    dt = util.dtype_of(x)
    zero = _k(x, 0)
    special = logical_or(logical_or(lax.eq(x, zero), isinf(x)), isnan(x))
    safe = util.where(special, _k(x, 1), lax.abs(x))
    e = lax.add(floor(log2(safe)), _k(x, 1))
    # One correction step each way for the rounding of log2.
    for _ in range(2):
        a, b = _exp2_split(lax.neg(e), dt)
        m = lax.mul(lax.mul(safe, a), b)
        e = util.where(lax.ge(m, _k(x, 1)), lax.add(e, _k(x, 1)), e)
        e = util.where(lax.lt(m, _k(x, 0.5)), lax.sub(e, _k(x, 1)), e)
    a, b = _exp2_split(lax.neg(e), dt)
    mant = util.where(special, x, lax.mul(lax.mul(x, a), b))
    exp_int = lax.convert_element_type(util.where(special, zero, e), np.int32)
    return mant, exp_int


def modf(x, /, out=None):
    """Fractional and integral parts (both with ``x``'s sign), like jnp.modf.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.modf(mnp.array([1.5, -2.25]))
        (Array([ 0.5 , -0.25], dtype=float32), Array([ 1., -2.], dtype=float32))
    """
    util.check_no_unsupported("modf", out=out)
    (x,) = util.promote_args_inexact("modf", x)
    whole = trunc(x)
    return lax.sub(x, whole), whole


def gcd(x1, x2):
    """Greatest common divisor of integers (Euclid's algorithm in a while_loop), like jnp.gcd.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.gcd(mnp.array([12, -8, 0]), mnp.array([18, 12, 0]))
        Array([6, 4, 0], dtype=int32)
    """
    x1, x2 = util.promote_args_numeric("gcd", x1, x2)
    if not _dtypes.is_int(util.dtype_of(x1)):
        raise ValueError("Arguments to mnp.gcd must be integers.")
    x1, x2 = util.broadcast_arrays(absolute(x1), absolute(x2))

    def cond(carry):
        return rany(lax.ne(carry[1], _k(carry[1], 0)))

    def body(carry):
        a, b = carry
        nonzero = lax.ne(b, _k(b, 0))
        safe_b = util.where(nonzero, b, _k(b, 1))
        return util.where(nonzero, b, a), util.where(nonzero, remainder(a, safe_b), b)

    a, _ = lax.while_loop(cond, body, (x1, x2))
    return a


def lcm(x1, x2):
    """Least common multiple of integers, like jnp.lcm.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.lcm(mnp.array([4, -6, 0]), 6)
        Array([12,  6,  0], dtype=int32)
    """
    x1, x2 = util.promote_args_numeric("lcm", x1, x2)
    if not _dtypes.is_int(util.dtype_of(x1)):
        raise ValueError("Arguments to mnp.lcm must be integers.")
    d = gcd(x1, x2)
    zero = lax.eq(d, _k(d, 0))
    safe = util.where(zero, _k(d, 1), d)
    return util.where(zero, _k(d, 0), multiply(absolute(x1), floor_divide(absolute(x2), safe)))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Replace NaN by ``nan`` and infinities by ``posinf``/``neginf``, like jnp.nan_to_num.

    The infinities default to the dtype's largest finite values.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nan_to_num(mnp.array([mnp.nan, 1.0, -mnp.inf]))
        Array([ 0.0000000e+00,  1.0000000e+00, -3.4028235e+38], dtype=float32)
    """
    del copy
    (x,) = util.ensure_arraylike("nan_to_num", x)
    dt = util.dtype_of(x)
    if not _dtypes.is_inexact(dt):
        return x
    info = finfo(dt)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    out = util.where(isnan(x), util.cast(nan, dt), x)
    out = util.where(lax.bitwise_and(isinf(out), lax.gt(out, _k(x, 0))), util.cast(posinf, dt), out)
    return util.where(
        lax.bitwise_and(isinf(out), lax.lt(out, _k(x, 0))), util.cast(neginf, dt), out
    )


def i0(x):
    """The modified Bessel function of the first kind, order 0, like jnp.i0.

    As JAX computes it: ``exp(|x|) * bessel_i0e(|x|)``, a custom_jvp whose
    derivative is the one of that product except 0 at ``x == 0``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.round(mnp.i0(mnp.array([0.0, 1.0, 2.0])), 4)
        Array([1.       , 1.2660999, 2.2796   ], dtype=float32)
    """
    (x,) = util.promote_args_inexact("i0", x)
    dt = util.dtype_of(x)
    if not _dtypes.issubdtype(dt, np.floating):
        raise ValueError(f"Unsupported input type to jax.numpy.i0: {np.dtype(dt).name}")
    return _i0(x)


def _i0_impl(x):
    abs_x = lax.abs(x)
    return lax.mul(lax.exp(abs_x), lax.bessel_i0e(abs_x))


_i0_impl.__name__ = "_i0"  # the name JAX's custom_jvp_call carries
_i0 = custom_jvp(_i0_impl)


@_i0.defjvp
def _i0_jvp(primals, tangents):
    out, t_out = jvp(_i0_impl, primals, tangents)
    return out, util.where(lax.eq(primals[0], util.const(primals[0], 0)), 0.0, t_out)


# ---------------------------------------------------------------------------
# windows


def _window_size(M, name):  # noqa: N803
    try:
        return operator.index(M)
    except TypeError:
        raise TypeError(f"M argument of mnp.{name} must be an integer, got {M!r}") from None


def _cosine_window(name, M, coefs):  # noqa: N803
    m = _window_size(M, name)
    dt = _dtypes.default_float()
    if m <= 1:
        return ones((max(m, 0),), dt)
    n = arange(m, dtype=dt)
    base = lax.div(lax.mul(n, np.asarray(2 * np.pi, dt)), np.asarray(m - 1, dt))
    out = zeros((m,), dt)
    for k, c in enumerate(coefs):
        term = cos(lax.mul(base, np.asarray(k, dt))) if k else ones((m,), dt)
        out = lax.add(out, lax.mul(term, np.asarray(c, dt)))
    return out


def hamming(M):  # noqa: N803
    """The Hamming window of ``M`` points, like jnp.hamming.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.hamming(4)
        Array([0.08000001, 0.77000004, 0.77      , 0.08000001], dtype=float32)
    """
    return _cosine_window("hamming", M, (0.54, -0.46))


def hanning(M):  # noqa: N803
    """The Hann window of ``M`` points, like jnp.hanning.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.hanning(4)
        Array([0.        , 0.75      , 0.74999994, 0.        ], dtype=float32)
    """
    return _cosine_window("hanning", M, (0.5, -0.5))


def blackman(M):  # noqa: N803
    """The Blackman window of ``M`` points, like jnp.blackman.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.blackman(3)
        Array([-1.4901161e-08,  9.9999994e-01, -1.4901161e-08], dtype=float32)
    """
    return _cosine_window("blackman", M, (0.42, -0.5, 0.08))


def bartlett(M):  # noqa: N803
    """The Bartlett (triangular) window of ``M`` points, like jnp.bartlett.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.bartlett(5)
        Array([0. , 0.5, 1. , 0.5, 0. ], dtype=float32)
    """
    m = _window_size(M, "bartlett")
    dt = _dtypes.default_float()
    if m <= 1:
        return ones((max(m, 0),), dt)
    n = arange(m, dtype=dt)
    half = np.asarray((m - 1) / 2, dt)
    return lax.sub(np.asarray(1, dt), lax.abs(lax.div(lax.sub(n, half), half)))


def kaiser(M, beta):  # noqa: N803
    """The Kaiser window of ``M`` points and shape ``beta``, like jnp.kaiser.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.round(mnp.kaiser(4, 2.0), 4)
        Array([0.4387    , 0.92429996, 0.92429996, 0.4387    ], dtype=float32)
    """
    m = _window_size(M, "kaiser")
    dt = _dtypes.default_float()
    if m <= 1:
        return ones((max(m, 0),), dt)
    (beta,) = util.ensure_arraylike("kaiser", beta)
    beta = util.cast(beta, dt)
    n = arange(m, dtype=dt)
    alpha = np.asarray((m - 1) / 2, dt)
    r = lax.div(lax.sub(n, alpha), alpha)
    arg = lax.mul(beta, lax.sqrt(lax.sub(np.asarray(1, dt), lax.square(r))))
    return lax.div(i0(arg), i0(beta))


# ---------------------------------------------------------------------------
# floating-point neighbours and the array API names of the shifts


def nextafter(x, y, /):
    """The next representable value after ``x`` towards ``y``, like jnp.nextafter.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.nextafter(mnp.array([1.0, 2.0]), 0.0)
        Array([0.99999994, 1.9999999 ], dtype=float32)
    """
    x, y = util.promote_args_inexact("nextafter", x, y)
    return lax.nextafter(x, y)


def spacing(x, /):
    """The distance from ``x`` to the next representable value away from zero, like jnp.spacing.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.spacing(mnp.array([1.0, -2.0]))
        Array([ 1.1920929e-07, -2.3841858e-07], dtype=float32)
    """
    (x,) = util.promote_args_inexact("spacing", x)
    dt = util.dtype_of(x)
    inf = util.cast(np.inf, dt)
    if dt == np.float16:  # as in JAX: always towards +inf
        return lax.sub(lax.nextafter(x, lax.broadcast_in_dim(inf, util.shape_of(x), ())), x)
    step = lax.sub(lax.nextafter(x, copysign(inf, x)), x)
    # A step into the subnormals is flushed to zero by XLA's subtraction.
    tiny = copysign(util.cast(finfo(dt).smallest_subnormal, dt), x)
    return util.where(lax.eq(step, util.cast(0, dt)), tiny, step)


def bitwise_left_shift(x, y, /):
    """``x << y`` (the array API name of left_shift), like jnp.bitwise_left_shift.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.bitwise_left_shift(mnp.array([1, 2]), 2)
        Array([4, 8], dtype=int32)
    """
    return left_shift(x, y)


def bitwise_right_shift(x1, x2, /):
    """``x1 >> x2`` (the array API name of right_shift), like jnp.bitwise_right_shift.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.bitwise_right_shift(mnp.array([8, -8]), 2)
        Array([ 2, -2], dtype=int32)
    """
    return right_shift(x1, x2)
