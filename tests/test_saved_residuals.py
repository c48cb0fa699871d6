"""mg.saved_residuals / mg.print_saved_residuals against JAX's, and scan's residuals.

Each program is written once against a library namespace (``J`` = jax or mg,
``np_`` = jax.numpy or minigrad_jax.numpy, ``L`` = jax.lax or mg.lax) and run
through both. JAX's residuals are read from ``jax.ad_checkpoint.print_saved_residuals``
(its public form): one ``<type> <description>`` line per residual.

The scan tests check the partial-evaluation rule: a loop invariant, a known
const and a known ``xs`` are not saved once per iteration, as in JAX, and the
gradients, jvps and vmaps of such scans equal JAX's.
"""

from __future__ import annotations

import contextlib
import io
import math
import pathlib
import re
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.ad_checkpoint import print_saved_residuals as jax_print_saved_residuals

import minigrad_jax as mg
import minigrad_jax.numpy as mnp

JAX = (jax, jnp, jax.lax)
MG = (mg, mnp, mg.lax)
HERE = pathlib.Path(__file__)
_LINES = HERE.read_text().splitlines()


def _line(marker):
    """The line number of the one line of this file that ends with ``# <marker>``."""
    hits = [i + 1 for i, t in enumerate(_LINES) if t.rstrip().endswith(f"# {marker}")]
    assert len(hits) == 1, marker
    return hits[0]


def _jax_residuals(f, *args):
    """[(type, description)] from JAX's print_saved_residuals."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        jax_print_saved_residuals(f, *args)
    return [tuple(line.split(" ", 1)) for line in buf.getvalue().splitlines()]


def _types(res):
    return sorted(t for t, _ in res)


def _ours(f, *args):
    res = mg.saved_residuals(f, *args)
    return res, [(aval.str_short(), what) for aval, what in res]


def _jax_bytes(jres):
    total = 0
    for t, _ in jres:
        m = re.fullmatch(r"([a-z]+)(\d+)\[([\d,]*)\]", t)
        kind, bits, shape = m.group(1), int(m.group(2)), m.group(3)
        assert kind in ("f", "i", "u", "c"), t
        total += math.prod(int(d) for d in shape.split(",") if d) * bits // 8
    return total


def _argument_names(res):
    return sorted(d.removeprefix("from the argument ") for _, d in res if d.startswith("from the "))


def _jax_lines(jres):
    """{(primitive, line)} of JAX's 'output of <prim> from <file>:<line>:<col>' entries."""
    out = []
    for _, d in jres:
        m = re.match(r"output of (\w+) from (.+):(\d+):\d+ ", d)
        if m:
            assert m.group(2) == str(HERE), d
            out.append((m.group(1), int(m.group(3))))
    return sorted(out)


# ---------------------------------------------------------------------------
# programs


def _programs(J, np_, L):
    def simple(x, y):
        return np_.sum(np_.sin(x) * y)  # simple

    def mlp(params, x):
        for w, b in params:
            x = np_.tanh(x @ w + b)  # mlp
        return np_.sum(x)

    def rnn(w, u, xs):
        def step(h, x):
            h = np_.tanh(w @ h + u @ x)  # rnn-step
            return h, h

        _, hs = L.scan(step, np_.zeros(w.shape[0]), xs)
        return np_.sum(hs)

    def rnn_h0(w, u, xs, h0):
        def step(h, x):
            h = np_.tanh(w @ h + u @ x)
            return h, np_.sin(h)

        h, ys = L.scan(step, h0, xs, reverse=True)
        return np_.sum(ys) + np_.sum(h**2)

    def invariant(w, xs):
        def step(c, x):
            e = np_.exp(w)  # loop invariant: computed once, saved once
            return c @ e + x * np_.sin(x), (e * x[0]).sum()

        c, ys = L.scan(step, np_.ones(3), xs)
        return np_.sum(c) * np_.sum(ys**2)

    def nested(w, xs):
        def outer(c, x):
            c2, ys = L.scan(lambda d, z: (np_.tanh(d * w + z), d), c, x)
            return c2, ys.sum()

        return L.scan(outer, np_.zeros(3), xs)[1].sum()

    def jitted(x):
        g = J.jit(lambda a: np_.sin(np_.cos(a)))  # jit-inner
        return np_.sum(g(x) * x)

    def scan_of_jit(x):
        g = J.jit(lambda a, b: np_.sin(a) * b)  # scan-of-jit
        return L.scan(lambda c, y: (g(c, y), None), 1.0, x)[0]

    def jit_of_scan(x):
        body = lambda c, y: (c * np_.sin(y), c)  # noqa: E731  # jit-of-scan
        return J.jit(lambda x: L.scan(body, 1.0, x)[1].sum())(x)

    def remat(x):
        return J.checkpoint(lambda y: np_.sum(np_.sin(np_.sin(y))))(x)

    def closure(x):
        return np_.sum(np_.sin(x * np.arange(3.0, dtype=np.float32)))

    return {
        "simple": simple,
        "mlp": mlp,
        "rnn": rnn,
        "rnn_h0": rnn_h0,
        "invariant": invariant,
        "nested": nested,
        "jitted": jitted,
        "scan_of_jit": scan_of_jit,
        "jit_of_scan": jit_of_scan,
        "remat": remat,
        "closure": closure,
    }


_r = np.random.RandomState(0)
X3 = np.linspace(0.1, 1.0, 3).astype(np.float32)
H = 4
ARGS = {
    "simple": (X3, X3 + 1),
    "mlp": (
        [
            (_r.randn(4, 5).astype(np.float32), _r.randn(5).astype(np.float32)),
            (_r.randn(5, 2).astype(np.float32), _r.randn(2).astype(np.float32)),
        ],
        _r.randn(3, 4).astype(np.float32),
    ),
    "rnn": (
        _r.randn(H, H).astype(np.float32) * 0.5,
        _r.randn(H, 3).astype(np.float32),
        _r.randn(6, 3).astype(np.float32),
    ),
    "rnn_h0": (
        _r.randn(H, H).astype(np.float32) * 0.5,
        _r.randn(H, 3).astype(np.float32),
        _r.randn(6, 3).astype(np.float32),
        _r.randn(H).astype(np.float32),
    ),
    "invariant": (_r.randn(3, 3).astype(np.float32) * 0.3, _r.randn(5, 3).astype(np.float32)),
    "nested": (X3, _r.randn(2, 4, 3).astype(np.float32)),
    "jitted": (X3,),
    "scan_of_jit": (X3,),
    "jit_of_scan": (X3,),
    "remat": (X3,),
    "closure": (X3,),
}
OURS, THEIRS = _programs(*MG), _programs(*JAX)
NAMES = list(OURS)


# ---------------------------------------------------------------------------
# against JAX's saved_residuals


@pytest.mark.parametrize("name", NAMES)
def test_count_and_types_match_jax(name):
    _, ours = _ours(OURS[name], *ARGS[name])
    theirs = _jax_residuals(THEIRS[name], *ARGS[name])
    assert _types(ours) == _types(theirs), (ours, theirs)


@pytest.mark.parametrize("name", NAMES)
def test_arguments_detected_as_jax(name):
    res, ours = _ours(OURS[name], *ARGS[name])
    theirs = _jax_residuals(THEIRS[name], *ARGS[name])
    assert _argument_names(ours) == _argument_names(theirs)
    for r in res:
        assert r.is_argument == r.description.startswith("from the argument ")
        assert (r.argument is not None) == r.is_argument


@pytest.mark.parametrize("name", NAMES)
def test_bytes_match_jax(name):
    res, _ = _ours(OURS[name], *ARGS[name])
    for r in res:
        assert r.nbytes == math.prod(r.aval.shape) * np.dtype(r.aval.dtype).itemsize
    assert sum(r.nbytes for r in res) == _jax_bytes(_jax_residuals(THEIRS[name], *ARGS[name]))


@pytest.mark.parametrize("name", ["simple", "mlp", "closure"])
def test_producers_and_lines_match_jax(name):
    res, _ = _ours(OURS[name], *ARGS[name])
    ours = sorted((r.primitive, r.source.line) for r in res if r.source is not None)
    assert all(pathlib.Path(r.source.file) == HERE for r in res if r.source is not None)
    assert ours == _jax_lines(_jax_residuals(THEIRS[name], *ARGS[name]))


def test_description_of_an_equation_and_an_argument_as_jax():
    _, ours = _ours(OURS["simple"], *ARGS["simple"])
    line = _line("simple")
    assert ours == [
        ("f32[3]", "from the argument y"),
        ("f32[3]", f"output of sin from {HERE.name}:{line} (simple)"),
        ("f32[3]", f"output of cos from {HERE.name}:{line} (simple)"),
    ]


def test_a_residual_unpacks_as_jaxs_pair():
    (r, *_) = mg.saved_residuals(OURS["simple"], *ARGS["simple"])
    aval, what = r
    assert (aval, what) == r and r.aval is aval and r.description == what
    assert aval.shape == (3,) and aval.dtype == np.float32


# ---------------------------------------------------------------------------
# through scan, jit and checkpoint: the user's line inside


def test_scan_residuals_point_into_the_body():
    res, _ = _ours(OURS["rnn"], *ARGS["rnn"])
    T = ARGS["rnn"][2].shape[0]
    stacked = [r for r in res if not r.is_argument]
    assert len(stacked) == 3
    for r in stacked:
        assert r.iterations == T and r.aval.shape == (T, H)
        assert r.source.line == _line("rnn-step") and r.source.function == "step"
        assert r.primitive in ("tanh", "sub")
        assert len(r.within) == 1 and r.within[0].startswith("scan from ")
    assert sorted(r.argument for r in res if r.is_argument) == ["u", "w", "xs"]


def test_nested_scan_counts_iterations_of_both():
    res, _ = _ours(OURS["nested"], *ARGS["nested"])
    stacked = [r for r in res if r.iterations is not None]
    assert stacked and all(r.iterations == 8 and len(r.within) == 2 for r in stacked)


def test_jit_residuals_point_into_the_jitted_function():
    res, _ = _ours(OURS["jitted"], *ARGS["jitted"])
    inner = [r for r in res if not r.is_argument]
    assert len(inner) == 3
    assert {r.primitive for r in inner} == {"sin", "cos"}
    assert all(r.source.line == _line("jit-inner") for r in inner)
    assert all(r.within[0].startswith("jit '<lambda>' from ") for r in inner)


def test_scan_of_jit_and_jit_of_scan():
    res, _ = _ours(OURS["scan_of_jit"], *ARGS["scan_of_jit"])
    inner = [r for r in res if not r.is_argument]
    assert all(r.source.line == _line("scan-of-jit") and r.iterations == 3 for r in inner)
    res, _ = _ours(OURS["jit_of_scan"], *ARGS["jit_of_scan"])
    assert all(r.source.line == _line("jit-of-scan") and r.iterations == 3 for r in res)


def test_checkpoint_without_policy_saves_only_its_inputs():
    res, _ = _ours(OURS["remat"], *ARGS["remat"])
    assert [(r.is_argument, r.argument) for r in res] == [(True, "x")]


def test_kwargs_and_pytree_argument_names():
    def f(params, *, scale):
        return mnp.sum(mnp.sin(params["w"]) * scale)

    res = mg.saved_residuals(f, {"w": X3}, scale=X3)
    names = sorted(r.argument for r in res if r.is_argument)
    assert names == ["scale"] and any(r.primitive == "sin" for r in res)


# ---------------------------------------------------------------------------
# print_saved_residuals


def test_print_saved_residuals_totals():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        mg.print_saved_residuals(OURS["rnn"], *ARGS["rnn"])
    text = buf.getvalue()
    res = mg.saved_residuals(OURS["rnn"], *ARGS["rnn"])
    total = sum(r.nbytes for r in res)
    assert f"{len(res)} residuals, {total} B" in text
    in_args = sum(r.nbytes for r in res if r.is_argument)
    assert f"({in_args} B of them arguments)" in text
    per_line = re.findall(r"^  (.+?)\s+(\d+) residuals?\s+(\d+) B$", text, re.M)
    assert sum(int(b) for _, _, b in per_line) == total
    assert sum(int(n) for _, n, _ in per_line) == len(res)
    assert any(k.startswith(f"{HERE.name}:{_line('rnn-step')} ") for k, _, _ in per_line)
    assert total == _jax_bytes(_jax_residuals(THEIRS["rnn"], *ARGS["rnn"]))


def test_bad_input_is_a_type_error():
    with pytest.raises(TypeError, match="callable"):
        mg.saved_residuals(3.0, X3)
    with pytest.raises(TypeError, match="callable"):
        mg.print_saved_residuals("f", X3)


# ---------------------------------------------------------------------------
# scan: per iteration only what must be; gradients as JAX's


def _bytes_ours(f, *args):
    return sum(r.nbytes for r in mg.saved_residuals(f, *args))


def test_rnn_saves_no_more_than_jax():
    def rnn(np_, L):
        def f(w, u, xs):
            def step(h, x):
                return np_.tanh(w @ h + u @ x), None

            return np_.sum(L.scan(step, np_.zeros(w.shape[0]), xs)[0])

        return f

    n, t = 16, 20
    args = (np.eye(n, dtype=np.float32), np.ones((n, 8), np.float32), np.ones((t, 8), np.float32))
    ours = _bytes_ours(rnn(mnp, mg.lax), *args)
    theirs = _jax_bytes(_jax_residuals(rnn(jnp, jax.lax), *args))
    assert ours <= theirs
    # W is saved once, not once per iteration
    per_iter = [r for r in mg.saved_residuals(rnn(mnp, mg.lax), *args) if r.iterations]
    assert all(r.aval.shape == (t, n) for r in per_iter)


def test_loop_invariant_is_saved_once():
    res = mg.saved_residuals(OURS["invariant"], *ARGS["invariant"])
    exp = [r for r in res if r.primitive == "exp"]
    assert exp and all(r.iterations is None and r.aval.shape == (3, 3) for r in exp)


def test_known_xs_and_consts_are_not_copied_per_iteration():
    res = mg.saved_residuals(OURS["rnn"], *ARGS["rnn"])
    xs = [r for r in res if r.argument == "xs"]
    assert len(xs) == 1 and xs[0].iterations is None
    assert all(r.aval.shape != (6, H, H) for r in res)


def _close(a, b):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=2e-4, atol=2e-5)


SCAN_PROGRAMS = ["rnn", "rnn_h0", "invariant", "nested", "scan_of_jit"]


@pytest.mark.parametrize("name", SCAN_PROGRAMS)
def test_scan_gradients_match_jax(name):
    f, g, args = OURS[name], THEIRS[name], ARGS[name]
    argnums = tuple(range(len(args)))
    want = jax.jit(jax.grad(g, argnums))(*args)
    _close(mg.grad(f, argnums)(*args), want)
    _close(mg.jit(mg.grad(f, argnums))(*args), want)
    for i in argnums:  # grad in argument i alone is entry i of the full gradient
        _close(mg.grad(f, i)(*args), want[i])


@pytest.mark.parametrize("name", SCAN_PROGRAMS)
def test_scan_jvp_linearize_and_second_order_match_jax(name):
    f, g, args = OURS[name], THEIRS[name], ARGS[name]
    tangents = tuple(np.ones_like(a) for a in args)
    _close(mg.jvp(f, args, tangents), jax.jit(partial(jax.jvp, g))(args, tangents))
    _close(
        mg.linearize(f, *args)[1](*tangents),
        jax.jit(lambda a, t: jax.linearize(g, *a)[1](*t))(args, tangents),
    )

    def hess_row(J, fun):
        return J.grad(lambda *a: J.grad(fun)(*a).sum())

    _close(hess_row(mg, f)(*args), jax.jit(hess_row(jax, g))(*args))


@pytest.mark.parametrize("name", ["rnn", "rnn_h0", "invariant"])
def test_scan_vmap_of_grad_and_grad_of_vmap_match_jax(name):
    f, g, args = OURS[name], THEIRS[name], ARGS[name]
    argnums = tuple(range(len(args)))
    batched = [np.stack([a, a * 1.5]) for a in args]
    _close(
        mg.vmap(mg.grad(f, argnums))(*batched), jax.jit(jax.vmap(jax.grad(g, argnums)))(*batched)
    )
    # only some arguments batched: the loop invariants stay unbatched consts
    axes = tuple(0 if i % 2 else None for i in argnums)
    mixed = [b if ax == 0 else a for a, b, ax in zip(args, batched, axes)]
    _close(
        mg.vmap(mg.grad(f, argnums), in_axes=axes)(*mixed),
        jax.jit(jax.vmap(jax.grad(g, argnums), in_axes=axes))(*mixed),
    )
    _close(
        mg.grad(lambda *a: mg.vmap(f)(*a).sum(), argnums)(*batched),
        jax.jit(jax.grad(lambda *a: jax.vmap(g)(*a).sum(), argnums))(*batched),
    )


def test_grad_of_scan_jaxpr_saves_what_jax_saves():
    # The forward scan of grad(rnn) returns the same outputs as JAX's: the carry,
    # the ys and the three per-iteration residuals; w, u and xs are not among them.
    def eqn_types(closed):
        scans = [e for e in closed.eqns if e.primitive.name == "scan"]
        return [(v.aval.shape, np.dtype(v.aval.dtype)) for v in scans[0].outvars]

    f, g, args = OURS["rnn"], THEIRS["rnn"], ARGS["rnn"]
    ours = eqn_types(mg.make_jaxpr(mg.grad(f, (0, 1, 2)))(*args))
    theirs = eqn_types(jax.make_jaxpr(jax.grad(g, (0, 1, 2)))(*args))
    assert ours == theirs
