"""The documented error types of minigrad_jax.

Every error a user can trigger with bad input is one of these or a plain
TypeError / ValueError / NotImplementedError with a message that names the
primitive or function, the shapes and dtypes involved and, where known, the
user's source line.
"""

from __future__ import annotations


class MinigradError(Exception):
    """Marker base for errors minigrad_jax raises on purpose (never internal)."""


class MinigradTypeError(MinigradError, TypeError):
    """A shape or dtype error found while checking a primitive's inputs."""


class ConcretizationError(MinigradError, TypeError):
    """A traced (abstract) value was used where a concrete Python value is needed.

    JAX calls this ConcretizationTypeError.
    """

    def __init__(self, tracer, what: str, src=None):
        trace = tracer._trace
        transform = getattr(trace, "transform_name", type(trace).__name__)
        at = f" at {src}" if src is not None else ""
        super().__init__(
            f"Abstract tracer value encountered where a concrete value is expected: "
            f"{what} was called on a traced value of type {tracer.aval.str_short()}{at}.\n"
            f"The value is abstract because it depends on an argument of `{transform}`"
            f"{_where(trace)}.\n" + _CONCRETIZATION_ADVICE.get(what, _CONTROL_FLOW_ADVICE)
        )


_CONTROL_FLOW_ADVICE = (
    "Use lax.cond / lax.switch / lax.while_loop / lax.fori_loop instead of Python "
    "control flow on traced values, or mark the argument static "
    "(static_argnums / static_argnames) so it stays a concrete Python value."
)
_CONCRETIZATION_ADVICE = {
    "numpy.asarray()": (
        "numpy functions (and jax.numpy functions given a value that is not JAX's) convert "
        "their arguments to concrete arrays, which a traced value cannot be. Use "
        "minigrad_jax.numpy on traced values, or wrap a JAX function as one primitive with "
        "mg.from_jax(fn)."
    ),
}


class UnexpectedTracerError(MinigradError, TypeError):
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


def shape_error(prim, avals, detail: str, src=None) -> MinigradTypeError:
    """A primitive's inputs do not type-check; ``src`` is the user's line, when known."""
    shapes = ", ".join(a.str_short() for a in avals)
    at = f"\n  at {src}" if src is not None else ""
    named = detail if detail.startswith(f"{prim.name}:") else f"{prim.name}: {detail}"
    return MinigradTypeError(f"{named} (operands: {shapes}){at}")
