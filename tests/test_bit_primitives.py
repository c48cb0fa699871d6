"""The shift and bit-count primitives, against jax.lax / jax.numpy: values, dtypes,
jaxprs equation for equation, and batching."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import lax

VALUES = {
    "int8": np.array([-128, -5, 0, 7, 127], np.int8),
    "int32": np.array([-(2**31), -5, 0, 7, 2**31 - 1], np.int32),
    "uint8": np.array([0, 1, 7, 128, 255], np.uint8),
    "uint32": np.array([0, 1, 7, 2**31, 2**32 - 1], np.uint32),
}
AMOUNTS = [0, 1, 3, 7, 8, 31, 32, 40, -1]


def _same(a, b):
    assert np.asarray(a).dtype == np.asarray(b).dtype
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("dt", VALUES)
@pytest.mark.parametrize("name", ["shift_left", "shift_right_arithmetic", "shift_right_logical"])
def test_shift_primitives(dt, name):
    x = VALUES[dt]
    for s in AMOUNTS:
        y = np.asarray(s).astype(dt) if s >= 0 or dt.startswith("int") else np.asarray(0, dt)
        _same(getattr(lax, name)(x, y), getattr(jax.lax, name)(x, y))
        _same(mg.vmap(lambda a, y=y: getattr(lax, name)(a, y))(x), getattr(jax.lax, name)(x, y))
    assert str(mg.make_jaxpr(getattr(lax, name))(x, x)) == str(
        jax.make_jaxpr(getattr(jax.lax, name))(x, x)
    )


@pytest.mark.parametrize("dt", VALUES)
@pytest.mark.parametrize("name", ["population_count", "clz"])
def test_bit_counts(dt, name):
    x = VALUES[dt]
    _same(getattr(lax, name)(x), getattr(jax.lax, name)(x))
    _same(mg.jit(getattr(lax, name))(x), getattr(jax.lax, name)(x))
    _same(mg.vmap(getattr(lax, name))(x), jax.vmap(getattr(jax.lax, name))(x))


@pytest.mark.parametrize("dt", VALUES)
@pytest.mark.parametrize("name", ["left_shift", "right_shift"])
def test_numpy_shifts(dt, name):
    x = VALUES[dt]
    for s in AMOUNTS:
        if s < 0 and dt.startswith("u"):
            continue
        _same(getattr(mnp, name)(x, s), getattr(jnp, name)(x, s))
        _same(mg.jit(lambda a, s=s: getattr(mnp, name)(a, s))(x), getattr(jnp, name)(x, s))
    # x << x and x >> x, traced: jnp's promotion then one shift equation
    jx = str(jax.make_jaxpr(getattr(jnp, name))(x, 2))
    assert str(mg.make_jaxpr(getattr(mnp, name))(x, 2)) == jx


def test_shifts_reject_floats_with_a_type_error():
    for fn in (lax.shift_left, lax.shift_right_logical, lax.population_count):
        with pytest.raises(TypeError, match="integer"):
            fn(*([np.float32(1.0)] * (1 if fn is lax.population_count else 2)))
    with pytest.raises(TypeError):
        mnp.left_shift(np.float32(1.0), 2)


def test_integer_power_uses_shifts_and_matches_jax():
    x = np.arange(-3, 5, dtype=np.int32)
    for p in (0, 1, 2, 5):
        _same(mnp.power(x, np.int32(p)), jnp.power(x, np.int32(p)))
    _same(mnp.power(x, x % 4), jnp.power(x, x % 4))
