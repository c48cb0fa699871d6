"""``mg.config``: the library's global options."""

from __future__ import annotations

import os

import jax

from minigrad_jax._src import core, traceback_util

# option -> environment variable that switches it on at import (any value but "" and "0")
_FLAGS = {
    "log_compiles": "MINIGRAD_LOG_COMPILES",
    "debug_nans": "MINIGRAD_DEBUG_NANS",
    "debug_infs": "MINIGRAD_DEBUG_INFS",
    "explain_cache_misses": "MINIGRAD_EXPLAIN_CACHE_MISSES",
    "check_tracer_leaks": "MINIGRAD_CHECK_TRACER_LEAKS",
}


def _env_flag(name):
    return os.environ.get(name, "") not in ("", "0")


class _Config:
    """``mg.config.update(name, value)``; each option is an attribute too (``config.debug_nans``).

    - ``"log_compiles"`` (or env MINIGRAD_LOG_COMPILES=1): log each jit retrace and why;
    - ``"explain_cache_misses"`` (env MINIGRAD_EXPLAIN_CACHE_MISSES): log, for each
      retrace, which argument changed and how, and the call's line;
    - ``"debug_nans"`` / ``"debug_infs"`` (env MINIGRAD_DEBUG_NANS / MINIGRAD_DEBUG_INFS):
      raise FloatingPointError at the first primitive that makes a NaN / an Inf;
    - ``"check_tracer_leaks"`` (env MINIGRAD_CHECK_TRACER_LEAKS): raise when a tracer
      outlives its transform, as JAX's ``jax_check_tracer_leaks``;
    - ``"jax_enable_x64"``: JAX's flag, passed through;
    - ``"traceback_filtering"``: ``"auto"``, ``"remove_frames"`` or ``"off"`` (or env
      MINIGRAD_TRACEBACK_FILTERING), as JAX's ``jax_traceback_filtering``.

    JAX's names (``"jax_debug_nans"``, ``"jax_explain_cache_misses"``, ...) are accepted too.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.config.update("debug_nans", True)
      >>> mg.config.debug_nans
      True
      >>> mg.config.update("debug_nans", False)
    """

    def __init__(self):
        for name, env in _FLAGS.items():
            setattr(self, name, _env_flag(env))
        self.debug_nans = self.debug_nans or _env_flag("JAX_DEBUG_NANS")
        self.debug_infs = self.debug_infs or _env_flag("JAX_DEBUG_INFS")
        self._sync()

    def _sync(self):
        # The eager path reads one module global of core, not these attributes.
        core.checking_floats = self.debug_nans or self.debug_infs
        core.eager_fast_trace = None if core.checking_floats else core.EVAL_TRACE
        core.float_kinds = (self.debug_nans, self.debug_infs)

    def update(self, name, value):
        if name == "jax_enable_x64":
            jax.config.update("jax_enable_x64", value)
            return
        if name in ("traceback_filtering", "jax_traceback_filtering"):
            traceback_util.set_traceback_filtering(value)
            return
        key = name[4:] if name.startswith("jax_") else name
        if key not in _FLAGS:
            raise ValueError(f"unknown minigrad_jax config option {name!r}")
        setattr(self, key, bool(value))
        self._sync()


config = _Config()
