"""jax.nn.initializers, built on ``mg.random``: the same functions, the same numbers.

Each builder (``glorot_normal()``, ``orthogonal(scale)``, ...) returns an
initializer ``init(key, shape, dtype=None, out_sharding=None)``, as JAX's. The
formulas are JAX's (``jax/_src/nn/initializers.py``), written with minigrad_jax's
numpy and random, and the samplers are ``mg.random``'s, which give
``jax.random``'s floats bit for bit. So for the same key an initializer here
returns exactly what its ``jax.nn.initializers`` namesake returns: eagerly, and
under ``mg.jit`` compared with ``jax.jit``. Initializers run under every
transform: ``mg.vmap`` over keys, ``mg.jit`` with the key as an argument.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Sequence
from typing import Any, Protocol

import jax
import numpy as np

from minigrad_jax._src import numpy as mnp
from minigrad_jax._src import random
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.traceback_util import public_function

__all__ = [
    "Initializer",
    "constant",
    "delta_orthogonal",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

# The standard deviations of a unit normal truncated to (-2, 2), and of a unit
# complex normal whose modulus is truncated to 2 (JAX's constants).
_TRUNCATED_STDDEV = 0.87962566103423978
_COMPLEX_TRUNCATED_STDDEV = 0.95311164380491208
_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")


@typing.runtime_checkable
class Initializer(Protocol):
    """What every builder here returns: ``init(key, shape, dtype=None, out_sharding=None)``."""

    def __call__(self, key: Any, shape: Sequence[int], dtype: Any = None, out_sharding=None):
        raise NotImplementedError


def _prepare(name, dtype, out_sharding):
    """The dtype to sample (the default float when None); ``out_sharding`` is refused."""
    if out_sharding is not None:
        raise NotImplementedError(
            f"The 'out_sharding' argument to mg.nn.initializers.{name} is not supported: "
            "minigrad_jax has no sharding (shard the result with jax.device_put)."
        )
    return _dtypes.default_float() if dtype is None else dtype


# ---------------------------------------------------------------------------
# constants


def zeros(key, shape, dtype=None, out_sharding=None):
    """An array of zeros; the key is ignored, as jax.nn.initializers.zeros.

    Example:
        >>> import minigrad_jax as mg
        >>> mg.nn.initializers.zeros(mg.random.key(0), (2, 3))
        Array([[0., 0., 0.],
               [0., 0., 0.]], dtype=float32)
    """
    return mnp.zeros(shape, _prepare("zeros", dtype, out_sharding))


def ones(key, shape, dtype=None, out_sharding=None):
    """An array of ones; the key is ignored, as jax.nn.initializers.ones.

    Example:
        >>> import minigrad_jax as mg
        >>> mg.nn.initializers.ones(mg.random.key(0), (3,), mg.numpy.int32)
        Array([1, 1, 1], dtype=int32)
    """
    return mnp.ones(shape, _prepare("ones", dtype, out_sharding))


def constant(value, dtype=None):
    """An initializer filling arrays with ``value``, as jax.nn.initializers.constant.

    Example:
        >>> import minigrad_jax as mg
        >>> mg.nn.initializers.constant(-7)(mg.random.key(0), (2,))
        Array([-7., -7.], dtype=float32)
    """

    @public_function
    def init(key, shape, dtype=dtype, out_sharding=None):
        return mnp.full(shape, value, dtype=_prepare("constant", dtype, out_sharding))

    return init


# ---------------------------------------------------------------------------
# plain distributions


def uniform(scale=1e-2, dtype=None):
    """Uniform in ``[0, scale)``, as jax.nn.initializers.uniform.

    Example:
        >>> import jax, minigrad_jax as mg
        >>> w = mg.nn.initializers.uniform(10.0)(mg.random.key(42), (2, 3))
        >>> bool((w == jax.nn.initializers.uniform(10.0)(jax.random.key(42), (2, 3))).all())
        True
    """

    @public_function
    def init(key, shape, dtype=dtype, out_sharding=None):
        dtype = _prepare("uniform", dtype, out_sharding)
        return random.uniform(key, shape, dtype) * mnp.array(scale, dtype)

    return init


def normal(stddev=1e-2, dtype=None):
    """Normal with mean 0 and standard deviation ``stddev``, as jax.nn.initializers.normal."""

    @public_function
    def init(key, shape, dtype=dtype, out_sharding=None):
        dtype = _prepare("normal", dtype, out_sharding)
        return random.normal(key, shape, dtype) * mnp.array(stddev, dtype)

    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """A unit normal truncated to ``[lower, upper]``, times ``stddev`` (no variance
    correction), as jax.nn.initializers.truncated_normal."""

    @public_function
    def init(key, shape, dtype=dtype, out_sharding=None):
        dtype = _prepare("truncated_normal", dtype, out_sharding)
        return random.truncated_normal(key, lower, upper, shape, dtype) * mnp.array(stddev, dtype)

    return init


# ---------------------------------------------------------------------------
# variance scaling and its named cases


def _size(shape, axes):
    return shape[axes] if isinstance(axes, int) else math.prod(shape[i] for i in axes)


def _compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    """(fan_in, fan_out) of a dense or convolution kernel, as JAX's.

    Axes that are none of ``in_axis``, ``out_axis`` and ``batch_axis`` are the
    receptive field (the kernel's spatial axes), which multiplies both fans.
    """
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(
            f"Can't compute input and output sizes of a {len(shape)}-dimensional"
            " weights tensor with default in_axis. Must be at least 2D or specify"
            " in_axis explicitly."
        )
    in_size, out_size = _size(shape, in_axis), _size(shape, out_axis)
    receptive_field_size = math.prod(shape) / in_size / out_size / _size(shape, batch_axis)
    return in_size * receptive_field_size, out_size * receptive_field_size


def _to_complex_dtype(real_dtype):
    return np.result_type(real_dtype, np.complex64)


def _complex_uniform(key, shape, dtype):
    """Uniform on the disk of the complex plane with zero mean and unit variance."""
    key_r, key_theta = random.split(key)
    real_dtype = np.array(0, dtype).real.dtype
    dtype = _to_complex_dtype(real_dtype)
    r = mnp.sqrt(2 * random.uniform(key_r, shape, real_dtype)).astype(dtype)
    theta = 2 * np.pi * random.uniform(key_theta, shape, real_dtype).astype(dtype)
    return r * mnp.exp(1j * theta)


def _complex_truncated_normal(key, upper, shape, dtype):
    """A unit complex normal whose modulus is truncated to ``upper``."""
    key_r, key_theta = random.split(key)
    real_dtype = np.array(0, dtype).real.dtype
    dtype = _to_complex_dtype(real_dtype)
    t = (1 - mnp.exp(mnp.array(-(upper**2), dtype))) * random.uniform(
        key_r, shape, real_dtype
    ).astype(dtype)
    r = mnp.sqrt(-mnp.log(1 - t))
    theta = 2 * np.pi * random.uniform(key_theta, shape, real_dtype).astype(dtype)
    return r * mnp.exp(1j * theta)


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """Samples whose standard deviation is ``sqrt(scale / n)``, as
    jax.nn.initializers.variance_scaling.

    ``n`` is, by ``mode``: ``"fan_in"`` the number of inputs, ``"fan_out"`` of
    outputs, ``"fan_avg"`` their mean, ``"fan_geo_avg"`` their geometric mean
    (axes not in ``in_axis``, ``out_axis``, ``batch_axis`` count as a receptive
    field). ``distribution`` is ``"truncated_normal"`` (cut at two standard
    deviations, then rescaled), ``"normal"`` or ``"uniform"`` (a disk for complex
    dtypes).

    Example:
        >>> import jax, minigrad_jax as mg
        >>> init = mg.nn.initializers.variance_scaling(2.0, "fan_out", "normal")
        >>> ref = jax.nn.initializers.variance_scaling(2.0, "fan_out", "normal")
        >>> bool((init(mg.random.key(1), (4, 5)) == ref(jax.random.key(1), (4, 5))).all())
        True
    """

    @public_function
    def init(key, shape, dtype=dtype, out_sharding=None):
        shape = random._canonical_shape(shape)
        dtype = _prepare("variance_scaling", dtype, out_sharding)
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        if mode == "fan_in":
            denominator = fan_in
        elif mode == "fan_out":
            denominator = fan_out
        elif mode == "fan_avg":
            denominator = (fan_in + fan_out) / 2
        elif mode == "fan_geo_avg":
            denominator = (fan_in * fan_out) ** 0.5
        else:
            raise ValueError(
                f"invalid mode for variance scaling initializer: {mode} "
                f"(expected one of {', '.join(_MODES)})"
            )
        variance = mnp.array(scale / denominator, dtype=dtype)
        floating = jax.numpy.issubdtype(dtype, np.floating)
        if distribution == "truncated_normal":
            if floating:
                stddev = mnp.sqrt(variance) / mnp.array(_TRUNCATED_STDDEV, dtype)
                return random.truncated_normal(key, -2, 2, shape, dtype) * stddev
            stddev = mnp.sqrt(variance) / mnp.array(_COMPLEX_TRUNCATED_STDDEV, dtype)
            return _complex_truncated_normal(key, 2, shape, dtype) * stddev
        if distribution == "normal":
            return random.normal(key, shape, dtype) * mnp.sqrt(variance)
        if distribution == "uniform":
            if floating:
                return random.uniform(key, shape, dtype, -1) * mnp.sqrt(3 * variance)
            return _complex_uniform(key, shape, dtype) * mnp.sqrt(variance)
        raise ValueError(
            f"invalid distribution for variance scaling initializer: {distribution} "
            f"(expected one of {', '.join(_DISTRIBUTIONS)})"
        )

    return init


def _named_variance_scaling(name, scale, mode, distribution, doc):
    def builder(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
        return variance_scaling(
            scale,
            mode,
            distribution,
            in_axis=in_axis,
            out_axis=out_axis,
            batch_axis=batch_axis,
            dtype=dtype,
        )

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = (
        f"{doc}: variance_scaling({scale}, {mode!r}, {distribution!r}), as "
        f"jax.nn.initializers.{name}."
    )
    return builder


glorot_uniform = _named_variance_scaling(
    "glorot_uniform", 1.0, "fan_avg", "uniform", "Glorot (Xavier) uniform"
)
glorot_normal = _named_variance_scaling(
    "glorot_normal", 1.0, "fan_avg", "truncated_normal", "Glorot (Xavier) normal"
)
lecun_uniform = _named_variance_scaling("lecun_uniform", 1.0, "fan_in", "uniform", "LeCun uniform")
lecun_normal = _named_variance_scaling(
    "lecun_normal", 1.0, "fan_in", "truncated_normal", "LeCun normal"
)
he_uniform = _named_variance_scaling("he_uniform", 2.0, "fan_in", "uniform", "He (Kaiming) uniform")
he_normal = _named_variance_scaling(
    "he_normal", 2.0, "fan_in", "truncated_normal", "He (Kaiming) normal"
)
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


# ---------------------------------------------------------------------------
# orthogonal


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """Haar-random matrices with orthonormal rows or columns (whichever are fewer),
    times ``scale``, as jax.nn.initializers.orthogonal.

    The axes other than ``column_axis`` are flattened into the rows, and the
    matrix is ``mg.random.orthogonal``'s.

    Example:
        >>> import jax, minigrad_jax as mg
        >>> w = mg.nn.initializers.orthogonal()(mg.random.key(0), (3, 3))
        >>> bool(mg.numpy.allclose(w @ w.T, mg.numpy.eye(3), atol=1e-6))
        True
    """

    @public_function
    def init(key, shape, dtype=dtype, out_sharding=None):
        dtype = _prepare("orthogonal", dtype, out_sharding)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if any(dim == 0 for dim in shape):
            return mnp.zeros(shape, dtype=dtype)
        n_rows, n_cols = math.prod(shape) // shape[column_axis], shape[column_axis]
        q = random.orthogonal(key, n_rows, (), dtype, n_cols)
        rows = tuple(int(d) for d in np.delete(np.asarray(shape), column_axis))
        q = mnp.reshape(q, (*rows, shape[column_axis]))
        q = mnp.moveaxis(q, -1, column_axis)
        return mnp.array(scale, dtype) * q

    return init


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """A convolution kernel that is zero except at its spatial centre, where it is an
    orthogonal matrix, as jax.nn.initializers.delta_orthogonal (3D, 4D or 5D shapes,
    with ``shape[-2] <= shape[-1]``)."""

    @public_function
    def init(key, shape, dtype=dtype, out_sharding=None):
        dtype = _prepare("delta_orthogonal", dtype, out_sharding)
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError(
                f"`fan_in` must be less or equal than `fan_out`, got shape {tuple(shape)} "
                f"(fan_in = shape[-2] = {shape[-2]}, fan_out = shape[-1] = {shape[-1]})."
            )
        ortho_matrix = orthogonal(scale=scale, column_axis=column_axis, dtype=dtype)(
            key, shape[-2:]
        )
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        return mnp.zeros(shape, dtype=dtype).at[(*centre, ...)].set(ortho_matrix)

    return init
