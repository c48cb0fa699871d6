"""Bad input to the differentiation transforms gets a clear, typed error.

Each test asserts the error's type and the key words of its message (the
shape, the dtype, the argument, the primitive), never just that *something*
was raised.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from jax import lax as jlax

import minigrad_jax as mg
from minigrad_jax._src import core
from minigrad_jax._src.errors import ConcretizationError, UnexpectedTracerError
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.lax import elementwise as ew

X3 = np.array([1.0, 2.0, 3.0], np.float32)


# ---------------------------------------------------------------------------
# grad's contract: scalar real output, real inputs, valid argnums, aux pairs


def test_grad_of_nonscalar_output_names_the_shape():
    with pytest.raises(TypeError, match=r"scalar-output.*\(3,\)"):
        mg.grad(lambda x: x * 2.0)(X3)
    with pytest.raises(TypeError, match=r"scalar"):
        mg.grad(lambda x: (x, x))(1.0)


def test_grad_of_integer_output_names_the_dtype():
    with pytest.raises(TypeError, match="real-valued outputs.*int32"):
        mg.grad(_to_int)(1.0)


def _to_int(x):
    from minigrad_jax._src.lax.structural import convert_element_type

    return convert_element_type(x, np.int32)


@pytest.mark.parametrize("value,dtype", [(np.int32(3), "int32"), (np.bool_(True), "bool")])
def test_grad_wrt_integer_or_bool_input_names_dtype_and_argument(value, dtype):
    with pytest.raises(TypeError, match=rf"{dtype} for argument 1") as e:
        mg.grad(lambda x, n: x * 2.0, argnums=1)(1.0, value)
    assert "allow_int" in str(e.value)
    with pytest.raises(TypeError, match=rf"{dtype} for argument 0"):
        mg.value_and_grad(lambda n: n * 2.0)(value)


def test_grad_wrt_integer_leaf_inside_a_pytree():
    with pytest.raises(TypeError, match="int32 for argument 0"):
        mg.grad(lambda p: p["w"] * 2.0)({"w": 1.0, "n": np.int32(1)})


@pytest.mark.parametrize("argnums", [2, -3, (0, 5)])
def test_argnums_out_of_range(argnums):
    f = lambda x, y: x * y  # noqa: E731
    for transform in (mg.grad, mg.value_and_grad, mg.jacfwd, mg.jacrev, mg.hessian):
        with pytest.raises((TypeError, ValueError), match=r"argnums.*2 positional"):
            transform(f, argnums)(1.0, 2.0)
    with pytest.raises((TypeError, ValueError)):  # JAX agrees that this is an error
        jax.grad(f, argnums)(1.0, 2.0)


@pytest.mark.parametrize("out", [1.0, (1.0,), (1.0, 2.0, 3.0)])
def test_has_aux_output_must_be_a_pair(out):
    f = lambda x: out if not isinstance(out, float) else x  # noqa: E731
    for call in (
        lambda: mg.grad(f, has_aux=True)(1.0),
        lambda: mg.vjp(f, 1.0, has_aux=True),
        lambda: mg.jvp(f, (1.0,), (1.0,), has_aux=True),
        lambda: mg.jacrev(f, has_aux=True)(1.0),
    ):
        with pytest.raises(TypeError, match="pair"):
            call()


# ---------------------------------------------------------------------------
# jvp / vjp argument checks


def test_jvp_tangent_mismatches():
    with pytest.raises(TypeError, match=r"float32.*float16|tangent dtype float16"):
        mg.jvp(ew.sin, (X3,), (X3.astype(np.float16),))
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(2,\)"):
        mg.jvp(ew.sin, (X3,), (np.ones(2, np.float32),))
    with pytest.raises(TypeError, match="tree structure"):
        mg.jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    with pytest.raises(TypeError, match="tuples or lists"):
        mg.jvp(ew.sin, X3, X3)


def test_jvp_integer_primal_needs_float0_tangent():
    with pytest.raises(TypeError, match=r"primal dtype int32.*got tangent dtype int32") as e:
        mg.jvp(lambda n: n * 2, (np.int32(1),), (np.int32(1),))
    assert "float0" in str(e.value)


def test_jvp_float0_message_names_float0():
    with pytest.raises(TypeError, match=r"expected tangent dtype float0"):
        mg.jvp(lambda n: n * 2, (np.int32(1),), (np.int32(1),))


def test_vjp_cotangent_mismatches():
    _, f_vjp = mg.vjp(ew.sin, X3)
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        f_vjp(np.ones(2, np.float32))
    with pytest.raises(ValueError, match="structure"):  # JAX's class
        f_vjp((X3, X3))


def test_jacobian_dtype_checks():
    with pytest.raises(TypeError, match="jacfwd.*int32 for argument 0"):
        mg.jacfwd(lambda n: n * 2.0)(np.int32(1))
    with pytest.raises(TypeError, match="jacrev.*int32 for argument 1"):
        mg.jacrev(lambda x, n: x * n, argnums=(0, 1))(1.0, np.int32(1))
    with pytest.raises(TypeError, match="jacrev requires real-valued outputs.*int32"):
        mg.jacrev(_to_int)(1.0)


# ---------------------------------------------------------------------------
# primitives without a rule


_RULE_TABLES = (
    core.abstract_eval_rules,
    core.impl_rules,
    lowering.lowering_rules,
    batching.batch_rules,
    ad.jvp_rules,
    ad.transpose_rules,
)


@pytest.fixture(autouse=True)
def _restore_rule_tables():
    """Throwaway primitives must not stay registered for the other test modules."""
    saved = [dict(t) for t in _RULE_TABLES]
    yield
    for table, copy in zip(_RULE_TABLES, saved):
        table.clear()
        table.update(copy)


def _throwaway(name):
    """A primitive with only abstract evaluation and lowering (and batching)."""
    prim = core.Primitive(name)
    core.abstract_eval_rules[prim] = lambda x: x
    lowering.register(prim, lambda x: jlax.mul(x, x))
    batching.defvectorized(prim)
    return prim


def test_missing_jvp_rule_names_the_primitive():
    square_p = _throwaway("my_square_without_jvp")
    assert float(square_p.bind(np.float32(3.0))) == 9.0  # eager evaluation works
    for call in (
        lambda: mg.grad(square_p.bind)(1.0),
        lambda: mg.jvp(square_p.bind, (1.0,), (1.0,)),
        lambda: mg.jacfwd(square_p.bind)(X3),
    ):
        with pytest.raises(NotImplementedError, match="'my_square_without_jvp'") as e:
            call()
        assert "Differentiation rule" in str(e.value)


def test_missing_transpose_rule_names_the_primitive():
    # scale2 is linear (its JVP applies scale2 to the tangent) but has no transpose rule.
    scale2_p = core.Primitive("my_scale2_without_transpose")
    core.abstract_eval_rules[scale2_p] = lambda x: x
    lowering.register(scale2_p, lambda x: jlax.mul(x, np.asarray(2, x.dtype)))
    ad.jvp_rules[scale2_p] = lambda p, t: (scale2_p.bind(*p), scale2_p.bind(*t))
    # forward mode works ...
    _, t = mg.jvp(scale2_p.bind, (np.float32(1.0),), (np.float32(1.0),))
    assert float(t) == 2.0
    # ... reverse mode needs the transpose rule, and says so
    with pytest.raises(NotImplementedError, match="Transpose rule.*'my_scale2_without_transpose'"):
        mg.grad(lambda x: scale2_p.bind(x))(np.float32(1.0))


# ---------------------------------------------------------------------------
# Python control flow on traced values


def _branchy(x):
    if x > 0:
        return x * 2.0
    return -x


@pytest.mark.parametrize("transform", ["vmap", "make_jaxpr"])
def test_python_if_on_traced_value(transform):
    run = {
        "vmap": lambda: mg.vmap(_branchy)(X3),
        "make_jaxpr": lambda: mg.make_jaxpr(_branchy)(1.0),
    }[transform]
    with pytest.raises(ConcretizationError) as e:
        run()
    msg = str(e.value)
    assert isinstance(e.value, TypeError)
    assert f"`{transform}`" in msg and "bool()" in msg
    assert "lax.cond" in msg and "static_argnums" in msg


@pytest.mark.parametrize("convert", [float, int])
def test_float_int_of_traced_value(convert):
    with pytest.raises(ConcretizationError, match=rf"{convert.__name__}\(\)"):
        mg.make_jaxpr(lambda x: convert(x))(1.0)


def test_python_if_under_grad_uses_the_concrete_value_as_jax_does():
    assert float(mg.grad(_branchy)(3.0)) == float(jax.grad(_branchy)(3.0)) == 2.0
    assert float(mg.grad(_branchy)(-3.0)) == float(jax.grad(_branchy)(-3.0)) == -1.0


# ---------------------------------------------------------------------------
# leaked tracers


def test_tracer_leaked_from_make_jaxpr():
    leaked = []

    def f(x):
        leaked.append(x)
        return x * 2.0

    mg.make_jaxpr(f)(1.0)
    for use in (
        lambda: ew.sin(leaked[0]),
        lambda: leaked[0] * 3.0,
        lambda: mg.grad(lambda y: y * leaked[0])(1.0),
        lambda: mg.make_jaxpr(lambda y: y + leaked[0])(1.0),
    ):
        with pytest.raises(UnexpectedTracerError, match="make_jaxpr") as e:
            use()
        assert "test_errors_autodiff.py" in str(e.value)


def test_tracer_leaked_from_jvp_and_grad():
    leaked = []

    def f(x):
        leaked.append(x)
        return ew.sin(x)

    mg.jvp(f, (1.0,), (1.0,))
    mg.grad(f)(1.0)
    for tracer in leaked:
        with pytest.raises(UnexpectedTracerError, match="used after that transform returned"):
            ew.cos(tracer)
