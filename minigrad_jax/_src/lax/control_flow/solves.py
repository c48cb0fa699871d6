"""custom_linear_solve and custom_root: implicit differentiation on the rule kit."""

from __future__ import annotations

__all__: list[str] = []
