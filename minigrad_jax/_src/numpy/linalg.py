"""``mnp.linalg``: everything jax.numpy.linalg has, built on our lax primitives.

The decompositions come from ``_src/lax/factorizations.py`` (cholesky, lu,
triangular_solve, qr, geqrf) and ``_src/lax/spectral.py`` (eigh, svd, eig);
``solve`` goes through ``custom_linear_solve`` (``_src/lax/control_flow/solves.py``)
with an LU factorization, as JAX's does. The derivative rules are JAX's: ``det``
and ``slogdet`` and ``pinv`` are custom_jvp functions (with JAX's names, so the
jaxprs carry ``custom_jvp_call`` equations like JAX's), everything else is
differentiated through its primitives. See docs/linalg.md.
"""

from __future__ import annotations

import builtins
import itertools
import math
import operator
from typing import NamedTuple

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src.api import vmap
from minigrad_jax._src.custom_derivatives import custom_jvp
from minigrad_jax._src.lax import factorizations as _fac
from minigrad_jax._src.lax import spectral as _spectral
from minigrad_jax._src.lax.control_flow import solves as _solves
from minigrad_jax._src.numpy import _dtypes, _einsum
from minigrad_jax._src.numpy import _extras as ext
from minigrad_jax._src.numpy import _linalg as la
from minigrad_jax._src.numpy import _reductions as red
from minigrad_jax._src.numpy import _shape as shp
from minigrad_jax._src.numpy import _ufuncs as uf
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import array, asarray, eye, ones, zeros, zeros_like
from minigrad_jax._src.numpy._index_tricks import ix_
from minigrad_jax._src.numpy._indexing import _getitem, _IndexUpdateHelper, take_along_axis

__all__ = [
    "EigResult",
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "multi_dot",
    "norm",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "tensorinv",
    "tensorsolve",
    "trace",
    "vecdot",
    "vector_norm",
]


# ---------------------------------------------------------------------------
# result types (JAX's field names)


class EighResult(NamedTuple):
    """``(eigenvalues, eigenvectors)`` of :func:`eigh`."""

    eigenvalues: object
    eigenvectors: object


class EigResult(NamedTuple):
    """``(eigenvalues, eigenvectors)`` of :func:`eig`."""

    eigenvalues: object
    eigenvectors: object


class QRResult(NamedTuple):
    """``(Q, R)`` of :func:`qr`."""

    Q: object  # noqa: N815  (JAX's field name)
    R: object  # noqa: N815


class SlogdetResult(NamedTuple):
    """``(sign, logabsdet)`` of :func:`slogdet`."""

    sign: object
    logabsdet: object


class SVDResult(NamedTuple):
    """``(U, S, Vh)`` of :func:`svd`."""

    U: object  # noqa: N815
    S: object  # noqa: N815
    Vh: object  # noqa: N815


# ---------------------------------------------------------------------------
# small helpers (explicit calls, so eager jax.Arrays never meet jnp operators)

_HIGHEST = lax.Precision.HIGHEST


def _T(x):  # noqa: N802
    nd = util.ndim_of(x)
    return lax.transpose(x, (*range(nd - 2), nd - 1, nd - 2))


def _H(x):  # noqa: N802
    return uf.conj(_T(x))


def _symmetrize(x):
    return uf.divide(uf.add(x, _H(x)), 2)


def _mm(a, b, precision=None):
    return la.matmul(a, b, precision=precision)


def _is_complex(x):
    return _dtypes.issubdtype(util.dtype_of(x), np.complexfloating)


def _check_square(name, a, what="Argument to {name}()"):
    shape = util.shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"{what.format(name=name)} must have shape [..., n, n], got {shape} "
            f"(dtype {np.dtype(util.dtype_of(a)).name})"
        )


def _inexact(name, *args):
    return util.promote_dtypes_inexact(*util.ensure_arraylike(f"jnp.linalg.{name}", *args))


# ---------------------------------------------------------------------------
# cholesky, qr, eigh, eig, svd: the decompositions


def cholesky(a, *, upper=False, symmetrize_input=True):
    """The Cholesky factor of a (batch of) Hermitian positive-definite matrices.

    ``L`` lower triangular with ``a = L @ L^H`` (``upper=True``: ``U = L^H``).
    Non-positive-definite input gives NaNs, as in JAX.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.cholesky(mnp.array([[4.0, 2.0], [2.0, 5.0]]))
        Array([[2., 0.],
               [1., 2.]], dtype=float32)
    """
    (a,) = _inexact("cholesky", a)
    factor = _fac.cholesky(a, symmetrize_input=symmetrize_input)
    return _H(factor) if upper else factor


def qr(a, mode="reduced"):
    """The QR decomposition, like jnp.linalg.qr.

    ``mode``: ``'reduced'`` (thin Q, R), ``'complete'`` (square Q), ``'r'`` (R only)
    or ``'raw'`` (LAPACK's Householder form ``(h^T, taus)``).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> q, r = mnp.linalg.qr(mnp.array([[3.0, 1.0], [4.0, 2.0]]))
        >>> mnp.round(mnp.abs(r), 3)
        Array([[5. , 2.2],
               [0. , 0.4]], dtype=float32)
    """
    (a,) = _inexact("qr", a)
    if util.ndim_of(a) < 2:
        raise ValueError(
            f"qr: argument must have at least 2 dimensions, got shape {util.shape_of(a)}"
        )
    if mode == "raw":
        h, taus = _fac.geqrf(a)
        return QRResult(_T(h), taus)
    if mode in ("reduced", "r", "full"):
        full_matrices = False
    elif mode == "complete":
        full_matrices = True
    else:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    q, r = _fac.qr(a, pivoting=False, full_matrices=full_matrices)
    if mode == "r":
        return r
    return QRResult(q, r)


def eigh(a, UPLO=None, symmetrize_input=True):  # noqa: N803  (JAX's argument name)
    """Eigenvalues (ascending) and eigenvectors of a Hermitian matrix.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> w, v = mnp.linalg.eigh(mnp.array([[2.0, 0.0], [0.0, 1.0]]))
        >>> w
        Array([1., 2.], dtype=float32)
    """
    (a,) = util.ensure_arraylike("jnp.linalg.eigh", a)
    if UPLO is None or UPLO == "L":
        lower = True
    elif UPLO == "U":
        lower = False
    else:
        raise ValueError(f"UPLO must be one of None, 'L', or 'U', got {UPLO}")
    (a,) = util.promote_dtypes_inexact(a)
    v, w = _spectral.eigh(a, lower=lower, symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", *, symmetrize_input=True):  # noqa: N803
    """The eigenvalues (ascending) of a Hermitian matrix.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.eigvalsh(mnp.array([[2.0, 1.0], [1.0, 2.0]]))
        Array([1., 3.], dtype=float32)
    """
    (a,) = _inexact("eigvalsh", a)
    w, _ = eigh(a, UPLO, symmetrize_input=symmetrize_input)
    return w


def eig(a):
    """Eigenvalues and right eigenvectors of a general matrix (always complex; CPU/GPU).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> w, v = mnp.linalg.eig(mnp.array([[2.0, 0.0], [0.0, 3.0]]))
        >>> w
        Array([2.+0.j, 3.+0.j], dtype=complex64)
    """
    (a,) = _inexact("eig", a)
    w, v = _spectral.eig(a, compute_left_eigenvectors=False)
    return EigResult(w, v)


def eigvals(a):
    """The eigenvalues of a general matrix (always complex; CPU/GPU).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.eigvals(mnp.array([[2.0, 1.0], [0.0, 3.0]]))
        Array([2.+0.j, 3.+0.j], dtype=complex64)
    """
    (a,) = _inexact("eigvals", a)
    return _spectral.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]


def svd(a, full_matrices=True, compute_uv=True, hermitian=False, subset_by_index=None):
    """The singular value decomposition ``a = U @ diag(S) @ Vh`` (S descending).

    ``compute_uv=False`` returns ``S`` only; ``hermitian=True`` computes it from
    ``eigh`` (as JAX does).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.svd(mnp.array([[0.0, 2.0], [3.0, 0.0]]), compute_uv=False)
        Array([3., 2.], dtype=float32)
    """
    (a,) = _inexact("svd", a)
    if util.ndim_of(a) < 2:
        raise ValueError(
            f"svd: argument must have at least 2 dimensions, got shape {util.shape_of(a)}"
        )
    if hermitian:
        vecs, vals = _spectral.eigh(a, subset_by_index=subset_by_index)
        s = uf.abs(vals)
        last = util.ndim_of(s) - 1
        if not compute_uv:
            return lax.rev(lax.sort(s, dimension=-1), dimensions=[last])
        sign = lax.sign(vals)
        n = util.shape_of(s)[last]
        idx_dtype = np.uint64 if n > np.iinfo(np.uint32).max else np.uint32
        idxs = lax.broadcasted_iota(idx_dtype, util.shape_of(s), last)
        s, idxs, sign = lax.sort((s, idxs, sign), dimension=-1, num_keys=1)
        s = lax.rev(s, dimensions=[last])
        idxs = lax.rev(idxs, dimensions=[last])
        sign = lax.rev(sign, dimensions=[last])
        u = take_along_axis(vecs, _getitem(idxs, (Ellipsis, None, slice(None))), axis=-1)
        signs = shp.astype(_getitem(sign, (Ellipsis, None, slice(None))), util.dtype_of(u))
        return SVDResult(u, s, _H(uf.multiply(u, signs)))
    if compute_uv:
        u, s, vh = _spectral.svd(
            a, full_matrices=full_matrices, compute_uv=True, subset_by_index=subset_by_index
        )
        return SVDResult(u, s, vh)
    return _spectral.svd(
        a, full_matrices=full_matrices, compute_uv=False, subset_by_index=subset_by_index
    )


def svdvals(x, /):
    """The singular values of ``x`` (descending).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.svdvals(mnp.array([[0.0, 2.0], [3.0, 0.0]]))
        Array([3., 2.], dtype=float32)
    """
    (x,) = util.ensure_arraylike("jnp.linalg.svdvals", x)
    return svd(x, compute_uv=False, hermitian=False)


# ---------------------------------------------------------------------------
# solve and inv: an LU factorization under custom_linear_solve, as JAX


def _lu_solve_core(lu, permutation, b, trans):
    """Solve with one LU factorization ``lu`` (2-D) for ``b`` (m or m x k)."""
    m = util.shape_of(lu)[0]
    b_shape = util.shape_of(b)
    x = lax.reshape(b, (m, math.prod(b_shape[1:])))
    if trans == 0:
        x = _getitem(x, (permutation, slice(None)))
        x = _fac.triangular_solve(lu, x, left_side=True, lower=True, unit_diagonal=True)
        x = _fac.triangular_solve(lu, x, left_side=True, lower=False)
    else:
        conj = trans == 2
        x = _fac.triangular_solve(
            lu, x, left_side=True, lower=False, transpose_a=True, conjugate_a=conj
        )
        x = _fac.triangular_solve(
            lu,
            x,
            left_side=True,
            lower=True,
            unit_diagonal=True,
            transpose_a=True,
            conjugate_a=conj,
        )
        n = util.shape_of(permutation)[0]
        _, ind = lax.sort_key_val(permutation, lax.iota(np.int32, n))
        x = _getitem(x, (ind, slice(None)))
    return lax.reshape(x, b_shape)


def _matvec(a, x):
    nd = util.ndim_of(a)
    return lax.dot_general(a, x, (([nd - 1], [util.ndim_of(x) - 1]), ([], [])), precision=_HIGHEST)


def _solve_core(a, b):
    """``a`` (m, m) and ``b`` (m,) or (m, k): JAX's ``lax_linalg._solve`` for one matrix."""
    lu_, _, permutation = _fac.lu(lax.stop_gradient(a))

    def custom_solve(rhs):
        return _solves.custom_linear_solve(
            lambda x: _matvec(a, x),
            rhs,
            solve=lambda _, x: _lu_solve_core(lu_, permutation, x, 0),
            transpose_solve=lambda _, x: _lu_solve_core(lu_, permutation, x, 1),
        )

    if util.ndim_of(b) == 1:
        return custom_solve(b)
    return vmap(custom_solve, 1, 1)(b)


def solve(a, b):
    """The solution ``x`` of ``a @ x = b`` (``b`` of shape [..., m] or [..., m, k]).

    Differentiated through ``custom_linear_solve``, so the backward pass reuses
    the LU factorization (as in JAX).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.solve(mnp.array([[2.0, 0.0], [0.0, 4.0]]), mnp.array([2.0, 2.0]))
        Array([1. , 0.5], dtype=float32)
    """
    a, b = _inexact("solve", a, b)
    a_shape, b_shape = util.shape_of(a), util.shape_of(b)
    if len(a_shape) < 2:
        raise ValueError(f"left hand array must be at least two dimensional; got a.shape={a_shape}")
    if a_shape[-1] != a_shape[-2]:
        raise ValueError(f"solve: a must be a (batch of) square matrices, got a.shape={a_shape}")
    if (
        len(b_shape) > 1
        and len(a_shape) == len(b_shape) + 1
        and a_shape[-1] == b_shape[-1]
        and a_shape[-1] != b_shape[-2]
    ):
        raise ValueError(
            f"Invalid shapes for solve: {a_shape}, {b_shape}. Prior to JAX v0.5.0, this would "
            "have been treated as a batched 1-dimensional solve. To recover this behavior, use "
            "solve(a, b[..., None]).squeeze(-1)."
        )
    core_b = 1 if len(b_shape) == 1 else 2
    if len(b_shape) == 0 or b_shape[-core_b] != a_shape[-1]:
        raise ValueError(
            "The arguments to solve must have shapes a=[..., m, m] and b=[..., m, k] or "
            f"b=[..., m]; got a={a_shape} and b={b_shape}"
        )
    signature = "(m,m),(m)->(m)" if core_b == 1 else "(m,m),(m,n)->(m,n)"
    return ext.vectorize(_solve_core, signature=signature)(a, b)


def inv(a):
    """The inverse of a (batch of) square matrices, as ``solve(a, I)``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.inv(mnp.array([[2.0, 0.0], [0.0, 4.0]]))
        Array([[0.5 , 0.  ],
               [0.  , 0.25]], dtype=float32)
    """
    (arr,) = util.ensure_arraylike("jnp.linalg.inv", a)
    shape = util.shape_of(arr)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"Argument to inv must have shape [..., n, n], got {shape}.")
    identity = eye(shape[-1], dtype=util.dtype_of(arr))
    return solve(arr, lax.broadcast(identity, shape[:-2]))


# ---------------------------------------------------------------------------
# det and slogdet: JAX's custom JVPs


def _diag(a):
    return la.diagonal(a, 0, -2, -1)


def _el(a, i, j):
    return _getitem(a, (Ellipsis, i, j))


def _slogdet_from_det(det):
    return uf.sign(det), uf.real(uf.log(uf.abs(det)))


def _slogdet_small_impl(a):
    n = util.shape_of(a)[-1]
    if n == 1:
        return _slogdet_from_det(_el(a, 0, 0))
    return _slogdet_from_det(_det_2x2(a))


_slogdet_small_impl.__name__ = "_slogdet_small"  # the name JAX's custom_jvp_call carries
_slogdet_small = custom_jvp(_slogdet_small_impl)


def _complex_sign_dot(x, sign, ans_dot):
    """The (sign, logabsdet) tangents from ``ans_dot = d log det``, as in JAX."""
    if _is_complex(x):
        sign_dot = uf.multiply(
            uf.subtract(ans_dot, shp.astype(uf.real(ans_dot), util.dtype_of(ans_dot))), sign
        )
        return sign_dot, uf.real(ans_dot)
    return zeros_like(sign), ans_dot


@_slogdet_small.defjvp
def _slogdet_small_jvp(primals, tangents):
    (x,), (g,) = primals, tangents
    n = util.shape_of(x)[-1]
    sign, ans = _slogdet_small(x)
    if n == 1:
        ans_dot = uf.divide(_el(g, 0, 0), _el(x, 0, 0))
    else:
        x00, x01, x10, x11 = _el(x, 0, 0), _el(x, 0, 1), _el(x, 1, 0), _el(x, 1, 1)
        det = uf.subtract(uf.multiply(x00, x11), uf.multiply(x01, x10))
        num = uf.subtract(uf.multiply(_el(g, 0, 0), x11), uf.multiply(_el(g, 0, 1), x10))
        num = uf.subtract(num, uf.multiply(_el(g, 1, 0), x01))
        num = uf.add(num, uf.multiply(_el(g, 1, 1), x00))
        ans_dot = uf.divide(num, det)
    sign_dot, ans_dot = _complex_sign_dot(x, sign, ans_dot)
    return (sign, ans), (sign_dot, ans_dot)


def _pivot_parity(pivots, n):
    iota = lax.expand_dims(
        lax.iota(util.dtype_of(pivots), n), tuple(range(util.ndim_of(pivots) - 1))
    )
    return red.count_nonzero(uf.not_equal(pivots, iota), axis=-1)


def _slogdet_lu_impl(a):
    dtype = util.dtype_of(a)
    lu, pivot, _ = _fac.lu(a)
    diag = _diag(lu)
    is_zero = red.any(uf.equal(diag, array(0, dtype=dtype)), axis=-1)
    parity = _pivot_parity(pivot, util.shape_of(a)[-1])
    if _is_complex(a):
        sign = red.prod(uf.divide(diag, shp.astype(uf.abs(diag), dtype)), axis=-1)
    else:
        sign = array(1, dtype=dtype)
        parity = uf.add(parity, red.count_nonzero(uf.less(diag, 0), axis=-1))
    flip = uf.add(uf.multiply(-2, uf.remainder(parity, 2)), 1)
    sign = uf.where(is_zero, array(0, dtype=dtype), uf.multiply(sign, shp.astype(flip, dtype)))
    logs = red.sum(shp.astype(uf.log(uf.abs(diag)), dtype), axis=-1)
    logdet = uf.where(is_zero, array(-np.inf, dtype=dtype), logs)
    return sign, uf.real(logdet)


def _slogdet_qr_impl(a):
    if _is_complex(a):
        raise NotImplementedError("slogdet method='qr' not implemented for complex inputs")
    n = util.shape_of(a)[-1]
    h, taus = _fac.geqrf(a)
    h_diag = _diag(h)
    log_abs_det = red.sum(uf.log(uf.abs(h_diag)), axis=-1)
    sign_diag = red.prod(uf.sign(h_diag), axis=-1)
    reflect = uf.where(uf.not_equal(_getitem(taus, (Ellipsis, slice(None, n - 1))), 0), -1, 1)
    sign_taus = shp.astype(red.prod(reflect, axis=-1), util.dtype_of(sign_diag))
    return uf.multiply(sign_diag, sign_taus), log_abs_det


_slogdet_lu_impl.__name__ = "_slogdet_lu"
_slogdet_qr_impl.__name__ = "_slogdet_qr"
_slogdet_lu = custom_jvp(_slogdet_lu_impl)
_slogdet_qr = custom_jvp(_slogdet_qr_impl)


def _slogdet_jvp(primals, tangents):
    (x,), (g,) = primals, tangents
    sign, ans = slogdet(x)
    ans_dot = la.trace(solve(x, g), 0, -1, -2)
    sign_dot, ans_dot = _complex_sign_dot(x, sign, ans_dot)
    return (sign, ans), (sign_dot, ans_dot)


_slogdet_lu.defjvp(_slogdet_jvp)
_slogdet_qr.defjvp(_slogdet_jvp)


def slogdet(a, *, method=None):
    """The sign and natural log of ``|det(a)|`` (method ``'lu'``, the default, or ``'qr'``).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> sign, logabsdet = mnp.linalg.slogdet(mnp.array([[1.0, 2.0], [3.0, 4.0]]))
        >>> sign, mnp.exp(logabsdet)
        (Array(-1., dtype=float32), Array(2., dtype=float32))
    """
    (a,) = _inexact("slogdet", a)
    _check_square("slogdet", a)
    if method is None or method == "lu":
        if util.shape_of(a)[-1] in (1, 2):
            return SlogdetResult(*_slogdet_small(a))
        return SlogdetResult(*_slogdet_lu(a))
    if method == "qr":
        return SlogdetResult(*_slogdet_qr(a))
    raise ValueError(
        f"Unknown slogdet method '{method}'. Supported methods are 'lu' (`None`), and 'qr'."
    )


def _cofactor_solve(a, b):
    """``(det(a), adjugate(a) @ b)``, well defined for rank-deficient ``a`` (JAX's rule).

    With ``a = P L U``, ``det(a) solve(a, b) = prod(diag U) U^-1 L^-1 P^-1 b``; the
    last diagonal entry of U is replaced by ``1 / (partial determinant)`` so the
    triangular solve is finite at rank n-1, and the result is zeroed where the
    rank is below n-1 (where the adjugate is 0).
    """
    (a,) = util.promote_dtypes_inexact(a)
    (b,) = util.promote_dtypes_inexact(b)
    a_shape, b_shape = util.shape_of(a), util.shape_of(b)
    if not (len(a_shape) >= 2 and a_shape[-1] == a_shape[-2] and b_shape[-2:] == a_shape[-2:]):
        raise ValueError(
            "The arguments to _cofactor_solve must have shapes a=[..., m, m] and "
            f"b=[..., m, m]; got a={a_shape} and b={b_shape}"
        )
    n = a_shape[-1]
    if n == 1:
        return _el(a, 0, 0), b
    lu, pivots, permutation = _fac.lu(a)
    dtype = util.dtype_of(a)
    batch_dims = util.broadcast_shapes(util.shape_of(lu)[:-2], b_shape[:-2])
    x = shp.broadcast_to(b, batch_dims + b_shape[-2:])
    lu = shp.broadcast_to(lu, batch_dims + (n, n))
    diag = _diag(lu)
    parity = _pivot_parity(pivots, n)
    sign = asarray(uf.add(uf.multiply(-2, uf.remainder(parity, 2)), 1), dtype=dtype)
    partial_det = uf.multiply(red.cumprod(diag, axis=-1), _getitem(sign, (Ellipsis, None)))
    corner = uf.divide(1.0, _getitem(partial_det, (Ellipsis, -2)))
    lu = _IndexUpdateHelper(lu)[Ellipsis, -1, -1].set(corner)
    permutation = shp.broadcast_to(permutation, (*batch_dims, n))
    iotas = ix_(*(lax.iota(np.int32, d) for d in (*batch_dims, 1)))
    d = ones(util.shape_of(x)[:-1], util.dtype_of(x))
    d = _fac.triangular_solve(lu, d, left_side=True, lower=False)
    d = red.any(uf.logical_or(uf.isnan(d), uf.isinf(d)), axis=-1)
    d = shp.tile(
        _getitem(d, (Ellipsis, None, None)), util.ndim_of(d) * (1,) + util.shape_of(x)[-2:]
    )
    x = uf.where(d, zeros_like(x), x)
    x = _getitem(x, (*iotas[:-1], permutation, slice(None)))
    x = _fac.triangular_solve(lu, x, left_side=True, lower=True, unit_diagonal=True)
    last_det = _getitem(partial_det, (Ellipsis, -1, None, None))
    head = uf.multiply(_getitem(x, (Ellipsis, slice(None, -1), slice(None))), last_det)
    x = shp.concatenate((head, _getitem(x, (Ellipsis, slice(-1, None), slice(None)))), axis=-2)
    x = _fac.triangular_solve(lu, x, left_side=True, lower=False)
    x = uf.where(d, zeros_like(x), x)
    return _getitem(partial_det, (Ellipsis, -1)), x


def _det_2x2(a):
    return uf.subtract(
        uf.multiply(_el(a, 0, 0), _el(a, 1, 1)), uf.multiply(_el(a, 0, 1), _el(a, 1, 0))
    )


def _det_3x3(a):
    def term(*ij):
        out = _el(a, *ij[0])
        for i, j in ij[1:]:
            out = uf.multiply(out, _el(a, i, j))
        return out

    plus = uf.add(
        uf.add(term((0, 0), (1, 1), (2, 2)), term((0, 1), (1, 2), (2, 0))),
        term((0, 2), (1, 0), (2, 1)),
    )
    plus = uf.subtract(plus, term((0, 2), (1, 1), (2, 0)))
    plus = uf.subtract(plus, term((0, 0), (1, 2), (2, 1)))
    return uf.subtract(plus, term((0, 1), (1, 0), (2, 2)))


def _det_impl(a):
    sign, logdet = slogdet(a)
    return uf.multiply(sign, shp.astype(uf.exp(logdet), util.dtype_of(sign)))


_det_impl.__name__ = "_det"
_det = custom_jvp(_det_impl)


@_det.defjvp
def _det_jvp(primals, tangents):
    (x,), (g,) = primals, tangents
    y, z = _cofactor_solve(x, g)
    return y, la.trace(z, 0, -1, -2)


def det(a):
    """The determinant of a (batch of) square matrices.

    2x2 and 3x3 use the explicit formula; larger sizes an LU factorization with
    JAX's custom JVP (the adjugate, well defined for singular matrices).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.det(mnp.array([[1.0, 2.0], [3.0, 4.0]]))
        Array(-2., dtype=float32)
    """
    (a,) = _inexact("det", a)
    shape = util.shape_of(a)
    if len(shape) >= 2 and shape[-1] == shape[-2] == 2:
        return _det_2x2(a)
    if len(shape) >= 2 and shape[-1] == shape[-2] == 3:
        return _det_3x3(a)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        return _det(a)
    raise ValueError(f"Argument to _det() must have shape [..., n, n], got {shape}")


# ---------------------------------------------------------------------------
# pinv (custom_jvp), lstsq, matrix_rank, matrix_power


def _pinv_impl(a, rtol=None, hermitian=False):
    (arr,) = _inexact("pinv", a)
    shape = util.shape_of(arr)
    if len(shape) < 2:
        raise ValueError(f"pinv: argument must have at least 2 dimensions, got shape {shape}")
    m, n = shape[-2:]
    if m == 0 or n == 0:
        return zeros(shape[:-2] + (n, m), util.dtype_of(arr))
    arr = uf.conj(arr)
    if rtol is None:
        rtol = 10.0 * builtins.max(m, n) * np.array(np.finfo(util.dtype_of(arr)).eps)
    rtol = asarray(rtol)
    u, s, vh = svd(arr, full_matrices=False, hermitian=hermitian)
    rtol = lax.expand_dims(
        _getitem(rtol, (Ellipsis, None)),
        tuple(range(util.ndim_of(s) - util.ndim_of(rtol) - 1)),
    )
    cutoff = uf.multiply(rtol, _getitem(s, (Ellipsis, slice(0, 1))))
    s = shp.astype(uf.where(uf.greater(s, cutoff), s, np.inf), util.dtype_of(u))
    res = la.matmul(_T(vh), uf.divide(_T(u), _getitem(s, (Ellipsis, None))), precision=_HIGHEST)
    return lax.convert_element_type(res, util.dtype_of(arr))


_pinv_impl.__name__ = "_pinv"
_pinv = custom_jvp(_pinv_impl, nondiff_argnums=(1, 2))


@_pinv.defjvp
def _pinv_jvp(rtol, hermitian, primals, tangents):
    (a,), (a_dot,) = primals, tangents
    p = pinv(a, rtol=rtol, hermitian=hermitian)
    if hermitian:
        a, a_dot = _symmetrize(a), _symmetrize(a_dot)
    m, n = util.shape_of(a)[-2:]
    if m >= n:
        s = _mm(_mm(p, _H(p)), _H(a_dot))
        t = _mm(_mm(_H(a_dot), _H(p)), p)
        p_dot = uf.negative(_mm(_mm(p, a_dot), p))
        p_dot = uf.subtract(uf.add(p_dot, s), _mm(_mm(s, a), p))
        p_dot = uf.subtract(uf.add(p_dot, t), _mm(_mm(p, a), t))
    else:
        s = _mm(p, _mm(_H(p), _H(a_dot)))
        t = _mm(_H(a_dot), _mm(_H(p), p))
        p_dot = _mm(uf.negative(p), _mm(a_dot, p))
        p_dot = uf.subtract(uf.add(p_dot, s), _mm(s, _mm(a, p)))
        p_dot = uf.subtract(uf.add(p_dot, t), _mm(p, _mm(a, t)))
    return p, p_dot


def pinv(a, rtol=None, hermitian=False, *, rcond=None):
    """The Moore-Penrose pseudo-inverse (singular values below ``rtol * s_max`` dropped).

    Its derivative is JAX's custom JVP (Golub & Pereyra's formula).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.pinv(mnp.array([[2.0, 0.0], [0.0, 0.0]]))
        Array([[0.5, 0. ],
               [0. , 0. ]], dtype=float32)
    """
    if rcond is not None:
        if rtol is not None:
            raise ValueError("pinv: only one of rtol and rcond may be specified.")
        rtol = rcond
    (arr,) = util.ensure_arraylike("jnp.linalg.pinv", a)
    if util.ndim_of(arr) < 2:
        raise ValueError(
            f"pinv: argument must have at least 2 dimensions, got shape {util.shape_of(arr)}"
        )
    return _pinv(arr, rtol, hermitian)


def lstsq(a, b, rcond=None, *, numpy_resid=False):
    """The least-squares solution of ``a @ x = b``: ``(x, resid, rank, s)``.

    ``a`` is 2-D, ``b`` 1-D or 2-D; ``numpy_resid=True`` returns an empty residual
    where numpy does (needs a concrete rank).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> a = mnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> x, resid, rank, s = mnp.linalg.lstsq(a, mnp.array([1.0, 1.0, 2.0]))
        >>> mnp.round(x, 4), int(rank)
        (Array([1., 1.], dtype=float32), 2)
    """
    a, b = _inexact("lstsq", a, b)
    a_shape, b_shape = util.shape_of(a), util.shape_of(b)
    if a_shape[:1] != b_shape[:1]:
        raise ValueError(
            f"Leading dimensions of input arrays must match, got a.shape={a_shape} and "
            f"b.shape={b_shape}"
        )
    b_orig_ndim = len(b_shape)
    if b_orig_ndim == 1:
        b = _getitem(b, (slice(None), None))
    if len(a_shape) != 2:
        raise TypeError(f"{len(a_shape)}-dimensional array given. Array must be two-dimensional")
    if util.ndim_of(b) != 2:
        raise TypeError(
            f"{util.ndim_of(b)}-dimensional array given. Array must be one or two-dimensional"
        )
    m, n = a_shape
    dtype = util.dtype_of(a)
    if m * n == 0:
        s = zeros((0,), dtype=dtype)
        rank = array(0, dtype=int)
        x = zeros((n, *util.shape_of(b)[1:]), dtype=dtype)
    else:
        eps = np.finfo(dtype).eps
        if rcond is None:
            rcond = float(eps) * builtins.max(n, m)
        else:
            rcond = uf.where(uf.less(rcond, 0), eps, rcond)
        u, s, vt = svd(a, full_matrices=False)
        s0 = _getitem(s, 0)
        mask = uf.logical_and(
            uf.greater(s, 0),
            uf.greater_equal(s, uf.multiply(array(rcond, dtype=util.dtype_of(s)), s0)),
        )
        rank = red.sum(mask)
        safe_s = shp.astype(uf.where(mask, s, 1), dtype)
        s_inv = _getitem(uf.where(mask, uf.divide(1, safe_s), 0), (slice(None), None))
        u_tb = la.matmul(_H(u), b, precision=_HIGHEST)
        x = la.matmul(_H(vt), uf.multiply(s_inv, u_tb), precision=_HIGHEST)
    if numpy_resid and (int(rank) < n or m <= n):
        resid = asarray([])
    else:
        b_estimate = la.matmul(a, x, precision=_HIGHEST)
        resid = uf.power(norm(uf.subtract(b, b_estimate), axis=0), 2)
    if b_orig_ndim == 1:
        x = shp.ravel(x)
    return x, resid, rank, s


def matrix_rank(M, rtol=None, *, hermitian=False, tol=None):  # noqa: N803  (JAX's name)
    """The number of singular values above ``rtol`` (default ``s_max * max(m, n) * eps``).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.matrix_rank(mnp.array([[1.0, 2.0], [2.0, 4.0]]))
        Array(1, dtype=int32)
    """
    (M,) = util.ensure_arraylike("jnp.linalg.matrix_rank", M)
    if tol is not None:
        if rtol is not None:
            raise ValueError("matrix_rank: only one of tol or rtol may be specified.")
        rtol = tol
    (M,) = util.promote_dtypes_inexact(M)
    if util.ndim_of(M) < 2:
        return shp.astype(red.any(uf.not_equal(M, 0)), np.int32)
    S = svd(M, full_matrices=False, compute_uv=False, hermitian=hermitian)  # noqa: N806
    if rtol is None:
        s_dtype = util.dtype_of(S)
        scale = np.asarray(builtins.max(util.shape_of(M)[-2:]), s_dtype) * np.finfo(s_dtype).eps
        rtol = uf.multiply(red.max(S, axis=-1), scale.astype(s_dtype))
    rtol = shp.expand_dims(rtol, util.ndim_of(rtol) if util.is_arraylike(rtol) else 0)
    return red.sum(uf.greater(S, rtol), axis=-1)


def matrix_power(a, n):
    """``a`` raised to the integer power ``n`` (by repeated squaring; ``n < 0`` inverts).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.matrix_power(mnp.array([[1.0, 1.0], [0.0, 1.0]]), 3)
        Array([[1., 3.],
               [0., 1.]], dtype=float32)
    """
    (arr,) = util.ensure_arraylike("jnp.linalg.matrix_power", a)
    shape = util.shape_of(arr)
    if len(shape) < 2:
        raise TypeError(
            f"{len(shape)}-dimensional array given. Array must be at least two-dimensional"
        )
    if shape[-2] != shape[-1]:
        raise TypeError(f"Last 2 dimensions of the array must be square, got shape {shape}")
    try:
        n = operator.index(n)
    except TypeError as err:
        raise TypeError(f"exponent must be an integer, got {n}") from err
    if n == 0:
        return shp.broadcast_to(eye(shape[-2], dtype=util.dtype_of(arr)), shape)
    if n < 0:
        arr = inv(arr)
        n = abs(n)
    if n == 1:
        return arr
    if n == 2:
        return _mm(arr, arr)
    if n == 3:
        return _mm(_mm(arr, arr), arr)
    z = result = None
    while n > 0:
        z = arr if z is None else _mm(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else _mm(result, z)
    return result


# ---------------------------------------------------------------------------
# norms and cond


def _sum_sq(x, axis, keepdims):
    return uf.sqrt(red.sum(uf.real(uf.multiply(x, uf.conj(x))), axis=axis, keepdims=keepdims))


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):  # noqa: A002
    """The ``ord``-norm of ``x`` over ``axis`` (all elements by default), like JAX's.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.vector_norm(mnp.array([3.0, -4.0]), ord=mnp.inf)
        Array(4., dtype=float32)
    """
    (x,) = util.ensure_arraylike("jnp.linalg.vector_norm", x)
    if ord is None or (not isinstance(ord, str) and ord == 2):
        return _sum_sq(x, axis, keepdims)
    if isinstance(ord, str):
        msg = f"Invalid order '{ord}' for vector norm."
        if ord == "inf":
            msg += "Use 'jax.numpy.inf' instead."
        if ord == "-inf":
            msg += "Use '-jax.numpy.inf' instead."
        raise ValueError(msg)
    if ord == np.inf:
        return red.max(uf.abs(x), axis=axis, keepdims=keepdims, initial=0)
    if ord == -np.inf:
        return red.min(uf.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return red.sum(
            uf.not_equal(x, 0), dtype=np.finfo(util.dtype_of(x)).dtype, axis=axis, keepdims=keepdims
        )
    if ord == 1:
        return red.sum(uf.abs(x), axis=axis, keepdims=keepdims)
    abs_x = uf.abs(x)
    out = red.sum(uf.power(abs_x, util.const(abs_x, ord)), axis=axis, keepdims=keepdims)
    return uf.power(out, util.const(abs_x, 1.0 / ord))


def _is(ord, *values):  # noqa: A002
    """``ord in values`` without comparing strings with numbers."""
    return any(
        type(ord) is type(v) and ord == v
        if isinstance(v, str)
        else (not isinstance(ord, str) and ord == v)
        for v in values
    )


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """Vector or matrix norm, like jnp.linalg.norm.

    Matrix ``ord``: None/'fro', 'nuc', 1, -1, 2, -2, inf, -inf (2, -2 and 'nuc'
    from the singular values).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.norm(mnp.array([3.0, 4.0]))
        Array(5., dtype=float32)
        >>> mnp.linalg.norm(mnp.array([3.0, 4.0]), ord=1)
        Array(7., dtype=float32)
        >>> mnp.linalg.norm(mnp.eye(2))
        Array(1.4142135, dtype=float32)
        >>> mnp.linalg.norm(mnp.array([[0.0, 2.0], [3.0, 0.0]]), ord=2)
        Array(3., dtype=float32)
    """
    (x,) = util.ensure_arraylike("jnp.linalg.norm", x)
    (x,) = util.promote_dtypes_inexact(x)
    nd = util.ndim_of(x)
    if axis is None:
        if ord is None:
            return _sum_sq(x, None, keepdims)
        axis = tuple(range(nd))
    elif isinstance(axis, tuple):
        axis = tuple(util.canonicalize_axis(a, nd) for a in axis)
    else:
        axis = (util.canonicalize_axis(axis, nd),)
    if len(axis) == 1:
        return vector_norm(x, ord=2 if ord is None else ord, axis=axis, keepdims=keepdims)
    if len(axis) != 2:
        raise ValueError(
            f"Improper number of axes for norm: axis={axis!r}. Pass one axis to compute a "
            "vector-norm, or two axes to compute a matrix-norm."
        )
    row_axis, col_axis = axis
    if ord is None or _is(ord, "f", "fro"):
        return _sum_sq(x, axis, keepdims)
    if _is(ord, 1, -1):
        if not keepdims and col_axis > row_axis:
            col_axis -= 1
        inner = red.sum(uf.abs(x), axis=row_axis, keepdims=keepdims)
        if ord == 1:
            return red.max(inner, axis=col_axis, keepdims=keepdims, initial=0)
        return red.min(inner, axis=col_axis, keepdims=keepdims)
    if _is(ord, np.inf, -np.inf):
        if not keepdims and row_axis > col_axis:
            row_axis -= 1
        inner = red.sum(uf.abs(x), axis=col_axis, keepdims=keepdims)
        if ord == np.inf:
            return red.max(inner, axis=row_axis, keepdims=keepdims, initial=0)
        return red.min(inner, axis=row_axis, keepdims=keepdims)
    if _is(ord, "nuc", 2, -2):
        s = svd(shp.moveaxis(x, axis, (-2, -1)), compute_uv=False)
        if _is(ord, 2):
            y = red.max(s, axis=-1, initial=0)
        elif _is(ord, -2):
            y = red.min(s, axis=-1)
        else:
            y = red.sum(s, axis=-1)
        return shp.expand_dims(y, axis) if keepdims else y
    raise ValueError(f"Invalid order '{ord}' for matrix norm.")


def matrix_norm(x, /, *, keepdims=False, ord="fro"):  # noqa: A002
    """A matrix norm over the last two axes (every ``ord`` :func:`norm` takes).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.matrix_norm(mnp.array([[1.0, -2.0], [3.0, 4.0]]), ord=1)
        Array(6., dtype=float32)
    """
    (x,) = util.ensure_arraylike("jnp.linalg.matrix_norm", x)
    return norm(x, ord=ord, keepdims=keepdims, axis=(-2, -1))


def cond(x, p=None):
    """The condition number of ``x`` in the ``p`` norm (default 2: ``s_max / s_min``).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.cond(mnp.array([[2.0, 0.0], [0.0, 0.5]]))
        Array(4., dtype=float32)
    """
    (arr,) = util.ensure_arraylike("cond", x)
    shape = util.shape_of(arr)
    if len(shape) < 2:
        raise ValueError(f"jnp.linalg.cond: input array must be at least 2D; got arr.shape={shape}")
    if shape[-1] == 0 or shape[-2] == 0:
        raise ValueError(f"jnp.linalg.cond: input array must not be empty; got arr.shape={shape}")
    if p is None or _is(p, 2):
        s = svdvals(arr)
        return uf.divide(_getitem(s, (Ellipsis, 0)), _getitem(s, (Ellipsis, -1)))
    if _is(p, -2):
        s = svdvals(arr)
        r = uf.divide(_getitem(s, (Ellipsis, -1)), _getitem(s, (Ellipsis, 0)))
    else:
        if shape[-2] != shape[-1]:
            raise ValueError(
                f"jnp.linalg.cond: for p={p!r}, array must be square; got arr.shape={shape}"
            )
        r = uf.multiply(norm(arr, ord=p, axis=(-2, -1)), norm(inv(arr), ord=p, axis=(-2, -1)))
    x_nan = red.any(uf.isnan(arr), axis=(-2, -1))
    return uf.where(uf.logical_and(uf.isnan(r), uf.logical_not(x_nan)), np.inf, r)


# ---------------------------------------------------------------------------
# tensorinv, tensorsolve, multi_dot


def tensorinv(a, ind=2):
    """The inverse of ``a`` seen as a matrix over its first ``ind`` axes and the rest.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.tensorinv(mnp.eye(4).reshape(4, 2, 2), ind=1).shape
        (2, 2, 4)
    """
    (arr,) = util.ensure_arraylike("tensorinv", a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError(f"ind must be a positive integer; got ind={ind!r}")
    shape = util.shape_of(arr)
    contracting_shape, batch_shape = shape[:ind], shape[ind:]
    flatshape = (math.prod(contracting_shape), math.prod(batch_shape))
    if flatshape[0] != flatshape[1]:
        raise ValueError(
            "tensorinv is only possible when the product of the first `ind` dimensions equals "
            f"that of the remaining dimensions. got arr.shape={shape!r} with ind={ind!r}."
        )
    return shp.reshape(inv(shp.reshape(arr, flatshape)), (*batch_shape, *contracting_shape))


def tensorsolve(a, b, axes=None):
    """The ``x`` with ``tensordot(a, x, x.ndim) == b`` (``axes`` of ``a`` moved last first).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.tensorsolve(2.0 * mnp.eye(4).reshape(2, 2, 4), mnp.ones((2, 2)))
        Array([0.5, 0.5, 0.5, 0.5], dtype=float32)
    """
    a, b = util.ensure_arraylike("tensorsolve", a, b)
    if axes is not None:
        nd = util.ndim_of(a)
        a = shp.moveaxis(a, axes, len(axes) * (nd - 1,))
    a_shape, b_shape = util.shape_of(a), util.shape_of(b)
    out_shape = a_shape[len(b_shape) :]
    if a_shape[: len(b_shape)] != b_shape:
        raise ValueError(
            "After moving axes to end, leading shape of a must match shape of b. got "
            f"a.shape={a_shape}, b.shape={b_shape}"
        )
    b_size = math.prod(b_shape)
    if b_size != math.prod(out_shape):
        raise ValueError(
            "Input arrays must have prod(a.shape[:b.ndim]) == prod(a.shape[b.ndim:]); got "
            f"a.shape={a_shape}, b.ndim={len(b_shape)}."
        )
    a = shp.reshape(a, (b_size, math.prod(out_shape)))
    return shp.reshape(solve(a, shp.ravel(b)), out_shape)


def multi_dot(arrays, *, precision=None):
    """The product of a chain of matrices, in the cheapest order (one einsum, as JAX).

    The first and last arrays may be 1-D (a row and a column vector).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.multi_dot([mnp.ones(2), mnp.ones((2, 3)), mnp.ones((3, 2))])
        Array([6., 6.], dtype=float32)
    """
    arrs = list(util.ensure_arraylike("jnp.linalg.multi_dot", *arrays))
    if len(arrs) < 2:
        raise ValueError(f"multi_dot requires at least two arrays; got len(arrays)={len(arrs)}")
    nds = [util.ndim_of(a) for a in arrs]
    shapes = [util.shape_of(a) for a in arrs]
    if not (nds[0] in (1, 2) and nds[-1] in (1, 2) and all(d == 2 for d in nds[1:-1])):
        raise ValueError(
            "multi_dot: input arrays must all be two-dimensional, except for the first and "
            f"last array which may be 1 or 2 dimensional. Got array shapes {shapes}"
        )
    if any(s1[-1] != s2[0] for s1, s2 in zip(shapes[:-1], shapes[1:])):
        raise ValueError(
            "multi_dot: last dimension of each array must match first dimension of following "
            f"array. Got array shapes {shapes}"
        )
    einsum_axes = [(i, i + 1) for i in range(len(arrs))]
    if nds[0] == 1:
        einsum_axes[0] = einsum_axes[0][1:]
    if nds[-1] == 1:
        einsum_axes[-1] = einsum_axes[-1][:1]
    operands = itertools.chain(*zip(arrs, [list(ax) for ax in einsum_axes]))
    return _einsum.einsum(*operands, optimize="auto", precision=precision)


# ---------------------------------------------------------------------------
# the array-API aliases: cross, outer, matmul, tensordot, vecdot, trace, ...


def cross(x1, x2, /, *, axis=-1):
    """The cross product of (arrays of) 3-vectors along ``axis``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.cross(mnp.array([1.0, 0.0, 0.0]), mnp.array([0.0, 1.0, 0.0]))
        Array([0., 0., 1.], dtype=float32)
    """
    x1, x2 = util.ensure_arraylike("jnp.linalg.cross", x1, x2)
    s1, s2 = util.shape_of(x1), util.shape_of(x2)
    n1 = s1[util.canonicalize_axis(axis, len(s1))]
    n2 = s2[util.canonicalize_axis(axis, len(s2))]
    if n1 != 3 or n2 != 3:
        raise ValueError(
            "Both input arrays must be (arrays of) 3-dimensional vectors, but they have "
            f"x1.shape[axis]={n1} and x2.shape[axis]={n2}"
        )
    return ext.cross(x1, x2, axis=axis)


def outer(x1, x2, /):
    """The outer product of two 1-D arrays.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.outer(mnp.array([1.0, 2.0]), mnp.array([1.0, 10.0]))
        Array([[ 1., 10.],
               [ 2., 20.]], dtype=float32)
    """
    x1, x2 = util.ensure_arraylike("jnp.linalg.outer", x1, x2)
    if util.ndim_of(x1) != 1 or util.ndim_of(x2) != 1:
        raise ValueError(
            "Input arrays must be one-dimensional, but they are "
            f"x1.ndim={util.ndim_of(x1)} x2.ndim={util.ndim_of(x2)}"
        )
    return uf.multiply(_getitem(x1, (slice(None), None)), _getitem(x2, (None, slice(None))))


def matrix_transpose(x, /):
    """``x`` with its last two axes swapped.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.matrix_transpose(mnp.ones((2, 3, 4))).shape
        (2, 4, 3)
    """
    (x,) = util.ensure_arraylike("jnp.linalg.matrix_transpose", x)
    nd = util.ndim_of(x)
    if nd < 2:
        raise ValueError(f"matrix_transpose requires at least 2 dimensions; got ndim={nd}")
    return _T(x)


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """The (conjugated) dot product of vectors along ``axis``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.vecdot(mnp.array([1.0, 2.0]), mnp.array([3.0, 4.0]))
        Array(11., dtype=float32)
    """
    x1, x2 = util.ensure_arraylike("jnp.linalg.vecdot", x1, x2)
    return ext.vecdot(
        x1, x2, axis=axis, precision=precision, preferred_element_type=preferred_element_type
    )


def matmul(x1, x2, /, *, precision=None, preferred_element_type=None):
    """The matrix product with batch broadcasting (``x1 @ x2``).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.matmul(mnp.ones((2, 3)), mnp.ones((3, 2)))
        Array([[3., 3.],
               [3., 3.]], dtype=float32)
    """
    x1, x2 = util.ensure_arraylike("jnp.linalg.matmul", x1, x2)
    return la.matmul(x1, x2, precision=precision, preferred_element_type=preferred_element_type)


def tensordot(x1, x2, /, *, axes=2, precision=None, preferred_element_type=None, out_sharding=None):
    """The tensor contraction of ``x1`` and ``x2`` over ``axes``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.tensordot(mnp.ones((2, 3)), mnp.ones((3, 4)), axes=1).shape
        (2, 4)
    """
    util.check_no_unsupported("tensordot", out_sharding=out_sharding)
    x1, x2 = util.ensure_arraylike("jnp.linalg.tensordot", x1, x2)
    return la.tensordot(
        x1, x2, axes=axes, precision=precision, preferred_element_type=preferred_element_type
    )


def diagonal(x, /, *, offset=0):
    """The ``offset`` diagonal of the last two axes.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.diagonal(mnp.arange(4.0).reshape(2, 2))
        Array([0., 3.], dtype=float32)
    """
    (x,) = util.ensure_arraylike("jnp.linalg.diagonal", x)
    return la.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def trace(x, /, *, offset=0, dtype=None):
    """The sum of the ``offset`` diagonal of the last two axes.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linalg.trace(mnp.arange(4.0).reshape(2, 2))
        Array(3., dtype=float32)
    """
    (x,) = util.ensure_arraylike("jnp.linalg.trace", x)
    return la.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)
