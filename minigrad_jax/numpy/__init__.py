"""jax.numpy-like namespace: ``import minigrad_jax.numpy as mnp``."""

from minigrad_jax._src import traceback_util as _traceback_util
from minigrad_jax._src.numpy import *  # noqa: F401,F403
from minigrad_jax._src.numpy import __all__  # noqa: F401

# The star import brought the _src modules named fft and linalg; without them, the
# import below finds (and binds) the public submodules of those names.
del fft, linalg  # noqa: F405,F821
from minigrad_jax.numpy import fft, linalg  # noqa: E402,F401

# Called from user code, a failing function's traceback ends at the user's line.
_traceback_util.public_functions(globals())
