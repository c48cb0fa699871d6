"""mnp.linalg (and mnp.polyfit / mnp.roots) against jax.numpy.linalg.

Each table entry runs the same program on both sides (``M`` is mnp or jnp) and
is compared for value, grad of a scalar loss, jvp, vmap (batch of 2) and jit.
Outputs that are only defined up to a gauge (eigenvectors, singular vectors)
enter through gauge-invariant functions of them.
"""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax.testing import check_grads

# ---------------------------------------------------------------------------
# samplers: well-conditioned inputs


def _gen(rng, shape=(3, 3)):
    """A well-conditioned general matrix (diagonally dominated)."""
    n = shape[-1]
    return (rng.normal(size=shape) * 0.5 + 2.0 * np.eye(n)).astype(np.float32)


def _spd(rng, shape=(3, 3)):
    a = rng.normal(size=shape)
    return (a @ np.swapaxes(a, -1, -2) + 3.0 * np.eye(shape[-1])).astype(np.float32)


def _rect(rng, shape=(4, 3)):
    a = rng.normal(size=shape)
    a[..., : shape[-1], :] += 3.0 * np.eye(shape[-1])
    return a.astype(np.float32)


def _wide(rng, shape=(3, 4)):
    return np.swapaxes(_rect(rng, shape[:-2] + (shape[-1], shape[-2])), -1, -2).copy()


def _spread(rng, shape=(3, 3)):
    """A general matrix with well-separated real eigenvalues (for eig)."""
    q, _ = np.linalg.qr(rng.normal(size=shape[-2:]))
    d = np.diag([1.0, 2.5, 4.0][: shape[-1]])
    a = q @ d @ q.T + np.triu(rng.normal(size=shape[-2:]) * 0.2, 1)
    return np.broadcast_to(a, shape).astype(np.float32).copy()


SAMPLERS = {
    "gen": _gen,
    "gen4": lambda rng, shape=(4, 4): _gen(rng, shape),
    "spd": _spd,
    "rect": _rect,
    "wide": _wide,
    "spread": _spread,
}


# ---------------------------------------------------------------------------
# gauge-invariant views of the decompositions


def _eigh_view(M, x):  # noqa: N803
    w, v = M.linalg.eigh(x)
    return w, (v * v)  # each column's sign is arbitrary; its square is not


def _svd_view(M, x):  # noqa: N803
    u, s, vh = M.linalg.svd(x, full_matrices=False)
    return s, (u * s[..., None, :]) @ vh


def _qr_view(M, x):  # noqa: N803
    q, r = M.linalg.qr(x)
    return q @ r, M.abs(r)


def _eig_view(M, x):  # noqa: N803
    return M.real(M.linalg.eigvals(x))


# (name, fn(M, x), sampler); M.linalg is mnp.linalg or jnp.linalg.
TABLE = [
    ("solve", lambda M, x: M.linalg.solve(x, x[..., 0] + 1.0), "gen"),
    ("solve_mat", lambda M, x: M.linalg.solve(x, x @ x), "gen"),
    ("inv", lambda M, x: M.linalg.inv(x), "gen"),
    ("det", lambda M, x: M.linalg.det(x), "gen"),
    ("det4", lambda M, x: M.linalg.det(x), "gen4"),
    ("slogdet", lambda M, x: M.linalg.slogdet(x)[1], "gen"),
    ("slogdet2", lambda M, x: M.linalg.slogdet(x[..., :2, :2]), "gen"),
    ("cholesky", lambda M, x: M.linalg.cholesky(x), "spd"),
    ("cholesky_upper", lambda M, x: M.linalg.cholesky(x, upper=True), "spd"),
    ("qr", _qr_view, "rect"),
    ("qr_r", lambda M, x: M.abs(M.linalg.qr(x, mode="r")), "rect"),
    ("eigh", _eigh_view, "spd"),
    ("eigvalsh", lambda M, x: M.linalg.eigvalsh(x), "spd"),
    ("eigvals", _eig_view, "spread"),
    ("svd", _svd_view, "rect"),
    ("svdvals", lambda M, x: M.linalg.svdvals(x), "wide"),
    ("svd_hermitian", lambda M, x: M.linalg.svd(x, hermitian=True, compute_uv=False), "spd"),
    ("pinv", lambda M, x: M.linalg.pinv(x), "rect"),
    ("pinv_wide", lambda M, x: M.linalg.pinv(x), "wide"),
    ("lstsq", lambda M, x: M.linalg.lstsq(x, x[:, 0] + 1.0)[0], "rect"),
    ("matrix_power", lambda M, x: M.linalg.matrix_power(x, 5), "gen"),
    ("matrix_power_neg", lambda M, x: M.linalg.matrix_power(x, -2), "gen"),
    ("norm_2", lambda M, x: M.linalg.norm(x, ord=2), "rect"),
    ("norm_nuc", lambda M, x: M.linalg.norm(x, ord="nuc", keepdims=True), "rect"),
    ("norm_m2", lambda M, x: M.linalg.matrix_norm(x, ord=-2), "rect"),
    ("norm_1", lambda M, x: M.linalg.norm(x, ord=1, axis=(-1, -2)), "gen"),
    ("norm_inf", lambda M, x: M.linalg.matrix_norm(x, ord=-np.inf), "gen"),
    ("norm_fro", lambda M, x: M.linalg.norm(x, ord="fro"), "gen"),
    ("vector_norm_3", lambda M, x: M.linalg.vector_norm(x, ord=3, axis=-1), "gen"),
    ("cond", lambda M, x: M.linalg.cond(x), "gen"),
    ("cond_1", lambda M, x: M.linalg.cond(x, p=1), "gen"),
    ("cond_fro", lambda M, x: M.linalg.cond(x, p="fro"), "gen"),
    ("multi_dot", lambda M, x: M.linalg.multi_dot([x[0], x, x.T, x, x[:, 1]]), "gen"),
    ("tensorinv", lambda M, x: M.linalg.tensorinv(x.reshape(3, 3, 1), ind=1), "gen"),
    ("tensorsolve", lambda M, x: M.linalg.tensorsolve(x.reshape(1, 3, 3), x[:1]), "gen"),
    ("cross", lambda M, x: M.linalg.cross(x, x[::-1], axis=0), "gen"),
    ("outer", lambda M, x: M.linalg.outer(x[0], x[1]), "gen"),
    ("trace", lambda M, x: M.linalg.trace(x, offset=1), "gen"),
    ("vecdot", lambda M, x: M.linalg.vecdot(x, x[::-1]), "gen"),
    ("matmul", lambda M, x: M.linalg.matmul(x, x.T), "gen"),
    ("tensordot", lambda M, x: M.linalg.tensordot(x, x, axes=1), "gen"),
    ("diagonal", lambda M, x: M.linalg.diagonal(x, offset=-1), "gen"),
    ("matrix_transpose", lambda M, x: M.linalg.matrix_transpose(x) * 2.0, "gen"),
    ("polyfit", lambda M, x: M.polyfit(x[:, 0], x[:, 1], 2), "rect"),
]

# Default run: every transform for the decompositions and solvers (FULL); value and
# grad for the functions composed from them (GRAD); value only for the thin wrappers
# and variants. Every entry gets every transform under -m slow.
FULL = {"solve", "inv", "det4", "slogdet", "cholesky", "qr", "eigh", "svd", "pinv", "lstsq"}
GRAD = {"det", "slogdet2", "norm_2", "norm_nuc", "cond", "multi_dot", "matrix_power_neg"}
GRAD |= {"eigvals"}
GRAD |= {"polyfit", "tensorsolve", "eigvalsh", "svdvals", "norm_1"}
# Functions on 2-D inputs only (no leading batch dimension in JAX either).
_NO_BATCH = {"lstsq", "multi_dot", "tensorinv", "tensorsolve", "cross", "outer", "polyfit"}
_NO_BATCH |= {"matmul", "tensordot"}
# vmap-only: x[::-1] reverses the batch axis of a batched call.
_VMAP_ONLY = {"vecdot"}


def _leaves(out):
    return jax.tree_util.tree_leaves(out)


def _close(ours, theirs, tol):
    ours, theirs = _leaves(ours), _leaves(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert np.shape(a) == np.shape(b), (np.shape(a), np.shape(b))
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def _loss(M, fn):  # noqa: N803
    """A scalar loss with output-dependent weights (so no cancellation hides a bug)."""

    def loss(x):
        total = 0.0
        for leaf in _leaves(fn(M, x)):
            w = M.cos(M.arange(leaf.size, dtype=np.float32).reshape(leaf.shape))
            total = total + M.sum(M.real(leaf) * w)
        return total

    return loss


def _cases(names=None):
    for name, fn, sampler in TABLE:
        if names is None:
            marks = [] if name in FULL else [pytest.mark.slow]
            yield pytest.param(name, fn, sampler, id=name, marks=marks)
        elif name in names:
            yield pytest.param(name, fn, sampler, id=name)


@pytest.mark.parametrize("name,fn,sampler", list(_cases()))
def test_value_grad_jvp_vmap_jit(name, fn, sampler):
    rng = np.random.default_rng(sum(map(ord, name)))
    x = SAMPLERS[sampler](rng)
    tol = 2e-3
    _close(fn(mnp, x), fn(jnp, x), tol)
    _close(mg.jit(lambda x: fn(mnp, x))(x), fn(jnp, x), tol)
    _close(mg.grad(_loss(mnp, fn))(x), jax.grad(_loss(jnp, fn))(x), 5e-3)
    t = rng.normal(size=x.shape).astype(np.float32)
    if sampler == "spd":
        t = t + t.T  # stay on the symmetric matrices
    _close(
        mg.jvp(lambda x: fn(mnp, x), (x,), (t,)),
        jax.jvp(lambda x: fn(jnp, x), (x,), (t,)),
        5e-3,
    )
    if name not in _NO_BATCH:
        xs = SAMPLERS[sampler](rng, (2, *x.shape))
        _close(mg.vmap(lambda x: fn(mnp, x))(xs), jax.vmap(lambda x: fn(jnp, x))(xs), tol)
        # and the batched call itself (leading batch dimensions: JAX's vmap result), or
        # JAX's error where a batched b reads differently (solve's b=[..., m])
        if name in _VMAP_ONLY:
            return
        try:
            ours = fn(mnp, xs)
        except (TypeError, ValueError) as e:
            with pytest.raises(type(e)):
                fn(jnp, xs)
        else:
            _close(ours, jax.vmap(lambda x: fn(jnp, x))(xs), tol)


@pytest.mark.parametrize("name,fn,sampler", list(_cases(GRAD)))
def test_value_and_grad(name, fn, sampler):
    x = SAMPLERS[sampler](np.random.default_rng(sum(map(ord, name))))
    _close(fn(mnp, x), fn(jnp, x), 2e-3)
    _close(mg.grad(_loss(mnp, fn))(x), jax.grad(_loss(jnp, fn))(x), 5e-3)


@pytest.mark.parametrize("name,fn,sampler", list(_cases({n for n, *_ in TABLE} - FULL - GRAD)))
def test_value(name, fn, sampler):
    x = SAMPLERS[sampler](np.random.default_rng(0))
    _close(fn(mnp, x), fn(jnp, x), 2e-3)


# ---------------------------------------------------------------------------
# finite differences to order 2


@pytest.mark.parametrize(
    "name",
    ["det", pytest.param("det4", marks=pytest.mark.slow), "slogdet", "inv", "solve", "pinv"],
)
def test_check_grads_order2(name):
    rng = np.random.default_rng(1)
    a = _gen(rng)
    fns = {
        "det": (lambda a: mnp.linalg.det(a), (a,)),
        "det4": (lambda a: mnp.linalg.det(a), (_gen(rng, (4, 4)),)),
        "slogdet": (lambda a: mnp.linalg.slogdet(a)[1], (_gen(rng, (4, 4)),)),
        "inv": (lambda a: mnp.linalg.inv(a), (a,)),
        "solve": (lambda a, b: mnp.linalg.solve(a, b), (a, rng.normal(size=3).astype(np.float32))),
        "pinv": (lambda a: mnp.linalg.pinv(a), (_rect(rng),)),
    }
    f, args = fns[name]
    check_grads(f, args, order=2, atol=2e-2, rtol=2e-2, eps=2e-3)


def test_det_grad_of_singular_matrix_is_the_adjugate():
    # JAX's cofactor rule: finite at rank n-1, where grad(det) = adjugate^T.
    a = np.array(
        [[1.0, 2.0, 3.0, 1.0], [2.0, 4.0, 6.0, 2.0], [0.0, 1.0, 1.0, 2.0], [1.0, 0.0, 2.0, 5.0]],
        np.float32,
    )
    ours = mg.grad(mnp.linalg.det)(a)
    np.testing.assert_allclose(ours, jax.grad(jnp.linalg.det)(a), rtol=1e-4, atol=1e-4)
    assert np.all(np.isfinite(ours))


# ---------------------------------------------------------------------------
# the remaining options


def test_options_match_jax():
    rng = np.random.default_rng(2)
    a, s, r = _gen(rng), _spd(rng), _rect(rng)
    L = mnp.linalg  # noqa: N806
    pairs = [
        (L.qr(r, mode="complete").Q.shape, (4, 4)),
        (L.svd(r).U.shape, (4, 4)),
        (type(L.svd(r)).__name__, "SVDResult"),
        (L.qr(r)._fields, ("Q", "R")),
        (L.slogdet(a)._fields, ("sign", "logabsdet")),
        (L.eigh(s)._fields, ("eigenvalues", "eigenvectors")),
        (L.eig(a)._fields, ("eigenvalues", "eigenvectors")),
    ]
    for ours, expected in pairs:
        assert ours == expected
    tol = dict(rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(L.eigh(s, UPLO="U").eigenvalues, jnp.linalg.eigh(s, UPLO="U")[0])
    np.testing.assert_allclose(
        L.eigvalsh(np.tril(s), symmetrize_input=False),
        jnp.linalg.eigvalsh(np.tril(s), symmetrize_input=False),
        **tol,
    )
    np.testing.assert_allclose(L.slogdet(a, method="qr")[1], jnp.linalg.slogdet(a)[1], **tol)
    np.testing.assert_allclose(L.slogdet(a, method="qr")[0], jnp.linalg.slogdet(a)[0])
    h, taus = L.qr(r, mode="raw")
    jh, jtaus = jnp.linalg.qr(r, mode="raw")
    np.testing.assert_allclose(np.abs(h), np.abs(jh), **tol)
    np.testing.assert_allclose(taus, jtaus, **tol)
    u, sv, vh = L.svd(s, hermitian=True)
    np.testing.assert_allclose((u * sv) @ vh, s, **tol)
    low_rank = r @ np.diag([1.0, 1.0, 0.0]).astype(np.float32) @ r.T
    for kw in ({}, {"rtol": 0.1}, {"tol": 0.1}, {"hermitian": True}):
        assert int(L.matrix_rank(low_rank, **kw)) == int(jnp.linalg.matrix_rank(low_rank, **kw))
    assert L.matrix_rank(np.zeros(3, np.float32)) == jnp.linalg.matrix_rank(np.zeros(3))
    np.testing.assert_allclose(L.pinv(r, rtol=0.5), jnp.linalg.pinv(r, rtol=0.5), **tol)
    np.testing.assert_allclose(L.pinv(r, rcond=0.5), jnp.linalg.pinv(r, rcond=0.5), **tol)
    np.testing.assert_allclose(L.pinv(s, hermitian=True), jnp.linalg.pinv(s, hermitian=True), **tol)
    for numpy_resid, b in ((False, r[:, :2]), (True, r[:, 0])):
        ours = L.lstsq(r, b, rcond=1e-3, numpy_resid=numpy_resid)
        _close(ours, jnp.linalg.lstsq(r, b, rcond=1e-3, numpy_resid=numpy_resid), 2e-3)
    np.testing.assert_allclose(L.cond(a, -1), jnp.linalg.cond(a, -1), rtol=2e-3)
    for o, kw in ((-1, {"keepdims": True}), (np.inf, {"axis": (1, 0)}), (-2, {"keepdims": True})):
        np.testing.assert_allclose(L.norm(r, ord=o, **kw), jnp.linalg.norm(r, ord=o, **kw), 2e-3)
    np.testing.assert_allclose(L.norm(r, ord=0, axis=0), jnp.linalg.norm(r, ord=0, axis=0))
    np.testing.assert_allclose(L.matrix_power(a, 0), jnp.linalg.matrix_power(a, 0))
    np.testing.assert_allclose(
        L.tensorsolve(a.reshape(3, 3, 1), a[:, 0], axes=(1,)),
        jnp.linalg.tensorsolve(a.reshape(3, 3, 1), a[:, 0], axes=(1,)),
        **tol,
    )
    np.testing.assert_allclose(
        L.solve(np.stack([a, a + 1]), a), jnp.linalg.solve(np.stack([a, a + 1]), a), **tol
    )


@pytest.mark.slow
def test_every_norm_and_cond_order_matches_jax():
    rng = np.random.default_rng(2)
    a, r = _gen(rng), _rect(rng)
    L = mnp.linalg  # noqa: N806
    for p in (None, 2, -2, 1, -1, np.inf, -np.inf, "fro", "nuc"):
        np.testing.assert_allclose(L.cond(a, p), jnp.linalg.cond(a, p), rtol=2e-3)
    for o in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
        for kw in ({}, {"keepdims": True}, {"axis": (1, 0)}):
            ours, theirs = L.norm(r, ord=o, **kw), jnp.linalg.norm(r, ord=o, **kw)
            np.testing.assert_allclose(ours, theirs, rtol=2e-3, err_msg=f"{o} {kw}")
    for o in (None, 0, 1, -1, 2, 0.5, 3, np.inf, -np.inf):
        np.testing.assert_allclose(L.norm(r, ord=o, axis=0), jnp.linalg.norm(r, ord=o, axis=0))


def test_complex_inputs_match_jax():
    rng = np.random.default_rng(3)
    a = (_gen(rng) + 1j * rng.normal(size=(3, 3)) * 0.3).astype(np.complex64)
    h = a @ a.conj().T + 3 * np.eye(3, dtype=np.complex64)
    tol = dict(rtol=2e-3, atol=2e-3)
    for fn in (
        lambda M: M.linalg.solve(a, a[0]),
        lambda M: M.linalg.slogdet(a),
        lambda M: M.linalg.det(a),
        lambda M: M.linalg.cholesky(h),
        lambda M: M.linalg.eigvalsh(h),
    ):
        _close(fn(mnp), fn(jnp), 2e-3)
    g = mg.grad(lambda x: mnp.linalg.slogdet(x)[1])(a)
    np.testing.assert_allclose(g, jax.grad(lambda x: jnp.linalg.slogdet(x)[1])(a), **tol)


def test_polyfit_and_roots_match_jax():
    rng = np.random.default_rng(4)
    x = np.linspace(-1.0, 1.0, 6).astype(np.float32)
    y = np.stack([x**2 - x + 1.0, 3.0 * x], axis=1) + rng.normal(size=(6, 2)).astype(np.float32)
    w = (1.0 + x * x).astype(np.float32)
    kws = ({"w": w}, {"full": True}, {"cov": True}, {"cov": "unscaled"})
    for i, kw in enumerate(kws):
        yy = y if i % 2 == 0 else y[:, 0]
        _close(mnp.polyfit(x, yy, 2, **kw), jnp.polyfit(x, yy, 2, **kw), 2e-3)
    p = np.array([1.0, -6.0, 11.0, -6.0], np.float32)
    np.testing.assert_allclose(np.sort_complex(mnp.roots(p)), np.sort_complex(jnp.roots(p)), 1e-3)
    pz = np.concatenate([[0.0, 0.0], p]).astype(np.float32)
    assert mnp.roots(pz).shape == (3,)
    ours = mg.jit(lambda p: mnp.roots(p, strip_zeros=False))(pz)
    _close(ours, jnp.roots(pz, strip_zeros=False), 1e-3)
    assert mnp.roots(np.ones(1, np.float32)).dtype == jnp.roots(np.ones(1)).dtype
    with pytest.raises(mg.errors.ConcretizationTypeError if hasattr(mg, "errors") else Exception):
        mg.jit(mnp.roots)(pz)


# ---------------------------------------------------------------------------
# errors


ERRORS = [
    (lambda: mnp.linalg.inv(np.ones((2, 3))), ValueError, r"\[\.\.\., n, n\], got \(2, 3\)"),
    (lambda: mnp.linalg.det(np.ones(3)), ValueError, r"shape \[\.\.\., n, n\], got \(3,\)"),
    (lambda: mnp.linalg.slogdet(np.ones((2, 3))), ValueError, r"got \(2, 3\)"),
    (lambda: mnp.linalg.slogdet(np.eye(2), method="x"), ValueError, "Unknown slogdet method"),
    (lambda: mnp.linalg.solve(np.ones(3), np.ones(3)), ValueError, r"a.shape=\(3,\)"),
    (lambda: mnp.linalg.solve(np.eye(3), np.ones(2)), ValueError, r"b=\(2,\)"),
    (lambda: mnp.linalg.solve(np.ones((2, 3)), np.ones(2)), ValueError, r"\(2, 3\)"),
    (lambda: mnp.linalg.qr(np.eye(2), mode="x"), ValueError, "Unsupported QR decomposition mode"),
    (lambda: mnp.linalg.svd(np.ones(3)), ValueError, r"shape \(3,\)"),
    (lambda: mnp.linalg.eigh(np.eye(2), UPLO="X"), ValueError, "UPLO must be one of"),
    (lambda: mnp.linalg.norm(np.eye(2), ord="x"), ValueError, "Invalid order 'x' for matrix"),
    (lambda: mnp.linalg.norm(np.ones(2), ord="inf"), ValueError, "Invalid order 'inf' for vector"),
    (lambda: mnp.linalg.norm(np.ones((2, 2, 2)), axis=(0, 1, 2)), ValueError, "Improper number"),
    (lambda: mnp.linalg.matrix_power(np.ones(3), 2), TypeError, "at least two-dimensional"),
    (lambda: mnp.linalg.matrix_power(np.ones((2, 3)), 2), TypeError, "must be square"),
    (lambda: mnp.linalg.matrix_power(np.eye(2), 1.5), TypeError, "exponent must be an integer"),
    (lambda: mnp.linalg.pinv(np.eye(2), 0.1, rcond=0.1), ValueError, "only one of rtol and rcond"),
    (lambda: mnp.linalg.matrix_rank(np.eye(2), 0.1, tol=0.1), ValueError, "only one of tol"),
    (lambda: mnp.linalg.lstsq(np.ones((3, 2)), np.ones(2)), ValueError, "Leading dimensions"),
    (lambda: mnp.linalg.lstsq(np.ones((3, 2, 2)), np.ones(3)), TypeError, "two-dimensional"),
    (lambda: mnp.linalg.cond(np.ones(3)), ValueError, r"at least 2D; got arr.shape=\(3,\)"),
    (lambda: mnp.linalg.cond(np.ones((2, 3)), p=1), ValueError, "must be square"),
    (lambda: mnp.linalg.multi_dot([np.eye(2)]), ValueError, "at least two arrays"),
    (lambda: mnp.linalg.multi_dot([np.eye(2), np.ones((3, 2))]), ValueError, "must match first"),
    (lambda: mnp.linalg.multi_dot([np.eye(2), np.ones((2, 2, 2))]), ValueError, "two-dimensional"),
    (lambda: mnp.linalg.tensorinv(np.ones((2, 3)), ind=1), ValueError, "tensorinv is only"),
    (lambda: mnp.linalg.tensorinv(np.ones((2, 2)), ind=0), ValueError, "positive integer"),
    (lambda: mnp.linalg.tensorsolve(np.ones((2, 3)), np.ones(3)), ValueError, "leading shape"),
    (lambda: mnp.linalg.cross(np.ones(2), np.ones(3)), ValueError, r"x1.shape\[axis\]=2"),
    (lambda: mnp.linalg.outer(np.ones((2, 2)), np.ones(2)), ValueError, "x1.ndim=2"),
    (lambda: mnp.linalg.matrix_transpose(np.ones(2)), ValueError, "ndim=1"),
    (lambda: mnp.polyfit(np.ones(3), np.ones(3), -1), ValueError, "deg >= 0"),
    (lambda: mnp.polyfit(np.ones(3), np.ones(2), 1), TypeError, "same length"),
    (lambda: mnp.roots(np.ones((2, 2))), ValueError, "rank-1"),
    (lambda: mnp.linalg.inv("a"), TypeError, "requires ndarray or scalar"),
    (lambda: mnp.linalg.pinv(np.ones(3)), ValueError, r"at least 2 dimensions, got shape \(3,\)"),
    (lambda: mnp.linalg.cholesky(np.ones((2, 3))), ValueError, r"square matrices.*\(2, 3\)"),
    (lambda: mnp.linalg.eigh(np.ones((2, 3))), ValueError, r"\[\.\.\., n, n\], got shape \(2, 3\)"),
]


def test_errors_are_typed_and_name_the_problem():
    for fn, exc, match in ERRORS:
        with pytest.raises(exc, match=match):
            fn()


def test_every_jax_linalg_name_exists():
    public = {n for n in dir(jnp.linalg) if not n.startswith("_")}
    assert public <= set(dir(mnp.linalg)), public - set(dir(mnp.linalg))
    assert set(mnp.linalg.__all__) >= public
    assert callable(mnp.polyfit) and callable(mnp.roots)
    assert {"polyfit", "roots"} <= set(mnp.__all__)


# ---------------------------------------------------------------------------
# float64


def test_float64_values_and_grads_match_jax():
    code = textwrap.dedent(
        """
        import jax, jax.numpy as jnp, numpy as np
        import minigrad_jax as mg, minigrad_jax.numpy as mnp
        rng = np.random.default_rng(5)
        a = rng.normal(size=(4, 4)) + 3 * np.eye(4)
        s = a @ a.T
        fns = {
            "det": lambda M, x: M.linalg.det(x),
            "slogdet": lambda M, x: M.linalg.slogdet(x)[1],
            "solve": lambda M, x: M.linalg.solve(x, x[0]).sum(),
            "pinv": lambda M, x: (M.linalg.pinv(x[:, :3]) ** 2).sum(),
        }
        for name, f in fns.items():
            # jitted on both sides: one compilation each instead of one per primitive
            ours = mg.jit(lambda x: f(mnp, x))(a)
            theirs = jax.jit(lambda x: f(jnp, x))(a)
            assert ours.dtype == np.float64, (name, ours.dtype)
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, err_msg=name)
            g1 = mg.jit(mg.grad(lambda x: f(mnp, x)))(a)
            g2 = jax.jit(jax.grad(lambda x: f(jnp, x)))(a)
            np.testing.assert_allclose(g1, g2, rtol=1e-8, atol=1e-10, err_msg=name)
        print("ok")
        """
    )
    env = {**os.environ, "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


def test_poly_of_a_square_matrix_is_its_characteristic_polynomial_like_jax():
    a = np.array([[1.0, 2.0, 0.5], [3.0, 4.0, -1.0], [0.0, 1.0, 2.0]], np.float32)
    ours, theirs = mnp.poly(a), jnp.poly(a)
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
