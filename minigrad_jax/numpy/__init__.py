"""jax.numpy-like namespace: ``import minigrad_jax.numpy as mnp``."""

import importlib as _importlib

from minigrad_jax._src import traceback_util as _traceback_util
from minigrad_jax._src.numpy import *  # noqa: F401,F403
from minigrad_jax._src.numpy import __all__  # noqa: F401

# The public submodules, in place of the _src modules of the same names that the star
# import brought (``from minigrad_jax.numpy import fft`` would find those and stop).
fft = _importlib.import_module("minigrad_jax.numpy.fft")
linalg = _importlib.import_module("minigrad_jax.numpy.linalg")

# Called from user code, a failing function's traceback ends at the user's line.
_traceback_util.public_functions(globals())
