"""The factorization primitives of lax.linalg (cholesky, triangular_solve, lu, qr, ...)."""

from __future__ import annotations

__all__: list[str] = []
