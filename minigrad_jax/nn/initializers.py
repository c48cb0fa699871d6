"""jax.nn.initializers-like namespace: ``import minigrad_jax.nn.initializers as init``.

Re-exports only. Every builder has its jax.nn.initializers name, arguments and
defaults, and for the same key its initializers return jax.nn.initializers'
numbers.
"""

from minigrad_jax._src import traceback_util as _traceback_util
from minigrad_jax._src.nn_initializers import (
    Initializer,
    constant,
    delta_orthogonal,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    kaiming_normal,
    kaiming_uniform,
    lecun_normal,
    lecun_uniform,
    normal,
    ones,
    orthogonal,
    truncated_normal,
    uniform,
    variance_scaling,
    xavier_normal,
    xavier_uniform,
    zeros,
)

__all__ = [
    "Initializer",
    "constant",
    "delta_orthogonal",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

# Called from user code, a failing function's traceback ends at the user's line.
_traceback_util.public_functions(globals())
