"""Op specs for lax.linalg's spectral decompositions (eigh, svd, eig), appended to
op_table's OPS.

``specs(op, samplers)`` returns (specs built with op_table's ``_op``, the primitive
names they must exercise); it may add named samplers to ``samplers``.

Well-separated spectra come from the program, not the sampler: the vmap tests
insert the mapped axis anywhere (also between the two matrix axes), so a sampler
cannot know which slices are the matrices. Each program decomposes
``D + 0.25 x`` with the constant ``D = diag(1, 2.75, 4.5)`` (built from iotas, so
both sides trace the same equations) and ``x`` standard normal: the eigenvalues
(singular values) stay about 1.75 apart. Eigenvectors are defined up to a sign
(phase), so the programs return gauge-free quantities: vectors with the sign of
their diagonal entry fixed (near +-1 here), or their magnitudes. Outputs are real
(the table's cotangents are real).
"""

from __future__ import annotations

import numpy as np

f32, i32 = np.float32, np.int32


def _eye(L, shape):
    return L.convert_element_type(
        L.eq(L.broadcasted_iota(i32, shape, 0), L.broadcasted_iota(i32, shape, 1)), f32
    )


def _separated(L, x):
    """diag(1, 2.75, 4.5, ...) (rectangular for a rectangular x) + 0.25 x."""
    shape = tuple(x.shape)
    ramp = L.add(L.mul(L.broadcasted_iota(f32, shape, 0), 1.75), 1.0)
    return L.add(L.mul(_eye(L, shape), ramp), L.mul(x, 0.25))


def _diag(L, m):
    """The diagonal m[j, j] of an (m, k) matrix with k <= m, as a (k,) vector."""
    return L.reduce_sum(L.mul(m, _eye(L, tuple(m.shape))), (0,))


def _fix_columns(L, v, sgn):
    return L.mul(v, L.broadcast_in_dim(sgn, tuple(v.shape), (1,)))


def _fix_rows(L, v, sgn):
    return L.mul(v, L.broadcast_in_dim(sgn, tuple(v.shape), (0,)))


def _eigh(**kw):
    def f(L, x):
        v, w = L.linalg.eigh(_separated(L, x), **kw)
        return w, _fix_columns(L, v, L.sign(_diag(L, v)))

    return f


def _eigh_complex(L, x, y):
    a = L.complex(_separated(L, x), L.mul(y, 0.25))
    v, w = L.linalg.eigh(a)
    return w, L.abs(v)


def _svd(**kw):
    def f(L, x):
        u, s, vh = L.linalg.svd(_separated(L, x), **kw)
        k = s.shape[-1]
        sgn = L.sign(_diag(L, L.slice(u, (0, 0), (u.shape[0], k))))
        return s, _fix_columns(L, u, sgn), _fix_rows(L, vh, sgn)

    return f


def _svd_complex(L, x, y):
    u, s, vh = L.linalg.svd(L.complex(_separated(L, x), L.mul(y, 0.25)), full_matrices=False)
    return s, L.abs(u), L.abs(vh)


def _eig_values(L, x):
    (w,) = L.linalg.eig(x, compute_left_eigenvectors=False, compute_right_eigenvectors=False)
    return L.real(w), L.imag(w)


def _eig_vectors(L, x):
    w, vl, vr = L.linalg.eig(_separated(L, x), enable_eigvec_derivs=True)
    return L.real(w), L.abs(vl), L.abs(vr)


def _eig_right(L, x):
    w, vr = L.linalg.eig(
        _separated(L, x), compute_left_eigenvectors=False, enable_eigvec_derivs=True
    )
    return L.real(w), L.imag(w), L.abs(vr)


def specs(op, samplers):
    tol = 2e-4
    out = [
        op("eigh", _eigh(), [(3, 3)], tol=tol),
        op(
            "eigh_upper_unsymmetrized",
            _eigh(lower=False, symmetrize_input=False),
            [(3, 3)],
            tol=tol,
        ),
        op("eigh_complex", _eigh_complex, [(3, 3), (3, 3)], tol=tol),
        op("svd_thin_tall", _svd(full_matrices=False), [(4, 3)], tol=tol),
        op("svd_thin_wide", _svd(full_matrices=False), [(3, 4)], tol=tol),
        op("svd_full_square", _svd(), [(3, 3)], tol=tol),
        op(
            "svd_values_only",
            lambda L, x: L.linalg.svd(_separated(L, x), compute_uv=False),
            [(4, 3)],
            tol=tol,
        ),
        op("svd_complex", _svd_complex, [(3, 3), (3, 3)], tol=tol),
        op("eig_values", _eig_values, [(3, 3)], tol=tol),
        op("eig_vectors", _eig_vectors, [(3, 3)], tol=tol),
        op("eig_right_vectors", _eig_right, [(3, 3)], tol=tol),
    ]
    return out, frozenset({"eigh", "svd", "eig"})
