"""mg.nn.initializers against jax.nn.initializers: the same numbers for the same key.

Every value is compared with JAX's output for the same key, for exact equality:
eagerly with eager JAX, under ``mg.jit`` with ``jax.jit`` of the same function
(XLA fusion may round a jitted program differently from the eager one, in JAX
too), and under ``mg.vmap`` over keys with ``jax.vmap``. Errors are compared by
class with JAX's for the same bad call.
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.nn.initializers as init
from minigrad_jax import nn

KEYS = {
    "key0": jax.random.key(0),
    "key42": jax.random.key(42),
    "raw7": jax.random.PRNGKey(7),
}

# name -> (builder args, kwargs); every builder of jax.nn.initializers, some with options
BUILDERS = {
    "uniform": ("uniform", (), {}),
    "uniform_scale": ("uniform", (10.0,), {}),
    "normal": ("normal", (), {}),
    "normal_stddev": ("normal", (5.0,), {}),
    "truncated_normal": ("truncated_normal", (), {}),
    "truncated_normal_bounds": ("truncated_normal", (3.0,), {"lower": -1.0, "upper": 0.5}),
    "glorot_uniform": ("glorot_uniform", (), {}),
    "glorot_normal": ("glorot_normal", (), {}),
    "xavier_uniform": ("xavier_uniform", (), {}),
    "xavier_normal": ("xavier_normal", (), {}),
    "lecun_uniform": ("lecun_uniform", (), {}),
    "lecun_normal": ("lecun_normal", (), {}),
    "he_uniform": ("he_uniform", (), {}),
    "he_normal": ("he_normal", (), {}),
    "kaiming_uniform": ("kaiming_uniform", (), {}),
    "kaiming_normal": ("kaiming_normal", (), {}),
    "orthogonal": ("orthogonal", (), {}),
    "orthogonal_scaled_col0": ("orthogonal", (2.0,), {"column_axis": 0}),
}
for _mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
    for _dist in ("truncated_normal", "normal", "uniform"):
        BUILDERS[f"vs_{_mode}_{_dist}"] = ("variance_scaling", (0.7, _mode, _dist), {})
BUILDERS["vs_axes"] = (
    "variance_scaling",
    (1.5, "fan_avg", "normal"),
    {"in_axis": (0, 1), "out_axis": -1, "batch_axis": 2},
)
BUILDERS["he_normal_batch_axis"] = ("he_normal", (), {"in_axis": 1, "out_axis": 2, "batch_axis": 0})

SHAPES = [(4, 5), (3, 3, 2, 6)]
# a subset for the other dtypes: each sampler, and the variance-scaling arithmetic
DTYPE_CASES = [
    "uniform",
    "normal",
    "truncated_normal",
    "glorot_uniform",
    "he_normal",
    "vs_fan_geo_avg_normal",
]
COMPLEX_CASES = ["normal", "glorot_uniform", "glorot_normal", "vs_fan_out_normal", "orthogonal"]


def _pair(name):
    fn, args, kwargs = BUILDERS[name]
    return getattr(init, fn)(*args, **kwargs), getattr(jax.nn.initializers, fn)(*args, **kwargs)


def _shape_for(name, shape=(4, 5)):
    # "vs_axes" names axis 2, "he_normal_batch_axis" three axes: they need the 4-D shape
    return (3, 3, 2, 6) if name in ("vs_axes", "he_normal_batch_axis") else shape


def _assert_same(ours, ref, what=""):
    assert ours.dtype == ref.dtype and ours.shape == ref.shape, (
        f"{what}: {ours.dtype}{ours.shape} vs {ref.dtype}{ref.shape}"
    )
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(ref), err_msg=what)


def test_names_match_jax():
    public = {n for n in dir(jax.nn.initializers) if not n.startswith("_")}
    assert public == set(init.__all__)
    assert mg.nn.initializers is init is nn.initializers
    assert "initializers" in nn.__all__


@pytest.mark.parametrize("name", sorted(n for n in init.__all__ if n != "Initializer"))
def test_signatures_match_jax(name):
    ours = inspect.signature(getattr(init, name))
    ref = inspect.signature(getattr(jax.nn.initializers, name))
    assert [(p.name, p.default) for p in ours.parameters.values()] == [
        (p.name, p.default) for p in ref.parameters.values()
    ]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_eager_equals_jax(name):
    ours, ref = _pair(name)
    for shape in sorted({_shape_for(name, s) for s in SHAPES}):
        for kname, key in KEYS.items():
            _assert_same(ours(key, shape), ref(key, shape), f"{kname} {shape}")
    # an explicit dtype, and a list shape
    shape = list(_shape_for(name))
    _assert_same(ours(KEYS["key0"], shape, jnp.float32), ref(KEYS["key0"], shape, jnp.float32))


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16], ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", DTYPE_CASES)
def test_low_precision_equals_jax(name, dtype):
    ours, ref = _pair(name)
    _assert_same(ours(KEYS["key42"], (4, 5), dtype), ref(KEYS["key42"], (4, 5), dtype))


@pytest.mark.parametrize("name", COMPLEX_CASES)
def test_complex_equals_jax(name):
    ours, ref = _pair(name)
    _assert_same(
        ours(KEYS["key42"], (4, 5), jnp.complex64), ref(KEYS["key42"], (4, 5), jnp.complex64)
    )


def _all_builders(lib):
    inits = {
        name: getattr(lib, fn)(*args, **kwargs) for name, (fn, args, kwargs) in BUILDERS.items()
    }
    return lambda key: {
        name: f(key, _shape_for(name, (6, 4)), jnp.float32) for name, f in inits.items()
    }


def test_jit_equals_jax_jit():
    # one program initializing every builder's array, as a model's init would
    got = mg.jit(_all_builders(init))(KEYS["key42"])
    want = jax.jit(_all_builders(jax.nn.initializers))(KEYS["key42"])
    assert got.keys() == want.keys()
    for name in got:
        _assert_same(got[name], want[name], name)


def test_vmap_over_keys_equals_jax():
    def f(lib):
        inits = [lib.glorot_normal(), lib.orthogonal()]
        return lambda k: [g(k, (4, 5)) for g in inits]

    keys = jax.random.split(KEYS["key0"], 3)
    for got, want in zip(mg.vmap(f(init))(keys), jax.vmap(f(jax.nn.initializers))(keys)):
        _assert_same(got, want)


@pytest.mark.parametrize(
    "shape, column_axis", [((3, 4, 5), -1), ((3, 2, 4, 6), 0), ((3, 3, 1, 2, 2), -1)], ids=str
)
def test_delta_orthogonal_equals_jax(shape, column_axis):
    ours = init.delta_orthogonal(scale=1.5, column_axis=column_axis)
    ref = jax.nn.initializers.delta_orthogonal(scale=1.5, column_axis=column_axis)
    _assert_same(ours(KEYS["key0"], shape), ref(KEYS["key0"], shape), "eager")
    if len(shape) == 4:
        got = mg.jit(lambda k: ours(k, shape))(KEYS["raw7"])
        want = jax.jit(lambda k: ref(k, shape))(KEYS["raw7"])
        _assert_same(got, want, "jit")


def test_orthogonal_is_orthogonal():
    w = init.orthogonal()(KEYS["key0"], (6, 4))
    np.testing.assert_allclose(np.asarray(w).T @ np.asarray(w), np.eye(4), atol=1e-5)


def test_orthogonal_empty_shape_is_zeros():
    _assert_same(
        init.orthogonal()(KEYS["key0"], (0, 3)),
        jax.nn.initializers.orthogonal()(KEYS["key0"], (0, 3)),
    )


@pytest.mark.parametrize("fn", ["zeros", "ones"])
@pytest.mark.parametrize("dtype", [None, jnp.int32, jnp.bfloat16, jnp.complex64])
def test_zeros_ones_equal_jax(fn, dtype):
    got = getattr(init, fn)(KEYS["key0"], (2, 3), dtype)
    want = getattr(jax.nn.initializers, fn)(KEYS["key0"], (2, 3), dtype)
    _assert_same(got, want)


@pytest.mark.parametrize("value", [-7, 0.25, np.arange(3.0)])
@pytest.mark.parametrize("dtype", [None, jnp.int32, jnp.float16])
def test_constant_equals_jax(value, dtype):
    got = init.constant(value, dtype)(KEYS["key0"], (2, 3))
    want = jax.nn.initializers.constant(value, dtype)(KEYS["key0"], (2, 3))
    _assert_same(got, want)
    if dtype is not None:
        return
    got = mg.jit(lambda k: init.constant(value)(k, (4, 3)))(KEYS["key0"])
    _assert_same(
        got, jax.jit(lambda k: jax.nn.initializers.constant(value)(k, (4, 3)))(KEYS["key0"])
    )


def test_builder_dtype_is_the_default():
    ours = init.glorot_normal(dtype=jnp.bfloat16)
    ref = jax.nn.initializers.glorot_normal(dtype=jnp.bfloat16)
    _assert_same(ours(KEYS["key0"], (4, 5)), ref(KEYS["key0"], (4, 5)))
    # a dtype at the call overrides the builder's
    _assert_same(ours(KEYS["key0"], (4, 5), jnp.float16), ref(KEYS["key0"], (4, 5), jnp.float16))


def test_initializers_are_initializers():
    for name in BUILDERS:
        assert isinstance(_pair(name)[0], init.Initializer)
    assert isinstance(init.zeros, init.Initializer)


def test_keys_from_mg_random():
    k = mg.random.key(5)
    _assert_same(
        init.lecun_normal()(k, (8, 3)),
        jax.nn.initializers.lecun_normal()(jax.random.key(5), (8, 3)),
    )


def test_grad_through_a_model_initialized_in_jit():
    # the initializer's output is data: a loss of it differentiates as JAX's does
    def loss(scale, k):
        w = init.normal(1.0)(k, (4, 5))
        return mg.numpy.sum(mg.numpy.tanh(scale * w))

    def ref_loss(scale, k):
        w = jax.nn.initializers.normal(1.0)(k, (4, 5))
        return jnp.sum(jnp.tanh(scale * w))

    got = mg.jit(mg.grad(loss))(0.5, KEYS["key42"])
    want = jax.jit(jax.grad(ref_loss))(0.5, KEYS["key42"])
    np.testing.assert_allclose(got, want, rtol=1e-6)


# ---------------------------------------------------------------------------
# errors: the same class as JAX's for the same bad call

ERRORS = {
    "1d_default_in_axis": (("glorot_normal", (), {}), (3,), None),
    "0d_default_in_axis": (("he_uniform", (), {}), (), None),
    "zero_sized_fan": (("lecun_normal", (), {}), (0, 3), None),
    "in_axis_out_of_range": (
        ("variance_scaling", (1.0, "fan_in", "normal"), {"in_axis": 5}),
        (2, 3),
        None,
    ),
    "bad_mode": (("variance_scaling", (1.0, "fan_max", "normal"), {}), (2, 3), None),
    "bad_distribution": (("variance_scaling", (1.0, "fan_in", "cauchy"), {}), (2, 3), None),
    "non_integer_shape": (("glorot_uniform", (), {}), (2.5, 3), None),
    "int_dtype_uniform": (("uniform", (), {}), (2, 3), jnp.int32),
    "int_dtype_normal": (("normal", (), {}), (2, 3), jnp.int32),
    "int_dtype_truncated": (("truncated_normal", (), {}), (2, 3), jnp.int32),
    "int_dtype_glorot": (("glorot_uniform", (), {}), (2, 3), jnp.int32),
    "int_dtype_orthogonal": (("orthogonal", (), {}), (2, 3), jnp.int32),
    "orthogonal_1d": (("orthogonal", (), {}), (3,), None),
    "orthogonal_int_shape": (("orthogonal", (), {}), 5, None),
    "delta_orthogonal_2d": (("delta_orthogonal", (), {}), (3, 3), None),
    "delta_orthogonal_6d": (("delta_orthogonal", (), {}), (1, 1, 1, 1, 3, 3), None),
    "delta_orthogonal_fan_in_gt_fan_out": (("delta_orthogonal", (), {}), (3, 4, 2), None),
}


def _raised(f):
    try:
        f()
    except Exception as e:  # noqa: BLE001  (the class is what is compared)
        return e
    raise AssertionError("no error raised")


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_jax(case):
    (fn, args, kwargs), shape, dtype = ERRORS[case]
    ours = getattr(init, fn)(*args, **kwargs)
    ref = getattr(jax.nn.initializers, fn)(*args, **kwargs)
    e_ref = _raised(lambda: ref(KEYS["key0"], shape, dtype))
    e_ours = _raised(lambda: ours(KEYS["key0"], shape, dtype))
    assert type(e_ours) is type(e_ref), (repr(e_ours), repr(e_ref))
    if isinstance(e_ref, ValueError):
        # our messages start with JAX's wording (some add what was expected or given)
        assert str(e_ref).split(".")[0].split(":")[0] in str(e_ours), (str(e_ours), str(e_ref))


def test_short_shape_message():
    with pytest.raises(ValueError, match="1-dimensional weights tensor with default in_axis"):
        init.glorot_normal()(KEYS["key0"], (3,))
    # an explicit in_axis makes a 1-D shape acceptable, as in JAX
    ours = init.variance_scaling(1.0, "fan_in", "normal", in_axis=0, out_axis=0)
    ref = jax.nn.initializers.variance_scaling(1.0, "fan_in", "normal", in_axis=0, out_axis=0)
    _assert_same(ours(KEYS["key0"], (5,)), ref(KEYS["key0"], (5,)))


def test_out_sharding_is_refused():
    spec = jax.sharding.PartitionSpec()
    for f in (init.zeros, init.ones, init.glorot_normal(), init.orthogonal(), init.constant(1)):
        with pytest.raises(NotImplementedError, match="'out_sharding' argument to mg.nn"):
            f(KEYS["key0"], (2, 3), None, spec)
