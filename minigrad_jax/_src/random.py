"""``minigrad_jax.random``: JAX's PRNG, bit for bit, under every transform.

Keys are JAX's: a typed key array (``key<fry>``, from ``key``) or legacy raw key
data (``uint32[2]``, from ``PRNGKey``), and keys made by ``jax.random`` work here
and back. The bits come from the PRNG primitives of ``lax/prng.py``
(``random_bits``, ``random_split``, ...), which lower to ``jax.random``'s, so they
are JAX's bits. Every sampler is JAX's formula written with our lax/numpy ops,
with the same ``jit`` boundaries as JAX's (``_uniform``, ``_normal``, ...), so the
floats are the same XLA computation and the jaxprs read like JAX's.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence

import jax
import numpy as np

from minigrad_jax import lax
from minigrad_jax._src import core, errors
from minigrad_jax._src import numpy as mnp
from minigrad_jax._src.jit import jit
from minigrad_jax._src.lax import prng
from minigrad_jax._src.lax.prng import bitcast_convert_type
from minigrad_jax._src.nn import softmax

_UINT_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
_F32_ONE = np.float32(1)  # lognormal's default sigma, as JAX's

# ---------------------------------------------------------------------------
# keys


def _aval(x):
    return core.get_aval(x)


def _is_typed_key(x):
    return hasattr(x, "dtype") and core.is_key_dtype(_aval(x).dtype)


def _arraylike(x):
    return isinstance(x, (core.Tracer, jax.Array, np.ndarray, np.generic)) or (
        type(x) in (bool, int, float, complex, str)  # as JAX's: numpy scalars and strings
    )


def _check_prng_key(name, key, *, allow_batched=False):
    """(typed key, was_wrapped): raw uint32 key data is wrapped with the default impl."""
    if _is_typed_key(key):
        typed, wrapped = key, False
    elif _arraylike(key):
        if not hasattr(key, "shape"):
            raise TypeError(
                "JAX encountered invalid PRNG key data: expected key_data to have ndim, "
                f"shape, and dtype attributes. Got {key}"
            )
        typed, wrapped = prng.random_wrap(key, prng.resolve_impl()), True
    else:
        raise TypeError(f"unexpected PRNG key type {type(key)}")
    if not allow_batched and _aval(typed).ndim:
        raise ValueError(
            f"{name} accepts a single key, but was given a key array of shape "
            f"{_aval(typed).shape} != (). Use jax.vmap for batching."
        )
    return typed, wrapped


def _return_prng_keys(was_wrapped, key):
    return prng.random_unwrap(key) if was_wrapped else key


def _key(ctor_name, seed, impl_spec):
    impl = prng.resolve_impl(impl_spec)
    if hasattr(seed, "dtype") and core.is_key_dtype(_aval(seed).dtype):
        raise TypeError(f"{ctor_name} accepts a scalar seed, but was given a PRNG key.")
    if np.ndim(seed) if not isinstance(seed, core.Tracer) else seed.ndim:
        raise TypeError(
            f"{ctor_name} accepts a scalar seed, but was given an array of shape "
            f"{np.shape(seed) if not isinstance(seed, core.Tracer) else seed.shape} != (). "
            "Use jax.vmap for batching"
        )
    if isinstance(seed, int):  # as JAX: via int64, so large Python ints work in x32 mode
        seed = mnp.asarray(np.int64(seed))
    elif not isinstance(seed, core.Tracer):
        seed = mnp.asarray(seed)
    return prng.random_seed(seed, impl)


def key(seed, *, impl=None, dtype=None):
    """A typed PRNG key (``key<fry>`` by default) from an integer seed, as jax.random.key.

    Example:
        >>> import minigrad_jax as mg
        >>> mg.random.key(0)
        Array((), dtype=key<fry>) overlaying:
        [0 0]
    """
    if dtype is not None:
        if impl is not None:
            raise ValueError("Cannot specify both `impl` and `dtype` arguments to jax.random.key")
        impl = dtype
    return _key("key", seed, impl)


def PRNGKey(seed, *, impl=None):  # noqa: N802  (jax.random's name)
    """Legacy raw key data (``uint32[2]`` for threefry), as jax.random.PRNGKey."""
    return _return_prng_keys(True, _key("PRNGKey", seed, impl))


def key_data(keys):
    """The raw ``uint32`` data of typed keys (trailing key axis), as jax.random.key_data."""
    keys, _ = _check_prng_key("key_data", keys, allow_batched=True)
    return prng.random_unwrap(keys)


def wrap_key_data(key_bits_array, *, impl=None, dtype=None):
    """Typed keys from raw ``uint32`` key data, as jax.random.wrap_key_data."""
    if dtype is not None:
        if impl is not None:
            raise ValueError(
                "Cannot specify both `impl` and `dtype` arguments to jax.random.wrap_key_data"
            )
        impl = dtype
    return prng.random_wrap(key_bits_array, prng.resolve_impl(impl))


def key_impl(keys):
    """The implementation's name (``"threefry2x32"``), as jax.random.key_impl."""
    keys, _ = _check_prng_key("key_impl", keys, allow_batched=True)
    impl = prng.impl_of_dtype(_aval(keys).dtype)
    return jax.random.key_impl(jax.random.key(0, impl=impl))


def key_dtype(impl=None):
    return jax.random.key_dtype(prng.resolve_impl(impl))


def _split(key, num=2):
    if _aval(key).ndim:
        raise TypeError(
            f"split accepts a single key, but was given a key array of shape "
            f"{_aval(key).shape} != (). Use jax.vmap for batching."
        )
    shape = tuple(num) if isinstance(num, Sequence) else (operator.index(num),)
    return prng.random_split(key, shape)


def split(key, num=2):
    """``num`` new keys (a shape, or a count) from one key, as jax.random.split."""
    typed, wrapped = _check_prng_key("split", key)
    return _return_prng_keys(wrapped, _split(typed, num))


def fold_in(key, data):
    """A new key from a key and an integer, as jax.random.fold_in."""
    typed, wrapped = _check_prng_key("fold_in", key)
    if np.ndim(data) if not isinstance(data, core.Tracer) else data.ndim:
        raise TypeError(
            f"fold_in accepts a scalar, but was given an array ofshape {np.shape(data)} != (). "
            "Use jax.vmap for batching."
        )
    data = mnp.asarray(data, dtype=np.uint32)
    return _return_prng_keys(wrapped, prng.random_fold_in(typed, data))


def clone(key):
    """The key itself (JAX's clone only matters to its key-reuse checker)."""
    return key


# ---------------------------------------------------------------------------
# shared checks


def _canonical_shape(shape):
    if isinstance(shape, int) or not isinstance(shape, Sequence):
        try:
            return (operator.index(shape),)
        except TypeError:
            msg = f"Shapes must be 1D sequences of integer scalars, got {shape}"
            raise TypeError(msg) from None
    return tuple(operator.index(d) for d in shape)


def _user_dtype(dtype, default):
    return core.canonical_dtype(np.dtype(default if dtype is None else dtype))


def _float_dtype(name, dtype, kind=np.floating, what="a float"):
    dtype = _user_dtype(dtype, float)
    if not jax.numpy.issubdtype(dtype, kind):
        raise ValueError(f"dtype argument to `{name}` must be {what} dtype, got {dtype}")
    return dtype


def _check_shape(name, shape, *param_shapes):
    if param_shapes:
        shape_ = jax.lax.broadcast_shapes(shape, *param_shapes)
        if shape != shape_:
            raise ValueError(
                f"{name} parameter shapes must be broadcast-compatible with shape argument, "
                "and the result of broadcasting the shapes must equal the shape argument, "
                f"but got result {shape_} for shape argument {shape}."
            )


def _check_broadcast_shapes(name, shape, *args):
    arg_shapes = [np.shape(a) if not isinstance(a, core.Tracer) else a.shape for a in args]
    if shape is None:
        return jax.lax.broadcast_shapes(*arg_shapes) if arg_shapes else ()
    shape = _canonical_shape(shape)
    _check_shape(name, shape, *arg_shapes)
    return shape


def _shape_of(x):
    return _aval(x).shape


def _check_all_safe_to_cast(name, dtype, *args):
    for arg in args:
        a = _aval(arg)
        src = float if a.weak_type and core.is_float(a.dtype) else a.dtype
        if a.weak_type and core.is_integer_or_bool(a.dtype):
            src = int
        if not _safe_to_cast(src, dtype):
            raise jax.dtypes.TypePromotionError(
                f"In arguments to {name}, cannot safely cast argument of type {a.dtype} to {dtype}"
            )


def _safe_to_cast(src, dtype):
    return jax.dtypes.result_type(src, dtype) == np.dtype(dtype)


def _broadcast_to_rank(x, rank):
    nd = _aval(x).ndim
    if nd == rank:
        return x
    return lax.broadcast(x, (1,) * (rank - nd))


def _const(x, val):
    return np.array(val, _aval(x).dtype)


def _finfo(dtype):
    return jax.numpy.finfo(dtype)


def _iinfo(dtype):
    return jax.numpy.iinfo(dtype)


def _unstack(x):
    return list(x)


# ---------------------------------------------------------------------------
# bits and uniform floats


def bits(key, shape=(), dtype=None):
    """Random unsigned integers of ``dtype`` (default uint32), as jax.random.bits."""
    key, _ = _check_prng_key("bits", key)
    dtype = _user_dtype(dtype, np.uint32)
    if not jax.numpy.issubdtype(dtype, np.unsignedinteger):
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dtype}")
    shape = _canonical_shape(shape)
    return prng.random_bits(key, dtype.itemsize * 8, shape)


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform floats in ``[minval, maxval)``, as jax.random.uniform."""
    key, _ = _check_prng_key("uniform", key)
    dtype = _user_dtype(dtype, float)
    shape = _canonical_shape(shape)
    if not jax.numpy.issubdtype(dtype, np.floating):
        raise ValueError(f"dtype argument to `uniform` must be a float dtype, got {dtype}")
    return _uniform(key, minval, maxval, shape, dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _uniform(key, minval, maxval, shape, dtype):
    _check_shape("uniform", shape)
    minval = _broadcast_to_rank(lax.convert_element_type(minval, dtype), len(shape))
    maxval = _broadcast_to_rank(lax.convert_element_type(maxval, dtype), len(shape))
    finfo = _finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    if nbits not in (8, 16, 32, 64):
        raise TypeError(f"uniform only accepts 8-, 16-, 32-, or 64-bit dtypes, got {dtype}.")
    rng_bits = 8 if nmant < 8 else nbits
    rbits = prng.random_bits(key, rng_bits, shape)
    uint_dtype = _UINT_DTYPES[nbits]
    if rng_bits != nbits:
        rbits = lax.convert_element_type(rbits, uint_dtype)
    float_bits = lax.shift_right_logical(rbits, np.array(rng_bits - nmant, uint_dtype))
    float_bits = lax.bitwise_or(float_bits, np.array(1.0, dtype).view(uint_dtype))
    floats = lax.sub(bitcast_convert_type(float_bits, dtype), np.array(1.0, dtype))
    scaled = lax.add(lax.mul(floats, lax.sub(maxval, minval)), minval)
    return lax.max(minval, lax.reshape(scaled, shape))


# ---------------------------------------------------------------------------
# integers, permutations, choice


def _convert_and_clip_integer(val, dtype):
    vdt = _aval(val).dtype
    lo = np.array(max(_iinfo(dtype).min, _iinfo(vdt).min), vdt)
    hi = np.array(min(_iinfo(dtype).max, _iinfo(vdt).max), vdt)
    return mnp.clip(val, lo, hi).astype(dtype)


def randint(key, shape, minval, maxval, dtype=None):
    """Uniform integers in ``[minval, maxval)``, as jax.random.randint."""
    key, _ = _check_prng_key("randint", key)
    dtype = _user_dtype(dtype, int)
    shape = _canonical_shape(shape)
    if not jax.numpy.issubdtype(dtype, np.integer):
        raise TypeError(f"randint only accepts integer dtypes, got {dtype}")
    info = _iinfo(dtype)
    sampling_dtype = dtype
    if info.bits < 32:
        sampling_dtype = np.dtype("int32")
        minval = mnp.asarray(minval).astype("int32").clip(int(info.min), int(info.max))
        maxval = mnp.asarray(maxval).astype("int32").clip(int(info.min), int(info.max) + 1)
    return _randint(key, minval, maxval, shape, sampling_dtype).astype(dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _randint(key, minval, maxval, shape, dtype):
    _check_shape("randint", shape, _shape_of(minval), _shape_of(maxval))
    minval, maxval = mnp.asarray(minval), mnp.asarray(maxval)
    if not jax.numpy.issubdtype(minval.dtype, np.integer):
        minval = minval.astype(int)
    if not jax.numpy.issubdtype(maxval.dtype, np.integer):
        maxval = maxval.astype(int)
    top = _convert_and_clip_integer(mnp.array(_iinfo(dtype).max, dtype), maxval.dtype)
    maxval_out_of_range = lax.gt(maxval, top)
    minval = _broadcast_to_rank(_convert_and_clip_integer(minval, dtype), len(shape))
    maxval = _broadcast_to_rank(_convert_and_clip_integer(maxval, dtype), len(shape))
    nbits = _iinfo(dtype).bits
    k1, k2 = _unstack(_split(key))
    higher_bits = prng.random_bits(k1, nbits, shape)
    lower_bits = prng.random_bits(k2, nbits, shape)
    unsigned = _UINT_DTYPES[nbits]
    span = lax.convert_element_type(lax.sub(maxval, minval), unsigned)
    span = lax.select(lax.le(maxval, minval), lax.full_like(span, 1), span)
    span = lax.select(
        lax.bitwise_and(maxval_out_of_range, lax.gt(maxval, minval)),
        lax.add(span, _const(span, 1)),
        span,
    )
    multiplier = lax.rem(_const(span, 2 ** (nbits // 2)), span)
    multiplier = lax.rem(lax.mul(multiplier, multiplier), span)
    offset = lax.add(lax.mul(lax.rem(higher_bits, span), multiplier), lax.rem(lower_bits, span))
    offset = lax.rem(offset, span)
    return lax.add(minval, lax.convert_element_type(offset, dtype))


def _concrete_int(x, what):
    if isinstance(x, core.Tracer):
        val = x.concrete_value()
        if val is None:
            raise errors.ConcretizationError(x, what, core.user_frame_info())
        x = val
    return operator.index(np.asarray(x).item() if hasattr(x, "shape") else x)


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``x`` along ``axis`` (or of ``arange(x)``), as JAX's."""
    key, _ = _check_prng_key("permutation", key)
    nd = _aval(x).ndim
    axis = lax_axis(axis, nd or 1)
    if not nd:
        if not jax.numpy.issubdtype(_aval(x).dtype, np.integer):
            raise TypeError("x must be an integer or at least 1-dimensional")
        r = _concrete_int(x, "argument x of jax.random.permutation()")
        return _shuffle(key, mnp.arange(r), axis)
    x = mnp.asarray(x)
    if independent or nd == 1:
        return _shuffle(key, x, axis)
    ind = _shuffle(key, mnp.arange(x.shape[axis]), 0)
    return mnp.take(x, ind, axis, unique_indices=True)


def lax_axis(axis, ndim):
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


@functools.partial(jit, static_argnums=(2,))
def _shuffle(key, x, axis):
    uint32max = np.iinfo(np.uint32).max
    size = math.prod(x.shape)
    num_rounds = int(np.ceil(3 * np.log(max(1, size)) / np.log(uint32max)))
    for _ in range(num_rounds):
        key, subkey = _unstack(_split(key))
        sort_keys = prng.random_bits(subkey, 32, x.shape)
        _, x = lax.sort_key_val(sort_keys, x, axis)
    return x


def choice(key, a, shape=(), replace=True, p=None, axis=0, mode=None):
    """Random samples from ``a`` (or ``arange(a)``), as jax.random.choice."""
    key, _ = _check_prng_key("choice", key)
    if not isinstance(shape, Sequence):
        raise TypeError(f"shape argument of jax.random.choice must be a sequence, got {shape}")
    arr = mnp.asarray(a)
    if arr.ndim == 0:
        n_inputs = _concrete_int(a, "The error occurred in jax.random.choice()")
    else:
        axis = lax_axis(axis, arr.ndim)
        n_inputs = arr.shape[axis]
    n_draws = math.prod(shape)
    if n_draws == 0:
        return mnp.zeros(shape, dtype=arr.dtype)
    if n_inputs <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(
            f"Cannot take a larger sample (size {n_draws}) than population (size {n_inputs}) "
            "when 'replace=False'"
        )
    if p is None:
        if replace:
            ind = randint(key, shape, 0, n_inputs)
            result = ind if arr.ndim == 0 else mnp.take(arr, ind, axis)
        else:
            slices = (slice(None),) * axis + (slice(n_draws),)
            result = permutation(key, n_inputs if arr.ndim == 0 else arr, axis)[slices]
    else:
        p_arr = mnp.asarray(p)
        if not core.is_float(p_arr.dtype):
            p_arr = p_arr.astype(core.canonical_dtype(np.float64))
        if p_arr.shape != (n_inputs,):
            raise ValueError(
                "p must be None or a 1D vector with the same size as a.shape[axis]. "
                f"p has shape {p_arr.shape} and a.shape[axis] is {n_inputs}."
            )
        if replace:
            p_cuml = mnp.cumsum(p_arr)
            r = p_cuml[-1] * (1 - uniform(key, shape, dtype=p_cuml.dtype))
            ind = mnp.searchsorted(p_cuml, r).astype(int)
        else:
            g = gumbel(key, (n_inputs,), dtype=p_arr.dtype, mode=mode) + mnp.log(p_arr)
            ind = lax.top_k(g, k=n_draws)[1].astype(int)
        result = ind if arr.ndim == 0 else mnp.take(arr, ind, axis)
    if arr.ndim:
        shape = arr.shape[:axis] + tuple(shape) + arr.shape[axis + 1 :]
    return result.reshape(tuple(shape))


# ---------------------------------------------------------------------------
# normal and friends


def normal(key, shape=(), dtype=None):
    """Standard normal floats (or complex), as jax.random.normal."""
    key, _ = _check_prng_key("normal", key)
    shape = _canonical_shape(shape)
    dtype = _float_dtype("normal", dtype, np.inexact, "a float or complex")
    return _normal(key, shape, dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _normal(key, shape, dtype):
    if jax.numpy.issubdtype(dtype, np.complexfloating):
        sqrt2 = np.array(np.sqrt(2), dtype)
        key_re, key_im = _unstack(_split(key))
        real_dtype = np.array(0, dtype).real.dtype
        re = _normal_real(key_re, shape, real_dtype).astype(dtype)
        im = _normal_real(key_im, shape, real_dtype).astype(dtype)
        return (re + 1j * im) / sqrt2
    return _normal_real(key, shape, dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _normal_real(key, shape, dtype):
    _check_shape("normal", shape)
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
    hi = np.array(1.0, dtype)
    u = uniform(key, shape, dtype, lo, hi)
    return lax.mul(np.array(np.sqrt(2), dtype), lax.erf_inv(u))


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Normal samples truncated to ``[lower, upper]``, as jax.random.truncated_normal."""
    if shape is not None:
        shape = _canonical_shape(shape)
    key, _ = _check_prng_key("truncated_normal", key)
    dtype = _float_dtype("truncated_normal", dtype)
    return _truncated_normal(key, lower, upper, shape, dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _truncated_normal(key, lower, upper, shape, dtype):
    if shape is None:
        shape = jax.lax.broadcast_shapes(_shape_of(lower), _shape_of(upper))
    else:
        _check_shape("truncated_normal", shape, _shape_of(lower), _shape_of(upper))
    sqrt2 = np.array(np.sqrt(2), dtype)
    lower = lax.convert_element_type(lower, dtype)
    upper = lax.convert_element_type(upper, dtype)
    a = lax.erf(lower / sqrt2)
    b = lax.erf(upper / sqrt2)
    u = uniform(key, shape, dtype, minval=a, maxval=b)
    out = sqrt2 * lax.erf_inv(u)
    return mnp.clip(
        out,
        lax.nextafter(lax.stop_gradient(lower), np.array(np.inf, dtype=dtype)),
        lax.nextafter(lax.stop_gradient(upper), np.array(-np.inf, dtype=dtype)),
    )


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Multivariate normal samples, as jax.random.multivariate_normal."""
    key, _ = _check_prng_key("multivariate_normal", key)
    mean, cov = _promote_inexact(mean, cov)
    if method not in {"svd", "eigh", "cholesky"}:
        raise ValueError("method must be one of {'svd', 'eigh', 'cholesky'}")
    dtype = mean.dtype if dtype is None else _user_dtype(dtype, float)
    if not jax.numpy.issubdtype(dtype, np.floating):
        raise ValueError(
            f"dtype argument to `multivariate_normal` must be a float dtype, got {dtype}"
        )
    if shape is not None:
        shape = _canonical_shape(shape)
    return _multivariate_normal(key, mean, cov, shape, dtype, method)


def _promote_inexact(*args):
    arrs = [mnp.asarray(a) for a in args]
    dtype = mnp.result_type(*arrs)
    if not core.is_float(dtype):
        dtype = core.canonical_dtype(np.float64)
    return [a.astype(dtype) for a in arrs]


_svd, _eigh, _cholesky, _qr = mnp.linalg.svd, mnp.linalg.eigh, mnp.linalg.cholesky, mnp.linalg.qr


@functools.partial(jit, static_argnums=(3, 4, 5))
def _multivariate_normal(key, mean, cov, shape, dtype, method):
    if not mean.ndim >= 1:
        raise ValueError(
            f"multivariate_normal requires mean.ndim >= 1, got mean.ndim == {mean.ndim}"
        )
    if not cov.ndim >= 2:
        raise ValueError(f"multivariate_normal requires cov.ndim >= 2, got cov.ndim == {cov.ndim}")
    n = mean.shape[-1]
    if cov.shape[-2:] != (n, n):
        raise ValueError(
            f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, "
            f"but got cov.shape == {cov.shape}."
        )
    if shape is None:
        shape = jax.lax.broadcast_shapes(mean.shape[:-1], cov.shape[:-2])
    else:
        _check_shape("normal", shape, mean.shape[:-1], cov.shape[:-2])
    if method == "svd":
        u, s, _ = _svd(cov)
        factor = u * mnp.sqrt(s[..., None, :])
    elif method == "eigh":
        w, v = _eigh(cov)
        factor = v * mnp.sqrt(w[..., None, :])
    else:
        factor = _cholesky(cov)
    samples = normal(key, shape + mean.shape[-1:], dtype)
    return mean + mnp.einsum("...ij,...j->...i", factor, samples)


def lognormal(key, sigma=_F32_ONE, shape=None, dtype=None):
    """``exp(sigma * normal)``, as jax.random.lognormal."""
    key, _ = _check_prng_key("lognormal", key)
    dtype = _float_dtype("lognormal", dtype, np.inexact, "a float or complex")
    shape = _check_broadcast_shapes("lognormal", shape, sigma)
    _check_all_safe_to_cast("lognormal", dtype, sigma)
    return _lognormal(key, sigma, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _lognormal(key, sigma, shape, dtype):
    sigma = lax.convert_element_type(sigma, dtype)
    return lax.exp(normal(key, shape, dtype) * sigma)


# ---------------------------------------------------------------------------
# discrete: bernoulli, categorical, rademacher, geometric, poisson, binomial


def bernoulli(key, p=0.5, shape=None, mode="low"):
    """Booleans that are True with probability ``p``, as jax.random.bernoulli."""
    if shape is not None:
        shape = _canonical_shape(shape)
    if mode not in ["high", "low"]:
        raise ValueError(f"got mode={mode!r}, expected 'high' or 'low'")
    key, _ = _check_prng_key("bernoulli", key)
    dtype = _aval(p).dtype
    if not jax.numpy.issubdtype(dtype, np.floating):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {dtype}.")
    p = lax.convert_element_type(p, dtype)
    return _bernoulli(key, p, shape, mode)


@functools.partial(jit, static_argnames=("shape", "mode"))
def _bernoulli(key, p, shape, mode):
    if shape is None:
        shape = _shape_of(p)
    else:
        _check_shape("bernoulli", shape, _shape_of(p))
    dtype = _aval(p).dtype
    if mode == "high":
        u1, u2 = _unstack(uniform(key, (2, *shape), dtype))
        u2 = u2 * 2 ** (-_finfo(dtype).nmant)
        return u2 < p - u1
    return uniform(key, shape, dtype) < p


def rademacher(key, shape=(), dtype=None):
    """Uniform draws from ``{-1, +1}``, as jax.random.rademacher."""
    key, _ = _check_prng_key("rademacher", key)
    dtype = _user_dtype(dtype, int)
    shape = _canonical_shape(shape)
    return _rademacher(key, shape, dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _rademacher(key, shape, dtype):
    samples = bernoulli(key=key, p=0.5, shape=shape).astype(dtype)
    return (2 * samples - 1).astype(dtype)


def categorical(key, logits, axis=-1, shape=None, replace=True, mode=None):
    """Samples from a categorical distribution given by ``logits``, as JAX's."""
    key, _ = _check_prng_key("categorical", key)
    logits_arr = mnp.asarray(logits)
    batch_shape = tuple(np.delete(logits_arr.shape, axis))
    if shape is None:
        shape = batch_shape
    else:
        shape = _canonical_shape(shape)
        _check_shape("categorical", shape, batch_shape)
    shape_prefix = shape[: len(shape) - len(batch_shape)]
    if replace:
        if axis >= 0:
            axis -= logits_arr.ndim
        logits_shape = list(shape[len(shape) - len(batch_shape) :])
        logits_shape.insert(axis % logits_arr.ndim, logits_arr.shape[axis])
        g = gumbel(key, (*shape_prefix, *logits_shape), logits_arr.dtype, mode=mode)
        return mnp.argmax(
            g + lax.expand_dims(logits_arr, tuple(range(len(shape_prefix)))), axis=axis
        )
    logits_arr = logits_arr + gumbel(key, logits_arr.shape, logits_arr.dtype, mode=mode)
    k = math.prod(shape_prefix)
    if k > logits_arr.shape[axis]:
        raise ValueError(
            f"Number of samples without replacement ({k}) cannot exceed number of "
            f"categories ({logits_arr.shape[axis]})."
        )
    _, indices = lax.top_k(mnp.moveaxis(logits_arr, axis, -1), k)
    dimensions = (indices.ndim - 1, *range(indices.ndim - 1))
    return lax.reshape(indices, shape, dimensions)


def geometric(key, p, shape=None, dtype=None):
    """Trials until the first success, as jax.random.geometric."""
    key, _ = _check_prng_key("geometric", key)
    dtype = _user_dtype(dtype, int)
    if not jax.numpy.issubdtype(dtype, np.integer):
        raise ValueError(f"dtype argument to `geometric` must be an int dtype, got {dtype}")
    shape = _check_broadcast_shapes("geometric", shape, p)
    return _geometric(key, p, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _geometric(key, p, shape, dtype):
    (p,) = _promote_inexact(p)
    u = uniform(key, shape, p.dtype)
    u = mnp.where(u == 0, 1, u)
    log_one_minus_p = mnp.broadcast_to(lax.log1p(-p), shape)
    g = lax.floor(lax.div(lax.log(u), log_one_minus_p)) + 1
    return g.astype(dtype)


def poisson(key, lam, shape=None, dtype=None):
    """Poisson samples (Knuth below 10, rejection above), as jax.random.poisson."""
    key, _ = _check_prng_key("poisson", key)
    dtype = _user_dtype(dtype, int)
    if prng.impl_of_dtype(_aval(key).dtype) is not prng.resolve_impl("threefry2x32"):
        raise NotImplementedError(
            "`poisson` is only implemented for the threefry2x32 RNG, not "
            f"{prng.impl_of_dtype(_aval(key).dtype)}"
        )
    shape = _shape_of(lam) if shape is None else _canonical_shape(shape)
    lam = lax.convert_element_type(mnp.broadcast_to(lam, shape), np.float32)
    return _poisson(key, lam, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3, 4))
def _poisson_knuth(key, lam, shape, dtype, max_iters):
    def body_fn(carry):
        i, k, rng, log_prod = carry
        rng, subkey = _unstack(_split(rng))
        k = lax.select(log_prod > -lam, k + 1, k)
        u = uniform(subkey, shape, np.float32)
        return i + 1, k, rng, log_prod + mnp.log(u)

    def cond_fn(carry):
        i, log_prod = carry[0], carry[3]
        return (log_prod > -lam).any() & (i < max_iters)

    k_init = lax.full_like(lam, 0, dtype, shape)
    log_rate_init = lax.full_like(lam, 0, np.float32, shape)
    k = lax.while_loop(cond_fn, body_fn, (0, k_init, key, log_rate_init))[1]
    return (k - 1).astype(dtype)


@functools.partial(jit, static_argnums=(2, 3, 4))
def _poisson_rejection(key, lam, shape, dtype, max_iters):
    log_lam = lax.log(lam)
    b = 0.931 + 2.53 * lax.sqrt(lam)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)

    def body_fn(carry):
        i, k_out, accepted, key = carry
        key, subkey_0, subkey_1 = _unstack(_split(key, 3))
        u = uniform(subkey_0, shape, lam.dtype) - 0.5
        v = uniform(subkey_1, shape, lam.dtype)
        u_shifted = 0.5 - abs(u)
        k = lax.floor((2 * a / u_shifted + b) * u + lam + 0.43)
        s = lax.log(v * inv_alpha / (a / (u_shifted * u_shifted) + b))
        t = -lam + k * log_lam - lax.lgamma(k + 1)
        accept1 = (u_shifted >= 0.07) & (v <= v_r)
        reject = (k < 0) | ((u_shifted < 0.013) & (v > u_shifted))
        accept2 = s <= t
        accept = accept1 | (~reject & accept2)
        k_out = lax.select(accept, k, k_out)
        accepted = accepted | accept
        return i + 1, k_out, accepted, key

    def cond_fn(carry):
        i, _, accepted, _ = carry
        return (~accepted).any() & (i < max_iters)

    k_init = lax.full_like(lam, -1, lam.dtype, shape)
    accepted = lax.full_like(lam, False, np.dtype("bool"), shape)
    k = lax.while_loop(cond_fn, body_fn, (0, k_init, accepted, key))[1]
    return k.astype(dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _poisson(key, lam, shape, dtype):
    use_knuth = (lam != lam) | (lam < 10)
    lam_knuth = lax.select(use_knuth, lam, lax.full_like(lam, 0.0))
    lam_rejection = lax.select(use_knuth, lax.full_like(lam, 1e5), lam)
    max_iters = dtype.type(_iinfo(dtype).max)
    result = lax.select(
        use_knuth,
        _poisson_knuth(key, lam_knuth, shape, dtype, max_iters),
        _poisson_rejection(key, lam_rejection, shape, dtype, max_iters),
    )
    return lax.select(lam == 0, mnp.zeros_like(result), result)


def binomial(key, n, p, shape=None, dtype=None):
    """Binomial samples (inversion or BTRS), as jax.random.binomial."""
    key, _ = _check_prng_key("binomial", key)
    dtype = _float_dtype("binomial", dtype)
    if shape is not None:
        shape = _canonical_shape(shape)
    return _binomial(key, n, p, shape, dtype)


def _stirling_approx_tail(k):
    tail = mnp.array(
        [
            0.0810614667953272,
            0.0413406959554092,
            0.0276779256849983,
            0.02079067210376509,
            0.0166446911898211,
            0.0138761288230707,
            0.0118967099458917,
            0.010411265261972,
            0.00925546218271273,
            0.00833056343336287,
        ],
        dtype=k.dtype,
    )
    use_tail_values = k <= 9
    k = lax.clamp(_const(k, 0.0), k, _const(k, 9.0))
    kp1sq = (k + 1) * (k + 1)
    approx = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    k = mnp.floor(k)
    return lax.select(use_tail_values, tail[mnp.asarray(k, dtype="int32")], approx)


def _binomial_inversion(key, count, prob, shape, dtype, max_iters):
    log1minusprob = mnp.log1p(-prob)

    def body_fn(carry):
        i, num_geom, geom_sum, key = carry
        subkey, key = _unstack(_split(key))
        num_geom_out = lax.select(geom_sum <= count, num_geom + 1, num_geom)
        u = uniform(subkey, shape, prob.dtype)
        geom = mnp.ceil(mnp.log(u) / log1minusprob)
        return i + 1, num_geom_out, geom_sum + geom, key

    def cond_fn(carry):
        i, geom_sum = carry[0], carry[2]
        return (geom_sum <= count).any() & (i < max_iters)

    num_geom_init = lax.full_like(prob, 0, prob.dtype, shape)
    geom_sum_init = lax.full_like(prob, 0, prob.dtype, shape)
    k = lax.while_loop(cond_fn, body_fn, (0, num_geom_init, geom_sum_init, key))[1]
    return (k - 1).astype(dtype)


def _btrs(key, count, prob, shape, dtype, max_iters):
    stddev = mnp.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = mnp.floor((count + 1) * prob)

    def body_fn(carry):
        i, k_out, accepted, key = carry
        key, subkey_0, subkey_1 = _unstack(_split(key, 3))
        u = uniform(subkey_0, shape, prob.dtype)
        v = uniform(subkey_1, shape, prob.dtype)
        u = u - 0.5
        us = 0.5 - mnp.abs(u)
        accept1 = (us >= 0.07) & (v <= v_r)
        k = mnp.floor((2 * a / us + b) * u + c)
        reject = (k < 0) | (k > count)
        v = mnp.log(v * alpha / (a / (us * us) + b))
        ub = (
            (m + 0.5) * mnp.log((m + 1) / (r * (count - m + 1)))
            + (count + 1) * mnp.log((count - m + 1) / (count - k + 1))
            + (k + 0.5) * mnp.log(r * (count - k + 1) / (k + 1))
            + _stirling_approx_tail(m)
            + _stirling_approx_tail(count - m)
            - _stirling_approx_tail(k)
            - _stirling_approx_tail(count - k)
        )
        accept2 = v <= ub
        accept = accept1 | (~reject & accept2)
        k_out = lax.select(accept, k, k_out)
        return i + 1, k_out, accepted | accept, key

    def cond_fn(carry):
        i, accepted = carry[0], carry[2]
        return (~accepted).any() & (i < max_iters)

    k_init = lax.full_like(prob, -1, prob.dtype, shape)
    carry = (0, k_init, mnp.full(shape, False, bool), key)
    return lax.while_loop(cond_fn, body_fn, carry)[1].astype(dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _binomial(key, count, prob, shape, dtype):
    if shape is None:
        shape = jax.lax.broadcast_shapes(_shape_of(count), _shape_of(prob))
    else:
        _check_shape("binomial", shape, _shape_of(count), _shape_of(prob))
    (prob,) = _promote_inexact(prob)
    count = mnp.broadcast_to(lax.convert_element_type(count, prob.dtype), shape)
    prob = mnp.broadcast_to(prob, shape)
    p_lt_half = prob < 0.5
    q = lax.select(p_lt_half, prob, 1.0 - prob)
    count_nan_or_neg = (count != count) | (count < 0.0)
    count_inf = mnp.isinf(count)
    q_is_nan = q != q
    q_l_0 = q < 0.0
    q = lax.select(q_is_nan | q_l_0, lax.full_like(q, 0.01), q)
    use_inversion = count_nan_or_neg | (count * q <= 10.0)
    count = mnp.floor(count)
    count_inv = lax.select(use_inversion, count, lax.full_like(count, 0.0))
    count_btrs = lax.select(use_inversion, lax.full_like(count, 1e4), count)
    q_btrs = lax.select(use_inversion, lax.full_like(q, 0.5), q)
    max_iters = dtype.type(_finfo(dtype).max)
    samples = lax.select(
        use_inversion,
        _binomial_inversion(key, count_inv, q, shape, dtype, max_iters),
        _btrs(key, count_btrs, q_btrs, shape, dtype, max_iters),
    )
    invalid = q_l_0 | q_is_nan | count_nan_or_neg
    samples = lax.select(invalid, mnp.full_like(samples, np.nan, dtype), samples)
    samples = lax.select(count_inf & ~invalid, mnp.full_like(samples, np.inf, dtype), samples)
    return lax.select(
        p_lt_half | count_nan_or_neg | q_is_nan | count_inf,
        samples,
        count.astype(dtype) - samples,
    )


def multinomial(key, n, p, *, shape=None, dtype=None, unroll=1):
    """Multinomial counts by a chain of binomials, as jax.random.multinomial."""
    key, _ = _check_prng_key("multinomial", key)
    n, p = _promote_inexact(n, p)
    if shape is None:
        shape = p.shape
    n = mnp.broadcast_to(n, shape[:-1])
    p = mnp.broadcast_to(p, shape)

    def f(remainder, ratio_key):
        ratio, k = ratio_key
        count = binomial(k, remainder, ratio.clip(0, 1), dtype=remainder.dtype)
        return remainder - count, count

    p = mnp.moveaxis(p, -1, 0)
    remaining = mnp.flip(mnp.cumsum(mnp.flip(p, 0), 0), 0)
    ratios = p / mnp.where(remaining == 0, 1, remaining)
    keys = split(key, ratios.shape[0])
    _, counts = lax.scan(f, n, (ratios, keys), unroll=unroll)
    return mnp.moveaxis(counts, 0, -1).astype(_user_dtype(dtype, float))


# ---------------------------------------------------------------------------
# continuous, from uniforms


def gumbel(key, shape=(), dtype=None, mode=None):
    """Standard Gumbel samples, as jax.random.gumbel."""
    key, _ = _check_prng_key("gumbel", key)
    dtype = _float_dtype("gumbel", dtype)
    shape = _canonical_shape(shape)
    if mode is None:
        mode = "high" if jax.config.jax_high_dynamic_range_gumbel else "low"
    if mode not in ("highest", "high", "low"):
        raise ValueError(f"Must provide valid mode for gumbel got: {mode}")
    return _gumbel(key, shape, dtype, mode)


def _safe_int_to_float(rbits, dtype):
    finfo = _finfo(dtype)
    hiclz, loclz = _unstack(lax.clz(rbits))
    hi, lo = _unstack(rbits)
    u32 = np.uint32
    mantissa = lax.bitwise_or(
        lax.shift_left(hi, hiclz),
        mnp.where(
            hiclz == 32,
            lax.shift_left(lo, loclz),
            lax.shift_right_logical(lo, u32(finfo.bits) - hiclz),
        ),
    )
    mantissa = lax.shift_right_logical(mantissa, np.array(finfo.bits - finfo.nmant - 1, u32))
    mantissa = lax.bitwise_and(mantissa, np.array((1 << finfo.nmant) - 1, u32))
    exp = lax.shift_left(
        u32(-finfo.minexp) - mnp.where(hiclz == 32, 32 + loclz, hiclz),
        np.array(finfo.nmant, u32),
    )
    exp = lax.bitwise_and(exp, np.array((1 << (finfo.bits - 2)) - (1 << (finfo.nmant - 1)), u32))
    return bitcast_convert_type(lax.bitwise_or(exp, mantissa), dtype)


@functools.partial(jit, static_argnums=(1, 2, 3))
def _gumbel(key, shape, dtype, mode):
    _check_shape("gumbel", shape)
    info = _finfo(dtype)
    if dtype == np.float32 and mode == "highest":
        rbits = prng.random_bits(key, info.bits, (2, *shape))
        neg = lax.bitwise_not(rbits)
        lo_bits = neg[1]
        carry = mnp.array(
            [lo_bits == np.array((1 << info.bits) - 1, np.uint32), mnp.ones_like(lo_bits)],
            dtype=np.uint32,
        )
        neg = neg + carry
        flip_mask = rbits[0] < np.array(1 << (info.bits - 1), np.uint32)
        x = _safe_int_to_float(mnp.where(flip_mask, rbits, neg), np.float32)
        return mnp.where(flip_mask, -mnp.log(-mnp.log1p(-x)), -mnp.log(-mnp.log(x)))
    if mode in ("high", "highest"):
        high, low = _unstack(_uniform(key, 0.0, 1.0, (2, *shape), dtype))
        x = mnp.where(high >= 0.5, high, high + 2 ** (-info.nmant) * low + info.tiny)
        return -mnp.log(-mnp.log1p(-x))
    return -mnp.log(-mnp.log(_uniform(key, info.tiny, 1.0, shape, dtype)))


def exponential(key, shape=(), dtype=None):
    """Standard exponential samples, as jax.random.exponential."""
    key, _ = _check_prng_key("exponential", key)
    dtype = _float_dtype("exponential", dtype)
    return _exponential(key, _canonical_shape(shape), dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _exponential(key, shape, dtype):
    _check_shape("exponential", shape)
    u = uniform(key, shape, dtype)
    return lax.neg(lax.log1p(lax.neg(u)))


def laplace(key, shape=(), dtype=None):
    """Standard Laplace samples, as jax.random.laplace."""
    key, _ = _check_prng_key("laplace", key)
    dtype = _float_dtype("laplace", dtype)
    return _laplace(key, _canonical_shape(shape), dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _laplace(key, shape, dtype):
    _check_shape("laplace", shape)
    u = uniform(key, shape, dtype, minval=-1.0 + _finfo(dtype).epsneg, maxval=1.0)
    return lax.mul(lax.sign(u), lax.log1p(lax.neg(lax.abs(u))))


def logistic(key, shape=(), dtype=None):
    """Standard logistic samples, as jax.random.logistic."""
    key, _ = _check_prng_key("logistic", key)
    dtype = _float_dtype("logistic", dtype)
    return _logistic(key, _canonical_shape(shape), dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _logistic(key, shape, dtype):
    _check_shape("logistic", shape)
    x = uniform(key, shape, dtype, minval=_finfo(dtype).tiny, maxval=1.0)
    return lax.sub(lax.log(x), lax.log1p(lax.neg(x)))


def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy samples, as jax.random.cauchy."""
    key, _ = _check_prng_key("cauchy", key)
    dtype = _float_dtype("cauchy", dtype)
    return _cauchy(key, _canonical_shape(shape), dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _cauchy(key, shape, dtype):
    _check_shape("cauchy", shape)
    u = uniform(key, shape, dtype, minval=_finfo(dtype).eps, maxval=1.0)
    return lax.tan(lax.mul(_const(u, np.pi), lax.sub(u, _const(u, 0.5))))


def pareto(key, b, shape=None, dtype=None):
    """Pareto samples with shape ``b``, as jax.random.pareto."""
    key, _ = _check_prng_key("pareto", key)
    dtype = _float_dtype("pareto", dtype)
    shape = _check_broadcast_shapes("pareto", shape, b)
    _check_all_safe_to_cast("pareto", dtype, b)
    return _pareto(key, b, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _pareto(key, b, shape, dtype):
    b = lax.convert_element_type(b, dtype)
    return lax.exp(exponential(key, shape, dtype) / b)


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull samples, as jax.random.weibull_min."""
    key, _ = _check_prng_key("weibull_min", key)
    dtype = _float_dtype("weibull_min", dtype)
    return _weibull_min(key, scale, concentration, _canonical_shape(shape), dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _weibull_min(key, scale, concentration, shape, dtype):
    u = uniform(key=key, shape=shape, minval=0, maxval=1, dtype=dtype)
    return mnp.power(-mnp.log1p(-u), 1.0 / concentration) * scale


def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh samples, as jax.random.rayleigh."""
    key, _ = _check_prng_key("rayleigh", key)
    dtype = _float_dtype("rayleigh", dtype)
    shape = _check_broadcast_shapes("rayleigh", shape, scale)
    _check_all_safe_to_cast("rayleigh", dtype, scale)
    return _rayleigh(key, scale, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _rayleigh(key, scale, shape, dtype):
    u = uniform(key, shape, dtype)
    scale = mnp.broadcast_to(mnp.asarray(scale).astype(dtype), shape)
    sqrt_u = lax.sqrt(lax.mul(lax.log(u), _const(scale, -2)))
    return lax.mul(scale, sqrt_u)


def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular samples on ``[left, right]`` peaking at ``mode``, as JAX's."""
    key, _ = _check_prng_key("triangular", key)
    dtype = _float_dtype("triangular", dtype)
    shape = _check_broadcast_shapes("triangular", shape, left, mode, right)
    _check_all_safe_to_cast("triangular", dtype, left, mode, right)
    return _triangular(key, left, mode, right, shape, dtype)


@functools.partial(jit, static_argnums=(4, 5))
def _triangular(key, left, mode, right, shape, dtype):
    left = mnp.broadcast_to(lax.convert_element_type(left, dtype), shape)
    right = mnp.broadcast_to(lax.convert_element_type(right, dtype), shape)
    mode = mnp.broadcast_to(lax.convert_element_type(mode, dtype), shape)
    fc = (mode - left) / (right - left)
    u = uniform(key, shape, dtype)
    out1 = left + lax.sqrt(u * (right - left) * (mode - left))
    out2 = right - lax.sqrt((1 - u) * (right - left) * (right - mode))
    return lax.select(u < fc, out1, out2)


# ---------------------------------------------------------------------------
# from normals


def maxwell(key, shape=(), dtype=None):
    """Maxwell samples (norm of a 3-D normal), as jax.random.maxwell."""
    key, _ = _check_prng_key("maxwell", key)
    dtype = _float_dtype("maxwell", dtype)
    return _maxwell(key, _canonical_shape(shape), dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _maxwell(key, shape, dtype):
    return mnp.linalg.norm(normal(key=key, shape=(*shape, 3), dtype=dtype), axis=-1)


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Double-sided Maxwell samples, as jax.random.double_sided_maxwell."""
    key, _ = _check_prng_key("double_sided_maxwell", key)
    dtype = _float_dtype("double_sided_maxwell", dtype)
    return _double_sided_maxwell(key, loc, scale, _canonical_shape(shape), dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _double_sided_maxwell(key, loc, scale, shape, dtype):
    params_shapes = jax.lax.broadcast_shapes(_shape_of(loc), _shape_of(scale))
    if not shape:
        shape = params_shapes
    shape = shape + params_shapes
    maxwell_key, rademacher_key = _unstack(_split(key))
    maxwell_rvs = maxwell(maxwell_key, shape=shape, dtype=dtype)
    random_sign = rademacher(rademacher_key, shape=shape, dtype=dtype)
    return random_sign * maxwell_rvs * scale + loc


def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian) samples, as jax.random.wald."""
    key, _ = _check_prng_key("wald", key)
    dtype = _float_dtype("wald", dtype)
    shape = _check_broadcast_shapes("wald", shape, mean)
    _check_all_safe_to_cast("wald", dtype, mean)
    return _wald(key, mean, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _wald(key, mean, shape, dtype):
    k1, k2 = _unstack(_split(key, 2))
    mean = mnp.broadcast_to(mnp.asarray(mean).astype(dtype), shape)
    v = normal(k1, shape, dtype)
    z = uniform(k2, shape, dtype)
    y = lax.integer_pow(v, 2)
    y_sq = lax.integer_pow(y, 2)
    mean_sq = lax.integer_pow(mean, 2)
    sqrt_term = lax.sqrt(4 * mean * y + mean_sq * y_sq)
    x = mean + mean_sq * y / 2 - mean / 2 * sqrt_term
    return lax.select(lax.le(z, mean / (mean + x)), x, mean_sq / x)


def orthogonal(key, n, shape=(), dtype=None, m=None):
    """A Haar-random orthogonal (or unitary) ``n x m`` matrix, as jax.random.orthogonal."""
    _m = n if m is None else m
    shape = _canonical_shape(shape)
    key, _ = _check_prng_key("orthogonal", key)
    dtype = _user_dtype(dtype, float)
    n = _concrete_int(n, "The error occurred in jax.random.orthogonal()")
    _m = _concrete_int(_m, "The error occurred in jax.random.orthogonal()")
    return _orthogonal(key, n, _m, shape, dtype)


@functools.partial(jit, static_argnums=(1, 2, 3, 4))
def _orthogonal(key, n, _m, shape, dtype):
    z = normal(key, (*shape, max(n, _m), min(n, _m)), dtype)
    q, r = _qr(z)
    d = mnp.diagonal(r, axis1=-2, axis2=-1)
    x = q * mnp.expand_dims(mnp.sign(d), -2)
    return mnp.swapaxes(x, -1, -2) if n < _m else x


# ---------------------------------------------------------------------------
# gamma and the distributions built on it


def gamma(key, a, shape=None, dtype=None):
    """Gamma(a, 1) samples, differentiable in ``a`` (implicit reparameterisation)."""
    key, _ = _check_prng_key("gamma", key)
    dtype = _float_dtype("gamma", dtype)
    if shape is not None:
        shape = _canonical_shape(shape)
    return _gamma(key, a, shape=shape, dtype=dtype)


def loggamma(key, a, shape=None, dtype=None):
    """The log of Gamma(a, 1) samples, accurate for small ``a``, as jax.random.loggamma."""
    key, _ = _check_prng_key("loggamma", key)
    dtype = _float_dtype("gamma", dtype)
    if shape is not None:
        shape = _canonical_shape(shape)
    return _gamma(key, a, shape=shape, dtype=dtype, log_space=True)


@functools.partial(jit, static_argnames=("shape", "dtype", "log_space"))
def _gamma(key, a, shape, dtype, log_space=False):
    if shape is None:
        shape = _shape_of(a)
    else:
        _check_shape("gamma", shape, _shape_of(a))
    a = lax.convert_element_type(a, dtype)
    if _shape_of(a) != shape:
        a = mnp.broadcast_to(a, shape)
    return prng.random_gamma(key, a, log_space=log_space)


def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) samples (ratio of log-gammas), as jax.random.beta."""
    key, _ = _check_prng_key("beta", key)
    dtype = _float_dtype("beta", dtype)
    _check_all_safe_to_cast("beta", dtype, a, b)
    shape = _check_broadcast_shapes("beta", shape, a, b)
    return _beta(key, a, b, shape, dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _beta(key, a, b, shape, dtype):
    a = mnp.broadcast_to(lax.convert_element_type(a, dtype), shape)
    b = mnp.broadcast_to(lax.convert_element_type(b, dtype), shape)
    key_a, key_b = _unstack(_split(key))
    log_gamma_a = loggamma(key_a, a, shape, dtype)
    log_gamma_b = loggamma(key_b, b, shape, dtype)
    log_max = lax.max(log_gamma_a, log_gamma_b)
    gamma_a_scaled = mnp.exp(log_gamma_a - log_max)
    gamma_b_scaled = mnp.exp(log_gamma_b - log_max)
    return gamma_a_scaled / (gamma_a_scaled + gamma_b_scaled)


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet samples (softmax of log-gammas), as jax.random.dirichlet."""
    key, _ = _check_prng_key("dirichlet", key)
    dtype = _float_dtype("dirichlet", dtype)
    if shape is not None:
        shape = _canonical_shape(shape)
    return _dirichlet(key, alpha, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _dirichlet(key, alpha, shape, dtype):
    alpha_shape = _shape_of(alpha)
    if not len(alpha_shape) >= 1:
        raise ValueError(
            f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == {len(alpha_shape)}"
        )
    if shape is None:
        shape = alpha_shape[:-1]
    else:
        _check_shape("dirichlet", shape, alpha_shape[:-1])
    alpha = lax.convert_element_type(alpha, dtype)
    return softmax(loggamma(key, alpha, shape + alpha_shape[-1:], dtype), -1)


def t(key, df, shape=None, dtype=None):
    """Student's t samples, as jax.random.t."""
    key, _ = _check_prng_key("t", key)
    dtype = _float_dtype("t", dtype)
    shape = _check_broadcast_shapes("t", shape, df)
    _check_all_safe_to_cast("t", dtype, df)
    return _t(key, df, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _t(key, df, shape, dtype):
    df = lax.convert_element_type(df, dtype)
    key_n, key_g = _unstack(_split(key))
    n = normal(key_n, shape, dtype)
    half_df = lax.div(df, _const(n, 2))
    g = gamma(key_g, half_df, shape, dtype)
    return n * mnp.sqrt(half_df / g)


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square samples, as jax.random.chisquare."""
    key, _ = _check_prng_key("chisquare", key)
    dtype = _float_dtype("chisquare", dtype)
    shape = _check_broadcast_shapes("chisquare", shape, df)
    _check_all_safe_to_cast("chisquare", dtype, df)
    return _chisquare(key, df, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _chisquare(key, df, shape, dtype):
    df = lax.convert_element_type(df, dtype)
    two = _const(df, 2)
    log_g = loggamma(key, a=lax.div(df, two), shape=shape, dtype=dtype)
    return lax.mul(mnp.exp(log_g), two)


def f(key, dfnum, dfden, shape=None, dtype=None):
    """F-distribution samples, as jax.random.f."""
    key, _ = _check_prng_key("f", key)
    dtype = _float_dtype("f", dtype)
    shape = _check_broadcast_shapes("f", shape, dfnum, dfden)
    _check_all_safe_to_cast("f", dtype, dfnum, dfden)
    return _f(key, dfnum, dfden, shape, dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _f(key, dfnum, dfden, shape, dtype):
    dfden = lax.convert_element_type(dfden, dtype)
    dfnum = lax.convert_element_type(dfnum, dtype)
    key_dfd, key_dfn = _unstack(_split(key))
    chi2_dfn = chisquare(key_dfn, dfnum, shape, dtype)
    chi2_dfd = chisquare(key_dfd, dfden, shape, dtype)
    return lax.div(lax.div(chi2_dfn, dfnum), lax.div(chi2_dfd, dfden))


def generalized_normal(key, p, shape=(), dtype=None):
    """Generalized normal samples with exponent ``p``, as jax.random.generalized_normal."""
    shape = _canonical_shape(shape)
    key, _ = _check_prng_key("generalized_normal", key)
    dtype = _user_dtype(dtype, float)
    return _generalized_normal(key, p, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _generalized_normal(key, p, shape, dtype):
    keys = split(key)
    g = gamma(keys[0], 1 / p, shape, dtype)
    r = rademacher(keys[1], shape, dtype)
    return r * g ** (1 / p)


def ball(key, d, p=2, shape=(), dtype=None):
    """Uniform samples from the unit ``p``-ball in ``d`` dimensions, as jax.random.ball."""
    shape = _canonical_shape(shape)
    key, _ = _check_prng_key("ball", key)
    dtype = _user_dtype(dtype, float)
    d = _concrete_int(d, "The error occurred in jax.random.ball()")
    return _ball(key, p, d, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3, 4))
def _ball(key, p, d, shape, dtype):
    k1, k2 = _unstack(split(key))
    g = generalized_normal(k1, p, (*shape, d), dtype)
    e = exponential(k2, shape, dtype)
    return g / (((mnp.abs(g) ** p).sum(-1) + e) ** (1 / p))[..., None]
