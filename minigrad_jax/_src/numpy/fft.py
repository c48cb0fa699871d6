"""``mnp.fft``: the discrete Fourier transforms of jax.numpy.fft, on the fft primitive."""

from __future__ import annotations

__all__: list[str] = []
