"""cond, switch, while_loop, fori_loop, scan and map against JAX under every transform."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import minigrad_jax as mg
from minigrad_jax._src.lax import control_flow as cf
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import reductions as red

TOL = dict(rtol=1e-5, atol=1e-6)


def close(a, b):
    jax.tree_util.tree_map(lambda x, y: np.testing.assert_allclose(x, y, **TOL), a, b)


def msum(x):
    return red.reduce_sum(x, tuple(range(np.ndim(x))))


xs3 = np.array([0.3, -1.2, 2.0], np.float32)


# ---------------------------------------------------------------------------
# cond / switch


def mg_cond(x):
    return cf.cond(ew.lt(x, 1.0), lambda y: ew.sin(y) * y, lambda y: y * y * y, x)


def jax_cond(x):
    return jlax.cond(x < 1.0, lambda y: jnp.sin(y) * y, lambda y: y**3, x)


@pytest.mark.parametrize("x", [0.5, 2.0])
def test_cond_value_jit_grad_jvp(x):
    want, want_grad = jax.jit(jax_cond)(x), jax.jit(jax.grad(jax_cond))(x)
    close(mg_cond(x), want)
    close(mg.jit(mg_cond)(x), want)
    close(mg.grad(mg_cond)(x), want_grad)
    close(mg.jvp(mg_cond, (x,), (1.5,)), jax.jit(partial(jax.jvp, jax_cond))((x,), (1.5,)))
    close(mg.jit(mg.grad(mg_cond))(x), want_grad)
    close(mg.grad(mg.jit(mg_cond))(x), want_grad)
    close(mg.grad(mg.grad(mg_cond))(x), jax.jit(jax.grad(jax.grad(jax_cond)))(x))


def test_cond_vmap_batched_predicate():
    close(mg.vmap(mg_cond)(xs3), jax.jit(jax.vmap(jax_cond))(xs3))
    close(mg.vmap(mg.grad(mg_cond))(xs3), jax.jit(jax.vmap(jax.grad(jax_cond)))(xs3))
    # the batched predicate becomes a select_n of both branches, as in JAX
    eqns = mg.make_jaxpr(mg.vmap(mg_cond))(xs3).jaxpr.eqns
    assert "select_n" in [e.primitive.name for e in eqns]
    assert "cond" not in [e.primitive.name for e in eqns]


def test_cond_vmap_unbatched_predicate():
    def f(p, x):
        return cf.cond(p, lambda y: y * 2.0, lambda y: ew.cos(y), x)

    def g(p, x):
        return jlax.cond(p, lambda y: y * 2.0, lambda y: jnp.cos(y), x)

    for p in (True, False):
        close(mg.vmap(f, (None, 0))(p, xs3), jax.jit(jax.vmap(g, (None, 0)))(p, xs3))
        close(
            mg.vmap(mg.grad(f, 1), (None, 0))(p, xs3),
            jax.jit(jax.vmap(jax.grad(g, 1), (None, 0)))(p, xs3),
        )
    eqns = mg.make_jaxpr(mg.vmap(f, (None, 0)))(True, xs3).jaxpr.eqns
    assert "cond" in [e.primitive.name for e in eqns]


def test_cond_pytrees_and_closure():
    w = np.float32(3.0)

    def f(x, y):
        return cf.cond(
            ew.gt(x, 0.0),
            lambda a: {"s": a[0] * w, "t": a[1]},
            lambda a: {"s": a[1], "t": a[0] * a[1]},
            (x, y),
        )

    def g(x, y):
        return jlax.cond(
            x > 0.0,
            lambda a: {"s": a[0] * w, "t": a[1]},
            lambda a: {"s": a[1], "t": a[0] * a[1]},
            (x, y),
        )

    for x in (1.0, -1.0):
        close(f(x, 2.0), jax.jit(g)(x, 2.0))
        close(
            mg.grad(lambda a, b: f(a, b)["t"] + f(a, b)["s"], (0, 1))(x, 2.0),
            jax.jit(jax.grad(lambda a, b: g(a, b)["t"] + g(a, b)["s"], (0, 1)))(x, 2.0),
        )


def test_cond_jaxpr_matches_jax():
    ours = mg.make_jaxpr(lambda p, x: cf.cond(p, lambda y: y + 1.0, lambda y: y * 2.0, x))
    theirs = jax.make_jaxpr(lambda p, x: jlax.cond(p, lambda y: y + 1.0, lambda y: y * 2.0, x))
    a, b = ours(True, 1.0).jaxpr, theirs(True, 1.0).jaxpr
    assert [e.primitive.name for e in a.eqns] == [str(e.primitive) for e in b.eqns]
    assert len(a.eqns[1].params["branches"]) == 2


def test_cond_mismatched_branches_error():
    with pytest.raises(
        TypeError,
        match=r"identical types.*false_fun output \(f32\[3\]\).*true_fun output \(f32\[\]",
    ):
        cf.cond(True, lambda x: x, lambda x: jnp.ones(3, jnp.float32), 1.0)


def test_switch():
    branches_mg = [lambda x: x + 1.0, lambda x: ew.sin(x), lambda x: x * x]
    branches_jax = [lambda x: x + 1.0, jnp.sin, lambda x: x * x]
    for i in (-1, 0, 1, 2, 5):
        close(cf.switch(i, branches_mg, 0.7), jax.jit(partial(jlax.switch, i, branches_jax))(0.7))
        close(
            mg.grad(lambda x, i=i: cf.switch(i, branches_mg, x))(0.7),
            jax.jit(jax.grad(lambda x, i=i: jlax.switch(i, branches_jax, x)))(0.7),
        )
    idx = np.array([0, 1, 2, 1], np.int32)
    xs = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    f = mg.vmap(lambda i, x: cf.switch(i, branches_mg, x))
    want = jax.jit(jax.vmap(lambda i, x: jlax.switch(i, branches_jax, x)))(idx, xs)
    close(f(idx, xs), want)
    close(mg.jit(f)(idx, xs), want)


# ---------------------------------------------------------------------------
# while_loop / fori_loop


def mg_while(x):
    return cf.while_loop(lambda c: ew.lt(c[0], 10.0), lambda c: (c[0] * c[1], c[1]), (x, x))[0]


def jax_while(x):
    return jlax.while_loop(lambda c: c[0] < 10.0, lambda c: (c[0] * c[1], c[1]), (x, x))[0]


def test_while_value_jit_jvp():
    for x in (2.0, 3.0, 1.5):
        want = jax.jit(jax_while)(x)
        close(mg_while(x), want)
        close(mg.jit(mg_while)(x), want)
        close(mg.jvp(mg_while, (x,), (1.0,)), jax.jit(partial(jax.jvp, jax_while))((x,), (1.0,)))


def test_while_vmap_batched_predicate():
    xs = np.array([2.0, 3.0, 1.5], np.float32)
    want = jax.jit(jax.vmap(jax_while))(xs)
    close(mg.vmap(mg_while)(xs), want)
    close(mg.jit(mg.vmap(mg_while))(xs), want)
    close(
        mg.vmap(lambda x: mg.jvp(mg_while, (x,), (1.0,))[1])(xs),
        jax.jit(jax.vmap(lambda x: jax.jvp(jax_while, (x,), (1.0,))[1]))(xs),
    )


def test_while_vmap_unbatched_predicate():
    def f(n, x):
        return cf.while_loop(lambda c: ew.lt(c[0], n), lambda c: (c[0] + 1, c[1] * 2.0), (0, x))[1]

    def g(n, x):
        return jlax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 2.0), (0, x))[1]

    close(mg.vmap(f, (None, 0))(3, xs3), jax.jit(jax.vmap(g, (None, 0)))(3, xs3))


def test_while_grad_error():
    with pytest.raises(
        ValueError, match="Reverse-mode differentiation does not work for lax.while_loop"
    ):
        mg.grad(mg_while)(2.0)
    with pytest.raises(ValueError, match="fori_loop with constant start/stop"):
        mg.grad(mg.jit(lambda x, n: cf.fori_loop(0, n, lambda i, c: c * x, x)))(2.0, 3)


def test_while_bad_cond():
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar"):
        cf.while_loop(lambda c: c, lambda c: c, 1.0)
    with pytest.raises(TypeError, match="carry output and carry input must have equal types"):
        cf.while_loop(lambda c: ew.lt(c, 1.0), lambda c: jnp.ones(2, jnp.float32), 0.0)


def test_fori_loop_static_is_scan_and_differentiable():
    def f(x):
        return cf.fori_loop(0, 4, lambda i, c: c * x + 1.0, x)

    def g(x):
        return jlax.fori_loop(0, 4, lambda i, c: c * x + 1.0, x)

    close(f(1.3), jax.jit(g)(1.3))
    close(mg.grad(f)(1.3), jax.jit(jax.grad(g))(1.3))
    close(mg.vmap(mg.grad(f))(xs3), jax.jit(jax.vmap(jax.grad(g)))(xs3))
    names = [e.primitive.name for e in mg.make_jaxpr(f)(1.3).jaxpr.eqns]
    assert names == [str(e.primitive) for e in jax.make_jaxpr(g)(1.3).jaxpr.eqns] == ["scan"]


def test_fori_loop_traced_bounds_is_while():
    def f(n, x):
        return cf.fori_loop(0, n, lambda i, c: c * 2.0, x)

    close(mg.jit(f)(3, 1.5), jax.jit(partial(jlax.fori_loop, 0, 3, lambda i, c: c * 2.0))(1.5))
    names = [e.primitive.name for e in mg.make_jaxpr(f)(3, 1.5).jaxpr.eqns]
    assert "while" in names


# ---------------------------------------------------------------------------
# scan / map


def mg_scan(c0, xs, w):
    def body(c, x):
        h = ew.tanh(c * w + x)
        return h, h * x

    c, ys = cf.scan(body, c0, xs)
    return msum(ys) + msum(c)


def jax_scan(c0, xs, w):
    def body(c, x):
        h = jnp.tanh(c * w + x)
        return h, h * x

    c, ys = jlax.scan(body, c0, xs)
    return ys.sum() + c.sum()


rng = np.random.RandomState(0)
C0 = rng.randn(2).astype(np.float32)
XS = rng.randn(5, 2).astype(np.float32)
W = rng.randn(2).astype(np.float32)


def test_scan_value_jit_grad_jvp():
    want = jax.jit(jax_scan)(C0, XS, W)
    want_grad = jax.jit(jax.grad(jax_scan, (0, 1, 2)))(C0, XS, W)
    close(mg_scan(C0, XS, W), want)
    close(mg.jit(mg_scan)(C0, XS, W), want)
    close(mg.grad(mg_scan, (0, 1, 2))(C0, XS, W), want_grad)
    close(mg.jit(mg.grad(mg_scan, (0, 1, 2)))(C0, XS, W), want_grad)
    t = (np.ones(2, np.float32), XS * 0.5, W * 0.0 + 1.0)
    close(mg.jvp(mg_scan, (C0, XS, W), t), jax.jit(partial(jax.jvp, jax_scan))((C0, XS, W), t))
    # only xs differentiated: the carry tangent comes from xs through the fixpoint
    close(mg.grad(mg_scan, 1)(C0, XS, W), jax.jit(jax.grad(jax_scan, 1))(C0, XS, W))


def test_scan_reverse_length_and_pytrees():
    def f(x):
        (a, b), ys = cf.scan(
            lambda c, _: ((c[1], c[0] * x), {"y": c[0]}), (x, 1.0), None, length=4, reverse=True
        )
        return a + b + msum(ys["y"])

    def g(x):
        (a, b), ys = jlax.scan(
            lambda c, _: ((c[1], c[0] * x), {"y": c[0]}), (x, 1.0), None, length=4, reverse=True
        )
        return a + b + ys["y"].sum()

    close(f(1.7), jax.jit(g)(1.7))
    close(mg.grad(f)(1.7), jax.jit(jax.grad(g))(1.7))
    rev = lambda xs: cf.scan(lambda c, x: (c + x, c), 0.0, xs, reverse=True)  # noqa: E731
    jrev = lambda xs: jlax.scan(lambda c, x: (c + x, c), 0.0, xs, reverse=True)  # noqa: E731
    close(rev(XS[:, 0]), jax.jit(jrev)(XS[:, 0]))


def test_scan_vmap():
    cs = rng.randn(3, 2).astype(np.float32)
    xss = rng.randn(3, 5, 2).astype(np.float32)
    close(
        mg.vmap(mg_scan, (0, 0, None))(cs, xss, W),
        jax.jit(jax.vmap(jax_scan, (0, 0, None)))(cs, xss, W),
    )
    close(
        mg.vmap(mg_scan, (None, 1, 0))(C0, xss.transpose(1, 0, 2), cs),
        jax.jit(jax.vmap(jax_scan, (None, 1, 0)))(C0, xss.transpose(1, 0, 2), cs),
    )
    close(
        mg.vmap(mg.grad(mg_scan, 2), (None, 0, None))(C0, xss, W),
        jax.jit(jax.vmap(jax.grad(jax_scan, 2), (None, 0, None)))(C0, xss, W),
    )


def test_scan_second_order():
    f = lambda w: mg_scan(C0, XS, w * 1.0)  # noqa: E731
    g = lambda w: jax_scan(C0, XS, w * 1.0)  # noqa: E731
    v = np.ones(2, np.float32)
    close(mg.jvp(mg.grad(f), (W,), (v,))[1], jax.jit(partial(jax.jvp, jax.grad(g)))((W,), (v,))[1])


def test_scan_lowers_to_one_loop_and_jaxpr_matches():
    closed = mg.make_jaxpr(mg_scan)(C0, XS, W)
    assert [e.primitive.name for e in closed.jaxpr.eqns].count("scan") == 1
    scan_eqn = next(e for e in closed.jaxpr.eqns if e.primitive.name == "scan")
    jeqn = next(e for e in jax.make_jaxpr(jax_scan)(C0, XS, W).eqns if str(e.primitive) == "scan")
    assert set(scan_eqn.params) == set(jeqn.params)
    for k in ("length", "reverse", "num_consts", "num_carry", "unroll"):
        assert scan_eqn.params[k] == jeqn.params[k], k
    text = mg.jit(mg_scan).lower(C0, XS, W).as_text()
    assert "while" in text  # a loop in HLO, not an unrolled program


def test_scan_errors():
    with pytest.raises(TypeError, match="carry output and carry input must have equal types"):
        cf.scan(lambda c, x: (jnp.ones(2, jnp.float32), x), 0.0, XS)
    with pytest.raises(ValueError, match="different leading axis sizes"):
        cf.scan(lambda c, x: (c, x), 0.0, (XS, XS[:3]))
    with pytest.raises(ValueError, match="length"):
        cf.scan(lambda c, x: (c, x), 0.0, None)


def test_map():
    close(
        cf.map(lambda x: ew.sin(x) * 2.0, XS),
        jax.jit(partial(jlax.map, lambda x: jnp.sin(x) * 2.0))(XS),
    )
    close(
        mg.grad(lambda xs: msum(cf.map(ew.sin, xs)))(XS),
        jax.jit(jax.grad(lambda xs: jlax.map(jnp.sin, xs).sum()))(XS),
    )


# ---------------------------------------------------------------------------
# nesting and Python control flow


def _nested_pair():
    def f(x):
        def inner(y):
            return msum(cf.scan(lambda c, v: (ew.sin(c) * v, c), y, XS[:, 0])[1])

        return cf.cond(ew.gt(x, 0.0), inner, lambda y: y * y, x)

    def g(x):
        def inner(y):
            return jlax.scan(lambda c, v: (jnp.sin(c) * v, c), y, XS[:, 0])[1].sum()

        return jlax.cond(x > 0.0, inner, lambda y: y * y, x)

    return f, g


def test_nested_scan_in_cond_in_jit_under_grad():
    f, g = _nested_pair()
    for x in (0.5, -0.7, 1.3):
        want = jax.jit(jax.grad(g))(x)
        close(mg.grad(mg.jit(f))(x), want)
        close(mg.jit(mg.grad(f))(x), want)


def test_nested_scan_in_cond_in_jit_under_vmap_grad():
    f, g = _nested_pair()
    xs = np.array([0.5, -0.7, 1.3], np.float32)
    want = jax.jit(jax.vmap(jax.grad(g)))(xs)
    close(mg.vmap(mg.grad(mg.jit(f)))(xs), want)
    close(mg.jit(mg.vmap(mg.grad(f)))(xs), want)


def test_python_control_flow_on_concrete_values_under_grad():
    def f(x):
        if ew.gt(x, 0.0):  # concrete under grad: the primal is known
            return x * x
        for _ in range(3):
            x = x * 2.0
        return x

    assert float(mg.grad(f)(3.0)) == 6.0
    assert float(mg.grad(f)(-1.0)) == 8.0


# ---------------------------------------------------------------------------
# examples/rnn_scan.py against the same model in pure JAX + Optax


def test_rnn_scan_example_matches_jax():
    import importlib.util
    import os

    import optax

    path = os.path.join(os.path.dirname(__file__), "..", "examples", "rnn_scan.py")
    spec = importlib.util.spec_from_file_location("rnn_scan_example", path)
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)

    def jax_loss(params, xs, ys):
        def step(h, x):
            h = jnp.tanh(x @ params["w_xh"] + params["b_h"] + h @ params["w_hh"])
            return h, h @ params["w_hy"] + params["b_y"]

        h0 = jnp.zeros((xs.shape[1], params["w_hh"].shape[0]), jnp.float32)
        _, preds = jlax.scan(step, h0, xs)
        return jnp.mean((preds - ys) ** 2)

    steps, seed = 20, 3
    xs, ys = ex.make_data(seed)
    params = ex.init_params(seed)
    opt = optax.adam(ex.LEARNING_RATE)
    state = opt.init(params)
    vg = jax.jit(jax.value_and_grad(jax_loss))
    want = []
    for _ in range(steps):
        loss, grads = vg(params, xs, ys)
        updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        want.append(float(loss))
    got = ex.main(steps=steps, seed=seed)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert got[-1] < got[0] * 0.5  # it learns
