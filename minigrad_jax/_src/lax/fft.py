"""The fft primitive (fft_type, fft_lengths) and lax.fft."""

from __future__ import annotations

__all__: list[str] = []
