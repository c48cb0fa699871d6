"""1-D convolution and the polynomial functions (coefficients highest power
first), composed from the existing numpy functions.

``convolve`` / ``correlate`` gather the sliding windows of the zero-padded
longer input with one constant index matrix and contract them with the other
input in one ``dot``. ``trim_leading_zeros=True`` needs concrete values.
"""

from __future__ import annotations

import operator

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import asarray, ones, zeros
from minigrad_jax._src.numpy._extras import trim_zeros
from minigrad_jax._src.numpy._indexing import _getitem, _IndexUpdateHelper, take
from minigrad_jax._src.numpy._linalg import dot
from minigrad_jax._src.numpy._shape import atleast_1d, concatenate, flip, pad, ravel, stack
from minigrad_jax._src.numpy._ufuncs import conj

# ---------------------------------------------------------------------------
# convolution


def _conv(name, a, v, mode, flip_v, precision, preferred_element_type):
    a, v = util.promote_dtypes_inexact(*util.ensure_arraylike(name, a, v))
    if util.ndim_of(a) != 1 or util.ndim_of(v) != 1:
        raise ValueError(f"{name}() only support 1-dimensional inputs.")
    n, m = util.shape_of(a)[0], util.shape_of(v)[0]
    if n == 0 or m == 0:
        raise ValueError(f"{name}: inputs cannot be empty, got shapes {(n,)} and {(m,)}.")
    reverse_out = False
    if n < m:
        a, v, n, m = v, a, m, n
        reverse_out = not flip_v
    if flip_v:
        v = flip(v, 0)
    else:
        v = conj(v)
    full_len = n + m - 1
    if mode == "full":
        start, length = 0, full_len
    elif mode == "same":
        start, length = (m - 1) - m // 2, n
    elif mode == "valid":
        start, length = m - 1, n - m + 1
    else:
        raise ValueError(f"mode={mode!r} is not valid; must be one of ['full', 'same', 'valid']")
    padded = pad(a, (m - 1, m - 1))
    windows = np.arange(start, start + length)[:, None] + np.arange(m)[None, :]
    rows = take(padded, util.constant(windows, np.int32), axis=0)
    out = dot(rows, v, precision=precision, preferred_element_type=preferred_element_type)
    return flip(out, 0) if reverse_out else out


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """The discrete linear convolution of two 1-D arrays, like jnp.convolve.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.convolve(mnp.array([1.0, 2.0, 3.0]), mnp.array([0.0, 1.0, 0.5]))
        Array([0. , 1. , 2.5, 4. , 1.5], dtype=float32)
    """
    return _conv("convolve", a, v, mode, True, precision, preferred_element_type)


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """The cross-correlation of two 1-D arrays, like jnp.correlate.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.correlate(mnp.array([1.0, 2.0, 3.0]), mnp.array([0.0, 1.0, 0.5]), mode="full")
        Array([0.5, 2. , 3.5, 3. , 0. ], dtype=float32)
    """
    return _conv("correlate", a, v, mode, False, precision, preferred_element_type)


# ---------------------------------------------------------------------------
# polynomials


def _poly1d(name, *args):
    args = util.ensure_arraylike(name, *args)
    out = []
    for a in args:
        a = asarray(a)
        if util.ndim_of(a) != 1:
            a = atleast_1d(a) if util.ndim_of(a) == 0 else a
            if util.ndim_of(a) != 1:
                raise ValueError(f"mnp.{name}: inputs must be 1-D")
        out.append(a)
    return out


def _trim(a, name):
    if util.shape_of(a)[0] <= 1:
        return a
    return trim_zeros(a, trim="f")


def poly(seq_of_zeros):
    """The coefficients of the monic polynomial with the given roots, like jnp.poly.

    Only 1-D root sequences are supported (a square matrix's eigenvalues need
    complex numbers).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.poly(mnp.array([1.0, 2.0]))
        Array([ 1., -3.,  2.], dtype=float32)
    """
    (z,) = util.ensure_arraylike("poly", seq_of_zeros)
    (z,) = util.promote_dtypes_inexact(z)
    z = atleast_1d(z)
    nd = util.ndim_of(z)
    if nd == 2 and util.shape_of(z)[0] == util.shape_of(z)[1] and util.shape_of(z)[0]:
        raise NotImplementedError("mnp.poly of a matrix (its eigenvalues) is not supported")
    if nd != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    dt = util.dtype_of(z)
    coeffs = ones((1,), dt)
    for i in range(util.shape_of(z)[0]):
        root = _getitem(z, i)
        factor = stack([util.cast(1, dt), lax.neg(root)])
        coeffs = convolve(coeffs, factor, mode="full")
    return coeffs


def _aligned(a1, a2):
    n1, n2 = util.shape_of(a1)[0], util.shape_of(a2)[0]
    if n1 < n2:
        a1 = pad(a1, (n2 - n1, 0))
    elif n2 < n1:
        a2 = pad(a2, (n1 - n2, 0))
    return a1, a2


def polyadd(a1, a2):
    """The sum of two polynomials, like jnp.polyadd.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.polyadd(mnp.array([1, 2]), mnp.array([1, 0, 5]))
        Array([1, 1, 7], dtype=int32)
    """
    a1, a2 = util.promote_dtypes(*_poly1d("polyadd", a1, a2))
    return lax.add(*_aligned(a1, a2))


def polysub(a1, a2):
    """The difference of two polynomials, like jnp.polysub.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.polysub(mnp.array([1, 2]), mnp.array([1, 0, 5]))
        Array([-1,  1, -3], dtype=int32)
    """
    a1, a2 = util.promote_dtypes(*_poly1d("polysub", a1, a2))
    return lax.sub(*_aligned(a1, a2))


def polymul(a1, a2, *, trim_leading_zeros=False):
    """The product of two polynomials, like jnp.polymul.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.polymul(mnp.array([1.0, 2.0]), mnp.array([1.0, -1.0]))
        Array([ 1.,  1., -2.], dtype=float32)
    """
    a1, a2 = util.promote_dtypes_inexact(*_poly1d("polymul", a1, a2))
    if trim_leading_zeros:
        a1, a2 = _trim(a1, "polymul"), _trim(a2, "polymul")
    if util.shape_of(a1)[0] == 0:
        a1 = zeros((1,), util.dtype_of(a1))
    if util.shape_of(a2)[0] == 0:
        a2 = zeros((1,), util.dtype_of(a2))
    return convolve(a1, a2, mode="full")


def polyval(p, x, *, unroll=16):
    """The polynomial ``p`` evaluated at ``x`` (Horner's scheme), like jnp.polyval.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.polyval(mnp.array([1.0, 0.0, -2.0]), mnp.array([0.0, 2.0]))
        Array([-2.,  2.], dtype=float32)
    """
    del unroll
    p, x = util.ensure_arraylike("polyval", p, x)
    p, x = util.promote_dtypes(p, x)
    p = asarray(p)
    if util.ndim_of(p) != 1:
        raise ValueError("mnp.polyval: p must be 1-D")
    shape = util.broadcast_shapes(util.shape_of(p)[1:], util.shape_of(x))
    y = util.full_like_internal(x, 0, shape=shape)
    for i in range(util.shape_of(p)[0]):
        y = lax.add(lax.mul(y, x), _getitem(p, i))
    return y


def polyder(p, m=1):
    """The ``m``-th derivative of the polynomial ``p``, like jnp.polyder.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.polyder(mnp.array([1.0, 2.0, 3.0, 4.0]))
        Array([3., 4., 3.], dtype=float32)
    """
    (p,) = util.promote_dtypes_inexact(*_poly1d("polyder", p))
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive")
    if m == 0:
        return p
    n = util.shape_of(p)[0]
    if m >= n:
        return zeros((0,), util.dtype_of(p))
    powers = np.arange(n - 1, m - 1, -1)
    coeff = np.prod([powers - i for i in range(m)], axis=0)
    return lax.mul(lax.slice_in_dim(p, 0, n - m), np.asarray(coeff, util.dtype_of(p)))


def polyint(p, m=1, k=None):
    """The ``m``-th antiderivative of ``p`` with integration constants ``k``, like jnp.polyint.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.polyint(mnp.array([3.0, 2.0, 1.0]))
        Array([1., 1., 1., 0.], dtype=float32)
    """
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    k = 0 if k is None else k
    p, k = util.ensure_arraylike("polyint", p, k)
    p, k = util.promote_dtypes_inexact(p, k)
    (p,) = _poly1d("polyint", p)
    dt = util.dtype_of(p)
    k = ravel(asarray(k))
    nk = util.shape_of(k)[0]
    if nk == 1:
        k = lax.broadcast_in_dim(_getitem(k, 0), (m,), ())
    elif nk != m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or m.")
    if m == 0:
        return p
    n = util.shape_of(p)[0]
    for i in range(m):
        powers = np.arange(n + i, 0, -1).astype(dt)
        p = concatenate([lax.div(p, powers), lax.broadcast_in_dim(_getitem(k, i), (1,), ())])
    return p


def polydiv(u, v, *, trim_leading_zeros=False):
    """The quotient and remainder of polynomial long division, like jnp.polydiv.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.polydiv(mnp.array([1.0, -3.0, 2.0]), mnp.array([1.0, -1.0]))
        (Array([ 1., -2.], dtype=float32), Array([0., 0., 0.], dtype=float32))
    """
    u, v = util.promote_dtypes_inexact(*_poly1d("polydiv", u, v))
    n, m = util.shape_of(u)[0], util.shape_of(v)[0]
    dt = util.dtype_of(u)
    scale = lax.div(util.cast(1, dt), _getitem(v, 0))
    q = zeros((max(n - m + 1, 1),), dt)
    r = u
    for k in range(n - m + 1):
        d = lax.mul(scale, _getitem(r, k))
        q = _IndexUpdateHelper(q)[k].set(d)
        r = _IndexUpdateHelper(r)[k : k + m].add(lax.neg(lax.mul(d, v)))
    if trim_leading_zeros:
        r = _trim(r, "polydiv")
    return q, r
