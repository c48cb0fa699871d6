"""mg.config "explain_cache_misses": each retrace of mg.jit says which argument changed,
how, and the line that called it; compared with JAX's jax_explain_cache_misses."""

import contextlib
import functools
import logging
import re
import sys

import jax
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp


@contextlib.contextmanager
def _explaining(caplog, lib="mg"):
    """Turn the option on for ``lib`` and collect its messages; restore it after."""
    if lib == "mg":
        old = mg.config.explain_cache_misses
        mg.config.update("explain_cache_misses", True)
    else:
        old = jax.config.jax_explain_cache_misses
        jax.config.update("jax_explain_cache_misses", True)
    msgs = []
    logger = "minigrad_jax" if lib == "mg" else "jax"
    try:
        with caplog.at_level(logging.WARNING, logger=logger):
            yield msgs
            msgs.extend(
                r.getMessage()
                for r in caplog.records
                if r.name.startswith(logger) and "CACHE MISS" in r.getMessage()
            )
    finally:
        if lib == "mg":
            mg.config.update("explain_cache_misses", old)
        else:
            jax.config.update("jax_explain_cache_misses", old)


def _line():
    """The caller's line number."""
    return sys._getframe(1).f_lineno


def _items(msg):
    return [line.strip()[2:] for line in msg.splitlines() if line.strip().startswith("* ")]


def test_first_call_and_call_line(caplog):
    f = mg.jit(lambda x: x * 2.0)
    with _explaining(caplog) as msgs:
        line = _line() + 1  # the next line
        f(np.ones(3, np.float32))
    assert len(msgs) == 1, msgs
    assert msgs[0].startswith(f"TRACING CACHE MISS at {__file__}:{line} (test_first_call")
    assert "never traced before" in msgs[0]
    assert "jit(<lambda>) defined at " + __file__ in msgs[0]


def test_no_retrace_no_message(caplog):
    f = mg.jit(lambda x: x + 1.0)
    f(np.ones(3, np.float32))
    with _explaining(caplog) as msgs:
        for _ in range(3):
            f(np.ones(3, np.float32))
        f(np.zeros(3, np.float32))  # other values, same signature
    assert msgs == []


def test_silent_when_off(caplog):
    assert not mg.config.explain_cache_misses and not mg.config.log_compiles
    f = mg.jit(lambda x: x + 1.0)
    with caplog.at_level(logging.DEBUG, logger="minigrad_jax"):
        f(np.ones(3, np.float32))
        f(np.ones(4, np.float32))
    assert f.trace_count == 2
    assert [r for r in caplog.records if r.name.startswith("minigrad_jax")] == []


def _parse_jax(msg):
    """{path: now} from JAX's "at x, now f32[4] and before f32[3]" lines."""
    out = {}
    for m in re.finditer(r"\* at (.+?), now (\S+?)(?:\{weak_type=\w+\})? and before (\S+)", msg):
        out[m.group(1)] = m.group(2)
    return out


_OURS = (
    r"(.+?): (?:shape|dtype|weak type)(?: and \w+)* (\S+?)(?:\{.*\})? "
    r"\(was (\S+?)(?:\{.*\})?\)$"
)


def _parse_ours(msg):
    out = {}
    for item in _items(msg):
        m = re.match(_OURS, item)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _program(lib):
    @lib.jit
    def f(x, params):
        return x * params["w"] + params["b"][0]

    b = np.zeros(2, np.float32)
    f(np.ones(3, np.float32), {"w": np.float32(2.0), "b": b})
    f(np.ones(4, np.float32), {"w": np.float32(2.0), "b": b})  # x: shape
    f(np.ones(4, np.int32), {"w": np.float32(2.0), "b": b})  # x: dtype
    f(np.ones(4, np.int32), {"w": np.float32(2.0), "b": np.zeros(5, np.float32)})  # nested
    f(np.ones(4, np.int32), {"w": 2.0, "b": np.zeros(5, np.float32)})  # weak type


def test_types_and_paths_match_jax(caplog):
    with _explaining(caplog, "jax") as jax_msgs:
        _program(jax)
    with _explaining(caplog, "mg") as mg_msgs:
        _program(mg)
    assert len(jax_msgs) == len(mg_msgs) == 5, (jax_msgs, mg_msgs)
    # The same argument named the same way, with the same new type. (Which earlier
    # signature is "closest" is each library's guess: JAX compares the dtype change
    # with f32[3], we with f32[4], which differs in the dtype only.)
    for j, m in zip(jax_msgs[1:], mg_msgs[1:]):
        theirs, ours = _parse_jax(j), _parse_ours(m)
        assert theirs and ours == theirs, (j, m)
    assert "* x: dtype i32[4] (was f32[4])" in mg_msgs[2]


def test_each_kind_is_named(caplog):
    @functools.partial(mg.jit, static_argnames=("n",))
    def f(x, d, n=1):
        return x * n + jax.tree_util.tree_leaves(d)[0]

    x3, x4 = np.ones(3, np.float32), np.ones(4, np.float32)
    with _explaining(caplog) as msgs:
        f(x3, {"w": 1.0}, n=2)
        shape_line = _line() + 1  # the next line
        f(x4, {"w": 1.0}, n=2)
        f(x4.astype(np.int32), {"w": 1.0}, n=2)
        f(x4, {"w": np.float32(1.0)}, n=2)
        f(x4, {"w": 1.0}, n=3)
        f(x4, {"w": 1.0}, n=3.0)
        f(x4, {"w": 1.0, "b": 2.0}, n=3)
        f(x4, {"w": [1.0]}, n=3)
    assert len(msgs) == 8, msgs
    assert f"{__file__}:{shape_line} (test_each_kind_is_named)" in msgs[1]
    assert _items(msgs[1]) == ["x: shape f32[4] (was f32[3])"]
    assert _items(msgs[2]) == ["x: dtype i32[4] (was f32[4])"]
    assert _items(msgs[3]) == ["d['w']: weak type f32[] (was f32[]{weak_type=True})"]
    assert "note: a weakly typed value is a Python scalar" in msgs[3]
    assert _items(msgs[4]) == ["n: static value 3 (was 2)"]
    assert _items(msgs[5]) == ["n: static value 3.0 of type float (was 3 of type int)"]
    assert _items(msgs[6]) == [
        "d: pytree structure {'b': *, 'w': *} (was {'w': *}); at d, key 'b' added"
    ]
    assert _items(msgs[7]) == [
        "d: pytree structure {'w': [*]} (was {'w': *}); they part at d['w']: "
        "a list of length 1 (was an array (a leaf))"
    ]


def test_a_change_deep_inside_a_pytree(caplog):
    f = mg.jit(lambda p: jax.tree_util.tree_leaves(p)[0] * 2.0)
    one = np.ones(2, np.float32)
    with _explaining(caplog) as msgs:
        f({"enc": {"w": one}, "dec": (one, one)})
        f({"enc": {"w": one, "b": one}, "dec": (one, one)})
        f({"enc": {"w": one}, "dec": (one, one, one)})
    assert _items(msgs[1]) == [
        "p: pytree structure {'dec': (*, *), 'enc': {'b': *, 'w': *}} "
        "(was {'dec': (*, *), 'enc': {'w': *}}); at p['enc'], key 'b' added"
    ]
    assert _items(msgs[2]) == [
        "p: pytree structure {'dec': (*, *, *), 'enc': {'w': *}} "
        "(was {'dec': (*, *), 'enc': {'w': *}}); they part at p['dec']: "
        "a tuple of length 3 (was a tuple of length 2)"
    ]


def test_closest_signature_is_compared(caplog):
    f = mg.jit(lambda x, y: x + y)
    with _explaining(caplog) as msgs:
        f(np.ones(3, np.float32), np.ones(3, np.float32))
        f(np.ones(7, np.int32), np.ones(7, np.int32))
        f(np.ones(3, np.float32), np.ones(1, np.float32))
    # the last differs from the first in y only (from the second in x and y)
    assert _items(msgs[2]) == ["y: shape f32[1] (was f32[3])"]
    assert "the closest of the 2 signatures traced before" in msgs[2]


def test_argument_names(caplog):
    def g(a, *rest, scale=1.0, **extra):
        return a * scale + rest[0] + extra["bias"]

    f = mg.jit(g)
    one = np.ones(2, np.float32)
    with _explaining(caplog) as msgs:
        f(one, one, scale=one, bias=one)
        f(one, one[:1], scale=one, bias=one)
        f(one, one, scale=one[:1], bias=one)
        f(one, one, scale=one, bias=one[:1])
    assert _items(msgs[1]) == ["rest[0]: shape f32[1] (was f32[2])"]
    assert _items(msgs[2]) == ["scale: shape f32[1] (was f32[2])"]
    assert _items(msgs[3]) == ["extra['bias']: shape f32[1] (was f32[2])"]


def test_a_keyword_given_or_left_out(caplog):
    def g(x, scale=None, act="tanh"):
        return getattr(mnp, act)(x if scale is None else x * scale)

    f = mg.jit(g, static_argnames="act")
    one = np.ones(2, np.float32)
    with _explaining(caplog) as msgs:
        f(one)
        f(one, scale=one)
        f(one, scale=one, act="sin")
        f(one, act="sin")
    assert _items(msgs[1]) == ["scale: passed now, as a traced array (was not passed)"]
    assert _items(msgs[2]) == ["act: passed now, as static value 'sin' (was not passed)"]
    assert _items(msgs[3]) == ["scale: not passed now (was passed, as a traced array)"]


def test_keyword_instead_of_position(caplog):
    f = mg.jit(lambda x, y: x + y)
    one = np.ones(2, np.float32)
    with _explaining(caplog) as msgs:
        f(one, one)
        f(one, y=one)
    assert _items(msgs[1]) == ["the arguments: (x, y=) (was (x, y))"]
    assert "passed by keyword and the same one passed by position" in msgs[1]


def test_config_change(caplog):
    f = mg.jit(lambda x: x * 2)
    x = np.ones(3, np.int32)
    old = jax.config.jax_enable_x64
    with _explaining(caplog) as msgs:
        f(x)
        jax.config.update("jax_enable_x64", not old)
        try:
            f(x)
        finally:
            jax.config.update("jax_enable_x64", old)
    assert _items(msgs[1]) == [f"JAX config jax_enable_x64: {not old!r} (was {old!r})"]


def test_debug_nans_retraces_and_is_named(caplog):
    # Inside a transform, jit is our primitive: its jaxpr comes from our cache, whose key
    # holds the options tracing reads (debug_nans among them).
    f = mg.jit(lambda x: mnp.sin(x))
    g = mg.vmap(f)
    x = np.ones((2, 3), np.float32)
    with _explaining(caplog) as msgs:
        g(x)
        g(x)
        mg.config.update("debug_nans", True)
        try:
            line = _line() + 1  # the next line
            g(x)
        finally:
            mg.config.update("debug_nans", False)
    assert len(msgs) == 2, msgs
    assert _items(msgs[1]) == ["mg.config debug_nans: True (was False)"]
    assert f"{__file__}:{line}" in msgs[1]


def test_call_line_inside_a_transform(caplog):
    f = mg.jit(lambda x: x * 3.0)
    with _explaining(caplog) as msgs:
        line = _line() + 1  # the next line
        mg.grad(lambda x: f(x))(1.0)
    assert f"{__file__}:{line} (<lambda>)" in msgs[0]


def test_log_compiles_reason_names_the_change(caplog):
    f = mg.jit(lambda x, n: x * n, static_argnums=1)
    old = mg.config.log_compiles
    mg.config.update("log_compiles", True)
    try:
        with caplog.at_level(logging.WARNING, logger="minigrad_jax"):
            f(np.ones(3, np.float32), 2)
            f(np.ones(3, np.float32), 5)
            mg.config.update("debug_infs", True)
            try:
                mg.vmap(f, in_axes=(0, None))(np.ones((2, 3), np.float32), 5)
            finally:
                mg.config.update("debug_infs", False)
    finally:
        mg.config.update("log_compiles", old)
    msgs = [r.getMessage() for r in caplog.records if r.name == "minigrad_jax"]
    assert msgs[1].endswith("new n: static value 5 (was 2)"), msgs
    assert "new x: shape f32[2,3] (was f32[3])" not in msgs[2]  # inside vmap: f32[3]
    assert "debug_infs: True (was False)" in msgs[2]


@pytest.mark.parametrize("flag", ["explain_cache_misses", "jax_explain_cache_misses"])
def test_option_names(flag):
    mg.config.update(flag, True)
    try:
        assert mg.config.explain_cache_misses is True
    finally:
        mg.config.update(flag, False)
    assert mg.config.explain_cache_misses is False
