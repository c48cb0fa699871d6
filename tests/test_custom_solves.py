"""lax.custom_linear_solve and lax.custom_root against JAX's, on JAX's documented uses.

Every program is written once over ``(L, N, G)`` (lax, numpy and the transforms
module: ours or JAX's), so both sides run the same computation.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax
from jax import tree_util

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import lax
from minigrad_jax.testing import check_grads

OURS, JAXS = (lax, mnp, mg), (jlax, jnp, jax)
TOL = 2e-5

rng = np.random.default_rng(0)
_m = rng.standard_normal((3, 3)).astype(np.float32)
SPD = (_m @ _m.T + 3 * np.eye(3)).astype(np.float32)  # symmetric positive definite
NONSYM = (np.eye(3) * 4 + 0.5 * rng.standard_normal((3, 3))).astype(np.float32)
B = rng.standard_normal(3).astype(np.float32)


def close(ours, theirs, tol=TOL):
    o_leaves, o_tree = tree_util.tree_flatten(ours)
    t_leaves, t_tree = tree_util.tree_flatten(theirs)
    assert o_tree == t_tree, (o_tree, t_tree)
    for o, t in zip(o_leaves, t_leaves, strict=True):
        o, t = np.asarray(o), np.asarray(t)
        assert (o.shape, o.dtype) == (t.shape, t.dtype), (o.dtype, o.shape, t.dtype, t.shape)
        np.testing.assert_allclose(o, t, rtol=tol, atol=tol)


# ---------------------------------------------------------------------------
# solvers, written with the control flow of either side


def cg(L, N):
    """Conjugate gradients with a while_loop (not reverse differentiable by itself)."""

    def solve(matvec, b):
        def cond(s):
            return (s[3] > 1e-12) & (s[4] < 10)

        def body(s):
            x, r, p, rs, i = s
            ap = matvec(p)
            alpha = rs / N.dot(p, ap)
            x, r = x + alpha * p, r - alpha * ap
            rs_new = N.dot(r, r)
            return x, r, rs_new / rs * p + r, rs_new, i + 1

        init = (N.zeros_like(b), b, b, N.dot(b, b), 0)
        return L.while_loop(cond, body, init)[0]

    return solve


def jacobi(L, N, a):
    """Jacobi iterations for a diagonally dominant ``a``; ``a.T`` has the same diagonal,
    so the same solver serves as ``transpose_solve`` (given ``vecmat``)."""

    def solve(matvec, b):
        d = N.diagonal(a)
        return L.fori_loop(0, 40, lambda i, x: x + (b - matvec(x)) / d, N.zeros_like(b))

    return solve


def spd_solve(side, a, b):
    L, N, _ = side
    return L.custom_linear_solve(lambda x: N.dot(a, x), b, cg(L, N), symmetric=True)


def nonsym_solve(side, a, b):
    L, N, _ = side
    solve = jacobi(L, N, a)
    return L.custom_linear_solve(lambda x: N.dot(a, x), b, solve, solve)


def loss(fn, side):
    N = side[1]
    return lambda a, b: N.sum(N.sin(fn(side, a, b)))


@pytest.mark.parametrize("fn, a", [(spd_solve, SPD), (nonsym_solve, NONSYM)], ids=["spd", "nonsym"])
def test_linear_solve_value_grad_jvp_vmap_jit(fn, a):
    close(fn(OURS, a, B), np.linalg.solve(a, B), 1e-4)
    close(fn(OURS, a, B), fn(JAXS, a, B))
    g = mg.grad(loss(fn, OURS), argnums=(0, 1))(a, B)
    close(g, jax.grad(loss(fn, JAXS), argnums=(0, 1))(a, B), 1e-4)
    ta, tb = np.ones_like(a), np.ones_like(B)
    ours = mg.jvp(lambda a, b: fn(OURS, a, b), (a, B), (ta, tb))
    close(ours, jax.jvp(lambda a, b: fn(JAXS, a, b), (a, B), (ta, tb)), 1e-4)
    bs = np.stack([B, 2 * B])
    ours = mg.vmap(lambda b: fn(OURS, a, b))(bs)
    close(ours, jax.vmap(lambda b: fn(JAXS, a, b))(bs), 1e-4)
    aa = np.stack([a, a + np.eye(3, dtype=np.float32)])
    ours = mg.vmap(lambda a, b: fn(OURS, a, b), in_axes=(0, None))(aa, B)
    close(ours, jax.vmap(lambda a, b: fn(JAXS, a, b), in_axes=(0, None))(aa, B), 1e-4)
    close(mg.jit(lambda a, b: fn(OURS, a, b))(a, B), fn(JAXS, a, B))
    g = mg.jit(mg.grad(loss(fn, OURS), argnums=1))(a, B)
    close(g, jax.grad(loss(fn, JAXS), argnums=1)(a, B), 1e-4)


def test_grad_of_grad_and_vmap_of_grad():
    f = lambda side: lambda b: side[1].sum(spd_solve(side, SPD, b) ** 3)  # noqa: E731
    close(mg.hessian(f(OURS))(B), jax.hessian(f(JAXS))(B), 1e-4)
    bs = np.stack([B, -B])
    close(mg.vmap(mg.grad(f(OURS)))(bs), jax.vmap(jax.grad(f(JAXS)))(bs), 1e-4)
    check_grads(lambda a: spd_solve(OURS, a, B), (SPD,), order=1, atol=5e-2, rtol=5e-2)


def test_pytree_b_and_has_aux():
    def prog(side, a, b):
        L, N, _ = side

        def matvec(x):
            return {"u": N.dot(a, x["u"]), "v": 2.0 * x["v"]}

        def solve(mv, r):  # exact, closed form: a is SPD, so solve it with cg
            u = cg(L, N)(lambda y: N.dot(a, y), r["u"])
            return {"u": u, "v": r["v"] / 2.0}, N.sum(u)

        return L.custom_linear_solve(matvec, b, solve, symmetric=True, has_aux=True)

    b = {"u": B, "v": np.arange(2.0, dtype=np.float32)}
    close(prog(OURS, SPD, b), prog(JAXS, SPD, b))

    def lossf(side):
        return lambda a, b: (
            side[1].sum(prog(side, a, b)[0]["u"] ** 2) + prog(side, a, b)[0]["v"].sum()
        )

    close(
        mg.grad(lossf(OURS), argnums=(0, 1))(SPD, b),
        jax.grad(lossf(JAXS), argnums=(0, 1))(SPD, b),
        1e-4,
    )
    close(
        mg.jvp(lambda b: prog(OURS, SPD, b), (b,), (b,)),
        jax.jvp(lambda b: prog(JAXS, SPD, b), (b,), (b,)),
        1e-4,
    )
    # One leaf of b is a constant: its cotangent is dropped. (JAX binds a symbolic zero
    # there and fails, so its side makes that leaf depend on u with a zero weight.)
    v = np.ones(2, np.float32)

    def part(side):
        N = side[1]
        return lambda u: lossf(side)(SPD, {"u": u, "v": v + 0 * u[:2] if N is jnp else v})

    close(mg.grad(part(OURS))(B), jax.grad(part(JAXS))(B), 1e-4)


def _names(closed):
    return [e.primitive.name for e in closed.jaxpr.eqns]


def test_jaxpr_equations_match_jax():
    for fn, a in [(spd_solve, SPD), (nonsym_solve, NONSYM)]:
        ours = mg.make_jaxpr(functools.partial(fn, OURS))(a, B)
        theirs = jax.make_jaxpr(functools.partial(fn, JAXS))(a, B)
        assert _names(ours) == _names(theirs) == ["custom_linear_solve"]
        (o,), (t,) = ours.jaxpr.eqns, theirs.jaxpr.eqns
        assert tuple(o.params["const_lengths"]) == tuple(t.params["const_lengths"])
        assert o.params["const_lengths"]._fields == t.params["const_lengths"]._fields
        assert [e.primitive.name for e in o.params["jaxprs"].matvec.eqns] == ["dot_general"]
    # grad: the backward pass is one custom_linear_solve on the transposed system
    ours = mg.make_jaxpr(mg.grad(loss(nonsym_solve, OURS), argnums=1))(NONSYM, B)
    theirs = jax.make_jaxpr(jax.grad(loss(nonsym_solve, JAXS), argnums=1))(NONSYM, B)
    count = lambda j: _names(j).count("custom_linear_solve")  # noqa: E731
    assert count(ours) == count(theirs) == 2


def test_linear_solve_errors():
    solve = cg(lax, mnp)
    with pytest.raises(TypeError, match=r"matvec\(\) output pytree structure must match b"):
        lax.custom_linear_solve(lambda x: {"x": x}, B, solve)
    with pytest.raises(ValueError, match=r"matvec\(\) output shapes must match b"):
        lax.custom_linear_solve(lambda x: mnp.concatenate([x, x]), B, solve)
    with pytest.raises(ValueError, match=r"solve\(\) produced a pytree .* has_aux"):
        lax.custom_linear_solve(lambda x: x, B, lambda mv, x: x, has_aux=True)
    with pytest.raises(TypeError, match="transpose_solve required"):
        mg.grad(lambda b: mnp.sum(lax.custom_linear_solve(lambda x: SPD @ x, b, solve)))(B)
    # forward mode needs no transpose_solve
    ours = mg.jvp(lambda b: lax.custom_linear_solve(lambda x: SPD @ x, b, solve), (B,), (B,))
    close(ours[1], np.linalg.solve(SPD, B), 1e-4)


# ---------------------------------------------------------------------------
# custom_root


def newton_sqrt(side):
    """JAX's documented example: sqrt by Newton's method, differentiated implicitly."""
    L, _, G = side

    def newton(f, x0):
        df = G.grad(f)
        return L.fori_loop(0, 10, lambda i, x: x - f(x) / df(x), x0)

    def sqrt(a):
        return L.custom_root(lambda x: x * x - a, 1.0, newton, lambda g, y: y / g(1.0))

    return sqrt


def test_custom_root_newton_sqrt():
    ms, js = newton_sqrt(OURS), newton_sqrt(JAXS)
    close(ms(2.0), js(2.0))
    close(mg.grad(ms)(2.0), jax.grad(js)(2.0))
    close(mg.grad(mg.grad(ms))(2.0), jax.grad(jax.grad(js))(2.0))
    close(mg.jvp(ms, (2.0,), (1.0,)), jax.jvp(js, (2.0,), (1.0,)))
    xs = np.array([2.0, 3.0, 5.0], np.float32)
    close(mg.vmap(ms)(xs), jax.vmap(js)(xs))
    close(mg.vmap(mg.grad(ms))(xs), jax.vmap(jax.grad(js))(xs))
    close(mg.jit(mg.grad(ms))(2.0), jax.grad(js)(2.0))
    assert _names(mg.make_jaxpr(ms)(2.0)) == ["custom_root"]  # JAX: custom_jvp_call


def test_custom_root_vector_with_linear_solve_and_aux():
    """A vector root (x = tanh(w x) + c), tangent_solve a custom_linear_solve; aux output."""

    def prog(side, w, c):
        L, N, _ = side

        def f(x):
            return x - N.tanh(w @ x) - c

        def solve(f, x0):
            x = L.fori_loop(0, 30, lambda i, x: x - f(x), x0)  # a contraction
            return x, N.sum(x)

        def tangent_solve(g, y):
            def t_solve(gt, r):  # a few Richardson steps on the transposed map
                return L.fori_loop(0, 30, lambda i, z: z + (r - gt(z)), N.zeros_like(r))

            return L.custom_linear_solve(
                g, y, lambda mv, r: L.fori_loop(0, 30, lambda i, z: z + (r - mv(z)), 0 * r), t_solve
            )

        return L.custom_root(f, N.zeros_like(c), solve, tangent_solve, has_aux=True)

    w = (0.3 * rng.standard_normal((3, 3))).astype(np.float32)
    c = rng.standard_normal(3).astype(np.float32)
    close(prog(OURS, w, c), prog(JAXS, w, c))
    lossf = lambda side: lambda w, c: side[1].sum(prog(side, w, c)[0] ** 2)  # noqa: E731
    close(
        mg.grad(lossf(OURS), argnums=(0, 1))(w, c),
        jax.grad(lossf(JAXS), argnums=(0, 1))(w, c),
        1e-4,
    )
    cs = np.stack([c, 2 * c])
    close(
        mg.vmap(mg.grad(lossf(OURS), argnums=1), in_axes=(None, 0))(w, cs),
        jax.vmap(jax.grad(lossf(JAXS), argnums=1), in_axes=(None, 0))(w, cs),
        1e-4,
    )
    check_grads(lambda c: prog(OURS, w, c)[0], (c,), order=1, atol=5e-2, rtol=5e-2)


def test_custom_root_errors():
    newton = lambda f, x: x  # noqa: E731
    with pytest.raises(TypeError, match=r"f\(\) output pytree structure must match initial_guess"):
        lax.custom_root(lambda x: (x, x), 1.0, newton, lambda g, y: y)
    with pytest.raises(TypeError, match=r"solve\(\) output pytree structure"):
        lax.custom_root(lambda x: x, 1.0, lambda f, x: (x, x), lambda g, y: y)
    with pytest.raises(ValueError, match=r"solve\(\) produced a pytree .* has_aux"):
        lax.custom_root(lambda x: x, 1.0, newton, lambda g, y: y, has_aux=True)
    with pytest.raises(TypeError, match=r"tangent_solve\(\) output pytree structure must match x"):
        lax.custom_root(lambda x: x, 1.0, newton, lambda g, y: (y, y))
