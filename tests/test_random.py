"""mg.random against jax.random: the same numbers, under every transform.

Every comparison is with JAX's output for the same key. Integers and keys are
compared bit for bit; floats are compared for exact equality too (each sampler
is the same XLA computation as JAX's). The one place floats may differ is XLA's
fusion: a jitted program that inlines a sampler can round differently from the
sampler alone, in JAX as well (``jax.jit(jax.random.beta)`` differs from eager
``jax.random.beta`` by 1 ulp on CPU), so jitted results are compared with
``jax.jit`` of the same function, again exactly.
"""

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.lax import prng

TYPED = jax.random.key(42)
RAW = jax.random.PRNGKey(7)

# name -> f(random_module, key); each runs on one key kind (alternating) to keep the suite short
SAMPLERS = {
    "uniform": lambda r, k: r.uniform(k, (5,), minval=-2.0, maxval=3.0),
    "uniform_bf16": lambda r, k: r.uniform(k, (4,), jnp.bfloat16),
    "normal": lambda r, k: r.normal(k, (2, 3)),
    "normal_f16": lambda r, k: r.normal(k, (4,), jnp.float16),
    "normal_c64": lambda r, k: r.normal(k, (3,), jnp.complex64),
    "truncated_normal": lambda r, k: r.truncated_normal(k, -1.0, 2.0, (5,)),
    "bernoulli": lambda r, k: r.bernoulli(k, 0.3, (10,)),
    "bernoulli_high": lambda r, k: r.bernoulli(k, jnp.array([0.1, 0.9]), (3, 2), mode="high"),
    "categorical": lambda r, k: r.categorical(k, jnp.log(jnp.array([0.1, 0.2, 0.7])), shape=(8,)),
    "categorical_axis0": lambda r, k: r.categorical(k, jnp.zeros((4, 2)), axis=0),
    "categorical_norep": lambda r, k: r.categorical(
        k, jnp.zeros((2, 5)), shape=(3, 2), replace=False
    ),
    "randint": lambda r, k: r.randint(k, (6,), -5, 17),
    "randint_i8": lambda r, k: r.randint(k, (6,), -5, 100, jnp.int8),
    "randint_u32": lambda r, k: r.randint(k, (6,), 0, 1000, jnp.uint32),
    "choice": lambda r, k: r.choice(k, 10, (4,)),
    "choice_norep": lambda r, k: r.choice(k, jnp.arange(10.0) * 2, (4,), replace=False),
    "choice_p": lambda r, k: r.choice(k, 5, (4,), p=jnp.array([0.1, 0.2, 0.3, 0.2, 0.2])),
    "choice_p_norep": lambda r, k: r.choice(
        k, 5, (3,), replace=False, p=jnp.array([0.1, 0.2, 0.3, 0.2, 0.2])
    ),
    "choice_axis": lambda r, k: r.choice(k, jnp.arange(12).reshape(3, 4), (2,), axis=1),
    "permutation": lambda r, k: r.permutation(k, 10),
    "permutation_axis": lambda r, k: r.permutation(k, jnp.arange(12).reshape(3, 4), axis=1),
    "permutation_independent": lambda r, k: r.permutation(
        k, jnp.arange(12).reshape(3, 4), axis=1, independent=True
    ),
    "gumbel": lambda r, k: r.gumbel(k, (5,)),
    "gumbel_high": lambda r, k: r.gumbel(k, (5,), mode="high"),
    "gumbel_highest": lambda r, k: r.gumbel(k, (5,), mode="highest"),
    "laplace": lambda r, k: r.laplace(k, (5,)),
    "logistic": lambda r, k: r.logistic(k, (5,)),
    "exponential": lambda r, k: r.exponential(k, (5,)),
    "gamma": lambda r, k: r.gamma(k, jnp.array([0.5, 1.0, 3.0])),
    "loggamma": lambda r, k: r.loggamma(k, 0.3, (4,)),
    "beta": lambda r, k: r.beta(k, 2.0, 3.0, (4,)),
    "dirichlet": lambda r, k: r.dirichlet(k, jnp.array([1.0, 2.0, 3.0]), (2,)),
    "poisson": lambda r, k: r.poisson(k, jnp.array([3.0, 30.0, 0.0])),
    "multivariate_normal": lambda r, k: r.multivariate_normal(
        k, jnp.zeros(2), jnp.array([[2.0, 0.5], [0.5, 1.0]]), (3,)
    ),
    "multivariate_normal_eigh": lambda r, k: r.multivariate_normal(
        k, jnp.ones(2), jnp.array([[2.0, 0.5], [0.5, 1.0]]), method="eigh"
    ),
    "orthogonal": lambda r, k: r.orthogonal(k, 3),
    "rademacher": lambda r, k: r.rademacher(k, (6,)),
    "maxwell": lambda r, k: r.maxwell(k, (4,)),
    "double_sided_maxwell": lambda r, k: r.double_sided_maxwell(k, 0.5, 2.0, (4,)),
    "weibull_min": lambda r, k: r.weibull_min(k, 1.0, 2.0, (4,)),
    "pareto": lambda r, k: r.pareto(k, 3.0, (4,)),
    "cauchy": lambda r, k: r.cauchy(k, (4,)),
    "chisquare": lambda r, k: r.chisquare(k, 3.0, (4,)),
    "f": lambda r, k: r.f(k, 3.0, 5.0, (4,)),
    "t": lambda r, k: r.t(k, 3.0, (4,)),
    "generalized_normal": lambda r, k: r.generalized_normal(k, 1.5, (4,)),
    "ball": lambda r, k: r.ball(k, 3, shape=(2,)),
    "binomial": lambda r, k: r.binomial(k, jnp.array([5.0, 50.0, 500.0]), 0.3),
    "geometric": lambda r, k: r.geometric(k, 0.3, (5,)),
    "triangular": lambda r, k: r.triangular(k, 0.0, 1.0, 3.0, (5,)),
    "lognormal": lambda r, k: r.lognormal(k, 0.5, (5,)),
    "rayleigh": lambda r, k: r.rayleigh(k, 2.0, (5,)),
    "wald": lambda r, k: r.wald(k, 2.0, (5,)),
    "multinomial": lambda r, k: r.multinomial(k, 10.0, jnp.array([0.2, 0.3, 0.5])),
    "bits_u8": lambda r, k: r.bits(k, (3,), jnp.uint8),
    "bits_u16": lambda r, k: r.bits(k, (2, 2), jnp.uint16),
    "bits": lambda r, k: r.bits(k, (3,)),
    "split": lambda r, k: jax.random.key_data(r.split(k, 3)) if r is jax.random else r.split(k, 3),
    "split_shape": lambda r, k: r.split(k, (2, 2)),
    "fold_in": lambda r, k: r.fold_in(k, 7),
}


def _data(x):
    x = x if not jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else jax.random.key_data(x)
    return np.asarray(x)


def assert_same(got, want):
    got, want = _data(got), _data(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want)


# Samplers built on gamma compile JAX's rejection loop twice (ours and JAX's): a few
# seconds each, so those beyond gamma/loggamma run with ``-m slow``.
SLOW = {"ball", "beta", "generalized_normal", "t", "f", "chisquare", "dirichlet", "multinomial"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(SAMPLERS)]
)
def test_sampler_matches_jax(name):
    fn = SAMPLERS[name]
    key = TYPED if sorted(SAMPLERS).index(name) % 2 else RAW
    if name.startswith("split") or name == "fold_in":
        key = TYPED
        assert_same(fn(mg.random, RAW), fn(jax.random, RAW))  # raw keys in, raw keys out
    assert_same(fn(mg.random, key), fn(jax.random, key))


def test_more_keys_and_seeds():
    for seed in (0, 1, 2**31 - 1, -5):
        key = jax.random.key(seed)
        assert_same(mg.random.key(seed), key)
        assert_same(mg.random.PRNGKey(seed), jax.random.PRNGKey(seed))
        assert_same(mg.random.normal(key, (7,)), jax.random.normal(key, (7,)))
        assert_same(mg.random.randint(key, (7,), 0, 3), jax.random.randint(key, (7,), 0, 3))


@pytest.mark.parametrize("name", ["normal", "randint", "choice_p", "bernoulli_high"])
def test_sampler_under_jit(name):
    fn = SAMPLERS[name]
    got = mg.jit(lambda k: fn(mg.random, k))(TYPED)
    assert_same(got, jax.jit(lambda k: fn(jax.random, k))(TYPED))


@pytest.mark.parametrize("name", ["uniform", "normal", "bernoulli", "randint", "gamma", "split"])
def test_sampler_under_vmap_over_keys(name):
    fn = SAMPLERS[name]
    keys = jax.random.split(TYPED, 3)
    if name == "split":
        got = mg.vmap(lambda k: mg.random.split(k, 3))(keys)
        want = jax.vmap(lambda k: jax.random.split(k, 3))(keys)
    else:
        got = mg.vmap(lambda k: fn(mg.random, k))(keys)
        want = jax.vmap(lambda k: fn(jax.random, k))(keys)
    assert_same(got, want)


def test_vmap_over_raw_keys_and_parameters():
    keys = jax.random.split(RAW, 4)  # uint32[4, 2]
    f_mg = lambda k, a: mg.random.normal(k, (2,)) * a  # noqa: E731
    f_jax = lambda k, a: jax.random.normal(k, (2,)) * a  # noqa: E731
    a = jnp.array([0.5, 1.0, 2.0, 4.0])
    assert_same(mg.vmap(f_mg)(keys, a), jax.vmap(f_jax)(keys, a))
    assert_same(mg.vmap(f_mg, (None, 0))(RAW, a), jax.vmap(f_jax, (None, 0))(RAW, a))
    assert_same(mg.vmap(mg.random.key)(jnp.arange(3)), jax.vmap(jax.random.key)(jnp.arange(3)))
    data = jnp.arange(3)
    assert_same(
        mg.vmap(mg.random.fold_in, (None, 0))(TYPED, data),
        jax.vmap(jax.random.fold_in, (None, 0))(TYPED, data),
    )


def test_keys_through_transforms():
    keys = jax.random.split(TYPED, 3)
    assert_same(mg.jit(lambda k: k)(TYPED), TYPED)
    assert_same(mg.vmap(lambda k: k)(keys), keys)
    assert (
        mg.jvp(lambda k: mg.random.normal(k), (TYPED,), (np.zeros((), jax.dtypes.float0),))[1]
        == jax.jvp(lambda k: jax.random.normal(k), (TYPED,), (np.zeros((), jax.dtypes.float0),))[1]
    )
    # a key as a non-differentiable argument of grad, and a key closed over under jit
    g = mg.grad(lambda x, k: mnp.sum(x * mg.random.normal(k, (3,))))(2.0, TYPED)
    want = jax.grad(lambda x, k: jnp.sum(x * jax.random.normal(k, (3,))))(2.0, TYPED)
    assert_same(g, want)
    # scan carrying a key
    body_mg = lambda c, _: (mg.random.split(c)[0], mg.random.uniform(c))  # noqa: E731
    body_jax = lambda c, _: (jax.random.split(c)[0], jax.random.uniform(c))  # noqa: E731
    (kc, xs) = mg.lax.scan(body_mg, TYPED, None, length=4)
    (kc_j, xs_j) = jax.lax.scan(body_jax, TYPED, None, length=4)
    assert_same(kc, kc_j)
    assert_same(xs, xs_j)
    # cond on keys, also with a batched predicate (select_n on keys)
    pick_mg = lambda p, k: mg.lax.cond(p, lambda k: mg.random.split(k)[0], lambda k: k, k)  # noqa: E731
    pick_jax = lambda p, k: jax.lax.cond(p, lambda k: jax.random.split(k)[0], lambda k: k, k)  # noqa: E731
    assert_same(pick_mg(True, TYPED), pick_jax(True, TYPED))
    preds = jnp.array([True, False, True])
    assert_same(mg.vmap(pick_mg)(preds, keys), jax.vmap(pick_jax)(preds, keys))


def test_grad_of_reparameterised_samples():
    key = TYPED
    f_mg = lambda m, s: mnp.sum(m + s * mg.random.normal(key, (3,)))  # noqa: E731
    f_jax = lambda m, s: jnp.sum(m + s * jax.random.normal(key, (3,)))  # noqa: E731
    for got, want in zip(
        mg.grad(f_mg, argnums=(0, 1))(1.0, 2.0), jax.grad(f_jax, argnums=(0, 1))(1.0, 2.0)
    ):
        assert_same(got, want)
    a = jnp.array([0.5, 1.5, 4.0])
    # gamma's implicit reparameterisation gradient (random_gamma_grad), also in log space
    got = mg.grad(lambda a: mnp.sum(mg.random.gamma(key, a)))(a)
    want = jax.grad(lambda a: jnp.sum(jax.random.gamma(key, a)))(a)
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.slow
def test_grad_of_loggamma_and_beta():
    a = jnp.array([0.5, 1.5, 4.0])
    got = mg.grad(mg.jit(lambda a: mnp.sum(mg.random.loggamma(TYPED, a))))(a)
    want = jax.grad(jax.jit(lambda a: jnp.sum(jax.random.loggamma(TYPED, a))))(a)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    got = mg.grad(lambda a: mnp.sum(mg.random.beta(TYPED, a, 2.0)))(a)
    want = jax.grad(lambda a: jnp.sum(jax.random.beta(TYPED, a, 2.0)))(a)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_keys_cross_libraries():
    k_mg = mg.random.key(3)
    assert_same(jax.random.normal(k_mg, (3,)), mg.random.normal(jax.random.key(3), (3,)))
    assert_same(jax.random.split(mg.random.PRNGKey(3)), mg.random.split(jax.random.PRNGKey(3)))
    assert_same(mg.random.wrap_key_data(jax.random.key_data(k_mg)), k_mg)
    assert_same(mg.random.key_data(k_mg), jax.random.key_data(k_mg))
    assert mg.random.key_impl(k_mg) == jax.random.key_impl(k_mg) == "threefry2x32"
    # other implementations: JAX's own bits
    k_rbg = mg.random.key(3, impl="rbg")
    assert_same(k_rbg, jax.random.key(3, impl="rbg"))
    assert_same(mg.random.uniform(k_rbg, (3,)), jax.random.uniform(k_rbg, (3,)))
    # a JAX function applied to our tracer: through from_jax, or a clear error naming mg.random
    f = mg.from_jax(lambda k: jax.random.normal(k, (2,)))
    keys = jax.random.split(TYPED, 2)
    assert_same(mg.vmap(f)(keys), jax.vmap(lambda k: jax.random.normal(k, (2,)))(keys))
    with pytest.raises(mg.errors.TracerToJaxError, match="mg.random"):
        mg.jit(lambda k: jax.random.normal(k, (2,)))(TYPED)


def test_jaxpr_of_normal_matches_jax():
    assert str(mg.make_jaxpr(lambda k: mg.random.normal(k, (3,)))(TYPED)) == str(
        jax.make_jaxpr(lambda k: jax.random.normal(k, (3,)))(TYPED)
    )
    assert str(mg.make_jaxpr(lambda k: mg.random.split(k))(RAW)) == str(
        jax.make_jaxpr(lambda k: jax.random.split(k))(RAW)
    )
    assert str(mg.make_jaxpr(lambda k: mg.random.fold_in(k, 3))(TYPED)) == str(
        jax.make_jaxpr(lambda k: jax.random.fold_in(k, 3))(TYPED)
    )
    text = str(mg.make_jaxpr(mg.vmap(lambda k: mg.random.bits(k, (2,))))(jax.random.split(RAW)))
    assert "random_wrap[impl=fry]" in text and "random_bits[bit_width=32 shape=(2,)]" in text


def test_primitives():
    # threefry2x32 against JAX's, and batched
    k1, k2 = np.uint32(1), np.uint32(2)
    x = np.arange(6, dtype=np.uint32)
    outs = prng.threefry2x32(k1, k2, x[:3], x[3:])
    want = jax.extend.random.threefry2x32_p.bind(
        *(jnp.broadcast_to(a, (3,)) for a in (k1, k2, x[:3], x[3:]))
    )
    for o, w in zip(outs, want):
        assert_same(o, w)
    xs = x.reshape(2, 3)
    b = mg.vmap(lambda a: prng.threefry2x32(k1, k2, a, a))(xs)
    bw = jax.vmap(
        lambda a: jax.extend.random.threefry2x32_p.bind(*jnp.broadcast_arrays(k1, k2, a, a))
    )(xs)
    for o, w in zip(b, bw):
        assert_same(o, w)
    # bitcast_convert_type, as jax.lax's
    f = np.array([1.0, -2.5], np.float32)
    assert_same(prng.bitcast_convert_type(f, np.uint32), jax.lax.bitcast_convert_type(f, np.uint32))
    assert_same(prng.bitcast_convert_type(f, np.uint8), jax.lax.bitcast_convert_type(f, np.uint8))
    assert_same(
        mg.vmap(lambda v: prng.bitcast_convert_type(v, np.uint16))(f),
        jax.vmap(lambda v: jax.lax.bitcast_convert_type(v, np.uint16))(f),
    )
    # key tangents are float0, as JAX's
    _, t = mg.jvp(lambda k: mg.random.split(k), (TYPED,), (np.zeros((), jax.dtypes.float0),))
    assert t.dtype == jax.dtypes.float0 and t.shape == (2,)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: mg.random.normal(jnp.array([1.0, 2.0])), TypeError, "expected key_data.dtype"),
        (lambda: mg.random.normal(jnp.zeros(3, jnp.uint32)), TypeError, "to end with"),
        (lambda: mg.random.normal(jax.random.split(TYPED)), ValueError, "single key"),
        (lambda: mg.random.normal("abc"), TypeError, "invalid PRNG key data"),
        (lambda: mg.random.normal([1, 2]), TypeError, "unexpected PRNG key type"),
        (lambda: mg.random.wrap_key_data(TYPED), TypeError, "already a key"),
        (lambda: mg.random.key(TYPED), TypeError, "given a PRNG key"),
        (lambda: mg.random.key(jnp.zeros(2, int)), TypeError, "scalar seed"),
        (lambda: mg.random.key(1.5), TypeError, "must be an integer"),
        (lambda: mg.random.split(jax.random.split(TYPED)), ValueError, "single key"),
        (lambda: mg.random.fold_in(TYPED, jnp.zeros(2, int)), TypeError, "accepts a scalar"),
        (lambda: mg.random.bits(TYPED, (2,), jnp.int32), ValueError, "unsigned int"),
        (lambda: mg.random.uniform(TYPED, (2,), jnp.int32), ValueError, "float dtype"),
        (lambda: mg.random.bernoulli(TYPED, 1), TypeError, "floating dtype"),
        (lambda: mg.random.key(0, impl="nope"), ValueError, "unrecognized PRNG"),
        (lambda: mg.jit(lambda k: k + 1)(TYPED), TypeError, "PRNG keys"),
        (lambda: mg.grad(lambda k: 1.0)(TYPED), TypeError, "key<fry>"),
        (lambda: mg.random.choice(TYPED, 3, (5,), replace=False), ValueError, "larger sample"),
    ],
)
def test_bad_keys_and_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_float64_in_subprocess():
    code = textwrap.dedent(
        """
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp, numpy as np
        import minigrad_jax as mg
        k = jax.random.key(5)
        cases = [
            lambda r, k: r.uniform(k, (4,), jnp.float64),
            lambda r, k: r.normal(k, (4,), jnp.float64),
            lambda r, k: r.randint(k, (4,), 0, 2**40, jnp.int64),
            lambda r, k: r.bits(k, (3,), jnp.uint64),
            lambda r, k: r.exponential(k, (3,), jnp.float64),
            lambda r, k: r.choice(k, 7, (3,)),
        ]
        for fn in cases:
            got, want = np.asarray(fn(mg.random, k)), np.asarray(fn(jax.random, k))
            assert got.dtype == want.dtype, (got.dtype, want.dtype)
            np.testing.assert_array_equal(got, want)
        assert np.asarray(mg.random.key_data(mg.random.key(2**40))).tolist() == (
            np.asarray(jax.random.key_data(jax.random.key(2**40))).tolist())
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]
