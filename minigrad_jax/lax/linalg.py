"""jax.lax.linalg-like namespace: ``from minigrad_jax.lax import linalg``.

The decomposition primitives with JAX's names, params and rules.
"""

from minigrad_jax._src import traceback_util as _traceback_util
from minigrad_jax._src.lax.factorizations import *  # noqa: F403
from minigrad_jax._src.lax.factorizations import __all__ as _factorizations_all
from minigrad_jax._src.lax.spectral import *  # noqa: F403
from minigrad_jax._src.lax.spectral import __all__ as _spectral_all

__all__ = [*_factorizations_all, *_spectral_all]

# Called from user code, a failing function's traceback ends at the user's line.
_traceback_util.public_functions(globals())
