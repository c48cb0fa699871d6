"""``mg.config``: the library's global options."""

from __future__ import annotations

import os

import jax

from minigrad_jax._src import traceback_util


class _Config:
    """``mg.config.update(name, value)``.

    - ``"log_compiles"`` (or env MINIGRAD_LOG_COMPILES=1): log each jit retrace and why;
    - ``"jax_enable_x64"``: JAX's flag, passed through;
    - ``"traceback_filtering"``: ``"auto"``, ``"remove_frames"`` or ``"off"`` (or env
      MINIGRAD_TRACEBACK_FILTERING), as JAX's ``jax_traceback_filtering``.
    """

    def __init__(self):
        self.log_compiles = os.environ.get("MINIGRAD_LOG_COMPILES", "") not in ("", "0")

    def update(self, name, value):
        if name == "jax_enable_x64":
            jax.config.update("jax_enable_x64", value)
        elif name == "traceback_filtering":
            traceback_util.set_traceback_filtering(value)
        elif name == "log_compiles":
            self.log_compiles = bool(value)
        else:
            raise ValueError(f"unknown minigrad_jax config option {name!r}")


config = _Config()
