"""1-D convolution and the polynomial functions (coefficients highest power
first), composed from the existing numpy functions.

``convolve`` / ``correlate`` are one 1-D ``lax.conv_general_dilated`` each, as
JAX writes them. ``trim_leading_zeros=True`` needs concrete values.
"""

from __future__ import annotations

import operator

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src.errors import ConcretizationError
from minigrad_jax._src.numpy import _creation as _cr  # polyfit, roots (below)
from minigrad_jax._src.numpy import _extras as _ext
from minigrad_jax._src.numpy import _linalg as _la
from minigrad_jax._src.numpy import _reductions as _red
from minigrad_jax._src.numpy import _shape as _shp
from minigrad_jax._src.numpy import _ufuncs as _uf
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy import linalg as _linalg_mod
from minigrad_jax._src.numpy._creation import asarray, ones, zeros
from minigrad_jax._src.numpy._extras import trim_zeros
from minigrad_jax._src.numpy._indexing import _getitem, _IndexUpdateHelper
from minigrad_jax._src.numpy._linalg import dot
from minigrad_jax._src.numpy._shape import atleast_1d, concatenate, flip, pad, ravel, stack
from minigrad_jax._src.numpy._ufuncs import conj

# ---------------------------------------------------------------------------
# convolution


def _conv(name, a, v, mode, precision, preferred_element_type):
    # As JAX writes it: one 1-D lax.conv_general_dilated of the longer input with
    # the shorter one (flipped for convolve, conjugated for correlate).
    a, v = util.ensure_arraylike(name, a, v)
    if util.ndim_of(a) != 1 or util.ndim_of(v) != 1:
        raise ValueError(f"{name}() only support 1-dimensional inputs.")
    if preferred_element_type is None:
        a, v = util.promote_dtypes_inexact(a, v)
    else:
        a, v = util.promote_dtypes(a, v)
    n, m = util.shape_of(a)[0], util.shape_of(v)[0]
    if n == 0 or m == 0:
        raise ValueError(f"{name}: inputs cannot be empty, got shapes {(n,)} and {(m,)}.")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"mode must be one of ['full', 'same', 'valid'], got {mode!r}")
    reverse_out = False
    if name == "correlate":
        v = conj(v)
        if n < m:
            a, v, n, m = v, a, m, n
            reverse_out = True
    else:
        if n < m:
            a, v, n, m = v, a, m, n
        v = flip(v, 0)
    padding = {"valid": [(0, 0)], "same": [(m // 2, m - m // 2 - 1)], "full": [(m - 1, m - 1)]}
    out = lax.conv_general_dilated(
        lax.expand_dims(a, (0, 1)),
        lax.expand_dims(v, (0, 1)),
        (1,),
        padding[mode],
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    out = lax.squeeze(out, (0, 1))
    return lax.rev(out, (0,)) if reverse_out else out


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """The discrete linear convolution of two 1-D arrays, like jnp.convolve
    (``mode`` is ``'full'``, ``'same'`` or ``'valid'``; one conv_general_dilated).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.convolve(mnp.array([1.0, 2.0, 3.0]), mnp.array([0.0, 1.0, 0.5]))
        Array([0. , 1. , 2.5, 4. , 1.5], dtype=float32)
    """
    return _conv("convolve", a, v, mode, precision, preferred_element_type)


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """The cross-correlation of two 1-D arrays, like jnp.correlate
    (``mode`` is ``'full'``, ``'same'`` or ``'valid'``; one conv_general_dilated).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.correlate(mnp.array([1.0, 2.0, 3.0]), mnp.array([0.0, 1.0, 0.5]), mode="full")
        Array([0.5, 2. , 3.5, 3. , 0. ], dtype=float32)
    """
    return _conv("correlate", a, v, mode, precision, preferred_element_type)


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

    A non-empty square matrix stands for its eigenvalues (a complex result, as JAX's).

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
        z = _linalg_mod.eigvals(z)
    elif nd != 1:
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


# ---------------------------------------------------------------------------
# polyfit and roots (on mnp.linalg's lstsq, inv and eigvals)


def _complex_dtype(dt):
    dt = np.dtype(dt)
    if np.issubdtype(dt, np.complexfloating):
        return dt
    return np.dtype(np.complex128) if dt.itemsize == 8 else np.dtype(np.complex64)


def _roots_no_zeros(p):
    n = util.shape_of(p)[0]
    if n < 2:
        return zeros((0,), _complex_dtype(util.dtype_of(p)))
    companion = _la.diag(ones((n - 2,), util.dtype_of(p)), -1)
    first_row = _uf.negative(_uf.divide(_getitem(p, slice(1, None)), _getitem(p, 0)))
    companion = _IndexUpdateHelper(companion)[0, :].set(first_row)
    return _linalg_mod.eigvals(companion)


def _roots_with_zeros(p, num_leading_zeros):
    n = util.shape_of(p)[0]
    p = _uf.where(_uf.equal(n, num_leading_zeros), 1.0, p)
    roots_ = _roots_no_zeros(_shp.roll(p, _uf.negative(num_leading_zeros)))
    roots_ = lax.sort_key_val(_uf.equal(roots_, 0), roots_)[1]
    m = util.shape_of(roots_)[0]
    keep = _uf.less(_cr.arange(m), _uf.subtract(m, num_leading_zeros))
    return _uf.where(keep, roots_, complex(np.nan, np.nan))


def roots(p, *, strip_zeros=True):
    """The roots of the polynomial with coefficients ``p`` (highest power first).

    The eigenvalues of the companion matrix, so always complex (CPU/GPU, as
    jnp.roots). ``strip_zeros=False`` works under jit: leading zeros then give
    NaN roots at the end instead of being stripped.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.sort_complex(mnp.roots(mnp.array([1.0, -3.0, 2.0])))
        Array([1.+0.j, 2.+0.j], dtype=complex64)
    """
    (p,) = util.promote_dtypes_inexact(*util.ensure_arraylike("roots", p))
    p = atleast_1d(p)
    if util.ndim_of(p) != 1:
        raise ValueError(f"Input must be a rank-1 array, got shape {util.shape_of(p)}.")
    n = util.shape_of(p)[0]
    if n < 2:
        return zeros((0,), _complex_dtype(util.dtype_of(p)))
    is_zero = _uf.equal(p, 0)
    num_leading_zeros = _uf.where(_red.all(is_zero), n, _red.argmin(is_zero))
    if strip_zeros:
        value = util.concrete(num_leading_zeros)
        if value is None:
            err = ConcretizationError(num_leading_zeros, "int() in mnp.roots")
            err.args = (
                f"{err.args[0]}\nmnp.roots strips the leading zeros, so the number of roots "
                "depends on the values. Under jit, pass strip_zeros=False: leading zeros then "
                "give NaN roots at the end.",
            )
            raise err
        return _roots_no_zeros(_getitem(p, slice(int(value), None)))
    return _roots_with_zeros(p, num_leading_zeros)


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """The least-squares polynomial fit of degree ``deg`` (coefficients highest first).

    ``y`` may be 2-D (one fit per column); ``w`` weights the points; ``full``
    also returns ``(resids, rank, s, rcond)``, ``cov`` the covariance matrix.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> x = mnp.array([0.0, 1.0, 2.0, 3.0])
        >>> mnp.round(mnp.polyfit(x, 2.0 * x * x + 1.0, 2), 3)
        Array([ 2., -0.,  1.], dtype=float32)
    """
    if w is None:
        x, y = util.ensure_arraylike("polyfit", x, y)
    else:
        x, y, w = util.ensure_arraylike("polyfit", x, y, w)
    try:
        deg = operator.index(util.concrete(deg))
    except TypeError:
        raise TypeError(f"polyfit: deg must be int, got {deg!r}") from None
    order = deg + 1
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if util.ndim_of(x) != 1:
        raise TypeError(f"expected 1D vector for x, got shape {util.shape_of(x)}")
    if util.shape_of(x)[0] == 0:
        raise TypeError("expected non-empty vector for x")
    if util.ndim_of(y) < 1 or util.ndim_of(y) > 2:
        raise TypeError(f"expected 1D or 2D array for y, got shape {util.shape_of(y)}")
    n_points = util.shape_of(x)[0]
    if n_points != util.shape_of(y)[0]:
        raise TypeError(
            f"expected x and y to have same length, got {util.shape_of(x)} and {util.shape_of(y)}"
        )
    if rcond is None:
        rcond = n_points * float(np.finfo(util.dtype_of(util.promote_dtypes_inexact(x)[0])).eps)
    rcond = float(util.concrete(rcond))
    lhs = _ext.vander(x, order)
    rhs = y
    if w is not None:
        (w,) = util.promote_dtypes_inexact(w)
        if util.ndim_of(w) != 1:
            raise TypeError(f"expected a 1-d array for weights, got shape {util.shape_of(w)}")
        if util.shape_of(w)[0] != util.shape_of(y)[0]:
            raise TypeError("expected w and y to have the same length")
        w_col = _getitem(w, (slice(None), None))
        lhs = _uf.multiply(lhs, w_col)
        rhs = _uf.multiply(rhs, w_col if util.ndim_of(rhs) == 2 else w)
    scale = _uf.sqrt(_red.sum(_uf.multiply(lhs, lhs), axis=0))
    lhs = _uf.divide(lhs, _getitem(scale, (None, slice(None))))
    c, resids, rank, s = _linalg_mod.lstsq(lhs, rhs, rcond)
    if util.ndim_of(c) > 1:
        c = _linalg_mod.matrix_transpose(
            _uf.divide(_linalg_mod.matrix_transpose(c), _getitem(scale, (None, slice(None))))
        )
    else:
        c = _uf.divide(c, scale)
    if full:
        return c, resids, rank, s, asarray(rcond)
    if cov:
        vbase = _linalg_mod.inv(dot(_linalg_mod.matrix_transpose(lhs), lhs))
        vbase = _uf.divide(vbase, _linalg_mod.outer(scale, scale))
        if cov == "unscaled":
            factor = asarray(1.0)
        else:
            if n_points <= order:
                raise ValueError(
                    "the number of data points must exceed order to scale the covariance matrix"
                )
            factor = _uf.divide(resids, n_points - order)
        if util.ndim_of(y) == 1:
            return c, _uf.multiply(vbase, _getitem(atleast_1d(factor), None))
        return c, _uf.multiply(
            _getitem(vbase, (slice(None), slice(None), None)),
            _getitem(atleast_1d(factor), (None, None, slice(None))),
        )
    return c
