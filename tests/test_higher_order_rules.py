"""The rule kit for jaxpr-carrying primitives, against JAX.

Every higher-order primitive (jit, checkpoint, cond, switch, while, scan,
custom_jvp, custom_vjp) under forward mode over reverse mode (jacfwd, hessian,
jvp of grad), under vmap with unmapped outputs (out_axes=None), and with
dead code pruned inside the equation.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.interpreters import partial_eval as pe

TOL = dict(rtol=2e-5, atol=2e-6)


def close(a, b):
    jax.tree_util.tree_map(lambda x, y: np.testing.assert_allclose(x, y, **TOL), a, b)


def jax_jit_all(*fns):
    """JAX's ``(f(x) for f in fns)`` as one jitted program: one compile, where JAX's eager
    transforms compile each of their operations."""
    return jax.jit(lambda x: tuple(f(x) for f in fns))


class Lib:
    """One program, written once, run through either library."""

    def __init__(self, mod, np_, lax):
        self.mod, self.np, self.lax = mod, np_, lax


MG = Lib(mg, mnp, mg.lax)
JX = Lib(jax, jnp, jax.lax)


def p_cond(L, x):
    return L.lax.cond(x > 0.5, lambda y: L.np.sin(y) * y, lambda y: y * y * y, x)


def p_switch(L, x):
    branches = [lambda y: L.np.cos(y), lambda y: y * L.np.exp(y), lambda y: y**3]
    return L.lax.switch(2, branches, x) + L.lax.switch(1, branches, x)


def p_while(L, x):
    def body(c):
        i, v = c
        return i + 1, L.np.sin(v) * x

    return L.lax.while_loop(lambda c: c[0] < 3, body, (0, x))[1]


def p_fori_static(L, x):
    return L.lax.fori_loop(0, 4, lambda i, c: L.np.sin(c) * x + 0.1, x)


def p_scan(L, x):
    def body(c, xi):
        return c * L.np.cos(xi) + x, c * xi

    c, ys = L.lax.scan(body, x, L.np.arange(3.0) * x)
    return c + L.np.sum(ys * ys)


def p_jit(L, x):
    return L.mod.jit(lambda y: L.np.sin(y) * L.np.exp(y))(x) * x


def p_checkpoint(L, x):
    return L.mod.checkpoint(lambda y: L.np.sin(L.np.sin(y)) * y)(x)


def _custom_jvp(L):
    @L.mod.custom_jvp
    def f(x):
        return L.np.log1p(L.np.exp(x))

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), t * (1.0 - 1.0 / (1.0 + L.np.exp(x)))

    return f


def p_custom_jvp(L, x):
    return _custom_jvp(L)(x * x) * x


def p_nested(L, x):
    # a scan inside a cond inside a jit
    def inner(y):
        return L.lax.scan(lambda c, _: (L.np.sin(c) * y, c), y, None, length=3)[0]

    return L.mod.jit(lambda y: L.lax.cond(y > 0.0, inner, lambda z: z * z, y))(x)


FORWARD_OVER_REVERSE = {
    "cond": p_cond,
    "switch": p_switch,
    "fori_static": p_fori_static,
    "scan": p_scan,
    "jit": p_jit,
    "checkpoint": p_checkpoint,
    "custom_jvp": p_custom_jvp,
    "nested": p_nested,
}
X0 = 0.7


@pytest.mark.parametrize("name", sorted(FORWARD_OVER_REVERSE))
def test_jacfwd_hessian_and_jvp_of_grad(name):
    prog = FORWARD_OVER_REVERSE[name]
    f, fj = (lambda x: prog(MG, x)), (lambda x: prog(JX, x))
    want = jax_jit_all(
        lambda x: jax.jacfwd(fj)(x),
        lambda x: jax.hessian(fj)(x),
        lambda x: jax.jvp(jax.grad(fj), (x,), (1.0,)),
        lambda x: jax.grad(jax.grad(fj))(x),
    )(X0)
    close(mg.jacfwd(f)(X0), want[0])
    close(mg.hessian(f)(X0), want[1])
    close(mg.jvp(mg.grad(f), (X0,), (1.0,)), want[2])
    close(mg.grad(mg.grad(f))(X0), want[3])


def test_while_forward_mode_to_second_order():
    f, fj = (lambda x: p_while(MG, x)), (lambda x: p_while(JX, x))
    want = jax_jit_all(
        lambda x: jax.jacfwd(fj)(x),
        lambda x: jax.jacfwd(jax.jacfwd(fj))(x),
        lambda x: jax.jvp(fj, (x,), (1.0,)),
    )(X0)
    close(mg.jacfwd(f)(X0), want[0])
    close(mg.jacfwd(mg.jacfwd(f))(X0), want[1])
    close(mg.jvp(f, (X0,), (1.0,)), want[2])


def test_custom_vjp_jacrev_and_forward_error_as_jax():
    def make(L):
        @L.mod.custom_vjp
        def g(x):
            return L.np.sin(x)

        g.defvjp(lambda x: (g(x), L.np.cos(x)), lambda r, ct: (3.0 * ct * r,))
        return g

    g, gj = make(MG), make(JX)
    close(mg.jacrev(g)(X0), jax.jit(jax.jacrev(gj))(X0))
    with pytest.raises(TypeError, match="forward-mode"):
        jax.jacfwd(gj)(X0)
    with pytest.raises(TypeError, match="forward-mode"):
        mg.jacfwd(g)(X0)


# ---------------------------------------------------------------------------
# vmap: outputs that do not depend on a mapped input stay unmapped


def two_outputs(prog):
    """(mapped output from x, unmapped output from the unmapped y)."""
    return lambda L: lambda x, y: (prog(L, x), prog(L, y))


UNMAPPED = {name: two_outputs(p) for name, p in FORWARD_OVER_REVERSE.items()}
UNMAPPED["while"] = two_outputs(p_while)


def _custom_vjp_two(L):
    @L.mod.custom_vjp
    def g(x):
        return L.np.sin(x)

    g.defvjp(lambda x: (g(x), L.np.cos(x)), lambda r, ct: (ct * r,))
    return lambda x, y: (g(x), g(y))


UNMAPPED["custom_vjp"] = _custom_vjp_two


@pytest.mark.parametrize("name", sorted(UNMAPPED))
def test_vmap_out_axes_none_for_unmapped_outputs(name):
    xs = np.linspace(0.1, 0.9, 4).astype(np.float32)
    ours = mg.vmap(UNMAPPED[name](MG), in_axes=(0, None), out_axes=(0, None))(xs, X0)
    theirs = jax.jit(jax.vmap(UNMAPPED[name](JX), in_axes=(0, None), out_axes=(0, None)))(xs, X0)
    assert np.shape(ours[1]) == np.shape(theirs[1]) == ()
    close(ours, theirs)


@pytest.mark.parametrize("name", ["scan", "while", "fori_static"])
def test_vmap_keeps_unbatched_loop_carries_unbatched(name):
    prog = {"scan": p_scan, "while": p_while, "fori_static": p_fori_static}[name]

    def f(L):
        return lambda x, y: prog(L, y) + 0.0 * x

    xs = np.linspace(0.1, 0.9, 4).astype(np.float32)
    close(mg.vmap(f(MG), (0, None))(xs, X0), jax.jit(jax.vmap(f(JX), (0, None)))(xs, X0))
    jaxpr = mg.make_jaxpr(mg.vmap(lambda y: prog(MG, y), axis_size=4, in_axes=None))(X0)
    # nothing is mapped, so the loop runs unbatched (no carry broadcast to the batch size)
    loops = [e for e in jaxpr.jaxpr.eqns if e.primitive.name in ("scan", "while")]
    assert loops and all(4 not in v.aval.shape for e in loops for v in e.invars + e.outvars)


# ---------------------------------------------------------------------------
# dead code inside higher-order equations


def _eqn_of(jaxpr, name):
    (eqn,) = [e for e in jaxpr.eqns if e.primitive.name == name]
    return eqn


def _prims(closed):
    return [e.primitive.name for e in closed.jaxpr.eqns]


def _dce_first_output(fn, x, name):
    closed = mg.make_jaxpr(fn)(x)
    pruned = pe.dce_jaxpr(closed.jaxpr, [True, False])
    return _eqn_of(closed.jaxpr, name), _eqn_of(pruned, name), closed, pruned


def test_dce_prunes_inside_jit_and_checkpoint():
    for name, wrap in [("jit", mg.jit), ("remat2", mg.checkpoint)]:
        fn = wrap(lambda x: (mnp.sin(x), mnp.cos(mnp.exp(x))))
        before, after, closed, pruned = _dce_first_output(fn, 0.3, name)
        assert len(after.outvars) == 1 and _prims(after.params["jaxpr"]) == ["sin"]
        assert "cos" in _prims(before.params["jaxpr"])
        out = mg._src.ir.eval_jaxpr(pruned, closed.consts, 0.3)
        close(out, [np.sin(np.float32(0.3))])


def test_dce_prunes_cond_branches_and_operands():
    def fn(p, x, y):
        return mg.lax.cond(p, lambda a, b: (a * 2.0, b * 3.0), lambda a, b: (a + 1.0, b), x, y)

    closed = mg.make_jaxpr(fn)(True, 1.0, 2.0)
    pruned = pe.dce_jaxpr(closed.jaxpr, [True, False], prune_invars=True)[0]
    eqn = _eqn_of(pruned, "cond")
    assert len(eqn.outvars) == 1 and len(eqn.invars) == 2  # index and x only
    for b in eqn.params["branches"]:
        assert len(b.jaxpr.outvars) == 1 and len(b.jaxpr.invars) == 1


def test_dce_prunes_scan_ys_and_dead_carries():
    def fn(x):
        def body(c, xi):
            a, b = c
            return (a * xi, b + mnp.sin(xi)), mnp.cos(xi) * a

        (a, b), ys = mg.lax.scan(body, (x, x), mnp.arange(3.0))
        return a, b, ys

    closed = mg.make_jaxpr(fn)(1.5)
    pruned = pe.dce_jaxpr(closed.jaxpr, [True, False, False])
    eqn = _eqn_of(pruned, "scan")
    assert eqn.params["num_carry"] == 1 and len(eqn.outvars) == 1
    assert "sin" not in _prims(eqn.params["jaxpr"]) and "cos" not in _prims(eqn.params["jaxpr"])
    want = jax.lax.scan(lambda a, xi: (a * xi, None), 1.5, jnp.arange(3.0))[0]
    close(mg._src.ir.eval_jaxpr(pruned, closed.consts, 1.5), [want])


def test_dce_keeps_what_a_while_predicate_reads():
    def fn(x):
        return mg.lax.while_loop(
            lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 2.0, mnp.sin(c[2])), (0, x, x)
        )

    closed = mg.make_jaxpr(fn)(1.0)
    pruned = pe.dce_jaxpr(closed.jaxpr, [False, True, False])
    eqn = _eqn_of(pruned, "while")
    # the counter stays (the predicate reads it), the sin carry goes
    assert len(eqn.outvars) == 2 and "sin" not in _prims(eqn.params["body_jaxpr"])
    out = mg._src.ir.eval_jaxpr(pruned, closed.consts, 1.0)
    close(out, [32.0])


# ---------------------------------------------------------------------------
# custom rules run as often as in JAX


def _counting(L):
    calls = []

    @L.mod.custom_jvp
    def f(x):
        calls.append("primal")
        return L.np.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        calls.append("rule")
        if x > 0:  # a rule may branch on its (concrete) primal, as in JAX
            return f(x), 2.0 * t
        return f(x), 3.0 * t

    return f, calls


@pytest.mark.parametrize(
    "transform",
    [
        lambda m, f: m.grad(f)(0.5),
        lambda m, f: m.jvp(f, (0.5,), (1.0,)),
        lambda m, f: f(0.5),
        lambda m, f: m.jit(f)(0.5),
        lambda m, f: m.vmap(f)(np.ones(2, np.float32)),
    ],
    ids=["grad", "jvp", "eager", "jit", "vmap"],
)
def test_custom_jvp_runs_the_primal_as_often_as_jax(transform):
    (f, ours), (fj, theirs) = _counting(MG), _counting(JX)
    close(transform(mg, f), transform(jax, fj))
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(FORWARD_OVER_REVERSE))
def test_explain_grad_through_every_higher_order_primitive(name):
    prog = FORWARD_OVER_REVERSE[name]
    report = mg.explain_grad(lambda x: prog(MG, x))(X0)
    close(report.grads, jax.jit(jax.grad(lambda x: prog(JX, x)))(X0))
    assert str(report)  # it renders


def _kind(x):
    """What a value is, as a user sees it: its Python type, dtype and weak type."""
    if isinstance(x, jax.Array):
        return ("Array", str(x.dtype), bool(x.weak_type))
    return (type(x).__name__,)


def _custom_vjp_mul(L):
    @L.mod.custom_vjp
    def g(x, y):
        return x * y

    g.defvjp(lambda x, y: (g(x, y), (x, y)), lambda r, ct: (ct * r[1], ct * r[0]))
    return g


def _custom_vjp_sin(L):
    @L.mod.custom_vjp
    def h(x):
        return L.np.sin(x)

    h.defvjp(lambda x: (h(x), L.np.cos(x)), lambda r, ct: (ct * r,))
    return h


@pytest.mark.parametrize(
    "program",
    [
        lambda m, L: _custom_vjp_mul(L)(2.0, 3.0),
        lambda m, L: m.jit(_custom_vjp_mul(L))(2.0, 3.0),
        lambda m, L: m.grad(_custom_vjp_mul(L))(2.0, 3.0),
        lambda m, L: m.vjp(_custom_vjp_mul(L), 2.0, 3.0)[1](1.0),
        lambda m, L: m.vjp(_custom_vjp_mul(L), 2.0, 3.0)[0],
        lambda m, L: m.grad(_custom_vjp_sin(L))(1.0),
        lambda m, L: m.vjp(_custom_vjp_sin(L), 1.0)[1](1.0),
        lambda m, L: m.jvp(_custom_jvp(L), (0.5,), (1.0,)),
        lambda m, L: m.vmap(_custom_vjp_sin(L))(np.ones(2, np.float32)),
    ],
    ids=["eager", "jit", "grad", "vjp_cts", "vjp_out", "grad_sin", "vjp_sin", "jvp", "vmap"],
)
def test_custom_rule_results_have_jax_types_and_weak_types(program):
    ours, theirs = program(mg, MG), program(jax, JX)
    close(ours, theirs)
    assert jax.tree_util.tree_map(_kind, ours) == jax.tree_util.tree_map(_kind, theirs)
