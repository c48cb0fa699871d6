"""The replay of our jaxprs under jax.jit: values against JAX, and what it emits.

A ``transpose`` of a ``dot_general`` product that only swaps the two operands'
free dimensions is lowered as the dot with its operands swapped (JAX's transpose
rule leaves such pairs; batched, XLA copies the product back into place). The
jaxpr keeps JAX's equations; only the lowering changes.
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
from minigrad_jax._src import core
from minigrad_jax._src.interpreters import lowering

RNG = np.random.RandomState(0)


def _close(got, want, rtol=1e-5, atol=1e-6):
    jax.tree_util.tree_map(
        lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol, atol), got, want
    )
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)


def _n_transposes(text):
    return text.count("stablehlo.transpose")


def mlp_loss(np_):
    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = np_.tanh(h @ w + b)
        w, b = params[-1]
        out = h @ w + b
        return np_.sum((out - y) ** 2)

    return loss


PARAMS = [
    (RNG.randn(5, 4).astype(np.float32), RNG.randn(4).astype(np.float32)),
    (RNG.randn(4, 3).astype(np.float32), RNG.randn(3).astype(np.float32)),
]
X = RNG.randn(6, 5).astype(np.float32)
Y = RNG.randn(6, 3).astype(np.float32)


def _per_example(np_, api):
    loss = mlp_loss(np_)
    return api.vmap(api.grad(lambda p, x, y: loss(p, x[None], y[None])), in_axes=(None, 0, 0))


def test_per_example_grads_equal_jax():
    ours, theirs = _per_example(mnp, mg), _per_example(jnp, jax)
    _close(mg.jit(ours)(PARAMS, X, Y), jax.jit(theirs)(PARAMS, X, Y))
    _close(ours(PARAMS, X, Y), theirs(PARAMS, X, Y))


def test_per_example_grads_lower_without_the_transposes_jax_emits():
    ours, theirs = _per_example(mnp, mg), _per_example(jnp, jax)
    mine = mg.jit(ours).lower(PARAMS, X, Y).as_text()
    jaxs = jax.jit(theirs).lower(PARAMS, X, Y).as_text()
    assert _n_transposes(jaxs) >= 2  # one per weight gradient
    assert _n_transposes(mine) == 0
    # the jaxpr itself keeps JAX's equations
    names = [e.primitive.name for e in mg.make_jaxpr(ours)(PARAMS, X, Y).jaxpr.eqns]
    assert names.count("transpose") == _n_transposes(jaxs)


def test_matrix_grad_of_dot():
    def f(np_):
        return lambda a, b: np_.sum(np_.sin(a @ b))

    a, b = RNG.randn(3, 4).astype(np.float32), RNG.randn(4, 2).astype(np.float32)
    for argnums in (0, 1, (0, 1)):
        _close(
            mg.jit(mg.grad(f(mnp), argnums))(a, b),
            jax.jit(jax.grad(f(jnp), argnums))(a, b),
        )


def test_transposed_product_used_twice_is_kept():
    """The product feeds the transpose and something else: both are lowered as written."""

    def f(lax, np_):
        def g(a, b):
            p = lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,))))  # [n, i, j]
            return lax.transpose(p, (0, 2, 1)), p * 2.0

        return g

    a, b = RNG.randn(2, 3, 4).astype(np.float32), RNG.randn(2, 4, 5).astype(np.float32)
    _close(mg.jit(f(mlax, mnp))(a, b), jax.jit(f(jlax, jnp))(a, b))
    assert _n_transposes(mg.jit(f(mlax, mnp)).lower(a, b).as_text()) == 1


def test_other_permutations_are_not_swapped():
    def f(lax):
        def g(a, b):
            p = lax.dot_general(a, b, (((2,), (0,)), ((), ())))  # [n, i, j]
            return lax.transpose(p, (1, 0, 2))

        return g

    a, b = RNG.randn(2, 3, 4).astype(np.float32), RNG.randn(4, 5).astype(np.float32)
    _close(mg.jit(f(mlax))(a, b), jax.jit(f(jlax))(a, b))
    assert _n_transposes(mg.jit(f(mlax)).lower(a, b).as_text()) == 1


@pytest.mark.parametrize(
    "precision",
    [(jlax.Precision.HIGHEST, jlax.Precision.DEFAULT), jlax.Precision.HIGHEST, None],
    ids=["pair", "one", "none"],
)
def test_swapped_dot_keeps_precision_and_result_type(precision):
    def f(lax):
        def g(a, b):
            p = lax.dot_general(
                a,
                b,
                (((1,), (1,)), ((0,), (0,))),
                precision=precision,
                preferred_element_type=np.float32,
            )
            return lax.transpose(p, (0, 2, 1))

        return g

    a = RNG.randint(-3, 3, (2, 3, 4)).astype(np.int8)
    b = RNG.randint(-3, 3, (2, 3, 5)).astype(np.int8)
    got, want = mg.jit(f(mlax))(a, b), jax.jit(f(jlax))(a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    _close(got, want)
    text = mg.jit(f(mlax)).lower(a, b).as_text()
    assert _n_transposes(text) == 0
    if type(precision) is tuple:  # the operands swapped, so are their precisions
        assert "precision = [DEFAULT, HIGHEST]" in text


def test_inside_a_loop_body():
    def f(np_, lax):
        loss = mlp_loss(np_)
        per = (mg if np_ is mnp else jax).vmap(
            (mg if np_ is mnp else jax).grad(lambda p, x, y: loss(p, x[None], y[None])),
            in_axes=(None, 0, 0),
        )

        def step(c, xy):
            g = per(PARAMS, *xy)
            return c + sum(np_.sum(w) for w, _ in g), g[0][0]

        return lambda xs, ys: lax.scan(step, 0.0, (xs, ys))

    xs, ys = np.stack([X, X * 2.0]), np.stack([Y, -Y])
    _close(mg.jit(f(mnp, mlax))(xs, ys), jax.jit(f(jnp, jlax))(xs, ys), rtol=1e-4, atol=1e-4)


def test_replayed_twice_from_one_plan():
    """An eager while_loop replays its body each call: the same values each time."""

    def f(lax):
        body = lambda c: (c[0] + 1, c[1] @ c[1])  # noqa: E731
        return lambda x: lax.while_loop(lambda c: c[0] < 3, body, (0, x))

    m = (np.eye(3) * 0.5 + 0.1).astype(np.float32)
    want = f(jlax)(m)
    for _ in range(2):
        _close(f(mlax)(m), want)


def test_no_lowering_is_a_clear_error():
    prim = core.Primitive("test_lowering_without_rule")
    core.abstract_eval_rules[prim] = lambda x: x
    with pytest.raises(NotImplementedError, match="no XLA lowering for 'test_lowering_without"):
        mg.jit(lambda x: prim.bind(x))(np.float32(1.0))
    assert prim not in lowering.lowering_rules
