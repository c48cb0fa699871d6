"""Errors minigrad_jax raises on purpose, named as ``jax.errors`` names them.

Each is also the JAX class of the same name (``except jax.errors.X`` catches
ours), and a ``MinigradError``.
"""

from minigrad_jax._src.errors import (
    ConcretizationTypeError,
    MinigradError,
    MinigradTypeError,
    NonConcreteBooleanIndexError,
    TracerArrayConversionError,
    TracerBoolConversionError,
    TracerIntegerConversionError,
    TracerToJaxError,
    UnexpectedTracerError,
)

__all__ = [
    "ConcretizationTypeError",
    "MinigradError",
    "MinigradTypeError",
    "NonConcreteBooleanIndexError",
    "TracerArrayConversionError",
    "TracerBoolConversionError",
    "TracerIntegerConversionError",
    "TracerToJaxError",
    "UnexpectedTracerError",
]
