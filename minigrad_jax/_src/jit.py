"""mg.jit: our jaxpr compiled by XLA through jax.jit, and the jit primitive.

At the top level ``mg.jit(f)(*args)`` is one call of a ``jax.jit``-ed
function whose body traces ``f`` to *our* jaxpr and replays it with the
jax.lax lowering rules. JAX's C++ dispatch path therefore caches and runs
the executable: a steady-state call costs what a ``jax.jit`` call costs, and
our tracer runs exactly when JAX retraces (new shapes, dtypes, static values
or structure). Inside another transform, jit is the primitive ``jit`` that
carries its jaxpr, with jvp, partial-eval, transpose and batching rules, so
``grad(jit(f))`` and ``jit(grad(f))`` both work and the boundary shows.
"""

from __future__ import annotations

import functools
import logging

import jax
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api import _bind_static
from minigrad_jax._src.api_util import (
    avals_of,
    check_hashable,
    flatten_call,
    split_static,
    wraps,
)
from minigrad_jax._src.config import config
from minigrad_jax._src.interpreters import lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.pjit import bind_jit

logger = logging.getLogger("minigrad_jax")


# ---------------------------------------------------------------------------
# the user-facing wrapper


def _signature(in_tree, avals, statics):
    return (in_tree, avals, statics)


def _retrace_reason(seen, sig):
    if not seen:
        return "first call"
    last = seen[-1]
    if sig[0] != last[0]:
        return f"new pytree structure {sig[0]} (was {last[0]})"
    if sig[2] != last[2]:
        return f"new static argument values {sig[2]!r} (were {last[2]!r})"
    diffs = [
        f"argument leaf {i}: {a.str_short()} (was {b.str_short()})"
        for i, (a, b) in enumerate(zip(sig[1], last[1]))
        if a != b
    ]
    return "new shapes/dtypes: " + "; ".join(diffs)


class Lowered:
    """What ``mg.jit(f).lower(*args)`` returns: our jaxpr and JAX's lowering of it."""

    def __init__(self, jax_lowered, jaxpr):
        self._lowered = jax_lowered
        self.jaxpr = jaxpr

    def as_text(self, dialect=None):
        """The StableHLO text XLA compiles."""
        return self._lowered.as_text() if dialect is None else self._lowered.as_text(dialect)

    def compile(self):
        """The compiled executable (with ``cost_analysis()``), callable like the function."""
        return self._lowered.compile()


class JitWrapped:
    """A function compiled with XLA; see ``jit``."""

    def __init__(self, fun, static_argnums, static_argnames, donate_argnums, jit_kwargs):
        self.fun = fun
        self.name = getattr(fun, "__name__", type(fun).__name__)
        self.static_argnums = _as_tuple(static_argnums)
        self.static_argnames = _as_tuple(static_argnames)
        self.donate_argnums = _as_tuple(donate_argnums)
        self.trace_count = 0
        self.seen = []
        self._staged_cache = {}
        body = functools.partial(JitWrapped._jax_body, self)
        body.__name__ = body.__qualname__ = self.name  # XLA module and profiler names
        self._jitted = jax.jit(
            wraps(fun)(lambda *a, **k: body(*a, **k)),
            static_argnums=self.static_argnums or None,
            static_argnames=self.static_argnames or None,
            donate_argnums=self.donate_argnums or None,
            **jit_kwargs,
        )
        wraps(fun)(self)

    def __call__(self, *args, **kwargs):
        if self.static_argnums or self.static_argnames:
            self._check_statics(args, kwargs)
        if core._state.trace is core.EVAL_TRACE:
            try:
                return self._jitted(*args, **kwargs)
            except (ValueError, RuntimeError) as e:
                self._explain_donation(args, e)
                raise
        return self._staged(args, kwargs)

    # -- top level: the body JAX traces -----------------------------------

    def _check_statics(self, args, kwargs):
        for i in split_static(args, self.static_argnums, f"jit({self.name})"):
            check_hashable(args[i], f"at position {i} (static_argnums)")
        for k in self.static_argnames:
            if k in kwargs:
                check_hashable(kwargs[k], f"{k!r} (static_argnames)")

    def _trace(self, args, kwargs):
        statics = split_static(args, self.static_argnums, f"jit({self.name})")
        static_kw = {k: kwargs[k] for k in self.static_argnames if k in kwargs}
        f, dyn = _bind_static(self.fun, args, statics)
        if static_kw:
            f = functools.partial(f, **static_kw)
            kwargs = {k: v for k, v in kwargs.items() if k not in static_kw}
        flat_fun, flat = flatten_call(f, dyn, kwargs)
        static_vals = tuple(args[i] for i in statics) + tuple(sorted(static_kw.items()))
        return flat_fun, flat, static_vals

    def _jax_body(self, *args, **kwargs):
        flat_fun, flat, static_vals = self._trace(args, kwargs)
        avals = avals_of(flat)
        self._log(flat_fun.in_tree, avals, static_vals)
        closed = pe.trace_to_jaxpr(flat_fun, avals, f"jit({self.name})")
        self.last_jaxpr = closed
        outs = lowering.replay_closed(closed, *flat)
        return tree_util.tree_unflatten(flat_fun.out_tree, outs)

    def _log(self, in_tree, avals, static_vals):
        sig = _signature(in_tree, avals, static_vals)
        reason = _retrace_reason(self.seen, sig)
        self.seen.append(sig)
        self.trace_count += 1
        if config.log_compiles:
            logger.warning("Compiling %s (trace #%d): %s", self.name, self.trace_count, reason)

    def _explain_donation(self, args, err):
        for i in self.donate_argnums:
            leaves = tree_util.tree_leaves(args[i]) if i < len(args) else []
            if any(getattr(x, "is_deleted", lambda: False)() for x in leaves):
                raise ValueError(
                    f"jit({self.name}): argument {i} was donated to an earlier call "
                    f"(donate_argnums={self.donate_argnums}) and its buffer has been deleted; "
                    "a donated array must not be used again. Use the returned array instead."
                ) from err

    # -- inside another transform: the jit primitive ------------------------

    def _staged(self, args, kwargs):
        flat_fun, flat, static_vals = self._trace(args, kwargs)
        key = (flat_fun.in_tree, avals_of(flat), static_vals)
        hit = self._staged_cache.get(key)
        if hit is None:
            closed = pe.trace_to_jaxpr(flat_fun, key[1], f"jit({self.name})")
            hit = (closed, flat_fun.out_tree)
            if not any(isinstance(c, core.Tracer) for c in closed.consts):
                self._staged_cache[key] = hit
        closed, out_tree = hit
        outs = bind_jit(closed, flat, self.name)
        return tree_util.tree_unflatten(out_tree, outs)

    # -- introspection -------------------------------------------------------

    def lower(self, *args, **kwargs):
        """Lower for these arguments: ``.as_text()`` (StableHLO), ``.compile()``, ``.jaxpr``."""
        lowered = self._jitted.lower(*args, **kwargs)
        return Lowered(lowered, getattr(self, "last_jaxpr", None))

    def trace(self, *args, **kwargs):
        """Our jaxpr for these arguments (static ones included)."""
        flat_fun, flat, _ = self._trace(args, kwargs)
        return pe.trace_to_jaxpr(flat_fun, avals_of(flat), f"jit({self.name})")

    def _cache_size(self):
        return self._jitted._cache_size()


def _as_tuple(x):
    if x is None:
        return ()
    if isinstance(x, (int, str)):
        return (x,)
    return tuple(x)


def jit(
    fun=None,
    *,
    static_argnums=(),
    static_argnames=(),
    donate_argnums=(),
    in_shardings=None,
    out_shardings=None,
    device=None,
    backend=None,
):
    """Compile ``fun`` with XLA (CPU, GPU or TPU), like jax.jit.

    Args:
      fun: the function; pytrees in and out.
      static_argnums / static_argnames: arguments passed as hashable Python values;
        a new value retraces.
      donate_argnums: arguments whose buffers XLA may reuse for outputs.
      in_shardings / out_shardings: passed to jax.jit; device / backend pin the
        computation to one device (as a single-device sharding).

    Returns:
      A callable; ``.lower(*args)`` gives ``.as_text()`` and ``.compile()``;
      ``.trace_count`` counts traces.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.jit(lambda x: x * 2.0)(3.0)
      Array(6., dtype=float32, weak_type=True)
    """
    if fun is None:
        return functools.partial(
            jit,
            static_argnums=static_argnums,
            static_argnames=static_argnames,
            donate_argnums=donate_argnums,
            in_shardings=in_shardings,
            out_shardings=out_shardings,
            device=device,
            backend=backend,
        )
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {type(fun).__name__}")
    if device is not None or backend is not None:
        # jax.jit's device=/backend= are deprecated: pin with a single-device sharding.
        dev = device if device is not None else jax.devices(backend)[0]
        pinned = jax.sharding.SingleDeviceSharding(dev)
        in_shardings = pinned if in_shardings is None else in_shardings
        out_shardings = pinned if out_shardings is None else out_shardings
    jit_kwargs = {}
    if in_shardings is not None:
        jit_kwargs["in_shardings"] = in_shardings
    if out_shardings is not None:
        jit_kwargs["out_shardings"] = out_shardings
    return JitWrapped(fun, static_argnums, static_argnames, donate_argnums, jit_kwargs)
