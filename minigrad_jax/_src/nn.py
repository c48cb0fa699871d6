"""jax.nn-like activations and normalizations, built on minigrad_jax.numpy and lax.

Each function has jax.nn's signature and numerics (same formulas, the same
``stop_gradient`` of the max in softmax/logsumexp), so values and gradients
agree with JAX's.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src import numpy as mnp
from minigrad_jax._src.custom_derivatives import custom_jvp
from minigrad_jax._src.jit import jit
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import iota

__all__ = [
    "celu",
    "dot_product_attention",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "identity",
    "leaky_relu",
    "log1mexp",
    "log_sigmoid",
    "log_softmax",
    "logmeanexp",
    "logsumexp",
    "mish",
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


def identity(x):
    """The argument, unmodified (as an array), like jax.nn.identity.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.identity(mnp.array([-1.0, 0.5]))
        Array([-1. ,  0.5], dtype=float32)
    """
    util.check_arraylike("identity", x)
    return mnp.asarray(x)


@custom_jvp
@jit
def relu(x):
    """Rectified linear unit ``max(x, 0)``; its gradient at 0 is 0, as in jax.nn.relu.

    As JAX's, a ``custom_jvp`` of a jitted ``max`` whose derivative is ``x > 0``, so
    its jaxpr is JAX's too.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.relu(mnp.array([-1.0, 0.0, 2.0]))
        Array([0., 0., 2.], dtype=float32)
    """
    return mnp.maximum(x, 0)


relu.defjvps(lambda g, ans, x: lax.select(x > 0, g, lax.full_like(g, 0)))


@custom_jvp
@jit
def relu6(x):
    """``min(max(x, 0), 6)``; gradient 0 at 0 and at 6, as in jax.nn.relu6.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.relu6(mnp.array([-1.0, 3.0, 7.0]))
        Array([0., 3., 6.], dtype=float32)
    """
    return mnp.minimum(mnp.maximum(x, 0), 6.0)


relu6.defjvps(lambda g, ans, x: lax.select((x > 0) & (x < 6), g, lax.full_like(g, 0)))


@core.jit_when_eager
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


@core.jit_when_eager
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


@core.jit_when_eager
def softplus(x):
    """``log(1 + exp(x))`` computed stably, like jax.nn.softplus.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.softplus(mnp.array([-1.0, 0.0, 1.0]))
        Array([0.3132617, 0.6931472, 1.3132617], dtype=float32)
    """
    return mnp.logaddexp(x, 0)


@core.jit_when_eager
def mish(x):
    """``x * tanh(softplus(x))``, like jax.nn.mish.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.mish(mnp.array([-1.0, 0.0, 1.0]))
        Array([-0.30340144,  0.        ,  0.8650985 ], dtype=float32)
    """
    (x,) = util.ensure_arraylike("mish", x)
    return mnp.multiply(x, mnp.tanh(softplus(x)))


@core.jit_when_eager
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


@core.jit_when_eager
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


@core.jit_when_eager
def celu(x, alpha=1.0):
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``, like jax.nn.celu."""
    neg = mnp.expm1(mnp.true_divide(mnp.minimum(x, 0.0), alpha))
    return mnp.add(mnp.maximum(x, 0.0), mnp.multiply(alpha, neg))


@core.jit_when_eager
def selu(x):
    """Scaled ELU with the self-normalizing constants, like jax.nn.selu."""
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return mnp.multiply(scale, elu(x, alpha))


@core.jit_when_eager
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


@core.jit_when_eager
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


@core.jit_when_eager
def hard_sigmoid(x):
    """``relu6(x + 3) / 6``, like jax.nn.hard_sigmoid."""
    return mnp.true_divide(relu6(mnp.add(x, 3.0)), 6.0)


@core.jit_when_eager
def hard_silu(x):
    """``x * hard_sigmoid(x)``, like jax.nn.hard_silu."""
    (x,) = util.ensure_arraylike("hard_silu", x)
    return mnp.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


@core.jit_when_eager
def soft_sign(x):
    """``x / (|x| + 1)``, like jax.nn.soft_sign."""
    (x,) = util.ensure_arraylike("soft_sign", x)
    return mnp.true_divide(x, mnp.add(mnp.abs(x), 1))


@core.jit_when_eager
def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``, like jax.nn.squareplus."""
    (x,) = util.promote_args_inexact("squareplus", x)
    y = mnp.add(x, mnp.sqrt(mnp.add(mnp.square(x), b)))
    return mnp.true_divide(y, 2)


@core.jit_when_eager
def sparse_plus(x):
    """0 for x <= -1, x for x >= 1, (x + 1)**2 / 4 between, like jax.nn.sparse_plus."""
    (x,) = util.promote_args_inexact("sparse_plus", x)
    quad = mnp.true_divide(mnp.square(mnp.add(x, 1)), 4)
    return mnp.where(mnp.less_equal(x, -1.0), 0.0, mnp.where(mnp.greater_equal(x, 1.0), x, quad))


@core.jit_when_eager
def sparse_sigmoid(x):
    """``(sparse_plus)'``: 0, (x + 1) / 2 or 1, like jax.nn.sparse_sigmoid."""
    return mnp.multiply(0.5, mnp.clip(mnp.add(x, 1.0), 0.0, 2.0))


def tanh(x):
    return mnp.tanh(x)


@core.jit_when_eager(jit_under_autodiff=True, static_argnames=("approximate",))
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


@core.jit_when_eager(static_argnames=("axis",))
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


@core.jit_when_eager(jit_under_autodiff=True, static_argnames=("axis",))
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


@core.jit_when_eager(jit_under_autodiff=True, static_argnames=("axis",))
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


@core.jit_when_eager(jit_under_autodiff=True, static_argnames=("axis",))
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


@core.jit_when_eager(static_argnames=("num_classes", "dtype", "axis"))
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


def _log1mexp_impl(x):
    (x,) = util.ensure_arraylike("log1mexp", x)
    small = mnp.less(x, np.log(2.0))
    return mnp.where(
        small,
        mnp.log(mnp.negative(mnp.expm1(mnp.negative(x)))),
        mnp.log1p(mnp.negative(mnp.exp(mnp.negative(x)))),
    )


_log1mexp_impl.__name__ = "log1mexp"  # the name JAX's custom_jvp_call carries
_log1mexp = custom_jvp(_log1mexp_impl)
_log1mexp.defjvps(lambda g, ans, x: mnp.true_divide(g, mnp.expm1(x)))


def log1mexp(x):
    """``log(1 - exp(-x))`` computed stably (undefined for ``x < 0``), like jax.nn.log1mexp.

    Below ``log 2`` it is ``log(-expm1(-x))``, above ``log1p(-exp(-x))``; the
    derivative is JAX's custom one, ``1 / expm1(x)``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.log1mexp(mnp.array([0.1, 1.0, 10.0]))
        Array([-2.3521686e+00, -4.5867515e-01, -4.5400961e-05], dtype=float32)
    """
    return _log1mexp(x)


def _axes_size(shape, axis):
    return math.prod(shape[d] for d in util.canonicalize_axes(axis, len(shape)))


def logmeanexp(x, axis=None, where=None, keepdims=False):
    """``logsumexp(x) - log(n)``, ``n`` the number of reduced (``where``-selected) elements.

    Like jax.nn.logmeanexp.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> nn.logmeanexp(mnp.array([[0.0, 0.0], [1.0, 3.0]]), axis=1)
        Array([0.      , 2.433781], dtype=float32)
    """
    lse = logsumexp(x, axis=axis, where=where, keepdims=keepdims)
    dtype = util.dtype_of(lse)
    if where is None:
        count = mnp.asarray(_axes_size(util.shape_of(x), axis), dtype=dtype)
    else:
        mask = mnp.broadcast_to(where, util.shape_of(x))
        count = mnp.sum(mask, axis=axis, dtype=dtype, keepdims=keepdims)
    return mnp.subtract(lse, mnp.log(count))


# ---------------------------------------------------------------------------
# dot_product_attention (jax.nn's 'xla' implementation)


def _large_negative(dtype):
    # Capped at float32's range, as JAX's: the softmax always runs in float32.
    top = min(float(mnp.finfo(dtype).max), float(np.finfo(np.float32).max))
    return mnp.asarray(-0.7 * top, dtype=dtype)


def _ensure_4d(t):
    t = mnp.asarray(t)
    missing = 4 - util.ndim_of(t)
    return mnp.expand_dims(t, tuple(range(missing))) if missing > 0 else t


def _check_shape_and_dtype(t, shape, dtype, name):
    if t is None:
        return
    if util.ndim_of(t) != len(shape):
        raise ValueError(f"{name} ndim should be {len(shape)}, but got {util.ndim_of(t)}")
    if dtype is not None and util.dtype_of(t) != dtype:
        raise ValueError(f"{name} dtype should be {dtype}, but got {util.dtype_of(t)}")
    got = util.shape_of(t)
    if any(want != -1 and g != want for g, want in zip(got, shape)):
        raise ValueError(f"{name} shape should be {shape}: but got {got}")


def _attention_mask(logits_shape, mask, is_causal, q_seqlen, kv_seqlen, local_window_size):
    """The combined boolean mask (broadcastable to ``B K G T S``), or None when none applies."""
    T, S = logits_shape[-2:]
    parts = [] if mask is None else [mask]
    q_pos = mnp.arange(T)[:, None]
    k_pos = mnp.arange(S)[None, :]
    if is_causal:
        parts.append(mnp.tril(mnp.ones((T, S), dtype=bool)))
    if local_window_size is not None:
        left, right = local_window_size
        parts.append(
            mnp.logical_and(
                mnp.greater_equal(q_pos, mnp.subtract(k_pos, right)),
                mnp.less_equal(q_pos, mnp.add(k_pos, left)),
            )
        )
    if q_seqlen is not None or kv_seqlen is not None:
        pad = True
        if q_seqlen is not None:
            pad = mnp.less(mnp.arange(T)[None, :, None], q_seqlen[:, None, None])
        if kv_seqlen is not None:
            pad = mnp.logical_and(
                pad, mnp.less(mnp.arange(S)[None, None, :], kv_seqlen[:, None, None])
            )
        parts.append(pad[:, None, None, :, :])
    if not parts:
        return None
    combined = mnp.ones(logits_shape, dtype=bool)
    for part in parts:
        combined = mnp.logical_and(combined, part)
    return combined


def _attention_xla(
    query, key, value, bias, mask, is_causal, scale, q_seqlen, kv_seqlen, window, residual
):
    """JAX's ``_dot_product_attention_xla``, with the query heads grouped as ``K x G``.

    JAX vmaps its core over the group axis; here the group is an extra einsum
    index, which computes the same sums.
    """
    B, T, N, H = util.shape_of(query)
    _, S, K, _ = util.shape_of(key)
    G = N // K
    query = mnp.reshape(query, (B, T, K, G, H))

    def grouped(t):  # B N T S -> B K G T S (a single head broadcasts to all)
        if t is None:
            return None
        tB, tN, tT, tS = util.shape_of(t)
        if tN == 1:
            return mnp.reshape(t, (tB, 1, 1, tT, tS))
        if tN != N:
            raise ValueError(
                f"bias/mask head dimension should be 1 or {N}, got shape {(tB, tN, tT, tS)}"
            )
        return mnp.reshape(t, (tB, K, G, tT, tS))

    logits_dtype = mnp.promote_types(util.dtype_of(query), np.float32)
    logits = mnp.einsum("BTKGH,BSKH->BKGTS", query, key, preferred_element_type=logits_dtype)
    logits = mnp.multiply(logits, mnp.asarray(scale, dtype=logits_dtype))
    if bias is not None:
        logits = mnp.add(logits, grouped(bias)).astype(logits_dtype)
    combined = _attention_mask(
        util.shape_of(logits), grouped(mask), is_causal, q_seqlen, kv_seqlen, window
    )
    if combined is not None:
        logits = mnp.where(combined, logits, _large_negative(logits_dtype))
    logits = logits.astype(np.float32)  # the softmax always runs in float32, as in JAX
    probs = softmax(logits, axis=-1).astype(util.dtype_of(key))
    encoded = mnp.einsum("BKGTS,BSKH->BTKGH", probs, value)
    if q_seqlen is not None:
        keep = mnp.less(mnp.arange(T)[None, :], q_seqlen[:, None])
        encoded = mnp.multiply(encoded, keep[:, :, None, None, None].astype(util.dtype_of(encoded)))
    encoded = mnp.reshape(encoded, (B, T, N, H))
    if not residual:
        return encoded, None
    lse = logsumexp(logits, axis=-1).astype(util.dtype_of(key))  # B K G T
    lse = mnp.reshape(mnp.transpose(lse, (0, 3, 1, 2)), (B, T, N))
    return encoded, lax.stop_gradient(lse)


def dot_product_attention(
    query,
    key,
    value,
    bias=None,
    mask=None,
    *,
    scale=None,
    is_causal=False,
    query_seq_lengths=None,
    key_value_seq_lengths=None,
    local_window_size=None,
    implementation=None,
    return_residual=False,
):
    """Scaled dot-product attention ``softmax(q k^T * scale + bias, masked) v``, like jax.nn's.

    ``query`` is ``B T N H`` (or ``T N H``), ``key`` and ``value`` are ``B S K H``;
    ``N`` must be a multiple of ``K`` (grouped-query attention: each group of
    ``N // K`` query heads reads one key/value head). ``bias`` and ``mask``
    broadcast to ``B N T S``; ``mask`` is boolean, True where attention is
    allowed. ``is_causal``, ``local_window_size`` (``int`` or ``(left, right)``)
    and the int32 ``*_seq_lengths`` (padding) mask further. The softmax runs in
    float32. ``implementation`` is ``None`` or ``'xla'``; ``'cudnn'`` raises (a
    RuntimeError, as JAX without cuDNN). ``return_residual`` also returns the
    ``logsumexp`` of the masked logits, ``B T N``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> from minigrad_jax import nn
        >>> q = mnp.ones((1, 2, 1, 4))
        >>> v = mnp.arange(8.0).reshape(1, 2, 1, 4)
        >>> nn.dot_product_attention(q, q, v, is_causal=True)[0, :, 0]
        Array([[0., 1., 2., 3.],
               [2., 3., 4., 5.]], dtype=float32)
    """
    output_shape = util.shape_of(mnp.asarray(query))
    query, key, value = (_ensure_4d(t) for t in (query, key, value))
    bias = None if bias is None else _ensure_4d(bias)
    mask = None if mask is None else _ensure_4d(mask)
    if query_seq_lengths is not None:
        query_seq_lengths = mnp.asarray(query_seq_lengths)
    if key_value_seq_lengths is not None:
        key_value_seq_lengths = mnp.asarray(key_value_seq_lengths)
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)

    B, S, K, H = util.shape_of(key)
    key_dtype = util.dtype_of(key)
    _check_shape_and_dtype(value, [B, S, K, H], key_dtype, "value")
    _check_shape_and_dtype(query, [B, -1, -1, H], key_dtype, "query")
    _check_shape_and_dtype(mask, [-1] * 4, np.dtype(bool), "mask")
    _check_shape_and_dtype(bias, [-1] * 4, None, "bias")
    _check_shape_and_dtype(query_seq_lengths, [B], np.dtype("int32"), "query_seq_lengths")
    _check_shape_and_dtype(key_value_seq_lengths, [B], np.dtype("int32"), "key_value_seq_lengths")
    if util.shape_of(query)[-2] % K != 0:
        raise ValueError(
            "The number of query heads must be a multiple of key/value heads, but got "
            f"{util.shape_of(query)[-2]} vs {K}"
        )
    scale = 1.0 / np.sqrt(H) if scale is None else scale
    if implementation == "cudnn":
        # NotImplementedError is a RuntimeError, which is what JAX raises without cuDNN.
        raise NotImplementedError(
            "cuDNN is not detected: minigrad_jax's dot_product_attention implements "
            "only implementation='xla' (or None)"
        )
    if implementation not in (None, "xla"):
        raise ValueError(f"Unsupported implementation option: {implementation}")
    out, residual = _attention_xla(
        query,
        key,
        value,
        bias,
        mask,
        is_causal,
        scale,
        query_seq_lengths,
        key_value_seq_lengths,
        local_window_size,
        return_residual,
    )
    out = mnp.reshape(out, output_shape)
    if return_residual:
        return out, mnp.reshape(residual, output_shape[:-1])
    return out
