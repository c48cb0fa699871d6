"""conv_general_dilated and its wrappers (conv, conv_with_general_padding, conv_transpose, ...)."""

from __future__ import annotations

__all__: list[str] = []
