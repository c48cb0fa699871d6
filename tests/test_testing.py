"""minigrad_jax.testing: check_grads must catch wrong derivatives; compare_with_jax must
report agreement and disagreement per transform."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import testing
from minigrad_jax._src import core
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax.structural import convert_element_type

X = np.array([0.3, -0.7, 1.2], np.float32)


def _sin_with_jvp(name, jvp_fn, transpose=None):
    """A throwaway sin primitive whose JVP we choose (to plant bugs)."""
    prim = core.Primitive(name)
    core.abstract_eval_rules[prim] = lambda x: x
    lowering.register(prim, jlax.sin)
    batching.defvectorized(prim)
    ad.defjvp(prim, jvp_fn)
    return prim


bad_sin_p = _sin_with_jvp("bad_sin", lambda g, x: ew.mul(g, ew.cos(x)) * 1.01)
good_sin_p = _sin_with_jvp("good_sin", lambda g, x: ew.mul(g, ew.cos(x)))

# scale3: a linear primitive with a correct JVP but a wrong transpose (2x instead of 3x)
scale3_p = core.Primitive("scale3")
core.abstract_eval_rules[scale3_p] = lambda x: x
lowering.register(scale3_p, lambda x: jlax.mul(x, np.asarray(3, x.dtype)))
batching.defvectorized(scale3_p)
ad.deflinear(scale3_p, lambda ct, x: [ew.mul(ct, np.asarray(2, core.get_aval(ct).dtype))])


# ---------------------------------------------------------------------------
# check_grads


def test_check_grads_passes_on_correct_derivatives():
    testing.check_grads(good_sin_p.bind, (X,), order=2)
    testing.check_grads(lambda x, y: ew.sin(x) * ew.exp(y), (X, X[::-1].copy()), order=3)
    testing.check_grads(lambda p: p["a"] * p["b"][0], ({"a": X, "b": (X,)},), order=2)
    testing.check_grads(lambda x: ew.sin(x), (0.5,), order=1)  # Python scalar argument


def test_check_grads_float64(monkeypatch):
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        x = X.astype(np.float64)
        testing.check_grads(lambda x: ew.tanh(x) * ew.exp(x), (x,), order=3)
        with pytest.raises(AssertionError, match="JVP"):
            testing.check_grads(bad_sin_p.bind, (x,), order=1, modes=("fwd",))
    finally:
        jax.config.update("jax_enable_x64", prev)


def test_check_grads_catches_a_wrong_jvp_in_both_modes():
    for mode in ("fwd", "rev"):
        with pytest.raises(AssertionError, match="JVP" if mode == "fwd" else "VJP"):
            testing.check_grads(bad_sin_p.bind, (X,), order=1, modes=(mode,))


def test_check_grads_catches_a_wrong_second_derivative():
    # First derivative right, second wrong: cos's JVP is replaced by +sin.
    d_p = _sin_with_jvp("sin_bad_second", lambda g, x: ew.mul(g, _wrong_cos_p.bind(x)))
    testing.check_grads(d_p.bind, (X,), order=1)
    with pytest.raises(AssertionError, match="JVP of JVP"):
        testing.check_grads(d_p.bind, (X,), order=2, modes=("fwd",))
    with pytest.raises(AssertionError, match="VJP of VJP|JVP of VJP"):
        testing.check_grads(d_p.bind, (X,), order=2, modes=("rev",))


_wrong_cos_p = core.Primitive("wrong_cos")
core.abstract_eval_rules[_wrong_cos_p] = lambda x: x
lowering.register(_wrong_cos_p, jlax.cos)
batching.defvectorized(_wrong_cos_p)
ad.defjvp(_wrong_cos_p, lambda g, x: ew.mul(g, ew.sin(x)))  # should be -sin


def test_check_grads_catches_a_wrong_transpose_only_in_reverse_mode():
    testing.check_grads(scale3_p.bind, (X,), order=1, modes=("fwd",))
    with pytest.raises(AssertionError, match="VJP"):
        testing.check_grads(scale3_p.bind, (X,), order=1, modes=("rev",))


def test_check_grads_tolerances_and_modes():
    with pytest.raises(AssertionError, match="not close"):
        testing.check_grads(ew.sin, (X,), order=1, atol=1e-12, rtol=1e-12)
    testing.check_grads(bad_sin_p.bind, (X,), order=1, atol=0.05, rtol=0.05)
    with pytest.raises(ValueError, match="modes"):
        testing.check_grads(ew.sin, (X,), order=1, modes=("backward",))


# ---------------------------------------------------------------------------
# compare_with_jax


def loss(np_, w, x):
    return np_.sum(np_.sin(w * x) * np_.sin(w * x))


def test_compare_with_jax_agrees_on_a_correct_program():
    w = np.float32(0.5)
    transforms = ("value", "jvp", "grad", "hessian", "jacfwd", "jacrev")
    report = testing.compare_with_jax(loss, w, X, transforms=transforms, jaxpr=True)
    assert report.ok, str(report)
    assert [r.transform for r in report.rows] == [*transforms, "jaxpr(value)", "jaxpr(grad)"]
    assert all(r.max_abs_diff < 1e-5 for r in report.rows[:6])
    text = str(report)
    assert "compare_with_jax(loss): all agree" in text
    assert text.splitlines()[1].split() == [
        "transform",
        "agree",
        "max",
        "|mg",
        "-",
        "jax|",
        "detail",
    ]
    assert report["grad"].ok and report["grad"].max_abs_diff == pytest.approx(0.0, abs=1e-5)


def test_compare_with_jax_nonscalar_output_and_argnums():
    def prog(np_, x, y):
        return {"a": np_.sin(x) * y, "b": x * 2.0}

    report = testing.compare_with_jax(
        prog, X, X * 2, argnums=(0, 1), transforms=("value", "jvp", "grad", "hessian", "jacrev")
    )
    assert report.ok, str(report)


def test_compare_with_jax_finds_a_wrong_derivative():
    def prog(np_, x):
        s = bad_sin_p.bind(x) if np_ is mnp else jnp.sin(x)
        return np_.sum(s)

    report = testing.compare_with_jax(prog, X, jaxpr=True)
    assert not report.ok
    assert report["value"].ok and report["value"].max_abs_diff == 0.0
    for t in ("jvp", "grad", "hessian"):
        assert not report[t].ok and report[t].max_abs_diff > 1e-3, str(report)
    assert not report["jaxpr(value)"].ok and "bad_sin" in report["jaxpr(value)"].detail
    assert "DIFFERENCES" in str(report) and " NO " in str(report)


def test_compare_with_jax_when_one_side_raises():
    def prog(np_, x):
        return np_.sum(x)

    report = testing.compare_with_jax(
        prog, np.arange(3, dtype=np.int32), transforms=("value", "grad")
    )
    assert report["value"].ok
    assert report["grad"].ok and "both raised" in report["grad"].detail

    def only_ours_fails(np_, x):
        return np_.sum(x) if np_ is jnp else mg.grad(lambda y: y)(x)

    row = testing.compare_with_jax(only_ours_fails, X, transforms=("value",))["value"]
    assert not row.ok and "minigrad_jax raised TypeError" in row.detail


def test_compare_with_jax_checks_dtypes_and_unknown_transforms():
    def prog(np_, x):
        return x * 2.0 if np_ is jnp else convert_element_type(x * 2.0, np.float16)

    row = testing.compare_with_jax(prog, X, transforms=("value",))["value"]
    assert not row.ok and "float16[3] vs float32[3]" in row.detail
    with pytest.raises(ValueError, match="unknown transform"):
        testing.compare_with_jax(prog, X, transforms=("vmap",))
    with pytest.raises(KeyError, match="grad"):
        testing.compare_with_jax(prog, X, transforms=("value",))["grad"]
