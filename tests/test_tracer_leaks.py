"""mg.config "check_tracer_leaks": a tracer that outlives its transform raises, as JAX's
jax_check_tracer_leaks does; programs that keep no tracer never raise."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src import traceback_util

LEAKED = []  # a module global: where a leaked tracer is found
X3 = np.arange(3.0, dtype=np.float32)


@contextlib.contextmanager
def _checking(lib=mg):
    if lib is mg:
        old = mg.config.check_tracer_leaks
        mg.config.update("check_tracer_leaks", True)
    else:
        old = jax.config.jax_check_tracer_leaks
        jax.config.update("jax_check_tracer_leaks", True)
    try:
        yield
    finally:
        LEAKED.clear()
        if lib is mg:
            mg.config.update("check_tracer_leaks", old)
        else:
            jax.config.update("jax_check_tracer_leaks", old)


def _leaky(x):
    LEAKED.append(x)
    return x * 2.0


_TRANSFORMS = {
    "make_jaxpr": lambda lib: lib.make_jaxpr(_leaky)(X3),
    "jit": lambda lib: lib.jit(lambda x: _leaky(x))(X3),  # a new function: it traces
    "vmap": lambda lib: lib.vmap(_leaky)(X3),
    "grad": lambda lib: lib.grad(lambda x: _leaky(x).sum())(X3),
    "jvp": lambda lib: lib.jvp(_leaky, (X3,), (X3,)),
    "vjp": lambda lib: lib.vjp(_leaky, X3),
    "linearize": lambda lib: lib.linearize(_leaky, X3),
}


@pytest.mark.parametrize("name", ["make_jaxpr", "jit", "vmap"])
def test_jax_raises_too(name):
    # JAX's jax_check_tracer_leaks catches these (an Exception, "Leaked trace ..."):
    # ours raises for the same programs.
    for lib in (jax, mg):
        with _checking(lib):
            with pytest.raises(Exception, match="Leaked trace") as info:
                _TRANSFORMS[name](lib)
        assert type(info.value) is Exception or isinstance(info.value, mg.errors.MinigradError)


@pytest.mark.parametrize("name", list(_TRANSFORMS))
def test_a_leak_raises_and_says_where(name):
    with _checking():
        with pytest.raises(Exception) as info:
            _TRANSFORMS[name](mg)
    msg = str(info.value)
    transform = "jit(<lambda>)" if name == "jit" else name
    assert msg.startswith("Leaked trace ") and f"of `{transform}`" in msg, msg
    assert f"entered at {__file__}:" in msg  # the line of the _TRANSFORMS entry
    assert "Tracer" in msg.splitlines()[2]  # the leaked tracer, with its type
    assert f"is referred to by {__name__}.LEAKED" in msg, msg


def test_the_error_is_an_exception_and_filtered():
    with _checking():
        with pytest.raises(Exception) as info:
            mg.vmap(_leaky)(X3)
    tb = info.traceback
    assert all("minigrad_jax" not in str(entry.path) for entry in tb), tb


def test_an_attribute_and_a_closure_are_named():
    class Box:
        pass

    box = Box()

    def into_attribute(x):
        box.value = x
        return x

    kept = []

    def into_closure(x):
        kept.append(x)
        return x

    with _checking():
        with pytest.raises(Exception, match=r"<Box \d+>\.value"):
            mg.jit(into_attribute)(X3)
        with pytest.raises(Exception, match="closed-over variable kept"):
            mg.vmap(into_closure)(X3)


def test_a_leak_inside_a_nested_transform_names_it():
    with _checking():
        with pytest.raises(Exception, match="Leaked trace BatchTrace of `vmap`"):
            mg.jit(mg.vmap(_leaky))(np.ones((2, 3), np.float32))
        with pytest.raises(Exception, match="of `grad`"):
            mg.vmap(mg.grad(lambda x: _leaky(x)))(X3)


def test_a_made_value_names_its_line():
    def f(x):
        y = mnp.sin(x)
        LEAKED.append(y)
        return y

    with _checking():
        with pytest.raises(Exception, match=f"made at {__file__}:"):
            mg.make_jaxpr(f)(X3)


def test_off_costs_nothing():
    old = mg.config.check_tracer_leaks  # off by default; on with MINIGRAD_CHECK_TRACER_LEAKS
    mg.config.update("check_tracer_leaks", False)
    try:
        mg.vmap(_leaky)(X3)  # leaks, but nobody asked
        assert len(LEAKED) == 1
        assert traceback_util.leak_check is None  # nothing waits for a check
    finally:
        LEAKED.clear()
        mg.config.update("check_tracer_leaks", old)


def test_a_saved_exception_is_not_a_leak():
    # An error caught inside a transform and kept: its traceback's frames hold the
    # outer transform's tracers, which is no leak of the user's.
    seen = []

    def f(x):
        try:
            mg.grad(lambda y: y.reshape(7).sum())(X3)
        except TypeError as e:
            seen.append(e)
        return x * 2.0

    with _checking():
        assert mg.grad(f)(1.0) == 2.0
    assert len(seen) == 1


def _mlp_loss(params, x):
    h = mnp.tanh(x @ params["w"] + params["b"])
    return mnp.sum(h**2)


_PARAMS = {"w": np.ones((3, 4), np.float32) / 3, "b": np.zeros(4, np.float32)}
_XS = np.ones((5, 3), np.float32)


def _cube(x):
    return x**3


@mg.custom_jvp
def _softplus(x):
    return mnp.log1p(mnp.exp(x))


_softplus.defjvp(lambda p, t: (_softplus(p[0]), t[0] * mg.nn.sigmoid(p[0])))


@mg.custom_vjp
def _clip_grad(x):
    return x


_clip_grad.defvjp(lambda x: (x, None), lambda _, g: (mnp.clip(g, -1.0, 1.0),))


def _programs():
    def scan_body(c, x):
        return c + mnp.sum(mnp.sin(x)), c

    outside = mnp.ones(3)  # made outside: a plain value

    def uses_outer(x):
        # an inner transform closing over the outer transform's tracer: legitimate
        return mg.grad(lambda y: mnp.sum(y * x))(x)

    def stores_a_constant(x):
        LEAKED.append(mnp.zeros(3))  # depends on nothing: a plain array in JAX
        return x + outside

    return {
        "grad": lambda: mg.grad(_mlp_loss)(_PARAMS, _XS),
        "jit_grad": lambda: mg.jit(mg.grad(_mlp_loss))(_PARAMS, _XS),
        "vmap_grad": lambda: mg.vmap(mg.grad(_mlp_loss), in_axes=(None, 0))(_PARAMS, _XS),
        "hessian": lambda: mg.hessian(_cube)(2.0),
        "jacrev_jacfwd": lambda: (mg.jacrev(mnp.sin)(X3), mg.jacfwd(mnp.sin)(X3)),
        "scan_grad": lambda: mg.grad(lambda x: mg.lax.scan(scan_body, 0.0, x)[0])(_XS),
        "while": lambda: mg.lax.while_loop(lambda c: c < 10.0, lambda c: c * 2.0, 1.0),
        "cond_vmap": lambda: mg.vmap(lambda x: mg.lax.cond(x > 1.0, mnp.sin, mnp.cos, x))(X3),
        "checkpoint": lambda: mg.grad(lambda x: mnp.sum(mg.checkpoint(mnp.sin)(x)))(X3),
        "custom_jvp": lambda: mg.grad(lambda x: mnp.sum(_softplus(x)))(X3),
        "custom_vjp": lambda: mg.grad(lambda x: mnp.sum(_clip_grad(x) * 5.0))(X3),
        "vjp_later": lambda: mg.vjp(mnp.sin, X3)[1](X3),
        "linearize_later": lambda: mg.linearize(mnp.sin, X3)[1](X3),
        "closure_over_outer": lambda: mg.vmap(uses_outer)(X3),
        "constant_stored": lambda: mg.vmap(stores_a_constant)(np.ones((2, 3), np.float32)),
        "make_jaxpr": lambda: str(mg.make_jaxpr(mg.grad(_mlp_loss))(_PARAMS, _XS)),
    }


@pytest.mark.parametrize("name", list(_programs()))
def test_programs_that_keep_no_tracer_pass(name):
    program = _programs()[name]
    with _checking():
        got = program()
        assert traceback_util.leak_check is None  # every waiting trace was checked
    expected = program()
    if isinstance(expected, str):
        assert got == expected
        return
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_a_failed_transform_is_not_a_leak():
    # The exception's traceback holds the failed call's tracers (pytest keeps it):
    # that is no leak, and later transforms do not report it.
    def bad(x):
        return x.reshape(7)

    with _checking():
        with pytest.raises(TypeError) as info:
            mg.grad(lambda x: mnp.sum(bad(x)))(X3)
        assert mg.jit(lambda x: x + 1.0)(X3).shape == (3,)
        assert mg.vmap(mnp.sin)(X3).shape == (3,)
    assert info.value is not None


def test_same_answers_as_jax_with_checking_on():
    f = lambda x: jnp.sum(jnp.sin(x) * x)  # noqa: E731
    g = lambda x: mnp.sum(mnp.sin(x) * x)  # noqa: E731
    with _checking(jax), _checking(mg):
        want = jax.jit(jax.grad(f))(X3)
        got = mg.jit(mg.grad(g))(X3)
    np.testing.assert_allclose(got, want, rtol=1e-6)
