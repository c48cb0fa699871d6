"""jax.numpy.fft-like namespace: ``mnp.fft``."""

from minigrad_jax._src import traceback_util as _traceback_util
from minigrad_jax._src.numpy.fft import *  # noqa: F403
from minigrad_jax._src.numpy.fft import __all__  # noqa: F401

# Called from user code, a failing function's traceback ends at the user's line.
_traceback_util.public_functions(globals())
