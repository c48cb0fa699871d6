"""``mg.config``: the library's global options."""

from __future__ import annotations

import os

import jax


class _Config:
    """``mg.config.update("log_compiles", True)`` (or env MINIGRAD_LOG_COMPILES=1)."""

    def __init__(self):
        self.log_compiles = os.environ.get("MINIGRAD_LOG_COMPILES", "") not in ("", "0")

    def update(self, name, value):
        if name not in ("log_compiles", "jax_enable_x64"):
            raise ValueError(f"unknown minigrad_jax config option {name!r}")
        if name == "jax_enable_x64":
            jax.config.update("jax_enable_x64", value)
        else:
            setattr(self, name, bool(value))


config = _Config()
