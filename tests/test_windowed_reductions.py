"""Windowed reductions (pooling) against JAX: what op_specs_window's table cannot cover.

Finite-difference gradients (check_grads), the jaxprs of max pooling's first and
second derivatives printed as JAX's (select_and_gather_add / select_and_scatter_add),
jit's HLO, vmap against JAX and a Python loop, pytree operands, the monoid detection,
the public-API fallback lowerings, JAX's errors, and float64 in a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import minigrad_jax as mg
from minigrad_jax import lax
from minigrad_jax._src.interpreters import lowering
from minigrad_jax._src.lax import elementwise
from minigrad_jax._src.lax import windowed_reductions as wr
from minigrad_jax._src.lax.reductions import max_identity, min_identity
from minigrad_jax.testing import check_grads

f32 = np.float32
RNG = np.random.default_rng(0)
X44 = (RNG.permutation(16).reshape(4, 4) / 4.0 - 2.0).astype(f32)  # distinct: no ties
X245 = (RNG.permutation(40).reshape(2, 4, 5) / 8.0 - 2.5).astype(f32)


def close(ours, theirs, tol=1e-5):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def same_jaxpr(f_ours, f_jax, *args):
    ours, theirs = str(mg.make_jaxpr(f_ours)(*args)), str(jax.make_jaxpr(f_jax)(*args))
    theirs = re.sub(r"np\.int64\((-?\d+)\)", r"\1", theirs)  # JAX's printer shows numpy ints
    # (which also moves its line breaks: compare up to whitespace)
    flat = lambda s: re.sub(r"\s+", " ", s).replace("[ ", "[").replace(" ]", "]")  # noqa: E731
    assert flat(ours) == flat(theirs), f"ours:\n{ours}\njax:\n{theirs}"


def maxpool(L, x, strides=(2, 2), padding="VALID"):
    return L.reduce_window(x, -np.inf, L.max, (2, 2), strides, padding)


def sumpool(L, x):
    return L.reduce_window(x, 0.0, L.add, (2, 2), (1, 2), [(1, 0), (0, 1)])


def loss(L, pool):
    return lambda x: L.reduce_sum(pool(L, x) ** 2, tuple(range(x.ndim)))


# ---------------------------------------------------------------------------
# derivatives


def test_check_grads_sum_pool_order2():
    check_grads(lambda x: sumpool(lax, x), (X44,), order=2)


def test_check_grads_max_pool_order2():
    check_grads(lambda x: maxpool(lax, x, (1, 1), "SAME"), (X44,), order=2)


def test_grad_of_max_pool_goes_to_each_windows_argmax():
    g = mg.grad(lambda x: lax.reduce_sum(maxpool(lax, x), (0, 1)))(X44)
    blocks = X44.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)
    expect = np.zeros((2, 2, 4), f32)
    expect[np.arange(2)[:, None], np.arange(2)[None, :], blocks.argmax(-1)] = 1.0
    close(g, expect.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4))
    close(g, jax.grad(lambda x: jnp.sum(maxpool(jlax, x)))(X44))


def test_grad_jaxprs_match_jax():
    # first and second derivatives of max pooling, sum pooling's transpose
    same_jaxpr(mg.grad(loss(lax, maxpool)), jax.grad(loss(jlax, maxpool)), X44)
    g2 = lambda G, L: G(lambda x: L.reduce_sum(G(loss(L, maxpool))(x), (0, 1)))  # noqa: E731
    same_jaxpr(g2(mg.grad, lax), g2(jax.grad, jlax), X44)
    close(g2(mg.grad, lax)(X44), g2(jax.grad, jlax)(X44))
    same_jaxpr(mg.grad(loss(lax, sumpool)), jax.grad(loss(jlax, sumpool)), X44)


def test_jvp_of_max_pool_with_dilations_matches_jax():
    def pool(L):
        return lambda x: L.reduce_window(
            x, -np.inf, L.max, (2, 2), (1, 2), "SAME", base_dilation=(2, 1), window_dilation=(1, 2)
        )

    t = RNG.standard_normal(X44.shape).astype(f32)
    ours = mg.jvp(pool(lax), (X44,), (t,))
    close(ours[1], jax.jvp(pool(jlax), (X44,), (t,))[1])
    same_jaxpr(
        lambda x, t: mg.jvp(pool(lax), (x,), (t,)),
        lambda x, t: jax.jvp(pool(jlax), (x,), (t,)),
        X44,
        t,
    )
    # as in JAX, the VJP of a window-dilated max pool is not implemented
    with pytest.raises(NotImplementedError, match="window dilation"):
        mg.grad(lambda x: lax.reduce_sum(pool(lax)(x), (0, 1)))(X44)


def test_generic_reduce_window_jvp_matches_jax_and_grad_raises():
    def prod_and_max(L):
        def comp(a, b):
            return L.mul(a[0], b[0]), L.max(a[1], b[1])

        return lambda x, y: L.reduce_window((x, y), (1.0, -np.inf), comp, (2, 2), (1, 1), "VALID")

    y = X44[::-1].copy()
    t = RNG.standard_normal(X44.shape).astype(f32)
    ours = mg.jvp(prod_and_max(lax), (X44, y), (t, t))
    theirs = jax.jvp(prod_and_max(jlax), (X44, y), (t, t))
    for o, j in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        close(o, j)
    same_jaxpr(
        lambda x, t: mg.jvp(lambda x: lax.reduce_window(x, 1.0, lax.mul, (2,), (1,)), (x,), (t,)),
        lambda x, t: jax.jvp(
            lambda x: jlax.reduce_window(x, 1.0, jlax.mul, (2,), (1,)), (x,), (t,)
        ),
        X44[0],
        t[0],
    )
    with pytest.raises(ValueError, match="Linearization failed"):
        mg.grad(lambda x: lax.reduce_sum(lax.reduce_window(x, 1.0, lax.mul, (2, 2)), (0, 1)))(X44)


# ---------------------------------------------------------------------------
# jit, vmap


def test_jit_of_max_pool_grad_lowers_like_jax():
    ours, theirs = mg.jit(mg.grad(loss(lax, maxpool))), jax.jit(jax.grad(loss(jlax, maxpool)))
    close(ours(X44), theirs(X44))
    ops = lambda text: re.findall(r"stablehlo\.[a-z_]+", text)  # noqa: E731
    ours_text = ours.lower(X44).as_text()
    assert "stablehlo.select_and_scatter" in ours_text
    assert ops(ours_text) == ops(theirs.lower(X44).as_text())


def test_vmap_matches_jax_and_a_loop():
    f = lambda L: lambda x: L.reduce_window(x, 0.0, L.add, (2, 2), (1, 1), "SAME")  # noqa: E731
    grads = lambda G, L: G(loss(L, maxpool))  # noqa: E731
    for ours, theirs in ((f(lax), f(jlax)), (grads(mg.grad, lax), grads(jax.grad, jlax))):
        batched = mg.vmap(ours, in_axes=1, out_axes=-1)(X245.transpose(1, 0, 2))
        close(batched, jax.vmap(theirs, in_axes=1, out_axes=-1)(X245.transpose(1, 0, 2)))
        close(batched, np.stack([ours(x) for x in X245], -1))


def test_vmap_and_jit_of_generic_multi_operand_match_jax():
    def f(L):
        def comp(a, b):
            return L.add(a[0], b[0]), L.mul(a[1], b[1])

        return lambda x, y: L.reduce_window((x, y), (0.0, 1.0), comp, (2, 2), (1, 2), "SAME")

    y = X245[::-1, :, 0].copy()
    ours = mg.vmap(f(lax), in_axes=(2, None))(X245, y)
    theirs = jax.vmap(f(jlax), in_axes=(2, None))(X245, y)
    for o, j in zip(ours, theirs):
        close(o, j)
    jitted = mg.jit(mg.vmap(f(lax), in_axes=(2, None)))(X245, y)
    for o, j in zip(jitted, theirs):
        close(o, j)
    loop = [f(lax)(X245[:, :, i], y) for i in range(5)]
    close(ours[0], np.stack([a for a, _ in loop]))


# ---------------------------------------------------------------------------
# the wrapper: monoid detection, pytrees, paddings, dtypes


@pytest.mark.parametrize(
    "init, comp, expect",
    [
        (-np.inf, jlax.max, "reduce_window_max"),  # jax.lax's max works with ours
        (np.float32(np.inf), lax.min, "reduce_window_min"),
        (0, lax.add, "reduce_window_sum"),
        (0.0, lax.max, "reduce_window"),  # not max's identity: the generic primitive
        (1.0, lax.add, "reduce_window"),
    ],
)
def test_monoid_detection_as_jax(init, comp, expect):
    jcomp = getattr(jlax, comp.__name__)
    ours = mg.make_jaxpr(lambda x: lax.reduce_window(x, init, comp, (2, 2)))(X44)
    theirs = jax.make_jaxpr(lambda x: jlax.reduce_window(x, init, jcomp, (2, 2)))(X44)
    assert [e.primitive.name for e in ours.eqns] == [expect]
    assert [e.primitive.name for e in theirs.eqns] == [expect]
    close(lax.reduce_window(X44, init, comp, (2, 2)), jlax.reduce_window(X44, init, jcomp, (2, 2)))


def test_pytree_operands_and_padding_names():
    ops = {"a": X44, "b": X44 * 2}
    init = {"a": 0.0, "b": -np.inf}

    def comp(L):
        return lambda x, y: {"a": L.add(x["a"], y["a"]), "b": L.max(x["b"], y["b"])}

    for padding in ("SAME", "SAME_LOWER", "VALID"):
        ours = lax.reduce_window(ops, init, comp(lax), (3, 2), (2, 1), padding)
        theirs = jlax.reduce_window(ops, init, comp(jlax), (3, 2), (2, 1), padding)
        assert sorted(ours) == ["a", "b"]
        close(ours["a"], theirs["a"])
        close(ours["b"], theirs["b"])


@pytest.mark.parametrize("dtype", [np.int32, np.bool_, np.float16])
def test_other_dtypes_like_jax(dtype):
    x = (X44 * 4).astype(dtype)
    for comp in ("max", "min"):
        init = max_identity(dtype) if comp == "max" else min_identity(dtype)
        ours = lax.reduce_window(x, init, getattr(lax, comp), (2, 2), (1, 1), "SAME")
        theirs = jlax.reduce_window(x, init, getattr(jlax, comp), (2, 2), (1, 1), "SAME")
        close(ours, theirs)
    if dtype != np.bool_:
        close(
            mg.jit(lambda x: lax.reduce_window(x, dtype(0), lax.add, (2, 2), (2, 2)))(x),
            jlax.reduce_window(x, dtype(0), jlax.add, (2, 2), (2, 2)),
        )


def test_empty_output_when_the_window_is_larger():
    ours = lax.reduce_window(X44, 0.0, lax.add, (5, 2), (1, 1), "VALID")
    assert ours.shape == jlax.reduce_window(X44, 0.0, jlax.add, (5, 2), (1, 1), "VALID").shape


def test_public_api_fallback_lowerings_agree():
    # The lowerings bind jax.lax's exported primitives; without them they go through
    # jax.jvp / jax.vjp of jax.lax.reduce_window: the same values.
    t = RNG.standard_normal(X44.shape).astype(f32)
    for sel in (elementwise.ge_p, elementwise.le_p):
        params = dict(
            select_prim=sel,
            window_dimensions=(2, 3),
            window_strides=(1, 2),
            padding=((1, 0), (1, 1)),
            base_dilation=(2, 1),
            window_dilation=(1, 2),
        )
        close(
            lowering.lowering_rules[wr.select_and_gather_add_p](t, X44, **params),
            wr.select_and_gather_add_via_jvp(t, X44, **params),
        )
        params = dict(
            select_prim=sel,
            window_dimensions=(2, 2),
            window_strides=(1, 2),
            padding=((1, 0), (0, 1)),
        )
        ct = RNG.standard_normal((4, 2)).astype(f32)
        close(
            lowering.lowering_rules[wr.select_and_scatter_add_p](ct, X44, **params),
            wr.select_and_scatter_add_via_vjp(ct, X44, **params),
        )


# ---------------------------------------------------------------------------
# errors

BAD = [
    (lambda: lax.reduce_window(X44, 0.0, lax.add, (2,)), TypeError, r"wrong number.*\(4, 4\)"),
    (
        lambda: lax.reduce_window(X44, 0.0, lax.add, (2, 2), (1,)),
        TypeError,
        r"inconsistent window_strides.*\(1,\).*\(2, 2\)",
    ),
    (
        lambda: lax.reduce_window(X44, 0.0, lax.add, (2, 2), (1, 1), [(0, 0)]),
        TypeError,
        r"inconsistent padding",
    ),
    (
        lambda: lax.reduce_window(X44, 0.0, lax.add, (2, 2), (1, 1), "VALID", (1, 1, 1)),
        TypeError,
        r"inconsistent base_dilation",
    ),
    (
        lambda: lax.reduce_window(X44, 0.0, lax.add, (2, 2), (1, 1), "VALID", None, (1,)),
        TypeError,
        r"inconsistent window_dilation",
    ),
    (
        lambda: lax.reduce_window(X44, 0.0, lax.add, (0, 2)),
        TypeError,
        r"window_dimensions.*positive",
    ),
    (
        lambda: lax.reduce_window(X44, 0.0, lax.max, (2, 2), (0, 1), [(0, 0), (0, 0)]),
        TypeError,
        r"window_strides.*positive",
    ),
    (lambda: lax.reduce_window(X44, 0.0, lax.add, (2, 2), (1, 1), "FULL"), RuntimeError, "padding"),
    (lambda: lax.reduce_window((X44,), 0.0, lax.add, (2, 2)), ValueError, "tree structure"),
    (lambda: lax.reduce_window((), (), lax.add, ()), ValueError, "at least one operand"),
    (
        lambda: lax.reduce_window(X44, np.int32(1), lax.mul, (2, 2)),
        TypeError,
        r"inconsistent dtypes.*float32.*int32",
    ),
    (
        lambda: lax.reduce_window(X44, np.ones(2, f32), lax.mul, (2, 2)),
        TypeError,
        r"init_values to be scalars.*\(2,\)",
    ),
    (
        lambda: lax.reduce_window(X44 > 0, False, lax.add, (2, 2)),
        TypeError,
        "reduce_window_sum must have a number dtype, got bool",
    ),
    (
        lambda: lax.reduce_window(X44, 1.0, lambda a, b: (a, b), (2, 2)),
        ValueError,
        "same tree structure as the operands",
    ),
]


@pytest.mark.parametrize("thunk, exc, match", BAD, ids=[b[2][:30] for b in BAD])
def test_bad_input_raises_jax_like_errors(thunk, exc, match):
    with pytest.raises(exc, match=match):
        thunk()
    with pytest.raises(exc, match=match):
        mg.make_jaxpr(thunk)()


def test_bad_primitive_params_are_typed_errors():
    with pytest.raises(TypeError, match=r"tangents and operand shapes must match.*\(4, 4\)"):
        wr.select_and_gather_add_p.bind(
            X44[:2],
            X44,
            select_prim=elementwise.ge_p,
            window_dimensions=(2, 2),
            window_strides=(1, 1),
            padding=((0, 0), (0, 0)),
            base_dilation=(1, 1),
            window_dilation=(1, 1),
        )
    with pytest.raises(TypeError, match=r"source shape \(2, 2\) must be the window output.*3, 3"):
        wr.select_and_scatter_add_p.bind(
            X44[:2, :2],
            X44,
            select_prim=elementwise.ge_p,
            window_dimensions=(2, 2),
            window_strides=(1, 1),
            padding=((0, 0), (0, 0)),
        )


# ---------------------------------------------------------------------------
# float64


def test_float64_in_a_subprocess():
    code = textwrap.dedent(
        """
        import jax, numpy as np
        from jax import lax as jlax
        import minigrad_jax as mg
        from minigrad_jax import lax
        x = (np.random.default_rng(0).permutation(20).reshape(4, 5) / 3.0).astype(np.float64)
        def loss(L):
            def f(x):
                m = L.reduce_window(x, -np.inf, L.max, (2, 2), (1, 2), "SAME")
                s = L.reduce_window(x, 0.0, L.add, (3, 2), (2, 1), [(1, 1), (0, 1)])
                return L.reduce_sum(m * m, (0, 1)) + L.reduce_sum(s * s, (0, 1))
            return f
        g, jg = mg.grad(loss(lax))(x), jax.grad(loss(jlax))(x)
        assert g.dtype == np.float64 and jg.dtype == np.float64, (g.dtype, jg.dtype)
        np.testing.assert_allclose(g, jg, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(mg.jit(mg.grad(loss(lax)))(x), jg, rtol=1e-12, atol=1e-12)
        print("ok")
        """
    )
    env = {**os.environ, "JAX_ENABLE_X64": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
