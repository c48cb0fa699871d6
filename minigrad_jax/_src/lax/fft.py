"""The fft primitive (fft_type, fft_lengths) and lax.fft.

``fft{fft_type, fft_lengths}`` transforms the trailing ``len(fft_lengths)`` axes,
as XLA's FFT does (``fft_type`` is JAX's ``jax.lax.FftType``):

- FFT / IFFT: complex to complex, same shape;
- RFFT: real to complex, the last axis becomes ``n // 2 + 1`` long;
- IRFFT: complex to real, the last axis becomes ``fft_lengths[-1]`` long.

It is linear: the JVP is the fft of the tangent. The transposes are JAX's: FFT
and IFFT transpose to themselves; RFFT and IRFFT transpose to each other, with a
mask (1 for the DC and Nyquist entries, 2 for the others) that accounts for the
Hermitian redundancy, and the scale ``N = prod(fft_lengths)``. Batching moves the
mapped axis to the front (the transformed axes are the trailing ones).
"""

from __future__ import annotations

import math

import numpy as np
from jax import lax as jlax

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import structural as st
from minigrad_jax._src.lax.base import broadcast_in_dim, convert_element_type, full

FftType = jlax.FftType

__all__ = ["FftType", "fft"]

fft_p = Primitive("fft")


def _complex_dtype(dtype):
    return np.dtype(np.complex128 if np.dtype(dtype) == np.float64 else np.complex64)


def _real_dtype(dtype):
    return np.finfo(dtype).dtype


def _check(x, fft_type, fft_lengths):
    """(shape, dtype) of the result, or JAX's ValueError for a bad input."""
    if len(fft_lengths) > x.ndim:
        raise ValueError(
            f"FFT input shape {x.shape} must have at least as many input dimensions as "
            f"fft_lengths {fft_lengths}."
        )
    if len(fft_lengths) > 3:
        raise ValueError(f"FFT supports at most 3 fft_lengths, got fft_lengths {fft_lengths}")
    if any(n < 0 for n in fft_lengths):
        raise ValueError(f"fft_lengths must be nonnegative, got {fft_lengths}")
    k = len(fft_lengths)
    minor = x.shape[x.ndim - k :]
    if fft_type == FftType.RFFT:
        if x.dtype not in (np.float32, np.float64):
            raise ValueError(f"RFFT input must be float32 or float64, got {x.dtype}")
        if minor != fft_lengths:
            raise ValueError(
                f"RFFT input shape {x.shape} minor dimensions must be equal to "
                f"fft_lengths {fft_lengths}"
            )
        shape = x.shape[: x.ndim - k] + fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,)
        return shape, _complex_dtype(x.dtype)
    if not np.issubdtype(x.dtype, np.complexfloating):
        name = "IRFFT" if fft_type == FftType.IRFFT else fft_type.name
        raise ValueError(f"{name} input must be complex64 or complex128, got {x.dtype}")
    if fft_type == FftType.IRFFT:
        if minor[:-1] != fft_lengths[:-1]:
            raise ValueError(
                f"IRFFT input shape {x.shape} minor dimensions must be equal to all except "
                f"the last fft_length, got fft_lengths={fft_lengths}"
            )
        return x.shape[: x.ndim - k] + fft_lengths, _real_dtype(x.dtype)
    if minor != fft_lengths:
        raise ValueError(
            f"FFT input shape {x.shape} minor dimensions must be equal to fft_lengths {fft_lengths}"
        )
    return x.shape, x.dtype


def _fft_abstract(x, *, fft_type, fft_lengths):
    shape, dtype = _check(x, fft_type, fft_lengths)
    return ShapedArray(shape, dtype, x.weak_type)


def _hermitian_mask(m, n, dtype):
    """(m,) of ``dtype``: 2 for the entries an r-FFT of length n stands for twice, else 1."""
    one = full((1,), 1.0, dtype)
    mask = st.dynamic_update_slice(full((m,), 2.0, dtype), one, (0,))
    if n % 2 == 0:
        mask = st.dynamic_update_slice(mask, one, (m - 1,))
    return mask


def _along_last(mask, shape):
    return broadcast_in_dim(mask, shape, (len(shape) - 1,))


def _rfft_transpose(ct, fft_lengths):
    # irfft of the conjugated cotangent, the redundant entries halved, times N
    aval = core.get_aval(ct)
    mask = _along_last(_hermitian_mask(aval.shape[-1], fft_lengths[-1], aval.dtype), aval.shape)
    out = fft(ew.div(ew.conj(ct), mask), FftType.IRFFT, fft_lengths)
    n = math.prod(fft_lengths)
    return ew.mul(out, full((), n, _real_dtype(aval.dtype)))


def _irfft_transpose(ct, fft_lengths):
    # rfft of the cotangent, the redundant entries doubled, over N; conjugated (JAX's
    # convention for complex cotangents)
    x = fft(ct, FftType.RFFT, fft_lengths)
    aval = core.get_aval(x)
    mask = _along_last(_hermitian_mask(aval.shape[-1], fft_lengths[-1], aval.dtype), aval.shape)
    scale = full((), 1 / math.prod(fft_lengths), aval.dtype)
    return ew.conj(ew.mul(ew.mul(scale, mask), x))


def _fft_transpose(ct, x, *, fft_type, fft_lengths):
    if type(ct) is Zero:
        return [None]
    if fft_type == FftType.RFFT:
        return [_rfft_transpose(ct, fft_lengths)]
    if fft_type == FftType.IRFFT:
        return [_irfft_transpose(ct, fft_lengths)]
    return [fft_p.bind(ct, fft_type=fft_type, fft_lengths=fft_lengths)]


def _fft_batch(axis_size, args, dims, *, fft_type, fft_lengths):
    (x,), (d,) = args, dims
    x = batching.moveaxis(x, d, 0)
    return fft_p.bind(x, fft_type=fft_type, fft_lengths=fft_lengths), 0


core.abstract_eval_rules[fft_p] = _fft_abstract
ad.deflinear(fft_p, _fft_transpose)
batching.batch_rules[fft_p] = _fft_batch
lowering.register(fft_p, lambda x, *, fft_type, fft_lengths: jlax.fft(x, fft_type, fft_lengths))


_NAMES = {
    name: typ
    for typ in (FftType.FFT, FftType.IFFT, FftType.RFFT, FftType.IRFFT)
    for name in (typ.name, typ.name.lower())
}


def _fft_type(fft_type):
    if isinstance(fft_type, FftType):
        return fft_type
    if isinstance(fft_type, str):
        if fft_type not in _NAMES:
            raise ValueError(f"Unknown FFT type '{fft_type}'")
        return _NAMES[fft_type]
    raise TypeError(f"Unknown FFT type value '{fft_type}'")


def _inexact(dtype):
    if np.issubdtype(dtype, np.inexact):
        return dtype
    return core.canonical_dtype(np.dtype(np.float64))  # float32 unless x64


def fft(x, fft_type, fft_lengths):
    """The fast Fourier transform of the trailing ``len(fft_lengths)`` axes of ``x``.

    Args:
      x: the operand; converted to complex (FFT, IFFT, IRFFT) or to a real floating
        type (RFFT) first, as jax.lax.fft does.
      fft_type: a ``lax.FftType`` or one of ``"fft"``, ``"ifft"``, ``"rfft"``,
        ``"irfft"`` (either case).
      fft_lengths: the lengths of the transformed (trailing) axes; at most 3.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax import lax
      >>> lax.fft(np.array([1.0, 2.0, 3.0, 4.0], np.float32), "rfft", (4,))
      Array([10.+0.j, -2.+2.j, -2.+0.j], dtype=complex64)
      >>> lax.fft(np.array([10.0, -2 + 2j, -2.0], np.complex64), lax.FftType.IRFFT, (4,))
      Array([1., 2., 3., 4.], dtype=float32)
    """
    typ = _fft_type(fft_type)
    try:
        fft_lengths = tuple(int(n) for n in fft_lengths)
    except TypeError:
        raise TypeError(f"fft_lengths must be a sequence of ints, got {fft_lengths!r}") from None
    aval = core.get_aval(x)
    if typ == FftType.RFFT:
        if np.issubdtype(aval.dtype, np.complexfloating):
            raise ValueError("only real valued inputs supported for rfft")
        x = convert_element_type(x, _inexact(aval.dtype))
    else:
        x = convert_element_type(x, _complex_dtype(_real_dtype(_inexact(aval.dtype))))
    if not fft_lengths:
        return x  # XLA's FFT has no rank-0 form; JAX returns the converted operand
    _check(core.get_aval(x), typ, fft_lengths)  # JAX's ValueErrors, before binding
    return fft_p.bind(x, fft_type=typ, fft_lengths=fft_lengths)
