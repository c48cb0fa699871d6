"""mg.checkpoint policies and mg.checkpoint_name, against jax.checkpoint.

Each program runs through JAX (jax.checkpoint, jax.checkpoint_policies,
jax.ad_checkpoint.checkpoint_name) and through minigrad_jax: the gradients, the
residuals the forward pass saves (their number and shapes, from JAX's
print_saved_residuals) and the printed jaxprs must agree.
"""

import contextlib
import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.ad_checkpoint import checkpoint_name as jax_name
from jax.ad_checkpoint import print_saved_residuals

import minigrad_jax as mg
import minigrad_jax.numpy as mnp

JP, MP = jax.checkpoint_policies, mg.checkpoint_policies
RNG = np.random.RandomState(0)
W1 = RNG.randn(3, 4).astype(np.float32) / 2
W2 = RNG.randn(4, 3).astype(np.float32) / 2
X = RNG.randn(5, 3).astype(np.float32)
TOL = {"rtol": 2e-5, "atol": 2e-5}


def mlp(np_, name):
    """Dots, elementwise nonlinearities and a named intermediate."""

    def f(w1, w2, x):
        h = name(np_.sin(np_.dot(x, w1)), "h")
        z = name(np_.dot(h, w2), "z")
        return np_.sum(np_.tanh(z) * np_.cos(x))

    return f


J_MLP, M_MLP = mlp(jnp, jax_name), mlp(mnp, mg.checkpoint_name)

# (id, JAX's policy, ours)
POLICIES = [
    ("None", None, None),
    ("everything_saveable", JP.everything_saveable, MP.everything_saveable),
    ("nothing_saveable", JP.nothing_saveable, MP.nothing_saveable),
    ("dots_saveable", JP.dots_saveable, MP.dots_saveable),
    ("checkpoint_dots", JP.checkpoint_dots, MP.checkpoint_dots),
    (
        "dots_with_no_batch_dims_saveable",
        JP.dots_with_no_batch_dims_saveable,
        MP.dots_with_no_batch_dims_saveable,
    ),
    (
        "checkpoint_dots_with_no_batch_dims",
        JP.checkpoint_dots_with_no_batch_dims,
        MP.checkpoint_dots_with_no_batch_dims,
    ),
    ("save_only_h", JP.save_only_these_names("h"), MP.save_only_these_names("h")),
    ("save_only_h_z", JP.save_only_these_names("h", "z"), MP.save_only_these_names("h", "z")),
    ("save_any_names_but_h", JP.save_any_names_but_these("h"), MP.save_any_names_but_these("h")),
    (
        "save_from_both",
        JP.save_from_both_policies(JP.dots_saveable, JP.save_only_these_names("h")),
        MP.save_from_both_policies(MP.dots_saveable, MP.save_only_these_names("h")),
    ),
]
IDS = [p[0] for p in POLICIES]


def jax_residual_shapes(f, *args):
    """The shapes JAX's print_saved_residuals lists (``f32[5,4] from ...``), sorted."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print_saved_residuals(f, *args)
    shapes = []
    for line in buf.getvalue().splitlines():
        ty = line.split()[0]
        dims = ty[ty.index("[") + 1 : ty.index("]")]
        shapes.append(tuple(int(d) for d in dims.split(",") if d))
    return sorted(shapes)


def our_residual_shapes(f, *args):
    shapes = sorted(tuple(aval.shape) for aval, _ in mg.saved_residuals(f, *args))
    # The same residuals are the consts of the linear jaxpr linearize stages.
    consts = mg.linearize(f, *args)[1].jaxpr.consts
    assert sorted(np.shape(c) for c in consts) == shapes
    return shapes


# ---------------------------------------------------------------------------
# gradients and residuals, policy by policy


@pytest.mark.parametrize("_, jp, mp", POLICIES, ids=IDS)
def test_gradients_equal_jax(_, jp, mp):
    want = jax.grad(jax.checkpoint(J_MLP, policy=jp), argnums=(0, 1, 2))(W1, W2, X)
    got = mg.grad(mg.checkpoint(M_MLP, policy=mp), argnums=(0, 1, 2))(W1, W2, X)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **TOL)
    got = mg.jit(mg.grad(mg.checkpoint(M_MLP, policy=mp), argnums=(0, 1, 2)))(W1, W2, X)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **TOL)


@pytest.mark.parametrize("_, jp, mp", POLICIES, ids=IDS)
def test_saved_residuals_equal_jax(_, jp, mp):
    want = jax_residual_shapes(jax.checkpoint(J_MLP, policy=jp), W1, W2, X)
    assert our_residual_shapes(mg.checkpoint(M_MLP, policy=mp), W1, W2, X) == want


def test_policies_save_different_amounts():
    # Guards the comparison above against passing because every policy saves the same.
    counts = {
        name: len(our_residual_shapes(mg.checkpoint(M_MLP, policy=mp), W1, W2, X))
        for name, _, mp in POLICIES
    }
    assert counts["None"] == counts["nothing_saveable"] == 3  # w1, w2, x
    assert counts["None"] < counts["save_only_h"] < counts["save_only_h_z"]
    assert counts["dots_saveable"] < counts["everything_saveable"]
    plain = len(our_residual_shapes(M_MLP, W1, W2, X))
    assert counts["everything_saveable"] == plain


@pytest.mark.parametrize("_, jp, mp", POLICIES, ids=IDS)
def test_grad_jaxpr_prints_as_jax(_, jp, mp):
    # The forward pass in line, the saved values rounded (reduce_precision) as JAX's,
    # and the backward checkpoint equation reading them in JAX's order.
    want = jax.make_jaxpr(jax.grad(jax.checkpoint(J_MLP, policy=jp), argnums=(0, 1, 2)))
    got = mg.make_jaxpr(mg.grad(mg.checkpoint(M_MLP, policy=mp), argnums=(0, 1, 2)))
    assert str(got(W1, W2, X)) == str(want(W1, W2, X))


@pytest.mark.parametrize("_, jp, mp", POLICIES, ids=IDS)
def test_lowering_hands_jax_the_same_policy(_, jp, mp):
    # Differentiated by JAX (through to_jax), our checkpoint saves what JAX's saves.
    want = jax_residual_shapes(jax.checkpoint(J_MLP, policy=jp), W1, W2, X)
    assert jax_residual_shapes(mg.to_jax(mg.checkpoint(M_MLP, policy=mp)), W1, W2, X) == want


def test_higher_order_gradients_equal_jax():
    for _, jp, mp in POLICIES[:4] + POLICIES[7:8]:

        def jloss(w1, jp=jp):
            g = jax.grad(jax.checkpoint(J_MLP, policy=jp))(w1, W2, X)
            return jnp.sum(g * g)

        def mloss(w1, mp=mp):
            g = mg.grad(mg.checkpoint(M_MLP, policy=mp))(w1, W2, X)
            return mnp.sum(g * g)

        np.testing.assert_allclose(mg.grad(mloss)(W1), jax.grad(jloss)(W1), rtol=1e-4, atol=1e-4)


def test_vmap_of_grad_equals_jax():
    xs = np.stack([X, 2 * X])
    for _, jp, mp in POLICIES:
        jg = jax.vmap(jax.grad(jax.checkpoint(J_MLP, policy=jp)), (None, None, 0))(W1, W2, xs)
        mgg = mg.vmap(mg.grad(mg.checkpoint(M_MLP, policy=mp)), (None, None, 0))(W1, W2, xs)
        np.testing.assert_allclose(mgg, jg, **TOL)


# ---------------------------------------------------------------------------
# nested transforms


def step(np_, name):
    def f(w, c, x):
        h = name(np_.sin(np_.dot(c, w)) + x, "h")
        return np_.tanh(np_.dot(h, w))

    return f


J_STEP, M_STEP = step(jnp, jax_name), step(mnp, mg.checkpoint_name)
WS = RNG.randn(3, 3).astype(np.float32) / 2
XS = RNG.randn(4, 2, 3).astype(np.float32)


def nested(mode, np_, lax_, ckpt, jit, f, policy):
    if mode == "checkpoint_in_scan":
        body = ckpt(lambda c, x, w: (f(w, c, x), np_.sum(c)), policy=policy)

        def g(w, xs):
            c, ys = lax_.scan(lambda c, x: body(c, x, w), xs[0], xs[1:])
            return np_.sum(c) + np_.sum(ys)

    elif mode == "checkpoint_in_jit":
        inner = jit(ckpt(f, policy=policy))

        def g(w, xs):
            return np_.sum(inner(w, xs[0], xs[1]))

    elif mode == "jit_in_checkpoint":
        inner = ckpt(lambda w, c, x: jit(f)(w, c, x) * 2.0, policy=policy)

        def g(w, xs):
            return np_.sum(inner(w, xs[0], xs[1]))

    elif mode == "checkpoint_of_checkpoint":
        inner = ckpt(f, policy=policy)
        outer = ckpt(lambda w, c, x: inner(w, inner(w, c, x), x))

        def g(w, xs):
            return np_.sum(outer(w, xs[0], xs[1]))

    else:  # the policy on the outer checkpoint
        inner = ckpt(f)
        outer = ckpt(lambda w, c, x: inner(w, np_.cos(inner(w, c, x)), x), policy=policy)

        def g(w, xs):
            return np_.sum(outer(w, xs[0], xs[1]))

    return g


MODES = [
    "checkpoint_in_scan",
    "checkpoint_in_jit",
    "jit_in_checkpoint",
    "checkpoint_of_checkpoint",
    "policy_on_outer",
]
NESTED_POLICIES = [POLICIES[i] for i in (0, 1, 3, 5, 7)]


def _pair(mode, jp, mp):
    jg = nested(mode, jnp, jax.lax, jax.checkpoint, jax.jit, J_STEP, jp)
    mgg = nested(mode, mnp, mg.lax, mg.checkpoint, mg.jit, M_STEP, mp)
    return jg, mgg


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("_, jp, mp", NESTED_POLICIES, ids=[p[0] for p in NESTED_POLICIES])
def test_nested_gradients_equal_jax(mode, _, jp, mp):
    jg, mgg = _pair(mode, jp, mp)
    np.testing.assert_allclose(mg.grad(mgg)(WS, XS), jax.grad(jg)(WS, XS), **TOL)
    np.testing.assert_allclose(mg.jit(mg.grad(mgg))(WS, XS), jax.grad(jg)(WS, XS), **TOL)


@pytest.mark.parametrize(
    "mode", ["checkpoint_in_jit", "jit_in_checkpoint", "checkpoint_of_checkpoint"]
)
@pytest.mark.parametrize("_, jp, mp", NESTED_POLICIES, ids=[p[0] for p in NESTED_POLICIES])
def test_nested_saved_residuals_equal_jax(mode, _, jp, mp):
    # A policy sees through a jit inside the checkpoint (it judges the equations inside).
    jg, mgg = _pair(mode, jp, mp)
    assert our_residual_shapes(mgg, WS, XS) == jax_residual_shapes(jg, WS, XS)


# ---------------------------------------------------------------------------
# checkpoint_name


def test_checkpoint_name_prints_as_jax():
    def prog(np_, name):
        return lambda x: name(np_.sin(x), "s") * name({"a": x}, "t")["a"]

    x = np.ones(3, np.float32)
    got = mg.make_jaxpr(prog(mnp, mg.checkpoint_name))(x)
    assert str(got) == str(jax.make_jaxpr(prog(jnp, jax_name))(x))
    assert "name[name=s]" in str(got)
    jvps = (
        mg.make_jaxpr(lambda x: mg.jvp(prog(mnp, mg.checkpoint_name), (x,), (x,)))(x),
        jax.make_jaxpr(lambda x: jax.jvp(prog(jnp, jax_name), (x,), (x,)))(x),
    )
    assert str(jvps[0]) == str(jvps[1])  # the tangent is not named
    xs = np.ones((2, 3), np.float32)
    vmaps = (
        mg.make_jaxpr(mg.vmap(prog(mnp, mg.checkpoint_name)))(xs),
        jax.make_jaxpr(jax.vmap(prog(jnp, jax_name)))(xs),
    )
    assert str(vmaps[0]) == str(vmaps[1])


def test_checkpoint_name_is_the_identity_under_transforms():
    x = np.linspace(-1, 1, 4).astype(np.float32)
    np.testing.assert_array_equal(mg.checkpoint_name(x, "x"), x)
    tree = mg.checkpoint_name({"a": x, "b": (x, 2 * x)}, "t")
    np.testing.assert_array_equal(tree["b"][1], 2 * x)
    np.testing.assert_allclose(
        mg.grad(lambda y: mnp.sum(mnp.sin(mg.checkpoint_name(y, "y"))))(x), np.cos(x), rtol=1e-6
    )
    np.testing.assert_array_equal(mg.jit(lambda y: mg.checkpoint_name(y, "y") * 2)(x), 2 * x)
    (ct,) = mg.linear_transpose(lambda y: mg.checkpoint_name(y, "y"), x)(x + 1)
    np.testing.assert_array_equal(ct, x + 1)
    # lowered, it is JAX's name primitive (what JAX's own policies look for)
    text = str(jax.make_jaxpr(mg.to_jax(lambda y: mg.checkpoint_name(y, "y")))(x))
    assert "name[name=y]" in text


def test_checkpoint_name_needs_a_string():
    with pytest.raises(TypeError, match="name must be a str"):
        mg.checkpoint_name(1.0, 3)


# ---------------------------------------------------------------------------
# the policy interface


def test_a_policy_sees_our_primitives_avals_and_params():
    calls = []

    def policy(prim, *avals, **params):
        calls.append((prim.name, [a.shape for a in avals], params))
        return prim.name == "sin"

    def jpolicy(prim, *avals, **params):
        return str(prim) == "sin"

    got = our_residual_shapes(mg.checkpoint(M_MLP, policy=policy), W1, W2, X)
    assert got == jax_residual_shapes(jax.checkpoint(J_MLP, policy=jpolicy), W1, W2, X)
    dots = [c for c in calls if c[0] == "dot_general"]
    first = [c for c in dots if c[1] == [(5, 3), (3, 4)]]  # x @ w1
    assert first and first[0][2]["dimension_numbers"] == (((1,), (0,)), ((), ()))
    assert any(c[0] == "name" and c[2] == {"name": "h"} for c in calls)
    want = jax.grad(jax.checkpoint(J_MLP, policy=jpolicy))(W1, W2, X)
    np.testing.assert_allclose(mg.grad(mg.checkpoint(M_MLP, policy=policy))(W1, W2, X), want, **TOL)


def test_jax_policy_objects_are_read_as_ours():
    for name, jp, mp in POLICIES[1:]:
        if name == "save_from_both":
            with pytest.raises(TypeError, match="one of JAX's own policies"):
                mg.checkpoint(M_MLP, policy=jp)
            continue
        assert our_residual_shapes(mg.checkpoint(M_MLP, policy=jp), W1, W2, X) == (
            our_residual_shapes(mg.checkpoint(M_MLP, policy=mp), W1, W2, X)
        )


def test_offload_policies_save_what_their_save_counterparts_save():
    offload = MP.offload_dot_with_no_batch_dims("device", "pinned_host")
    both = MP.save_and_offload_only_these_names(
        names_which_can_be_saved=["h"],
        names_which_can_be_offloaded=["z"],
        offload_src="device",
        offload_dst="pinned_host",
    )
    for policy, same in [(offload, MP.dots_with_no_batch_dims_saveable),
                         (both, MP.save_only_these_names("h", "z"))]:  # fmt: skip
        assert our_residual_shapes(mg.checkpoint(M_MLP, policy=policy), W1, W2, X) == (
            our_residual_shapes(mg.checkpoint(M_MLP, policy=same), W1, W2, X)
        )
    with pytest.raises(ValueError, match="share a name"):
        MP.save_and_offload_only_these_names(
            names_which_can_be_saved=["h"],
            names_which_can_be_offloaded=["h"],
            offload_src="device",
            offload_dst="pinned_host",
        )


def test_dots_with_no_batch_dims_skips_batched_dots():
    def prog(np_):
        return lambda a, b: np_.sum(np_.sin(np_.einsum("bij,bjk->bik", a, b)))

    a, b = np.ones((2, 3, 4), np.float32), np.ones((2, 4, 3), np.float32)
    for jp, mp in [
        (JP.dots_saveable, MP.dots_saveable),
        (JP.dots_with_no_batch_dims_saveable, MP.dots_with_no_batch_dims_saveable),
    ]:
        want = jax_residual_shapes(jax.checkpoint(prog(jnp), policy=jp), a, b)
        assert our_residual_shapes(mg.checkpoint(prog(mnp), policy=mp), a, b) == want
    saved = our_residual_shapes(mg.checkpoint(prog(mnp), policy=MP.dots_saveable), a, b)
    unbatched = our_residual_shapes(
        mg.checkpoint(prog(mnp), policy=MP.dots_with_no_batch_dims_saveable), a, b
    )
    assert len(unbatched) < len(saved)


def test_save_anything_except_these_names():
    # The named value is not saved, but its producer (sin) is: the same amount is saved
    # as by everything_saveable, which is what JAX's version of this policy is.
    policy = MP.save_anything_except_these_names("h")
    jpolicy = JP.save_anything_except_these_names("h")
    want = jax_residual_shapes(jax.checkpoint(J_MLP, policy=jpolicy), W1, W2, X)
    assert our_residual_shapes(mg.checkpoint(M_MLP, policy=policy), W1, W2, X) == want
    got = mg.grad(mg.checkpoint(M_MLP, policy=policy))(W1, W2, X)
    np.testing.assert_allclose(
        got, jax.grad(jax.checkpoint(J_MLP, policy=jpolicy))(W1, W2, X), **TOL
    )


def test_save_from_both_policies_wants_booleans():
    with pytest.raises(ValueError, match="should be a boolean"):
        bad = MP.save_from_both_policies(MP.dots_saveable, lambda *a, **k: "yes")
        mg.grad(mg.checkpoint(M_MLP, policy=bad))(W1, W2, X)
    with pytest.raises(TypeError, match="must be callable"):
        MP.save_from_both_policies(MP.dots_saveable, 3)


# ---------------------------------------------------------------------------
# the other arguments, and errors


def test_policy_must_be_callable():
    with pytest.raises(TypeError, match="policy must be None or a callable"):
        mg.checkpoint(M_MLP, policy="dots")
    with pytest.raises(TypeError, match="policy must be None or a callable"):
        mg.checkpoint(policy=3)(M_MLP)


def test_checkpoint_prints_its_policy_as_jax():
    for _, jp, mp in POLICIES:
        want = jax.make_jaxpr(jax.checkpoint(J_MLP, policy=jp))(W1, W2, X)
        assert str(mg.make_jaxpr(mg.checkpoint(M_MLP, policy=mp))(W1, W2, X)) == str(want)


def test_static_argnums_with_a_policy():
    def prog(np_, name):
        def f(x, square, w):
            y = name(np_.sin(np_.dot(x, w)), "y")
            return np_.sum(y * y if square else y)

        return f

    for argnums in (1, (1,), (-2,)):
        jf = jax.checkpoint(prog(jnp, jax_name), static_argnums=argnums, policy=JP.dots_saveable)
        mf = mg.checkpoint(prog(mnp, mg.checkpoint_name), static_argnums=argnums,
                           policy=MP.dots_saveable)  # fmt: skip
        for square in (True, False):
            np.testing.assert_allclose(
                mg.grad(mf)(X, square, W1), jax.grad(jf)(X, square, W1), **TOL
            )
    with pytest.raises(TypeError, match="static_argnums"):
        mg.checkpoint(M_MLP, static_argnums="1")
    with pytest.raises(ValueError, match="out of range"):
        mg.checkpoint(M_MLP, static_argnums=5)(W1, W2, X)


def test_prevent_cse_fences_the_recomputation_under_jit():
    def hlo(prevent_cse):
        f = mg.checkpoint(M_MLP, prevent_cse=prevent_cse)
        return mg.jit(mg.grad(f)).lower(W1, W2, X).as_text()

    assert "optimization_barrier" in hlo(True)
    assert "optimization_barrier" not in hlo(False)
    f = mg.checkpoint(M_MLP, prevent_cse=(True, False, False))
    np.testing.assert_allclose(
        mg.grad(f)(W1, W2, X), jax.grad(jax.checkpoint(J_MLP))(W1, W2, X), **TOL
    )
    with pytest.raises(TypeError, match="prevent_cse"):
        mg.checkpoint(M_MLP, prevent_cse="yes")
