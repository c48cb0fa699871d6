"""``mnp.fft``: the discrete Fourier transforms of jax.numpy.fft, on the fft primitive.

Every transform is one ``_fft_core`` call, as in jax.numpy.fft: the transformed
axes are moved to the end, cropped or zero-padded to ``s`` (or ``n``), transformed
with ``lax.fft`` (more than 3 axes: in blocks of at most 3), scaled for ``norm``
(``"backward"``: none forward, 1/N inverse; ``"ortho"``: 1/sqrt(N) both ways;
``"forward"``: 1/N forward) and moved back. ``hfft``/``ihfft`` are ``irfft``/``rfft``
of the conjugate, with JAX's scaling. See docs/fft.md.
"""

from __future__ import annotations

import operator

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src.lax import fft as lax_fft
from minigrad_jax._src.numpy import _creation as cr
from minigrad_jax._src.numpy import _shape as shp
from minigrad_jax._src.numpy import _ufuncs as uf
from minigrad_jax._src.numpy import _util as util

FftType = lax_fft.FftType

__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "ihfft",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]

_NORMS = ("backward", "ortho", "forward")


def _norm_factor(s, func_name, norm, dtype):
    """The scale ``norm`` asks for (None: none), computed in ``dtype`` as JAX does."""
    if norm is None or norm == "backward":
        return None
    if norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm}; should be "backward","ortho" or "forward".')
    inverse = func_name.startswith("i")
    size = np.prod(np.asarray(s, dtype))
    if norm == "ortho":
        size = np.sqrt(size)
    return np.asarray(size if inverse else 1 / size, dtype)


def _fft_core(func_name, fft_type, a, s, axes, norm):
    full_name = f"jax.numpy.fft.{func_name}"
    (arr,) = util.ensure_arraylike(full_name, a)
    ndim = util.ndim_of(arr)
    if s is not None:
        s = tuple(map(operator.index, s))
        if any(n <= 0 for n in s):
            raise ValueError("Shape should be positive.")
    if s is not None and axes is not None and len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if norm is not None and norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm}; should be "backward","ortho" or "forward".')

    orig_axes = axes
    if axes is None:
        axes = range(ndim) if s is None else range(ndim - len(s), ndim)
    axes = tuple(axes)
    if len(axes) != len(set(axes)):
        raise ValueError(f"{full_name} does not support repeated axes. Got axes {axes}.")
    if orig_axes is not None:
        for ax in orig_axes:
            util.canonicalize_axis(ax, ndim)  # an AxisError for an axis out of range
        axes = tuple(range(ndim - len(axes), ndim))
        arr = shp.moveaxis(arr, orig_axes, axes)

    shape = util.shape_of(arr)
    if s is not None:
        in_s = list(shape)
        for axis, n in zip(axes, s):
            in_s[axis] = n
        if fft_type == FftType.IRFFT:
            in_s[-1] = in_s[-1] // 2 + 1
        arr = _crop_or_pad(arr, in_s)
    elif fft_type == FftType.IRFFT:
        s = [shape[axis] for axis in axes[:-1]]
        if axes:
            s.append(max(0, 2 * (shape[axes[-1]] - 1)))
    else:
        s = [shape[axis] for axis in axes]

    out = _fft_nd(arr, fft_type, tuple(s))
    factor = _norm_factor(s, func_name, norm, util.dtype_of(out))
    if factor is not None:
        out = uf.multiply(out, factor)
    if orig_axes is not None:
        out = shp.moveaxis(out, axes, orig_axes)
    return out


def _crop_or_pad(arr, sizes):
    shape = util.shape_of(arr)
    if any(n < d for n, d in zip(sizes, shape)):
        arr = lax.slice(arr, (0,) * len(shape), tuple(min(n, d) for n, d in zip(sizes, shape)))
    shape = util.shape_of(arr)
    if any(n > d for n, d in zip(sizes, shape)):
        arr = shp.pad(arr, [(0, n - d) for n, d in zip(sizes, shape)])
    return arr


def _fft_nd(arr, fft_type, s):
    """lax.fft over the trailing ``len(s)`` axes, in blocks of at most 3 (XLA's limit)."""
    if len(s) <= 3:
        return lax_fft.fft(arr, fft_type, s)
    n = 2 if len(s) == 4 else 3
    ndim = util.ndim_of(arr)
    outer = tuple(range(ndim - len(s), ndim - n))  # the leading transformed axes
    moved = tuple(range(ndim - len(s) + n, ndim))
    if fft_type in (FftType.RFFT, FftType.FFT):
        arr = lax_fft.fft(arr, fft_type, s[-n:])
        arr = shp.moveaxis(arr, outer, moved)
        arr = _fft_nd(arr, FftType.FFT, s[:-n])
        return shp.moveaxis(arr, moved, outer)
    arr = shp.moveaxis(arr, outer, moved)
    arr = _fft_nd(arr, FftType.IFFT, s[:-n])
    arr = shp.moveaxis(arr, moved, outer)
    return lax_fft.fft(arr, fft_type, s[-n:])


def _one_axis(func_name, axis):
    if isinstance(axis, (list, tuple)):
        full_name = f"jax.numpy.fft.{func_name}"
        raise ValueError(
            f"{full_name} does not support multiple axes. Please use {full_name}n. "
            f"Got axis = {axis!r}."
        )


def _fft_1d(func_name, fft_type, a, n, axis, norm):
    _one_axis(func_name, axis)
    axes = None if axis is None else [axis]
    s = None if n is None else [n]
    return _fft_core(func_name, fft_type, a, s, axes, norm)


def _fft_2d(func_name, fft_type, a, s, axes, norm):
    if len(axes) != 2:
        raise ValueError(f"jax.numpy.fft.{func_name} only supports 2 axes. Got axes = {axes!r}.")
    return _fft_core(func_name, fft_type, a, s, axes, norm)


# ---------------------------------------------------------------------------
# one axis


def fft(a, n=None, axis=-1, norm=None):
    """The 1-D discrete Fourier transform along ``axis``, like jnp.fft.fft.

    ``n`` crops or zero-pads the axis first; ``norm`` is ``"backward"`` (default),
    ``"ortho"`` or ``"forward"``.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.fft(mnp.array([1.0, 2.0, 3.0, 4.0]))
      Array([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j], dtype=complex64)
    """
    return _fft_1d("fft", FftType.FFT, a, n, axis, norm)


def ifft(a, n=None, axis=-1, norm=None):
    """The 1-D inverse discrete Fourier transform along ``axis``, like jnp.fft.ifft.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.ifft(mnp.array([10.0, -2 + 2j, -2.0, -2 - 2j])).real
      Array([1., 2., 3., 4.], dtype=float32)
    """
    return _fft_1d("ifft", FftType.IFFT, a, n, axis, norm)


def rfft(a, n=None, axis=-1, norm=None):
    """The 1-D transform of a real array: the ``n // 2 + 1`` non-negative frequencies.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.rfft(mnp.array([1.0, 2.0, 3.0, 4.0]))
      Array([10.+0.j, -2.+2.j, -2.+0.j], dtype=complex64)
    """
    return _fft_1d("rfft", FftType.RFFT, a, n, axis, norm)


def irfft(a, n=None, axis=-1, norm=None):
    """The inverse of ``rfft``: a real array of length ``n`` (default ``2 (m - 1)``).

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.irfft(mnp.array([10.0, -2 + 2j, -2.0]))
      Array([1., 2., 3., 4.], dtype=float32)
    """
    return _fft_1d("irfft", FftType.IRFFT, a, n, axis, norm)


def hfft(a, n=None, axis=-1, norm=None):
    """The transform of a Hermitian-symmetric signal given by its first half (real result).

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.hfft(mnp.array([1.0, 2.0, 3.0]))
      Array([ 8., -2.,  0., -2.], dtype=float32)
    """
    _one_axis("hfft", axis)
    (arr,) = util.ensure_arraylike("jax.numpy.fft.hfft", a)
    conj_a = uf.conj(arr)
    nn = (util.shape_of(conj_a)[axis] - 1) * 2 if n is None else n
    out = _fft_1d("hfft", FftType.IRFFT, conj_a, n, axis, norm)
    return uf.multiply(out, nn)


def ihfft(a, n=None, axis=-1, norm=None):
    """The inverse of ``hfft``: the first half of the spectrum of a real signal.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.ihfft(mnp.array([8.0, -2.0, 0.0, -2.0]))
      Array([1.+0.j, 2.+0.j, 3.+0.j], dtype=complex64)
    """
    _one_axis("ihfft", axis)
    arr = cr.asarray(a)
    nn = util.shape_of(arr)[axis] if n is None else n
    out = _fft_1d("ihfft", FftType.RFFT, arr, n, axis, norm)
    return uf.multiply(uf.conj(out), 1 / nn)


# ---------------------------------------------------------------------------
# two and n axes


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D discrete Fourier transform over ``axes``, like jnp.fft.fft2.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.fft2(mnp.array([[1.0, 2.0], [3.0, 4.0]]))
      Array([[10.+0.j, -2.+0.j],
             [-4.+0.j,  0.+0.j]], dtype=complex64)
    """
    return _fft_2d("fft2", FftType.FFT, a, s, axes, norm)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D inverse discrete Fourier transform over ``axes``, like jnp.fft.ifft2.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.ifft2(mnp.array([[10.0, -2.0], [-4.0, 0.0]])).real
      Array([[1., 2.],
             [3., 4.]], dtype=float32)
    """
    return _fft_2d("ifft2", FftType.IFFT, a, s, axes, norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D transform of a real array (the last axis halved), like jnp.fft.rfft2.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.rfft2(mnp.array([[1.0, 2.0], [3.0, 4.0]]))
      Array([[10.+0.j, -2.+0.j],
             [-4.+0.j,  0.+0.j]], dtype=complex64)
    """
    return _fft_2d("rfft2", FftType.RFFT, a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of ``rfft2``, like jnp.fft.irfft2.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.irfft2(mnp.array([[10.0, -2.0], [-4.0, 0.0]]))
      Array([[1., 2.],
             [3., 4.]], dtype=float32)
    """
    return _fft_2d("irfft2", FftType.IRFFT, a, s, axes, norm)


def fftn(a, s=None, axes=None, norm=None):
    """The N-D discrete Fourier transform over ``axes`` (default all), like jnp.fft.fftn.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.fftn(mnp.ones((2, 2)))
      Array([[4.+0.j, 0.+0.j],
             [0.+0.j, 0.+0.j]], dtype=complex64)
    """
    return _fft_core("fftn", FftType.FFT, a, s, axes, norm)


def ifftn(a, s=None, axes=None, norm=None):
    """The N-D inverse discrete Fourier transform, like jnp.fft.ifftn.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.ifftn(mnp.array([[4.0, 0.0], [0.0, 0.0]])).real
      Array([[1., 1.],
             [1., 1.]], dtype=float32)
    """
    return _fft_core("ifftn", FftType.IFFT, a, s, axes, norm)


def rfftn(a, s=None, axes=None, norm=None):
    """The N-D transform of a real array (the last axis halved), like jnp.fft.rfftn.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.rfftn(mnp.ones((2, 2)))
      Array([[4.+0.j, 0.+0.j],
             [0.+0.j, 0.+0.j]], dtype=complex64)
    """
    return _fft_core("rfftn", FftType.RFFT, a, s, axes, norm)


def irfftn(a, s=None, axes=None, norm=None):
    """The inverse of ``rfftn``, like jnp.fft.irfftn.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.irfftn(mnp.array([[4.0, 0.0], [0.0, 0.0]]))
      Array([[1., 1.],
             [1., 1.]], dtype=float32)
    """
    return _fft_core("irfftn", FftType.IRFFT, a, s, axes, norm)


# ---------------------------------------------------------------------------
# frequencies and shifts


def _check_freq_args(name, n, d):
    if isinstance(n, (list, tuple)):
        raise ValueError(
            f"The n argument of jax.numpy.fft.{name} only takes an int. Got n = {list(n)}."
        )
    if isinstance(d, (list, tuple)):
        raise ValueError(
            f"The d argument of jax.numpy.fft.{name} only takes a single value. Got d = {list(d)}."
        )


def _float_dtype(dtype):
    if dtype is None:
        return core.canonical_dtype(np.dtype(np.float64))  # float32 unless x64
    return core.canonical_dtype(np.dtype(dtype))


def fftfreq(n, d=1.0, *, dtype=None, device=None):
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.fftfreq(4)
      Array([ 0.  ,  0.25, -0.5 , -0.25], dtype=float32)
    """
    _check_freq_args("fftfreq", n, d)
    out_dtype = _float_dtype(dtype)
    dtype = np.finfo(out_dtype).dtype if out_dtype.kind in "fc" else _float_dtype(None)
    n = operator.index(n)
    i = cr.arange(n, dtype=dtype)
    k = uf.subtract(uf.remainder(uf.add(i, n // 2), n), n // 2)
    result = uf.true_divide(k, cr.asarray(uf.multiply(d, n), dtype=dtype))
    return lax.convert_element_type(result, out_dtype)


def rfftfreq(n, d=1.0, *, dtype=None, device=None):
    """The non-negative sample frequencies of an ``n``-point ``rfft``.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.rfftfreq(5, d=0.5)
      Array([0. , 0.4, 0.8], dtype=float32)
    """
    _check_freq_args("rfftfreq", n, d)
    dtype = _float_dtype(dtype)
    n = operator.index(n)
    k = cr.arange(0, n // 2 + 1, dtype=dtype)
    return uf.true_divide(k, cr.asarray(uf.multiply(d, n), dtype=dtype))


def _shifts(x, axes, sign):
    shape = util.shape_of(x)
    if axes is None:
        return [sign * (d // 2) for d in shape], tuple(range(len(shape)))
    if isinstance(axes, int):
        return sign * (shape[axes] // 2), axes
    return [sign * (shape[ax] // 2) for ax in axes], axes


def fftshift(x, axes=None):
    """Move the zero frequency to the center (a roll by half of each axis).

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.fftshift(mnp.fft.fftfreq(5))
      Array([-0.4, -0.2,  0. ,  0.2,  0.4], dtype=float32)
    """
    (x,) = util.ensure_arraylike("fftshift", x)
    shift, axes = _shifts(x, axes, 1)
    return shp.roll(x, shift, axes)


def ifftshift(x, axes=None):
    """The inverse of ``fftshift``.

    Example:
      >>> import minigrad_jax.numpy as mnp
      >>> mnp.fft.ifftshift(mnp.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
      Array([ 0.,  1.,  2., -2., -1.], dtype=float32)
    """
    (x,) = util.ensure_arraylike("ifftshift", x)
    shift, axes = _shifts(x, axes, -1)
    return shp.roll(x, shift, axes)
