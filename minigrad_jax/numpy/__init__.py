"""jax.numpy-like namespace: ``import minigrad_jax.numpy as mnp``."""

from minigrad_jax._src.numpy import *  # noqa: F401,F403
from minigrad_jax._src.numpy import __all__  # noqa: F401
from minigrad_jax.numpy import fft, linalg  # noqa: E402,F401  (the public submodules)
