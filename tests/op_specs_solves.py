"""Op specs for custom_linear_solve and custom_root, appended to op_table's OPS.

``specs(op, samplers)`` returns (specs built with op_table's ``_op``, the primitive
names they must exercise); it may add named samplers to ``samplers``.

The matrices are built inside the programs as ``4 I + 0.3 a`` from a sampled ``a``
with entries in (-0.9, 0.9), so they are well conditioned whatever axis vmap maps
(the samplers cannot know which axis is the batch one).
"""

from __future__ import annotations


def _spd_matvec(L, a):
    # (4 I + 0.3 (a + a^T)) x: symmetric positive definite
    return lambda x: L.add(L.mul(x, 4.0), L.mul(L.add(L.dot(a, x), L.dot(x, a)), 0.3))


def _matvec(L, a):
    return lambda x: L.add(L.mul(x, 4.0), L.mul(L.dot(a, x), 0.3))


def _cg(L):
    """Conjugate gradients written with while_loop (a data-dependent trip count)."""

    def solve(matvec, b):
        def cond(s):
            return L.bitwise_and(L.gt(s[3], 1e-12), L.lt(s[4], 8))

        def body(s):
            x, r, p, rs, i = s
            ap = matvec(p)
            alpha = L.div(rs, L.dot(p, ap))
            x, r = L.add(x, L.mul(alpha, p)), L.sub(r, L.mul(alpha, ap))
            rs_new = L.dot(r, r)
            return x, r, L.add(r, L.mul(L.div(rs_new, rs), p)), rs_new, L.add(i, 1)

        return L.while_loop(cond, body, (L.mul(b, 0.0), b, b, L.dot(b, b), 0))[0]

    return solve


def _richardson(L, steps=20):
    """x <- x + (b - A x) / 4: converges for A = 4 I + 0.3 a (its transpose too)."""

    def solve(matvec, b):
        def body(i, x):
            return L.add(x, L.mul(L.sub(b, matvec(x)), 0.25))

        return L.fori_loop(0, steps, body, L.mul(b, 0.0))

    return solve


def _solve_sym(L, a, b):
    return L.custom_linear_solve(_spd_matvec(L, a), b, _cg(L), symmetric=True)


def _solve_nonsym(L, a, b):
    return L.custom_linear_solve(_matvec(L, a), b, _richardson(L), _richardson(L))


def _root(L, w, c):
    # the fixed point of x = 0.2 tanh(w x) + c, a contraction; tangent_solve is a
    # custom_linear_solve of the linearized map
    def f(x):
        return L.sub(L.sub(x, L.mul(L.tanh(L.dot(w, x)), 0.2)), c)

    def solve(f, x0):
        return L.fori_loop(0, 30, lambda i, x: L.sub(x, f(x)), x0)

    def tangent_solve(g, y):
        step = lambda mv, r: L.fori_loop(  # noqa: E731
            0, 30, lambda i, z: L.add(z, L.sub(r, mv(z))), L.mul(r, 0.0)
        )
        return L.custom_linear_solve(g, y, step, step)

    return L.custom_root(f, L.mul(c, 0.0), solve, tangent_solve)


def specs(op, samplers):
    m3 = (3, 3)
    out = [
        op("custom_linear_solve_sym", _solve_sym, [m3, (3,)], domains=["unit", "real"], tol=1e-4),
        op(
            "custom_linear_solve_nonsym",
            _solve_nonsym,
            [m3, (3,)],
            domains=["unit", "real"],
            tol=1e-4,
        ),
        # JAX's custom_root is a custom_jvp function (a custom_jvp_call equation); ours is
        # the custom_root primitive, so the jaxprs differ by construction.
        op("custom_root", _root, [m3, (3,)], domains=["unit", "real"], tol=1e-4, jaxpr=False),
    ]
    return out, frozenset({"custom_linear_solve", "custom_root"})
