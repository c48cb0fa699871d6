"""jax.numpy.linalg-like namespace: ``mnp.linalg``."""

from minigrad_jax._src.numpy.linalg import *  # noqa: F403
from minigrad_jax._src.numpy.linalg import __all__  # noqa: F401
