"""Special functions and precision primitives: igamma and friends, betainc, the scaled
Bessel functions, zeta, random_gamma_grad, reduce_precision and mulhi.

Each stanza follows elementwise.py's: the primitive (JAX's name and params), its
abstract evaluation (the shared float-only, same-dtype, lax-broadcasting rule of
``naryop``/``unop``), its JVP written as JAX derives it (operand order included, so
jaxprs of derivatives compare equal), the shared elementwise batching rule, and the
lowering to the jax.lax function.

The wrappers bind their operands as given, as jax.lax's do: a Python scalar enters
as a weakly typed scalar of the default dtype, so ``igamma(float16_array, 2.0)`` is
the same-dtype TypeError it is in JAX (jax.lax.add and friends, unlike these, take
the array's dtype in this package; see ``elementwise._scalars``).
"""

from __future__ import annotations

import operator

import numpy as np
from jax import lax as jlax
from jax import numpy as jnp

from minigrad_jax._src import core, errors
from minigrad_jax._src.interpreters import ad
from minigrad_jax._src.interpreters.ad import defjvp, defjvp2, defnondiff
from minigrad_jax._src.lax import base
from minigrad_jax._src.lax.elementwise import (
    _const,
    _plain,
    abs,  # noqa: A004  (jax.lax's name)
    add,
    exp,
    gt,
    integer_pow,
    lgamma,
    log,
    log1p,
    mul,
    naryop,
    neg,
    select_n,
    sign,
    sub,
    unop,
)

# JAX's special functions take real floating dtypes only (complex is a TypeError).
# elementwise.py names that kind "real" once complex support lands there, when
# "float" starts to admit complex dtypes; before that, "float" is real-only.
_REAL = "real"


def _is_real_float(dtype):
    return jnp.issubdtype(dtype, np.floating)


def _lift(*args):
    """Python scalars as the weakly typed constants JAX binds them as (default dtype)."""
    return [
        core.weak_scalar(a, core.get_aval(a).dtype) if core.is_python_scalar(a) else a for a in args
    ]


# ---------------------------------------------------------------------------
# the incomplete gamma functions

igamma_p = naryop("igamma", _REAL, _plain(jlax.igamma))
igamma_grad_a_p = naryop("igamma_grad_a", _REAL, _plain(jlax.igamma_grad_a))
igammac_p = naryop("igammac", _REAL, _plain(jlax.igammac))


def _igamma_gradx(g, a, x):
    # JAX: g * exp(-x + (a - ones(a)) * log(x) - lgamma(a)), in that evaluation order
    nx = neg(x)
    am1 = sub(a, base.full_like(a, 1))
    return mul(g, exp(sub(add(nx, mul(am1, log(x))), lgamma(a))))


def _igamma_grada(g, a, x):
    return mul(g, igamma_grad_a(a, x))


defjvp(igamma_p, _igamma_grada, _igamma_gradx)
defjvp(
    igammac_p,
    lambda g, a, x: neg(_igamma_grada(g, a, x)),
    lambda g, a, x: neg(_igamma_gradx(g, a, x)),
)
ad.jvp_rules[igamma_grad_a_p] = ad.not_implemented_jvp("igamma_grad_a")


def igamma(a, x):
    """The regularized lower incomplete gamma function P(a, x), as jax.lax.igamma.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> mnp.round(lax.igamma(mnp.array([1.0, 2.0]), mnp.array([1.0, 1.0])), 4)
        Array([0.6321, 0.2642], dtype=float32)
    """
    return igamma_p.bind(*_lift(a, x))


def igammac(a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x), as jax.lax.igammac."""
    return igammac_p.bind(*_lift(a, x))


def igamma_grad_a(a, x):
    """d/da of igamma(a, x), as jax.lax.igamma_grad_a (not itself differentiable, as in JAX)."""
    return igamma_grad_a_p.bind(*_lift(a, x))


# JAX composes jax.lax.random_gamma_grad from a while-loop series (no primitive of
# its own); here it is one primitive, named after the function, lowered to it.
random_gamma_grad_p = naryop(
    "random_gamma_grad",
    _REAL,
    lambda a, x: jlax.random_gamma_grad(jnp.asarray(a), jnp.asarray(x)),
)


def _random_gamma_grad_jvp(primals, tangents):
    raise ValueError(
        "random_gamma_grad is not differentiable here: JAX evaluates it with a "
        "lax.while_loop, whose reverse-mode derivative raises this ValueError "
        "(JAX's forward mode through that loop has no counterpart in this package)"
    )


ad.jvp_rules[random_gamma_grad_p] = _random_gamma_grad_jvp


def random_gamma_grad(a, x):
    """The derivative of a Gamma(a, 1) sample ``x`` in ``a``, as jax.lax.random_gamma_grad."""
    return random_gamma_grad_p.bind(*_lift(a, x))


# ---------------------------------------------------------------------------
# the regularized incomplete beta function

regularized_incomplete_beta_p = naryop("regularized_incomplete_beta", _REAL, _plain(jlax.betainc))


def _betainc_grad_not_implemented(g, a, b, x):
    raise ValueError("Betainc gradient with respect to a and b not supported.")


def _betainc_gradx(g, a, b, x):
    # JAX: exp((b - 1) * log1p(-x) + (a - 1) * log(x) - lbeta) * g
    lbeta = sub(add(lgamma(a), lgamma(b)), lgamma(add(a, b)))
    t1 = mul(sub(b, _const(b, 1)), log1p(neg(x)))
    t2 = mul(sub(a, _const(a, 1)), log(x))
    return mul(exp(sub(add(t1, t2), lbeta)), g)


defjvp(
    regularized_incomplete_beta_p,
    _betainc_grad_not_implemented,
    _betainc_grad_not_implemented,
    _betainc_gradx,
)


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b), as jax.lax.betainc.

    Its derivative exists in ``x`` only; in ``a`` or ``b`` it raises JAX's ValueError.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> mnp.round(lax.betainc(mnp.float32(2.0), mnp.float32(3.0), mnp.array([0.25, 0.5])), 4)
        Array([0.2617, 0.6875], dtype=float32)
    """
    return regularized_incomplete_beta_p.bind(*_lift(a, b, x))


# ---------------------------------------------------------------------------
# polygamma and zeta

zeta_p = naryop("zeta", _REAL, _plain(jlax.zeta))
ad.jvp_rules[zeta_p] = ad.not_implemented_jvp("zeta")


def zeta(x, q):
    """The Hurwitz zeta function sum_n (n + q)**-x, as jax.lax.zeta (not differentiable, as in JAX).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> mnp.round(lax.zeta(mnp.float32(2.0), mnp.float32(1.0)), 4)
        Array(1.6449, dtype=float32)
    """
    return zeta_p.bind(*_lift(x, q))


# ---------------------------------------------------------------------------
# the exponentially scaled modified Bessel functions of orders 0 and 1

bessel_i0e_p = unop("bessel_i0e", _REAL, _plain(jlax.bessel_i0e))
bessel_i1e_p = unop("bessel_i1e", _REAL, _plain(jlax.bessel_i1e))

# JAX: g * (bessel_i1e(x) - sign(x) * y)
defjvp2(bessel_i0e_p, lambda g, y, x: mul(g, sub(bessel_i1e(x), mul(sign(x), y))))


def _bessel_i1e_jvp(g, y, x):
    # JAX's rule: i0e(x) - y * (sign(x) + 1/x), with the limit 1/2 where |x| <= eps.
    dtype = core.get_aval(x).dtype
    eps = np.asarray(jnp.finfo(dtype).eps, dtype)  # a strongly typed literal, as JAX's
    x_is_not_tiny = gt(abs(x), eps)
    safe_x = select_n(x_is_not_tiny, base.full_like(x, eps), x)
    dy_dx = sub(bessel_i0e(safe_x), mul(y, add(sign(safe_x), reciprocal(safe_x))))
    dy_dx = select_n(x_is_not_tiny, base.full_like(x, 0.5), dy_dx)
    return mul(g, dy_dx)


defjvp2(bessel_i1e_p, _bessel_i1e_jvp)


def bessel_i0e(x):
    """exp(-|x|) * I0(x), as jax.lax.bessel_i0e.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> mnp.round(lax.bessel_i0e(mnp.array([0.0, 1.0])), 4)
        Array([1.    , 0.4658], dtype=float32)
    """
    return bessel_i0e_p.bind(*_lift(x))


def bessel_i1e(x):
    """exp(-|x|) * I1(x), as jax.lax.bessel_i1e."""
    return bessel_i1e_p.bind(*_lift(x))


# ---------------------------------------------------------------------------
# reduce_precision: round to a float format with fewer exponent/mantissa bits


def _concrete_int(v, name):
    """A bit count as a Python int; JAX's ConcretizationTypeError class for a traced one."""
    if isinstance(v, core.Tracer):
        what = f"operator.index() for lax.reduce_precision's {name}"
        raise errors.ConcretizationError(v, what, core.user_frame_info())
    return operator.index(v)


def _reduce_precision_abstract(x, *, exponent_bits, mantissa_bits):
    if not _is_real_float(x.dtype):
        raise TypeError(
            f"reduce_precision requires a (real) floating-point dtype, got {x.dtype.name}"
        )
    _check_precision_bits(exponent_bits, mantissa_bits)
    return x


def _check_precision_bits(exponent_bits, mantissa_bits):
    if exponent_bits < 1:
        raise ValueError(f"reduce_precision: exponent_bits must be positive; got {exponent_bits}")
    if mantissa_bits < 0:
        raise ValueError(
            f"reduce_precision: mantissa_bits must be non-negative; got {mantissa_bits}"
        )


reduce_precision_p = unop(
    "reduce_precision",
    _REAL,
    lambda x, exponent_bits, mantissa_bits: jlax.reduce_precision(x, exponent_bits, mantissa_bits),
)
core.abstract_eval_rules[reduce_precision_p] = _reduce_precision_abstract
# JAX treats it as linear: the tangent (and the cotangent) is rounded the same way.
ad.deflinear(reduce_precision_p, lambda ct, x, **params: [reduce_precision_p.bind(ct, **params)])


def reduce_precision(operand, exponent_bits, mantissa_bits):
    """``operand`` rounded to a float with the given bit counts, as jax.lax.reduce_precision.

    The bit counts must be concrete integers (they are params, not operands).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.reduce_precision(mnp.array([1.0 + 2**-9, 3.14159]), 8, 7)  # bfloat16's format
        Array([1.       , 3.140625], dtype=float32)
    """
    exponent_bits = _concrete_int(exponent_bits, "exponent_bits")
    mantissa_bits = _concrete_int(mantissa_bits, "mantissa_bits")
    # checked here too: the abstract rule's errors all reach the user as TypeErrors
    _check_precision_bits(exponent_bits, mantissa_bits)
    (operand,) = _lift(operand)
    return reduce_precision_p.bind(
        operand, exponent_bits=exponent_bits, mantissa_bits=mantissa_bits
    )


# ---------------------------------------------------------------------------
# mulhi: the high half of the double-width integer product

mulhi_p = naryop("mulhi", "int", _plain(jlax.mulhi))
defnondiff(mulhi_p)


def mulhi(x, y, /):
    """The upper N bits of the 2N-bit product of N-bit integers, as jax.lax.mulhi.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import lax
        >>> lax.mulhi(mnp.uint32(2**31), mnp.uint32(6))
        Array(3, dtype=uint32)
    """
    return mulhi_p.bind(*_lift(x, y))


# ---------------------------------------------------------------------------
# wrappers without primitives of their own


def reciprocal(x):
    """``1 / x`` as ``integer_pow(x, -1)``, as jax.lax.reciprocal."""
    return integer_pow(x, -1)


def broadcast_shapes(*shapes):
    """The NumPy-broadcast shape of ``shapes``, as jax.lax.broadcast_shapes.

    Example:
        >>> from minigrad_jax import lax
        >>> lax.broadcast_shapes((2, 1), (3,))
        (2, 3)
    """
    shapes = [tuple(map(operator.index, s)) for s in shapes]
    out = []
    for i in range(-max(map(len, shapes), default=0), 0):
        size = 1
        for s in shapes:
            if len(s) >= -i and s[i] != 1:
                if size != 1 and s[i] != size:
                    raise ValueError(f"Incompatible shapes for broadcasting: shapes={shapes}")
                size = s[i]
        out.append(size)
    return tuple(out)
