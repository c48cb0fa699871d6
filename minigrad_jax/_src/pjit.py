"""The ``jit`` primitive: a call of a closed jaxpr that XLA compiles as one unit.

JAX calls this primitive pjit; it prints as ``jit``. Its jvp, partial-eval,
transpose, batching and dead-code rules are the shared call-primitive kit
(``interpreters/higher_order.py``); only the lowering is its own: the jaxpr
replayed inside ``jax.jit``, compiled once per ClosedJaxpr.
"""

from __future__ import annotations

import functools

import jax

from minigrad_jax._src.core import Primitive
from minigrad_jax._src.interpreters import higher_order, lowering
from minigrad_jax._src.ir import ClosedJaxpr

jit_p = Primitive("jit", multiple_results=True)  # JAX calls this pjit; it prints as jit

_stats = {"compiles": 0}


def compile_count() -> int:
    """How many jaxprs the jit primitive has handed to jax.jit so far (for tests)."""
    return _stats["compiles"]


def _compiled(closed: ClosedJaxpr):
    fn = closed._cache.get("xla")
    if fn is None:
        _stats["compiles"] += 1
        fn = closed._cache["xla"] = jax.jit(functools.partial(lowering.replay_closed, closed))
    return fn


def _jit_impl(*args, jaxpr, name):
    return _compiled(jaxpr)(*args)


def bind_jit(closed: ClosedJaxpr, args, name):
    """Bind jit with the jaxpr's consts passed as leading arguments (as JAX does)."""
    return higher_order.bind_call(jit_p, closed, args, {"name": name})


# Derived equations keep the call's name, as JAX's do.
higher_order.def_call_rules(jit_p, _jit_impl)
