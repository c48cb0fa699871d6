"""jax.debug-like namespace: ``mg.debug.print`` and ``mg.debug.callback``.

Re-exports only.
"""

from minigrad_jax._src.debugging import debug_callback as callback
from minigrad_jax._src.debugging import debug_print as print  # noqa: A004  (jax.debug's name)

__all__ = ["print", "callback"]
