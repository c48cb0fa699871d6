"""conv_general_dilated beyond the op table: finite-difference gradients, the jaxprs
of grad and vmap against JAX's, jit, vmap of each operand against JAX and a loop,
the wrappers (patches, local, conv_transpose), bad input, mnp.convolve/correlate."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax
from test_lax_ops import assert_same_equations, assert_trees_close

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import lax
from minigrad_jax.testing import check_grads

NHWC = ("NHWC", "HWIO", "NHWC")


def _rand(seed, *shapes, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


# (name, kwargs beyond window_strides/padding, lhs shape, rhs shape)
CONFIGS = {
    "nhwc_stride2_same": (
        dict(window_strides=(2, 1), padding="SAME", dimension_numbers=NHWC),
        (2, 5, 4, 2),
        (3, 2, 2, 3),
    ),
    "dilated_explicit": (
        dict(
            window_strides=(1, 2),
            padding=[(1, 2), (0, -1)],
            lhs_dilation=(2, 1),
            rhs_dilation=(1, 2),
        ),
        (2, 2, 3, 6),
        (2, 2, 2, 2),
    ),  # fmt: skip
    "feature_groups": (
        dict(window_strides=(1, 1), padding="VALID", feature_group_count=2),
        (2, 4, 4, 3),
        (4, 2, 2, 2),
    ),
    "batch_groups": (
        dict(window_strides=(1, 1), padding=[(1, 0), (0, 1)], batch_group_count=2),
        (4, 2, 3, 3),
        (4, 2, 2, 2),
    ),
}


def _sumsq(L, y):
    return L.reduce_sum(L.mul(y, y), tuple(range(len(y.shape))))


def _conv(L, name):
    kw = CONFIGS[name][0]
    return lambda x, w: L.conv_general_dilated(x, w, **kw)


# ---------------------------------------------------------------------------
# derivatives


@pytest.mark.parametrize("name", ["nhwc_stride2_same", "batch_groups"])
def test_check_grads_order2(x64, name):
    _, xs, ws = CONFIGS[name]
    x, w = _rand(0, xs, ws, dtype=np.float64)
    f = _conv(lax, name)
    check_grads(lambda x, w: mnp.tanh(f(x, w)), (x, w), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_grad_jaxpr_matches_jax(name):
    _, xs, ws = CONFIGS[name]
    x, w = _rand(1, xs, ws)

    def loss(L, G):
        f = _conv(L, name)
        return G(lambda x, w: _sumsq(L, f(x, w)), (0, 1))

    ours = mg.make_jaxpr(loss(lax, mg.grad))(x, w)
    theirs = jax.make_jaxpr(loss(jlax, jax.grad))(x, w)
    assert_same_equations(ours, theirs, f"grad {name}")
    names = [e.primitive.name for e in ours.eqns]
    assert names.count("conv_general_dilated") == 3  # forward, transpose_rhs, transpose_lhs
    assert_trees_close(loss(lax, mg.grad)(x, w), loss(jlax, jax.grad)(x, w), 1e-4, name)


def test_jvp_is_two_convs_like_jax():
    _, xs, ws = CONFIGS["feature_groups"]
    x, w, tx, tw = _rand(2, xs, ws, xs, ws)
    ours = mg.make_jaxpr(lambda *a: mg.jvp(_conv(lax, "feature_groups"), a[:2], a[2:]))
    theirs = jax.make_jaxpr(lambda *a: jax.jvp(_conv(jlax, "feature_groups"), a[:2], a[2:]))
    assert_same_equations(ours(x, w, tx, tw), theirs(x, w, tx, tw), "jvp")


# ---------------------------------------------------------------------------
# jit and vmap


def test_jit_matches_jax():
    _, xs, ws = CONFIGS["nhwc_stride2_same"]
    x, w = _rand(3, xs, ws)
    f = _conv(lax, "nhwc_stride2_same")
    assert_trees_close(mg.jit(f)(x, w), _conv(jlax, "nhwc_stride2_same")(x, w), 1e-5, "jit")

    def loss(L, G, J):
        g = _conv(L, "nhwc_stride2_same")
        return J(G(lambda x, w: _sumsq(L, g(x, w)), (0, 1)))

    assert_trees_close(
        loss(lax, mg.grad, mg.jit)(x, w), loss(jlax, jax.grad, jax.jit)(x, w), 1e-4, "jit(grad)"
    )


VMAP_AXES = {"lhs": (0, None), "rhs": (None, 1), "both": (1, 0)}


@pytest.mark.parametrize("name", ["nhwc_stride2_same", "feature_groups", "batch_groups"])
@pytest.mark.parametrize("which", list(VMAP_AXES))
def test_vmap_matches_jax_and_a_loop(name, which):
    _, xs, ws = CONFIGS[name]
    in_axes = VMAP_AXES[which]
    shapes = [s if ax is None else s[:ax] + (3,) + s[ax:] for s, ax in zip((xs, ws), in_axes)]
    x, w = _rand(4, *shapes)
    ours = mg.vmap(_conv(lax, name), in_axes=in_axes)(x, w)
    theirs = jax.vmap(_conv(jlax, name), in_axes=in_axes)(x, w)
    assert_trees_close(ours, theirs, 1e-4, f"vmap {name} {which}")
    take = [
        (lambda a, i: a) if ax is None else (lambda a, i, ax=ax: np.take(a, i, axis=ax))
        for ax in in_axes
    ]
    loop = np.stack([np.asarray(_conv(lax, name)(take[0](x, i), take[1](w, i))) for i in range(3)])
    assert_trees_close(ours, loop, 1e-4, f"vmap {name} {which} vs loop")
    jaxpr = mg.make_jaxpr(mg.vmap(_conv(lax, name), in_axes=in_axes))(x, w)
    j_jaxpr = jax.make_jaxpr(jax.vmap(_conv(jlax, name), in_axes=in_axes))(x, w)
    assert_same_equations(jaxpr, j_jaxpr, f"vmap {name} {which}")


def test_vmap_over_an_empty_axis_gives_zeros_like_jax():
    ours = mg.make_jaxpr(mg.vmap(_conv(lax, "feature_groups")))
    theirs = jax.make_jaxpr(jax.vmap(_conv(jlax, "feature_groups")))
    x = np.ones((0, 2, 4, 4, 3), np.float32)
    w = np.ones((0, 4, 2, 2, 2), np.float32)
    assert_same_equations(ours(x, w), theirs(x, w), "vmap over size 0")
    assert mg.vmap(_conv(lax, "feature_groups"))(x, w).shape == (0, 2, 4, 3, 2)


def test_vmap_of_grad_matches_jax():
    _, xs, ws = CONFIGS["feature_groups"]
    x, w = _rand(5, (2, *xs), ws)

    def g(L, G):
        f = _conv(L, "feature_groups")
        return G(lambda x, w: _sumsq(L, f(x, w)), (0, 1))

    ours = mg.vmap(g(lax, mg.grad), in_axes=(0, None))(x, w)
    theirs = jax.vmap(g(jlax, jax.grad), in_axes=(0, None))(x, w)
    assert_trees_close(ours, theirs, 1e-4, "vmap(grad)")


# ---------------------------------------------------------------------------
# the wrappers


def test_dimension_number_forms_agree():
    x, w = _rand(6, (2, 3, 4, 4), (2, 3, 3, 3))
    dn = lax.conv_dimension_numbers(x.shape, w.shape, ("NCHW", "OIHW", "NCHW"))
    assert dn == jlax.conv_dimension_numbers(x.shape, w.shape, ("NCHW", "OIHW", "NCHW"))
    outs = [lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=d)
            for d in (None, ("NCHW", "OIHW", "NCHW"), dn)]  # fmt: skip
    for o in outs[1:]:
        np.testing.assert_array_equal(np.asarray(o), np.asarray(outs[0]))
    spec = ("NHWC", "OHWI", "NCHW")
    assert lax.conv_general_permutations(spec) == jlax.conv_general_permutations(spec)
    assert lax.conv_general_shape_tuple(
        (2, 5, 5, 3), (4, 2, 2, 3), (2, 1), "SAME", spec
    ) == jlax.conv_general_shape_tuple((2, 5, 5, 3), (4, 2, 2, 3), (2, 1), "SAME", spec)
    args = ((2, 3, 3, 4), (3, 3, 4, 5), (2, 2), "VALID", NHWC)
    assert lax.conv_transpose_shape_tuple(*args) == jlax.conv_transpose_shape_tuple(*args)


@pytest.mark.parametrize(
    "kw",
    [
        dict(strides=(2, 2), padding="VALID", transpose_kernel=True),
        dict(strides=(1, 2), padding=[(1, 1), (0, 2)], rhs_dilation=(2, 1)),
        dict(strides=(2, 1), padding=[(1, 0), (0, 1)], use_consistent_padding=True),
    ],
    ids=["transpose_kernel", "explicit", "consistent"],
)
def test_conv_transpose_matches_jax(kw):
    # HWIO kernels; with transpose_kernel its I and O axes swap, so O meets the lhs features
    w_shape = (3, 2, 4, 2) if kw.get("transpose_kernel") else (3, 2, 2, 4)
    x, w = _rand(7, (2, 3, 3, 2), w_shape)
    ours = lax.conv_transpose(x, w, **kw)
    assert_trees_close(ours, jlax.conv_transpose(x, w, **kw), 1e-4, "conv_transpose")
    g = mg.grad(lambda w: _sumsq(lax, lax.conv_transpose(x, w, **kw)))(w)
    jg = jax.grad(lambda w: _sumsq(jlax, jlax.conv_transpose(x, w, **kw)))(w)
    assert_trees_close(g, jg, 1e-4, "conv_transpose grad")


def test_patches_and_local_match_jax():
    (x,) = _rand(8, (2, 4, 3, 2))
    kw = dict(filter_shape=(2, 2), window_strides=(1, 1), padding="SAME", dimension_numbers=NHWC)
    ours = lax.conv_general_dilated_patches(x, **kw)
    assert_trees_close(ours, jlax.conv_general_dilated_patches(x, **kw), 1e-6, "patches")
    f = lambda L: lambda x: L.conv_general_dilated_patches(x, **kw)  # noqa: E731
    assert_same_equations(mg.make_jaxpr(f(lax))(x), jax.make_jaxpr(f(jlax))(x), "patches")
    (w,) = _rand(9, (4, 3, 2 * 2 * 2, 5))  # output H, W, C * filter, O
    lkw = dict(window_strides=(1, 1), padding="SAME", filter_shape=(2, 2), dimension_numbers=NHWC)
    ours = lax.conv_general_dilated_local(x, w, **lkw)
    assert_trees_close(ours, jlax.conv_general_dilated_local(x, w, **lkw), 1e-4, "local")
    g = mg.grad(lambda w: _sumsq(lax, lax.conv_general_dilated_local(x, w, **lkw)))
    jg = jax.grad(lambda w: _sumsq(jlax, jlax.conv_general_dilated_local(x, w, **lkw)))
    assert_trees_close(g(w), jg(w), 1e-4, "local grad")


def test_precision_and_preferred_element_type_like_jax():
    x, w = _rand(10, (1, 2, 4), (3, 2, 2))
    xi, wi = x.round().astype(np.int8), w.round().astype(np.int8)
    for args, kw in [
        ((x, w), dict(precision=jlax.Precision.HIGHEST)),
        ((x, w), dict(precision=("high", "highest"))),
        ((xi, wi), dict(preferred_element_type=np.int32)),
        ((xi, wi), dict(preferred_element_type=np.float32)),
    ]:
        f = lambda L: lambda x, w: L.conv_general_dilated(x, w, (1,), "VALID", **kw)  # noqa: B023,E731
        assert_trees_close(f(lax)(*args), f(jlax)(*args), 1e-5, str(kw))
        assert_same_equations(mg.make_jaxpr(f(lax))(*args), jax.make_jaxpr(f(jlax))(*args), str(kw))


# ---------------------------------------------------------------------------
# bad input: the wrapper's argument checks raise JAX's error types; the shape
# rule's checks (JAX: ValueError) come out as this project's MinigradTypeError,
# like every abstract-evaluation failure, naming the operands' shapes

x4, w4 = np.ones((2, 4, 5, 5), np.float32), np.ones((6, 2, 3, 3), np.float32)
BAD = [
    (lambda: lax.conv_general_dilated(x4, w4[0], (1, 1), "SAME"), TypeError, "ndim to be equal"),
    (lambda: lax.conv_general_dilated(x4, w4, (1, 1), "SAME"), TypeError, r"4 // 1 != 2"),
    (
        lambda: lax.conv_general_dilated(x4, w4, (1, 1), "SAME", feature_group_count=3),
        TypeError,
        "3 does not divide 4",
    ),
    (
        lambda: lax.conv_general_dilated(x4, w4[:5], (1, 1), "SAME", feature_group_count=2),
        TypeError,
        "5 is not a multiple of 2",
    ),
    (
        lambda: lax.conv_general_dilated(x4[:, :2], w4, (1, 1), "SAME", batch_group_count=4),
        TypeError,
        "4 does not divide 2",
    ),
    (
        lambda: lax.conv_general_dilated(
            x4, w4.astype(np.float16), (1, 1), "SAME", None, None, None, 2
        ),  # fmt: skip
        TypeError,
        "same dtypes, got float32, float16",
    ),
    (
        lambda: lax.conv_general_dilated(x4, w4, (1,), [(0, 0)] * 2, None, None, None, 2),
        TypeError,
        "window_strides",
    ),  # fmt: skip
    (
        lambda: lax.conv_general_dilated(x4, w4, (1, 1), [(0, 0)], None, None, None, 2),
        TypeError,
        "Wrong number of explicit pads",
    ),  # fmt: skip
    (lambda: lax.conv_general_dilated(x4, w4, (1, 1), "SAME", (2, 1)), ValueError, "String pad"),
    (lambda: lax.conv_general_dilated(x4, w4, (1, 1), "FULL"), RuntimeError, "padding type"),
    (
        lambda: lax.conv_general_dilated(
            x4, w4, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW")
        ),
        TypeError,
        "must be length 3",
    ),
    (
        lambda: lax.conv_general_dilated(
            x4, w4, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHX")
        ),
        TypeError,
        "same set of spatial characters",
    ),
]


@pytest.mark.parametrize("thunk, exc, needle", BAD, ids=[b[2] for b in BAD])
def test_bad_input_raises_a_clear_error(thunk, exc, needle):
    with pytest.raises(exc, match=needle):
        mg.make_jaxpr(thunk)()


def test_shape_errors_name_the_shapes():
    with pytest.raises(TypeError, match=r"\(2, 4, 5, 5\).*\(6, 2, 3, 3\)"):
        lax.conv_general_dilated(x4, w4, (1, 1), "SAME")


# ---------------------------------------------------------------------------
# mnp.convolve / mnp.correlate


@pytest.mark.parametrize("fn", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_correlate_match_jnp(fn, mode):
    ours_f, jax_f = getattr(mnp, fn), getattr(jnp, fn)
    for n, m in [(5, 3), (2, 4)]:
        a, v = _rand(11, (n,), (m,))
        assert_trees_close(ours_f(a, v, mode), jax_f(a, v, mode), 1e-5, f"{fn} {mode}")
        g = mg.grad(lambda a, v: mnp.sum(ours_f(a, v, mode) ** 2), (0, 1))(a, v)
        jg = jax.grad(lambda a, v: jnp.sum(jax_f(a, v, mode) ** 2), (0, 1))(a, v)
        assert_trees_close(g, jg, 1e-4, f"{fn} {mode} grad")
    a, v = _rand(12, (3, 5), (3,))
    ours = mg.vmap(lambda a: ours_f(a, v, mode))(a)
    assert_trees_close(ours, jax.vmap(lambda a: jax_f(a, v, mode))(a), 1e-5, f"{fn} vmap")


def test_convolve_dtypes_and_errors_like_jnp():
    a, v = np.arange(4), np.arange(3)
    for kw in [{}, dict(preferred_element_type=np.int32), dict(precision="highest")]:
        assert_trees_close(mnp.convolve(a, v, **kw), jnp.convolve(a, v, **kw), 1e-6, str(kw))
    c = (np.arange(4) + 1j * np.arange(4)[::-1]).astype(np.complex64)
    d = np.array([1 - 2j, 0.5j, 3], np.complex64)
    assert_trees_close(mnp.correlate(c, d, "full"), jnp.correlate(c, d, "full"), 1e-5, "c64")
    assert_trees_close(mnp.correlate(d, c, "same"), jnp.correlate(d, c, "same"), 1e-5, "c64")
    with pytest.raises(ValueError, match="mode"):
        mnp.convolve(a, v, "wide")
    with pytest.raises(ValueError, match="1-dimensional"):
        mnp.correlate(np.ones((2, 2)), v)
    with pytest.raises(ValueError, match="empty"):
        mnp.convolve(np.ones(0), v)


# ---------------------------------------------------------------------------
# float64


def test_float64_like_jax_in_a_subprocess():
    code = textwrap.dedent(
        """
        import jax, numpy as np
        from jax import lax as jlax
        import minigrad_jax as mg
        from minigrad_jax import lax
        import minigrad_jax.numpy as mnp, jax.numpy as jnp
        rng = np.random.default_rng(0)
        x, w = rng.standard_normal((2, 5, 4, 4)), rng.standard_normal((3, 3, 2, 4))
        dn = ("NHWC", "HWIO", "NHWC")
        def f(L):
            return lambda x, w: L.conv_general_dilated(
                x, w, (2, 1), "SAME", rhs_dilation=(1, 2), dimension_numbers=dn,
                feature_group_count=2)
        o, t = f(lax)(x, w), f(jlax)(x, w)
        assert o.dtype == t.dtype == np.float64, (o.dtype, t.dtype)
        np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-12)
        def sumsq(L, y):
            return L.reduce_sum(L.mul(y, y), (0, 1, 2, 3))
        def loss(L, G):
            return G(lambda x, w: sumsq(L, f(L)(x, w)),
                     (0, 1))
        for a, b in zip(loss(lax, mg.grad)(x, w), loss(jlax, jax.grad)(x, w)):
            assert a.dtype == np.float64
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        a, v = rng.standard_normal(6), rng.standard_normal(3)
        o = mnp.convolve(a, v, "same")
        assert o.dtype == np.float64
        np.testing.assert_allclose(o, jnp.convolve(a, v, "same"), rtol=1e-12, atol=1e-12)
        print("ok")
        """
    )
    env = {**os.environ, "JAX_ENABLE_X64": "1"}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-3000:]
