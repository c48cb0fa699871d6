"""The special-function and precision primitives (lax/special.py) against JAX.

Values against jax.lax, derivatives against jax.jvp/jax.grad (and JAX's error
where JAX raises), vmap, jit, jaxprs printed equation by equation as JAX's, and the
error class JAX raises for bad dtypes, shapes and params. op_table's block runs the
generic value/jvp/vjp/vmap/jaxpr comparisons; this file covers what those cannot.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import lax

f32, f16, i32, u32 = np.float32, np.float16, np.int32, np.uint32
RNG = np.random.default_rng(0)
A = RNG.uniform(0.5, 3.0, (2, 3)).astype(f32)  # igamma's a
X = RNG.uniform(0.2, 4.0, (2, 3)).astype(f32)  # igamma's x
P = RNG.uniform(0.05, 0.95, (2, 3)).astype(f32)  # betainc's x
R = RNG.standard_normal((2, 3)).astype(f32)
T = RNG.standard_normal((2, 3)).astype(f32)  # a tangent


def close(ours, theirs, tol=1e-5):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def same_jaxpr(f_ours, f_jax, *args):
    ours, theirs = str(mg.make_jaxpr(f_ours)(*args)), str(jax.make_jaxpr(f_jax)(*args))
    theirs = re.sub(r"np\.int64\((-?\d+)\)", r"\1", theirs)  # JAX's printer shows numpy ints
    assert ours == theirs, f"ours:\n{ours}\njax:\n{theirs}"


def both(name):
    return getattr(lax, name), getattr(jlax, name)


# ---------------------------------------------------------------------------
# values

VALUE_CASES = [
    ("igamma", (A, X)),
    ("igammac", (A, X)),
    ("betainc", (A, X, P)),
    ("zeta", (X + 1.1, A)),
    ("polygamma", (np.array([[0, 1, 2], [3, 1, 0]], f32), A)),
    ("bessel_i0e", (R * 10,)),
    ("bessel_i1e", (R * 10,)),
    ("reciprocal", (R,)),
    ("nextafter", (R, X)),
    # rank-0 operands broadcast, as in lax
    ("igamma", (f32(2.0), X)),
    ("betainc", (f32(2.0), A, P)),
    # float16 (JAX upcasts inside igamma; the result stays float16)
    ("igamma", (A.astype(f16), X.astype(f16))),
    ("bessel_i1e", (R.astype(f16),)),
]
# (op_table's block runs random_gamma_grad and igamma_grad_a; each compiles slowly)


@pytest.mark.parametrize(
    "name, args", VALUE_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VALUE_CASES)]
)
def test_values_match_jax(name, args):
    ours, theirs = both(name)
    tol = 1e-2 if args[0].dtype == f16 else 1e-5
    close(ours(*args), theirs(*args), tol)


def test_jit_values_match_jax():
    def f(L, a, x, p):
        return L.add(L.mul(L.igamma(a, x), L.betainc(a, a, p)), L.bessel_i1e(x))

    close(mg.jit(lambda *v: f(lax, *v))(A, X, P), f(jlax, A, X, P))
    # a gradient under jit (in x: the rule's exp/log/lgamma, no second igamma to compile)
    g = mg.jit(mg.grad(lambda a, x: lax.reduce_sum(lax.igamma(a, x), (0, 1)), 1))(A, X)
    close(g, jax.grad(lambda a, x: jlax.igamma(a, x).sum(), 1)(A, X), 1e-4)


def test_python_scalars_bind_as_jax_does():
    close(lax.igamma(A, 2.0), jlax.igamma(A, 2.0))
    close(lax.zeta(3.0, A), jlax.zeta(3.0, A))
    out, j_out = lax.bessel_i0e(1.0), jlax.bessel_i0e(1.0)
    assert out.weak_type == j_out.weak_type
    close(out, j_out)
    # a Python float is weakly float32, which does not match a float16 array (as in JAX)
    with pytest.raises(TypeError):
        jlax.igamma(A.astype(f16), 2.0)
    with pytest.raises(TypeError):
        lax.igamma(A.astype(f16), 2.0)


@pytest.mark.parametrize("bits", [(8, 7), (5, 10), (4, 3), (8, 23), (2, 0)])
def test_reduce_precision_values(bits):
    x = (R * 1e3).astype(f32)
    close(lax.reduce_precision(x, *bits), jlax.reduce_precision(x, *bits), 0)
    close(mg.jit(lambda v: lax.reduce_precision(v, *bits))(x), jlax.reduce_precision(x, *bits), 0)
    h = R.astype(f16)
    close(lax.reduce_precision(h, 3, 4), jlax.reduce_precision(h, 3, 4), 0)
    w = lax.reduce_precision(1.1, *bits)  # a Python float stays weakly typed
    assert w.weak_type == jlax.reduce_precision(1.1, *bits).weak_type
    close(w, jlax.reduce_precision(1.1, *bits), 0)


def test_mulhi_values():
    big = np.array([[4_000_000_000, 7, 2**31], [1, 2**32 - 1, 123_456_789]], u32)
    other = np.array([[4_000_000_000, 3, 6], [2**32 - 1, 2**32 - 1, 987_654_321]], u32)
    close(lax.mulhi(big, other), jlax.mulhi(big, other), 0)
    s = np.array([[-7, 2**30, -(2**31)], [5, -1, 2**31 - 1]], i32)
    t = np.array([[2**30, 2**30, -(2**31)], [-3, -1, 2**31 - 1]], i32)
    close(lax.mulhi(s, t), jlax.mulhi(s, t), 0)
    close(lax.mulhi(s, 5), jlax.mulhi(s, 5), 0)
    close(mg.jit(lax.mulhi)(s, t), jlax.mulhi(s, t), 0)
    v = np.arange(6, dtype=np.int16).reshape(2, 3) * 3000
    close(lax.mulhi(v, v), jlax.mulhi(v, v), 0)
    # integer, not differentiable: the float path around it gets a zero, as in JAX
    g = mg.grad(lambda u: lax.convert_element_type(lax.mulhi(s, t), f32).sum() * u)(2.0)
    j = jax.grad(lambda u: jlax.convert_element_type(jlax.mulhi(s, t), f32).sum() * u)(2.0)
    close(g, j)


def test_broadcast_shapes_and_reciprocal():
    for shapes in [((2, 1), (3,)), ((), (4, 1, 2)), ((1,), (1,)), ((5, 1, 3), (4, 1))]:
        assert lax.broadcast_shapes(*shapes) == jlax.broadcast_shapes(*shapes)
    with pytest.raises(ValueError):
        jlax.broadcast_shapes((2, 1), (3, 4))
    with pytest.raises(ValueError, match="Incompatible shapes"):
        lax.broadcast_shapes((2, 1), (3, 4))
    same_jaxpr(lax.reciprocal, jlax.reciprocal, R)
    with pytest.raises(TypeError):
        jlax.reciprocal(np.int32(2))
    with pytest.raises(TypeError):
        lax.reciprocal(np.int32(2))


# ---------------------------------------------------------------------------
# derivatives: values and jaxprs as JAX's


def _jvp_cases(L):
    """name -> (function, arguments, the argnums differentiated); every operand is an
    argument, so nothing is folded on the host (JAX's rules use Python operators,
    which numpy would evaluate on a closed-over numpy array)."""
    return {
        "igamma": (L.igamma, (A, X), (0, 1)),
        "igammac": (L.igammac, (A, X), (0, 1)),
        "betainc_x": (L.betainc, (A, X, P), (2,)),
        "bessel_i0e": (L.bessel_i0e, (R,), (0,)),
        "bessel_i1e": (L.bessel_i1e, (R,), (0,)),
        "polygamma_x": (L.polygamma, (np.full((2, 3), 2.0, f32), A), (1,)),
        "reduce_precision": (lambda x: L.reduce_precision(x, 5, 10), (R,), (0,)),
    }


JVP_NAMES = list(_jvp_cases(lax))


def _partial(f, args, argnums):
    """``f`` of the ``argnums`` arguments, the others passed in front as arguments."""

    def g(*a):
        rest, diff = a[: len(args) - len(argnums)], a[len(args) - len(argnums) :]
        full, it_rest, it_diff = [], iter(rest), iter(diff)
        for i in range(len(args)):
            full.append(next(it_diff) if i in argnums else next(it_rest))
        return f(*full)

    rest = tuple(a for i, a in enumerate(args) if i not in argnums)
    diff = tuple(args[i] for i in argnums)
    return g, rest, diff


@pytest.mark.parametrize("name", JVP_NAMES)
def test_jvp_and_grad_match_jax(name):
    f, args, argnums = _jvp_cases(lax)[name]
    jf, _, _ = _jvp_cases(jlax)[name]
    g, rest, diff = _partial(f, args, argnums)
    jg, _, _ = _partial(jf, args, argnums)
    k = len(rest)
    tangents = tuple(T for _ in diff)

    def jvp_of(api, fn):
        return lambda *a: api.jvp(lambda *d: fn(*a[:k], *d), a[k:], tangents)

    def grad_of(api, fn):
        return lambda *a: api.grad(lambda *d: fn(*a[:k], *d).sum(), tuple(range(len(diff))))(*a[k:])

    ours, theirs = jvp_of(mg, g)(*rest, *diff), jvp_of(jax, jg)(*rest, *diff)
    close(ours[0], theirs[0])
    close(ours[1], theirs[1], 1e-4)
    gr, jgr = grad_of(mg, g)(*rest, *diff), grad_of(jax, jg)(*rest, *diff)
    for o, t in zip(gr, jgr, strict=True):
        close(o, t, 1e-4)
    # the jaxprs of the jvp and of the gradient print as JAX's
    same_jaxpr(jvp_of(mg, g), jvp_of(jax, jg), *rest, *diff)
    same_jaxpr(grad_of(mg, g), grad_of(jax, jg), *rest, *diff)


def test_igamma_derivatives_against_finite_differences():
    eps = f32(1e-2)
    da, dx = mg.grad(lambda a, x: lax.reduce_sum(lax.igamma(a, x), (0, 1)), (0, 1))(A, X)
    fd_a = (np.float64(jlax.igamma(A + eps, X)) - jlax.igamma(A - eps, X)) / (2 * eps)
    fd_x = (np.float64(jlax.igamma(A, X + eps)) - jlax.igamma(A, X - eps)) / (2 * eps)
    np.testing.assert_allclose(da, fd_a, rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(dx, fd_x, rtol=1e-2, atol=1e-3)


def test_bessel_i1e_jvp_at_zero_uses_the_limit():
    x = np.array([[0.0, 1e-9, -1e-9], [0.5, -2.0, 1e-6]], f32)
    ours = mg.jvp(lax.bessel_i1e, (x,), (np.ones_like(x),))
    theirs = jax.jvp(jlax.bessel_i1e, (x,), (np.ones_like(x),))
    close(ours[1], theirs[1])
    assert float(ours[1][0, 0]) == 0.5


def test_second_derivatives_match_jax():
    def dx(L, api):  # d/dx of sum(igamma), a function of (a, x) again
        return lambda a, x: api.grad(lambda x: L.reduce_sum(L.igamma(a, x), (0, 1)))(x)

    # d2/dx2 and d2/dadx (through lgamma and log, not igamma_grad_a), as jvps
    for args, tangents in (((A, X), (A * 0, T)), ((A, X), (T, X * 0))):
        ours = mg.jvp(dx(lax, mg), args, tangents)
        theirs = jax.jvp(dx(jlax, jax), args, tangents)
        close(ours[1], theirs[1], 1e-4)
    ours = mg.jvp(lambda x: mg.grad(lambda v: lax.bessel_i0e(v).sum())(x), (R,), (T,))
    theirs = jax.jvp(lambda x: jax.grad(lambda v: jlax.bessel_i0e(v).sum())(x), (R,), (T,))
    close(ours[1], theirs[1])
    # the derivative in a is igamma_grad_a, which JAX does not differentiate
    with pytest.raises(NotImplementedError):
        jax.grad(jax.grad(jlax.igamma))(f32(2.0), f32(1.5))
    with pytest.raises(NotImplementedError, match="igamma_grad_a"):
        mg.grad(mg.grad(lax.igamma))(f32(2.0), f32(1.5))


# Derivatives JAX refuses, and the class it refuses them with.
DERIV_ERRORS = [
    ("zeta_x", lambda L: lambda u: L.zeta(u, f32(2.0)), NotImplementedError),
    ("zeta_q", lambda L: lambda u: L.zeta(f32(3.0), u), NotImplementedError),
    ("igamma_grad_a", lambda L: lambda u: L.igamma_grad_a(u, f32(2.0)), NotImplementedError),
    ("betainc_a", lambda L: lambda u: L.betainc(u, f32(2.0), f32(0.5)), ValueError),
    ("betainc_b", lambda L: lambda u: L.betainc(f32(2.0), u, f32(0.5)), ValueError),
    ("polygamma_m", lambda L: lambda u: L.polygamma(u, f32(2.0)), ValueError),
    ("nextafter", lambda L: lambda u: L.nextafter(u, f32(2.0)), NotImplementedError),
    (
        "random_gamma_grad",
        lambda L: lambda u: L.random_gamma_grad(u, jnp.asarray(f32(2.0))),
        ValueError,
    ),
]


@pytest.mark.parametrize("name, make, cls", DERIV_ERRORS, ids=[d[0] for d in DERIV_ERRORS])
def test_derivative_errors_match_jax(name, make, cls):
    with pytest.raises(cls) as theirs:  # traced only: the error comes before any run
        jax.make_jaxpr(jax.grad(make(jlax)))(jnp.asarray(f32(3.0)))
    with pytest.raises(cls) as ours:
        mg.grad(make(lax))(jnp.asarray(f32(3.0)))
    with pytest.raises(cls):
        mg.make_jaxpr(mg.grad(make(lax)))(jnp.asarray(f32(3.0)))
    if name != "random_gamma_grad":  # JAX's comes from inside its while loop
        assert str(ours.value).split("\n")[0] == str(theirs.value).split("\n")[0]


# ---------------------------------------------------------------------------
# vmap and jit


VMAP_CASES = [
    ("igamma", (A, X[0]), (0, None)),
    ("betainc", (A, A[0], P), (0, None, 0)),
    ("zeta", (X + 1.1, A.T), (-1, 0)),
    ("bessel_i1e", (R,), (1,)),
    ("mulhi", (np.arange(6, dtype=i32).reshape(2, 3) * 999_999, np.int32(77_777)), (0, None)),
]


@pytest.mark.parametrize(
    "name, args, in_axes", VMAP_CASES, ids=[f"{c[0]}-{c[2]}" for c in VMAP_CASES]
)
def test_vmap_matches_jax(name, args, in_axes):
    ours, theirs = both(name)
    close(mg.vmap(ours, in_axes)(*args), jax.vmap(theirs, in_axes)(*args))


def test_vmap_of_reduce_precision_and_of_grads():
    x = RNG.standard_normal((4, 2, 3)).astype(f32)
    f = mg.vmap(lambda v: lax.reduce_precision(v, 8, 7), in_axes=2)
    jf = jax.vmap(lambda v: jlax.reduce_precision(v, 8, 7), in_axes=2)
    close(f(x), jf(x), 0)
    # rows of (2, 3) mapped: the batched program runs on the (2, 3) shapes compiled above
    ga = mg.vmap(mg.grad(lambda a, x: lax.igamma(a, x).sum(), (0, 1)), (0, None))(A, X[0])
    ja = jax.vmap(jax.grad(lambda a, x: jlax.igamma(a, x).sum(), (0, 1)), (0, None))(A, X[0])
    for o, t in zip(ga, ja, strict=True):
        close(o, t, 1e-4)


# ---------------------------------------------------------------------------
# jaxprs as JAX's


JAXPR_CASES = [
    ("igamma", lambda L: lambda a, x: L.igamma(a, x), (A, X)),
    ("igamma_scalar", lambda L: lambda x: L.igamma(2.0, x), (X,)),
    ("igamma_grad_a", lambda L: lambda a, x: L.igamma_grad_a(a, x), (A, X)),
    ("betainc", lambda L: lambda a, b, x: L.betainc(a, b, x), (A, A, P)),
    ("zeta", lambda L: lambda x, q: L.zeta(x, q), (X, A)),
    ("polygamma", lambda L: lambda x: L.polygamma(1.0, x), (X,)),
    ("bessel_i0e", lambda L: lambda x: L.bessel_i0e(x), (R,)),
    ("reduce_precision", lambda L: lambda x: L.reduce_precision(x, np.int32(8), 7), (R,)),
    ("mulhi", lambda L: lambda x: L.mulhi(x, 3), (np.ones(3, i32),)),
    ("nextafter", lambda L: lambda x: L.nextafter(x, x), (R,)),
]


@pytest.mark.parametrize("name, make, args", JAXPR_CASES, ids=[c[0] for c in JAXPR_CASES])
def test_jaxpr_matches_jax(name, make, args):
    same_jaxpr(make(lax), make(jlax), *args)


def test_vmap_jaxpr_matches_jax():
    same_jaxpr(mg.vmap(lax.igamma, (0, None)), jax.vmap(jlax.igamma, (0, None)), A, X[0])


# ---------------------------------------------------------------------------
# errors: JAX's classes


BAD = [
    ("igamma int", lambda L: L.igamma(np.int32(1), np.int32(2)), TypeError),
    ("igamma mixed", lambda L: L.igamma(f32(1), f16(2)), TypeError),
    ("igamma ranks", lambda L: L.igamma(A, X[0]), TypeError),
    ("igamma shapes", lambda L: L.igamma(A, np.ones((3, 3), f32)), TypeError),
    ("betainc int", lambda L: L.betainc(A, A, np.ones((2, 3), i32)), TypeError),
    ("zeta int", lambda L: L.zeta(np.int32(2), np.int32(1)), TypeError),
    ("polygamma int m", lambda L: L.polygamma(np.int32(1), f32(2)), TypeError),
    ("bessel_i0e int", lambda L: L.bessel_i0e(np.int32(1)), TypeError),
    ("bessel_i1e bool", lambda L: L.bessel_i1e(np.bool_(True)), TypeError),
    ("igamma complex", lambda L: L.igamma(np.complex64(1), np.complex64(2)), TypeError),
    ("bessel_i0e complex", lambda L: L.bessel_i0e(np.complex64(1)), TypeError),
    ("reduce_precision complex", lambda L: L.reduce_precision(np.complex64(1), 5, 10), TypeError),
    ("random_gamma_grad int", lambda L: L.random_gamma_grad(np.int32(1), np.int32(2)), TypeError),
    ("igamma_grad_a int", lambda L: L.igamma_grad_a(np.int32(1), np.int32(2)), TypeError),
    ("reduce_precision int", lambda L: L.reduce_precision(np.int32(1), 5, 10), TypeError),
    ("reduce_precision e=0", lambda L: L.reduce_precision(f32(1), 0, 10), ValueError),
    ("reduce_precision m<0", lambda L: L.reduce_precision(f32(1), 5, -1), ValueError),
    ("reduce_precision float bits", lambda L: L.reduce_precision(f32(1), 5.0, 10), TypeError),
    ("mulhi float", lambda L: L.mulhi(f32(1), f32(2)), TypeError),
    ("mulhi bool", lambda L: L.mulhi(np.bool_(1), np.bool_(1)), TypeError),
    ("mulhi mixed", lambda L: L.mulhi(np.int32(1), np.uint32(2)), TypeError),
    ("mulhi int8 and python int", lambda L: L.mulhi(np.int8(1), 3), TypeError),
]


@pytest.mark.parametrize("name, thunk, cls", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_jax_class(name, thunk, cls):
    with pytest.raises(cls):
        thunk(jlax)
    with pytest.raises(cls) as info:
        mg.make_jaxpr(lambda: thunk(lax))()
    assert str(info.value)  # a message, naming the dtype or the problem
    with pytest.raises(cls):
        thunk(lax)


def test_bad_dtype_messages_name_the_primitive_and_dtype():
    with pytest.raises(TypeError, match="igamma.*int32"):
        lax.igamma(np.int32(1), np.int32(2))
    with pytest.raises(TypeError, match="mulhi.*float32"):
        lax.mulhi(f32(1), f32(2))
    with pytest.raises(TypeError, match="igamma.*float32.*float16"):
        lax.igamma(f32(1), f16(2))


def test_traced_precision_bits_raise_concretization_error():
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(lambda e: jlax.reduce_precision(f32(1), e, 10))(5)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        mg.jit(lambda e: lax.reduce_precision(f32(1), e, 10))(5)


# ---------------------------------------------------------------------------
# mnp functions JAX builds on these primitives


def test_i0_is_built_on_bessel_i0e_as_jax():
    x = np.array([[0.0, 0.5, -3.0], [20.0, 50.0, -0.1]], f32)
    close(mnp.i0(x), jnp.i0(x), 1e-6)
    close(mnp.i0(np.arange(6).reshape(2, 3)), jnp.i0(np.arange(6).reshape(2, 3)), 1e-6)
    g = mg.grad(lambda v: mnp.i0(v).sum())(x)
    close(g, jax.grad(lambda v: jnp.i0(v).sum())(x), 1e-5)
    assert float(mg.grad(mnp.i0)(0.0)) == float(jax.grad(jnp.i0)(0.0)) == 0.0
    close(mg.vmap(mnp.i0)(x), jax.vmap(jnp.i0)(x), 1e-6)
    # JAX's i0 is jit(custom_jvp(exp(|x|) * bessel_i0e(|x|))): the same inner equations
    ours = mg.make_jaxpr(mnp.i0)(x).jaxpr.eqns[0]
    theirs = jax.make_jaxpr(jnp.i0)(x).jaxpr.eqns[0].params["jaxpr"].eqns[0]
    assert ours.primitive.name == theirs.primitive.name == "custom_jvp_call"
    inner = [e.primitive.name for e in ours.params["call_jaxpr"].jaxpr.eqns]
    assert inner == [e.primitive.name for e in theirs.params["call_jaxpr"].jaxpr.eqns]
    assert "bessel_i0e" in inner
    with pytest.raises(ValueError):
        jnp.i0(np.complex64(1))
    with pytest.raises(ValueError, match="i0"):
        mnp.i0(np.complex64(1))


def test_nextafter_is_the_primitive():
    x = np.array([1.0, 0.0, -2.0], f32)
    close(mnp.nextafter(x, 0.0), jnp.nextafter(x, 0.0), 0)
    same_jaxpr(lambda v: mnp.nextafter(v, 3), lambda v: jnp.nextafter(v, 3), x)
