"""eigh, svd, eig: the spectral primitives of lax.linalg.

Each primitive has JAX's name, params and output order (``eigh`` -> (v, w),
``svd`` -> (s, u, vt), ``eig`` -> (w, [vl], [vr])), works on any number of
leading batch dimensions, and lowers to the jax.lax.linalg function of the same
name. The JVP rules are JAX's nondegenerate perturbation theory, written with
our dot_general and elementwise primitives.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
from jax import lax as jlax
from jax.lax.linalg import EighImplementation, EigImplementation, SvdAlgorithm

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.lax.base import (
    broadcast_in_dim,
    broadcasted_iota,
    convert_element_type,
    expand_dims,
    reduce_sum,
    transpose,
)
from minigrad_jax._src.lax.elementwise import (
    abs,  # noqa: A004  (jax.lax's name)
    add,
    complex,  # noqa: A004  (jax.lax's name)
    complex_basetype,
    complex_dtype,
    conj,
    div,
    eq,
    imag,
    integer_pow,
    mul,
    neg,
    real,
    sub,
)
from minigrad_jax._src.lax.linalg import dot_general
from minigrad_jax._src.lax.reductions import argmax

__all__ = [
    "EigImplementation",
    "EighImplementation",
    "SvdAlgorithm",
    "eig",
    "eig_p",
    "eigh",
    "eigh_p",
    "svd",
    "svd_p",
]


# ---------------------------------------------------------------------------
# checks shared by the wrappers (raised as is) and the abstract evaluations


def _is_complex(dtype):
    return jax.numpy.issubdtype(dtype, np.complexfloating)


def _check_dtype(name, aval):
    if not core.is_float(aval.dtype):
        raise TypeError(
            f"{name} does not accept dtype {np.dtype(aval.dtype).name} at position 0. "
            "Accepted dtypes at position 0 are subtypes of floating, complexfloating."
        )


def _check_rank(name, aval):
    if aval.ndim < 2:
        raise TypeError(f"Input 0 to {name} must have rank at least 2, but got shape={aval.shape}")


def _check_eigh_shape(aval):
    _check_rank("eigh", aval)
    if aval.shape[-2] != aval.shape[-1]:
        raise ValueError(
            "Argument to symmetric eigendecomposition must have shape [..., n, n], "
            f"got shape {aval.shape}"
        )


def _check_eig_shape(aval):
    _check_rank("eig", aval)
    if aval.shape[-2] != aval.shape[-1]:
        raise ValueError(f"The input to eig must be a square matrix. Got shape {aval.shape}.")


def _canon_subset(name, subset_by_index, size):
    if subset_by_index is None:
        return None
    try:
        start, end = (int(i) for i in subset_by_index)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name}: subset_by_index must be None or a pair (start, end) of integers, "
            f"got {subset_by_index!r}"
        ) from None
    if not 0 <= start <= end <= size:
        raise ValueError(
            f"{name}: subset_by_index={subset_by_index!r} must satisfy 0 <= start <= end <= {size}"
        )
    return (start, end)


def _aval(x):
    return core.get_aval(x)


# ---------------------------------------------------------------------------
# matrix helpers for the rules (batch dimensions lead; the last two are the matrix)


def _T(x):
    nd = _aval(x).ndim
    return transpose(x, (*range(nd - 2), nd - 1, nd - 2))


def _H(x):
    t = _T(x)
    return conj(t) if _is_complex(_aval(x).dtype) else t


def _mm(a, b):
    """The batched matrix product at HIGHEST precision, as JAX's rules use."""
    nd = _aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot_general(
        a, b, (((nd - 1,), (nd - 2,)), (batch, batch)), precision=jlax.Precision.HIGHEST
    )


def _eye(dtype, n, nbatch):
    """The identity of size ``n`` with ``nbatch`` leading size-1 dimensions."""
    eye = convert_element_type(
        eq(broadcasted_iota(np.int32, (n, n), 0), broadcasted_iota(np.int32, (n, n), 1)), dtype
    )
    if nbatch:
        eye = broadcast_in_dim(eye, (1,) * nbatch + (n, n), (nbatch, nbatch + 1))
    return eye


def _row(w):
    """(..., n) -> (..., 1, n)."""
    shape = _aval(w).shape
    nb = len(shape) - 1
    return broadcast_in_dim(w, shape[:-1] + (1, shape[-1]), (*range(nb), nb + 1))


def _col(w):
    """(..., n) -> (..., n, 1)."""
    shape = _aval(w).shape
    return broadcast_in_dim(w, shape + (1,), tuple(range(len(shape))))


def _diag(m):
    """The diagonal of a batch of square matrices (a mask and a sum: linear in ``m``)."""
    aval = _aval(m)
    eye = _eye(aval.dtype, aval.shape[-1], aval.ndim - 2)
    return reduce_sum(mul(m, eye), (aval.ndim - 1,))


def _astype(x, dtype):
    return x if _aval(x).dtype == dtype else convert_element_type(x, dtype)


def _symmetrize(x):
    """``(x + x^H) / 2``, as JAX's ``symmetrize`` (integers become the default float)."""
    s = add(x, _H(x))
    if not core.is_float(_aval(s).dtype):
        s = convert_element_type(s, core.canonical_dtype(np.float64))
    return div(s, 2)


# ---------------------------------------------------------------------------
# eigh: symmetric / Hermitian eigendecomposition

eigh_p = Primitive("eigh", multiple_results=True)


def _eigh_abstract(x, *, lower, sort_eigenvalues, subset_by_index, algorithm):
    _check_dtype("eigh", x)
    _check_eigh_shape(x)
    n = x.shape[-1]
    d = n if subset_by_index is None else subset_by_index[1] - subset_by_index[0]
    batch = x.shape[:-2]
    return [
        ShapedArray(batch + (n, d), x.dtype, x.weak_type),
        ShapedArray(batch + (d,), complex_basetype(x.dtype), x.weak_type),
    ]


def _eigh_jvp(primals, tangents, *, lower, sort_eigenvalues, subset_by_index, algorithm):
    # Nondegenerate perturbation theory (JAX's rule): with A = V diag(w) V^H,
    # dw = diag(V^H dA V) and dV = V (F * (V^H dA V)), F_ij = 1 / (w_j - w_i) off
    # the diagonal and 0 on it.
    (a,), (a_dot,) = primals, tangents
    aval = _aval(a)
    n, nb = aval.shape[-1], aval.ndim - 2
    if subset_by_index not in (None, (0, n)):
        raise NotImplementedError("Derivatives not defined for partial eigen decomposition.")
    a_dot = ad.instantiate(a_dot)
    v, w_real = eigh_p.bind(
        _symmetrize(a),
        lower=lower,
        sort_eigenvalues=sort_eigenvalues,
        subset_by_index=subset_by_index,
        algorithm=algorithm,
    )
    w = _astype(w_real, aval.dtype)
    eye = _eye(aval.dtype, n, nb)
    fmat = sub(integer_pow(sub(add(eye, _row(w)), _col(w)), -1), eye)
    vdag_adot_v = _mm(_mm(_H(v), a_dot), v)
    dv = _mm(v, mul(fmat, vdag_adot_v))
    dw = _diag(real(vdag_adot_v) if _is_complex(aval.dtype) else vdag_adot_v)
    return [v, w_real], [dv, dw]


def _eigh_lower(x, *, lower, sort_eigenvalues, subset_by_index, algorithm):
    v, w = jax.lax.linalg.eigh(
        x,
        lower=lower,
        symmetrize_input=False,
        sort_eigenvalues=sort_eigenvalues,
        subset_by_index=subset_by_index,
        implementation=algorithm,
    )
    return [v, w]


core.abstract_eval_rules[eigh_p] = _eigh_abstract
ad.jvp_rules[eigh_p] = _eigh_jvp
batching.batch_rules[eigh_p] = batching.expand_dims_batcher(eigh_p)
lowering.register(eigh_p, _eigh_lower)


def eigh(
    x,
    *,
    lower=True,
    symmetrize_input=True,
    sort_eigenvalues=True,
    subset_by_index=None,
    implementation=None,
):
    """Eigendecomposition of a (batch of) real symmetric or complex Hermitian matrices.

    Returns ``(v, w)``: ``v[..., :, i]`` is the unit eigenvector of the eigenvalue
    ``w[..., i]`` (real, ascending). With ``symmetrize_input`` the matrix is first
    replaced by ``(x + x^H) / 2``; otherwise only the ``lower`` (or upper) triangle
    is read. ``subset_by_index=(start, end)`` selects eigenvalues by index (TPU only
    in JAX). As jax.lax.linalg.eigh.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> v, w = linalg.eigh(np.array([[2.0, 0.0], [0.0, 1.0]], np.float32))
      >>> w
      Array([1., 2.], dtype=float32)
      >>> v
      Array([[0., 1.],
             [1., 0.]], dtype=float32)
    """
    aval = _aval(x)
    _check_eigh_shape(aval)
    if not (core.is_float(aval.dtype) or jax.numpy.issubdtype(aval.dtype, np.integer)):
        _check_dtype("eigh", aval)
    if symmetrize_input:
        x = _symmetrize(x)
    _check_dtype("eigh", _aval(x))
    if implementation is not None and not isinstance(implementation, EighImplementation):
        raise TypeError(
            f"eigh: implementation must be None or an EighImplementation, got {implementation!r}"
        )
    v, w = eigh_p.bind(
        x,
        lower=bool(lower),
        sort_eigenvalues=bool(sort_eigenvalues),
        subset_by_index=_canon_subset("eigh", subset_by_index, aval.shape[-1]),
        algorithm=implementation,
    )
    return v, w


# ---------------------------------------------------------------------------
# svd: singular value decomposition

svd_p = Primitive("svd", multiple_results=True)


def _svd_abstract(x, *, full_matrices, compute_uv, subset_by_index, algorithm):
    _check_dtype("svd", x)
    _check_rank("svd", x)
    m, n = x.shape[-2:]
    rank = min(m, n)
    if subset_by_index is not None:
        if full_matrices and subset_by_index != (0, rank):
            raise ValueError("full_matrices and subset_by_index cannot both be set")
        rank = min(rank, subset_by_index[1] - subset_by_index[0])
    batch, weak = x.shape[:-2], x.weak_type
    s = ShapedArray(batch + (rank,), complex_basetype(x.dtype), weak)
    if not compute_uv:
        return [s]
    return [
        s,
        ShapedArray(batch + (m, m if full_matrices else rank), x.dtype, weak),
        ShapedArray(batch + (n if full_matrices else rank, n), x.dtype, weak),
    ]


def _svd_jvp(primals, tangents, *, full_matrices, compute_uv, subset_by_index, algorithm):
    # JAX's rule (Giles, "An extended collection of matrix derivative results"), on
    # the thin decomposition A = U diag(s) Vt, plus the projections onto the
    # complement of U's (or V's) range for a tall (wide) matrix.
    (a,), (da,) = primals, tangents
    aval = _aval(a)
    dtype, nb = aval.dtype, aval.ndim - 2
    m, n = aval.shape[-2:]
    da = ad.instantiate(da)
    s, u, vt = svd_p.bind(
        a,
        full_matrices=False,
        compute_uv=True,
        subset_by_index=subset_by_index,
        algorithm=algorithm,
    )
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            "Singular value decomposition JVP not implemented for full matrices"
        )
    ut, v = _H(u), _H(vt)
    s_dim = _row(s)
    ds_mat = _mm(_mm(ut, da), v)
    ds = _diag(real(ds_mat) if _is_complex(dtype) else ds_mat)
    if not compute_uv:
        return [s], [ds]

    k = _aval(s).shape[-1]
    s_col = _T(s_dim)
    s_diffs = mul(add(s_dim, s_col), sub(s_dim, s_col))
    eye = _eye(_aval(s).dtype, k, nb)
    f = sub(div(1.0, add(s_diffs, eye)), eye)
    s_dim_c = _astype(s_dim, dtype)
    dss = mul(s_dim_c, ds_mat)  # dS diag(s)
    sds = mul(_T(s_dim_c), ds_mat)  # diag(s) dS
    s_zeros = convert_element_type(eq(s, 0.0), _aval(s).dtype)
    s_inv = sub(div(1.0, add(s, s_zeros)), s_zeros)
    s_inv_mat = mul(eye, _row(s_inv))
    f_c = _astype(f, dtype)
    dudv_diag = mul(mul(0.5, sub(ds_mat, _H(ds_mat))), _astype(s_inv_mat, dtype))
    du = _mm(u, add(mul(f_c, add(dss, _H(dss))), dudv_diag))
    dv = _mm(v, mul(f_c, add(sds, _H(sds))))
    if m > n:
        dav = _mm(da, v)
        du = add(du, div(sub(dav, _mm(u, _mm(ut, dav))), s_dim_c))
    if n > m:
        dahu = _mm(_H(da), u)
        dv = add(dv, div(sub(dahu, _mm(v, _mm(vt, dahu))), s_dim_c))
    return [s, u, vt], [ds, du, _H(dv)]


def _svd_lower(x, *, full_matrices, compute_uv, subset_by_index, algorithm):
    out = jax.lax.linalg.svd(
        x,
        full_matrices=full_matrices,
        compute_uv=compute_uv,
        subset_by_index=subset_by_index,
        algorithm=algorithm,
    )
    if compute_uv:
        u, s, vt = out
        return [s, u, vt]
    return [out]


core.abstract_eval_rules[svd_p] = _svd_abstract
ad.jvp_rules[svd_p] = _svd_jvp
batching.batch_rules[svd_p] = batching.expand_dims_batcher(svd_p)
lowering.register(svd_p, _svd_lower)


def svd(x, *, full_matrices=True, compute_uv=True, subset_by_index=None, algorithm=None):
    """Singular value decomposition of a (batch of) matrices ``[..., m, n]``.

    Returns the singular values ``s`` (real, descending) if ``compute_uv`` is
    False, else ``(u, s, vh)`` with ``x = u @ diag(s) @ vh``; ``full_matrices``
    chooses square ``u`` and ``vh`` over the thin ones. ``algorithm`` is None or a
    :class:`SvdAlgorithm`. As jax.lax.linalg.svd.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> linalg.svd(np.array([[0.0, 2.0], [3.0, 0.0]], np.float32), compute_uv=False)
      Array([3., 2.], dtype=float32)
    """
    aval = _aval(x)
    _check_dtype("svd", aval)
    _check_rank("svd", aval)
    rank = min(aval.shape[-2:])
    subset = _canon_subset("svd", subset_by_index, rank)
    if subset is not None and full_matrices and subset != (0, rank):
        raise ValueError("full_matrices and subset_by_index cannot both be set")
    if algorithm is not None and not isinstance(algorithm, SvdAlgorithm):
        raise TypeError(f"svd: algorithm must be None or an SvdAlgorithm, got {algorithm!r}")
    result = svd_p.bind(
        x,
        full_matrices=bool(full_matrices),
        compute_uv=bool(compute_uv),
        subset_by_index=subset,
        algorithm=algorithm,
    )
    if compute_uv:
        s, u, vt = result
        return u, s, vt
    (s,) = result
    return s


# ---------------------------------------------------------------------------
# eig: general (nonsymmetric) eigendecomposition (CPU, and GPU through LAPACK/cuSOLVER)

eig_p = Primitive("eig", multiple_results=True)


def _eig_abstract(
    x, *, compute_left_eigenvectors, compute_right_eigenvectors, enable_eigvec_derivs,
    implementation,
):  # fmt: skip
    _check_dtype("eig", x)
    _check_eig_shape(x)
    dtype = complex_dtype(x.dtype)
    outs = [ShapedArray(x.shape[:-1], dtype, x.weak_type)]
    count = int(compute_left_eigenvectors) + int(compute_right_eigenvectors)
    return outs + [ShapedArray(x.shape, dtype, x.weak_type)] * count


_EIGVEC_DERIVS_MESSAGE = (
    "Derivatives of non-symmetric eigenvectors are only valid under assumptions on the "
    "input that JAX cannot check (see the enable_eigvec_derivs argument to "
    "jax.lax.linalg.eig). Pass enable_eigvec_derivs=True to jax.lax.linalg.eig to opt in. "
    "See https://github.com/jax-ml/jax/issues/2748 for discussion."
)


def _eig_vec_jvp(w, v, p):
    """JAX's eigenvector tangent from ``p = v^-1 dA v``: ``u = v (F * p)`` plus the
    multiple of each ``v_j`` that keeps LAPACK's normalisation (unit 2-norm, real
    largest-magnitude component)."""
    aval = _aval(v)
    nd, n = aval.ndim, aval.shape[-1]
    eye = _eye(aval.dtype, n, nd - 2)
    fmat = sub(integer_pow(sub(add(eye, _row(w)), _col(w)), -1), eye)
    u = _mm(v, mul(fmat, p))
    k = argmax(abs(v), nd - 2, np.int32)
    mask = convert_element_type(
        eq(broadcasted_iota(np.int32, aval.shape, nd - 2), expand_dims(k, (nd - 2,))), aval.dtype
    )
    col = (nd - 2,)
    c = complex(
        neg(reduce_sum(real(mul(conj(v), u)), col)),
        div(neg(reduce_sum(imag(mul(mask, u)), col)), reduce_sum(real(mul(mask, v)), col)),
    )
    return add(u, mul(v, expand_dims(c, col)))


def _eig_jvp(
    primals, tangents, *, compute_left_eigenvectors, compute_right_eigenvectors,
    enable_eigvec_derivs, implementation,
):  # fmt: skip
    # JAX's rule. Where JAX solves with the right eigenvectors (an LU-based
    # custom_linear_solve), this rule uses the left ones, computed by the same eig
    # call: for distinct eigenvalues inv(vr) = diag(1 / (vl_j^H vr_j)) vl^H.
    (a,), (da,) = primals, tangents
    if (compute_left_eigenvectors or compute_right_eigenvectors) and not enable_eigvec_derivs:
        raise NotImplementedError(_EIGVEC_DERIVS_MESSAGE)
    w, vl, vr = eig_p.bind(
        a,
        compute_left_eigenvectors=True,
        compute_right_eigenvectors=True,
        enable_eigvec_derivs=enable_eigvec_derivs,
        implementation=implementation,
    )
    nd = _aval(a).ndim
    da = _astype(ad.instantiate(da), _aval(vr).dtype)
    dinv = div(1.0, reduce_sum(mul(conj(vl), vr), (nd - 2,)))
    vr_inv = mul(_col(dinv), _H(vl))
    p = _mm(_mm(vr_inv, da), vr)
    dw = _diag(p)
    primal_out, tangent_out = [w], [dw]
    if compute_left_eigenvectors:
        vl_inv = mul(_col(conj(dinv)), _H(vr))
        pl = _mm(_mm(vl_inv, _H(da)), vl)
        primal_out.append(vl)
        tangent_out.append(_eig_vec_jvp(conj(w), vl, pl))
    if compute_right_eigenvectors:
        primal_out.append(vr)
        tangent_out.append(_eig_vec_jvp(w, vr, p))
    return primal_out, tangent_out


def _eig_lower(
    x, *, compute_left_eigenvectors, compute_right_eigenvectors, enable_eigvec_derivs,
    implementation,
):  # fmt: skip
    return list(
        jax.lax.linalg.eig(
            x,
            compute_left_eigenvectors=compute_left_eigenvectors,
            compute_right_eigenvectors=compute_right_eigenvectors,
            enable_eigvec_derivs=enable_eigvec_derivs,
            implementation=implementation,
        )
    )


core.abstract_eval_rules[eig_p] = _eig_abstract
ad.jvp_rules[eig_p] = _eig_jvp
batching.batch_rules[eig_p] = batching.expand_dims_batcher(eig_p)
lowering.register(eig_p, _eig_lower)


def eig(
    x,
    *,
    compute_left_eigenvectors=True,
    compute_right_eigenvectors=True,
    enable_eigvec_derivs=False,
    implementation=None,
    use_magma=None,
):
    """Eigendecomposition of a (batch of) general square matrices.

    Returns the list ``[w, vl, vr]`` (complex): eigenvalues, then the left and right
    eigenvectors where ``compute_left_eigenvectors`` / ``compute_right_eigenvectors``
    ask for them (LAPACK's normalisation: unit 2-norm, real largest component).
    Eigenvalues are always differentiable; eigenvectors only with
    ``enable_eigvec_derivs=True`` (valid for distinct eigenvalues). CPU and GPU
    only. ``use_magma`` is deprecated for ``implementation``, as in
    jax.lax.linalg.eig.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> (w,) = linalg.eig(np.array([[2.0, 1.0], [0.0, 3.0]], np.float32),
      ...                   compute_left_eigenvectors=False, compute_right_eigenvectors=False)
      >>> w
      Array([2.+0.j, 3.+0.j], dtype=complex64)
    """
    if use_magma is not None:
        warnings.warn(
            "use_magma is deprecated, please use implementation=EigImplementation.MAGMA instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        implementation = EigImplementation.MAGMA if use_magma else EigImplementation.LAPACK
    if implementation is not None and not isinstance(implementation, EigImplementation):
        raise TypeError(
            f"eig: implementation must be None or an EigImplementation, got {implementation!r}"
        )
    aval = _aval(x)
    _check_dtype("eig", aval)
    _check_eig_shape(aval)
    return eig_p.bind(
        x,
        compute_left_eigenvectors=bool(compute_left_eigenvectors),
        compute_right_eigenvectors=bool(compute_right_eigenvectors),
        enable_eigvec_derivs=bool(enable_eigvec_derivs),
        implementation=implementation,
    )
