"""PRNG primitives: JAX's typed keys and the operations on them, one stanza each.

A typed key array has one of JAX's extended dtypes (``key<fry>``); its abstract
value is an ordinary ``ShapedArray`` with that dtype. The primitives are JAX's,
with JAX's names and params: ``random_seed[impl]``, ``random_bits[bit_width,
shape]``, ``random_split[shape]``, ``random_fold_in``, ``random_wrap[impl]``,
``random_unwrap`` and the counter-based hash ``threefry2x32``; plus
``bitcast_convert_type``, which the samplers use to turn bits into floats.

Each lowers to the public JAX function that computes it (``jax.random.bits``,
``jax.random.split``, ``jax.random.fold_in``, ``jax.random.wrap_key_data``,
``jax.random.key_data``, ``jax.extend.random``), so the bits are JAX's bits for
every key implementation and under JAX's own ``jax_threefry_partitionable``
setting. A key array of any shape is accepted (the primitives map over it, as
JAX's do), which is also the whole batching rule: the mapped axis goes first.
Keys are never differentiable: every output has a symbolic zero tangent
(``float0`` for keys and bits).
"""

from __future__ import annotations

import jax
import jax.extend.random as jex_random
import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.lax import base, elementwise, special

# ---------------------------------------------------------------------------
# key implementations and key dtypes (public JAX API only)

_BUILTIN_IMPLS = {
    impl.name: impl
    for impl in (
        jex_random.threefry_prng_impl,
        jex_random.rbg_prng_impl,
        jex_random.unsafe_rbg_prng_impl,
    )
}
_IMPL_OF_DTYPE: dict = {}  # key dtype -> PRNGImpl, for every implementation seen


def resolve_impl(impl=None):
    """A ``jax.extend.random.PRNGImpl`` from a name, an impl, a key dtype or None (default)."""
    if impl is None:
        impl = jax.config.jax_default_prng_impl
    if isinstance(impl, str):
        found = _BUILTIN_IMPLS.get(impl)
        if found is None:
            names = ", ".join(f'"{s}"' for s in _BUILTIN_IMPLS)
            raise ValueError(
                f'unrecognized PRNG implementation "{impl}". Did you mean one of: {names}?'
            )
        return found
    if core.is_key_dtype(impl):
        return impl_of_dtype(impl)
    if hasattr(impl, "key_shape") and hasattr(impl, "tag"):  # a PRNGImpl
        _IMPL_OF_DTYPE.setdefault(jax.random.key_dtype(impl), impl)
        return impl
    spec = _spec_impl(impl)
    if spec is not None:
        return spec
    raise TypeError(f"unrecognized type {type(impl)} for specifying PRNG implementation.")


def _spec_impl(spec):
    """The impl behind a ``PRNGSpec`` (what ``key_impl`` returns for a custom impl)."""
    try:
        dtype = jax.random.key_dtype(spec)
    except (TypeError, ValueError):
        return None
    return impl_of_dtype(dtype)


def key_dtype_of(impl):
    dtype = jax.random.key_dtype(impl)
    _IMPL_OF_DTYPE.setdefault(dtype, impl)
    return dtype


def impl_of_dtype(dtype):
    impl = _IMPL_OF_DTYPE.get(dtype)
    if impl is None:
        for cand in _BUILTIN_IMPLS.values():
            _IMPL_OF_DTYPE.setdefault(jax.random.key_dtype(cand), cand)
        impl = _IMPL_OF_DTYPE.get(dtype)
        if impl is None:
            raise TypeError(f"unknown PRNG key dtype {dtype}: make keys with mg.random.key")
    return impl


_KEY_SHAPE: dict = {}


def key_shape(dtype):
    """The shape of one key's raw data (``(2,)`` for threefry), read from JAX."""
    hit = _KEY_SHAPE.get(dtype)
    if hit is None:
        out = jax.eval_shape(jax.random.key_data, jax.ShapeDtypeStruct((), dtype))
        hit = _KEY_SHAPE[dtype] = tuple(out.shape)
    return hit


_UINT_DTYPES = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: np.dtype(np.uint32)}
_UINT_DTYPES[64] = np.dtype(np.uint64)


def _check_keys(name, keys):
    if not core.is_key_dtype(keys.dtype):
        raise TypeError(
            f"{name} requires a typed PRNG key array (a key<...> dtype), "
            f"got {keys.str_short()}; wrap raw key data with random_wrap first"
        )


def _map_keys(fn, keys, *others):
    """``fn`` applied to each key (and the matching slices of ``others``, whose shapes
    start with the key array's), via jax.vmap over the flattened key axes."""
    shape = keys.shape
    if not shape:
        return fn(keys, *others)
    nd = len(shape)
    flat = [jax.numpy.reshape(a, (-1, *np.shape(a)[nd:])) for a in (keys, *others)]
    out = jax.vmap(fn)(*flat)
    return jax.numpy.reshape(out, shape + out.shape[1:])


def _to_front(axis_size, args, dims):
    return [batching.bdim_at_front(a, d, axis_size) for a, d in zip(args, dims)]


# ---------------------------------------------------------------------------
# random_seed: integer seeds -> keys


random_seed_p = Primitive("random_seed")


def _seed_abstract(seeds, *, impl):
    if not core.is_integer_or_bool(seeds.dtype) or seeds.dtype == np.bool_:
        raise TypeError(f"PRNG key seed must be an integer; got {seeds.str_short()}")
    return ShapedArray(seeds.shape, key_dtype_of(impl))


core.abstract_eval_rules[random_seed_p] = _seed_abstract
ad.defnondiff(random_seed_p)
batching.defvectorized(random_seed_p)
lowering.register(random_seed_p, lambda seeds, *, impl: jex_random.random_seed(seeds, impl))


def random_seed(seeds, impl):
    return random_seed_p.bind(seeds, impl=impl)


# ---------------------------------------------------------------------------
# random_bits: keys -> unsigned bits of shape keys.shape + shape

random_bits_p = Primitive("random_bits")


def _bits_abstract(keys, *, bit_width, shape):
    _check_keys("random_bits", keys)
    if bit_width not in _UINT_DTYPES:
        raise TypeError(f"random_bits: bit_width must be 8, 16, 32 or 64, got {bit_width}")
    return ShapedArray(keys.shape + tuple(shape), _UINT_DTYPES[bit_width])


def _bits_lower(keys, *, bit_width, shape):
    dtype = _UINT_DTYPES[bit_width]
    return _map_keys(lambda k: jax.random.bits(k, shape, dtype), keys)


def _bits_batch(axis_size, args, dims, *, bit_width, shape):
    (keys,) = _to_front(axis_size, args, dims)
    return random_bits_p.bind(keys, bit_width=bit_width, shape=shape), 0


core.abstract_eval_rules[random_bits_p] = _bits_abstract
ad.defnondiff(random_bits_p)
batching.batch_rules[random_bits_p] = _bits_batch
lowering.register(random_bits_p, _bits_lower)


def random_bits(keys, bit_width, shape):
    return random_bits_p.bind(keys, bit_width=int(bit_width), shape=tuple(map(int, shape)))


# ---------------------------------------------------------------------------
# random_split: keys -> keys of shape keys.shape + shape

random_split_p = Primitive("random_split")


def _split_abstract(keys, *, shape):
    _check_keys("random_split", keys)
    return ShapedArray(keys.shape + tuple(shape), keys.dtype)


def _split_batch(axis_size, args, dims, *, shape):
    (keys,) = _to_front(axis_size, args, dims)
    return random_split_p.bind(keys, shape=shape), 0


core.abstract_eval_rules[random_split_p] = _split_abstract
ad.defnondiff(random_split_p)
batching.batch_rules[random_split_p] = _split_batch
lowering.register(
    random_split_p, lambda keys, *, shape: _map_keys(lambda k: jax.random.split(k, shape), keys)
)


def random_split(keys, shape):
    return random_split_p.bind(keys, shape=tuple(map(int, shape)))


# ---------------------------------------------------------------------------
# random_fold_in: (keys, uint32 data) -> keys, broadcasting as lax does

random_fold_in_p = Primitive("random_fold_in")


def _fold_in_abstract(keys, msgs):
    _check_keys("random_fold_in", keys)
    if msgs.dtype != np.uint32:
        raise TypeError(f"random_fold_in requires uint32 data, got {msgs.str_short()}")
    shape = elementwise.broadcast_shapes_lax("random_fold_in", keys, msgs)
    return ShapedArray(shape, keys.dtype)


def _fold_in_lower(keys, msgs):
    shape = jax.numpy.broadcast_shapes(keys.shape, np.shape(msgs))
    keys = jax.numpy.broadcast_to(keys, shape)
    msgs = jax.numpy.broadcast_to(jax.numpy.asarray(msgs, np.uint32), shape)
    return _map_keys(jax.random.fold_in, keys, msgs)


core.abstract_eval_rules[random_fold_in_p] = _fold_in_abstract
ad.defnondiff(random_fold_in_p)
batching.defbroadcasting(random_fold_in_p)
lowering.register(random_fold_in_p, _fold_in_lower)


def random_fold_in(keys, msgs):
    return random_fold_in_p.bind(keys, msgs)


# ---------------------------------------------------------------------------
# random_wrap / random_unwrap: raw key data <-> typed keys

random_wrap_p = Primitive("random_wrap")


def _wrap_abstract(base, *, impl):
    ks = tuple(impl.key_shape)
    if core.is_key_dtype(base.dtype):
        raise TypeError(
            "wrap_key_data / random_wrap requires raw key data (a uint32 array), "
            f"got a typed key array {base.str_short()}; it is already a key"
        )
    if base.ndim < 1:
        raise TypeError(
            "JAX encountered invalid PRNG key data: expected key_data.ndim >= 1; "
            f"got ndim={base.ndim}"
        )
    if base.dtype != np.uint32:
        raise TypeError(
            "JAX encountered invalid PRNG key data: expected key_data.dtype = uint32; "
            f"got dtype={base.dtype.name}"
        )
    if base.shape[len(base.shape) - len(ks) :] != ks:
        raise TypeError(
            f"JAX encountered invalid PRNG key data: expected key_data.shape to end with {ks}; "
            f"got shape={base.shape} for impl={impl.name}"
        )
    return ShapedArray(base.shape[: len(base.shape) - len(ks)], key_dtype_of(impl))


def _wrap_batch(axis_size, args, dims, *, impl):
    (base,) = _to_front(axis_size, args, dims)
    return random_wrap_p.bind(base, impl=impl), 0


core.abstract_eval_rules[random_wrap_p] = _wrap_abstract
ad.defnondiff(random_wrap_p)
batching.batch_rules[random_wrap_p] = _wrap_batch
lowering.register(random_wrap_p, lambda base, *, impl: jax.random.wrap_key_data(base, impl=impl))


def random_wrap(base, impl):
    return random_wrap_p.bind(base, impl=impl)


random_unwrap_p = Primitive("random_unwrap")


def _unwrap_abstract(keys):
    _check_keys("random_unwrap", keys)
    return ShapedArray(keys.shape + key_shape(keys.dtype), np.dtype(np.uint32))


core.abstract_eval_rules[random_unwrap_p] = _unwrap_abstract
ad.defnondiff(random_unwrap_p)
batching.defvectorized(random_unwrap_p)  # the key data's axes come last
lowering.register(random_unwrap_p, jax.random.key_data)


def random_unwrap(keys):
    return random_unwrap_p.bind(keys)


# ---------------------------------------------------------------------------
# threefry2x32: the Threefry-2x32 block cipher (4 uint32 arrays -> 2)

threefry2x32_p = Primitive("threefry2x32", multiple_results=True)


def _threefry_abstract(k1, k2, x1, x2):
    for a in (k1, k2, x1, x2):
        if a.dtype != np.uint32:
            raise TypeError(f"threefry2x32 requires uint32 arguments, got {a.str_short()}")
    shape = elementwise.broadcast_shapes_lax("threefry2x32", k1, k2, x1, x2)
    out = ShapedArray(shape, np.dtype(np.uint32))
    return [out, out]


def _threefry_lower(*args):
    shape = jax.numpy.broadcast_shapes(*(np.shape(a) for a in args))
    args = [jax.numpy.broadcast_to(jax.numpy.asarray(a, np.uint32), shape) for a in args]
    return list(jex_random.threefry2x32_p.bind(*args))


def _threefry_batch(axis_size, args, dims):
    avals = [core.get_aval(a) for a in args]
    rank = max(a.ndim - (d is not None) for a, d in zip(avals, dims))
    moved = []
    for a, d in zip(args, dims):
        a = batching.bdim_at_front(a, d, axis_size)
        shape = core.get_aval(a).shape
        if len(shape) - 1 < rank:  # a scalar beside arrays: lax broadcasts only rank 0
            a = batching.ops.reshape(a, (axis_size,) + (1,) * (rank - len(shape) + 1) + shape[1:])
        moved.append(a)
    shape = (axis_size,) + elementwise.broadcast_shapes_lax(
        "threefry2x32", *(ShapedArray(core.get_aval(a).shape[1:], np.uint32) for a in moved)
    )
    moved = [batching.ops.broadcast_in_dim(a, shape, tuple(range(len(shape)))) for a in moved]
    return threefry2x32_p.bind(*moved), [0, 0]


core.abstract_eval_rules[threefry2x32_p] = _threefry_abstract
ad.defnondiff(threefry2x32_p)
batching.batch_rules[threefry2x32_p] = _threefry_batch
lowering.register(threefry2x32_p, _threefry_lower)


def threefry2x32(k1, k2, x1, x2):
    return threefry2x32_p.bind(k1, k2, x1, x2)


# ---------------------------------------------------------------------------
# bitcast_convert_type: reinterpret the bits of each element

bitcast_convert_type_p = Primitive("bitcast_convert_type")


def _nbits(dtype):
    return np.dtype(dtype).itemsize * 8


def _bitcast_abstract(x, *, new_dtype):
    old = x.dtype
    for d in (old, new_dtype):
        if (d == np.bool_ or jax.numpy.issubdtype(d, np.complexfloating)) and old != new_dtype:
            raise TypeError(
                "lax.bitcast_convert_type does not support bool or complex values "
                "unless the operand and destination types match. "
                f"Got operand dtype={old}, new_dtype={new_dtype}. "
                "Consider using the arr.view() method instead."
            )
    old_bits, new_bits = _nbits(old), _nbits(new_dtype)
    if old_bits == new_bits:
        shape = x.shape
    elif old_bits > new_bits:
        shape = (*x.shape, old_bits // new_bits)
    else:
        dim = x.shape[-1] if x.shape else 1
        if dim * old_bits != new_bits:
            raise ValueError(
                f"Attempting to convert array of shape {x.shape} from {old} of size "
                f"{old_bits} bits to {new_dtype} of size {new_bits}, bits "
                f"but {dim} * {old_bits} != {new_bits}"
            )
        shape = x.shape[:-1]
    return ShapedArray(shape, new_dtype)


def _bitcast_batch(axis_size, args, dims, *, new_dtype):
    (x,), (d,) = args, dims
    if _nbits(core.get_aval(x).dtype) != _nbits(new_dtype):
        x, d = batching.moveaxis(x, d, 0), 0  # the trailing axis may grow or go
    return bitcast_convert_type_p.bind(x, new_dtype=new_dtype), d


core.abstract_eval_rules[bitcast_convert_type_p] = _bitcast_abstract
ad.defnondiff(bitcast_convert_type_p)
batching.batch_rules[bitcast_convert_type_p] = _bitcast_batch
lowering.register(
    bitcast_convert_type_p, lambda x, *, new_dtype: jlax.bitcast_convert_type(x, new_dtype)
)


def bitcast_convert_type(operand, new_dtype):
    """Reinterpret the bits of ``operand`` as ``new_dtype`` (``jax.lax.bitcast_convert_type``).

    Example:
        >>> import numpy as np
        >>> from minigrad_jax import lax
        >>> lax.bitcast_convert_type(np.float32(1.0), np.uint32)
        Array(1065353216, dtype=uint32)
    """
    new_dtype = core.canonical_dtype(np.dtype(new_dtype))
    return bitcast_convert_type_p.bind(operand, new_dtype=new_dtype)


# ---------------------------------------------------------------------------
# random_gamma: Gamma(a, 1) samples by Marsaglia-Tsang rejection, JAX's primitive
#
# The rejection loop is JAX's own (the lowering calls jax.random.gamma /
# jax.random.loggamma, which bind JAX's random_gamma); the derivative in ``a`` is
# the implicit reparameterisation gradient, written here with lax.random_gamma_grad
# exactly as JAX's rule: d sample / d a = random_gamma_grad(a, sample), and in log
# space random_gamma_grad(a, exp(s)) / exp(s) (tiny where exp(s) underflows).

random_gamma_p = Primitive("random_gamma")


def _gamma_abstract(keys, a, *, log_space):
    _check_keys("random_gamma", keys)
    if keys.shape != a.shape[: keys.ndim]:
        raise TypeError(
            f"random_gamma: the key shape {keys.shape} must be a prefix of the shape of a {a.shape}"
        )
    return a


def _gamma_lower(keys, a, *, log_space):
    sample = jax.random.loggamma if log_space else jax.random.gamma
    rest = a.shape[keys.ndim :]

    def one(k, x):
        return sample(k, x, rest, x.dtype)

    if not keys.shape:
        return one(keys, a)
    return _map_keys(one, keys, a)


def _gamma_grad(sample, a, *, log_space):
    if log_space:
        x = elementwise.exp(sample)
        dtype = core.get_aval(x).dtype
        tiny = _full(x, np.array(jax.numpy.finfo(dtype).tiny, dtype))
        x = elementwise.select_n(elementwise.eq(x, np.zeros((), dtype)), x, tiny)
        return elementwise.div(special.random_gamma_grad(a, x), x)
    return special.random_gamma_grad(a, sample)


def _full(x, val):
    aval = core.get_aval(x)
    return base.full(aval.shape, val, aval.dtype)


def _gamma_jvp(primals, tangents, *, log_space):
    (keys, a), (_, ta) = primals, tangents
    out = random_gamma_p.bind(keys, a, log_space=log_space)
    if type(ta) is ad.Zero:
        return out, ad.Zero(ad.tangent_aval(core.get_aval(out)))
    return out, elementwise.mul(ta, _gamma_grad(out, a, log_space=log_space))


def _gamma_batch(axis_size, args, dims, *, log_space):
    keys, a = _to_front(axis_size, args, dims)
    return random_gamma_p.bind(keys, a, log_space=log_space), 0


core.abstract_eval_rules[random_gamma_p] = _gamma_abstract
ad.jvp_rules[random_gamma_p] = _gamma_jvp
batching.batch_rules[random_gamma_p] = _gamma_batch
lowering.register(random_gamma_p, _gamma_lower)


def random_gamma(keys, a, log_space=False):
    return random_gamma_p.bind(keys, a, log_space=bool(log_space))
