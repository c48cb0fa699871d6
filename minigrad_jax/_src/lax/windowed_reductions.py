"""reduce_window_sum/max/min, the generic reduce_window, select_and_scatter_add: pooling."""

from __future__ import annotations

__all__: list[str] = []
