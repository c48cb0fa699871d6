"""Checking derivatives: ``check_grads`` (finite differences) and ``compare_with_jax``."""

from minigrad_jax._src.testing import Report, Row, check_grads, compare_with_jax

__all__ = ["Report", "Row", "check_grads", "compare_with_jax"]
