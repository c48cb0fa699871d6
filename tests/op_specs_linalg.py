"""Op specs for the lax.linalg factorizations, appended to op_table's OPS.

``specs(op, samplers)`` returns (specs built with op_table's ``_op``, the primitive
names they must exercise); it may add named samplers to ``samplers``.

Well-conditioned inputs come from the program, not from a sampler: the vmap tests
insert the mapped axis anywhere (also between the two matrix axes), so a sampler
cannot know which slices are the matrices. Each program factors ``3 I + 0.25 x``
(built from iotas, so both sides trace the same equations) with ``x`` standard
normal: positive definite once symmetrized, and diagonally dominant for the
triangular and LU solves. QR is unique up to signs, and JAX and LAPACK agree, so
q and r are compared as they are. Complex programs return real and imaginary
parts (the table's cotangents are real).
"""

from __future__ import annotations

import numpy as np

f32, i32 = np.float32, np.int32
N = 3


def _eye(L, n, dtype=f32):
    shape = (n, n)
    return L.convert_element_type(
        L.eq(L.broadcasted_iota(i32, shape, 0), L.broadcasted_iota(i32, shape, 1)), dtype
    )


def _well(L, x):
    """3 I + 0.25 x for a square x."""
    return L.add(L.mul(x, 0.25), L.mul(_eye(L, x.shape[-1]), 3.0))


def _cwell(L, x, y):
    """The complex 3 I + 0.25 (x + i y)."""
    return L.complex(_well(L, x), L.mul(y, 0.25))


def _parts(L, z):
    return L.real(z), L.imag(z)


def _geqrf(L, x):
    if L.__name__.startswith("minigrad_jax"):
        from minigrad_jax._src.lax.factorizations import geqrf
    else:  # jax.lax.linalg does not export geqrf; the primitive's wrapper lives here
        from jax._src.lax.linalg import geqrf
    return geqrf(x)


def _tsolve(**kw):
    return lambda L, a, b: L.linalg.triangular_solve(_well(L, a), b, **kw)


def specs(op, samplers):
    tol = 1e-4
    out = [
        op("cholesky", lambda L, x: L.linalg.cholesky(_well(L, x)), [(N, N)], tol=tol),
        op(
            "cholesky_nosym",
            lambda L, x: L.linalg.cholesky(_well(L, x), symmetrize_input=False),
            [(N, N)],
            tol=tol,
        ),
        op(
            "cholesky_c64",
            lambda L, x, y: _parts(L, L.linalg.cholesky(_cwell(L, x, y))),
            [(N, N), (N, N)],
            tol=tol,
        ),
        op(
            "triangular_solve_left_lower",
            _tsolve(left_side=True, lower=True),
            [(N, N), (N, 2)],
            tol=tol,
        ),
        op(
            "triangular_solve_right_upper_t",
            _tsolve(left_side=False, lower=False, transpose_a=True),
            [(N, N), (2, N)],
            tol=tol,
        ),
        op(
            "triangular_solve_left_upper_t_unit",
            _tsolve(left_side=True, lower=False, transpose_a=True, unit_diagonal=True),
            [(N, N), (N, 2)],
            tol=tol,
        ),
        op(
            "triangular_solve_vector",
            _tsolve(left_side=True, lower=True, transpose_a=True),
            [(N, N), (N,)],
            tol=tol,
        ),
        op(
            "triangular_solve_c64_conj",
            lambda L, a, b: _parts(
                L,
                L.linalg.triangular_solve(
                    _cwell(L, a, a),
                    L.complex(b, b),
                    left_side=True,
                    lower=True,
                    transpose_a=True,
                    conjugate_a=True,
                ),
            ),
            [(N, N), (N, 2)],
            tol=tol,
        ),
        op("lu_square", lambda L, x: L.linalg.lu(_well(L, x)), [(N, N)], tol=tol),
        op("lu_wide", lambda L, x: L.linalg.lu(L.mul(x, 2.0)), [(2, 4)], tol=tol),
        op(
            "lu_pivots_to_permutation",
            lambda L, p: L.linalg.lu_pivots_to_permutation(p, 4),
            [(N,)],
            [i32],
            ["idx4"],
            grad=False,
        ),
        op("qr_square", lambda L, x: L.linalg.qr(_well(L, x)), [(N, N)], tol=tol),
        op("qr_tall_full", lambda L, x: L.linalg.qr(x), [(4, 2)], tol=tol),
        op("qr_wide", lambda L, x: L.linalg.qr(x), [(2, 4)], tol=tol),
        op("qr_pivoting", lambda L, x: L.linalg.qr(x, pivoting=True), [(N, N)], tol=tol),
        op("geqrf", lambda L, x: _geqrf(L, x), [(4, N)], tol=tol, grad=False),
        op(
            "householder_product",
            lambda L, x: L.linalg.householder_product(*_geqrf(L, x)),
            [(4, N)],
            tol=tol,
            grad=False,
        ),
        op(
            "tridiagonal_solve",
            lambda L, dl, d, du, b: L.linalg.tridiagonal_solve(dl, L.add(d, 4.0), du, b),
            [(4,), (4,), (4,), (4, 2)],
            tol=tol,
        ),
        op(
            "symmetric_product",
            lambda L, a, c: L.linalg.symmetric_product(
                a, c, alpha=2.0, beta=0.5, symmetrize_output=True
            ),
            [(N, 2), (N, N)],
            tol=tol,
            grad=False,  # no JVP in JAX
        ),
        op("hessenberg", lambda L, x: L.linalg.hessenberg(x), [(N, N)], tol=tol, grad=False),
        op(
            "tridiagonal",
            lambda L, x: L.linalg.tridiagonal(L.add(x, L.transpose(x, (1, 0)))),
            [(N, N)],
            tol=tol,
            grad=False,
        ),
    ]
    # cholesky_update is tested in test_lax_linalg.py: jax.vmap cannot batch JAX's.
    prims = frozenset(
        """
        cholesky triangular_solve lu lu_pivots_to_permutation qr geqrf householder_product
        tridiagonal_solve symmetric_product hessenberg tridiagonal
        """.split()
    )
    return out, prims
