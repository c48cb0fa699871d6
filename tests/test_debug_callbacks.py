"""mg.debug.print, mg.debug.callback, mg.pure_callback, mg.io_callback against JAX's.

Every program runs twice, through jax (jax.debug.print, jax.lax, jax.numpy) and
through minigrad_jax, and the lines each prints (or the calls each callback gets)
must be equal. Under jit JAX runs unordered callbacks in whatever order XLA
schedules them, so there the lines are compared as a multiset; ordered ones, and
everything run eagerly, are compared in order.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import io_callback as jax_io_callback

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import errors

JAX = {
    "M": jax,
    "L": jax.lax,
    "np": jnp,
    "print": jax.debug.print,
    "callback": jax.debug.callback,
    "pure": jax.pure_callback,
    "io": jax_io_callback,
}
MG = {
    "M": mg,
    "L": mg.lax,
    "np": mnp,
    "print": mg.debug.print,
    "callback": mg.debug.callback,
    "pure": mg.pure_callback,
    "io": mg.io_callback,
}

X = np.float32(1.5)
XS = np.arange(3.0, dtype=np.float32)
X22 = np.arange(4.0, dtype=np.float32).reshape(2, 2)


def _lines(capsys, fn):
    capsys.readouterr()
    fn()
    jax.effects_barrier()
    return capsys.readouterr().out.splitlines()


def _f(lib, ordered=False):
    P, np_ = lib["print"], lib["np"]

    def f(x):
        P("x={}", x, ordered=ordered)
        y = np_.sin(x)
        P("y={y}", y=y, ordered=ordered)
        return y * x

    return f


# name -> program(lib); each returns a thunk. "exact": compare in order.
def _programs():
    def p(body):
        return body

    progs = {
        "eager": p(lambda lib, f: lambda: f(X)),
        "vmap": p(lambda lib, f: lambda: lib["M"].vmap(f)(XS)),
        "vmap_of_vmap": p(lambda lib, f: lambda: lib["M"].vmap(lib["M"].vmap(f))(X22)),
        "vmap_in_axes_1": p(lambda lib, f: lambda: lib["M"].vmap(f, in_axes=1)(X22)),
        "grad": p(lambda lib, f: lambda: lib["M"].grad(f)(X)),
        "jvp": p(lambda lib, f: lambda: lib["M"].jvp(f, (X,), (X,))),
        "vjp": p(lambda lib, f: lambda: lib["M"].vjp(f, X)[1](np.float32(1.0))),
        "linearize": p(lambda lib, f: lambda: lib["M"].linearize(f, X)[1](np.float32(1.0))),
        "grad_of_grad": p(lambda lib, f: lambda: lib["M"].grad(lib["M"].grad(f))(X)),
        "vmap_of_grad": p(lambda lib, f: lambda: lib["M"].vmap(lib["M"].grad(f))(XS)),
        "grad_of_vmap": p(
            lambda lib, f: lambda: lib["M"].grad(lambda v: lib["M"].vmap(f)(v).sum())(XS)
        ),
        "jacfwd": p(lambda lib, f: lambda: lib["M"].jacfwd(f)(XS)),
        "jacrev": p(lambda lib, f: lambda: lib["M"].jacrev(f)(XS)),
        "checkpoint_grad": p(lambda lib, f: lambda: lib["M"].grad(lib["M"].checkpoint(f))(X)),
        "checkpoint_vjp_forward_only": p(
            lambda lib, f: lambda: lib["M"].vjp(lib["M"].checkpoint(f), X)
        ),
    }
    compiled = {
        "jit": p(lambda lib, f: lambda: lib["M"].jit(f)(X)),
        "jit_of_vmap": p(lambda lib, f: lambda: lib["M"].jit(lib["M"].vmap(f))(XS)),
        "jit_of_grad": p(lambda lib, f: lambda: lib["M"].jit(lib["M"].grad(f))(X)),
        "grad_of_jit": p(lambda lib, f: lambda: lib["M"].grad(lib["M"].jit(f))(X)),
        "jit_of_checkpoint_grad": p(
            lambda lib, f: lambda: lib["M"].jit(lib["M"].grad(lib["M"].checkpoint(f)))(X)
        ),
        "scan": p(
            lambda lib, f: lambda: lib["L"].scan(lambda c, _: (f(c), None), X, None, length=3)
        ),
        "scan_over_xs": p(lambda lib, f: lambda: lib["L"].scan(lambda c, x: (c + f(x), x), X, XS)),
        "grad_of_scan": p(
            lambda lib, f: (
                lambda: lib["M"].grad(
                    lambda x: lib["L"].scan(lambda c, _: (f(c), None), x, None, length=2)[0]
                )(X)
            )
        ),
        "grad_of_scan_of_checkpoint": p(
            lambda lib, f: (
                lambda: lib["M"].grad(
                    lambda x: lib["L"].scan(
                        lambda c, _: (lib["M"].checkpoint(f)(c), None), x, None, length=2
                    )[0]
                )(X)
            )
        ),
        "vmap_of_scan": p(
            lambda lib, f: (
                lambda: lib["M"].vmap(
                    lambda x: lib["L"].scan(lambda c, _: (f(c), None), x, None, length=2)
                )(XS)
            )
        ),
        "while": p(
            lambda lib, f: (
                lambda: lib["L"].while_loop(
                    lambda c: c[0] < 3, lambda c: (c[0] + 1, f(c[1])), (0, X)
                )
            )
        ),
        "vmap_of_while": p(
            lambda lib, f: (
                lambda: lib["M"].vmap(
                    lambda x: lib["L"].while_loop(
                        lambda c: c[1] < 2.5,
                        lambda c: (c[0] + 1, c[1] + 1.0 + 0.0 * f(c[1])),
                        (0, x),
                    )
                )(XS)
            )
        ),
        "jvp_of_while": p(
            lambda lib, f: (
                lambda: lib["M"].jvp(
                    lambda x: lib["L"].while_loop(
                        lambda c: c[0] < 2, lambda c: (c[0] + 1, f(c[1])), (0, x)
                    ),
                    (X,),
                    (X,),
                )
            )
        ),
        "fori_loop": p(lambda lib, f: lambda: lib["L"].fori_loop(0, 2, lambda i, c: f(c), X)),
        "cond": p(lambda lib, f: lambda: lib["L"].cond(X > 0, f, lambda x: x, X)),
        "grad_of_cond": p(
            lambda lib, f: (
                lambda: lib["M"].grad(lambda x: lib["L"].cond(x > 0, f, lambda x: x, x))(X)
            )
        ),
        "vmap_of_cond": p(
            lambda lib, f: (
                lambda: lib["M"].vmap(lambda x: lib["L"].cond(x > 0.5, f, lambda x: x, x))(XS)
            )
        ),
    }
    return progs, compiled


PROGRAMS, COMPILED = _programs()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_printed_lines_equal_jax_in_order(capsys, name):
    want = _lines(capsys, PROGRAMS[name](JAX, _f(JAX)))
    got = _lines(capsys, PROGRAMS[name](MG, _f(MG)))
    assert want  # the program prints something
    assert got == want


@pytest.mark.parametrize("name", sorted(COMPILED))
def test_printed_lines_equal_jax_compiled(capsys, name):
    want = _lines(capsys, COMPILED[name](JAX, _f(JAX)))
    got = _lines(capsys, COMPILED[name](MG, _f(MG)))
    assert want
    assert sorted(got) == sorted(want)


@pytest.mark.parametrize("name", sorted(COMPILED))
def test_ordered_prints_keep_jax_order(capsys, name):
    want = _lines(capsys, COMPILED[name](JAX, _f(JAX, ordered=True)))
    got = _lines(capsys, COMPILED[name](MG, _f(MG, ordered=True)))
    assert want
    assert got == want


def test_ordered_prints_under_jit_keep_program_order(capsys):
    def prog(lib):
        P = lib["print"]

        def f(x):
            for i in range(6):
                P("step {} {}", i, x * i, ordered=True)
            return x

        return lambda: lib["M"].jit(lib["M"].vmap(f))(XS)

    want = _lines(capsys, prog(JAX))
    assert _lines(capsys, prog(MG)) == want
    assert want[0].startswith("step 0") and want[-1].startswith("step 5")


def test_checkpoint_policies_replay_prints_as_jax(capsys):
    for jax_policy, mg_policy in [
        (jax.checkpoint_policies.everything_saveable, mg.checkpoint_policies.everything_saveable),
        (jax.checkpoint_policies.dots_saveable, mg.checkpoint_policies.dots_saveable),
        (jax.checkpoint_policies.nothing_saveable, mg.checkpoint_policies.nothing_saveable),
    ]:
        jax_fn = jax.grad(jax.checkpoint(_f(JAX), policy=jax_policy))
        mg_fn = mg.grad(mg.checkpoint(_f(MG), policy=mg_policy))
        want = _lines(capsys, lambda: jax_fn(X))  # noqa: B023  (called at once)
        got = _lines(capsys, lambda: mg_fn(X))  # noqa: B023
        assert got == want


# ---------------------------------------------------------------------------
# formatting


FORMAT_CASES = {
    "static leaves": lambda P: P("{} {} {}", 1.0, "s", None),
    "array": lambda P: P("{}", XS),
    "format spec": lambda P: P("{:.3f} {x:>8}", 1.23456, x=2),
    "python ints and bools": lambda P: P("{} {}", 1, True),
    "pytree args": lambda P: P("{a} {b}", a={"k": XS}, b=(X, [X])),
    "no placeholders": lambda P: P("hello"),
    "no args at all": lambda P: P(""),
    "float64 numpy": lambda P: P("{}", np.float64(0.1)),
    "int array": lambda P: P("{}", np.arange(4).reshape(2, 2)),
    "braces": lambda P: P("{{}} {}", 3),
    "two-call form": lambda P: P(ordered=True)("x {}", X),
}


@pytest.mark.parametrize("name", sorted(FORMAT_CASES))
@pytest.mark.parametrize("under", ["eager", "jit", "vmap"])
def test_formatting_equals_jax(capsys, name, under):
    case = FORMAT_CASES[name]

    def run(lib):
        P, M = lib["print"], lib["M"]
        if under == "eager":
            return lambda: case(P)
        if under == "jit":
            return lambda: M.jit(lambda: case(P))()
        return lambda: M.vmap(lambda x: (case(P), P("lane {}", x)))(XS)

    want = _lines(capsys, run(JAX))
    assert _lines(capsys, run(MG)) == want


def test_numpy_print_options_are_read_at_the_call(capsys):
    def run(lib):
        def go():
            with np.printoptions(precision=2):
                lib["M"].jit(lambda x: lib["print"]("{}", x / 3))(XS)
            jax.effects_barrier()

        return go

    want = _lines(capsys, run(JAX))
    assert want == ["[0.   0.33 0.67]"]
    assert _lines(capsys, run(MG)) == want


def test_debug_print_jaxpr_equals_jax():
    def f(lib):
        def g(x):
            lib["print"]("x={} {a}", x, a=x * 2.0, ordered=True)
            return x

        return g

    assert str(mg.make_jaxpr(f(MG))(1.0)) == str(jax.make_jaxpr(f(JAX))(1.0))


def test_debug_callback_jaxpr_equals_jax():
    def text(lib, make_jaxpr, ordered):
        def g(x):
            lib["callback"](print, x, ordered=ordered)
            return x

        return str(make_jaxpr(g)(1.0))

    for ordered in (False, True):
        assert text(MG, mg.make_jaxpr, ordered) == text(JAX, jax.make_jaxpr, ordered)
    assert "effect=OrderedDebug" in text(MG, mg.make_jaxpr, True)


@pytest.mark.parametrize(
    "fmt, args, kwargs, exc, match",
    [
        ("hello", (1.0, 2), {}, ValueError, "Unused positional arguments"),
        ("hello", (), {"x": 1}, ValueError, "f-string"),
        ("hello {}", (1, 2), {}, ValueError, r"Unused positional arguments .*\[2\]"),
        ("hello {} {}", (1,), {}, IndexError, "more positional placeholders"),
        ("hello {name}", (), {}, KeyError, "no keyword argument 'name'"),
    ],
)
def test_format_errors_are_jaxs(fmt, args, kwargs, exc, match):
    with pytest.raises(exc):
        jax.debug.print(fmt, *args, **kwargs)
    with pytest.raises(exc, match=match):
        mg.debug.print(fmt, *args, **kwargs)


def test_bad_debug_arguments():
    with pytest.raises(TypeError, match="format must be a str"):
        mg.debug.print(3, 1.0)
    with pytest.raises(TypeError, match="must be callable"):
        mg.debug.callback(3, 1.0)
    with pytest.raises(TypeError, match="two-call form"):
        mg.debug.print(None, 1.0)
    with pytest.raises(TypeError, match="two-call form"):
        mg.debug.callback(None, 1.0)


# ---------------------------------------------------------------------------
# mg.debug.callback


def _recorder():
    calls = []

    def cb(a, b=None, *, tag):
        calls.append((tag, type(a["k"]).__name__, np.asarray(a["k"]).tolist(), repr(b)))

    return calls, cb


@pytest.mark.parametrize("under", ["eager", "jit", "vmap", "grad", "scan"])
def test_debug_callback_gets_what_jax_gives(under):
    def run(lib):
        calls, cb = _recorder()
        M, L = lib["M"], lib["L"]

        def f(x):
            lib["callback"](cb, {"k": x}, b=[2, "s"], tag="t")
            return x * 2.0

        if under == "eager":
            f(X)
        elif under == "jit":
            M.jit(f)(X)
        elif under == "vmap":
            M.vmap(f)(XS)
        elif under == "grad":
            M.grad(f)(X)
        else:
            L.scan(lambda c, x: (c + f(x), None), X, XS)
        jax.effects_barrier()
        return calls

    want = run(JAX)
    assert want
    assert run(MG) == want


def test_debug_callback_two_call_form_and_ordered():
    seen = {"jax": [], "mg": []}
    for name, lib in [("jax", JAX), ("mg", MG)]:

        def f(x, lib=lib, name=name):
            for i in range(4):
                lib["callback"](ordered=True)(lambda v, i=i: seen[name].append((i, float(v))), x)
            return x

        lib["M"].jit(f)(X)
        jax.effects_barrier()
    assert seen["mg"] == seen["jax"] == [(i, 1.5) for i in range(4)]


def test_effects_survive_dead_code_elimination(capsys):
    # The print's value is unused and the function returns a constant: kept, as in JAX.
    def run(lib):
        def f(x):
            lib["print"]("dead {}", x)
            return 1.0

        return lambda: (lib["M"].jit(f)(X), lib["M"].grad(lambda x: f(x) * x)(X))

    want = _lines(capsys, run(JAX))
    assert want == ["dead 1.5", "dead 1.5"]
    assert _lines(capsys, run(MG)) == want


def test_linear_transpose_drops_a_print_of_the_linear_input(capsys):
    def run(lib):
        def f(x):
            lib["print"]("lt {}", x)
            return 2.0 * x

        return lambda: lib["M"].linear_transpose(f, X)(np.float32(1.0))

    want = _lines(capsys, run(JAX))
    assert _lines(capsys, run(MG)) == want


# ---------------------------------------------------------------------------
# jax.debug.print on our tracers


@pytest.mark.parametrize(
    "call, ours",
    [
        (lambda x: jax.debug.print("{}", x), "mg.debug.print"),
        (lambda x: jax.debug.callback(print, x), "mg.debug.callback"),
        (
            lambda x: jax.pure_callback(lambda v: v, jax.ShapeDtypeStruct((), jnp.float32), x),
            "mg.pure_callback",
        ),
    ],
)
@pytest.mark.parametrize("transform", ["jit", "grad", "vmap"])
def test_jax_callbacks_on_our_tracers_say_what_to_use(call, ours, transform):
    def f(x):
        call(x)
        return x * 2.0

    fn = {"jit": mg.jit(f), "grad": mg.grad(f), "vmap": mg.vmap(f)}[transform]
    arg = XS if transform == "vmap" else X
    with pytest.raises(errors.TracerToJaxError) as info:
        fn(arg)
    msg = str(info.value)
    assert f"use {ours} instead" in msg
    assert "was given a minigrad_jax traced value" in msg
    assert f"traced by `{transform}" in msg
    assert "test_debug_callbacks.py" in msg  # the user's line


# ---------------------------------------------------------------------------
# pure_callback


def _host_sin(x):
    return np.sin(np.asarray(x))


def _sds(x):
    return jax.ShapeDtypeStruct(np.shape(x), np.result_type(x))


@pytest.mark.parametrize("under", ["eager", "jit", "scan", "cond"])
def test_pure_callback_values(under):
    def run(lib):
        def f(x):
            return lib["pure"](_host_sin, _sds(XS), x) * 2.0

        if under == "eager":
            return f(XS)
        if under == "jit":
            return lib["M"].jit(f)(XS)
        if under == "scan":
            return lib["L"].scan(lambda c, _: (f(c), None), XS, None, length=2)[0]
        return lib["L"].cond(True, f, lambda x: x, XS)

    want, got = run(JAX), run(MG)
    assert isinstance(got, jax.Array)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got.dtype == want.dtype


def test_pure_callback_pytrees_and_kwargs():
    def cb(d, *, scale):
        return {"a": np.asarray(d["x"]) * scale, "b": (np.asarray(d["y"]),)}

    def run(lib):
        shapes = {"a": _sds(XS), "b": (_sds(X),)}
        return lib["M"].jit(lambda x, y: lib["pure"](cb, shapes, {"x": x, "y": y}, scale=3.0))(
            XS, X
        )

    want, got = run(JAX), run(MG)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == w.dtype


def _shape_recorder():
    shapes = []

    def cb(x, y):
        shapes.append((np.shape(x), np.shape(y)))
        return np.asarray(x) + np.asarray(y)

    return shapes, cb


@pytest.mark.parametrize(
    "method",
    ["sequential", "sequential_unrolled", "expand_dims", "broadcast_all", "legacy_vectorized"],
)
@pytest.mark.parametrize("in_axes", [(0, None), (0, 0), (None, 0), (1, None)])
def test_pure_callback_vmap_methods(method, in_axes):
    lanes = np.arange(4.0, dtype=np.float32)
    x = {0: lanes, None: np.float32(2.0), 1: np.stack([lanes, lanes + 1.0])}[in_axes[0]]
    unmapped_y = np.array([1.0, 2.0], np.float32) if in_axes[0] == 1 else np.float32(1.0)
    y = lanes * 10.0 if in_axes[1] == 0 else unmapped_y

    def run(lib):
        shapes, cb = _shape_recorder()

        def f(a, b):
            shape = jnp.broadcast_shapes(np.shape(a), np.shape(b))
            out = jax.ShapeDtypeStruct(shape, np.float32)
            return lib["pure"](cb, out, a, b, vmap_method=method)

        out = lib["M"].vmap(f, in_axes=in_axes)(x, y)
        return np.asarray(out), shapes

    want_out, want_shapes = run(JAX)
    got_out, got_shapes = run(MG)
    np.testing.assert_array_equal(got_out, want_out)
    assert got_shapes == want_shapes


@pytest.mark.parametrize("method", ["sequential", "expand_dims", "broadcast_all"])
def test_pure_callback_jit_of_vmap_of_vmap(method):
    def run(lib):
        seen = []

        def cb(x):
            seen.append(np.shape(x))
            return np.sin(np.asarray(x))

        def f(x):
            return lib["pure"](cb, _sds(x), x, vmap_method=method)

        M = lib["M"]
        out = M.jit(M.vmap(M.vmap(f)))(np.arange(6.0, dtype=np.float32).reshape(2, 3))
        jax.effects_barrier()
        return np.asarray(out).tolist(), seen

    want = run(JAX)
    assert run(MG) == want


def test_pure_callback_vmap_without_a_method_raises_as_jax():
    def f(lib):
        return lambda x: lib["pure"](_host_sin, _sds(X), x)

    with pytest.raises(NotImplementedError, match="vmap_method=None"):
        jax.vmap(f(JAX))(XS)
    with pytest.raises(NotImplementedError, match="vmap_method=None"):
        mg.vmap(f(MG))(XS)


def test_pure_callback_unknown_vmap_method():
    with pytest.raises(ValueError, match="vmap_method must be on of the allowed methods"):
        mg.pure_callback(_host_sin, _sds(X), X, vmap_method="parallel")


@pytest.mark.parametrize(
    "transform, match",
    [
        (lambda M, f: M.grad(f)(X), "Pure callbacks do not support JVP"),
        (lambda M, f: M.jvp(f, (X,), (X,)), "Pure callbacks do not support JVP"),
        (lambda M, f: M.linear_transpose(f, X)(X), "Pure callbacks do not support transpose"),
    ],
)
def test_pure_callback_differentiation_raises_jaxs_error(transform, match):
    def f(lib):
        return lambda x: lib["pure"](lambda v: v, _sds(X), x)

    with pytest.raises(ValueError, match=match):
        transform(jax, f(JAX))
    with pytest.raises(ValueError, match=match):
        transform(mg, f(MG))


def test_pure_callback_is_dropped_when_unused_as_in_jax():
    counts = {"jax": 0, "mg": 0}

    def run(lib, name):
        def cb(v):
            counts[name] += 1
            return v

        def f(x):
            lib["pure"](cb, _sds(X), x)  # result unused
            return x * 2.0

        lib["M"].jit(f)(X)
        jax.effects_barrier()

    run(JAX, "jax")
    run(MG, "mg")
    assert counts == {"jax": 0, "mg": 0}


def test_pure_callback_jaxpr_equals_jax():
    def f(lib):
        return lambda x: lib["pure"](_host_sin, _sds(XS), x, vmap_method="sequential")

    assert str(mg.make_jaxpr(f(MG))(XS)) == str(jax.make_jaxpr(f(JAX))(XS))


def test_pure_callback_accepts_what_jax_accepts():
    # A Python float and a float64 array read as float32 (x64 off), as in JAX.
    for cb in (lambda v: 2.0, lambda v: np.float64(2.0)):
        want = jax.pure_callback(cb, _sds(X), X)
        got = mg.pure_callback(cb, _sds(X), X)
        assert got.dtype == want.dtype and float(got) == float(want)


@pytest.mark.parametrize(
    "cb, match",
    [
        (lambda v: np.ones(3, np.float32), r"result #0 is f32\[3\].*says f32\[\]"),
        (lambda v: np.int32(1), r"result #0 is i32\[\].*dtype int32.*dtype float32"),
        (lambda v: (v, v), r"returned 2 array\(s\), but result_shape_dtypes describes 1"),
    ],
)
@pytest.mark.parametrize("jit", [False, True])
def test_pure_callback_wrong_results_raise(cb, match, jit):
    def call(lib):
        f = lambda x: lib["pure"](cb, _sds(X), x)  # noqa: E731
        return (lib["M"].jit(f) if jit else f)(X)

    with pytest.raises(RuntimeError):  # JAX's JaxRuntimeError
        call(JAX)
    with pytest.raises(RuntimeError, match=match) as info:
        call(MG)
    if not jit:
        assert type(info.value).__name__ == "CallbackResultError"
        assert isinstance(info.value, errors.MinigradError)


def test_pure_callback_bad_result_shape_dtypes():
    with pytest.raises(TypeError, match="needs a shape and a dtype"):
        mg.pure_callback(_host_sin, 3, X)
    with pytest.raises(ValueError, match="64-bit"):
        mg.pure_callback(_host_sin, jax.ShapeDtypeStruct((), np.float64), X)
    with pytest.raises(TypeError, match="must be callable"):
        mg.pure_callback("sin", _sds(X), X)


# ---------------------------------------------------------------------------
# io_callback


def _io_run(lib, under, ordered=False):
    log = []

    def cb(x):
        log.append(np.asarray(x).tolist())
        return np.asarray(x) * 2.0

    def f(x):
        return lib["io"](cb, _sds(X), x, ordered=ordered) + 1.0

    M, L = lib["M"], lib["L"]
    if under == "eager":
        out = f(X)
    elif under == "jit":
        out = M.jit(f)(X)
    elif under == "vmap":
        out = M.vmap(f)(XS)
    elif under == "jit_vmap":
        out = M.jit(M.vmap(f))(XS)
    else:
        out = L.scan(lambda c, x: (c + f(x), None), X, XS)[0]
    jax.effects_barrier()
    return np.asarray(out), log


@pytest.mark.parametrize("under", ["eager", "jit", "vmap", "jit_vmap", "scan"])
def test_io_callback_calls_and_values_equal_jax(under):
    want_out, want_log = _io_run(JAX, under)
    got_out, got_log = _io_run(MG, under)
    np.testing.assert_array_equal(got_out, want_out)
    assert got_log == want_log


@pytest.mark.parametrize("under", ["eager", "jit", "scan"])
def test_ordered_io_callback(under):
    want = _io_run(JAX, under, ordered=True)
    got = _io_run(MG, under, ordered=True)
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1] == want[1]


def test_io_callback_rules_raise_jaxs_errors():
    def f(lib, ordered=False):
        return lambda x: lib["io"](lambda v: v, _sds(X), x, ordered=ordered)

    for M, lib in [(jax, JAX), (mg, MG)]:
        with pytest.raises(ValueError, match="Cannot `vmap` ordered IO callback"):
            M.vmap(f(lib, ordered=True))(XS)
        with pytest.raises(ValueError, match="IO callbacks do not support JVP"):
            M.grad(f(lib))(X)
        with pytest.raises(ValueError, match="IO callbacks do not support transpose"):
            M.linear_transpose(f(lib), X)(X)


def test_io_callback_is_kept_when_unused_as_in_jax():
    counts = {"jax": 0, "mg": 0}

    def run(lib, name):
        def cb(v):
            counts[name] += 1
            return v

        def f(x):
            lib["io"](cb, _sds(X), x)  # result unused
            return x * 2.0

        lib["M"].jit(f)(X)
        jax.effects_barrier()

    run(JAX, "jax")
    run(MG, "mg")
    assert counts == {"jax": 1, "mg": 1}


def test_io_callback_jaxpr_equals_jax():
    def f(lib):
        return lambda x: lib["io"](_host_sin, _sds(XS), x, ordered=True)

    assert str(mg.make_jaxpr(f(MG))(XS)) == str(jax.make_jaxpr(f(JAX))(XS))
    unordered = lambda x: mg.io_callback(_host_sin, _sds(X22[0]), x)  # noqa: E731
    assert str(mg.make_jaxpr(mg.vmap(unordered))(X22)).count("io_callback[") == 1
