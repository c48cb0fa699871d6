"""mg.jit: our jaxpr compiled by XLA through jax.jit, and the jit primitive.

At the top level ``mg.jit(f)(*args)`` is one call of a ``jax.jit``-ed
function whose body traces ``f`` to *our* jaxpr and replays it with the
jax.lax lowering rules. JAX's C++ dispatch path therefore caches and runs
the executable: a steady-state call costs what a ``jax.jit`` call costs, and
our tracer runs exactly when JAX retraces (new shapes, dtypes, static values
or structure). Inside another transform, jit is the primitive ``jit`` that
carries its jaxpr, with jvp, partial-eval, transpose and batching rules, so
``grad(jit(f))`` and ``jit(grad(f))`` both work and the boundary shows.

As in JAX, the caches belong to the function, not to the wrapper: every
``mg.jit(f, **options)`` of one ``f`` with the same options shares one
``_JitState`` (the ``jax.jit`` object, our traced jaxprs, the trace count),
so ``mg.jit(f)(x)`` written inline in a loop traces and compiles once. The
states live in a dictionary keyed weakly on ``f``: dropping ``f`` frees them.
"""

from __future__ import annotations

import functools
import logging
import types
import weakref

import jax
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api import _bind_static
from minigrad_jax._src.api_util import (
    avals_of,
    check_hashable,
    flatten_call,
    fun_signature,
    infer_argnums_and_argnames,
    resolve_argnums,
    wraps,
)
from minigrad_jax._src.config import config
from minigrad_jax._src.interpreters import lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.pjit import bind_jit
from minigrad_jax._src.traceback_util import api_boundary

logger = logging.getLogger("minigrad_jax")

# fun -> {options: _JitState}. Weak on fun; a state reaches its function only
# through weak references, or the entry would keep its own key alive forever.
_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_TRACES = 4096  # traced jaxprs kept per state (they hold static args alive)
_MAX_SEEN = 64  # signatures kept for the retrace reason


# ---------------------------------------------------------------------------
# retrace reasons


def _retrace_reason(seen, sig):
    if not seen:
        return "first call"
    last = seen[-1]
    if sig[0] != last[0]:
        return f"new pytree structure {sig[0]} (was {last[0]})"
    if sig[2] != last[2]:
        return f"new static argument values {_static_values(sig)!r} (were {_static_values(last)!r})"
    if sig[3] != last[3]:
        return f"new JAX config (x64, dtype promotion, rank promotion) {sig[3]} (was {last[3]})"
    diffs = [
        f"argument leaf {i}: {a.str_short()} (was {b.str_short()})"
        for i, (a, b) in enumerate(zip(sig[1], last[1]))
        if a != b
    ]
    return "new shapes/dtypes: " + "; ".join(diffs)


def _static_values(sig):
    return tuple(v for _, _, v in sig[2])


def _trace_context():
    """The JAX options our tracer reads: a jaxpr traced under other values is another jaxpr."""
    c = jax.config
    return (c.jax_enable_x64, c.jax_numpy_dtype_promotion, c.jax_numpy_rank_promotion)


def _holds_tracers(closed):
    # A const that is a tracer (ours, or JAX's inside a jax.jit trace) belongs to one
    # trace; a jaxpr holding one must not be reused.
    return any(isinstance(c, (core.Tracer, jax.core.Tracer)) for c in closed.consts)


# ---------------------------------------------------------------------------
# what every wrapper of one function with one set of options shares


def _fun_name(fun):
    """The name jax.jit gives ``fun``: a partial's function's, else ``__name__``."""
    while isinstance(fun, functools.partial):
        fun = fun.func
    return getattr(fun, "__name__", "<unnamed function>")


def _strong_ref(obj):
    return lambda: obj


class _JitState:
    """The jax.jit object, our traced jaxprs and the trace log of one (function, options)."""

    __slots__ = (
        "_refs",
        "name",
        "static_argnums",
        "static_argnames",
        "donate_argnums",
        "donate_argnames",
        "jitted",
        "trace_count",
        "seen",
        "traces",
        "last_jaxpr",
        "__weakref__",
    )

    def __init__(self, fun, options, weak):
        static_nums, static_names, donate_nums, donate_names, in_sh, out_sh, dev, backend = options
        sig = fun_signature(fun)  # once per state, not per wrapper or call
        self.static_argnums, self.static_argnames = infer_argnums_and_argnames(
            sig, static_nums, static_names
        )
        self.donate_argnums, self.donate_argnames = infer_argnums_and_argnames(
            sig, donate_nums, donate_names
        )
        self._refs = [weakref.ref(fun) if weak else _strong_ref(fun)]
        self.name = _fun_name(fun)
        self.trace_count = 0
        self.seen = []
        self.traces = {}
        self.last_jaxpr = None
        body = _make_body(self, self.name, getattr(fun, "__qualname__", self.name), sig)
        self.jitted = jax.jit(
            body,
            # both given, so JAX uses ours as they are (and checks them against sig)
            static_argnums=self.static_argnums,
            static_argnames=self.static_argnames,
            donate_argnums=donate_nums,
            donate_argnames=donate_names,
            **_sharding_kwargs(in_sh, out_sh, dev, backend),
        )

    # -- the function, held weakly ---------------------------------------------

    def adopt(self, fun):
        """Share with ``fun``, equal to (but maybe not) the function this state was made for.

        Equal callables share a state, as in JAX; each is remembered weakly so a
        retrace still finds a live one after the first is gone.
        """
        if self._refs[0]() is fun:
            return
        self._refs = [r for r in self._refs if r() is not None]
        if not any(r() is fun for r in self._refs):
            self._refs.append(weakref.ref(fun))

    def live_fun(self):
        for r in self._refs:
            fun = r()
            if fun is not None:
                return fun
        raise RuntimeError(f"jit({self.name}): the jitted function no longer exists")

    # -- static arguments --------------------------------------------------------

    def check_statics(self, args, kwargs):
        nargs = len(args)
        for i in self.static_argnums:
            if -nargs <= i < nargs:
                check_hashable(args[i], f"at position {i % nargs} (static_argnums)")
        for k in self.static_argnames:
            if k in kwargs:
                check_hashable(kwargs[k], f"{k!r} (static_argnames)")

    def split(self, fun, args, kwargs):
        """(flat function of the dynamic leaves, the leaves, the cache key)."""
        statics = resolve_argnums(self.static_argnums, len(args))
        static_kw = {k: kwargs[k] for k in self.static_argnames if k in kwargs}
        f, dyn = _bind_static(fun, args, statics)
        if static_kw:
            f = functools.partial(f, **static_kw)
            kwargs = {k: v for k, v in kwargs.items() if k not in static_kw}
        flat_fun, flat = flatten_call(f, dyn, kwargs)
        # the type too: 1, 1.0 and True are equal but trace differently (as in JAX)
        static_key = tuple((i, type(args[i]), args[i]) for i in statics) + tuple(
            (k, type(v), v) for k, v in sorted(static_kw.items())
        )
        key = (
            flat_fun.in_tree,
            self._avals(flat, args, statics, kwargs),
            static_key,
            _trace_context(),
        )
        return flat_fun, flat, key

    def _avals(self, flat, args, statics, kwargs):
        try:
            return avals_of(flat)
        except TypeError:  # say which argument, and that it may be made static (as JAX)
            dyn = {i: a for i, a in enumerate(args) if i not in statics}  # by call position
            for path, leaf in tree_util.tree_flatten_with_path((dyn, kwargs))[0]:
                try:
                    core.get_aval(leaf)
                except TypeError:
                    raise TypeError(
                        f"Error interpreting argument to jit({self.name}) as an abstract array: "
                        f"the value of type {type(leaf).__name__} at {_arg_path(path)} is not "
                        "an array. Mark it static with static_argnums or static_argnames if it "
                        "is a Python value."
                    ) from None
            raise

    # -- our jaxprs, one per signature -------------------------------------------

    def jaxpr(self, fun, args, kwargs):
        """(ClosedJaxpr, out_tree, flat dynamic args); one ClosedJaxpr per signature, so
        the jit primitive's rules, memoized on it, are computed once."""
        flat_fun, flat, key = self.split(fun, args, kwargs)
        hit = self.traces.get(key)
        if hit is None:
            self._log(key)
            closed = pe.trace_to_jaxpr(flat_fun, key[1], f"jit({self.name})")
            hit = (closed, flat_fun.out_tree)
            if not _holds_tracers(closed):
                self._remember(key, hit)
        return hit[0], hit[1], flat

    def _remember(self, key, hit):
        if len(self.traces) >= _MAX_TRACES:
            del self.traces[next(iter(self.traces))]  # the oldest
        self.traces[key] = hit

    def _log(self, sig):
        reason = _retrace_reason(self.seen, sig)
        self.seen.append(sig)
        del self.seen[:-_MAX_SEEN]
        self.trace_count += 1
        if config.log_compiles:
            logger.warning("Compiling %s (trace #%d): %s", self.name, self.trace_count, reason)

    def run_in_jax_trace(self, args, kwargs):
        """The body jax.jit traces: our jaxpr replayed with jax.lax on JAX's tracers."""
        closed, out_tree, flat = self.jaxpr(self.live_fun(), args, kwargs)
        self.last_jaxpr = closed
        return tree_util.tree_unflatten(out_tree, lowering.replay_closed(closed, *flat))


def _arg_path(path):
    """``args[0]['w']`` / ``kwargs['d']`` for a path into ``({position: arg}, kwargs)``."""
    return ("args", "kwargs")[path[0].idx] + tree_util.keystr(path[1:])


def _make_body(state, name, qualname, sig):
    """The function handed to jax.jit. It must not reference the user's function (the
    state's key); it carries the signature, so JAX names arguments in its errors."""

    def body(*args, **kwargs):
        return state.run_in_jax_trace(args, kwargs)

    body.__name__ = name  # XLA module and profiler names
    body.__qualname__ = qualname
    if sig is not None:
        body.__signature__ = sig
    return body


def _sharding_kwargs(in_shardings, out_shardings, device, backend):
    if device is not None or backend is not None:
        # jax.jit's device=/backend= are deprecated: pin with a single-device sharding.
        dev = device if device is not None else jax.devices(backend)[0]
        pinned = jax.sharding.SingleDeviceSharding(dev)
        in_shardings = pinned if in_shardings is None else in_shardings
        out_shardings = pinned if out_shardings is None else out_shardings
    kwargs = {}
    if in_shardings is not None:
        kwargs["in_shardings"] = in_shardings
    if out_shardings is not None:
        kwargs["out_shardings"] = out_shardings
    return kwargs


def _shared_state(fun, options):
    try:
        per_fun = _STATES.get(fun)
        if per_fun is None:
            per_fun = _STATES[fun] = {}
        state = per_fun.get(options)
    except TypeError:  # fun not weakly referenceable or not hashable, or options unhashable
        return _JitState(fun, options, weak=False)
    if state is None:
        state = per_fun[options] = _JitState(fun, options, weak=True)
    else:
        state.adopt(fun)
    return state


# ---------------------------------------------------------------------------
# the user-facing wrapper


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
    """A function compiled with XLA; see ``jit``. Cheap to make: the caches are shared."""

    def __init__(self, fun, options):
        self.fun = fun
        state = self._state = _shared_state(fun, options)
        self.name = state.name
        self._jitted = state.jitted
        self._has_statics = bool(state.static_argnums or state.static_argnames)
        wraps(fun)(self)
        if not hasattr(fun, "__name__"):  # a partial or a callable object: JAX's name
            self.__name__ = self.__qualname__ = state.name

    @api_boundary
    def __call__(self, *args, **kwargs):
        if self._has_statics:
            self._state.check_statics(args, kwargs)
        if core._state.trace is core.EVAL_TRACE:
            try:
                return self._jitted(*args, **kwargs)
            except (ValueError, RuntimeError) as e:
                self._explain_donation(args, kwargs, e)
                raise
        return self._staged(args, kwargs)

    def __get__(self, obj, objtype=None):
        # A method decorated with mg.jit binds its instance, as jax.jit's does.
        return self if obj is None else types.MethodType(self, obj)

    # -- the shared state, read through ------------------------------------------

    trace_count = property(lambda self: self._state.trace_count, doc="our tracer's runs")
    seen = property(lambda self: self._state.seen)
    last_jaxpr = property(lambda self: self._state.last_jaxpr)
    static_argnums = property(lambda self: self._state.static_argnums)
    static_argnames = property(lambda self: self._state.static_argnames)
    donate_argnums = property(lambda self: self._state.donate_argnums)
    donate_argnames = property(lambda self: self._state.donate_argnames)

    def _explain_donation(self, args, kwargs, err):
        st = self._state
        donated = [(i, args[i]) for i in resolve_argnums(st.donate_argnums, len(args))]
        donated += [(repr(k), kwargs[k]) for k in st.donate_argnames if k in kwargs]
        for where, arg in donated:
            if any(_is_deleted(x) for x in tree_util.tree_leaves(arg)):
                raise ValueError(
                    f"jit({self.name}): argument {where} was donated to an earlier call "
                    f"(donate_argnums={st.donate_argnums}, donate_argnames={st.donate_argnames})"
                    " and its buffer has been deleted; a donated array must not be used again. "
                    "Use the returned array instead."
                ) from err

    # -- inside another transform: the jit primitive ------------------------

    def _staged(self, args, kwargs):
        closed, out_tree, flat = self._state.jaxpr(self.fun, args, kwargs)
        outs = bind_jit(closed, flat, self.name)
        return tree_util.tree_unflatten(out_tree, outs)

    # -- introspection -------------------------------------------------------

    def lower(self, *args, **kwargs):
        """Lower for these arguments: ``.as_text()`` (StableHLO), ``.compile()``, ``.jaxpr``."""
        lowered = self._jitted.lower(*args, **kwargs)
        return Lowered(lowered, self._state.last_jaxpr)

    def trace(self, *args, **kwargs):
        """Our jaxpr for these arguments (static ones included); the cached one if traced."""
        return self._state.jaxpr(self.fun, args, kwargs)[0]

    def _cache_size(self):
        return self._jitted._cache_size()


def _is_deleted(x):
    return getattr(x, "is_deleted", lambda: False)()


def _hashable(x):
    # lists are accepted for argnums/argnames; a tuple lets equal options share a state
    return tuple(x) if type(x) is list else x


def jit(
    fun=None,
    *,
    static_argnums=None,
    static_argnames=None,
    donate_argnums=None,
    donate_argnames=None,
    in_shardings=None,
    out_shardings=None,
    device=None,
    backend=None,
):
    """Compile ``fun`` with XLA (CPU, GPU or TPU), like jax.jit.

    Args:
      fun: the function; pytrees in and out. A method decorated with ``mg.jit``
        binds its instance (make ``self`` static with ``static_argnums=0``).
      static_argnums / static_argnames: arguments passed as hashable Python values;
        a new value retraces. Given one, the other is inferred from the signature,
        so a static argument may be passed by position or by name.
      donate_argnums / donate_argnames: arguments whose buffers XLA may reuse for
        outputs (inferred from each other the same way).
      in_shardings / out_shardings: passed to jax.jit; device / backend pin the
        computation to one device (as a single-device sharding).

    Returns:
      A callable; ``.lower(*args)`` gives ``.as_text()`` and ``.compile()``;
      ``.trace_count`` counts traces. Every ``mg.jit`` of the same function with
      the same options shares its caches and count, as jax.jit's do.

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
            donate_argnames=donate_argnames,
            in_shardings=in_shardings,
            out_shardings=out_shardings,
            device=device,
            backend=backend,
        )
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {type(fun).__name__}")
    options = (
        _hashable(static_argnums),
        _hashable(static_argnames),
        _hashable(donate_argnums),
        _hashable(donate_argnames),
        in_shardings,
        out_shardings,
        device,
        backend,
    )
    return JitWrapped(fun, options)
