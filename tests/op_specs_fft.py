"""Op specs for the fft primitive, appended to op_table's OPS.

``specs(op, samplers)`` returns (specs built with op_table's ``_op``, the primitive
names they must exercise); it may add named samplers to ``samplers``.

op_table differentiates float inputs only and compares complex outputs exactly, so
most programs build their complex operand from two real arrays (``L.complex``) and
return the real and imaginary parts of a complex result: every fft type then gets
value, jvp, vjp and vmap coverage with tolerances. One spec takes a complex64
operand directly (values and vmap). ``jaxpr=False`` throughout: jax.lax.fft is a
``jax.jit`` function, so JAX's jaxpr holds a ``jit`` equation around its ``fft``
(tests/test_fft.py compares the fft equation's params with the one inside).
"""

from __future__ import annotations

import numpy as np


def _parts(L, y):
    return L.real(y), L.imag(y)


def _cplx(rng, shape, dtype):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def specs(op, samplers):
    samplers["cplx"] = _cplx
    out = [
        op(
            "fft_fft_2d",
            lambda L, re, im: _parts(L, L.fft(L.complex(re, im), "fft", (3, 4))),
            [(2, 3, 4), (2, 3, 4)],
            jaxpr=False,
        ),
        op(
            "fft_ifft",
            lambda L, re, im: _parts(L, L.fft(L.complex(re, im), L.FftType.IFFT, (4,))),
            [(3, 4), (3, 4)],
            jaxpr=False,
        ),
        op(
            "fft_rfft_2d_odd",
            lambda L, x: _parts(L, L.fft(x, L.FftType.RFFT, (3, 5))),
            [(2, 3, 5)],
            jaxpr=False,
        ),
        op(
            "fft_irfft_2d_odd",
            lambda L, re, im: L.fft(L.complex(re, im), L.FftType.IRFFT, (2, 5)),
            [(2, 2, 3), (2, 2, 3)],
            jaxpr=False,
        ),
        op(
            "fft_complex_operand",
            lambda L, z: _parts(L, L.fft(z, "FFT", (3,))),
            [(2, 3)],
            dtypes=[np.complex64],
            domains=["cplx"],
            jaxpr=False,
        ),
    ]
    return out, frozenset({"fft"})
