"""Eager autodiff replays each rule's recorded run (interpreters/ad.py).

Under eager grad/vjp/linearize the first run of a JVP rule (and, in the backward
pass at the top level, of a transpose rule) for given operand types is recorded and
later runs replay it. Whatever is replayed must equal the rule run as
written: the linear jaxpr (text and source lines), its residuals, and every value,
bit for bit; and both must agree with JAX.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from op_table import OPS, is_float, sample

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src.interpreters import ad, lowering

DIFF = [s for s in OPS if s.shapes and s.grad and any(is_float(d) for d in s.dtypes)]


def _on_floats(spec, args):
    pos = [i for i, d in enumerate(spec.dtypes) if is_float(d)]

    def f(*floats):
        full = list(args)
        for i, a in zip(pos, floats, strict=True):
            full[i] = a
        return spec.fn(*full)

    return f, [args[i] for i in pos]


def _run(f, primals):
    """Everything eager linearize and vjp give: outputs, the linear jaxpr's text, its
    equations' source lines, its residuals, a JVP and a VJP."""
    out, f_jvp = mg.linearize(f, *primals)
    lin = f_jvp.jaxpr
    rng = np.random.default_rng(3)
    tangents = [rng.standard_normal(np.shape(p)).astype(np.asarray(p).dtype) for p in primals]
    jvp_out = f_jvp(*tangents)
    out2, f_vjp = mg.vjp(f, *primals)
    ct = jax.tree_util.tree_map(
        lambda o: (
            rng.standard_normal(o.shape).astype(o.dtype)
            if is_float(o.dtype)
            else np.zeros(o.shape, jax.dtypes.float0)
        ),
        out2,
    )
    return {
        "out": out,
        "jaxpr": str(lin),
        "lines": [str(e.source_info) for e in lin.jaxpr.eqns],
        "residuals": list(lin.consts),
        "jvp": jvp_out,
        "vjp": f_vjp(ct),
    }


def _assert_same(got, want, what):
    assert got["jaxpr"] == want["jaxpr"], f"{what}: linear jaxpr differs"
    assert got["lines"] == want["lines"], f"{what}: source lines differ"
    for key in ("out", "residuals", "jvp", "vjp"):
        g, w = jax.tree_util.tree_leaves(got[key]), jax.tree_util.tree_leaves(want[key])
        assert len(g) == len(w), f"{what}: {key}"
        for a, b in zip(g, w):
            a, b = np.asarray(a), np.asarray(b)
            assert (a.dtype, a.shape) == (b.dtype, b.shape), f"{what}: {key}"
            if a.dtype != jax.dtypes.float0:
                np.testing.assert_array_equal(a, b, err_msg=f"{what}: {key}")


@pytest.fixture
def as_written(monkeypatch):
    """Run a block with every rule run as written (no recording, no replay)."""

    def run(fn, *args):
        with monkeypatch.context() as m:
            m.setattr(ad, "replay_rule", lambda *a: None)
            m.setattr(ad, "replay_transpose", lambda *a: None)
            return fn(*args)

    return run


@pytest.mark.parametrize("spec", DIFF, ids=[s.name for s in DIFF])
def test_replay_matches_the_rule_as_written(spec, as_written):
    f, primals = _on_floats(spec, sample(spec))
    want = as_written(_run, f, primals)
    ad._programs.clear()
    recorded = _run(f, primals)
    replayed = _run(f, primals)
    _assert_same(recorded, want, f"{spec.name} (recorded)")
    _assert_same(replayed, want, f"{spec.name} (replayed)")
    # and a second sample through the same programs
    f2, primals2 = _on_floats(spec, sample(spec, seed=7))
    _assert_same(_run(f2, primals2), as_written(_run, f2, primals2), f"{spec.name} (seed 7)")


# Rules that must be replayed, not rerun: (function, operands, primitive name).
REPLAYED = [
    (lax.sin, (np.float32([0.5, 1.5]),), "sin"),
    (lax.tanh, (np.float32([0.5, 1.5]),), "tanh"),
    (lax.mul, (np.float32([0.5, 1.5]), np.float32([2.0, 3.0])), "mul"),
    (lax.div, (np.float32([0.5, 1.5]), np.float32([2.0, 3.0])), "div"),
    (lax.pow, (np.float32([0.5, 1.5]), np.float32([2.0, 3.0])), "pow"),
    (lambda x: lax.reduce_sum(x, (0,)), (np.ones((3, 2), np.float32),), "reduce_sum"),
    (lambda a, b: a @ b, (np.ones((3, 2), np.float32), np.ones((2, 4), np.float32)), "dot_general"),
    (lambda x: mnp.exp(x) * 2.0, (np.float32([0.5, 1.5]),), "exp"),
]


def _count_calls(monkeypatch, rules, name):
    """Replace the rule of primitive ``name`` in ``rules`` by one that counts its runs;
    no program is recorded yet. Returns (primitive, list of calls)."""
    prim = next(p for p in rules if p.name == name)
    rule, calls = rules[prim], []

    def counting(*args, **kwargs):
        calls.append(1)
        return rule(*args, **kwargs)

    monkeypatch.setitem(rules, prim, counting)
    ad._programs.clear()
    return prim, calls


@pytest.mark.parametrize("fn,args,name", REPLAYED, ids=[r[2] for r in REPLAYED])
def test_rules_are_replayed_not_rerun(fn, args, name, monkeypatch):
    prim, calls = _count_calls(monkeypatch, ad.jvp_rules, name)
    g1 = mg.grad(lambda *xs: fn(*xs).sum(), argnums=tuple(range(len(args))))(*args)
    recorded = len(calls)
    assert recorded >= 1
    g2 = mg.grad(lambda *xs: fn(*xs).sum(), argnums=tuple(range(len(args))))(*args)
    assert len(calls) == recorded  # replayed: the rule did not run again
    assert any(k[0] is prim and isinstance(v, ad._Program) for k, v in ad._programs.items())
    jfn = {"sin": jax.lax.sin, "tanh": jax.lax.tanh, "mul": jax.lax.mul, "div": jax.lax.div}
    if name in jfn:
        want = jax.grad(lambda *xs: jfn[name](*xs).sum(), argnums=tuple(range(len(args))))(*args)
        for a, b, c in zip(g1, g2, want):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_allclose(a, c, rtol=1e-6)


def test_an_operand_passed_twice(as_written):
    x, y = np.float32([0.5, 1.5, -2.0]), np.float32([3.0, -1.0, 0.25])

    def both(a, b):
        return (lax.mul(a, b) + lax.atan2(a, b)).sum()

    def jboth(a, b):
        return (jax.lax.mul(a, b) + jax.lax.atan2(a, b)).sum()

    for order in ((x, y), (x, x), (y, y), (y, x)):
        ad._programs.clear()
        for a, b in (order, (x, y), (x, x)):
            got = mg.grad(both, argnums=(0, 1))(a, b)
            want = jax.grad(jboth, argnums=(0, 1))(a, b)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-6)
            ref = as_written(mg.grad(both, argnums=(0, 1)), a, b)
            for g, r in zip(got, ref):
                np.testing.assert_array_equal(g, r)
        # x * x: one operand twice, through the same function
        sq = mg.grad(lambda a: lax.mul(a, a).sum())(x)
        np.testing.assert_allclose(sq, jax.grad(lambda a: jax.lax.mul(a, a).sum())(x), rtol=1e-6)


def test_python_scalars_and_signed_zeros():
    x = jnp.float32([0.5, 1.5, -2.0])
    ad._programs.clear()
    for c in (2.0, 3.0, 0.0, -0.0, float("inf"), 2, True):

        def f(v, c=c):
            return lax.pow(v * c, 2.0).sum() + lax.mul(v, float(c)).sum()

        def jf(v, c=c):
            return jax.lax.pow(v * c, 2.0).sum() + jax.lax.mul(v, float(c)).sum()

        got, want = mg.grad(f)(x), jax.grad(jf)(x)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_weak_and_strong_operands_are_told_apart():
    x = jnp.float32([0.5, 1.5])
    for scale in (np.float32(3.0), jnp.float32(3.0), 3.0, np.float16(3.0)):
        got = mg.grad(
            lambda v, s=scale: (mnp.asarray(v, mnp.float16) * s).astype(mnp.float32).sum()
        )(x)
        want = jax.grad(
            lambda v, s=scale: (jnp.asarray(v, jnp.float16) * s).astype(jnp.float32).sum()
        )(x)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_x64_is_part_of_the_key():
    was = jax.config.jax_enable_x64
    try:
        for flag in (False, True, False):
            jax.config.update("jax_enable_x64", flag)
            x = jnp.asarray([0.5, 1.5])
            got = mg.grad(lambda v: (lax.sin(v) * 1.5 + 2).sum())(x)
            want = jax.grad(lambda v: (jax.lax.sin(v) * 1.5 + 2).sum())(x)
            assert got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=1e-12 if flag else 1e-6)
    finally:
        jax.config.update("jax_enable_x64", was)


def test_a_rule_reading_an_array_it_did_not_compute_runs_as_written():
    # A primitive whose JVP rule closes over a device array: its run cannot be replayed
    # (the array is not one of its operands), so it is marked and rerun every time.
    scale = jnp.float32(3.0)
    prim = core.Primitive("scaled_sin_for_test")
    core.abstract_eval_rules[prim] = lambda x: x
    ad.jvp_rules[prim] = lambda primals, tangents: (
        prim.bind(primals[0]),
        lax.mul(tangents[0], lax.mul(lax.cos(primals[0]), scale)),
    )
    lowering.register(prim, lambda x: jax.lax.sin(x) * 3.0)
    try:
        x = jnp.float32([0.5, 1.5])
        for _ in range(3):
            got = mg.grad(lambda v: prim.bind(v).sum())(x)
            np.testing.assert_allclose(got, 3.0 * np.cos(np.float32([0.5, 1.5])), rtol=1e-6)
        keys = [k for k in ad._programs if k[0] is prim]
        assert keys and all(ad._programs[k] is False for k in keys)
    finally:
        for table in (core.abstract_eval_rules, core.impl_rules, ad.jvp_rules):
            table.pop(prim, None)


def test_a_failing_rule_stores_nothing_and_fails_again():
    ad._programs.clear()
    x = jnp.float32([0.5, 1.5])
    for _ in range(2):
        with pytest.raises(TypeError):
            mg.grad(lambda v: lax.add(v, jnp.ones(3, jnp.float32)).sum())(x)


def test_higher_order_and_nested_transforms_are_unchanged(as_written):
    x = jnp.float32([0.5, 1.5, -0.3])

    def f(v):
        y = mg.jit(lambda u: lax.sin(u) * 2.0)(v)
        return (lax.tanh(y) * mg.grad(lambda u: (lax.cos(u) * u).sum())(v)).sum()

    def jf(v):
        y = jax.jit(lambda u: jax.lax.sin(u) * 2.0)(v)
        return (jax.lax.tanh(y) * jax.grad(lambda u: (jax.lax.cos(u) * u).sum())(v)).sum()

    for _ in range(2):
        got = mg.grad(f)(x)
        np.testing.assert_allclose(got, jax.grad(jf)(x), rtol=1e-5)
        np.testing.assert_array_equal(got, as_written(mg.grad(f), x))
    # under jit and vmap (staged: not replayed), and jacfwd over grad
    np.testing.assert_allclose(mg.jit(mg.grad(f))(x), jax.jit(jax.grad(jf))(x), rtol=1e-5)
    np.testing.assert_allclose(
        mg.vmap(mg.grad(lambda v: lax.sin(v) * v))(x),
        jax.vmap(jax.grad(lambda v: jax.lax.sin(v) * v))(x),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        mg.jacfwd(mg.grad(lambda v: (lax.sin(v) * v).sum()))(x),
        jax.jacfwd(jax.grad(lambda v: (jax.lax.sin(v) * v).sum()))(x),
        rtol=1e-5,
    )


def test_transpose_rules_are_replayed_where_they_do_more_than_one_bind(monkeypatch, as_written):
    a, b = np.ones((3, 2), np.float32), np.arange(8, dtype=np.float32).reshape(2, 4)
    prim, calls = _count_calls(monkeypatch, ad.transpose_rules, "dot_general")

    def f(x, y):
        return (lax.tanh(x @ y) * 2.0).sum()

    g1 = mg.grad(f, argnums=(0, 1))(a, b)
    recorded = len(calls)
    assert recorded >= 1
    g2 = mg.grad(f, argnums=(0, 1))(a, b)
    assert len(calls) == recorded  # replayed
    ref = as_written(mg.grad(f, argnums=(0, 1)), a, b)
    want = jax.grad(lambda x, y: (jax.lax.tanh(x @ y) * 2.0).sum(), argnums=(0, 1))(a, b)
    for x1, x2, r, w in zip(g1, g2, ref, want):
        np.testing.assert_array_equal(x1, r)
        np.testing.assert_array_equal(x2, r)
        np.testing.assert_allclose(x1, w, rtol=1e-6)
    # mul's transpose is one bind: it runs as written, and is never given a program
    mg.grad(lambda x: lax.mul(x, x).sum())(np.float32([1.0, 2.0]))
    mul = next(p for p in ad.transpose_rules if p.name == "mul")
    assert mul in ad._light_transposes
    assert not any(k[0] is mul and ad.UndefinedPrimal in k for k in ad._programs)


def test_backward_under_a_trace_is_not_replayed():
    # jit(grad): the backward pass runs under a staging trace, where each transpose
    # rule runs as written and its equations keep their source lines.
    x = np.float32([0.5, 1.5])

    def f(v):
        return (lax.tanh(v) @ lax.sin(v)) * 3.0

    got = mg.jit(mg.grad(f))(x)
    want = jax.jit(jax.grad(lambda v: (jax.lax.tanh(v) @ jax.lax.sin(v)) * 3.0))(x)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    text = str(mg.make_jaxpr(mg.grad(f))(x))
    assert text == str(mg.make_jaxpr(mg.grad(f))(x))
