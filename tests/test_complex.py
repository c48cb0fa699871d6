"""Complex numbers through every transform, checked against JAX itself.

Each primitive that takes or makes complex values is run eagerly and under
jvp, vjp, vmap and jit, with JAX's own function on the same inputs as the
reference; a few programs are compared jaxpr for jaxpr; grad, jacfwd, jacrev
and hessian (holomorphic or not) and their errors are compared with JAX's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import enable_x64
from jax import lax as jlax
from jax import tree_util

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import lax

RNG = np.random.default_rng(0)
pytestmark = [
    pytest.mark.filterwarnings("ignore:Casting complex values to real"),
    pytest.mark.filterwarnings("ignore:Explicitly requested dtype complex128"),
]


def crandn(*shape, dtype=np.complex64):
    return (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)).astype(dtype)


def randn(*shape, dtype=np.float32):
    return RNG.normal(size=shape).astype(dtype)


Z = crandn(3)
W = crandn(3)
X = randn(3)
ZM = crandn(2, 3)
ZC = np.array([1 + 2j, 1 - 1j, -3, 1 + 2j, 1j], np.complex64)  # ties in the real part


def close(ours, theirs, tol=2e-5):
    o_leaves, o_tree = tree_util.tree_flatten(ours)
    t_leaves, t_tree = tree_util.tree_flatten(theirs)
    assert o_tree == t_tree, (o_tree, t_tree)
    for o, t in zip(o_leaves, t_leaves, strict=True):
        o, t = np.asarray(o), np.asarray(t)
        assert o.dtype == t.dtype, (o.dtype, t.dtype)
        assert o.shape == t.shape, (o.shape, t.shape)
        np.testing.assert_allclose(o, t, rtol=tol, atol=tol)


def jax_jvp_vjp(f, args, tangents, ct):
    """JAX's jvp, and its vjp's output and pullback of ``ct``, under one jit."""

    def run(args, tangents, ct):
        out, pull = jax.vjp(f, *args)
        return jax.jvp(f, args, tangents), out, pull(ct)

    return jax.jit(run)(args, tangents, ct)


def like(x):
    """A random value of ``x``'s shape and dtype (a tangent or cotangent)."""
    x = np.asarray(x)
    if np.iscomplexobj(x):
        return crandn(*x.shape, dtype=x.dtype)
    return randn(*x.shape, dtype=x.dtype)


# ---------------------------------------------------------------------------
# every primitive on complex values: (ours, JAX's, args)

OPS = {
    "real": (lax.real, jlax.real, (Z,)),
    "imag": (lax.imag, jlax.imag, (Z,)),
    "conj": (lax.conj, jlax.conj, (Z,)),
    "conj_of_real": (lax.conj, jlax.conj, (X,)),
    "complex": (lax.complex, jlax.complex, (X, randn(3))),
    "complex_scalar": (lambda x: lax.complex(x, 2.0), lambda x: jlax.complex(x, 2.0), (X,)),
    "abs": (lax.abs, jlax.abs, (Z,)),
    "sign": (lambda z: lax.sign(z) * z, lambda z: jlax.sign(z) * z, (Z,)),
    "exp": (lax.exp, jlax.exp, (Z,)),
    "log": (lax.log, jlax.log, (Z,)),
    "sqrt": (lax.sqrt, jlax.sqrt, (Z,)),
    "rsqrt": (lax.rsqrt, jlax.rsqrt, (Z,)),
    "sin": (lax.sin, jlax.sin, (Z,)),
    "cos": (lax.cos, jlax.cos, (Z,)),
    "tanh": (lax.tanh, jlax.tanh, (Z,)),
    "square": (lax.square, jlax.square, (Z,)),
    "integer_pow": (lambda z: lax.integer_pow(z, 3), lambda z: jlax.integer_pow(z, 3), (Z,)),
    "integer_pow_neg": (lambda z: lax.integer_pow(z, -2), lambda z: jlax.integer_pow(z, -2), (Z,)),
    "pow": (lax.pow, jlax.pow, (Z, W)),
    "mul": (lax.mul, jlax.mul, (Z, W)),
    "div": (lax.div, jlax.div, (Z, W)),
    "add_sub": (lambda a, b: lax.sub(lax.add(a, b), b * 2j), lambda a, b: a + b - b * 2j, (Z, W)),
    "dot_general": (
        lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))),
        lambda a, b: jlax.dot_general(a, b, (((1,), (0,)), ((), ()))),
        (ZM, crandn(3, 2)),
    ),
    "reduce_sum": (lambda z: lax.reduce_sum(z, (1,)), lambda z: jnp.sum(z, axis=1), (ZM,)),
    "prod": (lambda z: mnp.prod(z, axis=1), lambda z: jnp.prod(z, axis=1), (ZM,)),
    "cumsum": (lambda z: lax.cumsum(z, 1), lambda z: jlax.cumsum(z, 1), (ZM,)),
    "convert_to_real": (
        lambda z: lax.convert_element_type(z, np.float32),
        lambda z: jlax.convert_element_type(z, np.float32),
        (Z,),
    ),
    "convert_to_complex": (
        lambda x: lax.convert_element_type(x, np.complex64),
        lambda x: jlax.convert_element_type(x, np.complex64),
        (X,),
    ),
    "select_n": (
        lambda a, b: lax.select_n(lax.real(a) > 0, a, b),
        lambda a, b: jlax.select_n(jlax.real(a) > 0, a, b),
        (Z, W),
    ),
    "sort": (
        lambda z: lax.sort(z),
        lambda z: jlax.sort(z),
        (np.array([1 + 2j, 1 - 1j, -3, 1 + 0j], np.complex64),),
    ),
}


# the transposes (and the linear rules) that vmap of vjp batches
VMAP_OF_VJP = {"real", "imag", "conj", "conj_of_real", "complex", "abs", "mul", "div"}
VMAP_OF_VJP |= {"dot_general", "cumsum", "convert_to_real", "select_n", "sort"}


@pytest.mark.parametrize("name", list(OPS))
def test_value_jvp_vjp_match_jax(name):
    ours, theirs, args = OPS[name]
    want = jax.jit(theirs)(*args)
    close(ours(*args), want)
    tangents = tuple(like(a) for a in args)
    ct = like(want)
    jvp_t, out_t, ct_t = jax_jvp_vjp(theirs, args, tangents, ct)
    close(mg.jvp(ours, args, tangents), jvp_t)
    out_o, pull_o = mg.vjp(ours, *args)
    close(out_o, out_t)
    close(pull_o(ct), ct_t)


@pytest.mark.parametrize("name", list(OPS))
def test_vmap_and_jit_match_jax(name):
    ours, theirs, args = OPS[name]
    batched = tuple(np.stack([a, like(a)]) for a in args)
    close(mg.vmap(ours)(*batched), jax.jit(jax.vmap(theirs))(*batched))
    # one operand mapped, the other not
    in_axes = (0,) + (None,) * (len(args) - 1)
    mixed = (batched[0],) + args[1:]
    close(
        mg.vmap(ours, in_axes=in_axes)(*mixed), jax.jit(jax.vmap(theirs, in_axes=in_axes))(*mixed)
    )
    out = jax.jit(theirs)(*args)
    close(mg.jit(ours)(*args), out)
    if name not in VMAP_OF_VJP:
        return
    # vmap of vjp: the transposes are batched too
    cts = np.stack([like(out), like(out)])

    def pull(lib, f):
        return lambda c: lib.vjp(f, *args)[1](c)

    close(mg.vmap(pull(mg, ours))(cts), jax.jit(jax.vmap(pull(jax, theirs)))(cts))


def test_complex128_under_x64_matches_jax():
    with enable_x64():
        z = crandn(3, dtype=np.complex128)
        x = randn(3, dtype=np.float64)
        for ours, theirs, args in [
            (lax.real, jlax.real, (z,)),
            (lax.conj, jlax.conj, (x,)),
            (lax.complex, jlax.complex, (x, x)),
            (lambda z: lax.abs(z) * lax.exp(z), lambda z: jlax.abs(z) * jlax.exp(z), (z,)),
        ]:
            want = jax.jit(theirs)(*args)
            close(ours(*args), want, 1e-12)
            t = tuple(like(a) for a in args)
            ct = like(want)
            jvp_t, _, ct_t = jax_jvp_vjp(theirs, args, t, ct)
            close(mg.jvp(ours, args, t), jvp_t, 1e-12)
            close(mg.vjp(ours, *args)[1](ct), ct_t, 1e-12)
            close(
                mg.vmap(ours)(*[np.stack([a, a]) for a in args]),
                jax.jit(jax.vmap(theirs))(*[np.stack([a, a]) for a in args]),
                1e-12,
            )

        def loss(lib, np_):
            return lambda z: np_.sum(np_.abs(z) ** 2 + np_.real(np_.sin(z)))

        close(mg.grad(loss(mg, mnp))(z), jax.jit(jax.grad(loss(jax, jnp)))(z), 1e-12)
        close(
            mg.grad(lambda z: mnp.sum(z**3), holomorphic=True)(z),
            jax.jit(jax.grad(lambda z: jnp.sum(z**3), holomorphic=True))(z),
            1e-12,
        )
        assert str(mg.make_jaxpr(lambda z: (mnp.conj(z), z * 2j))(z)) == str(
            jax.make_jaxpr(lambda z: (jnp.conj(z), z * 2j))(z)
        )


# ---------------------------------------------------------------------------
# jaxprs, equation by equation (the printed form: names, params, literals, avals)

PROGRAMS = [
    (lambda n, L: lambda z: z * 2 + 1j - 2.5j * z, (Z,)),
    (lambda n, L: lambda x: x + 1j, (X,)),
    (lambda n, L: lambda z: (n.real(z), n.imag(z), n.conj(z), n.abs(z)), (Z,)),
    (lambda n, L: lambda x, y: L.complex(x, y) * L.conj(x), (X, X)),
    (lambda n, L: lambda z: n.vdot(z, z), (Z,)),
    (lambda n, L: lambda z: n.conj(n.real(z)), (Z,)),
]
GRADS = [
    lambda n: lambda z: n.sum(n.abs(z) ** 2),
    lambda n: lambda z: n.sum(n.real(z * n.conj(z))),
    lambda n: lambda z: n.sum(n.log(n.abs(z))),
]


@pytest.mark.parametrize("i", range(len(PROGRAMS)))
def test_jaxprs_match_jax(i):
    mk, args = PROGRAMS[i]
    assert str(mg.make_jaxpr(mk(mnp, lax))(*args)) == str(jax.make_jaxpr(mk(jnp, jlax))(*args))


@pytest.mark.parametrize("i", range(len(GRADS)))
def test_grad_jaxprs_match_jax(i):
    ours = mg.make_jaxpr(mg.grad(GRADS[i](mnp)))(Z)
    theirs = jax.make_jaxpr(jax.grad(GRADS[i](jnp)))(Z)
    assert str(ours) == str(theirs)


def test_holomorphic_grad_jaxpr_matches_jax():
    ours = mg.make_jaxpr(mg.grad(lambda z: mnp.sum(z**3), holomorphic=True))(Z)
    theirs = jax.make_jaxpr(jax.grad(lambda z: jnp.sum(z**3), holomorphic=True))(Z)
    assert str(ours) == str(theirs)


def test_complex_avals_print_as_jax():
    jaxpr = mg.make_jaxpr(lambda z: z)(np.zeros((3,), np.complex64))
    theirs = jax.make_jaxpr(lambda z: z)(np.zeros((3,), np.complex64))
    assert str(jaxpr.jaxpr.invars[0].aval) == str(theirs.jaxpr.invars[0].aval)
    assert jaxpr.jaxpr.invars[0].aval.str_short() == "c64[3]"  # as the jaxpr prints it
    assert str(jaxpr) == str(jax.make_jaxpr(lambda z: z)(np.zeros((3,), np.complex64)))
    assert repr(mnp.array(1 + 2j)) == repr(jnp.array(1 + 2j))


# ---------------------------------------------------------------------------
# grad of real functions of complex inputs; holomorphic derivatives

REAL_OF_COMPLEX = [
    lambda n: lambda z, w: n.sum(n.abs(z) ** 2),
    lambda n: lambda z, w: n.sum(n.real(z * n.conj(w))),
    lambda n: lambda z, w: n.sum(n.log(n.abs(z))),
    lambda n: lambda z, w: n.sum(n.angle(z) * n.imag(w)),
    lambda n: lambda z, w: n.abs(n.prod(z) + n.vdot(w, z)),
    lambda n: lambda z, w: n.sum(n.abs(n.where(n.abs(z) > 1.0, z, w * 2j))),
    lambda n: lambda z, w: n.sum(n.abs(n.sqrt(z) / w + n.tanh(z) ** 2)),
    lambda n: lambda z, w: n.sum(n.abs(n.cumsum(z) * n.sort(w))),
]


@pytest.mark.parametrize("i", range(len(REAL_OF_COMPLEX)))
def test_grad_of_real_function_of_complex_inputs_matches_jax(i):
    ours = mg.value_and_grad(REAL_OF_COMPLEX[i](mnp), argnums=(0, 1))(Z, W)
    theirs = jax.jit(jax.value_and_grad(REAL_OF_COMPLEX[i](jnp), argnums=(0, 1)))(Z, W)
    close(ours, theirs, 1e-4)


def test_grad_through_real_to_complex_matches_jax():
    def f(n, L):
        return lambda x, y: n.abs(n.sum(L.complex(x, y) * (1 + 1j) + L.conj(x)))

    close(mg.grad(f(mnp, lax), (0, 1))(X, X), jax.jit(jax.grad(f(jnp, jlax), (0, 1)))(X, X))


def holo(n):
    return lambda z: n.sin(z) * z + z**3


def test_holomorphic_derivatives_match_jax():
    s = lambda n: lambda z: n.sum(holo(n)(z))  # noqa: E731
    val_t, grad_t = jax.jit(jax.value_and_grad(s(jnp), holomorphic=True))(Z)
    close(mg.grad(s(mnp), holomorphic=True)(Z), grad_t)
    close(mg.value_and_grad(s(mnp), holomorphic=True)(Z), (val_t, grad_t))
    jac_t = jax.jit(jax.jacfwd(holo(jnp), holomorphic=True))(Z)
    close(mg.jacfwd(holo(mnp), holomorphic=True)(Z), jac_t)
    close(
        mg.jacrev(holo(mnp), holomorphic=True)(Z),
        jax.jit(jax.jacrev(holo(jnp), holomorphic=True))(Z),
    )
    hess_t = jax.jit(jax.hessian(s(jnp), holomorphic=True))(Z)
    close(mg.hessian(s(mnp), holomorphic=True)(Z), hess_t, 1e-4)


def test_jacobians_without_holomorphic_match_jax():
    # jacfwd: real inputs with a complex output are allowed (as in JAX)
    f = lambda n: lambda x: n.exp(1j * x) * x  # noqa: E731
    close(mg.jacfwd(f(mnp))(X), jax.jit(jax.jacfwd(f(jnp)))(X))
    # jacrev: complex inputs with a real output are allowed
    g = lambda n: lambda z: n.abs(z) ** 2 + n.real(z)  # noqa: E731
    close(mg.jacrev(g(mnp))(Z), jax.jit(jax.jacrev(g(jnp)))(Z))


ERRORS = [
    ("grad of complex output", lambda lib, n: lib.grad(lambda z: n.sum(z * z))(Z)),
    ("grad holo real input", lambda lib, n: lib.grad(lambda z: n.sum(z), holomorphic=True)(X)),
    (
        "grad holo real output",
        lambda lib, n: lib.grad(lambda z: n.sum(n.abs(z)), holomorphic=True)(Z),
    ),
    ("jacfwd complex input", lambda lib, n: lib.jacfwd(lambda z: n.abs(z))(Z)),
    ("jacfwd holo real input", lambda lib, n: lib.jacfwd(lambda z: z, holomorphic=True)(X)),
    ("jacfwd holo real output", lambda lib, n: lib.jacfwd(n.abs, holomorphic=True)(Z)),
    ("jacrev complex output", lambda lib, n: lib.jacrev(lambda x: x * 1j)(X)),
    ("jacrev holo real input", lambda lib, n: lib.jacrev(lambda z: z * 1j, holomorphic=True)(X)),
    ("jacrev holo real output", lambda lib, n: lib.jacrev(n.abs, holomorphic=True)(Z)),
    ("hessian complex input", lambda lib, n: lib.hessian(lambda z: n.sum(n.abs(z)))(Z)),
    ("lt of complex", lambda lib, n: (lax if lib is mg else jlax).lt(Z, Z)),
    ("floor of complex", lambda lib, n: (lax if lib is mg else jlax).floor(Z)),
    ("complex of complex", lambda lib, n: (lax if lib is mg else jlax).complex(Z, Z)),
    ("complex of int", lambda lib, n: (lax if lib is mg else jlax).complex(1, np.int32(2))),
    ("real of real", lambda lib, n: (lax if lib is mg else jlax).real(X)),
]


@pytest.mark.parametrize("name, thunk", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_jax_error_classes(name, thunk):
    with pytest.raises(Exception) as theirs:
        thunk(jax, jnp)
    with pytest.raises(Exception) as ours:
        thunk(mg, mnp)
    assert isinstance(ours.value, type(theirs.value)), (ours.value, theirs.value)
    if "holomorphic" in str(theirs.value) or "real-valued" in str(theirs.value):
        head = str(theirs.value).split(",")[0]
        assert head in str(ours.value), (str(ours.value), str(theirs.value))


# ---------------------------------------------------------------------------
# minigrad_jax.numpy on complex values (value, dtype and weak type as JAX's)

NUMPY = {
    "real": lambda n: n.real(Z),
    "real_int": lambda n: n.real(3),
    "imag": lambda n: n.imag(Z),
    "imag_float": lambda n: n.imag(2.0),
    "conj": lambda n: n.conj(Z),
    "conjugate_int": lambda n: n.conjugate(np.arange(3)),
    "angle": lambda n: n.angle(Z),
    "angle_deg": lambda n: n.angle(Z, deg=True),
    "angle_int": lambda n: n.angle(np.arange(3) - 1),
    "angle_float_scalar": lambda n: n.angle(np.float32(-1)),
    "iscomplex": lambda n: n.iscomplex(np.array([1 + 0j, 1 + 1j])),
    "iscomplex_real": lambda n: n.iscomplex(X),
    "iscomplex_scalar": lambda n: n.iscomplex(2.0),
    "isreal": lambda n: n.isreal(np.array([1 + 0j, 1 + 1j])),
    "isreal_weak": lambda n: n.isreal(2 + 1j),
    "iscomplexobj": lambda n: n.iscomplexobj(Z),
    "isrealobj": lambda n: n.isrealobj(Z),
    "sort_complex": lambda n: n.sort_complex(np.array([1 + 2j, 1 - 1j, -3, 1 + 0j], np.complex64)),
    "sort_complex_int": lambda n: n.sort_complex(np.array([3, 1, 2])),
    "sort_ties_and_nan": lambda n: n.sort(np.array([1 + 2j, np.nan, 1 - 1j, -3, 1j], np.complex64)),
    "sort_descending": lambda n: n.sort(ZM, axis=1, descending=True),
    "argsort": lambda n: n.argsort(np.array([1 + 2j, 1 - 1j, -3, 1 + 0j], np.complex64)),
    "abs": lambda n: n.abs(Z),
    "absolute": lambda n: n.absolute(ZM),
    "array_of_python_complex": lambda n: n.array(1 + 2j),
    "array_list": lambda n: n.array([1 + 2j, 3]),
    "weak_complex_scalar": lambda n: n.asarray(X) + 1j,
    "weak_times_array": lambda n: n.asarray(Z) * 2j,
    "complex_": lambda n: n.array(1, dtype=n.complex_),
    "csingle": lambda n: n.ones(2, dtype=n.csingle),
    "cdouble": lambda n: n.zeros(2, dtype=n.cdouble),
    "vdot": lambda n: n.vdot(Z, W),
    "vdot_2d": lambda n: n.vdot(ZM, ZM * 1j),
    "norm": lambda n: n.linalg.norm(Z),
    "norm_axis": lambda n: n.linalg.norm(ZM, axis=1),
    "norm_fro": lambda n: n.linalg.norm(ZM, "fro"),
    "norm_1": lambda n: n.linalg.norm(Z, ord=1),
    "where": lambda n: n.where(n.real(ZM) > 0, ZM, 0),
    "less_greater": lambda n: (n.less(ZC, ZC[::-1]), n.greater_equal(ZC, ZC[::-1]), ZC <= 1),
    "equal": lambda n: n.equal(Z, Z[0]),
    "not_equal": lambda n: n.not_equal(Z, 1j),
    "power": lambda n: n.power(Z, 2.5),
    "power_int": lambda n: n.power(Z, 3),
    "sum_prod_mean": lambda n: (n.sum(ZM), n.prod(ZM, 0), n.mean(ZM, 1)),
    "cumsum_cumprod": lambda n: (n.cumsum(ZM, 1), n.cumprod(ZM, 1)),
    "matmul": lambda n: n.matmul(ZM, ZM.T),
}


@pytest.mark.parametrize("name", list(NUMPY))
def test_numpy_matches_jax(name):
    ours, theirs = NUMPY[name](mnp), NUMPY[name](jnp)
    close(ours, theirs)
    for o, t in zip(tree_util.tree_leaves(ours), tree_util.tree_leaves(theirs), strict=True):
        assert getattr(o, "weak_type", None) == getattr(t, "weak_type", None), name


def test_tracer_methods_match_jax():
    def f(z):
        return z.real * z.imag + z.conj().real - z.conjugate().imag

    close(mg.jit(f)(Z), jax.jit(f)(Z))
    close(mg.vmap(f)(ZM), jax.jit(jax.vmap(f))(ZM))
    loss = lambda z: (f(z) ** 2).sum()  # noqa: E731
    close(mg.grad(loss)(Z), jax.jit(jax.grad(loss))(Z))
    assert str(mg.make_jaxpr(f)(Z)) == str(jax.make_jaxpr(f)(Z))


def test_zero_tangents_of_complex_values():
    # a complex output that does not depend on the input has a complex zero tangent
    f = lambda z: (z * 0 + 1j, lax.real(z))  # noqa: E731
    ours = mg.jvp(f, (Z,), (like(Z),))
    theirs = jax.jvp(f, (Z,), (like(Z),))
    close(ours[0], theirs[0])
    assert np.asarray(ours[1][0]).dtype == np.complex64
    g = mg.grad(lambda z: lax.real(z)[0] * 0.0)(Z)
    close(g, jax.jit(jax.grad(lambda z: jlax.real(z)[0] * 0.0))(Z))
