"""Tracebacks that end at the user's line: our frames are filtered as JAX filters its own.

``api_boundary`` wraps each public entry point (grad, jit, vmap, ...). When an
exception leaves the outermost boundary, the frames of minigrad_jax (and of
JAX, which it calls) are removed from its traceback, so the last frame shown
is the user's line, and one short note says so. Nested boundaries filter once:
an inner one sees an enclosing boundary on the stack and re-raises untouched.
There is no cost until an exception happens (the wrapper is a plain try/except).

Filtering is controlled, as JAX's ``JAX_TRACEBACK_FILTERING`` is, by the
environment variable ``MINIGRAD_TRACEBACK_FILTERING`` (or
``set_traceback_filtering``): ``"auto"`` / ``"quiet_remove_frames"`` (the default)
filters and adds a note; ``"remove_frames"`` also attaches the unfiltered
traceback as the ``__cause__`` (an ``UnfilteredStackTrace``); ``"off"`` leaves
tracebacks alone. When unset, ``JAX_TRACEBACK_FILTERING=off`` turns it off too.

The outermost boundary also recognizes JAX's complaint about one of our tracers
(a JAX function applied to a minigrad_jax traced value) and replaces it with an
``errors.TracerToJaxError`` that says what to use instead (``translate``).
"""

from __future__ import annotations

import dis
import functools
import linecache
import os
import re
import sys
import types

import jax

from minigrad_jax._src import core, errors

_MODES = ("auto", "quiet_remove_frames", "remove_frames", "off")
_mode_override: str | None = None

_NOTE = (
    "--------------------\n"
    "For simplicity, minigrad_jax has removed its internal frames (and JAX's) from the "
    "traceback of this exception. Set MINIGRAD_TRACEBACK_FILTERING=off to include them."
)
_JAX_NOTE_START = "--------------------\nFor simplicity, JAX has removed its internal frames"


class UnfilteredStackTrace(Exception):
    """Carries the unfiltered traceback (``MINIGRAD_TRACEBACK_FILTERING=remove_frames``)."""


def set_traceback_filtering(mode: str | None):
    """Set the filtering mode for this process (None: back to the environment variable)."""
    if mode is not None and mode not in _MODES:
        raise ValueError(f"traceback filtering mode must be one of {_MODES}, got {mode!r}")
    global _mode_override
    _mode_override = mode


def filtering_mode() -> str:
    mode = _mode_override or os.environ.get("MINIGRAD_TRACEBACK_FILTERING")
    if mode is None:
        return "off" if jax.config.jax_traceback_filtering == "off" else "quiet_remove_frames"
    if mode not in _MODES:
        raise ValueError(f"MINIGRAD_TRACEBACK_FILTERING={mode} is not a valid value {_MODES}")
    return "quiet_remove_frames" if mode == "auto" else mode


# check_tracer_leaks: ``leak_check(caller_frame)`` runs as an entry point returns and
# ``leak_check(None)`` as an exception leaves one; set by _src/leak_checker.py while a
# trace waits for its check, else None.
leak_check = None


def api_boundary(fun):
    """Mark ``fun`` as a public entry point whose errors get a filtered traceback.

    Example:
      >>> from minigrad_jax._src.traceback_util import api_boundary
      >>> @api_boundary
      ... def transform(x):
      ...     return x + 1
      >>> transform(1)
      2
    """

    @functools.wraps(fun, updated=())
    def reraise_with_filtered_traceback(*args, **kwargs):
        __tracebackhide__ = True  # noqa: F841  (pytest and IPython hide this frame)
        try:
            out = fun(*args, **kwargs)
            if leak_check is not None:
                leak_check(sys._getframe(1))
            return out
        except Exception as e:
            if leak_check is not None:
                leak_check(None)  # its traceback holds the failed call's tracers
            if _under_boundary(sys._getframe(1)):
                raise
            new = _process(e)
            if new is None:
                raise
            tb, cause = new.__traceback__, new.__cause__
            try:
                raise new from None  # then a bare re-raise: the traceback gets no extra frame
            except BaseException:
                new.__traceback__, new.__cause__ = tb, cause
                raise

    _BOUNDARY_CODES.add(reraise_with_filtered_traceback.__code__)
    return reraise_with_filtered_traceback


def public_function(fun):
    """``fun``, a public function of the array API (``mnp.reshape``, ``lax.cond``), as
    an entry point: an exception leaving it outside every other entry point has its
    traceback filtered, so that called from the user's top level it ends at the user's
    line too. (The wrappers of ``core.binder`` and ``core.jit_when_eager`` do this
    themselves, without the extra frame.)"""

    @functools.wraps(fun)
    def filtered(*args, **kwargs):
        __tracebackhide__ = True  # noqa: F841
        try:
            return fun(*args, **kwargs)
        except Exception as e:
            leave_public_function(e, sys._getframe(1))
            raise

    _BOUNDARY_CODES.add(filtered.__code__)
    return filtered


def public_functions(namespace: dict) -> None:
    """Make the plain functions of a public module's ``namespace`` (its ``__all__``,
    or its public names) entry points (``public_function``), in place; the
    objects in ``_src`` that our own code calls stay as they are."""
    names = namespace.get("__all__") or [n for n in namespace if not n.startswith("_")]
    for name in names:
        fun = namespace[name]
        if (
            type(fun) is types.FunctionType
            and fun.__module__.startswith("minigrad_jax.")
            and fun.__code__ not in _BOUNDARY_CODES
        ):
            wrapped = _PUBLIC.get(fun)
            if wrapped is None:
                wrapped = _PUBLIC[fun] = public_function(fun)
            namespace[name] = wrapped


_PUBLIC: dict = {}  # function -> its public_function, one per function


def leave_public_function(e: Exception, caller) -> None:
    """``e`` leaves a public array function called from ``caller``: filter its
    traceback in place, unless an entry point further up will."""
    if _under_boundary(caller):
        return
    mode = filtering_mode()
    if mode != "off":
        _filter(e, e.__traceback__, mode)


_BOUNDARY_CODES = core.BOUNDARY_CODES
core.public_function_failed = leave_public_function


def _under_boundary(frame) -> bool:
    """Whether an enclosing entry point is on the stack (it will do the filtering)."""
    while frame is not None:
        if frame.f_code in _BOUNDARY_CODES:
            return True
        frame = frame.f_back
    return False


def _process(e: Exception):
    """Filter ``e`` in place; return a replacement exception, or None to re-raise ``e``."""
    mode = filtering_mode()
    if mode == "off":
        return None
    new = translate(e)
    _filter(new if new is not None else e, e.__traceback__, mode)
    return new


def _filter(target: Exception, full_tb, mode: str) -> None:
    """Give ``target`` the filtered ``full_tb`` and our note (mode: not "off")."""
    target.__traceback__ = filter_traceback(full_tb)
    _drop_jax_note(target)
    if mode == "remove_frames":
        _attach_unfiltered(target, full_tb)
    if _NOTE not in getattr(target, "__notes__", ()):
        target.add_note(_NOTE)


def include_filename(filename: str) -> bool:
    """A frame from outside minigrad_jax and JAX (the user's code, or another library)."""
    return not core.is_library_file(filename)


def filter_traceback(tb):
    """``tb`` without the frames of minigrad_jax and JAX."""
    kept = []
    while tb is not None:
        if include_filename(tb.tb_frame.f_code.co_filename):
            kept.append(tb)
        tb = tb.tb_next
    out = None
    for t in reversed(kept):
        out = types.TracebackType(out, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return out


def _drop_jax_note(e):
    notes = getattr(e, "__notes__", None)
    if notes:
        notes[:] = [n for n in notes if not n.startswith(_JAX_NOTE_START)]


def _attach_unfiltered(e, full_tb):
    cause = UnfilteredStackTrace(
        f"{type(e).__name__}: {e}\n\nThe stack trace below includes minigrad_jax's and JAX's "
        "internal frames.\nThe preceding is the original exception, with those frames removed."
    ).with_traceback(full_tb)
    cause.__cause__, cause.__context__ = e.__cause__, e.__context__
    cause.__suppress_context__ = e.__suppress_context__
    e.__cause__ = cause


# ---------------------------------------------------------------------------
# JAX's complaint about one of our tracers -> what to write instead
#
# JAX (0.10) has no hook through which a foreign tracer could take part in a
# JAX function: it checks its arguments against its own types and raises (it
# no longer calls ``__jax_array__`` while abstracting values). So the error is
# recognized where it leaves our boundary: raised below a user frame that holds
# one of our tracers, and naming that tracer (its repr or its class).

_JAX_ERRORS = (TypeError, ValueError, IndexError)
_RAISE_OPS = {dis.opmap["RAISE_VARARGS"], dis.opmap["RERAISE"]}


def translate(e: BaseException):
    """An ``errors.TracerToJaxError`` for JAX's error about one of our tracers, else None."""
    if isinstance(e, errors.MinigradError) or not isinstance(e, _JAX_ERRORS):
        return None
    tbs = _entries(e.__traceback__)
    site = _call_site(tbs)
    if site is None:
        return None
    said = _messages(e)
    tracer = _tracer_named(tbs[site].tb_frame, said)
    if tracer is None:
        # Not named (a constant prints as its value): one JAX was handed, if any.
        inside = [v for tb in tbs[site + 1 :] for v in tb.tb_frame.f_locals.values()]
        tracer = next((t for v in inside for t in _tracers_in(v)), None)
    if tracer is None:
        return None
    where = _frame_text(tbs[site])
    outer = _outermost_user_frame(tbs, site)
    if outer is not None:
        where += f", called from {_frame_text(outer)}"
    if isinstance(e, IndexError):
        msg = _indexing_message(tracer, tbs[site], where)
    else:
        msg = _jax_function_message(tracer, where, _is_random(tracer, said), _callback_in(said))
    jax_said = " ".join(said[0].split())
    jax_said = jax_said if len(jax_said) <= 400 else jax_said[:397] + "..."
    return errors.TracerToJaxError(f"{msg}\nJAX said: {type(e).__name__}: {jax_said}")


def _entries(tb):
    out = []
    while tb is not None:
        out.append(tb)
        tb = tb.tb_next
    return out


def _is_jax_frame(tb) -> bool:
    return core.is_library_file(tb.tb_frame.f_code.co_filename, _JAX_PREFIXES)


_JAX_PREFIXES = core.LIBRARY_PREFIXES[1:3]


def _call_site(tbs):
    """The innermost user frame, if what it called (JAX, or a filtered-out callee) raised."""
    for i in reversed(range(len(tbs))):
        if include_filename(tbs[i].tb_frame.f_code.co_filename):
            break
    else:
        return None
    if i + 1 < len(tbs):
        return i if _is_jax_frame(tbs[i + 1]) else None
    code = tbs[i].tb_frame.f_code.co_code
    lasti = tbs[i].tb_lasti
    return None if 0 <= lasti < len(code) and code[lasti] in _RAISE_OPS else i


def _messages(e):
    """The messages of ``e`` and of the exceptions it was raised from."""
    said = []
    while e is not None and len(said) < 4:
        said.append(str(e).strip())
        e = e.__cause__ or e.__context__
    return said


def _tracer_named(frame, said):
    text = "\n".join(said)
    found = [t for v in frame.f_locals.values() for t in _tracers_in(v)]
    for t in found:
        if repr(t) in text:
            return t
    for t in found:
        if f"{type(t).__module__}.{type(t).__qualname__}" in text:
            return t
    return None


def _tracers_in(v):
    if isinstance(v, core.Tracer):
        return [v]
    if isinstance(v, (tuple, list)):
        return [x for x in v if isinstance(x, core.Tracer)]
    if isinstance(v, dict):
        return [x for x in v.values() if isinstance(x, core.Tracer)]
    return []


def _outermost_user_frame(tbs, site):
    """The first user frame below the boundary, when it is not the call site itself."""
    for i in range(site):
        if include_filename(tbs[i].tb_frame.f_code.co_filename):
            return tbs[i]
    return None


def _frame_text(tb) -> str:
    code = tb.tb_frame.f_code
    line = linecache.getline(code.co_filename, tb.tb_lineno).strip()
    src = f"{os.path.basename(code.co_filename)}:{tb.tb_lineno} ({code.co_name})"
    return f"{src}: `{line}`" if line else src


def _traced_by(tracer) -> str:
    trace = tracer._trace
    entered = f", entered at {trace.source_info}" if trace.source_info is not None else ""
    return f"{_aval_text(tracer.aval)}, traced by `{trace.transform_name}`{entered}"


def _aval_text(aval) -> str:
    return f"{aval.dtype.name}[{','.join(map(str, aval.shape))}]"


def _is_random(tracer, said):
    """A jax.random function given one of our tracers (a key, or raw key data)."""
    return core.is_key_dtype(tracer.aval.dtype) or any("PRNG key" in s for s in said)


# JAX's callbacks, as its error names them ("argument to debug_print as a JAX value"):
# (the function the user called, ours, an example of ours).
_JAX_CALLBACKS = {
    "debug_print": ("jax.debug.print", "mg.debug.print", 'mg.debug.print("x = {}", x)'),
    "debug_callback": ("jax.debug.callback", "mg.debug.callback", "mg.debug.callback(fn, x)"),
    "pure_callback": (
        "jax.pure_callback",
        "mg.pure_callback",
        "mg.pure_callback(fn, jax.ShapeDtypeStruct(x.shape, x.dtype), x)",
    ),
    "io_callback": (
        "jax.experimental.io_callback",
        "mg.io_callback",
        "mg.io_callback(fn, jax.ShapeDtypeStruct(x.shape, x.dtype), x)",
    ),
}
_CALLBACK_SAID = re.compile(r"argument to (\w+) as a JAX value")


def _callback_in(said):
    """The JAX callback primitive that refused one of our tracers, if that is what JAX said."""
    for s in said:
        m = _CALLBACK_SAID.search(s)
        if m is not None and m.group(1) in _JAX_CALLBACKS:
            return m.group(1)
    return None


def _callback_message(tracer, where, callback):
    jax_name, ours, example = _JAX_CALLBACKS[callback]
    return (
        f"{jax_name} was given a minigrad_jax traced value ({_traced_by(tracer)}) at {where}.\n"
        f"{jax_name} accepts only JAX values; use {ours} instead: it takes the same "
        f"arguments ({example}) and works under every minigrad_jax transform (jit, vmap, "
        "grad, scan, ...)."
    )


def _jax_function_message(tracer, where, random=False, callback=None):
    if callback is not None:
        return _callback_message(tracer, where, callback)
    hint = (
        "  - for jax.random, use mg.random: the same functions and arguments, the same "
        "numbers, and keys pass between the two libraries (mg.random.normal(key, shape));\n"
        if random
        else ""
    )
    return (
        f"A JAX function was applied to a minigrad_jax traced value ({_traced_by(tracer)}) "
        f"at {where}.\n"
        "JAX's functions (and a jax.Array's methods) accept only JAX values, and "
        "minigrad_jax's tracers are not JAX values. Instead:\n"
        + hint
        + "  - for a closed-over jax.Array, make it ours inside the function first: "
        "mnp.asarray(c).dot(x), mnp.asarray(c).at[i].set(x);\n"
        "  - for array functions and control flow, use minigrad_jax.numpy / minigrad_jax.lax "
        "(mnp.sin, mnp.dot, mg.lax.cond, mg.lax.fori_loop, ...);\n"
        "  - to call a JAX function you cannot rewrite (an Optax update, jax.random, ...), "
        "wrap it as one minigrad_jax primitive: mg.from_jax(fn)(...);\n"
        "  - to print traced values, use mg.debug.print."
    )


def _indexing_message(tracer, site, where):
    arr = _indexed_array(site)
    what = f"A jax.Array of type {_aval_text(arr.aval)}" if arr is not None else "A jax.Array"
    return (
        f"{what} was indexed with a minigrad_jax traced value ({_traced_by(tracer)}) at "
        f"{where}.\n"
        "jax.Array.__getitem__ (and .at[]) accepts only JAX values and has no hook through "
        "which another library's index could take part, so this cannot be traced. Index a "
        "minigrad_jax value instead: mnp.asarray(arr)[i] (or .at[]) inside the transformed "
        "function, pass the array as an argument (then it is traced too), or write "
        "mnp.take(arr, i, axis=0) or "
        "mg.lax.dynamic_index_in_dim(arr, i, keepdims=False) for one integer index."
    )


def _indexed_array(site):
    """The jax.Array the failing line subscripts, when the line names it."""
    frame = site.tb_frame
    line = linecache.getline(frame.f_code.co_filename, site.tb_lineno)
    for name in re.findall(r"([A-Za-z_]\w*)\s*(?:\.at\s*)?\[", line):
        value = frame.f_locals.get(name, frame.f_globals.get(name))
        if isinstance(value, jax.Array):
            return value
    return None
