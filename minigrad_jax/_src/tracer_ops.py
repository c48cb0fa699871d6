"""Array operators and methods for tracers, delegating to minigrad_jax.numpy.

Looked up by name at call time so the numpy namespace stays the one place
that defines what ``x + y`` or ``x.sum()`` means (with JAX's promotion).
Tracers also print here as JAX's do for the same transform
(``JitTracer(float32[3])``, ``GradTracer(primal=..., typeof(tangent)=f32[])``, ...).
"""

from __future__ import annotations

from minigrad_jax._src import core
from minigrad_jax._src import numpy as mnp
from minigrad_jax._src.interpreters.ad import JVPTracer, Zero
from minigrad_jax._src.interpreters.batching import BatchTracer
from minigrad_jax._src.interpreters.partial_eval import JaxprTracer

_BINARY = {
    "__add__": "add",
    "__sub__": "subtract",
    "__mul__": "multiply",
    "__truediv__": "true_divide",
    "__floordiv__": "floor_divide",
    "__mod__": "remainder",
    "__pow__": "power",
    "__matmul__": "matmul",
    "__and__": "bitwise_and",
    "__or__": "bitwise_or",
    "__xor__": "bitwise_xor",
    "__lt__": "less",
    "__le__": "less_equal",
    "__gt__": "greater",
    "__ge__": "greater_equal",
    "__eq__": "equal",
    "__ne__": "not_equal",
    "__lshift__": "left_shift",
    "__rshift__": "right_shift",
}
_REFLECTED = {
    "__radd__": "add",
    "__rsub__": "subtract",
    "__rmul__": "multiply",
    "__rtruediv__": "true_divide",
    "__rfloordiv__": "floor_divide",
    "__rmod__": "remainder",
    "__rpow__": "power",
    "__rmatmul__": "matmul",
    "__rand__": "bitwise_and",
    "__ror__": "bitwise_or",
    "__rxor__": "bitwise_xor",
}
_UNARY = {"__neg__": "negative", "__pos__": "positive", "__abs__": "abs", "__invert__": "invert"}
_METHODS = (
    "sum",
    "mean",
    "max",
    "min",
    "prod",
    "argmax",
    "argmin",
    "reshape",
    "transpose",
    "astype",
    "squeeze",
    "ravel",
    "flatten",
    "var",
    "std",
    "any",
    "all",
    "cumsum",
    "cumprod",
    "clip",
    "dot",
    "round",
    "swapaxes",
    "repeat",
    "take",
    "sort",
    "argsort",
    "conj",
    "conjugate",
    "trace",
    "diagonal",
)


def _binary(name):
    def op(self, other):
        return getattr(mnp, name)(self, other)

    return op


def _reflected(name):
    def op(self, other):
        return getattr(mnp, name)(other, self)

    return op


def _unary(name):
    def op(self):
        return getattr(mnp, name)(self)

    return op


def _method(name):
    def method(self, *args, **kwargs):
        return getattr(mnp, name)(self, *args, **kwargs)

    method.__name__ = name
    return method


def _reshape(self, *shape, **kwargs):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return mnp.reshape(self, shape, **kwargs)


def _transpose(self, *axes):
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return mnp.transpose(self, axes or None)


def _getitem(self, idx):
    return mnp._getitem(self, idx)


# ---------------------------------------------------------------------------
# reprs, as JAX's tracers print under the same transform


def _typeof(x):
    return x.aval if type(x) is Zero else core.get_aval(x)


def _jaxpr_tracer_repr(t):
    return f"JitTracer({t.aval})"


def _batch_tracer_repr(t):
    return f"VmapTracer(aval={t.aval}, batched={core.get_aval(t.val)})"


def _jvp_tracer_repr(t):
    if t._trace.transform_name == "jvp":
        return f"JVPTracer(primal={t.primal!s}, tangent={t.tangent!s})"
    # linearize, vjp and grad: JAX's linearize trace
    return f"GradTracer(primal={t.primal!s}, typeof(tangent)={_typeof(t.tangent).str_short()})"


_REPRS = {
    JaxprTracer: _jaxpr_tracer_repr,
    BatchTracer: _batch_tracer_repr,
    JVPTracer: _jvp_tracer_repr,
}


def install(cls=core.Tracer):
    for table, make in ((_BINARY, _binary), (_REFLECTED, _reflected), (_UNARY, _unary)):
        for dunder, name in table.items():
            setattr(cls, dunder, make(name))
    for name in _METHODS:
        setattr(cls, name, _method(name))
    cls.reshape = _reshape
    cls.transpose = _transpose
    cls.__getitem__ = _getitem
    cls.T = property(lambda self: mnp.transpose(self))
    cls.real = property(lambda self: mnp.real(self))
    cls.imag = property(lambda self: mnp.imag(self))
    cls.at = property(lambda self: mnp._IndexUpdateHelper(self))
    cls.__hash__ = core.Tracer.__hash__
    for tracer_cls, fn in _REPRS.items():
        tracer_cls.__repr__ = _constant_repr(fn)
        tracer_cls.__str__ = _constant_repr(fn, str)


def _constant_repr(fn, show=repr):
    # A constant made under a transform prints as the array JAX would hold there.
    def method(t):
        val = t.constant_value()
        return fn(t) if val is None else show(val)

    return method


install()
