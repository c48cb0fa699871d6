"""eigh, svd, eig: the spectral primitives of lax.linalg."""

from __future__ import annotations

__all__: list[str] = []
