"""Tracebacks end at the user's line; errors have JAX's classes.

Our frames (and JAX's, below our code) are filtered at the outermost
``api_boundary``, as JAX filters its own; MINIGRAD_TRACEBACK_FILTERING switches
it, as JAX_TRACEBACK_FILTERING does for JAX.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import traceback
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src import core, traceback_util
from minigrad_jax._src.traceback_util import api_boundary

X = np.ones((2, 3), np.float32)
LIBRARY_DIRS = (
    os.path.dirname(mg.__file__) + os.sep,
    os.path.dirname(jax.__file__) + os.sep,
)
JAX_NOTE = "For simplicity, JAX has removed its internal frames"
OUR_NOTE = "minigrad_jax has removed its internal frames"


@pytest.fixture(autouse=True)
def _default_filtering(monkeypatch):
    monkeypatch.delenv("MINIGRAD_TRACEBACK_FILTERING", raising=False)
    traceback_util.set_traceback_filtering(None)
    yield
    traceback_util.set_traceback_filtering(None)


def bad_loss(w):
    return mnp.dot(w, w).sum()  # (2, 3) @ (2, 3): a shape error on this line


BAD_LINE = inspect.getsourcelines(bad_loss)[1] + 1


def _frames(e):
    return traceback.extract_tb(e.__traceback__)


def _library_frames(e):
    return [f for f in _frames(e) if f.filename.startswith(LIBRARY_DIRS)]


def _notes(e):
    return getattr(e, "__notes__", [])


def _assert_ends_at_user_line(e, line=BAD_LINE):
    frames = _frames(e)
    assert not _library_frames(e), traceback.format_exception(e)
    assert frames[-1].filename == __file__ and frames[-1].lineno == line, frames
    assert sum(OUR_NOTE in n for n in _notes(e)) == 1
    assert not any(JAX_NOTE in n for n in _notes(e))


TRANSFORMS = {
    "grad": lambda f: mg.grad(f),
    "value_and_grad": lambda f: mg.value_and_grad(f),
    "vjp": lambda f: lambda x: mg.vjp(f, x),
    "jvp": lambda f: lambda x: mg.jvp(f, (x,), (x,)),
    "linearize": lambda f: lambda x: mg.linearize(f, x),
    "make_jaxpr": lambda f: mg.make_jaxpr(f),
    "eval_shape": lambda f: lambda x: mg.eval_shape(f, x),
    "jacfwd": lambda f: mg.jacfwd(f),
    "jacrev": lambda f: mg.jacrev(f),
    "hessian": lambda f: mg.hessian(f),
    "vmap_of_grad": lambda f: lambda x: mg.vmap(mg.grad(f))(x[None]),
    "grad_of_grad_nested": lambda f: mg.jacfwd(mg.grad(f)),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_traceback_ends_at_the_user_line(name):
    with pytest.raises(TypeError) as info:
        TRANSFORMS[name](bad_loss)(X)
    _assert_ends_at_user_line(info.value)


def test_error_at_the_call_site_keeps_only_the_callers_frame():
    with pytest.raises(TypeError) as info:
        mg.grad(bad_loss, argnums=3)(X)
    frames = _frames(info.value)
    assert [f.name for f in frames] == ["test_error_at_the_call_site_keeps_only_the_callers_frame"]
    assert not _library_frames(info.value)


def test_jax_footer_is_dropped_when_the_error_passes_through_our_code():
    def f(x):
        return jnp.sin(x)  # JAX raises (and adds its footer) below our boundary

    with pytest.raises(TypeError) as info:
        mg.grad(f)(1.0)
    _assert_ends_at_user_line(info.value, inspect.getsourcelines(f)[1] + 1)


def test_filtering_off_by_environment(monkeypatch):
    monkeypatch.setenv("MINIGRAD_TRACEBACK_FILTERING", "off")
    with pytest.raises(TypeError) as info:
        mg.grad(bad_loss)(X)
    assert _library_frames(info.value)
    assert not any(OUR_NOTE in n for n in _notes(info.value))


def test_filtering_off_by_switch():
    traceback_util.set_traceback_filtering("off")
    with pytest.raises(TypeError) as info:
        mg.vmap(bad_loss)(X[None])
    assert _library_frames(info.value)


def test_filtering_off_by_config():
    mg.config.update("traceback_filtering", "off")
    with pytest.raises(TypeError) as info:
        mg.vmap(bad_loss)(X[None])
    assert _library_frames(info.value)
    mg.config.update("traceback_filtering", "auto")
    with pytest.raises(TypeError) as info:
        mg.vmap(bad_loss)(X[None])
    assert not _library_frames(info.value)


def test_jax_filtering_off_turns_ours_off_when_ours_is_unset():
    old = jax.config.jax_traceback_filtering
    jax.config.update("jax_traceback_filtering", "off")
    try:
        with pytest.raises(TypeError) as info:
            mg.grad(bad_loss)(X)
    finally:
        jax.config.update("jax_traceback_filtering", old)
    assert _library_frames(info.value)


def test_remove_frames_keeps_the_unfiltered_traceback_as_cause(monkeypatch):
    monkeypatch.setenv("MINIGRAD_TRACEBACK_FILTERING", "remove_frames")
    with pytest.raises(TypeError) as info:
        mg.grad(bad_loss)(X)
    _assert_ends_at_user_line(info.value)
    cause = info.value.__cause__
    assert isinstance(cause, traceback_util.UnfilteredStackTrace)
    assert _library_frames(cause)


def test_invalid_mode_is_a_clear_value_error(monkeypatch):
    monkeypatch.setenv("MINIGRAD_TRACEBACK_FILTERING", "sometimes")
    with pytest.raises(ValueError, match="MINIGRAD_TRACEBACK_FILTERING=sometimes"):
        mg.grad(bad_loss)(X)
    with pytest.raises(ValueError, match="sometimes"):
        traceback_util.set_traceback_filtering("sometimes")


def test_user_exception_keeps_its_class_and_ends_at_its_raise():
    class Mine(Exception):
        pass

    def f(x):
        raise Mine(f"mine {x!r}")

    with pytest.raises(Mine) as info:
        mg.vmap(mg.grad(f))(np.ones(3, np.float32))
    assert _frames(info.value)[-1].name == "f"
    assert not _library_frames(info.value)


def test_api_boundary_is_transparent():
    def f(x, *, y=2):
        """Doc."""
        return x + y

    g = api_boundary(f)
    assert g(1, y=3) == 4
    assert (g.__name__, g.__doc__, g.__wrapped__) == ("f", "Doc.", f)
    assert inspect.signature(g) == inspect.signature(f)
    assert api_boundary(api_boundary(f))(1) == 3


def test_nested_boundaries_filter_once():
    inner = api_boundary(lambda x: bad_loss(x))
    outer = api_boundary(lambda x: inner(x))
    with pytest.raises(TypeError) as info:
        outer(X)
    _assert_ends_at_user_line(info.value)


def test_an_error_caught_inside_a_transform_is_untouched():
    # An inner boundary leaves filtering to the outer one, so code that catches
    # the error in between sees the original, unfiltered exception.
    seen = []

    def f(x):
        try:
            mg.grad(bad_loss)(X)
        except TypeError as e:
            seen.append(e)
        return x

    mg.grad(f)(1.0)
    assert _library_frames(seen[0]) and not any(OUR_NOTE in n for n in _notes(seen[0]))


def test_concretization_error_names_the_user_line():
    def f(x):
        return x if x > 0 else -x

    with pytest.raises(TypeError, match=r"test_tracebacks.py:\d+ \(f\)") as info:
        mg.make_jaxpr(f)(1.0)
    assert _frames(info.value)[-1].name == "f"


# ---------------------------------------------------------------------------
# errors of the array API called from the user's top level (no transform above)

V3, V4 = np.ones(3, np.float32), np.ones(4, np.float32)
KEY = jax.random.key(0)

# name: (the failing call, written on one line so its line is the user's line)
TOP_LEVEL = {
    "ufunc (jit_when_eager)": lambda: mnp.add(V3, V4),
    "lax binary (binder)": lambda: mg.lax.add(V3, V4),
    "lax unary (binder)": lambda: mg.lax.sin("a"),
    "numpy function": lambda: mnp.reshape(V3, (2, 2)),
    "numpy reduction": lambda: mnp.sum(V3, axis=4),
    "ufunc method": lambda: mnp.multiply.accumulate(V3, axis=2),
    "numpy, several operands": lambda: mnp.concatenate([np.ones((3, 2)), np.ones((4, 3))]),
    "numpy.linalg": lambda: mnp.linalg.solve(np.eye(3), V4),
    "numpy.fft": lambda: mnp.fft.fft(V3, axis=2),
    "lax function": lambda: mg.lax.dot_general(V3, V4, (((0,), (0,)), ((), ()))),
    "lax control flow": lambda: mg.lax.cond(True, lambda: V3, lambda: V4),
    "lax.linalg": lambda: mg.lax.linalg.cholesky(V3),
    "nn": lambda: mg.nn.softmax(V3, axis=3),
    "nn.initializers": lambda: mg.nn.initializers.orthogonal()(KEY, (3,)),
    "random": lambda: mg.random.normal(KEY, (2,), dtype=np.int32),
    "mg": lambda: mg.device_put(V3, "not a device"),
    "from_jax": lambda: mg.from_jax(jnp.dot)(V3, V4),
    "vectorize": lambda: mnp.vectorize(mnp.dot, signature="(n),(n)->()")(V3, V4),
}
TOP_LEVEL_LINES = {
    name: inspect.getsourcelines(TOP_LEVEL[name])[1]
    + [i for i, line in enumerate(inspect.getsourcelines(TOP_LEVEL[name])[0]) if name in line][0]
    for name in TOP_LEVEL
}


@pytest.mark.parametrize("name", list(TOP_LEVEL))
def test_array_api_error_at_top_level_ends_at_the_user_line(name):
    with pytest.raises(Exception) as info:
        TOP_LEVEL[name]()
    e = info.value
    assert not isinstance(e, (AttributeError, KeyError, AssertionError)), repr(e)
    frames = _frames(e)
    assert not _library_frames(e), traceback.format_exception(e)
    assert (frames[-1].filename, frames[-1].lineno) == (__file__, TOP_LEVEL_LINES[name]), frames
    assert sum(OUR_NOTE in n for n in _notes(e)) == 1


@pytest.mark.parametrize("name", ["ufunc (jit_when_eager)", "numpy function", "lax function"])
def test_array_api_error_at_top_level_unfiltered_when_off(name):
    traceback_util.set_traceback_filtering("off")
    with pytest.raises(Exception) as info:
        TOP_LEVEL[name]()
    assert _library_frames(info.value)
    assert not any(OUR_NOTE in n for n in _notes(info.value))


def test_array_api_error_keeps_the_message_and_class_it_had_unfiltered():
    traceback_util.set_traceback_filtering("off")
    unfiltered = {}
    for name, call in TOP_LEVEL.items():
        with pytest.raises(Exception) as info:
            call()
        unfiltered[name] = (type(info.value), str(info.value))
    traceback_util.set_traceback_filtering(None)
    for name, call in TOP_LEVEL.items():
        with pytest.raises(Exception) as info:
            call()
        assert (type(info.value), str(info.value)) == unfiltered[name], name


def test_a_user_function_failing_inside_an_array_function_keeps_its_frames():
    def body(x):
        raise ValueError("from the user's function")

    with pytest.raises(ValueError) as info:
        mnp.vectorize(body)(V3)
    frames = _frames(info.value)
    assert frames[-1].name == "body" and not _library_frames(info.value), frames


def test_array_functions_under_a_transform_leave_filtering_to_it():
    # Under grad the array function's wrapper sees grad's boundary above it; the
    # error is filtered once, at grad, and still ends at the user's line.
    with pytest.raises(TypeError) as info:
        mg.grad(bad_loss)(X)
    _assert_ends_at_user_line(info.value)
    seen = []

    def f(x):
        try:
            mnp.reshape(x, (2, 2))
        except TypeError as e:
            seen.append(e)
        return x

    mg.grad(f)(V3.sum())
    assert _library_frames(seen[0]) and not any(OUR_NOTE in n for n in _notes(seen[0]))


PUBLIC_NAMESPACES = [
    mg,
    mnp,
    mnp.linalg,
    mnp.fft,
    mg.lax,
    mg.lax.linalg,
    mg.nn,
    mg.nn.initializers,
    mg.random,
]


@pytest.mark.parametrize("module", PUBLIC_NAMESPACES, ids=lambda m: m.__name__)
def test_every_public_function_is_an_entry_point(module):
    # A public function of ours is a boundary: api_boundary's wrapper, an array
    # function's wrapper (binder, jit_when_eager) or public_function's. The same
    # object as in _src otherwise, with its name, docstring and signature.
    plain = []
    for name in module.__all__:
        fn = getattr(module, name)
        if not isinstance(fn, types.FunctionType) or not fn.__module__.startswith("minigrad_jax"):
            continue
        if fn.__code__ not in core.BOUNDARY_CODES:
            plain.append(name)
        inner = inspect.unwrap(fn)
        assert (fn.__name__, fn.__doc__) == (inner.__name__, inner.__doc__), name
        assert inspect.signature(fn) == inspect.signature(inner), name
    assert not plain, plain


# ---------------------------------------------------------------------------
# the error classes JAX raises, for the same bad input


def _cases(J, np_):
    f = lambda x: (x**2).sum()  # noqa: E731
    return {
        "grad_not_callable": lambda: J.grad(1),
        "vmap_not_callable": lambda: J.vmap(1),
        "make_jaxpr_not_callable": lambda: J.make_jaxpr(1),
        "jvp_not_callable": lambda: J.jvp(1, (1.0,), (1.0,)),
        "grad_argnums_out_of_range": lambda: J.grad(f, argnums=2)(1.0),
        "grad_argnums_str": lambda: J.grad(f, argnums="a")(1.0),
        "grad_non_scalar": lambda: J.grad(lambda x: x)(X),
        "grad_int_input": lambda: J.grad(f)(1),
        "grad_str_input": lambda: J.grad(f)("a"),
        "grad_int_output": lambda: J.grad(lambda x: 1)(1.0),
        "grad_bad_aux": lambda: J.grad(lambda x: x, has_aux=True)(1.0),
        "vmap_in_axes_length": lambda: J.vmap(lambda x, y: x, in_axes=(0, 0, 0))(X, X),
        "vmap_in_axes_str": lambda: J.vmap(lambda x: x, in_axes="a"),
        "vmap_in_axes_dict": lambda: J.vmap(lambda x: x, in_axes={"a": 0}),
        "vmap_in_axes_float_leaf": lambda: J.vmap(lambda x: x, in_axes=(0.5,)),
        "vmap_out_axes_float_leaf": lambda: J.vmap(lambda x: x, out_axes=(0.5,)),
        "vmap_in_axes_out_of_range": lambda: J.vmap(lambda x: x, in_axes=2)(X),
        "vmap_inconsistent_sizes": lambda: J.vmap(lambda x, y: x, in_axes=(0, 1))(X, X),
        "vmap_nothing_mapped": lambda: J.vmap(lambda x: x, in_axes=None)(X),
        "vmap_out_axes_out_of_range": lambda: J.vmap(lambda x: x, out_axes=3)(X),
        "vmap_out_axes_negative_out_of_range": lambda: J.vmap(lambda x: x, out_axes=-3)(X),
        "vmap_out_axes_none_but_mapped": lambda: J.vmap(lambda x: x, out_axes=None)(X),
        "vmap_str_arg": lambda: J.vmap(lambda x: x)("a"),
        "vmap_scalar_arg": lambda: J.vmap(lambda x: x)(1.0),
        "vmap_in_axes_not_a_prefix": lambda: J.vmap(lambda x: x, in_axes=({"a": 0},))([X]),
        "vmap_out_axes_not_a_prefix": lambda: J.vmap(lambda x: (x, x), out_axes=(0, 0, 0))(X),
        "vmap_no_args": lambda: J.vmap(lambda: 1.0)(),
        "jvp_primals_not_tuple": lambda: J.jvp(f, 1.0, 1.0),
        "jvp_shape_mismatch": lambda: J.jvp(f, (X,), (np.ones(3, np.float32),)),
        "jvp_dtype_mismatch": lambda: J.jvp(f, (X,), (X.astype(np.float16),)),
        "jvp_tree_mismatch": lambda: J.jvp(lambda a, b: a, (1.0, 1.0), (1.0,)),
        "make_jaxpr_str_arg": lambda: J.make_jaxpr(lambda x: x)("a"),
        "make_jaxpr_static_out_of_range": lambda: J.make_jaxpr(lambda x: x, static_argnums=3)(1.0),
        "eval_shape_str_arg": lambda: J.eval_shape(lambda x: x, "a"),
        "vjp_cotangent_shape": lambda: J.vjp(lambda x: x, X)[1](np.ones(3, np.float32)),
        "vjp_cotangent_tree": lambda: J.vjp(lambda x: x, X)[1]((X, X)),
        "vjp_cotangent_dtype": lambda: J.vjp(lambda x: x, X)[1](X.astype(np.float16)),
        "linearize_tangent_shape": lambda: J.linearize(lambda x: x, X)[1](np.ones(3, np.float32)),
        "jacfwd_int_input": lambda: J.jacfwd(lambda x: x)(1),
        "jacrev_int_input": lambda: J.jacrev(lambda x: x)(1),
        "shape_error_add": lambda: J.grad(lambda x, y: (x + y).sum())(X, np.ones(4, np.float32)),
        "shape_error_dot": lambda: J.grad(lambda x, y: np_.dot(x, y).sum())(X, X),
        "bool_of_tracer": lambda: J.make_jaxpr(lambda x: 1.0 if x > 0 else 2.0)(1.0),
    }


def _builtin_class(e):
    return next(c for c in type(e).__mro__ if c.__module__ == "builtins")


@pytest.mark.parametrize("name", list(_cases(jax, jnp)))
def test_error_class_matches_jax(name):
    with pytest.raises(Exception) as theirs:
        _cases(jax, jnp)[name]()
    with pytest.raises(Exception) as ours:
        _cases(mg, mnp)[name]()
    assert _builtin_class(ours.value) is _builtin_class(theirs.value), (
        f"ours: {ours.value!r}\ntheirs: {theirs.value!r}"
    )


def test_library_frames_are_recognised_through_an_unnormalised_sys_path(tmp_path):
    # A script that puts ``<its folder>/..`` on sys.path (as the examples do) imports
    # minigrad_jax from a path with ``..`` in it; our frames must still be filtered.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = tmp_path / "user_script.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {os.path.join(root, 'tests', '..')!r})\n"
        "import minigrad_jax as mg\n"
        "assert '..' in mg.__file__, mg.__file__\n"
        "jaxpr = mg.make_jaxpr(lambda x: x * 2.0)(1.0)\n"
        "print(jaxpr.jaxpr.eqns[0].source_info)\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("user_script.py:5"), out.stdout
