"""``check_tracer_leaks``: a tracer that outlives its transform is an error, as with
JAX's ``jax_check_tracer_leaks``.

A tracer stands for a value only while its transform runs. Stored where it
outlives the transform (a global, a list outside, an attribute, a closure), it
is a leak: used later it raises ``UnexpectedTracerError`` far from where it
escaped. With ``mg.config.update("check_tracer_leaks", True)`` the transform
that let it escape raises ``LeakedTracerError`` (an ``Exception``, as JAX's) at
its public entry point, naming the transform, where it was entered, the
tracer, and what holds it.

How (two hooks; nothing else runs, on or off, unless a trace has ended):

- ``core.new_trace.__exit__`` calls ``core.trace_exited(trace, failed)`` when a
  transform's trace is deactivated. With the option on, the trace waits for its
  check (held weakly). Right then its outputs are still referenced (the
  transform is about to turn them into its caller's values), so it cannot be
  checked yet.
- When the outermost public entry point (``traceback_util.api_boundary``)
  returns, every computation it ran has returned too, so nothing of ours holds
  a tracer of a trace that ended inside it. A waiting trace still alive then
  (after a garbage collection, so cycles do not count) is held by its tracers,
  and whatever holds them is the leak. Only then is the collector run: a trace
  that died by reference counting costs a weak-reference test.
- An exception leaving an entry point forgets the waiting traces: its traceback
  holds the frames, and the tracers, of the call that failed.

A tracer that stands for a constant (it depends on no transformed argument:
JAX would hold a plain array there) is not a leak.
"""

from __future__ import annotations

import gc
import os
import threading
import types
import weakref

from minigrad_jax._src import core, errors, traceback_util
from minigrad_jax._src.config import config

_MAX_TRACERS = 4  # leaked tracers described per error
_MAX_CHAIN = 12  # "is referred to by" links followed per tracer


class LeakedTracerError(errors.MinigradError):
    """A tracer outlived its transform (``check_tracer_leaks``); JAX raises ``Exception``.

    Example:
      >>> import minigrad_jax as mg
      >>> leaked = []
      >>> def f(x):
      ...     leaked.append(x)
      ...     return x * 2.0
      >>> mg.config.update("check_tracer_leaks", True)
      >>> try:
      ...     mg.vmap(f)(mg.numpy.ones(3))
      ... except Exception as e:  # a LeakedTracerError
      ...     print(str(e).splitlines()[0].split(",")[0])
      ... finally:
      ...     mg.config.update("check_tracer_leaks", False)
      Leaked trace BatchTrace of `vmap`
    """


class _Waiting(threading.local):
    def __init__(self):
        self.traces = []  # weak references to the traces that ended, in order


_waiting = _Waiting()


def trace_exited(trace, failed):
    """``core.new_trace.__exit__``'s hook: ``trace`` was deactivated (``failed``: by an
    exception). With check_tracer_leaks on, it waits for the outermost entry point."""
    if failed or not config.check_tracer_leaks:
        return
    _waiting.traces.append(weakref.ref(trace))
    traceback_util.leak_check = check_waiting


def check_waiting(caller):
    """``api_boundary``'s hook, called as an entry point returns (``caller``: the frame it
    returns to) or as an exception leaves it (``caller`` None)."""
    waiting = _waiting.traces
    if caller is None or not config.check_tracer_leaks:
        waiting.clear()
        traceback_util.leak_check = None
        return
    if traceback_util._under_boundary(caller):
        return  # an enclosing entry point is running: its outputs may still be tracers
    refs = list(waiting)
    waiting.clear()
    traceback_util.leak_check = None
    if not any(r() is not None for r in refs):
        return
    gc.collect()  # what only a cycle holds is no leak: nothing can reach it
    for r in refs:
        trace = r()
        if trace is not None:
            tracers = _leaked_tracers(trace)
            if tracers:
                raise LeakedTracerError(_message(trace, tracers))


def _leaked_tracers(trace):
    found = [
        t
        for t in gc.get_referrers(trace)
        if isinstance(t, core.Tracer) and t._trace is trace and t.constant_value() is None
    ]
    ignore = {id(found)}
    return [t for t in found if _held_outside_frames(t, ignore)]


_MAX_SEARCH = 256  # objects looked at per tracer before calling it held


def _held_outside_frames(t, ignore):
    """Whether something but a frame holds ``t``: a frame that still holds one is that of
    a saved exception's traceback (or of a generator), which is no leak of the user's.

    Walks what refers to ``t``, and what refers to that, without going past frames;
    a module (a global), an object only the interpreter holds, or a long search say held.
    """
    todo, seen = [t], {id(t)}
    ignore.add(id(todo))
    while todo:
        parents = _referrers(todo.pop(), ignore)
        if not parents:
            return True
        for p in parents:
            if type(p) is types.FrameType or id(p) in seen:
                continue
            if type(p) is types.ModuleType or len(seen) > _MAX_SEARCH:
                return True
            seen.add(id(p))
            todo.append(p)
    return False


# ---------------------------------------------------------------------------
# the message


def _message(trace, tracers):
    entered = f", entered at {_site(trace.source_info)}" if trace.source_info else ""
    head = (
        f"Leaked trace {type(trace).__name__} of `{trace.transform_name}`{entered}. "
        "Leaked tracer(s):"
    )
    ignore = {id(tracers)}  # ids of our own containers, never "what holds it"
    parts = [_describe_tracer(tracers[i], ignore) for i in range(min(len(tracers), _MAX_TRACERS))]
    if len(tracers) > _MAX_TRACERS:
        parts.append(f"... and {len(tracers) - _MAX_TRACERS} more")
    advice = (
        "A tracer stands for a value only while its transform runs. Return what the "
        "transformed function computes instead of storing it outside (has_aux=True returns "
        "extra values from grad and vjp; mg.debug.print and mg.debug.callback look at values "
        "as they are computed)."
    )
    return "\n\n".join([head, *parts, advice])


def _describe_tracer(t, ignore):
    src = _made_at(t)
    made = f", made at {_site(src)}" if src is not None else ""
    text = repr(t)
    if "\n" in text or len(text) > 120:  # a concrete primal printed in full
        text = f"{type(t).__name__} of type {t.aval.str_short()}"
    lines = [f"{text}: a value of `{t._trace.transform_name}`{made}"]
    lines += _why_alive(t, ignore)
    return "\n".join(lines)


def _made_at(t):
    """The user's line that made ``t``: a staged tracer's own, or that of the staged
    value it carries (the tangent of grad's JVP tracer is staged)."""
    src = getattr(t, "source_info", None)
    for name in ("tangent", "val", "primal"):
        if src is not None:
            break
        inner = getattr(t, name, None)
        if isinstance(inner, core.Tracer):
            src = getattr(inner, "source_info", None)
    return src


def _site(src):
    return f"{src.file}:{src.line} ({src.function})"


_THIS_FILE = os.path.abspath(__file__)


def _referrers(x, ignore):
    """What refers to ``x``, but this module's own frames and containers; frames last.

    The lists made here hold what they found: their ids join ``ignore``, so a later
    step does not take one of them for what holds an object.
    """
    found = gc.get_referrers(x)
    ignore.add(id(found))
    out = [
        r
        for r in found
        if id(r) not in ignore
        and not (type(r) is types.FrameType and r.f_code.co_filename == _THIS_FILE)
    ]
    ignore.add(id(out))
    out.sort(key=lambda r: type(r) is types.FrameType)
    return out


def _why_alive(x, ignore):
    """``<list 140...> is referred to by module.name`` lines from ``x`` up to a root."""
    lines, seen, child = [], set(), x
    for _ in range(_MAX_CHAIN):
        parents = _referrers(child, ignore)
        if not parents:
            break
        holder, how = _holder(parents[0], child, ignore)
        lines.append(f"<{type(child).__name__} {id(child)}> is referred to by {how}")
        seen.add(id(child))
        if id(holder) in seen or type(holder) in (types.ModuleType, types.FrameType):
            break
        child = holder
    return lines


def _holder(parent, child, ignore):
    """(the object to follow next, how ``parent`` holds ``child``), seeing through a
    module's or an instance's ``__dict__`` and a closure's cells."""
    if isinstance(parent, dict):
        key = next((k for k, v in parent.items() if v is child), None)
        owner = None
        for o in _referrers(parent, ignore):
            if getattr(o, "__dict__", None) is parent and (
                owner is None or type(o) is types.ModuleType
            ):
                owner = o
        if owner is not None:
            if type(owner) is types.ModuleType:
                return owner, f"{owner.__name__}.{key}"
            return owner, f"<{type(owner).__name__} {id(owner)}>.{key}"
        return parent, f"<dict {id(parent)}>[{key!r}]"
    if type(parent) is types.CellType:
        for fn in _referrers(parent, ignore):
            if type(fn) is tuple:  # a function's __closure__
                fn = next((f for f in _referrers(fn, ignore) if _closure_has(f, parent)), None)
            if _closure_has(fn, parent):
                name = fn.__code__.co_freevars[fn.__closure__.index(parent)]
                return fn, f"<function {id(fn)}> ({fn.__qualname__}) closed-over variable {name}"
        return parent, f"<cell {id(parent)}>"
    if isinstance(parent, (list, tuple)):
        idx = [i for i, v in enumerate(parent) if v is child]
        at = f"[{idx[0]}]" if len(idx) == 1 else " at indices " + ", ".join(map(str, idx))
        return parent, f"<{type(parent).__name__} {id(parent)}>{at}"
    if type(parent) is types.FrameType:
        code = parent.f_code
        return parent, (
            f"the frame of {code.co_name} at {code.co_filename}:{parent.f_lineno} "
            "(a running generator, or a saved exception's traceback)"
        )
    attr = _attribute_holding(parent, child)
    name = f"<{type(parent).__name__} {id(parent)}>"
    return parent, f"{name}.{attr}" if attr else name


def _closure_has(fn, cell):
    return type(fn) is types.FunctionType and fn.__closure__ is not None and cell in fn.__closure__


def _attribute_holding(obj, child):
    """The attribute of ``obj`` that is ``child`` (an instance's dict is not always an
    object of its own: Python may keep it inline, so the instance is the referrer)."""
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict):
        for k, v in attrs.items():
            if v is child:
                return k
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            try:
                if getattr(obj, name) is child:
                    return name
            except AttributeError:
                continue
    return None


core.trace_exited = trace_exited
