"""No silent wrong answers where constants meet traced values.

Every way a constant array (made inside the function with mnp, closed over as a
jax.Array, closed over as a NumPy array, or a Python scalar) meets one of our
traced values: operators in both orders, methods, ``.at[]``, indexing, numpy
functions, conversions, under every transform, against JAX. Each program
either computes what JAX computes (value and dtype) or, where JAX's own objects
would have to take part in our transform (a jax.Array's method given our
tracer), raises one of our typed errors that says what to write. Never a value
that differs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import errors as mg_errors
from minigrad_jax._src.errors import MinigradError

BASE = np.array([0.5, -1.25, 2.0], np.float32)
JAX_C = jnp.asarray(BASE)
NP_C = BASE.copy()


def _constant(kind, ns):
    """The constant of the given kind, for the namespace ``ns`` (mnp or jnp)."""
    if kind == "made":  # made inside the traced function
        return ns.asarray(BASE) * 1.0
    if kind == "zeros":
        return ns.zeros(3)
    if kind == "jax":  # closed over, made before the transform started
        return JAX_C
    if kind == "numpy":
        return NP_C
    if kind == "npscalar":
        return np.float32(1.5)
    if kind == "npint":
        return np.int32(2)
    raise AssertionError(kind)


# op(c, t, ns) with c a constant of shape (3,) and t a traced float32 vector (3,)
OPS = {
    "c+t": lambda c, t, ns: c + t,
    "t+c": lambda c, t, ns: t + c,
    "c-t": lambda c, t, ns: c - t,
    "c*t": lambda c, t, ns: c * t,
    "t*c": lambda c, t, ns: t * c,
    "c/t": lambda c, t, ns: c / (t * t + 1.0),
    "c**t": lambda c, t, ns: (c * c + 1.0) ** t,
    "t**c": lambda c, t, ns: (t * t + 1.0) ** c,
    "c@t": lambda c, t, ns: c @ t,
    "t@c": lambda c, t, ns: t @ c,
    "c<t": lambda c, t, ns: ns.where(c < t, t, c),
    "c.dot(t)": lambda c, t, ns: c.dot(t),
    "t.dot(c)": lambda c, t, ns: t.dot(c),
    "c.at[0].set(t)": lambda c, t, ns: c.at[0].set(t[1] * 2.0),
    "c.at[1].add(t)": lambda c, t, ns: c.at[1].add(t[0]),
    "c.at[:2].mul(t)": lambda c, t, ns: c.at[:2].mul(t[1:]),
    "c.at[2].min(t)": lambda c, t, ns: c.at[2].min(t[0]),
    "c.at[0].max(t)": lambda c, t, ns: c.at[0].max(t[2]),
    "c.at[idx].set(t)": lambda c, t, ns: c.at[ns.array([0, 2])].set(t[:2]),
    "c[argmax t]": lambda c, t, ns: c[ns.argmax(t)] * t,
    "ns.dot(c,t)": lambda c, t, ns: ns.dot(c, t),
    "ns.concatenate": lambda c, t, ns: ns.concatenate([c, t]),
    "ns.stack": lambda c, t, ns: ns.stack([t, c]),
    "ns.maximum": lambda c, t, ns: ns.maximum(c, t),
    "ns.where(t)": lambda c, t, ns: ns.where(t > 0, c, t),
    "np.sum(t)": lambda c, t, ns: np.sum(t) * c,  # numpy calls t.sum()
    "t.reshape(c.shape)": lambda c, t, ns: t.reshape(c.shape) + c,
    "ns.asarray(c) update": lambda c, t, ns: ns.asarray(c).at[0].set(t[0]),
    "py scalar": lambda c, t, ns: 2.0 * t + 1 - t / 4,
}

# Ops that hand our tracer to a method of a jax.Array (or NumPy) constant: JAX's
# code cannot take part in our transform, so these raise a typed error for the
# closed-over kinds. Everything else must compute.
FOREIGN_METHOD = {
    "c.dot(t)",
    "c.at[0].set(t)",
    "c.at[1].add(t)",
    "c.at[:2].mul(t)",
    "c.at[2].min(t)",
    "c.at[0].max(t)",
    "c.at[idx].set(t)",
}
# NumPy indexes with a concrete integer (``__index__``), as it does JAX's tracers.
FOREIGN_INDEX = {"c[argmax t]"}


def _sum(x):
    return x.astype("float32").sum()


TRANSFORMS = {
    "value": lambda lib, f: f,
    "grad": lambda lib, f: lib.grad(lambda t: _sum(f(t))),
    "jvp": lambda lib, f: lambda t: lib.jvp(f, (t,), (t * 0 + 1.0,)),
    "vmap": lambda lib, f: lambda t: lib.vmap(f)(lib_stack(lib, t)),
    "jit": lambda lib, f: lib.jit(f),
    "jit(grad)": lambda lib, f: lib.jit(lib.grad(lambda t: _sum(f(t)))),
    "vmap(grad)": lambda lib, f: (
        lambda t: lib.vmap(lib.grad(lambda t: _sum(f(t))))(lib_stack(lib, t))
    ),
}


def lib_stack(lib, t):
    ns = jnp if lib is jax else mnp
    return ns.stack([t, t * 0.5 - 1.0])


def _run(lib, kind, op, transform):
    ns = jnp if lib is jax else mnp
    fn = OPS[op]
    f = lambda t: fn(_constant(kind, ns), t, ns)  # noqa: E731
    t = np.array([0.3, -0.7, 1.1], np.float32)
    return TRANSFORMS[transform](lib, f)(t)


def _check_equal(ours, theirs):
    ours_l, tree_o = jax.tree_util.tree_flatten(ours)
    theirs_l, tree_t = jax.tree_util.tree_flatten(theirs)
    assert tree_o == tree_t
    for a, b in zip(ours_l, theirs_l):
        assert np.asarray(a).dtype == np.asarray(b).dtype, (a, b)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


KINDS = ["made", "zeros", "jax", "numpy", "npscalar", "npint"]
# The default run takes each constant kind under grad and vmap (and the rest of the
# transforms for the kinds made inside the function); -m slow runs the whole matrix.
FAST = {("made", t) for t in TRANSFORMS} | {(k, t) for k in KINDS for t in ("grad", "vmap")}


def _cases():
    for kind in KINDS:
        for op in OPS:
            for transform in TRANSFORMS:
                marks = () if (kind, transform) in FAST else (pytest.mark.slow,)
                yield pytest.param(kind, op, transform, marks=marks, id=f"{kind}-{op}-{transform}")


@pytest.mark.parametrize("kind, op, transform", _cases())
def test_constant_meets_tracer(kind, op, transform):
    try:
        theirs = _run(jax, kind, op, transform)
    except Exception as e:  # noqa: BLE001  (JAX's answer decides what ours must be)
        with pytest.raises(type(e)):
            _run(mg, kind, op, transform)
        return
    foreign = transform != "value" and (
        (op in FOREIGN_METHOD and kind in ("jax", "numpy"))
        or (op in FOREIGN_INDEX and kind == "jax")
    )
    if foreign:
        with pytest.raises(MinigradError) as info:
            _run(mg, kind, op, transform)
        assert "mnp.asarray" in str(info.value)
        return
    _check_equal(_run(mg, kind, op, transform), theirs)


# ---------------------------------------------------------------------------
# the cases the issue names


def test_constant_updated_with_traced_value_keeps_the_gradient():
    f = lambda x, ns: ns.sum(ns.zeros(3).at[0].set(x * 2.0))  # noqa: E731
    assert float(mg.grad(lambda x: f(x, mnp))(1.0)) == float(jax.grad(lambda x: f(x, jnp))(1.0))
    assert float(mg.grad(lambda x: f(x, mnp))(1.0)) == 2.0


def test_constant_update_under_vmap_and_dot_under_grad():
    xs = np.arange(3.0, dtype=np.float32)
    _check_equal(
        mg.vmap(lambda x: mnp.zeros(3).at[1].add(x))(xs),
        jax.vmap(lambda x: jnp.zeros(3).at[1].add(x))(xs),
    )
    _check_equal(
        mg.grad(lambda x: mnp.ones(3).dot(x * x))(xs),
        jax.grad(lambda x: jnp.ones(3).dot(x * x))(xs),
    )


@pytest.mark.parametrize(
    "conv, error",
    [
        (float, jax.errors.ConcretizationTypeError),
        (complex, jax.errors.ConcretizationTypeError),
        (np.asarray, jax.errors.TracerArrayConversionError),
        (np.array, jax.errors.TracerArrayConversionError),
        (lambda x: np.sin(x), jax.errors.TracerArrayConversionError),
    ],
)
@pytest.mark.parametrize("transform", ["grad", "jvp", "vmap", "jit"])
def test_conversions_that_would_drop_the_gradient_raise_as_in_jax(conv, error, transform):
    def f(x):
        return x * conv(x)

    run = {
        "grad": lambda lib: lib.grad(f)(2.0),
        "jvp": lambda lib: lib.jvp(f, (2.0,), (1.0,)),
        "vmap": lambda lib: lib.vmap(f)(np.ones(2, np.float32)),
        "jit": lambda lib: lib.jit(f)(2.0),
    }[transform]
    with pytest.raises(error):
        run(jax)
    with pytest.raises(error) as info:
        run(mg)
    assert isinstance(info.value, MinigradError)
    assert "test_constants_meet_tracers.py" in str(info.value)  # the user's line


def test_wrong_gradient_through_float_is_gone():
    # JAX raises here; the true derivative of x * x is 4 at 2 (we used to give 2).
    with pytest.raises(mg_errors.ConcretizationTypeError, match="float"):
        mg.grad(lambda x: x * float(x))(2.0)


@pytest.mark.parametrize("transform", ["grad", "jvp"])
def test_int_bool_index_read_a_concrete_primal_as_jax_does(transform):
    # JAX's JVP tracers are concrete when their primal is: int(), bool() and
    # __index__ work (and carry no gradient, as in JAX).
    def f(x):
        k = int(x)
        y = x * k if x > 0 else -x
        return y * [1.0, 2.0, 3.0][x.astype("int32")]

    for lib in (jax, mg):
        if transform == "grad":
            val = lib.grad(f)(2.0)
        else:
            val = lib.jvp(f, (2.0,), (1.0,))
        if lib is jax:
            theirs = val
        else:
            _check_equal(val, theirs)


@pytest.mark.parametrize(
    "conv, error",
    [
        (bool, jax.errors.TracerBoolConversionError),
        (int, jax.errors.ConcretizationTypeError),
        (lambda x: [1, 2, 3][x.astype("int32")], jax.errors.TracerIntegerConversionError),
    ],
)
def test_int_bool_index_under_vmap_and_jit_raise_jax_classes(conv, error):
    f = lambda x: x * conv(x)  # noqa: E731
    for run in (lambda lib: lib.vmap(f)(np.ones(2, np.float32)), lambda lib: lib.jit(f)(1.0)):
        with pytest.raises(error):
            run(jax)
        with pytest.raises(error):
            run(mg)


def test_constants_made_under_a_transform_act_as_arrays():
    # What JAX holds as a plain jax.Array there: float(), numpy and printing work.
    seen = {}

    def f(x):
        c = mnp.arange(3.0)
        seen["float"] = float(c[1])
        seen["numpy"] = np.asarray(c).tolist()
        seen["repr"] = repr(c)
        return x * c.sum()

    mg.grad(f)(1.0)
    assert seen == {"float": 1.0, "numpy": [0.0, 1.0, 2.0], "repr": repr(jnp.arange(3.0))}
    mg.vmap(f)(np.ones(2, np.float32))
    assert seen["numpy"] == [0.0, 1.0, 2.0]


def test_a_constant_kept_after_its_transform_ended_is_its_value():
    kept = {}

    def f(x):
        kept["c"] = mnp.ones(3) * 2.0
        return x * kept["c"].sum()

    mg.grad(f)(1.0)
    _check_equal(kept["c"] + 1.0, jnp.ones(3) * 2.0 + 1.0)
    _check_equal(mg.grad(lambda x: (x * kept["c"]).sum())(1.0), np.float32(6.0))


def test_a_traced_value_kept_after_its_transform_still_raises():
    kept = {}

    def f(x):
        kept["t"] = x * 2.0
        return x

    mg.grad(f)(1.0)
    with pytest.raises(jax.errors.UnexpectedTracerError):
        kept["t"] + 1.0
