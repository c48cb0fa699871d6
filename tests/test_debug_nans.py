"""debug_nans / debug_infs: the first primitive making a NaN/Inf, in every context.

Each case runs the same program through JAX with ``jax_debug_nans`` too: both
must raise FloatingPointError, with the same first line (the primitive's name).
Beyond JAX, ours names the user's line and, in the backward pass, the forward
primitive whose derivative made the NaN.
"""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp

HERE = os.path.basename(__file__)


# Our flag is on in a test; JAX's only while the JAX twin runs (else JAX's own check
# would fire first, inside our eager lowering rules).
_FLAG = {}


@pytest.fixture
def nans():
    mg.config.update("debug_nans", True)
    _FLAG["name"] = "jax_debug_nans"
    try:
        yield
    finally:
        mg.config.update("debug_nans", False)


@pytest.fixture
def infs():
    mg.config.update("debug_infs", True)
    _FLAG["name"] = "jax_debug_infs"
    try:
        yield
    finally:
        mg.config.update("debug_infs", False)


def _line_of(fn, text):
    """The line number of ``text`` in this file (the source line an error must name)."""
    with open(__file__) as f:
        for i, line in enumerate(f, 1):
            if text in line and "_line_of" not in line:
                return i
    raise AssertionError(text)


def _both_raise(mg_call, jax_call, same_first_line=True):
    with pytest.raises(FloatingPointError) as ours:
        mg_call()
    # JAX's check of an eager op or a cached jitted function depends on what it compiled
    # before in this process: start JAX's twin from empty caches.
    jax.clear_caches()
    jax.config.update(_FLAG["name"], True)
    try:
        with pytest.raises(FloatingPointError) as theirs:
            jax_call()
    finally:
        jax.config.update(_FLAG["name"], False)
    if same_first_line:
        assert str(ours.value).splitlines()[0] == str(theirs.value).splitlines()[0]
    return str(ours.value)


def where_sqrt(x, np_=mnp):
    return np_.where(x > 0, np_.sqrt(x), 0.0)  # the where-trick line


def jax_where_sqrt(x):
    # JAX's twin in lax primitives: jnp.where is a jitted function, and whether JAX's
    # check fires inside it depends on what JAX compiled before.
    return jax.lax.select(x > 0, jax.lax.sqrt(x), jax.lax.full_like(x, 0.0))


def log_twice(x, lax=mg.lax):
    return lax.log(x) * 2.0  # the log line


def test_eager_forward(nans):
    # JAX's twin uses lax.log: jnp.log is a jitted function, whose message depends on
    # whether JAX compiled it before.
    msg = _both_raise(lambda: mnp.log(-1.0), lambda: jax.lax.log(-1.0))
    assert msg.startswith("invalid value (nan) encountered in log")
    assert "f32[] = -1.0" in msg
    assert f"{HERE}:{_line_of(None, 'lambda: mnp.log(-1.0)')}" in msg


def test_jit_forward_names_the_line_inside(nans):
    msg = _both_raise(
        lambda: mg.jit(log_twice)(-1.0), lambda: jax.jit(lambda x: log_twice(x, jax.lax))(-1.0)
    )
    assert f"{HERE}:{_line_of(None, '# the log line')}" in msg


def test_eager_grad_where_trick(nans):
    msg = _both_raise(lambda: mg.grad(where_sqrt)(0.0), lambda: jax.grad(jax_where_sqrt)(0.0))
    assert "encountered in mul" in msg
    assert "backward pass" in msg
    assert f"derivative of `sqrt` at {HERE}:{_line_of(None, '# the where-trick line')}" in msg
    assert "0 * inf" in msg and "where-trick" in msg and "double where" in msg


def test_jit_of_grad_where_trick(nans):
    msg = _both_raise(
        lambda: mg.jit(mg.grad(where_sqrt))(0.0),
        lambda: jax.jit(jax.grad(jax_where_sqrt))(0.0),
    )
    assert f"derivative of `sqrt` at {HERE}:{_line_of(None, '# the where-trick line')}" in msg
    assert "double where" in msg


def test_grad_of_jit_where_trick(nans):
    msg = _both_raise(
        lambda: mg.grad(mg.jit(where_sqrt))(0.0),
        lambda: jax.grad(jax.jit(jax_where_sqrt))(0.0),
    )
    assert "derivative of `sqrt`" in msg and "double where" in msg


def test_double_where_fix_has_no_nan(nans):
    def safe(x, np_=mnp):
        return np_.where(x > 0, np_.sqrt(np_.where(x > 0, x, 1.0)), 0.0)

    ours = mg.grad(safe)(0.0)
    theirs = jax.grad(lambda x: safe(x, jnp))(0.0)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_backward_nan_without_where(nans):
    # sqrt's derivative at 0 is inf, times the cotangent 0 (no where involved).
    def f(x, lax=mg.lax):
        return lax.reduce_sum(lax.sqrt(x) * 0.0, (0,))  # the sqrt-times-zero line

    msg = _both_raise(
        lambda: mg.grad(f)(mnp.zeros(3)), lambda: jax.grad(lambda x: f(x, jax.lax))(jnp.zeros(3))
    )
    assert f"derivative of `sqrt` at {HERE}:{_line_of(None, '# the sqrt-times-zero line')}" in msg
    assert "where-trick" not in msg


def scan_log(xs, lax=mg.lax, np_=mnp):
    def body(c, x):
        return c + 1.0, np_.log(x) + c  # the scan body line

    return lax.scan(body, 0.0, xs)


@pytest.mark.parametrize("jitted", [False, True])
def test_scan_names_the_body_line_and_iteration(nans, jitted):
    xs = np.array([1.0, 2.0, -1.0, 3.0], np.float32)
    run = mg.jit(scan_log) if jitted else scan_log
    # JAX's de-optimized re-run stops at the scan (it says "in scan"); ours goes inside.
    msg = _both_raise(
        lambda: run(xs),
        lambda: jax.jit(lambda xs: scan_log(xs, jax.lax, jnp))(xs),
        same_first_line=False,
    )
    assert msg.startswith("invalid value (nan) encountered in log")
    assert "log(f32[] = -1.0)" in msg and "iteration 2 of scan" in msg
    assert f"{HERE}:{_line_of(None, '# the scan body line')}" in msg


def test_while_names_the_iteration(nans):
    def f(x, lax=mg.lax, np_=mnp):
        return lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, np_.log(c[1] - 1.5)), (0, x))

    msg = _both_raise(
        lambda: f(3.0), lambda: jax.jit(lambda x: f(x, jax.lax, jnp))(3.0), same_first_line=False
    )
    # 3 -> log(1.5) -> log(log(1.5) - 1.5) is nan: the second iteration's log
    assert msg.startswith("invalid value (nan) encountered in log")
    assert "iteration 1 of while" in msg


def test_cond_names_the_branch(nans):
    def f(x, lax=mg.lax, np_=mnp):
        return lax.cond(x > 0, np_.sqrt, np_.log, x)

    # JAX's de-optimized re-run stops at the cond; ours names the log inside it.
    msg = _both_raise(
        lambda: mg.jit(f)(-1.0),
        lambda: jax.jit(lambda x: f(x, jax.lax, jnp))(-1.0),
        same_first_line=False,
    )
    assert msg.startswith("invalid value (nan) encountered in log")
    assert "branch 0 of cond" in msg


def test_vmap(nans):
    xs = np.array([1.0, -1.0], np.float32)
    msg = _both_raise(
        lambda: mg.vmap(mnp.log)(xs), lambda: jax.vmap(jnp.log)(xs), same_first_line=False
    )
    assert msg.startswith("invalid value (nan) encountered in log")
    assert "log(f32[2] (min -1, max 1))" in msg


def test_checkpoint_backward(nans):
    f = mg.checkpoint(lambda x: where_sqrt(x))
    g = jax.checkpoint(jax_where_sqrt)
    msg = _both_raise(lambda: mg.grad(f)(0.0), lambda: jax.grad(g)(0.0))
    assert "derivative of `sqrt`" in msg


def test_infs_only_with_debug_infs(infs):
    one, zero = np.float32(1.0), np.float32(0.0)
    msg = _both_raise(lambda: mnp.divide(one, zero), lambda: jax.lax.div(one, zero))
    assert "(inf)" in msg.splitlines()[0] and "div" in msg.splitlines()[0]


def test_nans_flag_ignores_infs(nans):
    out = mnp.divide(np.float32(1.0), np.float32(0.0))
    np.testing.assert_array_equal(np.asarray(out), np.inf)


def test_off_by_default():
    assert not mg.config.debug_nans and not mg.config.debug_infs
    assert np.isnan(np.asarray(mnp.log(-1.0)))
    assert np.isnan(np.asarray(mg.grad(where_sqrt)(0.0)))


def test_jax_names_accepted():
    mg.config.update("jax_debug_nans", True)
    try:
        assert mg.config.debug_nans
        with pytest.raises(FloatingPointError):
            mnp.log(-1.0)
    finally:
        mg.config.update("jax_debug_nans", False)


def test_environment_variable():
    code = textwrap.dedent(
        """
        import minigrad_jax.numpy as mnp
        try:
            mnp.log(-1.0)
        except FloatingPointError as e:
            print("raised:", str(e).splitlines()[0])
        """
    )
    env = dict(os.environ, MINIGRAD_DEBUG_NANS="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert "raised: invalid value (nan) encountered in log" in out.stdout, out.stderr
