"""jax.nn-like namespace: ``from minigrad_jax import nn``.

Re-exports only: the activations and normalizations of ``_src/nn.py``, and the
``initializers`` submodule (``mg.nn.initializers.glorot_normal()``, or
``import minigrad_jax.nn.initializers as init``), as in JAX.
"""

from minigrad_jax._src import traceback_util as _traceback_util
from minigrad_jax._src.nn import *  # noqa: F401,F403
from minigrad_jax._src.nn import __all__ as _nn_all
from minigrad_jax.nn import initializers

__all__ = [*_nn_all, "initializers"]

# Called from user code, a failing function's traceback ends at the user's line.
_traceback_util.public_functions(globals())
