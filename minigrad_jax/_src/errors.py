"""The documented error types of minigrad_jax.

Every error a user can trigger with bad input is one of these or a plain
TypeError / ValueError / NotImplementedError with a message that names the
primitive or function, the shapes and dtypes involved and, where known, the
user's source line.
"""

from __future__ import annotations

import jax


class MinigradError(Exception):
    """Marker base for errors minigrad_jax raises on purpose (never internal).

    Where JAX has a class for the same mistake, ours subclasses it too, so
    ``except jax.errors.ConcretizationTypeError`` catches ours. Our messages are
    our own (they name the transform, the user's line and the fix), so the
    constructors set the message directly rather than through JAX's.
    """

    def __init__(self, *args):
        Exception.__init__(self, *args)


class MinigradTypeError(MinigradError, TypeError):
    """A shape or dtype error found while checking a primitive's inputs."""


def _abstract_message(tracer, what: str, src, advice: str) -> str:
    trace = tracer._trace
    transform = getattr(trace, "transform_name", type(trace).__name__)
    at = f" at {src}" if src is not None else ""
    return (
        f"Abstract tracer value encountered where a concrete value is expected: "
        f"{what} was called on a traced value of type {tracer.aval.str_short()}{at}.\n"
        f"The value is abstract because it depends on an argument of `{transform}`"
        f"{_where(trace)}.\n{advice}"
    )


class ConcretizationError(MinigradError, jax.errors.ConcretizationTypeError):
    """A traced (abstract) value was used where a concrete Python value is needed.

    It is a ``jax.errors.ConcretizationTypeError`` (``mg.errors`` names it so).
    """

    def __init__(self, tracer, what: str, src=None):
        advice = _CONCRETIZATION_ADVICE.get(what, _CONTROL_FLOW_ADVICE)
        super().__init__(_abstract_message(tracer, what, src, advice))


ConcretizationTypeError = ConcretizationError


class TracerBoolConversionError(ConcretizationError, jax.errors.TracerBoolConversionError):
    """``bool()`` of a traced value (an ``if`` or ``while`` on it, ``and``/``or``)."""

    def __init__(self, tracer, src=None):
        super().__init__(tracer, "bool()", src)


class TracerIntegerConversionError(MinigradError, jax.errors.TracerIntegerConversionError):
    """``__index__`` of a traced value: it was used as a Python index or size."""

    def __init__(self, tracer, src=None):
        super().__init__(
            _abstract_message(
                tracer,
                "__index__()",
                src,
                "A traced integer cannot index a Python list or tuple or give a size. "
                "Index an array instead (mnp.asarray(xs)[i]), use lax.dynamic_slice / "
                "lax.dynamic_index_in_dim, or mark the argument static.",
            )
        )


class NonConcreteBooleanIndexError(MinigradError, jax.errors.NonConcreteBooleanIndexError):
    """A boolean mask that is traced (its number of True entries, and so the result's
    shape, is not known while tracing)."""


class TracerArrayConversionError(MinigradError, jax.errors.TracerArrayConversionError):
    """``numpy.asarray`` (``__array__``) of a traced value.

    A NumPy array is a concrete value, so the conversion would drop the value's
    dependence on the transformed arguments (and with it the gradient).
    """

    def __init__(self, tracer, src=None):
        super().__init__(
            _abstract_message(
                tracer, "numpy.asarray()", src, _CONCRETIZATION_ADVICE["numpy.asarray()"]
            )
        )


_CONTROL_FLOW_ADVICE = (
    "Use lax.cond / lax.switch / lax.while_loop / lax.fori_loop instead of Python "
    "control flow on traced values, or mark the argument static "
    "(static_argnums / static_argnames) so it stays a concrete Python value."
)
_CONCRETIZATION_ADVICE = {
    "numpy.asarray()": (
        "numpy functions, jax.numpy functions and the methods of a jax.Array or NumPy "
        "array (its .at[], .dot, indexing) convert a value that is not theirs to a "
        "concrete array, which a traced value cannot be. Use minigrad_jax.numpy on traced "
        "values, turn a closed-over array into one of ours first (mnp.asarray(c).at[i].set(x)), "
        "or wrap a JAX function as one primitive with mg.from_jax(fn)."
    ),
    "float()": (
        "float() of a traced value would drop its dependence on the transformed "
        "arguments. Keep it an array (x.astype(float) or arithmetic on x). "
    )
    + _CONTROL_FLOW_ADVICE,
}
_CONCRETIZATION_ADVICE["complex()"] = _CONCRETIZATION_ADVICE["float()"].replace(
    "float()", "complex()"
)


class UnexpectedTracerError(MinigradError, jax.errors.UnexpectedTracerError):
    """A tracer escaped the transform that created it and was used afterwards."""

    def __init__(self, tracer):
        trace = tracer._trace
        transform = getattr(trace, "transform_name", type(trace).__name__)
        created = getattr(tracer, "source_info", None) or getattr(trace, "source_info", None)
        at = f" It was created at {created}." if created is not None else ""
        if trace.active:
            how = (
                "used outside that transform while it is still running (for example "
                "inside a custom_jvp/custom_vjp rule that closes over a value being "
                "differentiated; pass such a value as an argument instead)"
            )
        else:
            how = "used after that transform returned"
        super().__init__(
            f"Encountered an unexpected tracer of type {tracer.aval.str_short()} made by "
            f"`{transform}`{_where(trace)}, {how}.{at} A function transformed by "
            "minigrad_jax must not leak traced values into globals or closures that outlive "
            "the call; return them instead."
        )


class TracerToJaxError(MinigradError, TypeError):
    """A minigrad_jax traced value reached a JAX function, which accepts only JAX values.

    The message says what to use instead (minigrad_jax.numpy / minigrad_jax.lax,
    ``mg.from_jax`` for a JAX function such as an Optax update, ``mg.debug.print``).
    """


def _where(trace) -> str:
    src = getattr(trace, "source_info", None)
    return f" (entered at {src})" if src is not None else ""


def _at_line(src) -> str:
    return f"\n  at {src}" if src is not None else ""


def shape_error(prim, avals, detail: str, src=None) -> MinigradTypeError:
    """A primitive's inputs do not type-check; ``src`` is the user's line, when known."""
    shapes = ", ".join(a.str_short() for a in avals)
    named = detail if detail.startswith(f"{prim.name}:") else f"{prim.name}: {detail}"
    return MinigradTypeError(f"{named} (operands: {shapes}){_at_line(src)}")


def scalar_dtype_error(value, dtype, src=None) -> MinigradTypeError:
    """A Python scalar beside an array in a lax function cannot take its dtype."""
    return MinigradTypeError(
        f"lax requires arguments of the same dtype: the Python {type(value).__name__} "
        f"{value!r} cannot take the dtype {dtype.name} of the other operand; convert one "
        f"of them first{_at_line(src)}"
    )
