"""jax.nn-like namespace: ``from minigrad_jax import nn``."""

from minigrad_jax._src.nn import *  # noqa: F401,F403
from minigrad_jax._src.nn import __all__  # noqa: F401
