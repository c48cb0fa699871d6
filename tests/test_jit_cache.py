"""mg.jit caches by function, as jax.jit does; static/donate names and positions; methods.

Each behaviour runs through jax.jit as well. A function written with Python
operators only (``x * 2.0 + 1.0``) traces under both libraries, so one body with
a call counter shows how often each library traces it.
"""

import functools
import gc
import inspect
import types
import weakref

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src import pjit
from minigrad_jax._src.ir import ClosedJaxpr
from tests.conftest import enable_x64

X = jnp.array([0.3, -1.2, 0.7, 2.0], jnp.float32)
Y = jnp.array([1.5, 0.2, -0.4, 0.9], jnp.float32)


def _close(a, b):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6)


def _counted():
    """A fresh function usable by both libraries, and its list of trace-time calls."""
    calls = []

    def f(x):
        calls.append(1)
        return x * 2.0 + 1.0

    return f, calls


def _traces(lib, f, calls, n=3, x=X):
    """How many times ``lib.jit(f)(x)`` written inline ``n`` times traces ``f``."""
    del calls[:]
    for _ in range(n):
        _close(lib.jit(f)(x), x * 2.0 + 1.0)
    return len(calls)


# ---------------------------------------------------------------------------
# inline jit: the caches belong to the function


def test_inline_jit_traces_once_as_in_jax():
    f, calls = _counted()
    assert _traces(mg, f, calls) == _traces(jax, f, calls) == 1
    assert mg.jit(f).trace_count == 1  # a fresh wrapper reads the shared count
    # and as many compiled executables as JAX keeps for it (one)
    ours, theirs = mg.jit(f)._cache_size(), jax.jit(f)._cache_size()
    assert ours == theirs, (ours, theirs)


def test_inline_jit_of_a_fresh_partial_retraces_as_in_jax():
    f, calls = _counted()
    for lib in (mg, jax):
        del calls[:]
        for _ in range(3):
            lib.jit(functools.partial(f))(X)
        assert len(calls) == 3, lib.__name__


def test_equal_callables_share_as_in_jax():
    calls = []

    class Scale:
        def __init__(self, k):
            self.k = k

        def __call__(self, x):
            calls.append(1)
            return x * self.k

        def __eq__(self, other):
            return isinstance(other, Scale) and other.k == self.k

        def __hash__(self):
            return hash(self.k)

    a, b = Scale(2.0), Scale(2.0)
    for lib in (mg, jax):
        del calls[:]
        _close(lib.jit(a)(X), X * 2)
        _close(lib.jit(b)(X), X * 2)
        assert len(calls) == 1, lib.__name__
    # the first one gone, a wrapper of the second still retraces (with the second)
    jb = mg.jit(b)
    del a
    gc.collect()
    _close(jb(jnp.ones((2, 2))), jnp.full((2, 2), 2.0))


def test_different_functions_do_not_share():
    f, f_calls = _counted()
    g, g_calls = _counted()  # the same code, another function
    mg.jit(f)(X)
    mg.jit(g)(X)
    assert len(f_calls) == len(g_calls) == 1


def test_options_are_part_of_the_key():
    def f(x, n):
        return x * (n if isinstance(n, int) else -1.0)

    _close(mg.jit(f)(X, 3), jax.jit(f)(X, 3))  # n traced: -1
    _close(mg.jit(f, static_argnums=1)(X, 3), jax.jit(f, static_argnums=1)(X, 3))  # n = 3
    _close(mg.jit(f, static_argnames="n")(X, 3), jax.jit(f, static_argnames="n")(X, 3))
    assert mg.jit(f).trace_count == 1
    assert mg.jit(f, static_argnums=1).trace_count == 1


def test_list_and_tuple_options_share():
    def f(x, n):
        return x * n

    mg.jit(f, static_argnames=["n"])(X, 2)
    assert mg.jit(f, static_argnames=("n",)).trace_count == 1


def test_retrace_on_new_shape_is_shared():
    f, calls = _counted()
    mg.jit(f)(X)
    mg.jit(f)(jnp.ones((2, 3)))
    mg.jit(f)(X)
    assert mg.jit(f).trace_count == 2 == len(calls)
    sigs = mg.jit(f).seen
    assert [s[1][0].shape for s in sigs] == [(4,), (2, 3)]


def test_cache_does_not_keep_the_function_alive():
    def f(x):
        return x * 2.0 + 1.0

    for lib in (mg, jax):
        g = types.FunctionType(f.__code__, f.__globals__)  # a function only this loop holds
        ref = weakref.ref(g)
        lib.jit(g)(X)
        lib.grad(lambda x, g=g, lib=lib: lib.jit(g)(x).sum())(X)
        state = weakref.ref(mg.jit(g)._state) if lib is mg else None
        del g
        gc.collect()
        assert ref() is None, lib.__name__
        if state is not None:
            assert state() is None


def test_static_values_of_equal_value_but_other_type_retrace_as_in_jax():
    def f(x, n):
        return x * n

    xi = jnp.arange(3, dtype=jnp.int32)
    for n in (1, 1.0, True):
        ours = mg.jit(f, static_argnums=1)(xi, n)
        ref = jax.jit(f, static_argnums=1)(xi, n)
        assert ours.dtype == ref.dtype, n
        _close(ours, ref)
    assert mg.jit(f, static_argnums=1).trace_count == 3


def test_x64_is_part_of_the_key():
    def mf(x):
        return x + mnp.arange(3.0)

    def jf(x):
        return x + jnp.arange(3.0)

    xi = np.arange(3, dtype=np.int32)  # the same input type under x32 and x64
    assert mg.jit(mf)(xi).dtype == jax.jit(jf)(xi).dtype == jnp.float32
    with enable_x64():
        assert mg.jit(mf)(xi).dtype == jax.jit(jf)(xi).dtype == jnp.float64
    assert mg.jit(mf).trace_count == 2


# ---------------------------------------------------------------------------
# grad(jit(f)) and other transforms: one jaxpr per signature, traced and compiled once


def _loss(x):
    return mnp.sum(mnp.sin(x) * x)


def _jax_loss(x):
    return jnp.sum(jnp.sin(x) * x)


def test_eager_grad_of_jit_traces_and_compiles_once():
    def f(x):
        return _loss(x)

    jf = mg.jit(f)
    _close(mg.grad(jf)(X), jax.grad(jax.jit(_jax_loss))(X))
    compiled = pjit.compile_count()
    for _ in range(3):
        _close(mg.grad(jf)(X), jax.grad(jax.jit(_jax_loss))(X))
        _close(mg.grad(mg.jit(f))(X), jax.grad(jax.jit(_jax_loss))(X))  # inline as well
    assert jf.trace_count == 1
    assert pjit.compile_count() == compiled


def _live_closed_jaxprs():
    gc.collect()
    return sum(type(o) is ClosedJaxpr for o in gc.get_objects())


def test_eager_grad_of_jit_keeps_no_new_jaxprs_per_call():
    def f(x):
        return _loss(x)

    for _ in range(2):
        mg.grad(mg.jit(f))(X)
    before = _live_closed_jaxprs()
    for _ in range(5):
        mg.grad(mg.jit(f))(X)
    assert _live_closed_jaxprs() == before


def test_transforms_of_jit_reuse_the_top_level_trace_as_in_jax():
    f, calls = _counted()
    for lib in (mg, jax):
        del calls[:]
        lib.jit(f)(X)
        lib.grad(lambda x, lib=lib: lib.jit(f)(x).sum())(X)
        lib.vmap(lib.jit(f))(jnp.stack([X, Y]))  # per example f32[4] again
        lib.jvp(lib.jit(f), (X,), (Y,))
        assert len(calls) == 1, lib.__name__
    assert mg.jit(f).trace_count == 1


def test_one_closed_jaxpr_per_signature():
    def f(x, y):
        return x * y

    assert mg.jit(f).trace(X, Y) is mg.jit(f).trace(Y, X)
    assert mg.jit(f).trace(X, Y) is not mg.jit(f).trace(X, 2.0)


def test_jit_inside_jit_traces_inner_once():
    calls = []

    def inner(x):
        calls.append(1)
        return x * 2.0

    outer_a = mg.jit(lambda x: mg.jit(inner)(x) + 1.0)
    outer_b = mg.jit(lambda x: mg.jit(inner)(x) - 1.0)
    _close(outer_a(X), X * 2 + 1)
    _close(outer_b(X), X * 2 - 1)
    assert len(calls) == 1


# ---------------------------------------------------------------------------
# static and donated arguments by name or position, through the signature


def _n_kind(x, n):
    """x * n when n is a Python int (static), x * -100 when traced."""
    return x * (n if isinstance(n, int) else -100.0)


STATIC_CASES = [
    ("name passed by position", dict(static_argnames="n"), (X, 3), {}),
    ("number passed by name", dict(static_argnums=1), (X,), {"n": 3}),
    ("negative number by position", dict(static_argnums=-1), (X, 3), {}),
    ("both given: as given", dict(static_argnums=0, static_argnames="m"), (3, 4), {"m": 5}),
    (
        "explicit empty numbers: no inference",
        dict(static_argnums=(), static_argnames="n"),
        (X, 3),
        {},
    ),
]


def _n_m(x, n, m=1):
    return _n_kind(x, n) + (m if isinstance(m, int) else -1000.0)


@pytest.mark.parametrize("name,opts,args,kwargs", STATIC_CASES, ids=[c[0] for c in STATIC_CASES])
def test_static_names_and_positions_as_in_jax(name, opts, args, kwargs):
    ours = mg.jit(_n_m, **opts)(*args, **kwargs)
    _close(ours, jax.jit(_n_m, **opts)(*args, **kwargs))
    # under grad (the jit primitive) the same arguments are static
    if not isinstance(args[0], int):
        g = mg.grad(lambda x: mnp.sum(mg.jit(_n_m, **opts)(x, *args[1:], **kwargs)))(X)
        _close(g, jax.grad(lambda x: jnp.sum(jax.jit(_n_m, **opts)(x, *args[1:], **kwargs)))(X))


def test_static_keyword_only_and_var_args_as_in_jax():
    def kw_only(x, *, n):
        return _n_kind(x, n)

    def var_args(x, *args):
        return _n_kind(x, args[0])

    def var_kw(x, **kw):
        return _n_kind(x, kw["n"])

    def pos_only(x, n, /):
        return _n_kind(x, n)

    for lib in (mg, jax):
        _close(lib.jit(kw_only, static_argnames="n")(X, n=3), X * 3)
        _close(lib.jit(var_args, static_argnums=1)(X, 3), X * 3)
        _close(lib.jit(var_args, static_argnums=5)(X, 3), X * -100)  # position not in this call
        _close(lib.jit(var_kw, static_argnames="n")(X, n=3), X * 3)
        _close(lib.jit(pos_only, static_argnums=1)(X, 3), X * 3)


BAD_OPTIONS = [
    ("a name the function lacks", _n_m, dict(static_argnames="zz"), ValueError),
    ("a position past the signature", _n_m, dict(static_argnums=3), ValueError),
    ("a negative position past it", _n_m, dict(static_argnums=-4), ValueError),
    ("a keyword-only parameter by number", lambda x, *, n: x, dict(static_argnums=1), ValueError),
    ("*args by name", lambda x, *args: x, dict(static_argnames="args"), ValueError),
    ("a positional-only name", lambda x, n, /: x, dict(static_argnames="n"), ValueError),
    ("a donated name the function lacks", _n_m, dict(donate_argnames="zz"), ValueError),
    ("static and donated", _n_m, dict(static_argnames="n", donate_argnums=1), ValueError),
    ("a str as a number", _n_m, dict(static_argnums="n"), TypeError),
]


@pytest.mark.parametrize("name,fun,opts,err", BAD_OPTIONS, ids=[c[0] for c in BAD_OPTIONS])
def test_bad_static_or_donate_options_fail_at_definition_as_in_jax(name, fun, opts, err):
    for lib in (mg, jax):
        with pytest.raises(err):
            lib.jit(fun, **opts)


def test_negative_static_number_counts_from_each_calls_positional_args():
    # static_argnums=-1 with n passed by name makes x (the last positional) static,
    # which JAX refuses: an array is not hashable
    for lib in (mg, jax):
        with pytest.raises(ValueError, match="hashable"):
            lib.jit(_n_m, static_argnums=-1)(X, n=3)


def test_builtin_without_signature():
    with pytest.raises(ValueError):
        inspect.signature(max)
    for lib in (mg, jax):
        assert int(lib.jit(max, static_argnums=(0, 1))(1, 2)) == 2


def _donated(lib, opts, *args, **kwargs):
    lowered = lib.jit(lambda x, y: x * 2.0 + y, **opts).lower(*args, **kwargs)
    return lowered.as_text().count("tf.aliasing_output")


@pytest.mark.parametrize(
    "opts", [dict(donate_argnames="y"), dict(donate_argnums=1), dict(donate_argnums=-1)]
)
def test_donate_names_and_numbers_as_in_jax(opts):
    for kwargs in ({}, {"y": Y}):
        args = (X, Y) if not kwargs else (X,)
        assert _donated(mg, opts, *args, **kwargs) == _donated(jax, opts, *args, **kwargs)


def test_donated_by_name_buffer_is_deleted_and_explained():
    f = mg.jit(lambda x, y: x * 2.0 + y, donate_argnames="y")
    y = jnp.array(Y)
    _close(f(X, y), X * 2 + Y)
    assert y.is_deleted()
    with pytest.raises(ValueError, match="argument 1 was donated"):
        f(X, y)
    y = jnp.array(Y)
    f(X, y=y)
    with pytest.raises(ValueError, match="argument 'y' was donated"):
        f(X, y=y)


# ---------------------------------------------------------------------------
# methods, partials, callable objects, lambdas


class Model:
    def __init__(self, k):
        self.k = k

    @functools.partial(mg.jit, static_argnums=0)
    def scaled(self, x):
        return x * self.k

    @functools.partial(mg.jit, static_argnames="self")
    def shifted(self, x):
        return x + self.k

    @mg.jit
    def plain(self, x):
        return x * 2.0


class JaxModel(Model):
    scaled = functools.partial(jax.jit, static_argnums=0)(Model.scaled.fun)
    shifted = functools.partial(jax.jit, static_argnames="self")(Model.shifted.fun)
    plain = jax.jit(Model.plain.fun)


def test_method_with_static_self_as_in_jax():
    m, j = Model(3.0), JaxModel(3.0)
    _close(m.scaled(X), j.scaled(X))
    _close(m.shifted(X), j.shifted(X))
    _close(Model.scaled(m, X), JaxModel.scaled(j, X))  # unbound, through the class
    assert type(m.scaled) is type(j.scaled) is types.MethodType
    _close(mg.grad(lambda x: mnp.sum(m.scaled(x)))(X), jax.grad(lambda x: jnp.sum(j.scaled(x)))(X))
    m2 = Model(5.0)  # another instance: another static value, another trace
    _close(m2.scaled(X), X * 5)
    assert Model.scaled.trace_count == 2


def test_method_with_traced_non_pytree_self_is_a_type_error_as_in_jax():
    for obj in (Model(3.0), JaxModel(3.0)):
        with pytest.raises(TypeError, match="static"):
            obj.plain(X)
    with pytest.raises(TypeError, match="static"):  # under a transform too
        mg.grad(lambda x: mnp.sum(Model(3.0).plain(x)))(X)


@jax.tree_util.register_pytree_node_class
class Affine:
    def __init__(self, w):
        self.w = w

    def tree_flatten(self):
        return (self.w,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)

    def apply(self, x):
        return self.w * x + 1.0

    mg_apply = mg.jit(apply)
    jax_apply = jax.jit(apply)


def test_method_with_pytree_self_as_in_jax():
    a = Affine(Y)
    _close(a.mg_apply(X), a.jax_apply(X))
    _close(
        mg.grad(lambda w: mnp.sum(Affine(w).mg_apply(X)))(Y),
        jax.grad(lambda w: jnp.sum(Affine(w).jax_apply(X)))(Y),
    )


def _jit_names(lib, fun):
    jaxpr = str(lib.make_jaxpr(lambda x: lib.jit(fun)(x))(X))
    return [line.strip() for line in jaxpr.splitlines() if "name=" in line]


def test_jit_of_partial_callable_object_and_lambda_as_in_jax():
    class Triple:
        def __call__(self, x):
            return x * 3.0

    def scale(x, k):
        return x * k

    for fun in (functools.partial(scale, k=2.0), Triple(), lambda x: x - 1.0):
        _close(mg.jit(fun)(X), jax.jit(fun)(X))
        assert mg.jit(fun).__name__ == jax.jit(fun).__name__
        assert _jit_names(mg, fun) == _jit_names(jax, fun)
        assert mg.jit(fun).__wrapped__ is jax.jit(fun).__wrapped__ is fun
