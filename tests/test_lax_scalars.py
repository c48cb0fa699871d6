"""Python scalars beside arrays in lax's binary functions, against JAX's lax.

JAX's lax gives a Python scalar its own weak dtype and then requires the operands'
dtypes to agree. Ours lets a scalar take the array's dtype where its value survives
(an int beside floats, a float beside float16): a superset of what JAX accepts, with
the same values where both accept. Where the value would not survive (a complex
beside reals, a float beside integers, bools beside numbers, an integer out of
range) both raise a TypeError, ours naming the scalar, the dtype and the user's line.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg

ARRAYS = {
    "f32": jnp.float32([1.5, -2.0]),
    "f16": jnp.float16([1.5, -2.0]),
    "i32": jnp.int32([3, -4]),
    "i8": jnp.int8([3, -4]),
    "u8": jnp.uint8([3, 4]),
    "c64": jnp.complex64([1 + 2j, -1j]),
    "bool": jnp.bool_([True, False]),
}
SCALARS = [2, 2.5, 2j, True, 1000, -1]
OPS = ["add", "mul", "max", "eq"]


def _jax(op, x, s):
    try:
        return getattr(jax.lax, op)(x, s), None
    except TypeError as e:
        return None, e


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("name", list(ARRAYS))
@pytest.mark.parametrize("s", SCALARS, ids=repr)
def test_scalar_beside_array(op, name, s):
    x = ARRAYS[name]
    want, jax_error = _jax(op, x, s)
    kind = x.dtype.kind
    lossy = (
        (type(s) is complex and kind != "c")
        or (type(s) is float and kind in "iub")
        or ((type(s) is bool) != (kind == "b"))
        or (
            type(s) is int
            and kind in "iu"
            and not np.iinfo(x.dtype).min <= s <= np.iinfo(x.dtype).max
        )
    )
    if lossy:
        assert jax_error is not None  # JAX refuses these too
        with pytest.raises(TypeError, match="cannot take the dtype") as info:
            getattr(mg.lax, op)(x, s)
        assert "test_lax_scalars.py" in str(info.value)  # the user's line
        with pytest.raises(TypeError):
            getattr(mg.lax, op)(s, x)
        return
    try:
        got = getattr(mg.lax, op)(x, s)
    except TypeError as e:  # a dtype the op itself refuses (add on bools): so does JAX
        assert jax_error is not None, e
        return
    assert got.dtype == (want.dtype if want is not None else x.dtype if op != "eq" else np.bool_)
    if want is not None:
        np.testing.assert_array_equal(got, want)
    else:  # accepted here only: the scalar took the array's dtype
        ref = getattr(jax.lax, op)(x, jnp.asarray(s, x.dtype))
        np.testing.assert_array_equal(got, ref)


def test_under_jit_and_grad_the_same_error():
    x = jnp.int32([1, 2])
    with pytest.raises(TypeError, match="cannot take the dtype int32"):
        mg.jit(lambda v: mg.lax.mul(v, 2.5))(x)
    with pytest.raises(TypeError, match="cannot take the dtype float32"):
        mg.grad(lambda v: mg.lax.add(v, 1j).real.sum())(jnp.float32([1.0]))
