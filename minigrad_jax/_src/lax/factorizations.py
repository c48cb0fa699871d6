"""The factorization primitives of lax.linalg (cholesky, triangular_solve, lu, qr, ...).

Each primitive has JAX's name, params and output structure, works on any number
of leading batch dimensions (batching moves the mapped axis to the front) and
lowers to the jax.lax.linalg function of the same name. The JVP rules are JAX's,
written with our triangular_solve, dot_general and structural primitives; where
JAX has no JVP (geqrf, householder_product, hessenberg, tridiagonal), differentiating
raises JAX's NotImplementedError.
"""

from __future__ import annotations

import jax
import numpy as np
from jax import lax as jlax
from jax.lax import linalg as jlinalg

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.lax import indexing, sorting
from minigrad_jax._src.lax.base import (
    broadcast,
    broadcast_in_dim,
    broadcasted_iota,
    convert_element_type,
    expand_dims,
    full_like,
    reshape,
    transpose,
)
from minigrad_jax._src.lax.elementwise import (
    add,
    conj,
    div,
    eq,
    ge,
    mul,
    neg,
    real,
    select_n,
    sub,
)
from minigrad_jax._src.lax.linalg import dot_general
from minigrad_jax._src.lax.structural import concatenate, pad, squeeze
from minigrad_jax._src.lax.structural import slice as _slice

__all__ = [
    "cholesky",
    "cholesky_p",
    "cholesky_update",
    "cholesky_update_p",
    "hessenberg",
    "hessenberg_p",
    "householder_product",
    "householder_product_p",
    "lu",
    "lu_p",
    "lu_pivots_to_permutation",
    "lu_pivots_to_permutation_p",
    "qr",
    "qr_p",
    "symmetric_product",
    "symmetric_product_p",
    "triangular_solve",
    "triangular_solve_p",
    "tridiagonal",
    "tridiagonal_p",
    "tridiagonal_solve",
    "tridiagonal_solve_p",
]

_HIGHEST = jlax.Precision.HIGHEST

# ---------------------------------------------------------------------------
# shared helpers: shape/dtype checks, batching, matrix utilities


def _is_complex(dtype):
    return np.issubdtype(dtype, np.complexfloating)


def _check_dtypes(name, avals, accepted):
    """JAX's dtype rule wording: accepted is "float" (floating or complex), "real"
    (floating) or a dtype."""
    for i, (a, acc) in enumerate(zip(avals, accepted)):
        if acc == "float":
            ok = np.issubdtype(a.dtype, np.floating) or _is_complex(a.dtype)
            want = "floating, complexfloating"
        elif acc == "real":
            ok = np.issubdtype(a.dtype, np.floating)
            want = "floating"
        else:
            ok = a.dtype == np.dtype(acc)
            want = np.dtype(acc).name
        if not ok:
            raise TypeError(
                f"{name} does not accept dtype {np.dtype(a.dtype).name} at position {i}. "
                f"Accepted dtypes at position {i} are subtypes of {want}."
            )
    float_dtypes = [a.dtype for a, acc in zip(avals, accepted) if acc in ("float", "real")]
    if len(set(float_dtypes)) > 1:
        raise TypeError(
            f"lax.{name} requires arguments to have the same dtypes, got "
            + ", ".join(np.dtype(d).name for d in float_dtypes)
            + "."
        )


def _split_batch(name, avals, ranks):
    """(batch shape, per-argument core shapes), with JAX's rank errors; every
    argument must have the same batch dimensions."""
    batches, cores = [], []
    for i, (a, rank) in enumerate(zip(avals, ranks)):
        if a.ndim < rank:
            raise TypeError(
                f"Input {i} to {name} must have rank at least {rank}, but got shape={a.shape}"
            )
        batches.append(a.shape[: a.ndim - rank])
        cores.append(a.shape[a.ndim - rank :])
    if any(len(b) != len(batches[0]) for b in batches):
        raise TypeError(
            f"All inputs to {name} must have the same number of batch dimensions, but got "
            f"{[len(b) for b in batches]} batch dimensions for the inputs "
            f"(shapes {[a.shape for a in avals]})."
        )
    if any(b != batches[0] for b in batches):
        raise ValueError(
            f"All inputs to {name} must have the same batch dimensions, got shapes "
            + ", ".join(str(a.shape) for a in avals)
            + "."
        )
    return tuple(batches[0]), cores


def _weak(avals):
    return all(a.weak_type for a in avals)


def _T(x):
    nd = core.get_aval(x).ndim
    return transpose(x, (*range(nd - 2), nd - 1, nd - 2))


def _H(x):
    # jnp's conj of a real array is the array itself (no equation), as in JAX.
    x = _T(x)
    return conj(x) if _is_complex(core.get_aval(x).dtype) else x


def _tri(shape, k):
    """The bool mask ``col <= row + k`` (JAX's lax._tri)."""
    rows = add(broadcasted_iota(np.int32, shape, 0), np.int32(k))
    return ge(rows, broadcasted_iota(np.int32, shape, 1))


def _eye(dtype, shape, offset=0):
    rows = add(broadcasted_iota(np.int32, shape, 0), np.int32(offset))
    return convert_element_type(eq(rows, broadcasted_iota(np.int32, shape, 1)), dtype)


def _tril(m, k=0):
    aval = core.get_aval(m)
    mask = broadcast(_tri(aval.shape[-2:], k), aval.shape[:-2])
    return select_n(mask, full_like(m, 0), m)


def _triu(m, k=0):
    aval = core.get_aval(m)
    mask = broadcast(_tri(aval.shape[-2:], k - 1), aval.shape[:-2])
    return select_n(mask, m, full_like(m, 0))


def _matmul(x, y, precision=None):
    """A (batched) matrix product of equal-rank operands: lax.dot / lax.batch_matmul."""
    nd = core.get_aval(x).ndim
    batch = tuple(range(nd - 2))
    return dot_general(x, y, (((nd - 1,), (nd - 2,)), (batch, batch)), precision)


def _broadcast_eye(dtype, n, like_ndim):
    return expand_dims(_eye(dtype, (n, n)), range(like_ndim - 2))


def _eye_like(x):
    """The identity broadcast to ``x``'s (batched square) shape."""
    aval = core.get_aval(x)
    n = aval.shape[-1]
    return broadcast_in_dim(_eye(aval.dtype, (n, n)), aval.shape, (aval.ndim - 2, aval.ndim - 1))


def _slice_last2(x, rows=None, cols=None):
    """``x[..., r0:r1, c0:c1]`` (None keeps the whole axis)."""
    shape = core.get_aval(x).shape
    r0, r1 = rows if rows is not None else (0, shape[-2])
    c0, c1 = cols if cols is not None else (0, shape[-1])
    if (r0, r1, c0, c1) == (0, shape[-2], 0, shape[-1]):
        return x
    nb = len(shape) - 2
    return _slice(x, (0,) * nb + (r0, c0), tuple(shape[:-2]) + (r1, c1))


def _take_along(x, idx, axis):
    """``x`` gathered along ``axis`` (-2 rows, -1 columns) at the batched indices ``idx``
    (shape batch + (k,)), as ``x[..., idx, :]`` / ``x[..., idx]`` per batch element."""
    aval = core.get_aval(x)
    nb = aval.ndim - 2
    ax = aval.ndim + axis
    other = aval.ndim - 2 if ax == aval.ndim - 1 else aval.ndim - 1
    batch = tuple(range(nb))
    dnums = indexing.GatherDimensionNumbers(
        offset_dims=(nb if axis == -1 else nb + 1,),
        collapsed_slice_dims=(ax,),
        start_index_map=(ax,),
        operand_batching_dims=batch,
        start_indices_batching_dims=batch,
    )
    sizes = [1] * aval.ndim
    sizes[other] = aval.shape[other]
    idx = expand_dims(idx, (core.get_aval(idx).ndim,))
    mode = indexing.GatherScatterMode.PROMISE_IN_BOUNDS
    return indexing.gather(x, idx, dnums, tuple(sizes), mode=mode)


def _zero_tangent(x):
    return Zero(ad.tangent_aval(core.get_aval(x)))


def _bools(**params):
    return {k: bool(v) for k, v in params.items()}


# ---------------------------------------------------------------------------
# cholesky

cholesky_p = Primitive("cholesky")


def _cholesky_abstract(x):
    _check_dtypes("cholesky", [x], ["float"])
    _, (shape,) = _split_batch("cholesky", [x], [2])
    if shape[0] != shape[1]:
        raise ValueError(
            f"The input to cholesky must be a square matrix. Got shape {x.shape} ({x.str_short()})."
        )
    return ShapedArray(x.shape, x.dtype, x.weak_type)


def _cholesky_jvp(primals, tangents):
    # Forward-mode rule of arxiv.org/abs/1602.07527, as JAX writes it:
    # L_dot = L phi(L^-1 sigma_dot L^-H), phi = lower triangle with halved diagonal.
    (x,), (sigma_dot,) = primals, tangents
    L = _tril(cholesky_p.bind(x))
    sigma_dot = ad.instantiate(sigma_dot)

    def phi(X):
        low = _tril(X)
        n = core.get_aval(X).shape[-1]
        dtype = core.get_aval(X).dtype
        halves = add(np.asarray(1, dtype), _eye(dtype, (n, n)))
        return div(low, expand_dims(halves, range(core.get_aval(low).ndim - 2)))

    tmp = triangular_solve(
        L, sigma_dot, left_side=False, transpose_a=True, conjugate_a=True, lower=True
    )
    inner = triangular_solve(L, tmp, left_side=True, transpose_a=False, lower=True)
    L_dot = _matmul(L, phi(inner), precision=_HIGHEST)
    return L, L_dot


core.abstract_eval_rules[cholesky_p] = _cholesky_abstract
ad.jvp_rules[cholesky_p] = _cholesky_jvp
batching.batch_rules[cholesky_p] = batching.expand_dims_batcher(cholesky_p)
# jax's wrapper also zeroes the upper triangle, which cholesky() masks anyway; a
# failed (not positive-definite) factorization comes back as NaNs, as in JAX.
lowering.register(cholesky_p, lambda x: jlinalg.cholesky(x, symmetrize_input=False))


def symmetrize(x):
    """``(x + x^H) / 2``, as JAX's lax.linalg symmetrizes (an integer sum becomes float)."""
    s = add(x, _H(x))
    dtype = core.get_aval(s).dtype
    if not core.is_float(dtype):
        s = convert_element_type(s, core.canonical_dtype(np.float64))
    return div(s, 2.0)


def _check_square(name, x):
    aval = core.get_aval(x)
    if aval.ndim < 2 or aval.shape[-1] != aval.shape[-2]:
        raise ValueError(
            f"The input to {name} must be a (batch of) square matrices [..., n, n]. "
            f"Got shape {aval.shape} ({aval.str_short()})."
        )


def cholesky(x, *, symmetrize_input=True):
    """Cholesky factor ``L`` (lower triangular) of a batch of positive-definite matrices.

    With ``symmetrize_input`` the input is first replaced by ``(x + x^H) / 2``;
    otherwise only its lower triangle is read. A matrix that is not positive
    definite gives a matrix of NaNs, as in JAX.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> linalg.cholesky(np.array([[4.0, 2.0], [2.0, 5.0]], np.float32))
      Array([[2., 0.],
             [1., 2.]], dtype=float32)
    """
    _check_square("cholesky", x)
    if symmetrize_input:
        x = symmetrize(x)
    return _tril(cholesky_p.bind(x))


# ---------------------------------------------------------------------------
# triangular_solve

triangular_solve_p = Primitive("triangular_solve")


def _triangular_solve_abstract(a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    _check_dtypes("triangular_solve", [a, b], ["float", "float"])
    _, (ash, bsh) = _split_batch("triangular_solve", [a, b], [2, 2])
    if ash[0] != ash[1]:
        raise ValueError(
            "The first input to triangular_solve must be a square matrix. Got shape "
            f"{a.shape} ({a.str_short()})."
        )
    common = bsh[-2] if left_side else bsh[-1]
    if ash[-1] != common:
        raise ValueError(
            f"Incompatible shapes for arguments to triangular_solve: {a.shape} and "
            f"{b.shape} (left_side={left_side})."
        )
    return ShapedArray(b.shape, b.dtype, _weak([a, b]))


def _triangular_solve_jvp_a(
    g_a, ans, a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal
):
    m, n = core.get_aval(b).shape[-2:]
    k = 1 if unit_diagonal else 0
    g_a = _tril(g_a, -k) if lower else _triu(g_a, k)
    g_a = neg(g_a)
    g_a = _T(g_a) if transpose_a else g_a
    g_a = conj(g_a) if conjugate_a else g_a

    def dot(x, y):
        return _matmul(x, y, precision=_HIGHEST)

    def a_inverse(rhs):
        return triangular_solve(
            a,
            rhs,
            left_side=left_side,
            lower=lower,
            transpose_a=transpose_a,
            conjugate_a=conjugate_a,
            unit_diagonal=unit_diagonal,
        )

    # As JAX: whichever order of the solve and the product is cheaper.
    if left_side:
        return a_inverse(dot(g_a, ans)) if m > n else dot(a_inverse(g_a), ans)
    return a_inverse(dot(ans, g_a)) if m < n else dot(ans, a_inverse(g_a))


def _triangular_solve_jvp_b(g_b, ans, a, b, **params):
    return triangular_solve(a, g_b, **params)


def _triangular_solve_transpose(
    ct, a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal
):
    # Linear in b only (like div, swapped): the cotangent is solved with op(a)^T.
    if is_undefined(a):
        raise NotImplementedError(
            "triangular_solve is not linear in its first argument (a); it can only be "
            "transposed with respect to b"
        )
    if type(ct) is Zero:
        return [None, Zero(b.aval)]
    ct_b = triangular_solve(
        a,
        ct,
        left_side=left_side,
        lower=lower,
        transpose_a=not transpose_a,
        conjugate_a=conjugate_a,
        unit_diagonal=unit_diagonal,
    )
    return [None, ct_b]


def _triangular_solve_batch(axis_size, args, dims, **params):
    (a, b), (da, db) = args, dims
    if da is None:
        # Only b mapped: fold the mapped axis into b's free axis (one solve).
        b_aval = core.get_aval(b)
        if params["left_side"]:
            b = batching.moveaxis(b, db, -1)
            shape = core.get_aval(b).shape
            flat = reshape(b, shape[:-2] + (shape[-2] * shape[-1],))
            out_dim = len(shape) - 1
        else:
            b = batching.moveaxis(b, db, -2)
            shape = core.get_aval(b).shape
            flat = reshape(b, shape[:-3] + (shape[-3] * shape[-2], shape[-1]))
            out_dim = len(shape) - 2
        del b_aval
        out = triangular_solve_p.bind(a, flat, **params)
        return reshape(out, shape), out_dim
    a = batching.bdim_at_front(a, da, axis_size)
    b = batching.bdim_at_front(b, db, axis_size)
    return triangular_solve_p.bind(a, b, **params), 0


core.abstract_eval_rules[triangular_solve_p] = _triangular_solve_abstract
ad.defjvp2(triangular_solve_p, _triangular_solve_jvp_a, _triangular_solve_jvp_b)
ad.transpose_rules[triangular_solve_p] = _triangular_solve_transpose
batching.batch_rules[triangular_solve_p] = _triangular_solve_batch
lowering.register(
    triangular_solve_p,
    lambda a, b, **params: jlinalg.triangular_solve(a, b, **params),
)


def triangular_solve(
    a,
    b,
    *,
    left_side=False,
    lower=False,
    transpose_a=False,
    conjugate_a=False,
    unit_diagonal=False,
):
    """Solve ``op(a) x = b`` (``left_side``) or ``x op(a) = b`` for triangular ``a``.

    ``op`` transposes ``a`` with ``transpose_a`` and conjugates it with
    ``conjugate_a``; only the ``lower`` (or upper) triangle of ``a`` is read. ``b``
    may be a batch of vectors (one rank less than ``a``).

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> a = np.array([[2.0, 0.0], [1.0, 4.0]], np.float32)
      >>> linalg.triangular_solve(a, np.array([[2.0], [9.0]], np.float32),
      ...                         left_side=True, lower=True)
      Array([[1.],
             [2.]], dtype=float32)
    """
    a_aval, b_aval = core.get_aval(a), core.get_aval(b)
    conjugate_a = bool(conjugate_a) and _is_complex(a_aval.dtype)
    singleton = b_aval.ndim == a_aval.ndim - 1
    if singleton:
        b = expand_dims(b, (-1 if left_side else -2,))
    out = triangular_solve_p.bind(
        a,
        b,
        **_bools(
            left_side=left_side,
            lower=lower,
            transpose_a=transpose_a,
            conjugate_a=conjugate_a,
            unit_diagonal=unit_diagonal,
        ),
    )
    if singleton:
        nd = core.get_aval(out).ndim
        out = squeeze(out, (nd - 1,) if left_side else (nd - 2,))
    return out


# ---------------------------------------------------------------------------
# lu and lu_pivots_to_permutation

lu_p = Primitive("lu", multiple_results=True)


def _lu_abstract(x):
    _check_dtypes("lu", [x], ["float"])
    batch, ((m, n),) = _split_batch("lu", [x], [2])
    i32 = np.dtype(np.int32)
    return [
        ShapedArray(x.shape, x.dtype, x.weak_type),
        ShapedArray(batch + (min(m, n),), i32, False),
        ShapedArray(batch + (m,), i32, False),
    ]


def _lu_jvp_inner(lu_, a_dot, permutation):
    # De Hoog, Anderssen and Lukas: with L U = P A,
    #   L' = L tril(L^-1 P A' U^-1, -1),  U' = triu(L^-1 P A' U^-1) U.
    m, n = core.get_aval(a_dot).shape
    dtype = core.get_aval(a_dot).dtype
    k = min(m, n)
    zero = np.zeros((), dtype)
    low = pad(_tril(_slice_last2(lu_, cols=(0, k)), -1), zero, [(0, 0, 0), (0, m - k, 0)])
    low = add(low, _eye(dtype, (m, m)))
    u_eye = pad(_eye(dtype, (n - k, n - k)), zero, [(k, 0, 0), (k, 0, 0)])
    up = add(pad(_triu(_slice_last2(lu_, rows=(0, k))), zero, [(0, n - k, 0), (0, 0, 0)]), u_eye)
    rows = indexing.gather(
        a_dot,
        reshape(permutation, (m, 1)),
        indexing.GatherDimensionNumbers(
            offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,)
        ),
        (1, n),
        mode=indexing.GatherScatterMode.PROMISE_IN_BOUNDS,
    )
    la = triangular_solve(
        low, rows, left_side=True, transpose_a=False, lower=True, unit_diagonal=True
    )
    lau = triangular_solve(up, la, left_side=False, transpose_a=False, lower=False)
    l_dot = _matmul(low, _tril(lau, -1), precision=_HIGHEST)
    u_dot = _matmul(_triu(lau), up, precision=_HIGHEST)
    return [add(l_dot, u_dot)]


def _vmap_leading(fun, n):
    """``fun`` (flat -> list) mapped over ``n`` leading axes of every argument, as
    JAX's nested ``api.vmap``."""
    if n == 0:
        return fun
    inner = _vmap_leading(fun, n - 1)

    def mapped(*args):
        size = core.get_aval(args[0]).shape[0]
        outs, dims = batching.vmap_flat(inner, list(args), [0] * len(args), size)
        return [batching.bdim_at_front(o, d, size) for o, d in zip(outs, dims)]

    return mapped


def _lu_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    lu_, pivots, permutation = lu_p.bind(a)
    nb = core.get_aval(a).ndim - 2
    (lu_dot,) = _vmap_leading(_lu_jvp_inner, nb)(lu_, ad.instantiate(a_dot), permutation)
    return [lu_, pivots, permutation], [lu_dot, _zero_tangent(pivots), _zero_tangent(permutation)]


core.abstract_eval_rules[lu_p] = _lu_abstract
ad.jvp_rules[lu_p] = _lu_jvp
batching.batch_rules[lu_p] = batching.expand_dims_batcher(lu_p)
lowering.register(lu_p, lambda x: list(jlinalg.lu(x)))


def lu(x):
    """LU decomposition with partial pivoting: ``P x = L U``.

    Returns ``(lu, pivots, permutation)``: ``L`` (unit diagonal, not stored) and
    ``U`` packed in ``lu``, the int32 row swaps ``pivots`` ([..., min(m, n)]) and
    the same swaps as a permutation ([..., m]).

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> lu, pivots, perm = linalg.lu(np.array([[1.0, 2.0], [4.0, 4.0]], np.float32))
      >>> lu
      Array([[4.  , 4.  ],
             [0.25, 1.  ]], dtype=float32)
      >>> pivots, perm
      (Array([1, 1], dtype=int32), Array([1, 0], dtype=int32))
    """
    return lu_p.bind(x)  # a list, as JAX's


lu_pivots_to_permutation_p = Primitive("lu_pivots_to_permutation")


def _lu_pivots_abstract(pivots, *, permutation_size):
    _check_dtypes("lu_pivots_to_permutation", [pivots], [np.int32])
    batch, ((k,),) = _split_batch("lu_pivots_to_permutation", [pivots], [1])
    if not permutation_size >= k:
        raise ValueError(
            f"Output permutation size {permutation_size} has to exceed the trailing "
            f"dimension of the pivots. Got pivots size {k} (pivots shape {pivots.shape})"
        )
    return ShapedArray(batch + (permutation_size,), np.dtype(np.int32), False)


core.abstract_eval_rules[lu_pivots_to_permutation_p] = _lu_pivots_abstract
ad.defnondiff(lu_pivots_to_permutation_p)
batching.batch_rules[lu_pivots_to_permutation_p] = batching.expand_dims_batcher(
    lu_pivots_to_permutation_p
)
lowering.register(
    lu_pivots_to_permutation_p,
    lambda p, *, permutation_size: jlinalg.lu_pivots_to_permutation(p, permutation_size),
)


def lu_pivots_to_permutation(pivots, permutation_size):
    """The permutation (int32, [..., permutation_size]) made by ``lu``'s row swaps.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> linalg.lu_pivots_to_permutation(np.array([2, 2, 2], np.int32), 4)
      Array([2, 0, 1, 3], dtype=int32)
    """
    return lu_pivots_to_permutation_p.bind(pivots, permutation_size=int(permutation_size))


# ---------------------------------------------------------------------------
# QR: geqrf (Householder form), householder_product (orgqr) and qr

geqrf_p = Primitive("geqrf", multiple_results=True)


def _geqrf_abstract(a):
    _check_dtypes("geqrf", [a], ["float"])
    batch, ((m, n),) = _split_batch("geqrf", [a], [2])
    return [ShapedArray(a.shape, a.dtype, a.weak_type), ShapedArray(batch + (min(m, n),), a.dtype)]


def _geqrf_lowering(a):
    # jnp.linalg.qr's "raw" mode is LAPACK's geqrf with the matrix transposed.
    h, taus = jax.numpy.linalg.qr(a, mode="raw")
    return [jax.numpy.swapaxes(h, -1, -2), taus]


core.abstract_eval_rules[geqrf_p] = _geqrf_abstract
ad.jvp_rules[geqrf_p] = ad.not_implemented_jvp("geqrf")
batching.batch_rules[geqrf_p] = batching.expand_dims_batcher(geqrf_p)
lowering.register(geqrf_p, _geqrf_lowering)


def geqrf(a):
    """LAPACK's geqrf: ``(a, taus)`` with R in the upper triangle of ``a`` and Q as
    Householder reflectors below it and in ``taus`` (no JVP, as in JAX)."""
    a_out, taus = geqrf_p.bind(a)
    return a_out, taus


householder_product_p = Primitive("householder_product")


def _householder_product_abstract(a, taus):
    _check_dtypes("householder_product", [a, taus], ["float", "float"])
    _, ((m, n), (k,)) = _split_batch("householder_product", [a, taus], [2, 1])
    if m < n:
        raise ValueError(
            "The first argument to householder_product must have at least as many rows "
            f"as columns, got shape {a.shape}"
        )
    if k > min(m, n):
        raise ValueError(
            "The second argument to householder_product must not have more rows than the "
            f"minimum of the first argument's rows and columns, got shapes {a.shape} and "
            f"{taus.shape}."
        )
    return ShapedArray(a.shape, a.dtype, _weak([a, taus]))


core.abstract_eval_rules[householder_product_p] = _householder_product_abstract
ad.jvp_rules[householder_product_p] = ad.not_implemented_jvp("householder_product")
batching.batch_rules[householder_product_p] = batching.expand_dims_batcher(householder_product_p)
lowering.register(householder_product_p, jlinalg.householder_product)


def householder_product(a, taus):
    """The orthogonal (unitary) product of the Householder reflectors in ``a``, ``taus``.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> a = np.array([[1.0, 0.0], [1.0, 0.0]], np.float32)
      >>> linalg.householder_product(a, np.array([1.0, 0.0], np.float32))
      Array([[ 0., -1.],
             [-1.,  0.]], dtype=float32)
    """
    return householder_product_p.bind(a, taus)


qr_p = Primitive("qr", multiple_results=True)


def _qr_abstract(x, *, pivoting, full_matrices, use_magma):
    _check_dtypes("qr", [x], ["float"])
    batch, ((m, n),) = _split_batch("qr", [x], [2])
    k = m if full_matrices else min(m, n)
    outs = [ShapedArray(batch + (m, k), x.dtype), ShapedArray(batch + (k, n), x.dtype)]
    if pivoting:
        outs.append(ShapedArray(batch + (n,), np.dtype(np.int32)))
    return outs


def _thin_qr_jvp(q, r, dx):
    # j-towns.github.io/papers/qr-derivative.pdf, as JAX writes it (m >= n).
    dx_rinv = triangular_solve(r, dx)  # x r^-1: a right-side, upper solve
    qt_dx_rinv = _matmul(_H(q), dx_rinv)
    lower = _tril(qt_dx_rinv, -1)
    do = sub(lower, _H(lower))  # skew-symmetric
    if _is_complex(core.get_aval(do).dtype):  # the diagonal's imaginary part
        dtype = core.get_aval(do).dtype
        imag_part = sub(qt_dx_rinv, convert_element_type(real(qt_dx_rinv), dtype))
        do = add(do, mul(_eye_like(do), imag_part))
    dq = add(_matmul(q, sub(do, qt_dx_rinv)), dx_rinv)
    dr = _matmul(sub(qt_dx_rinv, do), r)
    return dq, dr


def _lu_solve_conj_transposed(lu_, perm, b):
    """Solve ``A^H x = b`` from ``lu(A)`` (JAX's lu_solve with trans=2), batched."""
    conj_a = _is_complex(core.get_aval(lu_).dtype)
    x = triangular_solve(lu_, b, left_side=True, lower=False, transpose_a=True, conjugate_a=conj_a)
    x = triangular_solve(
        lu_,
        x,
        left_side=True,
        lower=True,
        unit_diagonal=True,
        transpose_a=True,
        conjugate_a=conj_a,
    )
    p_aval = core.get_aval(perm)
    iota = broadcasted_iota(np.int32, p_aval.shape, p_aval.ndim - 1)
    _, inv = sorting.sort_key_val(perm, iota, dimension=p_aval.ndim - 1)
    return _take_along(x, inv, -2)


def _qr_jvp(primals, tangents, *, pivoting, full_matrices, use_magma):
    (x,), (dx,) = primals, tangents
    dx = ad.instantiate(dx)
    q, r, *p = qr_p.bind(x, pivoting=pivoting, full_matrices=full_matrices, use_magma=use_magma)
    x_aval = core.get_aval(x)
    m, n = x_aval.shape[-2:]
    if pivoting:
        dx = _take_along(dx, p[0], -1)
        # JAX partitions the unpivoted x below; the identity R2 = Q^H X2 holds for
        # the pivoted columns, so we take those (the same where no columns move).
        x = _take_along(x, p[0], -1)
    extra = [_zero_tangent(p[0])] if pivoting else []

    if m < n:
        # Wide: X = [X1 X2] = Q [R1 R2]; X1 = Q R1 is square, R2 = Q^H X2.
        x2 = _slice_last2(x, cols=(m, n))
        dx1, dx2 = _slice_last2(dx, cols=(0, m)), _slice_last2(dx, cols=(m, n))
        r1 = _slice_last2(r, cols=(0, m))
        dq, dr1 = _thin_qr_jvp(q, r1, dx1)
        dr2 = add(_matmul(_H(dq), x2), _matmul(_H(q), dx2))
        dr = concatenate([dr1, dr2], x_aval.ndim - 1)
        return [q, r, *p], [dq, dr, *extra]

    q_mn = _slice_last2(q, cols=(0, n)) if full_matrices else q
    r_nn = _slice_last2(r, rows=(0, n)) if full_matrices else r
    dq_mn, dr_nn = _thin_qr_jvp(q_mn, r_nn, dx)
    if not full_matrices or m == n:
        return [q, r, *p], [dq_mn, dr_nn, *extra]

    # Full matrices of a tall x (arxiv.org/abs/2409.13374, eqs. 32-33).
    q_nn = _slice_last2(q_mn, rows=(0, n))
    q_pn = _slice_last2(q_mn, rows=(n, m))
    q_mp = _slice_last2(q, cols=(n, m))
    dq_nn = _slice_last2(dq_mn, rows=(0, n))
    dq_pn = _slice_last2(dq_mn, rows=(n, m))
    lu_, _, perm = lu_p.bind(sub(q_nn, _eye_like(q_nn)))
    z_pn_h = _lu_solve_conj_transposed(lu_, perm, _H(q_pn))
    z_pn = _H(z_pn_h)
    dq_mp = sub(
        _matmul(dq_mn, z_pn_h),
        _matmul(add(q_mn, _matmul(q_mp, z_pn)), _H(sub(dq_pn, _matmul(z_pn, dq_nn)))),
    )
    dq = concatenate([dq_mn, dq_mp], x_aval.ndim - 1)
    dr_aval = core.get_aval(dr_nn)
    zeros = full_like(dr_nn, 0, shape=dr_aval.shape[:-2] + (m - n, n))
    dr = concatenate([dr_nn, zeros], x_aval.ndim - 2)
    return [q, r, *p], [dq, dr, *extra]


core.abstract_eval_rules[qr_p] = _qr_abstract
ad.jvp_rules[qr_p] = _qr_jvp
batching.batch_rules[qr_p] = batching.expand_dims_batcher(qr_p)
lowering.register(
    qr_p,
    lambda x, *, pivoting, full_matrices, use_magma: list(
        jlinalg.qr(x, pivoting=pivoting, full_matrices=full_matrices, use_magma=use_magma)
    ),
)


def qr(x, *, pivoting=False, full_matrices=True, use_magma=None):
    """QR decomposition ``x = q r`` (``x[..., p] = q r`` with ``pivoting``).

    ``q`` is [..., m, m] and ``r`` [..., m, n] with ``full_matrices``, else
    [..., m, k] and [..., k, n] with k = min(m, n). Returns ``(q, r)`` or, with
    ``pivoting``, ``(q, r, p)``.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> q, r = linalg.qr(np.array([[3.0, 1.0], [4.0, 2.0]], np.float32))
      >>> np.round(np.asarray(r), 4)
      array([[-5. , -2.2],
             [ 0. ,  0.4]], dtype=float32)
    """
    outs = qr_p.bind(
        x,
        pivoting=bool(pivoting),
        full_matrices=bool(full_matrices),
        use_magma=None if use_magma is None else bool(use_magma),
    )
    return tuple(outs)


# ---------------------------------------------------------------------------
# tridiagonal_solve

tridiagonal_solve_p = Primitive("tridiagonal_solve")


def _tridiagonal_solve_abstract(dl, d, du, b, *, perturb_singular):
    _check_dtypes("tridiagonal_solve", [dl, d, du, b], ["float"] * 4)
    if b.ndim < 2:
        raise TypeError(f"Input 3 to tridiagonal_solve must have rank at least 2, got {b.shape}")
    if dl.shape != d.shape or dl.shape != du.shape:
        raise TypeError(
            "tridiagonal_solve requires that all diagonal arguments have the same shape, "
            f"got {dl.shape}, {d.shape} and {du.shape}."
        )
    if dl.shape != b.shape[:-1]:
        raise TypeError(
            "tridiagonal_solve requires that the leading ndim-1 dimensions of b equal the "
            f"dimensions of the diagonal arguments, got b {b.shape} and diagonals {dl.shape}."
        )
    return ShapedArray(b.shape, b.dtype, _weak([dl, d, du, b]))


def _tridiagonal_product(dl, d, du, b):
    """The tridiagonal matrix (dl, d, du) times ``b``."""
    b_aval = core.get_aval(b)
    nd, m = b_aval.ndim, b_aval.shape[-2]
    y = mul(expand_dims(d, (nd - 1,)), b)
    if m > 1:
        keep = [(0, 0, 0)] * (nd - 2)
        zero = np.zeros((), b_aval.dtype)
        dl1 = expand_dims(_slice_tail(dl, 1, m), (nd - 1,))
        du1 = expand_dims(_slice_tail(du, 0, m - 1), (nd - 1,))
        below = mul(dl1, _slice_rows(b, 0, m - 1))
        above = mul(du1, _slice_rows(b, 1, m))
        y = add(y, pad(below, zero, keep + [(1, 0, 0), (0, 0, 0)]))
        y = add(y, pad(above, zero, keep + [(0, 1, 0), (0, 0, 0)]))
    return y


def _slice_tail(v, start, stop):
    shape = core.get_aval(v).shape
    return _slice(v, (0,) * (len(shape) - 1) + (start,), tuple(shape[:-1]) + (stop,))


def _slice_rows(b, start, stop):
    return _slice_last2(b, rows=(start, stop))


def _tridiagonal_solve_jvp(primals, tangents, *, perturb_singular):
    *diags, _ = primals
    *diags_dot, b_dot = tangents
    ans = tridiagonal_solve_p.bind(*primals, perturb_singular=perturb_singular)
    if all(type(t) is Zero for t in diags_dot):
        rhs = b_dot
    else:
        matvec_dot = _tridiagonal_product(*map(ad.instantiate, diags_dot), ans)
        rhs = ad.add_tangents(b_dot, neg(matvec_dot))
    ans_dot = tridiagonal_solve_p.bind(
        *diags, ad.instantiate(rhs), perturb_singular=perturb_singular
    )
    return ans, ans_dot


def _tridiagonal_solve_transpose(ct, dl, d, du, b, *, perturb_singular):
    # Linear in b only: solve with the transposed tridiagonal matrix.
    if any(is_undefined(v) for v in (dl, d, du)):
        raise NotImplementedError(
            "tridiagonal_solve is not linear in its diagonals; it can only be transposed "
            "with respect to b"
        )
    if type(ct) is Zero:
        return [None, None, None, Zero(b.aval)]
    nd = core.get_aval(du).ndim
    m = core.get_aval(du).shape[-1]
    dl_trans = concatenate(
        [full_like(_slice_tail(du, m - 1, m), 0), _slice_tail(du, 0, m - 1)], nd - 1
    )
    du_trans = concatenate([_slice_tail(dl, 1, m), full_like(_slice_tail(dl, 0, 1), 0)], nd - 1)
    ct_b = tridiagonal_solve(dl_trans, d, du_trans, ct, perturb_singular=perturb_singular)
    return [None, None, None, ct_b]


def _tridiagonal_solve_batch(axis_size, args, dims, *, perturb_singular):
    dl, d, du, b = args
    ddl, dd, ddu, db = dims
    if ddl is None and dd is None and ddu is None:
        # Only b mapped: the mapped axis becomes more right-hand-side columns.
        b = batching.moveaxis(b, db, -2)
        shape = core.get_aval(b).shape
        flat = reshape(b, shape[:-3] + (shape[-3], shape[-2] * shape[-1]))
        out = tridiagonal_solve_p.bind(dl, d, du, flat, perturb_singular=perturb_singular)
        return reshape(out, shape), len(shape) - 2
    args = [batching.bdim_at_front(x, dim, axis_size) for x, dim in zip(args, dims)]
    return tridiagonal_solve_p.bind(*args, perturb_singular=perturb_singular), 0


core.abstract_eval_rules[tridiagonal_solve_p] = _tridiagonal_solve_abstract
ad.jvp_rules[tridiagonal_solve_p] = _tridiagonal_solve_jvp
ad.transpose_rules[tridiagonal_solve_p] = _tridiagonal_solve_transpose
batching.batch_rules[tridiagonal_solve_p] = _tridiagonal_solve_batch
lowering.register(
    tridiagonal_solve_p,
    lambda dl, d, du, b, *, perturb_singular: jlinalg.tridiagonal_solve(
        dl, d, du, b, perturb_singular=perturb_singular
    ),
)


def tridiagonal_solve(dl, d, du, b, *, perturb_singular=False):
    """Solve the tridiagonal system ``A x = b`` (``b`` is [..., m, k]).

    ``dl[i] = A[i, i-1]`` (``dl[0]`` unused), ``d[i] = A[i, i]``, ``du[i] = A[i, i+1]``
    (``du[m-1]`` unused).

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> dl = np.array([0.0, 1.0, 1.0], np.float32)
      >>> d = np.array([2.0, 2.0, 2.0], np.float32)
      >>> du = np.array([1.0, 1.0, 0.0], np.float32)
      >>> linalg.tridiagonal_solve(dl, d, du, np.array([[3.0], [4.0], [3.0]], np.float32))
      Array([[1.],
             [1.],
             [1.]], dtype=float32)
    """
    return tridiagonal_solve_p.bind(dl, d, du, b, perturb_singular=bool(perturb_singular))


# ---------------------------------------------------------------------------
# symmetric_product, cholesky_update, hessenberg, tridiagonal (no JVPs in JAX)

symmetric_product_p = Primitive("symmetric_product")


def _symmetric_product_abstract(a, c, *, alpha, beta):
    _check_dtypes("symmetric_product", [a, c], ["real", "real"])
    _, ((m, _), (c0, c1)) = _split_batch("symmetric_product", [a, c], [2, 2])
    if m != c1 or c0 != c1:
        raise ValueError(
            "symmetric_update expects a rectangular matrix of shape (m, n) and a square "
            f"matrix of shape (m, m). Got shapes {a.shape} and {c.shape}."
        )
    return ShapedArray(c.shape, c.dtype, _weak([a, c]))


core.abstract_eval_rules[symmetric_product_p] = _symmetric_product_abstract
ad.jvp_rules[symmetric_product_p] = ad.not_implemented_jvp("symmetric_product")
batching.batch_rules[symmetric_product_p] = batching.expand_dims_batcher(symmetric_product_p)
lowering.register(
    symmetric_product_p,
    lambda a, c, *, alpha, beta: jlinalg.symmetric_product(a, c, alpha=alpha, beta=beta),
)


def symmetric_product(a_matrix, c_matrix, *, alpha=1.0, beta=0.0, symmetrize_output=False):
    """``alpha a a^T + beta c`` for a batch of [..., m, n] ``a`` and symmetric [..., m, m] ``c``.

    Only the lower triangle is guaranteed on every platform; ``symmetrize_output``
    mirrors it into the upper one.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> a = np.array([[1.0], [2.0]], np.float32)
      >>> linalg.symmetric_product(a, np.eye(2, dtype=np.float32), beta=1.0,
      ...                          symmetrize_output=True)
      Array([[2., 2.],
             [2., 5.]], dtype=float32)
    """
    result = symmetric_product_p.bind(a_matrix, c_matrix, alpha=alpha, beta=beta)
    if symmetrize_output:
        upper_half = _T(_tril(result, -1))
        result = add(_tril(result, 0), upper_half)
    return result


cholesky_update_p = Primitive("cholesky_update")


def _cholesky_update_abstract(r, w):
    _check_dtypes("cholesky_update", [r, w], ["real", "real"])
    _, ((r0, r1), (n,)) = _split_batch("cholesky_update", [r, w], [2, 1])
    if r0 != r1 or n != r1:
        raise ValueError(
            "Rank-1 update to Cholesky decomposition takes a square matrix and a vector of "
            f"the same size as input. Got shapes {r.shape} and {w.shape} instead"
        )
    return ShapedArray(r.shape, r.dtype, _weak([r, w]))


def _cholesky_update_lowering(r, w):
    # jax's primitive takes exactly one matrix: a batch is a loop over its elements.
    if r.ndim == 2:
        return jlinalg.cholesky_update(r, w)
    n = r.shape[-1]
    rs, ws = jax.numpy.reshape(r, (-1, n, n)), jax.numpy.reshape(w, (-1, n))
    outs = [jlinalg.cholesky_update(rs[i], ws[i]) for i in range(rs.shape[0])]
    return jax.numpy.reshape(jax.numpy.stack(outs), r.shape)


core.abstract_eval_rules[cholesky_update_p] = _cholesky_update_abstract
ad.jvp_rules[cholesky_update_p] = ad.not_implemented_jvp("cholesky_update")
batching.batch_rules[cholesky_update_p] = batching.expand_dims_batcher(cholesky_update_p)
lowering.register(cholesky_update_p, _cholesky_update_lowering)


def cholesky_update(r_matrix, w_vector):
    """The upper-triangular Cholesky factor of ``r^T r + w w^T`` from that of ``r^T r``.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> linalg.cholesky_update(np.eye(2, dtype=np.float32), np.array([0.0, 1.0], np.float32))
      Array([[1.       , 0.       ],
             [0.       , 1.4142135]], dtype=float32)
    """
    return cholesky_update_p.bind(r_matrix, w_vector)


hessenberg_p = Primitive("hessenberg", multiple_results=True)


def _hessenberg_abstract(a):
    _check_dtypes("hessenberg", [a], ["float"])
    batch, ((n0, n1),) = _split_batch("hessenberg", [a], [2])
    if n0 != n1:
        raise ValueError(
            f"Argument to Hessenberg reduction must have shape [..., n, n], got shape {a.shape}"
        )
    return [ShapedArray(a.shape, a.dtype, a.weak_type), ShapedArray(batch + (n1 - 1,), a.dtype)]


core.abstract_eval_rules[hessenberg_p] = _hessenberg_abstract
ad.jvp_rules[hessenberg_p] = ad.not_implemented_jvp("hessenberg")
batching.batch_rules[hessenberg_p] = batching.expand_dims_batcher(hessenberg_p)
lowering.register(hessenberg_p, lambda a: list(jlinalg.hessenberg(a)))


def hessenberg(a):
    """Reduce a (batch of) square matrices to upper Hessenberg form (CPU only, as JAX).

    Returns ``(a, taus)``: the Hessenberg matrix in the upper triangle and first
    subdiagonal of ``a``, the Householder reflectors below it and in ``taus``.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> h, taus = linalg.hessenberg(np.eye(3, dtype=np.float32))
      >>> h.shape, taus.shape
      ((3, 3), (2,))
    """
    return hessenberg_p.bind(a)  # a list, as JAX's


tridiagonal_p = Primitive("tridiagonal", multiple_results=True)


def _tridiagonal_abstract(a, *, lower):
    _check_dtypes("tridiagonal", [a], ["float"])
    batch, ((n0, n1),) = _split_batch("tridiagonal", [a], [2])
    if n0 != n1 or n1 == 0:
        raise ValueError(f"The input to tridiagonal must be a square matrix. Got shape {a.shape}.")
    real = np.dtype(np.finfo(a.dtype).dtype)  # the complex base type
    return [
        ShapedArray(a.shape, a.dtype, a.weak_type),
        ShapedArray(batch + (n1,), real),
        ShapedArray(batch + (n1 - 1,), real),
        ShapedArray(batch + (n1 - 1,), a.dtype),
    ]


core.abstract_eval_rules[tridiagonal_p] = _tridiagonal_abstract
ad.jvp_rules[tridiagonal_p] = ad.not_implemented_jvp("tridiagonal")
batching.batch_rules[tridiagonal_p] = batching.expand_dims_batcher(tridiagonal_p)
lowering.register(tridiagonal_p, lambda a, *, lower: list(jlinalg.tridiagonal(a, lower=lower)))


def tridiagonal(a, *, lower=True):
    """Reduce a symmetric (Hermitian) matrix to tridiagonal form (CPU and GPU, as JAX).

    Returns ``(a, d, e, taus)``: the reduced matrix with the reflectors outside its
    band, its diagonal ``d``, off-diagonal ``e`` and the reflectors' scalars ``taus``.
    Only the ``lower`` (or upper) triangle of ``a`` is read.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.lax import linalg
      >>> _, d, e, _ = linalg.tridiagonal(np.array([[2.0, 1.0], [1.0, 3.0]], np.float32))
      >>> d, e
      (Array([2., 3.], dtype=float32), Array([1.], dtype=float32))
    """
    return tridiagonal_p.bind(a, lower=bool(lower))  # a list, as JAX's
