"""lax.linalg's eigh, svd and eig: derivatives against finite differences, jit,
vmap over several batch dimensions, float64, and bad input, all compared with JAX.

(The op table, tests/op_specs_spectral.py, covers values, jvp, vjp, vmap and
jaxprs against JAX for float32.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import jax
import numpy as np
import pytest
from jax import lax as jlax

import minigrad_jax as mg
from minigrad_jax import lax
from minigrad_jax.lax import linalg
from minigrad_jax.testing import check_grads

RNG = np.random.default_rng(7)


def _orthogonal(n, rng=RNG):
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return q


def _symmetric(n=3, spectrum=(1.0, 2.5, 4.5), dtype=np.float32, rng=RNG):
    q = _orthogonal(n, rng)
    return (q @ np.diag(spectrum[:n]) @ q.T).astype(dtype)


def _with_singular_values(m, n, values=(4.0, 2.5, 1.0), dtype=np.float32, rng=RNG):
    k = min(m, n)
    return (_orthogonal(m, rng)[:, :k] @ np.diag(values[:k]) @ _orthogonal(n, rng)[:k]).astype(
        dtype
    )


def _close(ours, theirs, tol):
    o_leaves, t_leaves = jax.tree.leaves(ours), jax.tree.leaves(theirs)
    assert len(o_leaves) == len(t_leaves)
    for o, t in zip(o_leaves, t_leaves, strict=True):
        o, t = np.asarray(o), np.asarray(t)
        assert (o.shape, o.dtype) == (t.shape, t.dtype), (o.shape, o.dtype, t.shape, t.dtype)
        np.testing.assert_allclose(o, t, rtol=tol, atol=tol)


# Gauge-free functions (the same program for L = lax and L = jax.lax).


def _eigh_fn(L, x):
    """v diag(sin w) v^T + w: a smooth function of the eigenvalues and eigenvectors."""
    v, w = L.linalg.eigh(x)
    nd = v.ndim
    batch = tuple(range(nd - 2))
    vs = L.mul(v, L.broadcast_in_dim(L.sin(w), v.shape, (*batch, nd - 1)))
    fa = L.dot_general(vs, v, (((nd - 1,), (nd - 1,)), (batch, batch)))
    return fa, L.mul(w, w)


def _svd_fn(L, x):
    """u diag(s^2) u^T, v diag(s) v^T (gauge-free) and the singular values."""
    u, s, vh = L.linalg.svd(x, full_matrices=False)
    nd = u.ndim
    batch = tuple(range(nd - 2))
    us = L.mul(u, L.broadcast_in_dim(L.mul(s, s), u.shape, (*batch, nd - 1)))
    vs = L.mul(vh, L.broadcast_in_dim(s, vh.shape, (*batch, nd - 2)))
    return (
        L.dot_general(us, u, (((nd - 1,), (nd - 1,)), (batch, batch))),
        L.dot_general(vs, vh, (((nd - 2,), (nd - 2,)), (batch, batch))),
        s,
    )


def _eig_values_fn(L, x):
    (w,) = L.linalg.eig(x, compute_left_eigenvectors=False, compute_right_eigenvectors=False)
    return L.real(w), L.imag(w)


def _eig_vectors_fn(L, x):
    w, vl, vr = L.linalg.eig(x, enable_eigvec_derivs=True)
    return L.real(w), L.imag(w), L.real(vl), L.imag(vl), L.real(vr), L.imag(vr)


# A real matrix with a complex-conjugate pair of eigenvalues (1 and 3 +- 1.5i).
_S = np.eye(3) + 0.3 * np.random.default_rng(11).standard_normal((3, 3))
NONSYM = (_S @ np.array([[1.0, 0, 0], [0, 3.0, -1.5], [0, 1.5, 3.0]]) @ np.linalg.inv(_S)).astype(
    np.float32
)


# ---------------------------------------------------------------------------
# derivatives to second order against finite differences (float64)


@pytest.mark.parametrize(
    "name, fn, arg",
    [
        ("eigh", _eigh_fn, lambda: _symmetric(dtype=np.float64)),
        ("svd_tall", _svd_fn, lambda: _with_singular_values(4, 3, dtype=np.float64)),
        pytest.param(
            "svd_wide",
            _svd_fn,
            lambda: _with_singular_values(2, 3, dtype=np.float64),
            marks=pytest.mark.slow,  # the wide branch is also in the op table (vs JAX)
        ),
        ("eig_vectors", _eig_vectors_fn, lambda: NONSYM.astype(np.float64)),
    ],
)
def test_check_grads_order2(x64, name, fn, arg):
    check_grads(lambda x, fn=fn: fn(lax, x), (arg(),), order=2, modes=("fwd", "rev"))


def test_check_grads_complex_eigh_and_svd(x64):
    a = _symmetric(dtype=np.float64)
    b = 0.3 * RNG.standard_normal((3, 3))
    b = b - b.T  # a + i b is Hermitian

    def eigh_f(x, y):
        v, w = linalg.eigh(lax.complex(x, y))
        return w, lax.abs(v)

    def svd_f(x, y):
        return linalg.svd(lax.complex(x, y), compute_uv=False)

    check_grads(eigh_f, (a, b), order=1)
    check_grads(svd_f, (_with_singular_values(3, 3, dtype=np.float64), b), order=2)


# ---------------------------------------------------------------------------
# eig's derivatives against JAX's (a complex-conjugate pair of eigenvalues)


@pytest.mark.parametrize(
    "fn", [_eig_values_fn, pytest.param(_eig_vectors_fn, marks=pytest.mark.slow)]
)
def test_eig_jvp_and_vjp_match_jax(fn):
    t = RNG.standard_normal((3, 3)).astype(np.float32)
    ours = mg.jvp(lambda x: fn(lax, x), (NONSYM,), (t,))
    theirs = jax.jvp(lambda x: fn(jlax, x), (NONSYM,), (t,))
    _close(ours, theirs, 2e-4)
    ours_out, ours_vjp = mg.vjp(lambda x: fn(lax, x), NONSYM)
    theirs_out, theirs_vjp = jax.vjp(lambda x: fn(jlax, x), NONSYM)
    ct = tuple(RNG.standard_normal(np.shape(o)).astype(np.float32) for o in theirs_out)
    _close(ours_vjp(ct), theirs_vjp(ct), 2e-4)


def test_complex_input_jvp_matches_jax():
    x = (_symmetric() + 1j * 0.2 * RNG.standard_normal((3, 3))).astype(np.complex64)
    t = (RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))).astype(np.complex64)
    for fn in (
        lambda L, a: L.linalg.eigh(a)[1],
        lambda L, a: L.linalg.svd(a, compute_uv=False),
        lambda L, a: L.linalg.eig(a, compute_left_eigenvectors=False, enable_eigvec_derivs=True)[1],
    ):
        ours = mg.jvp(lambda a, fn=fn: fn(lax, a), (x,), (t,))
        theirs = jax.jvp(lambda a, fn=fn: fn(jlax, a), (x,), (t,))
        if ours[0].ndim == 2:  # eig's eigenvectors: compare values only
            ours, theirs = ours[0], theirs[0]
        _close(ours, theirs, 2e-4)


# ---------------------------------------------------------------------------
# jit, batch dimensions and vmap


def test_jit_matches_jax():
    x, y, z = _symmetric(), _with_singular_values(4, 3), NONSYM
    for fn, arg in ((_eigh_fn, x), (_svd_fn, y), (_eig_values_fn, z)):
        _close(
            mg.jit(lambda a, fn=fn: fn(lax, a))(arg),
            jax.jit(lambda a, fn=fn: fn(jlax, a))(arg),
            2e-5,
        )
    g = mg.jit(mg.grad(lambda a: lax.reduce_sum(_eigh_fn(lax, a)[0], (0, 1))))(x)
    j = jax.jit(jax.grad(lambda a: jlax.reduce_sum(_eigh_fn(jlax, a)[0], (0, 1))))(x)
    _close(g, j, 2e-5)


def _batch(make, shape):
    return np.stack([make() for _ in range(int(np.prod(shape)))]).reshape(shape + make().shape)


BATCHED = [
    ("eigh", _eigh_fn, _symmetric),
    ("svd", _svd_fn, lambda: _with_singular_values(3, 2)),
    ("eig", _eig_values_fn, lambda: _symmetric() + 0.3 * RNG.standard_normal((3, 3))),
]


@pytest.mark.parametrize(
    "name, fn, make",
    [pytest.param(*b, marks=[pytest.mark.slow] if b[0] == "eig" else []) for b in BATCHED],
    ids=[b[0] for b in BATCHED],
)
def test_two_batch_dims_direct_vmap_and_jvp(name, fn, make):
    xs = _batch(make, (2, 2)).astype(np.float32)
    ts = RNG.standard_normal(xs.shape).astype(np.float32)
    direct = fn(lax, xs)
    _close(direct, fn(jlax, xs), 2e-5)
    # vmap(vmap(.)) over the batch, mapped axes 0 and 1 of the (2, 2, m, n) array
    inner = mg.vmap(lambda a: fn(lax, a), in_axes=0)
    mapped = mg.vmap(inner, in_axes=1, out_axes=1)(xs)
    _close(mapped, direct, 2e-5)
    # the JVP rules on two batch dimensions
    ours = mg.jvp(lambda a: fn(lax, a), (xs,), (ts,))
    theirs = jax.jvp(lambda a: fn(jlax, a), (xs,), (ts,))
    _close(ours, theirs, 2e-4)


@pytest.mark.parametrize(
    "name, fn, make",
    [pytest.param(*b, marks=[pytest.mark.slow] if b[0] != "eigh" else []) for b in BATCHED],
    ids=[b[0] for b in BATCHED],
)
def test_vmap_of_jvp_over_two_batch_dims(name, fn, make):
    xs = _batch(make, (2, 2)).astype(np.float32)
    ts = RNG.standard_normal(xs.shape).astype(np.float32)
    theirs = jax.jvp(lambda a: fn(jlax, a), (xs,), (ts,))
    vm = mg.vmap(mg.vmap(lambda a, t: mg.jvp(lambda b: fn(lax, b), (a,), (t,))))(xs, ts)
    _close(vm, theirs, 2e-4)


@pytest.mark.slow
def test_grad_under_vmap_with_the_mapped_axis_last():
    xs = np.moveaxis(_batch(_symmetric, (2,)), 0, -1).astype(np.float32)  # (3, 3, 2)

    def loss(L, api):
        return api.vmap(
            api.grad(lambda a: L.reduce_sum(_eigh_fn(L, a)[0], (0, 1))), in_axes=-1, out_axes=-1
        )

    _close(loss(lax, mg)(xs), loss(jlax, jax)(xs), 2e-5)


# ---------------------------------------------------------------------------
# JAX's wrappers: output structure, params, integer input


def test_output_structure_and_params_match_jax():
    x = _with_singular_values(4, 3)
    for kw in (
        {},
        {"full_matrices": False},
        {"compute_uv": False},
        {"full_matrices": False, "subset_by_index": (0, 3)},
    ):
        ours, theirs = linalg.svd(x, **kw), jlax.linalg.svd(x, **kw)
        assert jax.tree.structure(ours) == jax.tree.structure(theirs)
        _close(ours, theirs, 0)
    for kw in ({}, {"compute_left_eigenvectors": False}, {"compute_right_eigenvectors": False}):
        ours, theirs = linalg.eig(NONSYM, **kw), jlax.linalg.eig(NONSYM, **kw)
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        _close(ours, theirs, 0)
    xi = np.array([[2, 1], [1, 3]], np.int32)
    ours = mg.make_jaxpr(linalg.eigh)(xi)
    theirs = jax.make_jaxpr(jlax.linalg.eigh)(xi)
    assert [e.primitive.name for e in ours.eqns] == [e.primitive.name for e in theirs.eqns]
    assert ours.eqns[-1].params == theirs.eqns[-1].params
    _close(linalg.eigh(xi), jlax.linalg.eigh(xi), 1e-6)


def test_use_magma_is_deprecated_like_jax():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jaxpr = mg.make_jaxpr(lambda a: linalg.eig(a, use_magma=False))(NONSYM)
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert jaxpr.eqns[0].params["implementation"] == jlax.linalg.EigImplementation.LAPACK


# ---------------------------------------------------------------------------
# bad input

F3 = np.ones((3,), np.float32)
F34 = np.ones((3, 4), np.float32)
F33 = np.eye(3, dtype=np.float32)

BAD = [
    (lambda: linalg.eigh(F3), TypeError, "rank at least 2"),
    (lambda: linalg.eigh(F34), ValueError, "[..., n, n], got shape (3, 4)"),
    (lambda: linalg.eigh(F33 > 0), TypeError, "does not accept dtype bool"),
    (lambda: linalg.eigh(F33, symmetrize_input=False, subset_by_index=(2, 5)), ValueError, "<= 3"),
    (lambda: linalg.svd(F3), TypeError, "Input 0 to svd must have rank at least 2"),
    (lambda: linalg.svd(F34.astype(np.int32)), TypeError, "svd does not accept dtype int32"),
    (lambda: linalg.svd(F34, subset_by_index=(0, 2)), ValueError, "cannot both be set"),
    (lambda: linalg.svd(F34, algorithm="qr"), TypeError, "SvdAlgorithm"),
    (lambda: linalg.eig(F34), ValueError, "must be a square matrix. Got shape (3, 4)"),
    (lambda: linalg.eig(F33.astype(np.int32)), TypeError, "eig does not accept dtype int32"),
    (
        lambda: mg.jvp(lambda a: linalg.svd(a), (F34,), (F34,)),
        NotImplementedError,
        "not implemented for full matrices",
    ),
    (lambda: mg.jvp(linalg.eig, (F33,), (F33,)), NotImplementedError, "enable_eigvec_derivs"),
    (
        lambda: mg.jvp(lambda a: linalg.eigh(a, subset_by_index=(0, 2)), (F33,), (F33,)),
        NotImplementedError,
        "partial eigen decomposition",
    ),
]


@pytest.mark.parametrize("thunk, cls, needle", BAD, ids=[b[2] for b in BAD])
def test_bad_input_raises_a_clear_error(thunk, cls, needle):
    with pytest.raises(cls) as info:
        thunk()
    assert needle in str(info.value)


def test_direct_bind_names_the_primitive_and_shapes():
    with pytest.raises(TypeError) as info:
        mg.make_jaxpr(
            lambda a: linalg.eigh_p.bind(
                a, lower=True, sort_eigenvalues=True, subset_by_index=None, algorithm=None
            )
        )(F34)
    assert "eigh" in str(info.value) and "f32[3,4]" in str(info.value)


# ---------------------------------------------------------------------------
# float64, in a subprocess with JAX_ENABLE_X64=1

_X64 = textwrap.dedent(
    """
    import jax, numpy as np
    from jax import lax as jlax
    import minigrad_jax as mg
    from minigrad_jax import lax
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    x = q @ np.diag([1.0, 2.5, 4.5]) @ q.T
    y = rng.standard_normal((4, 3))
    t = rng.standard_normal((3, 3))
    ty = rng.standard_normal((4, 3))
    def check(ours, theirs):
        for o, j in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
            o, j = np.asarray(o), np.asarray(j)
            assert o.dtype == j.dtype and o.dtype in (np.float64, np.complex128), o.dtype
            np.testing.assert_allclose(o, j, rtol=1e-10, atol=1e-10)
    eigh = lambda L: lambda a: L.linalg.eigh(a)[1]
    svd = lambda L: lambda a: L.linalg.svd(a, compute_uv=False)
    eig = lambda L: lambda a: L.linalg.eig(a, compute_left_eigenvectors=False,
                                           compute_right_eigenvectors=False)[0]
    for f, a, da in ((eigh, x, t), (svd, y, ty), (eig, x + 0.3 * t, t)):
        check(f(lax)(a), f(jlax)(a))
        check(mg.jvp(f(lax), (a,), (da,)), jax.jvp(f(jlax), (a,), (da,)))
    g = lambda L, api: api.grad(lambda a: L.reduce_sum(L.mul(eigh(L)(a), eigh(L)(a)), (0,)))
    check(g(lax, mg)(x), g(jlax, jax)(x))
    print("ok")
    """
)


def test_float64_matches_jax():
    out = subprocess.run(
        [sys.executable, "-c", _X64],
        env={**os.environ, "JAX_ENABLE_X64": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
