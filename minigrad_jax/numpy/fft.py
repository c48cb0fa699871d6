"""jax.numpy.fft-like namespace: ``mnp.fft``."""

from minigrad_jax._src.numpy.fft import *  # noqa: F403
from minigrad_jax._src.numpy.fft import __all__  # noqa: F401
