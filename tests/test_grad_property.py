"""Property tests: random programs differentiated by minigrad_jax and by JAX agree.

Hypothesis builds a random program: a few inputs of broadcast-compatible
small shapes, then a chain of unary and binary ops from the op table below
(operands broadcast NumPy-style, sometimes a partial reduction), summed to a
scalar. The same program is built twice, once on minigrad_jax's lax wrappers
and once on jax.lax, and its ``grad`` (w.r.t. every input), ``jvp`` of
``grad`` (forward-over-reverse) and ``hessian`` are compared.

The default run checks 100 programs in float32 and 25 in float64. For a long
fuzz run set MINIGRAD_FUZZ_EXAMPLES, e.g.

    MINIGRAD_FUZZ_EXAMPLES=5000 python -m pytest tests/test_grad_property.py -m slow

which runs the ``slow`` tests below (each with that many programs).
"""

from __future__ import annotations

import os
import types

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jax import lax as jlax

import minigrad_jax as mg
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import reductions, structural
from tests.conftest import enable_x64

FUZZ_EXAMPLES = int(os.environ.get("MINIGRAD_FUZZ_EXAMPLES", "5000"))

# The two "lax" namespaces one program is written against.
_NAMES = (
    "sin",
    "cos",
    "tanh",
    "logistic",
    "atan",
    "exp",
    "log1p",
    "sqrt",
    "neg",
    "add",
    "sub",
    "mul",
    "div",
    "max",
    "min",
    "atan2",
    "pow",
    "integer_pow",
)
MG = types.SimpleNamespace(
    **{n: getattr(ew, n) for n in _NAMES},
    broadcast_in_dim=structural.broadcast_in_dim,
    reduce_sum=reductions.reduce_sum,
)
JX = types.SimpleNamespace(
    **{n: getattr(jlax, n) for n in _NAMES},
    broadcast_in_dim=jlax.broadcast_in_dim,
    reduce_sum=jlax.reduce_sum,
)

# Ops on the whole real line (smooth except max/min, which both sides break the same way).
UNARY = {
    "sin": lambda L, x: L.sin(x),
    "cos": lambda L, x: L.cos(x),
    "tanh": lambda L, x: L.tanh(x),
    "logistic": lambda L, x: L.logistic(x),
    "atan": lambda L, x: L.atan(x),
    "neg": lambda L, x: L.neg(x),
    "square": lambda L, x: L.integer_pow(x, 2),
    "cube_tanh": lambda L, x: L.integer_pow(L.tanh(x), 3),
    "gauss": lambda L, x: L.exp(L.neg(L.mul(x, x))),
    "log1p_sq": lambda L, x: L.log1p(L.mul(x, x)),
    "sqrt_1p_sq": lambda L, x: L.sqrt(L.add(L.mul(x, x), 1.0)),
}
BINARY = {
    "add": lambda L, x, y: L.add(x, y),
    "sub": lambda L, x, y: L.sub(x, y),
    "mul": lambda L, x, y: L.mul(x, y),
    "max": lambda L, x, y: L.max(x, y),
    "min": lambda L, x, y: L.min(x, y),
    "div_safe": lambda L, x, y: L.div(x, L.add(L.mul(y, y), 1.0)),
    "atan2": lambda L, x, y: L.atan2(x, L.add(L.mul(y, y), 0.5)),
    "pow_pos": lambda L, x, y: L.pow(L.add(L.mul(x, x), 0.5), L.tanh(y)),
}


# ---------------------------------------------------------------------------
# programs


@st.composite
def programs(draw):
    """(input shapes, steps); a step is ("u", op, i), ("b", op, i, j) or ("r", i)."""
    full = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    n_in = draw(st.integers(1, 3))
    shapes = [_sub_shape(draw, full) for _ in range(n_in)]
    steps, n_vals = [], n_in
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from("uubbr"))
        i = draw(st.integers(0, n_vals - 1))
        if kind == "u":
            steps.append(("u", draw(st.sampled_from(sorted(UNARY))), i))
        elif kind == "b":
            steps.append(
                ("b", draw(st.sampled_from(sorted(BINARY))), i, draw(st.integers(0, n_vals - 1)))
            )
        else:
            steps.append(("r", i))
        n_vals += 1
    return shapes, steps


def _sub_shape(draw, full):
    """A shape that broadcasts to ``full``: a suffix of it with some sizes set to 1."""
    k = draw(st.integers(0, len(full)))
    suffix = full[len(full) - k :]
    return tuple(1 if draw(st.booleans()) else d for d in suffix)


def build(L, shapes, steps):
    """The program as a function of its inputs, on the lax namespace ``L``."""

    def f(*xs):
        vals = list(xs)
        for step in steps:
            if step[0] == "u":
                vals.append(UNARY[step[1]](L, vals[step[2]]))
            elif step[0] == "b":
                x, y = _broadcast(L, vals[step[2]], vals[step[3]])
                vals.append(BINARY[step[1]](L, x, y))
            else:
                x = vals[step[1]]
                vals.append(L.reduce_sum(x, (0,)) if np.ndim(x) else x)
        out = vals[-1]
        return L.reduce_sum(out, tuple(range(np.ndim(out))))

    return f


def _broadcast(L, x, y):
    shape = np.broadcast_shapes(np.shape(x), np.shape(y))
    return _to(L, x, shape), _to(L, y, shape)


def _to(L, x, shape):
    if np.shape(x) == shape:
        return x
    nd = np.ndim(x)
    return L.broadcast_in_dim(x, shape, tuple(range(len(shape) - nd, len(shape))))


# ---------------------------------------------------------------------------
# the checks


def assert_close(got, want, rtol):
    got_l, want_l = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(got_l) == len(want_l)
    for g, w in zip(got_l, want_l, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        scale = max(1.0, float(np.max(np.abs(w)))) if w.size else 1.0
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * scale)


def check_program(shapes, steps, seed, dtype, rtol):
    rng = np.random.RandomState(seed)
    args = [rng.uniform(-1.5, 1.5, s).astype(dtype) for s in shapes]
    tangents = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours, theirs = build(MG, shapes, steps), build(JX, shapes, steps)
    where = f"program {steps} on shapes {shapes}"
    nums = tuple(range(len(args)))

    # JAX's side runs jitted (one compile each, where its eager transforms compile
    # every operation); ours runs eagerly, as written.
    got, want = mg.grad(ours, nums)(*args), jax.jit(jax.grad(theirs, nums))(*args)
    _with_context(where + ": grad", assert_close, got, want, rtol)

    got = mg.jvp(mg.grad(ours), args, tangents)
    want = jax.jit(lambda a, t: jax.jvp(jax.grad(theirs), a, t))(args, tangents)
    _with_context(where + ": jvp of grad", assert_close, got, want, rtol)

    got, want = mg.hessian(ours)(*args), jax.jit(jax.hessian(theirs))(*args)
    _with_context(where + ": hessian", assert_close, got, want, rtol)


def _with_context(where, check, *args):
    try:
        check(*args)
    except AssertionError as e:
        raise AssertionError(f"{where}\n{e}") from None


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=100, **SETTINGS)
@given(programs(), st.integers(0, 2**31 - 1))
def test_random_programs_float32(program, seed):
    check_program(*program, seed, np.float32, rtol=2e-3)


@settings(max_examples=25, **SETTINGS)
@given(programs(), st.integers(0, 2**31 - 1))
def test_random_programs_float64(program, seed):
    with enable_x64():
        check_program(*program, seed, np.float64, rtol=1e-9)


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES, **SETTINGS)
@given(programs(), st.integers(0, 2**31 - 1))
def test_fuzz_random_programs_float32(program, seed):
    check_program(*program, seed, np.float32, rtol=2e-3)


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES, **SETTINGS)
@given(programs(), st.integers(0, 2**31 - 1))
def test_fuzz_random_programs_float64(program, seed):
    with enable_x64():
        check_program(*program, seed, np.float64, rtol=1e-9)


def test_the_generator_reaches_every_op():
    # A sanity check on the op table itself: every entry runs and differentiates.
    for name in UNARY:
        check_program([(2,)], [("u", name, 0)], 0, np.float32, rtol=2e-3)
    for name in BINARY:
        check_program([(2, 1), (3,)], [("b", name, 0, 1)], 0, np.float32, rtol=2e-3)
    check_program([(2, 3)], [("r", 0), ("b", "mul", 0, 1)], 0, np.float32, rtol=2e-3)
