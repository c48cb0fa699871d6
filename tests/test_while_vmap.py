"""while_loop and fori_loop under vmap: which carries get a batch axis, against JAX.

A carry is batched only when it depends on a batched value (a fixpoint over the
body), every carry is batched when the predicate is (its lanes stop at different
times), and a carry the body hands back unchanged (and the predicate does not
read) is a loop invariant that stays unbatched. The loop equations of both
jaxprs must carry the same types, and the values must agree.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import minigrad_jax as mg
from minigrad_jax import lax as mlax
from minigrad_jax import numpy as mnp


def _loop_types(jaxpr, names=("while", "scan")):
    """(primitive name, (shape, dtype) of each output) of each loop equation, in order."""
    return [
        (e.primitive.name, [(tuple(v.aval.shape), str(v.aval.dtype)) for v in e.outvars])
        for e in jaxpr.jaxpr.eqns
        if e.primitive.name in names
    ]


def _check(make, args, in_axes=0, out_axes=0):
    """Our vmap of ``make(mlax, mnp)`` against JAX's of ``make(jlax, jnp)``."""
    ours = mg.vmap(make(mlax, mnp), in_axes=in_axes, out_axes=out_axes)
    theirs = jax.vmap(make(jlax, jnp), in_axes=in_axes, out_axes=out_axes)
    want_types = _loop_types(jax.make_jaxpr(theirs)(*args))
    assert want_types, "the JAX program has no loop"
    assert _loop_types(mg.make_jaxpr(ours)(*args)) == want_types
    want = theirs(*args)
    for got in (ours(*args), mg.jit(ours)(*args)):
        jax.tree_util.tree_map(
            lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), 1e-6), got, want
        )
        assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)


XS = np.arange(1.0, 5.0, dtype=np.float32)


def unbatched_predicate(lax, np_):
    def f(x, y):
        def body(c):
            i, a, b, k = c
            return i + 1, a * 2.0, b + x, k

        return lax.while_loop(lambda c: c[0] < 3, body, (0, 1.0, y, 5.0))

    return f


def batched_predicate(lax, np_):
    def f(x, y):
        def body(c):
            i, a, b, k = c
            return i + 1, a * 2.0, b + k, k  # k: a loop invariant, read by the body

        return lax.while_loop(lambda c: c[1] < x * 3.0, body, (0, 1.0, y, 5.0))

    return f


def chain_of_carries(lax, np_):
    # x reaches c2 after one step, c1 after two, c0 after three: a fixpoint, not one pass
    def f(x):
        def body(c):
            i, c0, c1, c2, free = c
            return i + 1, c0 + c1, c1 + c2, c2 + x, free * 2.0

        return lax.while_loop(lambda c: c[0] < 4, body, (0, 0.0, 0.0, 0.0, 1.0))

    return f


def predicate_on_invariant(lax, np_):
    # the predicate reads k, which the body never changes: k stays in the carry (as in JAX)
    def f(x, n):
        def body(c):
            i, k, a = c
            return i + 1, k, a + x

        return lax.while_loop(lambda c: c[0] < c[1], body, (0, n, 0.0))

    return f


def fori_traced_bound(lax, np_):
    def f(x, n):
        return lax.fori_loop(0, n, lambda i, c: (c[0] + x, c[1] * 2.0), (x, 1.0))

    return f


def fori_static_bounds(lax, np_):
    def f(x):
        return lax.fori_loop(0, 3, lambda i, c: (c[0] + x * i, c[1] * 2.0), (x, 1.0))

    return f


def fori_unbatched_traced_bound(lax, np_):
    def f(x, n):
        return lax.fori_loop(0, n, lambda i, c: (c[0] + x, c[1] + 1.0), (0.0, 0.0))

    return f


def matrix_carry(lax, np_):
    def f(m, v):
        def body(c):
            i, a, w = c
            return i + 1, a @ m, w + 1.0

        return lax.while_loop(lambda c: c[0] < 3, body, (0, np_.eye(3, dtype=np.float32), v))

    return f


NS = np.array([0, 2, 5, 1], np.int32)
M = np.arange(36.0, dtype=np.float32).reshape(4, 3, 3) / 36.0
V = np.arange(12.0, dtype=np.float32).reshape(3, 4)

CASES = [
    ("unbatched_predicate", unbatched_predicate, (XS, np.float32(1.0)), (0, None), 0),
    ("batched_predicate", batched_predicate, (XS, np.float32(1.0)), (0, None), 0),
    ("batched_predicate_batched_y", batched_predicate, (XS, XS), 0, 0),
    ("chain_of_carries", chain_of_carries, (XS,), 0, 0),
    ("predicate_on_invariant", predicate_on_invariant, (XS, NS), 0, 0),
    ("predicate_on_unbatched_invariant", predicate_on_invariant, (XS, 3), (0, None), 0),
    ("fori_traced_bound", fori_traced_bound, (XS, NS), 0, 0),
    ("fori_static_bounds", fori_static_bounds, (XS,), 0, 0),
    ("fori_unbatched_traced_bound", fori_unbatched_traced_bound, (XS, np.int32(3)), (0, None), 0),
    ("matrix_carry_axis_1", matrix_carry, (M, V), (0, 1), 0),
]


@pytest.mark.parametrize(
    "make,args,in_axes,out_axes", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_carries_batched_as_in_jax(make, args, in_axes, out_axes):
    _check(make, args, in_axes, out_axes)


def test_invariant_carry_is_a_const_of_the_loop():
    """Unbatched, as JAX has it: the loop does not carry a value its body never changes."""
    f = batched_predicate(mlax, mnp)
    eqn = next(e for e in mg.make_jaxpr(f)(2.0, 1.0).jaxpr.eqns if e.primitive.name == "while")
    assert len(eqn.outvars) == 3  # i, a, b; k is passed as a body const
    got = f(np.float32(2.0), np.float32(1.0))
    want = batched_predicate(jlax, jnp)(np.float32(2.0), np.float32(1.0))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w)
        assert type(g) is type(w) or isinstance(g, jax.Array) and isinstance(w, jax.Array)
        if isinstance(w, jax.Array):
            assert g.dtype == w.dtype and g.weak_type == w.weak_type


def test_vmap_jvp_of_loop_with_invariant():
    f, g = batched_predicate(mlax, mnp), batched_predicate(jlax, jnp)

    def mg_t(x):
        return mg.jvp(lambda y: f(x, y)[2], (np.float32(1.0),), (np.float32(1.0),))

    def jax_t(x):
        return jax.jvp(lambda y: g(x, y)[2], (np.float32(1.0),), (np.float32(1.0),))

    for a, b in zip(mg.vmap(mg_t)(XS), jax.vmap(jax_t)(XS)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_nested_vmap_of_while():
    f, g = batched_predicate(mlax, mnp), batched_predicate(jlax, jnp)
    xs = np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3)
    want = jax.vmap(jax.vmap(g, (0, None)), (0, None))(xs, np.float32(1.0))
    got = mg.vmap(mg.vmap(f, (0, None)), (0, None))(xs, np.float32(1.0))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def _forwarding(lax, uses_k):
    def f(k):
        def body(c):
            return c[0] + 1, c[1] * c[2] if uses_k else c[1] * 2.0, c[2]

        return lax.while_loop(lambda c: c[0] < 3, body, (0, 1.0, k))

    return f


@pytest.mark.parametrize("uses_k", [False, True])
def test_forwarded_carry_under_grad_and_jvp(uses_k):
    """A carry the body hands back is the input itself: grad of it works (as in JAX)."""
    ours, theirs = _forwarding(mlax, uses_k), _forwarding(jlax, uses_k)
    np.testing.assert_allclose(
        mg.grad(lambda k: ours(k)[2] * 3.0)(2.0), jax.grad(lambda k: theirs(k)[2] * 3.0)(2.0)
    )
    (p, t), (jp, jt) = mg.jvp(ours, (2.0,), (1.0,)), jax.jvp(theirs, (2.0,), (1.0,))
    for x, y in zip([*p, *t[1:]], [*jp, *jt[1:]]):  # t[0]: the counter's (float0) tangent
        np.testing.assert_allclose(x, y)
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        mg.grad(lambda k: _forwarding(mlax, True)(k)[1])(2.0)
