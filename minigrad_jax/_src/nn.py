"""jax.nn-like activations and normalizations, built on minigrad_jax.numpy and lax.

Each function has jax.nn's signature and numerics (same formulas, the same
``stop_gradient`` of the max in softmax/logsumexp), so values and gradients
agree with JAX's.
"""

from __future__ import annotations

import operator

import numpy as np

from minigrad_jax import lax
from minigrad_jax._src import numpy as mnp
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import iota

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "standardize",
    "swish",
    "tanh",
]


def _positive_part(x, upper=None):
    """``max(x, 0)`` (and ``min(., upper)``) whose derivative is 0 at the kinks, as JAX's.

    jax.nn.relu is a custom_jvp with derivative ``x > 0``; selecting (instead of
    lax.max, which splits ties) gives the same values and the same derivative.
    NaN passes through as it does through ``max``.
    """
    (x,) = util.promote_args("relu", x)
    zero = util.full_like_internal(x, 0)
    keep = mnp.logical_or(lax.gt(x, util.const(x, 0)), mnp.isnan(x))
    out = lax.select_n(keep, zero, x)
    if upper is not None:
        top = util.full_like_internal(x, upper)
        out = lax.select_n(lax.ge(x, util.const(x, upper)), out, top)
    return out


def relu(x):
    """Rectified linear unit ``max(x, 0)``; its gradient at 0 is 0, as in jax.nn.relu.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.relu(mnp.array([-1.0, 0.0, 2.0]))
        Array([0., 0., 2.], dtype=float32)
    """
    return _positive_part(x)


def relu6(x):
    """``min(max(x, 0), 6)``; gradient 0 at 0 and at 6, as in jax.nn.relu6.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.relu6(mnp.array([-1.0, 3.0, 7.0]))
        Array([0., 3., 6.], dtype=float32)
    """
    return _positive_part(x, upper=6)


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))`` (lax.logistic, floats only), like jax.nn.sigmoid.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.sigmoid(mnp.array([-1.0, 0.0, 1.0]))
        Array([0.26894143, 0.5       , 0.7310586 ], dtype=float32)
        >>> nn.sigmoid(0.0)
        Array(0.5, dtype=float32, weak_type=True)
    """
    (x,) = util.ensure_arraylike("sigmoid", x)
    return lax.logistic(x)


def silu(x):
    """``x * sigmoid(x)``, like jax.nn.silu.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.silu(mnp.array([-1.0, 0.0, 1.0]))
        Array([-0.26894143,  0.        ,  0.7310586 ], dtype=float32)
    """
    (x,) = util.ensure_arraylike("silu", x)
    return mnp.multiply(x, sigmoid(x))


swish = silu


def softplus(x):
    """``log(1 + exp(x))`` computed stably, like jax.nn.softplus.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.softplus(mnp.array([-1.0, 0.0, 1.0]))
        Array([0.3132617, 0.6931472, 1.3132617], dtype=float32)
    """
    return mnp.logaddexp(x, 0)


def log_sigmoid(x):
    """``log(sigmoid(x))`` = ``-softplus(-x)``, like jax.nn.log_sigmoid.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.log_sigmoid(mnp.array([-1.0, 0.0, 1.0]))
        Array([-1.3132617, -0.6931472, -0.3132617], dtype=float32)
    """
    (x,) = util.ensure_arraylike("log_sigmoid", x)
    return mnp.negative(softplus(mnp.negative(x)))


def elu(x, alpha=1.0):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``, like jax.nn.elu.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.elu(mnp.array([-1.0, 0.0, 1.0]))
        Array([-0.63212055,  0.        ,  1.        ], dtype=float32)
    """
    (x,) = util.ensure_arraylike("elu", x)
    positive = mnp.greater(x, 0)
    safe_x = mnp.where(positive, 0.0, x)
    return mnp.where(positive, x, mnp.multiply(alpha, mnp.expm1(safe_x)))


def celu(x, alpha=1.0):
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``, like jax.nn.celu."""
    neg = mnp.expm1(mnp.true_divide(mnp.minimum(x, 0.0), alpha))
    return mnp.add(mnp.maximum(x, 0.0), mnp.multiply(alpha, neg))


def selu(x):
    """Scaled ELU with the self-normalizing constants, like jax.nn.selu."""
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return mnp.multiply(scale, elu(x, alpha))


def leaky_relu(x, negative_slope=0.01):
    """``x`` if ``x >= 0`` else ``negative_slope * x``, like jax.nn.leaky_relu.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.leaky_relu(mnp.array([-2.0, 0.0, 2.0]), negative_slope=0.1)
        Array([-0.2,  0. ,  2. ], dtype=float32)
    """
    (x,) = util.ensure_arraylike("leaky_relu", x)
    return mnp.where(mnp.greater_equal(x, 0), x, mnp.multiply(negative_slope, x))


def hard_tanh(x):
    """``clip(x, -1, 1)`` (as a select, gradient 0 outside), like jax.nn.hard_tanh.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.hard_tanh(mnp.array([-2.0, 0.5, 2.0]))
        Array([-1. ,  0.5,  1. ], dtype=float32)
    """
    (x,) = util.ensure_arraylike("hard_tanh", x)
    return mnp.where(mnp.greater(x, 1), 1, mnp.where(mnp.less(x, -1), -1, x))


def hard_sigmoid(x):
    """``relu6(x + 3) / 6``, like jax.nn.hard_sigmoid."""
    return mnp.true_divide(relu6(mnp.add(x, 3.0)), 6.0)


def hard_silu(x):
    """``x * hard_sigmoid(x)``, like jax.nn.hard_silu."""
    (x,) = util.ensure_arraylike("hard_silu", x)
    return mnp.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def soft_sign(x):
    """``x / (|x| + 1)``, like jax.nn.soft_sign."""
    (x,) = util.ensure_arraylike("soft_sign", x)
    return mnp.true_divide(x, mnp.add(mnp.abs(x), 1))


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``, like jax.nn.squareplus."""
    (x,) = util.promote_args_inexact("squareplus", x)
    y = mnp.add(x, mnp.sqrt(mnp.add(mnp.square(x), b)))
    return mnp.true_divide(y, 2)


def sparse_plus(x):
    """0 for x <= -1, x for x >= 1, (x + 1)**2 / 4 between, like jax.nn.sparse_plus."""
    (x,) = util.promote_args_inexact("sparse_plus", x)
    quad = mnp.true_divide(mnp.square(mnp.add(x, 1)), 4)
    return mnp.where(mnp.less_equal(x, -1.0), 0.0, mnp.where(mnp.greater_equal(x, 1.0), x, quad))


def sparse_sigmoid(x):
    """``(sparse_plus)'``: 0, (x + 1) / 2 or 1, like jax.nn.sparse_sigmoid."""
    return mnp.multiply(0.5, mnp.clip(mnp.add(x, 1.0), 0.0, 2.0))


def tanh(x):
    return mnp.tanh(x)


def gelu(x, approximate=True):
    """Gaussian error linear unit (tanh approximation by default), like jax.nn.gelu.

    The exact form is ``x * erfc(-x / sqrt(2)) / 2``, as in JAX (accurate in the far tail).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.gelu(mnp.array([-1.0, 0.0, 1.0]))
        Array([-0.15880796,  0.        ,  0.841192  ], dtype=float32)
        >>> nn.gelu(mnp.array([-1.0, 0.0, 1.0]), approximate=False)
        Array([-0.15865527,  0.        ,  0.8413447 ], dtype=float32)
    """
    (x,) = util.promote_args_inexact("gelu", x)
    dt = util.dtype_of(x)
    if approximate:
        sqrt_2_over_pi = np.sqrt(2 / np.pi).astype(dt)
        inner = mnp.multiply(sqrt_2_over_pi, mnp.add(x, mnp.multiply(0.044715, mnp.power(x, 3))))
        cdf = mnp.multiply(0.5, mnp.add(1.0, mnp.tanh(inner)))
        return mnp.multiply(x, cdf)
    sqrt_half = np.sqrt(0.5).astype(dt)
    cdf = lax.erfc(mnp.multiply(mnp.negative(x), sqrt_half))
    return util.cast(mnp.multiply(mnp.multiply(0.5, x), cdf), dt)


def glu(x, axis=-1):
    """Gated linear unit: ``a * sigmoid(b)`` of the two halves along ``axis``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.glu(mnp.array([1.0, 2.0, 0.0, 0.0]))
        Array([0.5, 1. ], dtype=float32)
    """
    (x,) = util.ensure_arraylike("glu", x)
    size = util.shape_of(x)[axis]
    if size % 2:
        raise ValueError(f"axis size must be divisible by 2, got {size}")
    a, b = mnp.split(x, 2, axis)
    return mnp.multiply(a, sigmoid(b))


# ---------------------------------------------------------------------------
# softmax family


def _stop_gradient(x):
    return lax.stop_gradient(x)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """``log(sum(b * exp(a)))`` over ``axis``, stabilized by the (stop-gradient) max.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.logsumexp(mnp.array([0.0, 1.0, 2.0]))
        Array(2.407606, dtype=float32)
        >>> nn.logsumexp(mnp.array([[0.0, 0.0], [1.0, 1.0]]), axis=1)
        Array([0.6931472, 1.6931472], dtype=float32)
        >>> nn.logsumexp(mnp.array([1000.0, 1000.0]))
        Array(1000.6932, dtype=float32)
    """
    if where is not None:
        a = mnp.where(where, a, 0)
    if b is not None:
        a, b = util.promote_args_inexact("logsumexp", a, b)
        a = mnp.where(mnp.not_equal(b, 0), a, -np.inf)
    else:
        (a,) = util.promote_args_inexact("logsumexp", a)
    dims = util.canonicalize_axes(axis, util.ndim_of(a))
    amax = mnp.max(a, axis=dims, keepdims=keepdims, where=where, initial=-np.inf)
    amax = _stop_gradient(lax.select_n(mnp.isfinite(amax), util.full_like_internal(amax, 0), amax))
    amax_with_dims = amax if keepdims else mnp.expand_dims(amax, dims)
    exp_a = lax.exp(mnp.subtract(a, amax_with_dims))
    if b is not None:
        exp_a = mnp.multiply(exp_a, b)
    sumexp = mnp.sum(exp_a, axis=dims, keepdims=keepdims, where=where)
    sign = lax.sign(sumexp)
    sumexp = lax.abs(sumexp)
    out = lax.add(lax.log(sumexp), util.cast(amax, util.dtype_of(sumexp)))
    if return_sign:
        return out, sign
    if b is not None:
        out = mnp.where(mnp.less(sign, 0), np.asarray(np.nan, util.dtype_of(out)), out)
    return out


def softmax(x, axis=-1, where=None):
    """``exp(x) / sum(exp(x))`` along ``axis``, shifted by the stop-gradient max (jax.nn's).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.softmax(mnp.array([1.0, 2.0, 3.0]))
        Array([0.09003057, 0.24472848, 0.66524094], dtype=float32)
        >>> nn.softmax(mnp.array([[1.0, 1.0], [0.0, 0.0]]), axis=0)
        Array([[0.7310586 , 0.7310586 ],
               [0.26894143, 0.26894143]], dtype=float32)
    """
    (x,) = util.ensure_arraylike("softmax", x)
    x_max = mnp.max(x, axis, where=where, initial=-np.inf, keepdims=True)
    x_safe = x if where is None else mnp.where(where, x, -np.inf)
    unnormalized = mnp.exp(mnp.subtract(x_safe, _stop_gradient(x_max)))
    result = mnp.true_divide(unnormalized, mnp.sum(unnormalized, axis, where=where, keepdims=True))
    if where is not None:
        result = mnp.where(where, result, 0)
    return result


def log_softmax(x, axis=-1, where=None):
    """``x - logsumexp(x)`` along ``axis``, like jax.nn.log_softmax.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.log_softmax(mnp.array([1.0, 2.0, 3.0]))
        Array([-2.407606  , -1.4076059 , -0.40760595], dtype=float32)
    """
    (x,) = util.ensure_arraylike("log_softmax", x)
    x_max = mnp.max(x, axis, where=where, initial=-np.inf, keepdims=True)
    x_safe = x if where is None else mnp.where(where, x, -np.inf)
    shifted = mnp.subtract(x_safe, _stop_gradient(x_max))
    shifted_logsumexp = mnp.log(mnp.sum(mnp.exp(shifted), axis, where=where, keepdims=True))
    result = mnp.subtract(shifted, shifted_logsumexp)
    if where is not None:
        return mnp.where(where, result, -np.inf)
    return result


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None):
    """``(x - mean) / sqrt(variance + epsilon)`` along ``axis``, like jax.nn.standardize."""
    (x,) = util.ensure_arraylike("standardize", x)
    if mean is None:
        mean = mnp.mean(x, axis, keepdims=True, where=where)
    if variance is None:
        variance = mnp.subtract(
            mnp.mean(mnp.square(x), axis, keepdims=True, where=where), mnp.square(mean)
        )
        variance = mnp.clip(variance, 0)
    return mnp.multiply(mnp.subtract(x, mean), lax.rsqrt(mnp.add(variance, epsilon)))


def one_hot(x, num_classes, *, dtype=None, axis=-1):
    """One-hot encoding of integer ``x`` with ``num_classes`` classes, like jax.nn.one_hot.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.one_hot(mnp.array([0, 2]), 3)
        Array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
        >>> nn.one_hot(mnp.array([0, 5]), 3, dtype=mnp.int32)
        Array([[1, 0, 0],
               [0, 0, 0]], dtype=int32)
    """
    num_classes = operator.index(num_classes)
    x = mnp.asarray(x)
    dtype = _dtypes.default_float() if dtype is None else _dtypes.canonicalize(dtype)
    out_axis = util.canonicalize_axis(axis, util.ndim_of(x) + 1)
    lhs = mnp.expand_dims(x, (out_axis,))
    rhs_shape = [1] * util.ndim_of(x)
    rhs_shape.insert(out_axis, num_classes)

    rhs = iota(util.dtype_of(x), rhs_shape, out_axis)
    return util.cast(mnp.equal(lhs, rhs), dtype)
