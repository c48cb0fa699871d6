"""lax.linalg factorizations beyond the op table: finite-difference gradients, jit,
two leading batch dimensions, errors, JAX's NotImplementedError JVPs and float64."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
from jax.lax import linalg as jlinalg

import minigrad_jax as mg
from minigrad_jax.lax import linalg
from minigrad_jax.testing import check_grads

f32 = np.float32
RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 3)).astype(f32)
WELL = (3 * np.eye(3) + 0.25 * X).astype(f32)  # diagonally dominant
SPD = (WELL @ WELL.T).astype(f32)
B = RNG.standard_normal((3, 2)).astype(f32)


def _close(ours, theirs, tol=1e-5):
    o_leaves, t_leaves = jax.tree.leaves(ours), jax.tree.leaves(theirs)
    assert len(o_leaves) == len(t_leaves)
    for o, t in zip(o_leaves, t_leaves):
        o, t = np.asarray(o), np.asarray(t)
        assert (o.shape, o.dtype) == (t.shape, t.dtype)
        np.testing.assert_allclose(o, t, rtol=tol, atol=tol)


# ---------------------------------------------------------------------------
# gradients against finite differences, to second order

GRAD_CASES = {
    "cholesky": (lambda a: linalg.cholesky(a), (SPD,)),
    "triangular_solve": (
        lambda a, b: linalg.triangular_solve(a, b, left_side=True, lower=True),
        (WELL, B),
    ),
    "triangular_solve_right_t": (
        lambda a, b: linalg.triangular_solve(a, b.T, transpose_a=True),
        (WELL, B),
    ),
    "qr": (lambda a: linalg.qr(a), (WELL,)),
    "qr_tall_full": (lambda a: linalg.qr(a), (RNG.standard_normal((3, 2)).astype(f32),)),
    "lu": (lambda a: linalg.lu(a)[0], (WELL,)),
}


ORDER1 = {"qr_tall_full"}  # the widest rule: first order keeps the suite's budget


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_check_grads_order2(name):
    f, args = GRAD_CASES[name]
    check_grads(f, args, order=1 if name in ORDER1 else 2, atol=5e-2, rtol=5e-2)


@pytest.mark.parametrize("shape", [(3, 2), (2, 3)])
def test_complex_qr_jvp_matches_jax(shape):
    x, y, tx, ty = (RNG.standard_normal(shape).astype(f32) for _ in range(4))
    z, t = (x + 1j * y).astype(np.complex64), (tx + 1j * ty).astype(np.complex64)
    ours = mg.jvp(lambda a: linalg.qr(a), (z,), (t,))
    _close(ours, jax.jvp(lambda a: jlinalg.qr(a), (z,), (t,)), 1e-4)


def test_qr_pivoting_wide_jvp_matches_finite_differences():
    # JAX's rule uses the unpivoted columns of a wide x for R2 = Q^H X2; ours the
    # pivoted ones, which is what finite differences say.
    x = RNG.standard_normal((2, 4)).astype(f32)
    check_grads(lambda a: linalg.qr(a, pivoting=True)[:2], (x,), order=1, modes=("fwd",))


# ---------------------------------------------------------------------------
# jit and vmap with two leading batch dimensions

PROGRAMS = {
    "cholesky": (lambda L, a, b: L.cholesky(a), "spd"),
    "triangular_solve": (lambda L, a, b: L.triangular_solve(a, b, left_side=True), "well"),
    "lu": (lambda L, a, b: L.lu(a)[0], "well"),
    "qr": (lambda L, a, b: L.qr(a), "well"),
    "tridiagonal_solve": (
        lambda L, a, b: L.tridiagonal_solve(a[..., 0], a[..., 1] + 4.0, a[..., 2], b),
        "well",
    ),
}


def _batched_inputs(kind):
    x = RNG.standard_normal((2, 2, 3, 3)).astype(f32)
    a = 3 * np.eye(3, dtype=f32) + 0.25 * x
    if kind == "spd":
        a = a @ np.swapaxes(a, -1, -2)
    return a.astype(f32), RNG.standard_normal((2, 2, 3, 2)).astype(f32)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_jit_and_two_batch_dims_match_jax(name):
    prog, kind = PROGRAMS[name]
    a, b = _batched_inputs(kind)
    expected = prog(jlinalg, a, b)  # jax's primitives take the leading batch dims
    _close(
        mg.jit(lambda a, b: prog(linalg, a, b))(a[0, 0], b[0, 0]), prog(jlinalg, a[0, 0], b[0, 0])
    )
    _close(mg.vmap(mg.vmap(lambda a, b: prog(linalg, a, b)))(a, b), expected, 1e-4)
    _close(prog(linalg, a, b), expected, 1e-4)


def test_vmap_of_grad_with_unmapped_matrix():
    a, b = WELL, RNG.standard_normal((2, 2, 3, 2)).astype(f32)

    def loss(L, b):
        return (L.triangular_solve(a, b, left_side=True, lower=True) ** 2).sum()

    ours = mg.vmap(mg.vmap(mg.grad(lambda b: loss(linalg, b))))(b)
    _close(ours, jax.vmap(jax.vmap(jax.grad(lambda b: loss(jlinalg, b))))(b), 1e-4)


def test_cholesky_of_a_non_positive_definite_matrix_is_nan_like_jax():
    bad = -np.eye(2, dtype=f32)
    ours, theirs = np.asarray(linalg.cholesky(bad)), np.asarray(jlinalg.cholesky(bad))
    np.testing.assert_array_equal(ours, theirs)  # NaNs below, zeros above the diagonal
    assert np.isnan(ours[np.tril_indices(2)]).all()


# ---------------------------------------------------------------------------
# errors and JAX's missing derivatives

m23 = np.ones((2, 3), f32)
BAD = [
    (lambda: linalg.cholesky(m23), ValueError, r"cholesky must be a .*square.*\(2, 3\)"),
    (
        lambda: linalg.cholesky(np.eye(3, dtype=np.int32), symmetrize_input=False),
        TypeError,
        "cholesky does not accept dtype int32",
    ),
    (
        lambda: linalg.triangular_solve(WELL, np.ones((2, 2), f32), left_side=True),
        ValueError,
        r"Incompatible shapes for arguments to triangular_solve: \(3, 3\) and \(2, 2\)",
    ),
    (
        lambda: linalg.triangular_solve(WELL, B.astype(np.complex64), left_side=True),
        TypeError,
        "same dtypes, got float32, complex64",
    ),
    (
        lambda: linalg.triangular_solve(np.ones((2, 3, 3), f32), np.ones((4, 3, 3), f32)),
        ValueError,
        r"same batch dimensions.*\(2, 3, 3\), \(4, 3, 3\)",
    ),
    (lambda: linalg.lu(np.ones(3, f32)), TypeError, r"rank at least 2, but got shape=\(3,\)"),
    (
        lambda: linalg.lu_pivots_to_permutation(np.zeros(3, np.int32), 2),
        ValueError,
        "permutation size 2",
    ),
    (
        lambda: linalg.householder_product(m23, np.ones(2, f32)),
        ValueError,
        r"at least as many rows as columns, got shape \(2, 3\)",
    ),
    (
        lambda: linalg.tridiagonal_solve(*[np.ones(3, f32)] * 3, np.ones((2, 2), f32)),
        TypeError,
        r"leading ndim-1 dimensions of b.*\(2, 2\)",
    ),
    (lambda: linalg.qr(np.ones((2, 2), np.int32)), TypeError, "qr does not accept dtype int32"),
]


@pytest.mark.parametrize("thunk, exc, match", BAD, ids=[b[2][:30] for b in BAD])
def test_bad_input_raises_a_clear_error(thunk, exc, match):
    # JAX's shape rules raise ValueErrors; our abstract evaluation reports every
    # shape/dtype failure of a primitive's operands as a TypeError (naming them).
    with pytest.raises((exc, TypeError), match=match):
        mg.make_jaxpr(thunk)()


def test_geqrf_and_householder_product_have_no_jvp_like_jax():
    from minigrad_jax._src.lax.factorizations import geqrf

    a, taus = geqrf(WELL)
    with pytest.raises(NotImplementedError, match="'geqrf'"):
        mg.jvp(geqrf, (WELL,), (WELL,))
    with pytest.raises(NotImplementedError, match="'householder_product'"):
        mg.jvp(linalg.householder_product, (a, taus), (a, taus))


# ---------------------------------------------------------------------------
# float64 (in a subprocess: the x64 flag is process-wide)

X64_CODE = textwrap.dedent(
    """
    import numpy as np, jax
    import minigrad_jax as mg
    from minigrad_jax.lax import linalg
    from jax.lax import linalg as jl

    rng = np.random.default_rng(0)
    a = 3 * np.eye(3) + 0.25 * rng.standard_normal((3, 3))
    b = rng.standard_normal((3, 2))
    progs = {
        "cholesky": lambda L, a, b: L.cholesky(a @ a.T),
        "triangular_solve": lambda L, a, b: L.triangular_solve(a, b, left_side=True, lower=True),
        "lu": lambda L, a, b: L.lu(a)[0],
        "qr": lambda L, a, b: L.qr(a)[1],
        "tridiagonal_solve": lambda L, a, b: L.tridiagonal_solve(a[0], a[1] + 4, a[2], b),
    }
    for name, p in progs.items():
        ours, theirs = p(linalg, a, b), p(jl, a, b)
        assert np.asarray(ours).dtype == np.float64, name
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=name)
        g = mg.grad(lambda a, b: (p(linalg, a, b) ** 2).sum(), (0, 1))(a, b)
        h = jax.grad(lambda a, b: (p(jl, a, b) ** 2).sum(), (0, 1))(a, b)
        for u, v in zip(g, h):
            assert np.asarray(u).dtype == np.float64, name
            np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-10, err_msg=name)
    print("ok")
    """
)


def test_float64_values_and_grads_like_jax():
    env = {**os.environ, "JAX_ENABLE_X64": "1"}
    res = subprocess.run(
        [sys.executable, "-c", X64_CODE], env=env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-3000:]


def test_cholesky_update_matches_jax_and_batches_like_a_loop():
    r = np.triu(WELL).astype(f32)
    w = RNG.standard_normal(3).astype(f32)
    _close(linalg.cholesky_update(r, w), jlinalg.cholesky_update(r, w))
    ours = mg.make_jaxpr(linalg.cholesky_update)(r, w)
    assert [e.primitive.name for e in ours.eqns] == ["cholesky_update"]
    # JAX has no batching rule for it; ours maps over a leading axis like this loop.
    rs, ws = np.stack([r, 2 * r]), np.stack([w, -w])
    loop = np.stack([np.asarray(jlinalg.cholesky_update(a, b)) for a, b in zip(rs, ws)])
    _close(mg.vmap(linalg.cholesky_update, in_axes=(0, 0))(rs, ws), loop)
    unmapped_r = np.stack([np.asarray(jlinalg.cholesky_update(r, b)) for b in ws])
    _close(mg.vmap(linalg.cholesky_update, in_axes=(None, 0))(r, ws), unmapped_r)
